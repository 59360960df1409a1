// crypto.subtle (https://w3c.github.io/webcrypto/#subtlecrypto-interface):
// the algorithm normalization, CryptoKey objects and key usages, over the
// OpenSSL natives in bindings/crypto_subtle.cc. Implemented so far: digest
// (SHA-1/256/384/512) and HMAC (generateKey, importKey and exportKey in raw
// and jwk, sign, verify), and Workers' timingSafeEqual. The other
// algorithms reject with NotSupportedError. TODO(webcrypto): AES, ECDSA/ECDH,
// RSA, Ed25519/X25519, PBKDF2, HKDF, wrapKey/unwrapKey.

const { DOMException, finishInterface, illegalConstructor } = internals;

const ArrayBufferIsView = ArrayBuffer.isView;
const PromiseResolve = Promise.resolve.bind(Promise);
const PromiseReject = Promise.reject.bind(Promise);
const ObjectFreeze = Object.freeze;

const kCreate = {};
const DIGESTS = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
// HMAC's default key length is the hash's block size, in bits.
const BLOCK_BITS = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
const JWK_HMAC_ALG = { "SHA-1": "HS1", "SHA-256": "HS256", "SHA-384": "HS384", "SHA-512": "HS512" };

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
  for (const candidate of known) {
    if (candidate.toLowerCase() === lower) return candidate;
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
  if (dict.name === undefined) throw new TypeError("The algorithm has no name");
  const name = canonicalName(dict.name, known);
  if (name === undefined) {
    throw error("NotSupportedError", `Unrecognized or unsupported algorithm: ${dict.name}`);
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
    keyOf = (value) => {
      if (value === null || typeof value !== "object" || !(#type in value)) {
        throw new TypeError("Illegal invocation");
      }
      return value;
    };
    keyParts = (key) => ({
      algorithm: key.#algorithm,
      usages: key.#usages,
      extractable: key.#extractable,
      material: key.#material,
    });
  }
}

function isCryptoKey(value) {
  try {
    keyOf(value);
    return true;
  } catch {
    return false;
  }
}

// Checks that `key` is a CryptoKey for `name` that allows `usage`.
function usableKey(key, name, usage) {
  if (!isCryptoKey(key)) throw new TypeError("The key is not a CryptoKey");
  const parts = keyParts(key);
  if (parts.algorithm.name !== name) {
    throw error("InvalidAccessError", `The key is for ${parts.algorithm.name}, not ${name}`);
  }
  if (!parts.usages.includes(usage)) {
    throw error("InvalidAccessError", `The key's usages do not include "${usage}"`);
  }
  return parts;
}

function hmacKey(material, hash, extractable, usages) {
  const length = material.byteLength * 8;
  return new CryptoKey(kCreate, "secret", !!extractable, { name: "HMAC", hash, length }, usages, material);
}

function base64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return internals.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  if (typeof text !== "string" || /[^A-Za-z0-9_-]/.test(text)) {
    throw error("DataError", "The JWK's k is not base64url");
  }
  const binary = internals.atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
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

function requireArguments(count, required, method) {
  if (count < required) {
    throw new TypeError(
      `Failed to execute '${method}' on 'SubtleCrypto': ${required} arguments required, but only ${count} present.`,
    );
  }
}

function notYet(method) {
  return PromiseReject(error("NotSupportedError", `crypto.subtle.${method} is not implemented yet`));
}

class SubtleCrypto {
  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
  }

  digest(algorithm, data) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 2, "digest");
      const { name } = normalize(algorithm, DIGESTS);
      return exactBuffer(native.cryptoDigest(name, bytesOf(data, "data")));
    });
  }

  generateKey(algorithm, extractable, keyUsages) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 3, "generateKey");
      const { dict } = normalize(algorithm, ["HMAC"]);
      const hash = normalizeHash(dict.hash);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      if (usages.length === 0) throw error("SyntaxError", "A secret key needs at least one usage");
      const bits = dict.length === undefined ? BLOCK_BITS[hash] : Number(dict.length);
      if (!(bits > 0) || bits % 8 !== 0) {
        throw error("OperationError", "The HMAC key length must be a positive multiple of 8");
      }
      const material = internals.crypto.getRandomValues(new Uint8Array(bits / 8));
      return hmacKey(material, hash, extractable, usages);
    });
  }

  importKey(format, keyData, algorithm, extractable, keyUsages) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 5, "importKey");
      const { dict } = normalize(algorithm, ["HMAC"]);
      const hash = normalizeHash(dict.hash);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      if (usages.length === 0) throw error("SyntaxError", "A secret key needs at least one usage");
      let material;
      if (format === "raw") {
        material = bytesOf(keyData, "keyData");
      } else if (format === "jwk") {
        if (keyData === null || typeof keyData !== "object") throw new TypeError("keyData is not a JWK");
        if (keyData.kty !== "oct") throw error("DataError", "An HMAC JWK must have kty \"oct\"");
        material = fromBase64url(keyData.k);
        if (keyData.alg !== undefined && keyData.alg !== JWK_HMAC_ALG[hash]) {
          throw error("DataError", `The JWK's alg ${keyData.alg} does not match ${hash}`);
        }
        if (keyData.use !== undefined && keyData.use !== "sig") {
          throw error("DataError", "The JWK's use must be \"sig\"");
        }
        if (keyData.ext === false && extractable) {
          throw error("DataError", "The JWK is not extractable");
        }
        if (keyData.key_ops !== undefined) {
          for (const usage of usages) {
            if (!keyData.key_ops.includes(usage)) {
              throw error("DataError", `The JWK's key_ops do not allow "${usage}"`);
            }
          }
        }
      } else {
        throw error("NotSupportedError", `Unsupported key format for HMAC: ${format}`);
      }
      if (material.byteLength === 0) throw error("DataError", "The HMAC key is empty");
      if (dict.length !== undefined) {
        const bits = Number(dict.length);
        if (bits > material.byteLength * 8 || bits <= (material.byteLength - 1) * 8) {
          throw error("DataError", "The HMAC length does not match the key data");
        }
      }
      return hmacKey(material, hash, extractable, usages);
    });
  }

  exportKey(format, key) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 2, "exportKey");
      if (!isCryptoKey(key)) throw new TypeError("The key is not a CryptoKey");
      const parts = keyParts(key);
      if (!parts.extractable) throw error("InvalidAccessError", "The key is not extractable");
      if (format === "raw") return exactBuffer(parts.material.slice());
      if (format === "jwk") {
        return {
          kty: "oct",
          k: base64url(parts.material),
          alg: JWK_HMAC_ALG[parts.algorithm.hash],
          key_ops: [...parts.usages],
          ext: true,
        };
      }
      throw error("NotSupportedError", `Unsupported key format for HMAC: ${format}`);
    });
  }

  sign(algorithm, key, data) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 3, "sign");
      const { name } = normalize(algorithm, ["HMAC"]);
      const parts = usableKey(key, name, "sign");
      return exactBuffer(native.cryptoHmac(parts.algorithm.hash, parts.material, bytesOf(data, "data")));
    });
  }

  verify(algorithm, key, signature, data) {
    const count = arguments.length;
    return promised(() => {
      requireArguments(count, 4, "verify");
      const { name } = normalize(algorithm, ["HMAC"]);
      const parts = usableKey(key, name, "verify");
      const expected = native.cryptoHmac(parts.algorithm.hash, parts.material, bytesOf(data, "data"));
      const given = bytesOf(signature, "signature");
      return given.byteLength === expected.byteLength && native.cryptoTimingSafeEqual(given, expected);
    });
  }

  encrypt() {
    return notYet("encrypt");
  }
  decrypt() {
    return notYet("decrypt");
  }
  deriveBits() {
    return notYet("deriveBits");
  }
  deriveKey() {
    return notYet("deriveKey");
  }
  wrapKey() {
    return notYet("wrapKey");
  }
  unwrapKey() {
    return notYet("unwrapKey");
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

const subtle = new SubtleCrypto(kCreate);
Object.defineProperty(internals.Crypto.prototype, "subtle", {
  get() {
    return subtle;
  },
  enumerable: true,
  configurable: true,
});

internals.SubtleCrypto = SubtleCrypto;
internals.CryptoKey = CryptoKey;
