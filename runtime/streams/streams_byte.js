// Readable byte streams (https://streams.spec.whatwg.org/#rbs-controller-class):
// ReadableByteStreamController, ReadableStreamBYOBRequest and the byte-stream
// tee. Runs after streams.js, whose operations it uses (internals.streams) and
// which it plugs into through `hooks` (type: "bytes", tee, body streams).
//
// Buffers handed to the stream are transferred (the caller's ArrayBuffer is
// detached) with native.transferArrayBuffer, as the spec says.

const {
  finishInterface, inspectSymbol, inspectNamed, illegalConstructor, brandCheck, requireArguments, isObject,
  toEnforceRangeUnsignedLongLong,
} = internals;
const {
  hooks, kCreate, wrapperOf, noop, resolvedUndefined, newPromiseCapability, promiseResolvedWith, uponPromise,
  queueMicrotaskInternal, Queue, resetQueue, underlyingSourceAlgorithms, controllerCallPullIfNeeded,
  typedArrayTable, isDetachedBuffer, arrayBufferByteLength, transferArrayBuffer, viewTypedArrayName,
  viewBuffer, viewByteOffset, viewByteLength, copyDataBlockBytes, cloneArrayBuffer, cloneAsUint8Array,
  StreamState, wrapStream, readableStreamCancel, readableStreamClose, readableStreamError,
  readableStreamAddReadRequest, readableStreamFulfillReadRequest, readableStreamGetNumReadRequests,
  readableStreamAddReadIntoRequest, readableStreamFulfillReadIntoRequest,
  readableStreamGetNumReadIntoRequests, readableStreamHasDefaultReader, readableStreamHasBYOBReader,
  acquireReadableStreamDefaultReader, readableStreamDefaultReaderRead, readableStreamDefaultReaderRelease,
  acquireReadableStreamBYOBReader, readableStreamBYOBReaderRead, readableStreamBYOBReaderRelease,
  DefaultReaderState,
} = internals.streams;

const MathMin = Math.min;
const ArrayBufferIsView = ArrayBuffer.isView;
const ArrayBufferCtor = ArrayBuffer;
const DataViewCtor = DataView;
const Uint8ArrayCtor = Uint8Array;

// ---------------------------------------------------------------------------
// Internal records.

class ByteControllerState {
  stream = undefined;
  queue = new Queue(); // of { buffer, byteOffset, byteLength }
  queueTotalSize = 0;
  started = false;
  closeRequested = false;
  pullAgain = false;
  pulling = false;
  strategyHWM = 0;
  pullAlgorithm = undefined;
  cancelAlgorithm = undefined;
  autoAllocateChunkSize = undefined;
  pendingPullIntos = []; // of pull-into descriptors (PullIntoDescriptor)
  byobRequest = null; // BYOBRequestState | null
  wrapper = undefined;
  isByte = true;

  // [[CancelSteps]]
  cancelSteps(reason) {
    readableByteStreamControllerClearPendingPullIntos(this);
    resetQueue(this);
    const result = this.cancelAlgorithm(reason);
    readableByteStreamControllerClearAlgorithms(this);
    return result;
  }

  // [[PullSteps]]
  pullSteps(readRequest) {
    const stream = this.stream;
    if (this.queueTotalSize > 0) {
      readableByteStreamControllerFillReadRequestFromQueue(this, readRequest);
      return;
    }
    const autoAllocateChunkSize = this.autoAllocateChunkSize;
    if (autoAllocateChunkSize !== undefined) {
      let buffer;
      try {
        buffer = new ArrayBufferCtor(autoAllocateChunkSize);
      } catch (e) {
        readRequest.errorSteps(e);
        return;
      }
      this.pendingPullIntos.push(
        new PullIntoDescriptor(buffer, autoAllocateChunkSize, 0, autoAllocateChunkSize, 1, 1, Uint8ArrayCtor, "default"),
      );
    }
    readableStreamAddReadRequest(stream, readRequest);
    readableByteStreamControllerCallPullIfNeeded(this);
  }

  // [[ReleaseSteps]]
  releaseSteps() {
    if (this.pendingPullIntos.length > 0) {
      const firstPendingPullInto = this.pendingPullIntos[0];
      firstPendingPullInto.readerType = "none";
      this.pendingPullIntos = [firstPendingPullInto];
    }
  }

  // ReadableByteStreamControllerPullInto, for ReadableStreamBYOBReaderRead.
  pullInto(view, min, readIntoRequest) {
    readableByteStreamControllerPullInto(this, view, min, readIntoRequest);
  }
}

class PullIntoDescriptor {
  buffer;
  bufferByteLength;
  byteOffset;
  byteLength;
  bytesFilled = 0;
  minimumFill;
  elementSize;
  viewConstructor;
  readerType; // "default" | "byob" | "none"

  constructor(buffer, bufferByteLength, byteOffset, byteLength, minimumFill, elementSize, viewConstructor, readerType) {
    this.buffer = buffer;
    this.bufferByteLength = bufferByteLength;
    this.byteOffset = byteOffset;
    this.byteLength = byteLength;
    this.minimumFill = minimumFill;
    this.elementSize = elementSize;
    this.viewConstructor = viewConstructor;
    this.readerType = readerType;
  }
}

class BYOBRequestState {
  controller; // ByteControllerState | undefined
  view; // Uint8Array | null
  wrapper = undefined;

  constructor(controller, view) {
    this.controller = controller;
    this.view = view;
  }
}

// ---------------------------------------------------------------------------
// Byte stream controller abstract operations.

function readableByteStreamControllerCallPullIfNeeded(controller) {
  controllerCallPullIfNeeded(controller, readableByteStreamControllerShouldCallPull, readableByteStreamControllerError);
}

function readableByteStreamControllerClearAlgorithms(controller) {
  controller.pullAlgorithm = undefined;
  controller.cancelAlgorithm = undefined;
}

function readableByteStreamControllerClearPendingPullIntos(controller) {
  readableByteStreamControllerInvalidateBYOBRequest(controller);
  controller.pendingPullIntos = [];
}

function readableByteStreamControllerClose(controller) {
  const stream = controller.stream;
  if (controller.closeRequested || stream.state !== "readable") return;
  if (controller.queueTotalSize > 0) {
    controller.closeRequested = true;
    return;
  }
  if (controller.pendingPullIntos.length > 0) {
    const firstPendingPullInto = controller.pendingPullIntos[0];
    if (firstPendingPullInto.bytesFilled % firstPendingPullInto.elementSize !== 0) {
      const e = new TypeError("Insufficient bytes to fill the elements of the given view before close.");
      readableByteStreamControllerError(controller, e);
      throw e;
    }
  }
  readableByteStreamControllerClearAlgorithms(controller);
  readableStreamClose(stream);
}

function readableByteStreamControllerCommitPullIntoDescriptor(stream, pullIntoDescriptor) {
  let done = false;
  if (stream.state === "closed") done = true;
  const filledView = readableByteStreamControllerConvertPullIntoDescriptor(pullIntoDescriptor);
  if (pullIntoDescriptor.readerType === "default") {
    readableStreamFulfillReadRequest(stream, filledView, done);
  } else {
    readableStreamFulfillReadIntoRequest(stream, filledView, done);
  }
}

function readableByteStreamControllerConvertPullIntoDescriptor(pullIntoDescriptor) {
  const bytesFilled = pullIntoDescriptor.bytesFilled;
  const elementSize = pullIntoDescriptor.elementSize;
  const buffer = transferArrayBuffer(pullIntoDescriptor.buffer);
  const ViewConstructor = pullIntoDescriptor.viewConstructor;
  return new ViewConstructor(buffer, pullIntoDescriptor.byteOffset, bytesFilled / elementSize);
}

function readableByteStreamControllerEnqueue(controller, chunk) {
  const stream = controller.stream;
  if (controller.closeRequested || stream.state !== "readable") return;
  const buffer = viewBuffer(chunk);
  const byteOffset = viewByteOffset(chunk);
  const byteLength = viewByteLength(chunk);
  if (isDetachedBuffer(buffer)) {
    throw new TypeError("The chunk's buffer is detached and so cannot be enqueued.");
  }
  const transferredBuffer = transferArrayBuffer(buffer);
  if (controller.pendingPullIntos.length > 0) {
    const firstPendingPullInto = controller.pendingPullIntos[0];
    if (isDetachedBuffer(firstPendingPullInto.buffer)) {
      throw new TypeError("The BYOB request's buffer has been detached and so cannot be filled with an enqueued chunk.");
    }
    readableByteStreamControllerInvalidateBYOBRequest(controller);
    firstPendingPullInto.buffer = transferArrayBuffer(firstPendingPullInto.buffer);
    if (firstPendingPullInto.readerType === "none") {
      readableByteStreamControllerEnqueueDetachedPullIntoToQueue(controller, firstPendingPullInto);
    }
  }
  if (readableStreamHasDefaultReader(stream)) {
    readableByteStreamControllerProcessReadRequestsUsingQueue(controller);
    if (readableStreamGetNumReadRequests(stream) === 0) {
      readableByteStreamControllerEnqueueChunkToQueue(controller, transferredBuffer, byteOffset, byteLength);
    } else {
      if (controller.pendingPullIntos.length > 0) {
        readableByteStreamControllerShiftPendingPullInto(controller);
      }
      const transferredView = new Uint8ArrayCtor(transferredBuffer, byteOffset, byteLength);
      readableStreamFulfillReadRequest(stream, transferredView, false);
    }
  } else if (readableStreamHasBYOBReader(stream)) {
    readableByteStreamControllerEnqueueChunkToQueue(controller, transferredBuffer, byteOffset, byteLength);
    const filledPullIntos = readableByteStreamControllerProcessPullIntoDescriptorsUsingQueue(controller);
    for (let i = 0; i < filledPullIntos.length; i++) {
      readableByteStreamControllerCommitPullIntoDescriptor(stream, filledPullIntos[i]);
    }
  } else {
    readableByteStreamControllerEnqueueChunkToQueue(controller, transferredBuffer, byteOffset, byteLength);
  }
  readableByteStreamControllerCallPullIfNeeded(controller);
}

function readableByteStreamControllerEnqueueChunkToQueue(controller, buffer, byteOffset, byteLength) {
  controller.queue.push({ buffer, byteOffset, byteLength });
  controller.queueTotalSize += byteLength;
}

function readableByteStreamControllerEnqueueClonedChunkToQueue(controller, buffer, byteOffset, byteLength) {
  let clone;
  try {
    clone = cloneArrayBuffer(buffer, byteOffset, byteLength);
  } catch (e) {
    readableByteStreamControllerError(controller, e);
    throw e;
  }
  readableByteStreamControllerEnqueueChunkToQueue(controller, clone, 0, byteLength);
}

function readableByteStreamControllerEnqueueDetachedPullIntoToQueue(controller, pullIntoDescriptor) {
  if (pullIntoDescriptor.bytesFilled > 0) {
    readableByteStreamControllerEnqueueClonedChunkToQueue(
      controller,
      pullIntoDescriptor.buffer,
      pullIntoDescriptor.byteOffset,
      pullIntoDescriptor.bytesFilled,
    );
  }
  readableByteStreamControllerShiftPendingPullInto(controller);
}

function readableByteStreamControllerError(controller, e) {
  const stream = controller.stream;
  if (stream.state !== "readable") return;
  readableByteStreamControllerClearPendingPullIntos(controller);
  resetQueue(controller);
  readableByteStreamControllerClearAlgorithms(controller);
  readableStreamError(stream, e);
}

function readableByteStreamControllerFillHeadPullIntoDescriptor(controller, size, pullIntoDescriptor) {
  pullIntoDescriptor.bytesFilled += size;
}

function readableByteStreamControllerFillPullIntoDescriptorFromQueue(controller, pullIntoDescriptor) {
  const maxBytesToCopy = MathMin(
    controller.queueTotalSize,
    pullIntoDescriptor.byteLength - pullIntoDescriptor.bytesFilled,
  );
  const maxBytesFilled = pullIntoDescriptor.bytesFilled + maxBytesToCopy;
  let totalBytesToCopyRemaining = maxBytesToCopy;
  let ready = false;
  const remainderBytes = maxBytesFilled % pullIntoDescriptor.elementSize;
  const maxAlignedBytes = maxBytesFilled - remainderBytes;
  if (maxAlignedBytes >= pullIntoDescriptor.minimumFill) {
    totalBytesToCopyRemaining = maxAlignedBytes - pullIntoDescriptor.bytesFilled;
    ready = true;
  }
  const queue = controller.queue;
  while (totalBytesToCopyRemaining > 0) {
    const headOfQueue = queue.peek();
    const bytesToCopy = MathMin(totalBytesToCopyRemaining, headOfQueue.byteLength);
    const destStart = pullIntoDescriptor.byteOffset + pullIntoDescriptor.bytesFilled;
    copyDataBlockBytes(pullIntoDescriptor.buffer, destStart, headOfQueue.buffer, headOfQueue.byteOffset, bytesToCopy);
    if (headOfQueue.byteLength === bytesToCopy) {
      queue.shift();
    } else {
      headOfQueue.byteOffset += bytesToCopy;
      headOfQueue.byteLength -= bytesToCopy;
    }
    controller.queueTotalSize -= bytesToCopy;
    readableByteStreamControllerFillHeadPullIntoDescriptor(controller, bytesToCopy, pullIntoDescriptor);
    totalBytesToCopyRemaining -= bytesToCopy;
  }
  return ready;
}

function readableByteStreamControllerFillReadRequestFromQueue(controller, readRequest) {
  const entry = controller.queue.shift();
  controller.queueTotalSize -= entry.byteLength;
  readableByteStreamControllerHandleQueueDrain(controller);
  const view = new Uint8ArrayCtor(entry.buffer, entry.byteOffset, entry.byteLength);
  readRequest.chunkSteps(view);
}

function readableByteStreamControllerGetBYOBRequest(controller) {
  if (controller.byobRequest === null && controller.pendingPullIntos.length > 0) {
    const firstDescriptor = controller.pendingPullIntos[0];
    const view = new Uint8ArrayCtor(
      firstDescriptor.buffer,
      firstDescriptor.byteOffset + firstDescriptor.bytesFilled,
      firstDescriptor.byteLength - firstDescriptor.bytesFilled,
    );
    controller.byobRequest = new BYOBRequestState(controller, view);
  }
  return controller.byobRequest;
}

function readableByteStreamControllerGetDesiredSize(controller) {
  const state = controller.stream.state;
  if (state === "errored") return null;
  if (state === "closed") return 0;
  return controller.strategyHWM - controller.queueTotalSize;
}

function readableByteStreamControllerHandleQueueDrain(controller) {
  if (controller.queueTotalSize === 0 && controller.closeRequested) {
    readableByteStreamControllerClearAlgorithms(controller);
    readableStreamClose(controller.stream);
  } else {
    readableByteStreamControllerCallPullIfNeeded(controller);
  }
}

function readableByteStreamControllerInvalidateBYOBRequest(controller) {
  const byobRequest = controller.byobRequest;
  if (byobRequest === null) return;
  byobRequest.controller = undefined;
  byobRequest.view = null;
  controller.byobRequest = null;
}

function readableByteStreamControllerProcessPullIntoDescriptorsUsingQueue(controller) {
  const filledPullIntos = [];
  while (controller.pendingPullIntos.length > 0) {
    if (controller.queueTotalSize === 0) break;
    const pullIntoDescriptor = controller.pendingPullIntos[0];
    if (readableByteStreamControllerFillPullIntoDescriptorFromQueue(controller, pullIntoDescriptor)) {
      readableByteStreamControllerShiftPendingPullInto(controller);
      filledPullIntos.push(pullIntoDescriptor);
    }
  }
  return filledPullIntos;
}

function readableByteStreamControllerProcessReadRequestsUsingQueue(controller) {
  const reader = controller.stream.reader;
  while (reader.readRequests.length > 0) {
    if (controller.queueTotalSize === 0) return;
    const readRequest = reader.readRequests.shift();
    readableByteStreamControllerFillReadRequestFromQueue(controller, readRequest);
  }
}

function readableByteStreamControllerPullInto(controller, view, min, readIntoRequest) {
  const stream = controller.stream;
  let elementSize = 1;
  let ctor = DataViewCtor;
  const name = viewTypedArrayName(view);
  if (name !== undefined) {
    const entry = typedArrayTable[name];
    elementSize = entry[0];
    ctor = entry[1];
  }
  const minimumFill = min * elementSize;
  const byteOffset = viewByteOffset(view);
  const byteLength = viewByteLength(view);
  let buffer;
  try {
    buffer = transferArrayBuffer(viewBuffer(view));
  } catch (e) {
    readIntoRequest.errorSteps(e);
    return;
  }
  const pullIntoDescriptor = new PullIntoDescriptor(
    buffer,
    arrayBufferByteLength(buffer),
    byteOffset,
    byteLength,
    minimumFill,
    elementSize,
    ctor,
    "byob",
  );
  if (controller.pendingPullIntos.length > 0) {
    controller.pendingPullIntos.push(pullIntoDescriptor);
    readableStreamAddReadIntoRequest(stream, readIntoRequest);
    return;
  }
  if (stream.state === "closed") {
    const emptyView = new ctor(pullIntoDescriptor.buffer, pullIntoDescriptor.byteOffset, 0);
    readIntoRequest.closeSteps(emptyView);
    return;
  }
  if (controller.queueTotalSize > 0) {
    if (readableByteStreamControllerFillPullIntoDescriptorFromQueue(controller, pullIntoDescriptor)) {
      const filledView = readableByteStreamControllerConvertPullIntoDescriptor(pullIntoDescriptor);
      readableByteStreamControllerHandleQueueDrain(controller);
      readIntoRequest.chunkSteps(filledView);
      return;
    }
    if (controller.closeRequested) {
      const e = new TypeError("Insufficient bytes to fill the elements of the given view before close.");
      readableByteStreamControllerError(controller, e);
      readIntoRequest.errorSteps(e);
      return;
    }
  }
  controller.pendingPullIntos.push(pullIntoDescriptor);
  readableStreamAddReadIntoRequest(stream, readIntoRequest);
  readableByteStreamControllerCallPullIfNeeded(controller);
}

function readableByteStreamControllerRespond(controller, bytesWritten) {
  const firstDescriptor = controller.pendingPullIntos[0];
  const state = controller.stream.state;
  if (state === "closed") {
    if (bytesWritten !== 0) {
      throw new TypeError("bytesWritten must be 0 when calling respond() on a closed stream.");
    }
  } else {
    if (bytesWritten === 0) {
      throw new TypeError("bytesWritten must be greater than 0 when calling respond() on a readable stream.");
    }
    if (firstDescriptor.bytesFilled + bytesWritten > firstDescriptor.byteLength) {
      throw new RangeError("bytesWritten out of range.");
    }
  }
  firstDescriptor.buffer = transferArrayBuffer(firstDescriptor.buffer);
  readableByteStreamControllerRespondInternal(controller, bytesWritten);
}

function readableByteStreamControllerRespondInClosedState(controller, firstDescriptor) {
  if (firstDescriptor.readerType === "none") {
    readableByteStreamControllerShiftPendingPullInto(controller);
  }
  const stream = controller.stream;
  if (readableStreamHasBYOBReader(stream)) {
    const filledPullIntos = [];
    while (filledPullIntos.length < readableStreamGetNumReadIntoRequests(stream)) {
      filledPullIntos.push(readableByteStreamControllerShiftPendingPullInto(controller));
    }
    for (let i = 0; i < filledPullIntos.length; i++) {
      readableByteStreamControllerCommitPullIntoDescriptor(stream, filledPullIntos[i]);
    }
  }
}

function readableByteStreamControllerRespondInReadableState(controller, bytesWritten, pullIntoDescriptor) {
  readableByteStreamControllerFillHeadPullIntoDescriptor(controller, bytesWritten, pullIntoDescriptor);
  if (pullIntoDescriptor.readerType === "none") {
    readableByteStreamControllerEnqueueDetachedPullIntoToQueue(controller, pullIntoDescriptor);
    const filledPullIntos = readableByteStreamControllerProcessPullIntoDescriptorsUsingQueue(controller);
    for (let i = 0; i < filledPullIntos.length; i++) {
      readableByteStreamControllerCommitPullIntoDescriptor(controller.stream, filledPullIntos[i]);
    }
    return;
  }
  if (pullIntoDescriptor.bytesFilled < pullIntoDescriptor.minimumFill) return;
  readableByteStreamControllerShiftPendingPullInto(controller);
  const remainderSize = pullIntoDescriptor.bytesFilled % pullIntoDescriptor.elementSize;
  if (remainderSize > 0) {
    const end = pullIntoDescriptor.byteOffset + pullIntoDescriptor.bytesFilled;
    readableByteStreamControllerEnqueueClonedChunkToQueue(
      controller,
      pullIntoDescriptor.buffer,
      end - remainderSize,
      remainderSize,
    );
  }
  pullIntoDescriptor.bytesFilled -= remainderSize;
  const filledPullIntos = readableByteStreamControllerProcessPullIntoDescriptorsUsingQueue(controller);
  readableByteStreamControllerCommitPullIntoDescriptor(controller.stream, pullIntoDescriptor);
  for (let i = 0; i < filledPullIntos.length; i++) {
    readableByteStreamControllerCommitPullIntoDescriptor(controller.stream, filledPullIntos[i]);
  }
}

function readableByteStreamControllerRespondInternal(controller, bytesWritten) {
  const firstDescriptor = controller.pendingPullIntos[0];
  readableByteStreamControllerInvalidateBYOBRequest(controller);
  const state = controller.stream.state;
  if (state === "closed") {
    readableByteStreamControllerRespondInClosedState(controller, firstDescriptor);
  } else {
    readableByteStreamControllerRespondInReadableState(controller, bytesWritten, firstDescriptor);
  }
  readableByteStreamControllerCallPullIfNeeded(controller);
}

function readableByteStreamControllerRespondWithNewView(controller, view) {
  const firstDescriptor = controller.pendingPullIntos[0];
  const state = controller.stream.state;
  const viewByteLen = viewByteLength(view);
  if (state === "closed") {
    if (viewByteLen !== 0) {
      throw new TypeError("The view's length must be 0 when calling respondWithNewView() on a closed stream.");
    }
  } else if (viewByteLen === 0) {
    throw new TypeError("The view's length must be greater than 0 when calling respondWithNewView() on a readable stream.");
  }
  if (firstDescriptor.byteOffset + firstDescriptor.bytesFilled !== viewByteOffset(view)) {
    throw new RangeError("The region specified by view does not match byobRequest.");
  }
  const buffer = viewBuffer(view);
  if (firstDescriptor.bufferByteLength !== arrayBufferByteLength(buffer)) {
    throw new RangeError("The buffer of view has different capacity than byobRequest.");
  }
  if (firstDescriptor.bytesFilled + viewByteLen > firstDescriptor.byteLength) {
    throw new RangeError("The region specified by view is larger than byobRequest.");
  }
  firstDescriptor.buffer = transferArrayBuffer(buffer);
  readableByteStreamControllerRespondInternal(controller, viewByteLen);
}

function readableByteStreamControllerShiftPendingPullInto(controller) {
  return controller.pendingPullIntos.shift();
}

function readableByteStreamControllerShouldCallPull(controller) {
  const stream = controller.stream;
  if (stream.state !== "readable") return false;
  if (controller.closeRequested) return false;
  if (!controller.started) return false;
  if (readableStreamHasDefaultReader(stream) && readableStreamGetNumReadRequests(stream) > 0) return true;
  if (readableStreamHasBYOBReader(stream) && readableStreamGetNumReadIntoRequests(stream) > 0) return true;
  return readableByteStreamControllerGetDesiredSize(controller) > 0;
}

function setUpReadableByteStreamController(
  stream,
  controller,
  startAlgorithm,
  pullAlgorithm,
  cancelAlgorithm,
  highWaterMark,
  autoAllocateChunkSize,
) {
  controller.stream = stream;
  controller.pullAgain = false;
  controller.pulling = false;
  controller.byobRequest = null;
  resetQueue(controller);
  controller.closeRequested = false;
  controller.started = false;
  controller.strategyHWM = highWaterMark;
  controller.pullAlgorithm = pullAlgorithm;
  controller.cancelAlgorithm = cancelAlgorithm;
  controller.autoAllocateChunkSize = autoAllocateChunkSize;
  controller.pendingPullIntos = [];
  stream.controller = controller;
  const startResult = startAlgorithm();
  uponPromise(
    promiseResolvedWith(startResult),
    () => {
      controller.started = true;
      readableByteStreamControllerCallPullIfNeeded(controller);
    },
    (r) => {
      readableByteStreamControllerError(controller, r);
    },
  );
}

function setUpReadableByteStreamControllerFromUnderlyingSource(stream, underlyingSource, source, highWaterMark) {
  const controller = new ByteControllerState();
  const algorithms = underlyingSourceAlgorithms(underlyingSource, source, () =>
    wrapperOf(controller, ReadableByteStreamController),
  );
  const autoAllocateChunkSize = source.autoAllocateChunkSize;
  if (autoAllocateChunkSize === 0) {
    throw new TypeError(
      "Failed to construct 'ReadableStream': autoAllocateChunkSize must be greater than 0.",
    );
  }
  setUpReadableByteStreamController(
    stream,
    controller,
    algorithms.start,
    algorithms.pull,
    algorithms.cancel,
    highWaterMark,
    autoAllocateChunkSize,
  );
}

// CreateReadableByteStream.
function createReadableByteStream(startAlgorithm, pullAlgorithm, cancelAlgorithm) {
  const stream = new StreamState();
  wrapStream(stream);
  const controller = new ByteControllerState();
  setUpReadableByteStreamController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, 0, undefined);
  return stream;
}

// ---------------------------------------------------------------------------
// ReadableByteStreamTee.

function readableByteStreamTee(stream) {
  let reader = acquireReadableStreamDefaultReader(stream);
  let reading = false;
  let readAgainForBranch1 = false;
  let readAgainForBranch2 = false;
  let canceled1 = false;
  let canceled2 = false;
  let reason1;
  let reason2;
  let branch1;
  let branch2;
  const cancelPromise = newPromiseCapability();

  function forwardReaderError(thisReader) {
    uponPromise(thisReader.closedPromise.promise, noop, (r) => {
      if (thisReader !== reader) return;
      readableByteStreamControllerError(branch1.controller, r);
      readableByteStreamControllerError(branch2.controller, r);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    });
  }

  function pullWithDefaultReader() {
    if (!(reader instanceof DefaultReaderState)) {
      readableStreamBYOBReaderRelease(reader);
      reader = acquireReadableStreamDefaultReader(stream);
      forwardReaderError(reader);
    }
    readableStreamDefaultReaderRead(reader, {
      chunkSteps(chunk) {
        queueMicrotaskInternal(() => {
          readAgainForBranch1 = false;
          readAgainForBranch2 = false;
          const chunk1 = chunk;
          let chunk2 = chunk;
          if (!canceled1 && !canceled2) {
            try {
              chunk2 = cloneAsUint8Array(chunk);
            } catch (cloneE) {
              readableByteStreamControllerError(branch1.controller, cloneE);
              readableByteStreamControllerError(branch2.controller, cloneE);
              cancelPromise.resolve(readableStreamCancel(stream, cloneE));
              return;
            }
          }
          if (!canceled1) readableByteStreamControllerEnqueue(branch1.controller, chunk1);
          if (!canceled2) readableByteStreamControllerEnqueue(branch2.controller, chunk2);
          reading = false;
          if (readAgainForBranch1) pull1Algorithm();
          else if (readAgainForBranch2) pull2Algorithm();
        });
      },
      closeSteps() {
        reading = false;
        if (!canceled1) readableByteStreamControllerClose(branch1.controller);
        if (!canceled2) readableByteStreamControllerClose(branch2.controller);
        if (branch1.controller.pendingPullIntos.length > 0) {
          readableByteStreamControllerRespond(branch1.controller, 0);
        }
        if (branch2.controller.pendingPullIntos.length > 0) {
          readableByteStreamControllerRespond(branch2.controller, 0);
        }
        if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
      },
      errorSteps() {
        reading = false;
      },
    });
  }

  function pullWithBYOBReader(view, forBranch2) {
    if (reader instanceof DefaultReaderState) {
      readableStreamDefaultReaderRelease(reader);
      reader = acquireReadableStreamBYOBReader(stream);
      forwardReaderError(reader);
    }
    const byobBranch = forBranch2 ? branch2 : branch1;
    const otherBranch = forBranch2 ? branch1 : branch2;
    readableStreamBYOBReaderRead(reader, view, 1, {
      chunkSteps(chunk) {
        queueMicrotaskInternal(() => {
          readAgainForBranch1 = false;
          readAgainForBranch2 = false;
          const byobCanceled = forBranch2 ? canceled2 : canceled1;
          const otherCanceled = forBranch2 ? canceled1 : canceled2;
          if (!otherCanceled) {
            let clonedChunk;
            try {
              clonedChunk = cloneAsUint8Array(chunk);
            } catch (cloneE) {
              readableByteStreamControllerError(byobBranch.controller, cloneE);
              readableByteStreamControllerError(otherBranch.controller, cloneE);
              cancelPromise.resolve(readableStreamCancel(stream, cloneE));
              return;
            }
            if (!byobCanceled) readableByteStreamControllerRespondWithNewView(byobBranch.controller, chunk);
            readableByteStreamControllerEnqueue(otherBranch.controller, clonedChunk);
          } else if (!byobCanceled) {
            readableByteStreamControllerRespondWithNewView(byobBranch.controller, chunk);
          }
          reading = false;
          if (readAgainForBranch1) pull1Algorithm();
          else if (readAgainForBranch2) pull2Algorithm();
        });
      },
      closeSteps(chunk) {
        reading = false;
        const byobCanceled = forBranch2 ? canceled2 : canceled1;
        const otherCanceled = forBranch2 ? canceled1 : canceled2;
        if (!byobCanceled) readableByteStreamControllerClose(byobBranch.controller);
        if (!otherCanceled) readableByteStreamControllerClose(otherBranch.controller);
        if (chunk !== undefined) {
          if (!byobCanceled) readableByteStreamControllerRespondWithNewView(byobBranch.controller, chunk);
          if (!otherCanceled && otherBranch.controller.pendingPullIntos.length > 0) {
            readableByteStreamControllerRespond(otherBranch.controller, 0);
          }
        }
        if (!byobCanceled || !otherCanceled) cancelPromise.resolve(undefined);
      },
      errorSteps() {
        reading = false;
      },
    });
  }

  function pull1Algorithm() {
    if (reading) {
      readAgainForBranch1 = true;
      return promiseResolvedWith(undefined);
    }
    reading = true;
    const byobRequest = readableByteStreamControllerGetBYOBRequest(branch1.controller);
    if (byobRequest === null) pullWithDefaultReader();
    else pullWithBYOBReader(byobRequest.view, false);
    return promiseResolvedWith(undefined);
  }

  function pull2Algorithm() {
    if (reading) {
      readAgainForBranch2 = true;
      return promiseResolvedWith(undefined);
    }
    reading = true;
    const byobRequest = readableByteStreamControllerGetBYOBRequest(branch2.controller);
    if (byobRequest === null) pullWithDefaultReader();
    else pullWithBYOBReader(byobRequest.view, true);
    return promiseResolvedWith(undefined);
  }

  function cancel1Algorithm(reason) {
    canceled1 = true;
    reason1 = reason;
    if (canceled2) {
      cancelPromise.resolve(readableStreamCancel(stream, [reason1, reason2]));
    }
    return cancelPromise.promise;
  }

  function cancel2Algorithm(reason) {
    canceled2 = true;
    reason2 = reason;
    if (canceled1) {
      cancelPromise.resolve(readableStreamCancel(stream, [reason1, reason2]));
    }
    return cancelPromise.promise;
  }

  branch1 = createReadableByteStream(noop, pull1Algorithm, cancel1Algorithm);
  branch2 = createReadableByteStream(noop, pull2Algorithm, cancel2Algorithm);
  forwardReaderError(reader);
  return [branch1, branch2];
}

// A byte stream holding `bytes` (a Uint8Array the stream now owns) as one
// chunk, closed: a body stream. The bytes are not transferred, since nothing
// else refers to them.
function readableByteStreamFromBytes(bytes) {
  const stream = createReadableByteStream(noop, resolvedUndefined, resolvedUndefined);
  const controller = stream.controller;
  const byteLength = viewByteLength(bytes);
  if (byteLength !== 0) {
    readableByteStreamControllerEnqueueChunkToQueue(controller, viewBuffer(bytes), viewByteOffset(bytes), byteLength);
  }
  readableByteStreamControllerClose(controller);
  return stream;
}

// ---------------------------------------------------------------------------
// Public classes.

let checkByteController;
let checkBYOBRequest;

class ReadableByteStreamController {
  #controller;

  constructor(token = undefined, controller = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#controller = controller;
  }

  get byobRequest() {
    const request = readableByteStreamControllerGetBYOBRequest(checkByteController(this));
    return request === null ? null : wrapperOf(request, ReadableStreamBYOBRequest);
  }

  get desiredSize() {
    return readableByteStreamControllerGetDesiredSize(checkByteController(this));
  }

  close() {
    const controller = checkByteController(this);
    if (controller.closeRequested) {
      throw new TypeError("Failed to execute 'close' on 'ReadableByteStreamController': The stream is already closing.");
    }
    if (controller.stream.state !== "readable") {
      throw new TypeError(
        "Failed to execute 'close' on 'ReadableByteStreamController': The stream is not in a state that permits close.",
      );
    }
    readableByteStreamControllerClose(controller);
  }

  enqueue(chunk) {
    const controller = checkByteController(this);
    const context = "Failed to execute 'enqueue' on 'ReadableByteStreamController'";
    requireArguments(arguments.length, 1, context);
    if (!ArrayBufferIsView(chunk)) {
      throw new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`);
    }
    if (viewByteLength(chunk) === 0) {
      throw new TypeError(`${context}: The chunk has a byteLength of 0.`);
    }
    if (arrayBufferByteLength(viewBuffer(chunk)) === 0) {
      throw new TypeError(`${context}: The chunk's buffer has a byteLength of 0.`);
    }
    if (controller.closeRequested) {
      throw new TypeError(`${context}: The stream is closing.`);
    }
    if (controller.stream.state !== "readable") {
      throw new TypeError(`${context}: The stream is not in a state that permits enqueue.`);
    }
    readableByteStreamControllerEnqueue(controller, chunk);
  }

  error(e = undefined) {
    readableByteStreamControllerError(checkByteController(this), e);
  }

  [inspectSymbol]() {
    const controller = this.#controller;
    return inspectNamed("ReadableByteStreamController", {
      byobRequest: controller.byobRequest === null ? null : wrapperOf(controller.byobRequest, ReadableStreamBYOBRequest),
      desiredSize: readableByteStreamControllerGetDesiredSize(controller),
    });
  }

  static {
    checkByteController = brandCheck((value) => (isObject(value) && #controller in value ? value.#controller : undefined));
  }
}
finishInterface(ReadableByteStreamController);

class ReadableStreamBYOBRequest {
  #request;

  constructor(token = undefined, request = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#request = request;
  }

  get view() {
    return checkBYOBRequest(this).view;
  }

  respond(bytesWritten) {
    const request = checkBYOBRequest(this);
    const context = "Failed to execute 'respond' on 'ReadableStreamBYOBRequest'";
    requireArguments(arguments.length, 1, context);
    bytesWritten = toEnforceRangeUnsignedLongLong(bytesWritten, `${context}: bytesWritten`);
    if (request.controller === undefined) {
      throw new TypeError(`${context}: This BYOB request has been invalidated.`);
    }
    if (isDetachedBuffer(viewBuffer(request.view))) {
      throw new TypeError(`${context}: The BYOB request's buffer has been detached.`);
    }
    readableByteStreamControllerRespond(request.controller, bytesWritten);
  }

  respondWithNewView(view) {
    const request = checkBYOBRequest(this);
    const context = "Failed to execute 'respondWithNewView' on 'ReadableStreamBYOBRequest'";
    requireArguments(arguments.length, 1, context);
    if (!ArrayBufferIsView(view)) {
      throw new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`);
    }
    if (request.controller === undefined) {
      throw new TypeError(`${context}: This BYOB request has been invalidated.`);
    }
    if (isDetachedBuffer(viewBuffer(view))) {
      throw new TypeError(`${context}: The view's buffer has been detached.`);
    }
    readableByteStreamControllerRespondWithNewView(request.controller, view);
  }

  [inspectSymbol]() {
    return inspectNamed("ReadableStreamBYOBRequest", { view: this.#request.view });
  }

  static {
    checkBYOBRequest = brandCheck((value) => (isObject(value) && #request in value ? value.#request : undefined));
  }
}
finishInterface(ReadableStreamBYOBRequest);

hooks.setUpReadableByteStreamControllerFromUnderlyingSource = setUpReadableByteStreamControllerFromUnderlyingSource;
hooks.readableByteStreamTee = readableByteStreamTee;
hooks.readableByteStreamFromBytes = readableByteStreamFromBytes;

internals.ReadableByteStreamController = ReadableByteStreamController;
internals.ReadableStreamBYOBRequest = ReadableStreamBYOBRequest;
