// The Workers Cache API: the global `caches` (a CacheStorage with
// `default` and `open(name)`) and its Cache objects, as Cloudflare Workers
// has them (https://developers.cloudflare.com/workers/runtime-apis/cache/;
// the browser API is https://w3c.github.io/ServiceWorker/#cache-interface).
// Workers' differences from the browser's: only GET requests are cached,
// `match` and `delete` take only `ignoreMethod`, the response's own
// Cache-Control / Expires / Set-Cookie decide whether and how long it is
// kept (bindings/cache/cache_http.h), and `match` answers conditional and
// Range requests itself. `add`, `addAll`, `matchAll` and `keys` are not
// there, as on Workers.
//
// The storage is the cache* natives (bindings/cache/cache_natives.cc):
// whose cache it is (the worker's account) is decided in C++, never here.
// A put's body streams to disk chunk by chunk; a large cached body streams
// back the same way.

const {
  Request, isRequest, isResponse, responseForWire, makeResponse, headersList, ReadableStream, streamReader,
  readableStreamCancel, isReadableStream, currentInvocation, invocationHold, invocationRelease, toUint8Array,
  isSharedArrayBuffer, finishInterface, illegalConstructor, tooFewArguments,
} = internals;

// Methods, URLs, headers, the put's state and its bookkeeping use built-ins
// captured before tenant code runs (runtime/js/primordials.js); TypeError
// is the original.
const {
  PromiseCtor, PromisePrototypeThen, PromiseReject,
  PromiseResolve, ReflectApply, StringPrototypeIndexOf, TypeErrorCtor: TypeError,
} = internals.primordials;

const hasNatives = typeof native.cacheMatch === "function";
const kMaxNameBytes = hasNatives ? native.cacheMaxNameBytes : 1023;
const kMaxUrlBytes = hasNatives ? native.cacheMaxUrlBytes : 16384;

// This file runs on a worker's first use of caches (runtime/js/lazy.js),
// after it may have patched Request.prototype and Response.prototype.
const {
  RequestUrl: requestUrl, RequestMethod: requestMethod, RequestHeaders: requestHeaders, ResponseType: responseType,
} = internals.lazyOriginals;

function noop() {}

function natives() {
  if (!hasNatives) throw new TypeError("The Cache API is not available in this build of edge.");
  return native;
}

const kCreate = {};

// The request a key argument stands for: a Request as is, anything else as
// the URL of a new GET Request (the tenant's own conversions run here,
// and can only fail its own call).
function toRequest(input) {
  return isRequest(input) ? input : new Request(input);
}

// The `ignoreMethod` of match() and delete() options.
function ignoresMethod(options) {
  if (options === undefined || options === null) return false;
  if (typeof options !== "object" && typeof options !== "function") {
    throw new TypeError("The options argument must be an object.");
  }
  return !!options.ignoreMethod;
}

// An opaque stream of a cached body read from disk, chunk by chunk.
function cachedBodyStream(reader) {
  let done = false;
  return new ReadableStream(
    {
      pull(controller) {
        if (done) return undefined;
        const next = (chunk) => {
          if (chunk === null) {
            done = true;
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
        };
        const result = natives().cacheRead(reader);
        // null at once when nothing is left; else a promise of a chunk.
        if (result === null) return next(null);
        return PromisePrototypeThen(result, next);
      },
      cancel() {
        if (done) return;
        done = true;
        natives().cacheReadCancel(reader);
      },
    },
    { highWaterMark: 0 },
  );
}

// One put's body on its way to disk. Class fields, so no setter a tenant
// put on Object.prototype sees it.
class PutState {
  id = 0;
  invocation = undefined;
  reader = null;
  ended = false;
  reject = noop;
}

function endPut(state) {
  if (state.ended) return;
  state.ended = true;
  if (state.invocation !== undefined) invocationRelease(state.invocation, state);
}

function failPut(state, error) {
  if (state.ended) return;
  if (state.id !== 0) natives().cachePutAbort(state.id);
  const reader = state.reader;
  state.reader = null;
  if (reader !== null) PromisePrototypeThen(reader.cancel(error), undefined, noop);
  endPut(state);
  state.reject(error);
}

// Streams `body` (null, bytes, or a ReadableStream) into the put `id`.
async function pumpPut(state, body) {
  const api = natives();
  if (body !== null && isReadableStream(body)) {
    const reader = streamReader(body);
    state.reader = reader;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (state.ended) return;
        if (done) break;
        const bytes = isSharedArrayBuffer(value) ? undefined : toUint8Array(value);
        if (bytes === undefined) {
          throw new TypeError("A response body stream must produce ArrayBuffer or ArrayBufferView chunks.");
        }
        if (bytes.byteLength === 0) continue;
        let going = api.cachePutWrite(state.id, bytes);
        if (going !== undefined && going !== true && going !== false) going = await going;
        if (state.ended) return;
        if (going === false) {
          // Past the per-entry limit: nothing is stored, and put() resolves
          // as on Workers (whose cache answers 413, which put() ignores).
          api.cachePutAbort(state.id);
          state.reader = null;
          PromisePrototypeThen(reader.cancel(), undefined, noop);
          return;
        }
      }
    } finally {
      if (state.reader === reader) state.reader = null;
      reader.release();
    }
  } else if (body !== null) {
    let going = api.cachePutWrite(state.id, body);
    if (going !== undefined && going !== false) going = await going;
    if (state.ended) return;
    if (going === false) {
      api.cachePutAbort(state.id);
      return;
    }
  }
  await api.cachePutEnd(state.id);
}

function put(key, url, status, statusText, headers, body) {
  const api = natives();
  const invocation = currentInvocation();
  if (invocation !== undefined && invocation.ended) {
    throw new TypeError("The invocation that made this cache.put() has ended.");
  }
  const begun = api.cachePutBegin(key.isDefault, key.name, url, status, statusText, headers);
  if (begun === 0) {
    // Not to be stored (Cache-Control, Set-Cookie, no TTL): the body is
    // consumed all the same, and put() resolves.
    if (body !== null && isReadableStream(body)) {
      PromisePrototypeThen(readableStreamCancel(body, undefined), undefined, noop);
    }
    return PromiseResolve(undefined);
  }
  const state = new PutState();
  state.invocation = invocation;
  return new PromiseCtor((resolve, reject) => {
    state.reject = reject;
    if (invocation !== undefined) {
      invocationHold(invocation, state, (held) =>
        failPut(held, new TypeError("The invocation that made this cache.put() has ended.")),
      );
    }
    PromisePrototypeThen(
      begun,
      (id) => {
        if (state.ended) {
          natives().cachePutAbort(id);
          return;
        }
        state.id = id;
        PromisePrototypeThen(
          pumpPut(state, body),
          () => {
            if (state.ended) return;
            endPut(state);
            resolve(undefined);
          },
          (error) => failPut(state, error),
        );
      },
      (error) => failPut(state, error),
    );
  });
}

// Cache (https://developers.cloudflare.com/workers/runtime-apis/cache/).
class Cache {
  #isDefault;
  #name;

  constructor(token = undefined, isDefault = true, name = "") {
    if (token !== kCreate) throw illegalConstructor();
    this.#isDefault = isDefault;
    this.#name = name;
  }

  // put(request, response): stores `response` under `request`'s URL.
  put(request, response) {
    try {
      const key = { __proto__: null, isDefault: this.#isDefault, name: this.#name };
      if (arguments.length < 2) throw tooFewArguments(arguments.length, 2, "Failed to execute 'put' on 'Cache'");
      if (!isResponse(response)) {
        throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
      }
      const req = toRequest(request);
      const method = ReflectApply(requestMethod, req, []);
      const url = ReflectApply(requestUrl, req, []);
      if (ReflectApply(responseType, response, []) === "error") {
        throw new TypeError("Cache is unable to store an error response");
      }
      if (method !== "GET") throw new TypeError("Cannot cache response to non-GET request.");
      const wire = responseForWire(response);
      const status = wire.status;
      if (status === 206) {
        if (wire.body !== null && isReadableStream(wire.body)) {
          PromisePrototypeThen(readableStreamCancel(wire.body, undefined), undefined, noop);
        }
        throw new TypeError("Cannot cache response to a range request (206 Partial Content).");
      }
      const headers = wire.headers;
      for (let i = 0; i + 1 < headers.length; i += 2) {
        if (headers[i] === "vary" && StringPrototypeIndexOf(headers[i + 1], "*") !== -1) {
          if (wire.body !== null && isReadableStream(wire.body)) {
            PromisePrototypeThen(readableStreamCancel(wire.body, undefined), undefined, noop);
          }
          throw new TypeError("Cannot cache response with 'Vary: *' header.");
        }
      }
      // A 304 is not meaningful to cache: Workers drops it without a word.
      // So does a key longer than any request URL may be (the cache would
      // refuse it).
      if (status === 304 || url.length > kMaxUrlBytes) {
        if (wire.body !== null && isReadableStream(wire.body)) {
          PromisePrototypeThen(readableStreamCancel(wire.body, undefined), undefined, noop);
        }
        return PromiseResolve(undefined);
      }
      return put(key, url, status, wire.statusText, headers, wire.body);
    } catch (error) {
      return PromiseReject(error);
    }
  }

  // match(request, { ignoreMethod }): the cached response, or undefined.
  match(request, options = undefined) {
    try {
      const isDefault = this.#isDefault;
      const name = this.#name;
      if (arguments.length < 1) throw tooFewArguments(0, 1, "Failed to execute 'match' on 'Cache'");
      const req = toRequest(request);
      const ignoreMethod = ignoresMethod(options);
      const method = ReflectApply(requestMethod, req, []);
      const url = ReflectApply(requestUrl, req, []);
      if ((!ignoreMethod && method !== "GET") || url.length > kMaxUrlBytes) return PromiseResolve(undefined);
      const headers = headersList(ReflectApply(requestHeaders, req, []));
      return PromisePrototypeThen(natives().cacheMatch(isDefault, name, url, headers), (found) => {
        if (found === null) return undefined;
        const reader = found[4];
        const body = reader !== 0 ? cachedBodyStream(reader) : found[3];
        const response = makeResponse(found[0], found[1], found[2], body, url);
        if (reader !== 0) internals.setStreamLength(body, found[5]);
        return response;
      });
    } catch (error) {
      return PromiseReject(error);
    }
  }

  // delete(request, { ignoreMethod }): whether an entry was removed.
  delete(request, options = undefined) {
    try {
      const isDefault = this.#isDefault;
      const name = this.#name;
      if (arguments.length < 1) throw tooFewArguments(0, 1, "Failed to execute 'delete' on 'Cache'");
      const req = toRequest(request);
      const ignoreMethod = ignoresMethod(options);
      const method = ReflectApply(requestMethod, req, []);
      const url = ReflectApply(requestUrl, req, []);
      if ((!ignoreMethod && method !== "GET") || url.length > kMaxUrlBytes) return PromiseResolve(false);
      return natives().cacheDelete(isDefault, name, url);
    } catch (error) {
      return PromiseReject(error);
    }
  }
}
finishInterface(Cache);

// CacheStorage: `caches`. `default` is one Cache for the isolate's life;
// open(name) hands a Cache of that name (any number of them share its
// entries).
class CacheStorage {
  #default;

  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#default = new Cache(kCreate, true, "");
  }

  get default() {
    return this.#default;
  }

  open(cacheName) {
    try {
      this.#default; // brand check
      if (arguments.length < 1) throw tooFewArguments(0, 1, "Failed to execute 'open' on 'CacheStorage'");
      const name = `${cacheName}`;
      // Workers limits the name (in UTF-8 bytes, under 1024): a string of
      // more than 1023 UTF-16 units may still fit, so C++ checks the bytes.
      if (name.length > kMaxNameBytes) throw new TypeError("Cache name is too long.");
      return PromiseResolve(new Cache(kCreate, false, name));
    } catch (error) {
      return PromiseReject(error);
    }
  }
}
finishInterface(CacheStorage);

const caches = new CacheStorage(kCreate);

internals.Cache = Cache;
internals.CacheStorage = CacheStorage;
// The globals caches, Cache and CacheStorage (runtime/js/globals.js).
internals.caches = caches;
