// internals.inspect(value, options) and internals.format(...args): a port of the
// parts of Node.js' util.inspect/util.format that console output needs (no
// colors). Layout rules (single line when short, `compact: 3`, grouping of long
// arrays into columns) follow Node so output looks familiar.
//
// Objects can customise their output with a method keyed by
// `internals.inspectSymbol` (= Symbol.for("nodejs.util.inspect.custom"), so
// code written for Node works too), called as `obj[inspectSymbol](depth,
// options, inspect)`. It returns either a string (used verbatim) or any value,
// which is inspected in its place. `internals.inspectNamed(name, fields)`
// returns a value that prints as `name { ...fields }`, for runtime classes.

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

const {
  ObjectGetOwnPropertyDescriptor, ObjectGetOwnPropertyNames, ObjectGetOwnPropertySymbols, ObjectGetPrototypeOf,
  ObjectKeys, ObjectPrototypeHasOwnProperty, ObjectPrototypePropertyIsEnumerable, ObjectPrototypeToString,
  FunctionPrototypeToString, ArrayIsArray, JSONStringify, MathMin, MathMax, MathSqrt, MathRound, MathFloor, NumberIsNaN,
  NumberParseInt, NumberParseFloat, ReflectApply, PromiseCtor,
} = internals.primordials;

const uncurryGetter = (proto, name) => {
  const get = ObjectGetOwnPropertyDescriptor(proto, name).get;
  return (self) => ReflectApply(get, self, []);
};
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
const TypedArrayPrototypeGetTag = uncurryGetter(TypedArrayPrototype, Symbol.toStringTag);
const TypedArrayPrototypeGetLength = uncurryGetter(TypedArrayPrototype, "length");
const ArrayBufferPrototypeGetByteLength = uncurryGetter(ArrayBuffer.prototype, "byteLength");
const DataViewPrototypeGetByteLength = uncurryGetter(DataView.prototype, "byteLength");
const MapPrototypeGetSize = uncurryGetter(Map.prototype, "size");
const SetPrototypeGetSize = uncurryGetter(Set.prototype, "size");
const RegExpPrototypeGetSource = uncurryGetter(RegExp.prototype, "source");
const RegExpPrototypeToString = Function.prototype.call.bind(RegExp.prototype.toString);
const DatePrototypeGetTime = Function.prototype.call.bind(Date.prototype.getTime);
const DatePrototypeToISOString = Function.prototype.call.bind(Date.prototype.toISOString);
const DatePrototypeToString = Function.prototype.call.bind(Date.prototype.toString);
const ErrorPrototypeToString = Function.prototype.call.bind(Error.prototype.toString);
const MapPrototypeEntries = Function.prototype.call.bind(Map.prototype.entries);
const SetPrototypeValues = Function.prototype.call.bind(Set.prototype.values);
const WeakMapPrototypeHas = Function.prototype.call.bind(WeakMap.prototype.has);
const WeakSetPrototypeHas = Function.prototype.call.bind(WeakSet.prototype.has);
const SymbolPrototypeToString = Function.prototype.call.bind(Symbol.prototype.toString);
const SymbolPrototypeValueOf = Function.prototype.call.bind(Symbol.prototype.valueOf);
const NumberPrototypeValueOf = Function.prototype.call.bind(Number.prototype.valueOf);
const StringPrototypeValueOf = Function.prototype.call.bind(String.prototype.valueOf);
const BooleanPrototypeValueOf = Function.prototype.call.bind(Boolean.prototype.valueOf);
const BigIntPrototypeValueOf = Function.prototype.call.bind(BigInt.prototype.valueOf);
const ErrorCtor = Error;

function attempt(fn, value) {
  try {
    fn(value);
    return true;
  } catch {
    return false;
  }
}

const isTypedArray = (v) => TypedArrayPrototypeGetTag(v) !== undefined;
const isArrayBuffer = (v) => attempt(ArrayBufferPrototypeGetByteLength, v);
// webidl.js' test: it knows SharedArrayBuffer in a context restored from
// the startup snapshot too.
const isSharedArrayBuffer = internals.isSharedArrayBuffer;
const isDataView = (v) => attempt(DataViewPrototypeGetByteLength, v);
const isMap = (v) => attempt(MapPrototypeGetSize, v);
const isSet = (v) => attempt(SetPrototypeGetSize, v);
const isWeakMap = (v) => attempt((x) => WeakMapPrototypeHas(x, {}), v);
const isWeakSet = (v) => attempt((x) => WeakSetPrototypeHas(x, {}), v);
const isDate = (v) => attempt(DatePrototypeGetTime, v);
const isRegExp = (v) => v !== RegExp.prototype && attempt(RegExpPrototypeGetSource, v);
const isError = (v) => v instanceof ErrorCtor || ObjectPrototypeToString(v) === "[object Error]";
const isPromise = (v) => v instanceof PromiseCtor;

function boxedPrimitiveBase(value) {
  try {
    return `[Number: ${formatNumber(NumberPrototypeValueOf(value))}]`;
  } catch {}
  try {
    return `[String: ${strEscape(StringPrototypeValueOf(value))}]`;
  } catch {}
  try {
    return `[Boolean: ${BooleanPrototypeValueOf(value)}]`;
  } catch {}
  try {
    return `[BigInt: ${BigIntPrototypeValueOf(value)}n]`;
  } catch {}
  try {
    return `[Symbol: ${SymbolPrototypeToString(SymbolPrototypeValueOf(value))}]`;
  } catch {}
  return undefined;
}

// Values created by inspectNamed(): print as `name { ...fields }`.
class NamedView {
  name;
  fields;

  constructor(name, fields) {
    this.name = name;
    this.fields = fields;
  }
}

const kObjectType = 0;
const kArrayType = 1;
const kArrayExtrasType = 2;

const defaultOptions = {
  depth: 2,
  breakLength: 80,
  compact: 3,
  showHidden: false,
  customInspect: true,
  maxArrayLength: 100,
  maxStringLength: 10000,
  sorted: false,
  getters: false,
};

function inspect(value, options = undefined) {
  const ctx = {
    seen: [],
    circular: undefined,
    indentationLvl: 0,
    currentDepth: 0,
    budget: {},
    depth: defaultOptions.depth,
    breakLength: defaultOptions.breakLength,
    compact: defaultOptions.compact,
    showHidden: defaultOptions.showHidden,
    customInspect: defaultOptions.customInspect,
    maxArrayLength: defaultOptions.maxArrayLength,
    maxStringLength: defaultOptions.maxStringLength,
    sorted: defaultOptions.sorted,
    getters: defaultOptions.getters,
  };
  if (options !== null && typeof options === "object") {
    for (const key of ObjectKeys(defaultOptions)) {
      if (options[key] !== undefined) ctx[key] = options[key];
    }
    if (ctx.depth === Infinity) ctx.depth = null;
    if (ctx.maxArrayLength === null) ctx.maxArrayLength = Infinity;
    if (ctx.maxStringLength === null) ctx.maxStringLength = Infinity;
  }
  return formatValue(ctx, value, 0);
}

function userOptions(ctx) {
  return {
    depth: ctx.depth,
    breakLength: ctx.breakLength,
    compact: ctx.compact,
    showHidden: ctx.showHidden,
    customInspect: ctx.customInspect,
    maxArrayLength: ctx.maxArrayLength,
    maxStringLength: ctx.maxStringLength,
    sorted: ctx.sorted,
    getters: ctx.getters,
    colors: false,
    indentationLvl: ctx.indentationLvl,
    stylize: (str) => `${str}`,
  };
}

function formatValue(ctx, value, recurseTimes, typedArray) {
  if (typeof value !== "object" && typeof value !== "function") {
    return formatPrimitive(ctx, value);
  }
  if (value === null) return "null";

  let forcedName;
  if (value instanceof NamedView) {
    forcedName = value.name;
    value = value.fields;
  } else if (ctx.customInspect) {
    let maybeCustom;
    try {
      maybeCustom = value[inspectSymbol];
    } catch {}
    if (typeof maybeCustom === "function" && maybeCustom !== inspect) {
      const depth = ctx.depth === null ? null : ctx.depth - recurseTimes;
      const ret = ReflectApply(maybeCustom, value, [depth, userOptions(ctx), inspect]);
      if (ret !== value) {
        if (typeof ret !== "string") return formatValue(ctx, ret, recurseTimes);
        return ret.replaceAll("\n", `\n${" ".repeat(ctx.indentationLvl)}`);
      }
    } else {
      const builtin = inspectBuiltinFallback(ctx, value, recurseTimes);
      if (typeof builtin === "string") return builtin;
      if (builtin !== undefined) {
        forcedName = builtin.name;
        value = builtin.fields;
      }
    }
  }

  if (ctx.seen.includes(value)) {
    let index = 1;
    if (ctx.circular === undefined) {
      ctx.circular = new Map();
      ctx.circular.set(value, index);
    } else {
      index = ctx.circular.get(value);
      if (index === undefined) {
        index = ctx.circular.size + 1;
        ctx.circular.set(value, index);
      }
    }
    return `[Circular *${index}]`;
  }
  return formatRaw(ctx, value, recurseTimes, typedArray, forcedName);
}

// URL and URLSearchParams come from url.js; give them useful output even if
// that file does not define a custom inspect method.
function inspectBuiltinFallback(ctx, value, recurseTimes) {
  const URLCtor = internals.URL;
  if (typeof URLCtor === "function" && value instanceof URLCtor) {
    return {
      name: "URL",
      fields: {
        href: value.href,
        origin: value.origin,
        protocol: value.protocol,
        username: value.username,
        password: value.password,
        host: value.host,
        hostname: value.hostname,
        port: value.port,
        pathname: value.pathname,
        search: value.search,
        searchParams: value.searchParams,
        hash: value.hash,
      },
    };
  }
  const SearchParams = internals.URLSearchParams;
  if (typeof SearchParams === "function" && value instanceof SearchParams) {
    const entries = [];
    for (const { 0: k, 1: v } of value) entries.push(`${strEscape(k)} => ${strEscape(v)}`);
    if (entries.length === 0) return "URLSearchParams {}";
    ctx.currentDepth = recurseTimes + 1;
    return reduceToSingleString(
      ctx, entries, "", ["URLSearchParams {", "}"], kObjectType, recurseTimes + 1, undefined);
  }
  return undefined;
}

function getConstructorName(obj) {
  let tmp = obj;
  while (tmp !== null && tmp !== undefined) {
    const descriptor = ObjectGetOwnPropertyDescriptor(tmp, "constructor");
    if (
      descriptor !== undefined &&
      typeof descriptor.value === "function" &&
      descriptor.value.name !== "" &&
      isInstanceof(obj, descriptor.value)
    ) {
      return String(descriptor.value.name);
    }
    tmp = ObjectGetPrototypeOf(tmp);
  }
  return null;
}

function isInstanceof(object, proto) {
  try {
    return object instanceof proto;
  } catch {
    return false;
  }
}

function getPrefix(constructor, tag, fallback, size = "") {
  if (constructor === null) {
    if (tag !== "" && fallback !== tag) {
      return `[${fallback}${size}: null prototype] [${tag}] `;
    }
    return `[${fallback}${size}: null prototype] `;
  }
  if (tag !== "" && constructor !== tag) {
    return `${constructor}${size} [${tag}] `;
  }
  return `${constructor}${size} `;
}

function getKeys(value, showHidden) {
  let keys;
  const symbols = ObjectGetOwnPropertySymbols(value);
  if (showHidden) {
    keys = ObjectGetOwnPropertyNames(value);
    if (symbols.length !== 0) keys.push(...symbols);
  } else {
    keys = ObjectKeys(value);
    for (let i = 0; i < symbols.length; i++) {
      if (ObjectPrototypePropertyIsEnumerable(value, symbols[i])) keys.push(symbols[i]);
    }
  }
  return keys;
}

function isArrayIndex(key) {
  if (key.length === 0 || key.length > 10) return false;
  const n = +key;
  return n >>> 0 === n && `${n}` === key && n !== 4294967295;
}

function getNonIndexKeys(value, showHidden) {
  const keys = getKeys(value, showHidden);
  const out = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key === "string" && isArrayIndex(key)) continue;
    out.push(key);
  }
  return out;
}

function formatRaw(ctx, value, recurseTimes, typedArray, forcedName) {
  let keys;
  const constructor = forcedName !== undefined ? forcedName : getConstructorName(value);
  let tag;
  try {
    tag = value[Symbol.toStringTag];
  } catch {}
  if (
    typeof tag !== "string" ||
    forcedName !== undefined ||
    (tag !== "" &&
      (ctx.showHidden ? ObjectPrototypeHasOwnProperty : ObjectPrototypePropertyIsEnumerable)(
        value,
        Symbol.toStringTag,
      ))
  ) {
    tag = "";
  }
  let base = "";
  let formatter = getEmptyFormatArray;
  let braces;
  let noIterator = true;
  let extrasType = kObjectType;

  if (forcedName === undefined && (Symbol.iterator in value || constructor === null)) {
    noIterator = false;
    if (ArrayIsArray(value)) {
      const prefix =
        constructor !== "Array" || tag !== ""
          ? getPrefix(constructor, tag, "Array", `(${value.length})`)
          : "";
      keys = getNonIndexKeys(value, ctx.showHidden);
      braces = [`${prefix}[`, "]"];
      if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
      extrasType = kArrayExtrasType;
      formatter = formatArray;
    } else if (isSet(value)) {
      const size = SetPrototypeGetSize(value);
      const prefix = getPrefix(constructor, tag, "Set", `(${size})`);
      keys = getKeys(value, ctx.showHidden);
      formatter = formatSet;
      if (size === 0 && keys.length === 0) return `${prefix}{}`;
      braces = [`${prefix}{`, "}"];
    } else if (isMap(value)) {
      const size = MapPrototypeGetSize(value);
      const prefix = getPrefix(constructor, tag, "Map", `(${size})`);
      keys = getKeys(value, ctx.showHidden);
      formatter = formatMap;
      if (size === 0 && keys.length === 0) return `${prefix}{}`;
      braces = [`${prefix}{`, "}"];
    } else if (isTypedArray(value)) {
      keys = getNonIndexKeys(value, ctx.showHidden);
      const size = TypedArrayPrototypeGetLength(value);
      const prefix = getPrefix(constructor, tag, TypedArrayPrototypeGetTag(value), `(${size})`);
      braces = [`${prefix}[`, "]"];
      if (size === 0 && keys.length === 0) return `${braces[0]}]`;
      formatter = formatTypedArray;
      extrasType = kArrayExtrasType;
    } else if (ObjectPrototypeToString(value) === "[object Arguments]") {
      keys = getNonIndexKeys(value, ctx.showHidden);
      braces = ["[Arguments] [", "]"];
      if (value.length === 0 && keys.length === 0) return "[Arguments] []";
      extrasType = kArrayExtrasType;
      formatter = formatArray;
    } else {
      noIterator = true;
    }
  }
  if (noIterator) {
    keys = getKeys(value, ctx.showHidden);
    braces = ["{", "}"];
    if (constructor === "Object" && forcedName === undefined) {
      if (tag !== "") braces[0] = `${getPrefix(constructor, tag, "Object")}{`;
      if (keys.length === 0) return `${braces[0]}}`;
    } else if (typeof value === "function") {
      base = getFunctionBase(value, constructor, tag);
      if (keys.length === 0) return base;
    } else if (forcedName !== undefined) {
      braces[0] = `${getPrefix(constructor, tag, "Object")}{`;
      if (keys.length === 0) return `${braces[0]}}`;
    } else if (isRegExp(value)) {
      base = RegExpPrototypeToString(constructor !== null ? value : new RegExp(value));
      const prefix = getPrefix(constructor, tag, "RegExp");
      if (prefix !== "RegExp ") base = `${prefix}${base}`;
      if (keys.length === 0 || (ctx.depth !== null && recurseTimes > ctx.depth)) return base;
    } else if (isDate(value)) {
      base = NumberIsNaN(DatePrototypeGetTime(value))
        ? DatePrototypeToString(value)
        : DatePrototypeToISOString(value);
      const prefix = getPrefix(constructor, tag, "Date");
      if (prefix !== "Date ") base = `${prefix}${base}`;
      if (keys.length === 0) return base;
    } else if (isError(value)) {
      base = formatError(value, constructor, tag, ctx, keys);
      if (keys.length === 0) return base;
    } else if (isArrayBuffer(value) || isSharedArrayBuffer(value)) {
      const arrayType = isArrayBuffer(value) ? "ArrayBuffer" : "SharedArrayBuffer";
      const prefix = getPrefix(constructor, tag, arrayType);
      if (typedArray === undefined) {
        formatter = formatArrayBuffer;
      } else if (keys.length === 0) {
        return `${prefix}{ byteLength: ${formatNumber(value.byteLength)} }`;
      }
      braces[0] = `${prefix}{`;
      keys.unshift("byteLength");
    } else if (isDataView(value)) {
      braces[0] = `${getPrefix(constructor, tag, "DataView")}{`;
      keys.unshift("byteLength", "byteOffset", "buffer");
    } else if (isPromise(value)) {
      // The state of a promise is not observable from JavaScript.
      braces[0] = `${getPrefix(constructor, tag, "Promise")}{`;
      if (keys.length === 0) return `${braces[0]}}`;
    } else if (isWeakSet(value)) {
      braces[0] = `${getPrefix(constructor, tag, "WeakSet")}{`;
      formatter = formatWeakCollection;
    } else if (isWeakMap(value)) {
      braces[0] = `${getPrefix(constructor, tag, "WeakMap")}{`;
      formatter = formatWeakCollection;
    } else {
      const boxed = boxedPrimitiveBase(value);
      if (boxed !== undefined) {
        base = boxed;
        if (keys.length === 0) return base;
        if (typeof value.valueOf() === "string") {
          // Skip the index keys of a String object.
          keys = keys.filter((k) => typeof k !== "string" || !isArrayIndex(k));
          if (keys.length === 0) return base;
        }
      } else {
        if (keys.length === 0) return `${getPrefix(constructor, tag, "Object")}{}`;
        braces[0] = `${getPrefix(constructor, tag, "Object")}{`;
      }
    }
  }

  if (ctx.depth !== null && recurseTimes > ctx.depth) {
    let constructorName = getPrefix(constructor, tag, "Object").slice(0, -1);
    if (constructor !== null) constructorName = `[${constructorName}]`;
    return constructorName;
  }
  recurseTimes += 1;
  ctx.seen.push(value);
  ctx.currentDepth = recurseTimes;
  let output;
  try {
    output = formatter(ctx, value, recurseTimes);
    for (let i = 0; i < keys.length; i++) {
      output.push(formatProperty(ctx, value, recurseTimes, keys[i], extrasType));
    }
  } finally {
    ctx.seen.pop();
  }
  if (ctx.circular !== undefined) {
    const index = ctx.circular.get(value);
    if (index !== undefined) {
      const reference = `<ref *${index}>`;
      if (ctx.compact !== true) {
        base = base === "" ? reference : `${reference} ${base}`;
      } else {
        braces[0] = `${reference} ${braces[0]}`;
      }
    }
  }
  if (ctx.sorted) {
    const comparator = ctx.sorted === true ? undefined : ctx.sorted;
    if (extrasType === kObjectType) output.sort(comparator);
  }
  const res = reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value);
  const budget = ctx.budget[ctx.indentationLvl] || 0;
  const newLength = budget + res.length;
  ctx.budget[ctx.indentationLvl] = newLength;
  // Stop descending when the output gets huge (e.g. big object graphs).
  if (newLength > 2 ** 27) ctx.depth = -1;
  return res;
}

function getEmptyFormatArray() {
  return [];
}

function getFunctionBase(value, constructor, tag) {
  let stringified = "";
  try {
    stringified = FunctionPrototypeToString(value);
  } catch {}
  if (stringified.startsWith("class") && stringified.endsWith("}")) {
    const slice = stringified.slice(5, -1);
    const bracketIndex = slice.indexOf("{");
    if (bracketIndex !== -1 && !slice.slice(0, bracketIndex).includes("(")) {
      return getClassBase(value, constructor, tag);
    }
  }
  let type = "Function";
  if (
    constructor === "AsyncFunction" ||
    constructor === "GeneratorFunction" ||
    constructor === "AsyncGeneratorFunction"
  ) {
    type = constructor;
  }
  let base = `[${type}`;
  if (constructor === null) base += " (null prototype)";
  const name = value.name;
  if (typeof name !== "string" || name === "") base += " (anonymous)";
  else base += `: ${name}`;
  base += "]";
  if (constructor !== type && constructor !== null) base += ` ${constructor}`;
  if (tag !== "" && constructor !== tag) base += ` [${tag}]`;
  return base;
}

function getClassBase(value, constructor, tag) {
  const hasName = ObjectPrototypeHasOwnProperty(value, "name");
  const name = (hasName && value.name) || "(anonymous)";
  let base = `class ${name}`;
  if (constructor !== "Function" && constructor !== null) base += ` [${constructor}]`;
  if (tag !== "" && constructor !== tag) base += ` [${tag}]`;
  if (constructor !== null) {
    const superName = ObjectGetPrototypeOf(value).name;
    if (superName) base += ` extends ${superName}`;
  } else {
    base += " extends [null prototype]";
  }
  return `[${base}]`;
}

function formatError(err, constructor, tag, ctx, keys) {
  let stack;
  try {
    stack = err.stack;
  } catch {}
  if (typeof stack !== "string" || stack === "") {
    try {
      stack = ErrorPrototypeToString(err);
    } catch {
      stack = "Error";
    }
  }
  // name/message/stack are part of the stack string already.
  for (const name of ["name", "message", "stack"]) {
    const index = keys.indexOf(name);
    if (index !== -1) {
      let v;
      try {
        v = err[name];
      } catch {}
      if (typeof v === "string" && stack.includes(v)) keys.splice(index, 1);
    }
  }
  if (
    ObjectPrototypeHasOwnProperty(err, "cause") &&
    (keys.length === 0 || !keys.includes("cause"))
  ) {
    keys.push("cause");
  }
  if (
    ObjectPrototypeHasOwnProperty(err, "errors") &&
    ArrayIsArray(err.errors) &&
    !keys.includes("errors")
  ) {
    keys.push("errors");
  }
  let message;
  try {
    message = err.message;
  } catch {}
  let pos = (typeof message === "string" && message !== "" && stack.indexOf(message)) || -1;
  if (pos !== -1) pos += message.length;
  const stackStart = stack.indexOf("\n    at", pos);
  if (stackStart === -1) stack = `[${stack}]`;
  if (ctx.indentationLvl !== 0) {
    stack = stack.replaceAll("\n", `\n${" ".repeat(ctx.indentationLvl)}`);
  }
  return stack;
}

function formatArrayBuffer(ctx, value) {
  let bytes;
  try {
    bytes = new Uint8Array(value);
  } catch {
    return ["[Uint8Contents]: <detached>"];
  }
  const len = MathMin(ctx.maxArrayLength, bytes.length);
  let str = "";
  for (let i = 0; i < len; i++) {
    if (i !== 0) str += " ";
    str += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  }
  const remaining = bytes.length - len;
  if (remaining > 0) str += ` ... ${remaining} more byte${remaining > 1 ? "s" : ""}`;
  return [`[Uint8Contents]: <${str}>`];
}

function formatArray(ctx, value, recurseTimes) {
  const valLen = value.length;
  const output = [];
  let i = 0;
  let shown = 0;
  while (i < valLen && shown < ctx.maxArrayLength) {
    if (!ObjectPrototypeHasOwnProperty(value, i)) {
      let j = i;
      while (j < valLen && !ObjectPrototypeHasOwnProperty(value, j)) j++;
      const holes = j - i;
      output.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
      i = j;
    } else {
      output.push(formatProperty(ctx, value, recurseTimes, i, kArrayType));
      i++;
    }
    shown++;
  }
  const remaining = valLen - i;
  if (remaining > 0) output.push(`... ${remaining} more item${remaining > 1 ? "s" : ""}`);
  return output;
}

function formatTypedArray(ctx, value, recurseTimes) {
  const length = TypedArrayPrototypeGetLength(value);
  const maxLength = MathMin(MathMax(0, ctx.maxArrayLength), length);
  const remaining = length - maxLength;
  const output = new Array(maxLength);
  const bigint = typeof value[0] === "bigint";
  for (let i = 0; i < maxLength; ++i) {
    output[i] = bigint ? `${value[i]}n` : formatNumber(value[i]);
  }
  if (remaining > 0) output[maxLength] = `... ${remaining} more item${remaining > 1 ? "s" : ""}`;
  if (ctx.showHidden) {
    ctx.indentationLvl += 2;
    for (const key of ["BYTES_PER_ELEMENT", "length", "byteLength", "byteOffset", "buffer"]) {
      const str = formatValue(ctx, value[key], recurseTimes, true);
      output.push(`[${key}]: ${str}`);
    }
    ctx.indentationLvl -= 2;
  }
  return output;
}

function formatSet(ctx, value, recurseTimes) {
  const output = [];
  ctx.indentationLvl += 2;
  let n = 0;
  for (const v of SetPrototypeValues(value)) {
    if (n++ >= ctx.maxArrayLength) break;
    output.push(formatValue(ctx, v, recurseTimes));
  }
  const remaining = SetPrototypeGetSize(value) - ctx.maxArrayLength;
  if (remaining > 0) output.push(`... ${remaining} more item${remaining > 1 ? "s" : ""}`);
  ctx.indentationLvl -= 2;
  return output;
}

function formatMap(ctx, value, recurseTimes) {
  const output = [];
  ctx.indentationLvl += 2;
  let n = 0;
  for (const { 0: k, 1: v } of MapPrototypeEntries(value)) {
    if (n++ >= ctx.maxArrayLength) break;
    output.push(`${formatValue(ctx, k, recurseTimes)} => ${formatValue(ctx, v, recurseTimes)}`);
  }
  const remaining = MapPrototypeGetSize(value) - ctx.maxArrayLength;
  if (remaining > 0) output.push(`... ${remaining} more item${remaining > 1 ? "s" : ""}`);
  ctx.indentationLvl -= 2;
  return output;
}

function formatWeakCollection() {
  return ["<items unknown>"];
}

const keyStrRegExp = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

function formatProperty(ctx, value, recurseTimes, key, type) {
  let name;
  let str;
  let extra = " ";
  let desc;
  try {
    desc = ObjectGetOwnPropertyDescriptor(value, key);
  } catch {}
  if (desc === undefined) desc = { value: value[key], enumerable: true };
  if (desc.value !== undefined) {
    const diff = ctx.compact !== true || type !== kObjectType ? 2 : 3;
    ctx.indentationLvl += diff;
    str = formatValue(ctx, desc.value, recurseTimes);
    if (diff === 3 && ctx.breakLength < str.length) {
      extra = `\n${" ".repeat(ctx.indentationLvl)}`;
    }
    ctx.indentationLvl -= diff;
  } else if (desc.get !== undefined) {
    const label = desc.set !== undefined ? "Getter/Setter" : "Getter";
    if (ctx.getters) {
      try {
        const tmp = ReflectApply(desc.get, value, []);
        ctx.indentationLvl += 2;
        str = `[${label}: ${formatValue(ctx, tmp, recurseTimes)}]`;
        ctx.indentationLvl -= 2;
      } catch (err) {
        str = `[${label}: <Inspection threw (${err && err.message})>]`;
      }
    } else {
      str = `[${label}]`;
    }
  } else if (desc.set !== undefined) {
    str = "[Setter]";
  } else {
    str = "undefined";
  }
  if (type === kArrayType) return str;
  if (typeof key === "symbol") {
    name = `[${escapeSymbol(SymbolPrototypeToString(key))}]`;
  } else if (key === "__proto__") {
    name = "['__proto__']";
  } else if (desc.enumerable === false) {
    name = `[${escapeUnquoted(key)}]`;
  } else if (keyStrRegExp.test(key)) {
    name = key;
  } else {
    name = strEscape(key);
  }
  return `${name}:${extra}${str}`;
}

function isBelowBreakLength(ctx, output, start, base) {
  let totalLength = output.length + start;
  if (totalLength + output.length > ctx.breakLength) return false;
  for (let i = 0; i < output.length; i++) {
    totalLength += output[i].length;
    if (totalLength > ctx.breakLength) return false;
  }
  return base === "" || !base.includes("\n");
}

function reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value) {
  if (ctx.compact !== true) {
    if (typeof ctx.compact === "number" && ctx.compact >= 1) {
      const entries = output.length;
      if (extrasType === kArrayExtrasType && entries > 6) {
        output = groupArrayElements(ctx, output, value);
      }
      if (ctx.currentDepth - recurseTimes < ctx.compact && entries === output.length) {
        const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
        if (isBelowBreakLength(ctx, output, start, base)) {
          const joined = output.join(", ");
          if (!joined.includes("\n")) {
            return `${base ? `${base} ` : ""}${braces[0]} ${joined} ${braces[1]}`;
          }
        }
      }
    }
    const indentation = `\n${" ".repeat(ctx.indentationLvl)}`;
    return `${base ? `${base} ` : ""}${braces[0]}${indentation}  ${output.join(
      `,${indentation}  `,
    )}${indentation}${braces[1]}`;
  }
  if (isBelowBreakLength(ctx, output, 0, base)) {
    return `${braces[0]}${base ? ` ${base}` : ""} ${output.join(", ")} ${braces[1]}`;
  }
  const indentation = `\n${" ".repeat(ctx.indentationLvl)}`;
  const ln = base === "" && braces[0].length === 1 ? " " : `${base ? ` ${base}` : ""}\n${indentation}  `;
  return `${braces[0]}${ln}${output.join(`,\n${indentation}  `)} ${braces[1]}`;
}

// Lays out long arrays of short entries in aligned columns, like Node.
function groupArrayElements(ctx, output, value) {
  let totalLength = 0;
  let maxLength = 0;
  let i = 0;
  let outputLength = output.length;
  if (outputLength > 0 && output[outputLength - 1].startsWith("... ")) {
    // Leave the "... n more items" entry out of the grouping.
    outputLength--;
  }
  const separatorSpace = 2;
  const dataLen = new Array(outputLength);
  for (; i < outputLength; i++) {
    const len = output[i].length;
    dataLen[i] = len;
    totalLength += len + separatorSpace;
    if (maxLength < len) maxLength = len;
  }
  const actualMax = maxLength + separatorSpace;
  if (
    actualMax * 3 + ctx.indentationLvl < ctx.breakLength &&
    (totalLength / actualMax > 5 || maxLength <= 6)
  ) {
    const approxCharHeights = 2.5;
    const averageBias = MathSqrt(actualMax - totalLength / output.length);
    const biasedMax = MathMax(actualMax - 3 - averageBias, 1);
    const columns = MathMin(
      MathRound(MathSqrt(approxCharHeights * biasedMax * outputLength) / biasedMax),
      MathFloor((ctx.breakLength - ctx.indentationLvl) / actualMax),
      ctx.compact * 4,
      15,
    );
    if (columns <= 1) return output;
    const tmp = [];
    const maxLineLength = [];
    for (let c = 0; c < columns; c++) {
      let lineLength = 0;
      for (let j = c; j < outputLength; j += columns) {
        if (dataLen[j] > lineLength) lineLength = dataLen[j];
      }
      maxLineLength.push(lineLength + separatorSpace);
    }
    let padStart = true;
    if (value !== undefined) {
      for (let k = 0; k < outputLength; k++) {
        if (typeof value[k] !== "number" && typeof value[k] !== "bigint") {
          padStart = false;
          break;
        }
      }
    }
    for (let k = 0; k < outputLength; k += columns) {
      const max = MathMin(k + columns, outputLength);
      let str = "";
      let j = k;
      for (; j < max - 1; j++) {
        const cell = `${output[j]}, `;
        const padding = maxLineLength[j - k];
        str += padStart ? cell.padStart(padding, " ") : cell.padEnd(padding, " ");
      }
      if (padStart) {
        str += output[j].padStart(maxLineLength[j - k] - separatorSpace, " ");
      } else {
        str += output[j];
      }
      tmp.push(str);
    }
    if (outputLength < output.length) tmp.push(output[outputLength]);
    output = tmp;
  }
  return output;
}

function formatNumber(n) {
  if (n === 0 && 1 / n < 0) return "-0";
  return `${n}`;
}

function formatPrimitive(ctx, value) {
  switch (typeof value) {
    case "string": {
      let trailer = "";
      if (value.length > ctx.maxStringLength) {
        const remaining = value.length - ctx.maxStringLength;
        value = value.slice(0, ctx.maxStringLength);
        trailer = `... ${remaining} more character${remaining > 1 ? "s" : ""}`;
      }
      if (
        ctx.compact !== true &&
        value.length > 16 &&
        value.length > ctx.breakLength - ctx.indentationLvl - 4
      ) {
        const lines = value.split(/(?<=\n)/);
        if (lines.length > 1) {
          return (
            lines.map((line) => strEscape(line)).join(` +\n${" ".repeat(ctx.indentationLvl + 2)}`) +
            trailer
          );
        }
      }
      return strEscape(value) + trailer;
    }
    case "number":
      return formatNumber(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
      return `${value}`;
    case "undefined":
      return "undefined";
    case "symbol":
      return escapeSymbol(SymbolPrototypeToString(value));
    default:
      return `${value}`;
  }
}

// Escaping of strings, like Node: single quotes by default, double quotes or
// backticks when that avoids escaping.
const meta = [
  "\\x00", "\\x01", "\\x02", "\\x03", "\\x04", "\\x05", "\\x06", "\\x07",
  "\\b", "\\t", "\\n", "\\x0B", "\\f", "\\r", "\\x0E", "\\x0F",
  "\\x10", "\\x11", "\\x12", "\\x13", "\\x14", "\\x15", "\\x16", "\\x17",
  "\\x18", "\\x19", "\\x1A", "\\x1B", "\\x1C", "\\x1D", "\\x1E", "\\x1F",
];
const strEscapeSequencesRegExp = /[\x00-\x1f\x27\x5c\x7f-\x9f]/;
const strEscapeSequencesRegExpSingle = /[\x00-\x1f\x5c\x7f-\x9f]/;

function escapeChar(code, quote) {
  if (code < 32) return meta[code];
  if (code === quote) return `\\${String.fromCharCode(code)}`;
  if (code === 92) return "\\\\";
  if (code >= 0x7f && code <= 0x9f) return `\\x${code.toString(16).toUpperCase()}`;
  return undefined;
}

function strEscape(str) {
  let quote = 39; // '
  let escapeTest = strEscapeSequencesRegExp;
  if (str.includes("'")) {
    if (!str.includes('"')) {
      quote = 34; // "
    } else if (!str.includes("`") && !str.includes("${")) {
      quote = 96; // `
    }
    if (quote !== 39) escapeTest = strEscapeSequencesRegExpSingle;
  }
  const q = String.fromCharCode(quote);
  if (!escapeTest.test(str)) return `${q}${str}${q}`;
  let result = "";
  let last = 0;
  for (let i = 0; i < str.length; i++) {
    const code = str.charCodeAt(i);
    if (code < 32 || code === quote || code === 92 || (code >= 0x7f && code <= 0x9f)) {
      const escaped = escapeChar(code, quote);
      if (escaped !== undefined) {
        result += str.slice(last, i) + escaped;
        last = i + 1;
      }
    }
  }
  result += str.slice(last);
  return `${q}${result}${q}`;
}

function escapeUnquoted(str) {
  let out = "";
  for (let i = 0; i < str.length; i++) {
    const code = str.charCodeAt(i);
    const e = code < 32 || code === 92 || (code >= 0x7f && code <= 0x9f) ? escapeChar(code, -1) : undefined;
    out += e !== undefined ? e : str[i];
  }
  return out;
}

function escapeSymbol(str) {
  return escapeUnquoted(str);
}

// util.format.
function format(...args) {
  return formatWithOptions(undefined, args);
}

function hasBuiltInToString(value) {
  let toString;
  try {
    toString = value.toString;
  } catch {
    return true;
  }
  if (typeof toString !== "function") return true;
  return (
    toString === Object.prototype.toString ||
    toString === Error.prototype.toString ||
    toString === Array.prototype.toString ||
    toString === Date.prototype.toString ||
    toString === RegExp.prototype.toString ||
    toString === Function.prototype.toString ||
    toString === TypedArrayPrototype.toString
  );
}

function tryStringify(arg) {
  try {
    return JSONStringify(arg);
  } catch (err) {
    if (err instanceof RangeError || (err && /circular/i.test(err.message))) return "[Circular]";
    throw err;
  }
}

function formatWithOptions(inspectOptions, args) {
  const first = args[0];
  let a = 0;
  let str = "";
  let join = "";
  if (typeof first === "string") {
    if (args.length === 1) return first;
    let tempStr;
    let lastPos = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first.charCodeAt(i) === 37) {
        // '%'
        const nextChar = first.charCodeAt(++i);
        if (a + 1 !== args.length) {
          switch (nextChar) {
            case 115: {
              // 's'
              const tempArg = args[++a];
              if (typeof tempArg === "number") tempStr = formatNumber(tempArg);
              else if (typeof tempArg === "bigint") tempStr = `${tempArg}n`;
              else if (typeof tempArg === "symbol") tempStr = SymbolPrototypeToString(tempArg);
              else if (
                typeof tempArg !== "object" ||
                tempArg === null ||
                !hasBuiltInToString(tempArg)
              ) {
                tempStr = String(tempArg);
              } else {
                tempStr = inspect(tempArg, { ...inspectOptions, depth: 0, compact: 3 });
              }
              break;
            }
            case 106: // 'j'
              tempStr = tryStringify(args[++a]);
              break;
            case 100: {
              // 'd'
              const tempNum = args[++a];
              if (typeof tempNum === "bigint") tempStr = `${tempNum}n`;
              else if (typeof tempNum === "symbol") tempStr = "NaN";
              else tempStr = formatNumber(Number(tempNum));
              break;
            }
            case 79: // 'O'
              tempStr = inspect(args[++a], inspectOptions);
              break;
            case 111: // 'o'
              tempStr = inspect(args[++a], { ...inspectOptions, showHidden: true, depth: 4 });
              break;
            case 105: {
              // 'i'
              const tempInteger = args[++a];
              if (typeof tempInteger === "bigint") tempStr = `${tempInteger}n`;
              else if (typeof tempInteger === "symbol") tempStr = "NaN";
              else tempStr = formatNumber(NumberParseInt(tempInteger));
              break;
            }
            case 102: {
              // 'f'
              const tempFloat = args[++a];
              if (typeof tempFloat === "symbol") tempStr = "NaN";
              else tempStr = formatNumber(NumberParseFloat(tempFloat));
              break;
            }
            case 99: // 'c'
              a += 1;
              tempStr = "";
              break;
            case 37: // '%'
              str += first.slice(lastPos, i);
              lastPos = i + 1;
              continue;
            default:
              continue;
          }
          if (lastPos !== i - 1) str += first.slice(lastPos, i - 1);
          str += tempStr;
          lastPos = i + 1;
        } else if (nextChar === 37) {
          str += first.slice(lastPos, i);
          lastPos = i + 1;
        }
      }
    }
    if (lastPos !== 0) {
      a++;
      join = " ";
      if (lastPos < first.length) str += first.slice(lastPos);
    }
  }
  while (a < args.length) {
    const value = args[a];
    str += join;
    str += typeof value !== "string" ? inspect(value, inspectOptions) : value;
    join = " ";
    a++;
  }
  return str;
}

function inspectNamed(name, fields) {
  return new NamedView(name, fields);
}

internals.inspectSymbol = inspectSymbol;
internals.inspect = inspect;
internals.format = format;
internals.formatWithOptions = formatWithOptions;
internals.inspectNamed = inspectNamed;
