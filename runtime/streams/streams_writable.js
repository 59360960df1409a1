// WritableStream (https://streams.spec.whatwg.org/#ws-class), with
// WritableStreamDefaultWriter and WritableStreamDefaultController. Runs after
// streams.js and uses its operations (internals.streams); the public classes
// wrap internal records, as in streams.js.
//
// WritableStreamDefaultController.signal: the spec gives each controller an
// AbortController. It is made on first access to `signal` (nothing can
// observe it before), from internals.AbortController when the runtime has
// one, else from a minimal AbortSignal stand-in (an EventTarget with
// `aborted`, `reason`, `onabort` and throwIfAborted()).

const { finishInterface, inspectSymbol, inspectNamed, illegalConstructor, illegalInvocation, brandCheck, isObject } =
  internals;
const {
  hooks, kCreate, wrapperOf, acquireForConstructor, lockedOperation, releaseLockOperation, closedPromiseOf,
  noop, resolvedUndefined, newPromiseCapability, promiseResolvedWith, promiseRejectedWith,
  setPromiseIsHandled, uponPromise, promiseCall, Queue, dequeueValue, enqueueValueWithSize, peekQueueValue,
  resetQueue, convertQueuingStrategy, extractHighWaterMark, extractSizeAlgorithm,
} = internals.streams;

const ReflectApply = Reflect.apply;
const PromiseResolve = Promise.resolve.bind(Promise);
const PromiseReject = Promise.reject.bind(Promise);

// ---------------------------------------------------------------------------
// Promises whose state the spec inspects ("if promise is pending").

function newTrackedPromise() {
  const { promise, resolve, reject } = newPromiseCapability();
  return { promise, resolve, reject, state: "pending" };
}

function trackedPromiseResolvedWith(value) {
  return { promise: PromiseResolve(value), resolve: noop, reject: noop, state: "fulfilled" };
}

function trackedPromiseRejectedWith(reason) {
  const promise = PromiseReject(reason);
  return { promise, resolve: noop, reject: noop, state: "rejected" };
}

function resolveTracked(capability, value) {
  if (capability.state !== "pending") return;
  capability.state = "fulfilled";
  capability.resolve(value);
}

function rejectTracked(capability, reason) {
  if (capability.state !== "pending") return;
  capability.state = "rejected";
  capability.reject(reason);
}

// ---------------------------------------------------------------------------
// The controller's AbortSignal.

let AbortSignalStandIn;

function createAbortController() {
  const AbortControllerCtor = internals.AbortController;
  if (typeof AbortControllerCtor === "function") {
    const controller = new AbortControllerCtor();
    return { signal: controller.signal, abort: (reason) => controller.abort(reason) };
  }
  if (AbortSignalStandIn === undefined) AbortSignalStandIn = makeAbortSignalStandIn();
  return AbortSignalStandIn.create();
}

function makeAbortSignalStandIn() {
  const { EventTarget, Event, DOMException } = internals;
  const kCreateSignal = {};
  let signalAbort;
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;

    constructor(token = undefined) {
      if (token !== kCreateSignal) throw illegalConstructor();
      super();
    }

    get aborted() {
      return this.#aborted;
    }

    get reason() {
      return this.#reason;
    }

    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }

    get onabort() {
      return this.#onabort;
    }

    set onabort(value) {
      if (this.#onabort !== null) this.removeEventListener("abort", this.#onabort);
      this.#onabort = typeof value === "function" || isObject(value) ? value : null;
      if (this.#onabort !== null) this.addEventListener("abort", this.#onabort);
    }

    static {
      signalAbort = (signal, reason) => {
        if (signal.#aborted) return;
        signal.#aborted = true;
        signal.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
        signal.dispatchEvent(new Event("abort"));
      };
    }
  }
  finishInterface(AbortSignal);
  return {
    create() {
      const signal = new AbortSignal(kCreateSignal);
      return { signal, abort: (reason) => signalAbort(signal, reason) };
    },
  };
}

// ---------------------------------------------------------------------------
// Internal records.

class WritableStreamState {
  state = "writable"; // "writable" | "closed" | "erroring" | "errored"
  storedError = undefined;
  writer = undefined;
  controller = undefined;
  inFlightWriteRequest = undefined; // capability
  closeRequest = undefined; // capability
  inFlightCloseRequest = undefined; // capability
  pendingAbortRequest = undefined; // { promise: capability, reason, wasAlreadyErroring }
  writeRequests = new Queue(); // of capabilities
  backpressure = false;
  wrapper = undefined;
}

class WriterState {
  stream = undefined;
  closedPromise = undefined; // tracked capability
  readyPromise = undefined; // tracked capability
  wrapper = undefined;
}

const closeSentinel = {};

class WritableControllerState {
  stream = undefined;
  queue = new Queue();
  queueTotalSize = 0;
  abortController = undefined; // made on first access to `signal`
  abortRequested = false; // signalled before the AbortController existed
  abortReason = undefined;
  started = false;
  strategySizeAlgorithm = undefined;
  strategyHWM = 1;
  writeAlgorithm = undefined;
  closeAlgorithm = undefined;
  abortAlgorithm = undefined;
  wrapper = undefined;

  // [[AbortSteps]]
  abortSteps(reason) {
    const result = this.abortAlgorithm(reason);
    writableStreamDefaultControllerClearAlgorithms(this);
    return result;
  }

  // [[ErrorSteps]]
  errorSteps() {
    resetQueue(this);
  }
}

function controllerSignal(controller) {
  if (controller.abortController === undefined) {
    controller.abortController = createAbortController();
    if (controller.abortRequested) {
      const reason = controller.abortReason;
      controller.abortReason = undefined;
      controller.abortController.abort(reason);
    }
  }
  return controller.abortController.signal;
}

// "Signal abort" on the controller's AbortController.
function controllerSignalAbort(controller, reason) {
  if (controller.abortController !== undefined) {
    controller.abortController.abort(reason);
  } else if (!controller.abortRequested) {
    controller.abortRequested = true;
    controller.abortReason = reason;
  }
}

// ---------------------------------------------------------------------------
// Working with writable streams.

function acquireWritableStreamDefaultWriter(stream) {
  const writer = new WriterState();
  setUpWritableStreamDefaultWriter(writer, stream);
  return writer;
}

function createWritableStream(
  startAlgorithm,
  writeAlgorithm,
  closeAlgorithm,
  abortAlgorithm,
  highWaterMark,
  sizeAlgorithm,
) {
  const stream = new WritableStreamState();
  wrapWritableStream(stream);
  const controller = new WritableControllerState();
  setUpWritableStreamDefaultController(
    stream,
    controller,
    startAlgorithm,
    writeAlgorithm,
    closeAlgorithm,
    abortAlgorithm,
    highWaterMark,
    sizeAlgorithm,
  );
  return stream;
}

function isWritableStreamLocked(stream) {
  return stream.writer !== undefined;
}

function setUpWritableStreamDefaultWriter(writer, stream) {
  if (isWritableStreamLocked(stream)) {
    throw new TypeError("This WritableStream is already locked to a writer.");
  }
  writer.stream = stream;
  stream.writer = writer;
  const state = stream.state;
  if (state === "writable") {
    if (!writableStreamCloseQueuedOrInFlight(stream) && stream.backpressure) {
      writer.readyPromise = newTrackedPromise();
    } else {
      writer.readyPromise = trackedPromiseResolvedWith(undefined);
    }
    writer.closedPromise = newTrackedPromise();
  } else if (state === "erroring") {
    writer.readyPromise = trackedPromiseRejectedWith(stream.storedError);
    setPromiseIsHandled(writer.readyPromise.promise);
    writer.closedPromise = newTrackedPromise();
  } else if (state === "closed") {
    writer.readyPromise = trackedPromiseResolvedWith(undefined);
    writer.closedPromise = trackedPromiseResolvedWith(undefined);
  } else {
    const storedError = stream.storedError;
    writer.readyPromise = trackedPromiseRejectedWith(storedError);
    setPromiseIsHandled(writer.readyPromise.promise);
    writer.closedPromise = trackedPromiseRejectedWith(storedError);
    setPromiseIsHandled(writer.closedPromise.promise);
  }
}

function writableStreamAbort(stream, reason) {
  if (stream.state === "closed" || stream.state === "errored") return promiseResolvedWith(undefined);
  controllerSignalAbort(stream.controller, reason);
  const state = stream.state;
  if (state === "closed" || state === "errored") return promiseResolvedWith(undefined);
  if (stream.pendingAbortRequest !== undefined) return stream.pendingAbortRequest.promise.promise;
  let wasAlreadyErroring = false;
  if (state === "erroring") {
    wasAlreadyErroring = true;
    reason = undefined;
  }
  const promise = newPromiseCapability();
  stream.pendingAbortRequest = { promise, reason, wasAlreadyErroring };
  if (!wasAlreadyErroring) writableStreamStartErroring(stream, reason);
  return promise.promise;
}

function writableStreamClose(stream) {
  const state = stream.state;
  if (state === "closed" || state === "errored") {
    return promiseRejectedWith(new TypeError("The stream is closed or errored and cannot be closed."));
  }
  const promise = newPromiseCapability();
  stream.closeRequest = promise;
  const writer = stream.writer;
  if (writer !== undefined && stream.backpressure && state === "writable") {
    resolveTracked(writer.readyPromise, undefined);
  }
  writableStreamDefaultControllerClose(stream.controller);
  return promise.promise;
}

// ---------------------------------------------------------------------------
// Interfacing with controllers.

function writableStreamAddWriteRequest(stream) {
  const promise = newPromiseCapability();
  stream.writeRequests.push(promise);
  return promise.promise;
}

function writableStreamCloseQueuedOrInFlight(stream) {
  return stream.closeRequest !== undefined || stream.inFlightCloseRequest !== undefined;
}

function writableStreamDealWithRejection(stream, error) {
  if (stream.state === "writable") {
    writableStreamStartErroring(stream, error);
    return;
  }
  writableStreamFinishErroring(stream);
}

function writableStreamFinishErroring(stream) {
  stream.state = "errored";
  stream.controller.errorSteps();
  const storedError = stream.storedError;
  const writeRequests = stream.writeRequests;
  stream.writeRequests = new Queue();
  while (writeRequests.length > 0) writeRequests.shift().reject(storedError);
  if (stream.pendingAbortRequest === undefined) {
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    return;
  }
  const abortRequest = stream.pendingAbortRequest;
  stream.pendingAbortRequest = undefined;
  if (abortRequest.wasAlreadyErroring) {
    abortRequest.promise.reject(storedError);
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    return;
  }
  const promise = stream.controller.abortSteps(abortRequest.reason);
  uponPromise(
    promise,
    () => {
      abortRequest.promise.resolve(undefined);
      writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    },
    (reason) => {
      abortRequest.promise.reject(reason);
      writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    },
  );
}

function writableStreamFinishInFlightClose(stream) {
  stream.inFlightCloseRequest.resolve(undefined);
  stream.inFlightCloseRequest = undefined;
  if (stream.state === "erroring") {
    stream.storedError = undefined;
    if (stream.pendingAbortRequest !== undefined) {
      stream.pendingAbortRequest.promise.resolve(undefined);
      stream.pendingAbortRequest = undefined;
    }
  }
  stream.state = "closed";
  const writer = stream.writer;
  if (writer !== undefined) resolveTracked(writer.closedPromise, undefined);
}

function writableStreamFinishInFlightCloseWithError(stream, error) {
  stream.inFlightCloseRequest.reject(error);
  stream.inFlightCloseRequest = undefined;
  if (stream.pendingAbortRequest !== undefined) {
    stream.pendingAbortRequest.promise.reject(error);
    stream.pendingAbortRequest = undefined;
  }
  writableStreamDealWithRejection(stream, error);
}

function writableStreamFinishInFlightWrite(stream) {
  stream.inFlightWriteRequest.resolve(undefined);
  stream.inFlightWriteRequest = undefined;
}

function writableStreamFinishInFlightWriteWithError(stream, error) {
  stream.inFlightWriteRequest.reject(error);
  stream.inFlightWriteRequest = undefined;
  writableStreamDealWithRejection(stream, error);
}

function writableStreamHasOperationMarkedInFlight(stream) {
  return stream.inFlightWriteRequest !== undefined || stream.inFlightCloseRequest !== undefined;
}

function writableStreamMarkCloseRequestInFlight(stream) {
  stream.inFlightCloseRequest = stream.closeRequest;
  stream.closeRequest = undefined;
}

function writableStreamMarkFirstWriteRequestInFlight(stream) {
  stream.inFlightWriteRequest = stream.writeRequests.shift();
}

function writableStreamRejectCloseAndClosedPromiseIfNeeded(stream) {
  if (stream.closeRequest !== undefined) {
    stream.closeRequest.reject(stream.storedError);
    stream.closeRequest = undefined;
  }
  const writer = stream.writer;
  if (writer !== undefined) {
    rejectTracked(writer.closedPromise, stream.storedError);
    setPromiseIsHandled(writer.closedPromise.promise);
  }
}

function writableStreamStartErroring(stream, reason) {
  const controller = stream.controller;
  stream.state = "erroring";
  stream.storedError = reason;
  const writer = stream.writer;
  if (writer !== undefined) writableStreamDefaultWriterEnsureReadyPromiseRejected(writer, reason);
  if (!writableStreamHasOperationMarkedInFlight(stream) && controller.started) {
    writableStreamFinishErroring(stream);
  }
}

function writableStreamUpdateBackpressure(stream, backpressure) {
  const writer = stream.writer;
  if (writer !== undefined && backpressure !== stream.backpressure) {
    if (backpressure) writer.readyPromise = newTrackedPromise();
    else resolveTracked(writer.readyPromise, undefined);
  }
  stream.backpressure = backpressure;
}

// ---------------------------------------------------------------------------
// Writers.

function writableStreamDefaultWriterAbort(writer, reason) {
  return writableStreamAbort(writer.stream, reason);
}

function writableStreamDefaultWriterClose(writer) {
  return writableStreamClose(writer.stream);
}

function writableStreamDefaultWriterCloseWithErrorPropagation(writer) {
  const stream = writer.stream;
  const state = stream.state;
  if (writableStreamCloseQueuedOrInFlight(stream) || state === "closed") return promiseResolvedWith(undefined);
  if (state === "errored") return promiseRejectedWith(stream.storedError);
  return writableStreamDefaultWriterClose(writer);
}

function writableStreamDefaultWriterEnsureClosedPromiseRejected(writer, error) {
  if (writer.closedPromise.state === "pending") rejectTracked(writer.closedPromise, error);
  else writer.closedPromise = trackedPromiseRejectedWith(error);
  setPromiseIsHandled(writer.closedPromise.promise);
}

function writableStreamDefaultWriterEnsureReadyPromiseRejected(writer, error) {
  if (writer.readyPromise.state === "pending") rejectTracked(writer.readyPromise, error);
  else writer.readyPromise = trackedPromiseRejectedWith(error);
  setPromiseIsHandled(writer.readyPromise.promise);
}

function writableStreamDefaultWriterGetDesiredSize(writer) {
  const stream = writer.stream;
  const state = stream.state;
  if (state === "errored" || state === "erroring") return null;
  if (state === "closed") return 0;
  return writableStreamDefaultControllerGetDesiredSize(stream.controller);
}

function writableStreamDefaultWriterRelease(writer) {
  const stream = writer.stream;
  const releasedError = new TypeError("The writer's lock on the WritableStream was released.");
  writableStreamDefaultWriterEnsureReadyPromiseRejected(writer, releasedError);
  writableStreamDefaultWriterEnsureClosedPromiseRejected(writer, releasedError);
  stream.writer = undefined;
  writer.stream = undefined;
}

function writableStreamDefaultWriterWrite(writer, chunk) {
  const stream = writer.stream;
  const controller = stream.controller;
  const chunkSize = writableStreamDefaultControllerGetChunkSize(controller, chunk);
  if (stream !== writer.stream) {
    return promiseRejectedWith(new TypeError("The writer's lock was released while computing the chunk's size."));
  }
  const state = stream.state;
  if (state === "errored") return promiseRejectedWith(stream.storedError);
  if (writableStreamCloseQueuedOrInFlight(stream) || state === "closed") {
    return promiseRejectedWith(new TypeError("The stream is closing or closed and cannot be written to."));
  }
  if (state === "erroring") return promiseRejectedWith(stream.storedError);
  const promise = writableStreamAddWriteRequest(stream);
  writableStreamDefaultControllerWrite(controller, chunk, chunkSize);
  return promise;
}

// ---------------------------------------------------------------------------
// Default controllers.

function setUpWritableStreamDefaultController(
  stream,
  controller,
  startAlgorithm,
  writeAlgorithm,
  closeAlgorithm,
  abortAlgorithm,
  highWaterMark,
  sizeAlgorithm,
) {
  controller.stream = stream;
  stream.controller = controller;
  resetQueue(controller);
  controller.started = false;
  controller.strategySizeAlgorithm = sizeAlgorithm;
  controller.strategyHWM = highWaterMark;
  controller.writeAlgorithm = writeAlgorithm;
  controller.closeAlgorithm = closeAlgorithm;
  controller.abortAlgorithm = abortAlgorithm;
  const backpressure = writableStreamDefaultControllerGetBackpressure(controller);
  writableStreamUpdateBackpressure(stream, backpressure);
  const startResult = startAlgorithm();
  uponPromise(
    promiseResolvedWith(startResult),
    () => {
      controller.started = true;
      writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
    },
    (r) => {
      controller.started = true;
      writableStreamDealWithRejection(stream, r);
    },
  );
}

function setUpWritableStreamDefaultControllerFromUnderlyingSink(
  stream,
  underlyingSink,
  sink,
  highWaterMark,
  sizeAlgorithm,
) {
  const controller = new WritableControllerState();
  const controllerWrapper = () => wrapperOf(controller, WritableStreamDefaultController);
  let startAlgorithm = noop;
  let writeAlgorithm = resolvedUndefined;
  let closeAlgorithm = resolvedUndefined;
  let abortAlgorithm = resolvedUndefined;
  if (sink.start !== undefined) {
    const start = sink.start;
    startAlgorithm = () => ReflectApply(start, underlyingSink, [controllerWrapper()]);
  }
  if (sink.write !== undefined) {
    const write = sink.write;
    writeAlgorithm = (chunk) => promiseCall(write, underlyingSink, [chunk, controllerWrapper()]);
  }
  if (sink.close !== undefined) {
    const close = sink.close;
    closeAlgorithm = () => promiseCall(close, underlyingSink, []);
  }
  if (sink.abort !== undefined) {
    const abort = sink.abort;
    abortAlgorithm = (reason) => promiseCall(abort, underlyingSink, [reason]);
  }
  setUpWritableStreamDefaultController(
    stream,
    controller,
    startAlgorithm,
    writeAlgorithm,
    closeAlgorithm,
    abortAlgorithm,
    highWaterMark,
    sizeAlgorithm,
  );
}

function writableStreamDefaultControllerAdvanceQueueIfNeeded(controller) {
  const stream = controller.stream;
  if (!controller.started) return;
  if (stream.inFlightWriteRequest !== undefined) return;
  const state = stream.state;
  if (state === "erroring") {
    writableStreamFinishErroring(stream);
    return;
  }
  if (controller.queue.length === 0) return;
  const value = peekQueueValue(controller);
  if (value === closeSentinel) writableStreamDefaultControllerProcessClose(controller);
  else writableStreamDefaultControllerProcessWrite(controller, value);
}

function writableStreamDefaultControllerClearAlgorithms(controller) {
  controller.writeAlgorithm = undefined;
  controller.closeAlgorithm = undefined;
  controller.abortAlgorithm = undefined;
  controller.strategySizeAlgorithm = undefined;
}

function writableStreamDefaultControllerClose(controller) {
  enqueueValueWithSize(controller, closeSentinel, 0);
  writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
}

function writableStreamDefaultControllerError(controller, error) {
  const stream = controller.stream;
  writableStreamDefaultControllerClearAlgorithms(controller);
  writableStreamStartErroring(stream, error);
}

function writableStreamDefaultControllerErrorIfNeeded(controller, error) {
  if (controller.stream.state === "writable") writableStreamDefaultControllerError(controller, error);
}

function writableStreamDefaultControllerGetBackpressure(controller) {
  return writableStreamDefaultControllerGetDesiredSize(controller) <= 0;
}

function writableStreamDefaultControllerGetChunkSize(controller, chunk) {
  const sizeAlgorithm = controller.strategySizeAlgorithm;
  if (sizeAlgorithm === undefined) return 1;
  try {
    return sizeAlgorithm(chunk);
  } catch (e) {
    writableStreamDefaultControllerErrorIfNeeded(controller, e);
    return 1;
  }
}

function writableStreamDefaultControllerGetDesiredSize(controller) {
  return controller.strategyHWM - controller.queueTotalSize;
}

function writableStreamDefaultControllerProcessClose(controller) {
  const stream = controller.stream;
  writableStreamMarkCloseRequestInFlight(stream);
  dequeueValue(controller);
  const sinkClosePromise = controller.closeAlgorithm();
  writableStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(
    sinkClosePromise,
    () => {
      writableStreamFinishInFlightClose(stream);
    },
    (reason) => {
      writableStreamFinishInFlightCloseWithError(stream, reason);
    },
  );
}

function writableStreamDefaultControllerProcessWrite(controller, chunk) {
  const stream = controller.stream;
  writableStreamMarkFirstWriteRequestInFlight(stream);
  const sinkWritePromise = controller.writeAlgorithm(chunk);
  uponPromise(
    sinkWritePromise,
    () => {
      writableStreamFinishInFlightWrite(stream);
      const state = stream.state;
      dequeueValue(controller);
      if (!writableStreamCloseQueuedOrInFlight(stream) && state === "writable") {
        const backpressure = writableStreamDefaultControllerGetBackpressure(controller);
        writableStreamUpdateBackpressure(stream, backpressure);
      }
      writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
    },
    (reason) => {
      if (stream.state === "writable") writableStreamDefaultControllerClearAlgorithms(controller);
      writableStreamFinishInFlightWriteWithError(stream, reason);
    },
  );
}

function writableStreamDefaultControllerWrite(controller, chunk, chunkSize) {
  try {
    enqueueValueWithSize(controller, chunk, chunkSize);
  } catch (e) {
    writableStreamDefaultControllerErrorIfNeeded(controller, e);
    return;
  }
  const stream = controller.stream;
  if (!writableStreamCloseQueuedOrInFlight(stream) && stream.state === "writable") {
    const backpressure = writableStreamDefaultControllerGetBackpressure(controller);
    writableStreamUpdateBackpressure(stream, backpressure);
  }
  writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
}

// ---------------------------------------------------------------------------
// WebIDL dictionary UnderlyingSink (members in alphabetical order).

function convertUnderlyingSink(sink, context) {
  const result = { abort: undefined, close: undefined, start: undefined, type: undefined, write: undefined };
  if (sink === undefined || sink === null) return result;
  for (const name of ["abort", "close", "start"]) {
    const fn = sink[name];
    if (fn !== undefined) {
      if (typeof fn !== "function") throw new TypeError(`${context}: underlyingSink.${name} is not a function.`);
      result[name] = fn;
    }
  }
  result.type = sink.type;
  const write = sink.write;
  if (write !== undefined) {
    if (typeof write !== "function") throw new TypeError(`${context}: underlyingSink.write is not a function.`);
    result.write = write;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Public classes.

let getWritableStreamState; // WritableStream -> WritableStreamState | undefined
let getWriterState; // WritableStreamDefaultWriter -> WriterState | undefined
let checkWritableController;

function wrapWritableStream(stream) {
  return new WritableStream(kCreate, stream);
}

class WritableStream {
  #stream;

  constructor(underlyingSink = undefined, strategy = undefined) {
    if (underlyingSink === kCreate) {
      this.#stream = strategy;
      strategy.wrapper = this;
      return;
    }
    const context = "Failed to construct 'WritableStream'";
    if (underlyingSink !== undefined && !isObject(underlyingSink)) {
      throw new TypeError(`${context}: The provided value is not of type 'object'.`);
    }
    const strategyDict = convertQueuingStrategy(strategy, context);
    const sink = convertUnderlyingSink(underlyingSink, context);
    if (sink.type !== undefined) {
      throw new RangeError(`${context}: Invalid type is specified.`);
    }
    const stream = new WritableStreamState();
    this.#stream = stream;
    stream.wrapper = this;
    const sizeAlgorithm = extractSizeAlgorithm(strategyDict);
    const highWaterMark = extractHighWaterMark(strategyDict, 1);
    setUpWritableStreamDefaultControllerFromUnderlyingSink(stream, underlyingSink, sink, highWaterMark, sizeAlgorithm);
  }

  get locked() {
    const stream = getWritableStreamState(this);
    if (stream === undefined) throw illegalInvocation();
    return isWritableStreamLocked(stream);
  }

  abort(reason = undefined) {
    const stream = getWritableStreamState(this);
    if (stream === undefined) return promiseRejectedWith(illegalInvocation("abort", "WritableStream"));
    if (isWritableStreamLocked(stream)) {
      return promiseRejectedWith(new TypeError("Cannot abort a WritableStream that is locked to a writer."));
    }
    return writableStreamAbort(stream, reason);
  }

  close() {
    const stream = getWritableStreamState(this);
    if (stream === undefined) return promiseRejectedWith(illegalInvocation("close", "WritableStream"));
    if (isWritableStreamLocked(stream)) {
      return promiseRejectedWith(new TypeError("Cannot close a WritableStream that is locked to a writer."));
    }
    return closeUnlessClosing(stream, writableStreamClose);
  }

  getWriter() {
    const stream = getWritableStreamState(this);
    if (stream === undefined) throw illegalInvocation("getWriter", "WritableStream");
    return wrapperOf(acquireWritableStreamDefaultWriter(stream), WritableStreamDefaultWriter);
  }

  [inspectSymbol]() {
    const stream = this.#stream;
    return inspectNamed("WritableStream", { locked: isWritableStreamLocked(stream), state: stream.state });
  }

  static {
    getWritableStreamState = (value) => (isObject(value) && #stream in value ? value.#stream : undefined);
  }
}
finishInterface(WritableStream);

// close() of WritableStream and of its writer: rejects when the stream is
// already closing.
function closeUnlessClosing(stream, close, arg = stream) {
  if (writableStreamCloseQueuedOrInFlight(stream)) {
    return promiseRejectedWith(new TypeError("Cannot close a WritableStream that is closing or closed."));
  }
  return close(arg);
}

const readyPromiseOf = (writer) => writer.readyPromise.promise;

// A promise-returning method of the writer (see lockedOperation).
function writerOperation(value, method, released, steps, arg = undefined) {
  return lockedOperation(getWriterState(value), method, "WritableStreamDefaultWriter", released, steps, arg);
}

class WritableStreamDefaultWriter {
  #writer;

  constructor(stream, internal = undefined) {
    const writer =
      stream === kCreate
        ? internal
        : acquireForConstructor(
            "WritableStreamDefaultWriter",
            arguments.length,
            stream,
            getWritableStreamState,
            "WritableStream",
            acquireWritableStreamDefaultWriter,
          );
    this.#writer = writer;
    writer.wrapper = this;
  }

  get closed() {
    return lockedOperation(getWriterState(this), undefined, undefined, undefined, closedPromiseOf);
  }

  get desiredSize() {
    const writer = getWriterState(this);
    if (writer === undefined) throw illegalInvocation();
    if (writer.stream === undefined) {
      throw new TypeError("This writer has been released and has no desiredSize.");
    }
    return writableStreamDefaultWriterGetDesiredSize(writer);
  }

  get ready() {
    return lockedOperation(getWriterState(this), undefined, undefined, undefined, readyPromiseOf);
  }

  abort(reason = undefined) {
    return writerOperation(
      this,
      "abort",
      "This writer has been released and cannot abort its stream.",
      writableStreamDefaultWriterAbort,
      reason,
    );
  }

  close() {
    return writerOperation(
      this,
      "close",
      "This writer has been released and cannot close its stream.",
      (writer) => closeUnlessClosing(writer.stream, writableStreamDefaultWriterClose, writer),
    );
  }

  releaseLock() {
    releaseLockOperation(getWriterState(this), "WritableStreamDefaultWriter", writableStreamDefaultWriterRelease);
  }

  write(chunk = undefined) {
    return writerOperation(
      this,
      "write",
      "This writer has been released and cannot write to its stream.",
      writableStreamDefaultWriterWrite,
      chunk,
    );
  }

  static {
    getWriterState = (value) => (isObject(value) && #writer in value ? value.#writer : undefined);
  }
}
finishInterface(WritableStreamDefaultWriter);

class WritableStreamDefaultController {
  #controller;

  constructor(token = undefined, controller = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#controller = controller;
  }

  get signal() {
    return controllerSignal(checkWritableController(this));
  }

  error(e = undefined) {
    const controller = checkWritableController(this);
    if (controller.stream.state !== "writable") return;
    writableStreamDefaultControllerError(controller, e);
  }

  static {
    checkWritableController = brandCheck((value) =>
      isObject(value) && #controller in value ? value.#controller : undefined,
    );
  }
}
finishInterface(WritableStreamDefaultController);

hooks.getWritableStreamState = getWritableStreamState;
hooks.isWritableStreamLocked = isWritableStreamLocked;

internals.WritableStream = WritableStream;
internals.WritableStreamDefaultWriter = WritableStreamDefaultWriter;
internals.WritableStreamDefaultController = WritableStreamDefaultController;
internals.isWritableStream = (value) => getWritableStreamState(value) !== undefined;

Object.assign(internals.streams, {
  WritableStreamState,
  getWritableStreamState,
  createWritableStream,
  isWritableStreamLocked,
  acquireWritableStreamDefaultWriter,
  writableStreamAbort,
  writableStreamClose,
  writableStreamCloseQueuedOrInFlight,
  writableStreamDefaultWriterCloseWithErrorPropagation,
  writableStreamDefaultWriterRelease,
  writableStreamDefaultWriterWrite,
  writableStreamDefaultWriterGetDesiredSize,
  writableStreamDefaultControllerErrorIfNeeded,
});
