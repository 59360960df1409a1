// Event, EventTarget and CustomEvent (https://dom.spec.whatwg.org/#events),
// without a node tree: an event's path is just its target; ErrorEvent and
// PromiseRejectionEvent (HTML). Also internals.reportError, which reports
// uncaught exceptions from listeners, timers and microtasks (an `error`
// event on the global scope, then the log line unless a listener called
// preventDefault()), and internals.reportUnhandledRejection, the same for
// rejected promises nobody handled (`unhandledrejection`).

const {
  finishInterface, defineConstants, requireArguments, tooFewArguments, inspectSymbol, inspectNamed,
  DOMException,
} = internals;

const ObjectDefineProperty = Object.defineProperty;
const ReflectApply = Reflect.apply;
const nativeLog = native.log;
const nativeNow = native.now;

function describe(error) {
  try {
    return internals.inspect(error);
  } catch {
    return "<error could not be formatted>";
  }
}

// Whether an event of `type` on the global scope was cancelled by one of
// its listeners. An error thrown while reporting one (by an `error`
// listener) is logged, not dispatched again.
let reporting = false;
function dispatchGlobal(type, makeEvent) {
  const target = internals.globalEventTarget;
  if (reporting || target === undefined || !internals.hasEventListeners(target, type)) return false;
  reporting = true;
  try {
    const event = makeEvent();
    internals.setEventTrusted(event, true);
    return !target.dispatchEvent(event);
  } finally {
    reporting = false;
  }
}

// https://html.spec.whatwg.org/#report-an-exception
function reportError(error) {
  const message = describe(error);
  const canceled = dispatchGlobal("error", () => {
    let text = message;
    if (error !== null && typeof error === "object") {
      try {
        text = `${error.message}`;
      } catch {}
    }
    return new ErrorEvent("error", { cancelable: true, message: `Uncaught ${text}`, error });
  });
  if (!canceled) nativeLog("error", `Uncaught ${message}`, internals.invocationResponseId());
}

// Called by the runtime (IsolateData::DrainMicrotasks) for each promise
// still rejected without a handler after a microtask checkpoint: true when a
// listener cancelled the `unhandledrejection` event (the runtime then logs
// nothing).
function reportUnhandledRejection(promise, reason) {
  return dispatchGlobal("unhandledrejection",
    () => new PromiseRejectionEvent("unhandledrejection", { cancelable: true, promise, reason }));
}

const NONE = 0;
const CAPTURING_PHASE = 1;
const AT_TARGET = 2;
const BUBBLING_PHASE = 3;

function isTrustedGetter() {
  return eventIsTrusted(this);
}

// Accessors for the internal state of events, set up in Event's static block.
let eventIsTrusted;
let eventBeginDispatch;
let eventSetPhase;
let eventSetCurrentTarget;
let eventSetInPassiveListener;
let eventStopImmediateFlag;
let eventStopPropagationFlag;
let eventEndDispatch;
let eventCanceled;
let eventIsEvent;

class Event {
  #type;
  #bubbles;
  #cancelable;
  #composed;
  #timeStamp;
  #isTrusted = false;
  #target = null;
  #currentTarget = null;
  #eventPhase = NONE;
  #stopPropagation = false;
  #stopImmediatePropagation = false;
  #canceled = false;
  #inPassiveListener = false;
  #dispatching = false;
  #initialized = true;

  constructor(type, eventInitDict = undefined) {
    if (arguments.length < 1) throw tooFewArguments(arguments.length, 1, `Failed to construct '${new.target.name}'`);
    this.#type = `${type}`;
    if (eventInitDict !== undefined && eventInitDict !== null) {
      if (typeof eventInitDict !== "object" && typeof eventInitDict !== "function") {
        throw new TypeError(
          `Failed to construct '${new.target.name}': The provided value is not of type 'EventInit'.`,
        );
      }
      this.#bubbles = !!eventInitDict.bubbles;
      this.#cancelable = !!eventInitDict.cancelable;
      this.#composed = !!eventInitDict.composed;
    } else {
      this.#bubbles = false;
      this.#cancelable = false;
      this.#composed = false;
    }
    this.#timeStamp = nativeNow();
    // [LegacyUnforgeable] readonly attribute boolean isTrusted.
    ObjectDefineProperty(this, "isTrusted", {
      get: isTrustedGetter,
      enumerable: true,
      configurable: false,
    });
  }

  get type() {
    return this.#type;
  }

  get target() {
    return this.#target;
  }

  get srcElement() {
    return this.#target;
  }

  get currentTarget() {
    return this.#currentTarget;
  }

  composedPath() {
    return this.#dispatching && this.#currentTarget !== null ? [this.#currentTarget] : [];
  }

  get eventPhase() {
    return this.#eventPhase;
  }

  stopPropagation() {
    this.#stopPropagation = true;
  }

  get cancelBubble() {
    return this.#stopPropagation;
  }

  set cancelBubble(value) {
    if (value) this.#stopPropagation = true;
  }

  stopImmediatePropagation() {
    this.#stopPropagation = true;
    this.#stopImmediatePropagation = true;
  }

  get bubbles() {
    return this.#bubbles;
  }

  get cancelable() {
    return this.#cancelable;
  }

  get returnValue() {
    return !this.#canceled;
  }

  set returnValue(value) {
    if (!value && this.#cancelable && !this.#inPassiveListener) this.#canceled = true;
  }

  preventDefault() {
    if (this.#cancelable && !this.#inPassiveListener) this.#canceled = true;
  }

  get defaultPrevented() {
    return this.#canceled;
  }

  get composed() {
    return this.#composed;
  }

  get timeStamp() {
    return this.#timeStamp;
  }

  initEvent(type, bubbles = false, cancelable = false) {
    requireArguments(arguments.length, 1, "Failed to execute 'initEvent' on 'Event'");
    if (this.#dispatching) return;
    this.#initialized = true;
    this.#stopPropagation = false;
    this.#stopImmediatePropagation = false;
    this.#canceled = false;
    this.#isTrusted = false;
    this.#target = null;
    this.#type = `${type}`;
    this.#bubbles = !!bubbles;
    this.#cancelable = !!cancelable;
  }

  [inspectSymbol]() {
    return inspectNamed(this.constructor.name || "Event", {
      type: this.#type,
      defaultPrevented: this.#canceled,
      cancelable: this.#cancelable,
      timeStamp: this.#timeStamp,
    });
  }

  static {
    eventIsEvent = (e) => e !== null && typeof e === "object" && #type in e;
    eventIsTrusted = (e) => e.#isTrusted;
    eventBeginDispatch = (e, target) => {
      if (e.#dispatching || !e.#initialized) {
        throw new DOMException(
          "Failed to execute 'dispatchEvent' on 'EventTarget': The event is already being dispatched.",
          "InvalidStateError",
        );
      }
      e.#dispatching = true;
      e.#target = target;
    };
    eventSetPhase = (e, phase) => {
      e.#eventPhase = phase;
    };
    eventSetCurrentTarget = (e, target) => {
      e.#currentTarget = target;
    };
    eventSetInPassiveListener = (e, value) => {
      e.#inPassiveListener = value;
    };
    eventStopPropagationFlag = (e) => e.#stopPropagation;
    eventStopImmediateFlag = (e) => e.#stopImmediatePropagation;
    eventCanceled = (e) => e.#canceled;
    eventEndDispatch = (e) => {
      e.#eventPhase = NONE;
      e.#currentTarget = null;
      e.#dispatching = false;
      e.#stopPropagation = false;
      e.#stopImmediatePropagation = false;
    };
    internals.setEventTrusted = (e, value) => {
      e.#isTrusted = !!value;
    };
  }
}
finishInterface(Event);
defineConstants(Event, { NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE });

class CustomEvent extends Event {
  #detail;

  constructor(type, eventInitDict = undefined) {
    requireArguments(arguments.length, 1, "Failed to construct 'CustomEvent'");
    super(type, eventInitDict);
    this.#detail = eventInitDict != null && eventInitDict.detail !== undefined ? eventInitDict.detail : null;
  }

  get detail() {
    return this.#detail;
  }

  initCustomEvent(type, bubbles = false, cancelable = false, detail = null) {
    requireArguments(arguments.length, 1, "Failed to execute 'initCustomEvent' on 'CustomEvent'");
    this.initEvent(type, bubbles, cancelable);
    this.#detail = detail;
  }
}
finishInterface(CustomEvent);

// https://html.spec.whatwg.org/#the-errorevent-interface
class ErrorEvent extends Event {
  #message;
  #filename;
  #lineno;
  #colno;
  #error;

  constructor(type, eventInitDict = undefined) {
    requireArguments(arguments.length, 1, "Failed to construct 'ErrorEvent'");
    super(type, eventInitDict);
    const init = eventInitDict == null ? {} : eventInitDict;
    // Dictionary members in WebIDL's order (lexicographic).
    const colno = init.colno;
    this.#colno = colno === undefined ? 0 : colno >>> 0;
    this.#error = init.error;
    const filename = init.filename;
    this.#filename = filename === undefined ? "" : `${filename}`;
    const lineno = init.lineno;
    this.#lineno = lineno === undefined ? 0 : lineno >>> 0;
    const message = init.message;
    this.#message = message === undefined ? "" : `${message}`;
  }

  get message() {
    return this.#message;
  }

  get filename() {
    return this.#filename;
  }

  get lineno() {
    return this.#lineno;
  }

  get colno() {
    return this.#colno;
  }

  get error() {
    return this.#error;
  }
}
finishInterface(ErrorEvent);

// https://html.spec.whatwg.org/#the-promiserejectionevent-interface
class PromiseRejectionEvent extends Event {
  #promise;
  #reason;

  constructor(type, eventInitDict) {
    requireArguments(arguments.length, 2, "Failed to construct 'PromiseRejectionEvent'");
    if (eventInitDict === null || (typeof eventInitDict !== "object" && typeof eventInitDict !== "function")) {
      throw new TypeError("Failed to construct 'PromiseRejectionEvent': The provided value is not of type 'PromiseRejectionEventInit'.");
    }
    super(type, eventInitDict);
    const promise = eventInitDict.promise;
    if (promise === null || (typeof promise !== "object" && typeof promise !== "function")) {
      throw new TypeError("Failed to construct 'PromiseRejectionEvent': Required member 'promise' is not an object.");
    }
    this.#promise = promise;
    this.#reason = eventInitDict.reason;
  }

  get promise() {
    return this.#promise;
  }

  get reason() {
    return this.#reason;
  }
}
finishInterface(PromiseRejectionEvent);

function flattenOptions(options) {
  if (typeof options === "boolean") return options;
  if (options === null || options === undefined) return false;
  if (typeof options === "object" || typeof options === "function") return !!options.capture;
  return !!options;
}

class EventTarget {
  // type -> array of listener records { callback, capture, once, passive, removed }
  #listeners = null;
  // The object exposed as event.target/currentTarget (the global object for
  // the hidden global event target).
  #self = null;

  constructor() {}

  addEventListener(type, callback, options = undefined) {
    requireArguments(arguments.length, 2, "Failed to execute 'addEventListener' on 'EventTarget'");
    type = `${type}`;
    let capture = false;
    let once = false;
    let passive = false;
    let signal = null;
    if (options !== null && (typeof options === "object" || typeof options === "function")) {
      capture = !!options.capture;
      once = !!options.once;
      passive = !!options.passive;
      if (options.signal !== undefined) {
        signal = options.signal;
        if (signal === null || typeof signal !== "object") {
          throw new TypeError(
            "Failed to execute 'addEventListener' on 'EventTarget': Failed to read the 'signal' property from 'AddEventListenerOptions': The provided value is not of type 'AbortSignal'.",
          );
        }
      }
    } else {
      capture = !!options;
    }
    if (callback === null || callback === undefined) return;
    if (typeof callback !== "function" && typeof callback !== "object") {
      throw new TypeError(
        "Failed to execute 'addEventListener' on 'EventTarget': The callback provided as parameter 2 is not an object.",
      );
    }
    if (signal !== null && signal.aborted) return;
    if (this.#listeners === null) this.#listeners = new Map();
    let list = this.#listeners.get(type);
    if (list === undefined) {
      list = [];
      this.#listeners.set(type, list);
    }
    for (let i = 0; i < list.length; i++) {
      if (list[i].callback === callback && list[i].capture === capture) return;
    }
    const listener = { callback, capture, once, passive, removed: false };
    list.push(listener);
    if (signal !== null && typeof signal.addEventListener === "function") {
      signal.addEventListener(
        "abort",
        () => {
          this.#remove(type, listener);
        },
        { once: true },
      );
    }
  }

  removeEventListener(type, callback, options = undefined) {
    requireArguments(arguments.length, 2, "Failed to execute 'removeEventListener' on 'EventTarget'");
    type = `${type}`;
    const capture = flattenOptions(options);
    if (this.#listeners === null) return;
    const list = this.#listeners.get(type);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const listener = list[i];
      if (listener.callback === callback && listener.capture === capture) {
        this.#remove(type, listener);
        return;
      }
    }
  }

  #remove(type, listener) {
    listener.removed = true;
    const list = this.#listeners.get(type);
    if (list === undefined) return;
    const index = list.indexOf(listener);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#listeners.delete(type);
  }

  dispatchEvent(event) {
    if (!eventIsEvent(event)) {
      throw new TypeError(
        "Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.",
      );
    }
    const self = this.#self !== null ? this.#self : this;
    eventBeginDispatch(event, self);
    try {
      eventSetCurrentTarget(event, self);
      eventSetPhase(event, AT_TARGET);
      // At the target, capturing listeners run before non-capturing ones.
      this.#invoke(event, self, true);
      this.#invoke(event, self, false);
    } finally {
      eventEndDispatch(event);
    }
    return !eventCanceled(event);
  }

  #invoke(event, self, capturePass) {
    if (this.#listeners === null || eventStopPropagationFlag(event)) return;
    const list = this.#listeners.get(event.type);
    if (list === undefined) return;
    const snapshot = list.slice();
    const type = event.type;
    for (let i = 0; i < snapshot.length; i++) {
      const listener = snapshot[i];
      if (listener.removed || listener.capture !== capturePass) continue;
      if (listener.once) this.#remove(type, listener);
      const callback = listener.callback;
      if (listener.passive) eventSetInPassiveListener(event, true);
      try {
        if (typeof callback === "function") {
          ReflectApply(callback, self, [event]);
        } else {
          const handleEvent = callback.handleEvent;
          if (typeof handleEvent !== "function") {
            throw new TypeError("'handleEvent' property of the event listener is not callable.");
          }
          ReflectApply(handleEvent, callback, [event]);
        }
      } catch (err) {
        reportError(err);
        if (collecting !== null && !collecting.threw) {
          collecting.threw = true;
          collecting.error = err;
        }
      }
      eventSetInPassiveListener(event, false);
      if (eventStopImmediateFlag(event)) return;
    }
  }

  static {
    internals.setEventTargetSelf = (target, self) => {
      target.#self = self;
    };
    internals.hasEventListeners = (target, type) =>
      target.#listeners !== null && target.#listeners.has(`${type}`);
  }
}
finishInterface(EventTarget);

// The first error a listener threw while internals.dispatchCollectingErrors
// ran (the runtime's own dispatch of a scheduled event fails when one did);
// null outside it.
let collecting = null;
const eventTargetDispatch = EventTarget.prototype.dispatchEvent;

// Dispatches `event` at `target` with the dispatchEvent captured here
// (before any worker code ran), and says whether a listener threw and what.
internals.dispatchCollectingErrors = (target, event) => {
  const previous = collecting;
  const record = { __proto__: null, threw: false, error: undefined };
  collecting = record;
  try {
    ReflectApply(eventTargetDispatch, target, [event]);
  } finally {
    collecting = previous;
  }
  return record;
};

internals.Event = Event;
internals.CustomEvent = CustomEvent;
internals.EventTarget = EventTarget;
internals.isEvent = eventIsEvent;
internals.reportError = reportError;
internals.reportUnhandledRejection = reportUnhandledRejection;
internals.ErrorEvent = ErrorEvent;
internals.PromiseRejectionEvent = PromiseRejectionEvent;
