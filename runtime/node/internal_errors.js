// Node.js's error codes for the node: modules: errors whose `code` is
// "ERR_..." and whose messages read as Node's do, so code that checks
// `err.code` (or prints the message) sees what it would under Node.

const { ObjectDefineProperty, StringCtor, NumberIsFinite, MathTrunc, ArrayIsArray } =
  internals.primordials;

// "1_099_511_627_776" for large integers, as Node prints "Received ...".
function addNumericalSeparator(text) {
  let result = "";
  let i = text.length;
  const start = text[0] === "-" ? 1 : 0;
  for (; i >= start + 4; i -= 3) result = `_${text.slice(i - 3, i)}${result}`;
  return `${text.slice(0, i)}${result}`;
}

// What a wrong argument was, for "Received ..." (Node's wording).
function describeReceived(value) {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === "function") return ` Received function ${value.name}`;
  if (typeof value === "object") {
    let name;
    try {
      name = value.constructor && value.constructor.name;
    } catch {
      name = undefined;
    }
    if (typeof name === "string" && name !== "") return ` Received an instance of ${name}`;
    return ` Received ${internals.inspect(value, { depth: -1 })}`;
  }
  let shown = internals.inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

function makeError(Base, code, message) {
  const error = new Base(message);
  ObjectDefineProperty(error, "code", {
    __proto__: null, value: code, writable: true, enumerable: true, configurable: true,
  });
  // Node's errors print as "TypeError [ERR_X]: message".
  ObjectDefineProperty(error, "name", {
    __proto__: null, value: Base.name, writable: true, enumerable: false, configurable: true,
  });
  return error;
}

function joinTypes(list) {
  if (list.length === 1) return list[0];
  if (list.length === 2) return `${list[0]} or ${list[1]}`;
  return `${list.slice(0, -1).join(", ")}, or ${list[list.length - 1]}`;
}

// Node's rule: these names are types ("of type string"); other names
// written as classes ("Buffer", "ReadableStream") are instances ("an
// instance of Buffer").
const typeNames = ["string", "function", "number", "object", "Function", "Object", "boolean", "bigint",
  "symbol"];
const classNamePattern = /^([A-Z][a-z0-9]*)+$/;

const errors = {
  __proto__: null,
  makeError,
  describeReceived,
  ERR_INVALID_ARG_TYPE(name, expected, actual) {
    const types = [];
    const instances = [];
    const list = ArrayIsArray(expected) ? expected : [expected];
    for (let i = 0; i < list.length; i++) {
      const type = list[i];
      if (typeNames.includes(type)) types.push(type.toLowerCase());
      else if (internals.primordials.RegExpTest(classNamePattern, type)) instances.push(type);
      else types.push(type);
    }
    const what = name.endsWith(" argument") ? name : `"${name}" ${name.includes(".") ? "property" : "argument"}`;
    let message = `The ${what} must be `;
    const parts = [];
    if (types.length > 0) parts.push(`${types.length > 1 ? "one of type" : "of type"} ${joinTypes(types)}`);
    if (instances.length > 0) parts.push(`an instance of ${joinTypes(instances)}`);
    message += parts.join(" or ");
    message += "." + describeReceived(actual);
    return makeError(TypeError, "ERR_INVALID_ARG_TYPE", message);
  },
  ERR_INVALID_ARG_VALUE(name, value, reason = "is invalid") {
    let shown = internals.inspect(value);
    if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
    const kind = name.includes(".") ? "property" : "argument";
    return makeError(TypeError, "ERR_INVALID_ARG_VALUE", `The ${kind} '${name}' ${reason}. Received ${shown}`);
  },
  ERR_OUT_OF_RANGE(name, range, received) {
    let shown;
    if (typeof received === "number" && NumberIsFinite(received) && MathTrunc(received) === received &&
        (received > 2 ** 32 || received < -(2 ** 32))) {
      shown = addNumericalSeparator(StringCtor(received));
    } else if (typeof received === "bigint") {
      shown = StringCtor(received);
      if (received > 2n ** 32n || received < -(2n ** 32n)) shown = addNumericalSeparator(shown);
      shown += "n";
    } else {
      shown = internals.inspect(received);
    }
    return makeError(RangeError, "ERR_OUT_OF_RANGE",
      `The value of "${name}" is out of range. It must be ${range}. Received ${shown}`);
  },
  ERR_BUFFER_OUT_OF_BOUNDS(name) {
    return makeError(RangeError, "ERR_BUFFER_OUT_OF_BOUNDS", name
      ? `"${name}" is outside of buffer bounds`
      : "Attempt to access memory outside buffer bounds");
  },
  ERR_UNKNOWN_ENCODING(encoding) {
    return makeError(TypeError, "ERR_UNKNOWN_ENCODING", `Unknown encoding: ${encoding}`);
  },
  ERR_INVALID_BUFFER_SIZE(suffix) {
    return makeError(RangeError, "ERR_INVALID_BUFFER_SIZE", `Buffer size must be a multiple of ${suffix}`);
  },
  ERR_MISSING_ARGS(...names) {
    return makeError(TypeError, "ERR_MISSING_ARGS", `The ${joinTypes(names.map((n) => `"${n}"`))} argument${names.length > 1 ? "s" : ""} must be specified`);
  },
  ERR_INVALID_RETURN_VALUE(input, name, value) {
    return makeError(TypeError, "ERR_INVALID_RETURN_VALUE",
      `Expected ${input} to be returned from the "${name}" function but got ${value === null ? "null" : typeof value}.`);
  },
  ERR_UNHANDLED_ERROR(err) {
    let message = "Unhandled error.";
    if (err !== undefined) {
      try {
        message += ` (${internals.inspect(err)})`;
      } catch {}
    }
    const error = makeError(Error, "ERR_UNHANDLED_ERROR", message);
    error.context = err;
    return error;
  },
  ERR_INVALID_THIS(type) {
    return makeError(TypeError, "ERR_INVALID_THIS", `Value of "this" must be of type ${type}`);
  },
  ERR_INVALID_URL(input) {
    const error = makeError(TypeError, "ERR_INVALID_URL", "Invalid URL");
    error.input = input;
    return error;
  },
  ERR_INVALID_FILE_URL_PATH(why) {
    return makeError(TypeError, "ERR_INVALID_FILE_URL_PATH", `File URL path ${why}`);
  },
  ERR_INVALID_FILE_URL_HOST(platform) {
    return makeError(TypeError, "ERR_INVALID_FILE_URL_HOST", `File URL host must be "localhost" or empty on ${platform}`);
  },
  ERR_INVALID_URL_SCHEME(expected) {
    return makeError(TypeError, "ERR_INVALID_URL_SCHEME", `The URL must be of scheme ${expected}`);
  },
  ERR_FALSY_VALUE_REJECTION(reason) {
    const error = makeError(Error, "ERR_FALSY_VALUE_REJECTION", "Promise was rejected with falsy value");
    error.reason = reason;
    return error;
  },
  ERR_METHOD_NOT_IMPLEMENTED(name) {
    return makeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", `The ${name} method is not implemented`);
  },
  ERR_AMBIGUOUS_ARGUMENT(name, reason) {
    return makeError(TypeError, "ERR_AMBIGUOUS_ARGUMENT", `The "${name}" argument is ambiguous. ${reason}`);
  },
  // node:stream
  ERR_STREAM_NULL_VALUES() {
    return makeError(TypeError, "ERR_STREAM_NULL_VALUES", "May not write null values to stream");
  },
  ERR_STREAM_PUSH_AFTER_EOF() {
    return makeError(Error, "ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF");
  },
  ERR_STREAM_UNSHIFT_AFTER_END_EVENT() {
    return makeError(Error, "ERR_STREAM_UNSHIFT_AFTER_END_EVENT", "stream.unshift() after end event");
  },
  ERR_STREAM_WRITE_AFTER_END() {
    return makeError(Error, "ERR_STREAM_WRITE_AFTER_END", "write after end");
  },
  ERR_STREAM_DESTROYED(name) {
    return makeError(Error, "ERR_STREAM_DESTROYED", `Cannot call ${name} after a stream was destroyed`);
  },
  ERR_STREAM_ALREADY_FINISHED(name) {
    return makeError(Error, "ERR_STREAM_ALREADY_FINISHED", `Cannot call ${name} after a stream was finished`);
  },
  ERR_STREAM_PREMATURE_CLOSE() {
    return makeError(Error, "ERR_STREAM_PREMATURE_CLOSE", "Premature close");
  },
  ERR_MULTIPLE_CALLBACK() {
    return makeError(Error, "ERR_MULTIPLE_CALLBACK", "Callback called multiple times");
  },
  // node:zlib
  ERR_BUFFER_TOO_LARGE(max) {
    return makeError(RangeError, "ERR_BUFFER_TOO_LARGE", `Cannot create a Buffer larger than ${max} bytes`);
  },
  ERR_BROTLI_INVALID_PARAM(key) {
    return makeError(RangeError, "ERR_BROTLI_INVALID_PARAM", `${key} is not a valid Brotli parameter`);
  },
  ERR_ZLIB_INITIALIZATION_FAILED() {
    return makeError(Error, "ERR_ZLIB_INITIALIZATION_FAILED", "Initialization failed");
  },
  AbortError: class AbortError extends Error {
    constructor(message = "The operation was aborted", options = undefined) {
      super(message, options);
      this.code = "ABORT_ERR";
      this.name = "AbortError";
    }
  },
};

return errors;
