// node:assert — Node.js's assertions and AssertionError (code
// ERR_ASSERTION, actual, expected, operator, generatedMessage). Messages
// read as Node's for the simple cases; for deep comparisons the diff is a
// plain listing of both values (Node's is a line-by-line diff), and
// assert.ok() cannot quote the failing expression's source.
// https://nodejs.org/api/assert.html

const { ObjectKeys, ReflectApply, PromiseCtor } = internals.primordials;
const errors = require("internal/errors");
const { isDeepEqual, isDeepStrictEqual } = require("internal/comparisons");
const types = require("util/types");

const inspect = (value) => internals.inspect(value, { depth: 1000, compact: false, sorted: true, getters: true });

const kReadableOperator = {
  __proto__: null,
  deepStrictEqual: "Expected values to be strictly deep-equal:",
  strictEqual: "Expected values to be strictly equal:",
  strictEqualObject: 'Expected "actual" to be reference-equal to "expected":',
  deepEqual: "Expected values to be loosely deep-equal:",
  notDeepStrictEqual: 'Expected "actual" not to be strictly deep-equal to:',
  notStrictEqual: 'Expected "actual" to be strictly unequal to:',
  notStrictEqualObject: 'Expected "actual" not to be reference-equal to "expected":',
  notDeepEqual: 'Expected "actual" not to be loosely deep-equal to:',
  notIdentical: "Values identical but not reference-equal:",
};

function diffMessage(operator, actual, expected) {
  const header = kReadableOperator[operator];
  const a = inspect(actual);
  const e = inspect(expected);
  if (operator === "deepEqual") return `${header}\n\n${a}\n\nshould loosely deep-equal\n\n${e}`;
  if (!a.includes("\n") && !e.includes("\n") && (typeof actual !== "object" || actual === null) &&
      (typeof expected !== "object" || expected === null)) {
    return `${header}\n\n${a} !== ${e}\n`;
  }
  const aLines = a.split("\n");
  const eLines = e.split("\n");
  let out = `${header}\n+ actual - expected\n\n`;
  // Lines both share at the start and end are shown once, unmarked.
  let start = 0;
  while (start < aLines.length && start < eLines.length && aLines[start] === eLines[start]) start++;
  let endA = aLines.length;
  let endE = eLines.length;
  while (endA > start && endE > start && aLines[endA - 1] === eLines[endE - 1]) {
    endA--;
    endE--;
  }
  for (let i = 0; i < start; i++) out += `  ${aLines[i]}\n`;
  for (let i = start; i < endA; i++) out += `+ ${aLines[i]}\n`;
  for (let i = start; i < endE; i++) out += `- ${eLines[i]}\n`;
  for (let i = endA; i < aLines.length; i++) out += `  ${aLines[i]}\n`;
  return out.slice(0, -1);
}

class AssertionError extends Error {
  constructor(options) {
    if (options === null || typeof options !== "object") {
      throw errors.ERR_INVALID_ARG_TYPE("options", "Object", options);
    }
    const { message, operator, stackStartFn, details } = options;
    let { actual, expected } = options;
    let text;
    if (message != null) {
      text = `${message}`;
    } else if (operator === "deepStrictEqual" || operator === "strictEqual" || operator === "deepEqual") {
      text = diffMessage(operator, actual, expected);
      if (operator === "strictEqual" && typeof actual === "object" && actual !== null &&
          typeof expected === "object" && expected !== null && inspect(actual) === inspect(expected)) {
        text = `${kReadableOperator.strictEqualObject}\n\n${inspect(actual)}\n`;
      }
    } else if (operator === "notDeepStrictEqual" || operator === "notStrictEqual" || operator === "notDeepEqual") {
      const shown = inspect(actual);
      text = `${kReadableOperator[operator]}${shown.includes("\n") ? "\n\n" : " "}${shown}${shown.includes("\n") ? "\n" : ""}`;
    } else {
      text = `${inspect(actual)} ${operator} ${inspect(expected)}`;
    }
    super(text);
    this.generatedMessage = message == null;
    Object.defineProperty(this, "name", {
      __proto__: null, value: "AssertionError", enumerable: false, writable: true, configurable: true,
    });
    this.code = "ERR_ASSERTION";
    if (details) {
      this.actual = undefined;
      this.expected = undefined;
      this.operator = undefined;
    } else {
      this.actual = actual;
      this.expected = expected;
      this.operator = operator;
    }
    if (typeof Error.captureStackTrace === "function") Error.captureStackTrace(this, stackStartFn || this.constructor);
    void actual;
    void expected;
  }

  toString() {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

function innerFail(options) {
  if (options.message instanceof Error) throw options.message;
  throw new AssertionError(options);
}

function innerOk(fn, argLen, value, message) {
  if (!value) {
    let generated = false;
    if (argLen === 0) {
      message = "No value argument passed to `assert.ok()`";
      generated = true;
    } else if (message == null) {
      message = `${inspect(value)} == true`;
      generated = true;
    } else if (message instanceof Error) {
      throw message;
    }
    const error = new AssertionError({ actual: value, expected: true, message, operator: "==", stackStartFn: fn });
    error.generatedMessage = generated;
    throw error;
  }
}

function ok(...args) {
  innerOk(ok, args.length, ...args);
}
const assert = function assert(...args) {
  innerOk(assert, args.length, ...args);
};
assert.ok = ok;

assert.fail = function fail(actual, expected, message, operator, stackStartFn) {
  const argsLen = arguments.length;
  let internalMessage = false;
  if (argsLen === 0) {
    internalMessage = "Failed";
  } else if (argsLen === 1) {
    message = actual;
    actual = undefined;
  } else {
    if (argsLen === 2) operator = "!=";
  }
  if (message instanceof Error) throw message;
  const options = { actual, expected, operator: operator === undefined ? "fail" : operator, stackStartFn: stackStartFn || fail, message };
  if (internalMessage) options.message = internalMessage;
  const error = new AssertionError(options);
  if (internalMessage) error.generatedMessage = true;
  throw error;
};

assert.AssertionError = AssertionError;

function requireTwo(args) {
  if (args < 2) throw errors.ERR_MISSING_ARGS("actual", "expected");
}

assert.equal = function equal(actual, expected, message) {
  requireTwo(arguments.length);
  // eslint-disable-next-line eqeqeq
  if (actual != expected && (!Number.isNaN(actual) || !Number.isNaN(expected))) {
    innerFail({ actual, expected, message, operator: "==", stackStartFn: equal });
  }
};
assert.notEqual = function notEqual(actual, expected, message) {
  requireTwo(arguments.length);
  // eslint-disable-next-line eqeqeq
  if (actual == expected || (Number.isNaN(actual) && Number.isNaN(expected))) {
    innerFail({ actual, expected, message, operator: "!=", stackStartFn: notEqual });
  }
};
assert.deepEqual = function deepEqual(actual, expected, message) {
  requireTwo(arguments.length);
  if (!isDeepEqual(actual, expected)) innerFail({ actual, expected, message, operator: "deepEqual", stackStartFn: deepEqual });
};
assert.notDeepEqual = function notDeepEqual(actual, expected, message) {
  requireTwo(arguments.length);
  if (isDeepEqual(actual, expected)) {
    innerFail({ actual, expected, message, operator: "notDeepEqual", stackStartFn: notDeepEqual });
  }
};
assert.deepStrictEqual = function deepStrictEqual(actual, expected, message) {
  requireTwo(arguments.length);
  if (!isDeepStrictEqual(actual, expected)) {
    innerFail({ actual, expected, message, operator: "deepStrictEqual", stackStartFn: deepStrictEqual });
  }
};
assert.notDeepStrictEqual = function notDeepStrictEqual(actual, expected, message) {
  requireTwo(arguments.length);
  if (isDeepStrictEqual(actual, expected)) {
    innerFail({ actual, expected, message, operator: "notDeepStrictEqual", stackStartFn: notDeepStrictEqual });
  }
};
assert.strictEqual = function strictEqual(actual, expected, message) {
  requireTwo(arguments.length);
  if (!Object.is(actual, expected)) {
    innerFail({ actual, expected, message, operator: "strictEqual", stackStartFn: strictEqual });
  }
};
assert.notStrictEqual = function notStrictEqual(actual, expected, message) {
  requireTwo(arguments.length);
  if (Object.is(actual, expected)) {
    innerFail({ actual, expected, message, operator: "notStrictEqual", stackStartFn: notStrictEqual });
  }
};

// Whether `actual` (what was thrown) matches `expected`: a constructor, a
// RegExp on its string, a validation function, or an object whose keys
// must deep-equal.
function expectedMatches(actual, expected, message, fn) {
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && actual instanceof expected) return true;
    if (expected === Error || Error.isPrototypeOf(expected)) {
      if (!message) {
        const received = actual !== null && typeof actual === "object" && actual.constructor
          ? `"${actual.constructor.name}"` : inspect(actual);
        message = `The error is expected to be an instance of "${expected.name}". Received ${received}`;
        if (actual instanceof Error) message += `\n\nError message:\n\n${actual.message}`;
      }
      innerFail({ actual, expected, message, operator: fn.name, stackStartFn: fn });
    }
    const result = ReflectApply(expected, {}, [actual]);
    if (result !== true) {
      if (!message) {
        const name = expected.name ? `"${expected.name}" ` : "";
        message = `The ${name}validation function is expected to return "true". Received ${inspect(result)}`;
        if (actual instanceof Error) message += `\n\nCaught error:\n\n${actual}`;
      }
      innerFail({ actual, expected, message, operator: fn.name, stackStartFn: fn });
    }
    return true;
  }
  if (types.isRegExp(expected)) {
    const text = String(actual);
    if (expected.test(text)) return true;
    innerFail({
      actual, expected, operator: fn.name, stackStartFn: fn,
      message: message || `The input did not match the regular expression ${inspect(expected)}. Input:\n\n${inspect(text)}\n`,
    });
  }
  if (typeof expected === "object" && expected !== null) {
    const keys = ObjectKeys(expected);
    if (expected instanceof Error) keys.push("name", "message");
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const want = expected[key];
      const got = actual == null ? undefined : actual[key];
      const matches = typeof got === "string" && types.isRegExp(want) ? want.test(got) : isDeepStrictEqual(got, want);
      if (!matches) {
        innerFail({
          actual, expected, operator: fn.name, stackStartFn: fn,
          message: message || `Expected values to be strictly deep-equal:\n+ actual - expected\n\n+ ${key}: ${inspect(got)}\n- ${key}: ${inspect(want)}`,
        });
      }
    }
    return true;
  }
  throw errors.ERR_INVALID_ARG_TYPE("expected", ["Function", "RegExp", "Object", "Error"], expected);
}

const NO_EXCEPTION = Symbol("no exception");

function getActual(fn) {
  if (typeof fn !== "function") throw errors.ERR_INVALID_ARG_TYPE("fn", "Function", fn);
  try {
    fn();
  } catch (e) {
    return e;
  }
  return NO_EXCEPTION;
}

async function waitForActual(promiseFn) {
  let resultPromise;
  if (typeof promiseFn === "function") {
    resultPromise = promiseFn();
    if (!resultPromise || typeof resultPromise.then !== "function") {
      throw errors.ERR_INVALID_RETURN_VALUE("instance of Promise", "promiseFn", resultPromise);
    }
  } else if (promiseFn && typeof promiseFn.then === "function") {
    resultPromise = promiseFn;
  } else {
    throw errors.ERR_INVALID_ARG_TYPE("promiseFn", ["Function", "Promise"], promiseFn);
  }
  try {
    await resultPromise;
  } catch (e) {
    return e;
  }
  return NO_EXCEPTION;
}

function expectsError(fn, actual, error, message) {
  if (typeof error === "string") {
    message = error;
    error = undefined;
  }
  if (actual === NO_EXCEPTION) {
    let details = "";
    if (error && error.name) details += ` (${error.name})`;
    details += message ? `: ${message}` : ".";
    const fnType = fn === assert.rejects ? "rejection" : "exception";
    innerFail({ actual: undefined, expected: error, operator: fn.name, message: `Missing expected ${fnType}${details}`, stackStartFn: fn });
  }
  if (error !== undefined) expectedMatches(actual, error, message, fn);
}

function expectsNoError(fn, actual, error, message) {
  if (actual === NO_EXCEPTION) return;
  if (typeof error === "string") {
    message = error;
    error = undefined;
  }
  if (!error || (typeof error === "function" && actual instanceof error) ||
      (types.isRegExp(error) && error.test(String(actual)))) {
    const details = message ? `: ${message}` : ".";
    const fnType = fn === assert.doesNotReject ? "rejection" : "exception";
    innerFail({
      actual, expected: error, operator: fn.name, stackStartFn: fn,
      message: `Got unwanted ${fnType}${details}\nActual message: "${actual && actual.message}"`,
    });
  }
  throw actual;
}

assert.throws = function throws(promiseFn, ...args) {
  expectsError(throws, getActual(promiseFn), ...args);
};
assert.rejects = async function rejects(promiseFn, ...args) {
  expectsError(rejects, await waitForActual(promiseFn), ...args);
};
assert.doesNotThrow = function doesNotThrow(fn, ...args) {
  expectsNoError(doesNotThrow, getActual(fn), ...args);
};
assert.doesNotReject = async function doesNotReject(fn, ...args) {
  expectsNoError(doesNotReject, await waitForActual(fn), ...args);
};

assert.ifError = function ifError(err) {
  if (err !== null && err !== undefined) {
    let message = "ifError got unwanted exception: ";
    message += typeof err === "object" && typeof err.message === "string"
      ? (err.message.length === 0 && err.constructor ? err.constructor.name : err.message)
      : inspect(err);
    throw new AssertionError({ actual: err, expected: null, operator: "ifError", message, stackStartFn: ifError });
  }
};

function internalMatch(string, regexp, message, fn) {
  if (!types.isRegExp(regexp)) throw errors.ERR_INVALID_ARG_TYPE("regexp", "RegExp", regexp);
  const match = fn === assert.match;
  if (typeof string !== "string" || (regexp.test(string) !== match)) {
    if (message instanceof Error) throw message;
    const generated = !message;
    message = message || (typeof string !== "string"
      ? `The "string" argument must be of type string. Received type ${typeof string} (${inspect(string)})`
      : (match ? "The input did not match the regular expression " : "The input was expected to not match the regular expression ") +
        `${inspect(regexp)}. Input:\n\n${inspect(string)}\n`);
    const error = new AssertionError({ actual: string, expected: regexp, message, operator: fn.name, stackStartFn: fn });
    error.generatedMessage = generated;
    throw error;
  }
}
assert.match = function match(string, regexp, message) {
  internalMatch(string, regexp, message, match);
};
assert.doesNotMatch = function doesNotMatch(string, regexp, message) {
  internalMatch(string, regexp, message, doesNotMatch);
};

// assert.strict: the same assertions with the loose ones made strict.
function strict(...args) {
  innerOk(strict, args.length, ...args);
}
const names = ObjectKeys(assert);
for (let i = 0; i < names.length; i++) strict[names[i]] = assert[names[i]];
strict.equal = assert.strictEqual;
strict.deepEqual = assert.deepStrictEqual;
strict.notEqual = assert.notStrictEqual;
strict.notDeepEqual = assert.notDeepStrictEqual;
strict.strict = strict;
assert.strict = strict;
void PromiseCtor;

return assert;
