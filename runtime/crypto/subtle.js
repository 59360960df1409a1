// crypto.subtle (https://w3c.github.io/webcrypto/#subtlecrypto-interface):
// the algorithm normalization, CryptoKey objects and key usages, over the
// OpenSSL natives in runtime/crypto/crypto_subtle.cc (digests, HMAC, KMAC),
// runtime/crypto/crypto_cipher.cc (AES, ChaCha20-Poly1305),
// runtime/crypto/crypto_kdf.cc (PBKDF2, HKDF) and
// runtime/crypto/crypto_pkey.cc (EVP_PKEY keys: EC, Ed25519, X25519, RSA).
// Implemented (the WebCrypto spec, then the proposals OpenSSL 3.0 backs:
// https://wicg.github.io/webcrypto-secure-curves/ and
// https://wicg.github.io/webcrypto-modern-algos/):
// - digest: SHA-1, SHA-256, SHA-384, SHA-512;
// - HMAC, AES-GCM, AES-CBC, AES-CTR, AES-KW: generateKey, importKey and
//   exportKey (raw, jwk), sign/verify, encrypt/decrypt, wrapKey/unwrapKey;
// - PBKDF2, HKDF: importKey (raw), deriveBits, deriveKey;
// - ECDSA and ECDH (P-256, P-384, P-521), Ed25519, X25519: generateKey,
//   importKey and exportKey (raw public, spki, pkcs8, jwk), sign/verify,
//   deriveBits, deriveKey;
// - RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP: generateKey, importKey and
//   exportKey (spki, pkcs8, jwk), sign/verify, encrypt/decrypt;
// - AES-OCB, ChaCha20-Poly1305: generateKey, importKey and exportKey
//   (raw-secret, jwk), encrypt/decrypt, wrapKey/unwrapKey;
// - KMAC128, KMAC256: generateKey, importKey and exportKey (raw-secret,
//   jwk), sign/verify;
// - Ed448, X448 as Ed25519, X25519; digest with SHA3-256/384/512;
// - the "raw-secret" key format for every secret key ("raw" stays for the
//   algorithms of the spec only);
// - wrapKey/unwrapKey with any algorithm that wraps (AES-KW) or encrypts;
// - Workers' timingSafeEqual.
// Each algorithm is one entry of ALGORITHMS below, holding its operations;
// an operation an algorithm lacks is a NotSupportedError.

const { DOMException, finishInterface, illegalConstructor, brandCheck, requireArguments, isObject, createDataProperty } =
  internals;

// Name lookups and usage checks use the built-ins captured before tenant
// code runs (runtime/js/primordials.js): a patched Array.prototype cannot
// make a key usable for what it was not made for.
// The file's top level runs on a worker's first use of crypto.subtle
// (runtime/js/lazy.js): it uses these too, and its records have no
// prototype.
const {
  ArrayBufferIsView, ArrayPrototypeIncludes, ObjectFreeze, ObjectKeys, PromisePrototypeThen, PromiseReject,
  PromiseResolve,
} = internals.primordials;

// PBKDF2, key pair generation, signing and RSA-OAEP run off the serving
// thread (runtime/crypto/crypto_job.h): their natives answer with a promise.
// So do digests, HMAC and AES for inputs over 256 KiB; smaller ones answer
// with their bytes at once.
// `later(value, step)` continues with what `value` (a promise or not) holds;
// bytes answered inline are not held back a microtask.
function later(value, step) {
  if (ArrayBufferIsView(value)) return step(value);
  return PromisePrototypeThen(PromiseResolve(value), step);
}

const kCreate = {};

// [...a, ...b] without an iterator (this file's top level runs after tenant
// code may have patched them: see above).
function concatLists(a, b) {
  const out = [];
  for (let i = 0; i < a.length; i++) createDataProperty(out, out.length, a[i]);
  for (let i = 0; i < b.length; i++) createDataProperty(out, out.length, b[i]);
  return out;
}
const DIGESTS = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
// digest() only: SHA-3 (the WebCrypto "modern algorithms" proposal, on
// OpenSSL 3.0's SHA3); not yet a hash for HMAC, RSA or ECDSA.
const DIGEST_ONLY = ["SHA-1", "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-384", "SHA3-512"];
// HMAC's default key length is the hash's block size, in bits.
const BLOCK_BITS = { __proto__: null, "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
const JWK_HMAC_ALG = { __proto__: null, "SHA-1": "HS1", "SHA-256": "HS256", "SHA-384": "HS384", "SHA-512": "HS512" };

function error(name, message) {
  return new DOMException(message, name);
}

// A BufferSource, copied (the caller may change its buffer afterwards).
function bytesOf(value, what) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBufferIsView(value)) {
    return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  }
  throw new TypeError(`${what} is not a BufferSource`);
}

function exactBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer
    : bytes.slice().buffer;
}

// Finds `name` among `known`, ignoring ASCII case, as "normalize an
// algorithm" does.
function canonicalName(name, known) {
  const lower = `${name}`.toLowerCase();
  for (let i = 0; i < known.length; i++) {
    if (known[i].toLowerCase() === lower) return known[i];
  }
  return undefined;
}

function normalizeHash(hash) {
  if (hash === undefined) throw new TypeError("The algorithm's hash is required");
  const name = canonicalName(typeof hash === "string" ? hash : hash?.name, DIGESTS);
  if (name === undefined) throw error("NotSupportedError", `Unrecognized hash: ${hash?.name ?? hash}`);
  return name;
}

// Normalizes for an operation that supports only the names in `known`.
function normalize(algorithm, known) {
  const dict = typeof algorithm === "string" ? { name: algorithm } : algorithm;
  if (dict === null || typeof dict !== "object") throw new TypeError("The algorithm is not an object");
  // Read once: a getter may answer differently each time.
  const given = dict.name;
  if (given === undefined) throw new TypeError("The algorithm has no name");
  const text = `${given}`;
  const name = canonicalName(text, known);
  if (name === undefined) {
    throw error("NotSupportedError", `Unrecognized or unsupported algorithm: ${text}`);
  }
  return { dict, name };
}

function checkUsages(usages, allowed) {
  const list = [...usages];
  for (const usage of list) {
    if (!allowed.includes(usage)) throw error("SyntaxError", `Unsupported key usage: ${usage}`);
  }
  return [...new Set(list)];
}

// Set by CryptoKey's static block: access to a key's private state.
let isCryptoKey;
let keyOf;
let keyParts;

class CryptoKey {
  #type;
  #extractable;
  #algorithm;
  #usages;
  #material;
  #algorithmView = null;
  #usagesView = null;

  constructor(token, type, extractable, algorithm, usages, material) {
    if (token !== kCreate) throw illegalConstructor();
    this.#type = type;
    this.#extractable = extractable;
    this.#algorithm = algorithm;
    this.#usages = usages;
    this.#material = material;
  }

  get type() {
    return keyOf(this).#type;
  }
  get extractable() {
    return keyOf(this).#extractable;
  }
  get algorithm() {
    const key = keyOf(this);
    if (key.#algorithmView === null) {
      const algorithm = key.#algorithm;
      key.#algorithmView = ObjectFreeze({
        ...algorithm,
        ...(algorithm.hash ? { hash: ObjectFreeze({ name: algorithm.hash }) } : {}),
        ...(algorithm.publicExponent ? { publicExponent: algorithm.publicExponent.slice() } : {}),
      });
    }
    return key.#algorithmView;
  }
  get usages() {
    const key = keyOf(this);
    if (key.#usagesView === null) key.#usagesView = ObjectFreeze([...key.#usages]);
    return key.#usagesView;
  }

  static {
    isCryptoKey = (value) => isObject(value) && #type in value;
    keyOf = brandCheck((value) => (isCryptoKey(value) ? value : undefined));
    keyParts = (key) => ({
      __proto__: null,
      type: key.#type,
      algorithm: key.#algorithm,
      usages: key.#usages,
      extractable: key.#extractable,
      material: key.#material,
    });
  }
}

// Checks that `key` is a CryptoKey for `name` that allows `usage`.
function usableKey(key, name, usage) {
  if (!isCryptoKey(key)) throw new TypeError("The key is not a CryptoKey");
  const parts = keyParts(key);
  if (parts.algorithm.name !== name) {
    throw error("InvalidAccessError", `The key is for ${parts.algorithm.name}, not ${name}`);
  }
  if (!ArrayPrototypeIncludes(parts.usages, usage)) {
    throw error("InvalidAccessError", `The key's usages do not include "${usage}"`);
  }
  return parts;
}

// Whether `format` is the raw bytes of a secret key: "raw-secret" for every
// secret key algorithm (the modern algorithms proposal), "raw" only for
// those of the WebCrypto spec itself (`legacyRaw`).
function isRawSecret(format, legacyRaw) {
  return format === "raw-secret" || (legacyRaw && format === "raw");
}

// exportKey of the secret key algorithms (HMAC, AES, ChaCha20-Poly1305,
// KMAC): raw bytes, or a JWK with `alg`.
function exportSecretKey(name, format, parts, alg, legacyRaw = true) {
  if (isRawSecret(format, legacyRaw)) return exactBuffer(parts.material.slice());
  if (format === "jwk") {
    return { kty: "oct", k: base64url(parts.material), alg, key_ops: [...parts.usages], ext: true };
  }
  throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
}

function secretKey(algorithm, material, extractable, usages) {
  return new CryptoKey(kCreate, "secret", !!extractable, algorithm, usages, material);
}

function base64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return internals.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text, what = "k") {
  if (typeof text !== "string" || /[^A-Za-z0-9_-]/.test(text)) {
    throw error("DataError", `The JWK's ${what} is not base64url`);
  }
  const binary = internals.atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// The checks every JWK import makes ("import a key", JWK steps): the key
// type, the alg (when the algorithm has one: a string, or the array of
// those allowed), use, ext and key_ops.
function checkJwk(keyData, { kty, alg, use, extractable, usages }) {
  if (keyData === null || typeof keyData !== "object") throw new TypeError("keyData is not a JWK");
  if (keyData.kty !== kty) throw error("DataError", `The JWK must have kty "${kty}"`);
  if (alg !== undefined && keyData.alg !== undefined) {
    const allowed = typeof alg === "string" ? keyData.alg === alg : alg.includes(keyData.alg);
    if (!allowed) throw error("DataError", `The JWK's alg ${keyData.alg} is not ${typeof alg === "string" ? alg : alg.join(" or ")}`);
  }
  if (keyData.use !== undefined && usages.length > 0 && keyData.use !== use) {
    throw error("DataError", `The JWK's use must be "${use}"`);
  }
  if (keyData.ext === false && extractable) throw error("DataError", "The JWK is not extractable");
  if (keyData.key_ops !== undefined) {
    for (const usage of usages) {
      if (!keyData.key_ops.includes(usage)) {
        throw error("DataError", `The JWK's key_ops do not allow "${usage}"`);
      }
    }
  }
}

function requireUsages(usages) {
  if (usages.length === 0) throw error("SyntaxError", "A secret key needs at least one usage");
}

// An optional BufferSource member of an algorithm dictionary.
function optionalBytes(dict, member) {
  return dict[member] === undefined ? new Uint8Array(0) : bytesOf(dict[member], member);
}

function requiredBytes(dict, member) {
  if (dict[member] === undefined) throw new TypeError(`The algorithm's ${member} is required`);
  return bytesOf(dict[member], member);
}

// [EnforceRange] unsigned long / unsigned short members.
function unsignedMember(dict, member, max, required = true) {
  const value = dict[member];
  if (value === undefined) {
    if (required) throw new TypeError(`The algorithm's ${member} is required`);
    return undefined;
  }
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || number > max) {
    throw new TypeError(`The algorithm's ${member} is out of range`);
  }
  return Math.trunc(number);
}

// --- HMAC (https://w3c.github.io/webcrypto/#hmac) ---

function hmacLength(dict, hash) {
  const length = unsignedMember(dict, "length", 0xffffffff, false);
  if (length === undefined) return BLOCK_BITS[hash];
  if (length === 0) throw error("OperationError", "The HMAC key length must not be zero");
  return length;
}

const HMAC = {
  __proto__: null,
  usages: ["sign", "verify"],
  generateKey(dict, extractable, usages) {
    const hash = normalizeHash(dict.hash);
    requireUsages(usages);
    const bits = hmacLength(dict, hash);
    if (bits % 8 !== 0) throw error("OperationError", "The HMAC key length must be a multiple of 8");
    const material = internals.crypto.getRandomValues(new Uint8Array(bits / 8));
    return secretKey({ name: "HMAC", hash, length: bits }, material, extractable, usages);
  },
  importKey(format, keyData, dict, extractable, usages) {
    const hash = normalizeHash(dict.hash);
    requireUsages(usages);
    let material;
    if (isRawSecret(format, true)) {
      material = bytesOf(keyData, "keyData");
    } else if (format === "jwk") {
      checkJwk(keyData, { kty: "oct", alg: JWK_HMAC_ALG[hash], use: "sig", extractable, usages });
      material = fromBase64url(keyData.k);
    } else {
      throw error("NotSupportedError", `Unsupported key format for HMAC: ${format}`);
    }
    if (material.byteLength === 0) throw error("DataError", "The HMAC key is empty");
    let length = material.byteLength * 8;
    if (dict.length !== undefined) {
      length = unsignedMember(dict, "length", 0xffffffff);
      if (length > material.byteLength * 8 || length <= (material.byteLength - 1) * 8) {
        throw error("DataError", "The HMAC length does not match the key data");
      }
    }
    return secretKey({ name: "HMAC", hash, length }, material, extractable, usages);
  },
  exportKey(format, parts) {
    return exportSecretKey("HMAC", format, parts, JWK_HMAC_ALG[parts.algorithm.hash]);
  },
  sign(dict, parts, data) {
    return later(native.cryptoHmac(parts.algorithm.hash, parts.material, data), exactBuffer);
  },
  verify(dict, parts, signature, data) {
    return later(
      native.cryptoHmac(parts.algorithm.hash, parts.material, data),
      (expected) => signature.byteLength === expected.byteLength && native.cryptoTimingSafeEqual(signature, expected),
    );
  },
  // The length a key derived for HMAC has ("get key length").
  keyLength(dict) {
    const hash = normalizeHash(dict.hash);
    const bits = hmacLength(dict, hash);
    if (bits % 8 !== 0) throw error("NotSupportedError", "Derived HMAC keys must be whole bytes");
    return bits;
  },
};

// --- AES-GCM, AES-CBC, AES-CTR (https://w3c.github.io/webcrypto/#aes-ctr) ---

const GCM_TAG_BITS = [32, 64, 96, 104, 112, 120, 128];

function aesLength(dict) {
  const length = unsignedMember(dict, "length", 0xffff);
  if (length !== 128 && length !== 192 && length !== 256) {
    throw error("OperationError", "The AES key length must be 128, 192 or 256 bits");
  }
  return length;
}

// An AES algorithm: `cipher(encrypt, dict, key, data)` does its encrypt and
// decrypt; AES-KW (no cipher) has wrapKey and unwrapKey instead. `legacyRaw`:
// the algorithm is the spec's, so "raw" imports and exports it too.
function aes(name, jwkSuffix, cipher, legacyRaw = true) {
  const implementation = {
    __proto__: null,
    usages: cipher ? ["encrypt", "decrypt", "wrapKey", "unwrapKey"] : ["wrapKey", "unwrapKey"],
    generateKey(dict, extractable, usages) {
      const length = aesLength(dict);
      requireUsages(usages);
      const material = internals.crypto.getRandomValues(new Uint8Array(length / 8));
      return secretKey({ name, length }, material, extractable, usages);
    },
    importKey(format, keyData, dict, extractable, usages) {
      requireUsages(usages);
      let material;
      if (isRawSecret(format, legacyRaw)) {
        material = bytesOf(keyData, "keyData");
      } else if (format === "jwk") {
        checkJwk(keyData, { kty: "oct", use: "enc", extractable, usages });
        material = fromBase64url(keyData.k);
        const alg = `A${material.byteLength * 8}${jwkSuffix}`;
        if (keyData.alg !== undefined && keyData.alg !== alg) {
          throw error("DataError", `The JWK's alg ${keyData.alg} is not ${alg}`);
        }
      } else {
        throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
      }
      const length = material.byteLength * 8;
      if (length !== 128 && length !== 192 && length !== 256) {
        throw error("DataError", "An AES key must be 128, 192 or 256 bits long");
      }
      return secretKey({ name, length }, material, extractable, usages);
    },
    exportKey(format, parts) {
      return exportSecretKey(name, format, parts, `A${parts.algorithm.length}${jwkSuffix}`, legacyRaw);
    },
    keyLength(dict) {
      return aesLength(dict);
    },
  };
  if (cipher) {
    implementation.encrypt = (dict, parts, data) => later(cipher(true, dict, parts.material, data), exactBuffer);
    implementation.decrypt = (dict, parts, data) => later(cipher(false, dict, parts.material, data), exactBuffer);
  } else {
    implementation.wrapKey = (dict, parts, data) => later(native.cryptoAesKw(true, parts.material, data), exactBuffer);
    implementation.unwrapKey = (dict, parts, data) => later(native.cryptoAesKw(false, parts.material, data), exactBuffer);
  }
  return implementation;
}

const AES_GCM = aes("AES-GCM", "GCM", (encrypt, dict, key, data) => {
  const iv = requiredBytes(dict, "iv");
  if (iv.byteLength === 0) throw error("OperationError", "The AES-GCM iv must not be empty");
  const additionalData = optionalBytes(dict, "additionalData");
  const tagLength = dict.tagLength === undefined ? 128 : unsignedMember(dict, "tagLength", 0xff);
  if (!GCM_TAG_BITS.includes(tagLength)) {
    throw error("OperationError", `Unsupported AES-GCM tagLength: ${tagLength}`);
  }
  return native.cryptoAesGcm(encrypt, key, iv, data, additionalData, tagLength / 8);
});

const AES_CBC = aes("AES-CBC", "CBC", (encrypt, dict, key, data) => {
  const iv = requiredBytes(dict, "iv");
  if (iv.byteLength !== 16) throw error("OperationError", "The AES-CBC iv must be 16 bytes");
  return native.cryptoAesCbc(encrypt, key, iv, data);
});

const AES_CTR = aes("AES-CTR", "CTR", (encrypt, dict, key, data) => {
  const counter = requiredBytes(dict, "counter");
  if (counter.byteLength !== 16) throw error("OperationError", "The AES-CTR counter must be 16 bytes");
  const length = unsignedMember(dict, "length", 0xff);
  if (length === 0 || length > 128) throw error("OperationError", "The AES-CTR length must be 1 to 128");
  return native.cryptoAesCtr(key, counter, length, data);
});

const AES_KW = aes("AES-KW", "KW", null);

// --- PBKDF2 and HKDF (https://w3c.github.io/webcrypto/#pbkdf2, #hkdf) ---

const HASH_BYTES = { __proto__: null, "SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };

function kdf(name, derive) {
  return {
    __proto__: null,
    usages: ["deriveKey", "deriveBits"],
    importKey(format, keyData, dict, extractable, usages) {
      if (!isRawSecret(format, true)) {
        throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
      }
      if (extractable) throw error("SyntaxError", `${name} keys cannot be extractable`);
      const material = bytesOf(keyData, "keyData");
      // importKey's last step: a secret key needs a usage.
      requireUsages(usages);
      return secretKey({ name }, material, false, usages);
    },
    deriveBits(dict, parts, length) {
      if (length === null || length === undefined) {
        throw error("OperationError", `${name} needs a length`);
      }
      if (length % 8 !== 0) throw error("OperationError", `The ${name} length must be a multiple of 8`);
      return later(derive(dict, parts.material, length), exactBuffer);
    },
  };
}

const PBKDF2 = kdf("PBKDF2", (dict, password, length) => {
  const hash = normalizeHash(dict.hash);
  const salt = requiredBytes(dict, "salt");
  const iterations = unsignedMember(dict, "iterations", 0xffffffff);
  if (iterations === 0) throw error("OperationError", "PBKDF2 needs at least one iteration");
  return native.cryptoPbkdf2(hash, password, salt, iterations, length / 8);
});

const HKDF = kdf("HKDF", (dict, key, length) => {
  const hash = normalizeHash(dict.hash);
  const salt = requiredBytes(dict, "salt");
  const info = requiredBytes(dict, "info");
  if (length / 8 > 255 * HASH_BYTES[hash]) {
    throw error("OperationError", "HKDF cannot derive that many bits with this hash");
  }
  return native.cryptoHkdf(hash, key, salt, info, length / 8);
});

// --- ECDSA, ECDH, Ed25519, X25519 (https://w3c.github.io/webcrypto/#ecdsa,
// #ecdh, #ed25519, #x25519) ---
//
// An asymmetric key's material is a native handle owning an EVP_PKEY
// (runtime/crypto/crypto_pkey.cc).

const EC_CURVES = ["P-256", "P-384", "P-521"];
const JWK_ECDSA_ALG = { __proto__: null, "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };

function namedCurve(dict) {
  if (dict.namedCurve === undefined) throw new TypeError("The algorithm's namedCurve is required");
  const curve = `${dict.namedCurve}`;
  if (!EC_CURVES.includes(curve)) throw error("NotSupportedError", `Unsupported namedCurve: ${curve}`);
  return curve;
}

function checkKeyUsages(usages, allowed, what) {
  for (const usage of usages) {
    if (!allowed.includes(usage)) throw error("SyntaxError", `A ${what} key cannot be used to ${usage}`);
  }
}

// What the asymmetric algorithms (asymmetric() and rsa() below) share. Each
// has the usages its public and its private keys allow.

// The usages of an imported public (or private) key must be allowed for it.
function checkImportUsages(usages, isPrivate, publicUsages, privateUsages) {
  checkKeyUsages(usages, isPrivate ? privateUsages : publicUsages, isPrivate ? "private" : "public");
}

// generateKey: `usages` split between the pair's keys, the private key's
// not empty; generate() makes the key pair's native handle after that check.
function generateKeyPair(usages, publicUsages, privateUsages, extractable, algorithm, generate) {
  const privateKeyUsages = usages.filter((usage) => privateUsages.includes(usage));
  const publicKeyUsages = usages.filter((usage) => publicUsages.includes(usage));
  if (privateKeyUsages.length === 0) throw error("SyntaxError", "The private key needs at least one usage");
  return later(generate(), (handle) => {
    const algorithmValue = algorithm(handle);
    return {
      publicKey: new CryptoKey(kCreate, "public", true, algorithmValue, publicKeyUsages, native.cryptoPkeyPublic(handle)),
      privateKey: new CryptoKey(kCreate, "private", extractable, algorithmValue, privateKeyUsages, handle),
    };
  });
}

// The CryptoKey of an imported native key: public or private as the key is.
function importedKey(handle, extractable, algorithm, usages) {
  const isPrivate = native.cryptoPkeyInfo(handle).private;
  if (isPrivate && usages.length === 0) throw error("SyntaxError", "A private key needs at least one usage");
  return new CryptoKey(kCreate, isPrivate ? "private" : "public", extractable, algorithm, usages, handle);
}

// exportKey in a binary format: `publicFormats` ("spki", and "raw" for some)
// export public keys, "pkcs8" private keys.
function exportKeyBytes(name, format, parts, type, publicFormats) {
  if (publicFormats.includes(format)) {
    if (type !== "public") throw error("InvalidAccessError", `Only a public key exports as ${format}`);
  } else if (format === "pkcs8") {
    if (type !== "private") throw error("InvalidAccessError", "Only a private key exports as pkcs8");
  } else {
    throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
  }
  return exactBuffer(native.cryptoPkeyExport(parts.material, format));
}

// One asymmetric algorithm. `spec` holds: name; kind (the native key kind);
// curve(dict) (undefined for the OKP algorithms); publicUsages and
// privateUsages; kty and crv(curve) for JWK, jwkAlg(curve) and use when the
// JWK has them; and its operations (sign and verify, or deriveBits).
function asymmetric(spec) {
  const { name, kind } = spec;
  const algorithmOf = (curve) => (curve === undefined ? { name } : { name, namedCurve: curve });
  const implementation = {
    __proto__: null,
    usages: concatLists(spec.publicUsages, spec.privateUsages),
    generateKey(dict, extractable, usages) {
      const curve = spec.curve(dict);
      return generateKeyPair(
        usages,
        spec.publicUsages,
        spec.privateUsages,
        extractable,
        () => algorithmOf(curve),
        () => native.cryptoPkeyGenerate(kind, curve),
      );
    },
    importKey(format, keyData, dict, extractable, usages) {
      const curve = spec.curve(dict);
      let handle;
      if (format === "jwk") {
        if (keyData === null || typeof keyData !== "object") throw new TypeError("keyData is not a JWK");
        const isPrivate = keyData.d !== undefined;
        checkImportUsages(usages, isPrivate, spec.publicUsages, spec.privateUsages);
        checkJwk(keyData, {
          kty: spec.kty,
          alg: spec.jwkAlg?.(curve),
          use: spec.use,
          extractable,
          usages,
        });
        if (keyData.crv !== spec.crv(curve)) throw error("DataError", `The JWK's crv is not ${spec.crv(curve)}`);
        // Read by cryptoPkeyImport: no prototype, so a missing part is
        // missing whatever Object.prototype holds.
        const parts = { __proto__: null, x: fromBase64url(keyData.x, "x") };
        if (spec.kty === "EC") parts.y = fromBase64url(keyData.y, "y");
        if (isPrivate) parts.d = fromBase64url(keyData.d, "d");
        handle = native.cryptoPkeyImport("jwk", parts, kind, curve);
      } else if (format === "spki" || format === "raw" || format === "pkcs8") {
        const isPrivate = format === "pkcs8";
        checkImportUsages(usages, isPrivate, spec.publicUsages, spec.privateUsages);
        handle = native.cryptoPkeyImport(format, bytesOf(keyData, "keyData"), kind, curve);
      } else {
        throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
      }
      return importedKey(handle, extractable, algorithmOf(curve), usages);
    },
    exportKey(format, parts, type) {
      const curve = parts.algorithm.namedCurve;
      if (format === "jwk") {
        const fields = native.cryptoPkeyJwk(parts.material);
        const jwk = { kty: spec.kty, crv: spec.crv(curve), x: base64url(fields.x) };
        if (fields.y !== undefined) createDataProperty(jwk, "y", base64url(fields.y));
        if (fields.d !== undefined) createDataProperty(jwk, "d", base64url(fields.d));
        if (spec.exportAlg) createDataProperty(jwk, "alg", spec.exportAlg(curve));
        createDataProperty(jwk, "key_ops", [...parts.usages]);
        createDataProperty(jwk, "ext", true);
        return jwk;
      }
      return exportKeyBytes(name, format, parts, type, ["spki", "raw"]);
    },
  };
  // Ed448Params' context (the proposal's optional bytes bound into the
  // signature) is not passed to OpenSSL: a non-empty one is refused rather
  // than ignored, which would make a signature without it.
  const refuseContext = (dict) => {
    if (kind !== "ED448" || dict.context === undefined) return;
    if (bytesOf(dict.context, "context").byteLength !== 0) {
      throw error("NotSupportedError", "Ed448 with a context is not supported");
    }
  };
  if (spec.signs) {
    implementation.sign = (dict, parts, data, type) => {
      if (type !== "private") throw error("InvalidAccessError", "Signing needs a private key");
      refuseContext(dict);
      const hash = kind === "EC" ? normalizeHash(dict.hash) : "";
      return later(native.cryptoPkeySign(parts.material, hash, data), exactBuffer);
    };
    implementation.verify = (dict, parts, signature, data, type) => {
      if (type !== "public") throw error("InvalidAccessError", "Verifying needs a public key");
      refuseContext(dict);
      const hash = kind === "EC" ? normalizeHash(dict.hash) : "";
      return native.cryptoPkeyVerify(parts.material, hash, signature, data);
    };
  } else {
    implementation.deriveBits = (dict, parts, length, type) => {
      if (type !== "private") throw error("InvalidAccessError", "The base key must be a private key");
      const peer = dict.public;
      if (!isCryptoKey(peer)) throw new TypeError("The algorithm's public member is not a CryptoKey");
      const peerParts = keyParts(peer);
      if (peer.type !== "public") throw error("InvalidAccessError", "The public member is not a public key");
      if (peerParts.algorithm.name !== name) {
        throw error("InvalidAccessError", `The public key is for ${peerParts.algorithm.name}, not ${name}`);
      }
      if (peerParts.algorithm.namedCurve !== parts.algorithm.namedCurve) {
        throw error("InvalidAccessError", "The keys are on different curves");
      }
      const secret = native.cryptoPkeyDerive(parts.material, peerParts.material);
      if (length === null) return exactBuffer(secret);
      if (length > secret.byteLength * 8) throw error("OperationError", "The shared secret is shorter than the length");
      const out = secret.slice(0, Math.ceil(length / 8));
      if (length % 8 !== 0) out[out.length - 1] &= 0xff << (8 - (length % 8));
      return exactBuffer(out);
    };
  }
  return implementation;
}

// The usages and JWK `use` of the signing and the key agreement algorithms.
const SIGNING = { __proto__: null, publicUsages: ["verify"], privateUsages: ["sign"], use: "sig", signs: true };
const KEY_AGREEMENT = { __proto__: null, publicUsages: [], privateUsages: ["deriveKey", "deriveBits"], use: "enc", signs: false };

const ECDSA = asymmetric({
  name: "ECDSA",
  kind: "EC",
  curve: namedCurve,
  kty: "EC",
  crv: (curve) => curve,
  jwkAlg: (curve) => JWK_ECDSA_ALG[curve],
  ...SIGNING,
});

const ECDH = asymmetric({
  name: "ECDH",
  kind: "EC",
  curve: namedCurve,
  kty: "EC",
  crv: (curve) => curve,
  ...KEY_AGREEMENT,
});

const ED25519 = asymmetric({
  name: "Ed25519",
  kind: "ED25519",
  curve: () => undefined,
  kty: "OKP",
  crv: () => "Ed25519",
  // https://w3c.github.io/webcrypto/#ed25519-operations-import-key: "Ed25519"
  // or, as RFC 8037 first named it, "EdDSA"; exported as "Ed25519".
  jwkAlg: () => ["Ed25519", "EdDSA"],
  exportAlg: () => "Ed25519",
  ...SIGNING,
});

const X25519 = asymmetric({
  name: "X25519",
  kind: "X25519",
  curve: () => undefined,
  kty: "OKP",
  crv: () => "X25519",
  ...KEY_AGREEMENT,
});

// Ed448 and X448, from the Secure Curves proposal
// (https://wicg.github.io/webcrypto-secure-curves/), which OpenSSL 3.0 backs:
// the same operations as Ed25519 and X25519 on the 448-bit curve.
const ED448 = asymmetric({
  name: "Ed448",
  kind: "ED448",
  curve: () => undefined,
  kty: "OKP",
  crv: () => "Ed448",
  jwkAlg: () => ["Ed448", "EdDSA"],
  exportAlg: () => "Ed448",
  ...SIGNING,
});

const X448 = asymmetric({
  name: "X448",
  kind: "X448",
  curve: () => undefined,
  kty: "OKP",
  crv: () => "X448",
  ...KEY_AGREEMENT,
});

// --- AES-OCB, ChaCha20-Poly1305, KMAC128, KMAC256: the modern algorithms
// proposal (https://wicg.github.io/webcrypto-modern-algos/) where OpenSSL
// 3.0 backs it. Its secret keys import and export as "raw-secret" and jwk,
// never "raw"; its parameter dictionaries are converted before the key is
// looked at (`params`, called by algorithmFor), as WebIDL does. ---

// A BufferSource member of a parameter dictionary, read once and copied; an
// absent optional one is empty.
function bufferMember(dict, member, required) {
  const value = dict[member];
  if (value === undefined) {
    if (required) throw new TypeError(`The algorithm's ${member} is required`);
    return new Uint8Array(0);
  }
  return bytesOf(value, member);
}

// AeadParams, for encrypt and decrypt (and so wrapKey and unwrapKey): its
// members in WebIDL's order, additionalData, iv (required), tagLength
// ([EnforceRange] octet).
function aeadParams(operation, dict) {
  if (operation !== "encrypt" && operation !== "decrypt") return dict;
  const additionalData = bufferMember(dict, "additionalData", false);
  const iv = bufferMember(dict, "iv", true);
  const tagLength = unsignedMember(dict, "tagLength", 0xff, false);
  return { __proto__: null, additionalData, iv, tagLength };
}

// AES-OCB (RFC 7253): an iv of 1 to 15 bytes, a 64, 96 or 128-bit tag.
const AES_OCB = {
  __proto__: null,
  ...aes(
    "AES-OCB",
    "OCB",
    (encrypt, params, key, data) => {
      if (params.iv.byteLength === 0 || params.iv.byteLength > 15) {
        throw error("OperationError", "The AES-OCB iv must be 1 to 15 bytes");
      }
      const tagLength = params.tagLength === undefined ? 128 : params.tagLength;
      if (tagLength !== 64 && tagLength !== 96 && tagLength !== 128) {
        throw error("OperationError", `Unsupported AES-OCB tagLength: ${tagLength}`);
      }
      return native.cryptoAesOcb(encrypt, key, params.iv, data, params.additionalData, tagLength / 8);
    },
    false,
  ),
  params: aeadParams,
};

// ChaCha20-Poly1305 (RFC 8439): a 256-bit key, a 12-byte iv, a 128-bit tag.
// Its key algorithm has no length.
function chachaCipher(encrypt, params, parts, data) {
  if (params.iv.byteLength !== 12) throw error("OperationError", "The ChaCha20-Poly1305 iv must be 12 bytes");
  if (params.tagLength !== undefined && params.tagLength !== 128) {
    throw error("OperationError", "The ChaCha20-Poly1305 tagLength must be 128");
  }
  return later(
    native.cryptoChaCha20Poly1305(encrypt, parts.material, params.iv, data, params.additionalData, 16),
    exactBuffer,
  );
}

const CHACHA20_POLY1305 = {
  __proto__: null,
  usages: ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
  params: aeadParams,
  generateKey(dict, extractable, usages) {
    requireUsages(usages);
    const material = internals.crypto.getRandomValues(new Uint8Array(32));
    return secretKey({ name: "ChaCha20-Poly1305" }, material, extractable, usages);
  },
  importKey(format, keyData, dict, extractable, usages) {
    let material;
    if (format === "raw-secret") {
      material = bytesOf(keyData, "keyData");
    } else if (format === "jwk") {
      checkJwk(keyData, { kty: "oct", alg: "C20P", use: "enc", extractable, usages });
      material = fromBase64url(keyData.k);
    } else {
      throw error("NotSupportedError", `Unsupported key format for ChaCha20-Poly1305: ${format}`);
    }
    if (material.byteLength !== 32) throw error("DataError", "A ChaCha20-Poly1305 key must be 256 bits long");
    requireUsages(usages);
    return secretKey({ name: "ChaCha20-Poly1305" }, material, extractable, usages);
  },
  exportKey(format, parts) {
    return exportSecretKey("ChaCha20-Poly1305", format, parts, "C20P", false);
  },
  keyLength() {
    return 256;
  },
  encrypt: (params, parts, data) => chachaCipher(true, params, parts, data),
  decrypt: (params, parts, data) => chachaCipher(false, params, parts, data),
};

// KMAC128 and KMAC256 (NIST SP 800-185) on OpenSSL 3.0's EVP_MAC, which
// works in whole bytes and takes a key of 4 to 512 bytes, a customization
// of at most 512 bytes and an output of at most 2,097,151 bytes
// (runtime/crypto/crypto_subtle.cc). Where the proposal allows more, the
// operation is an OperationError that says so.
const KMAC_MAX_OUTPUT_BITS = 2097151 * 8;

function kmac(name, jwkAlg, defaultBits) {
  // KmacKeyGenParams' and KmacImportParams' optional length, for a key this
  // runtime can generate: whole bytes, 32 to 4,096 bits.
  const generatedBits = (dict) => {
    const length = unsignedMember(dict, "length", 0xffffffff, false);
    const bits = length === undefined ? defaultBits : length;
    if (bits === 0 || bits % 8 !== 0 || bits < 32 || bits > 4096) {
      throw error("OperationError", `${name} keys here are whole bytes, 32 to 4096 bits (OpenSSL's KMAC key sizes)`);
    }
    return bits;
  };
  const mac = (params, parts, data) => {
    const length = params.length;
    if (length === 0 || length % 8 !== 0 || length > KMAC_MAX_OUTPUT_BITS) {
      throw error("OperationError", `The ${name} length must be a multiple of 8 from 8 to ${KMAC_MAX_OUTPUT_BITS}`);
    }
    return native.cryptoKmac(name, parts.material, params.customization, data, length / 8);
  };
  return {
    __proto__: null,
    usages: ["sign", "verify"],
    // KmacParams, for sign and verify: customization, length (required
    // [EnforceRange] unsigned long, in bits).
    params(operation, dict) {
      if (operation !== "sign" && operation !== "verify") return dict;
      const customization = bufferMember(dict, "customization", false);
      const length = unsignedMember(dict, "length", 0xffffffff);
      return { __proto__: null, customization, length };
    },
    generateKey(dict, extractable, usages) {
      const bits = generatedBits(dict);
      requireUsages(usages);
      const material = internals.crypto.getRandomValues(new Uint8Array(bits / 8));
      return secretKey({ name, length: bits }, material, extractable, usages);
    },
    importKey(format, keyData, dict, extractable, usages) {
      let material;
      if (format === "raw-secret") {
        material = bytesOf(keyData, "keyData");
      } else if (format === "jwk") {
        checkJwk(keyData, { kty: "oct", alg: jwkAlg, use: "sig", extractable, usages });
        material = fromBase64url(keyData.k);
      } else {
        throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
      }
      if (material.byteLength === 0) throw error("DataError", `The ${name} key is empty`);
      const bits = material.byteLength * 8;
      const length = unsignedMember(dict, "length", 0xffffffff, false);
      if (length !== undefined && length !== bits) {
        throw error("DataError", `The ${name} length does not match the key data`);
      }
      requireUsages(usages);
      return secretKey({ name, length: bits }, material, extractable, usages);
    },
    exportKey(format, parts) {
      return exportSecretKey(name, format, parts, jwkAlg, false);
    },
    keyLength(dict) {
      return generatedBits(dict);
    },
    sign(params, parts, data) {
      return later(mac(params, parts, data), exactBuffer);
    },
    verify(params, parts, signature, data) {
      return later(
        mac(params, parts, data),
        (expected) => signature.byteLength === expected.byteLength && native.cryptoTimingSafeEqual(signature, expected),
      );
    },
  };
}

const KMAC128 = kmac("KMAC128", "K128", 128);
const KMAC256 = kmac("KMAC256", "K256", 256);

// --- RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP
// (https://w3c.github.io/webcrypto/#rsassa-pkcs1, #rsa-pss, #rsa-oaep) ---

const RSA_JWK_PARTS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
const JWK_RSA_ALG = {
  __proto__: null,
  "RSASSA-PKCS1-v1_5": { "SHA-1": "RS1", "SHA-256": "RS256", "SHA-384": "RS384", "SHA-512": "RS512" },
  "RSA-PSS": { "SHA-1": "PS1", "SHA-256": "PS256", "SHA-384": "PS384", "SHA-512": "PS512" },
  "RSA-OAEP": { "SHA-1": "RSA-OAEP", "SHA-256": "RSA-OAEP-256", "SHA-384": "RSA-OAEP-384", "SHA-512": "RSA-OAEP-512" },
};

function rsa(name, publicUsages, privateUsages, use) {
  const algorithmOf = (handle, hash) => {
    const info = native.cryptoPkeyInfo(handle);
    return { name, modulusLength: info.bits, publicExponent: info.e, hash };
  };
  const implementation = {
    __proto__: null,
    usages: concatLists(publicUsages, privateUsages),
    generateKey(dict, extractable, usages) {
      const hash = normalizeHash(dict.hash);
      const modulusLength = unsignedMember(dict, "modulusLength", 0xffffffff);
      const publicExponent = requiredBytes(dict, "publicExponent");
      return generateKeyPair(
        usages,
        publicUsages,
        privateUsages,
        extractable,
        (handle) => algorithmOf(handle, hash),
        () => native.cryptoPkeyGenerate("RSA", modulusLength, publicExponent),
      );
    },
    importKey(format, keyData, dict, extractable, usages) {
      const hash = normalizeHash(dict.hash);
      let handle;
      if (format === "jwk") {
        if (keyData === null || typeof keyData !== "object") throw new TypeError("keyData is not a JWK");
        const isPrivate = keyData.d !== undefined;
        checkImportUsages(usages, isPrivate, publicUsages, privateUsages);
        checkJwk(keyData, { kty: "RSA", alg: JWK_RSA_ALG[name][hash], use, extractable, usages });
        const parts = { __proto__: null };
        for (const part of RSA_JWK_PARTS) {
          if (keyData[part] !== undefined) parts[part] = fromBase64url(keyData[part], part);
        }
        if (keyData.oth !== undefined) throw error("NotSupportedError", "Multi-prime RSA keys are not supported");
        handle = native.cryptoPkeyImport("jwk", parts, "RSA");
      } else if (format === "spki" || format === "pkcs8") {
        const isPrivate = format === "pkcs8";
        checkImportUsages(usages, isPrivate, publicUsages, privateUsages);
        handle = native.cryptoPkeyImport(format, bytesOf(keyData, "keyData"), "RSA");
      } else {
        throw error("NotSupportedError", `Unsupported key format for ${name}: ${format}`);
      }
      return importedKey(handle, extractable, algorithmOf(handle, hash), usages);
    },
    exportKey(format, parts, type) {
      if (format === "jwk") {
        const fields = native.cryptoPkeyJwk(parts.material);
        const jwk = { kty: "RSA", alg: JWK_RSA_ALG[name][parts.algorithm.hash] };
        for (const part of RSA_JWK_PARTS) {
          if (fields[part] !== undefined) createDataProperty(jwk, part, base64url(fields[part]));
        }
        createDataProperty(jwk, "key_ops", [...parts.usages]);
        createDataProperty(jwk, "ext", true);
        return jwk;
      }
      return exportKeyBytes(name, format, parts, type, ["spki"]);
    },
  };
  if (name === "RSA-OAEP") {
    const label = (dict) => optionalBytes(dict, "label");
    implementation.encrypt = (dict, parts, data, type) => {
      if (type !== "public") throw error("InvalidAccessError", "RSA-OAEP encrypts with a public key");
      return later(native.cryptoRsaOaep(true, parts.material, parts.algorithm.hash, label(dict), data), exactBuffer);
    };
    implementation.decrypt = (dict, parts, data, type) => {
      if (type !== "private") throw error("InvalidAccessError", "RSA-OAEP decrypts with a private key");
      return later(native.cryptoRsaOaep(false, parts.material, parts.algorithm.hash, label(dict), data), exactBuffer);
    };
  } else {
    const padding = name === "RSA-PSS" ? "pss" : "pkcs1";
    const saltLength = (dict) => (name === "RSA-PSS" ? unsignedMember(dict, "saltLength", 0xffffffff) : 0);
    implementation.sign = (dict, parts, data, type) => {
      if (type !== "private") throw error("InvalidAccessError", "Signing needs a private key");
      const salt = saltLength(dict);
      return later(native.cryptoPkeySign(parts.material, parts.algorithm.hash, data, padding, salt), exactBuffer);
    };
    implementation.verify = (dict, parts, signature, data, type) => {
      if (type !== "public") throw error("InvalidAccessError", "Verifying needs a public key");
      const salt = saltLength(dict);
      return native.cryptoPkeyVerify(parts.material, parts.algorithm.hash, signature, data, padding, salt);
    };
  }
  return implementation;
}

const RSASSA_PKCS1_V1_5 = rsa("RSASSA-PKCS1-v1_5", SIGNING.publicUsages, SIGNING.privateUsages, SIGNING.use);
const RSA_PSS = rsa("RSA-PSS", SIGNING.publicUsages, SIGNING.privateUsages, SIGNING.use);
const RSA_OAEP = rsa("RSA-OAEP", ["encrypt", "wrapKey"], ["decrypt", "unwrapKey"], "enc");

// Every algorithm, by its canonical name; each holds the operations it
// supports.
const ALGORITHMS = {
  __proto__: null,
  HMAC,
  "AES-GCM": AES_GCM,
  "AES-CBC": AES_CBC,
  "AES-CTR": AES_CTR,
  "AES-KW": AES_KW,
  PBKDF2,
  HKDF,
  ECDSA,
  ECDH,
  Ed25519: ED25519,
  X25519,
  Ed448: ED448,
  X448,
  "RSASSA-PKCS1-v1_5": RSASSA_PKCS1_V1_5,
  "RSA-PSS": RSA_PSS,
  "RSA-OAEP": RSA_OAEP,
  "AES-OCB": AES_OCB,
  "ChaCha20-Poly1305": CHACHA20_POLY1305,
  KMAC128,
  KMAC256,
};
const ALGORITHM_NAMES = ObjectKeys(ALGORITHMS);

// Normalizes `algorithm` for `operation`: its canonical name, dictionary and
// implementation. An algorithm unknown, or known but without the operation,
// is a NotSupportedError.
function algorithmFor(algorithm, operation) {
  const normalized = normalize(algorithm, ALGORITHM_NAMES);
  const name = normalized.name;
  const implementation = ALGORITHMS[name];
  if (typeof implementation[operation] !== "function") {
    throw error("NotSupportedError", `${name} does not support ${operation}`);
  }
  // An algorithm with `params` converts its parameter dictionary here, as
  // WebIDL does, before the key is looked at.
  const dict =
    typeof implementation.params === "function"
      ? implementation.params(operation, normalized.dict)
      : normalized.dict;
  return { dict, name, implementation };
}

// Runs `steps` and turns what it returns or throws into a promise, as every
// SubtleCrypto method does.
function promised(steps) {
  try {
    return PromiseResolve(steps());
  } catch (e) {
    return PromiseReject(e);
  }
}

// The exportKey steps, for exportKey and wrapKey.
function exportKeyOf(key, format) {
  if (!isCryptoKey(key)) throw new TypeError("The key is not a CryptoKey");
  const parts = keyParts(key);
  const implementation = ALGORITHMS[parts.algorithm.name];
  if (typeof implementation.exportKey !== "function") {
    throw error("NotSupportedError", `${parts.algorithm.name} keys cannot be exported`);
  }
  if (!parts.extractable) throw error("InvalidAccessError", "The key is not extractable");
  return implementation.exportKey(format, parts, key.type);
}

// sign, encrypt and decrypt: `operation` of `algorithm` with `key` on `data`.
function dataOperation(operation, count, algorithm, key, data) {
  return promised(() => {
    requireArguments(count, 3, `Failed to execute '${operation}' on 'SubtleCrypto'`);
    const { dict, name, implementation } = algorithmFor(algorithm, operation);
    const parts = usableKey(key, name, operation);
    return implementation[operation](dict, parts, bytesOf(data, "data"), key.type);
  });
}

// The KeyFormat enum: the spec's four, and "raw-secret" from the modern
// algorithms proposal (which algorithm takes which is up to each).
function checkFormat(format) {
  if (
    format !== "raw" &&
    format !== "pkcs8" &&
    format !== "spki" &&
    format !== "jwk" &&
    format !== "raw-secret"
  ) {
    throw new TypeError(`Unknown key format: ${format}`);
  }
}

function importKeyWith(format, keyData, algorithm, extractable, keyUsages) {
  const { dict, implementation } = algorithmFor(algorithm, "importKey");
  checkFormat(format);
  const usages = checkUsages(keyUsages, implementation.usages);
  return implementation.importKey(format, keyData, dict, !!extractable, usages);
}

class SubtleCrypto {
  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
  }

  digest(algorithm, data) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 2, "Failed to execute 'digest' on 'SubtleCrypto'");
      const { name } = normalize(algorithm, DIGEST_ONLY);
      return later(native.cryptoDigest(name, bytesOf(data, "data")), exactBuffer);
    });
  }

  generateKey(algorithm, extractable, keyUsages) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 3, "Failed to execute 'generateKey' on 'SubtleCrypto'");
      const { dict, implementation } = algorithmFor(algorithm, "generateKey");
      const usages = checkUsages(keyUsages, implementation.usages);
      return implementation.generateKey(dict, !!extractable, usages);
    });
  }

  importKey(format, keyData, algorithm, extractable, keyUsages) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 5, "Failed to execute 'importKey' on 'SubtleCrypto'");
      return importKeyWith(format, keyData, algorithm, extractable, keyUsages);
    });
  }

  exportKey(format, key) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 2, "Failed to execute 'exportKey' on 'SubtleCrypto'");
      return exportKeyOf(key, format);
    });
  }

  sign(algorithm, key, data) {
    return dataOperation("sign", arguments.length, algorithm, key, data);
  }

  verify(algorithm, key, signature, data) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 4, "Failed to execute 'verify' on 'SubtleCrypto'");
      const { dict, name, implementation } = algorithmFor(algorithm, "verify");
      const parts = usableKey(key, name, "verify");
      return implementation.verify(dict, parts, bytesOf(signature, "signature"), bytesOf(data, "data"), key.type);
    });
  }

  encrypt(algorithm, key, data) {
    return dataOperation("encrypt", arguments.length, algorithm, key, data);
  }

  decrypt(algorithm, key, data) {
    return dataOperation("decrypt", arguments.length, algorithm, key, data);
  }

  deriveBits(algorithm, baseKey, length = null) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 2, "Failed to execute 'deriveBits' on 'SubtleCrypto'");
      const { dict, name, implementation } = algorithmFor(algorithm, "deriveBits");
      const parts = usableKey(baseKey, name, "deriveBits");
      const bits = length === null ? null : unsignedMember({ length }, "length", 0xffffffff);
      return implementation.deriveBits(dict, parts, bits, baseKey.type);
    });
  }

  deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 5, "Failed to execute 'deriveKey' on 'SubtleCrypto'");
      const { dict, name, implementation } = algorithmFor(algorithm, "deriveBits");
      const target = algorithmFor(derivedKeyType, "importKey");
      if (typeof target.implementation.keyLength !== "function") {
        throw error("NotSupportedError", `Cannot derive a ${target.name} key`);
      }
      const parts = usableKey(baseKey, name, "deriveKey");
      const length = target.implementation.keyLength(target.dict);
      return later(implementation.deriveBits(dict, parts, length, baseKey.type), (bits) =>
        importKeyWith("raw-secret", bits, derivedKeyType, extractable, keyUsages),
      );
    });
  }

  wrapKey(format, key, wrappingKey, wrapAlgorithm) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 4, "Failed to execute 'wrapKey' on 'SubtleCrypto'");
      checkFormat(format);
      // An algorithm with no wrapKey operation of its own wraps by encrypting.
      const { name } = normalize(wrapAlgorithm, ALGORITHM_NAMES);
      const operation = ALGORITHMS[name].wrapKey ? "wrapKey" : "encrypt";
      const { dict, implementation } = algorithmFor(wrapAlgorithm, operation);
      const wrappingParts = usableKey(wrappingKey, name, "wrapKey");
      const exported = exportKeyOf(key, format);
      const bytes = format === "jwk" ? internals.utf8Encode(JSON.stringify(exported)) : new Uint8Array(exported);
      return implementation[operation](dict, wrappingParts, bytes, wrappingKey.type);
    });
  }

  unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 7, "Failed to execute 'unwrapKey' on 'SubtleCrypto'");
      checkFormat(format);
      const { name } = normalize(unwrapAlgorithm, ALGORITHM_NAMES);
      const operation = ALGORITHMS[name].unwrapKey ? "unwrapKey" : "decrypt";
      const { dict, implementation } = algorithmFor(unwrapAlgorithm, operation);
      algorithmFor(unwrappedKeyAlgorithm, "importKey");
      const unwrappingParts = usableKey(unwrappingKey, name, "unwrapKey");
      const unwrapped = implementation[operation](
        dict,
        unwrappingParts,
        bytesOf(wrappedKey, "wrappedKey"),
        unwrappingKey.type,
      );
      return later(unwrapped, (buffer) => {
        const bytes = new Uint8Array(buffer);
        let keyData = bytes;
        if (format === "jwk") {
          try {
            keyData = JSON.parse(internals.utf8Decode(bytes));
          } catch {
            throw error("DataError", "The unwrapped key is not a JWK");
          }
        }
        return importKeyWith(format, keyData, unwrappedKeyAlgorithm, extractable, keyUsages);
      });
    });
  }

  // Workers' extension: compares two buffers of the same length in constant
  // time.
  timingSafeEqual(a, b) {
    const left = bytesOf(a, "a");
    const right = bytesOf(b, "b");
    if (left.byteLength !== right.byteLength) {
      throw new TypeError("timingSafeEqual needs buffers of the same length");
    }
    return native.cryptoTimingSafeEqual(left, right);
  }
}

finishInterface(CryptoKey);
finishInterface(SubtleCrypto);

// crypto.subtle (runtime/crypto/crypto.js).
internals.subtle = new SubtleCrypto(kCreate);

internals.SubtleCrypto = SubtleCrypto;
internals.CryptoKey = CryptoKey;
// For node:crypto's KeyObject.from and the keys its functions take: a
// CryptoKey's type and material (its bytes, or its key handle), or
// undefined for any other value.
internals.cryptoKeyParts = (value) => (isCryptoKey(value) ? keyParts(value) : undefined);
