// Service bindings: `env.AUTH` for `[[services]] binding = "AUTH", service =
// "auth-worker"` is a Fetcher whose fetch() runs the other worker's handler
// in this process, without a network hop (native.serviceFetch). The response
// body streams back as the other worker produces it.

const {
  Request, requestForWire, makeResponse, readAllBytes, ReadableStream, illegalConstructor, isUint8Array,
} = internals;

// The calls in flight and their promises use built-ins captured before tenant
// code runs (runtime/js/primordials.js); Error and TypeError are the
// originals, whatever globalThis holds.
const {
  PromiseCtor, PromisePrototypeThen, PromiseReject, SafeMap, SymbolToStringTag, ErrorCtor: Error,
  TypeErrorCtor: TypeError, ObjectDefineProperty, ObjectSetPrototypeOf, ProxyCtor, ReflectApply, ReflectGet,
  StringPrototypeToLowerCase,
} = internals.primordials;
const { DOMException } = internals;

class Fetcher {
  #handle; // into the isolate's C++ binding table
  #service; // its name, for error messages

  constructor(token, handle, service) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
    this.#service = service;
  }

  fetch(input, init = undefined) {
    let wire;
    try {
      wire = requestForWire(new Request(input, init));
    } catch (error) {
      return PromiseReject(error);
    }
    const handle = this.#handle;
    const service = this.#service;
    const body = wire.body;
    // The other worker gets the request body whole: bytes or a string as
    // they are, a stream once it has been read.
    if (body !== null && typeof body !== "string" && !isUint8Array(body)) {
      return PromisePrototypeThen(readAllBytes(body), (read) => call(handle, service, wire, read.bytes));
    }
    return call(handle, service, wire, body);
  }

  connect() {
    throw new TypeError("connect() is not supported on service bindings");
  }

  get [SymbolToStringTag]() {
    return "Fetcher";
  }
}

const kCreate = {};

// Calls in flight, by id: the C++ side reports their progress through
// internals.serviceEvent(id, ...), from the loop.
const calls = new SafeMap();
let nextCallId = 1;

internals.serviceEvent = (id, event, a, b, c) => {
  const handler = calls.get(id);
  if (handler === undefined) return;
  if (event === "end" || event === "error") calls.delete(id);
  handler(event, a, b, c);
};

// The first value of the header `name` (lower case) in a flat list.
function headerValue(flat, name) {
  for (let i = 0; i < flat.length; i += 2) {
    if (StringPrototypeToLowerCase(flat[i]) === name) return flat[i + 1];
  }
  return null;
}

function call(handle, service, wire, body) {
  return new PromiseCtor((resolve, reject) => {
    let controller = null;
    let started = false;
    const stream = new ReadableStream({
      start(c) {
        controller = c;
      },
    });
    const id = nextCallId++;
    calls.set(id, (event, a, b, c) => {
      switch (event) {
        case "start":
          started = true;
          resolve(makeResponse(a, b, c, stream, wire.url, false));
          break;
        case "websocket": {
          // The called worker answered with a WebSocket: this end is the
          // caller's (a, its id), waiting for accept().
          calls.delete(id);
          started = true;
          const protocol = headerValue(b, "sec-websocket-protocol");
          const ws = internals.newClientWebSocket(a, wire.url, protocol === null ? "" : protocol);
          resolve(makeResponse(101, "Switching Protocols", b, null, wire.url, false, ws));
          break;
        }
        case "data":
          controller.enqueue(a);
          break;
        case "end":
          controller.close();
          break;
        case "error": {
          const error = new Error(`Service binding to "${service}": ${a}`);
          if (started) controller.error(error);
          else reject(error);
          break;
        }
      }
    });
    try {
      native.serviceFetch(id, handle, wire.method, wire.url, wire.headers, body);
    } catch (error) {
      calls.delete(id);
      throw error;
    }
  });
}

// JS RPC (cloudflare:workers): `env.SVC.add(1, 2)` calls the method `add`
// of the other worker's WorkerEntrypoint class (runtime/js/dispatch.js) in
// its isolate. The argument list and the result travel V8-serialized
// (structured clone: no functions, no RpcTarget stubs), at most 32 MiB each
// way; the call is a subrequest of the caller as a service fetch is.
// `await env.SVC.name` (no call) reads a property of the class instead.
// Settles with what the method returned, or rejects with what it threw.
function rpcCall(handle, service, kind, name, args) {
  let bytes = null;
  if (kind === "call") {
    try {
      bytes = native.rpcSerialize(args, "RPC arguments");
    } catch (error) {
      return PromiseReject(error);
    }
  }
  return new PromiseCtor((resolve, reject) => {
    let status = 0;
    // The result's bytes as they arrive; no prototype, so storing one
    // reaches no setter a worker put on Array.prototype.
    const chunks = ObjectSetPrototypeOf([], null);
    const id = nextCallId++;
    calls.set(id, (event, a) => {
      switch (event) {
        case "start":
          status = a;
          break;
        case "data":
          chunks[chunks.length] = a;
          break;
        case "end": {
          let value;
          try {
            value = native.rpcDeserialize(chunks);
          } catch (error) {
            reject(error);
            break;
          }
          if (status === native.rpcReturned) resolve(value);
          else if (status === native.rpcNotCloned) reject(new DOMException(`${value}`, "DataCloneError"));
          else reject(value);
          break;
        }
        case "error":
          reject(new Error(`Service binding to "${service}": ${a}`));
          break;
      }
    });
    try {
      native.serviceCall(id, handle, kind, name, bytes);
    } catch (error) {
      calls.delete(id);
      reject(error);
    }
  });
}

async function settleFinally(promise, onFinally) {
  try {
    return await promise;
  } finally {
    if (typeof onFinally === "function") await onFinally();
  }
}

// What `env.SVC.name` is: a function that calls the method `name`, and a
// thenable that reads the property `name`.
function rpcMember(handle, service, name) {
  const member = (...args) => rpcCall(handle, service, "call", name, args);
  const read = () => rpcCall(handle, service, "get", name, undefined);
  const define = (key, value) => ObjectDefineProperty(member, key, { __proto__: null, value, writable: true, configurable: true });
  define("then", (onFulfilled, onRejected) => PromisePrototypeThen(read(), onFulfilled, onRejected));
  define("catch", (onRejected) => PromisePrototypeThen(read(), undefined, onRejected));
  define("finally", (onFinally) => settleFinally(read(), onFinally));
  return member;
}

const fetcherFetch = Fetcher.prototype.fetch;
const fetcherConnect = Fetcher.prototype.connect;

// The binding object: a Fetcher whose every other property is an RPC
// member, as Workers' service binding stubs are. `then` is none (the stub
// is no thenable); symbols are the Fetcher's own.
function makeServiceStub(fetcher, handle, service) {
  const fetch = function fetch(input, init = undefined) {
    return ReflectApply(fetcherFetch, fetcher, arguments);
  };
  const connect = function connect() {
    return ReflectApply(fetcherConnect, fetcher, arguments);
  };
  const handler = {
    __proto__: null,
    get(target, key) {
      if (typeof key === "symbol") return ReflectGet(target, key, target);
      if (key === "fetch") return fetch;
      if (key === "connect") return connect;
      if (key === "then") return undefined;
      return rpcMember(handle, service, key);
    },
  };
  return new ProxyCtor(fetcher, handler);
}

// The worker a call reaches is resolved by serviceFetch and serviceCall from
// `handle` (the isolate's C++ binding table); the service's name here only
// labels errors.
internals.registerBindingKind("service", (name, handle, options) => {
  const service = `${options.service}`;
  return makeServiceStub(new Fetcher(kCreate, handle, service), handle, service);
});
internals.Fetcher = Fetcher;
