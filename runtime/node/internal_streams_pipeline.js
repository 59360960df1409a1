// pipeline(source, ...transforms, destination, callback): pipes each
// stage into the next (Node streams, Web streams, iterables, and async
// generator functions given the previous stage), destroys every stage when
// one fails, and calls back once with the first error or none.
// https://nodejs.org/api/stream.html#streampipelinesource-transforms-destination-callback

const { ArrayIsArray, PromisePrototypeThen, PromiseCtor, ReflectApply, ArrayPrototypePush, uncurryThis } =
  internals.primordials;
const ArrayPrototypePop = uncurryThis(Array.prototype.pop);
const ArrayPrototypeShift = uncurryThis(Array.prototype.shift);
const errors = require("internal/errors");
const { validateFunction, validateAbortSignal } = require("internal/validators");
const { Readable, createAsyncIterator } = require("internal/streams/readable");
const { PassThrough } = require("internal/streams/duplex");
const { duplexFrom } = require("internal/streams/adapters");
const end = require("internal/streams/end");
const {
  nextTick, once, finished, isIterable, isNodeStream, isReadableNodeStream, isReadableStream, isTransformStream,
  isWebStream, isReadable, isReadableFinished, aggregateTwoErrors, destroyer: destroyStream,
} = end;

const ReaderRead = uncurryThis(internals.ReadableStreamDefaultReader.prototype.read);
const ReaderReleaseLock = uncurryThis(internals.ReadableStreamDefaultReader.prototype.releaseLock);
const Writer = internals.WritableStreamDefaultWriter;
const WriterWrite = uncurryThis(Writer.prototype.write);
const WriterClose = uncurryThis(Writer.prototype.close);
const WriterAbort = uncurryThis(Writer.prototype.abort);
const WriterReady =
  uncurryThis(internals.primordials.ObjectGetOwnPropertyDescriptor(Writer.prototype, "ready").get);

// Its chunks as an async iterable: a Readable through its async iterator,
// a ReadableStream through a reader.
function makeAsyncIterable(value) {
  if (isReadableStream(value)) return fromWebReadable(value);
  if (isIterable(value)) return value;
  if (isReadableNodeStream(value)) return createAsyncIterator(value);
  throw errors.ERR_INVALID_ARG_TYPE("val", ["Readable", "Iterable", "AsyncIterable"], value);
}

async function* fromWebReadable(stream) {
  const reader = new internals.ReadableStreamDefaultReader(stream);
  try {
    while (true) {
      const { value, done } = await ReaderRead(reader);
      if (done) return;
      yield value;
    }
  } finally {
    ReaderReleaseLock(reader);
  }
}

function popCallback(streams) {
  validateFunction(streams[streams.length - 1], "streams[stream.length - 1]");
  return ArrayPrototypePop(streams);
}

function pipeline(...streams) {
  return pipelineImpl(streams, once(popCallback(streams)));
}

// Destroys `stream` when the pipeline fails, unless it finished cleanly.
function stageDestroyer(stream, reading, writing) {
  let done = false;
  stream.on("close", () => {
    done = true;
  });
  const cleanup = finished(stream, { readable: reading, writable: writing }, (err) => {
    done = !err;
  });
  return {
    destroy: (err) => {
      if (done) return;
      done = true;
      destroyStream(stream, err || errors.ERR_STREAM_DESTROYED("pipe"));
    },
    cleanup,
  };
}

function pipelineImpl(streams, callback, opts) {
  if (streams.length === 1 && ArrayIsArray(streams[0])) streams = streams[0];
  if (streams.length < 2) throw errors.ERR_MISSING_ARGS("streams");
  const ac = new internals.AbortController();
  const signal = ac.signal;
  const outerSignal = opts?.signal;
  const lastStreamCleanup = [];
  validateAbortSignal(outerSignal, "options.signal");
  function abort() {
    finishImpl(new errors.AbortError(undefined, { cause: outerSignal?.reason }));
  }
  if (outerSignal !== undefined) outerSignal.addEventListener("abort", abort, { once: true });

  let error;
  let value;
  const destroys = [];
  let finishCount = 0;
  function finish(err) {
    finishImpl(err, --finishCount === 0);
  }
  function finishImpl(err, final) {
    if (err && (!error || error.code === "ERR_STREAM_PREMATURE_CLOSE")) error = err;
    if (!error && !final) return;
    while (destroys.length) ArrayPrototypeShift(destroys)(error);
    if (outerSignal !== undefined) outerSignal.removeEventListener("abort", abort);
    ac.abort();
    if (final) {
      if (!error) {
        for (let i = 0; i < lastStreamCleanup.length; i++) lastStreamCleanup[i]();
      }
      nextTick(callback, error, value);
    }
  }

  let ret;
  for (let i = 0; i < streams.length; i++) {
    const stream = streams[i];
    const reading = i < streams.length - 1;
    const writing = i > 0;
    const endStage = reading || opts?.end !== false;
    const isLastStream = i === streams.length - 1;
    if (isNodeStream(stream)) {
      if (endStage) {
        const { destroy, cleanup } = stageDestroyer(stream, reading, writing);
        ArrayPrototypePush(destroys, destroy);
        if (isReadable(stream) && isLastStream) ArrayPrototypePush(lastStreamCleanup, cleanup);
      }
      const onError = (err) => {
        if (err && err.name !== "AbortError" && err.code !== "ERR_STREAM_PREMATURE_CLOSE") finish(err);
      };
      stream.on("error", onError);
      if (isReadable(stream) && isLastStream) {
        ArrayPrototypePush(lastStreamCleanup, () => stream.removeListener("error", onError));
      }
    }
    if (i === 0) {
      if (typeof stream === "function") {
        ret = stream({ signal });
        if (!isIterable(ret)) {
          throw errors.ERR_INVALID_RETURN_VALUE("Iterable, AsyncIterable or Stream", "source", ret);
        }
      } else if (isIterable(stream) || isReadableNodeStream(stream) || isTransformStream(stream)) {
        ret = stream;
      } else {
        ret = duplexFrom(stream);
      }
    } else if (typeof stream === "function") {
      ret = makeAsyncIterable(isTransformStream(ret) ? ret.readable : ret);
      ret = stream(ret, { signal });
      if (reading) {
        if (!isIterable(ret, true)) {
          throw errors.ERR_INVALID_RETURN_VALUE("AsyncIterable", `transform[${i - 1}]`, ret);
        }
      } else {
        // The last stage is a function: what it returns (a promise, or an
        // iterable) is the pipeline's value, through a PassThrough.
        const pt = new PassThrough({ objectMode: true });
        const then = ret?.then;
        if (typeof then === "function") {
          finishCount++;
          ReflectApply(then, ret, [(val) => {
            value = val;
            if (val != null) pt.write(val);
            if (endStage) pt.end();
            nextTick(finish);
          }, (err) => {
            pt.destroy(err);
            nextTick(finish, err);
          }]);
        } else if (isIterable(ret, true)) {
          finishCount++;
          pumpToNode(ret, pt, finish, { end: endStage });
        } else if (isReadableStream(ret) || isTransformStream(ret)) {
          finishCount++;
          pumpToNode(makeAsyncIterable(ret.readable || ret), pt, finish, { end: endStage });
        } else {
          throw errors.ERR_INVALID_RETURN_VALUE("AsyncIterable or Promise", "destination", ret);
        }
        ret = pt;
        const { destroy, cleanup } = stageDestroyer(ret, false, true);
        ArrayPrototypePush(destroys, destroy);
        if (isLastStream) ArrayPrototypePush(lastStreamCleanup, cleanup);
      }
    } else if (isNodeStream(stream)) {
      if (isReadableNodeStream(ret)) {
        finishCount += 2;
        const cleanup = pipe(ret, stream, finish, { end: endStage });
        if (isReadable(stream) && isLastStream) ArrayPrototypePush(lastStreamCleanup, cleanup);
      } else if (isTransformStream(ret) || isReadableStream(ret)) {
        finishCount++;
        pumpToNode(makeAsyncIterable(ret.readable || ret), stream, finish, { end: endStage });
      } else if (isIterable(ret)) {
        finishCount++;
        pumpToNode(ret, stream, finish, { end: endStage });
      } else {
        throw errors.ERR_INVALID_ARG_TYPE("val",
          ["Readable", "Iterable", "AsyncIterable", "ReadableStream", "TransformStream"], ret);
      }
      ret = stream;
    } else if (isWebStream(stream)) {
      if (isReadableNodeStream(ret) || isReadableStream(ret) || isIterable(ret)) {
        finishCount++;
        pumpToWeb(makeAsyncIterable(ret), isTransformStream(stream) ? stream.writable : stream, finish,
          { end: endStage });
      } else if (isTransformStream(ret)) {
        finishCount++;
        pumpToWeb(makeAsyncIterable(ret.readable), isTransformStream(stream) ? stream.writable : stream, finish,
          { end: endStage });
      } else {
        throw errors.ERR_INVALID_ARG_TYPE("val",
          ["Readable", "Iterable", "AsyncIterable", "ReadableStream", "TransformStream"], ret);
      }
      ret = stream;
    } else {
      ret = duplexFrom(stream);
    }
  }
  if (signal?.aborted || outerSignal?.aborted) nextTick(abort);
  return ret;
}

// src.pipe(dst), with the end of src ending dst and either failing
// counted once each.
function pipe(src, dst, finish, { end: endDst }) {
  let ended = false;
  dst.on("close", () => {
    if (!ended) finish(errors.ERR_STREAM_PREMATURE_CLOSE());
  });
  src.pipe(dst, { end: false });
  if (endDst) {
    const endFn = () => {
      ended = true;
      dst.end();
    };
    if (isReadableFinished(src)) nextTick(endFn);
    else src.once("end", endFn);
    finished(src, { readable: true, writable: false }, (err) => {
      const rState = src._readableState;
      if (err && err.code === "ERR_STREAM_PREMATURE_CLOSE" && rState && rState.ended && !rState.errored &&
          !rState.errorEmitted) {
        src.once("end", finish).once("error", finish);
      } else {
        finish(err);
      }
    });
  } else {
    finish();
  }
  return finished(dst, { readable: false, writable: true }, finish);
}

// Writes an (async) iterable's values to a Node Writable, waiting for
// 'drain' when it asks to.
async function pumpToNode(iterable, writable, finish, { end: endWritable }) {
  let error;
  let onresolve = null;
  const resume = (err) => {
    if (err) error = err;
    if (onresolve) {
      const callback = onresolve;
      onresolve = null;
      callback();
    }
  };
  const wait = () => new PromiseCtor((resolve, reject) => {
    if (error) {
      reject(error);
    } else {
      onresolve = () => {
        if (error) reject(error);
        else resolve();
      };
    }
  });
  writable.on("drain", resume);
  const cleanup = finished(writable, { readable: false }, resume);
  try {
    if (writable.writableNeedDrain) await wait();
    for await (const chunk of iterable) {
      if (!writable.write(chunk)) await wait();
    }
    if (endWritable) {
      writable.end();
      await wait();
    }
    finish();
  } catch (err) {
    finish(error !== err ? aggregateTwoErrors(error, err) : err);
  } finally {
    cleanup();
    writable.off("drain", resume);
  }
}

async function pumpToWeb(iterable, writableStream, finish, { end: endWritable }) {
  const writer = new Writer(writableStream);
  try {
    for await (const chunk of iterable) {
      await WriterReady(writer);
      PromisePrototypeThen(WriterWrite(writer, chunk), undefined, () => {});
    }
    await WriterReady(writer);
    if (endWritable) await WriterClose(writer);
    finish();
  } catch (err) {
    try {
      await WriterAbort(writer, err);
      finish(err);
    } catch (abortError) {
      finish(abortError);
    }
  }
}

// node:stream/promises' pipeline: the last argument may be options
// ({ signal, end }).
function pipelinePromise(...streams) {
  return new PromiseCtor((resolve, reject) => {
    let options;
    const last = streams[streams.length - 1];
    if (last && typeof last === "object" && !isNodeStream(last) && !isIterable(last) && !isWebStream(last)) {
      options = ArrayPrototypePop(streams);
    }
    pipelineImpl(streams, (err, value) => {
      if (err) reject(err);
      else resolve(value);
    }, { signal: options?.signal, end: options?.end });
  });
}

void Readable;
return { __proto__: null, pipeline, pipelineImpl, pipelinePromise };
