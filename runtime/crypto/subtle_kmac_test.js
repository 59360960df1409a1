// crypto.subtle KMAC128 and KMAC256 (the modern algorithms proposal, NIST SP
// 800-185 vectors): sign/verify, keys ("raw-secret", jwk), OpenSSL's bounds,
// and what a hostile caller can pass them.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

// NIST's KMAC samples: the key 40..5f, the data 00010203 (samples 1, 2, 4,
// 5) or 00..c7 (samples 3 and 6).
const KEY = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
const TAGGED = utf8("My Tagged Application");
const SAMPLES = [
  { name: "KMAC128", length: 256, data: "00010203", custom: undefined, mac: "e5780b0d3ea6f7d3a429c5706aa43a00fadbd7d49628839e3187243f456ee14e" },
  { name: "KMAC128", length: 256, data: "00010203", custom: TAGGED, mac: "3b1fba963cd8b0b59e8c1a6d71888b7143651af8ba0a7070c0979e2811324aa5" },
  {
    name: "KMAC256",
    length: 512,
    data: "00010203",
    custom: TAGGED,
    mac:
      "20c570c31346f703c9ac36c61c03cb64c3970d0cfc787e9b79599d273a68d2f7" +
      "f69d4cc3de9d104a351689f27cf6f5951f0103f33f4f24871024d9c27773a8dd",
  },
];

const importKmac = (name, hexKey, usages = ["sign", "verify"], extractable = false, length = undefined) =>
  crypto.subtle.importKey("raw-secret", fromHex(hexKey), length === undefined ? { name } : { name, length }, extractable, usages);

export default {
  async "KMAC: NIST samples, sign and verify"() {
    for (const s of SAMPLES) {
      const key = await importKmac(s.name, KEY);
      assertStrictEquals(key.algorithm.length, 256);
      const params = { name: s.name, length: s.length };
      if (s.custom) params.customization = s.custom;
      const mac = await crypto.subtle.sign(params, key, fromHex(s.data));
      assertStrictEquals(hex(mac), s.mac, `${s.name} ${s.custom ? "tagged" : "plain"}`);
      assertStrictEquals(await crypto.subtle.verify(params, key, mac, fromHex(s.data)), true);
      const wrong = new Uint8Array(mac);
      wrong[0] ^= 1;
      assertStrictEquals(await crypto.subtle.verify(params, key, wrong, fromHex(s.data)), false, "changed mac");
      assertStrictEquals(await crypto.subtle.verify(params, key, wrong.slice(1), fromHex(s.data)), false, "short mac");
      assertStrictEquals(await crypto.subtle.verify({ ...params, length: s.length * 2 }, key, mac, fromHex(s.data)), false);
      assertStrictEquals(
        await crypto.subtle.verify({ ...params, customization: utf8("other") }, key, mac, fromHex(s.data)),
        false,
        "other customization",
      );
    }
    // The output length is part of the input: a shorter KMAC is not a prefix.
    const key = await importKmac("KMAC128", KEY);
    const short = await crypto.subtle.sign({ name: "KMAC128", length: 128 }, key, fromHex("00010203"));
    assertStrictEquals(short.byteLength, 16);
    assert(hex(short) !== SAMPLES[0].mac.slice(0, 32), "not a prefix");
  },

  async "KMAC: lengths and bounds"() {
    const key = await importKmac("KMAC256", KEY);
    for (const length of [0, 4, 129]) {
      await assertRejects(crypto.subtle.sign({ name: "KMAC256", length }, key, utf8("x")), "OperationError", `length ${length}`);
    }
    // Over OpenSSL's 2,097,151 bytes of output: refused before any work.
    await assertRejects(crypto.subtle.sign({ name: "KMAC256", length: 0xfffffff8 }, key, utf8("x")), "OperationError", "huge");
    await assertRejects(crypto.subtle.sign({ name: "KMAC256", length: 2 ** 32 }, key, utf8("x")), TypeError, "2^32");
    await assertRejects(crypto.subtle.sign({ name: "KMAC256" }, key, utf8("x")), TypeError, "no length");
    const largest = await crypto.subtle.sign({ name: "KMAC256", length: 2097151 * 8 }, key, utf8("x"));
    assertStrictEquals(largest.byteLength, 2097151);
    // OpenSSL takes a customization of up to 512 bytes, keys of 4 to 512.
    await crypto.subtle.sign({ name: "KMAC256", length: 256, customization: new Uint8Array(512) }, key, utf8("x"));
    await assertRejects(
      crypto.subtle.sign({ name: "KMAC256", length: 256, customization: new Uint8Array(513) }, key, utf8("x")),
      "OperationError",
      "513-byte customization",
    );
    const tiny = await importKmac("KMAC128", "010203");
    assertStrictEquals(tiny.algorithm.length, 24);
    await assertRejects(crypto.subtle.sign({ name: "KMAC128", length: 256 }, tiny, utf8("x")), "OperationError", "3-byte key");
    const long = await importKmac("KMAC128", "00".repeat(513));
    await assertRejects(crypto.subtle.sign({ name: "KMAC128", length: 256 }, long, utf8("x")), "OperationError", "513-byte key");
    // Large data goes off the serving thread; verify agrees with sign.
    const big = new Uint8Array(1 << 20).fill(9);
    const mac = await crypto.subtle.sign({ name: "KMAC256", length: 256 }, key, big);
    assertStrictEquals(await crypto.subtle.verify({ name: "KMAC256", length: 256 }, key, mac, big), true);
  },

  async "KMAC keys: generate, raw-secret and jwk, never raw"() {
    for (const [name, bits, alg] of [["KMAC128", 128, "K128"], ["KMAC256", 256, "K256"]]) {
      const key = await crypto.subtle.generateKey({ name }, true, ["sign", "verify"]);
      assertStrictEquals(key.algorithm.name, name);
      assertStrictEquals(key.algorithm.length, bits, "default length");
      assertStrictEquals((await crypto.subtle.exportKey("raw-secret", key)).byteLength, bits / 8);
      const jwk = await crypto.subtle.exportKey("jwk", key);
      assertStrictEquals(jwk.alg, alg);
      assertStrictEquals(jwk.kty, "oct");
      const again = await crypto.subtle.importKey("jwk", jwk, name, true, ["verify"]);
      assertStrictEquals(again.algorithm.length, bits);
      await assertRejects(crypto.subtle.exportKey("raw", key), "NotSupportedError");
      const sized = await crypto.subtle.generateKey({ name, length: 160 }, true, ["sign"]);
      assertStrictEquals(sized.algorithm.length, 160);
    }
    for (const length of [0, 12, 24, 4104, 0xffffffff]) {
      await assertRejects(crypto.subtle.generateKey({ name: "KMAC128", length }, true, ["sign"]), "OperationError", `length ${length}`);
    }
    await assertRejects(crypto.subtle.generateKey({ name: "KMAC128" }, true, ["encrypt"]), "SyntaxError");
    await assertRejects(crypto.subtle.generateKey({ name: "KMAC128" }, true, []), "SyntaxError");
    await assertRejects(crypto.subtle.importKey("raw", fromHex(KEY), "KMAC128", true, ["sign"]), "NotSupportedError");
    await assertRejects(crypto.subtle.importKey("raw-secret", new Uint8Array(0), "KMAC128", true, ["sign"]), "DataError", "empty");
    await assertRejects(importKmac("KMAC128", KEY, ["sign"], false, 128), "DataError", "length mismatch");
    assertStrictEquals((await importKmac("KMAC128", KEY, ["sign"], false, 256)).algorithm.length, 256);
    const jwk = { kty: "oct", k: "AAAAAAAAAAAAAAAAAAAAAA" };
    await assertRejects(crypto.subtle.importKey("jwk", { ...jwk, alg: "K256" }, "KMAC128", true, ["sign"]), "DataError", "alg");
    await assertRejects(crypto.subtle.importKey("jwk", { ...jwk, use: "enc" }, "KMAC128", true, ["sign"]), "DataError", "use");
    // Keys derive too.
    const base = await crypto.subtle.importKey("raw", new Uint8Array(32), "HKDF", false, ["deriveKey"]);
    const hkdf = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new Uint8Array(0) };
    const derived = await crypto.subtle.deriveKey(hkdf, base, { name: "KMAC256", length: 384 }, true, ["sign"]);
    assertStrictEquals(derived.algorithm.length, 384);
  },

  async "KMAC: wrong keys and usages"() {
    const key = await importKmac("KMAC128", KEY, ["sign"]);
    await assertRejects(crypto.subtle.verify({ name: "KMAC128", length: 256 }, key, new Uint8Array(32), utf8("x")), "InvalidAccessError");
    await assertRejects(crypto.subtle.sign({ name: "KMAC256", length: 256 }, key, utf8("x")), "InvalidAccessError", "KMAC256 with a KMAC128 key");
    const hmac = await crypto.subtle.importKey("raw", fromHex(KEY), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    await assertRejects(crypto.subtle.sign({ name: "KMAC128", length: 256 }, hmac, utf8("x")), "InvalidAccessError", "an HMAC key");
    await assertRejects(crypto.subtle.encrypt({ name: "KMAC128", length: 256 }, key, utf8("x")), "NotSupportedError");
  },

  async "hostile parameters: Proxies, getters, poisoned prototypes, detached buffers"() {
    const key = await importKmac("KMAC128", KEY);
    const s = SAMPLES[1];
    const reads = [];
    const proxy = new Proxy(
      { name: "KMAC128", length: 256, customization: TAGGED },
      {
        get(object, property) {
          reads.push(String(property));
          return object[property];
        },
      },
    );
    assertStrictEquals(hex(await crypto.subtle.sign(proxy, key, fromHex(s.data))), s.mac);
    assertStrictEquals(reads.join(), "name,customization,length");
    // A length whose valueOf throws rejects with its error.
    const boom = new Error("boom");
    const bad = { name: "KMAC128", length: { valueOf() { throw boom; } } };
    assertStrictEquals(await assertRejects(crypto.subtle.sign(bad, key, utf8("x"))), boom);
    // Inherited members count (WebIDL reads them), and change the result.
    Object.prototype.customization = TAGGED;
    try {
      assertStrictEquals(hex(await crypto.subtle.sign({ name: "KMAC128", length: 256 }, key, fromHex(s.data))), s.mac);
    } finally {
      delete Object.prototype.customization;
    }
    const includes = Array.prototype.includes;
    Array.prototype.includes = () => true;
    try {
      const signOnly = await importKmac("KMAC128", KEY, ["sign"]);
      await assertRejects(
        crypto.subtle.verify({ name: "KMAC128", length: 256 }, signOnly, new Uint8Array(32), utf8("x")),
        "InvalidAccessError",
        "a patched includes grants no usage",
      );
    } finally {
      Array.prototype.includes = includes;
    }
    const detached = new Uint8Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    await assertRejects(crypto.subtle.sign({ name: "KMAC128", length: 256, customization: detached }, key, utf8("x")), TypeError);
    await assertRejects(crypto.subtle.sign({ name: "KMAC128", length: 256 }, key, detached), TypeError);
  },
};
