// ArrayBuffer.prototype.transfer, transferToFixedLength and the `detached`,
// `resizable` and `maxByteLength` getters (ES2024,
// https://tc39.es/ecma262/#sec-arraybuffer.prototype.transfer),
// for the fixed-length buffers V8 10.2 has (it has no resizable ones, so
// both methods give a fixed-length buffer). Detaching goes through
// native.transferArrayBuffer (runtime/html/structured_clone.cc), which moves
// the memory when the length stays the same and refuses a buffer that
// cannot be detached (a WebAssembly.Memory's) with a TypeError. A new
// buffer is allocated as `new ArrayBuffer` is, so it counts against the
// worker's memory like any other.

const {
  ArrayBufferCtor, MathMin, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf, ReflectApply,
  TypeErrorCtor: TypeError, Uint8ArrayCtor,
} = internals.primordials;
const { install, isDetached, toIndex } = internals.es;

const byteLengthGetter = ObjectGetOwnPropertyDescriptor(ArrayBufferCtor.prototype, "byteLength").get;
const typedArraySet = ObjectGetPrototypeOf(Uint8ArrayCtor.prototype).set;
const nativeTransfer = native.transferArrayBuffer;

// RequireInternalSlot(O, [[ArrayBufferData]]) and not shared: the original
// byteLength getter throws a TypeError for anything else. Returns the
// byte length (0 once detached).
function byteLengthOf(O, what) {
  try {
    return ReflectApply(byteLengthGetter, O, []);
  } catch {
    throw new TypeError("Method ArrayBuffer.prototype." + what + " called on incompatible receiver");
  }
}

// ArrayBufferCopyAndDetach(O, newLength, preserve-resizability or fixed).
function copyAndDetach(O, newLength, what) {
  const byteLength = byteLengthOf(O, what);
  const newByteLength = newLength === undefined ? byteLength : toIndex(newLength, "ArrayBuffer.prototype." + what);
  if (isDetached(O)) throw new TypeError("Cannot perform ArrayBuffer.prototype." + what + " on a detached ArrayBuffer");
  // Same length: the memory moves to the new buffer, nothing is copied.
  if (newByteLength === byteLength) return nativeTransfer(O);
  const newBuffer = new ArrayBufferCtor(newByteLength);
  const copyLength = MathMin(newByteLength, byteLength);
  if (copyLength > 0) {
    ReflectApply(typedArraySet, new Uint8ArrayCtor(newBuffer), [new Uint8ArrayCtor(O, 0, copyLength)]);
  }
  nativeTransfer(O); // detaches O; its result, the old memory, is dropped
  return newBuffer;
}

const methods = {
  transfer(newLength = undefined) {
    return copyAndDetach(this, newLength, "transfer");
  },
  transferToFixedLength(newLength = undefined) {
    return copyAndDetach(this, newLength, "transferToFixedLength");
  },
  get detached() {
    byteLengthOf(this, "detached");
    return isDetached(this);
  },
  // Every ArrayBuffer of V8 10.2 is fixed-length: not resizable, and its
  // maximum byte length is its byte length (0 once detached).
  get resizable() {
    byteLengthOf(this, "resizable");
    return false;
  },
  get maxByteLength() {
    return byteLengthOf(this, "maxByteLength");
  },
};

install(ArrayBufferCtor.prototype, methods);
