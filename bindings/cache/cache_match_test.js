// The Cache API's match and delete: conditional requests (304), Range
// (206, 416), delete with and without ignoreMethod, named caches apart
// from the default one, streamed bodies both ways, and a body stream that
// fails.

import { assert, assertEquals, assertRejects, assertThrows } from "../../runtime/testing/assert.js";
import { fresh } from "./cache_testing.js";
import { streamOf } from "../../runtime/testing/streams.js";

export default {
  async "If-None-Match and If-Modified-Since give 304"() {
    const url = fresh();
    await caches.default.put(
      url,
      new Response("tagged", {
        headers: { etag: '"v1"', "last-modified": "Sun, 06 Nov 1994 08:49:37 GMT", "cache-control": "max-age=60" },
      }),
    );
    const notModified = await caches.default.match(new Request(url, { headers: { "if-none-match": '"v1"' } }));
    assertEquals(notModified.status, 304);
    assertEquals(notModified.body, null);
    assertEquals(notModified.headers.get("etag"), '"v1"');
    const changed = await caches.default.match(new Request(url, { headers: { "if-none-match": '"v2"' } }));
    assertEquals(changed.status, 200);
    assertEquals(await changed.text(), "tagged");
    const since = await caches.default.match(
      new Request(url, { headers: { "if-modified-since": "Mon, 07 Nov 1994 00:00:00 GMT" } }),
    );
    assertEquals(since.status, 304);
  },

  async "a Range gives 206, or 416 past the end"() {
    const url = fresh();
    await caches.default.put(url, new Response("0123456789", { headers: { "cache-control": "max-age=60" } }));
    const part = await caches.default.match(new Request(url, { headers: { range: "bytes=2-5" } }));
    assertEquals(part.status, 206);
    assertEquals(await part.text(), "2345");
    assertEquals(part.headers.get("content-range"), "bytes 2-5/10");
    const tail = await caches.default.match(new Request(url, { headers: { range: "bytes=-3" } }));
    assertEquals(await tail.text(), "789");
    const past = await caches.default.match(new Request(url, { headers: { range: "bytes=20-" } }));
    assertEquals(past.status, 416);
    assertEquals(past.headers.get("content-range"), "bytes */10");
  },

  async "delete says whether an entry went"() {
    const url = fresh();
    await caches.default.put(url, new Response("d", { headers: { "cache-control": "max-age=60" } }));
    assertEquals(await caches.default.delete(new Request(url, { method: "POST" })), false);
    assertEquals(await caches.default.delete(new Request(url, { method: "POST" }), { ignoreMethod: true }), true);
    assertEquals(await caches.default.delete(url), false);
    assertEquals(await caches.default.match(url), undefined);
  },

  async "named caches are apart from the default one and from each other"() {
    const url = fresh();
    const a = await caches.open("a");
    const a2 = await caches.open("a");
    const b = await caches.open("b");
    assert(a instanceof Cache);
    assert(a !== a2);
    await a.put(url, new Response("in a", { headers: { "cache-control": "max-age=60" } }));
    assertEquals(await (await a2.match(url)).text(), "in a");
    assertEquals(await b.match(url), undefined);
    assertEquals(await caches.default.match(url), undefined);
    assert(caches.default === caches.default);
    assertEquals(await (await caches.open("")).match(url), undefined);
  },

  async "a streamed body is stored, and a large one streams back"() {
    const url = fresh();
    const chunk = new Uint8Array(100 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
    const chunks = [];
    for (let i = 0; i < 10; i++) chunks.push(chunk);
    chunks.push(new Uint8Array([1, 2, 3]));
    await caches.default.put(url, new Response(streamOf(...chunks), { headers: { "cache-control": "max-age=60" } }));
    const hit = await caches.default.match(url);
    assertEquals(hit.headers.get("content-length"), String(10 * 100 * 1024 + 3));
    const bytes = new Uint8Array(await hit.arrayBuffer());
    assertEquals(bytes.length, 10 * 100 * 1024 + 3);
    assertEquals(bytes[100 * 1024 * 7 + 5], 5);
    assertEquals(bytes[bytes.length - 1], 3);
    // A range in the middle of it.
    const part = await caches.default.match(new Request(url, { headers: { range: "bytes=102400-102409" } }));
    assertEquals([...new Uint8Array(await part.arrayBuffer())], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // A cancelled body stream lets go of its file.
    const cancelled = await caches.default.match(url);
    const reader = cancelled.body.getReader();
    await reader.read();
    await reader.cancel();
  },

  async "a body stream that errors fails the put and stores nothing"() {
    const url = fresh();
    const body = new ReadableStream({
      pull(controller) {
        controller.error(new RangeError("the origin went away"));
      },
    });
    await assertRejects(caches.default.put(url, new Response(body, { headers: { "cache-control": "max-age=60" } })), RangeError);
    assertEquals(await caches.default.match(url), undefined);
    const strings = new ReadableStream({
      start(controller) {
        controller.enqueue("not bytes");
        controller.close();
      },
    });
    await assertRejects(caches.default.put(url, new Response(strings)), TypeError);
    assertEquals(await caches.default.match(url), undefined);
  },
};
