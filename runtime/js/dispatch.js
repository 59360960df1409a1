// The request path inside the isolate: builds the Request a worker sees,
// runs its fetch handler (module `export default { fetch }` or a
// service-worker "fetch" listener), and sends the Response back through the
// response natives. Every failure of the worker's code ends as a 500 for that
// request and a log line with the JS stack; the isolate goes on serving.

const { Event, Response, createDataProperty, makeRequest, responseForWire, reportError, isUint8Array } = internals;
// The invocation's bookkeeping and the bytes sent use built-ins captured
// before tenant code runs (runtime/js/primordials.js); TypeError and Promise
// are the originals, whatever the worker put on globalThis.
const {
  ErrorCtor, ObjectGetPrototypeOf, PromiseResolve, SafeMap, StringCtor, TypeErrorCtor: TypeError, PromiseCtor: Promise,
  ObjectGetOwnPropertyDescriptor, ObjectPrototype, ObjectPrototypeHasOwnProperty, ReflectApply, ArrayIsArray,
  NumberCtor, RegExpTest, StringPrototypeToLowerCase, StringPrototypeTrim,
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
// A scheduled invocation also keeps `whenIdle` (called when its last
// waitUntil promise settles before it has "responded") and the first
// rejection of its waitUntil promises.
// The lifetime is kept on its invocation (`invocation.lifetime`), where
// `waitUntil` imported from cloudflare:workers finds it.

function makeLifetime(invocation) {
  const life = {
    __proto__: null, invocation, responded: false, waiting: 0, deadline: 0,
    whenIdle: undefined, rejected: false, rejection: undefined, sockets: 0, waitExpired: false,
  };
  invocation.lifetime = life;
  return life;
}

// cloudflare:workers' `waitUntil(promise)`: ctx.waitUntil of the invocation
// the caller runs in.
internals.waitUntil = function waitUntil(promise) {
  if (arguments.length === 0) {
    throw new TypeError("Failed to execute 'waitUntil': 1 argument required");
  }
  const invocation = internals.currentInvocation();
  const life = invocation === undefined ? undefined : invocation.lifetime;
  if (life === undefined) {
    throw new TypeError("waitUntil() can only be called while a request or event is being handled.");
  }
  extendLifetime(promise, life);
};

// Whether the invocation may end: its response ended, its waitUntil work
// settled (or had its time), and no WebSocket it accepted is open.
function lifetimeOver(life) {
  return life.responded && life.sockets === 0 && (life.waiting === 0 || life.waitExpired);
}

// A WebSocket the invocation accepted keeps it (its timers, its fetches,
// its subrequest count) until the socket closes, as on Workers; returns
// the release, called once when it does.
internals.holdLifetime = (invocation) => {
  const life = invocation === undefined ? undefined : invocation.lifetime;
  if (life === undefined || invocation.ended) return () => {};
  life.sockets++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    life.sockets--;
    if (lifetimeOver(life)) endLifetime(life);
  };
};

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
  if (lifetimeOver(life)) {
    endLifetime(life);
    return;
  }
  if (life.waiting === 0) return;  // an open WebSocket holds it
  life.deadline = native.setTimer(() => {
    life.deadline = 0;
    life.waitExpired = true;
    if (lifetimeOver(life)) endLifetime(life);
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
    if (life.waiting !== 0) return;
    if (life.responded) {
      if (lifetimeOver(life)) endLifetime(life);
    } else if (life.whenIdle !== undefined) {
      life.whenIdle();
    }
  };
  whenSettled(promise, settled, (error) => {
    if (counted && !life.rejected) {
      life.rejected = true;
      life.rejection = error;
    }
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

// Workers' class-based entrypoint (`cloudflare:workers`):
//   export default class extends WorkerEntrypoint { fetch(request) { ... } }
// A new instance per invocation, made with the invocation's ctx and the
// worker's env, which it keeps as `this.ctx` and `this.env` (own data
// properties, whatever Object.prototype holds); its handler methods take the
// event's own arguments only.
class WorkerEntrypoint {
  constructor(ctx, env) {
    createDataProperty(this, "ctx", ctx);
    createDataProperty(this, "env", env);
  }
}
internals.WorkerEntrypoint = WorkerEntrypoint;

// Whether `exported` is a class deriving from WorkerEntrypoint (at most 64
// classes deep: a longer chain is not one).
function isEntrypointClass(exported) {
  if (typeof exported !== "function") return false;
  let current = exported;
  for (let depth = 0; depth < 64 && current !== null; depth++) {
    current = ObjectGetPrototypeOf(current);
    if (current === WorkerEntrypoint) return true;
  }
  return false;
}

// The handler `name` of a WorkerEntrypoint class, looked up on its
// prototype, or undefined.
function entrypointMethod(exported, name) {
  if (!isEntrypointClass(exported)) return undefined;
  const method = exported.prototype[name];
  return typeof method === "function" ? method : undefined;
}

// JS RPC (cloudflare:workers): a service binding's caller calls a method
// of this worker's WorkerEntrypoint class, or reads one of its properties
// (bindings/service/service.js). What the caller may reach is what the
// class and its parents up to WorkerEntrypoint define on their prototypes
// (methods, getters, data): never the instance's own properties (this.env,
// this.ctx, fields), never `constructor`, the HTTP handler `fetch` or
// `connect`, never what Object.prototype holds, and never a private `#x`.
const kReservedRpcNames = new internals.primordials.SafeSet(["constructor", "fetch", "connect"]);

function rpcNotImplemented(name) {
  return new TypeError(`The RPC receiver does not implement the method "${name}".`);
}

// The property `name` of `instance` (of the entrypoint class `exported`)
// that a caller may reach, as { value } (a getter is called), or undefined.
function rpcMember(exported, instance, name) {
  if (kReservedRpcNames.has(name)) return undefined;
  let prototype = exported.prototype;
  for (let depth = 0; depth < 64; depth++) {
    if (prototype === null || typeof prototype !== "object" && typeof prototype !== "function" ||
        prototype === WorkerEntrypoint.prototype || prototype === ObjectPrototype) {
      return undefined;
    }
    const descriptor = ObjectGetOwnPropertyDescriptor(prototype, name);
    if (descriptor !== undefined) {
      // Own fields of the descriptor only: Object.prototype may hold a
      // `get` or a `value` of its own.
      if (ObjectPrototypeHasOwnProperty(descriptor, "value")) return { __proto__: null, value: descriptor.value };
      const getter = ObjectPrototypeHasOwnProperty(descriptor, "get") ? descriptor.get : undefined;
      if (getter === undefined) return undefined;
      return { __proto__: null, value: ReflectApply(getter, instance, []) };
    }
    prototype = ObjectGetPrototypeOf(prototype);
  }
  return undefined;
}

// Runs one RPC call: `kind` "call" (with `args`, the deserialized argument
// list) or "get". Returns what the method returned (or the property's
// value); throws what it threw.
function invokeRpc(exported, kind, name, args, env, life) {
  if (!isEntrypointClass(exported)) {
    throw new TypeError(
      "The receiving Worker does not allow its methods to be called over RPC: its entrypoint is not " +
        "a class extending WorkerEntrypoint (cloudflare:workers)");
  }
  const instance = new exported(new ExecutionContext(life), env);
  const member = rpcMember(exported, instance, name);
  if (member === undefined) throw rpcNotImplemented(name);
  if (kind === "get") return member.value;
  if (typeof member.value !== "function") throw rpcNotImplemented(name);
  return ReflectApply(member.value, instance, args);
}

// Sends an RPC call's outcome as the response: the value returned or
// thrown, serialized; a result that cannot be serialized is the caller's
// DataCloneError (as on Workers).
function sendRpcOutcome(id, threw, value, life) {
  let status = threw ? native.rpcThrew : native.rpcReturned;
  let bytes;
  try {
    bytes = native.rpcSerialize(value, threw ? "RPC errors" : "RPC results");
  } catch (error) {
    // What serializing threw: a DataCloneError, the size limit's
    // RangeError, or what a getter of the value threw; the caller gets it.
    bytes = undefined;
    if (!internals.isDOMException(error)) {
      try {
        bytes = native.rpcSerialize(error, "RPC errors");
        status = native.rpcThrew;
      } catch {
        bytes = undefined;
      }
    }
    if (bytes === undefined) {
      // The DataCloneError's message, as a serialized string (a string
      // always serializes, up to the size limit).
      status = native.rpcNotCloned;
      try {
        bytes = native.rpcSerialize(StringCtor(error.message), "RPC errors");
      } catch {
        bytes = native.rpcSerialize("The RPC result could not be serialized.", "RPC errors");
      }
    }
  }
  native.responseSend(id, status, "", [], bytes);
  responseEnded(life);
}

// `entrypoint`: the named export the service binding names ("": the
// default export, `exported`).
function dispatchRpc(id, exported, entrypoint, kind, name, body, env) {
  const life = makeLifetime(internals.beginInvocation(undefined, id));
  let result;
  try {
    if (exported === undefined && entrypoint !== "") {
      throw new TypeError(`The worker has no entrypoint named "${entrypoint}" (a named export of its main module)`);
    }
    const args = kind === "call" ? native.rpcDeserialize([body]) : undefined;
    if (kind === "call" && !ArrayIsArray(args)) {
      throw new TypeError("The RPC arguments are not a list");
    }
    result = invokeRpc(exported, kind, name, args, env, life);
  } catch (error) {
    sendRpcOutcome(id, true, error, life);
    return;
  } finally {
    internals.leaveInvocation();
  }
  whenSettled(
    result,
    (value) => sendRpcOutcome(id, false, value, life),
    (error) => sendRpcOutcome(id, true, error, life),
  );
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
  if (wire.webSocket !== null) {
    // A 101: the connection becomes the WebSocket's peer, and the response
    // is over (a request that was no WebSocket handshake fails with 500).
    internals.acceptWebSocketResponse(id, wire.webSocket, wire.headers);
    return undefined;
  }
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

const decimalRegExp = /^[0-9]{1,15}$/;

// The Content-Length of a message whose body arrives as sent (no
// Content-Encoding), from its flat [name, value, ...] header list: what
// R2's put() needs to take a request's (or a fetched response's) body.
function declaredLength(flat) {
  let length;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = StringPrototypeToLowerCase(`${flat[i]}`);
    if (name === "content-encoding" &&
        StringPrototypeToLowerCase(StringPrototypeTrim(`${flat[i + 1]}`)) !== "identity") {
      return undefined;
    }
    if (name === "content-length") {
      const value = StringPrototypeTrim(`${flat[i + 1]}`);
      if (!RegExpTest(decimalRegExp, value)) return undefined;
      length = NumberCtor(value);
    }
  }
  return length;
}
internals.declaredLength = declaredLength;

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
  native.responseFail(id, text, error);
}

// Called once after the worker's modules ran, with the entry module's default
// export (undefined for a service-worker script). Returns the function the
// C++ side calls per request.
// `named`: the entry module's namespace, where a service binding's named
// entrypoint is found (undefined for a service-worker script).
internals.prepareFetchHandler = function prepareFetchHandler(exported, named = undefined) {
  // A named entrypoint's fetch: a WorkerEntrypoint class or an object with
  // a fetch method, as for the default export.
  const namedFetch = (name, request, env, life) => {
    const target = named === undefined ? undefined : named[name];
    if (entrypointMethod(target, "fetch") !== undefined) {
      return new target(new ExecutionContext(life), env).fetch(request);
    }
    if (!isEntrypointClass(target) && target !== undefined && target !== null && typeof target.fetch === "function") {
      return target.fetch(request, env, new ExecutionContext(life));
    }
    throw new TypeError(target === undefined
      ? `The worker has no entrypoint named "${name}" (a named export of its main module)`
      : `The entrypoint "${name}" has no fetch handler`);
  };
  let invoke;
  if (entrypointMethod(exported, "fetch") !== undefined) {
    invoke = (request, env, life) => new exported(new ExecutionContext(life), env).fetch(request);
  } else if (exported !== undefined && exported !== null && typeof exported.fetch === "function") {
    invoke = (request, env, life) => exported.fetch(request, env, new ExecutionContext(life));
  } else if (isEntrypointClass(exported)) {
    // A WorkerEntrypoint with no fetch method (called over RPC only).
    invoke = () => {
      throw new TypeError("The worker's WorkerEntrypoint has no fetch() method");
    };
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
  } else if (hasScheduledHandler(exported) || hasQueueHandler(exported)) {
    // A worker with only a scheduled or queue handler loads; a request to it fails.
    invoke = () => {
      throw new TypeError(
        "The worker has no fetch handler (it has only a scheduled or queue handler): " +
          "export default { fetch(request, env, ctx) { ... } } or call addEventListener(\"fetch\", ...)"
      );
    };
  } else {
    throw new TypeError(
      "The worker has no fetch handler: export default { fetch(request, env, ctx) { ... } } " +
        'or call addEventListener("fetch", ...) (or a scheduled handler for cron triggers)'
    );
  }

  return function dispatchFetch(id, method, url, headers, body, env, upload, cfJson, entrypoint, rpc, rpcMethod) {
    const hasEntrypoint = entrypoint !== undefined && entrypoint !== "";
    if (rpc === "call" || rpc === "get") {
      const target = !hasEntrypoint ? exported : named === undefined ? undefined : named[entrypoint];
      dispatchRpc(id, target, hasEntrypoint ? entrypoint : "", rpc, rpcMethod, body, env);
      return;
    }
    if (upload !== 0) {
      body = makeUploadStream(upload);
      const length = declaredLength(headers);
      if (length !== undefined) internals.setStreamLength(body, length);
    }
    let result;
    // The invocation's subrequest count; V8 carries it to every promise
    // reaction the handler sets up (see runtime/js/invocation.js).
    const life = makeLifetime(internals.beginInvocation(undefined, id));
    try {
      // request.cf: what the node knows of the request (its colo, as on
      // Workers), parsed when the handler first reads it.
      const request = makeRequest(method, url, headers, body, cfJson);
      result = hasEntrypoint ? namedFetch(entrypoint, request, env, life) : invoke(request, env, life);
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

// Scheduled invocations (cron triggers): the second kind of invocation
// beside fetch. It has the same lifetime as a request's (its timers and
// fetches end with it, its waitUntil work is bounded), and its outcome
// travels through the same response channel, so the host meters and logs
// it like a request: a 200 "Ran scheduled event" once the handler and
// every waitUntil promise settled, or a failure naming what was thrown
// (by the handler, a listener, or a waitUntil promise that rejected).

function hasScheduledHandler(exported) {
  if (entrypointMethod(exported, "scheduled") !== undefined) return true;
  if (exported !== undefined && exported !== null && typeof exported.scheduled === "function") return true;
  return internals.globalEventTarget !== undefined &&
    internals.hasEventListeners(internals.globalEventTarget, "scheduled");
}

// `controller` of a module worker's scheduled(controller, env, ctx).
class ScheduledController {
  #cron;
  #scheduledTime;
  #life;
  constructor(cron, scheduledTime, life) {
    this.#cron = cron;
    this.#scheduledTime = scheduledTime;
    this.#life = life;
  }
  get cron() {
    return this.#cron;
  }
  get scheduledTime() {
    return this.#scheduledTime;
  }
  get type() {
    return "scheduled";
  }
  // edge never retries a failed scheduled event (docs/triggers.md): there
  // is nothing to stop, but the call is Workers' API and is accepted.
  noRetry() {
    this.#life.noRetry = true;
  }
  get [Symbol.toStringTag]() {
    return "ScheduledController";
  }
}

// The event a service-worker script's "scheduled" listener receives.
class ScheduledEvent extends Event {
  #cron;
  #scheduledTime;
  #life;
  constructor(type, cron, scheduledTime, life) {
    super(type, { __proto__: null });
    this.#cron = cron;
    this.#scheduledTime = scheduledTime;
    this.#life = life;
  }
  get cron() {
    return this.#cron;
  }
  get scheduledTime() {
    return this.#scheduledTime;
  }
  noRetry() {
    this.#life.noRetry = true;
  }
  waitUntil(promise) {
    if (arguments.length === 0) {
      throw new TypeError("Failed to execute 'waitUntil' on 'ScheduledEvent': 1 argument required");
    }
    extendLifetime(promise, this.#life);
  }
  get [Symbol.toStringTag]() {
    return "ScheduledEvent";
  }
}

// The handler and its waitUntil work are done (or it threw): the outcome
// goes out, and the lifetime ends as a request's does after its response.
// `outcome` says how: succeed() sends the success, failed(error) or
// failed(undefined, text) the failure.
function finishBackground(life, threw, error, outcome) {
  if (threw) {
    outcome.failed(error);
    responseEnded(life);
    return;
  }
  const done = () => {
    life.whenIdle = undefined;
    if (life.deadline !== 0) {
      native.clearTimer(life.deadline);
      life.deadline = 0;
    }
    if (life.rejected) {
      outcome.failed(life.rejection);
    } else {
      outcome.succeed();
    }
    responseEnded(life);
  };
  if (life.waiting === 0) {
    done();
    return;
  }
  life.whenIdle = done;
  // waitUntil work that never settles ends the invocation at the limit.
  life.deadline = native.setTimer(() => {
    life.deadline = 0;
    life.whenIdle = undefined;
    outcome.failed(undefined, `waitUntil() work did not settle within ${waitUntilLimitMs / 1000} s`);
    life.responded = true;
    endLifetime(life);
  }, waitUntilLimitMs, false);
}

function scheduledOutcome(id) {
  return {
    __proto__: null,
    succeed: () =>
      native.responseSend(id, 200, "OK", ["content-type", "text/plain;charset=UTF-8"], "Ran scheduled event"),
    failed: (error, text) => (text === undefined ? fail(id, error) : native.responseFail(id, text)),
  };
}

// Runs a background handler (`invoke(life)`) to its outcome.
function runBackground(id, invoke, outcome) {
  const life = makeLifetime(internals.beginInvocation(undefined, id));
  let result;
  try {
    result = invoke(life);
  } catch (error) {
    finishBackground(life, true, error, outcome);
    return;
  } finally {
    internals.leaveInvocation();
  }
  whenSettled(
    result,
    () => finishBackground(life, false, undefined, outcome),
    (error) => finishBackground(life, true, error, outcome),
  );
}

// Workflow runs (bindings/workflows/workflow.js) are background
// invocations too, with the same lifetime and `ctx`.
internals.runBackground = runBackground;
internals.makeExecutionContext = (life) => new ExecutionContext(life);

// Called once after the worker's modules ran, like prepareFetchHandler.
// Returns the function the C++ side calls per scheduled event; without a
// scheduled handler, that function fails the invocation with a clear error.
internals.prepareScheduledHandler = function prepareScheduledHandler(exported) {
  let invoke;
  if (entrypointMethod(exported, "scheduled") !== undefined) {
    invoke = (cron, scheduledTime, env, life) =>
      new exported(new ExecutionContext(life), env).scheduled(new ScheduledController(cron, scheduledTime, life));
  } else if (exported !== undefined && exported !== null && typeof exported.scheduled === "function") {
    invoke = (cron, scheduledTime, env, life) =>
      exported.scheduled(new ScheduledController(cron, scheduledTime, life), env, new ExecutionContext(life));
  } else {
    invoke = (cron, scheduledTime, env, life) => {
      if (!hasScheduledHandler(undefined)) {
        throw new TypeError(
          "The worker has no scheduled handler: export default { scheduled(controller, env, ctx) { ... } } " +
            'or call addEventListener("scheduled", ...)'
        );
      }
      const event = new ScheduledEvent("scheduled", cron, scheduledTime, life);
      const dispatched = internals.dispatchCollectingErrors(internals.globalEventTarget, event);
      if (dispatched.threw) throw dispatched.error;
      return undefined;
    };
  }

  return function dispatchScheduled(id, cron, scheduledTime, env) {
    runBackground(id, (life) => invoke(cron, scheduledTime, env, life), scheduledOutcome(id));
  };
};

// Queue batches (`[[queues.consumers]]`): the third kind of invocation,
// with the scheduled one's lifetime and CPU limit. Its outcome carries
// what the handler decided for each message, as Workers' rules say
// (https://developers.cloudflare.com/queues/configuration/batching-retries/):
// an explicit ack() or retry() on a message wins; then retryAll() or
// ackAll() for the messages left; a call after the opposite one has no
// effect. The host acks what is left undecided when the handler succeeds
// and retries it when the handler fails.
const { MathTrunc, NumberIsNaN, RangeErrorCtor: RangeError } = internals.primordials;
const OriginalDate = Date;
const SafeInt32Array = Int32Array;
const ObjectFreeze = Object.freeze;

// The codes the host reads (runtime/worker.h, Worker::Queue).
const kUndecided = -1;
const kAck = -2;
const kRetryDefault = -3;
const kMaxRetryDelaySeconds = 43200;

function hasQueueHandler(exported) {
  if (entrypointMethod(exported, "queue") !== undefined) return true;
  if (exported !== undefined && exported !== null && typeof exported.queue === "function") return true;
  return internals.globalEventTarget !== undefined && internals.hasEventListeners(internals.globalEventTarget, "queue");
}

// retry({ delaySeconds }) and retryAll({ delaySeconds }): the delay, or
// kRetryDefault (the consumer's retry_delay).
function retryDelay(method, options) {
  if (options === undefined || options === null) return kRetryDefault;
  if (typeof options !== "object") {
    throw new TypeError(`Failed to execute '${method}': parameter 1 is not of type 'QueueRetryOptions'.`);
  }
  const delay = options.delaySeconds;
  if (delay === undefined) return kRetryDefault;
  const seconds = MathTrunc(NumberCtor(delay));
  if (NumberIsNaN(seconds) || seconds < 0 || seconds > kMaxRetryDelaySeconds) {
    throw new RangeError(`delaySeconds must be a number from 0 to ${kMaxRetryDelaySeconds} (got ${seconds})`);
  }
  return seconds;
}

// What the handler decided, shared by the batch and its messages; never
// reachable by the worker. A typed array and string concatenation: no
// setter or method a worker put on Array.prototype runs.
function makeDecisions(count) {
  const each = new SafeInt32Array(count);
  for (let i = 0; i < count; i++) each[i] = kUndecided;
  return { __proto__: null, each, count, all: kUndecided };
}

function encodeDecisions(decisions) {
  let out = "[";
  for (let i = 0; i < decisions.count; i++) {
    let code = decisions.each[i];
    if (code === kUndecided && decisions.all !== kUndecided) code = decisions.all;
    out += (i === 0 ? "" : ",") + code;
  }
  return out + "]";
}

class Message {
  #id;
  #timestamp;
  #body;
  #attempts;
  #decisions;
  #index;
  constructor(token, fields, decisions, index) {
    if (token !== kCreateQueueObject) throw internals.illegalConstructor();
    this.#id = fields[0];
    this.#timestamp = fields[1];
    this.#body = fields[2];
    this.#attempts = fields[3];
    this.#decisions = decisions;
    this.#index = index;
  }
  get id() {
    return this.#id;
  }
  get timestamp() {
    return new OriginalDate(this.#timestamp);
  }
  get body() {
    return this.#body;
  }
  get attempts() {
    return this.#attempts;
  }
  ack() {
    const decisions = this.#decisions;
    if (decisions.all !== kUndecided || decisions.each[this.#index] !== kUndecided) return;
    decisions.each[this.#index] = kAck;
  }
  retry(options = undefined) {
    const delay = retryDelay("retry", options);
    const decisions = this.#decisions;
    if (decisions.all !== kUndecided || decisions.each[this.#index] !== kUndecided) return;
    decisions.each[this.#index] = delay;
  }
  get [Symbol.toStringTag]() {
    return "Message";
  }
}

const kCreateQueueObject = {};

class MessageBatch {
  #queue;
  #messages;
  #decisions;
  constructor(token, queue, messages, decisions) {
    if (token !== kCreateQueueObject) throw internals.illegalConstructor();
    this.#queue = queue;
    this.#messages = messages;
    this.#decisions = decisions;
  }
  get queue() {
    return this.#queue;
  }
  get messages() {
    return this.#messages;
  }
  ackAll() {
    if (this.#decisions.all === kUndecided) this.#decisions.all = kAck;
  }
  retryAll(options = undefined) {
    const delay = retryDelay("retryAll", options);
    if (this.#decisions.all === kUndecided) this.#decisions.all = delay;
  }
  get [Symbol.toStringTag]() {
    return "MessageBatch";
  }
}

// The event a service-worker script's "queue" listener receives.
class QueueEvent extends Event {
  #batch;
  #life;
  constructor(type, batch, life) {
    super(type, { __proto__: null });
    this.#batch = batch;
    this.#life = life;
  }
  get queue() {
    return this.#batch.queue;
  }
  get messages() {
    return this.#batch.messages;
  }
  ackAll() {
    this.#batch.ackAll();
  }
  retryAll(options = undefined) {
    this.#batch.retryAll(options);
  }
  waitUntil(promise) {
    if (arguments.length === 0) {
      throw new TypeError("Failed to execute 'waitUntil' on 'QueueEvent': 1 argument required");
    }
    extendLifetime(promise, this.#life);
  }
  get [Symbol.toStringTag]() {
    return "QueueEvent";
  }
}

function queueOutcome(id, decisions) {
  return {
    __proto__: null,
    succeed: () =>
      native.responseSend(id, 200, "OK", ["content-type", "application/json"], encodeDecisions(decisions)),
    // The decisions go out first, then the failure: the host keeps the acks
    // made before the handler failed.
    failed: (error, text) => {
      native.responseStart(id, 500, "Internal Server Error", [], -1);
      native.responseWrite(id, internals.utf8Encode(encodeDecisions(decisions)));
      if (text === undefined) fail(id, error);
      else native.responseFail(id, text);
    },
  };
}

// Called once after the worker's modules ran, like prepareScheduledHandler.
// Returns the function the C++ side calls per queue batch.
internals.prepareQueueHandler = function prepareQueueHandler(exported) {
  let invoke;
  if (entrypointMethod(exported, "queue") !== undefined) {
    invoke = (batch, env, life) => new exported(new ExecutionContext(life), env).queue(batch);
  } else if (exported !== undefined && exported !== null && typeof exported.queue === "function") {
    invoke = (batch, env, life) => exported.queue(batch, env, new ExecutionContext(life));
  } else {
    invoke = (batch, env, life) => {
      if (!hasQueueHandler(undefined)) {
        throw new TypeError(
          "The worker has no queue handler: export default { queue(batch, env, ctx) { ... } } " +
            'or call addEventListener("queue", ...)'
        );
      }
      const event = new QueueEvent("queue", batch, life);
      const dispatched = internals.dispatchCollectingErrors(internals.globalEventTarget, event);
      if (dispatched.threw) throw dispatched.error;
      return undefined;
    };
  }

  return function dispatchQueue(id, queue, fields, env) {
    const decisions = makeDecisions(fields.length);
    const messages = [];
    for (let i = 0; i < fields.length; i++) {
      createDataProperty(messages, i, new Message(kCreateQueueObject, fields[i], decisions, i));
    }
    const batch = new MessageBatch(kCreateQueueObject, queue, ObjectFreeze(messages), decisions);
    runBackground(id, (life) => invoke(batch, env, life), queueOutcome(id, decisions));
  };
};
