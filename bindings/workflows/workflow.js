// Cloudflare Workflows (https://developers.cloudflare.com/workflows/):
//
// - the run of a workflow class (a `WorkflowEntrypoint` of
//   cloudflare:workers, workflow_entrypoint.js): each run
//   (Worker::Workflow) replays `run(event, step)` from the top. A step
//   settled in an earlier run returns its stored result (or throws its
//   stored error) without running; the first new steps run, and the run
//   ends once every new step.do has settled or the instance blocks on a
//   sleep or a wait. The report goes back to the host as records (a JSON
//   line, then the bytes it announces) that bindings/workflows/
//   workflow_engine.cc reads and stores before the next run starts.
// - `env.<BINDING>` for each `[[workflows]]` entry: `Workflow` (create,
//   createBatch, get) and `WorkflowInstance` (status, pause, resume,
//   terminate, restart, sendEvent), over the workflow natives.
//
// Everything the tenant can reach (its configs, its errors, its results)
// is read with built-ins captured before tenant code runs.
//
// The two classes and the per-worker dispatcher every worker gets are
// workflow_entrypoint.js; this file is evaluated on first use
// (runtime/lazy_js.h), after the worker may have patched any built-in, so
// its top level uses only internals and internals.primordials.

const { createDataProperty, illegalConstructor, finishInterface, NonRetryableError, WorkflowEntrypoint } = internals;
const {
  ArrayIsArray, DateNow, ErrorCtor, JSONParse, JSONStringify, MathTrunc, NumberCtor, NumberIsFinite, NumberIsNaN,
  ObjectGetPrototypeOf, PromiseCtor: Promise, PromiseReject, PromiseResolve, ReflectApply, SafeMap,
  StringCtor, StringPrototypeToLowerCase, StringPrototypeTrim, RegExpPrototypeExec, SymbolIterator,
  TypeErrorCtor: TypeError, RangeErrorCtor: RangeError, DateCtor: OriginalDate, DatePrototypeGetTime, ObjectFreeze,
} = internals.primordials;

const kMaxSteps = native.workflowMaxSteps;
const kMaxStepName = native.workflowMaxStepNameBytes;
const kMaxRetries = native.workflowMaxRetries;
const kMaxSleepMs = native.workflowMaxSleepMs;
const kDefaultEventTimeoutMs = 24 * 3600 * 1000;
const kMaxBatch = native.workflowMaxBatch;

function derivesFrom(value, base) {
  let current = value;
  for (let depth = 0; depth < 64; depth++) {
    try {
      current = ObjectGetPrototypeOf(current);
    } catch {
      return false;  // a Proxy's trap threw
    }
    if (current === null || current === undefined) return false;
    if (current === base) return true;
  }
  return false;
}

// { name, message } of what a step or run() threw, whatever it is: a getter
// that throws or a toString that throws gives a placeholder instead.
function errorParts(error) {
  let name = "Error";
  let message = "";
  try {
    if (error !== null && (typeof error === "object" || typeof error === "function")) {
      const n = error.name;
      const m = error.message;
      if (typeof n === "string") name = n;
      message = typeof m === "string" ? m : StringCtor(m === undefined ? "" : m);
    } else {
      message = StringCtor(error);
    }
  } catch {
    message = "(the error could not be read)";
  }
  return { __proto__: null, name, message };
}

function isNonRetryable(error) {
  if (derivesFrom(error, NonRetryableError.prototype)) return true;
  try {
    return error !== null && typeof error === "object" && error.name === "NonRetryableError";
  } catch {
    return false;
  }
}

// A stored error, thrown again into run() on replay.
function storedError(name, message) {
  const error = new ErrorCtor(message);
  if (name !== "" && name !== "Error") createDataProperty(error, "name", name);
  return error;
}

// Durations as Workers takes them: a number of milliseconds, or
// "<n> <unit>" with unit second, minute, hour, day, week, month or year
// (an "s" at the end allowed).
const kUnits = new SafeMap();
kUnits.set("second", 1000);
kUnits.set("minute", 60000);
kUnits.set("hour", 3600000);
kUnits.set("day", 86400000);
kUnits.set("week", 7 * 86400000);
kUnits.set("month", 30 * 86400000);
kUnits.set("year", 365 * 86400000);
const kDurationPattern = /^(\d+(?:\.\d+)?)\s*([a-z]+?)s?$/;

function durationMs(value, what) {
  if (typeof value === "number") {
    if (!NumberIsFinite(value) || value < 0) throw new RangeError(`${what} must be a finite number of milliseconds, not ${value}`);
    return MathTrunc(value);
  }
  if (typeof value !== "string") throw new TypeError(`${what} must be a number of milliseconds or a string such as "10 seconds"`);
  const match = RegExpPrototypeExec(kDurationPattern, StringPrototypeToLowerCase(StringPrototypeTrim(value)));
  const unit = match === null ? undefined : kUnits.get(match[2]);
  if (unit === undefined) {
    throw new TypeError(`${what} "${value}" is not a duration: use a number of milliseconds or "<n> second|minute|hour|day|week|month|year[s]"`);
  }
  return MathTrunc(NumberCtor(match[1]) * unit);
}

function checkStepName(name) {
  if (typeof name !== "string") throw new TypeError("A step name must be a string");
  if (name.length === 0) throw new TypeError("A step name must not be empty");
  if (name.length > kMaxStepName) {
    throw new RangeError(`A step name is limited to ${kMaxStepName} characters (got ${name.length})`);
  }
}

// A step.do config: { retries: { limit, delay, backoff }, timeout },
// Workers' defaults for what it leaves out.
function stepConfig(config) {
  const out = { __proto__: null, limit: 5, delay: 10000, backoff: "exponential", timeout: 600000 };
  if (config === undefined) return out;
  if (config === null || typeof config !== "object") throw new TypeError("A step's config must be an object");
  const retries = config.retries;
  if (retries !== undefined) {
    if (retries === null || typeof retries !== "object") throw new TypeError("retries must be an object");
    const limit = retries.limit;
    if (limit !== undefined) {
      if (typeof limit !== "number" || NumberIsNaN(limit) || limit < 0) {
        throw new TypeError("retries.limit must be a number of retries from 0 (Infinity allowed)");
      }
      out.limit = limit > kMaxRetries ? kMaxRetries : MathTrunc(limit);
    }
    const delay = retries.delay;
    if (delay !== undefined) {
      if (typeof delay === "function") throw new TypeError("edge does not support a function as retries.delay yet: give a duration");
      out.delay = durationMs(delay, "retries.delay");
    }
    const backoff = retries.backoff;
    if (backoff !== undefined) {
      if (backoff !== "constant" && backoff !== "linear" && backoff !== "exponential") {
        throw new TypeError(`retries.backoff must be "constant", "linear" or "exponential"`);
      }
      out.backoff = backoff;
    }
  }
  const timeout = config.timeout;
  if (timeout !== undefined) out.timeout = durationMs(timeout, "timeout");
  if (out.timeout < 1) out.timeout = 1;
  if (out.timeout > 2147483647) out.timeout = 2147483647;
  return out;
}

function never() {
  return new Promise(() => {});
}

// A step still sleeping, waiting or before its next retry: the run blocks
// on it (nothing is reported; the host knows when it is due).
function blocked(run) {
  run.fresh++;
  checkIdle(run);
  return never();
}

// Stored values are V8's serialization (which starts with 0xFF), or JSON
// text when they came from outside a worker (`edge workflows trigger`,
// the admin API).
function deserialize(bytes) {
  if (bytes === undefined || bytes.byteLength === 0) return undefined;
  if (bytes[0] !== 0xff) return JSONParse(internals.utf8Decode(bytes));
  return native.rpcDeserialize([bytes]);
}

const kCreate = {};

// One run of one instance: what it replays and what it reports. Never
// reachable by the worker.
function makeRun(id, steps, resolveEnd) {
  const settled = new SafeMap();
  let counted = 0;  // steps against the limit (sleeps are not)
  for (let i = 0; i < steps.length; i++) {
    // Indexes, not destructuring: Array.prototype[Symbol.iterator] is the
    // tenant's.
    const fields = steps[i];
    const kind = fields[2];
    settled.set(fields[1] + "\u0000" + fields[0], {
      __proto__: null, kind, state: fields[3], result: fields[4], errorName: fields[5], errorMessage: fields[6],
      endMs: fields[7],
    });
    if (kind !== 1) counted++;
  }
  return {
    __proto__: null, id, settled, counters: new SafeMap(), counted, pending: 0, fresh: 0,
    ended: false, idleTimer: 0, resolveEnd, runOutcome: undefined,
  };
}

function write(run, header, bytes) {
  if (run.ended) return;
  if (bytes !== undefined) header.n = bytes.byteLength;
  native.responseWrite(run.id, internals.utf8Encode(JSONStringify(header) + "\n"));
  if (bytes !== undefined && bytes.byteLength !== 0) native.responseWrite(run.id, bytes);
}

function end(run, header, bytes) {
  if (run.ended) return;
  write(run, header, bytes);
  run.ended = true;
  if (run.idleTimer !== 0) {
    native.clearTimer(run.idleTimer);
    run.idleTimer = 0;
  }
  run.resolveEnd();
}

// Whether the run can end: no new step.do is still running. Checked on a
// later turn, so steps started together (Promise.all) all get to run.
function checkIdle(run) {
  if (run.ended || run.pending !== 0 || run.idleTimer !== 0) return;
  run.idleTimer = native.setTimer(() => {
    run.idleTimer = 0;
    if (run.ended || run.pending !== 0) return;
    if (run.runOutcome !== undefined) {
      finishRun(run);
    } else if (run.fresh !== 0) {
      end(run, { __proto__: null, k: "blocked" });
    }
  }, 0, false);
}

// run() settled: its value is the instance's output, its error the
// instance's error, once the new steps it left running have settled.
function finishRun(run) {
  const outcome = run.runOutcome;
  if (outcome.threw) {
    const parts = errorParts(outcome.value);
    end(run, { __proto__: null, k: "throw", en: parts.name, em: parts.message });
    return;
  }
  let bytes;
  try {
    bytes = native.workflowSerialize(outcome.value, "Workflow outputs");
  } catch (error) {
    const parts = errorParts(error);
    end(run, { __proto__: null, k: "throw", en: parts.name, em: parts.message });
    return;
  }
  end(run, { __proto__: null, k: "return" }, bytes);
}

function nextCount(run, name) {
  const count = (run.counters.get(name) || 0) + 1;
  run.counters.set(name, count);
  return count;
}

function countNewStep(run) {
  if (run.counted >= kMaxSteps) {
    throw new RangeError(`The workflow exceeded the maximum of ${kMaxSteps} steps per instance`);
  }
  run.counted++;
  run.fresh++;
}

// A step.do whose attempt runs in this run.
function runAttempt(run, name, count, config, callback, attempt) {
  run.pending++;
  write(run, { __proto__: null, k: "start", name, count, limit: config.limit, delay: config.delay, backoff: config.backoff, timeout: config.timeout });
  const begin = DateNow();
  let done = false;
  let timer = 0;
  const settle = (ok, value) => {
    if (done) return;
    done = true;
    if (timer !== 0) native.clearTimer(timer);
    const dur = DateNow() - begin;
    const header = { __proto__: null, name, count, dur, limit: config.limit, delay: config.delay, backoff: config.backoff, timeout: config.timeout };
    let bytes;
    if (ok) {
      try {
        bytes = native.workflowSerialize(value, "Workflow step results");
      } catch (error) {
        ok = false;
        value = error;
        header.nr = true;  // a result that cannot be kept fails again whatever the retry
      }
    }
    if (ok) {
      header.k = "done";
      write(run, header, bytes);
    } else {
      const parts = errorParts(value);
      header.k = "fail";
      header.en = parts.name;
      header.em = parts.message;
      if (isNonRetryable(value)) header.nr = true;
      write(run, header);
    }
    run.pending--;
    checkIdle(run);
  };
  timer = native.setTimer(() => {
    timer = 0;
    const error = new ErrorCtor(`Step "${name}" timed out after ${config.timeout} ms (attempt ${attempt})`);
    createDataProperty(error, "name", "WorkflowTimeoutError");
    settle(false, error);
  }, config.timeout, false);
  const context = { __proto__: null, attempt, step: ObjectFreeze({ __proto__: null, name, count }) };
  let result;
  try {
    result = ReflectApply(callback, undefined, [context]);
  } catch (error) {
    settle(false, error);
    return;
  }
  // `await` looks up neither Promise.prototype.then nor Symbol.species on a
  // native promise.
  (async () => {
    let value;
    try {
      value = await result;
    } catch (error) {
      settle(false, error);
      return;
    }
    settle(true, value);
  })();
}

// The `step` argument of run().
class WorkflowStep {
  #run;
  constructor(token, run) {
    if (token !== kCreate) throw illegalConstructor();
    this.#run = run;
  }

  do(name, config, callback) {
    try {
      const run = this.#run;
      if (arguments.length < 3) {
        callback = config;
        config = undefined;
      }
      checkStepName(name);
      if (typeof callback !== "function") throw new TypeError("step.do needs a function to run");
      const parsed = stepConfig(config);
      const count = nextCount(run, name);
      const stored = run.settled.get(count + "\u0000" + name);
      if (stored !== undefined && stored.state === 0) return PromiseResolve(deserialize(stored.result));
      if (stored !== undefined && stored.state === 1) {
        return PromiseReject(storedError(stored.errorName, stored.errorMessage));
      }
      if (run.ended) return never();
      if (stored !== undefined && stored.state === 3) return blocked(run);
      if (stored === undefined) countNewStep(run);
      else run.fresh++;
      runAttempt(run, name, count, parsed, callback, stored === undefined ? 1 : stored.endMs + 1);
      return never();
    } catch (error) {
      return PromiseReject(error);
    }
  }

  sleep(name, duration) {
    try {
      const run = this.#run;
      checkStepName(name);
      const ms = durationMs(duration, "step.sleep's duration");
      if (ms > kMaxSleepMs) throw new RangeError(`step.sleep is limited to 365 days (got ${ms} ms)`);
      return this.#sleep(run, name, { __proto__: null, k: "sleep", name, count: 0, ms });
    } catch (error) {
      return PromiseReject(error);
    }
  }

  sleepUntil(name, timestamp) {
    try {
      const run = this.#run;
      checkStepName(name);
      let until;
      if (typeof timestamp === "number") until = timestamp;
      else {
        try {
          until = DatePrototypeGetTime(timestamp);
        } catch {
          throw new TypeError("step.sleepUntil takes a Date or a number of milliseconds since the epoch");
        }
      }
      if (!NumberIsFinite(until)) throw new RangeError("step.sleepUntil's time is not a valid date");
      return this.#sleep(run, name, { __proto__: null, k: "sleep", name, count: 0, until: MathTrunc(until) });
    } catch (error) {
      return PromiseReject(error);
    }
  }

  #sleep(run, name, header) {
    const count = nextCount(run, name);
    const stored = run.settled.get(count + "\u0000" + name);
    if (stored !== undefined && stored.state === 3) return blocked(run);
    if (stored !== undefined) return PromiseResolve(undefined);
    if (run.ended) return never();
    header.count = count;
    run.fresh++;
    write(run, header);
    checkIdle(run);
    return never();
  }

  waitForEvent(name, options) {
    try {
      const run = this.#run;
      checkStepName(name);
      if (options === null || typeof options !== "object") throw new TypeError("step.waitForEvent needs options: { type, timeout }");
      const type = options.type;
      if (typeof type !== "string" || RegExpPrototypeExec(/^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,99}$/, type) === null) {
        throw new TypeError("The event type must be 1 to 100 characters of a-z, A-Z, 0-9, _ and -, not starting with -");
      }
      const rawTimeout = options.timeout;
      let timeout = rawTimeout === undefined ? kDefaultEventTimeoutMs : durationMs(rawTimeout, "waitForEvent's timeout");
      if (timeout > kMaxSleepMs) timeout = kMaxSleepMs;
      const count = nextCount(run, name);
      const stored = run.settled.get(count + "\u0000" + name);
      if (stored !== undefined && stored.state === 0) {
        const event = { payload: deserialize(stored.result), timestamp: new OriginalDate(stored.endMs), type };
        return PromiseResolve(event);
      }
      if (stored !== undefined && stored.state === 1) {
        return PromiseReject(storedError(stored.errorName, stored.errorMessage));
      }
      if (run.ended) return never();
      if (stored !== undefined && stored.state === 3) return blocked(run);
      countNewStep(run);
      write(run, { __proto__: null, k: "wait", name, count, type, timeout });
      checkIdle(run);
      return never();
    } catch (error) {
      return PromiseReject(error);
    }
  }

  get [Symbol.toStringTag]() {
    return "WorkflowStep";
  }
}

// The dispatcher of a worker's workflow runs, made on its first run
// (prepareWorkflowHandler, workflow_entrypoint.js). The C++ side calls it
// per run (Worker::Workflow):
//   (id, className, instanceId, params, timestamp, steps, env)
// `steps` are the instance's steps: [name, count, kind (0 do, 1 sleep,
// 2 wait), state (0 done, 1 failed, 2 to run now, 3 not due yet), result bytes,
// error name, error message, end ms (attempts so far for state 2)].
internals.workflowDispatcher = function workflowDispatcher(exported, named) {
  return function dispatchWorkflow(id, className, instanceId, params, timestamp, steps, env) {
    native.responseStart(id, 200, "OK", [], -1);
    internals.runBackground(id, (life) => {
      let resolveEnd;
      const ended = new Promise((resolve) => {
        resolveEnd = resolve;
      });
      const run = makeRun(id, steps, resolveEnd);
      const target = named === undefined ? undefined : named[className];
      if (typeof target !== "function" || !derivesFrom(target, WorkflowEntrypoint)) {
        // The instance errors: its version will never have the class.
        end(run, {
          __proto__: null, k: "throw", en: "TypeError",
          em: `The worker has no class "${className}" extending WorkflowEntrypoint (cloudflare:workers) among its exports`,
        });
        return ended;
      }
      const instance = new target(internals.makeExecutionContext(life), env);
      if (typeof instance.run !== "function") throw new TypeError(`The workflow class "${className}" has no run() method`);
      const event = ObjectFreeze({
        __proto__: null,
        payload: deserialize(params),
        timestamp: new OriginalDate(timestamp),
        instanceId,
      });
      const step = new WorkflowStep(kCreate, run);
      let result;
      try {
        result = ReflectApply(instance.run, instance, [event, step]);
      } catch (error) {
        run.runOutcome = { __proto__: null, threw: true, value: error };
        checkIdle(run);
        if (run.pending === 0 && run.idleTimer === 0) finishRun(run);
        return ended;
      }
      (async () => {
        let value;
        try {
          value = await result;
        } catch (error) {
          run.runOutcome = { __proto__: null, threw: true, value: error };
          checkIdle(run);
          return;
        }
        run.runOutcome = { __proto__: null, threw: false, value };
        checkIdle(run);
      })();
      return ended;
    }, {
      __proto__: null,
      succeed: () => native.responseFinish(id),
      failed: (error, text) => {
        if (text === undefined) {
          const parts = errorParts(error);
          text = parts.name + ": " + parts.message;
        }
        native.responseFail(id, text);
      },
    });
  };
};

// The binding: env.<BINDING> of a [[workflows]] entry.

function workflowNative(name) {
  const fn = native[name];
  if (typeof fn !== "function") throw new TypeError("Workflows are not available in this build of edge");
  return fn;
}

function instanceIdOf(value) {
  if (typeof value !== "string") throw new TypeError("A workflow instance id must be a string");
  return value;
}

// create's options: { id?, params? } -> [id or "", params bytes or undefined].
function createItem(options) {
  if (options === undefined || options === null) return ["", undefined];
  if (typeof options !== "object") throw new TypeError("Workflow create options must be an object");
  const id = options.id;
  const params = options.params;
  const item = [];
  createDataProperty(item, 0, id === undefined ? "" : instanceIdOf(id));
  createDataProperty(item, 1, params === undefined ? undefined : native.workflowSerialize(params, "Workflow instance params"));
  return item;
}

class WorkflowInstance {
  #handle;
  #id;
  constructor(token = undefined, handle = undefined, id = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
    this.#id = id;
  }
  get id() {
    return this.#id;
  }
  async status() {
    const fields = await workflowNative("workflowStatus")(this.#handle, this.#id);
    const output = fields[1];
    const errorName = fields[2];
    const errorMessage = fields[3];
    const out = { status: fields[0], error: undefined, output: undefined };
    if (output !== undefined) out.output = deserialize(output);
    if (errorName !== "" || errorMessage !== "") out.error = { name: errorName, message: errorMessage };
    return out;
  }
  pause() {
    return this.#control("pause");
  }
  resume() {
    return this.#control("resume");
  }
  terminate() {
    return this.#control("terminate");
  }
  restart() {
    return this.#control("restart");
  }
  #control(op) {
    try {
      return workflowNative("workflowControl")(this.#handle, this.#id, op);
    } catch (error) {
      return PromiseReject(error);
    }
  }
  sendEvent(event) {
    try {
      if (event === null || typeof event !== "object") throw new TypeError("sendEvent takes { type, payload }");
      const type = event.type;
      if (typeof type !== "string") throw new TypeError("The event type must be a string");
      const payload = native.workflowSerialize(event.payload, "Workflow event payloads");
      return workflowNative("workflowSendEvent")(this.#handle, this.#id, type, payload);
    } catch (error) {
      return PromiseReject(error);
    }
  }
}
finishInterface(WorkflowInstance);

class Workflow {
  #handle;
  constructor(token = undefined, handle = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
  }
  async create(options = undefined) {
    const handle = this.#handle;
    const ids = await workflowNative("workflowCreate")(handle, [createItem(options)], false);
    return new WorkflowInstance(kCreate, handle, ids[0]);
  }
  async createBatch(batch) {
    const handle = this.#handle;
    if (!ArrayIsArray(batch)) throw new TypeError("createBatch takes an array of { id?, params? }");
    const length = batch.length;
    if (length === 0) throw new TypeError("createBatch needs at least one instance");
    if (length > kMaxBatch) throw new RangeError(`createBatch takes at most ${kMaxBatch} instances (got ${length})`);
    const items = [];
    for (let i = 0; i < length; i++) createDataProperty(items, i, createItem(batch[i]));
    const ids = await workflowNative("workflowCreate")(handle, items, true);
    const out = [];
    for (let i = 0; i < ids.length; i++) createDataProperty(out, i, new WorkflowInstance(kCreate, handle, ids[i]));
    return out;
  }
  async get(id) {
    const handle = this.#handle;
    instanceIdOf(id);
    await workflowNative("workflowGet")(handle, id);
    return new WorkflowInstance(kCreate, handle, id);
  }
}
finishInterface(Workflow);

internals.Workflow = Workflow;
internals.registerBindingKind("workflow", (name, handle) => new Workflow(kCreate, handle));
