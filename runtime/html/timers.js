// setTimeout, setInterval, clearTimeout, clearInterval and queueMicrotask.
// Timers run on native.setTimer; callbacks must be functions (no string
// evaluation, as in Workers), get the extra arguments, and exceptions they
// throw are reported with internals.reportError.
//
// A timer set while an invocation (a request) runs belongs to it: when the
// invocation ends (its response sent and its waitUntil work settled, see
// dispatch.js) the timer is cleared, as on Workers; one set after its
// invocation ended is never armed. A module's top-level code cannot set
// one (native.setTimer refuses in the global scope, runtime/global_scope.h);
// a timer set outside any invocation after the load (edge test's runner,
// tests) runs as long as the isolate lives.

const { reportError, requireArguments, invocationHold, invocationRelease } = internals;

// A timer's owner and its delay use built-ins captured before tenant code
// runs (runtime/js/primordials.js); TypeError is the original.
const {
  MapPrototypeDelete, MapPrototypeGet, MapPrototypeSet, MathFloor, NumberCtor, PromisePrototypeThen, PromiseResolve,
  ReflectApply, SafeMap, TypeErrorCtor: TypeError,
} = internals.primordials;
const nativeSetTimer = native.setTimer;
const nativeClearTimer = native.clearTimer;
const globalObject = globalThis;

// Timer id -> the invocation it belongs to (only timers set in one).
const owners = new SafeMap();

// The timer no longer belongs to its invocation (it fired once, or was cleared).
function release(id) {
  const invocation = MapPrototypeGet(owners, id);
  if (invocation === undefined) return;
  MapPrototypeDelete(owners, id);
  invocationRelease(invocation, id);
}

// Called for each of its timers when an invocation ends.
function cancelWithInvocation(id) {
  MapPrototypeDelete(owners, id);
  nativeClearTimer(id);
}

function checkCallback(callback, method) {
  if (typeof callback !== "function") {
    throw new TypeError(
      `Failed to execute '${method}': parameter 1 is not of type 'Function' (strings are not evaluated).`,
    );
  }
}

// WebIDL `long`, then clamped at 0 (as HTML's timer initialization steps).
function normalizeDelay(delay) {
  const n = NumberCtor(delay) | 0;
  return n > 0 ? n : 0;
}

// The callback runs in the invocation (runtime/js/invocation.js) that set the
// timer, so a fetch() made from it counts against that invocation's
// subrequests: V8 carries the invocation through promise reactions, not
// through timers.
// The async context it runs in is the setter's (its invocation, and the
// AsyncLocalStorage stores of node:async_hooks).
function startTimer(callback, args, delay, repeat) {
  const invocation = internals.currentInvocation();
  const context = internals.currentAsyncContext();
  let id = 0;
  const fire = () => {
    if (!repeat) release(id);
    try {
      if (context === undefined) ReflectApply(callback, globalObject, args);
      else internals.runInAsyncContext(context, callback, globalObject, args);
    } catch (err) {
      reportError(err);
    }
  };
  id = nativeSetTimer(fire, delay, repeat);
  if (invocation !== undefined) {
    if (invocation.ended) {
      // Its request is over: the timer never fires (the id stays unique).
      nativeClearTimer(id);
    } else {
      MapPrototypeSet(owners, id, invocation);
      invocationHold(invocation, id, cancelWithInvocation);
    }
  }
  return id;
}

function setTimeout(callback, delay = 0, ...args) {
  checkCallback(callback, "setTimeout");
  return startTimer(callback, args, normalizeDelay(delay), false);
}

function setInterval(callback, delay = 0, ...args) {
  checkCallback(callback, "setInterval");
  return startTimer(callback, args, normalizeDelay(delay), true);
}

function clearTimer(id) {
  if (id === undefined || id === null) return;
  const n = NumberCtor(id);
  if (n > 0 && n === MathFloor(n)) {
    release(n);
    nativeClearTimer(n);
  }
}

function clearTimeout(id = undefined) {
  clearTimer(id);
}

function clearInterval(id = undefined) {
  clearTimer(id);
}

const resolved = PromiseResolve(undefined);

function queueMicrotask(callback) {
  requireArguments(arguments.length, 1, "Failed to execute 'queueMicrotask'");
  if (typeof callback !== "function") {
    throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  }
  PromisePrototypeThen(resolved, () => {
    try {
      ReflectApply(callback, undefined, []);
    } catch (err) {
      reportError(err);
    }
  });
}

internals.setTimeout = setTimeout;
internals.setInterval = setInterval;
internals.clearTimeout = clearTimeout;
internals.clearInterval = clearInterval;
internals.queueMicrotask = queueMicrotask;
