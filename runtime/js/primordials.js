// Primordials: the built-ins the runtime's JavaScript uses, captured before
// any tenant code runs (Node.js's idea of the same name). A tenant may patch
// any built-in of its realm (Object.prototype, Function.prototype.call,
// Promise.prototype.then, Math.max ...); the runtime's files destructure
// these instead, so no patch changes a result the runtime computes.
//
// This file is the body of `(function (native, internals) { "use strict"; ... })`
// and runs before every other runtime file. Methods of a prototype are
// uncurried: StringPrototypeToLowerCase(s) is s.toLowerCase() with the
// original method. The object has no prototype and is frozen.
//
// The rule. Where the runtime's JavaScript computes a result that decides
// what a tenant may do or what leaves the isolate (header names and values,
// methods and status texts, body and size limits, subrequest and invocation
// bookkeeping, binding handles, brand checks, the arguments of fetch, KV and
// service bindings, structured clone's transfer list), it uses only these
// copies: no prototype method looked up at call time, no global constructor
// (`new Map`, `Promise`, `TypeError`) looked up by name, no for-of, spread or
// destructuring of arrays, Maps or Sets (each calls
// Array.prototype[Symbol.iterator] or the iterator's `next`, both
// patchable): index loops and forEach instead. RegExp.prototype.test,
// String.prototype.replace, match and split look up `exec` or
// Symbol.replace/match/split on the regular expression at call time: use
// RegExpTest or RegExpPrototypeExec. Built-ins used only for the tenant's
// own convenience (formatting an error message, inspect() output, parsing
// a value the tenant gave in a way that can only fail its own request) stay
// as they are: a patch breaks only the patcher's requests. Whatever a patch
// does, C++ checks again what crosses into it (HTTP tokens and field values
// on the wire, handles in the binding table, byte lengths).
//
// SafeMap, SafeSet and SafeWeakMap are Map, Set and WeakMap whose methods
// (and `size`) are own properties of a frozen prototype, so `map.get(k)` on
// one never reaches a patched Map.prototype.get. Never iterate one with
// for-of (its iterator's `next` is %MapIteratorPrototype%.next): use forEach.

const FunctionPrototypeBind = Function.prototype.bind;
const FunctionPrototypeCall = Function.prototype.call;
const ReflectApply = Reflect.apply;

// uncurryThis(String.prototype.slice)(s, 1, 2) is s.slice(1, 2) with the
// original method, whatever String.prototype.slice has become since.
function uncurryThis(fn) {
  return ReflectApply(FunctionPrototypeBind, FunctionPrototypeCall, [fn]);
}

// A subclass of Base whose prototype holds its own copies of Base's methods
// and accessors, frozen (Node.js's SafeMap).
function makeSafe(Base, name) {
  const Safe = class extends Base {
    constructor(iterable) {
      super(iterable);
    }
  };
  const source = Base.prototype;
  const keys = Reflect.ownKeys(source);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === "constructor") continue;
    Object.defineProperty(Safe.prototype, key, Object.getOwnPropertyDescriptor(source, key));
  }
  Object.defineProperty(Safe, "name", { __proto__: null, value: name });
  Object.freeze(Safe.prototype);
  return Object.freeze(Safe);
}

const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);

const primordials = Object.freeze({
  __proto__: null,
  uncurryThis,
  BigIntCtor: BigInt,
  ArrayBufferCtor: ArrayBuffer,
  ArrayBufferIsView: ArrayBuffer.isView,
  ArrayIsArray: Array.isArray,
  ArrayPrototypeIncludes: uncurryThis(Array.prototype.includes),
  ArrayPrototypeIndexOf: uncurryThis(Array.prototype.indexOf),
  ArrayPrototypeJoin: uncurryThis(Array.prototype.join),
  ArrayPrototypePush: uncurryThis(Array.prototype.push),
  ArrayPrototypeSlice: uncurryThis(Array.prototype.slice),
  ArrayPrototypeSort: uncurryThis(Array.prototype.sort),
  DateCtor: Date,
  DateNow: Date.now,
  DatePrototypeGetTime: uncurryThis(Date.prototype.getTime),
  ErrorCtor: Error,
  FunctionPrototypeBind,
  FunctionPrototypeCall,
  FunctionPrototypeToString: uncurryThis(Function.prototype.toString),
  JSONParse: JSON.parse,
  JSONStringify: JSON.stringify,
  MapPrototypeDelete: uncurryThis(Map.prototype.delete),
  MapPrototypeForEach: uncurryThis(Map.prototype.forEach),
  MapPrototypeGet: uncurryThis(Map.prototype.get),
  MapPrototypeHas: uncurryThis(Map.prototype.has),
  MapPrototypeSet: uncurryThis(Map.prototype.set),
  MathFloor: Math.floor,
  MathMax: Math.max,
  MathMin: Math.min,
  MathRound: Math.round,
  MathSqrt: Math.sqrt,
  MathTrunc: Math.trunc,
  NumberCtor: Number,
  NumberIsFinite: Number.isFinite,
  NumberIsNaN: Number.isNaN,
  NumberMAX_SAFE_INTEGER: Number.MAX_SAFE_INTEGER,
  NumberParseFloat: Number.parseFloat,
  NumberParseInt: Number.parseInt,
  ObjectDefineProperty: Object.defineProperty,
  ObjectFreeze: Object.freeze,
  ObjectGetOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
  ObjectGetOwnPropertyNames: Object.getOwnPropertyNames,
  ObjectGetOwnPropertySymbols: Object.getOwnPropertySymbols,
  ObjectGetPrototypeOf: Object.getPrototypeOf,
  ObjectKeys: Object.keys,
  ObjectPrototype: Object.prototype,
  ObjectPrototypeHasOwnProperty: uncurryThis(Object.prototype.hasOwnProperty),
  ObjectPrototypePropertyIsEnumerable: uncurryThis(Object.prototype.propertyIsEnumerable),
  ObjectPrototypeToString: uncurryThis(Object.prototype.toString),
  ObjectSetPrototypeOf: Object.setPrototypeOf,
  PromiseCtor: Promise,
  PromisePrototypeThen: uncurryThis(Promise.prototype.then),
  PromiseReject: Promise.reject.bind(Promise),
  PromiseResolve: Promise.resolve.bind(Promise),
  ProxyCtor: Proxy,
  RangeErrorCtor: RangeError,
  ReflectApply,
  ReflectDeleteProperty: Reflect.deleteProperty,
  ReflectGet: Reflect.get,
  ReflectOwnKeys: Reflect.ownKeys,
  RegExpCtor: RegExp,
  RegExpPrototypeExec,
  // regexp.test(s) without looking `exec` up on the regexp, as
  // RegExp.prototype.test does.
  RegExpTest: (regexp, string) => RegExpPrototypeExec(regexp, string) !== null,
  SafeMap: makeSafe(Map, "SafeMap"),
  SafeSet: makeSafe(Set, "SafeSet"),
  SafeWeakMap: makeSafe(WeakMap, "SafeWeakMap"),
  StringCtor: String,
  StringPrototypeCharCodeAt: uncurryThis(String.prototype.charCodeAt),
  StringPrototypeIndexOf: uncurryThis(String.prototype.indexOf),
  StringPrototypeSlice: uncurryThis(String.prototype.slice),
  StringPrototypeStartsWith: uncurryThis(String.prototype.startsWith),
  StringPrototypeToLowerCase: uncurryThis(String.prototype.toLowerCase),
  StringPrototypeToUpperCase: uncurryThis(String.prototype.toUpperCase),
  StringPrototypeTrim: uncurryThis(String.prototype.trim),
  SymbolAsyncIterator: Symbol.asyncIterator,
  SymbolIterator: Symbol.iterator,
  SymbolToStringTag: Symbol.toStringTag,
  TypeErrorCtor: TypeError,
  Uint8ArrayCtor: Uint8Array,
});

// Defined rather than assigned: internals has no prototype, and a defined
// property is read-only to whatever runs later.
Object.defineProperty(internals, "primordials", { __proto__: null, value: primordials, enumerable: true });
