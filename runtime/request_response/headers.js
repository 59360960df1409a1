// Headers (https://fetch.spec.whatwg.org/#headers-class).
//
// Storage: a Map from lowercased name to the combined value (values of the same
// name joined with ", ", which is what get() and iteration expose anyway), in
// insertion order. Set-Cookie values are kept apart in an array (they must not
// be combined); the Map holds a null marker at Set-Cookie's position.
//
// Guards: "immutable" rejects every mutation. "request", "request-no-cors",
// "response" and "none" allow everything: like other server runtimes there are
// no forbidden header names.

const { finishInterface, inspectSymbol, inspectNamed, tooFewArguments, pairIterator } = internals;

// Validation and the list that goes on the wire use built-ins captured
// before tenant code runs (runtime/js/primordials.js): a patched
// RegExp.prototype.exec, String.prototype.toLowerCase, Map.prototype or
// Array.prototype.push cannot let an invalid name or value through.
// TypeError is the original, whatever globalThis.TypeError has become.
const {
  ArrayIsArray, ArrayPrototypeJoin, ArrayPrototypePush, ArrayPrototypeSlice, ArrayPrototypeSort,
  ObjectDefineProperty, ObjectGetOwnPropertyDescriptor,
  ReflectApply, ReflectOwnKeys, RegExpTest, SafeMap,
  StringPrototypeCharCodeAt, StringPrototypeSlice, StringPrototypeToLowerCase, SymbolIterator,
  TypeErrorCtor: TypeError,
} = internals.primordials;

// RFC 9110 token.
const tokenRegExp = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Not allowed in a header value (after normalization): NUL, CR, LF, and any
// code unit above 0xFF (not a ByteString).
const invalidValueRegExp = /[\0\r\n\u0100-\uffff]/;

function isHttpWhitespace(c) {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function normalizeValue(value) {
  const len = value.length;
  if (len === 0) return value;
  let start = 0;
  let end = len;
  while (start < end && isHttpWhitespace(StringPrototypeCharCodeAt(value, start))) start++;
  while (end > start && isHttpWhitespace(StringPrototypeCharCodeAt(value, end - 1))) end--;
  return start === 0 && end === len ? value : StringPrototypeSlice(value, start, end);
}

function validName(name, method) {
  if (!RegExpTest(tokenRegExp, name)) {
    throw new TypeError(`Failed to execute '${method}' on 'Headers': Invalid name: "${name}"`);
  }
  return StringPrototypeToLowerCase(name);
}

function validValue(value, method) {
  if (RegExpTest(invalidValueRegExp, value)) {
    throw new TypeError(`Failed to execute '${method}' on 'Headers': Invalid value: "${value}"`);
  }
  return value;
}

// WebIDL's ByteString conversion: a string of code units up to 0xFF.
const nonByteRegExp = /[\u0100-\uffff]/;
function toByteString(value) {
  const string = `${value}`;
  if (RegExpTest(nonByteRegExp, string)) {
    throw new TypeError("Failed to construct 'Headers': Cannot convert a string with a character above U+00FF to a ByteString.");
  }
  return string;
}

function checkArgs(count, required, method) {
  if (count < required) throw tooFewArguments(count, required, `Failed to execute '${method}' on 'Headers'`);
}

const kCreate = {}; // private constructor token

// Accessors to the private state, set up in the static block.
let headersAppend;
let headersSet;
let headersGet;
let headersHas;
let headersSortedList;
let headersFlatList;
let headersSetGuard;
let headersGetGuard;
let headersCopyFrom;
let isHeaders;

class Headers {
  #map = new SafeMap();
  #cookies = null;
  #guard = "none";
  #sorted = null; // cached [[name, value], ...] sorted by name, for iteration

  constructor(init = undefined) {
    if (init === kCreate) return;
    if (init !== undefined) this.#fill(init);
  }

  #fill(init) {
    if (init === null || (typeof init !== "object" && typeof init !== "function")) {
      throw new TypeError(
        "Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.",
      );
    }
    // WebIDL converts the whole sequence or record first, reading each
    // property once and in order; the headers are appended after that, so
    // an invalid name found late still comes after every read.
    const names = [];
    const values = [];
    const method = init[SymbolIterator];
    if (method === headersIterator && #map in init) {
      // Fast path for another Headers object iterated the usual way (the
      // same result as iterating it; not when its iterator was replaced).
      headersCopyFrom(this, init);
      return;
    }
    if (method !== undefined && method !== null) {
      if (typeof method !== "function") {
        throw new TypeError("Failed to construct 'Headers': The object's [Symbol.iterator] is not a function.");
      }
      for (const pair of ReflectApply(method, init, [])) {
        if (pair === null || (typeof pair !== "object" && typeof pair !== "function")) {
          throw new TypeError(
            "Failed to construct 'Headers': The provided value cannot be converted to a sequence.",
          );
        }
        const items = ArrayIsArray(pair) ? pair : [...pair];
        if (items.length !== 2) {
          throw new TypeError(
            "Failed to construct 'Headers': Invalid value: each header must be a [name, value] pair.",
          );
        }
        ArrayPrototypePush(names, toByteString(items[0]));
        ArrayPrototypePush(values, toByteString(items[1]));
      }
    } else {
      // https://webidl.spec.whatwg.org/#es-to-record
      const keys = ReflectOwnKeys(init);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const desc = ObjectGetOwnPropertyDescriptor(init, key);
        if (desc === undefined || !desc.enumerable) continue;
        if (typeof key === "symbol") {
          throw new TypeError("Failed to construct 'Headers': Cannot convert a Symbol to a header name.");
        }
        ArrayPrototypePush(names, toByteString(key));
        ArrayPrototypePush(values, toByteString(init[key]));
      }
    }
    for (let i = 0; i < names.length; i++) this.#append(names[i], values[i], "append");
  }

  #append(name, value, method) {
    const lower = validName(name, method);
    value = validValue(normalizeValue(value), method);
    if (this.#guard === "immutable") throw new TypeError("Headers are immutable.");
    this.#appendLower(lower, value);
  }

  #appendLower(lower, value) {
    this.#sorted = null;
    if (lower === "set-cookie") {
      if (this.#cookies === null) this.#cookies = [];
      ArrayPrototypePush(this.#cookies, value);
      if (!this.#map.has(lower)) this.#map.set(lower, null);
      return;
    }
    const existing = this.#map.get(lower);
    this.#map.set(lower, existing === undefined ? value : `${existing}, ${value}`);
  }

  #setLower(lower, value) {
    this.#sorted = null;
    if (lower === "set-cookie") {
      this.#cookies = [value];
      if (!this.#map.has(lower)) this.#map.set(lower, null);
      return;
    }
    this.#map.set(lower, value);
  }

  #getLower(lower) {
    if (lower === "set-cookie") {
      return this.#cookies === null ? null : ArrayPrototypeJoin(this.#cookies, ", ");
    }
    const value = this.#map.get(lower);
    return value === undefined ? null : value;
  }

  #sortedList() {
    if (this.#sorted !== null) return this.#sorted;
    const names = [];
    this.#map.forEach((value, name) => ArrayPrototypePush(names, name));
    ArrayPrototypeSort(names);
    const list = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name === "set-cookie") {
        const cookies = this.#cookies;
        for (let j = 0; j < cookies.length; j++) ArrayPrototypePush(list, [name, cookies[j]]);
      } else {
        ArrayPrototypePush(list, [name, this.#map.get(name)]);
      }
    }
    this.#sorted = list;
    return list;
  }

  append(name, value) {
    checkArgs(arguments.length, 2, "append");
    this.#append(`${name}`, `${value}`, "append");
  }

  delete(name) {
    checkArgs(arguments.length, 1, "delete");
    const lower = validName(`${name}`, "delete");
    if (this.#guard === "immutable") throw new TypeError("Headers are immutable.");
    if (!this.#map.has(lower)) return;
    this.#sorted = null;
    this.#map.delete(lower);
    if (lower === "set-cookie") this.#cookies = null;
  }

  get(name) {
    checkArgs(arguments.length, 1, "get");
    return this.#getLower(validName(`${name}`, "get"));
  }

  getSetCookie() {
    return this.#cookies === null ? [] : ArrayPrototypeSlice(this.#cookies);
  }

  has(name) {
    checkArgs(arguments.length, 1, "has");
    return this.#map.has(validName(`${name}`, "has"));
  }

  set(name, value) {
    checkArgs(arguments.length, 2, "set");
    const lower = validName(`${name}`, "set");
    value = validValue(normalizeValue(`${value}`), "set");
    if (this.#guard === "immutable") throw new TypeError("Headers are immutable.");
    this.#setLower(lower, value);
  }

  forEach(callback, thisArg = undefined) {
    checkArgs(arguments.length, 1, "forEach");
    if (typeof callback !== "function") {
      throw new TypeError("Failed to execute 'forEach' on 'Headers': The callback provided as parameter 1 is not a function.");
    }
    let pairs = this.#sortedList();
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      ReflectApply(callback, thisArg, [pair[1], pair[0], this]);
      pairs = this.#sortedList();
    }
  }

  keys() {
    this.#map; // brand check
    return newHeadersIterator(this, "key");
  }

  values() {
    this.#map; // brand check
    return newHeadersIterator(this, "value");
  }

  entries() {
    this.#map; // brand check
    return newHeadersIterator(this, "key+value");
  }

  [inspectSymbol]() {
    const fields = { __proto__: null };
    this.#map.forEach((value, name) => {
      const cookies = this.#cookies;
      ObjectDefineProperty(fields, name, {
        __proto__: null,
        value: value === null ? (cookies.length === 1 ? cookies[0] : ArrayPrototypeSlice(cookies)) : value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
    return inspectNamed("Headers", fields);
  }

  static {
    isHeaders = (value) => value !== null && typeof value === "object" && #map in value;
    headersAppend = (h, lower, value) => h.#appendLower(lower, value);
    headersSet = (h, lower, value) => h.#setLower(lower, value);
    headersGet = (h, lower) => h.#getLower(lower);
    headersHas = (h, lower) => h.#map.has(lower);
    headersSortedList = (h) => h.#sortedList();
    headersSetGuard = (h, guard) => {
      h.#guard = guard;
    };
    headersGetGuard = (h) => h.#guard;
    headersCopyFrom = (target, source) => {
      target.#sorted = null;
      // forEach, not for-of: the Map iterator's `next` is patchable.
      source.#map.forEach((value, name) => {
        if (value === null) {
          const cookies = source.#cookies;
          for (let i = 0; i < cookies.length; i++) target.#appendLower(name, cookies[i]);
        } else {
          target.#appendLower(name, value);
        }
      });
    };
    headersFlatList = (h) => {
      const out = [];
      h.#map.forEach((value, name) => {
        if (value === null) {
          const cookies = h.#cookies;
          for (let i = 0; i < cookies.length; i++) ArrayPrototypePush(out, name, cookies[i]);
        } else {
          ArrayPrototypePush(out, name, value);
        }
      });
      return out;
    };
  }
}
ObjectDefineProperty(Headers.prototype, SymbolIterator, {
  value: Headers.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});
finishInterface(Headers);

// The iterator Headers objects start with (the constructor's fast path).
const headersIterator = Headers.prototype.entries;

const newHeadersIterator = pairIterator("Headers", (headers) => headersSortedList(headers));

// Builds Headers from a flat [name, value, ...] list from the embedder (names
// in any case, values already valid), with the given guard.
function headersFromList(flat, guard = "none") {
  const headers = new Headers(kCreate);
  for (let i = 0; i + 1 < flat.length; i += 2) {
    headersAppend(headers, StringPrototypeToLowerCase(`${flat[i]}`), `${flat[i + 1]}`);
  }
  headersSetGuard(headers, guard);
  return headers;
}

// A copy of `headers` (contents and guard): used by clone().
function cloneHeaders(headers, guard = headersGetGuard(headers)) {
  const copy = new Headers(kCreate);
  headersCopyFrom(copy, headers);
  headersSetGuard(copy, guard);
  return copy;
}

// new Headers(init) with a guard; `init` undefined gives empty headers.
function headersFromInit(init, guard) {
  const headers = new Headers(init);
  headersSetGuard(headers, guard);
  return headers;
}

internals.Headers = Headers;
internals.isHeaders = isHeaders;
// Flat [name, value, ...] in insertion order, names lowercased, each
// Set-Cookie value separate: what goes on the wire.
internals.headersList = (headers) => headersFlatList(headers);
internals.headersFromList = headersFromList;
internals.headersFromInit = headersFromInit;
internals.cloneHeaders = cloneHeaders;
internals.setHeadersGuard = (headers, guard) => headersSetGuard(headers, guard);
internals.getHeadersGuard = (headers) => headersGetGuard(headers);
// Unvalidated access by lowercased name, ignoring the guard (for the runtime).
internals.headersGet = (headers, lowerName) => headersGet(headers, lowerName);
internals.headersHas = (headers, lowerName) => headersHas(headers, lowerName);
internals.headersSet = (headers, lowerName, value) => headersSet(headers, lowerName, value);
internals.headersAppend = (headers, lowerName, value) => headersAppend(headers, lowerName, value);
