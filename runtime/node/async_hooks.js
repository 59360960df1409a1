// node:async_hooks — AsyncLocalStorage and AsyncResource, as Workers
// provides them. A store set with run() or enterWith() is seen after any
// number of awaits (V8 carries the context along promise reactions: the
// runtime's async context frames, runtime/js/invocation.js), in timers and
// queueMicrotask/nextTick callbacks set under it, and in functions made with
// AsyncLocalStorage.bind/snapshot or AsyncResource.bind. Workers has no
// createHook() and no async ids: neither has edge (executionAsyncId() and
// triggerAsyncId() return 0, as workerd's do).
// https://nodejs.org/api/async_context.html

const { SafeMap, MapPrototypeForEach, MapPrototypeGet, MapPrototypeHas,
  MapPrototypeSet, MapPrototypeDelete, ObjectDefineProperty } = internals.primordials;
const errors = require("internal/errors");
const { validateFunction, validateObject } = require("internal/validators");

const currentStores = internals.asyncContextStores;
const runWithStores = internals.runWithAsyncContextStores;
const enterStores = internals.enterAsyncContextStores;

// A copy of the current stores with `storage` set to `value` (or removed,
// for `remove`): frames are never changed once made.
function storesWith(storage, value, remove) {
  const copy = new SafeMap();
  const stores = currentStores();
  if (stores !== undefined) MapPrototypeForEach(stores, (v, k) => MapPrototypeSet(copy, k, v));
  if (remove) MapPrototypeDelete(copy, storage);
  else MapPrototypeSet(copy, storage, value);
  return copy;
}

// The current stores, kept for a later call (snapshot, bind, AsyncResource).
function captureStores() {
  const stores = currentStores();
  return stores === undefined ? new SafeMap() : stores;
}

class AsyncLocalStorage {
  #enabled = true;

  static bind(fn) {
    validateFunction(fn, "fn");
    const stores = captureStores();
    return function bound(...args) {
      return runWithStores(stores, fn, this, args);
    };
  }

  static snapshot() {
    const stores = captureStores();
    return function runInAsyncScope(fn, ...args) {
      return runWithStores(stores, fn, this, args);
    };
  }

  // Stores set on it are dropped until the next run()/enterWith().
  disable() {
    this.#enabled = false;
    if (MapPrototypeHas(captureStores(), this)) enterStores(storesWith(this, undefined, true));
  }

  getStore() {
    if (!this.#enabled) return undefined;
    const stores = currentStores();
    return stores === undefined ? undefined : MapPrototypeGet(stores, this);
  }

  run(store, callback, ...args) {
    validateFunction(callback, "callback");
    this.#enabled = true;
    return runWithStores(storesWith(this, store, false), callback, undefined, args);
  }

  exit(callback, ...args) {
    validateFunction(callback, "callback");
    return runWithStores(storesWith(this, undefined, true), callback, undefined, args);
  }

  enterWith(store) {
    this.#enabled = true;
    enterStores(storesWith(this, store, false));
  }

  get name() {
    return "";
  }
}

// A resource whose callbacks run in the context it was made in.
class AsyncResource {
  #stores;
  #type;

  constructor(type, options = undefined) {
    if (typeof type !== "string") throw errors.ERR_INVALID_ARG_TYPE("type", "string", type);
    if (options !== undefined && typeof options !== "number") validateObject(options, "options");
    this.#type = type;
    this.#stores = captureStores();
  }

  runInAsyncScope(fn, thisArg, ...args) {
    validateFunction(fn, "fn");
    return runWithStores(this.#stores, fn, thisArg, args);
  }

  bind(fn, thisArg = undefined) {
    validateFunction(fn, "fn");
    const resource = this;
    const bound = function (...args) {
      return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
    };
    ObjectDefineProperty(bound, "length", { __proto__: null, value: fn.length, configurable: true });
    ObjectDefineProperty(bound, "asyncResource", {
      __proto__: null, value: this, configurable: true, enumerable: true, writable: true,
    });
    return bound;
  }

  static bind(fn, type = undefined, thisArg = undefined) {
    return new AsyncResource(type || fn.name || "bound-anonymous-fn").bind(fn, thisArg);
  }

  emitDestroy() {
    return this;
  }

  asyncId() {
    return 0;
  }

  triggerAsyncId() {
    return 0;
  }

  get type() {
    return this.#type;
  }
}

function createHook() {
  throw errors.makeError(Error, "ERR_METHOD_NOT_IMPLEMENTED",
    "async_hooks.createHook() is not implemented in Workers");
}

return {
  AsyncLocalStorage,
  AsyncResource,
  createHook,
  executionAsyncId: () => 0,
  triggerAsyncId: () => 0,
  executionAsyncResource: () => ({}),
};
