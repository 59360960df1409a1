// ECMAScript abstract operations for the built-ins V8 10.2 predates (the
// es_*.js files after this one install them), written as the specification
// words them (https://tc39.es/ecma262/#sec-abstract-operations), on
// built-ins captured before tenant code runs.
//
// These built-ins are the tenant's own (Array.prototype.toSorted and the
// like): what a patched built-in cannot change is their result. A tenant
// that patches Array.prototype.push, Object.prototype or a Set's `add` does
// not change what toSorted, groupBy or union return; what the specification
// makes observable (Get on the receiver, a Proxy's traps, `constructor`,
// the `size`/`has`/`keys` of a set-like) stays observable, in the
// specification's order. Internal lists are filled with CreateDataProperty
// (ObjectDefineProperty), never by assignment or push, which would reach a
// setter a tenant put on Array.prototype.
//
// Installed by `install` only where V8 lacks the method, as the
// specification's built-in functions are: writable, non-enumerable,
// configurable, with their `length` and `name`, and not constructors (they
// are written as method definitions, which have no [[Construct]]).

const {
  ArrayIsArray, ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, ObjectPrototypeHasOwnProperty,
  ReflectApply, ReflectOwnKeys, MathTrunc, NumberIsNaN, NumberMAX_SAFE_INTEGER, TypeErrorCtor: TypeError,
  RangeErrorCtor: RangeError, StringCtor, SymbolIterator, Uint8ArrayCtor,
} = internals.primordials;

const ObjectCtor = Object;
const ProxyCtor = Proxy;
const ReflectConstruct = Reflect.construct;

// Installs `source`'s own methods (and accessors) on `target` where
// `target` has no property of that name yet (a later V8 has its own).
function install(target, source) {
  const keys = ReflectOwnKeys(source);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (ObjectPrototypeHasOwnProperty(target, key)) continue;
    const desc = ObjectGetOwnPropertyDescriptor(source, key);
    desc.enumerable = false;
    desc.configurable = true;
    if (ObjectPrototypeHasOwnProperty(desc, "value")) desc.writable = true;
    ObjectDefineProperty(target, key, desc);
  }
}

// CreateDataPropertyOrThrow(O, key, value): defines, never assigns, so no
// setter on a prototype sees it. Throws a TypeError where O refuses.
function createDataProperty(O, key, value) {
  ObjectDefineProperty(O, key, {
    __proto__: null,
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

function isObject(value) {
  return value !== null && (typeof value === "object" || typeof value === "function");
}

// The original getter of `proto[name]`, as a function of the receiver.
function uncurryGetter(proto, name) {
  const get = ObjectGetOwnPropertyDescriptor(proto, name).get;
  return (self) => ReflectApply(get, self, []);
}

// IsDetachedBuffer: a detached buffer cannot be viewed, even with length 0.
function isDetached(buffer) {
  try {
    new Uint8ArrayCtor(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

function isCallable(value) {
  return typeof value === "function";
}

// The handler of the Proxy isConstructor builds: its trap returns an object
// without touching the target, so asking never runs tenant code.
const constructProbe = {
  __proto__: null,
  construct() {
    return constructProbe;
  },
};

// IsConstructor(value): a Proxy over a function has [[Construct]] exactly
// when the function has, and its trap answers without calling the function
// or reading its `prototype`.
function isConstructor(value) {
  if (typeof value !== "function") return false;
  try {
    ReflectConstruct(new ProxyCtor(value, constructProbe), []);
    return true;
  } catch {
    return false;
  }
}

// ToObject(value).
function toObject(value, what) {
  if (value === undefined || value === null) {
    throw new TypeError(what + " called on null or undefined");
  }
  return ObjectCtor(value);
}

// RequireObjectCoercible(value).
function requireObjectCoercible(value, what) {
  if (value === undefined || value === null) {
    throw new TypeError(what + " called on null or undefined");
  }
  return value;
}

// ToIntegerOrInfinity(value). Unary plus is ToNumber: it throws a TypeError
// for a Symbol or a BigInt, as the specification's does.
function toIntegerOrInfinity(value) {
  const number = +value;
  if (NumberIsNaN(number) || number === 0) return 0;
  return MathTrunc(number);
}

// ToLength(value).
function toLength(value) {
  const length = toIntegerOrInfinity(value);
  if (length <= 0) return 0;
  return length < NumberMAX_SAFE_INTEGER ? length : NumberMAX_SAFE_INTEGER;
}

// LengthOfArrayLike(O).
function lengthOfArrayLike(O) {
  return toLength(O.length);
}

// ToIndex(value).
function toIndex(value, what) {
  const integer = toIntegerOrInfinity(value);
  if (integer < 0 || integer > NumberMAX_SAFE_INTEGER) {
    throw new RangeError(what + ": invalid length " + integer);
  }
  return integer;
}

// ToPropertyKey(value): a computed key of an object literal is exactly
// ToPropertyKey (ToPrimitive with hint string, then a Symbol as it is or
// ToString).
function toPropertyKey(value) {
  if (typeof value === "symbol") return value;
  if (!isObject(value)) return `${value}`;
  const holder = { __proto__: null, [value]: undefined };
  return ReflectOwnKeys(holder)[0];
}

// GetMethod(value, key): undefined for undefined or null, a TypeError for
// anything else that cannot be called.
function getMethod(value, key) {
  const method = value[key];
  if (method === undefined || method === null) return undefined;
  if (!isCallable(method)) throw new TypeError("the " + StringCtor(key) + " method is not a function");
  return method;
}

// An Iterator Record ({ iterator, next, done }), a null-prototype record.
// GetIteratorFromMethod(obj, method).
function getIteratorFromMethod(obj, method) {
  const iterator = ReflectApply(method, obj, []);
  if (!isObject(iterator)) throw new TypeError("the iterator is not an object");
  return { __proto__: null, iterator, next: iterator.next, done: false };
}

// GetIterator(obj, sync).
function getIterator(obj) {
  const method = getMethod(obj, SymbolIterator);
  if (method === undefined) throw new TypeError("the object is not iterable");
  return getIteratorFromMethod(obj, method);
}

// The marker IteratorStepValue returns when the iterator is done.
const DONE = { __proto__: null };

// IteratorStepValue(record): the next value, or DONE.
function iteratorStepValue(record) {
  const result = ReflectApply(record.next, record.iterator, []);
  if (!isObject(result)) throw new TypeError("the iterator result is not an object");
  if (result.done) {
    record.done = true;
    return DONE;
  }
  return result.value;
}

// IteratorClose(record, completion) for a normal completion: the iterator's
// `return` runs and its errors surface.
function iteratorCloseNormal(record) {
  const iterator = record.iterator;
  const method = getMethod(iterator, "return");
  if (method === undefined) return;
  const inner = ReflectApply(method, iterator, []);
  if (!isObject(inner)) throw new TypeError("the iterator's return() result is not an object");
}

// IteratorClose(record, completion) for a throw completion: the iterator's
// `return` runs, and `error` is rethrown whatever it does.
function iteratorCloseThrow(record, error) {
  try {
    const iterator = record.iterator;
    const method = iterator.return;
    if (method !== undefined && method !== null) ReflectApply(method, iterator, []);
  } catch {
    // The completion that closes the iterator wins.
  }
  throw error;
}

// ArrayCreate(length): a RangeError past 2^32 - 1, as the Array
// constructor (captured) gives.
const ArrayCtor = Array;
function arrayCreate(length) {
  if (length > 4294967295) throw new RangeError("Invalid array length");
  return new ArrayCtor(length);
}

// CanonicalizeKeyedCollectionKey(value): -0 becomes +0.
function canonicalizeKey(value) {
  return value === 0 ? 0 : value;
}

internals.es = {
  __proto__: null,
  DONE,
  arrayCreate,
  canonicalizeKey,
  createDataProperty,
  getIterator,
  getIteratorFromMethod,
  getMethod,
  install,
  isArray: ArrayIsArray,
  isCallable,
  isConstructor,
  isDetached,
  isObject,
  iteratorCloseNormal,
  iteratorCloseThrow,
  iteratorStepValue,
  lengthOfArrayLike,
  requireObjectCoercible,
  toIndex,
  toIntegerOrInfinity,
  toObject,
  toPropertyKey,
  uncurryGetter,
};
