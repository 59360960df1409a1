// ReadableStreamPipeTo (https://streams.spec.whatwg.org/#readable-stream-pipe-to),
// behind ReadableStream.prototype.pipeTo and pipeThrough (streams.js). Runs
// after streams.js and streams_writable.js.
//
// The abort signal is duck-typed until the runtime has AbortSignal: `aborted`
// and `reason` are read from it, and the abort algorithm is added with
// internals.addAbortAlgorithm(signal, fn) / internals.removeAbortAlgorithm(
// signal, fn) when the runtime provides them, else as an "abort" event
// listener (removed with removeEventListener when the pipe finishes).

const {
  hooks, noop, newPromiseCapability, promiseResolvedWith, setPromiseIsHandled, uponPromise, transformPromise,
  queueMicrotaskInternal, acquireReadableStreamDefaultReader, readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease, readableStreamCancel, acquireWritableStreamDefaultWriter,
  writableStreamAbort, writableStreamCloseQueuedOrInFlight,
  writableStreamDefaultWriterCloseWithErrorPropagation, writableStreamDefaultWriterRelease,
  writableStreamDefaultWriterWrite,
} = internals.streams;

const ReflectApply = Reflect.apply;

// WebIDL "getting a promise to wait for all", without going through the
// (patchable) Promise.all and Promise.prototype.then.
function waitForAll(promises) {
  const result = newPromiseCapability();
  const total = promises.length;
  if (total === 0) {
    queueMicrotaskInternal(() => result.resolve(undefined));
    return result.promise;
  }
  let fulfilled = 0;
  for (let i = 0; i < total; i++) {
    uponPromise(
      promises[i],
      () => {
        if (++fulfilled === total) result.resolve(undefined);
      },
      result.reject,
    );
  }
  return result.promise;
}

function addAbortAlgorithm(signal, algorithm) {
  const add = internals.addAbortAlgorithm;
  if (typeof add === "function") {
    add(signal, algorithm);
    return;
  }
  ReflectApply(signal.addEventListener, signal, ["abort", algorithm]);
}

function removeAbortAlgorithm(signal, algorithm) {
  const remove = internals.removeAbortAlgorithm;
  if (typeof remove === "function") {
    remove(signal, algorithm);
    return;
  }
  const removeEventListener = signal.removeEventListener;
  if (typeof removeEventListener === "function") {
    ReflectApply(removeEventListener, signal, ["abort", algorithm]);
  }
}

function readableStreamPipeTo(source, dest, preventClose, preventAbort, preventCancel, signal = undefined) {
  // A byte stream is read with a default reader too (the spec allows either).
  const reader = acquireReadableStreamDefaultReader(source);
  const writer = acquireWritableStreamDefaultWriter(dest);
  source.disturbed = true;
  let shuttingDown = false;
  // The last write started, to wait for writes to finish during shutdown.
  let currentWrite = promiseResolvedWith(undefined);
  const promise = newPromiseCapability();
  let abortAlgorithm;

  if (signal !== undefined) {
    abortAlgorithm = () => {
      const error = signal.reason;
      const actions = [];
      if (!preventAbort) {
        actions.push(() => {
          if (dest.state === "writable") return writableStreamAbort(dest, error);
          return promiseResolvedWith(undefined);
        });
      }
      if (!preventCancel) {
        actions.push(() => {
          if (source.state === "readable") return readableStreamCancel(source, error);
          return promiseResolvedWith(undefined);
        });
      }
      shutdownWithAction(
        () => {
          const promises = [];
          for (let i = 0; i < actions.length; i++) promises.push(actions[i]());
          return waitForAll(promises);
        },
        true,
        error,
      );
    };
    if (signal.aborted) {
      abortAlgorithm();
      return promise.promise;
    }
    addAbortAlgorithm(signal, abortAlgorithm);
  }

  // For chunks read while the source has more queued (no promise per chunk).
  const syncReadRequest = {
    chunkSteps(chunk) {
      currentWrite = transformPromise(writableStreamDefaultWriterWrite(writer, chunk), undefined, noop);
    },
    closeSteps: noop,
    errorSteps: noop,
  };

  function sourceHasQueuedChunk() {
    const controller = source.controller;
    return controller.isByte ? controller.queueTotalSize > 0 : controller.queue.length > 0;
  }

  // Reads and writes what can be without waiting, then waits for the writer to
  // be ready or for the next chunk; resolves with true when the loop is done.
  function pipeStep() {
    // Backpressure: read only while the destination wants more.
    while (
      !shuttingDown &&
      !dest.backpressure &&
      dest.state === "writable" &&
      !writableStreamCloseQueuedOrInFlight(dest) &&
      source.state === "readable" &&
      sourceHasQueuedChunk()
    ) {
      readableStreamDefaultReaderRead(reader, syncReadRequest);
    }
    if (shuttingDown) return promiseResolvedWith(true);
    if (dest.backpressure) return transformPromise(writer.readyPromise.promise, pipeStep);
    if (dest.state !== "writable" || writableStreamCloseQueuedOrInFlight(dest)) return promiseResolvedWith(true);
    const read = newPromiseCapability();
    readableStreamDefaultReaderRead(reader, {
      // A chunk that fulfils this waiting read comes from the source's
      // enqueue(): it is written a microtask later, so enqueue() never runs
      // the destination's write algorithm itself.
      chunkSteps(chunk) {
        queueMicrotaskInternal(() => {
          currentWrite = transformPromise(writableStreamDefaultWriterWrite(writer, chunk), undefined, noop);
          read.resolve(false);
        });
      },
      closeSteps() {
        read.resolve(true);
      },
      errorSteps: read.reject,
    });
    return read.promise;
  }

  function pipeLoop() {
    const loop = newPromiseCapability();
    function next(done) {
      if (done) loop.resolve(undefined);
      else uponPromise(pipeStep(), next, loop.reject);
    }
    next(false);
    return loop.promise;
  }

  // Errors must be propagated forward.
  isOrBecomesErrored(source, reader.closedPromise.promise, (storedError) => {
    if (!preventAbort) {
      shutdownWithAction(() => writableStreamAbort(dest, storedError), true, storedError);
    } else {
      shutdown(true, storedError);
    }
  });

  // Errors must be propagated backward.
  isOrBecomesErrored(dest, writer.closedPromise.promise, (storedError) => {
    if (!preventCancel) {
      shutdownWithAction(() => readableStreamCancel(source, storedError), true, storedError);
    } else {
      shutdown(true, storedError);
    }
  });

  // Closing must be propagated forward.
  isOrBecomesClosed(source, reader.closedPromise.promise, () => {
    if (!preventClose) {
      shutdownWithAction(() => writableStreamDefaultWriterCloseWithErrorPropagation(writer));
    } else {
      shutdown();
    }
  });

  // Closing must be propagated backward.
  if (writableStreamCloseQueuedOrInFlight(dest) || dest.state === "closed") {
    const destClosed = new TypeError("The destination WritableStream closed before all data could be piped to it.");
    if (!preventCancel) {
      shutdownWithAction(() => readableStreamCancel(source, destClosed), true, destClosed);
    } else {
      shutdown(true, destClosed);
    }
  }

  setPromiseIsHandled(pipeLoop());

  function waitForWritesToFinish() {
    // Another write may have started while waiting on this one.
    const oldCurrentWrite = currentWrite;
    return transformPromise(currentWrite, () =>
      oldCurrentWrite !== currentWrite ? waitForWritesToFinish() : undefined,
    );
  }

  function isOrBecomesErrored(stream, streamPromise, action) {
    if (stream.state === "errored") action(stream.storedError);
    else uponPromise(streamPromise, undefined, action);
  }

  function isOrBecomesClosed(stream, streamPromise, action) {
    if (stream.state === "closed") action();
    else uponPromise(streamPromise, action);
  }

  function shutdownWithAction(action, originalIsError = false, originalError = undefined) {
    if (shuttingDown) return;
    shuttingDown = true;
    if (dest.state === "writable" && !writableStreamCloseQueuedOrInFlight(dest)) {
      uponPromise(waitForWritesToFinish(), doTheRest);
    } else {
      doTheRest();
    }
    function doTheRest() {
      uponPromise(
        action(),
        () => finalize(originalIsError, originalError),
        (newError) => finalize(true, newError),
      );
    }
  }

  function shutdown(isError = false, error = undefined) {
    if (shuttingDown) return;
    shuttingDown = true;
    if (dest.state === "writable" && !writableStreamCloseQueuedOrInFlight(dest)) {
      uponPromise(waitForWritesToFinish(), () => finalize(isError, error));
    } else {
      finalize(isError, error);
    }
  }

  function finalize(isError, error) {
    writableStreamDefaultWriterRelease(writer);
    readableStreamDefaultReaderRelease(reader);
    if (signal !== undefined) removeAbortAlgorithm(signal, abortAlgorithm);
    if (isError) promise.reject(error);
    else promise.resolve(undefined);
  }

  return promise.promise;
}


hooks.readableStreamPipeTo = readableStreamPipeTo;
internals.streams.readableStreamPipeTo = readableStreamPipeTo;
