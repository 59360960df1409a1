// IdentityTransformStream and FixedLengthStream (Workers' non-standard
// streams, https://developers.cloudflare.com/workers/runtime-apis/streams/transformstream/):
// TransformStreams of bytes. What is written (an ArrayBuffer or an
// ArrayBufferView, anything else is a TypeError) comes out of the readable
// side as Uint8Arrays holding a copy of its bytes, so a writer reusing its
// buffer changes nothing already written. FixedLengthStream(length) also
// errors when more than `length` bytes are written, or fewer before close;
// its readable side's length is known to the runtime, so a Response made
// from it goes out with a Content-Length, as on Workers. TODO(fetch): an
// outbound fetch() body made from it is still sent chunked.
//
// The transform runs on built-ins captured here (the controller's enqueue
// and error, the typed array getters), so a tenant's patch cannot make the
// readable side carry other bytes than the count it promised.

const {
  TransformStream, TransformStreamDefaultController, finishInterface, isArrayBuffer, isSharedArrayBuffer,
  requireArguments, setStreamLength, toUint8Array, TypedArrayPrototypeGetByteLength,
} = internals;
const {
  ArrayBufferIsView, NumberCtor, NumberIsFinite, NumberMAX_SAFE_INTEGER, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf,
  ReflectApply, TypeErrorCtor: TypeError, RangeErrorCtor: RangeError, Uint8ArrayCtor,
} = internals.primordials;

const enqueue = TransformStreamDefaultController.prototype.enqueue;
const errorStream = TransformStreamDefaultController.prototype.error;
const readableGetter = ObjectGetOwnPropertyDescriptor(TransformStream.prototype, "readable").get;
const typedArraySet = ObjectGetPrototypeOf(Uint8ArrayCtor.prototype).set;

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
  const length = TypedArrayPrototypeGetByteLength(view);
  const copy = new Uint8ArrayCtor(length);
  ReflectApply(typedArraySet, copy, [view]);
  return copy;
}

// The readable side's queuing strategy from Workers' `{ highWaterMark }`
// option (in bytes).
function readableStrategy(options, context) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object") throw new TypeError(`${context}: the options must be an object.`);
  const highWaterMark = options.highWaterMark;
  if (highWaterMark === undefined) return undefined;
  return { __proto__: null, highWaterMark, size: (chunk) => TypedArrayPrototypeGetByteLength(chunk) };
}

class IdentityTransformStream extends TransformStream {
  constructor(options = undefined) {
    super(
      {
        __proto__: null,
        transform(chunk, controller) {
          const copy = copyOfChunk(chunk);
          if (TypedArrayPrototypeGetByteLength(copy) > 0) ReflectApply(enqueue, controller, [copy]);
        },
      },
      undefined,
      readableStrategy(options, "Failed to construct 'IdentityTransformStream'"),
    );
  }
}
finishInterface(IdentityTransformStream);

class FixedLengthStream extends TransformStream {
  constructor(expectedLength, options = undefined) {
    const context = "Failed to construct 'FixedLengthStream'";
    requireArguments(arguments.length, 1, context);
    // A number or a BigInt of bytes, 0 to 2^53 - 1 ([EnforceRange]).
    const length = typeof expectedLength === "bigint" ? NumberCtor(expectedLength) : +expectedLength;
    if (!NumberIsFinite(length) || length < 0 || length > NumberMAX_SAFE_INTEGER || length % 1 !== 0) {
      throw new RangeError(`${context}: the length must be a whole number of bytes from 0 to 2^53 - 1.`);
    }
    let seen = 0;
    super(
      {
        __proto__: null,
        transform(chunk, controller) {
          const copy = copyOfChunk(chunk);
          const size = TypedArrayPrototypeGetByteLength(copy);
          seen += size;
          if (seen > length) {
            const error = new TypeError("Attempt to write too many bytes through a FixedLengthStream.");
            ReflectApply(errorStream, controller, [error]);
            throw error;
          }
          if (size > 0) ReflectApply(enqueue, controller, [copy]);
        },
        flush(controller) {
          if (seen < length) {
            const error = new TypeError("FixedLengthStream did not see all expected bytes before close().");
            ReflectApply(errorStream, controller, [error]);
            throw error;
          }
        },
      },
      undefined,
      readableStrategy(options, context),
    );
    setStreamLength(ReflectApply(readableGetter, this, []), length);
  }
}
finishInterface(FixedLengthStream);

internals.IdentityTransformStream = IdentityTransformStream;
internals.FixedLengthStream = FixedLengthStream;
