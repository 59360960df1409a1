// TransformStream (https://streams.spec.whatwg.org/#ts-class) and
// TransformStreamDefaultController, plus the "set up a TransformStream"
// algorithm other specs use (TextEncoderStream, TextDecoderStream). Runs
// after streams.js and streams_writable.js.

const { finishInterface, inspectSymbol, inspectNamed, illegalConstructor, brandCheck, isObject } = internals;
const {
  kCreate, wrapperOf, resolvedUndefined, newPromiseCapability, promiseResolvedWith, promiseRejectedWith,
  uponPromise, transformPromise, promiseCall, convertQueuingStrategy, extractHighWaterMark,
  extractSizeAlgorithm, createReadableStream, readableStreamDefaultControllerCanCloseOrEnqueue,
  readableStreamDefaultControllerClose, readableStreamDefaultControllerEnqueue,
  readableStreamDefaultControllerError, readableStreamDefaultControllerGetDesiredSize,
  readableStreamDefaultControllerHasBackpressure, createWritableStream,
  writableStreamDefaultControllerErrorIfNeeded,
} = internals.streams;

const ReflectApply = Reflect.apply;
const PromiseCtor = Promise;

// ---------------------------------------------------------------------------
// Internal records.

class TransformStreamState {
  readable = undefined; // StreamState
  writable = undefined; // WritableStreamState
  backpressure = undefined;
  backpressureChangePromise = undefined; // capability
  controller = undefined;
  wrapper = undefined;
}

class TransformControllerState {
  stream = undefined;
  transformAlgorithm = undefined;
  flushAlgorithm = undefined;
  cancelAlgorithm = undefined;
  finishPromise = undefined; // capability
  wrapper = undefined;
}

// ---------------------------------------------------------------------------
// Working with transform streams.

function initializeTransformStream(
  stream,
  startPromise,
  writableHighWaterMark,
  writableSizeAlgorithm,
  readableHighWaterMark,
  readableSizeAlgorithm,
) {
  const startAlgorithm = () => startPromise;
  const writeAlgorithm = (chunk) => transformStreamDefaultSinkWriteAlgorithm(stream, chunk);
  const abortAlgorithm = (reason) => transformStreamDefaultSinkAbortAlgorithm(stream, reason);
  const closeAlgorithm = () => transformStreamDefaultSinkCloseAlgorithm(stream);
  stream.writable = createWritableStream(
    startAlgorithm,
    writeAlgorithm,
    closeAlgorithm,
    abortAlgorithm,
    writableHighWaterMark,
    writableSizeAlgorithm,
  );
  const pullAlgorithm = () => transformStreamDefaultSourcePullAlgorithm(stream);
  const cancelAlgorithm = (reason) => transformStreamDefaultSourceCancelAlgorithm(stream, reason);
  stream.readable = createReadableStream(
    startAlgorithm,
    pullAlgorithm,
    cancelAlgorithm,
    readableHighWaterMark,
    readableSizeAlgorithm,
  );
  stream.backpressure = undefined;
  stream.backpressureChangePromise = undefined;
  transformStreamSetBackpressure(stream, true);
  stream.controller = undefined;
}

function transformStreamError(stream, e) {
  readableStreamDefaultControllerError(stream.readable.controller, e);
  transformStreamErrorWritableAndUnblockWrite(stream, e);
}

function transformStreamErrorWritableAndUnblockWrite(stream, e) {
  transformStreamDefaultControllerClearAlgorithms(stream.controller);
  writableStreamDefaultControllerErrorIfNeeded(stream.writable.controller, e);
  transformStreamUnblockWrite(stream);
}

function transformStreamSetBackpressure(stream, backpressure) {
  if (stream.backpressureChangePromise !== undefined) stream.backpressureChangePromise.resolve(undefined);
  stream.backpressureChangePromise = newPromiseCapability();
  stream.backpressure = backpressure;
}

function transformStreamUnblockWrite(stream) {
  if (stream.backpressure === true) transformStreamSetBackpressure(stream, false);
}

// ---------------------------------------------------------------------------
// Default controllers.

function setUpTransformStreamDefaultController(stream, controller, transformAlgorithm, flushAlgorithm, cancelAlgorithm) {
  controller.stream = stream;
  stream.controller = controller;
  controller.transformAlgorithm = transformAlgorithm;
  controller.flushAlgorithm = flushAlgorithm;
  controller.cancelAlgorithm = cancelAlgorithm;
}

function setUpTransformStreamDefaultControllerFromTransformer(stream, transformer, transformerDict) {
  const controller = new TransformControllerState();
  const controllerWrapper = () => wrapperOf(controller, TransformStreamDefaultController);
  let transformAlgorithm = (chunk) => {
    try {
      transformStreamDefaultControllerEnqueue(controller, chunk);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return promiseResolvedWith(undefined);
  };
  let flushAlgorithm = resolvedUndefined;
  let cancelAlgorithm = resolvedUndefined;
  if (transformerDict.transform !== undefined) {
    const transform = transformerDict.transform;
    transformAlgorithm = (chunk) =>
      promiseCall(transform, transformer, [chunk, controllerWrapper()]);
  }
  if (transformerDict.flush !== undefined) {
    const flush = transformerDict.flush;
    flushAlgorithm = () => promiseCall(flush, transformer, [controllerWrapper()]);
  }
  if (transformerDict.cancel !== undefined) {
    const cancel = transformerDict.cancel;
    cancelAlgorithm = (reason) => promiseCall(cancel, transformer, [reason]);
  }
  setUpTransformStreamDefaultController(stream, controller, transformAlgorithm, flushAlgorithm, cancelAlgorithm);
}

function transformStreamDefaultControllerClearAlgorithms(controller) {
  controller.transformAlgorithm = undefined;
  controller.flushAlgorithm = undefined;
  controller.cancelAlgorithm = undefined;
}

function transformStreamDefaultControllerEnqueue(controller, chunk) {
  const stream = controller.stream;
  const readableController = stream.readable.controller;
  if (!readableStreamDefaultControllerCanCloseOrEnqueue(readableController)) {
    throw new TypeError("The readable side of the TransformStream is not in a state that permits enqueue.");
  }
  try {
    readableStreamDefaultControllerEnqueue(readableController, chunk);
  } catch (e) {
    transformStreamErrorWritableAndUnblockWrite(stream, e);
    throw stream.readable.storedError;
  }
  const backpressure = readableStreamDefaultControllerHasBackpressure(readableController);
  if (backpressure !== stream.backpressure) {
    transformStreamSetBackpressure(stream, true);
  }
}

function transformStreamDefaultControllerError(controller, e) {
  transformStreamError(controller.stream, e);
}

function transformStreamDefaultControllerPerformTransform(controller, chunk) {
  const transformPromiseResult = controller.transformAlgorithm(chunk);
  return transformPromise(transformPromiseResult, undefined, (r) => {
    transformStreamError(controller.stream, r);
    throw r;
  });
}

function transformStreamDefaultControllerTerminate(controller) {
  const stream = controller.stream;
  readableStreamDefaultControllerClose(stream.readable.controller);
  const error = new TypeError("The TransformStream has been terminated.");
  transformStreamErrorWritableAndUnblockWrite(stream, error);
}

// ---------------------------------------------------------------------------
// Default sinks and sources.

function transformStreamDefaultSinkWriteAlgorithm(stream, chunk) {
  const controller = stream.controller;
  if (stream.backpressure) {
    const backpressureChangePromise = stream.backpressureChangePromise.promise;
    return transformPromise(backpressureChangePromise, () => {
      const writable = stream.writable;
      if (writable.state === "erroring") throw writable.storedError;
      return transformStreamDefaultControllerPerformTransform(controller, chunk);
    });
  }
  return transformStreamDefaultControllerPerformTransform(controller, chunk);
}

// What the sink's abort and close and the source's cancel algorithms share:
// the first of them to run calls `algorithm` (the controller's cancel or
// flush algorithm); each returns the controller's finishPromise. Once the
// algorithm's promise fulfills, finishPromise rejects with the stored error
// of `other` (the side it did not come from) if that side has errored, else
// it resolves after onFulfilled(); if the promise rejects with r, it rejects
// with r after onRejected(r).
function transformStreamFinish(stream, algorithm, other, onFulfilled, onRejected) {
  const controller = stream.controller;
  if (controller.finishPromise !== undefined) return controller.finishPromise.promise;
  const finishPromise = newPromiseCapability();
  controller.finishPromise = finishPromise;
  const promise = algorithm(controller);
  transformStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(
    promise,
    () => {
      if (other.state === "errored") {
        finishPromise.reject(other.storedError);
      } else {
        onFulfilled();
        finishPromise.resolve(undefined);
      }
    },
    (r) => {
      onRejected(r);
      finishPromise.reject(r);
    },
  );
  return finishPromise.promise;
}

function transformStreamDefaultSinkAbortAlgorithm(stream, reason) {
  const readable = stream.readable;
  return transformStreamFinish(
    stream,
    (controller) => controller.cancelAlgorithm(reason),
    readable,
    () => readableStreamDefaultControllerError(readable.controller, reason),
    (r) => readableStreamDefaultControllerError(readable.controller, r),
  );
}

function transformStreamDefaultSinkCloseAlgorithm(stream) {
  const readable = stream.readable;
  return transformStreamFinish(
    stream,
    (controller) => controller.flushAlgorithm(),
    readable,
    () => readableStreamDefaultControllerClose(readable.controller),
    (r) => readableStreamDefaultControllerError(readable.controller, r),
  );
}

function transformStreamDefaultSourceCancelAlgorithm(stream, reason) {
  const writable = stream.writable;
  const errorWritable = (e) => {
    writableStreamDefaultControllerErrorIfNeeded(writable.controller, e);
    transformStreamUnblockWrite(stream);
  };
  return transformStreamFinish(
    stream,
    (controller) => controller.cancelAlgorithm(reason),
    writable,
    () => errorWritable(reason),
    errorWritable,
  );
}

function transformStreamDefaultSourcePullAlgorithm(stream) {
  transformStreamSetBackpressure(stream, false);
  return stream.backpressureChangePromise.promise;
}

// ---------------------------------------------------------------------------
// "Set up a TransformStream" (for other specs): the algorithms get the chunk
// (transform) or nothing (flush) and may throw or return a promise.

function setUpTransformStream(transformAlgorithm, flushAlgorithm = undefined, cancelAlgorithm = undefined) {
  const stream = new TransformStreamState();
  const wrap = (algorithm) => (arg) => {
    let result;
    try {
      result = algorithm(arg);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return result instanceof PromiseCtor ? result : promiseResolvedWith(undefined);
  };
  const startPromise = promiseResolvedWith(undefined);
  initializeTransformStream(stream, startPromise, 1, () => 1, 0, () => 1);
  const controller = new TransformControllerState();
  setUpTransformStreamDefaultController(
    stream,
    controller,
    wrap(transformAlgorithm),
    flushAlgorithm === undefined ? resolvedUndefined : wrap(flushAlgorithm),
    cancelAlgorithm === undefined ? resolvedUndefined : wrap(cancelAlgorithm),
  );
  return stream;
}

// ---------------------------------------------------------------------------
// WebIDL dictionary Transformer (members in alphabetical order).

function convertTransformer(transformer, context) {
  const result = {
    cancel: undefined,
    flush: undefined,
    readableType: undefined,
    start: undefined,
    transform: undefined,
    writableType: undefined,
  };
  if (transformer === undefined || transformer === null) return result;
  const checkFunction = (name) => {
    const fn = transformer[name];
    if (fn !== undefined && typeof fn !== "function") {
      throw new TypeError(`${context}: transformer.${name} is not a function.`);
    }
    return fn;
  };
  result.cancel = checkFunction("cancel");
  result.flush = checkFunction("flush");
  result.readableType = transformer.readableType;
  result.start = checkFunction("start");
  result.transform = checkFunction("transform");
  result.writableType = transformer.writableType;
  return result;
}

// ---------------------------------------------------------------------------
// Public classes.

let getTransformStreamState;
let checkTransformStream;
let checkTransformController;

function wrapTransformStream(stream) {
  return new TransformStream(kCreate, stream);
}

class TransformStream {
  #stream;

  constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
    if (transformer === kCreate) {
      this.#stream = writableStrategy;
      writableStrategy.wrapper = this;
      return;
    }
    const context = "Failed to construct 'TransformStream'";
    if (transformer !== undefined && !isObject(transformer)) {
      throw new TypeError(`${context}: The provided value is not of type 'object'.`);
    }
    const writableStrategyDict = convertQueuingStrategy(writableStrategy, context);
    const readableStrategyDict = convertQueuingStrategy(readableStrategy, context);
    const transformerDict = convertTransformer(transformer, context);
    if (transformerDict.readableType !== undefined) {
      throw new RangeError(`${context}: Invalid readableType specified.`);
    }
    if (transformerDict.writableType !== undefined) {
      throw new RangeError(`${context}: Invalid writableType specified.`);
    }
    const readableHighWaterMark = extractHighWaterMark(readableStrategyDict, 0);
    const readableSizeAlgorithm = extractSizeAlgorithm(readableStrategyDict);
    const writableHighWaterMark = extractHighWaterMark(writableStrategyDict, 1);
    const writableSizeAlgorithm = extractSizeAlgorithm(writableStrategyDict);
    const startPromise = newPromiseCapability();
    const stream = new TransformStreamState();
    this.#stream = stream;
    stream.wrapper = this;
    initializeTransformStream(
      stream,
      startPromise.promise,
      writableHighWaterMark,
      writableSizeAlgorithm,
      readableHighWaterMark,
      readableSizeAlgorithm,
    );
    setUpTransformStreamDefaultControllerFromTransformer(stream, transformer, transformerDict);
    if (transformerDict.start !== undefined) {
      startPromise.resolve(
        ReflectApply(transformerDict.start, transformer, [wrapperOf(stream.controller, TransformStreamDefaultController)]),
      );
    } else {
      startPromise.resolve(undefined);
    }
  }

  get readable() {
    return checkTransformStream(this).readable.wrapper;
  }

  get writable() {
    return checkTransformStream(this).writable.wrapper;
  }

  [inspectSymbol]() {
    const stream = this.#stream;
    return inspectNamed("TransformStream", { readable: stream.readable.wrapper, writable: stream.writable.wrapper });
  }

  static {
    getTransformStreamState = (value) => (isObject(value) && #stream in value ? value.#stream : undefined);
    checkTransformStream = brandCheck(getTransformStreamState);
  }
}
finishInterface(TransformStream);

class TransformStreamDefaultController {
  #controller;

  constructor(token = undefined, controller = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#controller = controller;
  }

  get desiredSize() {
    const controller = checkTransformController(this);
    return readableStreamDefaultControllerGetDesiredSize(controller.stream.readable.controller);
  }

  enqueue(chunk = undefined) {
    transformStreamDefaultControllerEnqueue(checkTransformController(this), chunk);
  }

  error(reason = undefined) {
    transformStreamDefaultControllerError(checkTransformController(this), reason);
  }

  terminate() {
    transformStreamDefaultControllerTerminate(checkTransformController(this));
  }

  static {
    checkTransformController = brandCheck((value) =>
      isObject(value) && #controller in value ? value.#controller : undefined,
    );
  }
}
finishInterface(TransformStreamDefaultController);

internals.TransformStream = TransformStream;
internals.TransformStreamDefaultController = TransformStreamDefaultController;

Object.assign(internals.streams, {
  TransformStreamState,
  getTransformStreamState,
  wrapTransformStream,
  setUpTransformStream,
  transformStreamDefaultControllerEnqueue,
  transformStreamDefaultControllerError,
  transformStreamDefaultControllerTerminate,
});
