// crypto.subtle: digests (FIPS 180 examples) and HMAC (RFC 4231 test
// vectors), keys, usages and errors.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

// RFC 4231, test cases 1, 2 and 6 (a key longer than the block size).
const RFC4231 = [
  {
    key: fromHex("0b".repeat(20)),
    data: utf8("Hi There"),
    "SHA-256": "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    "SHA-384":
      "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
    "SHA-512":
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
  },
  {
    key: utf8("Jefe"),
    data: utf8("what do ya want for nothing?"),
    "SHA-256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "SHA-384":
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
    "SHA-512":
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
  },
  {
    key: fromHex("aa".repeat(131)),
    data: utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
    "SHA-256": "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    "SHA-384":
      "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
    "SHA-512":
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
  },
];

export default {
  async "digest: FIPS 180 examples"() {
    assertStrictEquals(hex(await crypto.subtle.digest("SHA-1", utf8("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assertStrictEquals(
      hex(await crypto.subtle.digest({ name: "sha-256" }, utf8("abc"))),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assertStrictEquals(
      hex(await crypto.subtle.digest("SHA-384", utf8("abc"))),
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    );
    assertStrictEquals(
      hex(await crypto.subtle.digest("SHA-512", new ArrayBuffer(0))),
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    );
    await assertRejects(crypto.subtle.digest("MD5", utf8("abc")), "NotSupportedError");
    // SHA-3 (FIPS 202 "abc" examples), digest() only for now.
    assertStrictEquals(
      hex(await crypto.subtle.digest("SHA3-256", utf8("abc"))),
      "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    );
    assertStrictEquals(
      hex(await crypto.subtle.digest({ name: "sha3-384" }, utf8("abc"))),
      "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25",
    );
    assertStrictEquals(
      hex(await crypto.subtle.digest("SHA3-512", utf8("abc"))),
      "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
    );
    await assertRejects(
      crypto.subtle.importKey("raw", new Uint8Array(16), { name: "HMAC", hash: "SHA3-256" }, false, ["sign"]),
      "NotSupportedError",
    );
    await assertRejects(crypto.subtle.digest("SHA-256", "not a buffer"), "TypeError");
  },

  async "HMAC: RFC 4231 vectors, sign and verify"() {
    for (const vector of RFC4231) {
      for (const hash of ["SHA-256", "SHA-384", "SHA-512"]) {
        const key = await crypto.subtle.importKey("raw", vector.key, { name: "HMAC", hash }, false, [
          "sign",
          "verify",
        ]);
        const signature = await crypto.subtle.sign("HMAC", key, vector.data);
        assertStrictEquals(hex(signature), vector[hash], hash);
        assert(await crypto.subtle.verify("HMAC", key, signature, vector.data), "verifies");
        const tampered = new Uint8Array(signature);
        tampered[0] ^= 1;
        assert(!(await crypto.subtle.verify("HMAC", key, tampered, vector.data)), "tampered");
      }
    }
  },

  async "HMAC keys: generate, export, import as JWK"() {
    const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    assert(key instanceof CryptoKey);
    assertStrictEquals(key.type, "secret");
    assertStrictEquals(key.algorithm.name, "HMAC");
    assertStrictEquals(key.algorithm.hash.name, "SHA-256");
    assertStrictEquals(key.algorithm.length, 512);
    assertStrictEquals(key.usages.join(), "sign");
    const raw = await crypto.subtle.exportKey("raw", key);
    assertStrictEquals(raw.byteLength, 64);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    assertStrictEquals(jwk.kty, "oct");
    assertStrictEquals(jwk.alg, "HS256");
    const again = await crypto.subtle.importKey("jwk", jwk, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", again)), hex(raw));
  },

  async "usages, extractability and algorithm mismatches are errors"() {
    const key = await crypto.subtle.importKey("raw", utf8("k"), { name: "HMAC", hash: "SHA-1" }, false, ["verify"]);
    await assertRejects(crypto.subtle.sign("HMAC", key, utf8("x")), "InvalidAccessError", "usage");
    await assertRejects(crypto.subtle.exportKey("raw", key), "InvalidAccessError", "extractable");
    await assertRejects(
      crypto.subtle.importKey("raw", utf8("k"), { name: "HMAC", hash: "SHA-1" }, false, ["encrypt"]),
      "SyntaxError",
      "bad usage",
    );
    await assertRejects(
      crypto.subtle.importKey("raw", new Uint8Array(0), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]),
      "DataError",
      "empty key",
    );
    await assertRejects(
      crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, key, utf8("x")),
      "InvalidAccessError",
      "an HMAC key for AES-GCM",
    );
    await assertRejects(crypto.subtle.encrypt({ name: "HMAC" }, key, utf8("x")), "NotSupportedError");
    await assertRejects(crypto.subtle.sign({ name: "RC4" }, key, utf8("x")), "NotSupportedError");
  },

  "timingSafeEqual"() {
    assert(crypto.subtle.timingSafeEqual(utf8("same"), utf8("same")));
    assert(!crypto.subtle.timingSafeEqual(utf8("same"), utf8("sane")));
    let threw = false;
    try {
      crypto.subtle.timingSafeEqual(utf8("a"), utf8("ab"));
    } catch (e) {
      threw = e instanceof TypeError;
    }
    assert(threw, "lengths must match");
  },
};
