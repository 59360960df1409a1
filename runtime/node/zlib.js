// node:zlib — Node.js's zlib and brotli streams (createGzip, createGunzip,
// createDeflate, createInflate, createDeflateRaw, createInflateRaw,
// createUnzip, createBrotliCompress, createBrotliDecompress), their
// one-shot forms (gzipSync, gunzip with a callback, ...), crc32 and the
// constants.
// https://nodejs.org/api/zlib.html
//
// The compression itself is runtime/compression's (the natives behind
// CompressionStream, internals.zlibNatives): output comes in slices of at
// most chunkSize bytes, each counted against the worker's memory budget.
// A stream makes its next slice only when its reader has room for it (the
// readable side's backpressure), so a small input that inflates to
// gigabytes is never held whole; a one-shot (gunzipSync, gunzip) stops
// with ERR_BUFFER_TOO_LARGE past maxOutputLength, and before that at the
// worker's memory limit. A one-shot is a loop of pulls, each reading at
// most 256 KiB of input and making at most chunkSize of output, so the
// CPU limit can stop it between two.

const {
  ArrayBufferIsView, NumberIsFinite, NumberIsNaN, ObjectDefineProperty, ObjectKeys,
  ObjectSetPrototypeOf, ReflectApply, ArrayPrototypePush, MathMin, StringPrototypeStartsWith, StringPrototypeSlice,
} = internals.primordials;
const ObjectFreeze = Object.freeze;
const TypedArrayPrototypeGetLength = internals.TypedArrayPrototypeGetLength;
const TypedArrayPrototypeGetBuffer = internals.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetByteOffset = internals.TypedArrayPrototypeGetByteOffset;
const errors = require("internal/errors");
const { validateFunction, validateNumber } = require("internal/validators");
const { Buffer, kMaxLength } = require("buffer");
const { FastBuffer, bytesOf } = internals.nodeBuffer;
const BufferFrom = Buffer.from;
const BufferConcat = Buffer.concat;
const { Transform } = require("stream");
const { finished, nextTick } = require("internal/streams/end");
const zlib = internals.zlibNatives;

// ---- Constants ------------------------------------------------------------

const constants = {
  __proto__: null,
  Z_NO_FLUSH: 0, Z_PARTIAL_FLUSH: 1, Z_SYNC_FLUSH: 2, Z_FULL_FLUSH: 3, Z_FINISH: 4, Z_BLOCK: 5,
  Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6,
  Z_NO_COMPRESSION: 0, Z_BEST_SPEED: 1, Z_BEST_COMPRESSION: 9, Z_DEFAULT_COMPRESSION: -1,
  Z_FILTERED: 1, Z_HUFFMAN_ONLY: 2, Z_RLE: 3, Z_FIXED: 4, Z_DEFAULT_STRATEGY: 0,
  ZLIB_VERNUM: zlib.versionNumber(),
  DEFLATE: 1, INFLATE: 2, GZIP: 3, GUNZIP: 4, DEFLATERAW: 5, INFLATERAW: 6, UNZIP: 7,
  BROTLI_DECODE: 8, BROTLI_ENCODE: 9,
  Z_MIN_WINDOWBITS: 8, Z_MAX_WINDOWBITS: 15, Z_DEFAULT_WINDOWBITS: 15,
  Z_MIN_CHUNK: 64, Z_MAX_CHUNK: Infinity, Z_DEFAULT_CHUNK: 16384,
  Z_MIN_MEMLEVEL: 1, Z_MAX_MEMLEVEL: 9, Z_DEFAULT_MEMLEVEL: 8,
  Z_MIN_LEVEL: -1, Z_MAX_LEVEL: 9, Z_DEFAULT_LEVEL: -1,
  BROTLI_OPERATION_PROCESS: 0, BROTLI_OPERATION_FLUSH: 1, BROTLI_OPERATION_FINISH: 2,
  BROTLI_OPERATION_EMIT_METADATA: 3,
  BROTLI_PARAM_MODE: 0, BROTLI_MODE_GENERIC: 0, BROTLI_MODE_TEXT: 1, BROTLI_MODE_FONT: 2, BROTLI_DEFAULT_MODE: 0,
  BROTLI_PARAM_QUALITY: 1, BROTLI_MIN_QUALITY: 0, BROTLI_MAX_QUALITY: 11, BROTLI_DEFAULT_QUALITY: 11,
  BROTLI_PARAM_LGWIN: 2, BROTLI_MIN_WINDOW_BITS: 10, BROTLI_MAX_WINDOW_BITS: 24,
  BROTLI_LARGE_MAX_WINDOW_BITS: 30, BROTLI_DEFAULT_WINDOW: 22,
  BROTLI_PARAM_LGBLOCK: 3, BROTLI_MIN_INPUT_BLOCK_BITS: 16, BROTLI_MAX_INPUT_BLOCK_BITS: 24,
  BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING: 4, BROTLI_PARAM_SIZE_HINT: 5, BROTLI_PARAM_LARGE_WINDOW: 6,
  BROTLI_PARAM_NPOSTFIX: 7, BROTLI_PARAM_NDIRECT: 8,
  BROTLI_DECODER_RESULT_ERROR: 0, BROTLI_DECODER_RESULT_SUCCESS: 1, BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: 2,
  BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: 3,
  BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION: 0, BROTLI_DECODER_PARAM_LARGE_WINDOW: 1,
  BROTLI_DECODER_NO_ERROR: 0, BROTLI_DECODER_SUCCESS: 1, BROTLI_DECODER_NEEDS_MORE_INPUT: 2,
  BROTLI_DECODER_NEEDS_MORE_OUTPUT: 3,
  BROTLI_DECODER_ERROR_FORMAT_EXUBERANT_NIBBLE: -1, BROTLI_DECODER_ERROR_FORMAT_RESERVED: -2,
  BROTLI_DECODER_ERROR_FORMAT_EXUBERANT_META_NIBBLE: -3, BROTLI_DECODER_ERROR_FORMAT_SIMPLE_HUFFMAN_ALPHABET: -4,
  BROTLI_DECODER_ERROR_FORMAT_SIMPLE_HUFFMAN_SAME: -5, BROTLI_DECODER_ERROR_FORMAT_CL_SPACE: -6,
  BROTLI_DECODER_ERROR_FORMAT_HUFFMAN_SPACE: -7, BROTLI_DECODER_ERROR_FORMAT_CONTEXT_MAP_REPEAT: -8,
  BROTLI_DECODER_ERROR_FORMAT_BLOCK_LENGTH_1: -9, BROTLI_DECODER_ERROR_FORMAT_BLOCK_LENGTH_2: -10,
  BROTLI_DECODER_ERROR_FORMAT_TRANSFORM: -11, BROTLI_DECODER_ERROR_FORMAT_DICTIONARY: -12,
  BROTLI_DECODER_ERROR_FORMAT_WINDOW_BITS: -13, BROTLI_DECODER_ERROR_FORMAT_PADDING_1: -14,
  BROTLI_DECODER_ERROR_FORMAT_PADDING_2: -15, BROTLI_DECODER_ERROR_FORMAT_DISTANCE: -16,
  BROTLI_DECODER_ERROR_DICTIONARY_NOT_SET: -19, BROTLI_DECODER_ERROR_INVALID_ARGUMENTS: -20,
  BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES: -21, BROTLI_DECODER_ERROR_ALLOC_TREE_GROUPS: -22,
  BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MAP: -25, BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1: -26,
  BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_2: -27, BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES: -30,
  BROTLI_DECODER_ERROR_UNREACHABLE: -31,
};
// A copy for the worker (Node's is not frozen); this file reads the table
// above only.
const publicConstants = { ...constants };
const {
  Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_FINISH, Z_BLOCK, DEFLATE, INFLATE, GZIP, GUNZIP, DEFLATERAW,
  INFLATERAW, UNZIP, BROTLI_DECODE, BROTLI_ENCODE, BROTLI_OPERATION_PROCESS, BROTLI_OPERATION_FLUSH,
  BROTLI_OPERATION_FINISH, BROTLI_OPERATION_EMIT_METADATA,
} = constants;

const codes = {
  __proto__: null,
  Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6,
};
{
  const names = ObjectKeys(codes);
  for (let i = 0; i < names.length; i++) codes[codes[names[i]]] = names[i];
}
const publicCodes = ObjectFreeze({ ...codes });

// Each mode's format for the natives, and whether it compresses.
const modeFormats = {
  __proto__: null,
  [DEFLATE]: "deflate", [INFLATE]: "deflate", [GZIP]: "gzip", [GUNZIP]: "gzip",
  [DEFLATERAW]: "deflate-raw", [INFLATERAW]: "deflate-raw", [UNZIP]: "unzip",
  [BROTLI_ENCODE]: "brotli", [BROTLI_DECODE]: "brotli",
};
function compresses(mode) {
  return mode === DEFLATE || mode === GZIP || mode === DEFLATERAW || mode === BROTLI_ENCODE;
}

// ---- Options --------------------------------------------------------------

function checkFiniteNumber(number, name) {
  if (number === undefined) return false;
  if (NumberIsFinite(number)) return true;
  if (NumberIsNaN(number)) return false;
  validateNumber(number, name);
  throw errors.ERR_OUT_OF_RANGE(name, "a finite number", number);
}

function checkRangesOrGetDefault(number, name, lower, upper, def) {
  if (!checkFiniteNumber(number, name)) return def;
  if (number < lower || number > upper) throw errors.ERR_OUT_OF_RANGE(name, `>= ${lower} and <= ${upper}`, number);
  return number;
}

// The bytes of a one-shot's input.
function toInputBytes(buffer) {
  if (typeof buffer === "string") return ReflectApply(BufferFrom, Buffer, [buffer]);
  if (ArrayBufferIsView(buffer)) return bytesOf(buffer);
  if (internals.isArrayBuffer(buffer) || internals.isSharedArrayBuffer(buffer)) {
    return ReflectApply(BufferFrom, Buffer, [buffer]);
  }
  throw errors.ERR_INVALID_ARG_TYPE("buffer", ["string", "Buffer", "TypedArray", "DataView", "ArrayBuffer"], buffer);
}

// The error Node gives for a failed zlib or brotli call.
function zlibError(handle, brotli) {
  const info = zlib.errorInfo(handle);
  const error = new Error(info[2]);
  error.errno = info[0];
  const brotliName = brotliErrorCodes[info[0]];
  error.code = brotli && StringPrototypeStartsWith(info[1], "ERR_") && brotliName !== undefined ? brotliName : info[1];
  return error;
}

// A brotli decoder error's code as Node names it: "ERR_" and the constant's
// name after BROTLI_DECODER ("ERR__ERROR_FORMAT_PADDING_1").
const brotliErrorCodes = { __proto__: null };
{
  const names = ObjectKeys(constants);
  for (let i = 0; i < names.length; i++) {
    if (StringPrototypeStartsWith(names[i], "BROTLI_DECODER_ERROR_")) {
      brotliErrorCodes[constants[names[i]]] = `ERR_${StringPrototypeSlice(names[i], "BROTLI_DECODER".length)}`;
    }
  }
}

// ---- The engine: one native stream and what it was opened with ------------

const kHandle = Symbol("kHandle");
const kOpen = Symbol("kOpen");
const kPending = Symbol("kPending");
const kFlushFlag = Symbol("kFlushFlag");
const kError = Symbol("kError");
const kFinishSent = Symbol("kFinishSent");

// Opens (or, for reset(), reopens) the native stream of `engine`.
function openHandle(engine) {
  const { mode, params, dictionary } = engine[kOpen];
  engine[kFinishSent] = false;
  try {
    engine[kHandle] = zlib.open(compresses(mode), modeFormats[mode], params, true, dictionary);
  } catch (err) {
    // A parameter or dictionary the library refused; an out-of-memory
    // stays what it is.
    if (err instanceof RangeError && (err.message === "Initialization failed" ||
        err.message === "Failed to set dictionary")) {
      throw errors.ERR_ZLIB_INITIALIZATION_FAILED();
    }
    throw err;
  }
}

// Pulls one slice from the engine's native stream: a Buffer (maybe
// empty: pull again), or undefined when the input is used up. Throws
// Node's error when the data is corrupt.
function pull(engine) {
  let slice;
  try {
    slice = zlib.pull(engine[kHandle], engine._chunkSize);
  } catch (err) {
    if (err instanceof TypeError) {
      const mode = engine[kOpen].mode;
      throw zlibError(engine[kHandle], mode === BROTLI_DECODE || mode === BROTLI_ENCODE);
    }
    throw err;
  }
  if (slice === undefined) return undefined;
  return new FastBuffer(TypedArrayPrototypeGetBuffer(slice), TypedArrayPrototypeGetByteOffset(slice),
    TypedArrayPrototypeGetLength(slice));
}

// Gives the native stream `bytes` and what the flush flag asks for.
function feed(engine, bytes, flushFlag) {
  if (engine[kFinishSent]) return;  // the end was given with the last chunk
  if (TypedArrayPrototypeGetLength(bytes) > 0) {
    zlib.write(engine[kHandle], bytes);
    engine.bytesWritten += TypedArrayPrototypeGetLength(bytes);
  }
  const brotli = engine[kOpen].mode === BROTLI_ENCODE || engine[kOpen].mode === BROTLI_DECODE;
  const finishing = brotli ? flushFlag === BROTLI_OPERATION_FINISH : flushFlag === Z_FINISH;
  if (finishing) {
    engine[kFinishSent] = true;
    zlib.finish(engine[kHandle], false);
  } else if (engine._finishing) {
    // The end, with a finishFlush other than Z_FINISH: decompression
    // accepts data that stops early; compression flushes without ending.
    engine[kFinishSent] = true;
    if (compresses(engine[kOpen].mode)) zlib.flush(engine[kHandle], brotli || flushFlag === Z_NO_FLUSH ? Z_SYNC_FLUSH : flushFlag);
    else zlib.finish(engine[kHandle], true);
  } else if (flushFlag !== Z_NO_FLUSH && flushFlag !== BROTLI_OPERATION_PROCESS && !(brotli && flushFlag === BROTLI_OPERATION_EMIT_METADATA)) {
    zlib.flush(engine[kHandle], brotli ? Z_SYNC_FLUSH : flushFlag);
  }
}

// ---- ZlibBase: the Transform every class is -------------------------------

function ZlibBase(opts, mode, params, dictionary, flushFlags) {
  let chunkSize = constants.Z_DEFAULT_CHUNK;
  let maxOutputLength = kMaxLength;
  let flush = flushFlags.flush;
  let finishFlush = flushFlags.finishFlush;
  if (opts) {
    chunkSize = opts.chunkSize;
    if (!checkFiniteNumber(chunkSize, "options.chunkSize")) chunkSize = constants.Z_DEFAULT_CHUNK;
    else if (chunkSize < constants.Z_MIN_CHUNK) throw errors.ERR_OUT_OF_RANGE("options.chunkSize", `>= ${constants.Z_MIN_CHUNK}`, chunkSize);
    flush = checkRangesOrGetDefault(opts.flush, "options.flush", Z_NO_FLUSH, Z_BLOCK, flush);
    finishFlush = checkRangesOrGetDefault(opts.finishFlush, "options.finishFlush", Z_NO_FLUSH, Z_BLOCK, finishFlush);
    maxOutputLength = checkRangesOrGetDefault(opts.maxOutputLength, "options.maxOutputLength", 1, kMaxLength, kMaxLength);
    if (opts.encoding || opts.objectMode || opts.writableObjectMode) {
      opts = { ...opts, encoding: null, objectMode: false, writableObjectMode: false };
    }
  }
  ReflectApply(Transform, this, [{ autoDestroy: true, ...opts }]);
  this[kError] = null;
  this[kOpen] = { __proto__: null, mode, params, dictionary };
  this[kPending] = null;
  this.bytesWritten = 0;
  this._chunkSize = chunkSize;
  this._defaultFlushFlag = flush;
  this._finishFlushFlag = finishFlush;
  this._defaultFullFlushFlag = flushFlags.fullFlush;
  this._finishing = false;
  this._info = opts && opts.info;
  this._maxOutputLength = maxOutputLength;
  openHandle(this);
  this._handle = this[kHandle];
}
ObjectSetPrototypeOf(ZlibBase.prototype, Transform.prototype);
ObjectSetPrototypeOf(ZlibBase, Transform);

ObjectDefineProperty(ZlibBase.prototype, "_closed", {
  __proto__: null, configurable: true, enumerable: true,
  get() {
    return !this._handle;
  },
});
ObjectDefineProperty(ZlibBase.prototype, "bytesRead", {
  __proto__: null, configurable: true, enumerable: true,
  get() {
    return this.bytesWritten;
  },
  set(value) {
    this.bytesWritten = value;
  },
});

ZlibBase.prototype.reset = function reset() {
  if (!this._handle) throw errors.makeError(Error, "ERR_ZLIB_BINDING_CLOSED", "zlib binding closed");
  zlib.close(this[kHandle]);
  openHandle(this);
  this._handle = this[kHandle];
};

// Pushes the output of what was fed, a slice at a time; when the reader
// has no room, waits for its next read. `callback` runs once the input is
// used up, or with the error.
function pump(engine, callback) {
  for (;;) {
    if (engine.destroyed || !engine._handle) {
      callback();
      return;
    }
    let slice;
    try {
      slice = pull(engine);
    } catch (err) {
      engine[kError] = err;
      zlib.close(engine[kHandle]);
      callback(err);
      return;
    }
    if (slice === undefined) {
      callback();
      return;
    }
    if (TypedArrayPrototypeGetLength(slice) === 0) continue;
    if (!engine.push(slice)) {
      engine[kPending] = () => pump(engine, callback);
      return;
    }
  }
}

ZlibBase.prototype._read = function _read(size) {
  const pending = this[kPending];
  if (pending !== null) {
    this[kPending] = null;
    pending();
    // The input was used up without a push: this read is still owed, and
    // Transform's own _read answers it (with the next write).
    if (this[kPending] !== null || !this._readableState.reading) return;
  }
  ReflectApply(Transform.prototype._read, this, [size]);
};

ZlibBase.prototype._transform = function _transform(chunk, encoding, cb) {
  let flushFlag = this._defaultFlushFlag;
  if (typeof chunk[kFlushFlag] === "number") flushFlag = chunk[kFlushFlag];
  if (this.writableEnded && this.writableLength === TypedArrayPrototypeGetLength(chunk)) {
    this._finishing = true;
    flushFlag = this._finishFlushFlag;
  }
  try {
    feed(this, chunk, flushFlag);
  } catch (err) {
    cb(err);
    return;
  }
  pump(this, cb);
};

// The end of the input: the rest of the output is made on a later turn,
// as Node makes it off the thread ('finish' comes before the last 'data'
// and 'end').
ZlibBase.prototype._flush = function _flush(callback) {
  if (!this._handle) {
    callback();
    return;
  }
  this._finishing = true;
  internals.setTimeout(() => this._transform(new FastBuffer(0), "", callback), 0);
};

ZlibBase.prototype._final = function _final(callback) {
  callback();
};

// Flushes what was written so far (Z_FULL_FLUSH by default, brotli's
// BROTLI_OPERATION_FLUSH) through the write queue.
ZlibBase.prototype.flush = function flush(kind, callback) {
  if (typeof kind === "function" || (kind === undefined && !callback)) {
    callback = kind;
    kind = this._defaultFullFlushFlag;
  }
  if (this.writableFinished) {
    if (callback) nextTick(callback);
  } else if (this.writableEnded) {
    if (callback) this.once("end", callback);
  } else {
    const marker = new FastBuffer(0);
    marker[kFlushFlag] = kind;
    this.write(marker, "", callback);
  }
};

ZlibBase.prototype.close = function close(callback) {
  if (callback) finished(this, callback);
  this.destroy();
};

ZlibBase.prototype._destroy = function _destroy(err, callback) {
  if (this._handle) {
    zlib.close(this[kHandle]);
    this._handle = null;
  }
  callback(err);
};

// ---- zlib classes ---------------------------------------------------------

const zlibFlushFlags = { __proto__: null, flush: Z_NO_FLUSH, finishFlush: Z_FINISH, fullFlush: Z_FULL_FLUSH };

function Zlib(opts, mode) {
  let windowBits = constants.Z_DEFAULT_WINDOWBITS;
  let level = constants.Z_DEFAULT_COMPRESSION;
  let memLevel = constants.Z_DEFAULT_MEMLEVEL;
  let strategy = constants.Z_DEFAULT_STRATEGY;
  let dictionary;
  if (opts) {
    if ((opts.windowBits == null || opts.windowBits === 0) && (mode === INFLATE || mode === GUNZIP || mode === UNZIP)) {
      windowBits = 0;
    } else {
      // 8 is valid for deflate but not for gzip.
      const min = constants.Z_MIN_WINDOWBITS + (mode === GZIP ? 1 : 0);
      windowBits = checkRangesOrGetDefault(opts.windowBits, "options.windowBits", min, constants.Z_MAX_WINDOWBITS,
        constants.Z_DEFAULT_WINDOWBITS);
    }
    level = checkRangesOrGetDefault(opts.level, "options.level", constants.Z_MIN_LEVEL, constants.Z_MAX_LEVEL,
      constants.Z_DEFAULT_COMPRESSION);
    memLevel = checkRangesOrGetDefault(opts.memLevel, "options.memLevel", constants.Z_MIN_MEMLEVEL,
      constants.Z_MAX_MEMLEVEL, constants.Z_DEFAULT_MEMLEVEL);
    strategy = checkRangesOrGetDefault(opts.strategy, "options.strategy", constants.Z_DEFAULT_STRATEGY,
      constants.Z_FIXED, constants.Z_DEFAULT_STRATEGY);
    dictionary = opts.dictionary;
    if (dictionary !== undefined && !ArrayBufferIsView(dictionary)) {
      if (internals.isArrayBuffer(dictionary) || internals.isSharedArrayBuffer(dictionary)) {
        dictionary = ReflectApply(BufferFrom, Buffer, [dictionary]);
      } else {
        throw errors.ERR_INVALID_ARG_TYPE("options.dictionary", ["Buffer", "TypedArray", "DataView", "ArrayBuffer"],
          dictionary);
      }
    }
  } else if (mode === INFLATE || mode === GUNZIP || mode === UNZIP) {
    windowBits = 0;
  }
  const params = new Int32Array([level, windowBits, memLevel, strategy]);
  ReflectApply(ZlibBase, this, [opts, mode, params, dictionary, zlibFlushFlags]);
  this._level = level;
  this._strategy = strategy;
}
ObjectSetPrototypeOf(Zlib.prototype, ZlibBase.prototype);
ObjectSetPrototypeOf(Zlib, ZlibBase);

// params(level, strategy, callback): a deflate stream's new level and
// strategy, from the next write on (after flushing what came before).
Zlib.prototype.params = function params(level, strategy, callback) {
  checkRangesOrGetDefault(level, "level", constants.Z_MIN_LEVEL, constants.Z_MAX_LEVEL);
  checkRangesOrGetDefault(strategy, "strategy", constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED);
  if (this._level !== level || this._strategy !== strategy) {
    this.flush(Z_SYNC_FLUSH, () => {
      if (this._handle && compresses(this[kOpen].mode)) {
        const made = zlib.params(this[kHandle], level, strategy);
        if (TypedArrayPrototypeGetLength(made) > 0) {
          this.push(new FastBuffer(TypedArrayPrototypeGetBuffer(made), TypedArrayPrototypeGetByteOffset(made),
            TypedArrayPrototypeGetLength(made)));
        }
        this._level = level;
        this._strategy = strategy;
        this[kOpen].params[0] = level;
        this[kOpen].params[3] = strategy;
      }
      if (callback) callback();
    });
  } else if (callback) {
    nextTick(callback);
  }
};

function zlibClass(name, mode) {
  const C = {
    [name]: function (opts) {
      if (!new.target) return new C(opts);
      ReflectApply(Zlib, this, [opts, mode]);
    },
  }[name];
  ObjectSetPrototypeOf(C.prototype, Zlib.prototype);
  ObjectSetPrototypeOf(C, Zlib);
  return C;
}

const Deflate = zlibClass("Deflate", DEFLATE);
const Inflate = zlibClass("Inflate", INFLATE);
const Gzip = zlibClass("Gzip", GZIP);
const Gunzip = zlibClass("Gunzip", GUNZIP);
const DeflateRaw = zlibClass("DeflateRaw", DEFLATERAW);
const InflateRaw = zlibClass("InflateRaw", INFLATERAW);
const Unzip = zlibClass("Unzip", UNZIP);

// ---- brotli classes -------------------------------------------------------

const brotliFlushFlags = {
  __proto__: null,
  flush: BROTLI_OPERATION_PROCESS, finishFlush: BROTLI_OPERATION_FINISH, fullFlush: BROTLI_OPERATION_FLUSH,
};
// The highest parameter number of the encoder or the decoder.
const kMaxBrotliParam = 8;

function Brotli(opts, mode) {
  const pairs = [];
  if (opts?.params) {
    const paramsObject = opts.params;
    const keys = ObjectKeys(paramsObject);
    const seen = [];
    for (let i = 0; i < keys.length; i++) {
      const origKey = keys[i];
      const key = +origKey;
      if (NumberIsNaN(key) || key < 0 || key > kMaxBrotliParam || seen[key] === true) {
        throw errors.ERR_BROTLI_INVALID_PARAM(origKey);
      }
      seen[key] = true;
      const value = paramsObject[origKey];
      if (typeof value !== "number" && typeof value !== "boolean") {
        throw errors.ERR_INVALID_ARG_TYPE("options.params[key]", "number", value);
      }
      ArrayPrototypePush(pairs, key, +value >>> 0);
    }
  }
  // Node compresses at the library's defaults (quality 11, window 22)
  // unless told otherwise; CompressionStream's encoder starts at 5.
  const defaults = mode === BROTLI_ENCODE
    ? [constants.BROTLI_PARAM_QUALITY, constants.BROTLI_DEFAULT_QUALITY, constants.BROTLI_PARAM_LGWIN,
      constants.BROTLI_DEFAULT_WINDOW]
    : [];
  const params = new Uint32Array(defaults.length + pairs.length);
  for (let i = 0; i < defaults.length; i++) params[i] = defaults[i];
  for (let i = 0; i < pairs.length; i++) params[defaults.length + i] = pairs[i];
  ReflectApply(ZlibBase, this, [opts, mode, params, undefined, brotliFlushFlags]);
}
ObjectSetPrototypeOf(Brotli.prototype, ZlibBase.prototype);
ObjectSetPrototypeOf(Brotli, ZlibBase);

function brotliClass(name, mode) {
  const C = {
    [name]: function (opts) {
      if (!new.target) return new C(opts);
      ReflectApply(Brotli, this, [opts, mode]);
    },
  }[name];
  ObjectSetPrototypeOf(C.prototype, Brotli.prototype);
  ObjectSetPrototypeOf(C, Brotli);
  return C;
}

const BrotliCompress = brotliClass("BrotliCompress", BROTLI_ENCODE);
const BrotliDecompress = brotliClass("BrotliDecompress", BROTLI_DECODE);

// ---- One-shots --------------------------------------------------------------

// The whole output of `engine` for `buffer`, pulled in slices; past
// maxOutputLength, ERR_BUFFER_TOO_LARGE.
function processChunkSync(engine, buffer) {
  const buffers = [];
  let nread = 0;
  engine._finishing = true;
  try {
    feed(engine, buffer, engine._finishFlushFlag);
    for (;;) {
      const slice = pull(engine);
      if (slice === undefined) break;
      const length = TypedArrayPrototypeGetLength(slice);
      if (length === 0) continue;
      nread += length;
      if (nread > engine._maxOutputLength) throw errors.ERR_BUFFER_TOO_LARGE(engine._maxOutputLength);
      ArrayPrototypePush(buffers, slice);
    }
  } finally {
    engine.close();
  }
  return BufferConcat(buffers, nread);
}

function zlibBufferSync(engine, buffer) {
  const result = processChunkSync(engine, toInputBytes(buffer));
  if (engine._info) return { buffer: result, engine };
  return result;
}

// The callback one-shots: a stream ended with the input, its output
// gathered (and refused past maxOutputLength as it arrives).
function zlibBuffer(engine, buffer, callback) {
  validateFunction(callback, "callback");
  const bytes = toInputBytes(buffer);
  const buffers = [];
  let nread = 0;
  engine.on("data", (chunk) => {
    ArrayPrototypePush(buffers, chunk);
    nread += TypedArrayPrototypeGetLength(chunk);
    if (nread > engine._maxOutputLength) {
      engine.close();
      engine.removeAllListeners("end");
      callback(errors.ERR_BUFFER_TOO_LARGE(engine._maxOutputLength));
    }
  });
  engine.on("error", (err) => {
    engine.removeAllListeners("end");
    callback(err);
  });
  engine.on("end", () => {
    const result = BufferConcat(buffers, nread);
    engine.close();
    if (engine._info) callback(null, { buffer: result, engine });
    else callback(null, result);
  });
  engine.end(bytes);
}

function syncOneShot(Class) {
  return function syncBufferWrapper(buffer, opts) {
    return zlibBufferSync(new Class(opts), buffer);
  };
}

function callbackOneShot(Class) {
  return function asyncBufferWrapper(buffer, opts, callback) {
    if (typeof opts === "function") {
      callback = opts;
      opts = {};
    }
    return zlibBuffer(new Class(opts), buffer, callback);
  };
}

// ---- crc32 ----------------------------------------------------------------

// The CRC-32 of `data` (a string as UTF-8, or bytes), continuing from
// `value`; the natives read it 4 MiB at a time.
function crc32(data, value = 0) {
  if (typeof data !== "string" && !ArrayBufferIsView(data)) {
    throw errors.ERR_INVALID_ARG_TYPE("data", ["Buffer", "TypedArray", "DataView", "string"], data);
  }
  validateNumber(value, "value");
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw errors.ERR_OUT_OF_RANGE("value", ">= 0 && <= 4294967295", value);
  }
  const bytes = typeof data === "string" ? ReflectApply(BufferFrom, Buffer, [data, "utf8"]) : bytesOf(data);
  const length = TypedArrayPrototypeGetLength(bytes);
  const slice = 4 * 1024 * 1024;
  let crc = value;
  for (let start = 0; start < length || start === 0; start += slice) {
    const end = MathMin(start + slice, length);
    crc = zlib.crc32(new FastBuffer(TypedArrayPrototypeGetBuffer(bytes), TypedArrayPrototypeGetByteOffset(bytes) + start,
      end - start), crc);
    if (end >= length) break;
  }
  return crc;
}

// ---- The module -----------------------------------------------------------

const exportsObject = {
  crc32,
  Deflate, Inflate, Gzip, Gunzip, DeflateRaw, InflateRaw, Unzip, BrotliCompress, BrotliDecompress,
  deflate: callbackOneShot(Deflate),
  deflateSync: syncOneShot(Deflate),
  gzip: callbackOneShot(Gzip),
  gzipSync: syncOneShot(Gzip),
  deflateRaw: callbackOneShot(DeflateRaw),
  deflateRawSync: syncOneShot(DeflateRaw),
  unzip: callbackOneShot(Unzip),
  unzipSync: syncOneShot(Unzip),
  inflate: callbackOneShot(Inflate),
  inflateSync: syncOneShot(Inflate),
  gunzip: callbackOneShot(Gunzip),
  gunzipSync: syncOneShot(Gunzip),
  inflateRaw: callbackOneShot(InflateRaw),
  inflateRawSync: syncOneShot(InflateRaw),
  brotliCompress: callbackOneShot(BrotliCompress),
  brotliCompressSync: syncOneShot(BrotliCompress),
  brotliDecompress: callbackOneShot(BrotliDecompress),
  brotliDecompressSync: syncOneShot(BrotliDecompress),
  createDeflate: (options) => new Deflate(options),
  createInflate: (options) => new Inflate(options),
  createDeflateRaw: (options) => new DeflateRaw(options),
  createInflateRaw: (options) => new InflateRaw(options),
  createGzip: (options) => new Gzip(options),
  createGunzip: (options) => new Gunzip(options),
  createUnzip: (options) => new Unzip(options),
  createBrotliCompress: (options) => new BrotliCompress(options),
  createBrotliDecompress: (options) => new BrotliDecompress(options),
  constants: publicConstants,
  codes: publicCodes,
};
// Node's legacy Z_* names on the module, not enumerable.
{
  const names = ObjectKeys(constants);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name[0] !== "Z" && name !== "DEFLATE" && name !== "INFLATE" && name !== "GZIP" && name !== "GUNZIP" &&
        name !== "DEFLATERAW" && name !== "INFLATERAW" && name !== "UNZIP") {
      continue;
    }
    ObjectDefineProperty(exportsObject, name, {
      __proto__: null, value: constants[name], enumerable: false, writable: false,
    });
  }
}
void Z_FULL_FLUSH;
return exportsObject;
