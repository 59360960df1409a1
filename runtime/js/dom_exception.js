// DOMException (https://webidl.spec.whatwg.org/#idl-DOMException).
//
// This file is the body of `(function (native, internals) { "use strict"; ... })`
// and runs right after webidl.js.

const { finishInterface, defineConstants } = internals;

const ObjectDefineProperty = Object.defineProperty;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ErrorCaptureStackTrace = Error.captureStackTrace;

// Legacy error codes, by name (https://webidl.spec.whatwg.org/#dfn-error-names-table).
const legacyCodes = {
  __proto__: null,
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InUseAttributeError: 10,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

class DOMException {
  #name;
  #message;
  #code;

  constructor(message = "", options = "Error") {
    this.#message = `${message}`;
    let name;
    if (options !== null && typeof options === "object") {
      // Node.js extension: `new DOMException(message, { name, cause })`.
      name = options.name === undefined ? "Error" : `${options.name}`;
      if ("cause" in options) {
        ObjectDefineProperty(this, "cause", {
          value: options.cause,
          writable: true,
          enumerable: false,
          configurable: true,
        });
      }
    } else {
      name = `${options}`;
    }
    this.#name = name;
    this.#code = legacyCodes[name] || 0;
    // Own `stack`, as for native errors; the header reads name and message.
    ErrorCaptureStackTrace(this, new.target === DOMException ? DOMException : new.target);
  }

  get name() {
    return this.#name;
  }

  get message() {
    return this.#message;
  }

  get code() {
    return this.#code;
  }

  static isDOMException(value) {
    return value !== null && typeof value === "object" && #name in value;
  }
}

const isDOMException = DOMException.isDOMException;
delete DOMException.isDOMException;

ObjectSetPrototypeOf(DOMException.prototype, Error.prototype);
finishInterface(DOMException);
defineConstants(DOMException, {
  INDEX_SIZE_ERR: 1,
  DOMSTRING_SIZE_ERR: 2,
  HIERARCHY_REQUEST_ERR: 3,
  WRONG_DOCUMENT_ERR: 4,
  INVALID_CHARACTER_ERR: 5,
  NO_DATA_ALLOWED_ERR: 6,
  NO_MODIFICATION_ALLOWED_ERR: 7,
  NOT_FOUND_ERR: 8,
  NOT_SUPPORTED_ERR: 9,
  INUSE_ATTRIBUTE_ERR: 10,
  INVALID_STATE_ERR: 11,
  SYNTAX_ERR: 12,
  INVALID_MODIFICATION_ERR: 13,
  NAMESPACE_ERR: 14,
  INVALID_ACCESS_ERR: 15,
  VALIDATION_ERR: 16,
  TYPE_MISMATCH_ERR: 17,
  SECURITY_ERR: 18,
  NETWORK_ERR: 19,
  ABORT_ERR: 20,
  URL_MISMATCH_ERR: 21,
  QUOTA_EXCEEDED_ERR: 22,
  TIMEOUT_ERR: 23,
  INVALID_NODE_TYPE_ERR: 24,
  DATA_CLONE_ERR: 25,
});

// QuotaExceededError (https://webidl.spec.whatwg.org/#quotaexceedederror):
// the DOMException named "QuotaExceededError", with the optional amounts
// that were asked for and allowed.
const NumberIsFinite = Number.isFinite;
function quotaAmount(options, key) {
  const value = options[key];
  if (value === undefined) return null;
  const number = +value;
  if (!NumberIsFinite(number)) {
    throw new TypeError(`Failed to construct 'QuotaExceededError': The provided ${key} is not a finite number.`);
  }
  if (number < 0) {
    throw new RangeError(`Failed to construct 'QuotaExceededError': The ${key} must not be negative.`);
  }
  return number;
}

class QuotaExceededError extends DOMException {
  #quota;
  #requested;

  constructor(message = "", options = undefined) {
    if (options !== undefined && options !== null && typeof options !== "object" && typeof options !== "function") {
      throw new TypeError("Failed to construct 'QuotaExceededError': The provided value is not of type 'QuotaExceededErrorOptions'.");
    }
    // Dictionary members are read once each, in order.
    const quota = options == null ? null : quotaAmount(options, "quota");
    const requested = options == null ? null : quotaAmount(options, "requested");
    if (quota !== null && requested !== null && requested < quota) {
      throw new RangeError("Failed to construct 'QuotaExceededError': The requested amount is less than the quota.");
    }
    super(message, "QuotaExceededError");
    this.#quota = quota;
    this.#requested = requested;
  }

  get quota() {
    return this.#quota;
  }

  get requested() {
    return this.#requested;
  }
}
finishInterface(QuotaExceededError);

internals.DOMException = DOMException;
internals.QuotaExceededError = QuotaExceededError;
internals.isDOMException = isDOMException;
