// How a node:stream stream ends, shared by Readable, Writable and the
// helpers built on them: the high-water mark option, the questions asked
// of any stream (is it readable, finished, destroyed...), destroy() and
// the 'error'/'close' it emits, and finished() (end-of-stream).
// https://nodejs.org/api/stream.html
//
// A stream's state lives in `_readableState` / `_writableState`, the names
// Node and many packages read. Callbacks Node defers with process.nextTick
// are deferred with a microtask (nextTick below), as process.nextTick is on
// Workers.

const { ReflectApply, NumberIsInteger = Number.isInteger, MathFloor, PromiseCtor, ObjectDefineProperty } =
  internals.primordials;
const errors = require("internal/errors");
const { validateFunction, validateObject, validateAbortSignal } = require("internal/validators");

const AggregateErrorCtor = AggregateError;

function nextTick(callback, ...args) {
  internals.queueMicrotask(() => ReflectApply(callback, undefined, args));
}

function nop() {}

// Calls `callback` once; later calls do nothing.
function once(callback) {
  let called = false;
  return function onceWrapper(...args) {
    if (called) return;
    called = true;
    ReflectApply(callback, this, args);
  };
}

// ---- High-water mark --------------------------------------------------

let defaultHighWaterMark = 16 * 1024;
let defaultObjectHighWaterMark = 16;

function getDefaultHighWaterMark(objectMode) {
  return objectMode ? defaultObjectHighWaterMark : defaultHighWaterMark;
}

function setDefaultHighWaterMark(objectMode, value) {
  if (typeof value !== "number" || !NumberIsInteger(value) || value < 0) {
    throw errors.ERR_INVALID_ARG_VALUE("value", value);
  }
  if (objectMode) defaultObjectHighWaterMark = value;
  else defaultHighWaterMark = value;
}

// options.highWaterMark, else (for one side of a Duplex) options[duplexKey],
// else the default: a non-negative integer. It is only a threshold: no
// memory is set aside for it.
function getHighWaterMark(options, duplexKey, isDuplex, objectMode) {
  const value = options.highWaterMark != null ? options.highWaterMark : isDuplex ? options[duplexKey] : null;
  if (value != null) {
    if (typeof value !== "number" || !NumberIsInteger(value) || value < 0) {
      const name = isDuplex && options.highWaterMark == null ? `options.${duplexKey}` : "options.highWaterMark";
      throw errors.ERR_INVALID_ARG_VALUE(name, value);
    }
    return MathFloor(value);
  }
  return getDefaultHighWaterMark(objectMode);
}

// ---- What a stream is -------------------------------------------------

function isReadableNodeStream(obj, strict = false) {
  return !!(obj && typeof obj.pipe === "function" && typeof obj.on === "function" &&
    (!strict || (typeof obj.pause === "function" && typeof obj.resume === "function")) &&
    (!obj._writableState || obj._readableState?.readable !== false) &&
    (!obj._writableState || obj._readableState));
}

function isWritableNodeStream(obj) {
  return !!(obj && typeof obj.write === "function" && typeof obj.on === "function" &&
    (!obj._readableState || obj._writableState?.writable !== false));
}

function isNodeStream(obj) {
  return !!(obj && (obj._readableState || obj._writableState ||
    (typeof obj.write === "function" && typeof obj.on === "function") ||
    (typeof obj.pipe === "function" && typeof obj.on === "function")));
}

function isReadableStream(obj) {
  return internals.isReadableStream(obj);
}

function isWritableStream(obj) {
  return internals.isWritableStream(obj);
}

function isTransformStream(obj) {
  return !!(obj && typeof obj === "object" && !isNodeStream(obj) && isReadableStream(obj.readable) &&
    isWritableStream(obj.writable));
}

function isWebStream(obj) {
  return isReadableStream(obj) || isWritableStream(obj) || isTransformStream(obj);
}

function isIterable(obj, isAsync) {
  if (obj == null) return false;
  if (isAsync === true) return typeof obj[Symbol.asyncIterator] === "function";
  if (isAsync === false) return typeof obj[Symbol.iterator] === "function";
  return typeof obj[Symbol.asyncIterator] === "function" || typeof obj[Symbol.iterator] === "function";
}

const kIsDestroyed = Symbol("kIsDestroyed");

function isDestroyed(stream) {
  if (!isNodeStream(stream)) return null;
  const state = stream._writableState || stream._readableState;
  return !!(stream.destroyed || stream[kIsDestroyed] || state?.destroyed);
}

function isWritableEnded(stream) {
  if (!isWritableNodeStream(stream)) return null;
  if (stream.writableEnded === true) return true;
  const wState = stream._writableState;
  if (wState?.errored) return false;
  if (typeof wState?.ended !== "boolean") return null;
  return wState.ended;
}

function isWritableFinished(stream, strict) {
  if (!isWritableNodeStream(stream)) return null;
  if (stream.writableFinished === true) return true;
  const wState = stream._writableState;
  if (wState?.errored) return false;
  if (typeof wState?.finished !== "boolean") return null;
  return !!(wState.finished || (strict === false && wState.ended === true && wState.length === 0));
}

function isReadableFinished(stream, strict) {
  if (!isReadableNodeStream(stream)) return null;
  const rState = stream._readableState;
  if (rState?.errored) return false;
  if (typeof rState?.endEmitted !== "boolean") return null;
  return !!(rState.endEmitted || (strict === false && rState.ended === true && rState.length === 0));
}

function isReadable(stream) {
  if (typeof stream?.readable !== "boolean") return null;
  if (isDestroyed(stream)) return false;
  return isReadableNodeStream(stream) && stream.readable && !isReadableFinished(stream);
}

function isWritable(stream) {
  if (typeof stream?.writable !== "boolean") return null;
  if (isDestroyed(stream)) return false;
  return isWritableNodeStream(stream) && stream.writable && !isWritableEnded(stream);
}

function isFinished(stream, options) {
  if (!isNodeStream(stream)) return null;
  if (isDestroyed(stream)) return true;
  if (options?.readable !== false && isReadable(stream)) return false;
  if (options?.writable !== false && isWritable(stream)) return false;
  return true;
}

function isWritableErrored(stream) {
  if (!isNodeStream(stream)) return null;
  if (stream.writableErrored) return stream.writableErrored;
  return stream._writableState?.errored ?? null;
}

function isReadableErrored(stream) {
  if (!isNodeStream(stream)) return null;
  if (stream.readableErrored) return stream.readableErrored;
  return stream._readableState?.errored ?? null;
}

function isClosed(stream) {
  if (!isNodeStream(stream)) return null;
  const wState = stream._writableState;
  const rState = stream._readableState;
  if (typeof wState?.closed === "boolean" || typeof rState?.closed === "boolean") {
    return wState?.closed || rState?.closed;
  }
  return null;
}

function willEmitClose(stream) {
  if (!isNodeStream(stream)) return null;
  const state = stream._writableState || stream._readableState;
  return !!(state && state.autoDestroy && state.emitClose && state.closed === false);
}

function isErrored(stream) {
  return !!(stream && (stream.readableErrored ?? stream.writableErrored ?? stream._readableState?.errorEmitted ??
    stream._writableState?.errorEmitted ?? stream._readableState?.errored ?? stream._writableState?.errored));
}

function isDisturbed(stream) {
  if (isReadableStream(stream)) return internals.isDisturbed(stream);
  return !!(stream && (stream.readableDidRead || stream.readableAborted));
}

// ---- destroy ----------------------------------------------------------

// Both errors when there are two (an AggregateError, or `outer.errors`
// grown), else the one there is.
function aggregateTwoErrors(inner, outer) {
  if (inner && outer && inner !== outer) {
    if (Array.isArray(outer.errors)) {
      outer.errors.push(inner);
      return outer;
    }
    const error = new AggregateErrorCtor([outer, inner], outer.message);
    error.code = outer.code;
    return error;
  }
  return inner || outer;
}

const kDestroy = Symbol("kDestroy");
// On Duplex.prototype: what Node asks with `instanceof Duplex`.
const kIsDuplex = Symbol("kIsDuplex");
const kConstruct = Symbol("kConstruct");

function checkError(err, w, r) {
  if (err) {
    if (w && !w.errored) w.errored = err;
    if (r && !r.errored) r.errored = err;
  }
}

// stream.destroy(err, cb) for Readable, Writable and Duplex.
function destroy(err, cb) {
  const r = this._readableState;
  const w = this._writableState;
  const s = w || r;
  if (w?.destroyed || r?.destroyed) {
    if (typeof cb === "function") cb();
    return this;
  }
  checkError(err, w, r);
  if (w) w.destroyed = true;
  if (r) r.destroyed = true;
  if (!s.constructed) {
    this.once(kDestroy, function onConstructed(er) {
      destroyNow(this, aggregateTwoErrors(er, err), cb);
    });
  } else {
    destroyNow(this, err, cb);
  }
  return this;
}

function destroyNow(self, err, cb) {
  let called = false;
  function onDestroy(error) {
    if (called) return;
    called = true;
    const r = self._readableState;
    const w = self._writableState;
    checkError(error, w, r);
    if (w) w.closed = true;
    if (r) r.closed = true;
    if (typeof cb === "function") cb(error);
    if (error) nextTick(emitErrorCloseNT, self, error);
    else nextTick(emitCloseNT, self);
  }
  try {
    self._destroy(err || null, onDestroy);
  } catch (error) {
    onDestroy(error);
  }
}

function emitErrorCloseNT(self, err) {
  emitErrorNT(self, err);
  emitCloseNT(self);
}

function emitCloseNT(self) {
  const r = self._readableState;
  const w = self._writableState;
  if (w) w.closeEmitted = true;
  if (r) r.closeEmitted = true;
  if (w?.emitClose || r?.emitClose) self.emit("close");
}

function emitErrorNT(self, err) {
  const r = self._readableState;
  const w = self._writableState;
  if (w?.errorEmitted || r?.errorEmitted) return;
  if (w) w.errorEmitted = true;
  if (r) r.errorEmitted = true;
  self.emit("error", err);
}

// Back to a fresh state after destroy() (Node's _undestroy).
function undestroy() {
  const r = this._readableState;
  const w = this._writableState;
  if (r) {
    r.constructed = true;
    r.closed = false;
    r.closeEmitted = false;
    r.destroyed = false;
    r.errored = null;
    r.errorEmitted = false;
    r.reading = false;
    r.ended = r.readable === false;
    r.endEmitted = r.readable === false;
  }
  if (w) {
    w.constructed = true;
    w.destroyed = false;
    w.closed = false;
    w.closeEmitted = false;
    w.errored = null;
    w.errorEmitted = false;
    w.finalCalled = false;
    w.prefinished = false;
    w.ended = w.writable === false;
    w.ending = w.writable === false;
    w.finished = w.writable === false;
  }
}

// An error the stream hit on its own: destroys it (autoDestroy, the
// default), or records it and emits 'error'.
function errorOrDestroy(stream, err, sync) {
  const r = stream._readableState;
  const w = stream._writableState;
  if (w?.destroyed || r?.destroyed) return;
  if (r?.autoDestroy || w?.autoDestroy) {
    stream.destroy(err);
  } else if (err) {
    if (w && !w.errored) w.errored = err;
    if (r && !r.errored) r.errored = err;
    if (sync) nextTick(emitErrorNT, stream, err);
    else emitErrorNT(stream, err);
  }
}

// Runs stream._construct(cb) on the next tick, if it has one; the stream
// buffers reads and writes until cb is called.
function construct(stream, cb) {
  if (typeof stream._construct !== "function") return;
  const r = stream._readableState;
  const w = stream._writableState;
  if (r) r.constructed = false;
  if (w) w.constructed = false;
  stream.once(kConstruct, cb);
  if (stream.listenerCount(kConstruct) > 1) return;  // a Duplex: constructed once
  nextTick(constructNT, stream);
}

function constructNT(stream) {
  let called = false;
  function onConstruct(err) {
    if (called) {
      errorOrDestroy(stream, err ?? errors.ERR_MULTIPLE_CALLBACK());
      return;
    }
    called = true;
    const r = stream._readableState;
    const w = stream._writableState;
    const s = w || r;
    if (r) r.constructed = true;
    if (w) w.constructed = true;
    if (s.destroyed) stream.emit(kDestroy, err);
    else if (err) errorOrDestroy(stream, err, true);
    else nextTick(() => stream.emit(kConstruct));
  }
  try {
    stream._construct((err) => nextTick(onConstruct, err));
  } catch (err) {
    nextTick(onConstruct, err);
  }
}

// Destroys whatever kind of stream `stream` is (pipeline's and the async
// iterator's way to tear one down).
function destroyer(stream, err) {
  if (!stream || isDestroyed(stream)) return;
  if (!err && !isFinished(stream)) err = new errors.AbortError();
  if (typeof stream.destroy === "function") stream.destroy(err);
  else if (typeof stream.close === "function") stream.close();
  else if (err) nextTick((s, e) => s.emit("error", e), stream, err);
  else nextTick((s) => s.emit("close"), stream);
  if (!stream.destroyed) stream[kIsDestroyed] = true;
}

// ---- finished (end-of-stream) -----------------------------------------

// finished(stream[, options], callback): calls back once the stream is
// done (ended, finished, errored or closed early: ERR_STREAM_PREMATURE_CLOSE);
// returns a function that removes the listeners.
function finished(stream, options, callback) {
  if (arguments.length === 2) {
    callback = options;
    options = { __proto__: null };
  } else if (options == null) {
    options = { __proto__: null };
  } else {
    validateObject(options, "options");
  }
  validateFunction(callback, "callback");
  validateAbortSignal(options.signal, "options.signal");
  callback = once(callback);
  // Web streams: not yet (Node 20 accepts them here).
  if (!isNodeStream(stream)) throw errors.ERR_INVALID_ARG_TYPE("stream", "Stream", stream);
  const readable = options.readable ?? isReadableNodeStream(stream);
  const writable = options.writable ?? isWritableNodeStream(stream);
  const wState = stream._writableState;
  const rState = stream._readableState;

  const onlegacyfinish = () => {
    if (!stream.writable) onfinish();
  };
  let emitsClose = willEmitClose(stream) && isReadableNodeStream(stream) === readable &&
    isWritableNodeStream(stream) === writable;
  let writableFinished = isWritableFinished(stream, false);
  const onfinish = () => {
    writableFinished = true;
    if (stream.destroyed) emitsClose = false;
    if (emitsClose && (!stream.readable || readable)) return;
    if (!readable || readableFinished) callback.call(stream);
  };
  let readableFinished = isReadableFinished(stream, false);
  const onend = () => {
    readableFinished = true;
    if (stream.destroyed) emitsClose = false;
    if (emitsClose && (!stream.writable || writable)) return;
    if (!writable || writableFinished) callback.call(stream);
  };
  const onerror = (err) => callback.call(stream, err);
  let closed = isClosed(stream);
  const onclose = () => {
    closed = true;
    const errored = isWritableErrored(stream) || isReadableErrored(stream);
    if (errored && typeof errored !== "boolean") return callback.call(stream, errored);
    if (readable && !readableFinished && isReadableNodeStream(stream, true)) {
      if (!isReadableFinished(stream, false)) return callback.call(stream, errors.ERR_STREAM_PREMATURE_CLOSE());
    }
    if (writable && !writableFinished) {
      if (!isWritableFinished(stream, false)) return callback.call(stream, errors.ERR_STREAM_PREMATURE_CLOSE());
    }
    return callback.call(stream);
  };
  const onclosed = () => {
    closed = true;
    const errored = isWritableErrored(stream) || isReadableErrored(stream);
    if (errored && typeof errored !== "boolean") return callback.call(stream, errored);
    return callback.call(stream);
  };

  if (writable && !wState) {
    stream.on("end", onlegacyfinish);
    stream.on("close", onlegacyfinish);
  }
  if (!emitsClose && typeof stream.aborted === "boolean") stream.on("aborted", onclose);
  stream.on("end", onend);
  stream.on("finish", onfinish);
  if (options.error !== false) stream.on("error", onerror);
  stream.on("close", onclose);

  if (closed) {
    nextTick(onclose);
  } else if (wState?.errorEmitted || rState?.errorEmitted) {
    if (!emitsClose) nextTick(onclosed);
  } else if (!readable && (!emitsClose || isReadable(stream)) && (writableFinished || isWritable(stream) === false)) {
    nextTick(onclosed);
  } else if (!writable && (!emitsClose || isWritable(stream)) && (readableFinished || isReadable(stream) === false)) {
    nextTick(onclosed);
  }

  const cleanup = () => {
    callback = nop;
    stream.removeListener("aborted", onclose);
    stream.removeListener("end", onlegacyfinish);
    stream.removeListener("close", onlegacyfinish);
    stream.removeListener("end", onend);
    stream.removeListener("finish", onfinish);
    stream.removeListener("error", onerror);
    stream.removeListener("close", onclose);
  };
  if (options.signal && !closed) {
    const signal = options.signal;
    const abort = () => {
      const endCallback = callback;
      cleanup();
      endCallback.call(stream, new errors.AbortError(undefined, { cause: signal.reason }));
    };
    if (signal.aborted) {
      nextTick(abort);
    } else {
      signal.addEventListener("abort", abort, { once: true });
      const originalCallback = callback;
      callback = once((...args) => {
        signal.removeEventListener("abort", abort);
        ReflectApply(originalCallback, stream, args);
      });
    }
  }
  return cleanup;
}

function finishedPromise(stream, options) {
  let autoCleanup = false;
  if (options && options.cleanup) {
    autoCleanup = true;
  }
  return new PromiseCtor((resolve, reject) => {
    const cleanup = finished(stream, options, (err) => {
      if (autoCleanup) cleanup();
      if (err) reject(err);
      else resolve();
    });
  });
}
ObjectDefineProperty(finished, Symbol.for("nodejs.util.promisify.custom"), {
  __proto__: null, value: finishedPromise, enumerable: false, configurable: true, writable: true,
});

// addAbortSignal(signal, stream): destroys the stream with an AbortError
// when the signal aborts.
function addAbortSignal(signal, stream) {
  validateAbortSignal(signal, "signal");
  if (signal === undefined) throw errors.ERR_INVALID_ARG_TYPE("signal", "AbortSignal", signal);
  if (!isNodeStream(stream) && !isWebStream(stream)) {
    throw errors.ERR_INVALID_ARG_TYPE("stream", ["ReadableStream", "WritableStream", "Stream"], stream);
  }
  const onAbort = () => {
    const error = new errors.AbortError(undefined, { cause: signal.reason });
    if (isNodeStream(stream)) stream.destroy(error);
    else if (isReadableStream(stream)) internals.readableStreamCancel(stream, error);
    else {
      const { writableStreamAbort, getWritableStreamState } = internals.streams;
      writableStreamAbort(getWritableStreamState(isWritableStream(stream) ? stream : stream.writable), error);
    }
  };
  if (signal.aborted) {
    onAbort();
  } else {
    signal.addEventListener("abort", onAbort, { once: true });
    if (isNodeStream(stream)) finished(stream, () => signal.removeEventListener("abort", onAbort));
  }
  return stream;
}

return {
  __proto__: null,
  nextTick,
  nop,
  once,
  getDefaultHighWaterMark,
  setDefaultHighWaterMark,
  getHighWaterMark,
  isReadableNodeStream,
  isWritableNodeStream,
  isNodeStream,
  isReadableStream,
  isWritableStream,
  isTransformStream,
  isWebStream,
  isIterable,
  isDestroyed,
  isWritableEnded,
  isWritableFinished,
  isReadableFinished,
  isReadable,
  isWritable,
  isFinished,
  isClosed,
  isErrored,
  isDisturbed,
  aggregateTwoErrors,
  kDestroy,
  kConstruct,
  kIsDuplex,
  destroy,
  undestroy,
  errorOrDestroy,
  construct,
  destroyer,
  finished,
  finishedPromise,
  addAbortSignal,
};
