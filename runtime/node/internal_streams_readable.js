// node:stream's Readable: paused and flowing modes, read(n), push and
// unshift, object mode, setEncoding, pipe/unpipe, async iteration and
// Readable.from.
// https://nodejs.org/api/stream.html#readable-streams
//
// The buffer is an array of chunks (Buffers, strings once an encoding is
// set, or any value in object mode); `length` counts bytes, characters or
// objects. `highWaterMark` is only the threshold below which _read is
// asked for more: nothing is allocated for it.

const {
  ArrayIsArray, ArrayPrototypeIndexOf, ArrayPrototypePush, NumberIsNaN, NumberParseInt, ObjectDefineProperty,
  ObjectSetPrototypeOf, PromiseCtor, PromisePrototypeThen, ReflectApply, SafeSet, uncurryThis,
} = internals.primordials;
const NumberIsInteger = Number.isInteger;
const ArrayPrototypeShift = uncurryThis(Array.prototype.shift);
const ArrayPrototypeUnshift = uncurryThis(Array.prototype.unshift);
const ArrayPrototypeSplice = uncurryThis(Array.prototype.splice);
const ArrayPrototypeJoin = uncurryThis(Array.prototype.join);
const SafeSetPrototypeAdd = SafeSet.prototype.add;
const TypedArrayPrototypeGetLength = internals.TypedArrayPrototypeGetLength;
const TypedArrayPrototypeGetBuffer = internals.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetByteOffset = internals.TypedArrayPrototypeGetByteOffset;
const errors = require("internal/errors");
const { Buffer } = require("buffer");
const { FastBuffer, isUint8Array, bytesOf } = internals.nodeBuffer;
const BufferFrom = Buffer.from;
const BufferConcat = Buffer.concat;
const BufferIsBuffer = Buffer.isBuffer;
const { StringDecoder } = require("string_decoder");
const { Stream, prependListener } = require("internal/streams/legacy");
const end = require("internal/streams/end");
const { nextTick, getHighWaterMark, errorOrDestroy, finished, destroyer, aggregateTwoErrors, kIsDuplex } = end;

// read(n) above this is refused (Node's kMaxHWM).
const kMaxHighWaterMark = 0x40000000;

function lengthOf(chunk) {
  return typeof chunk === "string" ? chunk.length : TypedArrayPrototypeGetLength(chunk);
}

// Bytes [start, end) of a Buffer, sharing its memory.
function sliceBuffer(buffer, start, stop) {
  return new FastBuffer(TypedArrayPrototypeGetBuffer(buffer), TypedArrayPrototypeGetByteOffset(buffer) + start,
    stop - start);
}

function ReadableState(options, stream, isDuplex) {
  if (typeof isDuplex !== "boolean") isDuplex = stream[kIsDuplex] === true;
  this.objectMode = !!(options && options.objectMode);
  if (isDuplex) this.objectMode = this.objectMode || !!(options && options.readableObjectMode);
  this.highWaterMark = options
    ? getHighWaterMark(options, "readableHighWaterMark", isDuplex, this.objectMode)
    : end.getDefaultHighWaterMark(this.objectMode);
  this.buffer = [];
  this.length = 0;
  this.pipes = [];
  this.flowing = null;
  this.ended = false;
  this.endEmitted = false;
  this.reading = false;
  this.constructed = true;
  // Whether push() is running inside _read (its 'readable' or 'data'
  // events then wait a tick).
  this.sync = true;
  this.needReadable = false;
  this.emittedReadable = false;
  this.readableListening = false;
  this.resumeScheduled = false;
  this.errorEmitted = false;
  this.emitClose = !options || options.emitClose !== false;
  this.autoDestroy = !options || options.autoDestroy !== false;
  this.destroyed = false;
  this.errored = null;
  this.closed = false;
  this.closeEmitted = false;
  this.defaultEncoding = (options && options.defaultEncoding) || "utf8";
  this.awaitDrainWriters = null;
  this.multiAwaitDrain = false;
  this.readingMore = false;
  this.dataEmitted = false;
  this.decoder = null;
  this.encoding = null;
  this.paused = null;
  if (options && options.encoding) {
    this.decoder = new StringDecoder(options.encoding);
    this.encoding = options.encoding;
  }
}

function Readable(options) {
  if (!(this instanceof Readable)) return new Readable(options);
  const isDuplex = this[kIsDuplex] === true;
  this._readableState = new ReadableState(options, this, isDuplex);
  if (options) {
    if (typeof options.read === "function") this._read = options.read;
    if (typeof options.destroy === "function") this._destroy = options.destroy;
    if (typeof options.construct === "function") this._construct = options.construct;
    if (options.signal && !isDuplex) end.addAbortSignal(options.signal, this);
  }
  ReflectApply(Stream, this, [options]);
  end.construct(this, () => readableConstructed(this));
}
// _construct called back: what waited for it runs.
function readableConstructed(stream) {
  if (stream._readableState.needReadable) maybeReadMore(stream, stream._readableState);
}

ObjectSetPrototypeOf(Readable.prototype, Stream.prototype);
ObjectSetPrototypeOf(Readable, Stream);
Readable.ReadableState = ReadableState;

Readable.prototype.destroy = end.destroy;
Readable.prototype._undestroy = end.undestroy;
Readable.prototype._destroy = function _destroy(err, cb) {
  cb(err);
};
Readable.prototype[Symbol.for("nodejs.rejection")] = function onRejection(err) {
  this.destroy(err);
};

Readable.prototype.push = function push(chunk, encoding) {
  return readableAddChunk(this, chunk, encoding, false);
};

Readable.prototype.unshift = function unshift(chunk, encoding) {
  return readableAddChunk(this, chunk, encoding, true);
};

function readableAddChunk(stream, chunk, encoding, addToFront) {
  const state = stream._readableState;
  let err;
  if (!state.objectMode) {
    if (typeof chunk === "string") {
      encoding = encoding || state.defaultEncoding;
      if (state.encoding !== encoding) {
        if (addToFront && state.encoding) {
          chunk = ReflectApply(BufferFrom, Buffer, [chunk, encoding]).toString(state.encoding);
        } else {
          chunk = ReflectApply(BufferFrom, Buffer, [chunk, encoding]);
          encoding = "";
        }
      }
    } else if (BufferIsBuffer(chunk)) {
      encoding = "";
    } else if (isUint8Array(chunk)) {
      chunk = sliceBuffer(chunk, 0, TypedArrayPrototypeGetLength(chunk));
      encoding = "";
    } else if (chunk != null) {
      err = errors.ERR_INVALID_ARG_TYPE("chunk", ["string", "Buffer", "TypedArray", "DataView"], chunk);
    }
  }
  if (err) {
    errorOrDestroy(stream, err);
  } else if (chunk === null) {
    state.reading = false;
    onEofChunk(stream, state);
  } else if (state.objectMode || lengthOf(chunk) > 0) {
    if (addToFront) {
      if (state.endEmitted) errorOrDestroy(stream, errors.ERR_STREAM_UNSHIFT_AFTER_END_EVENT());
      else if (state.destroyed || state.errored) return false;
      else addChunk(stream, state, chunk, true);
    } else if (state.ended) {
      errorOrDestroy(stream, errors.ERR_STREAM_PUSH_AFTER_EOF());
    } else if (state.destroyed || state.errored) {
      return false;
    } else {
      state.reading = false;
      if (state.decoder && !encoding) {
        chunk = state.decoder.write(chunk);
        if (state.objectMode || chunk.length !== 0) addChunk(stream, state, chunk, false);
        else maybeReadMore(stream, state);
      } else {
        addChunk(stream, state, chunk, false);
      }
    }
  } else if (!addToFront) {
    state.reading = false;
    maybeReadMore(stream, state);
  }
  return !state.ended && (state.length < state.highWaterMark || state.length === 0);
}

function clearAwaitDrain(state) {
  if (state.multiAwaitDrain) state.awaitDrainWriters.clear();
  else state.awaitDrainWriters = null;
}

function addChunk(stream, state, chunk, addToFront) {
  if (state.flowing && state.length === 0 && !state.sync && stream.listenerCount("data") > 0) {
    clearAwaitDrain(state);
    state.dataEmitted = true;
    stream.emit("data", chunk);
  } else {
    state.length += state.objectMode ? 1 : lengthOf(chunk);
    if (addToFront) ArrayPrototypeUnshift(state.buffer, chunk);
    else ArrayPrototypePush(state.buffer, chunk);
    if (state.needReadable) emitReadable(stream);
  }
  maybeReadMore(stream, state);
}

Readable.prototype.isPaused = function isPaused() {
  const state = this._readableState;
  return state.paused === true || state.flowing === false;
};

Readable.prototype.setEncoding = function setEncoding(enc) {
  const decoder = new StringDecoder(enc);
  const state = this._readableState;
  state.decoder = decoder;
  state.encoding = decoder.encoding;
  // What is buffered already is decoded now.
  let content = "";
  const buffer = state.buffer;
  for (let i = 0; i < buffer.length; i++) content += decoder.write(buffer[i]);
  buffer.length = 0;
  if (content !== "") ArrayPrototypePush(buffer, content);
  state.length = content.length;
  return this;
};

function computeNewHighWaterMark(n) {
  if (n > kMaxHighWaterMark) throw errors.ERR_OUT_OF_RANGE("size", "<= 1GiB", n);
  // The next power of two.
  n--;
  n |= n >>> 1;
  n |= n >>> 2;
  n |= n >>> 4;
  n |= n >>> 8;
  n |= n >>> 16;
  n++;
  return n;
}

function howMuchToRead(n, state) {
  if (n <= 0 || (state.length === 0 && state.ended)) return 0;
  if (state.objectMode) return 1;
  if (NumberIsNaN(n)) {
    if (state.flowing && state.length) return lengthOf(state.buffer[0]);
    return state.length;
  }
  if (n <= state.length) return n;
  return state.ended ? state.length : 0;
}

Readable.prototype.read = function read(n) {
  if (n === undefined) n = NaN;
  else if (!NumberIsInteger(n)) n = NumberParseInt(n, 10);
  const state = this._readableState;
  const nOrig = n;
  if (n > state.highWaterMark) state.highWaterMark = computeNewHighWaterMark(n);
  if (n !== 0) state.emittedReadable = false;
  if (n === 0 && state.needReadable &&
      ((state.highWaterMark !== 0 ? state.length >= state.highWaterMark : state.length > 0) || state.ended)) {
    if (state.length === 0 && state.ended) endReadable(this);
    else emitReadable(this);
    return null;
  }
  n = howMuchToRead(n, state);
  if (n === 0 && state.ended) {
    if (state.length === 0) endReadable(this);
    return null;
  }
  let doRead = state.needReadable;
  if (state.length === 0 || state.length - n < state.highWaterMark) doRead = true;
  if (state.ended || state.reading || state.destroyed || state.errored || !state.constructed) {
    doRead = false;
  } else if (doRead) {
    state.reading = true;
    state.sync = true;
    if (state.length === 0) state.needReadable = true;
    try {
      this._read(state.highWaterMark);
    } catch (err) {
      errorOrDestroy(this, err);
    }
    state.sync = false;
    if (!state.reading) n = howMuchToRead(nOrig, state);
  }
  let ret = n > 0 ? fromList(n, state) : null;
  if (ret === null) {
    state.needReadable = state.length <= state.highWaterMark;
    n = 0;
  } else {
    state.length -= n;
    clearAwaitDrain(state);
  }
  if (state.length === 0) {
    if (!state.ended) state.needReadable = true;
    if (nOrig !== n && state.ended) endReadable(this);
  }
  if (ret !== null && !state.errorEmitted && !state.closeEmitted) {
    state.dataEmitted = true;
    this.emit("data", ret);
  }
  return ret;
};

// Takes n units from the buffer (n <= state.length).
function fromList(n, state) {
  if (state.length === 0) return null;
  const buffer = state.buffer;
  if (state.objectMode) return ArrayPrototypeShift(buffer);
  if (!n || n >= state.length) {
    let ret;
    if (state.decoder) ret = ArrayPrototypeJoin(buffer, "");
    else if (buffer.length === 1) ret = buffer[0];
    else ret = BufferConcat(buffer, state.length);
    buffer.length = 0;
    return ret;
  }
  const first = buffer[0];
  const firstLength = lengthOf(first);
  if (n < firstLength) {
    buffer[0] = typeof first === "string" ? first.slice(n) : sliceBuffer(first, n, firstLength);
    return typeof first === "string" ? first.slice(0, n) : sliceBuffer(first, 0, n);
  }
  if (n === firstLength) return ArrayPrototypeShift(buffer);
  // Across chunks.
  const parts = [];
  let needed = n;
  while (needed > 0) {
    const chunk = buffer[0];
    const length = lengthOf(chunk);
    if (length <= needed) {
      ArrayPrototypePush(parts, ArrayPrototypeShift(buffer));
      needed -= length;
    } else {
      if (typeof chunk === "string") {
        ArrayPrototypePush(parts, chunk.slice(0, needed));
        buffer[0] = chunk.slice(needed);
      } else {
        ArrayPrototypePush(parts, sliceBuffer(chunk, 0, needed));
        buffer[0] = sliceBuffer(chunk, needed, length);
      }
      needed = 0;
    }
  }
  return state.decoder ? ArrayPrototypeJoin(parts, "") : BufferConcat(parts, n);
}

function onEofChunk(stream, state) {
  if (state.ended) return;
  if (state.decoder) {
    const chunk = state.decoder.end();
    if (chunk && chunk.length) {
      ArrayPrototypePush(state.buffer, chunk);
      state.length += state.objectMode ? 1 : chunk.length;
    }
  }
  state.ended = true;
  if (state.sync) {
    emitReadable(stream);
  } else {
    state.needReadable = false;
    state.emittedReadable = true;
    emitReadableNT(stream);
  }
}

function emitReadable(stream) {
  const state = stream._readableState;
  state.needReadable = false;
  if (!state.emittedReadable) {
    state.emittedReadable = true;
    nextTick(emitReadableNT, stream);
  }
}

function emitReadableNT(stream) {
  const state = stream._readableState;
  if (!state.destroyed && !state.errored && (state.length || state.ended)) {
    stream.emit("readable");
    state.emittedReadable = false;
  }
  state.needReadable = !state.flowing && !state.ended && state.length <= state.highWaterMark;
  flow(stream);
}

// Asks _read for more, up to the high-water mark, a tick later.
function maybeReadMore(stream, state) {
  if (!state.readingMore && state.constructed) {
    state.readingMore = true;
    nextTick(maybeReadMoreNT, stream, state);
  }
}

function maybeReadMoreNT(stream, state) {
  while (!state.reading && !state.ended &&
         (state.length < state.highWaterMark || (state.flowing && state.length === 0))) {
    const length = state.length;
    stream.read(0);
    if (length === state.length) break;  // nothing came
  }
  state.readingMore = false;
}

Readable.prototype._read = function _read() {
  throw errors.ERR_METHOD_NOT_IMPLEMENTED("_read()");
};

Readable.prototype.pipe = function pipe(dest, pipeOpts) {
  const src = this;
  const state = this._readableState;
  if (state.pipes.length === 1 && !state.multiAwaitDrain) {
    state.multiAwaitDrain = true;
    const writers = new SafeSet();
    if (state.awaitDrainWriters) ReflectApply(SafeSetPrototypeAdd, writers, [state.awaitDrainWriters]);
    state.awaitDrainWriters = writers;
  }
  ArrayPrototypePush(state.pipes, dest);
  const doEnd = !pipeOpts || pipeOpts.end !== false;
  const endFn = doEnd ? onend : unpipe;
  if (state.endEmitted) nextTick(endFn);
  else src.once("end", endFn);
  dest.on("unpipe", onunpipe);
  function onunpipe(readable, unpipeInfo) {
    if (readable === src && unpipeInfo && unpipeInfo.hasUnpiped === false) {
      unpipeInfo.hasUnpiped = true;
      cleanup();
    }
  }
  function onend() {
    dest.end();
  }
  let ondrain;
  let cleanedUp = false;
  function cleanup() {
    dest.removeListener("close", onclose);
    dest.removeListener("finish", onfinish);
    if (ondrain) dest.removeListener("drain", ondrain);
    dest.removeListener("error", onerror);
    dest.removeListener("unpipe", onunpipe);
    src.removeListener("end", onend);
    src.removeListener("end", unpipe);
    src.removeListener("data", ondata);
    cleanedUp = true;
    if (ondrain && state.awaitDrainWriters && (!dest._writableState || dest._writableState.needDrain)) ondrain();
  }
  function pause() {
    if (!cleanedUp) {
      if (state.pipes.length === 1 && state.pipes[0] === dest) {
        state.awaitDrainWriters = dest;
        state.multiAwaitDrain = false;
      } else if (state.pipes.length > 1 && ArrayPrototypeIndexOf(state.pipes, dest) !== -1) {
        ReflectApply(SafeSetPrototypeAdd, state.awaitDrainWriters, [dest]);
      }
      src.pause();
    }
    if (!ondrain) {
      ondrain = pipeOnDrain(src, dest);
      dest.on("drain", ondrain);
    }
  }
  src.on("data", ondata);
  function ondata(chunk) {
    if (dest.write(chunk) === false) pause();
  }
  function onerror(er) {
    unpipe();
    dest.removeListener("error", onerror);
    if (dest.listenerCount("error") === 0) {
      const s = dest._writableState || dest._readableState;
      if (s && !s.errorEmitted) errorOrDestroy(dest, er);
      else dest.emit("error", er);
    }
  }
  prependListener(dest, "error", onerror);
  function onclose() {
    dest.removeListener("finish", onfinish);
    unpipe();
  }
  dest.once("close", onclose);
  function onfinish() {
    dest.removeListener("close", onclose);
    unpipe();
  }
  dest.once("finish", onfinish);
  function unpipe() {
    src.unpipe(dest);
  }
  dest.emit("pipe", src);
  if (dest.writableNeedDrain === true) pause();
  else if (!state.flowing) src.resume();
  return dest;
};

function pipeOnDrain(src, dest) {
  return function pipeOnDrainFunctionResult() {
    const state = src._readableState;
    if (state.awaitDrainWriters === dest) state.awaitDrainWriters = null;
    else if (state.multiAwaitDrain) state.awaitDrainWriters.delete(dest);
    if ((!state.awaitDrainWriters || state.awaitDrainWriters.size === 0) && src.listenerCount("data")) {
      src.resume();
    }
  };
}

Readable.prototype.unpipe = function unpipe(dest) {
  const state = this._readableState;
  const unpipeInfo = { hasUnpiped: false };
  if (state.pipes.length === 0) return this;
  if (!dest) {
    const dests = state.pipes;
    state.pipes = [];
    this.pause();
    for (let i = 0; i < dests.length; i++) dests[i].emit("unpipe", this, { hasUnpiped: false });
    return this;
  }
  const index = ArrayPrototypeIndexOf(state.pipes, dest);
  if (index === -1) return this;
  ArrayPrototypeSplice(state.pipes, index, 1);
  if (state.pipes.length === 0) this.pause();
  dest.emit("unpipe", this, unpipeInfo);
  return this;
};

Readable.prototype.on = function on(ev, fn) {
  const res = ReflectApply(Stream.prototype.on, this, [ev, fn]);
  const state = this._readableState;
  if (ev === "data") {
    state.readableListening = this.listenerCount("readable") > 0;
    if (state.flowing !== false) this.resume();
  } else if (ev === "readable") {
    if (!state.endEmitted && !state.readableListening) {
      state.readableListening = state.needReadable = true;
      state.flowing = false;
      state.emittedReadable = false;
      if (state.length) emitReadable(this);
      else if (!state.reading) nextTick((self) => self.read(0), this);
    }
  }
  return res;
};
Readable.prototype.addListener = Readable.prototype.on;

Readable.prototype.removeListener = function removeListener(ev, fn) {
  const res = ReflectApply(Stream.prototype.removeListener, this, [ev, fn]);
  if (ev === "readable") nextTick(updateReadableListening, this);
  return res;
};
Readable.prototype.off = Readable.prototype.removeListener;

Readable.prototype.removeAllListeners = function removeAllListeners(ev) {
  const res = ReflectApply(Stream.prototype.removeAllListeners, this, arguments);
  if (ev === "readable" || ev === undefined) nextTick(updateReadableListening, this);
  return res;
};

function updateReadableListening(self) {
  const state = self._readableState;
  state.readableListening = self.listenerCount("readable") > 0;
  if (state.resumeScheduled && state.paused === false) state.flowing = true;
  else if (self.listenerCount("data") > 0) self.resume();
  else if (!state.readableListening) state.flowing = null;
}

Readable.prototype.resume = function resume() {
  const state = this._readableState;
  if (!state.flowing) {
    // With 'readable' listeners, 'readable' drives the stream instead.
    state.flowing = !state.readableListening;
    if (!state.resumeScheduled) {
      state.resumeScheduled = true;
      nextTick(resumeNT, this, state);
    }
  }
  state.paused = false;
  return this;
};

function resumeNT(stream, state) {
  if (!state.reading) stream.read(0);
  state.resumeScheduled = false;
  stream.emit("resume");
  flow(stream);
  if (state.flowing && !state.reading) stream.read(0);
}

Readable.prototype.pause = function pause() {
  const state = this._readableState;
  if (state.flowing !== false) {
    state.flowing = false;
    this.emit("pause");
  }
  state.paused = true;
  return this;
};

function flow(stream) {
  const state = stream._readableState;
  while (state.flowing && stream.read() !== null);
}

function endReadable(stream) {
  const state = stream._readableState;
  if (!state.endEmitted) {
    state.ended = true;
    nextTick(endReadableNT, state, stream);
  }
}

function endReadableNT(state, stream) {
  if (!state.errored && !state.closeEmitted && !state.endEmitted && state.length === 0) {
    state.endEmitted = true;
    stream.emit("end");
    if (stream.writable && stream.allowHalfOpen === false) {
      nextTick((s) => {
        if (s.writable && !s.writableEnded && !s.destroyed) s.end();
      }, stream);
    } else if (state.autoDestroy) {
      const wState = stream._writableState;
      const autoDestroy = !wState || (wState.autoDestroy && (wState.finished || wState.writable === false));
      if (autoDestroy) stream.destroy();
    }
  }
}

// wrap(oldStream): a Readable over a pre-streams2 stream.
Readable.prototype.wrap = function wrap(stream) {
  let paused = false;
  stream.on("data", (chunk) => {
    if (!this.push(chunk) && stream.pause) {
      paused = true;
      stream.pause();
    }
  });
  stream.on("end", () => this.push(null));
  stream.on("error", (err) => errorOrDestroy(this, err));
  stream.on("close", () => this.destroy());
  stream.on("destroy", () => this.destroy());
  this._read = () => {
    if (paused && stream.resume) {
      paused = false;
      stream.resume();
    }
  };
  return this;
};

// ---- Async iteration ----------------------------------------------------

Readable.prototype[Symbol.asyncIterator] = function asyncIterator() {
  return createAsyncIterator(this);
};

Readable.prototype.iterator = function iterator(options) {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw errors.ERR_INVALID_ARG_TYPE("options", "Object", options);
  }
  return createAsyncIterator(this, options);
};

async function* createAsyncIterator(stream, options) {
  let callback = end.nop;
  function next(resolve) {
    if (this === stream) {
      callback();
      callback = end.nop;
    } else {
      callback = resolve;
    }
  }
  stream.on("readable", next);
  let error;
  const cleanup = finished(stream, { writable: false }, (err) => {
    error = err ? aggregateTwoErrors(error, err) : null;
    callback();
    callback = end.nop;
  });
  try {
    while (true) {
      const chunk = stream.destroyed ? null : stream.read();
      if (chunk !== null) {
        yield chunk;
      } else if (error) {
        throw error;
      } else if (error === null) {
        return;
      } else {
        await new PromiseCtor(next);
      }
    }
  } catch (err) {
    error = aggregateTwoErrors(error, err);
    throw error;
  } finally {
    if ((error || options?.destroyOnReturn !== false) &&
        (error === undefined || stream._readableState.autoDestroy)) {
      destroyer(stream, null);
    } else {
      stream.off("readable", next);
      cleanup();
    }
  }
}

// ---- Readable.from ------------------------------------------------------

// A Readable of the values of an iterable or async iterable (a string or
// Buffer is one chunk), in object mode unless options say otherwise.
function from(iterable, opts) {
  if (typeof iterable === "string" || iterable instanceof Buffer) {
    return new Readable({
      objectMode: true,
      ...opts,
      read() {
        this.push(iterable);
        this.push(null);
      },
    });
  }
  let isAsync;
  let iterator;
  if (iterable && typeof iterable[Symbol.asyncIterator] === "function") {
    isAsync = true;
    iterator = iterable[Symbol.asyncIterator]();
  } else if (iterable && typeof iterable[Symbol.iterator] === "function") {
    isAsync = false;
    iterator = iterable[Symbol.iterator]();
  } else {
    throw errors.ERR_INVALID_ARG_TYPE("iterable", ["Iterable"], iterable);
  }
  const readable = new Readable({ objectMode: true, highWaterMark: 1, ...opts });
  let reading = false;
  readable._read = function _read() {
    if (!reading) {
      reading = true;
      next();
    }
  };
  readable._destroy = function _destroy(error, cb) {
    PromisePrototypeThen(close(error), () => nextTick(cb, error), (e) => nextTick(cb, e || error));
  };
  async function close(error) {
    const hadError = error !== undefined && error !== null;
    const hasThrow = typeof iterator.throw === "function";
    if (hadError && hasThrow) {
      const { value, done } = await iterator.throw(error);
      await value;
      if (done) return;
    }
    if (typeof iterator.return === "function") {
      const { value } = await iterator.return();
      await value;
    }
  }
  async function next() {
    for (;;) {
      try {
        const { value, done } = isAsync ? await iterator.next() : iterator.next();
        if (done) {
          readable.push(null);
        } else {
          const res = value && typeof value.then === "function" ? await value : value;
          if (res === null) {
            reading = false;
            throw errors.ERR_STREAM_NULL_VALUES();
          } else if (readable.push(res)) {
            continue;
          } else {
            reading = false;
          }
        }
      } catch (err) {
        readable.destroy(err);
      }
      break;
    }
  }
  return readable;
}
Readable.from = from;

// ---- Properties ---------------------------------------------------------

function getter(name, get, set) {
  ObjectDefineProperty(Readable.prototype, name, {
    __proto__: null, get, set, enumerable: false, configurable: true,
  });
}
getter("readable", function get() {
  const r = this._readableState;
  return !!r && r.readable !== false && !r.destroyed && !r.errorEmitted && !r.endEmitted;
}, function set(value) {
  if (this._readableState) this._readableState.readable = !!value;
});
getter("readableDidRead", function get() {
  return this._readableState.dataEmitted;
});
getter("readableAborted", function get() {
  const r = this._readableState;
  return !!(r.readable !== false && (r.destroyed || r.errored) && !r.endEmitted);
});
getter("readableHighWaterMark", function get() {
  return this._readableState.highWaterMark;
});
getter("readableBuffer", function get() {
  return this._readableState && this._readableState.buffer;
});
getter("readableFlowing", function get() {
  return this._readableState.flowing;
}, function set(value) {
  if (this._readableState) this._readableState.flowing = value;
});
getter("readableLength", function get() {
  return this._readableState.length;
});
getter("readableObjectMode", function get() {
  return this._readableState ? this._readableState.objectMode : false;
});
getter("readableEncoding", function get() {
  return this._readableState ? this._readableState.encoding : null;
});
getter("errored", function get() {
  return this._readableState ? this._readableState.errored : null;
});
getter("closed", function get() {
  return this._readableState ? this._readableState.closed : false;
});
getter("destroyed", function get() {
  return this._readableState ? this._readableState.destroyed : false;
}, function set(value) {
  if (this._readableState) this._readableState.destroyed = value;
});
getter("readableEnded", function get() {
  return this._readableState ? this._readableState.endEmitted : false;
});

void ArrayIsArray;
void bytesOf;
return { __proto__: null, Readable, ReadableState, createAsyncIterator, readableConstructed };
