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
  TypeErrorCtor: TypeError,
} = internals.primordials;

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

// The worker a call reaches is resolved by serviceFetch from `handle` (the
// isolate's C++ binding table); the service's name here only labels errors.
internals.registerBindingKind(
  "service",
  (name, handle, options) => new Fetcher(kCreate, handle, `${options.service}`),
);
internals.Fetcher = Fetcher;
