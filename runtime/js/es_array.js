// Change Array by copy (ES2023, https://tc39.es/ecma262/#sec-array.prototype.toreversed):
// Array.prototype.toReversed, toSorted, toSpliced and with, on the abstract
// operations of es_abstract.js. Each reads the receiver with Get in the
// specification's order and fills a fresh array with CreateDataProperty;
// toSorted sorts that fresh array with the original Array.prototype.sort,
// which is stable and orders undefined last without calling the comparator,
// as SortIndexedProperties and SortCompare say.

const { ArrayPrototypeSort, MathMax, MathMin, NumberMAX_SAFE_INTEGER, ObjectDefineProperty, TypeErrorCtor: TypeError,
  RangeErrorCtor: RangeError } = internals.primordials;
const {
  arrayCreate, createDataProperty, install, isCallable, lengthOfArrayLike, toIntegerOrInfinity, toObject,
} = internals.es;

const methods = {
  toReversed() {
    const O = toObject(this, "Array.prototype.toReversed");
    const len = lengthOfArrayLike(O);
    const A = arrayCreate(len);
    for (let k = 0; k < len; k++) createDataProperty(A, k, O[len - k - 1]);
    return A;
  },

  toSorted(comparefn) {
    if (comparefn !== undefined && !isCallable(comparefn)) {
      throw new TypeError("The comparison function must be either a function or undefined");
    }
    const O = toObject(this, "Array.prototype.toSorted");
    const len = lengthOfArrayLike(O);
    const A = arrayCreate(len);
    for (let k = 0; k < len; k++) createDataProperty(A, k, O[k]);
    // A is not reachable from tenant code: sorting it in place is
    // SortIndexedProperties on the values read above.
    ArrayPrototypeSort(A, comparefn);
    return A;
  },

  toSpliced(start, skipCount, ...items) {
    const O = toObject(this, "Array.prototype.toSpliced");
    const len = lengthOfArrayLike(O);
    const relativeStart = toIntegerOrInfinity(start);
    let actualStart;
    if (relativeStart === -Infinity) actualStart = 0;
    else if (relativeStart < 0) actualStart = MathMax(len + relativeStart, 0);
    else actualStart = MathMin(relativeStart, len);
    const insertCount = items.length;
    let actualSkipCount;
    if (arguments.length === 0) {
      actualSkipCount = 0;
    } else if (arguments.length === 1) {
      actualSkipCount = len - actualStart;
    } else {
      const sc = toIntegerOrInfinity(skipCount);
      actualSkipCount = MathMin(MathMax(sc, 0), len - actualStart);
    }
    const newLen = len + insertCount - actualSkipCount;
    if (newLen > NumberMAX_SAFE_INTEGER) {
      throw new TypeError("Array.prototype.toSpliced: the result would be longer than 2^53 - 1");
    }
    const A = arrayCreate(newLen);
    let i = 0;
    let r = actualStart + actualSkipCount;
    for (; i < actualStart; i++) createDataProperty(A, i, O[i]);
    for (let j = 0; j < insertCount; j++, i++) createDataProperty(A, i, items[j]);
    for (; i < newLen; i++, r++) createDataProperty(A, i, O[r]);
    return A;
  },

  with(index, value) {
    const O = toObject(this, "Array.prototype.with");
    const len = lengthOfArrayLike(O);
    const relativeIndex = toIntegerOrInfinity(index);
    const actualIndex = relativeIndex >= 0 ? relativeIndex : len + relativeIndex;
    if (actualIndex >= len || actualIndex < 0) throw new RangeError("Invalid index : " + relativeIndex);
    const A = arrayCreate(len);
    for (let k = 0; k < len; k++) createDataProperty(A, k, k === actualIndex ? value : O[k]);
    return A;
  },
};

install(Array.prototype, methods);

// Array.prototype[@@unscopables] names the three new methods whose names
// could shadow a binding in a `with` statement (not `with`, a keyword).
const unscopables = Array.prototype[Symbol.unscopables];
const unscopableNames = ["toReversed", "toSorted", "toSpliced"];
for (let i = 0; i < unscopableNames.length; i++) {
  ObjectDefineProperty(unscopables, unscopableNames[i], {
    __proto__: null,
    value: true,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}
