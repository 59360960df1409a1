// The Cache API (caches.default, caches.open): put then match, Workers'
// refusals (non-GET, 206, Vary: *, error responses) and silent skips (304,
// no-store, private, Set-Cookie), and the interfaces themselves. Each test
// file runs as one invocation: its Cache API calls share one subrequest
// quota (50), so the tests are spread over cache_test.js,
// cache_match_test.js and cache_hostile_test.js.

import { assert, assertEquals, assertRejects, assertThrows } from "../../runtime/testing/assert.js";
import { fresh } from "./cache_testing.js";

export default {
  async "put then match returns the response with CF-Cache-Status: HIT"() {
    const url = fresh();
    const response = new Response("cached body", {
      status: 200,
      headers: { "content-type": "text/plain", "cache-control": "max-age=3600", "x-extra": "1" },
    });
    assertEquals(await caches.default.put(url, response), undefined);
    assert(response.bodyUsed, "put consumes the body");
    const hit = await caches.default.match(url);
    assert(hit instanceof Response);
    assertEquals(hit.status, 200);
    assertEquals(await hit.text(), "cached body");
    assertEquals(hit.headers.get("cf-cache-status"), "HIT");
    assertEquals(hit.headers.get("content-type"), "text/plain");
    assertEquals(hit.headers.get("x-extra"), "1");
    assertEquals(hit.headers.get("content-length"), "11");
    // A Request key and a URL key are the same key.
    assertEquals(await (await caches.default.match(new Request(url))).text(), "cached body");
    assertEquals(await (await caches.default.match(new URL(url))).text(), "cached body");
  },

  async "a miss is undefined, and so is a non-GET match unless ignoreMethod"() {
    const url = fresh();
    assertEquals(await caches.default.match(url), undefined);
    await caches.default.put(url, new Response("v", { headers: { "cache-control": "max-age=60" } }));
    const post = new Request(url, { method: "POST" });
    assertEquals(await caches.default.match(post), undefined);
    assertEquals(await (await caches.default.match(post, { ignoreMethod: true })).text(), "v");
  },

  async "put refuses non-GET requests, 206, Vary: * and error responses"() {
    const url = fresh();
    const error = await assertRejects(
      caches.default.put(new Request(url, { method: "POST" }), new Response("x")),
      TypeError,
    );
    assertEquals(error.message, "Cannot cache response to non-GET request.");
    assertEquals(
      (await assertRejects(caches.default.put(url, new Response("x", { status: 206 })), TypeError)).message,
      "Cannot cache response to a range request (206 Partial Content).",
    );
    assertEquals(
      (await assertRejects(caches.default.put(url, new Response("x", { headers: { vary: "*" } })), TypeError))
        .message,
      "Cannot cache response with 'Vary: *' header.",
    );
    assertEquals(
      (await assertRejects(caches.default.put(url, Response.error()), TypeError)).message,
      "Cache is unable to store an error response",
    );
    await assertRejects(caches.default.put(url, "not a response"), TypeError);
    await assertRejects(caches.default.put(url), TypeError);
    assertEquals(await caches.default.match(url), undefined);
  },

  async "304, no-store, private, no-cache and Set-Cookie resolve without storing"() {
    const cases = [
      new Response(null, { status: 304 }),
      new Response("x", { headers: { "cache-control": "no-store" } }),
      new Response("x", { headers: { "cache-control": "private, max-age=60" } }),
      new Response("x", { headers: { "cache-control": "no-cache" } }),
      new Response("x", { headers: { "set-cookie": "a=1", "cache-control": "max-age=60" } }),
      new Response("x", { status: 500 }),
      new Response("x", { headers: { expires: "Thu, 01 Jan 1970 00:00:00 GMT" } }),
    ];
    for (const response of cases) {
      const url = fresh();
      assertEquals(await caches.default.put(url, response), undefined);
      assertEquals(await caches.default.match(url), undefined, `status ${response.status}`);
    }
  },

  async "private=Set-Cookie stores the response without its cookies"() {
    const url = fresh();
    const headers = new Headers({ "cache-control": 'private="Set-Cookie", max-age=60' });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    await caches.default.put(url, new Response("kept", { headers }));
    const hit = await caches.default.match(url);
    assertEquals(await hit.text(), "kept");
    assertEquals(hit.headers.get("set-cookie"), null);
  },

  async "a used body cannot be put"() {
    const response = new Response("once");
    await response.text();
    await assertRejects(caches.default.put(fresh(), response), TypeError);
  },

  "the interfaces are not constructible and check their receivers"() {
    assertThrows(() => new Cache(), TypeError);
    assertThrows(() => new CacheStorage(), TypeError);
    assertEquals(Object.prototype.toString.call(caches), "[object CacheStorage]");
    assertEquals(Object.prototype.toString.call(caches.default), "[object Cache]");
    assertThrows(() => Object.getOwnPropertyDescriptor(CacheStorage.prototype, "default").get.call({}), TypeError);
  },
};
