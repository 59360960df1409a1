// AbortController and AbortSignal (https://dom.spec.whatwg.org/#aborting-ongoing-activities):
// abort(), AbortSignal.abort/timeout/any, the "abort" event and onabort, and
// the internal abort algorithms that fetch() and pipeTo() register
// (internals.addAbortAlgorithm / removeAbortAlgorithm).

const {
  EventTarget, Event, DOMException, finishInterface, illegalConstructor, brandCheck, requireArguments,
  isObject, setEventTrusted,
} = internals;

const ReflectApply = Reflect.apply;
const SetCtor = Set;
const WeakRefCtor = WeakRef;

const kCreate = {};

// Set by the classes' static blocks: the operations on their private state.
let isAbortSignal;
let signalState;
let addAlgorithm;
let removeAlgorithm;
let signalAbort;
let runAbortSteps;
let controllerState;

// Runs `algorithm` and reports what it throws, so one broken algorithm does
// not stop the others.
function runAlgorithm(algorithm) {
  try {
    ReflectApply(algorithm, undefined, []);
  } catch (error) {
    internals.reportError(error);
  }
}

class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #algorithms = new SetCtor();
  #onabort = null;
  #onabortListener = null;
  // Signals made by AbortSignal.any() that follow this one, held weakly so
  // that a long-lived signal does not keep every dependent alive.
  #dependents = null;
  #dependent = false;

  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    super();
  }

  get aborted() {
    return signalState(this).#aborted;
  }

  get reason() {
    return signalState(this).#reason;
  }

  throwIfAborted() {
    const signal = signalState(this);
    if (signal.#aborted) throw signal.#reason;
  }

  get onabort() {
    return signalState(this).#onabort;
  }

  set onabort(value) {
    const signal = signalState(this);
    if (signal.#onabortListener !== null) {
      signal.removeEventListener("abort", signal.#onabortListener);
      signal.#onabortListener = null;
    }
    signal.#onabort = typeof value === "function" || (value !== null && typeof value === "object")
      ? value
      : null;
    if (typeof signal.#onabort === "function") {
      const handler = signal.#onabort;
      signal.#onabortListener = function (event) {
        return ReflectApply(handler, this, [event]);
      };
      signal.addEventListener("abort", signal.#onabortListener);
    }
  }

  static abort(reason = undefined) {
    const signal = new AbortSignal(kCreate);
    signal.#aborted = true;
    signal.#reason = reason === undefined ? defaultReason() : reason;
    return signal;
  }

  static timeout(milliseconds) {
    requireArguments(arguments.length, 1, "Failed to execute 'timeout' on 'AbortSignal'");
    const ms = Number(milliseconds);
    if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
      throw new TypeError(
        "Failed to execute 'timeout' on 'AbortSignal': Value is outside the 'unsigned long long' value range.",
      );
    }
    const signal = new AbortSignal(kCreate);
    internals.setTimeout(() => {
      signalAbort(signal, new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    }, Math.trunc(ms));
    return signal;
  }

  static any(signals) {
    requireArguments(arguments.length, 1, "Failed to execute 'any' on 'AbortSignal'");
    if (signals === null || typeof signals !== "object" || typeof signals[Symbol.iterator] !== "function") {
      throw new TypeError("Failed to execute 'any' on 'AbortSignal': The provided value cannot be converted to a sequence.");
    }
    const list = [...signals];
    for (let i = 0; i < list.length; i++) {
      if (!isAbortSignal(list[i])) {
        throw new TypeError("Failed to execute 'any' on 'AbortSignal': Failed to convert value to 'AbortSignal'.");
      }
    }
    const result = new AbortSignal(kCreate);
    for (let i = 0; i < list.length; i++) {
      if (list[i].#aborted) {
        result.#aborted = true;
        result.#reason = list[i].#reason;
        return result;
      }
    }
    result.#dependent = true;
    for (let i = 0; i < list.length; i++) {
      // A dependent signal's sources are the non-dependent ones behind it.
      const sources = list[i].#dependent ? list[i].#sources : [list[i]];
      for (const source of sources) {
        if (source.#dependents === null) source.#dependents = new SetCtor();
        source.#dependents.add(new WeakRefCtor(result));
        result.#sources.push(source);
      }
    }
    return result;
  }

  #sources = [];

  static {
    isAbortSignal = (value) => value !== null && typeof value === "object" && #aborted in value;
    signalState = brandCheck((value) => (isAbortSignal(value) ? value : undefined));
    addAlgorithm = (signal, algorithm) => {
      if (!signal.#aborted) signal.#algorithms.add(algorithm);
    };
    removeAlgorithm = (signal, algorithm) => {
      signal.#algorithms.delete(algorithm);
    };
    // https://dom.spec.whatwg.org/#abortsignal-signal-abort
    signalAbort = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? defaultReason() : reason;
      const dependents = [];
      if (signal.#dependents !== null) {
        for (const ref of signal.#dependents) {
          const dependent = ref.deref();
          if (dependent !== undefined && !dependent.#aborted) {
            dependent.#aborted = true;
            dependent.#reason = signal.#reason;
            dependents.push(dependent);
          }
        }
        signal.#dependents = null;
      }
      runAbortSteps(signal);
      for (let i = 0; i < dependents.length; i++) runAbortSteps(dependents[i]);
    };
    runAbortSteps = (signal) => {
      const algorithms = signal.#algorithms;
      signal.#algorithms = new SetCtor();
      for (const algorithm of algorithms) runAlgorithm(algorithm);
      const event = new Event("abort");
      setEventTrusted(event, true);
      signal.dispatchEvent(event);
    };
  }
}

function defaultReason() {
  return new DOMException("The operation was aborted.", "AbortError");
}

class AbortController {
  #signal = new AbortSignal(kCreate);

  get signal() {
    return controllerState(this).#signal;
  }

  abort(reason = undefined) {
    signalAbort(controllerState(this).#signal, reason);
  }

  static {
    controllerState = brandCheck((value) => (isObject(value) && #signal in value ? value : undefined));
  }
}

finishInterface(AbortSignal);
finishInterface(AbortController);

internals.AbortSignal = AbortSignal;
internals.AbortController = AbortController;
internals.isAbortSignal = (value) => isAbortSignal(value);
internals.addAbortAlgorithm = (signal, algorithm) => addAlgorithm(signal, algorithm);
internals.removeAbortAlgorithm = (signal, algorithm) => removeAlgorithm(signal, algorithm);
internals.signalAbort = (signal, reason) => signalAbort(signal, reason);
