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

const FunctionPrototypeBind = Function.prototype.bind;
const FunctionPrototypeCall = Function.prototype.call;
const ReflectApply = Reflect.apply;

// uncurryThis(String.prototype.slice)(s, 1, 2) is s.slice(1, 2) with the
// original method, whatever String.prototype.slice has become since.
function uncurryThis(fn) {
  return ReflectApply(FunctionPrototypeBind, FunctionPrototypeCall, [fn]);
}

const primordials = Object.freeze({
  __proto__: null,
  uncurryThis,
  ArrayBufferCtor: ArrayBuffer,
  ArrayBufferIsView: ArrayBuffer.isView,
  ArrayIsArray: Array.isArray,
  DateNow: Date.now,
  FunctionPrototypeBind,
  FunctionPrototypeCall,
  FunctionPrototypeToString: uncurryThis(Function.prototype.toString),
  JSONStringify: JSON.stringify,
  MapPrototypeSet: uncurryThis(Map.prototype.set),
  MathFloor: Math.floor,
  MathMax: Math.max,
  MathMin: Math.min,
  MathRound: Math.round,
  MathSqrt: Math.sqrt,
  MathTrunc: Math.trunc,
  NumberIsFinite: Number.isFinite,
  NumberIsNaN: Number.isNaN,
  NumberMAX_SAFE_INTEGER: Number.MAX_SAFE_INTEGER,
  NumberParseFloat: Number.parseFloat,
  NumberParseInt: Number.parseInt,
  ObjectDefineProperty: Object.defineProperty,
  ObjectGetOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
  ObjectGetOwnPropertyNames: Object.getOwnPropertyNames,
  ObjectGetOwnPropertySymbols: Object.getOwnPropertySymbols,
  ObjectGetPrototypeOf: Object.getPrototypeOf,
  ObjectKeys: Object.keys,
  ObjectPrototypeHasOwnProperty: uncurryThis(Object.prototype.hasOwnProperty),
  ObjectPrototypePropertyIsEnumerable: uncurryThis(Object.prototype.propertyIsEnumerable),
  ObjectPrototypeToString: uncurryThis(Object.prototype.toString),
  ObjectSetPrototypeOf: Object.setPrototypeOf,
  PromiseCtor: Promise,
  PromisePrototypeThen: uncurryThis(Promise.prototype.then),
  PromiseReject: Promise.reject.bind(Promise),
  PromiseResolve: Promise.resolve.bind(Promise),
  ReflectApply,
  ReflectOwnKeys: Reflect.ownKeys,
  StringPrototypeToLowerCase: uncurryThis(String.prototype.toLowerCase),
  SymbolAsyncIterator: Symbol.asyncIterator,
  SymbolIterator: Symbol.iterator,
  SymbolToStringTag: Symbol.toStringTag,
  TypeErrorCtor: TypeError,
  Uint8ArrayCtor: Uint8Array,
});

// Defined rather than assigned: internals has no prototype, and a defined
// property is read-only to whatever runs later.
Object.defineProperty(internals, "primordials", { __proto__: null, value: primordials, enumerable: true });
