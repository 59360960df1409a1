// Change Array by copy on typed arrays (ES2023,
// https://tc39.es/ecma262/#sec-%typedarray%.prototype.toreversed):
// %TypedArray%.prototype.toReversed, toSorted and with. The copy is made by
// TypedArrayCreateSameType: the original constructor of the receiver's own
// kind, never its `constructor` or Symbol.species. Getters and methods are
// the originals, captured here before tenant code runs.

const {
  ObjectGetPrototypeOf, ReflectApply, SymbolToStringTag, TypeErrorCtor: TypeError,
  RangeErrorCtor: RangeError, Uint8ArrayCtor,
} = internals.primordials;
const { install, isCallable, isDetached, toIntegerOrInfinity, uncurryGetter } = internals.es;

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8ArrayCtor.prototype);
// [[TypedArrayName]], or undefined for anything but a typed array.
const getTag = uncurryGetter(TypedArrayPrototype, SymbolToStringTag);
const getLength = uncurryGetter(TypedArrayPrototype, "length");
const getBuffer = uncurryGetter(TypedArrayPrototype, "buffer");
const typedArraySet = TypedArrayPrototype.set;
const typedArraySort = TypedArrayPrototype.sort;
const BigIntAsIntN = BigInt.asIntN;

const constructors = {
  __proto__: null,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

// ValidateTypedArray(O): its [[TypedArrayName]] (a TypeError for anything
// else, or when its buffer is detached).
function validateTypedArray(O, what) {
  const tag = getTag(O);
  if (tag === undefined) throw new TypeError(what + ": this is not a typed array.");
  if (isDetached(getBuffer(O))) throw new TypeError(what + ": Cannot perform " + what + " on a detached ArrayBuffer");
  return tag;
}

const methods = {
  toReversed() {
    const tag = validateTypedArray(this, "%TypedArray%.prototype.toReversed");
    const len = getLength(this);
    const A = new constructors[tag](len);
    for (let k = 0; k < len; k++) A[k] = this[len - k - 1];
    return A;
  },

  toSorted(comparefn) {
    if (comparefn !== undefined && !isCallable(comparefn)) {
      throw new TypeError("The comparison function must be either a function or undefined");
    }
    const tag = validateTypedArray(this, "%TypedArray%.prototype.toSorted");
    const len = getLength(this);
    const A = new constructors[tag](len);
    ReflectApply(typedArraySet, A, [this]);
    // A is not reachable from tenant code: sorting it in place is
    // SortIndexedProperties on the values copied above.
    ReflectApply(typedArraySort, A, [comparefn]);
    return A;
  },

  with(index, value) {
    const tag = validateTypedArray(this, "%TypedArray%.prototype.with");
    const len = getLength(this);
    const relativeIndex = toIntegerOrInfinity(index);
    const actualIndex = relativeIndex >= 0 ? relativeIndex : len + relativeIndex;
    // ToBigInt (BigInt.asIntN(64, v) converts exactly as ToBigInt, then
    // wraps as a 64-bit element would) or ToNumber.
    const numericValue = tag === "BigInt64Array" || tag === "BigUint64Array" ? BigIntAsIntN(64, value) : +value;
    // IsValidIntegerIndex, after the conversions (which may detach).
    if (isDetached(getBuffer(this)) || actualIndex < 0 || actualIndex >= getLength(this)) {
      throw new RangeError("Invalid typed array index");
    }
    const A = new constructors[tag](len);
    for (let k = 0; k < len; k++) A[k] = k === actualIndex ? numericValue : this[k];
    return A;
  },
};

install(TypedArrayPrototype, methods);
