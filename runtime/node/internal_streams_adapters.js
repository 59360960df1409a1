// Node streams from and to other things: Readable/Writable/Duplex
// .fromWeb and .toWeb (the runtime's Web Streams), and Duplex.from (a
// stream, a Web stream or pair, an iterable, an async generator function).
// https://nodejs.org/api/stream.html#readablefromwebreadablestream-options

const {
  ObjectGetOwnPropertyDescriptor, PromisePrototypeThen, PromiseResolve, PromiseCtor, ReflectApply, uncurryThis,
  Uint8ArrayCtor, ArrayPrototypePush,
} = internals.primordials;
const errors = require("internal/errors");
const { validateObject, validateBoolean } = require("internal/validators");
const { Buffer } = require("buffer");
const BufferIsBuffer = Buffer.isBuffer;
const { Readable } = require("internal/streams/readable");
const { Writable } = require("internal/streams/writable");
const { Duplex } = require("internal/streams/duplex");
const end = require("internal/streams/end");
const {
  nextTick, finished, isReadableStream, isWritableStream, isNodeStream, isReadableNodeStream, isWritableNodeStream,
  isIterable, isWritableEnded, isDestroyed, destroyer,
} = end;

const ReadableStream = internals.ReadableStream;
const WritableStream = internals.WritableStream;
const Reader = internals.ReadableStreamDefaultReader;
const Writer = internals.WritableStreamDefaultWriter;
const ReaderRead = uncurryThis(Reader.prototype.read);
const ReaderCancel = uncurryThis(Reader.prototype.cancel);
const ReaderClosed = uncurryThis(ObjectGetOwnPropertyDescriptor(Reader.prototype, "closed").get);
const WriterWrite = uncurryThis(Writer.prototype.write);
const WriterClose = uncurryThis(Writer.prototype.close);
const WriterAbort = uncurryThis(Writer.prototype.abort);
const WriterReady = uncurryThis(ObjectGetOwnPropertyDescriptor(Writer.prototype, "ready").get);
const WriterClosed = uncurryThis(ObjectGetOwnPropertyDescriptor(Writer.prototype, "closed").get);
const ControllerEnqueue = uncurryThis(internals.ReadableStreamDefaultController.prototype.enqueue);
const ControllerClose = uncurryThis(internals.ReadableStreamDefaultController.prototype.close);
const ControllerError = uncurryThis(internals.ReadableStreamDefaultController.prototype.error);
const ControllerDesiredSize =
  uncurryThis(ObjectGetOwnPropertyDescriptor(internals.ReadableStreamDefaultController.prototype, "desiredSize").get);
const TypedArrayPrototypeGetBuffer = internals.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetByteOffset = internals.TypedArrayPrototypeGetByteOffset;
const TypedArrayPrototypeGetLength = internals.TypedArrayPrototypeGetLength;
const TypedArrayPrototypeGetByteLength = internals.TypedArrayPrototypeGetByteLength;

function deferred() {
  let resolve;
  let reject;
  const promise = new PromiseCtor((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { __proto__: null, promise, resolve, reject };
}

// Settled callbacks never throw into the promise chain: an exception from
// one is reported as uncaught, as Node does.
function reportLater(error) {
  nextTick(() => {
    throw error;
  });
}

function validateOptions(options) {
  if (options === undefined) return { __proto__: null };
  validateObject(options, "options");
  return options;
}

// ---- Readable <-> ReadableStream ------------------------------------------

function readableFromWeb(readableStream, options = undefined) {
  if (!isReadableStream(readableStream)) {
    throw errors.ERR_INVALID_ARG_TYPE("readableStream", "ReadableStream", readableStream);
  }
  options = validateOptions(options);
  const { highWaterMark, encoding, objectMode = false, signal } = options;
  if (encoding !== undefined && !Buffer.isEncoding(encoding)) {
    throw errors.ERR_INVALID_ARG_VALUE("options.encoding", encoding);
  }
  validateBoolean(objectMode, "options.objectMode");
  const reader = new Reader(readableStream);
  let closed = false;
  const readable = new Readable({
    objectMode,
    highWaterMark,
    encoding,
    signal,
    read() {
      PromisePrototypeThen(ReaderRead(reader), (chunk) => {
        if (chunk.done) readable.push(null);
        else readable.push(chunk.value);
      }, (error) => readable.destroy(error));
    },
    destroy(error, callback) {
      function done() {
        try {
          callback(error);
        } catch (err) {
          reportLater(err);
        }
      }
      if (!closed) {
        PromisePrototypeThen(ReaderCancel(reader, error), done, done);
        return;
      }
      done();
    },
  });
  PromisePrototypeThen(ReaderClosed(reader), () => {
    closed = true;
  }, (error) => {
    closed = true;
    readable.destroy(error);
  });
  return readable;
}

// A ReadableStream of the Readable's chunks (Buffers become Uint8Arrays),
// pulling from it only while the web stream's queue has room.
function readableToWeb(streamReadable, options = undefined) {
  if (!isReadableNodeStream(streamReadable)) {
    throw errors.ERR_INVALID_ARG_TYPE("streamReadable", "stream.Readable", streamReadable);
  }
  options = validateOptions(options);
  if (isDestroyed(streamReadable) || !streamReadable.readable) {
    const readable = new ReadableStream();
    internals.readableStreamCancel(readable);
    return readable;
  }
  const objectMode = streamReadable.readableObjectMode;
  const highWaterMark = streamReadable.readableHighWaterMark;
  const strategy = options.strategy ?? {
    highWaterMark,
    size: objectMode ? () => 1 : (chunk) => TypedArrayPrototypeGetByteLength(chunk),
  };
  let controller;
  function onData(chunk) {
    if (BufferIsBuffer(chunk) && !objectMode) {
      chunk = new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(chunk), TypedArrayPrototypeGetByteOffset(chunk),
        TypedArrayPrototypeGetLength(chunk));
    }
    ControllerEnqueue(controller, chunk);
    if (ControllerDesiredSize(controller) <= 0) streamReadable.pause();
  }
  function onFinished(error) {
    cleanup();
    if (error?.code === "ERR_STREAM_PREMATURE_CLOSE") {
      error = new errors.AbortError(undefined, { cause: error });
    }
    try {
      if (error) ControllerError(controller, error);
      else ControllerClose(controller);
    } catch {
      // Already closed or errored from the web side.
    }
  }
  streamReadable.pause();
  const cleanup = finished(streamReadable, onFinished);
  streamReadable.on("data", onData);
  return new ReadableStream({
    start(c) {
      controller = c;
    },
    pull() {
      streamReadable.resume();
    },
    cancel(reason) {
      destroyer(streamReadable, reason);
    },
  }, strategy);
}

// ---- Writable <-> WritableStream ----------------------------------------

function writableFromWeb(writableStream, options = undefined) {
  if (!isWritableStream(writableStream)) {
    throw errors.ERR_INVALID_ARG_TYPE("writableStream", "WritableStream", writableStream);
  }
  options = validateOptions(options);
  const { highWaterMark, decodeStrings = true, objectMode = false, signal } = options;
  validateBoolean(objectMode, "options.objectMode");
  validateBoolean(decodeStrings, "options.decodeStrings");
  const writer = new Writer(writableStream);
  let closed = false;
  const writable = new Writable({
    highWaterMark,
    objectMode,
    decodeStrings,
    signal,
    writev(chunks, callback) {
      function done(error) {
        try {
          callback(error);
        } catch (err) {
          reportLater(err);
        }
      }
      PromisePrototypeThen(WriterReady(writer), () => {
        const writes = [];
        for (let i = 0; i < chunks.length; i++) ArrayPrototypePush(writes, WriterWrite(writer, chunks[i].chunk));
        return PromisePrototypeThen(PromiseAll(writes), () => done(), done);
      }, done);
    },
    write(chunk, encoding, callback) {
      if (typeof chunk === "string" && decodeStrings && !objectMode) {
        chunk = Buffer.from(chunk, encoding);
        chunk = new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(chunk), TypedArrayPrototypeGetByteOffset(chunk),
          TypedArrayPrototypeGetLength(chunk));
      }
      function done(error) {
        try {
          callback(error);
        } catch (err) {
          reportLater(err);
        }
      }
      PromisePrototypeThen(WriterReady(writer), () => PromisePrototypeThen(WriterWrite(writer, chunk), () => done(),
        done), done);
    },
    destroy(error, callback) {
      function done() {
        try {
          callback(error);
        } catch (err) {
          reportLater(err);
        }
      }
      if (!closed) {
        if (error != null) PromisePrototypeThen(WriterAbort(writer, error), done, done);
        else PromisePrototypeThen(WriterClose(writer), done, done);
        return;
      }
      done();
    },
    final(callback) {
      function done(error) {
        try {
          callback(error);
        } catch (err) {
          reportLater(err);
        }
      }
      if (!closed) PromisePrototypeThen(WriterClose(writer), () => done(), done);
    },
  });
  PromisePrototypeThen(WriterClosed(writer), () => {
    closed = true;
    if (!isWritableEnded(writable)) writable.destroy(errors.ERR_STREAM_PREMATURE_CLOSE());
  }, (error) => {
    closed = true;
    writable.destroy(error);
  });
  return writable;
}

function PromiseAll(promises) {
  return new PromiseCtor((resolve, reject) => {
    let remaining = promises.length;
    if (remaining === 0) resolve();
    for (let i = 0; i < promises.length; i++) {
      PromisePrototypeThen(promises[i], () => {
        if (--remaining === 0) resolve();
      }, reject);
    }
  });
}

// A WritableStream whose writes go to the Writable, waiting for 'drain'
// when it asks to.
function writableToWeb(streamWritable) {
  if (!isWritableNodeStream(streamWritable)) {
    throw errors.ERR_INVALID_ARG_TYPE("streamWritable", "stream.Writable", streamWritable);
  }
  if (isDestroyed(streamWritable) || !streamWritable.writable) {
    const writable = new WritableStream();
    const { writableStreamAbort, getWritableStreamState } = internals.streams;
    writableStreamAbort(getWritableStreamState(writable));
    return writable;
  }
  const highWaterMark = streamWritable.writableHighWaterMark;
  const strategy = streamWritable.writableObjectMode
    ? { highWaterMark, size: () => 1 }
    : { highWaterMark, size: (chunk) => (typeof chunk === "string" ? chunk.length : chunk?.byteLength ?? 1) };
  let controller;
  let backpressurePromise;
  let closed;
  function onDrain() {
    if (backpressurePromise !== undefined) backpressurePromise.resolve();
  }
  const cleanup = finished(streamWritable, (error) => {
    if (error?.code === "ERR_STREAM_PREMATURE_CLOSE") error = new errors.AbortError(undefined, { cause: error });
    cleanup();
    streamWritable.on("error", () => {});
    if (error != null) {
      if (backpressurePromise !== undefined) backpressurePromise.reject(error);
      if (closed !== undefined) {
        closed.reject(error);
        closed = undefined;
      }
      try {
        controller.error(error);
      } catch {
        // Already errored.
      }
      return;
    }
    if (closed !== undefined) {
      closed.resolve();
      closed = undefined;
    }
  });
  streamWritable.on("drain", onDrain);
  return new WritableStream({
    start(c) {
      controller = c;
    },
    write(chunk) {
      if (streamWritable.writableNeedDrain || !streamWritable.write(chunk)) {
        backpressurePromise = deferred();
        return PromisePrototypeThen(backpressurePromise.promise, () => {
          backpressurePromise = undefined;
        }, (error) => {
          backpressurePromise = undefined;
          throw error;
        });
      }
      return undefined;
    },
    abort(reason) {
      destroyer(streamWritable, reason);
    },
    close() {
      if (closed === undefined && !isWritableEnded(streamWritable)) {
        closed = deferred();
        streamWritable.end();
        return closed.promise;
      }
      controller = undefined;
      return PromiseResolve();
    },
  }, strategy);
}

// ---- Duplex <-> a pair ---------------------------------------------------

function duplexFromWeb(pair, options = undefined) {
  validateObject(pair, "pair");
  const { readable: readableStream, writable: writableStream } = pair;
  if (!isReadableStream(readableStream)) {
    throw errors.ERR_INVALID_ARG_TYPE("pair.readable", "ReadableStream", readableStream);
  }
  if (!isWritableStream(writableStream)) {
    throw errors.ERR_INVALID_ARG_TYPE("pair.writable", "WritableStream", writableStream);
  }
  options = validateOptions(options);
  const { allowHalfOpen = false, objectMode = false, encoding, decodeStrings = true, highWaterMark, signal } = options;
  const readable = readableFromWeb(readableStream, { objectMode, highWaterMark, encoding, signal });
  const writable = writableFromWeb(writableStream, { objectMode, highWaterMark, decodeStrings, signal });
  return duplexify(readable, writable, { allowHalfOpen, objectMode, encoding, decodeStrings, highWaterMark });
}

function duplexToWeb(duplex) {
  if (!isReadableNodeStream(duplex) || !isWritableNodeStream(duplex)) {
    throw errors.ERR_INVALID_ARG_TYPE("duplex", "stream.Duplex", duplex);
  }
  return { readable: readableToWeb(duplex), writable: writableToWeb(duplex) };
}

// One Duplex over a Readable and a Writable (either may be missing).
function duplexify(readable, writable, options) {
  let onfinish;
  let onreadable;
  let ondrain;
  let onclose;
  const duplex = new Duplex({
    readableObjectMode: !!readable?.readableObjectMode,
    writableObjectMode: !!writable?.writableObjectMode,
    readable: !!readable,
    writable: !!writable,
    ...options,
  });
  if (writable) {
    finished(writable, (err) => {
      if (err) destroyer(readable, err);
      const callback = onfinish;
      onfinish = null;
      if (callback) callback(err);
      else if (err) duplex.destroy(err);
    });
    duplex._write = function _write(chunk, encoding, callback) {
      if (writable.write(chunk, encoding)) callback();
      else ondrain = callback;
    };
    duplex._final = function _final(callback) {
      writable.end();
      onfinish = callback;
    };
    writable.on("drain", () => {
      if (ondrain) {
        const callback = ondrain;
        ondrain = null;
        callback();
      }
    });
    writable.on("finish", () => {
      if (onfinish) {
        const callback = onfinish;
        onfinish = null;
        callback();
      }
    });
  }
  if (readable) {
    finished(readable, (err) => {
      if (err) destroyer(readable, err);
      const callback = onclose;
      onclose = null;
      if (callback) callback(err);
      else if (err) duplex.destroy(err);
      else if (!duplex.destroyed) duplex.push(null);
    });
    readable.on("readable", () => {
      if (onreadable) {
        const callback = onreadable;
        onreadable = null;
        callback();
      }
    });
    readable.on("end", () => duplex.push(null));
    duplex._read = function _read() {
      while (true) {
        const buf = readable.read();
        if (buf === null) {
          onreadable = duplex._read;
          return;
        }
        if (!duplex.push(buf)) return;
      }
    };
  }
  duplex._destroy = function _destroy(err, callback) {
    if (!err && onclose !== null) err = new errors.AbortError();
    onreadable = null;
    ondrain = null;
    onfinish = null;
    if (onclose === null) {
      callback(err);
    } else {
      onclose = callback;
      destroyer(writable, err);
      destroyer(readable, err);
    }
  };
  return duplex;
}

// Duplex.from(value): a Duplex for a Duplex, a Readable or Writable, a
// Web stream or {readable, writable} pair, an iterable, or an async
// generator function (given the written chunks, its values are read).
function duplexFrom(body) {
  if (body instanceof Duplex) return body;
  if (isReadableNodeStream(body) || isWritableNodeStream(body)) {
    return duplexify(isReadableNodeStream(body) ? body : null, isWritableNodeStream(body) ? body : null,
      { objectMode: true });
  }
  if (isReadableStream(body)) return duplexify(readableFromWeb(body), null, { objectMode: true });
  if (isWritableStream(body)) return duplexify(null, writableFromWeb(body), { objectMode: true });
  if (typeof body === "function") {
    const { value, write, final, destroy } = fromAsyncGen(body);
    if (isIterable(value)) {
      return fromIterableWriting(value, write, final, destroy);
    }
    throw errors.ERR_INVALID_RETURN_VALUE("Iterable, AsyncIterable or AsyncFunction", "body", value);
  }
  if (isIterable(body)) return Readable.from(body, { objectMode: true, writable: false });
  if (body !== null && typeof body === "object" && (body.readable !== undefined || body.writable !== undefined)) {
    const readable = body.readable && (isReadableNodeStream(body.readable) ? body.readable
      : isReadableStream(body.readable) ? readableFromWeb(body.readable) : duplexFrom(body.readable));
    const writable = body.writable && (isWritableNodeStream(body.writable) ? body.writable
      : isWritableStream(body.writable) ? writableFromWeb(body.writable) : duplexFrom(body.writable));
    return duplexify(readable, writable, { objectMode: true });
  }
  throw errors.ERR_INVALID_ARG_TYPE("body",
    ["Blob", "ReadableStream", "WritableStream", "Stream", "Iterable", "AsyncIterable", "Function",
      "{ readable, writable } pair", "Promise"], body);
}

// Calls the generator function with an async iterable of what is written.
function fromAsyncGen(fn) {
  let { promise, resolve } = deferred();
  const ac = new internals.AbortController();
  const signal = ac.signal;
  const value = fn(async function* written() {
    while (true) {
      const current = promise;
      promise = null;
      const { chunk, done, cb } = await current;
      nextTick(cb);
      if (done) return;
      if (signal.aborted) throw new errors.AbortError(undefined, { cause: signal.reason });
      ({ promise, resolve } = deferred());
      yield chunk;
    }
  }(), { signal });
  return {
    value,
    write(chunk, encoding, cb) {
      const current = resolve;
      resolve = null;
      current({ chunk, done: false, cb });
    },
    final(cb) {
      const current = resolve;
      resolve = null;
      current({ done: true, cb });
    },
    destroy(err, cb) {
      ac.abort();
      cb(err);
    },
  };
}

function fromIterableWriting(iterable, write, final, destroy) {
  const readable = Readable.from(iterable, { objectMode: true });
  const duplex = duplexify(readable, null, { objectMode: true, writable: true });
  duplex._write = write;
  duplex._final = final;
  const readableDestroy = duplex._destroy;
  duplex._destroy = function _destroy(err, cb) {
    destroy(err, () => ReflectApply(readableDestroy, duplex, [err, cb]));
  };
  return duplex;
}

void isNodeStream;
return {
  __proto__: null,
  readableFromWeb,
  readableToWeb,
  writableFromWeb,
  writableToWeb,
  duplexFromWeb,
  duplexToWeb,
  duplexFrom,
};
