// setTimeout, setInterval, clearTimeout, clearInterval and queueMicrotask.
// Timers run on native.setTimer; callbacks must be functions (no string
// evaluation, as in Workers), get the extra arguments, and exceptions they
// throw are reported with internals.reportError.

const { reportError, requireArguments } = internals;

const ReflectApply = Reflect.apply;
const PromiseResolve = Promise.resolve.bind(Promise);
const PromisePrototypeThen = Function.prototype.call.bind(Promise.prototype.then);
const nativeSetTimer = native.setTimer;
const nativeClearTimer = native.clearTimer;
const globalObject = globalThis;

function checkCallback(callback, method) {
  if (typeof callback !== "function") {
    throw new TypeError(
      `Failed to execute '${method}': parameter 1 is not of type 'Function' (strings are not evaluated).`,
    );
  }
}

// WebIDL `long`, then clamped at 0 (as HTML's timer initialization steps).
function normalizeDelay(delay) {
  const n = Number(delay) | 0;
  return n > 0 ? n : 0;
}

// The callback runs in the invocation (runtime/js/invocation.js) that set the
// timer, so a fetch() made from it counts against that invocation's
// subrequests: V8 carries the invocation through promise reactions, not
// through timers.
function makeTimerCallback(callback, args) {
  const invocation = internals.currentInvocation();
  return () => {
    try {
      if (invocation === undefined) ReflectApply(callback, globalObject, args);
      else internals.runInInvocation(invocation, callback, globalObject, args);
    } catch (err) {
      reportError(err);
    }
  };
}

function setTimeout(callback, delay = 0, ...args) {
  checkCallback(callback, "setTimeout");
  return nativeSetTimer(makeTimerCallback(callback, args), normalizeDelay(delay), false);
}

function setInterval(callback, delay = 0, ...args) {
  checkCallback(callback, "setInterval");
  return nativeSetTimer(makeTimerCallback(callback, args), normalizeDelay(delay), true);
}

function clearTimer(id) {
  if (id === undefined || id === null) return;
  const n = Number(id);
  if (n > 0 && n === Math.floor(n)) nativeClearTimer(n);
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
