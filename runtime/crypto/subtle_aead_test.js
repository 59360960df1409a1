// crypto.subtle AES-OCB (RFC 7253 vectors) and ChaCha20-Poly1305 (RFC 8439):
// the modern algorithms proposal's AEAD ciphers, their keys ("raw-secret",
// jwk), wrapping, and what a hostile caller can pass them.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

// RFC 7253 appendix A: AES-128, key 000102...0f, 128-bit tags.
const OCB_KEY = "000102030405060708090a0b0c0d0e0f";
const OCB = [
  { nonce: "bbaa99887766554433221100", aad: "", plaintext: "", sealed: "785407bfffc8ad9edcc5520ac9111ee6" },
  {
    nonce: "bbaa99887766554433221101",
    aad: "0001020304050607",
    plaintext: "0001020304050607",
    sealed: "6820b3657b6f615a5725bda0d3b4eb3a257c9af1f8f03009",
  },
  {
    nonce: "bbaa99887766554433221103",
    aad: "",
    plaintext: "0001020304050607",
    sealed: "45dd69f8f5aae72414054cd1f35d82760b2cd00d2f99bfa9",
  },
];
// RFC 7253 appendix A's 96-bit tag example.
const OCB96 = {
  key: "0f0e0d0c0b0a09080706050403020100",
  nonce: "bbaa9988776655443322110d",
  aad: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627",
  plaintext: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627",
  sealed:
    "1792a4e31e0755fb03e31b22116e6c2ddf9efd6e33d536f1a0124b0a55bae884ed93481529c76b6ad0c515f4d1cdd4fdac4f02aa",
};

// RFC 8439 section 2.8.2.
const C20P = {
  key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
  iv: "070000004041424344454647",
  aad: "50515253c0c1c2c3c4c5c6c7",
  plaintext:
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  sealed:
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e06" +
    "0b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d265" +
    "86cec64b6116" +
    "1ae10b594f09e26a7e902ecbd0600691",
};

// fromHex, with "" as no bytes.
const bytes = (text) => (text ? fromHex(text) : new Uint8Array(0));

const importSecret = (name, hexKey, usages = ["encrypt", "decrypt"], extractable = false) =>
  crypto.subtle.importKey("raw-secret", fromHex(hexKey), name, extractable, usages);

export default {
  async "AES-OCB: RFC 7253 vectors, both ways, 128 and 96-bit tags"() {
    const key = await importSecret("AES-OCB", OCB_KEY);
    for (const v of OCB) {
      const params = { name: "AES-OCB", iv: fromHex(v.nonce), additionalData: bytes(v.aad) };
      const sealed = await crypto.subtle.encrypt(params, key, bytes(v.plaintext));
      assertStrictEquals(hex(sealed), v.sealed, `encrypt ${v.nonce}`);
      assertStrictEquals(hex(await crypto.subtle.decrypt(params, key, sealed)), v.plaintext, `decrypt ${v.nonce}`);
    }
    const key96 = await importSecret("aes-ocb", OCB96.key);
    const params = { name: "AES-OCB", iv: fromHex(OCB96.nonce), additionalData: fromHex(OCB96.aad), tagLength: 96 };
    const sealed = await crypto.subtle.encrypt(params, key96, fromHex(OCB96.plaintext));
    assertStrictEquals(hex(sealed), OCB96.sealed, "96-bit tag");
    assertStrictEquals(hex(await crypto.subtle.decrypt(params, key96, sealed)), OCB96.plaintext);
    // OCB puts the tag length into the nonce: a 64-bit tag is not a prefix
    // of the 128-bit one, and decrypting with the wrong length fails.
    const short = new Uint8Array(await crypto.subtle.encrypt({ ...params, tagLength: 64 }, key96, fromHex(OCB96.plaintext)));
    assertStrictEquals(short.byteLength, 40 + 8);
    await assertRejects(crypto.subtle.decrypt(params, key96, short), "OperationError", "64-bit tag read as 96");
  },

  async "AES-OCB: iv, tag and data errors"() {
    const key = await importSecret("AES-OCB", OCB_KEY);
    const v = OCB[1];
    const params = { name: "AES-OCB", iv: fromHex(v.nonce), additionalData: fromHex(v.aad) };
    const sealed = new Uint8Array(await crypto.subtle.encrypt(params, key, fromHex(v.plaintext)));
    for (const at of [0, sealed.length - 1]) {
      const tampered = sealed.slice();
      tampered[at] ^= 1;
      await assertRejects(crypto.subtle.decrypt(params, key, tampered), "OperationError", `tampered byte ${at}`);
    }
    await assertRejects(crypto.subtle.decrypt({ ...params, additionalData: undefined }, key, sealed), "OperationError");
    await assertRejects(crypto.subtle.decrypt(params, key, new Uint8Array(15)), "OperationError", "shorter than the tag");
    for (const ivBytes of [0, 16, 1 << 20]) {
      await assertRejects(
        crypto.subtle.encrypt({ ...params, iv: new Uint8Array(ivBytes) }, key, utf8("x")),
        "OperationError",
        `iv of ${ivBytes} bytes`,
      );
    }
    // Every iv length the proposal allows works, 1 to 15 bytes.
    for (let ivBytes = 1; ivBytes <= 15; ivBytes++) {
      const iv = new Uint8Array(ivBytes).fill(7);
      const out = await crypto.subtle.encrypt({ name: "AES-OCB", iv }, key, utf8("hello"));
      assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-OCB", iv }, key, out)), "hello");
    }
    for (const tagLength of [0, 32, 63, 104, 120, 129]) {
      await assertRejects(crypto.subtle.encrypt({ ...params, tagLength }, key, utf8("x")), "OperationError", `tag ${tagLength}`);
    }
    // [EnforceRange] octet: out of range is a TypeError, before the key is looked at.
    for (const tagLength of [256, -1, NaN, Infinity, 2 ** 53]) {
      await assertRejects(crypto.subtle.encrypt({ ...params, tagLength }, key, utf8("x")), TypeError, `tag ${tagLength}`);
    }
    await assertRejects(crypto.subtle.encrypt({ name: "AES-OCB" }, key, utf8("x")), TypeError, "no iv");
    await assertRejects(crypto.subtle.encrypt({ name: "AES-OCB", iv: "abc" }, key, utf8("x")), TypeError, "iv string");
    const encryptOnly = await importSecret("AES-OCB", OCB_KEY, ["encrypt"]);
    await assertRejects(crypto.subtle.decrypt(params, encryptOnly, sealed), "InvalidAccessError", "usage");
    // The parameters are converted before the key is checked, as WebIDL does.
    await assertRejects(crypto.subtle.decrypt({ name: "AES-OCB" }, encryptOnly, sealed), TypeError, "params first");
    const gcm = await crypto.subtle.importKey("raw", fromHex(OCB_KEY), "AES-GCM", false, ["encrypt"]);
    await assertRejects(crypto.subtle.encrypt(params, gcm, utf8("x")), "InvalidAccessError", "a GCM key");
  },

  async "AES-OCB keys: generate, raw-secret and jwk, never raw"() {
    for (const length of [128, 192, 256]) {
      const key = await crypto.subtle.generateKey({ name: "AES-OCB", length }, true, ["encrypt", "decrypt", "wrapKey"]);
      assertStrictEquals(key.type, "secret");
      assertStrictEquals(key.algorithm.name, "AES-OCB");
      assertStrictEquals(key.algorithm.length, length);
      const raw = await crypto.subtle.exportKey("raw-secret", key);
      assertStrictEquals(raw.byteLength, length / 8);
      await assertRejects(crypto.subtle.exportKey("raw", key), "NotSupportedError", "export raw");
      const jwk = await crypto.subtle.exportKey("jwk", key);
      assertStrictEquals(jwk.kty, "oct");
      assertStrictEquals(jwk.alg, `A${length}OCB`);
      assertStrictEquals(jwk.key_ops.join(), "encrypt,decrypt,wrapKey");
      const again = await crypto.subtle.importKey("jwk", jwk, "AES-OCB", true, ["decrypt"]);
      assertStrictEquals(hex(await crypto.subtle.exportKey("raw-secret", again)), hex(raw));
    }
    await assertRejects(crypto.subtle.importKey("raw", fromHex(OCB_KEY), "AES-OCB", true, ["encrypt"]), "NotSupportedError");
    await assertRejects(crypto.subtle.importKey("raw-secret", new Uint8Array(20), "AES-OCB", true, ["encrypt"]), "DataError");
    await assertRejects(crypto.subtle.importKey("raw-secret", fromHex(OCB_KEY), "AES-OCB", true, []), "SyntaxError");
    await assertRejects(crypto.subtle.importKey("raw-secret", fromHex(OCB_KEY), "AES-OCB", true, ["sign"]), "SyntaxError");
    await assertRejects(crypto.subtle.generateKey({ name: "AES-OCB", length: 100 }, true, ["encrypt"]), "OperationError");
    const jwk = { kty: "oct", k: "AAAAAAAAAAAAAAAAAAAAAA", alg: "A128GCM" };
    await assertRejects(crypto.subtle.importKey("jwk", jwk, "AES-OCB", true, ["encrypt"]), "DataError", "alg");
    await assertRejects(crypto.subtle.importKey("spki", new Uint8Array(16), "AES-OCB", true, ["encrypt"]), "NotSupportedError");
    await assertRejects(crypto.subtle.importKey("raw-public", new Uint8Array(16), "AES-OCB", true, ["encrypt"]), TypeError);
  },

  async "raw-secret: the spec's secret keys take it too, public key algorithms do not"() {
    const hmac = await crypto.subtle.importKey("raw-secret", fromHex("0102"), { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw-secret", hmac)), "0102");
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", hmac)), "0102");
    const gcm = await crypto.subtle.importKey("raw-secret", fromHex(OCB_KEY), "AES-GCM", true, ["encrypt"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw-secret", gcm)), OCB_KEY);
    await crypto.subtle.importKey("raw-secret", fromHex(OCB_KEY), "HKDF", false, ["deriveBits"]);
    await assertRejects(
      crypto.subtle.importKey("raw-secret", new Uint8Array(32), "Ed25519", true, ["verify"]),
      "NotSupportedError",
      "Ed25519",
    );
    const pair = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]);
    await assertRejects(crypto.subtle.exportKey("raw-secret", pair.publicKey), "NotSupportedError", "export Ed25519");
  },

  async "ChaCha20-Poly1305: RFC 8439 2.8.2, both ways, and errors"() {
    const key = await importSecret("ChaCha20-Poly1305", C20P.key);
    const params = { name: "ChaCha20-Poly1305", iv: fromHex(C20P.iv), additionalData: fromHex(C20P.aad) };
    const sealed = new Uint8Array(await crypto.subtle.encrypt(params, key, utf8(C20P.plaintext)));
    assertStrictEquals(hex(sealed), C20P.sealed);
    assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt(params, key, sealed)), C20P.plaintext);
    assertStrictEquals(hex(await crypto.subtle.encrypt({ ...params, tagLength: 128 }, key, utf8(C20P.plaintext))), C20P.sealed);
    const tampered = sealed.slice();
    tampered[5] ^= 1;
    await assertRejects(crypto.subtle.decrypt(params, key, tampered), "OperationError", "tampered");
    await assertRejects(crypto.subtle.decrypt(params, key, new Uint8Array(15)), "OperationError", "short");
    for (const ivBytes of [0, 8, 11, 13, 16]) {
      await assertRejects(
        crypto.subtle.encrypt({ ...params, iv: new Uint8Array(ivBytes) }, key, utf8("x")),
        "OperationError",
        `iv ${ivBytes}`,
      );
    }
    await assertRejects(crypto.subtle.encrypt({ ...params, tagLength: 96 }, key, utf8("x")), "OperationError", "tag 96");
    await assertRejects(crypto.subtle.encrypt({ ...params, tagLength: 300 }, key, utf8("x")), TypeError, "tag 300");
    await assertRejects(crypto.subtle.encrypt({ name: "ChaCha20-Poly1305" }, key, utf8("x")), TypeError, "no iv");
  },

  async "ChaCha20-Poly1305 keys: 256 bits, no length, raw-secret and jwk C20P"() {
    const key = await crypto.subtle.generateKey({ name: "chacha20-poly1305", length: 128 }, true, ["encrypt", "decrypt"]);
    assertStrictEquals(key.algorithm.name, "ChaCha20-Poly1305");
    assertStrictEquals("length" in key.algorithm, false);
    assertStrictEquals((await crypto.subtle.exportKey("raw-secret", key)).byteLength, 32);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    assertStrictEquals(jwk.alg, "C20P");
    assertStrictEquals(jwk.kty, "oct");
    const again = await crypto.subtle.importKey("jwk", jwk, "ChaCha20-Poly1305", true, ["encrypt"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw-secret", again)), hex(await crypto.subtle.exportKey("raw-secret", key)));
    await assertRejects(crypto.subtle.exportKey("raw", key), "NotSupportedError");
    await assertRejects(importSecret("ChaCha20-Poly1305", "00".repeat(16)), "DataError", "128-bit key");
    await assertRejects(importSecret("ChaCha20-Poly1305", "00".repeat(33)), "DataError", "33 bytes");
    await assertRejects(
      crypto.subtle.importKey("raw", new Uint8Array(32), "ChaCha20-Poly1305", true, ["encrypt"]),
      "NotSupportedError",
    );
    await assertRejects(
      crypto.subtle.importKey("jwk", { ...jwk, alg: "A256GCM" }, "ChaCha20-Poly1305", true, ["encrypt"]),
      "DataError",
      "alg",
    );
    await assertRejects(
      crypto.subtle.importKey("jwk", { ...jwk, use: "sig" }, "ChaCha20-Poly1305", true, ["encrypt"]),
      "DataError",
      "use",
    );
    await assertRejects(crypto.subtle.generateKey("ChaCha20-Poly1305", true, ["sign"]), "SyntaxError");
    await assertRejects(crypto.subtle.generateKey("ChaCha20-Poly1305", true, []), "SyntaxError");
  },

  async "wrapKey and unwrapKey with AES-OCB and ChaCha20-Poly1305"() {
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    const rawHmac = hex(await crypto.subtle.exportKey("raw", hmac));
    const wrappers = [
      [await crypto.subtle.generateKey({ name: "AES-OCB", length: 256 }, false, ["wrapKey", "unwrapKey"]), { name: "AES-OCB", iv: new Uint8Array(12), tagLength: 96 }],
      [await crypto.subtle.generateKey("ChaCha20-Poly1305", false, ["wrapKey", "unwrapKey"]), { name: "ChaCha20-Poly1305", iv: new Uint8Array(12) }],
    ];
    for (const [wrapper, params] of wrappers) {
      for (const format of ["raw", "jwk", "raw-secret"]) {
        const wrapped = await crypto.subtle.wrapKey(format, hmac, wrapper, params);
        const back = await crypto.subtle.unwrapKey(format, wrapped, wrapper, params, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
        assertStrictEquals(hex(await crypto.subtle.exportKey("raw", back)), rawHmac, `${params.name} ${format}`);
      }
      const wrapped = new Uint8Array(await crypto.subtle.wrapKey("raw", hmac, wrapper, params));
      wrapped[0] ^= 1;
      await assertRejects(
        crypto.subtle.unwrapKey("raw", wrapped, wrapper, params, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
        "OperationError",
        `${params.name} tampered`,
      );
    }
    // A derived key of each.
    const base = await crypto.subtle.importKey("raw", new Uint8Array(32), "HKDF", false, ["deriveKey"]);
    const hkdf = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new Uint8Array(0) };
    const ocb = await crypto.subtle.deriveKey(hkdf, base, { name: "AES-OCB", length: 192 }, true, ["encrypt"]);
    assertStrictEquals(ocb.algorithm.length, 192);
    const c20p = await crypto.subtle.deriveKey(hkdf, base, "ChaCha20-Poly1305", true, ["encrypt"]);
    assertStrictEquals((await crypto.subtle.exportKey("raw-secret", c20p)).byteLength, 32);
  },

  async "hostile parameters: Proxies, poisoned prototypes, detached and huge buffers"() {
    const key = await importSecret("AES-OCB", OCB_KEY);
    const v = OCB[1];
    // A Proxy is read like any dictionary, each member once, in WebIDL's order.
    const reads = [];
    const target = { name: "AES-OCB", iv: fromHex(v.nonce), additionalData: fromHex(v.aad) };
    const proxy = new Proxy(target, {
      get(object, property) {
        reads.push(String(property));
        return object[property];
      },
    });
    assertStrictEquals(hex(await crypto.subtle.encrypt(proxy, key, fromHex(v.plaintext))), v.sealed);
    assertStrictEquals(reads.join(), "name,additionalData,iv,tagLength");
    // A getter that throws rejects the call with its error.
    const boom = new Error("boom");
    const throwing = { name: "AES-OCB", iv: new Uint8Array(12), get additionalData() { throw boom; } };
    assertStrictEquals(await assertRejects(crypto.subtle.encrypt(throwing, key, utf8("x"))), boom);
    // A dictionary's members may come from Object.prototype (WebIDL reads
    // them there too): a poisoned tagLength changes the tag, and a poisoned
    // iv is still only bytes.
    Object.prototype.tagLength = 64;
    try {
      const sealed = await crypto.subtle.encrypt({ name: "AES-OCB", iv: fromHex(v.nonce) }, key, utf8("x"));
      assertStrictEquals(sealed.byteLength, 1 + 8);
    } finally {
      delete Object.prototype.tagLength;
    }
    Object.prototype.iv = { length: 1e9 };
    try {
      await assertRejects(crypto.subtle.encrypt({ name: "ChaCha20-Poly1305" }, key, utf8("x")), TypeError);
    } finally {
      delete Object.prototype.iv;
    }
    // Patched array built-ins break nothing here.
    const includes = Array.prototype.includes;
    const iterator = Array.prototype[Symbol.iterator];
    Array.prototype.includes = () => true;
    try {
      await assertRejects(crypto.subtle.encrypt({ ...target, tagLength: 24 }, key, utf8("x")), "OperationError");
      assertStrictEquals(hex(await crypto.subtle.encrypt(target, key, fromHex(v.plaintext))), v.sealed);
    } finally {
      Array.prototype.includes = includes;
    }
    const plaintext = fromHex(v.plaintext);
    Array.prototype[Symbol.iterator] = function* () {};
    let patched;
    try {
      patched = await crypto.subtle.encrypt(target, key, plaintext);
    } finally {
      Array.prototype[Symbol.iterator] = iterator;
    }
    assertStrictEquals(hex(patched), v.sealed, "with a patched array iterator");
    // Detached buffers are refused, not read.
    const detached = new Uint8Array(16);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    await assertRejects(crypto.subtle.encrypt({ name: "AES-OCB", iv: detached }, key, utf8("x")), TypeError, "detached iv");
    await assertRejects(crypto.subtle.encrypt(target, key, detached), TypeError, "detached data");
    // Changing the data after the call does not change the result.
    const data = fromHex(v.plaintext);
    const pending = crypto.subtle.encrypt(target, key, data);
    data.fill(0xff);
    assertStrictEquals(hex(await pending), v.sealed);
    // Large data goes off the serving thread and still round-trips.
    const big = new Uint8Array(1 << 20).fill(3);
    const chacha = await crypto.subtle.generateKey("ChaCha20-Poly1305", false, ["encrypt", "decrypt"]);
    const c20p = { name: "ChaCha20-Poly1305", iv: new Uint8Array(12), additionalData: new Uint8Array(300000) };
    const sealed = await crypto.subtle.encrypt(c20p, chacha, big);
    assertStrictEquals(sealed.byteLength, big.byteLength + 16);
    const opened = new Uint8Array(await crypto.subtle.decrypt(c20p, chacha, sealed));
    assert(opened.length === big.length && opened.every((b) => b === 3), "1 MiB round trip");
  },
};
