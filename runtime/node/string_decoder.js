// node:string_decoder — Node.js's StringDecoder: decodes a byte stream
// chunk by chunk without splitting a character (utf8, utf16le, base64,
// base64url keep what a chunk ends in the middle of; latin1, ascii and hex
// have nothing to keep).
// https://nodejs.org/api/string_decoder.html

const errors = require("internal/errors");
require("buffer");  // defines internals.nodeBuffer
const { normalizeEncoding, decodeBytes, bytesOf, FastBuffer } = internals.nodeBuffer;
const { ArrayBufferIsView, Uint8ArrayCtor } = internals.primordials;
const TextDecoderDecode = Function.prototype.call.bind(internals.TextDecoder.prototype.decode);

const kDecoder = Symbol("kDecoder");

class StringDecoder {
  constructor(encoding) {
    const normalized = normalizeEncoding(encoding);
    if (normalized === undefined) throw errors.ERR_UNKNOWN_ENCODING(encoding);
    this.encoding = normalized;
    this[kDecoder] = {
      __proto__: null,
      // utf8: TextDecoder's stream mode keeps a split sequence, and puts
      // U+FFFD where Node does.
      utf8: normalized === "utf8" ? new internals.TextDecoder("utf-8", { ignoreBOM: true }) : undefined,
      pending: new Uint8ArrayCtor(0),  // utf16le/base64: the bytes of an unfinished unit
    };
  }

  write(buffer) {
    if (typeof buffer === "string") return buffer;
    if (!ArrayBufferIsView(buffer)) {
      throw errors.ERR_INVALID_ARG_TYPE("buf", ["Buffer", "TypedArray", "DataView"], buffer);
    }
    const bytes = bytesOf(buffer);
    const state = this[kDecoder];
    if (state.utf8 !== undefined) return TextDecoderDecode(state.utf8, bytes, { stream: true });
    const unit = this.encoding === "utf16le" ? 2 : this.encoding === "base64" || this.encoding === "base64url" ? 3 : 1;
    if (unit === 1) return decodeBytes(bytes, 0, bytes.length, this.encoding);
    const all = concat(state.pending, bytes);
    let usable = all.length - (all.length % unit);
    // utf16le: a high surrogate at the end waits for its pair.
    if (unit === 2 && usable >= 2) {
      const last = all[usable - 2] | (all[usable - 1] << 8);
      if (last >= 0xd800 && last <= 0xdbff) usable -= 2;
    }
    // A copy: `all` may be the caller's memory, which it may reuse.
    state.pending = new Uint8ArrayCtor(all.length - usable);
    for (let i = usable; i < all.length; i++) state.pending[i - usable] = all[i];
    return decodeBytes(all, 0, usable, this.encoding);
  }

  end(buffer) {
    let result = buffer === undefined ? "" : this.write(buffer);
    const state = this[kDecoder];
    if (state.utf8 !== undefined) {
      result += TextDecoderDecode(state.utf8);
    } else if (state.pending.length > 0) {
      const pending = state.pending;
      state.pending = new Uint8ArrayCtor(0);
      if (this.encoding === "utf16le") {
        const even = pending.length - (pending.length % 2);
        result += decodeBytes(pending, 0, even, "utf16le");
      } else {
        result += decodeBytes(pending, 0, pending.length, this.encoding);
      }
    }
    return result;
  }

  text(buffer, offset) {
    return this.write(buffer.subarray(offset));
  }

  get lastNeed() {
    return this[kDecoder].pending.length === 0 ? 0 : 1;
  }
  get lastTotal() {
    return this[kDecoder].pending.length;
  }
}

function concat(a, b) {
  if (a.length === 0) return new FastBuffer(b.buffer, b.byteOffset, b.length);
  const out = new FastBuffer(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

return { StringDecoder };
