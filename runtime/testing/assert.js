// Assertions and small helpers for the JavaScript tests that `edge test`
// runs (the runtime's own tests beside its code, and any worker's tests).
// A test module imports what it uses with a relative path, e.g.
//   import { assert, assertEquals } from "../../runtime/testing/assert.js";
// Each assertion throws an Error whose message starts with `message`.

export function assert(condition, message = "assertion failed") {
  if (!condition) throw new Error(message);
}

// Equal as JSON: for primitives, arrays and plain objects.
export function assertEquals(actual, expected, message = "") {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message} expected ${e}, got ${a}`);
}

// The same value (===).
export function assertStrictEquals(actual, expected, message = "") {
  if (actual !== expected) {
    throw new Error(`${message} expected ${String(expected)}, got ${String(actual)}`);
  }
}

// Whether `error` is what `expected` names: an error class (instanceof), an
// error name ("DataError"), or anything when `expected` is not given.
function check(error, expected, message) {
  if (expected === undefined || expected === null) return;
  if (typeof expected === "string") {
    if (!error || error.name !== expected) {
      throw new Error(`${message} expected ${expected}, got ${error && error.name}: ${error && error.message}`);
    }
  } else if (!(error instanceof expected)) {
    throw new Error(`${message} expected ${expected.name}, got ${error && error.name}: ${error && error.message}`);
  }
}

// fn() throws what `expected` names; returns the error.
export function assertThrows(fn, expected, message = "") {
  try {
    fn();
  } catch (error) {
    check(error, expected, message);
    return error;
  }
  throw new Error(`${message} expected an exception`);
}

// The promise (or the promise fn() returns) rejects with what `expected`
// names; resolves to the error.
export async function assertRejects(promiseOrFn, expected, message = "") {
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (error) {
    check(error, expected, message);
    return error;
  }
  throw new Error(`${message} expected a rejection`);
}

// Lowercase hex of an ArrayBuffer's (or a Uint8Array's) bytes, and back.
export function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  return new Uint8Array(text.match(/../g).map((b) => parseInt(b, 16)));
}

// Lets `n` rounds of promise reactions run.
export async function microtasks(n = 10) {
  for (let i = 0; i < n; i++) await null;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Logs how `promise` settles into `log`: [name, "ok"] or [name, the error's
// name (or the rejection value)].
export function track(log, name, promise) {
  promise.then(
    () => log.push([name, "ok"]),
    (e) => log.push([name, e instanceof Error ? e.name : e]),
  );
}

// Each global in `interfaces` (its name -> the own enumerable keys of its
// prototype, sorted) is exposed as WebIDL says: non-enumerable, writable
// and configurable, its prototype tagged "[object <name>]".
export function assertInterfaces(interfaces) {
  for (const [name, keys] of Object.entries(interfaces)) {
    const desc = Object.getOwnPropertyDescriptor(globalThis, name);
    assert(desc && !desc.enumerable && desc.writable && desc.configurable, name);
    assertEquals(Object.prototype.toString.call(globalThis[name].prototype), `[object ${name}]`);
    assertEquals(Object.keys(globalThis[name].prototype).sort(), keys, name);
  }
}

// The UTF-8 bytes of `text`.
export function utf8(text) {
  return new TextEncoder().encode(text);
}

// Each property of `expected` is equal (assertEquals) to that of `object`.
export function assertFields(object, expected, message = "") {
  for (const [key, value] of Object.entries(expected)) assertEquals(object[key], value, `${message} ${key}:`);
}

// The chunks of `readable`, read with a reader until it is done.
export async function readChunks(readable) {
  const reader = readable.getReader();
  const chunks = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
}
