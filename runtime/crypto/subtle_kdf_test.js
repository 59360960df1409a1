// crypto.subtle PBKDF2 (RFC 6070, RFC 7914 section 11) and HKDF (RFC 5869):
// deriveBits, deriveKey, keys and errors.

import { assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

// RFC 6070 (PBKDF2-HMAC-SHA1) and RFC 7914 section 11 (PBKDF2-HMAC-SHA256).
const PBKDF2_VECTORS = [
  { hash: "SHA-1", password: "password", salt: "salt", iterations: 1, bits: 160, dk: "0c60c80f961f0e71f3a9b524af6012062fe037a6" },
  { hash: "SHA-1", password: "password", salt: "salt", iterations: 2, bits: 160, dk: "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957" },
  { hash: "SHA-1", password: "password", salt: "salt", iterations: 4096, bits: 160, dk: "4b007901b765489abead49d926f721d065a429c1" },
  {
    hash: "SHA-1",
    password: "passwordPASSWORDpassword",
    salt: "saltSALTsaltSALTsaltSALTsaltSALTsalt",
    iterations: 4096,
    bits: 200,
    dk: "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
  },
  { hash: "SHA-1", password: "pass\0word", salt: "sa\0lt", iterations: 4096, bits: 128, dk: "56fa6aa75548099dcc37d7f03425e0c3" },
  {
    hash: "SHA-256",
    password: "passwd",
    salt: "salt",
    iterations: 1,
    bits: 512,
    dk: "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
  },
];

// RFC 5869, test cases 1 (SHA-256), 3 (SHA-256, empty salt and info) and 4
// (SHA-1).
const HKDF_VECTORS = [
  {
    hash: "SHA-256",
    ikm: "0b".repeat(22),
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    hash: "SHA-256",
    ikm: "0b".repeat(22),
    salt: "",
    info: "",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
  {
    hash: "SHA-1",
    ikm: "0b".repeat(11),
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    okm: "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896",
  },
];

const bytes = (h) => (h === "" ? new Uint8Array(0) : fromHex(h));

export default {
  async "PBKDF2: RFC 6070 and RFC 7914 vectors"() {
    for (const v of PBKDF2_VECTORS) {
      const key = await crypto.subtle.importKey("raw", utf8(v.password), "PBKDF2", false, ["deriveBits"]);
      assertStrictEquals(key.type, "secret");
      assertStrictEquals(key.algorithm.name, "PBKDF2");
      assertStrictEquals(key.extractable, false);
      const params = { name: "PBKDF2", hash: v.hash, salt: utf8(v.salt), iterations: v.iterations };
      assertStrictEquals(hex(await crypto.subtle.deriveBits(params, key, v.bits)), v.dk, `${v.password} ${v.iterations}`);
    }
  },

  async "HKDF: RFC 5869 vectors"() {
    for (const v of HKDF_VECTORS) {
      const key = await crypto.subtle.importKey("raw", fromHex(v.ikm), "HKDF", false, ["deriveBits"]);
      const params = { name: "HKDF", hash: v.hash, salt: bytes(v.salt), info: bytes(v.info) };
      assertStrictEquals(hex(await crypto.subtle.deriveBits(params, key, 42 * 8)), v.okm, v.hash);
    }
  },

  async "deriveKey: AES and HMAC keys from PBKDF2 and HKDF"() {
    const password = await crypto.subtle.importKey("raw", utf8("password"), "PBKDF2", false, ["deriveKey", "deriveBits"]);
    const params = { name: "PBKDF2", hash: "SHA-1", salt: utf8("salt"), iterations: 2 };
    const aes = await crypto.subtle.deriveKey(params, password, { name: "AES-GCM", length: 128 }, true, ["encrypt", "decrypt"]);
    assertStrictEquals(aes.algorithm.name, "AES-GCM");
    assertStrictEquals(aes.algorithm.length, 128);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", aes)), "ea6c014dc72d6f8ccd1ed92ace1d41f0");
    const iv = new Uint8Array(12);
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, utf8("derived"));
    assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, aes, sealed)), "derived");

    const v = HKDF_VECTORS[0];
    const ikm = await crypto.subtle.importKey("raw", fromHex(v.ikm), "HKDF", false, ["deriveKey"]);
    const hkdfParams = { name: "HKDF", hash: v.hash, salt: bytes(v.salt), info: bytes(v.info) };
    const hmac = await crypto.subtle.deriveKey(hkdfParams, ikm, { name: "HMAC", hash: "SHA-256", length: 256 }, true, ["sign"]);
    assertStrictEquals(hmac.algorithm.length, 256);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", hmac)), v.okm.slice(0, 64));
    // Without a length, an HMAC key is one hash block.
    const block = await crypto.subtle.deriveKey(hkdfParams, ikm, { name: "HMAC", hash: "SHA-1" }, true, ["sign"]);
    assertStrictEquals(block.algorithm.length, 512);
  },

  async "PBKDF2 iterations are capped at 100,000, as on Workers"() {
    const key = await crypto.subtle.importKey("raw", utf8("pw"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
    const params = { name: "PBKDF2", hash: "SHA-256", salt: utf8("salt") };
    const bits = await crypto.subtle.deriveBits({ ...params, iterations: 100000 }, key, 256);
    assertStrictEquals(bits.byteLength, 32, "the cap itself is allowed");
    const started = Date.now();
    const error = await assertRejects(
      crypto.subtle.deriveBits({ ...params, iterations: 20000000 }, key, 256),
      "NotSupportedError",
      "20,000,000 iterations",
    );
    assertStrictEquals(
      error.message,
      "Pbkdf2 failed: iteration counts above 100000 are not supported (requested 20000000).",
    );
    assertStrictEquals(Date.now() - started < 1000, true, "refused before any work");
    await assertRejects(
      crypto.subtle.deriveKey({ ...params, iterations: 100001 }, key, { name: "AES-GCM", length: 128 }, false, ["encrypt"]),
      "NotSupportedError",
      "deriveKey too",
    );
  },

  async "PBKDF2 output is capped at 8,192 bits: each hash block runs every iteration"() {
    const key = await crypto.subtle.importKey("raw", utf8("pw"), "PBKDF2", false, ["deriveBits"]);
    const params = { name: "PBKDF2", hash: "SHA-256", salt: utf8("salt"), iterations: 1 };
    assertStrictEquals((await crypto.subtle.deriveBits(params, key, 8192)).byteLength, 1024);
    const error = await assertRejects(crypto.subtle.deriveBits(params, key, 8200), "NotSupportedError");
    assertStrictEquals(
      error.message,
      "Pbkdf2 failed: derived lengths above 8192 bits are not supported (requested 8200).",
    );
  },

  async "PBKDF2 and RSA key generation run off the serving thread: timers tick meanwhile"() {
    const key = await crypto.subtle.importKey("raw", utf8("pw"), "PBKDF2", false, ["deriveBits"]);
    const params = { name: "PBKDF2", hash: "SHA-512", salt: utf8("salt"), iterations: 100000 };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // On the loop, the derivations would run back to back with no tick in
    // between: the continuation of an await runs before any timer.
    for (let i = 0; i < 3; i++) await crypto.subtle.deriveBits(params, key, 512);
    const afterPbkdf2 = ticks;
    await crypto.subtle.generateKey(
      { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    clearInterval(timer);
    assertStrictEquals(afterPbkdf2 > 0, true, `ticks during PBKDF2: ${afterPbkdf2}`);
    assertStrictEquals(ticks > afterPbkdf2, true, `ticks during RSA generateKey: ${ticks - afterPbkdf2}`);
  },

  async "A key dropped while its work runs off the thread stays valid for that work"() {
    const pair = await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    const data = utf8("data");
    const data2 = new Uint8Array(data);
    const signing = crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, data2);
    data2.fill(0); // the job signs what was passed, not what the buffer holds later
    const signature = await signing;
    assertStrictEquals(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pair.publicKey, signature, data), true);
  },

  async "KDF errors"() {
    const key = await crypto.subtle.importKey("raw", utf8("pw"), "PBKDF2", false, ["deriveBits"]);
    const params = { name: "PBKDF2", hash: "SHA-256", salt: utf8("salt"), iterations: 1 };
    await assertRejects(crypto.subtle.importKey("raw", utf8("pw"), "PBKDF2", true, ["deriveBits"]), "SyntaxError", "extractable");
    await assertRejects(crypto.subtle.importKey("jwk", { kty: "oct", k: "AA" }, "PBKDF2", false, ["deriveBits"]), "NotSupportedError", "jwk");
    await assertRejects(crypto.subtle.importKey("raw", utf8("pw"), "PBKDF2", false, ["sign"]), "SyntaxError", "usage");
    await assertRejects(crypto.subtle.deriveBits(params, key, 7), "OperationError", "not whole bytes");
    await assertRejects(crypto.subtle.deriveBits(params, key, null), "OperationError", "null length");
    await assertRejects(crypto.subtle.deriveBits({ ...params, iterations: 0 }, key, 128), "OperationError", "0 iterations");
    await assertRejects(crypto.subtle.deriveBits({ ...params, hash: "MD5" }, key, 128), "NotSupportedError", "MD5");
    await assertRejects(
      crypto.subtle.deriveKey(params, key, { name: "AES-GCM", length: 128 }, false, ["encrypt"]),
      "InvalidAccessError",
      "no deriveKey usage",
    );
    await assertRejects(crypto.subtle.exportKey("raw", key), "NotSupportedError", "export");
    const ikm = await crypto.subtle.importKey("raw", utf8("ikm"), "HKDF", false, ["deriveBits", "deriveKey"]);
    const hkdf = { name: "HKDF", hash: "SHA-1", salt: new Uint8Array(0), info: new Uint8Array(0) };
    assertStrictEquals((await crypto.subtle.deriveBits(hkdf, ikm, 255 * 160)).byteLength, 255 * 20, "the longest output");
    await assertRejects(crypto.subtle.deriveBits(hkdf, ikm, 255 * 160 + 8), "OperationError", "too long");
    await assertRejects(crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-1", salt: new Uint8Array(0) }, ikm, 128), "TypeError", "no info");
    await assertRejects(crypto.subtle.deriveBits(hkdf, key, 128), "InvalidAccessError", "a PBKDF2 key for HKDF");
    await assertRejects(
      crypto.subtle.deriveKey(hkdf, ikm, { name: "AES-GCM", length: 100 }, false, ["encrypt"]),
      "OperationError",
      "AES length 100",
    );
    await assertRejects(
      crypto.subtle.deriveKey(hkdf, ikm, { name: "AES-GCM", length: 128 }, false, []),
      "SyntaxError",
      "no usages",
    );
  },
};
