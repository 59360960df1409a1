// node:timers — setTimeout/setInterval/setImmediate returning Node's
// Timeout and Immediate objects (ref/unref/hasRef/refresh/close, and the
// timer's id as their primitive value), on the runtime's timers; the clear
// functions take those objects or ids. ref/unref change nothing: a worker's
// timers never keep a process alive.
// https://nodejs.org/api/timers.html

const { ReflectApply } = internals.primordials;
const { validateFunction } = require("internal/validators");
const setTimer = internals.setTimeout;
const setRepeating = internals.setInterval;
const clearTimer = internals.clearTimeout;
const clearRepeating = internals.clearInterval;

const kId = Symbol("kId");

class Timeout {
  constructor(callback, delay, args, repeat) {
    this._idleTimeout = delay;
    this._onTimeout = callback;
    this._timerArgs = args;
    this._repeat = repeat ? delay : null;
    this._destroyed = false;
    this[kId] = undefined;
    this.start();
  }

  start() {
    const run = () => {
      if (this._repeat === null) this._destroyed = true;
      ReflectApply(this._onTimeout, this, this._timerArgs);
    };
    this[kId] = this._repeat !== null ? setRepeating(run, this._idleTimeout) : setTimer(run, this._idleTimeout);
  }

  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return true;
  }
  refresh() {
    if (!this._destroyed) {
      this.clear();
      this.start();
    }
    return this;
  }
  clear() {
    if (this._repeat !== null) clearRepeating(this[kId]);
    else clearTimer(this[kId]);
  }
  close() {
    this.clear();
    this._destroyed = true;
    return this;
  }
  [Symbol.toPrimitive]() {
    return this[kId];
  }
}

class Immediate {
  constructor(callback, args) {
    this._onImmediate = callback;
    this._argv = args;
    this._destroyed = false;
    this[kId] = setTimer(() => {
      this._destroyed = true;
      ReflectApply(callback, this, args);
    }, 0);
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return true;
  }
}

function checkDelay(delay) {
  delay = +delay;
  // Node: a delay outside 1..2^31-1 (or NaN) is 1.
  return delay >= 1 && delay <= 2147483647 ? delay : 1;
}

function setTimeout(callback, delay, ...args) {
  validateFunction(callback, "callback");
  return new Timeout(callback, checkDelay(delay), args, false);
}
function setInterval(callback, delay, ...args) {
  validateFunction(callback, "callback");
  return new Timeout(callback, checkDelay(delay), args, true);
}
function setImmediate(callback, ...args) {
  validateFunction(callback, "callback");
  return new Immediate(callback, args);
}
function clearTimeout(timer) {
  if (timer instanceof Timeout) timer.close();
  else if (timer instanceof Immediate) clearTimer(timer[kId]);
  else if (typeof timer === "number" || typeof timer === "string") clearTimer(+timer);
}
function clearImmediate(immediate) {
  if (immediate instanceof Immediate) {
    immediate._destroyed = true;
    clearTimer(immediate[kId]);
  }
}

const timers = {
  setTimeout,
  clearTimeout,
  setImmediate,
  clearImmediate,
  setInterval,
  clearInterval: clearTimeout,
  // Loaded now, with this module, before any of the worker's code runs.
  promises: require("timers/promises"),
};
return timers;
