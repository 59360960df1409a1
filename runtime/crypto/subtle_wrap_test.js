// crypto.subtle AES-KW (RFC 3394 vectors) and wrapKey/unwrapKey with AES-KW,
// AES-GCM and RSA-OAEP: raw and jwk, round trips, errors.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

// RFC 3394 sections 4.1 (128-bit KEK, 128-bit key) and 4.6 (256-bit KEK,
// 256-bit key).
const RFC3394 = [
  {
    kek: "000102030405060708090a0b0c0d0e0f",
    key: "00112233445566778899aabbccddeeff",
    wrapped: "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5",
  },
  {
    kek: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    key: "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
    wrapped: "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21",
  },
];

const kekOf = (hexKey, usages = ["wrapKey", "unwrapKey"]) =>
  crypto.subtle.importKey("raw", fromHex(hexKey), "AES-KW", true, usages);

export default {
  async "AES-KW: RFC 3394 vectors through wrapKey and unwrapKey"() {
    for (const v of RFC3394) {
      const kek = await kekOf(v.kek);
      assertStrictEquals(kek.algorithm.name, "AES-KW");
      const key = await crypto.subtle.importKey("raw", fromHex(v.key), "AES-GCM", true, ["encrypt", "decrypt"]);
      const wrapped = await crypto.subtle.wrapKey("raw", key, kek, "AES-KW");
      assertStrictEquals(hex(wrapped), v.wrapped);
      const unwrapped = await crypto.subtle.unwrapKey("raw", fromHex(v.wrapped), kek, "AES-KW", "AES-GCM", true, ["encrypt"]);
      assertStrictEquals(unwrapped.algorithm.name, "AES-GCM");
      assertStrictEquals(unwrapped.usages.join(), "encrypt");
      assertStrictEquals(hex(await crypto.subtle.exportKey("raw", unwrapped)), v.key);
      const tampered = fromHex(v.wrapped);
      tampered[0] ^= 1;
      await assertRejects(
        crypto.subtle.unwrapKey("raw", tampered, kek, "AES-KW", "AES-GCM", true, ["encrypt"]),
        "OperationError",
        "integrity check",
      );
    }
  },

  async "AES-KW keys and errors"() {
    const kek = await crypto.subtle.generateKey({ name: "AES-KW", length: 256 }, true, ["wrapKey", "unwrapKey"]);
    const jwk = await crypto.subtle.exportKey("jwk", kek);
    assertStrictEquals(jwk.alg, "A256KW");
    await assertRejects(crypto.subtle.generateKey({ name: "AES-KW", length: 128 }, true, ["encrypt"]), "SyntaxError", "encrypt usage");
    await assertRejects(crypto.subtle.encrypt("AES-KW", kek, new Uint8Array(16)), "NotSupportedError", "AES-KW encrypt");
    // A 20-byte HMAC key is not a multiple of 8 bytes.
    const hmac = await crypto.subtle.importKey("raw", new Uint8Array(20), { name: "HMAC", hash: "SHA-1" }, true, ["sign"]);
    await assertRejects(crypto.subtle.wrapKey("raw", hmac, kek, "AES-KW"), "OperationError", "20 bytes");
    const locked = await crypto.subtle.importKey("raw", new Uint8Array(16), "AES-GCM", false, ["encrypt"]);
    await assertRejects(crypto.subtle.wrapKey("raw", locked, kek, "AES-KW"), "InvalidAccessError", "not extractable");
    const unwrapOnly = await kekOf(RFC3394[0].kek, ["unwrapKey"]);
    const key = await crypto.subtle.importKey("raw", new Uint8Array(16), "AES-GCM", true, ["encrypt"]);
    await assertRejects(crypto.subtle.wrapKey("raw", key, unwrapOnly, "AES-KW"), "InvalidAccessError", "no wrapKey usage");
    await assertRejects(crypto.subtle.wrapKey("raw", key, kek, "AES-CTR"), "InvalidAccessError", "algorithm mismatch");
    await assertRejects(crypto.subtle.wrapKey("pem", key, kek, "AES-KW"), "TypeError", "bad format");
    await assertRejects(
      crypto.subtle.unwrapKey("raw", new Uint8Array(24), kek, "AES-KW", "RC4", true, ["encrypt"]),
      "NotSupportedError",
      "unknown unwrapped algorithm",
    );
  },

  async "wrapKey/unwrapKey: jwk under AES-GCM, pkcs8 under AES-KW, raw under RSA-OAEP"() {
    const gcm = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["wrapKey", "unwrapKey"]);
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign", "verify"]);
    const iv = new Uint8Array(12);
    const wrapped = await crypto.subtle.wrapKey("jwk", hmac, gcm, { name: "AES-GCM", iv });
    await assertRejects(crypto.subtle.decrypt({ name: "AES-GCM", iv }, gcm, wrapped), "InvalidAccessError", "no decrypt usage");
    const unwrapped = await crypto.subtle.unwrapKey("jwk", wrapped, gcm, { name: "AES-GCM", iv }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", unwrapped)), hex(await crypto.subtle.exportKey("raw", hmac)));
    // Not a JWK inside: a DataError.
    const gcmRaw = new Uint8Array(32).fill(7);
    const both = await crypto.subtle.importKey("raw", gcmRaw, "AES-GCM", false, ["encrypt", "unwrapKey"]);
    const garbage = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, both, utf8("not json"));
    await assertRejects(
      crypto.subtle.unwrapKey("jwk", garbage, both, { name: "AES-GCM", iv }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
      "DataError",
      "not a JWK",
    );

    // An Ed25519 private key as pkcs8 under AES-KW (48 bytes: a multiple of 8).
    const kek = await crypto.subtle.generateKey({ name: "AES-KW", length: 128 }, false, ["wrapKey", "unwrapKey"]);
    const ed = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]);
    const edWrapped = await crypto.subtle.wrapKey("pkcs8", ed.privateKey, kek, "AES-KW");
    const edKey = await crypto.subtle.unwrapKey("pkcs8", edWrapped, kek, "AES-KW", "Ed25519", false, ["sign"]);
    const signature = await crypto.subtle.sign("Ed25519", edKey, utf8("wrapped"));
    assert(await crypto.subtle.verify("Ed25519", ed.publicKey, signature, utf8("wrapped")));

    // An AES key under RSA-OAEP.
    const rsa = await crypto.subtle.generateKey(
      { name: "RSA-OAEP", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      false,
      ["wrapKey", "unwrapKey"],
    );
    const aes = await crypto.subtle.generateKey({ name: "AES-CBC", length: 128 }, true, ["encrypt"]);
    const rsaWrapped = await crypto.subtle.wrapKey("raw", aes, rsa.publicKey, "RSA-OAEP");
    assertStrictEquals(rsaWrapped.byteLength, 256);
    const aesAgain = await crypto.subtle.unwrapKey("raw", rsaWrapped, rsa.privateKey, "RSA-OAEP", "AES-CBC", true, ["decrypt"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", aesAgain)), hex(await crypto.subtle.exportKey("raw", aes)));
  },
};
