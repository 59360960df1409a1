// Deep equality as Node.js defines it for assert.deepStrictEqual and
// util.isDeepStrictEqual (strict) and assert.deepEqual (loose): own
// enumerable keys, prototypes and [[Class]] in strict mode, Map/Set
// contents regardless of order, typed arrays by element, boxed primitives,
// dates, regular expressions and errors by their state; cycles are
// followed once.

const { ObjectGetPrototypeOf, ObjectKeys, ObjectGetOwnPropertySymbols, ObjectPrototypeToString,
  ObjectPrototypePropertyIsEnumerable, ArrayIsArray, NumberIsNaN } = internals.primordials;
const types = require("util/types");
const TypedArrayPrototypeGetTag = internals.TypedArrayPrototypeGetTag;

const kStrict = true;
const kLoose = false;

function isDeepEqual(a, b) {
  return innerDeepEqual(a, b, kLoose, undefined);
}
function isDeepStrictEqual(a, b) {
  return innerDeepEqual(a, b, kStrict, undefined);
}

function innerDeepEqual(a, b, strict, memos) {
  if (a === b) return a !== 0 || !strict || Object.is(a, b);
  if (strict) {
    if (typeof a !== "object") return typeof a === "number" && NumberIsNaN(a) && NumberIsNaN(b);
    if (typeof b !== "object" || a === null || b === null) return false;
    if (ObjectGetPrototypeOf(a) !== ObjectGetPrototypeOf(b)) return false;
  } else {
    if (a === null || typeof a !== "object") {
      if (b === null || typeof b !== "object") {
        // eslint-disable-next-line eqeqeq
        return a == b || (NumberIsNaN(a) && NumberIsNaN(b));
      }
      return false;
    }
    if (b === null || typeof b !== "object") return false;
  }
  const aTag = ObjectPrototypeToString(a);
  const bTag = ObjectPrototypeToString(b);
  if (aTag !== bTag) return false;

  if (ArrayIsArray(a)) {
    if (!ArrayIsArray(b) || a.length !== b.length) return false;
    return keyCheck(a, b, strict, memos, true);
  }
  if (aTag === "[object Object]" && !types.isBoxedPrimitive(a) && !types.isDate(a) &&
      !types.isRegExp(a) && !types.isNativeError(a) && !types.isMap(a) && !types.isSet(a) &&
      TypedArrayPrototypeGetTag(a) === undefined) {
    return keyCheck(a, b, strict, memos, false);
  }
  if (types.isDate(a)) {
    if (!types.isDate(b) || Date.prototype.getTime.call(a) !== Date.prototype.getTime.call(b)) return false;
  } else if (types.isRegExp(a)) {
    if (!types.isRegExp(b) || a.source !== b.source || a.flags !== b.flags || a.lastIndex !== b.lastIndex) return false;
  } else if (types.isNativeError(a) || a instanceof Error) {
    if ((!types.isNativeError(b) && !(b instanceof Error)) || a.message !== b.message || a.name !== b.name) return false;
  } else if (TypedArrayPrototypeGetTag(a) !== undefined) {
    if (TypedArrayPrototypeGetTag(a) !== TypedArrayPrototypeGetTag(b)) return false;
    const length = a.length;
    if (length !== b.length) return false;
    const floats = TypedArrayPrototypeGetTag(a).startsWith("Float");
    for (let i = 0; i < length; i++) {
      if (floats && !strict) {
        // eslint-disable-next-line eqeqeq
        if (a[i] != b[i]) return false;
      } else if (!Object.is(a[i], b[i]) && !(floats && a[i] === b[i])) {
        return false;
      }
    }
    return keyCheck(a, b, strict, memos, true, length);
  } else if (types.isSet(a)) {
    if (!types.isSet(b) || a.size !== b.size) return false;
    return keyCheck(a, b, strict, memos, false) && setEquiv(a, b, strict, memos);
  } else if (types.isMap(a)) {
    if (!types.isMap(b) || a.size !== b.size) return false;
    return keyCheck(a, b, strict, memos, false) && mapEquiv(a, b, strict, memos);
  } else if (types.isAnyArrayBuffer(a)) {
    if (!types.isAnyArrayBuffer(b) || a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  } else if (types.isBoxedPrimitive(a)) {
    if (!types.isBoxedPrimitive(b) || !Object.is(a.valueOf(), b.valueOf())) return false;
  } else if (types.isBoxedPrimitive(b) || types.isWeakMap(a) || types.isWeakSet(a) || types.isPromise(a)) {
    return false;
  }
  return keyCheck(a, b, strict, memos, false);
}

function ownEnumerableSymbols(object) {
  const symbols = ObjectGetOwnPropertySymbols(object);
  const result = [];
  for (let i = 0; i < symbols.length; i++) {
    if (ObjectPrototypePropertyIsEnumerable(object, symbols[i])) result.push(symbols[i]);
  }
  return result;
}

function keyCheck(a, b, strict, memos, isArrayLike, skipIndexBelow = 0) {
  let aKeys = ObjectKeys(a);
  let bKeys = ObjectKeys(b);
  if (skipIndexBelow > 0) {
    aKeys = aKeys.filter((k) => !(String(+k) === k && +k < skipIndexBelow));
    bKeys = bKeys.filter((k) => !(String(+k) === k && +k < skipIndexBelow));
  }
  if (aKeys.length !== bKeys.length) return false;
  for (let i = 0; i < aKeys.length; i++) {
    if (!ObjectPrototypePropertyIsEnumerable(b, aKeys[i])) return false;
  }
  if (strict) {
    const aSymbols = ownEnumerableSymbols(a);
    const bSymbols = ownEnumerableSymbols(b);
    if (aSymbols.length !== bSymbols.length) return false;
    for (let i = 0; i < aSymbols.length; i++) {
      if (!ObjectPrototypePropertyIsEnumerable(b, aSymbols[i])) return false;
      aKeys.push(aSymbols[i]);
    }
  }
  if (aKeys.length === 0 && !isArrayLike) return true;
  // Cycles: a pair met again on the path is taken as equal.
  if (memos === undefined) {
    memos = { a: new Map(), b: new Map(), position: 0 };
  } else {
    const aSeen = memos.a.get(a);
    if (aSeen !== undefined) {
      const bSeen = memos.b.get(b);
      if (bSeen !== undefined) return aSeen === bSeen;
    }
    memos.position++;
  }
  memos.a.set(a, memos.position);
  memos.b.set(b, memos.position);
  const result = objEquiv(a, b, strict, aKeys, memos, isArrayLike && skipIndexBelow === 0);
  memos.a.delete(a);
  memos.b.delete(b);
  return result;
}

function objEquiv(a, b, strict, keys, memos, isArray) {
  if (isArray) {
    for (let i = 0; i < a.length; i++) {
      const aHas = Object.prototype.hasOwnProperty.call(a, i);
      const bHas = Object.prototype.hasOwnProperty.call(b, i);
      if (aHas !== bHas && strict) return false;
      if (!innerDeepEqual(a[i], b[i], strict, memos)) return false;
    }
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (isArray && typeof key === "string" && String(+key) === key) continue;
    if (!innerDeepEqual(a[key], b[key], strict, memos)) return false;
  }
  return true;
}

function setEquiv(a, b, strict, memos) {
  const unmatched = [];
  for (const value of a) {
    if (typeof value === "object" && value !== null) {
      unmatched.push(value);
    } else if (!b.has(value)) {
      if (strict) return false;
      unmatched.push(value);
    }
  }
  if (unmatched.length === 0) return true;
  const candidates = [];
  for (const value of b) {
    if ((typeof value === "object" && value !== null) || !a.has(value)) candidates.push(value);
  }
  for (let i = 0; i < unmatched.length; i++) {
    let found = -1;
    for (let j = 0; j < candidates.length; j++) {
      if (innerDeepEqual(unmatched[i], candidates[j], strict, memos)) {
        found = j;
        break;
      }
    }
    if (found === -1) return false;
    candidates.splice(found, 1);
  }
  return candidates.length === 0;
}

function mapEquiv(a, b, strict, memos) {
  const unmatched = [];
  for (const [key, value] of a) {
    if (typeof key === "object" && key !== null) {
      unmatched.push([key, value]);
    } else if (!b.has(key) || !innerDeepEqual(value, b.get(key), strict, memos)) {
      if (strict) return false;
      unmatched.push([key, value]);
    }
  }
  if (unmatched.length === 0) return true;
  const candidates = [];
  for (const [key, value] of b) {
    if ((typeof key === "object" && key !== null) || !a.has(key)) candidates.push([key, value]);
  }
  for (let i = 0; i < unmatched.length; i++) {
    let found = -1;
    for (let j = 0; j < candidates.length; j++) {
      if (innerDeepEqual(unmatched[i][0], candidates[j][0], strict, memos) &&
          innerDeepEqual(unmatched[i][1], candidates[j][1], strict, memos)) {
        found = j;
        break;
      }
    }
    if (found === -1) return false;
    candidates.splice(found, 1);
  }
  return true;
}

return { __proto__: null, isDeepEqual, isDeepStrictEqual };
