// node:buffer — Node.js's Buffer (a Uint8Array subclass), its encodings
// (utf8, utf16le/ucs2, latin1/binary, ascii, base64, base64url, hex), and
// the module's other exports (Blob, File, atob, btoa, constants, kMaxLength).
// https://nodejs.org/api/buffer.html
//
// The bytes are read and written through the typed array's own indices and
// the primordials below, captured when the worker loads, before its code
// runs: a worker that patches Uint8Array.prototype changes nothing here.

const {
  ArrayBufferCtor, ArrayBufferIsView, ArrayIsArray, MathFloor, MathMin, MathMax, MathTrunc,
  NumberIsNaN, NumberIsFinite, ObjectDefineProperty, ObjectSetPrototypeOf, ObjectGetPrototypeOf,
  ReflectApply, StringCtor, StringPrototypeCharCodeAt, StringPrototypeSlice,
  StringPrototypeToLowerCase, TypeErrorCtor, Uint8ArrayCtor, uncurryThis,
} = internals.primordials;
const errors = require("internal/errors");
const { validateNumber, validateString } = require("internal/validators");

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8ArrayCtor.prototype);
const TypedArrayPrototypeGetLength = internals.TypedArrayPrototypeGetLength;
const TypedArrayPrototypeGetBuffer = internals.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetByteOffset = internals.TypedArrayPrototypeGetByteOffset;
const TypedArrayPrototypeGetByteLength = internals.TypedArrayPrototypeGetByteLength;
const TypedArrayPrototypeGetTag = internals.TypedArrayPrototypeGetTag;
const TypedArrayPrototypeSet = uncurryThis(TypedArrayPrototype.set);
// A view of bytes [start, end) of `bytes`, made directly: subarray() would
// go through the species constructor, which a worker can replace.
function view(bytes, start, end) {
  return new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(bytes), TypedArrayPrototypeGetByteOffset(bytes) + start,
    end - start);
}
const TypedArrayPrototypeFill = uncurryThis(TypedArrayPrototype.fill);
const TypedArrayPrototypeIndexOf = uncurryThis(TypedArrayPrototype.indexOf);
const ArrayBufferPrototypeGetByteLength = internals.ArrayBufferPrototypeGetByteLength;
const StringFromCharCode = String.fromCharCode;
const StringFromCharCodeApply = (codes) => ReflectApply(StringFromCharCode, undefined, codes);
const TextEncoderEncodeInto = uncurryThis(internals.TextEncoder.prototype.encodeInto);
const TextDecoderDecode = uncurryThis(internals.TextDecoder.prototype.decode);
const utf8Encoder = new internals.TextEncoder();
// Node keeps a leading BOM when it decodes UTF-8.
const utf8Decoder = new internals.TextDecoder("utf-8", { ignoreBOM: true });
const utf8FatalDecoder = new internals.TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const float32 = new Float32Array(1);
const float32Bytes = new Uint8ArrayCtor(float32.buffer);
const float64 = new Float64Array(1);
const float64Bytes = new Uint8ArrayCtor(float64.buffer);
const bigEndianHost = new Uint8ArrayCtor(new Uint16Array([1]).buffer)[0] === 0;

// V8 10.2's limits on 64-bit hosts, as Node 18/20 report them.
const kMaxLength = 2 ** 32;
const kStringMaxLength = 2 ** 29 - 24;
const INSPECT_MAX_BYTES = 50;

function isUint8Array(value) {
  return TypedArrayPrototypeGetTag(value) === "Uint8Array";
}
function isAnyArrayBuffer(value) {
  return internals.isArrayBuffer(value) || internals.isSharedArrayBuffer(value);
}
function byteLengthOf(view) {
  return TypedArrayPrototypeGetTag(view) !== undefined
    ? TypedArrayPrototypeGetByteLength(view)
    : internals.DataViewPrototypeGetByteLength(view);
}
function byteOffsetOf(view) {
  return TypedArrayPrototypeGetTag(view) !== undefined
    ? TypedArrayPrototypeGetByteOffset(view)
    : internals.DataViewPrototypeGetByteOffset(view);
}
function bufferOf(view) {
  return TypedArrayPrototypeGetTag(view) !== undefined
    ? TypedArrayPrototypeGetBuffer(view)
    : internals.DataViewPrototypeGetBuffer(view);
}
// Any ArrayBufferView as bytes over the same memory.
function bytesOf(view) {
  if (isUint8Array(view)) return view;
  return new Uint8ArrayCtor(bufferOf(view), byteOffsetOf(view), byteLengthOf(view));
}

// ---- Encodings ----------------------------------------------------------

// The canonical name of an encoding, or undefined.
function normalizeEncoding(encoding) {
  if (encoding === undefined || encoding === null || encoding === "utf8" || encoding === "utf-8") {
    return "utf8";
  }
  switch (StringPrototypeToLowerCase(StringCtor(encoding))) {
    case "utf8": case "utf-8": return "utf8";
    case "ucs2": case "ucs-2": case "utf16le": case "utf-16le": return "utf16le";
    case "latin1": case "binary": return "latin1";
    case "base64": return "base64";
    case "base64url": return "base64url";
    case "hex": return "hex";
    case "ascii": return "ascii";
    default: return undefined;
  }
}
function getEncoding(encoding) {
  if (encoding === undefined) return "utf8";
  const normalized = typeof encoding === "string" ? normalizeEncoding(encoding) : undefined;
  if (normalized === undefined) throw errors.ERR_UNKNOWN_ENCODING(encoding);
  return normalized;
}

const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const base64UrlChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// Both alphabets decode in either encoding, as in Node; -1: skipped.
const base64Values = new Int8Array(256);
TypedArrayPrototypeFill(base64Values, -1);
for (let i = 0; i < 64; i++) {
  base64Values[StringPrototypeCharCodeAt(base64Chars, i)] = i;
  base64Values[StringPrototypeCharCodeAt(base64UrlChars, i)] = i;
}

function base64ByteLength(string) {
  let length = string.length;
  if (length > 0 && StringPrototypeCharCodeAt(string, length - 1) === 0x3d) length--;
  if (length > 1 && StringPrototypeCharCodeAt(string, length - 1) === 0x3d) length--;
  return (length * 3) >>> 2;
}

function utf8ByteLength(string) {
  let bytes = 0;
  const length = string.length;
  for (let i = 0; i < length; i++) {
    const code = StringPrototypeCharCodeAt(string, i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < length) {
      const next = StringPrototypeCharCodeAt(string, i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}

function encodedLength(string, encoding) {
  switch (encoding) {
    case "utf8": return utf8ByteLength(string);
    case "utf16le": return string.length * 2;
    case "latin1": case "ascii": return string.length;
    case "hex": return string.length >>> 1;
    default: return base64ByteLength(string);
  }
}

// Writes `string` into `bytes` from `offset`, at most `max` bytes, whole
// characters only; returns the count written.
function writeEncoded(bytes, string, offset, max, encoding) {
  const end = offset + max;
  switch (encoding) {
    case "utf8": {
      const target = view(bytes, offset, end);
      return TextEncoderEncodeInto(utf8Encoder, string, target).written;
    }
    case "latin1": case "ascii": {
      const count = MathMin(string.length, max);
      for (let i = 0; i < count; i++) bytes[offset + i] = StringPrototypeCharCodeAt(string, i) & 0xff;
      return count;
    }
    case "utf16le": {
      const count = MathMin(string.length, max >>> 1);
      for (let i = 0; i < count; i++) {
        const code = StringPrototypeCharCodeAt(string, i);
        bytes[offset + 2 * i] = code & 0xff;
        bytes[offset + 2 * i + 1] = code >>> 8;
      }
      return count * 2;
    }
    case "hex": {
      const pairs = MathMin(string.length >>> 1, max);
      let i = 0;
      for (; i < pairs; i++) {
        const high = hexValue(StringPrototypeCharCodeAt(string, 2 * i));
        const low = hexValue(StringPrototypeCharCodeAt(string, 2 * i + 1));
        if (high < 0 || low < 0) break;
        bytes[offset + i] = high * 16 + low;
      }
      return i;
    }
    default: {  // base64, base64url
      let written = 0;
      let accumulator = 0;
      let bits = 0;
      const length = string.length;
      for (let i = 0; i < length && written < max; i++) {
        const code = StringPrototypeCharCodeAt(string, i);
        if (code === 0x3d) break;  // '=' ends the data
        const value = code < 256 ? base64Values[code] : -1;
        if (value < 0) continue;  // whitespace and other characters are skipped
        accumulator = ((accumulator << 6) | value) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          bytes[offset + written++] = (accumulator >>> bits) & 0xff;
        }
      }
      return written;
    }
  }
}

function hexValue(code) {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}

// Strings are built 8192 code units at a time: fromCharCode's arguments
// stay on the stack.
const kChunk = 8192;
function decodeBytes(bytes, start, end, encoding) {
  if (end <= start) return "";
  if (encoding === "utf8") {
    return TextDecoderDecode(utf8Decoder, view(bytes, start, end));
  }
  if ((end - start) * (encoding === "hex" ? 2 : 1) > kStringMaxLength) {
    throw errors.makeError(Error, "ERR_STRING_TOO_LONG",
      `Cannot create a string longer than 0x${kStringMaxLength.toString(16)} characters`);
  }
  let result = "";
  switch (encoding) {
    case "latin1": case "ascii": {
      const mask = encoding === "ascii" ? 0x7f : 0xff;
      for (let i = start; i < end; i += kChunk) {
        const stop = MathMin(i + kChunk, end);
        const codes = [];
        for (let j = i; j < stop; j++) codes[j - i] = bytes[j] & mask;
        result += StringFromCharCodeApply(codes);
      }
      return result;
    }
    case "utf16le": {
      for (let i = start; i + 1 < end; i += 2 * kChunk) {
        const stop = MathMin(i + 2 * kChunk, end);
        const codes = [];
        for (let j = i; j + 1 < stop; j += 2) codes[(j - i) >>> 1] = bytes[j] | (bytes[j + 1] << 8);
        result += StringFromCharCodeApply(codes);
      }
      return result;
    }
    case "hex": {
      const digits = "0123456789abcdef";
      for (let i = start; i < end; i++) {
        const byte = bytes[i];
        result += digits[byte >>> 4] + digits[byte & 15];
      }
      return result;
    }
    default: {  // base64, base64url
      const url = encoding === "base64url";
      const chars = url ? base64UrlChars : base64Chars;
      let i = start;
      for (; i + 2 < end; i += 3) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        result += chars[n >>> 18] + chars[(n >>> 12) & 63] + chars[(n >>> 6) & 63] + chars[n & 63];
      }
      if (end - i === 1) {
        const n = bytes[i] << 16;
        result += chars[n >>> 18] + chars[(n >>> 12) & 63] + (url ? "" : "==");
      } else if (end - i === 2) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
        result += chars[n >>> 18] + chars[(n >>> 12) & 63] + chars[(n >>> 6) & 63] + (url ? "" : "=");
      }
      return result;
    }
  }
}

// ---- The Buffer class ---------------------------------------------------

// The class Buffer's instances are made with; Buffer itself is a function
// (Node's deprecated `Buffer(x)` call still works) sharing its prototype.
class FastBuffer extends Uint8ArrayCtor {
  // eslint-disable-next-line no-useless-constructor
  constructor(bufferOrLength, byteOffset, length) {
    super(bufferOrLength, byteOffset, length);
  }
}

function Buffer(arg, encodingOrOffset, length) {
  if (typeof arg === "number") {
    if (typeof encodingOrOffset === "string") {
      throw errors.ERR_INVALID_ARG_TYPE("string", "string", arg);
    }
    return Buffer.alloc(arg);
  }
  return Buffer.from(arg, encodingOrOffset, length);
}
ObjectDefineProperty(Buffer, "prototype", { __proto__: null, value: FastBuffer.prototype, writable: false });
ObjectDefineProperty(FastBuffer.prototype, "constructor", {
  __proto__: null, value: Buffer, writable: true, enumerable: false, configurable: true,
});
ObjectSetPrototypeOf(Buffer, Uint8ArrayCtor);

function checkSize(size) {
  validateNumber(size, "size", 0, kMaxLength);
}

function allocate(size) {
  // The isolate's memory budget refuses what does not fit: a RangeError
  // ("Array buffer allocation failed"), never a crash.
  return new FastBuffer(size);
}

function fromString(string, encoding) {
  const normalized = getEncoding(encoding);
  const length = encodedLength(string, normalized);
  const buffer = allocate(length);
  const written = writeEncoded(buffer, string, 0, length, normalized);
  return written === length ? buffer : new FastBuffer(TypedArrayPrototypeGetBuffer(buffer), 0, written);
}

function fromArrayLike(array) {
  const length = array.length >>> 0;
  if (length > kMaxLength) throw errors.ERR_OUT_OF_RANGE("length", `<= ${kMaxLength}`, length);
  const buffer = allocate(length);
  for (let i = 0; i < length; i++) buffer[i] = array[i];
  return buffer;
}

function fromArrayBuffer(arrayBuffer, byteOffset, length) {
  const byteLength = internals.isArrayBuffer(arrayBuffer)
    ? ArrayBufferPrototypeGetByteLength(arrayBuffer)
    : arrayBuffer.byteLength;
  if (byteOffset === undefined) {
    byteOffset = 0;
  } else {
    byteOffset = +byteOffset;
    if (NumberIsNaN(byteOffset)) byteOffset = 0;
  }
  const max = byteLength - byteOffset;
  if (max < 0) throw errors.ERR_BUFFER_OUT_OF_BOUNDS("offset");
  if (length === undefined) {
    length = max;
  } else {
    length = +length;
    if (length > 0) {
      if (length > max) throw errors.ERR_BUFFER_OUT_OF_BOUNDS("length");
    } else {
      length = 0;
    }
  }
  return new FastBuffer(arrayBuffer, byteOffset, length);
}

function fromError(value) {
  const error = errors.ERR_INVALID_ARG_TYPE("first argument", ["string", "Buffer", "ArrayBuffer", "Array"], value);
  error.message = error.message.replace("an instance of Buffer, ArrayBuffer, or Array",
    "an instance of Buffer, ArrayBuffer, or Array or an Array-like Object");
  return error;
}

Buffer.from = function from(value, encodingOrOffset, length) {
  if (typeof value === "string") return fromString(value, encodingOrOffset);
  if (typeof value === "object" && value !== null) {
    if (isAnyArrayBuffer(value)) return fromArrayBuffer(value, encodingOrOffset, length);
    if (ArrayBufferIsView(value)) {
      // A copy of the view's bytes (Uint8Array, Buffer) or of its
      // elements (other typed arrays), as Node.
      if (isUint8Array(value)) {
        const buffer = allocate(TypedArrayPrototypeGetLength(value));
        TypedArrayPrototypeSet(buffer, value);
        return buffer;
      }
      if (TypedArrayPrototypeGetTag(value) !== undefined) {
        const count = TypedArrayPrototypeGetLength(value);
        const buffer = allocate(count);
        for (let i = 0; i < count; i++) buffer[i] = value[i];
        return buffer;
      }
    }
    const primitive = value.valueOf && value.valueOf();
    if (primitive != null && primitive !== value) return Buffer.from(primitive, encodingOrOffset, length);
    if (value.length !== undefined || isAnyArrayBuffer(value.buffer)) {
      if (typeof value.length !== "number") return allocate(0);
      return fromArrayLike(value);
    }
    if (value.type === "Buffer" && ArrayIsArray(value.data)) return fromArrayLike(value.data);
    if (typeof value[Symbol.toPrimitive] === "function") {
      const converted = value[Symbol.toPrimitive]("string");
      if (typeof converted === "string") return fromString(converted, encodingOrOffset);
    }
  }
  throw fromError(value);
};

Buffer.of = function of(...items) {
  const buffer = allocate(items.length);
  for (let i = 0; i < items.length; i++) buffer[i] = items[i];
  return buffer;
};

Buffer.copyBytesFrom = function copyBytesFrom(view, offset = undefined, length = undefined) {
  if (!ArrayBufferIsView(view) || TypedArrayPrototypeGetTag(view) === undefined) {
    throw errors.ERR_INVALID_ARG_TYPE("view", ["TypedArray"], view);
  }
  const count = TypedArrayPrototypeGetLength(view);
  if (count === 0) return allocate(0);
  let start = 0;
  let end = count;
  if (offset !== undefined) {
    validateInteger(offset, "offset", 0);
    if (offset >= count) return allocate(0);
    start = offset;
  }
  if (length !== undefined) {
    validateInteger(length, "length", 0);
    end = MathMin(count, start + length);
  }
  const elementSize = byteLengthOf(view) / count;
  const bytes = new Uint8ArrayCtor(bufferOf(view), byteOffsetOf(view) + start * elementSize,
    (end - start) * elementSize);
  const buffer = allocate(TypedArrayPrototypeGetLength(bytes));
  TypedArrayPrototypeSet(buffer, bytes);
  return buffer;
};

function validateInteger(value, name, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== "number") throw errors.ERR_INVALID_ARG_TYPE(name, "number", value);
  if (MathTrunc(value) !== value) throw errors.ERR_OUT_OF_RANGE(name, "an integer", value);
  if (value < min || value > max) throw errors.ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
}

Buffer.alloc = function alloc(size, fill, encoding) {
  checkSize(size);
  const buffer = allocate(size);
  if (fill !== undefined && fill !== 0 && size > 0) {
    fillBuffer(buffer, fill, 0, size, encoding);
  }
  return buffer;
};
Buffer.allocUnsafe = function allocUnsafe(size) {
  checkSize(size);
  return allocate(size);
};
Buffer.allocUnsafeSlow = function allocUnsafeSlow(size) {
  checkSize(size);
  return allocate(size);
};
// Node's pool size: kept for code that reads it; edge does not pool.
Buffer.poolSize = 8 * 1024;

Buffer.isBuffer = function isBuffer(value) {
  return value instanceof Buffer;
};
Buffer.isEncoding = function isEncoding(encoding) {
  return typeof encoding === "string" && encoding.length !== 0 && normalizeEncoding(encoding) !== undefined;
};

Buffer.byteLength = function byteLength(string, encoding) {
  if (typeof string !== "string") {
    if (ArrayBufferIsView(string)) return byteLengthOf(string);
    if (internals.isArrayBuffer(string)) return ArrayBufferPrototypeGetByteLength(string);
    if (internals.isSharedArrayBuffer(string)) return string.byteLength;
    throw errors.ERR_INVALID_ARG_TYPE("string", ["string", "Buffer", "ArrayBuffer"], string);
  }
  const normalized = normalizeEncoding(encoding) || "utf8";
  return encodedLength(string, normalized);
};

function compareBytes(a, aStart, aEnd, b, bStart, bEnd) {
  const length = MathMin(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < length; i++) {
    const x = a[aStart + i];
    const y = b[bStart + i];
    if (x !== y) return x < y ? -1 : 1;
  }
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  return aLength < bLength ? -1 : aLength > bLength ? 1 : 0;
}

Buffer.compare = function compare(a, b) {
  if (!isUint8Array(a)) throw errors.ERR_INVALID_ARG_TYPE("buf1", ["Buffer", "Uint8Array"], a);
  if (!isUint8Array(b)) throw errors.ERR_INVALID_ARG_TYPE("buf2", ["Buffer", "Uint8Array"], b);
  return compareBytes(a, 0, TypedArrayPrototypeGetLength(a), b, 0, TypedArrayPrototypeGetLength(b));
};

Buffer.concat = function concat(list, totalLength) {
  if (!ArrayIsArray(list)) throw errors.ERR_INVALID_ARG_TYPE("list", "Array", list);
  const count = list.length;
  if (count === 0) return allocate(0);
  if (totalLength === undefined) {
    totalLength = 0;
    for (let i = 0; i < count; i++) {
      const item = list[i];
      if (!isUint8Array(item)) {
        throw errors.ERR_INVALID_ARG_TYPE(`list[${i}]`, ["Buffer", "Uint8Array"], item);
      }
      totalLength += TypedArrayPrototypeGetLength(item);
    }
  } else {
    validateInteger(totalLength, "length", 0, kMaxLength);
  }
  if (totalLength > kMaxLength) throw errors.ERR_OUT_OF_RANGE("totalLength", `<= ${kMaxLength}`, totalLength);
  const buffer = allocate(totalLength);
  let position = 0;
  for (let i = 0; i < count && position < totalLength; i++) {
    const item = list[i];
    if (!isUint8Array(item)) {
      throw errors.ERR_INVALID_ARG_TYPE(`list[${i}]`, ["Buffer", "Uint8Array"], item);
    }
    const length = TypedArrayPrototypeGetLength(item);
    const room = totalLength - position;
    TypedArrayPrototypeSet(buffer, length > room ? view(item, 0, room) : item, position);
    position += MathMin(length, room);
  }
  // Node zero-fills what the list did not cover.
  if (position < totalLength) TypedArrayPrototypeFill(buffer, 0, position, totalLength);
  return buffer;
};

const proto = FastBuffer.prototype;

function lengthOf(buffer) {
  return TypedArrayPrototypeGetLength(buffer);
}

// An index argument as Node reads one: undefined -> fallback, else a
// number clamped to [0, length].
function clampIndex(value, fallback, length) {
  if (value === undefined) return fallback;
  value = +value;
  if (NumberIsNaN(value) || value <= 0) return 0;
  value = MathTrunc(value);
  return value > length ? length : value;
}

proto.toString = function toString(encoding, start, end) {
  if (arguments.length === 0) {
    return TextDecoderDecode(utf8Decoder, this);
  }
  const length = lengthOf(this);
  start = clampIndex(start, 0, length);
  end = end === undefined ? length : clampIndex(end, length, length);
  if (end <= start) return "";
  const normalized = encoding === undefined ? "utf8" : normalizeEncoding(encoding);
  if (normalized === undefined) throw errors.ERR_UNKNOWN_ENCODING(encoding);
  return decodeBytes(this, start, end, normalized);
};
proto.toLocaleString = proto.toString;

proto.write = function write(string, offset, length, encoding) {
  validateString(string, "string");
  const size = lengthOf(this);
  if (offset === undefined) {
    return writeEncoded(this, string, 0, size, "utf8");
  }
  if (length === undefined && typeof offset === "string") {
    encoding = offset;
    length = size;
    offset = 0;
  } else {
    validateInteger(offset, "offset", 0, size);
    const remaining = size - offset;
    if (length === undefined) {
      length = remaining;
    } else if (typeof length === "string") {
      encoding = length;
      length = remaining;
    } else {
      validateInteger(length, "length", 0, size);
      if (length > remaining) length = remaining;
    }
  }
  const normalized = getEncoding(encoding);
  return writeEncoded(this, string, offset, length, normalized);
};

proto.toJSON = function toJSON() {
  const length = lengthOf(this);
  const data = [];
  for (let i = 0; i < length; i++) data[i] = this[i];
  return { type: "Buffer", data };
};

proto.equals = function equals(other) {
  if (!isUint8Array(other)) throw errors.ERR_INVALID_ARG_TYPE("otherBuffer", ["Buffer", "Uint8Array"], other);
  if (this === other) return true;
  const length = lengthOf(this);
  if (length !== lengthOf(other)) return false;
  return compareBytes(this, 0, length, other, 0, length) === 0;
};

proto.compare = function compare(target, targetStart, targetEnd, sourceStart, sourceEnd) {
  if (!isUint8Array(target)) throw errors.ERR_INVALID_ARG_TYPE("target", ["Buffer", "Uint8Array"], target);
  const targetLength = lengthOf(target);
  const sourceLength = lengthOf(this);
  const bound = (value, name, fallback, max) => {
    if (value === undefined) return fallback;
    validateInteger(value, name, 0, max);
    return value;
  };
  targetStart = bound(targetStart, "targetStart", 0, kMaxLength);
  targetEnd = bound(targetEnd, "targetEnd", targetLength, targetLength);
  sourceStart = bound(sourceStart, "sourceStart", 0, kMaxLength);
  sourceEnd = bound(sourceEnd, "sourceEnd", sourceLength, sourceLength);
  if (sourceStart >= sourceEnd) return targetStart >= targetEnd ? 0 : -1;
  if (targetStart >= targetEnd) return 1;
  return compareBytes(this, sourceStart, sourceEnd, target, targetStart, targetEnd);
};

proto.copy = function copy(target, targetStart, sourceStart, sourceEnd) {
  if (!ArrayBufferIsView(target)) throw errors.ERR_INVALID_ARG_TYPE("target", ["Buffer", "Uint8Array"], target);
  const targetBytes = bytesOf(target);
  const targetLength = lengthOf(targetBytes);
  const sourceLength = lengthOf(this);
  targetStart = targetStart === undefined ? 0 : toInteger(targetStart, "targetStart");
  sourceStart = sourceStart === undefined ? 0 : toInteger(sourceStart, "sourceStart");
  sourceEnd = sourceEnd === undefined ? sourceLength : toInteger(sourceEnd, "sourceEnd");
  if (sourceStart > sourceLength) {
    throw errors.ERR_OUT_OF_RANGE("sourceStart", `>= 0 && <= ${sourceLength}`, sourceStart);
  }
  if (sourceEnd > sourceLength) sourceEnd = sourceLength;
  if (targetStart >= targetLength || sourceStart >= sourceEnd) return 0;
  const count = MathMin(sourceEnd - sourceStart, targetLength - targetStart);
  // set() copies as if through a temporary: overlapping ranges are fine.
  TypedArrayPrototypeSet(targetBytes, view(this, sourceStart, sourceStart + count), targetStart);
  return count;
};

function toInteger(value, name) {
  value = +value;
  if (NumberIsNaN(value)) return 0;
  value = MathTrunc(value);
  if (value < 0) throw errors.ERR_OUT_OF_RANGE(name, ">= 0", value);
  return value;
}

// The bytes `value` stands for in fill() and indexOf(); a number is one byte.
function valueBytes(value, encoding, name) {
  if (typeof value === "string") return fromString(value, encoding);
  if (isUint8Array(value)) return value;
  if (ArrayBufferIsView(value)) return bytesOf(value);
  throw errors.ERR_INVALID_ARG_TYPE(name, ["number", "string", "Buffer", "Uint8Array"], value);
}

function fillBuffer(buffer, value, offset, end, encoding) {
  if (typeof value === "number" || typeof value === "boolean") {
    TypedArrayPrototypeFill(buffer, value & 255, offset, end);
    return;
  }
  if (typeof value === "string" && encoding !== undefined) getEncoding(encoding);
  if (typeof value === "string" && value.length === 1 && (encoding === undefined || normalizeEncoding(encoding) === "utf8")) {
    const code = StringPrototypeCharCodeAt(value, 0);
    if (code < 128) {
      TypedArrayPrototypeFill(buffer, code, offset, end);
      return;
    }
  }
  const bytes = valueBytes(value, encoding, "value");
  const length = lengthOf(bytes);
  if (length === 0) {
    if (typeof value === "string") {
      throw errors.ERR_INVALID_ARG_VALUE("value", value);
    }
    TypedArrayPrototypeFill(buffer, 0, offset, end);
    return;
  }
  // Doubling copies: log(n) set() calls, whatever the size.
  let position = offset;
  const first = MathMin(length, end - offset);
  TypedArrayPrototypeSet(buffer, view(bytes, 0, first), position);
  position += first;
  while (position < end) {
    const count = MathMin(position - offset, end - position);
    TypedArrayPrototypeSet(buffer, view(buffer, offset, offset + count), position);
    position += count;
  }
}

proto.fill = function fill(value, offset, end, encoding) {
  const length = lengthOf(this);
  if (typeof offset === "string") {
    encoding = offset;
    offset = 0;
    end = length;
  } else if (typeof end === "string") {
    encoding = end;
    end = length;
  }
  if (offset === undefined) offset = 0;
  else validateInteger(offset, "offset", 0);
  if (end === undefined) end = length;
  else validateInteger(end, "end", 0, length);
  if (offset > length) throw errors.ERR_OUT_OF_RANGE("offset", `>= 0 && <= ${length}`, offset);
  if (offset >= end) return this;
  fillBuffer(this, value, offset, end, encoding);
  return this;
};

function indexOfBytes(buffer, needle, byteOffset, forward) {
  const length = lengthOf(buffer);
  const needleLength = lengthOf(needle);
  if (forward) {
    if (needleLength === 0) return byteOffset <= length ? byteOffset : length;
    const first = needle[0];
    for (let i = byteOffset; i <= length - needleLength; i++) {
      i = TypedArrayPrototypeIndexOf(buffer, first, i);
      if (i === -1 || i > length - needleLength) return -1;
      let j = 1;
      while (j < needleLength && buffer[i + j] === needle[j]) j++;
      if (j === needleLength) return i;
    }
    return -1;
  }
  if (needleLength === 0) return MathMin(byteOffset, length);
  for (let i = MathMin(byteOffset, length - needleLength); i >= 0; i--) {
    let j = 0;
    while (j < needleLength && buffer[i + j] === needle[j]) j++;
    if (j === needleLength) return i;
  }
  return -1;
}

function bidirectionalIndexOf(buffer, value, byteOffset, encoding, forward) {
  const length = lengthOf(buffer);
  if (typeof byteOffset === "string") {
    encoding = byteOffset;
    byteOffset = undefined;
  }
  let offset = byteOffset === undefined ? (forward ? 0 : length) : +byteOffset;
  if (NumberIsNaN(offset)) offset = forward ? 0 : length;
  offset = MathTrunc(offset);
  if (offset < 0) offset = MathMax(length + offset, forward ? 0 : -1);
  if (!forward && offset < 0) return -1;
  if (typeof value === "number") {
    const byte = ((value % 256) + 256) % 256;
    if (forward) return offset >= length ? -1 : TypedArrayPrototypeIndexOf(buffer, byte, offset);
    for (let i = MathMin(offset, length - 1); i >= 0; i--) if (buffer[i] === byte) return i;
    return -1;
  }
  if (typeof value === "string" && encoding !== undefined) getEncoding(encoding);
  const needle = valueBytes(value, encoding, "value");
  if (forward && offset > length) return lengthOf(needle) === 0 ? length : -1;
  return indexOfBytes(buffer, needle, offset, forward);
}

proto.indexOf = function indexOf(value, byteOffset, encoding) {
  return bidirectionalIndexOf(this, value, byteOffset, encoding, true);
};
proto.lastIndexOf = function lastIndexOf(value, byteOffset, encoding) {
  return bidirectionalIndexOf(this, value, byteOffset, encoding, false);
};
proto.includes = function includes(value, byteOffset, encoding) {
  return bidirectionalIndexOf(this, value, byteOffset, encoding, true) !== -1;
};

function sliceBounds(length, start, end) {
  start = start === undefined ? 0 : MathTrunc(+start) || 0;
  end = end === undefined ? length : MathTrunc(+end) || 0;
  if (start < 0) start = MathMax(length + start, 0);
  else if (start > length) start = length;
  if (end < 0) end = MathMax(length + end, 0);
  else if (end > length) end = length;
  return [start, end < start ? start : end];
}

// A view of the same memory, as a Buffer (Uint8Array's subarray would make
// one through the species constructor, which a worker can replace).
proto.subarray = function subarray(start, end) {
  const [from, to] = sliceBounds(lengthOf(this), start, end);
  return new FastBuffer(TypedArrayPrototypeGetBuffer(this), TypedArrayPrototypeGetByteOffset(this) + from, to - from);
};
proto.slice = function slice(start, end) {
  return ReflectApply(proto.subarray, this, [start, end]);
};

function swap(buffer, size) {
  const length = lengthOf(buffer);
  if (length % size !== 0) throw errors.ERR_INVALID_BUFFER_SIZE(`${size * 8}-bits`);
  for (let i = 0; i < length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = buffer[a];
      buffer[a] = buffer[b];
      buffer[b] = t;
    }
  }
  return buffer;
}
proto.swap16 = function swap16() { return swap(this, 2); };
proto.swap32 = function swap32() { return swap(this, 4); };
proto.swap64 = function swap64() { return swap(this, 8); };

ObjectDefineProperty(proto, "parent", {
  __proto__: null, enumerable: true, configurable: true,
  get() {
    if (!(this instanceof Buffer)) return undefined;
    return TypedArrayPrototypeGetBuffer(this);
  },
});
ObjectDefineProperty(proto, "offset", {
  __proto__: null, enumerable: true, configurable: true,
  get() {
    if (!(this instanceof Buffer)) return undefined;
    return TypedArrayPrototypeGetByteOffset(this);
  },
});

// <Buffer 68 65 6c 6c 6f>, at most INSPECT_MAX_BYTES bytes, as Node prints.
proto[internals.inspectSymbol] = function inspect() {
  const max = exportsObject.INSPECT_MAX_BYTES;
  const length = lengthOf(this);
  const shown = MathMin(max, length);
  let text = decodeBytes(this, 0, shown, "hex").replace(/(.{2})/g, "$1 ").trim();
  const remaining = length - max;
  if (remaining > 0) text += ` ... ${remaining} more byte${remaining > 1 ? "s" : ""}`;
  return `<Buffer${text ? " " + text : ""}>`;
};
proto.inspect = proto[internals.inspectSymbol];

// ---- Numbers -------------------------------------------------------------

function checkOffset(buffer, offset, byteLength) {
  if (offset === undefined) offset = 0;
  if (typeof offset !== "number") throw errors.ERR_INVALID_ARG_TYPE("offset", "number", offset);
  const last = lengthOf(buffer) - byteLength;
  if (MathTrunc(offset) !== offset) throw errors.ERR_OUT_OF_RANGE("offset", "an integer", offset);
  if (last < 0) throw errors.ERR_BUFFER_OUT_OF_BOUNDS();
  if (offset < 0 || offset > last) throw errors.ERR_OUT_OF_RANGE("offset", `>= 0 and <= ${last}`, offset);
  return offset;
}

function checkByteLength(byteLength) {
  if (typeof byteLength !== "number") throw errors.ERR_INVALID_ARG_TYPE("byteLength", "number", byteLength);
  if (MathTrunc(byteLength) !== byteLength) throw errors.ERR_OUT_OF_RANGE("byteLength", "an integer", byteLength);
  if (byteLength < 1 || byteLength > 6) throw errors.ERR_OUT_OF_RANGE("byteLength", ">= 1 and <= 6", byteLength);
}

// Node's range text: decimal up to 4 bytes, powers of two beyond.
function checkValue(value, min, max, byteLength, signed, big) {
  if (big ? typeof value !== "bigint" : typeof value !== "number") {
    throw errors.ERR_INVALID_ARG_TYPE("value", big ? "bigint" : "number", value);
  }
  if (value > max || value < min || (!big && NumberIsNaN(value) && false)) {
    const n = big ? "n" : "";
    let range;
    if (byteLength > 4) {
      const bits = byteLength * 8;
      range = signed
        ? `>= -(2${n} ** ${bits - 1}${n}) and < 2${n} ** ${bits - 1}${n}`
        : `>= 0${n} and < 2${n} ** ${bits}${n}`;
    } else {
      range = `>= ${min}${n} and <= ${max}${n}`;
    }
    throw errors.ERR_OUT_OF_RANGE("value", range, value);
  }
}

function readUnsigned(buffer, offset, byteLength, little) {
  let value = 0;
  if (little) {
    for (let i = byteLength - 1; i >= 0; i--) value = value * 256 + buffer[offset + i];
  } else {
    for (let i = 0; i < byteLength; i++) value = value * 256 + buffer[offset + i];
  }
  return value;
}
function readSigned(buffer, offset, byteLength, little) {
  const value = readUnsigned(buffer, offset, byteLength, little);
  const limit = 2 ** (byteLength * 8 - 1);
  return value >= limit ? value - limit * 2 : value;
}
function writeBytes(buffer, value, offset, byteLength, little) {
  // `value` is a checked integer; negative ones are written in two's
  // complement.
  let rest = value < 0 ? value + 2 ** (byteLength * 8) : value;
  for (let i = 0; i < byteLength; i++) {
    const byte = rest % 256;
    buffer[little ? offset + i : offset + byteLength - 1 - i] = byte;
    rest = (rest - byte) / 256;
  }
  return offset + byteLength;
}

function defineInt(byteLength) {
  const bits = byteLength * 8;
  const names = { 1: "8", 2: "16", 4: "32" };
  const suffixes = byteLength === 1 ? [""] : ["LE", "BE"];
  for (let s = 0; s < suffixes.length; s++) {
    const suffix = suffixes[s];
    const little = suffix !== "BE";
    const readU = function (offset) {
      return readUnsigned(this, checkOffset(this, offset, byteLength), byteLength, little);
    };
    const readI = function (offset) {
      return readSigned(this, checkOffset(this, offset, byteLength), byteLength, little);
    };
    const writeU = function (value, offset) {
      checkValue(value, 0, 2 ** bits - 1, byteLength, false, false);
      return writeBytes(this, MathTrunc(value), checkOffset(this, offset, byteLength), byteLength, little);
    };
    const writeI = function (value, offset) {
      checkValue(value, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, byteLength, true, false);
      return writeBytes(this, MathTrunc(value), checkOffset(this, offset, byteLength), byteLength, little);
    };
    const base = names[byteLength] + suffix;
    defineMethod(`readUInt${base}`, readU, `readUint${base}`);
    defineMethod(`readInt${base}`, readI);
    defineMethod(`writeUInt${base}`, writeU, `writeUint${base}`);
    defineMethod(`writeInt${base}`, writeI);
  }
}
function defineMethod(name, fn, alias = undefined) {
  ObjectDefineProperty(fn, "name", { __proto__: null, value: name });
  proto[name] = fn;
  if (alias !== undefined) proto[alias] = fn;
}
defineInt(1);
defineInt(2);
defineInt(4);

for (const little of [true, false]) {
  const suffix = little ? "LE" : "BE";
  defineMethod(`readUInt${suffix}`, function (offset, byteLength) {
    checkByteLength(byteLength);
    return readUnsigned(this, checkOffset(this, offset, byteLength), byteLength, little);
  }, `readUint${suffix}`);
  defineMethod(`readInt${suffix}`, function (offset, byteLength) {
    checkByteLength(byteLength);
    return readSigned(this, checkOffset(this, offset, byteLength), byteLength, little);
  });
  defineMethod(`writeUInt${suffix}`, function (value, offset, byteLength) {
    checkByteLength(byteLength);
    checkValue(value, 0, 2 ** (byteLength * 8) - 1, byteLength, false, false);
    return writeBytes(this, MathTrunc(value), checkOffset(this, offset, byteLength), byteLength, little);
  }, `writeUint${suffix}`);
  defineMethod(`writeInt${suffix}`, function (value, offset, byteLength) {
    checkByteLength(byteLength);
    const half = 2 ** (byteLength * 8 - 1);
    checkValue(value, -half, half - 1, byteLength, true, false);
    return writeBytes(this, MathTrunc(value), checkOffset(this, offset, byteLength), byteLength, little);
  });

  // Floats go through a scratch Float32Array/Float64Array in host order.
  const copyIn = (buffer, offset, scratch, size) => {
    for (let i = 0; i < size; i++) {
      scratch[little !== bigEndianHost ? i : size - 1 - i] = buffer[offset + i];
    }
  };
  const copyOut = (buffer, offset, scratch, size) => {
    for (let i = 0; i < size; i++) {
      buffer[offset + i] = scratch[little !== bigEndianHost ? i : size - 1 - i];
    }
    return offset + size;
  };
  defineMethod(`readFloat${suffix}`, function (offset) {
    copyIn(this, checkOffset(this, offset, 4), float32Bytes, 4);
    return float32[0];
  });
  defineMethod(`readDouble${suffix}`, function (offset) {
    copyIn(this, checkOffset(this, offset, 8), float64Bytes, 8);
    return float64[0];
  });
  defineMethod(`writeFloat${suffix}`, function (value, offset) {
    value = +value;
    const at = checkOffset(this, offset, 4);
    float32[0] = value;
    return copyOut(this, at, float32Bytes, 4);
  });
  defineMethod(`writeDouble${suffix}`, function (value, offset) {
    value = +value;
    const at = checkOffset(this, offset, 8);
    float64[0] = value;
    return copyOut(this, at, float64Bytes, 8);
  });

  const readBig = (buffer, offset) => {
    const at = checkOffset(buffer, offset, 8);
    const low = readUnsigned(buffer, little ? at : at + 4, 4, little);
    const high = readUnsigned(buffer, little ? at + 4 : at, 4, little);
    return (BigInt(high) << 32n) + BigInt(low);
  };
  const writeBig = (buffer, value, offset) => {
    const at = checkOffset(buffer, offset, 8);
    const unsigned = BigInt.asUintN(64, value);
    writeBytes(buffer, Number(unsigned & 0xffffffffn), little ? at : at + 4, 4, little);
    writeBytes(buffer, Number(unsigned >> 32n), little ? at + 4 : at, 4, little);
    return at + 8;
  };
  defineMethod(`readBigUInt64${suffix}`, function (offset) {
    return readBig(this, offset);
  }, `readBigUint64${suffix}`);
  defineMethod(`readBigInt64${suffix}`, function (offset) {
    return BigInt.asIntN(64, readBig(this, offset));
  });
  defineMethod(`writeBigUInt64${suffix}`, function (value, offset) {
    checkValue(value, 0n, 2n ** 64n - 1n, 8, false, true);
    return writeBig(this, value, offset);
  }, `writeBigUint64${suffix}`);
  defineMethod(`writeBigInt64${suffix}`, function (value, offset) {
    checkValue(value, -(2n ** 63n), 2n ** 63n - 1n, 8, true, true);
    return writeBig(this, value, offset);
  });
}

// ---- The rest of the module ---------------------------------------------

function SlowBuffer(size) {
  checkSize(size);
  return allocate(size);
}
ObjectSetPrototypeOf(SlowBuffer.prototype, Uint8ArrayCtor.prototype);
ObjectSetPrototypeOf(SlowBuffer, Uint8ArrayCtor);

function viewArgument(value, name) {
  if (ArrayBufferIsView(value)) return bytesOf(value);
  if (isAnyArrayBuffer(value)) return new Uint8ArrayCtor(value);
  throw errors.ERR_INVALID_ARG_TYPE(name, ["TypedArray", "Buffer", "ArrayBuffer"], value);
}

function isUtf8(input) {
  const bytes = viewArgument(input, "input");
  try {
    TextDecoderDecode(utf8FatalDecoder, bytes);
    return true;
  } catch {
    return false;
  }
}
function isAscii(input) {
  const bytes = viewArgument(input, "input");
  const length = lengthOf(bytes);
  for (let i = 0; i < length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

// transcode(source, from, to): decode and encode again; characters the
// target encoding lacks become '?', as Node's ICU does for latin1/ascii.
function transcode(source, fromEncoding, toEncoding) {
  if (!isUint8Array(source)) throw errors.ERR_INVALID_ARG_TYPE("source", ["Buffer", "Uint8Array"], source);
  const from = normalizeEncoding(fromEncoding);
  const to = normalizeEncoding(toEncoding);
  const supported = (e) => e === "utf8" || e === "utf16le" || e === "latin1" || e === "ascii";
  if (!supported(from) || !supported(to)) {
    const error = errors.makeError(Error, "U_ILLEGAL_ARGUMENT_ERROR",
      `Unable to transcode Buffer [U_ILLEGAL_ARGUMENT_ERROR]`);
    error.errno = 1;
    throw error;
  }
  let text = decodeBytes(source, 0, lengthOf(source), from);
  if (to === "latin1" || to === "ascii") {
    const limit = to === "ascii" ? 0x7f : 0xff;
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const code = StringPrototypeCharCodeAt(text, i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) i++;
      out += code <= limit ? text[i] : "?";
    }
    text = out;
  }
  return fromString(text, to);
}

const constants = { __proto__: null, MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: kStringMaxLength };
ObjectSetPrototypeOf(constants, Object.prototype);

const exportsObject = {
  Buffer,
  SlowBuffer,
  transcode,
  isUtf8,
  isAscii,
  kMaxLength,
  kStringMaxLength,
  btoa: internals.btoa,
  atob: internals.atob,
  constants,
  INSPECT_MAX_BYTES,
  Blob: internals.Blob,
  resolveObjectURL() {
    return undefined;
  },
  File: internals.File,
};
// What the other node: modules use (not exported): the encoding helpers.
internals.nodeBuffer = {
  __proto__: null,
  FastBuffer,
  normalizeEncoding,
  getEncoding,
  decodeBytes,
  isUint8Array,
  bytesOf,
};
return exportsObject;
