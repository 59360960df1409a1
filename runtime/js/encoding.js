// TextEncoder and TextDecoder (https://encoding.spec.whatwg.org/), UTF-8 only.
// The byte work is done by native.utf8Encode/utf8EncodeInto/utf8Decode; this
// file handles WebIDL conversions, BOM handling and `stream: true`, for which it
// holds back an incomplete trailing UTF-8 sequence between calls.

const { finishInterface, inspectSymbol, inspectNamed } = internals;

const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ReflectApply = Reflect.apply;
const ArrayBufferIsView = ArrayBuffer.isView;
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
const typedArrayTagGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
const typedArrayBufferGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "buffer").get;
const typedArrayByteOffsetGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "byteOffset").get;
const typedArrayByteLengthGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "byteLength").get;
const dataViewBufferGetter = ObjectGetOwnPropertyDescriptor(DataView.prototype, "buffer").get;
const dataViewByteOffsetGetter = ObjectGetOwnPropertyDescriptor(DataView.prototype, "byteOffset").get;
const dataViewByteLengthGetter = ObjectGetOwnPropertyDescriptor(DataView.prototype, "byteLength").get;
const arrayBufferByteLengthGetter = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
const sharedArrayBufferByteLengthGetter =
  typeof SharedArrayBuffer === "function"
    ? ObjectGetOwnPropertyDescriptor(SharedArrayBuffer.prototype, "byteLength").get
    : undefined;

const utf8Encode = native.utf8Encode;
const utf8EncodeInto = native.utf8EncodeInto;
const utf8Decode = native.utf8Decode;

function isUint8Array(value) {
  return ReflectApply(typedArrayTagGetter, value, []) === "Uint8Array";
}

function isArrayBuffer(value) {
  try {
    ReflectApply(arrayBufferByteLengthGetter, value, []);
    return true;
  } catch {
    return false;
  }
}

function isSharedArrayBuffer(value) {
  if (sharedArrayBufferByteLengthGetter === undefined) return false;
  try {
    ReflectApply(sharedArrayBufferByteLengthGetter, value, []);
    return true;
  } catch {
    return false;
  }
}

// Converts a BufferSource (ArrayBuffer, SharedArrayBuffer or any
// ArrayBufferView) to a Uint8Array over the same memory; undefined if `value` is
// not a BufferSource.
function toUint8Array(value) {
  if (value === null || typeof value !== "object") return undefined;
  if (ArrayBufferIsView(value)) {
    if (ReflectApply(typedArrayTagGetter, value, []) !== undefined) {
      if (isUint8Array(value)) return value;
      return new Uint8Array(
        ReflectApply(typedArrayBufferGetter, value, []),
        ReflectApply(typedArrayByteOffsetGetter, value, []),
        ReflectApply(typedArrayByteLengthGetter, value, []),
      );
    }
    return new Uint8Array(
      ReflectApply(dataViewBufferGetter, value, []),
      ReflectApply(dataViewByteOffsetGetter, value, []),
      ReflectApply(dataViewByteLengthGetter, value, []),
    );
  }
  if (isArrayBuffer(value) || isSharedArrayBuffer(value)) return new Uint8Array(value);
  return undefined;
}

// True if `u8` is backed by a SharedArrayBuffer (decoded from a copy, since
// another thread could change it while it is being read).
function isShared(u8) {
  return isSharedArrayBuffer(ReflectApply(typedArrayBufferGetter, u8, []));
}

class TextEncoder {
  get encoding() {
    return "utf-8";
  }

  encode(input = "") {
    return utf8Encode(`${input}`);
  }

  encodeInto(source, destination) {
    if (arguments.length < 2) {
      throw new TypeError(
        `Failed to execute 'encodeInto' on 'TextEncoder': 2 arguments required, but only ${arguments.length} present.`,
      );
    }
    source = `${source}`;
    if (!ArrayBufferIsView(destination) || !isUint8Array(destination)) {
      throw new TypeError(
        "Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.",
      );
    }
    const result = utf8EncodeInto(source, destination);
    return { read: result[0], written: result[1] };
  }

  [inspectSymbol]() {
    return inspectNamed("TextEncoder", { encoding: "utf-8" });
  }
}
finishInterface(TextEncoder);

// All labels of the UTF-8 encoding (https://encoding.spec.whatwg.org/#names-and-labels).
const utf8Labels = new Set([
  "unicode-1-1-utf-8",
  "unicode11utf8",
  "unicode20utf8",
  "utf-8",
  "utf8",
  "x-unicode20utf8",
]);

function trimAsciiWhitespace(s) {
  return s.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "");
}

// Length of the incomplete UTF-8 sequence at the end of `bytes` that more
// input could still complete (0 if there is none). A trailing prefix that is
// already invalid is not held back: the decoder reports it right away.
function incompleteTailLength(bytes) {
  const len = bytes.length;
  const stop = len > 3 ? len - 3 : 0;
  for (let i = len - 1; i >= stop; i--) {
    const b = bytes[i];
    if (b >= 0x80 && b <= 0xbf) continue; // continuation byte
    let need;
    if (b >= 0xc2 && b <= 0xdf) need = 2;
    else if (b >= 0xe0 && b <= 0xef) need = 3;
    else if (b >= 0xf0 && b <= 0xf4) need = 4;
    else return 0;
    const have = len - i;
    if (have >= need) return 0;
    if (have >= 2) {
      const b1 = bytes[i + 1];
      let lo = 0x80;
      let hi = 0xbf;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
      else if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
      if (b1 < lo || b1 > hi) return 0;
      // Any further bytes are continuation bytes (checked by the loop).
    }
    return have;
  }
  return 0;
}

class TextDecoder {
  #fatal;
  #ignoreBOM;
  // Streaming state: bytes of an incomplete sequence held back from the last
  // call, and whether any bytes of the current stream were decoded yet (the
  // BOM is only stripped at the start of a stream).
  #pending = null;
  #started = false;

  constructor(label = "utf-8", options = undefined) {
    const name = trimAsciiWhitespace(`${label}`).toLowerCase();
    if (!utf8Labels.has(name)) {
      throw new RangeError(
        `Failed to construct 'TextDecoder': The encoding label provided ('${label}') is invalid.`,
      );
    }
    if (options !== undefined && options !== null && typeof options !== "object") {
      throw new TypeError(
        "Failed to construct 'TextDecoder': The provided value is not of type 'TextDecoderOptions'.",
      );
    }
    this.#fatal = options != null ? !!options.fatal : false;
    this.#ignoreBOM = options != null ? !!options.ignoreBOM : false;
  }

  get encoding() {
    this.#fatal; // brand check
    return "utf-8";
  }

  get fatal() {
    return this.#fatal;
  }

  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  decode(input = undefined, options = undefined) {
    let bytes;
    if (input === undefined) {
      bytes = new Uint8Array(0);
    } else {
      bytes = toUint8Array(input);
      if (bytes === undefined) {
        throw new TypeError(
          "Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.",
        );
      }
    }
    if (options !== undefined && options !== null && typeof options !== "object") {
      throw new TypeError(
        "Failed to execute 'decode' on 'TextDecoder': The provided value is not of type 'TextDecodeOptions'.",
      );
    }
    const stream = options != null ? !!options.stream : false;

    // Fast path: one-shot decode with no streaming state.
    if (!stream && this.#pending === null && !this.#started) {
      if (isShared(bytes)) bytes = bytes.slice();
      return utf8Decode(bytes, this.#fatal, this.#ignoreBOM);
    }

    if (this.#pending !== null) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending, 0);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    } else if (isShared(bytes)) {
      bytes = bytes.slice();
    }

    if (stream) {
      const tail = incompleteTailLength(bytes);
      if (tail !== 0) {
        this.#pending = bytes.slice(bytes.length - tail);
        bytes = bytes.subarray(0, bytes.length - tail);
      }
    }

    let result = "";
    if (bytes.length !== 0) {
      const ignoreBOM = this.#ignoreBOM || this.#started;
      this.#started = true;
      try {
        result = utf8Decode(bytes, this.#fatal, ignoreBOM);
      } catch (err) {
        this.#pending = null;
        this.#started = false;
        throw err;
      }
    }
    if (!stream) {
      this.#pending = null;
      this.#started = false;
    }
    return result;
  }

  [inspectSymbol]() {
    return inspectNamed("TextDecoder", {
      encoding: "utf-8",
      fatal: this.#fatal,
      ignoreBOM: this.#ignoreBOM,
    });
  }
}
finishInterface(TextDecoder);

internals.TextEncoder = TextEncoder;
internals.TextDecoder = TextDecoder;
// BufferSource -> Uint8Array view over the same memory, or undefined.
internals.toUint8Array = toUint8Array;
internals.isArrayBuffer = isArrayBuffer;
internals.isSharedArrayBuffer = isSharedArrayBuffer;
internals.utf8Encode = utf8Encode;
// Decodes UTF-8 like TextDecoder#decode with default options (BOM stripped,
// invalid sequences replaced).
internals.utf8Decode = (u8) => utf8Decode(u8, false, false);
