// The Crypto interface (https://w3c.github.io/webcrypto/#crypto-interface):
// getRandomValues and randomUUID; subtle.js adds crypto.subtle.

const { finishInterface, illegalConstructor, DOMException } = internals;

const ReflectApply = Reflect.apply;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayPrototype, Symbol.toStringTag).get;
const typedArrayByteLength = Object.getOwnPropertyDescriptor(typedArrayPrototype, "byteLength").get;
const ArrayBufferIsView = ArrayBuffer.isView;
const nativeRandomFill = native.randomFill;
const nativeRandomUUID = native.randomUUID;

const integerArrayTypes = new Set([
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
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to execute 'getRandomValues' on 'Crypto': 1 argument required, but only 0 present.",
      );
    }
    if (!ArrayBufferIsView(array)) {
      throw new TypeError(
        "Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.",
      );
    }
    const tag = ReflectApply(typedArrayTag, array, []);
    if (tag === undefined || !integerArrayTypes.has(tag)) {
      throw new DOMException(
        `Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type '${tag === undefined ? "DataView" : tag}', which is not an integer array type.`,
        "TypeMismatchError",
      );
    }
    const byteLength = ReflectApply(typedArrayByteLength, array, []);
    if (byteLength > 65536) {
      throw new DOMException(
        `Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${byteLength}) exceeds the number of bytes of entropy available via this API (65536).`,
        "QuotaExceededError",
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

internals.Crypto = Crypto;
internals.crypto = new Crypto(kCreate);
