// node:stream's Writable: write() with its callback and the backpressure
// answer, end(), cork()/uncork() and _writev, 'drain', 'finish', _final.
// https://nodejs.org/api/stream.html#writable-streams
//
// Writes made while one is in progress (or while corked) wait in an array;
// `length` counts their bytes (or objects), and write() answers false once
// it reaches the high-water mark. The high-water mark is a threshold only.

const {
  ArrayPrototypePush, ArrayPrototypeSlice, ObjectDefineProperty, ObjectSetPrototypeOf, ReflectApply, uncurryThis,
  SymbolHasInstance = Symbol.hasInstance,
} = internals.primordials;
const ArrayPrototypeSplice = uncurryThis(Array.prototype.splice);
const TypedArrayPrototypeGetLength = internals.TypedArrayPrototypeGetLength;
const TypedArrayPrototypeGetBuffer = internals.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetByteOffset = internals.TypedArrayPrototypeGetByteOffset;
const errors = require("internal/errors");
const { Buffer } = require("buffer");
const { FastBuffer, isUint8Array, normalizeEncoding } = internals.nodeBuffer;
const BufferFrom = Buffer.from;
const BufferIsBuffer = Buffer.isBuffer;
const { Stream } = require("internal/streams/legacy");
const end = require("internal/streams/end");
const { nextTick, nop, getHighWaterMark, errorOrDestroy, kIsDuplex } = end;

const kOnFinished = Symbol("kOnFinished");

function lengthOf(chunk) {
  return typeof chunk === "string" ? chunk.length : TypedArrayPrototypeGetLength(chunk);
}

function WritableState(options, stream, isDuplex) {
  if (typeof isDuplex !== "boolean") isDuplex = stream[kIsDuplex] === true;
  this.objectMode = !!(options && options.objectMode);
  if (isDuplex) this.objectMode = this.objectMode || !!(options && options.writableObjectMode);
  this.highWaterMark = options
    ? getHighWaterMark(options, "writableHighWaterMark", isDuplex, this.objectMode)
    : end.getDefaultHighWaterMark(this.objectMode);
  this.finalCalled = false;
  this.needDrain = false;
  this.ending = false;
  this.ended = false;
  this.finished = false;
  this.destroyed = false;
  // Strings become Buffers (in defaultEncoding) before _write, unless false.
  this.decodeStrings = !(options && options.decodeStrings === false);
  this.defaultEncoding = (options && options.defaultEncoding) || "utf8";
  this.length = 0;
  this.writing = false;
  this.corked = 0;
  this.sync = true;
  this.bufferProcessing = false;
  this.onwrite = (er) => onwrite(stream, er);
  this.writecb = null;
  this.writelen = 0;
  this.afterWriteTickInfo = null;
  resetBuffer(this);
  this.pendingcb = 0;
  this.constructed = true;
  this.prefinished = false;
  this.errorEmitted = false;
  this.emitClose = !options || options.emitClose !== false;
  this.autoDestroy = !options || options.autoDestroy !== false;
  this.errored = null;
  this.closed = false;
  this.closeEmitted = false;
  this[kOnFinished] = [];
}

function resetBuffer(state) {
  state.buffered = [];
  state.bufferedIndex = 0;
  state.allBuffers = true;
  state.allNoop = true;
}

WritableState.prototype.getBuffer = function getBuffer() {
  return ArrayPrototypeSlice(this.buffered, this.bufferedIndex);
};
ObjectDefineProperty(WritableState.prototype, "bufferedRequestCount", {
  __proto__: null,
  get() {
    return this.buffered.length - this.bufferedIndex;
  },
});

function Writable(options) {
  // A Duplex is a Writable too (instanceof below) without being one by
  // its prototype chain.
  if (!(this instanceof Writable) && this[kIsDuplex] !== true) return new Writable(options);
  this._writableState = new WritableState(options, this, false);
  if (options) {
    if (typeof options.write === "function") this._write = options.write;
    if (typeof options.writev === "function") this._writev = options.writev;
    if (typeof options.destroy === "function") this._destroy = options.destroy;
    if (typeof options.final === "function") this._final = options.final;
    if (typeof options.construct === "function") this._construct = options.construct;
    if (options.signal) end.addAbortSignal(options.signal, this);
  }
  ReflectApply(Stream, this, [options]);
  end.construct(this, () => writableConstructed(this));
}

// _construct called back: the writes and end() that waited run.
function writableConstructed(stream) {
  const state = stream._writableState;
  if (!state.writing) clearBuffer(stream, state);
  finishMaybe(stream, state);
}
ObjectSetPrototypeOf(Writable.prototype, Stream.prototype);
ObjectSetPrototypeOf(Writable, Stream);
Writable.WritableState = WritableState;

// A Duplex answers `instanceof Writable` too.
const functionHasInstance = Function.prototype[SymbolHasInstance];
ObjectDefineProperty(Writable, SymbolHasInstance, {
  __proto__: null,
  value(object) {
    if (ReflectApply(functionHasInstance, this, [object])) return true;
    if (this !== Writable) return false;
    return !!(object && object._writableState instanceof WritableState);
  },
});

Writable.prototype.pipe = function pipe() {
  errorOrDestroy(this, errors.makeError(Error, "ERR_STREAM_CANNOT_PIPE", "Cannot pipe, not readable"));
};

// write()'s work: the chunk checked and converted, then written or
// buffered. Returns true/false (the backpressure answer) or the error.
function writeChunk(stream, chunk, encoding, cb) {
  const state = stream._writableState;
  if (typeof encoding === "function") {
    cb = encoding;
    encoding = state.defaultEncoding;
  } else {
    if (!encoding) encoding = state.defaultEncoding;
    else if (encoding !== "buffer" && normalizeEncoding(encoding) === undefined) {
      throw errors.ERR_UNKNOWN_ENCODING(encoding);
    }
    if (typeof cb !== "function") cb = nop;
  }
  if (chunk === null) throw errors.ERR_STREAM_NULL_VALUES();
  if (!state.objectMode) {
    if (typeof chunk === "string") {
      if (state.decodeStrings !== false) {
        chunk = ReflectApply(BufferFrom, Buffer, [chunk, encoding]);
        encoding = "buffer";
      }
    } else if (BufferIsBuffer(chunk)) {
      encoding = "buffer";
    } else if (isUint8Array(chunk)) {
      chunk = new FastBuffer(TypedArrayPrototypeGetBuffer(chunk), TypedArrayPrototypeGetByteOffset(chunk),
        TypedArrayPrototypeGetLength(chunk));
      encoding = "buffer";
    } else {
      throw errors.ERR_INVALID_ARG_TYPE("chunk", ["string", "Buffer", "TypedArray", "DataView"], chunk);
    }
  }
  let err;
  if (state.ending) err = errors.ERR_STREAM_WRITE_AFTER_END();
  else if (state.destroyed) err = errors.ERR_STREAM_DESTROYED("write");
  if (err) {
    nextTick(cb, err);
    errorOrDestroy(stream, err, true);
    return err;
  }
  state.pendingcb++;
  return writeOrBuffer(stream, state, chunk, encoding, cb);
}

Writable.prototype.write = function write(chunk, encoding, cb) {
  return writeChunk(this, chunk, encoding, cb) === true;
};

Writable.prototype.cork = function cork() {
  this._writableState.corked++;
};

Writable.prototype.uncork = function uncork() {
  const state = this._writableState;
  if (state.corked) {
    state.corked--;
    if (!state.writing) clearBuffer(this, state);
  }
};

Writable.prototype.setDefaultEncoding = function setDefaultEncoding(encoding) {
  if (typeof encoding === "string") encoding = encoding.toLowerCase();
  if (normalizeEncoding(encoding) === undefined) throw errors.ERR_UNKNOWN_ENCODING(encoding);
  this._writableState.defaultEncoding = encoding;
  return this;
};

function writeOrBuffer(stream, state, chunk, encoding, callback) {
  const len = state.objectMode ? 1 : lengthOf(chunk);
  state.length += len;
  const ret = state.length < state.highWaterMark;
  if (!ret) state.needDrain = true;
  if (state.writing || state.corked || state.errored || !state.constructed) {
    ArrayPrototypePush(state.buffered, { chunk, encoding, callback });
    if (state.allBuffers && encoding !== "buffer") state.allBuffers = false;
    if (state.allNoop && callback !== nop) state.allNoop = false;
  } else {
    state.writelen = len;
    state.writecb = callback;
    state.writing = true;
    state.sync = true;
    stream._write(chunk, encoding, state.onwrite);
    state.sync = false;
  }
  return ret && !state.errored && !state.destroyed;
}

function doWrite(stream, state, writev, len, chunk, encoding, cb) {
  state.writelen = len;
  state.writecb = cb;
  state.writing = true;
  state.sync = true;
  if (state.destroyed) state.onwrite(errors.ERR_STREAM_DESTROYED("write"));
  else if (writev) stream._writev(chunk, state.onwrite);
  else stream._write(chunk, encoding, state.onwrite);
  state.sync = false;
}

function onwriteError(stream, state, er, cb) {
  --state.pendingcb;
  cb(er);
  errorBuffer(state);
  errorOrDestroy(stream, er);
}

function onwrite(stream, er) {
  const state = stream._writableState;
  const sync = state.sync;
  const cb = state.writecb;
  if (typeof cb !== "function") {
    errorOrDestroy(stream, errors.ERR_MULTIPLE_CALLBACK());
    return;
  }
  state.writing = false;
  state.writecb = null;
  state.length -= state.writelen;
  state.writelen = 0;
  if (er) {
    if (!state.errored) state.errored = er;
    if (stream._readableState && !stream._readableState.errored) stream._readableState.errored = er;
    if (sync) nextTick(onwriteError, stream, state, er, cb);
    else onwriteError(stream, state, er, cb);
  } else {
    if (state.buffered.length > state.bufferedIndex) clearBuffer(stream, state);
    if (sync) {
      // Callbacks of writes completed synchronously run on the next tick,
      // batched.
      if (state.afterWriteTickInfo !== null && state.afterWriteTickInfo.cb === cb) {
        state.afterWriteTickInfo.count++;
      } else {
        state.afterWriteTickInfo = { count: 1, cb, stream, state };
        nextTick(afterWriteTick, state.afterWriteTickInfo);
      }
    } else {
      afterWrite(stream, state, 1, cb);
    }
  }
}

function afterWriteTick({ stream, state, count, cb }) {
  state.afterWriteTickInfo = null;
  afterWrite(stream, state, count, cb);
}

function afterWrite(stream, state, count, cb) {
  const needDrain = !state.ending && !stream.destroyed && state.length === 0 && state.needDrain;
  if (needDrain) {
    state.needDrain = false;
    stream.emit("drain");
  }
  while (count-- > 0) {
    state.pendingcb--;
    cb(null);
  }
  if (state.destroyed) errorBuffer(state);
  finishMaybe(stream, state);
}

// Fails every buffered write (the stream was destroyed or errored).
function errorBuffer(state) {
  if (state.writing) return;
  for (let n = state.bufferedIndex; n < state.buffered.length; ++n) {
    const { chunk, callback } = state.buffered[n];
    const len = state.objectMode ? 1 : lengthOf(chunk);
    state.length -= len;
    callback(state.errored ?? errors.ERR_STREAM_DESTROYED("write"));
  }
  const onfinishCallbacks = ArrayPrototypeSplice(state[kOnFinished], 0);
  for (let i = 0; i < onfinishCallbacks.length; i++) {
    onfinishCallbacks[i](state.errored ?? errors.ERR_STREAM_DESTROYED("end"));
  }
  resetBuffer(state);
}

// Writes what is buffered: all at once through _writev when there is one,
// else one at a time.
function clearBuffer(stream, state) {
  if (state.corked || state.bufferProcessing || state.destroyed || !state.constructed) return;
  const { buffered, bufferedIndex, objectMode } = state;
  const bufferedLength = buffered.length - bufferedIndex;
  if (!bufferedLength) return;
  let i = bufferedIndex;
  state.bufferProcessing = true;
  if (bufferedLength > 1 && stream._writev) {
    state.pendingcb -= bufferedLength - 1;
    const callback = state.allNoop ? nop : (err) => {
      for (let n = i; n < buffered.length; ++n) buffered[n].callback(err);
    };
    const chunks = state.allNoop && i === 0 ? buffered : ArrayPrototypeSlice(buffered, i);
    chunks.allBuffers = state.allBuffers;
    doWrite(stream, state, true, state.length, chunks, "", callback);
    resetBuffer(state);
  } else {
    do {
      const { chunk, encoding, callback } = buffered[i];
      buffered[i++] = null;
      const len = objectMode ? 1 : lengthOf(chunk);
      doWrite(stream, state, false, len, chunk, encoding, callback);
    } while (i < buffered.length && !state.writing);
    if (i === buffered.length) {
      resetBuffer(state);
    } else if (i > 256) {
      ArrayPrototypeSplice(buffered, 0, i);
      state.bufferedIndex = 0;
    } else {
      state.bufferedIndex = i;
    }
  }
  state.bufferProcessing = false;
}

Writable.prototype._write = function _write(chunk, encoding, cb) {
  if (this._writev) this._writev([{ chunk, encoding }], cb);
  else throw errors.ERR_METHOD_NOT_IMPLEMENTED("_write()");
};
Writable.prototype._writev = null;

Writable.prototype.end = function endWritable(chunk, encoding, cb) {
  const state = this._writableState;
  if (typeof chunk === "function") {
    cb = chunk;
    chunk = null;
    encoding = null;
  } else if (typeof encoding === "function") {
    cb = encoding;
    encoding = null;
  }
  let err;
  if (chunk !== null && chunk !== undefined) {
    const ret = writeChunk(this, chunk, encoding);
    if (ret instanceof Error) err = ret;
  }
  if (state.corked) {
    state.corked = 1;
    this.uncork();
  }
  if (err) {
    // Already reported by the write.
  } else if (!state.errored && !state.ending) {
    state.ending = true;
    finishMaybe(this, state, true);
    state.ended = true;
  } else if (state.finished) {
    err = errors.ERR_STREAM_ALREADY_FINISHED("end");
  } else if (state.destroyed) {
    err = errors.ERR_STREAM_DESTROYED("end");
  }
  if (typeof cb === "function") {
    if (err || state.finished) nextTick(cb, err);
    else ArrayPrototypePush(state[kOnFinished], cb);
  }
  return this;
};

function needFinish(state) {
  return state.ending && !state.destroyed && state.constructed && state.length === 0 && !state.errored &&
    state.buffered.length === 0 && !state.finished && !state.writing && !state.errorEmitted &&
    !state.closeEmitted;
}

function callFinal(stream, state) {
  let called = false;
  function onFinish(err) {
    if (called) {
      errorOrDestroy(stream, err ?? errors.ERR_MULTIPLE_CALLBACK());
      return;
    }
    called = true;
    state.pendingcb--;
    if (err) {
      const callbacks = ArrayPrototypeSplice(state[kOnFinished], 0);
      for (let i = 0; i < callbacks.length; i++) callbacks[i](err);
      errorOrDestroy(stream, err, state.sync);
    } else if (needFinish(state)) {
      state.prefinished = true;
      stream.emit("prefinish");
      state.pendingcb++;
      nextTick(finish, stream, state);
    }
  }
  state.sync = true;
  state.pendingcb++;
  try {
    stream._final(onFinish);
  } catch (err) {
    onFinish(err);
  }
  state.sync = false;
}

function prefinish(stream, state) {
  if (!state.prefinished && !state.finalCalled) {
    if (typeof stream._final === "function" && !state.destroyed) {
      state.finalCalled = true;
      callFinal(stream, state);
    } else {
      state.prefinished = true;
      stream.emit("prefinish");
    }
  }
}

function finishMaybe(stream, state, sync) {
  if (needFinish(state)) {
    prefinish(stream, state);
    if (state.pendingcb === 0) {
      if (sync) {
        state.pendingcb++;
        nextTick((s, st) => {
          if (needFinish(st)) finish(s, st);
          else st.pendingcb--;
        }, stream, state);
      } else if (needFinish(state)) {
        state.pendingcb++;
        finish(stream, state);
      }
    }
  }
}

function finish(stream, state) {
  state.pendingcb--;
  state.finished = true;
  const callbacks = ArrayPrototypeSplice(state[kOnFinished], 0);
  for (let i = 0; i < callbacks.length; i++) callbacks[i](null);
  stream.emit("finish");
  if (state.autoDestroy) {
    const rState = stream._readableState;
    const autoDestroy = !rState || (rState.autoDestroy && (rState.endEmitted || rState.readable === false));
    if (autoDestroy) stream.destroy();
  }
}

Writable.prototype.destroy = function destroy(err, cb) {
  const state = this._writableState;
  // Buffered writes fail now, unless one is in progress (then after it).
  if (!state.destroyed && (state.bufferedIndex < state.buffered.length || state[kOnFinished].length)) {
    nextTick(errorBuffer, state);
  }
  ReflectApply(end.destroy, this, [err, cb]);
  return this;
};
Writable.prototype._undestroy = end.undestroy;
Writable.prototype._destroy = function _destroy(err, cb) {
  cb(err);
};
Writable.prototype[Symbol.for("nodejs.rejection")] = function onRejection(err) {
  this.destroy(err);
};

// ---- Properties ---------------------------------------------------------

const writableProperties = {
  __proto__: null,
  closed: [function get() {
    return this._writableState ? this._writableState.closed : false;
  }],
  destroyed: [function get() {
    return this._writableState ? this._writableState.destroyed : false;
  }, function set(value) {
    if (this._writableState) this._writableState.destroyed = value;
  }],
  writable: [function get() {
    const w = this._writableState;
    return !!w && w.writable !== false && !w.destroyed && !w.errored && !w.ending && !w.ended;
  }, function set(value) {
    if (this._writableState) this._writableState.writable = !!value;
  }],
  writableFinished: [function get() {
    return this._writableState ? this._writableState.finished : false;
  }],
  writableObjectMode: [function get() {
    return this._writableState ? this._writableState.objectMode : false;
  }],
  writableBuffer: [function get() {
    return this._writableState && this._writableState.getBuffer();
  }],
  writableEnded: [function get() {
    return this._writableState ? this._writableState.ending : false;
  }],
  writableNeedDrain: [function get() {
    const wState = this._writableState;
    if (!wState) return false;
    return !wState.destroyed && !wState.ending && wState.needDrain;
  }],
  writableHighWaterMark: [function get() {
    return this._writableState && this._writableState.highWaterMark;
  }],
  writableCorked: [function get() {
    return this._writableState ? this._writableState.corked : 0;
  }],
  writableLength: [function get() {
    return this._writableState && this._writableState.length;
  }],
  errored: [function get() {
    return this._writableState ? this._writableState.errored : null;
  }],
  writableAborted: [function get() {
    const w = this._writableState;
    return !!(w.writable !== false && (w.destroyed || w.errored) && !w.finished);
  }],
};
function defineProperties(target, table, names) {
  for (let i = 0; i < names.length; i++) {
    const [get, set] = table[names[i]];
    ObjectDefineProperty(target, names[i], {
      __proto__: null, get, set, enumerable: false, configurable: true,
    });
  }
}
defineProperties(Writable.prototype, writableProperties, internals.primordials.ObjectKeys(writableProperties));

return { __proto__: null, Writable, WritableState, writableProperties, defineProperties, writableConstructed };
