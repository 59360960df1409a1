// The Crypto interface (https://w3c.github.io/webcrypto/#crypto-interface):
// getRandomValues and randomUUID; subtle.js makes crypto.subtle.

const {
  finishInterface, illegalConstructor, requireArguments, DOMException, QuotaExceededError, TypedArrayPrototypeGetTag,
  TypedArrayPrototypeGetByteLength,
} = internals;

// getRandomValues' type check runs on a SafeSet (runtime/js/primordials.js).
const { ArrayBufferIsView, ObjectDefineProperty, SafeSet } = internals.primordials;
const nativeRandomFill = native.randomFill;
const nativeRandomUUID = native.randomUUID;

const integerArrayTypes = new SafeSet([
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "BigInt64Array",
  "BigUint64Array",
]);

const kCreate = {};

class Crypto {
  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
  }

  getRandomValues(array) {
    requireArguments(arguments.length, 1, "Failed to execute 'getRandomValues' on 'Crypto'");
    if (!ArrayBufferIsView(array)) {
      throw new TypeError(
        "Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.",
      );
    }
    const tag = TypedArrayPrototypeGetTag(array);
    if (tag === undefined || !integerArrayTypes.has(tag)) {
      throw new DOMException(
        `Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type '${tag === undefined ? "DataView" : tag}', which is not an integer array type.`,
        "TypeMismatchError",
      );
    }
    const byteLength = TypedArrayPrototypeGetByteLength(array);
    if (byteLength > 65536) {
      throw new QuotaExceededError(
        `Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${byteLength}) exceeds the number of bytes of entropy available via this API (65536).`,
      );
    }
    if (byteLength !== 0) nativeRandomFill(array);
    return array;
  }

  randomUUID() {
    return nativeRandomUUID();
  }
}
finishInterface(Crypto);

// crypto.subtle: the one SubtleCrypto, made by subtle.js, which is evaluated
// the first time a worker reads it (runtime/js/lazy.js).
ObjectDefineProperty(Crypto.prototype, "subtle", {
  __proto__: null,
  get() {
    return internals.subtle;
  },
  enumerable: true,
  configurable: true,
});

internals.Crypto = Crypto;
internals.crypto = new Crypto(kCreate);

// What node:crypto (runtime/node/crypto.js, loaded only with nodejs_compat)
// reaches of the natives: the synchronous contexts of crypto_node.cc, the
// key handles of crypto_pkey.cc shared with crypto.subtle, and the
// derivations and random bytes above. Node's modules get no `native`
// object: this frozen record is all of it they see.
internals.nodeCryptoNatives = Object.freeze({
  __proto__: null,
  randomFill: native.randomFill,
  hashCreate: native.nodeHashCreate,
  hashUpdate: native.nodeHashUpdate,
  hashDigest: native.nodeHashDigest,
  hashCopy: native.nodeHashCopy,
  cipherNames: native.nodeCipherNames,
  cipherInfo: native.nodeCipherInfo,
  cipherCreate: native.nodeCipherCreate,
  cipherUpdate: native.nodeCipherUpdate,
  cipherFinal: native.nodeCipherFinal,
  cipherSetAad: native.nodeCipherSetAad,
  cipherSetAuthTag: native.nodeCipherSetAuthTag,
  cipherGetAuthTag: native.nodeCipherGetAuthTag,
  cipherSetAutoPadding: native.nodeCipherSetAutoPadding,
  pbkdf2: native.cryptoPbkdf2,
  hkdf: native.cryptoHkdf,
  scrypt: native.cryptoScrypt,
  timingSafeEqual: native.cryptoTimingSafeEqual,
  pkeyGenerate: native.cryptoPkeyGenerate,
  pkeyPublic: native.cryptoPkeyPublic,
  pkeyInfo: native.cryptoPkeyInfo,
  pkeyImport: native.cryptoPkeyImport,
  pkeyJwk: native.cryptoPkeyJwk,
  pkeyParse: native.cryptoPkeyParse,
  pkeyEncode: native.cryptoPkeyEncode,
  sign: native.cryptoNodeSign,
  verify: native.cryptoNodeVerify,
});
