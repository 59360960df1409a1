// The request path inside the isolate: builds the Request a worker sees,
// runs its fetch handler (module `export default { fetch }` or a
// service-worker "fetch" listener), and sends the Response back through the
// response natives. Every failure of the worker's code ends as a 500 for that
// request and a log line with the JS stack; the isolate goes on serving.

const { Event, Response, makeRequest, responseForWire, reportError, isUint8Array } = internals;
// The invocation's bookkeeping and the bytes sent use built-ins captured
// before tenant code runs (runtime/js/primordials.js); TypeError and Promise
// are the originals, whatever the worker put on globalThis.
const {
  ErrorCtor, PromiseResolve, SafeMap, StringCtor, TypeErrorCtor: TypeError, PromiseCtor: Promise,
} = internals.primordials;

// Settles `value` (a promise, a thenable or a plain value) into onValue or
// onError. It waits with `await`, which, unlike a call to then(), looks up
// neither Promise.prototype.then nor Symbol.species: a worker that patched
// them still gets its response sent or its failure reported.
async function whenSettled(value, onValue, onError) {
  let settled;
  try {
    settled = await value;
  } catch (error) {
    onError(error);
    return;
  }
  onValue(settled);
}

function describe(error) {
  if (error instanceof ErrorCtor || (error !== null && typeof error === "object" && "stack" in error)) {
    return StringCtor(error.stack || error);
  }
  return "Uncaught " + internals.inspect(error);
}

// How long waitUntil work may run after the response before the invocation
// ends anyway (Workers' limit: 30 s; tests shorten it).
let waitUntilLimitMs = 30000;
internals.setWaitUntilLimit = (ms) => {
  waitUntilLimitMs = ms;
};

// One request's lifetime: its invocation ends (its timers are cleared and
// its open fetches cancelled, runtime/js/invocation.js) once its response
// has ended and its waitUntil promises have settled, or the waitUntil limit
// after the response, whichever comes first. A record the tenant never sees.
function makeLifetime(invocation) {
  return { __proto__: null, invocation, responded: false, waiting: 0, deadline: 0 };
}

function endLifetime(life) {
  if (life.deadline !== 0) {
    native.clearTimer(life.deadline);
    life.deadline = 0;
  }
  internals.endInvocation(life.invocation);
}

// The response has ended (sent, failed, or its client went away).
function responseEnded(life) {
  if (life.responded) return;
  life.responded = true;
  if (life.waiting === 0) {
    endLifetime(life);
    return;
  }
  life.deadline = native.setTimer(() => {
    life.deadline = 0;
    endLifetime(life);
  }, waitUntilLimitMs, false);
}

// ctx.waitUntil / event.waitUntil: the worker version stays loaded until the
// promise settles (a reload waits for it, up to the runtime's bound), and so
// does the request's invocation (up to the waitUntil limit after the
// response); a rejection is reported, never thrown.
function extendLifetime(promise, life) {
  native.holdWorker(1);
  const counted = life !== undefined && !life.invocation.ended;
  if (counted) life.waiting++;
  const settled = () => {
    native.holdWorker(-1);
    if (!counted) return;
    life.waiting--;
    if (life.responded && life.waiting === 0) endLifetime(life);
  };
  whenSettled(promise, settled, (error) => {
    settled();
    reportError(error);
  });
}

// `ctx` of a module worker's fetch(request, env, ctx).
class ExecutionContext {
  #life;
  constructor(life = undefined) {
    this.#life = life;
  }
  waitUntil(promise) {
    if (arguments.length === 0) {
      throw new TypeError("Failed to execute 'waitUntil' on 'ExecutionContext': 1 argument required");
    }
    extendLifetime(promise, this.#life);
  }
  passThroughOnException() {
    // There is no origin behind `edge dev` to pass through to: errors still
    // become a 500, which is what Workers does without a route origin.
  }
  get [Symbol.toStringTag]() {
    return "ExecutionContext";
  }
}

// The event a service-worker script's "fetch" listener receives.
class FetchEvent extends Event {
  #request;
  #response = null;
  #life;
  constructor(type, init, life = undefined) {
    super(type, init);
    this.#request = init.request;
    this.#life = life;
  }
  get request() {
    return this.#request;
  }
  respondWith(response) {
    if (this.#response !== null) {
      throw new internals.DOMException("respondWith() was already called", "InvalidStateError");
    }
    this.#response = PromiseResolve(response);
    this.stopImmediatePropagation();
  }
  waitUntil(promise) {
    extendLifetime(promise, this.#life);
  }
  passThroughOnException() {}
  get [Symbol.toStringTag]() {
    return "FetchEvent";
  }
  static responseOf(event) {
    return event.#response;
  }
}

// Sends a stream body as it is produced. The reader is never released: the
// Response is spent, and nobody else can see the lock.
async function sendBody(id, stream) {
  const reader = stream.getReader();
  for (;;) {
    if (native.responseAborted(id)) {
      await reader.cancel(new internals.DOMException("The client went away", "AbortError"));
      return;
    }
    const { value, done } = await reader.read();
    if (done) break;
    if (!isUint8Array(value)) {
      const error = new TypeError("A response body stream must produce Uint8Array chunks");
      await reader.cancel(error);
      throw error;
    }
    if (native.responseWrite(id, value)) {
      await new Promise((resolve) => native.responseOnDrain(id, resolve));
    }
  }
  native.responseFinish(id);
}

function send(id, response) {
  if (!(response instanceof Response)) {
    const got = response === null ? "null" : typeof response;
    throw new TypeError(`The worker's fetch handler did not return a Response (got ${got})`);
  }
  const wire = responseForWire(response);
  if (wire.status === 0) throw new TypeError("The worker returned Response.error()");
  const body = wire.body;
  if (body === null || typeof body === "string" || body instanceof Uint8Array) {
    // The whole response in one call: status, headers and body bytes.
    native.responseSend(id, wire.status, wire.statusText, wire.headers, body);
    return undefined;
  }
  // A stream the runtime knows the length of goes out with a Content-Length.
  const length = internals.streamKnownLength(body);
  native.responseStart(id, wire.status, wire.statusText, wire.headers, length === undefined ? -1 : length);
  return sendBody(id, body);
}

// Request bodies still arriving: a byte stream fed by the gateway as the
// client sends, paused (the socket stops being read) while the worker does
// not keep up.
const uploads = new SafeMap();

internals.uploadEvent = (id, event, value) => {
  const controller = uploads.get(id);
  if (controller === undefined) return;
  if (event === "data") {
    controller.enqueue(value);
    if (controller.desiredSize <= 0) native.uploadPause(id, true);
  } else if (event === "end") {
    uploads.delete(id);
    controller.close();
  } else {
    uploads.delete(id);
    controller.error(new TypeError(`The request body could not be read: ${value}`));
  }
};

function makeUploadStream(id) {
  return new internals.ReadableStream(
    {
      type: "bytes",
      start(controller) {
        uploads.set(id, controller);
        native.uploadRead(id);
      },
      pull() {
        native.uploadPause(id, false);
      },
      cancel() {
        uploads.delete(id);
        native.uploadCancel(id);
      },
    },
    { highWaterMark: 64 * 1024 },
  );
}

// Sends what the handler produced; any failure, now or while a streamed
// body is read, ends the response as a failure. Either way `life` is told
// when the response has ended.
function respond(id, response, life) {
  try {
    const streaming = send(id, response);
    if (streaming === undefined) {
      responseEnded(life);
      return;
    }
    whenSettled(
      streaming,
      () => responseEnded(life),
      (error) => {
        fail(id, error);
        responseEnded(life);
      },
    );
  } catch (error) {
    fail(id, error);
    responseEnded(life);
  }
}

// Never throws: what the worker threw may be a revoked Proxy, or have a
// `stack` getter that throws, and the response must end anyway.
function fail(id, error) {
  let text;
  try {
    text = describe(error);
  } catch {
    text = "Uncaught exception (the value thrown could not be described)";
  }
  native.responseFail(id, text);
}

// Called once after the worker's modules ran, with the entry module's default
// export (undefined for a service-worker script). Returns the function the
// C++ side calls per request.
internals.prepareFetchHandler = function prepareFetchHandler(exported) {
  let invoke;
  if (exported !== undefined && exported !== null && typeof exported.fetch === "function") {
    invoke = (request, env, life) => exported.fetch(request, env, new ExecutionContext(life));
  } else if (internals.globalEventTarget && internals.hasFetchListener()) {
    invoke = (request, env, life) => {
      const event = new FetchEvent("fetch", { request }, life);
      internals.globalEventTarget.dispatchEvent(event);
      const response = FetchEvent.responseOf(event);
      if (response === null) {
        throw new TypeError("No response: the fetch event handler did not call respondWith()");
      }
      return response;
    };
  } else {
    throw new TypeError(
      "The worker has no fetch handler: export default { fetch(request, env, ctx) { ... } } " +
        'or call addEventListener("fetch", ...)'
    );
  }

  return function dispatchFetch(id, method, url, headers, body, env, upload, cfJson) {
    if (upload !== 0) body = makeUploadStream(upload);
    let result;
    // The invocation's subrequest count; V8 carries it to every promise
    // reaction the handler sets up (see runtime/js/invocation.js).
    const life = makeLifetime(internals.beginInvocation(undefined, id));
    try {
      // request.cf: what the node knows of the request (its colo, as on
      // Workers), parsed when the handler first reads it.
      const request = makeRequest(method, url, headers, body, cfJson);
      result = invoke(request, env, life);
    } catch (error) {
      fail(id, error);
      responseEnded(life);
      return;
    } finally {
      internals.leaveInvocation();
    }
    let thenable = false;
    try {
      thenable = result !== null && typeof result === "object" && typeof result.then === "function";
    } catch (error) {
      fail(id, error);
      responseEnded(life);
      return;
    }
    if (thenable) {
      whenSettled(
        result,
        (response) => respond(id, response, life),
        (error) => {
          fail(id, error);
          responseEnded(life);
        },
      );
    } else {
      respond(id, result, life);
    }
  };
};
