// node:util — Node.js's util module: promisify (with util.promisify.custom),
// callbackify, inspect (the runtime's console formatter, runtime/console/
// inspect.js, with Node's options), format/formatWithOptions, inherits,
// deprecate, isDeepStrictEqual, types, TextEncoder/TextDecoder, and the
// legacy is* checks.
// https://nodejs.org/api/util.html

const { ObjectDefineProperty, ObjectDefineProperties = Object.defineProperties,
  ObjectGetOwnPropertyDescriptors = Object.getOwnPropertyDescriptors, ObjectSetPrototypeOf,
  ObjectGetPrototypeOf, ReflectApply, PromiseCtor, ArrayIsArray } = internals.primordials;
const errors = require("internal/errors");
const { validateFunction, validateString, validateObject } = require("internal/validators");
const types = require("util/types");
const { isDeepStrictEqual } = require("internal/comparisons");

const kCustomPromisify = Symbol.for("nodejs.util.promisify.custom");
const kCustomPromisifyArgs = Symbol("customPromisifyArgs");

function promisify(original) {
  validateFunction(original, "original");
  if (original[kCustomPromisify]) {
    const fn = original[kCustomPromisify];
    validateFunction(fn, "util.promisify.custom");
    return ObjectDefineProperty(fn, kCustomPromisify, {
      __proto__: null, value: fn, enumerable: false, writable: false, configurable: true,
    });
  }
  const argumentNames = original[kCustomPromisifyArgs];
  function fn(...args) {
    return new PromiseCtor((resolve, reject) => {
      ReflectApply(original, this, [...args, (err, ...values) => {
        if (err) return reject(err);
        if (argumentNames !== undefined && values.length > 1) {
          const object = {};
          for (let i = 0; i < argumentNames.length; i++) object[argumentNames[i]] = values[i];
          resolve(object);
        } else {
          resolve(values[0]);
        }
      }]);
    });
  }
  ObjectSetPrototypeOf(fn, ObjectGetPrototypeOf(original));
  ObjectDefineProperty(fn, kCustomPromisify, {
    __proto__: null, value: fn, enumerable: false, writable: false, configurable: true,
  });
  const descriptors = ObjectGetOwnPropertyDescriptors(original);
  const keys = Reflect.ownKeys(descriptors);
  for (let i = 0; i < keys.length; i++) {
    const descriptor = descriptors[keys[i]];
    if (descriptor && !descriptor.configurable && Reflect.getOwnPropertyDescriptor(fn, keys[i])) continue;
    try {
      ObjectDefineProperty(fn, keys[i], descriptor);
    } catch {}
  }
  return fn;
}
promisify.custom = kCustomPromisify;

function callbackifyOnRejected(reason, cb) {
  if (!reason) reason = errors.ERR_FALSY_VALUE_REJECTION(reason);
  return cb(reason);
}

function callbackify(original) {
  validateFunction(original, "original");
  function callbackified(...args) {
    const maybeCb = args.pop();
    validateFunction(maybeCb, "last argument");
    const cb = maybeCb.bind(this);
    // As Node, the callback runs on a later turn (process.nextTick there).
    ReflectApply(original, this, args).then(
      (ret) => internals.queueMicrotask(() => cb(null, ret)),
      (rej) => internals.queueMicrotask(() => callbackifyOnRejected(rej, cb)));
  }
  const descriptors = ObjectGetOwnPropertyDescriptors(original);
  if (typeof descriptors.length.value === "number") descriptors.length.value++;
  if (typeof descriptors.name.value === "string") descriptors.name.value += "Callbackified";
  ObjectSetPrototypeOf(callbackified, ObjectGetPrototypeOf(original));
  const keys = Reflect.ownKeys(descriptors);
  for (let i = 0; i < keys.length; i++) {
    try {
      ObjectDefineProperty(callbackified, keys[i], descriptors[keys[i]]);
    } catch {}
  }
  return callbackified;
}

// inspect(value, options) or Node's legacy inspect(value, showHidden, depth, colors).
function inspect(value, options, ...legacy) {
  let opts = options;
  if (typeof options !== "object" || options === null) {
    opts = { __proto__: null };
    if (typeof options === "boolean") opts.showHidden = options;
    if (legacy.length > 0) opts.depth = legacy[0];
  } else {
    const merged = { __proto__: null };
    const defaults = inspect.defaultOptions;
    const names = Object.keys(defaults);
    for (let i = 0; i < names.length; i++) merged[names[i]] = defaults[names[i]];
    const given = Object.keys(options);
    for (let i = 0; i < given.length; i++) merged[given[i]] = options[given[i]];
    opts = merged;
  }
  return internals.inspect(value, opts);
}
inspect.custom = internals.inspectSymbol;
inspect.defaultOptions = {
  showHidden: false,
  depth: 2,
  colors: false,
  customInspect: true,
  showProxy: false,
  maxArrayLength: 100,
  maxStringLength: 10000,
  breakLength: 128,
  compact: 3,
  sorted: false,
  getters: false,
  numericSeparator: false,
};
// Node keeps these for code that colours its own output; edge never colours.
inspect.colors = {
  __proto__: null, reset: [0, 0], bold: [1, 22], dim: [2, 22], italic: [3, 23], underline: [4, 24],
  inverse: [7, 27], hidden: [8, 28], strikethrough: [9, 29], black: [30, 39], red: [31, 39],
  green: [32, 39], yellow: [33, 39], blue: [34, 39], magenta: [35, 39], cyan: [36, 39],
  white: [37, 39], gray: [90, 39],
};
inspect.styles = {
  __proto__: null, special: "cyan", number: "yellow", bigint: "yellow", boolean: "yellow",
  undefined: "grey", null: "bold", string: "green", symbol: "green", date: "magenta", regexp: "red",
  module: "underline",
};

function format(...args) {
  return internals.formatWithOptions(undefined, args);
}
function formatWithOptions(inspectOptions, ...args) {
  validateObject(inspectOptions, "inspectOptions");
  return internals.formatWithOptions(inspectOptions, args);
}

function inherits(ctor, superCtor) {
  if (ctor === undefined || ctor === null) throw errors.ERR_INVALID_ARG_TYPE("ctor", "Function", ctor);
  if (superCtor === undefined || superCtor === null) {
    throw errors.ERR_INVALID_ARG_TYPE("superCtor", "Function", superCtor);
  }
  if (superCtor.prototype === undefined) {
    throw errors.ERR_INVALID_ARG_TYPE("superCtor.prototype", "Object", superCtor.prototype);
  }
  ObjectDefineProperty(ctor, "super_", {
    __proto__: null, value: superCtor, writable: true, configurable: true,
  });
  ObjectSetPrototypeOf(ctor.prototype, superCtor.prototype);
}

// Each code warns once per isolate; a deprecated function without a code
// warns once per wrapper.
const warnedCodes = new Set();
function deprecate(fn, message, code = undefined) {
  validateFunction(fn, "fn");
  if (code !== undefined) validateString(code, "code");
  let warned = false;
  function deprecated(...args) {
    if (!warned && !(code !== undefined && warnedCodes.has(code))) {
      warned = true;
      if (code !== undefined) warnedCodes.add(code);
      emitWarning(message, "DeprecationWarning", code);
    }
    if (new.target) return Reflect.construct(fn, args, new.target);
    return ReflectApply(fn, this, args);
  }
  ObjectSetPrototypeOf(deprecated, fn);
  if (fn.prototype) deprecated.prototype = fn.prototype;
  return deprecated;
}

function emitWarning(message, type, code) {
  const process = internals.nodeProcess;
  if (process !== undefined) {
    process.emitWarning(message, type, code);
  } else {
    internals.console.warn(`${code ? `[${code}] ` : ""}${type}: ${message}`);
  }
}

// util.debuglog(section): a no-op logger unless NODE_DEBUG names the
// section, which a worker's process.env never does.
function debuglog(section, callback) {
  const logger = function debug() {};
  logger.enabled = false;
  if (typeof callback === "function") callback(logger);
  return logger;
}

function stripVTControlCharacters(str) {
  validateString(str, "str");
  // eslint-disable-next-line no-control-regex
  return str.replace(/[\u001B\u009B][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g, "");
}

function toUSVString(string) {
  return internals.toUSVString(`${string}`);
}

function aborted(signal, resource) {
  if (!internals.isAbortSignal(signal)) throw errors.ERR_INVALID_ARG_TYPE("signal", "AbortSignal", signal);
  if (resource === null || (typeof resource !== "object" && typeof resource !== "function")) {
    throw errors.ERR_INVALID_ARG_TYPE("resource", "Object", resource);
  }
  if (signal.aborted) return Promise.resolve();
  return new PromiseCtor((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

const isBuffer = (value) => {
  const { Buffer } = require("buffer");
  return Buffer.isBuffer(value);
};

const util = {
  _extend(target, source) {
    if (source === null || typeof source !== "object") return target;
    const keys = Object.keys(source);
    let i = keys.length;
    while (i--) target[keys[i]] = source[keys[i]];
    return target;
  },
  callbackify,
  debug: debuglog,
  debuglog,
  deprecate,
  format,
  formatWithOptions,
  getSystemErrorName(err) {
    return `Unknown system error ${err}`;
  },
  getSystemErrorMap() {
    return new Map();
  },
  inherits,
  inspect,
  isArray: ArrayIsArray,
  isBoolean: (value) => typeof value === "boolean",
  isBuffer,
  isDeepStrictEqual,
  isNull: (value) => value === null,
  isNullOrUndefined: (value) => value === null || value === undefined,
  isNumber: (value) => typeof value === "number",
  isString: (value) => typeof value === "string",
  isSymbol: (value) => typeof value === "symbol",
  isUndefined: (value) => value === undefined,
  isRegExp: types.isRegExp,
  isObject: (value) => value !== null && typeof value === "object",
  isDate: types.isDate,
  isError: (value) => types.isNativeError(value) || value instanceof Error,
  isFunction: (value) => typeof value === "function",
  isPrimitive: (value) => value === null || (typeof value !== "object" && typeof value !== "function"),
  log(...args) {
    const d = new Date();
    const pad = (n) => (n < 10 ? `0${n}` : `${n}`);
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    internals.console.log(`${d.getDate()} ${months[d.getMonth()]} ${time} - ${format(...args)}`);
  },
  promisify,
  stripVTControlCharacters,
  toUSVString,
  aborted,
  types,
  TextDecoder: internals.TextDecoder,
  TextEncoder: internals.TextEncoder,
};
void ObjectDefineProperties;
return util;
