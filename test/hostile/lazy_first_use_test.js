// The runtime's rarely used APIs are evaluated on first use
// (runtime/lazy_js.h), which may come after the worker patched every
// built-in. This file patches them at its top level, before any of those
// APIs is read: every prototype method and accessor of the built-ins and
// of the Web API the worker can reach records a call, every global is
// replaced by a Proxy that records each use, Object.prototype gets
// accessors for the names property descriptors, iterators, thenables and
// species are read by, and Symbol.species getters record too. Reading each
// lazy API for the first time must use none of them, and what it made must
// work as it does in a worker that patched nothing.

import { assert, assertEquals } from "../../runtime/testing/assert.js";
// Evaluated (bindings/sockets/sockets.js) when the module is imported,
// before any of the worker's code runs.
import * as sockets from "cloudflare:sockets";

const ReflectApply = Reflect.apply;
const ReflectConstruct = Reflect.construct;
const ReflectGet = Reflect.get;
const ReflectOwnKeys = Reflect.ownKeys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ArrayPrototypePush = Array.prototype.push;
const ArrayPrototypeIncludes = Array.prototype.includes;
const ProxyCtor = Proxy;
const SymbolSpecies = Symbol.species;
const SymbolIterator = Symbol.iterator;
const StringCtor = String;
const global = globalThis;

const LAZY_GLOBALS = [
  "URLPattern", "SubtleCrypto", "CryptoKey", "WebSocket", "WebSocketPair", "CloseEvent", "EventSource",
  "Cache", "CacheStorage", "caches", "CompressionStream", "DecompressionStream", "TextEncoderStream",
  "TextDecoderStream", "MessageChannel", "MessagePort", "MessageEvent", "IdentityTransformStream",
  "FixedLengthStream",
];

let armed = false;
const hits = [];
function hit(what) {
  if (armed && !ReflectApply(ArrayPrototypeIncludes, hits, [what])) ReflectApply(ArrayPrototypePush, hits, [what]);
}

// What the worker saw before it patched anything.
const clean = { __proto__: null };
// [target, key, descriptor before] of every patch, to undo them.
const patches = [];
function patch(target, key, desc) {
  const before = ObjectGetOwnPropertyDescriptor(target, key);
  if (before !== undefined) ObjectSetPrototypeOf(before, null);
  ReflectApply(ArrayPrototypePush, patches, [[target, key, before]]);
  ObjectDefineProperty(target, key, desc);
}
function unpatch() {
  for (let i = patches.length - 1; i >= 0; i--) {
    const target = patches[i][0];
    const key = patches[i][1];
    const desc = patches[i][2];
    if (desc === undefined) delete target[key];
    else ObjectDefineProperty(target, key, desc);
  }
}

// Every function-valued own property and accessor of `target` records its
// calls; `label` names it in a hit.
function wrapMembers(target, label) {
  const keys = ReflectOwnKeys(target);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === "constructor" || key === "prototype" || key === "caller" || key === "arguments") continue;
    const desc = ObjectGetOwnPropertyDescriptor(target, key);
    ObjectSetPrototypeOf(desc, null);
    if (!desc.configurable) continue;
    const name = `${label}.${StringCtor(key)}`;
    const wrap = (fn, suffix) =>
      function (...args) {
        hit(name + suffix);
        return new.target === undefined ? ReflectApply(fn, this, args) : ReflectConstruct(fn, args, new.target);
      };
    if (typeof desc.value === "function") {
      desc.value = wrap(desc.value, "()");
    } else if (desc.get !== undefined || desc.set !== undefined) {
      if (desc.get !== undefined) desc.get = wrap(desc.get, " (get)");
      if (desc.set !== undefined) desc.set = wrap(desc.set, " (set)");
    } else {
      continue;
    }
    patch(target, key, desc);
  }
}

function poison() {
  const names = ReflectOwnKeys(global);
  const TypedArray = ObjectGetPrototypeOf(Uint8Array);
  const targets = [
    [ObjectGetPrototypeOf(function* () {}.prototype), "%GeneratorPrototype%"],
    [ObjectGetPrototypeOf([][SymbolIterator]()), "%ArrayIteratorPrototype%"],
    [ObjectGetPrototypeOf(new Map()[SymbolIterator]()), "%MapIteratorPrototype%"],
    [ObjectGetPrototypeOf(new Set()[SymbolIterator]()), "%SetIteratorPrototype%"],
    [ObjectGetPrototypeOf(""[SymbolIterator]()), "%StringIteratorPrototype%"],
    [TypedArray, "%TypedArray%"],
    [TypedArray.prototype, "%TypedArray%.prototype"],
  ];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (typeof name !== "string" || ReflectApply(ArrayPrototypeIncludes, LAZY_GLOBALS, [name])) continue;
    if (name === "globalThis" || name === "self") continue;
    const desc = ObjectGetOwnPropertyDescriptor(global, name);
    const value = desc.value;
    if (value === null || (typeof value !== "object" && typeof value !== "function")) continue;
    clean[name] = value;
    ReflectApply(ArrayPrototypePush, targets, [[value, name]]);
    if (typeof value === "function" && value.prototype !== undefined && value.prototype !== null) {
      ReflectApply(ArrayPrototypePush, targets, [[value.prototype, `${name}.prototype`]]);
    }
  }
  for (let i = 0; i < targets.length; i++) wrapMembers(targets[i][0], targets[i][1]);

  // Species: a getter on every constructor that has one.
  for (let i = 0; i < names.length; i++) {
    const value = clean[names[i]];
    if (typeof value !== "function") continue;
    const desc = ObjectGetOwnPropertyDescriptor(value, SymbolSpecies);
    if (desc === undefined || !desc.configurable) continue;
    patch(value, SymbolSpecies, {
      __proto__: null,
      configurable: true,
      get() {
        hit(`${names[i]}[Symbol.species]`);
        return this;
      },
    });
  }

  // Names an inherited property is read by: descriptors, iterator results,
  // thenables, option bags.
  const inherited = ["value", "writable", "get", "set", "enumerable", "configurable", "then", "next", "done",
    "length", "name", "prototype", "size", "call", "apply", "__proto__x", "default", "signal", "type"];
  for (let i = 0; i < inherited.length; i++) {
    const name = inherited[i];
    patch(Object.prototype, name, {
      __proto__: null,
      configurable: true,
      get() {
        hit(`Object.prototype.${name} (get)`);
        return undefined;
      },
      set(value) {
        hit(`Object.prototype.${name} (set)`);
        ObjectDefineProperty(this, name, { __proto__: null, value, writable: true, enumerable: true, configurable: true });
      },
    });
  }

  // Every global a Proxy that records each use of it.
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const value = clean[name];
    if (value === undefined) continue;
    const proxy = new ProxyCtor(value, {
      __proto__: null,
      get(target, key, receiver) {
        hit(`${name}.${StringCtor(key)}`);
        return ReflectGet(target, key);
      },
      apply(target, self, args) {
        hit(`${name}()`);
        return ReflectApply(target, self, args);
      },
      construct(target, args, newTarget) {
        hit(`new ${name}()`);
        return ReflectConstruct(target, args, newTarget === proxy ? target : newTarget);
      },
    });
    patch(global, name, { __proto__: null, value: proxy, writable: true, enumerable: false, configurable: true });
  }
}

// The first reads, with everything patched (then undone: the test runner
// uses the built-ins too) and globalThis's prototype a
// revoked Proxy (a name not found on the global object itself throws).
const { proxy: revoked, revoke } = Proxy.revocable({}, {});
revoke();
const globalPrototype = ObjectGetPrototypeOf(global);
const firstReads = { __proto__: null };
const cryptoObject = crypto;
const subtleGetter = ObjectGetOwnPropertyDescriptor(ObjectGetPrototypeOf(crypto), "subtle").get;
poison();
ObjectSetPrototypeOf(global, revoked);
armed = true;
function firstRead(name, read) {
  try {
    firstReads[name] = read();
  } catch (error) {
    hit(`reading ${name} threw`);
    firstReads[name] = error;
  }
}
for (let i = 0; i < LAZY_GLOBALS.length; i++) firstRead(LAZY_GLOBALS[i], () => global[LAZY_GLOBALS[i]]);
firstRead("subtle", () => ReflectApply(subtleGetter, cryptoObject, []));
firstRead("DigestStream", () => cryptoObject.DigestStream);
armed = false;
ObjectSetPrototypeOf(global, globalPrototype);
unpatch();
const firstHits = [...hits];

export default {
  "the first read of each lazy API uses nothing the worker patched"() {
    assertEquals(firstHits, []);
  },

  "what the first reads made is the API"() {
    for (const name of LAZY_GLOBALS) {
      const desc = ObjectGetOwnPropertyDescriptor(globalThis, name);
      assert(desc.value === firstReads[name], `${name} changed after its first read`);
      assert(desc.writable && !desc.enumerable && desc.configurable, `${name} has the wrong attributes`);
      assertEquals(typeof desc.value, name === "caches" ? "object" : "function", name);
    }
    assert(firstReads.subtle instanceof firstReads.SubtleCrypto);
    assert(crypto.subtle === firstReads.subtle);
    assertEquals(typeof firstReads.DigestStream, "function");
    assertEquals(typeof sockets.connect, "function");
  },

  async "the lazy APIs made in the patched worker work"() {
    const pattern = new URLPattern({ pathname: "/books/:id" });
    assertEquals(pattern.exec("https://example.com/books/42").pathname.groups.id, "42");
    const digest = await crypto.subtle.digest("SHA-256", new clean.TextEncoder().encode("abc"));
    assertEquals(new clean.Uint8Array(digest)[0], 0xba);
    const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    assert(key instanceof CryptoKey);
    const pair = new WebSocketPair();
    assert(pair[0] instanceof WebSocket && pair[1] instanceof WebSocket);
    assertEquals(WebSocket.OPEN, 1);
    assertEquals(EventSource.CLOSED, 2);
    assert(caches.default instanceof Cache);
    const stream = new crypto.DigestStream("SHA-256");
    assert(stream instanceof WritableStream);
    const gzipped = new Blob(["hello"]).stream().pipeThrough(new CompressionStream("gzip"))
      .pipeThrough(new DecompressionStream("gzip")).pipeThrough(new TextDecoderStream());
    let text = "";
    for await (const chunk of gzipped) text += chunk;
    assertEquals(text, "hello");
    const encoded = new TextEncoderStream();
    assert(encoded.readable instanceof ReadableStream);
    const channel = new MessageChannel();
    const received = new Promise((resolve) => (channel.port2.onmessage = (event) => resolve(event)));
    channel.port1.postMessage({ a: 1 });
    const event = await received;
    assert(event instanceof MessageEvent && channel.port1 instanceof MessagePort);
    assertEquals(event.data.a, 1);
    const fixed = new FixedLengthStream(2);
    assert(fixed instanceof IdentityTransformStream && fixed instanceof TransformStream);
    const fixedRead = fixed.readable.getReader().read();
    await fixed.writable.getWriter().write(new Uint8Array([1, 2]));
    assertEquals(Array.from((await fixedRead).value), [1, 2]);
  },
};
