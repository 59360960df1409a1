// The Set methods (ES2025, https://tc39.es/ecma262/#sec-set.prototype.union):
// union, intersection, difference, symmetricDifference, isSubsetOf,
// isSupersetOf and isDisjointFrom. The argument is a set-like read through
// GetSetRecord (its `size`, `has` and `keys`, in that order); the receiver
// must be a Set and is read through the original Set methods, so a patched
// Set.prototype changes neither the receiver's data nor the result, which is
// a new %Set% filled with the original `add`.

const { NumberIsNaN, ObjectGetOwnPropertyDescriptor, ReflectApply, TypeErrorCtor: TypeError,
  RangeErrorCtor: RangeError, uncurryThis } = internals.primordials;
const {
  DONE, canonicalizeKey, createDataProperty, getIteratorFromMethod, install, isCallable, isObject,
  iteratorCloseNormal, iteratorStepValue, toIntegerOrInfinity,
} = internals.es;

const SetCtor = Set;
const SetPrototype = Set.prototype;
const setSizeGetter = ObjectGetOwnPropertyDescriptor(SetPrototype, "size").get;
const SetPrototypeAdd = uncurryThis(SetPrototype.add);
const SetPrototypeDelete = uncurryThis(SetPrototype.delete);
const SetPrototypeHas = uncurryThis(SetPrototype.has);
const SetPrototypeForEach = uncurryThis(SetPrototype.forEach);
const SetPrototypeValues = uncurryThis(SetPrototype.values);
const SetIteratorPrototypeNext = uncurryThis(Object.getPrototypeOf(new Set().values()).next);

// RequireInternalSlot(O, [[SetData]]): the original `size` getter throws a
// TypeError for anything but a Set. Returns SetDataSize(O).
function setSize(O, what) {
  try {
    return ReflectApply(setSizeGetter, O, []);
  } catch {
    throw new TypeError("Method Set.prototype." + what + " called on incompatible receiver");
  }
}

// GetSetRecord(obj).
function getSetRecord(obj, what) {
  if (!isObject(obj)) throw new TypeError("Set.prototype." + what + ": the argument is not an object");
  const rawSize = obj.size;
  const numSize = +rawSize;
  if (NumberIsNaN(numSize)) throw new TypeError("Set.prototype." + what + ": the argument's size is not a number");
  const intSize = toIntegerOrInfinity(numSize);
  if (intSize < 0) throw new RangeError("Set.prototype." + what + ": the argument's size is negative");
  const has = obj.has;
  if (!isCallable(has)) throw new TypeError("Set.prototype." + what + ": the argument's has is not a function");
  const keys = obj.keys;
  if (!isCallable(keys)) throw new TypeError("Set.prototype." + what + ": the argument's keys is not a function");
  return { __proto__: null, set: obj, size: intSize, has, keys };
}

// Calls `visit(e)` for each element of the Set O as its [[SetData]] is
// walked by index: elements deleted meanwhile are skipped, elements added
// meanwhile are visited (the original iterator is live the same way).
// Stops early when `visit` returns true; returns whether it did.
function someElement(O, visit) {
  const iterator = SetPrototypeValues(O);
  for (;;) {
    const step = SetIteratorPrototypeNext(iterator);
    if (step.done) return false;
    if (visit(step.value)) return true;
  }
}

function copyOf(O) {
  const result = new SetCtor();
  SetPrototypeForEach(O, (value) => SetPrototypeAdd(result, value));
  return result;
}

// The elements of a Set, in order, as a list (for a walk that must not see
// later changes).
function listOf(O) {
  const list = [];
  let n = 0;
  SetPrototypeForEach(O, (value) => createDataProperty(list, n++, value));
  return list;
}

// Calls `visit(value)` with each value the set-like's `keys()` iterator
// yields (canonicalized); when `visit` returns true the iterator is closed
// and true returned.
function someKey(record, visit) {
  const keysIter = getIteratorFromMethod(record.set, record.keys);
  for (;;) {
    const next = iteratorStepValue(keysIter);
    if (next === DONE) return false;
    if (visit(canonicalizeKey(next))) {
      iteratorCloseNormal(keysIter);
      return true;
    }
  }
}

function callHas(record, value) {
  return !!ReflectApply(record.has, record.set, [value]);
}

const methods = {
  union(other) {
    setSize(this, "union");
    const otherRec = getSetRecord(other, "union");
    const keysIter = getIteratorFromMethod(otherRec.set, otherRec.keys);
    const result = copyOf(this);
    for (;;) {
      const next = iteratorStepValue(keysIter);
      if (next === DONE) return result;
      SetPrototypeAdd(result, canonicalizeKey(next));
    }
  },

  intersection(other) {
    const O = this;
    const size = setSize(O, "intersection");
    const otherRec = getSetRecord(other, "intersection");
    const result = new SetCtor();
    if (size <= otherRec.size) {
      someElement(O, (e) => {
        if (callHas(otherRec, e)) SetPrototypeAdd(result, canonicalizeKey(e));
        return false;
      });
    } else {
      someKey(otherRec, (next) => {
        if (SetPrototypeHas(O, next)) SetPrototypeAdd(result, next);
        return false;
      });
    }
    return result;
  },

  difference(other) {
    const O = this;
    const size = setSize(O, "difference");
    const otherRec = getSetRecord(other, "difference");
    const result = copyOf(O);
    if (size <= otherRec.size) {
      const list = listOf(result);
      for (let index = 0; index < list.length; index++) {
        const e = list[index];
        if (callHas(otherRec, e)) SetPrototypeDelete(result, e);
      }
    } else {
      someKey(otherRec, (next) => {
        SetPrototypeDelete(result, next);
        return false;
      });
    }
    return result;
  },

  symmetricDifference(other) {
    const O = this;
    setSize(O, "symmetricDifference");
    const otherRec = getSetRecord(other, "symmetricDifference");
    const keysIter = getIteratorFromMethod(otherRec.set, otherRec.keys);
    const result = copyOf(O);
    for (;;) {
      const next = iteratorStepValue(keysIter);
      if (next === DONE) return result;
      const value = canonicalizeKey(next);
      const alreadyInResult = SetPrototypeHas(result, value);
      if (SetPrototypeHas(O, value)) {
        if (alreadyInResult) SetPrototypeDelete(result, value);
      } else if (!alreadyInResult) {
        SetPrototypeAdd(result, value);
      }
    }
  },

  isSubsetOf(other) {
    const O = this;
    const size = setSize(O, "isSubsetOf");
    const otherRec = getSetRecord(other, "isSubsetOf");
    if (size > otherRec.size) return false;
    return !someElement(O, (e) => !callHas(otherRec, e));
  },

  isSupersetOf(other) {
    const O = this;
    const size = setSize(O, "isSupersetOf");
    const otherRec = getSetRecord(other, "isSupersetOf");
    if (size < otherRec.size) return false;
    return !someKey(otherRec, (next) => !SetPrototypeHas(O, next));
  },

  isDisjointFrom(other) {
    const O = this;
    const size = setSize(O, "isDisjointFrom");
    const otherRec = getSetRecord(other, "isDisjointFrom");
    if (size <= otherRec.size) {
      return !someElement(O, (e) => callHas(otherRec, e));
    }
    return !someKey(otherRec, (next) => SetPrototypeHas(O, next));
  },
};

install(SetPrototype, methods);
