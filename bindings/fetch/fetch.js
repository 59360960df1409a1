// fetch() (https://fetch.spec.whatwg.org/#fetch-method), as Cloudflare Workers
// implements it: no CORS, no cache, no cookies; `redirect: "manual"` hands
// back the 3xx response itself; each fetch() and each redirect it follows is
// one subrequest of the invocation that made it.
//
// The network is the outbound client (bindings/fetch/outbound) behind the fetch*
// natives (bindings/fetch/fetch_natives.cc): one call per hop, whose response body
// becomes a ReadableStream pulled from the native side (nothing is read from
// the socket ahead of the worker beyond a small window).
//
// Each fetch() counts against the invocation (runtime/js/invocation.js) that
// made it, which V8 carries along promise reactions, however many awaits
// come between.

const {
  Request, requestForWire, makeResponse, ReadableStream, DOMException, parseURL, serializeURL,
  serializeURLOrigin, streamReader, readableStreamCancel, isReadableStream, currentInvocation,
  countSubrequest, invocationHold, invocationRelease, tooFewArguments, isSharedArrayBuffer, toUint8Array,
} = internals;

// The headers a redirect drops (Authorization to another origin), the
// redirect's Location and the declared length use built-ins captured before
// tenant code runs (runtime/js/primordials.js); TypeError is the original.
const {
  ArrayBufferIsView, ArrayPrototypeIncludes, ArrayPrototypePush, NumberCtor, ObjectDefineProperty, PromiseCtor,
  PromisePrototypeThen, PromiseReject, RegExpTest, StringPrototypeIndexOf, StringPrototypeSlice,
  StringPrototypeToLowerCase, StringPrototypeTrim, TypeErrorCtor: TypeError,
} = internals.primordials;

const hasNatives = typeof native.fetchStart === "function";
const kMaxRedirects = 20;

function isRedirectStatus(status) {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function noop() {}

// The worker's subrequest limit is what invocations begun without one get.
// Asked of the isolate each time, never kept here: this heap goes into the
// startup snapshot after requests ran in it (runtime/snapshot_warmup.h), and
// a value kept then would be the snapshot maker's, not the worker's.
if (hasNatives) {
  const nativeFetchSubrequestLimit = native.fetchSubrequestLimit;
  internals.setDefaultSubrequestLimit(() => nativeFetchSubrequestLimit());
}

// An invocation that ends with this fetch still open cancels it.
function endedWithInvocation(state) {
  fail(state, new TypeError("The invocation that made this fetch() has ended."));
}

// ---------------------------------------------------------------------------
// One fetch() call: its hops, its response body, its abort signal. Class
// fields, so no setter a tenant put on Object.prototype sees the state (its
// resolve and reject functions, its invocation).

class FetchState {
  invocation;
  signal;
  id = 0; // the current hop's native id
  resolve = noop;
  reject = noop;
  rejectHead = null; // while waiting for a hop's response head
  responded = false; // the fetch promise is resolved
  finished = false; // nothing more will happen
  controller = null; // of the response body stream
  uploadReader = null;
  onAbort = null;

  constructor(wire, invocation) {
    this.invocation = invocation;
    this.signal = wire.signal === undefined ? null : wire.signal;
  }
}

function abortReason(signal) {
  const reason = signal.reason;
  return reason === undefined ? new DOMException("The operation was aborted.", "AbortError") : reason;
}

function finish(state) {
  if (state.finished) return;
  state.finished = true;
  const signal = state.signal;
  if (state.onAbort !== null && signal !== null && typeof signal.removeEventListener === "function") {
    try {
      signal.removeEventListener("abort", state.onAbort);
    } catch {
      // A duck-typed signal may not allow it; the listener is inert now.
    }
  }
  state.onAbort = null;
  if (state.invocation !== undefined) invocationRelease(state.invocation, state);
}

// Ends the fetch with `error`: the fetch promise rejects, or the response
// body errors if the response was already delivered.
function fail(state, error) {
  if (state.finished) return;
  if (state.id !== 0) native.fetchCancel(state.id);
  const reader = state.uploadReader;
  state.uploadReader = null;
  if (reader !== null) {
    PromisePrototypeThen(reader.cancel(error), undefined, noop);
  }
  if (!state.responded) {
    const rejectHead = state.rejectHead;
    state.rejectHead = null;
    if (rejectHead !== null) rejectHead(error);
    state.reject(error);
  } else if (state.controller !== null) {
    try {
      state.controller.error(error);
    } catch {
      // Already closed.
    }
  }
  finish(state);
}

function headerValue(flat, lowerName) {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (StringPrototypeToLowerCase(`${flat[i]}`) === lowerName) return flat[i + 1];
  }
  return null;
}

function withoutHeaders(flat, lowerNames) {
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (!ArrayPrototypeIncludes(lowerNames, StringPrototypeToLowerCase(`${flat[i]}`))) {
      ArrayPrototypePush(out, flat[i], flat[i + 1]);
    }
  }
  return out;
}

// The origin-form request target ("/path?query") of an http(s) URL record.
function requestTarget(record) {
  const bare = { ...record, username: "", password: "", fragment: null };
  return StringPrototypeSlice(serializeURL(bare, true), serializeURLOrigin(record).length);
}

function waitHead(state, id) {
  return new PromiseCtor((resolve, reject) => {
    state.rejectHead = reject;
    PromisePrototypeThen(native.fetchResponse(id), resolve, reject);
  });
}

// Writes a ReadableStream request body as it is produced.
async function pumpUpload(state, id, stream) {
  let reader;
  try {
    reader = streamReader(stream);
  } catch (error) {
    fail(state, error);
    return;
  }
  state.uploadReader = reader;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (state.finished || state.id !== id) return;
      if (done) {
        native.fetchEnd(id);
        return;
      }
      // ArrayBuffer or ArrayBufferView (not a SharedArrayBuffer).
      const bytes = isSharedArrayBuffer(value) ? undefined : toUint8Array(value);
      if (bytes === undefined) {
        throw new TypeError(
          "A request body stream must produce ArrayBuffer or ArrayBufferView chunks.",
        );
      }
      if (bytes.byteLength === 0) continue;
      const verdict = native.fetchWrite(id, bytes);
      if (verdict === 2) {
        // The request takes no more body (its response came, or it failed).
        if (state.uploadReader === reader) state.uploadReader = null;
        await reader.cancel();
        return;
      }
      if (verdict === 1) await native.fetchDrain(id);
    }
  } catch (error) {
    if (state.uploadReader === reader) state.uploadReader = null;
    if (!state.finished && state.id === id) fail(state, error);
  } finally {
    if (state.uploadReader === reader) state.uploadReader = null;
    reader.release();
  }
}

// The Content-Length of a body that arrives as sent (runtime/js/dispatch.js,
// evaluated after this file).
function declaredLength(flat) {
  return internals.declaredLength(flat);
}

function makeBodyStream(state, id) {
  return new ReadableStream(
    {
      start(controller) {
        state.controller = controller;
      },
      pull(controller) {
        if (state.finished) return undefined;
        let result;
        try {
          result = native.fetchRead(id);
        } catch (error) {
          finish(state);
          throw error;
        }
        if (result === null) {
          finish(state);
          controller.close();
          return undefined;
        }
        if (ArrayBufferIsView(result)) {
          controller.enqueue(result);
          return undefined;
        }
        return PromisePrototypeThen(
          result,
          (chunk) => {
            if (state.finished) return;
            if (chunk === null) {
              finish(state);
              controller.close();
            } else {
              controller.enqueue(chunk);
            }
          },
          (error) => {
            if (state.finished) return;
            finish(state);
            throw error;
          },
        );
      },
      cancel() {
        if (!state.finished) native.fetchCancel(id);
        finish(state);
      },
    },
    { highWaterMark: 0 },
  );
}

async function runHops(state, wire) {
  let url = wire.url;
  let method = wire.method;
  let headers = wire.headers;
  let body = wire.body;
  let redirects = 0;
  try {
    for (;;) {
      countSubrequest(state.invocation);
      const record = parseURL(url);
      if (record === null || (record.scheme !== "http" && record.scheme !== "https")) {
        throw new TypeError(`Fetch API cannot load: ${url}`);
      }
      const https = record.scheme === "https";
      const port = record.port !== null ? record.port : https ? 443 : 80;
      const streamed = body !== null && typeof body === "object" && isReadableStream(body);
      const id = native.fetchStart(
        method,
        https,
        record.host,
        port,
        requestTarget(record),
        headers,
        streamed ? true : body,
        state,
      );
      state.id = id;
      if (streamed) pumpUpload(state, id, body);
      const head = await waitHead(state, id);
      state.rejectHead = null;
      if (state.finished) return;
      const status = head[0];
      const responseHeaders = head[2];
      const hasBody = head[3];

      if (isRedirectStatus(status) && wire.redirect !== "manual") {
        const location = headerValue(responseHeaders, "location");
        if (location !== null) {
          native.fetchCancel(id);
          state.id = 0;
          if (wire.redirect === "error") {
            throw new TypeError(
              `Fetch failed: ${serializeURL(record, true)} redirected (${status}) and the ` +
                'request\'s redirect mode is "error".',
            );
          }
          const next = parseURL(`${location}`, record);
          if (next === null) {
            throw new TypeError(`Fetch failed: the redirect location "${location}" is not a valid URL.`);
          }
          if (next.scheme !== "http" && next.scheme !== "https") {
            throw new TypeError(`Fetch API cannot load: ${serializeURL(next, true)} (a redirect target).`);
          }
          if (redirects >= kMaxRedirects) {
            throw new TypeError(`Fetch failed: too many redirects (more than ${kMaxRedirects}).`);
          }
          redirects++;
          // A streamed body is gone once sent: only a 303 (which drops it)
          // can be followed.
          if (status !== 303 && streamed) {
            throw new TypeError(
              `Fetch failed: cannot follow a ${status} redirect with a streamed request body ` +
                "(it cannot be sent again).",
            );
          }
          if (
            ((status === 301 || status === 302) && method === "POST") ||
            (status === 303 && method !== "GET" && method !== "HEAD")
          ) {
            method = "GET";
            if (streamed) {
              const reader = state.uploadReader;
              state.uploadReader = null;
              if (reader !== null) PromisePrototypeThen(reader.cancel(), undefined, noop);
              else PromisePrototypeThen(readableStreamCancel(body, undefined), undefined, noop);
            }
            body = null;
            headers = withoutHeaders(headers, [
              "content-encoding",
              "content-language",
              "content-location",
              "content-type",
              "content-length",
            ]);
          }
          if (serializeURLOrigin(record) !== serializeURLOrigin(next)) {
            headers = withoutHeaders(headers, ["authorization"]);
          }
          url = serializeURL(next);
          continue;
        }
      }

      const stream = hasBody ? makeBodyStream(state, id) : null;
      if (stream !== null) {
        const length = declaredLength(responseHeaders);
        if (length !== undefined) internals.setStreamLength(stream, length);
      }
      const response = makeResponse(
        status,
        head[1],
        responseHeaders,
        stream,
        serializeURL(record, true),
        redirects > 0,
      );
      state.responded = true;
      if (!hasBody) finish(state);
      state.resolve(response);
      return;
    }
  } catch (error) {
    fail(state, error);
  }
}

function startFetch(wire) {
  const invocation = currentInvocation();
  return new PromiseCtor((resolve, reject) => {
    const state = new FetchState(wire, invocation);
    state.resolve = resolve;
    state.reject = reject;
    const body = wire.body;
    const cancelBody = (reason) => {
      if (body !== null && typeof body === "object" && isReadableStream(body)) {
        PromisePrototypeThen(readableStreamCancel(body, reason), undefined, noop);
      }
    };
    if (!hasNatives) {
      reject(new TypeError("fetch() is not available in this runtime."));
      return;
    }
    if (invocation !== undefined && invocation.ended) {
      reject(new TypeError("The invocation that made this fetch() has ended."));
      return;
    }
    const signal = state.signal;
    if (signal !== null && typeof signal === "object") {
      if (signal.aborted) {
        const reason = abortReason(signal);
        cancelBody(reason);
        reject(reason);
        return;
      }
      if (typeof signal.addEventListener === "function") {
        state.onAbort = () => fail(state, abortReason(signal));
        signal.addEventListener("abort", state.onAbort, { once: true });
      }
    }
    if (invocation !== undefined) invocationHold(invocation, state, endedWithInvocation);
    runHops(state, wire);
  });
}

// fetch() with `Upgrade: websocket` (Workers' WebSocket client): a GET
// to an http:, https:, ws: or wss: URL, never redirected. A 101 gives a
// Response whose `webSocket` waits for accept() (or goes on in a 101 of the
// worker's own); another status gives that response, and its body when
// short (bindings/websocket/websocket_client.h).
function fetchWebSocket(wire) {
  try {
    const record = parseURL(wire.url);
    if (record === null || (record.scheme !== "http" && record.scheme !== "https" &&
        record.scheme !== "ws" && record.scheme !== "wss")) {
      throw new TypeError(`Fetch API cannot load: ${wire.url}`);
    }
    if (wire.method !== "GET") {
      throw new TypeError("A WebSocket handshake (Upgrade: websocket) must be a GET request.");
    }
    if (wire.body !== null && wire.body !== undefined) {
      throw new TypeError("A WebSocket handshake (Upgrade: websocket) cannot have a body.");
    }
    const signal = wire.signal;
    if (signal !== null && typeof signal === "object" && signal.aborted) throw abortReason(signal);
    // The subprotocols asked for, so the server's choice can be checked.
    const headers = [];
    const protocols = [];
    const source = wire.headers;
    for (let i = 0; i < source.length; i += 2) {
      const name = StringPrototypeToLowerCase(source[i]);
      if (name === "sec-websocket-protocol") {
        const value = source[i + 1];
        let start = 0;
        while (start <= value.length) {
          let end = StringPrototypeIndexOf(value, ",", start);
          if (end === -1) end = value.length;
          const item = StringPrototypeTrim(StringPrototypeSlice(value, start, end));
          if (item !== "") ArrayPrototypePush(protocols, item);
          start = end + 1;
        }
        continue;
      }
      ArrayPrototypePush(headers, source[i], source[i + 1]);
    }
    const url = serializeURL(record, true);
    return PromisePrototypeThen(internals.openWebSocket(record, headers, protocols), (result) => {
      if (result[0] !== 0) {
        const ws = internals.newClientWebSocket(result[0], url, result[5]);
        return makeResponse(101, result[2], result[3], null, url, false, ws);
      }
      return makeResponse(result[1], result[2], result[3], result[4], url, false);
    });
  } catch (error) {
    return PromiseReject(error);
  }
}

function fetch(input, init = undefined) {
  if (arguments.length === 0) {
    return PromiseReject(tooFewArguments(0, 1, "Failed to execute 'fetch' on 'WorkerGlobalScope'"));
  }
  let wire;
  try {
    wire = requestForWire(new Request(input, init));
  } catch (error) {
    return PromiseReject(error);
  }
  const headers = wire.headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (StringPrototypeToLowerCase(headers[i]) === "upgrade" &&
        StringPrototypeToLowerCase(StringPrototypeTrim(headers[i + 1])) === "websocket") {
      return fetchWebSocket(wire);
    }
  }
  return startFetch(wire);
}

internals.fetch = fetch;
// A global like WebIDL's operations: writable, configurable, not enumerable.
ObjectDefineProperty(globalThis, "fetch", {
  value: fetch,
  writable: true,
  enumerable: false,
  configurable: true,
});
