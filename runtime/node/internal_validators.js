// Argument checks shared by the node: modules, with Node's error codes
// (internal/errors).

const { NumberIsInteger = Number.isInteger } = internals.primordials;
const errors = require("internal/errors");

function validateFunction(value, name) {
  if (typeof value !== "function") throw errors.ERR_INVALID_ARG_TYPE(name, "Function", value);
}
function validateString(value, name) {
  if (typeof value !== "string") throw errors.ERR_INVALID_ARG_TYPE(name, "string", value);
}
function validateNumber(value, name, min = undefined, max = undefined) {
  if (typeof value !== "number") throw errors.ERR_INVALID_ARG_TYPE(name, "number", value);
  if ((min !== undefined && value < min) || (max !== undefined && value > max) ||
      ((min !== undefined || max !== undefined) && value !== value)) {
    throw errors.ERR_OUT_OF_RANGE(name,
      `${min !== undefined ? `>= ${min}` : ""}${min !== undefined && max !== undefined ? " && " : ""}${max !== undefined ? `<= ${max}` : ""}`,
      value);
  }
}
function validateInteger(value, name, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== "number") throw errors.ERR_INVALID_ARG_TYPE(name, "number", value);
  if (!NumberIsInteger(value)) throw errors.ERR_OUT_OF_RANGE(name, "an integer", value);
  if (value < min || value > max) throw errors.ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
}
function validateObject(value, name) {
  if (value === null || typeof value !== "object") throw errors.ERR_INVALID_ARG_TYPE(name, "Object", value);
}
function validateBoolean(value, name) {
  if (typeof value !== "boolean") throw errors.ERR_INVALID_ARG_TYPE(name, "boolean", value);
}
function validateAbortSignal(signal, name) {
  if (signal !== undefined && !internals.isAbortSignal(signal)) {
    throw errors.ERR_INVALID_ARG_TYPE(name, "AbortSignal", signal);
  }
}

return {
  __proto__: null,
  validateFunction,
  validateString,
  validateNumber,
  validateInteger,
  validateObject,
  validateBoolean,
  validateAbortSignal,
};
