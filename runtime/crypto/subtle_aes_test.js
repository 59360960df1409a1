// crypto.subtle AES-GCM, AES-CBC and AES-CTR: NIST vectors, round trips,
// keys and errors.

import { assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

// The McGrew-Viega GCM test cases 2, 4 (with additional data) and 16
// (AES-256, a 60-byte text, additional data), as used in NIST's GCM
// validation.
const GCM = [
  {
    key: "00000000000000000000000000000000",
    iv: "000000000000000000000000",
    plaintext: "00000000000000000000000000000000",
    aad: "",
    ciphertext: "0388dace60b6a392f328c2b971b2fe78",
    tag: "ab6e47d42cec13bdf53a67b21257bddf",
  },
  {
    key: "feffe9928665731c6d6a8f9467308308",
    iv: "cafebabefacedbaddecaf888",
    plaintext:
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    ciphertext:
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    tag: "5bc94fbc3221a5db94fae95ae7121a47",
  },
  {
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    iv: "cafebabefacedbaddecaf888",
    plaintext:
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    ciphertext:
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
];

// NIST SP 800-38A, F.2.1 (CBC-AES128) and F.5.1 (CTR-AES128): the same four
// plaintext blocks.
const SP800_38A_KEY = "2b7e151628aed2a6abf7158809cf4f3c";
const SP800_38A_PLAINTEXT =
  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
const CBC_CIPHERTEXT =
  "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2" +
  "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7";
const CTR_CIPHERTEXT =
  "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff" +
  "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee";

const importAes = (hexKey, name, usages = ["encrypt", "decrypt"], extractable = false) =>
  crypto.subtle.importKey("raw", fromHex(hexKey), name, extractable, usages);

export default {
  async "AES-GCM: GCM spec test vectors, both ways"() {
    for (const v of GCM) {
      const key = await importAes(v.key, "AES-GCM");
      const params = { name: "AES-GCM", iv: fromHex(v.iv) };
      if (v.aad) params.additionalData = fromHex(v.aad);
      const sealed = await crypto.subtle.encrypt(params, key, fromHex(v.plaintext));
      assertStrictEquals(hex(sealed), v.ciphertext + v.tag, `encrypt ${v.key}`);
      const opened = await crypto.subtle.decrypt(params, key, sealed);
      assertStrictEquals(hex(opened), v.plaintext, `decrypt ${v.key}`);
    }
  },

  async "AES-GCM: a failed tag, a short tag, bad parameters"() {
    const v = GCM[1];
    const key = await importAes(v.key, "AES-GCM");
    const params = { name: "AES-GCM", iv: fromHex(v.iv), additionalData: fromHex(v.aad) };
    const sealed = new Uint8Array(await crypto.subtle.encrypt(params, key, fromHex(v.plaintext)));
    const tampered = sealed.slice();
    tampered[3] ^= 1;
    await assertRejects(crypto.subtle.decrypt(params, key, tampered), "OperationError", "tampered text");
    const badTag = sealed.slice();
    badTag[badTag.length - 1] ^= 1;
    await assertRejects(crypto.subtle.decrypt(params, key, badTag), "OperationError", "tampered tag");
    await assertRejects(
      crypto.subtle.decrypt({ name: "AES-GCM", iv: fromHex(v.iv) }, key, sealed),
      "OperationError",
      "missing additional data",
    );
    await assertRejects(crypto.subtle.decrypt(params, key, new Uint8Array(8)), "OperationError", "too short");
    // A 96-bit tag is the first 12 bytes of the full one.
    const short = await crypto.subtle.encrypt({ ...params, tagLength: 96 }, key, fromHex(v.plaintext));
    assertStrictEquals(hex(short), v.ciphertext + v.tag.slice(0, 24), "96-bit tag");
    assertStrictEquals(
      hex(await crypto.subtle.decrypt({ ...params, tagLength: 96 }, key, short)),
      v.plaintext,
      "96-bit tag decrypts",
    );
    await assertRejects(
      crypto.subtle.encrypt({ ...params, tagLength: 100 }, key, utf8("x")),
      "OperationError",
      "tagLength 100",
    );
    await assertRejects(crypto.subtle.encrypt({ name: "AES-GCM" }, key, utf8("x")), "TypeError", "no iv");
    // An empty plaintext still has a tag.
    const empty = await crypto.subtle.encrypt(params, key, new Uint8Array(0));
    assertStrictEquals(empty.byteLength, 16);
    assertStrictEquals((await crypto.subtle.decrypt(params, key, empty)).byteLength, 0);
  },

  async "AES-CBC: SP 800-38A F.2.1 with PKCS#7 padding"() {
    const key = await importAes(SP800_38A_KEY, "AES-CBC");
    const params = { name: "AES-CBC", iv: fromHex("000102030405060708090a0b0c0d0e0f") };
    const sealed = await crypto.subtle.encrypt(params, key, fromHex(SP800_38A_PLAINTEXT));
    assertStrictEquals(sealed.byteLength, 80, "a full padding block");
    assertStrictEquals(hex(sealed).slice(0, 128), CBC_CIPHERTEXT);
    assertStrictEquals(hex(await crypto.subtle.decrypt(params, key, sealed)), SP800_38A_PLAINTEXT);
    const odd = await crypto.subtle.encrypt(params, key, utf8("seventeen bytes!!"));
    assertStrictEquals(odd.byteLength, 32);
    assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt(params, key, odd)), "seventeen bytes!!");
    // The NIST ciphertext alone ends in no valid padding.
    await assertRejects(crypto.subtle.decrypt(params, key, fromHex(CBC_CIPHERTEXT)), "OperationError", "padding");
    await assertRejects(crypto.subtle.decrypt(params, key, new Uint8Array(15)), "OperationError", "partial");
    await assertRejects(
      crypto.subtle.encrypt({ name: "AES-CBC", iv: new Uint8Array(8) }, key, utf8("x")),
      "OperationError",
      "8-byte iv",
    );
  },

  async "AES-CTR: SP 800-38A F.5.1 and counter wrap-around"() {
    const key = await importAes(SP800_38A_KEY, "AES-CTR");
    const counter = fromHex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    for (const length of [64, 128]) {
      const params = { name: "AES-CTR", counter, length };
      const sealed = await crypto.subtle.encrypt(params, key, fromHex(SP800_38A_PLAINTEXT));
      assertStrictEquals(hex(sealed), CTR_CIPHERTEXT, `length ${length}`);
      assertStrictEquals(hex(await crypto.subtle.decrypt(params, key, sealed)), SP800_38A_PLAINTEXT);
    }
    // With an 8-bit counter, ...ff wraps to ...00 (not to ...feff + 1).
    const zeros = new Uint8Array(32);
    const wrapped = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 8 }, key, zeros),
    );
    const second = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-CTR", counter: fromHex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfe00"), length: 128 },
        key,
        new Uint8Array(16),
      ),
    );
    const first = await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 128 }, key, new Uint8Array(16));
    assertStrictEquals(hex(wrapped.slice(0, 16)), hex(first), "first block");
    assertStrictEquals(hex(wrapped.slice(16)), hex(second), "wrapped block");
    // An all-ones 72-bit counter wraps inside its own bits too.
    const wide = fromHex("f0f1f2f3f4f5f6ffffffffffffffffff");
    const wideWrapped = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-CTR", counter: wide, length: 72 }, key, zeros),
    );
    const wideSecond = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-CTR", counter: fromHex("f0f1f2f3f4f5f6000000000000000000"), length: 128 },
        key,
        new Uint8Array(16),
      ),
    );
    assertStrictEquals(hex(wideWrapped.slice(16)), hex(wideSecond), "72-bit wrap");
    // A 1-bit counter allows two blocks, not three.
    await assertRejects(
      crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 1 }, key, new Uint8Array(33)),
      "OperationError",
      "too long",
    );
    await assertRejects(
      crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 0 }, key, zeros),
      "OperationError",
      "length 0",
    );
    await assertRejects(
      crypto.subtle.encrypt({ name: "AES-CTR", counter: new Uint8Array(8), length: 64 }, key, zeros),
      "OperationError",
      "short counter",
    );
  },

  async "AES keys: generate, export and import as raw and JWK"() {
    for (const [name, suffix] of [["AES-GCM", "GCM"], ["AES-CBC", "CBC"], ["AES-CTR", "CTR"]]) {
      for (const length of [128, 192, 256]) {
        const key = await crypto.subtle.generateKey({ name, length }, true, ["encrypt", "decrypt"]);
        assertStrictEquals(key.type, "secret");
        assertStrictEquals(key.algorithm.name, name);
        assertStrictEquals(key.algorithm.length, length);
        assertStrictEquals(key.usages.join(), "encrypt,decrypt");
        const raw = await crypto.subtle.exportKey("raw", key);
        assertStrictEquals(raw.byteLength, length / 8);
        const jwk = await crypto.subtle.exportKey("jwk", key);
        assertStrictEquals(jwk.kty, "oct");
        assertStrictEquals(jwk.alg, `A${length}${suffix}`);
        assertStrictEquals(jwk.ext, true);
        assertStrictEquals(jwk.key_ops.join(), "encrypt,decrypt");
        const again = await crypto.subtle.importKey("jwk", jwk, name, true, ["encrypt"]);
        assertStrictEquals(hex(await crypto.subtle.exportKey("raw", again)), hex(raw), `${name} ${length}`);
      }
    }
    // A round trip through a generated key.
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, utf8("hello"));
    assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed)), "hello");
  },

  async "AES keys: errors"() {
    await assertRejects(
      crypto.subtle.generateKey({ name: "AES-GCM", length: 100 }, true, ["encrypt"]),
      "OperationError",
      "length 100",
    );
    await assertRejects(
      crypto.subtle.generateKey({ name: "AES-GCM", length: 128 }, true, ["sign"]),
      "SyntaxError",
      "sign usage",
    );
    await assertRejects(crypto.subtle.generateKey({ name: "AES-GCM", length: 128 }, true, []), "SyntaxError", "no usages");
    await assertRejects(importAes("00".repeat(20), "AES-CBC"), "DataError", "20-byte key");
    const jwk = { kty: "oct", k: "AAAAAAAAAAAAAAAAAAAAAA", alg: "A256GCM" };
    await assertRejects(crypto.subtle.importKey("jwk", jwk, "AES-GCM", true, ["encrypt"]), "DataError", "alg");
    await assertRejects(
      crypto.subtle.importKey("jwk", { ...jwk, alg: "A128GCM", kty: "RSA" }, "AES-GCM", true, ["encrypt"]),
      "DataError",
      "kty",
    );
    await assertRejects(
      crypto.subtle.importKey("jwk", { ...jwk, alg: "A128GCM", ext: false }, "AES-GCM", true, ["encrypt"]),
      "DataError",
      "ext",
    );
    await assertRejects(importAes("00".repeat(16), "AES-GCM").then((k) => crypto.subtle.exportKey("raw", k)), "InvalidAccessError");
    const encryptOnly = await importAes("00".repeat(16), "AES-CBC", ["encrypt"]);
    await assertRejects(
      crypto.subtle.decrypt({ name: "AES-CBC", iv: new Uint8Array(16) }, encryptOnly, new Uint8Array(16)),
      "InvalidAccessError",
      "usage",
    );
    await assertRejects(
      crypto.subtle.encrypt({ name: "AES-CTR", counter: new Uint8Array(16), length: 64 }, encryptOnly, utf8("x")),
      "InvalidAccessError",
      "algorithm mismatch",
    );
    await assertRejects(crypto.subtle.sign("AES-GCM", encryptOnly, utf8("x")), "NotSupportedError", "AES-GCM sign");
  },
};
