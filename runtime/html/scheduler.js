// scheduler (Workers' global, https://developers.cloudflare.com/workers/runtime-apis/scheduler/):
// scheduler.wait(delay, { signal }) resolves after `delay` milliseconds, as
// an awaitable setTimeout; an AbortSignal rejects it with the signal's
// reason (at once when it is already aborted) and clears the timer. It is a
// timer like setTimeout's (timers.js): refused in a module's top-level code,
// belonging to the invocation that set it.

const {
  AbortSignal, addAbortAlgorithm, finishInterface, illegalConstructor, isAbortSignal, isObject, removeAbortAlgorithm,
  requireArguments,
} = internals;
const { ObjectGetOwnPropertyDescriptor, PromiseCtor, ReflectApply, TypeErrorCtor: TypeError } = internals.primordials;
const setTimer = internals.setTimeout;
const clearTimer = internals.clearTimeout;
const abortedGetter = ObjectGetOwnPropertyDescriptor(AbortSignal.prototype, "aborted").get;
const reasonGetter = ObjectGetOwnPropertyDescriptor(AbortSignal.prototype, "reason").get;

const kCreate = {};

class Scheduler {
  #brand = true;

  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
  }

  wait(delay, options = undefined) {
    if (!isObject(this) || !(#brand in this)) {
      throw new TypeError("Failed to execute 'wait' on 'Scheduler': Illegal invocation");
    }
    requireArguments(arguments.length, 1, "Failed to execute 'wait' on 'Scheduler'");
    let signal;
    if (options !== undefined && options !== null) {
      if (typeof options !== "object" && typeof options !== "function") {
        throw new TypeError("Failed to execute 'wait' on 'Scheduler': the options must be an object.");
      }
      signal = options.signal;
      if (signal !== undefined && !isAbortSignal(signal)) {
        throw new TypeError("Failed to execute 'wait' on 'Scheduler': options.signal is not an AbortSignal.");
      }
    }
    return new PromiseCtor((resolve, reject) => {
      if (signal !== undefined && ReflectApply(abortedGetter, signal, [])) {
        reject(ReflectApply(reasonGetter, signal, []));
        return;
      }
      let onAbort;
      const id = setTimer(() => {
        if (onAbort !== undefined) removeAbortAlgorithm(signal, onAbort);
        resolve(undefined);
      }, delay);
      if (signal !== undefined) {
        onAbort = () => {
          clearTimer(id);
          reject(ReflectApply(reasonGetter, signal, []));
        };
        addAbortAlgorithm(signal, onAbort);
      }
    });
  }
}
finishInterface(Scheduler);

internals.Scheduler = Scheduler;
internals.scheduler = new Scheduler(kCreate);
