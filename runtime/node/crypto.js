// node:crypto — what Workers' nodejs_compat offers of Node.js's crypto
// module (https://nodejs.org/api/crypto.html): hashes and HMAC, AES
// ciphers, random values, PBKDF2, scrypt and HKDF, KeyObject, signatures,
// key pair generation, and the WebCrypto objects.
//
// The OpenSSL work is done by the natives of runtime/crypto (reached through
// internals.nodeCryptoNatives, the only natives a node: module sees): the
// synchronous contexts of crypto_node.cc for Hash, Hmac, Cipheriv and
// Decipheriv, and the key handles, derivations and signatures crypto.subtle
// uses too (one parser and one set of caps for both). Work whose cost a
// worker chooses is capped, and the callback forms of the costly ones
// (pbkdf2, scrypt, generateKeyPair, sign) run off the serving thread
// (runtime/crypto/crypto_job.h); docs/security.md lists the caps.
//
// Arguments are checked as Node checks them, with its ERR_* codes
// (internal/errors). Bytes are read through the typed-array getters and
// Buffer functions captured when the module loads, before the worker's
// code runs; native state lives in private fields no worker code reaches.

const {
  ArrayBufferCtor, ArrayBufferIsView, ArrayIsArray, ArrayPrototypeIncludes, ArrayPrototypePush,
  ArrayPrototypeSlice, ArrayPrototypeSort, MathFloor, NumberIsInteger = Number.isInteger,
  NumberIsSafeInteger = Number.isSafeInteger, ObjectDefineProperty, ObjectFreeze = Object.freeze,
  ObjectKeys, PromisePrototypeThen, ReflectApply, StringPrototypeToLowerCase, StringPrototypeSlice,
  StringPrototypeIndexOf, StringPrototypeTrim, SymbolToStringTag, Uint8ArrayCtor,
} = internals.primordials;
const errors = require("internal/errors");
const { makeError } = errors;
const {
  validateFunction, validateString, validateNumber, validateInteger, validateObject, validateBoolean,
} = require("internal/validators");
const { Buffer } = require("buffer");
const { StringDecoder } = require("string_decoder");
const { FastBuffer, getEncoding, normalizeEncoding, decodeBytes, bytesOf } = internals.nodeBuffer;
const N = internals.nodeCryptoNatives;
const cryptoKeyParts = internals.cryptoKeyParts;
const TypedArrayPrototypeGetBuffer = internals.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetByteOffset = internals.TypedArrayPrototypeGetByteOffset;
const TypedArrayPrototypeGetByteLength = internals.TypedArrayPrototypeGetByteLength;
const TypedArrayPrototypeGetTag = internals.TypedArrayPrototypeGetTag;
const ArrayBufferPrototypeGetByteLength = internals.ArrayBufferPrototypeGetByteLength;
const ArrayBufferPrototypeSlice = internals.primordials.uncurryThis(ArrayBufferCtor.prototype.slice);
const BufferFrom = Buffer.from;
const BufferAllocUnsafe = Buffer.allocUnsafe;
const StringFromCharCode = String.fromCharCode;
const BigIntCtor = BigInt;
const BufferConcat = Buffer.concat;
const BufferIsBuffer = Buffer.isBuffer;
const StringDecoderWrite = internals.primordials.uncurryThis(StringDecoder.prototype.write);
const StringDecoderEnd = internals.primordials.uncurryThis(StringDecoder.prototype.end);
const webcrypto = internals.crypto;
const subtle = webcrypto.subtle;
const CryptoGetRandomValues = internals.Crypto.prototype.getRandomValues;
const CryptoRandomUUID = internals.Crypto.prototype.randomUUID;
const queueMicrotask = internals.queueMicrotask;
const atob = internals.atob;
const btoa = internals.btoa;

const kMaxLength = 2 ** 32;
const kMaxInt32 = 2 ** 31 - 1;

// --- bytes in, bytes out ---------------------------------------------------

function isAnyArrayBuffer(value) {
  return internals.isArrayBuffer(value) || internals.isSharedArrayBuffer(value);
}

// A Buffer over `bytes` (a Uint8Array a native returned), without copying.
function toBuffer(bytes) {
  return new FastBuffer(TypedArrayPrototypeGetBuffer(bytes), TypedArrayPrototypeGetByteOffset(bytes),
    TypedArrayPrototypeGetByteLength(bytes));
}

// Node's output convention: a Buffer, or a string in `encoding` (an
// encoding Node does not know, or "buffer", gives the Buffer).
function encodeOutput(bytes, encoding) {
  if (encoding === undefined || encoding === "buffer") return toBuffer(bytes);
  const normalized = typeof encoding === "string" ? normalizeEncoding(encoding) : undefined;
  if (normalized === undefined) return toBuffer(bytes);
  return decodeBytes(bytes, 0, TypedArrayPrototypeGetByteLength(bytes), normalized);
}

// A string (in `encoding`, UTF-8 by default) or an ArrayBufferView as a
// Uint8Array over the same bytes; anything else is Node's
// ERR_INVALID_ARG_TYPE. With `allowArrayBuffer`, an ArrayBuffer too.
function bytesArg(value, name, encoding, allowArrayBuffer) {
  if (typeof value === "string") {
    const normalized = encoding === undefined || encoding === "buffer" ? "utf8" : normalizeEncoding(encoding);
    return ReflectApply(BufferFrom, Buffer, [value, normalized === undefined ? "utf8" : normalized]);
  }
  if (ArrayBufferIsView(value)) return bytesOf(value);
  if (allowArrayBuffer && isAnyArrayBuffer(value)) return new Uint8ArrayCtor(value);
  throw errors.ERR_INVALID_ARG_TYPE(name,
    allowArrayBuffer ? ["string", "ArrayBuffer", "Buffer", "TypedArray", "DataView"]
      : ["string", "Buffer", "TypedArray", "DataView"], value);
}

// A copy of `bytes` no later change of the worker's buffer reaches.
function copyBytes(bytes) {
  const copy = new Uint8ArrayCtor(TypedArrayPrototypeGetByteLength(bytes));
  for (let i = 0; i < copy.length; i++) copy[i] = bytes[i];
  return copy;
}

function invalidState(operation) {
  return makeError(Error, "ERR_CRYPTO_INVALID_STATE",
    operation === undefined ? "Invalid state" : `Invalid state for operation ${operation}`);
}
function invalidDigest(digest) {
  return makeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", `Invalid digest: ${digest}`);
}
// OpenSSL's errors as Node shows them: "error:<code>:<library>::<reason>".
function opensslError(code, packed, library, reason) {
  const error = makeError(Error, code, `error:${packed}:${library}::${reason}`);
  error.library = library;
  error.reason = reason;
  return error;
}

// Calls a Node-style callback after the current job, as Node calls it from
// its event loop: an exception it throws is the worker's uncaught error.
function callLater(callback, ...args) {
  queueMicrotask(() => ReflectApply(callback, undefined, args));
}

// Settles `promise` (a native job's) into `callback(err, value)`.
function settle(promise, callback, map) {
  PromisePrototypeThen(promise, (value) => callLater(callback, null, map(value)),
    (error) => callLater(callback, error));
}

// --- Hash and Hmac -----------------------------------------------------------

const kCreate = {};
const NODE_HASHES = ["RSA-MD5", "RSA-RIPEMD160", "RSA-SHA1", "RSA-SHA1-2", "RSA-SHA224", "RSA-SHA256",
  "RSA-SHA3-224", "RSA-SHA3-256", "RSA-SHA3-384", "RSA-SHA3-512", "RSA-SHA384", "RSA-SHA512",
  "RSA-SHA512/224", "RSA-SHA512/256", "RSA-SM3", "blake2b512", "blake2s256",
  "id-rsassa-pkcs1-v1_5-with-sha3-224", "id-rsassa-pkcs1-v1_5-with-sha3-256",
  "id-rsassa-pkcs1-v1_5-with-sha3-384", "id-rsassa-pkcs1-v1_5-with-sha3-512", "md5", "md5-sha1",
  "md5WithRSAEncryption", "ripemd", "ripemd160", "ripemd160WithRSA", "rmd160", "sha1", "sha1WithRSAEncryption",
  "sha224", "sha224WithRSAEncryption", "sha256", "sha256WithRSAEncryption", "sha3-224", "sha3-256", "sha3-384",
  "sha3-512", "sha384", "sha384WithRSAEncryption", "sha512", "sha512-224", "sha512-224WithRSAEncryption",
  "sha512-256", "sha512-256WithRSAEncryption", "sha512WithRSAEncryption", "sm3", "sm3WithRSAEncryption",
  "ssl3-md5", "ssl3-sha1"];
let hashList;
// Node's getHashes() list less the names this OpenSSL lacks and the
// extendable-output functions (shake128/256), which Hash does not take.
function getHashes() {
  if (hashList === undefined) {
    const list = [];
    for (let i = 0; i < NODE_HASHES.length; i++) {
      if (N.hashCreate(NODE_HASHES[i], undefined) !== null) ArrayPrototypePush(list, NODE_HASHES[i]);
    }
    hashList = list;
  }
  return ArrayPrototypeSlice(hashList);
}

const digestSizes = { __proto__: null };
// The output size of digest `name`, or undefined when there is no such
// digest.
function digestSize(name) {
  let size = digestSizes[name];
  if (size === undefined) {
    const handle = N.hashCreate(name, undefined);
    if (handle === null) return undefined;
    size = TypedArrayPrototypeGetByteLength(N.hashDigest(handle));
    digestSizes[name] = size;
  }
  return size;
}

function hashFinalized() {
  return makeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
}

class Hash {
  #handle;
  #finalized = false;

  constructor(algorithm, options = undefined) {
    if (algorithm === kCreate) {
      this.#handle = options;
      return;
    }
    validateString(algorithm, "algorithm");
    if (options !== undefined && options !== null) {
      validateObject(options, "options");
      const outputLength = options.outputLength;
      if (outputLength !== undefined) {
        validateInteger(outputLength, "options.outputLength", 0, kMaxInt32);
        const size = digestSize(algorithm);
        if (size !== undefined && outputLength !== size) {
          throw opensslError("ERR_OSSL_EVP_NOT_XOF_OR_INVALID_LENGTH", "0300009A",
            "digital envelope routines", "not XOF or invalid length");
        }
      }
    }
    const handle = N.hashCreate(algorithm, undefined);
    if (handle === null) throw new Error("Digest method not supported");
    this.#handle = handle;
  }

  update(data, inputEncoding = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Hash");
    if (this.#finalized) throw hashFinalized();
    if (typeof data !== "string" && !ArrayBufferIsView(data)) {
      throw errors.ERR_INVALID_ARG_TYPE("data", ["string", "Buffer", "TypedArray", "DataView"], data);
    }
    N.hashUpdate(this.#handle, bytesArg(data, "data", inputEncoding));
    return this;
  }

  digest(outputEncoding = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Hash");
    if (this.#finalized) throw hashFinalized();
    this.#finalized = true;
    return encodeOutput(N.hashDigest(this.#handle), outputEncoding);
  }

  copy(options = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Hash");
    if (this.#finalized) throw hashFinalized();
    if (options !== undefined && options !== null) validateObject(options, "options");
    return new Hash(kCreate, N.hashCopy(this.#handle));
  }
}

// A secret key's bytes: a string (UTF-8, or `encoding`), an ArrayBuffer or
// view, a secret KeyObject or a secret CryptoKey.
function secretKeyBytes(key, name, encoding = undefined) {
  if (typeof key === "string" || ArrayBufferIsView(key) || isAnyArrayBuffer(key)) {
    return bytesArg(key, name, encoding, true);
  }
  if (isKeyObject(key)) {
    if (key.type !== "secret") {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE",
        `Invalid key object type ${key.type}, expected secret.`);
    }
    return secretBytesOf(key);
  }
  const parts = cryptoKeyParts(key);
  if (parts !== undefined) {
    if (parts.type !== "secret") {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE",
        `Invalid key object type ${parts.type}, expected secret.`);
    }
    return parts.material;
  }
  throw errors.ERR_INVALID_ARG_TYPE(name,
    ["string", "ArrayBuffer", "Buffer", "TypedArray", "DataView", "KeyObject", "CryptoKey"], key);
}

class Hmac {
  #handle;
  #finalized = false;

  constructor(hmac, key, options = undefined) {
    validateString(hmac, "hmac");
    const encoding = options !== null && typeof options === "object" ? options.encoding : undefined;
    const bytes = secretKeyBytes(key, "key", encoding);
    const handle = N.hashCreate(hmac, bytes);
    if (handle === null) throw invalidDigest(hmac);
    this.#handle = handle;
  }

  update(data, inputEncoding = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Hmac");
    if (this.#finalized) throw hashFinalized();
    if (typeof data !== "string" && !ArrayBufferIsView(data)) {
      throw errors.ERR_INVALID_ARG_TYPE("data", ["string", "Buffer", "TypedArray", "DataView"], data);
    }
    N.hashUpdate(this.#handle, bytesArg(data, "data", inputEncoding));
    return this;
  }

  // A second digest() gives an empty result, as Node's does.
  digest(outputEncoding = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Hmac");
    if (this.#finalized) return encodeOutput(new Uint8ArrayCtor(0), outputEncoding);
    this.#finalized = true;
    return encodeOutput(N.hashDigest(this.#handle), outputEncoding);
  }
}

function createHash(algorithm, options) {
  return new Hash(algorithm, options);
}
function createHmac(hmac, key, options) {
  return new Hmac(hmac, key, options);
}

// crypto.hash(algorithm, data, outputEncoding = "hex") (Node 20.12).
function hash(algorithm, input, outputEncoding = "hex") {
  validateString(algorithm, "algorithm");
  if (typeof input !== "string" && !ArrayBufferIsView(input)) {
    throw errors.ERR_INVALID_ARG_TYPE("input", ["string", "Buffer", "TypedArray", "DataView"], input);
  }
  if (outputEncoding !== undefined) validateString(outputEncoding, "outputEncoding");
  const handle = N.hashCreate(algorithm, undefined);
  if (handle === null) throw new Error("Digest method not supported");
  N.hashUpdate(handle, bytesArg(input, "input"));
  return encodeOutput(N.hashDigest(handle), outputEncoding);
}

// --- ciphers -------------------------------------------------------------------

let cipherList;
function getCiphers() {
  if (cipherList === undefined) cipherList = ArrayPrototypeSort(N.cipherNames());
  return ArrayPrototypeSlice(cipherList);
}

function validAuthTagLength(length) {
  return length === 4 || length === 8 || (length >= 12 && length <= 16);
}

// Cipheriv and Decipheriv: one class, `encrypt` telling them apart.
class CipherBase {
  #handle;
  #encrypt;
  #authTagLength;
  #decoder = undefined;
  #decoderEncoding = undefined;

  constructor(encrypt, cipher, key, iv, options) {
    validateString(cipher, "cipher");
    const keyBytes = secretKeyBytes(key, "key");
    let ivBytes;
    if (iv === null) ivBytes = new Uint8ArrayCtor(0);
    else ivBytes = bytesArg(iv, "iv", undefined, true);
    if (options !== undefined && options !== null) validateObject(options, "options");
    const info = N.cipherInfo(cipher);
    if (info === undefined) throw makeError(Error, "ERR_CRYPTO_UNKNOWN_CIPHER", "Unknown cipher");
    if (TypedArrayPrototypeGetByteLength(keyBytes) !== info.keyLength) {
      throw makeError(RangeError, "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length");
    }
    const ivLength = TypedArrayPrototypeGetByteLength(ivBytes);
    if (info.mode === "gcm" ? ivLength === 0 : ivLength !== info.ivLength) {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector");
    }
    let authTagLength;
    if (info.mode === "gcm") {
      const given = options?.authTagLength;
      if (given !== undefined) {
        validateInteger(given, "options.authTagLength", 1, kMaxInt32);
        if (!validAuthTagLength(given)) {
          throw makeError(TypeError, "ERR_CRYPTO_INVALID_AUTH_TAG", `Invalid authentication tag length: ${given}`);
        }
        authTagLength = given;
      }
    }
    this.#encrypt = encrypt;
    this.#authTagLength = authTagLength;
    this.#handle = N.cipherCreate(cipher, keyBytes, ivBytes, encrypt, authTagLength ?? 16);
  }

  #output(bytes, encoding) {
    if (encoding === undefined || encoding === "buffer") return toBuffer(bytes);
    const normalized = typeof encoding === "string" ? normalizeEncoding(encoding) : undefined;
    if (normalized === undefined) return toBuffer(bytes);
    // Multi-byte characters and base64 groups may straddle two calls.
    if (this.#decoder === undefined || this.#decoderEncoding !== normalized) {
      this.#decoder = new StringDecoder(normalized);
      this.#decoderEncoding = normalized;
    }
    return StringDecoderWrite(this.#decoder, toBuffer(bytes));
  }

  update(data, inputEncoding = undefined, outputEncoding = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Cipher");
    if (typeof data !== "string" && !ArrayBufferIsView(data)) {
      throw errors.ERR_INVALID_ARG_TYPE("data", ["string", "Buffer", "TypedArray", "DataView"], data);
    }
    const out = N.cipherUpdate(this.#handle, bytesArg(data, "data", inputEncoding));
    if (out === null) throw new Error("Trying to add data in unsupported state");
    return this.#output(out, outputEncoding);
  }

  final(outputEncoding = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Cipher");
    const out = N.cipherFinal(this.#handle);
    if (typeof out === "string") {
      if (out === "finished") throw invalidState();
      if (out === "auth") throw new Error("Unsupported state or unable to authenticate data");
      if (out === "bad decrypt") {
        throw opensslError("ERR_OSSL_BAD_DECRYPT", "1C800064", "Provider routines", "bad decrypt");
      }
      throw opensslError("ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH", "1C80006B", "Provider routines",
        "wrong final block length");
    }
    const text = this.#output(out, outputEncoding);
    if (typeof text === "string" && this.#decoder !== undefined) return text + StringDecoderEnd(this.#decoder);
    return text;
  }

  setAutoPadding(autoPadding = true) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Cipher");
    if (!N.cipherSetAutoPadding(this.#handle, !!autoPadding)) throw invalidState("setAutoPadding");
    return this;
  }

  setAAD(buffer, options = undefined) {
    if (!(#handle in this)) throw errors.ERR_INVALID_THIS("Cipher");
    if (!ArrayBufferIsView(buffer)) {
      throw errors.ERR_INVALID_ARG_TYPE("buffer", ["Buffer", "TypedArray", "DataView"], buffer);
    }
    if (options !== undefined && options !== null) validateObject(options, "options");
    if (!N.cipherSetAad(this.#handle, bytesOf(buffer))) throw invalidState("setAAD");
    return this;
  }

  // Cipheriv only (Node's Cipher has no setAuthTag, Decipher no getAuthTag).
  static getAuthTag(self) {
    const tag = N.cipherGetAuthTag(self.#handle);
    if (tag === undefined) throw invalidState("getAuthTag");
    return toBuffer(tag);
  }

  static setAuthTag(self, tagbuf, encoding) {
    const tag = bytesArg(tagbuf, "buffer", encoding);
    const length = TypedArrayPrototypeGetByteLength(tag);
    if (!validAuthTagLength(length) || (self.#authTagLength !== undefined && length !== self.#authTagLength)) {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_AUTH_TAG", `Invalid authentication tag length: ${length}`);
    }
    if (!N.cipherSetAuthTag(self.#handle, tag)) throw invalidState("setAuthTag");
    return self;
  }

  static isCipher(value, encrypt) {
    return value !== null && typeof value === "object" && #handle in value && value.#encrypt === encrypt;
  }
}

class Cipheriv extends CipherBase {
  constructor(cipher, key, iv, options = undefined) {
    super(true, cipher, key, iv, options);
  }
  getAuthTag() {
    if (!CipherBase.isCipher(this, true)) throw errors.ERR_INVALID_THIS("Cipheriv");
    return CipherBase.getAuthTag(this);
  }
}

class Decipheriv extends CipherBase {
  constructor(cipher, key, iv, options = undefined) {
    super(false, cipher, key, iv, options);
  }
  setAuthTag(buffer, encoding = undefined) {
    if (!CipherBase.isCipher(this, false)) throw errors.ERR_INVALID_THIS("Decipheriv");
    return CipherBase.setAuthTag(this, buffer, encoding);
  }
}

function createCipheriv(cipher, key, iv, options) {
  return new Cipheriv(cipher, key, iv, options);
}
function createDecipheriv(cipher, key, iv, options) {
  return new Decipheriv(cipher, key, iv, options);
}

// --- random values ---------------------------------------------------------

function validateSize(size, name, max) {
  if (typeof size !== "number") throw errors.ERR_INVALID_ARG_TYPE(name, "number", size);
  if (!(size >= 0 && size <= max)) throw errors.ERR_OUT_OF_RANGE(name, `>= 0 && <= ${max}`, size);
}

function fillRandom(bytes) {
  // The native fills at most what getRandomValues would: in slices.
  const length = TypedArrayPrototypeGetByteLength(bytes);
  const buffer = TypedArrayPrototypeGetBuffer(bytes);
  const offset = TypedArrayPrototypeGetByteOffset(bytes);
  for (let done = 0; done < length; done += 65536) {
    const slice = length - done < 65536 ? length - done : 65536;
    N.randomFill(new Uint8ArrayCtor(buffer, offset + done, slice));
  }
}

function randomBytes(size, callback = undefined) {
  validateSize(size, "size", kMaxInt32);
  if (callback !== undefined) validateFunction(callback, "callback");
  const buffer = ReflectApply(BufferAllocUnsafe, Buffer, [MathFloor(size)]);
  fillRandom(buffer);
  if (callback === undefined) return buffer;
  callLater(callback, null, buffer);
  return undefined;
}

const ELEMENT_SIZES = { __proto__: null, Int8Array: 1, Uint8Array: 1, Uint8ClampedArray: 1, Int16Array: 2,
  Uint16Array: 2, Int32Array: 4, Uint32Array: 4, Float32Array: 4, Float64Array: 8, BigInt64Array: 8,
  BigUint64Array: 8 };

// The bytes [offset, offset + size) of `buf` (an ArrayBuffer or a view),
// checked as Node checks them.
function fillTarget(buf, offset, size) {
  let bytes;
  if (isAnyArrayBuffer(buf)) bytes = new Uint8ArrayCtor(buf);
  else if (ArrayBufferIsView(buf)) bytes = bytesOf(buf);
  else throw errors.ERR_INVALID_ARG_TYPE("buf", ["ArrayBuffer", "ArrayBufferView"], buf);
  const elementSize = ELEMENT_SIZES[TypedArrayPrototypeGetTag(buf)] ?? 1;
  const length = TypedArrayPrototypeGetByteLength(bytes);
  validateSize(offset, "offset", kMaxInt32);
  let start = offset * elementSize;
  if (start > length) throw errors.ERR_OUT_OF_RANGE("offset", `>= 0 && <= ${length}`, offset);
  let count = size === undefined ? length - start : size;
  validateSize(count, "size", kMaxInt32);
  count *= elementSize;
  if (start + count > length) throw errors.ERR_OUT_OF_RANGE("size + offset", `<= ${length}`, start + count);
  return new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(bytes), TypedArrayPrototypeGetByteOffset(bytes) + start,
    count);
}

function randomFillSync(buf, offset = 0, size = undefined) {
  fillRandom(fillTarget(buf, offset, size));
  return buf;
}

function randomFill(buf, offset, size, callback) {
  if (typeof offset === "function") {
    callback = offset;
    offset = 0;
    size = undefined;
  } else if (typeof size === "function") {
    callback = size;
    size = undefined;
  }
  validateFunction(callback, "callback");
  fillRandom(fillTarget(buf, offset, size));
  callLater(callback, null, buf);
}

const RAND_MAX = 0xffffffffffff;
function notSafeInteger(name, value) {
  return makeError(TypeError, "ERR_INVALID_ARG_TYPE",
    `The "${name}" argument must be a safe integer.${errors.describeReceived(value)}`);
}
function randomInt(min, max = undefined, callback = undefined) {
  const minNotSpecified = typeof max === "undefined" || typeof max === "function";
  if (minNotSpecified) {
    callback = max;
    max = min;
    min = 0;
  }
  if (callback !== undefined) validateFunction(callback, "callback");
  if (!NumberIsSafeInteger(min)) throw notSafeInteger("min", min);
  if (!NumberIsSafeInteger(max)) throw notSafeInteger("max", max);
  if (max <= min) {
    throw errors.ERR_OUT_OF_RANGE("max", `greater than the value of "min" (${min})`, max);
  }
  const range = max - min;
  if (!(range <= RAND_MAX)) {
    throw errors.ERR_OUT_OF_RANGE(`max${minNotSpecified ? "" : " - min"}`, `<= ${RAND_MAX}`, range);
  }
  // Rejection sampling over 48-bit values, as Node: no modulo bias.
  const limit = RAND_MAX - (RAND_MAX % range);
  const bytes = new Uint8ArrayCtor(6);
  let value;
  do {
    N.randomFill(bytes);
    value = bytes[0] * 2 ** 40 + bytes[1] * 2 ** 32 + bytes[2] * 2 ** 24 + bytes[3] * 2 ** 16 + bytes[4] * 2 ** 8 +
      bytes[5];
  } while (value >= limit);
  const result = min + (value % range);
  if (callback === undefined) return result;
  callLater(callback, null, result);
  return undefined;
}

function randomUUID(options = undefined) {
  if (options !== undefined) validateObject(options, "options");
  return ReflectApply(CryptoRandomUUID, webcrypto, []);
}

function getRandomValues(typedArray) {
  return ReflectApply(CryptoGetRandomValues, webcrypto, [typedArray]);
}

function timingSafeEqual(buf1, buf2) {
  const views = [buf1, buf2];
  for (let i = 0; i < 2; i++) {
    const value = views[i];
    if (isAnyArrayBuffer(value)) views[i] = new Uint8ArrayCtor(value);
    else if (ArrayBufferIsView(value)) views[i] = bytesOf(value);
    else {
      throw makeError(TypeError, "ERR_INVALID_ARG_TYPE",
        `The "buf${i + 1}" argument must be an instance of ArrayBuffer, Buffer, TypedArray, or DataView.`);
    }
  }
  if (TypedArrayPrototypeGetByteLength(views[0]) !== TypedArrayPrototypeGetByteLength(views[1])) {
    throw makeError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
  }
  return N.timingSafeEqual(views[0], views[1]);
}

// --- key derivation ----------------------------------------------------------

function validateInt32(value, name, min = -(2 ** 31), max = kMaxInt32) {
  if (typeof value !== "number") throw errors.ERR_INVALID_ARG_TYPE(name, "number", value);
  if (!NumberIsInteger(value)) throw errors.ERR_OUT_OF_RANGE(name, "an integer", value);
  if (value < min || value > max) throw errors.ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
}

function pbkdf2Args(password, salt, iterations, keylen, digest) {
  const passwordBytes = bytesArg(password, "password", undefined, true);
  const saltBytes = bytesArg(salt, "salt", undefined, true);
  validateInt32(iterations, "iterations", 1);
  validateInt32(keylen, "keylen", 0);
  validateString(digest, "digest");
  if (digestSize(digest) === undefined) throw invalidDigest(digest);
  return { passwordBytes, saltBytes };
}

function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  const { passwordBytes, saltBytes } = pbkdf2Args(password, salt, iterations, keylen, digest);
  return toBuffer(N.pbkdf2(digest, passwordBytes, saltBytes, iterations, keylen, true));
}

function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  if (typeof digest === "function") {
    callback = digest;
    digest = undefined;
  }
  const { passwordBytes, saltBytes } = pbkdf2Args(password, salt, iterations, keylen, digest);
  validateFunction(callback, "callback");
  settle(N.pbkdf2(digest, passwordBytes, saltBytes, iterations, keylen, false), callback, toBuffer);
}

function hkdfArgs(digest, ikm, salt, info, keylen) {
  validateString(digest, "digest");
  const key = secretKeyBytes(ikm, "ikm");
  const saltBytes = bytesArg(salt, "salt", undefined, true);
  const infoBytes = bytesArg(info, "info", undefined, true);
  validateInteger(keylen, "length", 0, kMaxInt32);
  const infoLength = TypedArrayPrototypeGetByteLength(infoBytes);
  if (infoLength > 1024) {
    throw errors.ERR_OUT_OF_RANGE("info", "must not contain more than 1024 bytes", infoLength);
  }
  const size = digestSize(digest);
  if (size === undefined) throw invalidDigest(digest);
  if (keylen > 255 * size) throw makeError(RangeError, "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length");
  return { key, saltBytes, infoBytes };
}

// HKDF runs inline in both forms: its output is at most 255 hash blocks.
function hkdfSync(digest, ikm, salt, info, keylen) {
  const { key, saltBytes, infoBytes } = hkdfArgs(digest, ikm, salt, info, keylen);
  const out = N.hkdf(digest, key, saltBytes, infoBytes, keylen);
  return TypedArrayPrototypeGetBuffer(out);
}

function hkdf(digest, ikm, salt, info, keylen, callback) {
  const { key, saltBytes, infoBytes } = hkdfArgs(digest, ikm, salt, info, keylen);
  validateFunction(callback, "callback");
  const out = N.hkdf(digest, key, saltBytes, infoBytes, keylen);
  callLater(callback, null, TypedArrayPrototypeGetBuffer(out));
}

const scryptDefaults = { N: 16384, r: 8, p: 1, maxmem: 32 << 20 };
function scryptArgs(password, salt, keylen, options) {
  const passwordBytes = bytesArg(password, "password", undefined, true);
  const saltBytes = bytesArg(salt, "salt", undefined, true);
  validateInt32(keylen, "keylen", 0);
  let { N: cost, r, p, maxmem } = scryptDefaults;
  if (options !== undefined && options !== null) {
    validateObject(options, "options");
    const pick = (a, b, name) => {
      const first = options[a];
      const second = options[b];
      if (first !== undefined && second !== undefined) {
        throw makeError(Error, "ERR_CRYPTO_SCRYPT_INVALID_PARAMETER", "Invalid scrypt parameter");
      }
      const value = first !== undefined ? first : second;
      if (value !== undefined) validateInteger(value, name === "N" ? a : name, 0, 2 ** 53 - 1);
      return value;
    };
    cost = pick("N", "cost", "N") ?? cost;
    r = pick("r", "blockSize", "r") ?? r;
    p = pick("p", "parallelization", "p") ?? p;
    if (options.maxmem !== undefined) {
      maxmem = options.maxmem;
      validateInteger(maxmem, "maxmem", 0, 2 ** 53 - 1);
    }
  }
  if (cost < 2 || (cost & (cost - 1)) !== 0 || r < 1 || p < 1 || p * r > 2 ** 30 - 1) {
    throw makeError(RangeError, "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params");
  }
  if (128 * cost * r > maxmem) {
    throw makeError(RangeError, "ERR_CRYPTO_INVALID_SCRYPT_PARAMS",
      "Invalid scrypt params: error:030000AC:digital envelope routines::memory limit exceeded");
  }
  return { passwordBytes, saltBytes, cost, r, p };
}

function scryptSync(password, salt, keylen, options = undefined) {
  const { passwordBytes, saltBytes, cost, r, p } = scryptArgs(password, salt, keylen, options);
  return toBuffer(N.scrypt(passwordBytes, saltBytes, cost, r, p, keylen, true));
}

function scrypt(password, salt, keylen, options, callback = undefined) {
  if (typeof options === "function") {
    callback = options;
    options = undefined;
  }
  const { passwordBytes, saltBytes, cost, r, p } = scryptArgs(password, salt, keylen, options);
  validateFunction(callback, "callback");
  settle(N.scrypt(passwordBytes, saltBytes, cost, r, p, keylen, false), callback, toBuffer);
}

// --- KeyObject -----------------------------------------------------------------

let isKeyObject;
let secretBytesOf;
let handleOf;

// Node's names of the key kinds crypto_pkey.cc reports.
const KEY_TYPES = { __proto__: null, RSA: "rsa", EC: "ec", ED25519: "ed25519", X25519: "x25519", ED448: "ed448",
  X448: "x448" };
const NODE_CURVES = { __proto__: null, "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };
const WEB_CURVES = { __proto__: null, "prime256v1": "P-256", "P-256": "P-256", "secp256r1": "P-256",
  "secp384r1": "P-384", "P-384": "P-384", "secp521r1": "P-521", "P-521": "P-521" };

function base64url(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += StringFromCharCode(bytes[i]);
  let encoded = btoa(text);
  let end = encoded.length;
  while (end > 0 && encoded[end - 1] === "=") end--;
  encoded = StringPrototypeSlice(encoded, 0, end);
  let out = "";
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded[i];
    out += c === "+" ? "-" : c === "/" ? "_" : c;
  }
  return out;
}

function fromBase64url(text, name) {
  if (typeof text !== "string") throw errors.ERR_INVALID_ARG_TYPE(name, "string", text);
  const decoded = ReflectApply(BufferFrom, Buffer, [text, "base64url"]);
  return bytesOf(decoded);
}

class KeyObject {
  #type;
  constructor(type, handle) {
    if (type !== "secret" && type !== "public" && type !== "private") {
      throw errors.ERR_INVALID_ARG_VALUE("type", type);
    }
    if (handle !== kCreate) {
      throw errors.ERR_INVALID_ARG_TYPE("handle", "object", handle);
    }
    this.#type = type;
  }

  get type() {
    if (!(#type in this)) throw errors.ERR_INVALID_THIS("KeyObject");
    return this.#type;
  }

  static from(key) {
    const parts = cryptoKeyParts(key);
    if (parts === undefined) throw errors.ERR_INVALID_ARG_TYPE("key", "CryptoKey", key);
    if (parts.type === "secret") return new SecretKeyObject(kCreate, copyBytes(parts.material));
    return parts.type === "private" ? new PrivateKeyObject(kCreate, parts.material)
      : new PublicKeyObject(kCreate, parts.material);
  }

  equals(otherKeyObject) {
    if (!isKeyObject(otherKeyObject)) {
      throw errors.ERR_INVALID_ARG_TYPE("otherKeyObject", "KeyObject", otherKeyObject);
    }
    if (otherKeyObject.type !== this.type) return false;
    const mine = this.type === "secret" ? secretBytesOf(this)
      : N.pkeyEncode(handleOf(this), "der", this.type === "private" ? "pkcs8" : "spki");
    const theirs = otherKeyObject.type === "secret" ? secretBytesOf(otherKeyObject)
      : N.pkeyEncode(handleOf(otherKeyObject), "der", otherKeyObject.type === "private" ? "pkcs8" : "spki");
    if (TypedArrayPrototypeGetByteLength(mine) !== TypedArrayPrototypeGetByteLength(theirs)) return false;
    return N.timingSafeEqual(mine, theirs);
  }

  static {
    isKeyObject = (value) => value !== null && typeof value === "object" && #type in value;
  }
}
ObjectDefineProperty(KeyObject.prototype, SymbolToStringTag, {
  __proto__: null, value: "KeyObject", configurable: true,
});

class SecretKeyObject extends KeyObject {
  #bytes;
  constructor(token, bytes) {
    super("secret", token);
    this.#bytes = bytes;
  }

  get symmetricKeySize() {
    return TypedArrayPrototypeGetByteLength(this.#bytes);
  }

  export(options = undefined) {
    if (options !== undefined) {
      validateObject(options, "options");
      const format = options.format;
      if (format === "jwk") return { kty: "oct", k: base64url(this.#bytes) };
      if (format !== undefined && format !== "buffer") {
        throw errors.ERR_INVALID_ARG_VALUE("options.format", format, "must be one of: 'buffer', 'jwk'");
      }
    }
    return toBuffer(copyBytes(this.#bytes));
  }

  static {
    secretBytesOf = (key) => key.#bytes;
  }
}

class AsymmetricKeyObject extends KeyObject {
  #handle;
  #info = undefined;
  constructor(type, token, handle) {
    super(type, token);
    this.#handle = handle;
  }

  #details() {
    if (this.#info === undefined) this.#info = N.pkeyInfo(this.#handle);
    return this.#info;
  }

  get asymmetricKeyType() {
    return KEY_TYPES[this.#details().kind];
  }

  get asymmetricKeyDetails() {
    const info = this.#details();
    if (info.kind === "RSA") {
      let exponent = 0n;
      for (let i = 0; i < info.e.length; i++) exponent = (exponent << 8n) | BigIntCtor(info.e[i]);
      return { modulusLength: info.bits, publicExponent: exponent };
    }
    if (info.kind === "EC") return { namedCurve: NODE_CURVES[info.curve] ?? info.curve };
    return {};
  }

  export(options = undefined) {
    validateObject(options, "options");
    const format = options.format;
    if (format === "jwk") return this.#jwk();
    const type = options.type;
    const isPrivate = this.type === "private";
    const kind = this.#details().kind;
    if (format !== "pem" && format !== "der") {
      throw errors.ERR_INVALID_ARG_VALUE("options.format", format);
    }
    const allowed = isPrivate ? ["pkcs1", "pkcs8", "sec1"] : ["pkcs1", "spki"];
    if (!ArrayPrototypeIncludes(allowed, type)) {
      throw errors.ERR_INVALID_ARG_VALUE("options.type", type);
    }
    if ((type === "pkcs1" && kind !== "RSA") || (type === "sec1" && kind !== "EC")) {
      throw makeError(Error, "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS",
        `The selected key encoding ${type} can only be used for ${type === "pkcs1" ? "RSA" : "EC"} keys.`);
    }
    if (isPrivate && (options.cipher !== undefined || options.passphrase !== undefined)) {
      throw errors.ERR_METHOD_NOT_IMPLEMENTED("export with a cipher (encrypted private keys)");
    }
    const bytes = N.pkeyEncode(this.#handle, format, type);
    if (format === "der") return toBuffer(bytes);
    return decodeBytes(bytes, 0, TypedArrayPrototypeGetByteLength(bytes), "latin1");
  }

  #jwk() {
    const kind = this.#details().kind;
    const parts = N.pkeyJwk(this.#handle);
    const isPrivate = this.type === "private";
    if (kind === "RSA") {
      const jwk = { kty: "RSA", n: base64url(parts.n), e: base64url(parts.e) };
      if (isPrivate) {
        jwk.d = base64url(parts.d);
        jwk.p = base64url(parts.p);
        jwk.q = base64url(parts.q);
        jwk.dp = base64url(parts.dp);
        jwk.dq = base64url(parts.dq);
        jwk.qi = base64url(parts.qi);
      }
      return jwk;
    }
    if (kind === "EC") {
      const curve = this.#details().curve;
      if (curve === "") {
        throw makeError(TypeError, "ERR_CRYPTO_JWK_UNSUPPORTED_CURVE", "Unsupported JWK EC curve: undefined.");
      }
      const jwk = { kty: "EC", x: base64url(parts.x), y: base64url(parts.y), crv: curve };
      if (isPrivate) jwk.d = base64url(parts.d);
      return jwk;
    }
    const crv = kind === "ED25519" ? "Ed25519" : kind === "ED448" ? "Ed448" : kind === "X25519" ? "X25519" : "X448";
    // Node's order of the members.
    if (isPrivate) return { crv, d: base64url(parts.d), x: base64url(parts.x), kty: "OKP" };
    return { crv, x: base64url(parts.x), kty: "OKP" };
  }

  static {
    handleOf = (key) => key.#handle;
  }
}

class PublicKeyObject extends AsymmetricKeyObject {
  constructor(token, handle) {
    super("public", token, handle);
  }
}
class PrivateKeyObject extends AsymmetricKeyObject {
  constructor(token, handle) {
    super("private", token, handle);
  }
}

function createSecretKey(key, encoding = undefined) {
  if (typeof key !== "string" && !ArrayBufferIsView(key) && !isAnyArrayBuffer(key)) {
    throw errors.ERR_INVALID_ARG_TYPE("key", ["string", "ArrayBuffer", "Buffer", "TypedArray", "DataView"], key);
  }
  return new SecretKeyObject(kCreate, copyBytes(bytesArg(key, "key", encoding, true)));
}

const JWK_KINDS = { __proto__: null, Ed25519: "ED25519", Ed448: "ED448", X25519: "X25519", X448: "X448" };

// A key handle from a JWK (Node's createPublicKey/createPrivateKey with
// format "jwk"), through the same import as crypto.subtle's.
function jwkHandle(jwk, isPublic) {
  validateObject(jwk, "key.key");
  const kty = jwk.kty;
  validateString(kty, "key.kty");
  const parts = { __proto__: null };
  let kind;
  let curve;
  let hasPrivate;
  if (kty === "RSA") {
    kind = "RSA";
    parts.n = fromBase64url(jwk.n, "key.n");
    parts.e = fromBase64url(jwk.e, "key.e");
    hasPrivate = jwk.d !== undefined;
    if (!isPublic) {
      const names = ["d", "p", "q", "dp", "dq", "qi"];
      for (let i = 0; i < names.length; i++) parts[names[i]] = fromBase64url(jwk[names[i]], `key.${names[i]}`);
    }
  } else if (kty === "EC") {
    kind = "EC";
    const crv = jwk.crv;
    validateString(crv, "key.crv");
    curve = WEB_CURVES[crv];
    if (curve === undefined || curve !== crv) {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_JWK", "Invalid JWK EC key");
    }
    parts.x = fromBase64url(jwk.x, "key.x");
    parts.y = fromBase64url(jwk.y, "key.y");
    hasPrivate = jwk.d !== undefined;
    if (!isPublic) parts.d = fromBase64url(jwk.d, "key.d");
  } else if (kty === "OKP") {
    const crv = jwk.crv;
    validateString(crv, "key.crv");
    kind = JWK_KINDS[crv];
    if (kind === undefined) throw makeError(TypeError, "ERR_CRYPTO_INVALID_JWK", "Invalid JWK OKP key");
    parts.x = fromBase64url(jwk.x, "key.x");
    hasPrivate = jwk.d !== undefined;
    if (!isPublic) parts.d = fromBase64url(jwk.d, "key.d");
  } else {
    throw makeError(TypeError, "ERR_CRYPTO_INVALID_JWK", "Invalid JWK key");
  }
  if (!isPublic && !hasPrivate) throw makeError(TypeError, "ERR_CRYPTO_INVALID_JWK", `Invalid JWK ${kty} key`);
  try {
    return N.pkeyImport("jwk", parts, kind, curve);
  } catch {
    throw makeError(TypeError, "ERR_CRYPTO_INVALID_JWK", `Invalid JWK ${kty} key`);
  }
}

// Node's key input: a PEM string or Buffer, or { key, format, type,
// encoding, passphrase }, or a KeyObject / CryptoKey where one may be
// given. Returns a key handle (public when `isPublic`, else private).
function keyHandle(input, isPublic, name = "key") {
  if (isKeyObject(input)) {
    if (input.type === "secret") {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE",
        `Invalid key object type secret, expected ${isPublic ? "public" : "private"}.`);
    }
    if (isPublic && input.type === "private") return N.pkeyPublic(handleOf(input));
    if (!isPublic && input.type !== "private") {
      throw makeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE",
        `Invalid key object type ${input.type}, expected private.`);
    }
    return handleOf(input);
  }
  const parts = cryptoKeyParts(input);
  if (parts !== undefined) {
    return keyHandle(KeyObject.from(input), isPublic, name);
  }
  let data = input;
  let format = "pem";
  let type = "";
  let encoding;
  if (typeof input === "object" && input !== null && !ArrayBufferIsView(input) && !isAnyArrayBuffer(input)) {
    data = input.key;
    if (isKeyObject(data) || cryptoKeyParts(data) !== undefined) return keyHandle(data, isPublic, name);
    const givenFormat = input.format;
    if (givenFormat === "jwk") return jwkHandle(data, isPublic);
    if (givenFormat !== undefined && givenFormat !== "pem" && givenFormat !== "der") {
      throw errors.ERR_INVALID_ARG_VALUE("options.format", givenFormat);
    }
    format = givenFormat ?? "pem";
    if (input.passphrase !== undefined) {
      throw errors.ERR_METHOD_NOT_IMPLEMENTED("encrypted private keys (passphrase)");
    }
    const givenType = input.type;
    if (format === "der") {
      const types = isPublic ? ["pkcs1", "spki", "pkcs8", "sec1"] : ["pkcs1", "pkcs8", "sec1"];
      if (!ArrayPrototypeIncludes(types, givenType)) {
        throw errors.ERR_INVALID_ARG_VALUE("options.type", givenType);
      }
      type = givenType;
    }
    encoding = input.encoding;
    if (typeof data !== "string" && !ArrayBufferIsView(data) && !isAnyArrayBuffer(data)) {
      throw errors.ERR_INVALID_ARG_TYPE(`${name}.key`, ["string", "ArrayBuffer", "Buffer", "TypedArray", "DataView"],
        data);
    }
  } else if (typeof input !== "string" && !ArrayBufferIsView(input) && !isAnyArrayBuffer(input)) {
    throw errors.ERR_INVALID_ARG_TYPE(name,
      ["string", "ArrayBuffer", "Buffer", "TypedArray", "DataView", "KeyObject", "CryptoKey"], input);
  }
  const bytes = bytesArg(data, name, encoding, true);
  const handle = N.pkeyParse(bytes, format, type, !isPublic);
  if (typeof handle === "string") {
    throw opensslError("ERR_OSSL_UNSUPPORTED", "1E08010C", "DECODER routines", "unsupported");
  }
  return handle;
}

function createPublicKey(key) {
  return new PublicKeyObject(kCreate, keyHandle(key, true));
}

function createPrivateKey(key) {
  return new PrivateKeyObject(kCreate, keyHandle(key, false));
}

// --- signatures --------------------------------------------------------------

const RSA_PKCS1_PADDING = 1;
const RSA_PKCS1_PSS_PADDING = 6;
const RSA_PSS_SALTLEN_DIGEST = -1;
const RSA_PSS_SALTLEN_MAX_SIGN = -2;
const RSA_PSS_SALTLEN_AUTO = -2;

// The options of a signature: { padding, saltLength, dsaEncoding } read
// from the key argument when it is an options object (Node's way).
function signatureOptions(key, isSign) {
  let padding = RSA_PKCS1_PADDING;
  let saltLength = isSign ? RSA_PSS_SALTLEN_MAX_SIGN : RSA_PSS_SALTLEN_AUTO;
  let dsaEncoding = "der";
  if (key !== null && typeof key === "object" && !ArrayBufferIsView(key) && !isAnyArrayBuffer(key) &&
      !isKeyObject(key) && cryptoKeyParts(key) === undefined) {
    if (key.padding !== undefined) {
      validateInt32(key.padding, "key.padding");
      padding = key.padding;
    }
    if (key.saltLength !== undefined) {
      validateInt32(key.saltLength, "key.saltLength");
      saltLength = key.saltLength;
    }
    if (key.dsaEncoding !== undefined) {
      dsaEncoding = key.dsaEncoding;
      if (dsaEncoding !== "der" && dsaEncoding !== "ieee-p1363") {
        throw errors.ERR_INVALID_ARG_VALUE("options.dsaEncoding", dsaEncoding);
      }
    }
  }
  return { padding, saltLength, dsaEncoding };
}

// What OpenSSL would refuse before signing with `handle`: a key that does
// not sign (X25519, X448), an RSA padding other than PKCS #1 v1.5 and PSS
// (X9.31 is not offered).
function checkSigningKey(handle, padding) {
  const kind = N.pkeyInfo(handle).kind;
  if (kind === "X25519" || kind === "X448") {
    throw opensslError("ERR_OSSL_EVP_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE", "03000096",
      "digital envelope routines", "operation not supported for this keytype");
  }
  if (kind === "RSA" && padding !== RSA_PKCS1_PADDING && padding !== RSA_PKCS1_PSS_PADDING) {
    if (padding === 3) {
      throw opensslError("ERR_OSSL_INVALID_PADDING_MODE", "1C8000A8", "Provider routines", "invalid padding mode");
    }
    throw opensslError("ERR_OSSL_ILLEGAL_OR_UNSUPPORTED_PADDING_MODE", "1C8000A5", "Provider routines",
      "illegal or unsupported padding mode");
  }
}

function signFailed() {
  return makeError(Error, "ERR_CRYPTO_SIGN_KEY_REQUIRED", "No key provided to sign");
}

class Sign {
  #hash;
  #algorithm;
  constructor(algorithm, options = undefined) {
    validateString(algorithm, "algorithm");
    const handle = N.hashCreate(algorithm, undefined);
    if (handle === null) throw makeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest");
    this.#hash = handle;
    this.#algorithm = algorithm;
  }

  update(data, inputEncoding = undefined) {
    if (!(#hash in this)) throw errors.ERR_INVALID_THIS("Sign");
    if (this.#hash === null) throw hashFinalized();
    if (typeof data !== "string" && !ArrayBufferIsView(data)) {
      throw errors.ERR_INVALID_ARG_TYPE("data", ["string", "Buffer", "TypedArray", "DataView"], data);
    }
    N.hashUpdate(this.#hash, bytesArg(data, "data", inputEncoding));
    return this;
  }

  sign(privateKey, outputEncoding = undefined) {
    if (!(#hash in this)) throw errors.ERR_INVALID_THIS("Sign");
    if (privateKey === undefined || privateKey === null) throw signFailed();
    if (this.#hash === null) throw hashFinalized();
    const { padding, saltLength, dsaEncoding } = signatureOptions(privateKey, true);
    const handle = keyHandle(privateKey, false, "key");
    checkSigningKey(handle, padding);
    const digest = N.hashDigest(this.#hash);
    this.#hash = null;
    const signature = N.sign(handle, this.#algorithm, true, digest, padding, saltLength, dsaEncoding, false);
    return encodeOutput(signature, outputEncoding);
  }

  static verify(self, object, signature, sigEncoding) {
    if (self.#hash === null) throw hashFinalized();
    const { padding, saltLength, dsaEncoding } = signatureOptions(object, false);
    const handle = keyHandle(object, true, "key");
    checkSigningKey(handle, padding);
    const signatureBytes = bytesArg(signature, "signature", sigEncoding);
    const digest = N.hashDigest(self.#hash);
    self.#hash = null;
    return N.verify(handle, self.#algorithm, true, digest, padding, saltLength, dsaEncoding, signatureBytes);
  }

  static isSign(value) {
    return value !== null && typeof value === "object" && #hash in value;
  }
}

class Verify extends Sign {
  verify(object, signature, sigEncoding = undefined) {
    if (!Sign.isSign(this)) throw errors.ERR_INVALID_THIS("Verify");
    return Sign.verify(this, object, signature, sigEncoding);
  }
}
// A Verify has no sign(); a Sign no verify().
ObjectDefineProperty(Verify.prototype, "sign", { __proto__: null, value: undefined, writable: true,
  configurable: true });

function createSign(algorithm, options) {
  return new Sign(algorithm, options);
}
function createVerify(algorithm, options) {
  return new Verify(algorithm, options);
}

function oneShotArgs(algorithm, data, key, isSign) {
  if (algorithm !== undefined && algorithm !== null) validateString(algorithm, "algorithm");
  if (!ArrayBufferIsView(data)) {
    throw errors.ERR_INVALID_ARG_TYPE("data", ["Buffer", "TypedArray", "DataView"], data);
  }
  if (key === undefined || key === null) {
    throw isSign ? signFailed()
      : makeError(Error, "ERR_CRYPTO_SIGN_KEY_REQUIRED", "No key provided to sign");
  }
  const options = signatureOptions(key, isSign);
  const handle = keyHandle(key, !isSign, "key");
  checkSigningKey(handle, options.padding);
  const hashName = algorithm ?? "";
  if (hashName !== "" && digestSize(hashName) === undefined) {
    throw makeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", `Invalid digest: ${hashName}`);
  }
  return { handle, hashName, options };
}

function sign(algorithm, data, key, callback = undefined) {
  const { handle, hashName, options } = oneShotArgs(algorithm, data, key, true);
  if (callback !== undefined) validateFunction(callback, "callback");
  const bytes = bytesOf(data);
  if (callback === undefined) {
    return toBuffer(N.sign(handle, hashName, false, bytes, options.padding, options.saltLength,
      options.dsaEncoding, false));
  }
  settle(N.sign(handle, hashName, false, bytes, options.padding, options.saltLength, options.dsaEncoding, true),
    callback, toBuffer);
  return undefined;
}

function verify(algorithm, data, key, signature, callback = undefined) {
  const { handle, hashName, options } = oneShotArgs(algorithm, data, key, false);
  if (!ArrayBufferIsView(signature)) {
    throw errors.ERR_INVALID_ARG_TYPE("signature", ["Buffer", "TypedArray", "DataView"], signature);
  }
  if (callback !== undefined) validateFunction(callback, "callback");
  const result = N.verify(handle, hashName, false, bytesOf(data), options.padding, options.saltLength,
    options.dsaEncoding, bytesOf(signature));
  if (callback === undefined) return result;
  callLater(callback, null, result);
  return undefined;
}

// --- key pair generation -------------------------------------------------------

// Node's encoding options of generateKeyPair: the keys as KeyObjects, or
// exported as `options.publicKeyEncoding` / `privateKeyEncoding` say.
function keyEncoding(value, name) {
  if (value === undefined) return undefined;
  validateObject(value, name);
  return value;
}

function exportGenerated(handle, publicEncoding, privateEncoding) {
  const privateKey = new PrivateKeyObject(kCreate, handle);
  const publicKey = new PublicKeyObject(kCreate, N.pkeyPublic(handle));
  return {
    publicKey: publicEncoding === undefined ? publicKey : publicKey.export(publicEncoding),
    privateKey: privateEncoding === undefined ? privateKey : privateKey.export(privateEncoding),
  };
}

const GENERATED_KINDS = { __proto__: null, ed25519: "ED25519", ed448: "ED448", x25519: "X25519", x448: "X448" };

// The arguments of cryptoPkeyGenerate for `type` and `options`.
function generateArgs(type, options) {
  validateString(type, "type");
  if (type === "rsa") {
    validateObject(options, "options");
    const { modulusLength } = options;
    validateInt32(modulusLength, "options.modulusLength", 0);
    let { publicExponent } = options;
    if (publicExponent === undefined) publicExponent = 0x10001;
    else validateInt32(publicExponent, "options.publicExponent", 0);
    const exponent = new Uint8ArrayCtor(4);
    exponent[0] = (publicExponent >>> 24) & 0xff;
    exponent[1] = (publicExponent >>> 16) & 0xff;
    exponent[2] = (publicExponent >>> 8) & 0xff;
    exponent[3] = publicExponent & 0xff;
    return { kind: "RSA", size: modulusLength, exponent };
  }
  if (type === "ec") {
    validateObject(options, "options");
    const { namedCurve } = options;
    validateString(namedCurve, "options.namedCurve");
    const curve = WEB_CURVES[namedCurve];
    if (curve === undefined) throw errors.ERR_INVALID_ARG_VALUE("options.namedCurve", namedCurve);
    return { kind: "EC", size: curve, exponent: undefined };
  }
  const kind = GENERATED_KINDS[type];
  if (kind === undefined) {
    throw makeError(TypeError, "ERR_INVALID_ARG_VALUE",
      `The argument 'type' must be a supported key type. Received '${type}'`);
  }
  if (options !== undefined) validateObject(options, "options");
  return { kind, size: undefined, exponent: undefined };
}

function generateKeyPairSync(type, options = undefined) {
  const { kind, size, exponent } = generateArgs(type, options);
  const publicEncoding = keyEncoding(options?.publicKeyEncoding, "options.publicKeyEncoding");
  const privateEncoding = keyEncoding(options?.privateKeyEncoding, "options.privateKeyEncoding");
  const handle = N.pkeyGenerate(kind, size, exponent, true);
  return exportGenerated(handle, publicEncoding, privateEncoding);
}

function generateKeyPair(type, options, callback = undefined) {
  if (typeof options === "function") {
    callback = options;
    options = undefined;
  }
  validateFunction(callback, "callback");
  const { kind, size, exponent } = generateArgs(type, options);
  const publicEncoding = keyEncoding(options?.publicKeyEncoding, "options.publicKeyEncoding");
  const privateEncoding = keyEncoding(options?.privateKeyEncoding, "options.privateKeyEncoding");
  PromisePrototypeThen(N.pkeyGenerate(kind, size, exponent, false), (handle) => {
    let pair;
    try {
      pair = exportGenerated(handle, publicEncoding, privateEncoding);
    } catch (error) {
      callLater(callback, error);
      return;
    }
    callLater(callback, null, pair.publicKey, pair.privateKey);
  }, (error) => callLater(callback, error));
}

// generateKey / generateKeySync: secret keys ("hmac" and "aes").
function generateKeyArgs(type, options) {
  validateString(type, "type");
  validateObject(options, "options");
  const { length } = options;
  if (type === "hmac") {
    validateInteger(length, "options.length", 8, 2 ** 31 - 1);
  } else if (type === "aes") {
    if (length !== 128 && length !== 192 && length !== 256) {
      throw errors.ERR_INVALID_ARG_VALUE("options.length", length, "must be one of: 128, 192, 256");
    }
  } else {
    throw errors.ERR_INVALID_ARG_VALUE("type", type, "must be a supported key type");
  }
  return MathFloor(length / 8);
}

function generateKeySync(type, options) {
  const bytes = new Uint8ArrayCtor(generateKeyArgs(type, options));
  fillRandom(bytes);
  return new SecretKeyObject(kCreate, bytes);
}

function generateKey(type, options, callback) {
  validateFunction(callback, "callback");
  const key = generateKeySync(type, options);
  callLater(callback, null, key);
}

// --- what edge does not provide --------------------------------------------------

function notImplemented(name) {
  return function () {
    throw errors.ERR_METHOD_NOT_IMPLEMENTED(name);
  };
}

function notImplementedClass(name) {
  return class {
    constructor() {
      throw errors.ERR_METHOD_NOT_IMPLEMENTED(name);
    }
  };
}

const constants = {
  __proto__: null,
  OPENSSL_VERSION_NUMBER: 805306608,
  SSL_OP_ALL: 2147485776,
  SSL_OP_NO_SSLv2: 0,
  SSL_OP_NO_SSLv3: 33554432,
  SSL_OP_NO_TLSv1: 67108864,
  SSL_OP_NO_TLSv1_1: 268435456,
  SSL_OP_NO_TLSv1_2: 134217728,
  SSL_OP_NO_TLSv1_3: 536870912,
  RSA_PKCS1_PADDING,
  RSA_NO_PADDING: 3,
  RSA_PKCS1_OAEP_PADDING: 4,
  RSA_X931_PADDING: 5,
  RSA_PKCS1_PSS_PADDING,
  RSA_PSS_SALTLEN_DIGEST,
  RSA_PSS_SALTLEN_MAX_SIGN,
  RSA_PSS_SALTLEN_AUTO,
  defaultCoreCipherList: "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:" +
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:" +
    "ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:" +
    "ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA256:HIGH:" +
    "!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA",
  TLS1_VERSION: 769,
  TLS1_1_VERSION: 770,
  TLS1_2_VERSION: 771,
  TLS1_3_VERSION: 772,
  POINT_CONVERSION_COMPRESSED: 2,
  POINT_CONVERSION_UNCOMPRESSED: 4,
  POINT_CONVERSION_HYBRID: 6,
};
constants.defaultCipherList = constants.defaultCoreCipherList;
ObjectFreeze(constants);

function getCurves() {
  return ["prime256v1", "secp384r1", "secp521r1"];
}

return {
  // Hashes and HMAC.
  createHash,
  createHmac,
  hash,
  getHashes,
  Hash,
  Hmac,
  // Ciphers.
  createCipheriv,
  createDecipheriv,
  getCiphers,
  Cipheriv,
  Decipheriv,
  // Random values.
  randomBytes,
  randomFill,
  randomFillSync,
  randomInt,
  randomUUID,
  getRandomValues,
  timingSafeEqual,
  // Key derivation.
  pbkdf2,
  pbkdf2Sync,
  scrypt,
  scryptSync,
  hkdf,
  hkdfSync,
  // Keys and signatures.
  KeyObject,
  createSecretKey,
  createPublicKey,
  createPrivateKey,
  generateKeyPair,
  generateKeyPairSync,
  generateKey,
  generateKeySync,
  createSign,
  createVerify,
  sign,
  verify,
  Sign,
  Verify,
  getCurves,
  // WebCrypto.
  webcrypto,
  subtle,
  constants,
  getFips() {
    return 0;
  },
  setFips: notImplemented("crypto.setFips"),
  setEngine: notImplemented("crypto.setEngine"),
  secureHeapUsed() {
    return { total: 0, min: 0, used: 0, utilization: 0 };
  },
  // Not provided by edge: each throws Node's ERR_METHOD_NOT_IMPLEMENTED.
  createCipher: notImplemented("crypto.createCipher"),
  createDecipher: notImplemented("crypto.createDecipher"),
  createDiffieHellman: notImplemented("crypto.createDiffieHellman"),
  createDiffieHellmanGroup: notImplemented("crypto.createDiffieHellmanGroup"),
  getDiffieHellman: notImplemented("crypto.getDiffieHellman"),
  createECDH: notImplemented("crypto.createECDH"),
  diffieHellman: notImplemented("crypto.diffieHellman"),
  publicEncrypt: notImplemented("crypto.publicEncrypt"),
  privateDecrypt: notImplemented("crypto.privateDecrypt"),
  privateEncrypt: notImplemented("crypto.privateEncrypt"),
  publicDecrypt: notImplemented("crypto.publicDecrypt"),
  checkPrime: notImplemented("crypto.checkPrime"),
  checkPrimeSync: notImplemented("crypto.checkPrimeSync"),
  generatePrime: notImplemented("crypto.generatePrime"),
  generatePrimeSync: notImplemented("crypto.generatePrimeSync"),
  getCipherInfo: notImplemented("crypto.getCipherInfo"),
  Certificate: notImplementedClass("crypto.Certificate"),
  X509Certificate: notImplementedClass("crypto.X509Certificate"),
  DiffieHellman: notImplementedClass("crypto.DiffieHellman"),
  DiffieHellmanGroup: notImplementedClass("crypto.DiffieHellmanGroup"),
  ECDH: notImplementedClass("crypto.ECDH"),
};
