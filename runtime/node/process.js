// node:process — the parts of Node.js's process object that mean something
// in a worker: env (the worker's vars and secrets when Workers' rule says
// so: runtime/compatibility_flags.h), nextTick (a microtask, as on
// Workers), emitWarning, version(s), platform, cwd, hrtime, uptime; process
// is an EventEmitter ("warning" events). There is no exit(), no argv beyond
// Node's defaults, and no file system: a worker has no process of its own.
// https://nodejs.org/api/process.html

const { ReflectApply, ObjectDefineProperty, MathFloor } = internals.primordials;
const EventEmitter = require("events");
const errors = require("internal/errors");
const { validateFunction } = require("internal/validators");

const process = new EventEmitter();

// Workers' env coerces every value written to a string.
const envTarget = host.processEnv;
const env = new Proxy(envTarget, {
  __proto__: null,
  set(target, key, value) {
    if (typeof key === "symbol") return false;
    target[key] = `${value}`;
    return true;
  },
  defineProperty(target, key, descriptor) {
    if (typeof key === "symbol" || !("value" in descriptor)) return false;
    target[key] = `${descriptor.value}`;
    return true;
  },
});

function nextTick(callback, ...args) {
  validateFunction(callback, "callback");
  internals.queueMicrotask(() => ReflectApply(callback, undefined, args));
}

function emitWarning(warning, type = undefined, code = undefined, ctor = undefined) {
  let detail;
  if (type !== null && typeof type === "object") {
    ({ type = "Warning", code, detail } = type);
  } else if (typeof type === "function") {
    ctor = type;
    type = "Warning";
    code = undefined;
  } else if (typeof code === "function") {
    ctor = code;
    code = undefined;
  }
  if (type === undefined) type = "Warning";
  if (typeof warning === "string") {
    const error = new Error(warning);
    error.name = String(type);
    if (code !== undefined) error.code = code;
    if (detail !== undefined) error.detail = detail;
    warning = error;
  } else if (!(warning instanceof Error)) {
    throw errors.ERR_INVALID_ARG_TYPE("warning", ["Error", "string"], warning);
  }
  void ctor;
  // Node prints on the next tick, after the 'warning' listeners ran.
  nextTick(() => {
    process.emit("warning", warning);
    const prefix = warning.code !== undefined ? `[${warning.code}] ` : "";
    let line = `(node:1) ${prefix}${warning.name}: ${warning.message}`;
    if (typeof warning.detail === "string") line += `\n${warning.detail}`;
    internals.console.warn(line);
  });
}

const start = internals.performance.now();
function hrtime(previous) {
  const now = internals.performance.now();
  let seconds = MathFloor(now / 1000);
  let nanoseconds = MathFloor((now % 1000) * 1e6);
  if (previous !== undefined) {
    if (!Array.isArray(previous) || previous.length !== 2) {
      throw errors.ERR_INVALID_ARG_TYPE("time", "Array", previous);
    }
    seconds -= previous[0];
    nanoseconds -= previous[1];
    if (nanoseconds < 0) {
      seconds -= 1;
      nanoseconds += 1e9;
    }
  }
  return [seconds, nanoseconds];
}
hrtime.bigint = function bigint() {
  return BigInt(MathFloor(internals.performance.now() * 1e6));
};

const version = "v22.14.0";
const fields = {
  env,
  nextTick,
  emitWarning,
  hrtime,
  version,
  versions: { node: version.slice(1) },
  release: { name: "node" },
  platform: "linux",
  arch: "x64",
  title: "workerd",
  pid: 1,
  ppid: 0,
  argv: ["/bin/node"],
  argv0: "node",
  execArgv: [],
  execPath: "/bin/node",
  exitCode: undefined,
  features: { inspector: false, debug: false, uv: false, ipv6: true, tls: true },
  browser: false,
  cwd() {
    return "/bundle";
  },
  chdir() {
    throw errors.makeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", "process.chdir() is not supported in workers");
  },
  umask() {
    return 0o22;
  },
  uptime() {
    return (internals.performance.now() - start) / 1000;
  },
  memoryUsage() {
    return { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  },
  getBuiltinModule(id) {
    if (typeof id !== "string") throw errors.ERR_INVALID_ARG_TYPE("id", "string", id);
    const name = id.startsWith("node:") ? id.slice(5) : id;
    if (name.startsWith("internal/")) return undefined;
    try {
      return require(name);
    } catch {
      return undefined;
    }
  },
};
const names = Object.keys(fields);
for (let i = 0; i < names.length; i++) {
  ObjectDefineProperty(process, names[i], {
    __proto__: null, value: fields[names[i]], writable: true, enumerable: true, configurable: true,
  });
}
internals.nodeProcess = process;
return process;
