// ReadableStream (https://streams.spec.whatwg.org/#rs): the stream, its
// default controller, both readers (default and BYOB), tee, ReadableStream.from
// and async iteration, the queuing strategies, and the helpers the rest of the
// runtime uses for bodies.
//
// Layout: the public classes (ReadableStream, ReadableStreamDefaultReader,
// ReadableStreamBYOBReader, ReadableStreamDefaultController) are thin wrappers
// holding one private field that points at an internal record (StreamState,
// DefaultReaderState, BYOBReaderState, DefaultControllerState) which user code
// can never reach. The spec's abstract operations below work on those records
// and are named after the spec.
//
// Controllers implement the spec's internal methods as record methods
// (cancelSteps, pullSteps, releaseSteps, and pullInto for byte controllers);
// `controller.isByte` tells the two kinds apart and readers are told apart
// with `instanceof`.
//
// The other stream files run after this one and share its operations through
// `internals.streams` (see the end of this file):
//   streams_byte.js       ReadableByteStreamController, ReadableStreamBYOBRequest,
//                         the byte-stream tee
//   streams_writable.js   WritableStream, its writer and controller
//   streams_pipe.js       ReadableStreamPipeTo (pipeTo, pipeThrough)
//   streams_transform.js  TransformStream and its controller
// They plug into this file through `hooks`; while one is missing, what needs
// it throws a TypeError (e.g. `type: "bytes"` without streams_byte.js).

const {
  finishInterface, inspectSymbol, inspectNamed, illegalConstructor, illegalInvocation, brandCheck,
  requireArguments, tooFewArguments, isObject, isUint8Array, toEnforceRangeUnsignedLongLong, uncurryThis,
  TypedArrayPrototypeGetTag, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteOffset,
  TypedArrayPrototypeGetByteLength, TypedArrayPrototypeGetLength, DataViewPrototypeGetBuffer,
  DataViewPrototypeGetByteOffset, DataViewPrototypeGetByteLength, ArrayBufferPrototypeGetByteLength,
} = internals;

const {
  ObjectGetPrototypeOf, ObjectSetPrototypeOf, ObjectDefineProperty, ReflectApply, PromiseCtor, PromiseResolve,
  PromiseReject, PromisePrototypeThen, SymbolAsyncIterator, SymbolIterator, NumberIsNaN, ArrayBufferIsView,
  ObjectGetOwnPropertyDescriptor, ArrayBufferCtor, Uint8ArrayCtor, SafeWeakMap,
} = internals.primordials;
const TypedArrayPrototypeSet = uncurryThis(ObjectGetPrototypeOf(Uint8Array.prototype).set);

// ---------------------------------------------------------------------------
// Promise helpers (the spec's "a new promise", "upon fulfillment", ...).

function noop() {}

function newPromiseCapability() {
  let resolve;
  let reject;
  const promise = new PromiseCtor((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// "A promise resolved with": always a new promise, so a promise (or other
// thenable) is adopted, which takes two more microtasks than returning it.
function promiseResolvedWith(value) {
  if (value !== null && (typeof value === "object" || typeof value === "function")) {
    return new PromiseCtor((resolve) => resolve(value));
  }
  return PromiseResolve(value);
}

function promiseRejectedWith(reason) {
  return PromiseReject(reason);
}

function setPromiseIsHandled(promise) {
  PromisePrototypeThen(promise, undefined, noop);
}

// "React to promise": the result is marked handled; the reactions never throw.
function uponPromise(promise, onFulfilled, onRejected) {
  setPromiseIsHandled(PromisePrototypeThen(promise, onFulfilled, onRejected));
}

function transformPromise(promise, onFulfilled, onRejected) {
  return PromisePrototypeThen(promise, onFulfilled, onRejected);
}

const resolvedUndefined = () => promiseResolvedWith(undefined);

// Runs `fn` in a microtask; an exception is reported, never left as an
// unhandled rejection.
function queueMicrotaskInternal(fn) {
  PromisePrototypeThen(PromisePrototypeThen(promiseResolvedWith(undefined), fn), undefined, (e) =>
    internals.reportError(e),
  );
}

// A FIFO queue that does not shift arrays. Its array is kept while it is
// small and reused once the queue is empty, so a queue that fills and drains
// one item at a time (the common case) allocates nothing.
class Queue {
  items = [];
  head = 0;
  tail = 0;

  get length() {
    return this.tail - this.head;
  }

  push(value) {
    const items = this.items;
    if (this.tail === items.length) items.push(value);
    else items[this.tail] = value;
    this.tail++;
  }

  shift() {
    const items = this.items;
    const value = items[this.head];
    items[this.head] = undefined;
    this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      if (items.length > 1024) this.items = [];
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.items = items.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    return value;
  }

  peek() {
    return this.items[this.head];
  }

  clear() {
    this.items = [];
    this.head = 0;
    this.tail = 0;
  }
}

// ---------------------------------------------------------------------------
// ArrayBuffers and views, read through the intrinsic accessors so that user
// code patching the prototypes cannot interfere.

// [[TypedArrayName]] -> [element size, constructor].
const typedArrayTable = {
  __proto__: null,
  Int8Array: [1, Int8Array],
  Uint8Array: [1, Uint8Array],
  Uint8ClampedArray: [1, Uint8ClampedArray],
  Int16Array: [2, Int16Array],
  Uint16Array: [2, Uint16Array],
  Int32Array: [4, Int32Array],
  Uint32Array: [4, Uint32Array],
  Float32Array: [4, Float32Array],
  Float64Array: [8, Float64Array],
  BigInt64Array: [8, BigInt64Array],
  BigUint64Array: [8, BigUint64Array],
};

const arrayBufferDetachedGetter = (() => {
  const desc = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, "detached");
  return desc !== undefined && typeof desc.get === "function" ? desc.get : undefined;
})();

// IsDetachedBuffer. A SharedArrayBuffer is never detached.
function isDetachedBuffer(buffer) {
  if (arrayBufferDetachedGetter !== undefined) {
    try {
      return ReflectApply(arrayBufferDetachedGetter, buffer, []);
    } catch {
      return false;
    }
  }
  let byteLength;
  try {
    byteLength = ArrayBufferPrototypeGetByteLength(buffer);
  } catch {
    return false;
  }
  if (byteLength !== 0) return false;
  // A detached buffer reports a byteLength of 0 and cannot be viewed.
  try {
    new Uint8ArrayCtor(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

// The byte length of an ArrayBuffer (0 once detached).
function arrayBufferByteLength(buffer) {
  try {
    return ArrayBufferPrototypeGetByteLength(buffer);
  } catch {
    return new Uint8ArrayCtor(buffer).byteLength; // a SharedArrayBuffer
  }
}

// TransferArrayBuffer: a new ArrayBuffer with the same memory; the original
// is detached. Throws a TypeError for a detached, non-detachable (e.g. a
// WebAssembly.Memory's) or shared buffer. Done by native.transferArrayBuffer;
// where it is missing, ArrayBuffer.prototype.transfer (V8 >= 11.4) is used, or
// else a copy, which leaves the original attached.
const nativeTransferArrayBuffer = native.transferArrayBuffer;
const arrayBufferTransfer = ArrayBuffer.prototype.transfer;
function transferArrayBuffer(buffer) {
  if (typeof nativeTransferArrayBuffer === "function") return nativeTransferArrayBuffer(buffer);
  if (isDetachedBuffer(buffer)) throw new TypeError("Cannot transfer a detached ArrayBuffer.");
  if (typeof arrayBufferTransfer === "function") return ReflectApply(arrayBufferTransfer, buffer, []);
  const byteLength = ArrayBufferPrototypeGetByteLength(buffer); // TypeError for a SharedArrayBuffer
  const copy = new ArrayBufferCtor(byteLength);
  TypedArrayPrototypeSet(new Uint8ArrayCtor(copy), new Uint8ArrayCtor(buffer));
  return copy;
}

// The typed array name of an ArrayBufferView, undefined for a DataView.
function viewTypedArrayName(view) {
  return TypedArrayPrototypeGetTag(view);
}

function viewBuffer(view) {
  return TypedArrayPrototypeGetTag(view) !== undefined
    ? TypedArrayPrototypeGetBuffer(view)
    : DataViewPrototypeGetBuffer(view);
}

// [[ByteOffset]] and [[ByteLength]]; 0 once the buffer is detached (a
// DataView's own getters throw then).
function viewByteOffset(view) {
  if (TypedArrayPrototypeGetTag(view) !== undefined) return TypedArrayPrototypeGetByteOffset(view);
  return isDetachedBuffer(DataViewPrototypeGetBuffer(view)) ? 0 : DataViewPrototypeGetByteOffset(view);
}

function viewByteLength(view) {
  if (TypedArrayPrototypeGetTag(view) !== undefined) return TypedArrayPrototypeGetByteLength(view);
  return isDetachedBuffer(DataViewPrototypeGetBuffer(view)) ? 0 : DataViewPrototypeGetByteLength(view);
}

// CopyDataBlockBytes between two ArrayBuffers.
function copyDataBlockBytes(toBuffer, toIndex, fromBuffer, fromIndex, count) {
  TypedArrayPrototypeSet(
    new Uint8ArrayCtor(toBuffer, toIndex, count),
    new Uint8ArrayCtor(fromBuffer, fromIndex, count),
  );
}

// CloneArrayBuffer(buffer, byteOffset, byteLength) into a new ArrayBuffer.
function cloneArrayBuffer(buffer, byteOffset, byteLength) {
  const copy = new ArrayBufferCtor(byteLength);
  copyDataBlockBytes(copy, 0, buffer, byteOffset, byteLength);
  return copy;
}

// CloneAsUint8Array.
function cloneAsUint8Array(view) {
  const byteLength = viewByteLength(view);
  return new Uint8ArrayCtor(cloneArrayBuffer(viewBuffer(view), viewByteOffset(view), byteLength));
}

// Invokes a callback that returns a promise (an underlying source's pull or
// cancel, a sink's write, ...): a throw becomes a rejected promise.
function promiseCall(fn, thisArg, args) {
  try {
    return promiseResolvedWith(ReflectApply(fn, thisArg, args));
  } catch (e) {
    return promiseRejectedWith(e);
  }
}

// ---------------------------------------------------------------------------
// Internal records. Their slots are class fields, defined on each instance
// as own properties, so filling them never reaches a setter a tenant put on
// Object.prototype (as `this.x = ...` on a fresh object would), and reading
// them never reaches a getter there (test/hostile/records_test.js).

class StreamState {
  state = "readable"; // "readable" | "closed" | "errored"
  reader = undefined;
  storedError = undefined;
  disturbed = false;
  controller = undefined;
  wrapper = undefined; // the public ReadableStream
}

class DefaultReaderState {
  stream = undefined;
  readRequests = new Queue();
  closedPromise = undefined; // capability { promise, resolve, reject }
  wrapper = undefined;
}

class BYOBReaderState {
  stream = undefined;
  readIntoRequests = new Queue();
  closedPromise = undefined;
  wrapper = undefined;
}

class DefaultControllerState {
  stream = undefined;
  queue = new Queue(); // of { value, size }
  queueTotalSize = 0;
  started = false;
  closeRequested = false;
  pullAgain = false;
  pulling = false;
  strategySizeAlgorithm = undefined;
  strategyHWM = 0;
  pullAlgorithm = undefined;
  cancelAlgorithm = undefined;
  wrapper = undefined;
  isByte = false;

  // [[CancelSteps]]
  cancelSteps(reason) {
    resetQueue(this);
    const result = this.cancelAlgorithm(reason);
    readableStreamDefaultControllerClearAlgorithms(this);
    return result;
  }

  // [[PullSteps]]
  pullSteps(readRequest) {
    const stream = this.stream;
    if (this.queue.length > 0) {
      const chunk = dequeueValue(this);
      if (this.closeRequested && this.queue.length === 0) {
        readableStreamDefaultControllerClearAlgorithms(this);
        readableStreamClose(stream);
      } else {
        readableStreamDefaultControllerCallPullIfNeeded(this);
      }
      readRequest.chunkSteps(chunk);
    } else {
      readableStreamAddReadRequest(stream, readRequest);
      readableStreamDefaultControllerCallPullIfNeeded(this);
    }
  }

  // [[ReleaseSteps]]
  releaseSteps() {}
}

// ---------------------------------------------------------------------------
// Queue-with-sizes.

function dequeueValue(container) {
  const pair = container.queue.shift();
  container.queueTotalSize -= pair.size;
  if (container.queueTotalSize < 0) container.queueTotalSize = 0;
  return pair.value;
}

function enqueueValueWithSize(container, value, size) {
  if (typeof size !== "number" || NumberIsNaN(size) || size < 0 || size === Infinity) {
    throw new RangeError("The return value of a queuing strategy's size function must be a finite, non-negative number.");
  }
  container.queue.push({ value, size });
  container.queueTotalSize += size;
}

function peekQueueValue(container) {
  return container.queue.peek().value;
}

function resetQueue(container) {
  container.queue.clear();
  container.queueTotalSize = 0;
}

// ---------------------------------------------------------------------------
// ReadableStream abstract operations.

function createReadableStream(
  startAlgorithm,
  pullAlgorithm,
  cancelAlgorithm,
  highWaterMark = 1,
  sizeAlgorithm = () => 1,
) {
  const stream = new StreamState();
  wrapStream(stream);
  const controller = new DefaultControllerState();
  setUpReadableStreamDefaultController(
    stream,
    controller,
    startAlgorithm,
    pullAlgorithm,
    cancelAlgorithm,
    highWaterMark,
    sizeAlgorithm,
  );
  return stream;
}

function isReadableStreamLocked(stream) {
  return stream.reader !== undefined;
}

function readableStreamCancel(stream, reason) {
  stream.disturbed = true;
  if (stream.state === "closed") return promiseResolvedWith(undefined);
  if (stream.state === "errored") return promiseRejectedWith(stream.storedError);
  readableStreamClose(stream);
  const reader = stream.reader;
  if (reader !== undefined && reader instanceof BYOBReaderState) {
    const readIntoRequests = reader.readIntoRequests;
    reader.readIntoRequests = new Queue();
    while (readIntoRequests.length > 0) readIntoRequests.shift().closeSteps(undefined);
  }
  const sourceCancelPromise = stream.controller.cancelSteps(reason);
  return transformPromise(sourceCancelPromise, noop);
}

function readableStreamClose(stream) {
  stream.state = "closed";
  const reader = stream.reader;
  if (reader === undefined) return;
  reader.closedPromise.resolve(undefined);
  if (reader instanceof DefaultReaderState) {
    const readRequests = reader.readRequests;
    reader.readRequests = new Queue();
    while (readRequests.length > 0) readRequests.shift().closeSteps();
  }
}

function readableStreamError(stream, e) {
  stream.state = "errored";
  stream.storedError = e;
  const reader = stream.reader;
  if (reader === undefined) return;
  reader.closedPromise.reject(e);
  setPromiseIsHandled(reader.closedPromise.promise);
  if (reader instanceof DefaultReaderState) {
    readableStreamDefaultReaderErrorReadRequests(reader, e);
  } else {
    readableStreamBYOBReaderErrorReadIntoRequests(reader, e);
  }
}

function readableStreamAddReadRequest(stream, readRequest) {
  stream.reader.readRequests.push(readRequest);
}

function readableStreamFulfillReadRequest(stream, chunk, done) {
  const reader = stream.reader;
  const readRequest = reader.readRequests.shift();
  if (done) readRequest.closeSteps();
  else readRequest.chunkSteps(chunk);
}

function readableStreamGetNumReadRequests(stream) {
  return stream.reader.readRequests.length;
}

function readableStreamAddReadIntoRequest(stream, readIntoRequest) {
  stream.reader.readIntoRequests.push(readIntoRequest);
}

function readableStreamFulfillReadIntoRequest(stream, chunk, done) {
  const readIntoRequest = stream.reader.readIntoRequests.shift();
  if (done) readIntoRequest.closeSteps(chunk);
  else readIntoRequest.chunkSteps(chunk);
}

function readableStreamGetNumReadIntoRequests(stream) {
  return stream.reader.readIntoRequests.length;
}

function readableStreamHasDefaultReader(stream) {
  const reader = stream.reader;
  return reader !== undefined && reader instanceof DefaultReaderState;
}

function readableStreamHasBYOBReader(stream) {
  const reader = stream.reader;
  return reader !== undefined && reader instanceof BYOBReaderState;
}

// ---------------------------------------------------------------------------
// Readers.

function acquireReadableStreamDefaultReader(stream) {
  const reader = new DefaultReaderState();
  setUpReadableStreamDefaultReader(reader, stream);
  return reader;
}

function setUpReadableStreamDefaultReader(reader, stream) {
  if (isReadableStreamLocked(stream)) {
    throw new TypeError("This ReadableStream is already locked to a reader.");
  }
  readableStreamReaderGenericInitialize(reader, stream);
  reader.readRequests = new Queue();
}

function acquireReadableStreamBYOBReader(stream) {
  const reader = new BYOBReaderState();
  setUpReadableStreamBYOBReader(reader, stream);
  return reader;
}

function setUpReadableStreamBYOBReader(reader, stream) {
  if (isReadableStreamLocked(stream)) {
    throw new TypeError("This ReadableStream is already locked to a reader.");
  }
  if (!stream.controller.isByte) {
    throw new TypeError("Cannot use a BYOB reader with a ReadableStream that is not a byte stream.");
  }
  readableStreamReaderGenericInitialize(reader, stream);
  reader.readIntoRequests = new Queue();
}

function readableStreamReaderGenericInitialize(reader, stream) {
  reader.stream = stream;
  stream.reader = reader;
  reader.closedPromise = newPromiseCapability();
  if (stream.state === "closed") {
    reader.closedPromise.resolve(undefined);
  } else if (stream.state === "errored") {
    reader.closedPromise.reject(stream.storedError);
    setPromiseIsHandled(reader.closedPromise.promise);
  }
}

function readableStreamReaderGenericCancel(reader, reason) {
  return readableStreamCancel(reader.stream, reason);
}

function readableStreamReaderGenericRelease(reader) {
  const stream = reader.stream;
  const error = new TypeError("The reader's lock on the ReadableStream was released.");
  if (stream.state === "readable") {
    reader.closedPromise.reject(error);
  } else {
    reader.closedPromise = newPromiseCapability();
    reader.closedPromise.reject(error);
  }
  setPromiseIsHandled(reader.closedPromise.promise);
  stream.controller.releaseSteps();
  stream.reader = undefined;
  reader.stream = undefined;
}

function readableStreamDefaultReaderRead(reader, readRequest) {
  const stream = reader.stream;
  stream.disturbed = true;
  if (stream.state === "closed") {
    readRequest.closeSteps();
  } else if (stream.state === "errored") {
    readRequest.errorSteps(stream.storedError);
  } else {
    stream.controller.pullSteps(readRequest);
  }
}

// The read() of ReadableStreamDefaultReader (and of streamReader below): a
// promise of { value, done }.
function defaultReaderRead(reader) {
  const promise = newPromiseCapability();
  readableStreamDefaultReaderRead(reader, {
    chunkSteps(chunk) {
      promise.resolve({ value: chunk, done: false });
    },
    closeSteps() {
      promise.resolve({ value: undefined, done: true });
    },
    errorSteps(e) {
      promise.reject(e);
    },
  });
  return promise.promise;
}

function readableStreamDefaultReaderRelease(reader) {
  readableStreamReaderGenericRelease(reader);
  // The error is only seen by pending reads: make it only when there are some.
  if (reader.readRequests.length === 0) return;
  const e = new TypeError("The reader's lock on the ReadableStream was released.");
  readableStreamDefaultReaderErrorReadRequests(reader, e);
}

function readableStreamDefaultReaderErrorReadRequests(reader, e) {
  const readRequests = reader.readRequests;
  reader.readRequests = new Queue();
  while (readRequests.length > 0) readRequests.shift().errorSteps(e);
}

function readableStreamBYOBReaderRead(reader, view, min, readIntoRequest) {
  const stream = reader.stream;
  stream.disturbed = true;
  if (stream.state === "errored") {
    readIntoRequest.errorSteps(stream.storedError);
  } else {
    stream.controller.pullInto(view, min, readIntoRequest);
  }
}

function readableStreamBYOBReaderRelease(reader) {
  readableStreamReaderGenericRelease(reader);
  const e = new TypeError("The reader's lock on the ReadableStream was released.");
  readableStreamBYOBReaderErrorReadIntoRequests(reader, e);
}

function readableStreamBYOBReaderErrorReadIntoRequests(reader, e) {
  const readIntoRequests = reader.readIntoRequests;
  reader.readIntoRequests = new Queue();
  while (readIntoRequests.length > 0) readIntoRequests.shift().errorSteps(e);
}

// ---------------------------------------------------------------------------
// Default controller.

function setUpReadableStreamDefaultController(
  stream,
  controller,
  startAlgorithm,
  pullAlgorithm,
  cancelAlgorithm,
  highWaterMark,
  sizeAlgorithm,
) {
  controller.stream = stream;
  resetQueue(controller);
  controller.started = false;
  controller.closeRequested = false;
  controller.pullAgain = false;
  controller.pulling = false;
  controller.strategySizeAlgorithm = sizeAlgorithm;
  controller.strategyHWM = highWaterMark;
  controller.pullAlgorithm = pullAlgorithm;
  controller.cancelAlgorithm = cancelAlgorithm;
  stream.controller = controller;
  const startResult = startAlgorithm();
  uponPromise(
    promiseResolvedWith(startResult),
    () => {
      controller.started = true;
      readableStreamDefaultControllerCallPullIfNeeded(controller);
    },
    (r) => {
      readableStreamDefaultControllerError(controller, r);
    },
  );
}

function setUpReadableStreamDefaultControllerFromUnderlyingSource(
  stream,
  underlyingSource,
  source,
  highWaterMark,
  sizeAlgorithm,
) {
  const controller = new DefaultControllerState();
  const algorithms = underlyingSourceAlgorithms(underlyingSource, source, () =>
    wrapperOf(controller, ReadableStreamDefaultController),
  );
  setUpReadableStreamDefaultController(
    stream,
    controller,
    algorithms.start,
    algorithms.pull,
    algorithms.cancel,
    highWaterMark,
    sizeAlgorithm,
  );
}

// The start, pull and cancel algorithms made from an underlying source (its
// converted dictionary `source`), shared by the default and the byte
// controller's "set up ... from underlying source": start and pull get the
// controller's public object, wrapper().
function underlyingSourceAlgorithms(underlyingSource, source, wrapper) {
  const algorithms = { start: noop, pull: resolvedUndefined, cancel: resolvedUndefined };
  const { start, pull, cancel } = source;
  if (start !== undefined) algorithms.start = () => ReflectApply(start, underlyingSource, [wrapper()]);
  if (pull !== undefined) algorithms.pull = () => promiseCall(pull, underlyingSource, [wrapper()]);
  if (cancel !== undefined) algorithms.cancel = (reason) => promiseCall(cancel, underlyingSource, [reason]);
  return algorithms;
}

function readableStreamDefaultControllerCallPullIfNeeded(controller) {
  controllerCallPullIfNeeded(
    controller,
    readableStreamDefaultControllerShouldCallPull,
    readableStreamDefaultControllerError,
  );
}

// ReadableStreamDefaultControllerCallPullIfNeeded and its byte controller
// twin, which differ only in their ShouldCallPull and Error operations.
function controllerCallPullIfNeeded(controller, shouldCallPull, error) {
  if (!shouldCallPull(controller)) return;
  if (controller.pulling) {
    controller.pullAgain = true;
    return;
  }
  controller.pulling = true;
  uponPromise(
    controller.pullAlgorithm(),
    () => {
      controller.pulling = false;
      if (controller.pullAgain) {
        controller.pullAgain = false;
        controllerCallPullIfNeeded(controller, shouldCallPull, error);
      }
    },
    (e) => error(controller, e),
  );
}

function readableStreamDefaultControllerShouldCallPull(controller) {
  const stream = controller.stream;
  if (!readableStreamDefaultControllerCanCloseOrEnqueue(controller)) return false;
  if (!controller.started) return false;
  if (isReadableStreamLocked(stream) && readableStreamGetNumReadRequests(stream) > 0) return true;
  const desiredSize = readableStreamDefaultControllerGetDesiredSize(controller);
  return desiredSize > 0;
}

function readableStreamDefaultControllerClearAlgorithms(controller) {
  controller.pullAlgorithm = undefined;
  controller.cancelAlgorithm = undefined;
  controller.strategySizeAlgorithm = undefined;
}

function readableStreamDefaultControllerClose(controller) {
  if (!readableStreamDefaultControllerCanCloseOrEnqueue(controller)) return;
  const stream = controller.stream;
  controller.closeRequested = true;
  if (controller.queue.length === 0) {
    readableStreamDefaultControllerClearAlgorithms(controller);
    readableStreamClose(stream);
  }
}

function readableStreamDefaultControllerEnqueue(controller, chunk) {
  if (!readableStreamDefaultControllerCanCloseOrEnqueue(controller)) return;
  const stream = controller.stream;
  if (isReadableStreamLocked(stream) && readableStreamGetNumReadRequests(stream) > 0) {
    readableStreamFulfillReadRequest(stream, chunk, false);
  } else {
    let chunkSize;
    try {
      chunkSize = controller.strategySizeAlgorithm(chunk);
    } catch (e) {
      readableStreamDefaultControllerError(controller, e);
      throw e;
    }
    try {
      enqueueValueWithSize(controller, chunk, chunkSize);
    } catch (e) {
      readableStreamDefaultControllerError(controller, e);
      throw e;
    }
  }
  readableStreamDefaultControllerCallPullIfNeeded(controller);
}

function readableStreamDefaultControllerError(controller, e) {
  const stream = controller.stream;
  if (stream.state !== "readable") return;
  resetQueue(controller);
  readableStreamDefaultControllerClearAlgorithms(controller);
  readableStreamError(stream, e);
}

function readableStreamDefaultControllerGetDesiredSize(controller) {
  const state = controller.stream.state;
  if (state === "errored") return null;
  if (state === "closed") return 0;
  return controller.strategyHWM - controller.queueTotalSize;
}

function readableStreamDefaultControllerCanCloseOrEnqueue(controller) {
  return !controller.closeRequested && controller.stream.state === "readable";
}

function readableStreamDefaultControllerHasBackpressure(controller) {
  return !readableStreamDefaultControllerShouldCallPull(controller);
}

// ---------------------------------------------------------------------------
// Tee. ReadableStream.prototype.tee() gives both branches the same chunks
// (cloneForBranch2 = false); other standards "tee" with cloneForBranch2 =
// true (Fetch's body clone): the second branch gets structured clones, so
// the two readers never share a buffer. A byte stream's branches always get
// copies.

function readableStreamTee(stream, cloneForBranch2 = false) {
  if (stream.controller.isByte) return hooks.readableByteStreamTee(stream);
  return readableStreamDefaultTee(stream, cloneForBranch2);
}

function readableStreamDefaultTee(stream, cloneForBranch2) {
  const reader = acquireReadableStreamDefaultReader(stream);
  let reading = false;
  let readAgain = false;
  let canceled1 = false;
  let canceled2 = false;
  let reason1;
  let reason2;
  let branch1;
  let branch2;
  const cancelPromise = newPromiseCapability();

  const readRequest = {
    chunkSteps(chunk) {
      queueMicrotaskInternal(() => {
        readAgain = false;
        let chunk2 = chunk;
        if (!canceled2 && cloneForBranch2) {
          try {
            chunk2 = internals.structuredClone(chunk);
          } catch (cloneError) {
            readableStreamDefaultControllerError(branch1.controller, cloneError);
            readableStreamDefaultControllerError(branch2.controller, cloneError);
            cancelPromise.resolve(readableStreamCancel(stream, cloneError));
            return;
          }
        }
        if (!canceled1) readableStreamDefaultControllerEnqueue(branch1.controller, chunk);
        if (!canceled2) readableStreamDefaultControllerEnqueue(branch2.controller, chunk2);
        reading = false;
        if (readAgain) pullAlgorithm();
      });
    },
    closeSteps() {
      reading = false;
      if (!canceled1) readableStreamDefaultControllerClose(branch1.controller);
      if (!canceled2) readableStreamDefaultControllerClose(branch2.controller);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    },
    errorSteps() {
      reading = false;
    },
  };

  function pullAlgorithm() {
    if (reading) {
      readAgain = true;
      return promiseResolvedWith(undefined);
    }
    reading = true;
    readableStreamDefaultReaderRead(reader, readRequest);
    return promiseResolvedWith(undefined);
  }

  function cancel1Algorithm(reason) {
    canceled1 = true;
    reason1 = reason;
    if (canceled2) {
      const cancelResult = readableStreamCancel(stream, [reason1, reason2]);
      cancelPromise.resolve(cancelResult);
    }
    return cancelPromise.promise;
  }

  function cancel2Algorithm(reason) {
    canceled2 = true;
    reason2 = reason;
    if (canceled1) {
      const cancelResult = readableStreamCancel(stream, [reason1, reason2]);
      cancelPromise.resolve(cancelResult);
    }
    return cancelPromise.promise;
  }

  branch1 = createReadableStream(noop, pullAlgorithm, cancel1Algorithm);
  branch2 = createReadableStream(noop, pullAlgorithm, cancel2Algorithm);

  uponPromise(reader.closedPromise.promise, noop, (r) => {
    readableStreamDefaultControllerError(branch1.controller, r);
    readableStreamDefaultControllerError(branch2.controller, r);
    if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
  });

  return [branch1, branch2];
}

// ---------------------------------------------------------------------------
// ReadableStream.from (ReadableStreamFromIterable).

function readableStreamFromIterable(asyncIterable) {
  let isSync = false;
  let method = asyncIterable == null ? undefined : asyncIterable[SymbolAsyncIterator];
  if (method === undefined || method === null) {
    method = asyncIterable == null ? undefined : asyncIterable[SymbolIterator];
    if (method === undefined || method === null) {
      throw new TypeError("ReadableStream.from: the argument is not async iterable or iterable.");
    }
    isSync = true;
  }
  if (typeof method !== "function") {
    throw new TypeError("ReadableStream.from: the argument's iterator method is not a function.");
  }
  const iterator = ReflectApply(method, asyncIterable, []);
  if (!isObject(iterator)) {
    throw new TypeError("ReadableStream.from: the iterator method did not return an object.");
  }
  const nextMethod = iterator.next;

  let stream;

  function pullAlgorithm() {
    let nextResult;
    try {
      nextResult = ReflectApply(nextMethod, iterator, []);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    if (isSync) {
      // CreateAsyncFromSyncIterator: await the value of each result.
      if (!isObject(nextResult)) {
        return promiseRejectedWith(new TypeError("The iterator's next() result is not an object."));
      }
      let done;
      let valueWrapper;
      try {
        done = !!nextResult.done;
        valueWrapper = promiseResolvedWith(nextResult.value);
      } catch (e) {
        return promiseRejectedWith(e);
      }
      return transformPromise(valueWrapper, (value) => {
        if (done) readableStreamDefaultControllerClose(stream.controller);
        else readableStreamDefaultControllerEnqueue(stream.controller, value);
      });
    }
    let nextPromise;
    try {
      nextPromise = promiseResolvedWith(nextResult);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return transformPromise(nextPromise, (iterResult) => {
      if (!isObject(iterResult)) {
        throw new TypeError("The async iterator's next() promise did not fulfill with an object.");
      }
      if (iterResult.done) {
        readableStreamDefaultControllerClose(stream.controller);
      } else {
        readableStreamDefaultControllerEnqueue(stream.controller, iterResult.value);
      }
    });
  }

  function cancelAlgorithm(reason) {
    let returnMethod;
    try {
      returnMethod = iterator.return;
    } catch (e) {
      return promiseRejectedWith(e);
    }
    if (returnMethod === undefined || returnMethod === null) return promiseResolvedWith(undefined);
    let returnResult;
    try {
      returnResult = ReflectApply(returnMethod, iterator, [reason]);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    if (isSync) {
      if (!isObject(returnResult)) {
        return promiseRejectedWith(new TypeError("The iterator's return() result is not an object."));
      }
      let valueWrapper;
      try {
        valueWrapper = promiseResolvedWith(returnResult.value);
      } catch (e) {
        return promiseRejectedWith(e);
      }
      return transformPromise(valueWrapper, noop);
    }
    let returnPromise;
    try {
      returnPromise = promiseResolvedWith(returnResult);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return transformPromise(returnPromise, (iterResult) => {
      if (!isObject(iterResult)) {
        throw new TypeError("The async iterator's return() promise did not fulfill with an object.");
      }
    });
  }

  stream = createReadableStream(noop, pullAlgorithm, cancelAlgorithm, 0);
  return stream;
}

// ---------------------------------------------------------------------------
// Strategy helpers.

function extractHighWaterMark(strategy, defaultHWM) {
  if (strategy.highWaterMark === undefined) return defaultHWM;
  const highWaterMark = strategy.highWaterMark;
  if (NumberIsNaN(highWaterMark) || highWaterMark < 0) {
    throw new RangeError("The highWaterMark of a queuing strategy must be a non-negative number.");
  }
  return highWaterMark;
}

function extractSizeAlgorithm(strategy) {
  if (strategy.size === undefined) return () => 1;
  const size = strategy.size;
  // The callback returns an `unrestricted double`.
  return (chunk) => {
    const result = size(chunk);
    return typeof result === "number" ? result : +result;
  };
}

// WebIDL dictionary conversion of QueuingStrategy (members in alphabetical order).
function convertQueuingStrategy(strategy, context) {
  if (strategy === undefined || strategy === null) return { highWaterMark: undefined, size: undefined };
  if (!isObject(strategy)) {
    throw new TypeError(`${context}: The strategy argument is not an object.`);
  }
  const hwm = strategy.highWaterMark;
  const result = { highWaterMark: hwm === undefined ? undefined : Number(hwm), size: undefined };
  const size = strategy.size;
  if (size !== undefined) {
    if (typeof size !== "function") throw new TypeError(`${context}: strategy.size is not a function.`);
    result.size = size;
  }
  return result;
}

// WebIDL dictionary conversion of UnderlyingSource (alphabetical order).
function convertUnderlyingSource(source, context) {
  const result = {
    autoAllocateChunkSize: undefined,
    cancel: undefined,
    pull: undefined,
    start: undefined,
    type: undefined,
  };
  if (source === undefined || source === null) return result;
  const autoAllocateChunkSize = source.autoAllocateChunkSize;
  if (autoAllocateChunkSize !== undefined) {
    result.autoAllocateChunkSize = toEnforceRangeUnsignedLongLong(
      autoAllocateChunkSize,
      `${context}: underlyingSource.autoAllocateChunkSize`,
    );
  }
  for (const name of ["cancel", "pull", "start"]) {
    const fn = source[name];
    if (fn !== undefined) {
      if (typeof fn !== "function") {
        throw new TypeError(`${context}: underlyingSource.${name} is not a function.`);
      }
      result[name] = fn;
    }
  }
  const type = source.type;
  if (type !== undefined) {
    const t = `${type}`;
    if (t !== "bytes") {
      throw new TypeError(`${context}: '${t}' is not a valid value for underlyingSource.type.`);
    }
    result.type = t;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Public classes.

const kCreate = {}; // private constructor token, shared by the stream files

let getStreamState; // ReadableStream -> StreamState | undefined
let getReaderState; // ReadableStreamDefaultReader -> DefaultReaderState | undefined
let getBYOBReaderState; // ReadableStreamBYOBReader -> BYOBReaderState | undefined
let checkStream; // (value, method) -> StreamState, or throws Illegal invocation
let checkController;

// The public object of an internal record (a reader, writer, controller or
// request), made on first use with the class's private constructor.
function wrapperOf(record, C) {
  if (record.wrapper === undefined) record.wrapper = new C(kCreate, record);
  return record.wrapper;
}

// The constructors of the readers and of WritableStreamDefaultWriter: a
// record acquired on `value`'s stream, which `unwrap` finds (`type` names the
// stream's interface in the error when it does not).
function acquireForConstructor(iface, count, value, unwrap, type, acquire) {
  requireArguments(count, 1, `Failed to construct '${iface}'`);
  const stream = unwrap(value);
  if (stream === undefined) {
    throw new TypeError(`Failed to construct '${iface}': parameter 1 is not of type '${type}'.`);
  }
  return acquire(stream);
}

// What the promise-returning methods of readers and writers (and the
// `closed` and `ready` attributes) start with: `record` is the method's
// receiver's record (undefined: not one, "Illegal invocation", naming
// `method` on `iface` when there is a method), and a released one rejects
// with `released`; else steps(record, arg).
function lockedOperation(record, method, iface, released, steps, arg = undefined) {
  if (record === undefined) return promiseRejectedWith(illegalInvocation(method, iface));
  if (released !== undefined && record.stream === undefined) return promiseRejectedWith(new TypeError(released));
  return steps(record, arg);
}

// releaseLock() of readers and writers.
function releaseLockOperation(record, iface, release) {
  if (record === undefined) throw illegalInvocation("releaseLock", iface);
  if (record.stream === undefined) return;
  release(record);
}

const closedPromiseOf = (record) => record.closedPromise.promise;

// Filled in by the stream files that run after this one.
const hooks = {
  // streams_byte.js
  setUpReadableByteStreamControllerFromUnderlyingSource: undefined,
  readableByteStreamTee: undefined,
  readableByteStreamFromBytes: undefined,
  // streams_writable.js: WritableStream -> its record, or undefined.
  getWritableStreamState: undefined,
  isWritableStreamLocked: undefined,
  // streams_pipe.js
  readableStreamPipeTo: undefined,
};

function getWritableStreamStateOrUndefined(value) {
  return hooks.getWritableStreamState === undefined ? undefined : hooks.getWritableStreamState(value);
}

// WebIDL dictionary StreamPipeOptions (members in alphabetical order). The
// signal must be an AbortSignal: internals.isAbortSignal(value) decides when
// the runtime provides it, else `instanceof internals.AbortSignal`; until the
// runtime has AbortSignal at all, any object with `aborted`, `reason` and
// addEventListener("abort", ...) is accepted (see streams_pipe.js).
function convertStreamPipeOptions(options, context) {
  if (options === undefined || options === null) {
    return { preventAbort: false, preventCancel: false, preventClose: false, signal: undefined };
  }
  if (!isObject(options)) {
    throw new TypeError(`${context}: The provided value is not of type 'StreamPipeOptions'.`);
  }
  const preventAbort = !!options.preventAbort;
  const preventCancel = !!options.preventCancel;
  const preventClose = !!options.preventClose;
  const signal = options.signal;
  if (signal !== undefined && !isAbortSignalLike(signal)) {
    throw new TypeError(
      `${context}: Failed to read the 'signal' property from 'StreamPipeOptions': The provided value is not of type 'AbortSignal'.`,
    );
  }
  return { preventAbort, preventCancel, preventClose, signal };
}

function isAbortSignalLike(value) {
  if (typeof internals.isAbortSignal === "function") return internals.isAbortSignal(value);
  const AbortSignal = internals.AbortSignal;
  if (typeof AbortSignal === "function") return value instanceof AbortSignal;
  return isObject(value) && typeof value.addEventListener === "function";
}

function wrapStream(stream) {
  return new ReadableStream(kCreate, stream);
}

class ReadableStream {
  #stream;

  constructor(underlyingSource = undefined, strategy = undefined) {
    if (underlyingSource === kCreate) {
      this.#stream = strategy;
      strategy.wrapper = this;
      return;
    }
    const context = "Failed to construct 'ReadableStream'";
    if (underlyingSource !== undefined && !isObject(underlyingSource)) {
      throw new TypeError(`${context}: The provided value is not of type 'object'.`);
    }
    const strategyDict = convertQueuingStrategy(strategy, context);
    const source = convertUnderlyingSource(underlyingSource, context);
    const stream = new StreamState();
    this.#stream = stream;
    stream.wrapper = this;
    if (source.type === "bytes") {
      if (strategyDict.size !== undefined) {
        throw new RangeError(`${context}: The strategy for a byte stream cannot have a size function.`);
      }
      const highWaterMark = extractHighWaterMark(strategyDict, 0);
      if (hooks.setUpReadableByteStreamControllerFromUnderlyingSource === undefined) {
        throw new TypeError(`${context}: byte streams (type: 'bytes') are not supported.`);
      }
      hooks.setUpReadableByteStreamControllerFromUnderlyingSource(stream, underlyingSource, source, highWaterMark);
      return;
    }
    const sizeAlgorithm = extractSizeAlgorithm(strategyDict);
    const highWaterMark = extractHighWaterMark(strategyDict, 1);
    setUpReadableStreamDefaultControllerFromUnderlyingSource(
      stream,
      underlyingSource,
      source,
      highWaterMark,
      sizeAlgorithm,
    );
  }

  static from(asyncIterable) {
    return readableStreamFromIterable(asyncIterable).wrapper;
  }

  get locked() {
    return isReadableStreamLocked(checkStream(this, "locked"));
  }

  cancel(reason = undefined) {
    const stream = getStreamState(this);
    if (stream === undefined) return promiseRejectedWith(illegalInvocation("cancel", "ReadableStream"));
    if (isReadableStreamLocked(stream)) {
      return promiseRejectedWith(new TypeError("Cannot cancel a ReadableStream that is locked to a reader."));
    }
    return readableStreamCancel(stream, reason);
  }

  getReader(options = undefined) {
    const stream = checkStream(this, "getReader");
    let mode;
    if (options !== undefined && options !== null) {
      if (!isObject(options)) {
        throw new TypeError(
          "Failed to execute 'getReader' on 'ReadableStream': The provided value is not of type 'ReadableStreamGetReaderOptions'.",
        );
      }
      mode = options.mode;
    }
    if (mode === undefined) {
      return wrapperOf(acquireReadableStreamDefaultReader(stream), ReadableStreamDefaultReader);
    }
    mode = `${mode}`;
    if (mode === "byob") {
      return wrapperOf(acquireReadableStreamBYOBReader(stream), ReadableStreamBYOBReader);
    }
    throw new TypeError(
      `Failed to execute 'getReader' on 'ReadableStream': '${mode}' is not a valid value for mode.`,
    );
  }

  pipeThrough(transform, options = undefined) {
    const stream = checkStream(this, "pipeThrough");
    const context = "Failed to execute 'pipeThrough' on 'ReadableStream'";
    requireArguments(arguments.length, 1, context);
    // ReadableWritablePair (members in alphabetical order, both required).
    if (transform !== undefined && transform !== null && !isObject(transform)) {
      throw new TypeError(`${context}: The provided value is not of type 'ReadableWritablePair'.`);
    }
    const readableValue = transform == null ? undefined : transform.readable;
    if (readableValue === undefined) {
      throw new TypeError(`${context}: Failed to read the 'readable' property from 'ReadableWritablePair': Required member is undefined.`);
    }
    const readable = getStreamState(readableValue);
    if (readable === undefined) {
      throw new TypeError(`${context}: Failed to read the 'readable' property from 'ReadableWritablePair': The provided value is not of type 'ReadableStream'.`);
    }
    const writableValue = transform.writable;
    if (writableValue === undefined) {
      throw new TypeError(`${context}: Failed to read the 'writable' property from 'ReadableWritablePair': Required member is undefined.`);
    }
    const writable = getWritableStreamStateOrUndefined(writableValue);
    if (writable === undefined) {
      throw new TypeError(`${context}: Failed to read the 'writable' property from 'ReadableWritablePair': The provided value is not of type 'WritableStream'.`);
    }
    const opts = convertStreamPipeOptions(options, context);
    if (isReadableStreamLocked(stream)) {
      throw new TypeError(`${context}: This ReadableStream is locked.`);
    }
    if (hooks.isWritableStreamLocked(writable)) {
      throw new TypeError(`${context}: The WritableStream is locked.`);
    }
    if (hooks.readableStreamPipeTo === undefined) throw new TypeError(`${context}: piping is not supported.`);
    const promise = hooks.readableStreamPipeTo(
      stream,
      writable,
      opts.preventClose,
      opts.preventAbort,
      opts.preventCancel,
      opts.signal,
    );
    setPromiseIsHandled(promise);
    return readableValue;
  }

  pipeTo(destination, options = undefined) {
    const stream = getStreamState(this);
    const context = "Failed to execute 'pipeTo' on 'ReadableStream'";
    if (stream === undefined) return promiseRejectedWith(illegalInvocation("pipeTo", "ReadableStream"));
    if (arguments.length === 0) return promiseRejectedWith(tooFewArguments(0, 1, context));
    const dest = getWritableStreamStateOrUndefined(destination);
    if (dest === undefined) {
      return promiseRejectedWith(
        new TypeError(`${context}: parameter 1 is not of type 'WritableStream'.`),
      );
    }
    let opts;
    try {
      opts = convertStreamPipeOptions(options, context);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    if (isReadableStreamLocked(stream)) {
      return promiseRejectedWith(new TypeError(`${context}: This ReadableStream is locked.`));
    }
    if (hooks.isWritableStreamLocked(dest)) {
      return promiseRejectedWith(new TypeError(`${context}: The destination WritableStream is locked.`));
    }
    if (hooks.readableStreamPipeTo === undefined) {
      return promiseRejectedWith(new TypeError(`${context}: piping is not supported.`));
    }
    return hooks.readableStreamPipeTo(
      stream,
      dest,
      opts.preventClose,
      opts.preventAbort,
      opts.preventCancel,
      opts.signal,
    );
  }

  tee() {
    const stream = checkStream(this, "tee");
    const branches = readableStreamTee(stream);
    return [branches[0].wrapper, branches[1].wrapper];
  }

  values(options = undefined) {
    const stream = checkStream(this, "values");
    let preventCancel = false;
    if (options !== undefined && options !== null) {
      if (!isObject(options)) {
        throw new TypeError(
          "Failed to execute 'values' on 'ReadableStream': The provided value is not of type 'ReadableStreamIteratorOptions'.",
        );
      }
      preventCancel = !!options.preventCancel;
    }
    const reader = acquireReadableStreamDefaultReader(stream);
    return new ReadableStreamAsyncIterator(kCreate, {
      reader,
      preventCancel,
      ongoingPromise: undefined,
      isFinished: false,
    });
  }

  [inspectSymbol]() {
    const stream = this.#stream;
    return inspectNamed("ReadableStream", {
      locked: isReadableStreamLocked(stream),
      state: stream.state,
    });
  }

  static {
    getStreamState = (value) => (isObject(value) && #stream in value ? value.#stream : undefined);
    checkStream = brandCheck(getStreamState, "ReadableStream");
  }
}
ObjectDefineProperty(ReadableStream.prototype, SymbolAsyncIterator, {
  value: ReadableStream.prototype.values,
  writable: true,
  enumerable: false,
  configurable: true,
});
finishInterface(ReadableStream);

class ReadableStreamDefaultReader {
  #reader;

  constructor(stream, internal = undefined) {
    const reader =
      stream === kCreate
        ? internal
        : acquireForConstructor(
            "ReadableStreamDefaultReader",
            arguments.length,
            stream,
            getStreamState,
            "ReadableStream",
            acquireReadableStreamDefaultReader,
          );
    this.#reader = reader;
    reader.wrapper = this;
  }

  get closed() {
    return lockedOperation(getReaderState(this), undefined, undefined, undefined, closedPromiseOf);
  }

  read() {
    return lockedOperation(
      getReaderState(this),
      "read",
      "ReadableStreamDefaultReader",
      "This reader has been released and cannot read from its stream.",
      defaultReaderRead,
    );
  }

  releaseLock() {
    releaseLockOperation(getReaderState(this), "ReadableStreamDefaultReader", readableStreamDefaultReaderRelease);
  }

  cancel(reason = undefined) {
    return lockedOperation(
      getReaderState(this),
      "cancel",
      "ReadableStreamDefaultReader",
      "This reader has been released and cannot cancel its stream.",
      readableStreamReaderGenericCancel,
      reason,
    );
  }

  static {
    getReaderState = (value) => (isObject(value) && #reader in value ? value.#reader : undefined);
  }
}
finishInterface(ReadableStreamDefaultReader);

// WebIDL dictionary ReadableStreamBYOBReaderReadOptions: { min = 1 }.
function convertBYOBReaderReadOptions(options, context) {
  if (options === undefined || options === null) return 1;
  if (!isObject(options)) {
    throw new TypeError(`${context}: The provided value is not of type 'ReadableStreamBYOBReaderReadOptions'.`);
  }
  const min = options.min;
  if (min === undefined) return 1;
  return toEnforceRangeUnsignedLongLong(
    min,
    `${context}: Failed to read the 'min' property from 'ReadableStreamBYOBReaderReadOptions': Value`,
  );
}

class ReadableStreamBYOBReader {
  #reader;

  constructor(stream, internal = undefined) {
    const reader =
      stream === kCreate
        ? internal
        : acquireForConstructor(
            "ReadableStreamBYOBReader",
            arguments.length,
            stream,
            getStreamState,
            "ReadableStream",
            acquireReadableStreamBYOBReader,
          );
    this.#reader = reader;
    reader.wrapper = this;
  }

  get closed() {
    return lockedOperation(getBYOBReaderState(this), undefined, undefined, undefined, closedPromiseOf);
  }

  read(view, options = undefined) {
    const context = "Failed to execute 'read' on 'ReadableStreamBYOBReader'";
    const reader = getBYOBReaderState(this);
    if (reader === undefined) return promiseRejectedWith(illegalInvocation("read", "ReadableStreamBYOBReader"));
    if (arguments.length === 0) return promiseRejectedWith(tooFewArguments(0, 1, context));
    if (!ArrayBufferIsView(view)) {
      return promiseRejectedWith(new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`));
    }
    let min;
    try {
      min = convertBYOBReaderReadOptions(options, context);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    const buffer = viewBuffer(view);
    if (viewByteLength(view) === 0) {
      return promiseRejectedWith(new TypeError(`${context}: This view has a byteLength of 0.`));
    }
    if (arrayBufferByteLength(buffer) === 0) {
      return promiseRejectedWith(new TypeError(`${context}: This view's buffer has a byteLength of 0.`));
    }
    if (isDetachedBuffer(buffer)) {
      return promiseRejectedWith(new TypeError(`${context}: This view's buffer is detached.`));
    }
    if (min === 0) {
      return promiseRejectedWith(new TypeError(`${context}: options.min must be greater than 0.`));
    }
    if (viewTypedArrayName(view) !== undefined) {
      if (min > TypedArrayPrototypeGetLength(view)) {
        return promiseRejectedWith(new RangeError(`${context}: options.min must not exceed the view's length.`));
      }
    } else if (min > viewByteLength(view)) {
      return promiseRejectedWith(new RangeError(`${context}: options.min must not exceed the view's byteLength.`));
    }
    if (reader.stream === undefined) {
      return promiseRejectedWith(new TypeError("This reader has been released and cannot read from its stream."));
    }
    const promise = newPromiseCapability();
    readableStreamBYOBReaderRead(reader, view, min, {
      chunkSteps(chunk) {
        promise.resolve({ value: chunk, done: false });
      },
      closeSteps(chunk) {
        promise.resolve({ value: chunk, done: true });
      },
      errorSteps(e) {
        promise.reject(e);
      },
    });
    return promise.promise;
  }

  releaseLock() {
    releaseLockOperation(getBYOBReaderState(this), "ReadableStreamBYOBReader", readableStreamBYOBReaderRelease);
  }

  cancel(reason = undefined) {
    return lockedOperation(
      getBYOBReaderState(this),
      "cancel",
      "ReadableStreamBYOBReader",
      "This reader has been released and cannot cancel its stream.",
      readableStreamReaderGenericCancel,
      reason,
    );
  }

  static {
    getBYOBReaderState = (value) => (isObject(value) && #reader in value ? value.#reader : undefined);
  }
}
finishInterface(ReadableStreamBYOBReader);

class ReadableStreamDefaultController {
  #controller;

  constructor(token = undefined, controller = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#controller = controller;
  }

  get desiredSize() {
    return readableStreamDefaultControllerGetDesiredSize(checkController(this));
  }

  close() {
    const controller = checkController(this);
    if (!readableStreamDefaultControllerCanCloseOrEnqueue(controller)) {
      throw new TypeError("The stream is not in a state that permits close.");
    }
    readableStreamDefaultControllerClose(controller);
  }

  enqueue(chunk = undefined) {
    const controller = checkController(this);
    if (!readableStreamDefaultControllerCanCloseOrEnqueue(controller)) {
      throw new TypeError("The stream is not in a state that permits enqueue.");
    }
    readableStreamDefaultControllerEnqueue(controller, chunk);
  }

  error(e = undefined) {
    readableStreamDefaultControllerError(checkController(this), e);
  }

  static {
    checkController = brandCheck((value) => (isObject(value) && #controller in value ? value.#controller : undefined));
  }
}
finishInterface(ReadableStreamDefaultController);

// ---------------------------------------------------------------------------
// Async iteration.

const AsyncIteratorPrototype = ObjectGetPrototypeOf(
  ObjectGetPrototypeOf(async function* () {}.prototype),
);
const END_OF_ITERATION = {};

function readableStreamGetNextIterationResult(iter) {
  const reader = iter.reader;
  const promise = newPromiseCapability();
  readableStreamDefaultReaderRead(reader, {
    chunkSteps(chunk) {
      promise.resolve(chunk);
    },
    closeSteps() {
      readableStreamDefaultReaderRelease(reader);
      promise.resolve(END_OF_ITERATION);
    },
    errorSteps(e) {
      readableStreamDefaultReaderRelease(reader);
      promise.reject(e);
    },
  });
  return promise.promise;
}

function readableStreamAsyncIteratorReturn(iter, arg) {
  const reader = iter.reader;
  if (reader.stream === undefined) return promiseResolvedWith(undefined);
  if (!iter.preventCancel) {
    const result = readableStreamReaderGenericCancel(reader, arg);
    readableStreamDefaultReaderRelease(reader);
    return result;
  }
  readableStreamDefaultReaderRelease(reader);
  return promiseResolvedWith(undefined);
}

class ReadableStreamAsyncIterator {
  #iter;

  constructor(token, iter) {
    if (token !== kCreate) throw illegalConstructor();
    this.#iter = iter;
  }

  next() {
    if (!isObject(this) || !(#iter in this)) {
      return promiseRejectedWith(new TypeError("next() called on an object that is not a ReadableStream async iterator."));
    }
    const iter = this.#iter;
    const nextSteps = () => {
      if (iter.isFinished) return promiseResolvedWith({ value: undefined, done: true });
      const nextPromise = readableStreamGetNextIterationResult(iter);
      return transformPromise(
        nextPromise,
        (next) => {
          iter.ongoingPromise = undefined;
          if (next === END_OF_ITERATION) {
            iter.isFinished = true;
            return { value: undefined, done: true };
          }
          return { value: next, done: false };
        },
        (reason) => {
          iter.ongoingPromise = undefined;
          iter.isFinished = true;
          throw reason;
        },
      );
    };
    iter.ongoingPromise =
      iter.ongoingPromise !== undefined
        ? transformPromise(iter.ongoingPromise, nextSteps, nextSteps)
        : nextSteps();
    return iter.ongoingPromise;
  }

  // One declared parameter: the method's length is 1, as WebIDL gives it.
  return(value) {
    if (!isObject(this) || !(#iter in this)) {
      return promiseRejectedWith(new TypeError("return() called on an object that is not a ReadableStream async iterator."));
    }
    const iter = this.#iter;
    const returnSteps = () => {
      if (iter.isFinished) return promiseResolvedWith({ value, done: true });
      iter.isFinished = true;
      return readableStreamAsyncIteratorReturn(iter, value);
    };
    iter.ongoingPromise =
      iter.ongoingPromise !== undefined
        ? transformPromise(iter.ongoingPromise, returnSteps, returnSteps)
        : returnSteps();
    return transformPromise(iter.ongoingPromise, () => ({ value, done: true }));
  }
}
ObjectSetPrototypeOf(ReadableStreamAsyncIterator.prototype, AsyncIteratorPrototype);
delete ReadableStreamAsyncIterator.prototype.constructor;
for (const name of ["next", "return"]) {
  ObjectDefineProperty(ReadableStreamAsyncIterator.prototype, name, { enumerable: true });
}
ObjectDefineProperty(ReadableStreamAsyncIterator.prototype, Symbol.toStringTag, {
  value: "ReadableStream AsyncIterator",
  writable: false,
  enumerable: false,
  configurable: true,
});

// ---------------------------------------------------------------------------
// Queuing strategies.

// Methods of object literals: named "size", not constructors, and without a
// `prototype` property, as the spec's built-in functions.
const byteLengthSize = {
  size(chunk) {
    return chunk.byteLength;
  },
}.size;

const countSize = {
  size() {
    return 1;
  },
}.size;

function convertQueuingStrategyInit(init, context) {
  if (arguments.length === 0 || init === undefined) {
    throw new TypeError(`Failed to construct '${context}': 1 argument required, but only 0 present.`);
  }
  if (!isObject(init)) {
    throw new TypeError(`Failed to construct '${context}': The provided value is not of type 'QueuingStrategyInit'.`);
  }
  const hwm = init.highWaterMark;
  if (hwm === undefined) {
    throw new TypeError(
      `Failed to construct '${context}': Failed to read the 'highWaterMark' property from 'QueuingStrategyInit': Required member is undefined.`,
    );
  }
  return Number(hwm);
}

// The two strategies differ only in their name and size function.
function queuingStrategyInterface(name, size) {
  // A computed key names the class `name`.
  const C = {
    [name]: class {
      #highWaterMark;

      constructor(init) {
        this.#highWaterMark = convertQueuingStrategyInit(init, name);
      }

      get highWaterMark() {
        return this.#highWaterMark;
      }

      get size() {
        this.#highWaterMark; // brand check
        return size;
      }
    },
  }[name];
  finishInterface(C);
  return C;
}

const ByteLengthQueuingStrategy = queuingStrategyInterface("ByteLengthQueuingStrategy", byteLengthSize);
const CountQueuingStrategy = queuingStrategyInterface("CountQueuingStrategy", countSize);

// ---------------------------------------------------------------------------
// Helpers for the rest of the runtime (Body, the embedder).

// A stream that yields `bytes` (if not empty) as one chunk, then closes: a
// byte stream (Fetch's "with byte reading support") once streams_byte.js is
// loaded. `bytes` is owned by the stream from now on.
// Streams whose total length the runtime knows (made from bytes, or a
// fetch() response body with a Content-Length): a response with such a body
// is sent with a Content-Length, as Workers does, instead of chunked.
// A SafeWeakMap: the length goes out as the response's Content-Length.
const knownLengths = new SafeWeakMap();

function readableStreamFromBytes(bytes) {
  let wrapper;
  if (hooks.readableByteStreamFromBytes !== undefined) {
    wrapper = hooks.readableByteStreamFromBytes(bytes).wrapper;
  } else {
    const stream = createReadableStream(noop, resolvedUndefined, resolvedUndefined, 0);
    if (bytes.byteLength !== 0) readableStreamDefaultControllerEnqueue(stream.controller, bytes);
    readableStreamDefaultControllerClose(stream.controller);
    wrapper = stream.wrapper;
  }
  knownLengths.set(wrapper, bytes.byteLength);
  return wrapper;
}

// A closed, disturbed and locked stream: what a consumed body's `body` is.
function createUsedReadableStream() {
  const stream = createReadableStream(noop, resolvedUndefined, resolvedUndefined, 0);
  readableStreamDefaultControllerClose(stream.controller);
  stream.disturbed = true;
  acquireReadableStreamDefaultReader(stream);
  return stream.wrapper;
}

// Always a fresh Uint8Array spanning its whole buffer.
function concatBytes(chunks, total) {
  if (chunks.length === 1) return chunks[0].slice();
  const result = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    result.set(chunks[i], offset);
    offset += chunks[i].byteLength;
  }
  return result;
}

// Fetch's "fully read": reads every chunk (each must be a Uint8Array) and
// resolves with { bytes }, a null-prototype record holding a new Uint8Array
// with their concatenation. The stream stays locked, as in the spec.
function readAllBytes(wrapper) {
  const stream = getStreamState(wrapper);
  if (stream === undefined) return promiseRejectedWith(new TypeError("Not a ReadableStream."));
  let reader;
  try {
    reader = acquireReadableStreamDefaultReader(stream);
  } catch (e) {
    return promiseRejectedWith(e);
  }
  const result = newPromiseCapability();
  const chunks = [];
  let total = 0;
  let inLoop = false;
  let readAgain = false;
  const readRequest = {
    chunkSteps(chunk) {
      if (!isUint8Array(chunk)) {
        result.reject(new TypeError("This ReadableStream did not return bytes: a chunk is not a Uint8Array."));
        setPromiseIsHandled(readableStreamCancel(stream, undefined));
        return;
      }
      if (chunk.byteLength !== 0) {
        chunks.push(chunk);
        total += chunk.byteLength;
      }
      if (inLoop) readAgain = true;
      else queueMicrotaskInternal(loop);
    },
    closeSteps() {
      // Resolved with a record without a prototype: resolving with the
      // Uint8Array itself would look up `then` on it, and a `then` the
      // tenant put on Object.prototype could swap the body's bytes.
      result.resolve({ __proto__: null, bytes: concatBytes(chunks, total) });
    },
    errorSteps(e) {
      result.reject(e);
    },
  };
  function loop() {
    do {
      readAgain = false;
      inLoop = true;
      readableStreamDefaultReaderRead(reader, readRequest);
      inLoop = false;
    } while (readAgain);
  }
  loop();
  return result.promise;
}

// A new stream that reads from `wrapper` (which becomes locked and disturbed):
// Fetch's "create a proxy", used when a Request takes another Request's body.
function readableStreamProxy(wrapper) {
  const source = getStreamState(wrapper);
  const reader = acquireReadableStreamDefaultReader(source);
  source.disturbed = true;
  let stream;
  const pullAlgorithm = () => {
    const promise = newPromiseCapability();
    readableStreamDefaultReaderRead(reader, {
      chunkSteps(chunk) {
        readableStreamDefaultControllerEnqueue(stream.controller, chunk);
        promise.resolve(undefined);
      },
      closeSteps() {
        readableStreamDefaultControllerClose(stream.controller);
        promise.resolve(undefined);
      },
      errorSteps(e) {
        readableStreamDefaultControllerError(stream.controller, e);
        promise.resolve(undefined);
      },
    });
    return promise.promise;
  };
  const cancelAlgorithm = (reason) => readableStreamReaderGenericCancel(reader, reason);
  stream = createReadableStream(noop, pullAlgorithm, cancelAlgorithm, 0);
  return stream.wrapper;
}

// A minimal reader for the embedder: read() -> Promise<{ value, done }>,
// cancel(reason) -> Promise, release().
function streamReader(wrapper) {
  const stream = getStreamState(wrapper);
  if (stream === undefined) throw new TypeError("Not a ReadableStream.");
  const reader = acquireReadableStreamDefaultReader(stream);
  return {
    read() {
      if (reader.stream === undefined) return promiseRejectedWith(new TypeError("The reader was released."));
      return defaultReaderRead(reader);
    },
    cancel(reason) {
      if (reader.stream === undefined) return promiseResolvedWith(undefined);
      return readableStreamReaderGenericCancel(reader, reason);
    },
    release() {
      if (reader.stream !== undefined) readableStreamDefaultReaderRelease(reader);
    },
  };
}

internals.ReadableStream = ReadableStream;
internals.ReadableStreamDefaultReader = ReadableStreamDefaultReader;
internals.ReadableStreamDefaultController = ReadableStreamDefaultController;
internals.ByteLengthQueuingStrategy = ByteLengthQueuingStrategy;
internals.CountQueuingStrategy = CountQueuingStrategy;
internals.isReadableStream = (value) => getStreamState(value) !== undefined;
internals.isDisturbed = (wrapper) => getStreamState(wrapper).disturbed;
internals.isLocked = (wrapper) => isReadableStreamLocked(getStreamState(wrapper));
internals.readableStreamFromBytes = readableStreamFromBytes;
internals.setStreamLength = (wrapper, length) => knownLengths.set(wrapper, length);
// The stream's total length in bytes if the runtime knows it and nothing has
// been read from it yet, else undefined.
internals.streamKnownLength = (wrapper) => {
  const length = knownLengths.get(wrapper);
  if (length === undefined) return undefined;
  const stream = getStreamState(wrapper);
  return stream === undefined || stream.disturbed ? undefined : length;
};
internals.createUsedReadableStream = createUsedReadableStream;
internals.readAllBytes = readAllBytes;
// Fetch's "tee" of a body: the clone's chunks are structured clones.
internals.readableStreamTee = (wrapper) => {
  const branches = readableStreamTee(getStreamState(wrapper), true);
  return [branches[0].wrapper, branches[1].wrapper];
};
internals.readableStreamCancel = (wrapper, reason) => readableStreamCancel(getStreamState(wrapper), reason);
internals.readableStreamProxy = readableStreamProxy;
internals.streamReader = streamReader;
internals.ReadableStreamBYOBReader = ReadableStreamBYOBReader;

// For the other stream files (streams_byte.js, streams_writable.js,
// streams_pipe.js, streams_transform.js, encoding_streams.js).
internals.streams = {
  hooks,
  // The public classes.
  kCreate,
  wrapperOf,
  acquireForConstructor,
  lockedOperation,
  releaseLockOperation,
  closedPromiseOf,
  // Promises and queues.
  noop,
  resolvedUndefined,
  newPromiseCapability,
  promiseResolvedWith,
  promiseRejectedWith,
  setPromiseIsHandled,
  uponPromise,
  transformPromise,
  queueMicrotaskInternal,
  promiseCall,
  Queue,
  dequeueValue,
  enqueueValueWithSize,
  peekQueueValue,
  resetQueue,
  // Buffers and views.
  typedArrayTable,
  isDetachedBuffer,
  arrayBufferByteLength,
  transferArrayBuffer,
  viewTypedArrayName,
  viewBuffer,
  viewByteOffset,
  viewByteLength,
  copyDataBlockBytes,
  cloneArrayBuffer,
  cloneAsUint8Array,
  // Strategies and underlying sources.
  convertQueuingStrategy,
  underlyingSourceAlgorithms,
  controllerCallPullIfNeeded,
  extractHighWaterMark,
  extractSizeAlgorithm,
  // Readable streams.
  StreamState,
  DefaultReaderState,
  BYOBReaderState,
  getStreamState,
  wrapStream,
  createReadableStream,
  isReadableStreamLocked,
  readableStreamCancel,
  readableStreamClose,
  readableStreamError,
  readableStreamAddReadRequest,
  readableStreamFulfillReadRequest,
  readableStreamGetNumReadRequests,
  readableStreamAddReadIntoRequest,
  readableStreamFulfillReadIntoRequest,
  readableStreamGetNumReadIntoRequests,
  readableStreamHasDefaultReader,
  readableStreamHasBYOBReader,
  readableStreamReaderGenericCancel,
  readableStreamReaderGenericRelease,
  acquireReadableStreamDefaultReader,
  readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease,
  acquireReadableStreamBYOBReader,
  readableStreamBYOBReaderRead,
  readableStreamBYOBReaderRelease,
  readableStreamDefaultControllerCanCloseOrEnqueue,
  readableStreamDefaultControllerClose,
  readableStreamDefaultControllerEnqueue,
  readableStreamDefaultControllerError,
  readableStreamDefaultControllerGetDesiredSize,
  readableStreamDefaultControllerHasBackpressure,
};
