// The Cache API against a hostile tenant: a cache name too long, a 1 MB
// URL, throwing conversions, Proxies and revoked Proxies, poisoned
// prototypes (Object.prototype setters, Promise.prototype.then,
// Symbol.iterator, Symbol.species) and a throwing Array.prototype[0]
// setter: the worker gets its own errors or its own data, nothing else.

import { assert, assertEquals, assertRejects, assertThrows } from "../../runtime/testing/assert.js";
import { fresh } from "./cache_testing.js";

export default {
  async "hostile: a cache name too long, a 1 MB URL, throwing and Proxy keys"() {
    await assertRejects(caches.open("n".repeat(1024)), TypeError);
    assert((await caches.open("n".repeat(1023))) instanceof Cache);
    const huge = `https://cache.test/${"u".repeat(1 << 20)}`;
    assertEquals(await caches.default.put(huge, new Response("x", { headers: { "cache-control": "max-age=60" } })), undefined);
    assertEquals(await caches.default.match(huge), undefined);
    assertEquals(await caches.default.delete(huge), false);
    const throwing = { toString() { throw new RangeError("no string for you"); } };
    await assertRejects(caches.default.match(throwing), RangeError);
    await assertRejects(caches.default.put(throwing, new Response("x")), RangeError);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    await assertRejects(caches.default.match(proxy), TypeError);
    await assertRejects(caches.open(proxy), TypeError);
    // A Proxy of a Response is not a Response.
    await assertRejects(caches.default.put(fresh(), new Proxy(new Response("x"), {})), TypeError);
    // A Proxy of a Request is a URL string to the key (its toString runs).
    const request = new Request(fresh());
    await assertRejects(caches.default.match(new Proxy(request, {})), TypeError);
    // Options whose getter throws.
    await assertRejects(caches.default.match(fresh(), { get ignoreMethod() { throw new EvalError("boom"); } }), EvalError);
  },

  async "hostile: poisoned prototypes change nothing a put or a match does"() {
    const url = fresh();
    const response = new Response("safe", { headers: { "cache-control": "max-age=60", etag: '"e"' } });
    const request = new Request(url);
    const saved = {
      then: Promise.prototype.then,
      iterator: Array.prototype[Symbol.iterator],
      species: Object.getOwnPropertyDescriptor(Array, Symbol.species),
      push: Array.prototype.push,
    };
    let setterRan = false;
    Object.defineProperty(Object.prototype, "id", { set() { setterRan = new Error("id").stack; }, configurable: true });
    Object.defineProperty(Object.prototype, "ended", { set() { setterRan = new Error("ended").stack; }, configurable: true });
    Array.prototype[Symbol.iterator] = function () { throw new Error("iterated"); };
    Object.defineProperty(Array, Symbol.species, { get() { throw new Error("species"); }, configurable: true });
    Array.prototype.push = function () { throw new Error("pushed"); };
    let thenCalls = 0;
    Promise.prototype.then = function (...args) {
      thenCalls++;
      return saved.then.apply(this, args);
    };
    let body;
    let hit;
    try {
      await caches.default.put(request, response);
      hit = await caches.default.match(request);
      body = hit === undefined ? undefined : await hit.text();
    } finally {
      Promise.prototype.then = saved.then;
      delete Object.prototype.id;
      delete Object.prototype.ended;
      Array.prototype[Symbol.iterator] = saved.iterator;
      Object.defineProperty(Array, Symbol.species, saved.species);
      Array.prototype.push = saved.push;
    }
    assertEquals(body, "safe");
    assertEquals(hit.headers.get("etag"), '"e"');
    assert(!setterRan, `a setter on a prototype ran: ${setterRan}`);
    assert(thenCalls >= 0);
  },

  async "hostile: a throwing Array.prototype[0] setter fails only the caller's own calls"() {
    const url = fresh();
    const response = new Response("kept", { headers: { "cache-control": "max-age=60" } });
    Object.defineProperty(Array.prototype, "0", {
      get: () => undefined,
      set() {
        throw new Error("poisoned Array.prototype setter");
      },
      configurable: true,
    });
    // Outcomes kept in an object: the test's own arrays would meet the setter.
    const outcomes = { put: "", match: "" };
    try {
      try {
        await caches.default.put(url, response);
        outcomes.put = "ok";
      } catch (error) {
        outcomes.put = `${error}`;
      }
      try {
        await caches.default.match(url);
        outcomes.match = "ok";
      } catch (error) {
        outcomes.match = `${error}`;
      }
    } finally {
      delete Array.prototype[0];
    }
    assert(outcomes.put !== "" && outcomes.match !== "", JSON.stringify(outcomes));
    // Unpoisoned again, the cache serves as before.
    await caches.default.put(url, new Response("again", { headers: { "cache-control": "max-age=60" } }));
    assertEquals(await (await caches.default.match(url)).text(), "again");
  },
};
