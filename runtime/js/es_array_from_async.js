// Array.fromAsync (ES2026, https://tc39.es/proposal-array-from-async/):
// an async iterable, a sync iterable (whose values are awaited, as
// CreateAsyncFromSyncIterator does) or an array-like into an array, or into
// a new `this` when `this` is a constructor. It runs as an async function,
// so every error rejects the promise it returns.

const { NumberMAX_SAFE_INTEGER, ReflectApply, SymbolAsyncIterator, SymbolIterator, TypeErrorCtor: TypeError } =
  internals.primordials;
const {
  arrayCreate, createDataProperty, getIteratorFromMethod, getMethod, install, isCallable, isConstructor, isObject,
  lengthOfArrayLike, toObject,
} = internals.es;

const ReflectConstruct = Reflect.construct;

// AsyncIteratorClose(record, throw completion): awaits the iterator's
// `return`, then rethrows `error` whatever it did.
async function asyncIteratorCloseThrow(iterator, error) {
  try {
    const method = iterator.return;
    if (method !== undefined && method !== null) await ReflectApply(method, iterator, []);
  } catch {
    // The completion that closes the iterator wins.
  }
  throw error;
}

// IteratorClose(record, throw completion) for the sync iterator behind an
// async-from-sync one.
function syncIteratorCloseThrow(iterator, error) {
  try {
    const method = iterator.return;
    if (method !== undefined && method !== null) ReflectApply(method, iterator, []);
  } catch {
    // The completion that closes the iterator wins.
  }
  throw error;
}

// The next step of an iterator record: { done, value } with the value
// awaited for a sync iterator (%AsyncFromSyncIteratorPrototype%.next, which
// closes the sync iterator when that value rejects).
async function step(record) {
  // A sync iterator's result is read as it is (the async-from-sync
  // iterator wraps it in a fresh result); an async iterator's is awaited.
  const raw = ReflectApply(record.next, record.iterator, []);
  const result = record.sync ? raw : await raw;
  if (!isObject(result)) throw new TypeError("the iterator result is not an object");
  const done = !!result.done;
  let value = result.value;
  if (record.sync) {
    try {
      value = await value;
    } catch (error) {
      if (!done) syncIteratorCloseThrow(record.iterator, error);
      throw error;
    }
  }
  return { __proto__: null, done, value };
}

// The steps of Array.fromAsync, as the async closure the specification
// starts with AsyncFunctionStart.
async function fromAsync(C, asyncItems, mapfn, thisArg) {
  let mapping = false;
  if (mapfn !== undefined) {
    if (!isCallable(mapfn)) throw new TypeError("Array.fromAsync: the mapper is not a function");
    mapping = true;
  }
  const usingAsyncIterator = getMethod(asyncItems, SymbolAsyncIterator);
  const usingSyncIterator = usingAsyncIterator === undefined ? getMethod(asyncItems, SymbolIterator) : undefined;
  let record;
  if (usingAsyncIterator !== undefined) {
    record = getIteratorFromMethod(asyncItems, usingAsyncIterator);
    record.sync = false;
  } else if (usingSyncIterator !== undefined) {
    record = getIteratorFromMethod(asyncItems, usingSyncIterator);
    record.sync = true;
  }
  if (record !== undefined) {
    const A = isConstructor(C) ? ReflectConstruct(C, []) : arrayCreate(0);
    for (let k = 0; ; k++) {
      if (k >= NumberMAX_SAFE_INTEGER) {
        const error = new TypeError("Array.fromAsync: too many values");
        if (record.sync) syncIteratorCloseThrow(record.iterator, error);
        return asyncIteratorCloseThrow(record.iterator, error);
      }
      const next = await step(record);
      if (next.done) {
        A.length = k;
        return A;
      }
      let mappedValue = next.value;
      try {
        if (mapping) mappedValue = await ReflectApply(mapfn, thisArg, [mappedValue, k]);
        createDataProperty(A, k, mappedValue);
      } catch (error) {
        if (record.sync) syncIteratorCloseThrow(record.iterator, error);
        return asyncIteratorCloseThrow(record.iterator, error);
      }
    }
  }
  // Neither async nor sync iterable: an array-like.
  const arrayLike = toObject(asyncItems, "Array.fromAsync");
  const len = lengthOfArrayLike(arrayLike);
  const A = isConstructor(C) ? ReflectConstruct(C, [len]) : arrayCreate(len);
  for (let k = 0; k < len; k++) {
    let kValue = await arrayLike[k];
    if (mapping) kValue = await ReflectApply(mapfn, thisArg, [kValue, k]);
    createDataProperty(A, k, kValue);
  }
  A.length = len;
  return A;
}

const methods = {
  // A plain method (its prototype is Function.prototype, not
  // AsyncFunction.prototype) that returns the closure's promise.
  fromAsync(asyncItems, mapfn = undefined, thisArg = undefined) {
    return fromAsync(this, asyncItems, mapfn, thisArg);
  },
};

install(Array, methods);
