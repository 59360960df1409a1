// node:util/types — Node.js's type checks (util.types), on V8's own checks
// (host.isKind) and the typed arrays' internal tag, so a Symbol.toStringTag
// or a prototype a worker set does not fool them.
// https://nodejs.org/api/util.html#utiltypes

const TypedArrayPrototypeGetTag = internals.TypedArrayPrototypeGetTag;
const isKind = host.isKind;
const kind = (name) => {
  const check = (value) => isKind(name, value);
  return check;
};
const tag = (name) => (value) => TypedArrayPrototypeGetTag(value) === name;

const types = {
  isExternal: kind("external"),
  isDate: kind("date"),
  isArgumentsObject: kind("argumentsObject"),
  isBigIntObject: kind("bigIntObject"),
  isBooleanObject: kind("booleanObject"),
  isNumberObject: kind("numberObject"),
  isStringObject: kind("stringObject"),
  isSymbolObject: kind("symbolObject"),
  isNativeError: kind("nativeError"),
  isRegExp: kind("regExp"),
  isAsyncFunction: kind("asyncFunction"),
  isGeneratorFunction: kind("generatorFunction"),
  isGeneratorObject: kind("generatorObject"),
  isPromise: kind("promise"),
  isMap: kind("map"),
  isSet: kind("set"),
  isMapIterator: kind("mapIterator"),
  isSetIterator: kind("setIterator"),
  isWeakMap: kind("weakMap"),
  isWeakSet: kind("weakSet"),
  isArrayBuffer: kind("arrayBuffer"),
  isDataView: kind("dataView"),
  isSharedArrayBuffer: kind("sharedArrayBuffer"),
  isProxy: kind("proxy"),
  isModuleNamespaceObject: kind("moduleNamespace"),
  isAnyArrayBuffer: (value) => isKind("arrayBuffer", value) || isKind("sharedArrayBuffer", value),
  isBoxedPrimitive: (value) => isKind("numberObject", value) || isKind("stringObject", value) ||
    isKind("booleanObject", value) || isKind("bigIntObject", value) || isKind("symbolObject", value),
  isArrayBufferView: (value) => TypedArrayPrototypeGetTag(value) !== undefined || isKind("dataView", value),
  isTypedArray: (value) => TypedArrayPrototypeGetTag(value) !== undefined,
  isUint8Array: tag("Uint8Array"),
  isUint8ClampedArray: tag("Uint8ClampedArray"),
  isUint16Array: tag("Uint16Array"),
  isUint32Array: tag("Uint32Array"),
  isInt8Array: tag("Int8Array"),
  isInt16Array: tag("Int16Array"),
  isInt32Array: tag("Int32Array"),
  isFloat32Array: tag("Float32Array"),
  isFloat64Array: tag("Float64Array"),
  isBigInt64Array: tag("BigInt64Array"),
  isBigUint64Array: tag("BigUint64Array"),
  // node:crypto is not provided yet: nothing is a KeyObject.
  isKeyObject: () => false,
  isCryptoKey: (value) => value instanceof internals.CryptoKey,
};
const names = Object.keys(types);
for (let i = 0; i < names.length; i++) {
  Object.defineProperty(types[names[i]], "name", { __proto__: null, value: names[i] });
}
return types;
