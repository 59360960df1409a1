// R2 against a hostile worker: poisoned prototypes, Proxies (revoked too),
// throwing getters and conversions, streams that error halfway or never
// end, huge declared lengths. The process lives, the worker gets errors,
// and nothing half-written becomes visible.

import { assert, assertEquals, assertRejects } from "../../runtime/testing/assert.js";
import { fixedStream, fresh } from "./r2_testing.js";

const enc = (text) => new TextEncoder().encode(text);

function withPoison(fn) {
  const saved = {
    then: Promise.prototype.then,
    iterator: Array.prototype[Symbol.iterator],
    push: Array.prototype.push,
    species: Object.getOwnPropertyDescriptor(Array, Symbol.species),
  };
  // A Set: pushing onto an array would itself run the poisoned setters.
  const hits = new Set();
  const hit = (name) => hits.add(name);
  return (async () => {
    Object.defineProperty(Object.prototype, "key", { set(v) { hit("key"); }, configurable: true });
    Object.defineProperty(Object.prototype, "etag", { set(v) { hit("etag"); }, configurable: true });
    Object.defineProperty(Object.prototype, "0", { set(v) { hit("0"); }, configurable: true });
    Array.prototype.push = function () { hit("push"); return 0; };
    Array.prototype[Symbol.iterator] = function* () { hit("iterator"); };
    Object.defineProperty(Array, Symbol.species, { get() { hit("species"); return undefined; }, configurable: true });
    try {
      return await fn(hits);
    } finally {
      delete Object.prototype.key;
      delete Object.prototype.etag;
      delete Object.prototype[0];
      Array.prototype.push = saved.push;
      Array.prototype[Symbol.iterator] = saved.iterator;
      Object.defineProperty(Array, Symbol.species, saved.species);
    }
  })();
}

export default {
  async "poisoned prototypes change nothing the runtime does"(env) {
    const key = fresh("poison");
    const hits = await withPoison(async (hits) => {
      const put = await env.BUCKET.put(key, "safe", { customMetadata: { a: "b" } });
      assertEquals(put.size, 4);
      const got = await env.BUCKET.get(key);
      assertEquals(got.size, 4);
      const listed = await env.BUCKET.list({ prefix: key });
      assertEquals(listed.objects.length, 1);
      await env.BUCKET.delete([key]);
      return hits;
    });
    // No setter or iterator the tenant planted runs for the runtime's own
    // arrays and records.
    // (The streams behind a body use Array.prototype.push for their queues,
    // which only the tenant's own streams feel: not checked here.)
    assert(!hits.has("iterator") && !hits.has("species") && !hits.has("0") && !hits.has("key"), [...hits].join());
    assertEquals(await env.BUCKET.head(key), null);
  },

  async "a patched Promise.prototype.then does not reach the runtime"(env) {
    const key = fresh("then");
    const then = Promise.prototype.then;
    let calls = 0;
    Promise.prototype.then = function (...args) {
      calls++;
      return then.apply(this, args);
    };
    try {
      const put = env.BUCKET.put(key, "x");
      Promise.prototype.then = then;
      assertEquals((await put).size, 1);
    } finally {
      Promise.prototype.then = then;
    }
  },

  async "Proxies and throwing getters in options reject that call"(env) {
    const key = fresh("proxy");
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    await assertRejects(env.BUCKET.put(key, "x", proxy), TypeError);
    await assertRejects(env.BUCKET.get(key, proxy), TypeError);
    await assertRejects(env.BUCKET.list(proxy), TypeError);
    const throwing = { get httpMetadata() { throw new Error("boom"); } };
    const error = await assertRejects(env.BUCKET.put(key, "x", throwing), Error);
    assertEquals(error.message, "boom");
    const toStringThrows = { toString() { throw new Error("no string"); } };
    assertEquals((await assertRejects(env.BUCKET.get(toStringThrows), Error)).message, "no string");
    assertEquals((await assertRejects(env.BUCKET.put(key, "x", { customMetadata: { k: toStringThrows } }), Error)).message, "no string");
    const valueOfThrows = { valueOf() { throw new Error("no number"); } };
    await assertRejects(env.BUCKET.get(key, { range: { offset: valueOfThrows } }), Error);
    await assertRejects(env.BUCKET.list({ limit: valueOfThrows }), Error);
    const trapping = new Proxy({}, { ownKeys() { throw new Error("trap"); } });
    assertEquals((await assertRejects(env.BUCKET.put(key, "x", { customMetadata: trapping }), Error)).message, "trap");
    const keys = new Proxy([], { get() { throw new Error("array trap"); } });
    await assertRejects(env.BUCKET.delete(keys), Error);
    assertEquals(await env.BUCKET.head(key), null, "nothing was stored");
  },

  async "a stream that errors halfway leaves nothing visible"(env) {
    const key = fresh("half");
    await env.BUCKET.put(key, "before");
    const { readable, writable } = new FixedLengthStream(1000);
    const writer = writable.getWriter();
    const put = env.BUCKET.put(key, readable);
    await writer.write(enc("x".repeat(300)));
    await writer.abort(new Error("the source failed"));
    await assertRejects(put);
    assertEquals(await (await env.BUCKET.get(key)).text(), "before");
  },

  async "a stream shorter or longer than its length fails the put"(env) {
    const key = fresh("len");
    await assertRejects(env.BUCKET.put(key, fixedStream(10, enc("short"))));
    await assertRejects(env.BUCKET.put(key, fixedStream(2, enc("too long"))));
    assertEquals(await env.BUCKET.head(key), null);
  },

  async "a huge declared length is refused at once"(env) {
    const key = fresh("huge");
    const { readable } = new FixedLengthStream(6 * 1024 * 1024 * 1024 * 1024);
    const error = await assertRejects(env.BUCKET.put(key, readable), Error);
    assertEquals(error.message, "put: Your proposed upload exceeds the maximum allowed object size. (100100)");
    const { readable: big } = new FixedLengthStream(5 * 1024 * 1024 * 1024);
    await assertRejects(env.BUCKET.put(key, big), Error);
  },

  async "a stream that never ends holds the put, which never shows"(env) {
    const key = fresh("never");
    const { readable, writable } = new FixedLengthStream(10);
    const writer = writable.getWriter();
    const put = env.BUCKET.put(key, readable);
    await writer.write(enc("12345"));
    let settled = false;
    put.then(() => (settled = true), () => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assertEquals(settled, false);
    assertEquals(await env.BUCKET.head(key), null);
    await writer.abort(new Error("give up"));
    await assertRejects(put);
  },

  async "the buckets' natives refuse forged handles"(env) {
    const Bucket = Object.getPrototypeOf(env.BUCKET).constructor;
    const fake = Object.create(Bucket.prototype);
    await assertRejects(Bucket.prototype.get.call(fake, "k"), TypeError);
    await assertRejects(Bucket.prototype.put.call({}, "k", "v"), TypeError);
  },
};
