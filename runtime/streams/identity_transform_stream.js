// IdentityTransformStream and FixedLengthStream (Workers' non-standard
// streams, https://developers.cloudflare.com/workers/runtime-apis/streams/transformstream/):
// a pipe of bytes with a writable and a readable side, instanceof
// TransformStream as on Workers. What is written (an ArrayBuffer or an
// ArrayBufferView; anything else is a TypeError) is read from the readable
// side, a byte stream, so BYOB readers work: a default read gets a
// Uint8Array copy of the rest of the chunk, a BYOB read as much as its view
// holds. A write resolves once its bytes have been read (nothing is
// buffered unless the `highWaterMark` option, in bytes, asks for it), so a
// writer reusing its buffer after `await write()` changes nothing read.
// FixedLengthStream(length) also errors when more than `length` bytes are
// written, or fewer before close; its readable side's length is known to
// the runtime, so a Response made from it goes out with a Content-Length,
// as on Workers. TODO(fetch): an outbound fetch() body made from it is
// still sent chunked.
//
// The pipe runs on built-ins captured before any tenant code ran (the
// controllers' methods, the typed array getters: internals.lazyOriginals,
// runtime/js/globals.js), so a tenant's patch cannot make the readable side
// carry other bytes than the count it promised. The file is evaluated on
// first use (runtime/lazy_js.h), after the worker may have patched them.

const {
  ReadableStream, TransformStream, WritableStream, finishInterface, isArrayBuffer, isObject, isSharedArrayBuffer,
  requireArguments, setStreamLength, toUint8Array, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteLength,
  TypedArrayPrototypeGetByteOffset, lazyOriginals,
} = internals;
const {
  ArrayBufferIsView, MathMin, NumberCtor, NumberIsFinite, NumberMAX_SAFE_INTEGER, ObjectSetPrototypeOf, PromiseCtor,
  ReflectApply, TypeErrorCtor: TypeError, RangeErrorCtor: RangeError, Uint8ArrayCtor,
} = internals.primordials;

function getterOf(get) {
  return (self) => ReflectApply(get, self, []);
}
const getByobRequest = getterOf(lazyOriginals.ByteControllerByobRequest);
const enqueue = lazyOriginals.ByteControllerEnqueue;
const closeReadable = lazyOriginals.ByteControllerClose;
const errorReadable = lazyOriginals.ByteControllerError;
const getView = getterOf(lazyOriginals.BYOBRequestView);
const respond = lazyOriginals.BYOBRequestRespond;
const errorWritable = lazyOriginals.WritableControllerError;
const typedArraySet = lazyOriginals.TypedArraySet;

// A copy of a chunk's bytes, or a TypeError for anything but bytes.
function copyOfChunk(chunk) {
  const view = ArrayBufferIsView(chunk) || isArrayBuffer(chunk) || isSharedArrayBuffer(chunk)
    ? toUint8Array(chunk)
    : undefined;
  if (view === undefined) {
    throw new TypeError(
      "This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.",
    );
  }
  const copy = new Uint8ArrayCtor(TypedArrayPrototypeGetByteLength(view));
  ReflectApply(typedArraySet, copy, [view]);
  return copy;
}

// Workers' `{ highWaterMark }` option: bytes the readable side may buffer.
function readableStrategy(options, context) {
  if (options === undefined || options === null) return undefined;
  if (!isObject(options)) throw new TypeError(`${context}: the options must be an object.`);
  const highWaterMark = options.highWaterMark;
  return highWaterMark === undefined ? undefined : { __proto__: null, highWaterMark };
}

// The two sides of a pipe. `expected` is FixedLengthStream's byte count
// (undefined for IdentityTransformStream).
function makePipe(expected, strategy) {
  let readableController;
  let writableController;
  let pending = null; // the chunk being read: { bytes, length, offset, resolve, reject }
  let pullWaiter = null; // resolves the readable side's pending pull
  let seen = 0;

  // Hands (part of) the pending chunk to the readable side.
  function deliver() {
    const chunk = pending;
    const rest = chunk.length - chunk.offset;
    const request = getByobRequest(readableController);
    if (request !== null) {
      const view = getView(request);
      const n = MathMin(rest, TypedArrayPrototypeGetByteLength(view));
      const target = new Uint8ArrayCtor(
        TypedArrayPrototypeGetBuffer(view), TypedArrayPrototypeGetByteOffset(view), n);
      ReflectApply(typedArraySet, target, [
        new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(chunk.bytes), chunk.offset, n),
      ]);
      chunk.offset += n;
      ReflectApply(respond, request, [n]);
    } else {
      // enqueue transfers the chunk's buffer: it is not read again.
      ReflectApply(enqueue, readableController, [
        new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(chunk.bytes), chunk.offset, rest),
      ]);
      chunk.offset += rest;
    }
    if (chunk.offset === chunk.length) {
      pending = null;
      chunk.resolve(undefined);
    }
  }

  function wakeReader() {
    if (pullWaiter === null) return;
    const wake = pullWaiter;
    pullWaiter = null;
    wake(undefined);
  }

  function fail(error) {
    ReflectApply(errorReadable, readableController, [error]);
    throw error;
  }

  const readable = new ReadableStream(
    {
      __proto__: null,
      type: "bytes",
      start(controller) {
        readableController = controller;
      },
      pull() {
        if (pending !== null) {
          deliver();
          return undefined;
        }
        return new PromiseCtor((resolve) => {
          pullWaiter = resolve;
        });
      },
      cancel(reason) {
        if (pending !== null) {
          const chunk = pending;
          pending = null;
          chunk.reject(reason);
        }
        ReflectApply(errorWritable, writableController, [reason]);
      },
    },
    strategy,
  );

  const writable = new WritableStream({
    __proto__: null,
    start(controller) {
      writableController = controller;
    },
    write(chunk) {
      const bytes = copyOfChunk(chunk);
      const size = TypedArrayPrototypeGetByteLength(bytes);
      seen += size;
      if (expected !== undefined && seen > expected) {
        fail(new TypeError("Attempt to write too many bytes through a FixedLengthStream."));
      }
      if (size === 0) return undefined;
      return new PromiseCtor((resolve, reject) => {
        pending = { __proto__: null, bytes, length: size, offset: 0, resolve, reject };
        if (pullWaiter !== null) {
          deliver();
          wakeReader();
        }
      });
    },
    close() {
      if (expected !== undefined && seen < expected) {
        fail(new TypeError("FixedLengthStream did not see all expected bytes before close()."));
      }
      ReflectApply(closeReadable, readableController, []);
      // A BYOB read still waiting learns of the end through respond(0).
      const request = getByobRequest(readableController);
      if (request !== null) ReflectApply(respond, request, [0]);
      wakeReader();
    },
    abort(reason) {
      ReflectApply(errorReadable, readableController, [reason]);
      wakeReader();
    },
  });
  return { __proto__: null, readable, writable };
}

// Passed by FixedLengthStream's constructor instead of options.
const kFixedLength = {};

class IdentityTransformStream {
  #readable;
  #writable;

  constructor(options = undefined, fixed = undefined) {
    let pipe;
    if (options === kFixedLength) {
      pipe = makePipe(fixed.length, readableStrategy(fixed.options, fixed.context));
      setStreamLength(pipe.readable, fixed.length);
    } else {
      pipe = makePipe(undefined, readableStrategy(options, "Failed to construct 'IdentityTransformStream'"));
    }
    this.#readable = pipe.readable;
    this.#writable = pipe.writable;
  }

  get readable() {
    return IdentityTransformStream.#check(this).#readable;
  }

  get writable() {
    return IdentityTransformStream.#check(this).#writable;
  }

  static #check(self) {
    if (!isObject(self) || !(#readable in self)) throw new TypeError("Illegal invocation");
    return self;
  }
}
// instanceof TransformStream, as on Workers; readable and writable are its own.
ObjectSetPrototypeOf(IdentityTransformStream.prototype, TransformStream.prototype);
ObjectSetPrototypeOf(IdentityTransformStream, TransformStream);
finishInterface(IdentityTransformStream);

class FixedLengthStream extends IdentityTransformStream {
  constructor(expectedLength, options = undefined) {
    const context = "Failed to construct 'FixedLengthStream'";
    requireArguments(arguments.length, 1, context);
    // A number or a BigInt of bytes, 0 to 2^53 - 1 ([EnforceRange]).
    const length = typeof expectedLength === "bigint" ? NumberCtor(expectedLength) : +expectedLength;
    if (!NumberIsFinite(length) || length < 0 || length > NumberMAX_SAFE_INTEGER || length % 1 !== 0) {
      throw new RangeError(`${context}: the length must be a whole number of bytes from 0 to 2^53 - 1.`);
    }
    super(kFixedLength, { __proto__: null, length, options, context });
  }
}
finishInterface(FixedLengthStream);

internals.IdentityTransformStream = IdentityTransformStream;
internals.FixedLengthStream = FixedLengthStream;
