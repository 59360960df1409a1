// WebIDL (https://webidl.spec.whatwg.org/) as the runtime's classes need it:
// interface objects (finishInterface, defineConstants), the binding layer's
// errors (illegalConstructor, illegalInvocation and brand checks, argument
// counts) and the argument conversions several interfaces share (BufferSource,
// USVString, [EnforceRange] unsigned long long).
//
// This file is the body of `(function (native, internals) { "use strict"; ... })`
// and runs after primordials.js and the es_*.js built-ins (which need none of
// it), before every other runtime file, so everything it puts on `internals` is
// there for the other runtime files. It runs before tenant code: every
// built-in it uses later is captured here or in primordials.js, so a tenant
// that patches Object.prototype, Array.prototype, Function.prototype.call, a
// typed array getter or the global TypeError changes none of its results.

const {
  uncurryThis, ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf, ObjectKeys,
  ObjectSetPrototypeOf, ReflectApply, ReflectOwnKeys, ArrayBufferIsView, MathTrunc, NumberIsNaN, NumberMAX_SAFE_INTEGER,
  SymbolToStringTag, TypeErrorCtor, Uint8ArrayCtor, StringPrototypeCharCodeAt, StringPrototypeSlice,
  RegExpPrototypeExec,
} = internals.primordials;

// ---------------------------------------------------------------------------
// Captured built-ins.

// The original getter of `proto[name]`, as a function of the receiver.
const { uncurryGetter } = internals.es;

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
// [[TypedArrayName]], or undefined for any other value (never throws).
const TypedArrayPrototypeGetTag = uncurryGetter(TypedArrayPrototype, SymbolToStringTag);
const TypedArrayPrototypeGetBuffer = uncurryGetter(TypedArrayPrototype, "buffer");
const TypedArrayPrototypeGetByteOffset = uncurryGetter(TypedArrayPrototype, "byteOffset");
const TypedArrayPrototypeGetByteLength = uncurryGetter(TypedArrayPrototype, "byteLength");
const TypedArrayPrototypeGetLength = uncurryGetter(TypedArrayPrototype, "length");
const TypedArrayPrototypeSet = uncurryThis(TypedArrayPrototype.set);
const DataViewPrototypeGetBuffer = uncurryGetter(DataView.prototype, "buffer");
const DataViewPrototypeGetByteOffset = uncurryGetter(DataView.prototype, "byteOffset");
const DataViewPrototypeGetByteLength = uncurryGetter(DataView.prototype, "byteLength");
const ArrayBufferPrototypeGetByteLength = uncurryGetter(ArrayBuffer.prototype, "byteLength");
// SharedArrayBuffer is not on the global object while the startup snapshot
// is made: V8 installs it (as its flags say) when a context is created or
// deserialised. captureLateBuiltins runs here, and again right after a
// context is restored from the snapshot (runtime/runtime_js.cc), both times
// before any tenant code.
let SharedArrayBufferPrototypeGetByteLength;
function captureLateBuiltins() {
  SharedArrayBufferPrototypeGetByteLength =
    typeof SharedArrayBuffer === "function" ? uncurryGetter(SharedArrayBuffer.prototype, "byteLength") : undefined;
}
captureLateBuiltins();

// ---------------------------------------------------------------------------
// Interface objects.

// Makes a class look like a WebIDL interface: string-keyed prototype and static
// members become enumerable (as WebIDL operations and attributes are) and the
// prototype gets a Symbol.toStringTag.
function finishInterface(C, name = C.name) {
  const targets = [C.prototype, C];
  for (let t = 0; t < targets.length; t++) {
    const target = targets[t];
    const keys = ReflectOwnKeys(target);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (typeof key !== "string") continue;
      if (t === 0 && key === "constructor") continue;
      if (t === 1 && (key === "prototype" || key === "length" || key === "name")) continue;
      const desc = ObjectGetOwnPropertyDescriptor(target, key);
      if (!desc.configurable || desc.enumerable) continue;
      // Without a prototype: the runtime's lazy files (js/lazy.js) call
      // this after a worker may have put `get` or `value` on
      // Object.prototype.
      ObjectSetPrototypeOf(desc, null);
      desc.enumerable = true;
      ObjectDefineProperty(target, key, desc);
    }
  }
  ObjectDefineProperty(C.prototype, SymbolToStringTag, {
    __proto__: null,
    value: name,
    writable: false,
    enumerable: false,
    configurable: true,
  });
}

// WebIDL constants: enumerable, read-only, non-configurable, on both the
// interface object and its prototype.
function defineConstants(C, constants) {
  const names = ObjectKeys(constants);
  for (let i = 0; i < names.length; i++) {
    const desc = { __proto__: null, value: constants[names[i]], writable: false, enumerable: true, configurable: false };
    ObjectDefineProperty(C, names[i], desc);
    ObjectDefineProperty(C.prototype, names[i], desc);
  }
}

// The default iterator objects of an interface with pair iteration
// (iterable<K, V>, https://webidl.spec.whatwg.org/#es-default-iterator-object):
// pairIterator(iface, pairs) returns newIterator(target, kind), kind "key",
// "value" or "key+value"; each next() reads pairs(target), the target's
// [key, value] list as it is then.
const IteratorPrototype = ObjectGetPrototypeOf(ObjectGetPrototypeOf([][Symbol.iterator]()));
function pairIterator(iface, pairs) {
  const kCreate = {};
  class Iterator {
    #target;
    #kind;
    #index = 0;

    constructor(token, target, kind) {
      if (token !== kCreate) throw illegalConstructor();
      this.#target = target;
      this.#kind = kind;
    }

    next() {
      if (!isObject(this) || !(#target in this)) {
        throw new TypeErrorCtor(`next() called on an object that is not a ${iface} iterator.`);
      }
      const list = pairs(this.#target);
      if (this.#index >= list.length) return { value: undefined, done: true };
      const pair = list[this.#index++];
      const kind = this.#kind;
      if (kind === "key") return { value: pair[0], done: false };
      if (kind === "value") return { value: pair[1], done: false };
      return { value: [pair[0], pair[1]], done: false };
    }
  }
  ObjectSetPrototypeOf(Iterator.prototype, IteratorPrototype);
  delete Iterator.prototype.constructor;
  finishInterface(Iterator, `${iface} Iterator`);
  return (target, kind) => new Iterator(kCreate, target, kind);
}

// ---------------------------------------------------------------------------
// Errors of the binding layer.

function illegalConstructor() {
  return new TypeErrorCtor("Illegal constructor");
}

// An operation or attribute called on an object that does not implement its
// interface. Without a method the message is the bare "Illegal invocation";
// with one it names the operation as Chrome does: "Failed to execute 'read'
// on 'ReadableStreamDefaultReader': Illegal invocation".
function illegalInvocation(method = undefined, iface = undefined) {
  return new TypeErrorCtor(
    method === undefined ? "Illegal invocation" : `Failed to execute '${method}' on '${iface}': Illegal invocation`,
  );
}

// Brand checks. A runtime class keeps its state in private fields, so only
// code inside the class can tell its instances from other objects; that code
// is `unwrap(value)`, written in the class's static block: the instance's
// state (or the instance), or undefined for anything else. A private name is
// not seen through a Proxy and cannot be put on an object by anyone but the
// class, so neither fools the check.
//
// brandCheck(unwrap, iface) returns check(value, method = undefined): the
// state, or it throws illegalInvocation(method, iface).
function brandCheck(unwrap, iface = undefined) {
  return (value, method = undefined) => {
    const state = unwrap(value);
    if (state === undefined) throw illegalInvocation(method, iface);
    return state;
  };
}

// The TypeError of an operation called with `count` arguments where it
// requires `required`. `context` names the operation: "Failed to execute
// 'get' on 'Headers'" or "Failed to construct 'URL'".
function tooFewArguments(count, required, context) {
  return new TypeErrorCtor(
    `${context}: ${required} argument${required === 1 ? "" : "s"} required, but only ${count} present.`,
  );
}

// Throws tooFewArguments(...) when count < required.
function requireArguments(count, required, context) {
  if (count < required) throw tooFewArguments(count, required, context);
}

// ---------------------------------------------------------------------------
// Types and conversions.

// An ECMAScript Object (what WebIDL's object, dictionary and interface types
// start from): an object or a function.
function isObject(value) {
  return value !== null && (typeof value === "object" || typeof value === "function");
}

function isUint8Array(value) {
  return TypedArrayPrototypeGetTag(value) === "Uint8Array";
}

function isArrayBuffer(value) {
  try {
    ArrayBufferPrototypeGetByteLength(value);
    return true;
  } catch {
    return false;
  }
}

function isSharedArrayBuffer(value) {
  if (SharedArrayBufferPrototypeGetByteLength === undefined) return false;
  try {
    SharedArrayBufferPrototypeGetByteLength(value);
    return true;
  } catch {
    return false;
  }
}

// Converts a BufferSource (ArrayBuffer, SharedArrayBuffer or any
// ArrayBufferView) to a Uint8Array over the same memory; undefined if `value` is
// not a BufferSource.
function toUint8Array(value) {
  if (value === null || typeof value !== "object") return undefined;
  if (ArrayBufferIsView(value)) {
    if (TypedArrayPrototypeGetTag(value) !== undefined) {
      if (isUint8Array(value)) return value;
      return new Uint8ArrayCtor(
        TypedArrayPrototypeGetBuffer(value),
        TypedArrayPrototypeGetByteOffset(value),
        TypedArrayPrototypeGetByteLength(value),
      );
    }
    return new Uint8ArrayCtor(
      DataViewPrototypeGetBuffer(value),
      DataViewPrototypeGetByteOffset(value),
      DataViewPrototypeGetByteLength(value),
    );
  }
  if (isArrayBuffer(value) || isSharedArrayBuffer(value)) return new Uint8ArrayCtor(value);
  return undefined;
}

// USVString: ToString (a template literal, which throws on a Symbol as WebIDL
// does), then every lone surrogate replaced with U+FFFD.
const surrogateRegExp = /[\uD800-\uDFFF]/;
function toUSVString(value) {
  const s = typeof value === "string" ? value : `${value}`;
  if (RegExpPrototypeExec(surrogateRegExp, s) === null) return s;
  let out = "";
  let run = 0;
  const length = s.length;
  for (let i = 0; i < length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < length) {
      const d = StringPrototypeCharCodeAt(s, i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    out += StringPrototypeSlice(s, run, i) + "\uFFFD";
    run = i + 1;
  }
  return run === 0 ? s : out + StringPrototypeSlice(s, run);
}

// [EnforceRange] unsigned long long. `what` starts the message: "Failed to
// execute 'respond' on 'ReadableStreamBYOBRequest': bytesWritten".
function toEnforceRangeUnsignedLongLong(value, what) {
  let x = typeof value === "number" ? value : +value;
  if (NumberIsNaN(x) || x === Infinity || x === -Infinity) {
    throw new TypeErrorCtor(`${what} is not a finite number.`);
  }
  x = MathTrunc(x);
  if (x < 0 || x > NumberMAX_SAFE_INTEGER) {
    throw new TypeErrorCtor(`${what} is outside the accepted range of 0 to 2^53 - 1.`);
  }
  return x === 0 ? 0 : x;
}

// CreateDataProperty (https://tc39.es/ecma262/#sec-createdataproperty):
// `object[key] = value` as an own, writable, enumerable, configurable data
// property, which no setter a tenant put on a prototype (Object.prototype,
// say) sees or swallows, and `key` "__proto__" does not change the
// prototype. For objects the runtime fills by key and hands to tenant code.
function createDataProperty(object, key, value) {
  ObjectDefineProperty(object, key, {
    __proto__: null,
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

internals.createDataProperty = createDataProperty;
internals.uncurryThis = uncurryThis;
internals.uncurryGetter = uncurryGetter;
internals.TypedArrayPrototypeGetTag = TypedArrayPrototypeGetTag;
internals.TypedArrayPrototypeGetBuffer = TypedArrayPrototypeGetBuffer;
internals.TypedArrayPrototypeGetByteOffset = TypedArrayPrototypeGetByteOffset;
internals.TypedArrayPrototypeGetByteLength = TypedArrayPrototypeGetByteLength;
internals.TypedArrayPrototypeGetLength = TypedArrayPrototypeGetLength;
internals.TypedArrayPrototypeSet = TypedArrayPrototypeSet;
internals.DataViewPrototypeGetBuffer = DataViewPrototypeGetBuffer;
internals.DataViewPrototypeGetByteOffset = DataViewPrototypeGetByteOffset;
internals.DataViewPrototypeGetByteLength = DataViewPrototypeGetByteLength;
internals.ArrayBufferPrototypeGetByteLength = ArrayBufferPrototypeGetByteLength;
internals.finishInterface = finishInterface;
internals.defineConstants = defineConstants;
internals.pairIterator = pairIterator;
internals.illegalConstructor = illegalConstructor;
internals.illegalInvocation = illegalInvocation;
internals.brandCheck = brandCheck;
internals.tooFewArguments = tooFewArguments;
internals.requireArguments = requireArguments;
internals.isObject = isObject;
internals.isUint8Array = isUint8Array;
internals.isArrayBuffer = isArrayBuffer;
internals.isSharedArrayBuffer = isSharedArrayBuffer;
internals.captureLateBuiltins = captureLateBuiltins;
internals.toUint8Array = toUint8Array;
internals.toUSVString = toUSVString;
internals.toEnforceRangeUnsignedLongLong = toEnforceRangeUnsignedLongLong;
