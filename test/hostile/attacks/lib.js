// Shared by the attack workers (test/hostile/test_hostile.py copies it next
// to each). An attack is a list of steps run while the worker's realm is
// poisoned; what each step did is recorded with built-ins captured here, at
// the worker's startup, and described only after the poison is removed.
//
// A step is [name, fn] (any outcome is fine: the point is that the node
// survives) or [name, fn, expected] where `expected` is the error name the
// step must throw ("any" for any error, "none" for no error). A step that
// does otherwise is reported as UNEXPECTED, which the runner fails on.

const MapCtor = Map;
const mapSet = Map.prototype.set;
const mapForEach = Map.prototype.forEach;
const apply = Reflect.apply;
const StringCtor = String;
const JSONStringify = JSON.stringify;
const ResponseCtor = Response;
const PromiseCtor = Promise;
const promiseThen = Promise.prototype.then;
const setTimer = setTimeout;

// Runs `steps` between install() and uninstall(); returns the report lines.
export async function attack(install, uninstall, steps) {
  const outcomes = new MapCtor();
  install();
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      let outcome;
      try {
        const value = step[1]();
        // Awaited without `await` on a possibly poisoned Promise.prototype:
        // a captured `then` settles a captured Promise.
        outcome = { ok: true, value: await settle(value) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      apply(mapSet, outcomes, [step, outcome]);
    }
  } finally {
    uninstall();
  }
  const lines = [];
  apply(mapForEach, outcomes, [
    (outcome, step) => {
      lines.push(describe(step, outcome));
    },
  ]);
  return lines;
}

function settle(value) {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return value;
  let isPromise = false;
  try {
    isPromise = value instanceof PromiseCtor;
  } catch {
    return value;
  }
  if (!isPromise) return value;
  // A step that never settles is reported as such after a second.
  return new PromiseCtor((resolve, reject) => {
    setTimer(() => resolve("still pending after 1 s"), 1000);
    apply(promiseThen, value, [resolve, reject]);
  });
}

function errorName(error) {
  try {
    if (error !== null && typeof error === "object") return `${error.name}: ${`${error.message}`.slice(0, 120)}`;
    return `non-error ${StringCtor(error).slice(0, 60)}`;
  } catch {
    return "an unprintable error";
  }
}

function describe(step, outcome) {
  const [name, , expected] = step;
  const got = outcome.ok ? "returned" : `threw ${errorName(outcome.error)}`;
  let verdict = "";
  if (expected === "none" && !outcome.ok) verdict = "UNEXPECTED ";
  else if (expected === "any" && outcome.ok) verdict = "UNEXPECTED ";
  else if (expected !== undefined && expected !== "none" && expected !== "any") {
    const name = outcome.ok ? "" : `${outcome.error && outcome.error.name}`;
    if (name !== expected) verdict = `UNEXPECTED (wanted ${expected}) `;
  }
  return `${verdict}${name}: ${got}`;
}

// Defines `names` on `target` as accessors made by make(name) (a
// descriptor); returns the function that removes them again.
// (Everything is prepared before the first accessor goes in: `target` may
// be Array.prototype itself.)
export function define(target, names, make) {
  const done = names.map((name) => [name, Object.getOwnPropertyDescriptor(target, name), make(name)]);
  for (const [name, , descriptor] of done) {
    Object.defineProperty(target, name, { __proto__: null, configurable: true, ...descriptor });
  }
  return () => {
    for (const [name, previous] of done) {
      if (previous === undefined) delete target[name];
      else Object.defineProperty(target, name, previous);
    }
  };
}

export function reply(lines) {
  return new ResponseCtor(`done\n${lines.join("\n")}\n`, { headers: { "content-type": "text/plain" } });
}

export function json(value) {
  return JSONStringify(value);
}

// The Web API entry points most attacks call once the realm is poisoned,
// each given `arg` where it takes an argument.
export function entryPoints(env, arg) {
  const text = new TextEncoder().encode("x");
  return [
    ["fetch", () => fetch(arg)],
    ["fetch origin", () => fetch(env.ORIGIN).then((r) => r.text())],
    ["fetch init", () => fetch(env.ORIGIN, arg)],
    ["Request", () => new Request(arg)],
    ["Request init", () => new Request("https://example.com/", arg)],
    ["Response body", () => new Response(arg).text()],
    ["Response init", () => new Response("x", arg)],
    ["Headers", () => new Headers(arg)],
    ["Headers append", () => new Headers().append(arg, arg)],
    ["URL", () => new URL(arg)],
    ["URL base", () => new URL("/x", arg)],
    ["URLSearchParams", () => new URLSearchParams(arg).toString()],
    ["URLPattern", () => new URLPattern(arg)],
    ["TextEncoder", () => new TextEncoder().encode(arg)],
    ["TextDecoder", () => new TextDecoder().decode(arg)],
    ["TextDecoder label", () => new TextDecoder(arg)],
    ["atob", () => atob(arg)],
    ["btoa", () => btoa(arg)],
    ["structuredClone", () => structuredClone(arg)],
    ["structuredClone transfer", () => structuredClone(text, arg)],
    ["ReadableStream", () => new ReadableStream(arg)],
    ["ReadableStream strategy", () => new ReadableStream({}, arg)],
    ["WritableStream", () => new WritableStream(arg)],
    ["TransformStream", () => new TransformStream(arg)],
    ["stream read", () => new ReadableStream({ start: (c) => c.enqueue(arg) }).getReader().read()],
    ["pipeTo", () => new ReadableStream({ start: (c) => c.close() }).pipeTo(new WritableStream(), arg)],
    ["CompressionStream", () => new CompressionStream(arg)],
    ["Blob", () => new Blob(arg).text()],
    ["Blob parts", () => new Blob([arg]).text()],
    ["File", () => new File([text], arg)],
    ["FormData append", () => new FormData().append("a", arg)],
    ["Event", () => new Event(arg, arg)],
    ["EventTarget", () => new EventTarget().addEventListener("x", arg, arg)],
    ["AbortSignal.any", () => AbortSignal.any(arg)],
    ["setTimeout", () => clearTimeout(setTimeout(arg, arg))],
    ["queueMicrotask", () => queueMicrotask(arg)],
    ["console.log", () => console.log(arg)],
    ["crypto.getRandomValues", () => crypto.getRandomValues(arg)],
    ["digest", () => crypto.subtle.digest(arg, text)],
    ["digest data", () => crypto.subtle.digest("SHA-256", arg)],
    ["importKey", () => crypto.subtle.importKey("raw", text, arg, false, ["sign"])],
    ["importKey jwk", () => crypto.subtle.importKey("jwk", arg, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])],
    ["generateKey", () => crypto.subtle.generateKey(arg, false, ["sign"])],
    ["timingSafeEqual", () => crypto.subtle.timingSafeEqual(arg, arg)],
    ["KV get", () => env.STORE.get(arg)],
    ["KV get options", () => env.STORE.get("k", arg)],
    ["KV getWithMetadata", () => env.STORE.getWithMetadata(arg)],
    ["KV put", () => env.STORE.put("k", arg)],
    ["KV put options", () => env.STORE.put("k", "v", arg)],
    ["KV list", () => env.STORE.list(arg)],
    ["KV delete", () => env.STORE.delete(arg)],
    ["service fetch", () => env.VICTIM.fetch(arg)],
    ["service fetch init", () => env.VICTIM.fetch("http://victim/", arg)],
  ];
}

// The built-ins the runtime's JavaScript could reach at request time
// (runtime/js/primordials.js says which it must not), as [object, key]
// pairs: prototype methods, the iterators' `next`, global namespaces'
// functions and global constructors.
export function builtinTargets() {
  const ArrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]());
  const MapIteratorPrototype = Object.getPrototypeOf(new Map().entries());
  const SetIteratorPrototype = Object.getPrototypeOf(new Set().values());
  const StringIteratorPrototype = Object.getPrototypeOf(""[Symbol.iterator]());
  const targets = [];
  const add = (object, keys) => {
    for (const key of keys) targets.push([object, key]);
  };
  add(Array.prototype, ["push", "pop", "shift", "map", "filter", "join", "indexOf", "includes", "slice", "splice",
    "sort", "concat", "forEach", "some", "every", "find", Symbol.iterator]);
  add(ArrayIteratorPrototype, ["next"]);
  add(MapIteratorPrototype, ["next"]);
  add(SetIteratorPrototype, ["next"]);
  add(StringIteratorPrototype, ["next"]);
  add(Map.prototype, ["get", "set", "has", "delete", "forEach", "keys", "values", "entries", Symbol.iterator]);
  add(Set.prototype, ["add", "has", "delete", "forEach", "values", Symbol.iterator]);
  add(WeakMap.prototype, ["get", "set", "has", "delete"]);
  add(Promise.prototype, ["then", "catch", "finally"]);
  add(Promise, ["resolve", "reject", "all"]);
  add(RegExp.prototype, ["exec", "test", Symbol.replace, Symbol.split, Symbol.match]);
  add(String.prototype, ["toLowerCase", "toUpperCase", "indexOf", "slice", "split", "charCodeAt", "replace",
    "trim", "startsWith", "endsWith", "includes", "padStart", "toString", "valueOf"]);
  add(Number.prototype, ["toString", "valueOf"]);
  add(Function.prototype, ["call", "apply", "bind"]);
  add(Object, ["keys", "entries", "defineProperty", "getOwnPropertyDescriptor", "getPrototypeOf", "assign",
    "freeze"]);
  add(Object.prototype, ["hasOwnProperty", "toString"]);
  add(JSON, ["parse", "stringify"]);
  add(Reflect, ["apply", "ownKeys", "construct"]);
  add(Math, ["floor", "min", "max", "trunc"]);
  add(Number, ["isNaN", "isFinite"]);
  add(ArrayBuffer, ["isView"]);
  add(Array, ["isArray", "from"]);
  add(globalThis, ["Uint8Array", "ArrayBuffer", "DataView", "TypeError", "RangeError", "Error", "Map", "Set",
    "WeakMap", "Promise", "Number", "String", "Symbol"]);
  return targets;
}

// Replaces every built-in of builtinTargets() with make(object, key,
// original); returns [install, uninstall] for attack(). Both run on
// functions captured here, so they work while the realm is poisoned.
export function patchBuiltins(make) {
  const targets = builtinTargets();
  const getDescriptor = Object.getOwnPropertyDescriptor;
  const defineProperty = Object.defineProperty;
  const saved = [];
  const replaced = [];
  for (let i = 0; i < targets.length; i++) {
    const [object, key] = targets[i];
    const previous = getDescriptor(object, key);
    saved[i] = previous;
    replaced[i] = { __proto__: null, value: make(object, key, previous.value), writable: true, configurable: true };
  }
  const install = () => {
    for (let i = 0; i < targets.length; i++) defineProperty(targets[i][0], targets[i][1], replaced[i]);
  };
  const uninstall = () => {
    for (let i = 0; i < targets.length; i++) defineProperty(targets[i][0], targets[i][1], saved[i]);
  };
  return [install, uninstall];
}

// A replacement that throws whenever it is called or constructed.
export function thrower(object, key) {
  const ErrorCtor = Error;
  const name = typeof key === "symbol" ? key.description : key;
  return function poisoned() {
    throw new ErrorCtor(`poisoned ${name}`);
  };
}

// A replacement that answers with a plausible lie instead of throwing: the
// "nothing invalid found" and "already valid" answers a validation would
// want to hear (exec finds nothing, test passes, includes and has say no,
// push drops, iterators end at once, toLowerCase renames, then never
// settles), and for the rest `undefined`, or an empty object when
// constructed.
export function liar(object, key) {
  const lies = {
    __proto__: null,
    exec: () => null,
    test: () => true,
    includes: () => false,
    has: () => false,
    indexOf: () => -1,
    push: () => 0,
    join: () => "",
    next: () => ({ done: true, value: undefined }),
    toLowerCase: () => "x-lied",
    toUpperCase: () => "GET",
    then() {
      return this;
    },
    get: () => undefined,
    isArray: () => false,
    isView: () => false,
    stringify: () => "{}",
  };
  const name = typeof key === "symbol" ? key.description : key;
  if (name === "Symbol.replace") return (string) => string;
  if (name in lies) return lies[name];
  return function lie() {
    return new.target === undefined ? undefined : {};
  };
}
