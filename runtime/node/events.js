// node:events — Node.js's EventEmitter and its helpers (once, on,
// errorMonitor, captureRejections, listenerCount, getEventListeners,
// setMaxListeners, the max-listeners warning).
// https://nodejs.org/api/events.html
//
// Listeners live in a null-prototype object per emitter (`_events`, the
// name Node and many packages use), so a key such as "__proto__" or one a
// worker put on Object.prototype is just another event name.

const { ArrayIsArray, ArrayPrototypeSlice, ArrayPrototypePush, ObjectDefineProperty, ReflectApply, ReflectOwnKeys,
  PromiseCtor, PromisePrototypeThen, NumberIsNaN, ObjectSetPrototypeOf, uncurryThis } = internals.primordials;
// The listener lists are changed through these, captured at load: a worker
// that patches Array.prototype does not change how emitters (and the
// streams built on them) keep their listeners.
const ArrayPrototypeUnshift = uncurryThis(Array.prototype.unshift);
const ArrayPrototypeShift = uncurryThis(Array.prototype.shift);
const ArrayPrototypeSplice = uncurryThis(Array.prototype.splice);
const errors = require("internal/errors");
const { validateFunction, validateNumber, validateAbortSignal } = require("internal/validators");

const kCapture = Symbol("kCapture");
const kRejection = Symbol.for("nodejs.rejection");
const errorMonitor = Symbol("events.errorMonitor");
const kShapeMode = Symbol("shapeMode");
let defaultMaxListeners = 10;

function EventEmitter(options) {
  EventEmitter.init.call(this, options);
}

EventEmitter.prototype._events = undefined;
EventEmitter.prototype._eventsCount = 0;
EventEmitter.prototype._maxListeners = undefined;

EventEmitter.init = function init(options) {
  if (this._events === undefined || this._events === ObjectGetPrototypeOfSafe(this)._events) {
    this._events = { __proto__: null };
    this._eventsCount = 0;
    this[kShapeMode] = false;
  } else {
    this[kShapeMode] = true;
  }
  this._maxListeners = this._maxListeners || undefined;
  if (options != null && options.captureRejections !== undefined) {
    if (typeof options.captureRejections !== "boolean") {
      throw errors.ERR_INVALID_ARG_TYPE("options.captureRejections", "boolean", options.captureRejections);
    }
    this[kCapture] = options.captureRejections;
  } else {
    this[kCapture] = EventEmitter.prototype[kCapture];
  }
};

function ObjectGetPrototypeOfSafe(object) {
  const proto = Object.getPrototypeOf(object);
  return proto === null ? {} : proto;
}

ObjectDefineProperty(EventEmitter, "captureRejections", {
  __proto__: null,
  get() {
    return EventEmitter.prototype[kCapture];
  },
  set(value) {
    if (typeof value !== "boolean") throw errors.ERR_INVALID_ARG_TYPE("EventEmitter.captureRejections", "boolean", value);
    EventEmitter.prototype[kCapture] = value;
  },
  enumerable: true,
});
EventEmitter.prototype[kCapture] = false;

ObjectDefineProperty(EventEmitter, "defaultMaxListeners", {
  __proto__: null,
  enumerable: true,
  get() {
    return defaultMaxListeners;
  },
  set(value) {
    if (typeof value !== "number" || value < 0 || NumberIsNaN(value)) {
      throw errors.ERR_OUT_OF_RANGE("defaultMaxListeners", "a non-negative number", value);
    }
    defaultMaxListeners = value;
  },
});

EventEmitter.errorMonitor = errorMonitor;
EventEmitter.captureRejectionSymbol = kRejection;

EventEmitter.prototype.setMaxListeners = function setMaxListeners(n) {
  if (typeof n !== "number" || n < 0 || NumberIsNaN(n)) {
    throw errors.ERR_OUT_OF_RANGE("n", "a non-negative number", n);
  }
  this._maxListeners = n;
  return this;
};

function getMaxListeners(emitter) {
  if (emitter._maxListeners === undefined) return defaultMaxListeners;
  return emitter._maxListeners;
}
EventEmitter.prototype.getMaxListeners = function getMaxListeners_() {
  return getMaxListeners(this);
};

function addCatch(emitter, promise, type, args) {
  if (!emitter[kCapture]) return;
  try {
    const then = promise.then;
    if (typeof then === "function") {
      ReflectApply(then, promise, [undefined, (err) => {
        // Reported on the next turn, out of the promise's own chain.
        internals.queueMicrotask(() => emitUnhandledRejectionOrErr(emitter, err, type, args));
      }]);
    }
  } catch (err) {
    emitter.emit("error", err);
  }
}

function emitUnhandledRejectionOrErr(emitter, err, type, args) {
  if (typeof emitter[kRejection] === "function") {
    ReflectApply(emitter[kRejection], emitter, withFirst([err, type], args));
  } else {
    const previous = emitter[kCapture];
    try {
      emitter[kCapture] = false;
      emitter.emit("error", err);
    } finally {
      emitter[kCapture] = previous;
    }
  }
}

// `first` followed by `rest`, without the array iterator a spread uses.
function withFirst(first, rest) {
  const all = first;
  for (let i = 0; i < rest.length; i++) all[all.length] = rest[i];
  return all;
}

EventEmitter.prototype.emit = function emit(type, ...args) {
  let doError = type === "error";
  const events = this._events;
  if (events !== undefined) {
    if (doError && events[errorMonitor] !== undefined) ReflectApply(this.emit, this, withFirst([errorMonitor], args));
    doError = doError && events.error === undefined;
  } else if (!doError) {
    return false;
  }
  if (doError) {
    const er = args.length > 0 ? args[0] : undefined;
    if (er instanceof Error) throw er;
    throw errors.ERR_UNHANDLED_ERROR(er);
  }
  const handler = events[type];
  if (handler === undefined) return false;
  if (typeof handler === "function") {
    const result = ReflectApply(handler, this, args);
    if (result !== undefined && result !== null) addCatch(this, result, type, args);
  } else {
    const listeners = ArrayPrototypeSlice(handler);
    for (let i = 0; i < listeners.length; i++) {
      const result = ReflectApply(listeners[i], this, args);
      if (result !== undefined && result !== null) addCatch(this, result, type, args);
    }
  }
  return true;
};

function addListener(target, type, listener, prepend) {
  validateFunction(listener, "listener");
  let events = target._events;
  if (events === undefined) {
    events = target._events = { __proto__: null };
    target._eventsCount = 0;
  } else {
    if (events.newListener !== undefined) {
      target.emit("newListener", type, listener.listener ? listener.listener : listener);
      events = target._events;
    }
  }
  let existing = events[type];
  if (existing === undefined) {
    events[type] = listener;
    ++target._eventsCount;
  } else {
    if (typeof existing === "function") {
      existing = events[type] = prepend ? [listener, existing] : [existing, listener];
    } else if (prepend) {
      ArrayPrototypeUnshift(existing, listener);
    } else {
      ArrayPrototypePush(existing, listener);
    }
    const max = getMaxListeners(target);
    if (max > 0 && existing.length > max && !existing.warned) {
      existing.warned = true;
      const name = target.constructor && target.constructor.name;
      const warning = new Error(
        `Possible EventEmitter memory leak detected. ${existing.length} ${String(type)} listeners ` +
        `added to ${internals.inspect(target, { depth: -1 })}. MaxListeners is ${max}. ` +
        "Use emitter.setMaxListeners() to increase limit");
      warning.name = "MaxListenersExceededWarning";
      warning.emitter = target;
      warning.type = type;
      warning.count = existing.length;
      void name;
      emitWarning(warning);
    }
  }
  return target;
}

// process.emitWarning when node:process is loaded, else the console.
function emitWarning(warning) {
  const process = internals.nodeProcess;
  if (process !== undefined) {
    process.emitWarning(warning);
  } else {
    internals.console.warn(`(node) ${warning.name}: ${warning.message}`);
  }
}

EventEmitter.prototype.addListener = function addListener_(type, listener) {
  return addListener(this, type, listener, false);
};
EventEmitter.prototype.on = EventEmitter.prototype.addListener;
EventEmitter.prototype.prependListener = function prependListener(type, listener) {
  return addListener(this, type, listener, true);
};

function onceWrapper() {
  if (!this.fired) {
    this.target.removeListener(this.type, this.wrapFn);
    this.fired = true;
    return ReflectApply(this.listener, this.target, arguments);
  }
  return undefined;
}
function onceWrap(target, type, listener) {
  const state = { fired: false, wrapFn: undefined, target, type, listener };
  const wrapped = onceWrapper.bind(state);
  wrapped.listener = listener;
  state.wrapFn = wrapped;
  return wrapped;
}

EventEmitter.prototype.once = function once(type, listener) {
  validateFunction(listener, "listener");
  this.on(type, onceWrap(this, type, listener));
  return this;
};
EventEmitter.prototype.prependOnceListener = function prependOnceListener(type, listener) {
  validateFunction(listener, "listener");
  this.prependListener(type, onceWrap(this, type, listener));
  return this;
};

EventEmitter.prototype.removeListener = function removeListener(type, listener) {
  validateFunction(listener, "listener");
  const events = this._events;
  if (events === undefined) return this;
  const list = events[type];
  if (list === undefined) return this;
  if (list === listener || list.listener === listener) {
    this._eventsCount -= 1;
    if (this[kShapeMode]) {
      events[type] = undefined;
    } else if (this._eventsCount === 0) {
      this._events = { __proto__: null };
    } else {
      delete events[type];
    }
    if (events.removeListener !== undefined) this.emit("removeListener", type, list.listener || listener);
  } else if (typeof list !== "function") {
    let position = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === listener || list[i].listener === listener) {
        position = i;
        break;
      }
    }
    if (position < 0) return this;
    if (position === 0) ArrayPrototypeShift(list);
    else ArrayPrototypeSplice(list, position, 1);
    if (list.length === 1) events[type] = list[0];
    if (events.removeListener !== undefined) this.emit("removeListener", type, listener);
  }
  return this;
};
EventEmitter.prototype.off = EventEmitter.prototype.removeListener;

EventEmitter.prototype.removeAllListeners = function removeAllListeners(type) {
  const events = this._events;
  if (events === undefined) return this;
  if (events.removeListener === undefined) {
    if (arguments.length === 0) {
      this._events = { __proto__: null };
      this._eventsCount = 0;
    } else if (events[type] !== undefined) {
      if (--this._eventsCount === 0) this._events = { __proto__: null };
      else delete events[type];
    }
    return this;
  }
  if (arguments.length === 0) {
    const keys = ReflectOwnKeys(events);
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === "removeListener") continue;
      this.removeAllListeners(keys[i]);
    }
    this.removeAllListeners("removeListener");
    this._events = { __proto__: null };
    this._eventsCount = 0;
    return this;
  }
  const listeners = events[type];
  if (typeof listeners === "function") {
    this.removeListener(type, listeners);
  } else if (listeners !== undefined) {
    for (let i = listeners.length - 1; i >= 0; i--) this.removeListener(type, listeners[i]);
  }
  return this;
};

function listenersOf(target, type, unwrap) {
  const events = target._events;
  if (events === undefined) return [];
  const listener = events[type];
  if (listener === undefined) return [];
  if (typeof listener === "function") return unwrap ? [listener.listener || listener] : [listener];
  const copy = [];
  for (let i = 0; i < listener.length; i++) copy[i] = unwrap ? listener[i].listener || listener[i] : listener[i];
  return copy;
}
EventEmitter.prototype.listeners = function listeners(type) {
  return listenersOf(this, type, true);
};
EventEmitter.prototype.rawListeners = function rawListeners(type) {
  return listenersOf(this, type, false);
};

function listenerCount(type, listener) {
  const events = this._events;
  if (events === undefined) return 0;
  const list = events[type];
  if (typeof list === "function") {
    return listener == null || list === listener || list.listener === listener ? 1 : 0;
  }
  if (list === undefined) return 0;
  if (listener == null) return list.length;
  let count = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === listener || list[i].listener === listener) count++;
  }
  return count;
}
EventEmitter.prototype.listenerCount = listenerCount;
EventEmitter.listenerCount = function (emitter, type) {
  if (typeof emitter.listenerCount === "function") return emitter.listenerCount(type);
  return ReflectApply(listenerCount, emitter, [type]);
};

EventEmitter.prototype.eventNames = function eventNames() {
  return this._eventsCount > 0 ? ReflectOwnKeys(this._events) : [];
};

// ---- Module functions -----------------------------------------------------

function isEventTarget(value) {
  return value !== null && typeof value === "object" && typeof value.addEventListener === "function" &&
    typeof value.removeEventListener === "function";
}

function getEventListeners(emitterOrTarget, type) {
  if (typeof emitterOrTarget.listeners === "function") return emitterOrTarget.listeners(type);
  if (isEventTarget(emitterOrTarget)) {
    // EventTarget's listener list is internal; edge does not expose it.
    return [];
  }
  throw errors.ERR_INVALID_ARG_TYPE("emitter", ["EventEmitter", "EventTarget"], emitterOrTarget);
}

function getMaxListenersOf(emitterOrTarget) {
  if (typeof emitterOrTarget?.getMaxListeners === "function") return getMaxListeners(emitterOrTarget);
  if (isEventTarget(emitterOrTarget)) return defaultMaxListeners;
  throw errors.ERR_INVALID_ARG_TYPE("emitter", ["EventEmitter", "EventTarget"], emitterOrTarget);
}

function setMaxListeners(n = defaultMaxListeners, ...targets) {
  if (typeof n !== "number" || n < 0 || NumberIsNaN(n)) throw errors.ERR_OUT_OF_RANGE("n", "a non-negative number", n);
  if (targets.length === 0) {
    defaultMaxListeners = n;
    return;
  }
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i];
    if (typeof target.setMaxListeners === "function") target.setMaxListeners(n);
    else if (!isEventTarget(target)) {
      throw errors.ERR_INVALID_ARG_TYPE("eventTargets", ["EventEmitter", "EventTarget"], target);
    }
  }
}

function once(emitter, name, options = undefined) {
  if (options != null && typeof options !== "object") throw errors.ERR_INVALID_ARG_TYPE("options", "Object", options);
  const signal = options?.signal;
  validateAbortSignal(signal, "options.signal");
  if (signal?.aborted) return Promise.reject(new errors.AbortError(undefined, { cause: signal.reason }));
  return new PromiseCtor((resolve, reject) => {
    const onError = (err) => {
      emitter.removeListener(name, resolver);
      if (signal !== undefined) signal.removeEventListener("abort", onAbort);
      reject(err);
    };
    const resolver = (...args) => {
      if (typeof emitter.removeListener === "function") emitter.removeListener("error", onError);
      if (signal !== undefined) signal.removeEventListener("abort", onAbort);
      resolve(args);
    };
    const onAbort = () => {
      if (typeof emitter.removeListener === "function") {
        emitter.removeListener(name, resolver);
        emitter.removeListener("error", onError);
      } else {
        emitter.removeEventListener(name, resolver);
      }
      reject(new errors.AbortError(undefined, { cause: signal?.reason }));
    };
    if (typeof emitter.once === "function" && typeof emitter.on === "function") {
      emitter.once(name, resolver);
      if (name !== "error") emitter.once("error", onError);
    } else if (isEventTarget(emitter)) {
      emitter.addEventListener(name, (event) => resolve([event]), { once: true });
    } else {
      throw errors.ERR_INVALID_ARG_TYPE("emitter", "EventEmitter", emitter);
    }
    if (signal !== undefined) signal.addEventListener("abort", onAbort, { once: true });
  });
}

// on(emitter, name): an async iterator of the events' argument arrays,
// ending with an error event or the signal.
function on(emitter, event, options = undefined) {
  const signal = options?.signal;
  validateAbortSignal(signal, "options.signal");
  if (signal?.aborted) throw new errors.AbortError(undefined, { cause: signal.reason });
  const unconsumed = [];
  const waiting = [];
  let error = null;
  let finished = false;

  const eventHandler = (...args) => {
    const pending = waiting.shift();
    if (pending) pending.resolve({ value: args, done: false });
    else unconsumed.push(args);
  };
  const errorHandler = (err) => {
    finished = true;
    const pending = waiting.shift();
    if (pending) pending.reject(err);
    else error = err;
    iterator.return();
  };
  const abortListener = () => errorHandler(new errors.AbortError(undefined, { cause: signal?.reason }));

  const iterator = ObjectSetPrototypeOf({
    next() {
      const value = unconsumed.shift();
      if (value) return Promise.resolve({ value, done: false });
      if (error) {
        const p = Promise.reject(error);
        error = null;
        return p;
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new PromiseCtor((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      emitter.removeListener(event, eventHandler);
      emitter.removeListener("error", errorHandler);
      if (signal) signal.removeEventListener("abort", abortListener);
      finished = true;
      for (let i = 0; i < waiting.length; i++) waiting[i].resolve({ value: undefined, done: true });
      waiting.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err) {
      if (!err || !(err instanceof Error)) throw errors.ERR_INVALID_ARG_TYPE("EventEmitter.AsyncIterator", "Error", err);
      errorHandler(err);
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  }, Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype));
  emitter.on(event, eventHandler);
  if (event !== "error") emitter.on("error", errorHandler);
  if (signal) signal.addEventListener("abort", abortListener, { once: true });
  return iterator;
}

function addAbortListener(signal, listener) {
  if (!internals.isAbortSignal(signal)) throw errors.ERR_INVALID_ARG_TYPE("signal", "AbortSignal", signal);
  validateFunction(listener, "listener");
  let removed = false;
  if (signal.aborted) {
    internals.queueMicrotask(() => listener());
  } else {
    signal.addEventListener("abort", listener, { once: true });
  }
  return {
    [Symbol.dispose || Symbol.for("nodejs.dispose")]() {
      if (!removed) {
        removed = true;
        signal.removeEventListener("abort", listener);
      }
    },
  };
}

EventEmitter.EventEmitter = EventEmitter;
EventEmitter.usingDomains = false;
EventEmitter.once = once;
EventEmitter.on = on;
EventEmitter.getEventListeners = getEventListeners;
EventEmitter.getMaxListeners = getMaxListenersOf;
EventEmitter.setMaxListeners = setMaxListeners;
EventEmitter.addAbortListener = addAbortListener;
void ArrayIsArray;
void PromisePrototypeThen;
void validateNumber;

return EventEmitter;
