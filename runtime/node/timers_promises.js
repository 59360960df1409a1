// node:timers/promises — setTimeout/setImmediate as promises, setInterval
// as an async iterator, scheduler.wait/yield; each takes { signal } and
// rejects with an AbortError when it aborts.
// https://nodejs.org/api/timers.html#timers-promises-api

const { PromiseCtor } = internals.primordials;
const errors = require("internal/errors");
const { validateObject, validateAbortSignal } = require("internal/validators");
const setTimer = internals.setTimeout;
const clearTimer = internals.clearTimeout;

function options(value) {
  if (value === undefined) return {};
  validateObject(value, "options");
  validateAbortSignal(value.signal, "options.signal");
  return value;
}

function abortError(signal) {
  return new errors.AbortError(undefined, { cause: signal?.reason });
}

function setTimeout(delay = 1, value = undefined, opts = undefined) {
  let signal;
  try {
    ({ signal } = options(opts));
  } catch (err) {
    return Promise.reject(err);
  }
  if (signal?.aborted) return Promise.reject(abortError(signal));
  delay = +delay;
  if (!(delay >= 1 && delay <= 2147483647)) delay = 1;
  return new PromiseCtor((resolve, reject) => {
    const onAbort = () => {
      clearTimer(id);
      reject(abortError(signal));
    };
    const id = setTimer(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, delay);
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

function setImmediate(value = undefined, opts = undefined) {
  return setTimeout(0, value, opts);
}

async function* setInterval(delay = 1, value = undefined, opts = undefined) {
  const { signal } = options(opts);
  if (signal?.aborted) throw abortError(signal);
  while (true) {
    yield await setTimeout(delay, value, signal ? { signal } : undefined);
  }
}

const scheduler = {
  wait(delay, opts = undefined) {
    return setTimeout(delay, undefined, opts);
  },
  yield() {
    return setTimeout(0);
  },
};

return { setTimeout, setImmediate, setInterval, scheduler };
