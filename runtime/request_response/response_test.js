// Response and the Body mixin.

import { assert, assertEquals, assertThrows, assertRejects, assertFields } from "../../runtime/testing/assert.js";
import { streamOf } from "../../runtime/testing/streams.js";

export default {
  "defaults"() {
    const r = new Response();
    assertFields(r, { status: 200, statusText: "", ok: true, type: "default", url: "", redirected: false, body: null, bodyUsed: false });
    assertEquals([...r.headers], []);
  },

  async "string body gets text/plain content type"() {
    const r = new Response("hello");
    assertEquals(r.headers.get("content-type"), "text/plain;charset=UTF-8");
    assertEquals(await r.text(), "hello");
    assertEquals(r.bodyUsed, true);
  },

  async "explicit content type is kept"() {
    const r = new Response("{}", { headers: { "Content-Type": "application/json" } });
    assertEquals(r.headers.get("content-type"), "application/json");
    assertEquals(await r.json(), {});
  },

  async "status, statusText and headers from init"() {
    const r = new Response("x", { status: 404, statusText: "Not Found", headers: [["a", "b"]] });
    assertEquals(r.status, 404);
    assertEquals(r.ok, false);
    assertEquals(r.statusText, "Not Found");
    assertEquals(r.headers.get("a"), "b");
  },

  "status out of range throws RangeError"() {
    assertThrows(() => new Response(null, { status: 199 }), RangeError);
    assertThrows(() => new Response(null, { status: 600 }), RangeError);
    assertThrows(() => new Response(null, { status: 0 }), RangeError);
    new Response(null, { status: 599 });
  },

  "invalid statusText throws TypeError"() {
    assertThrows(() => new Response(null, { statusText: "a\nb" }), TypeError);
    assertThrows(() => new Response(null, { statusText: "€" }), TypeError);
  },

  "null body statuses reject a body"() {
    for (const status of [101, 103, 204, 205, 304]) {
      if (status >= 200) new Response(null, { status });
      assertThrows(() => new Response("x", { status }), status < 200 ? RangeError : TypeError, `status ${status}:`);
    }
    // An empty string is still a body.
    assertThrows(() => new Response("", { status: 204 }), TypeError);
  },

  async "ArrayBuffer and views are copied"() {
    const u8 = new Uint8Array([1, 2, 3, 4]);
    const r1 = new Response(u8.subarray(1, 3));
    const r2 = new Response(u8.buffer);
    u8[1] = 99;
    assertEquals([...new Uint8Array(await r1.arrayBuffer())], [2, 3]);
    assertEquals([...(await r2.bytes())], [1, 2, 3, 4]);
    assertEquals(new Response(u8).headers.get("content-type"), null);
  },

  async "arrayBuffer, bytes, text, json"() {
    const ab = await new Response("abc").arrayBuffer();
    assert(ab instanceof ArrayBuffer);
    assertEquals(ab.byteLength, 3);
    const b = await new Response("abc").bytes();
    assert(b instanceof Uint8Array);
    assertEquals([...b], [97, 98, 99]);
    assertEquals(await new Response("\ufeffé").text(), "é");
    assertEquals(await new Response('{"a":[1]}').json(), { a: [1] });
    await assertRejects(new Response("{bad").json(), SyntaxError);
    assertEquals(await new Response().text(), "");
  },

  async "URLSearchParams body"() {
    const r = new Response(new URLSearchParams("a=1&b=2"));
    assertEquals(r.headers.get("content-type"), "application/x-www-form-urlencoded;charset=UTF-8");
    assertEquals(await r.text(), "a=1&b=2");
  },

  async "consuming twice rejects with TypeError"() {
    const r = new Response("x");
    await r.text();
    await assertRejects(r.text(), TypeError);
    await assertRejects(r.arrayBuffer(), TypeError);
    assertThrows(() => r.clone(), TypeError);
    assert(r.body !== null && r.body.locked, "used body stream is locked");
  },

  async "body getter creates a stream lazily"() {
    const r = new Response("stream me");
    const body = r.body;
    assert(body instanceof ReadableStream);
    assert(r.body === body, "same stream each time");
    assertEquals(r.bodyUsed, false);
    const reader = body.getReader();
    const { value, done } = await reader.read();
    assertEquals(done, false);
    assertEquals(new TextDecoder().decode(value), "stream me");
    assertEquals(r.bodyUsed, true);
    assert((await reader.read()).done);
    await assertRejects(r.text(), TypeError);
  },

  async "locked body stream cannot be consumed"() {
    const r = new Response("x");
    r.body.getReader();
    assertEquals(r.bodyUsed, false);
    await assertRejects(r.text(), TypeError);
  },

  async "ReadableStream body"() {
    const enc = new TextEncoder();
    const r = new Response(streamOf(enc.encode("hel"), enc.encode("lo")));
    assertEquals(r.headers.get("content-type"), null);
    assertEquals(await r.text(), "hello");
    assertEquals(r.bodyUsed, true);
  },

  async "stream chunks that are not Uint8Array reject"() {
    await assertRejects(new Response(streamOf("string")).text(), TypeError);
    await assertRejects(new Response(streamOf(new ArrayBuffer(1))).text(), TypeError);
  },

  async "errored stream rejects"() {
    const err = new Error("boom");
    const s = new ReadableStream({
      start(c) {
        c.error(err);
      },
    });
    const got = await assertRejects(new Response(s).text());
    assert(got === err);
  },

  "disturbed or locked stream cannot be a body"() {
    const s = streamOf();
    s.getReader();
    assertThrows(() => new Response(s), TypeError);
  },

  async "clone with bytes body"() {
    const r = new Response("twice", { status: 201, headers: { a: "1" } });
    const c = r.clone();
    assertEquals(c.status, 201);
    assertEquals(c.headers.get("a"), "1");
    c.headers.set("a", "2");
    assertEquals(r.headers.get("a"), "1");
    assertEquals(await r.text(), "twice");
    assertEquals(await c.text(), "twice");
  },

  async "clone with stream body tees"() {
    const enc = new TextEncoder();
    const r = new Response(streamOf(enc.encode("a"), enc.encode("b")));
    const c = r.clone();
    assertEquals(await c.text(), "ab");
    assertEquals(await r.text(), "ab");
  },

  async "a clone's chunks are copies, not the same buffers"() {
    const chunk = new Uint8Array([1, 2, 3]);
    const r = new Response(new ReadableStream({
      start(controller) {
        controller.enqueue(chunk);
        controller.close();
      },
    }));
    const c = r.clone();
    const [a, b] = await Promise.all([r.body.getReader().read(), c.body.getReader().read()]);
    assertEquals([...a.value], [1, 2, 3]);
    assertEquals([...b.value], [1, 2, 3]);
    assert(a.value === chunk, "the original keeps its chunk");
    assert(b.value !== chunk && b.value.buffer !== chunk.buffer, "the clone shares the buffer");
    // A chunk that cannot be cloned errors both bodies.
    const bad = new Response(new ReadableStream({
      start(controller) {
        controller.enqueue(() => {});
      },
    }));
    const copy = bad.clone();
    const failed = await bad.body.getReader().read().catch((e) => e);
    assertEquals(failed.name, "DataCloneError");
    assertEquals((await copy.body.getReader().read().catch((e) => e)).name, "DataCloneError");
  },

  async "a then on Object.prototype cannot change a body being read"() {
    const response = new Response(streamOf(new TextEncoder().encode("hello")));
    let called = false;
    Object.prototype.then = function (onFulfilled) {
      called = true;
      delete Object.prototype.then;
      onFulfilled({ done: false, value: new TextEncoder().encode("bye") });
    };
    try {
      assertEquals(await response.text(), "hello");
    } finally {
      delete Object.prototype.then;
    }
    assert(!called, "the runtime resolved a promise with an object that inherits then");
  },

  async "clone after reading body getter"() {
    const r = new Response("abc");
    r.body;
    const c = r.clone();
    assertEquals(await r.text(), "abc");
    assertEquals(await c.text(), "abc");
  },

  async "Response.json"() {
    const r = Response.json({ a: 1 }, { status: 201, headers: { "x-y": "z" } });
    assertEquals(r.status, 201);
    assertEquals(r.headers.get("content-type"), "application/json");
    assertEquals(r.headers.get("x-y"), "z");
    assertEquals(await r.text(), '{"a":1}');
    const custom = Response.json(1, { headers: { "content-type": "text/json" } });
    assertEquals(custom.headers.get("content-type"), "text/json");
    assertThrows(() => Response.json(undefined), TypeError);
    assertThrows(() => Response.json(Symbol("s")), TypeError);
    assertThrows(() => Response.json(1n), TypeError);
    assertThrows(() => Response.json({}, { status: 204 }), TypeError);
    assertThrows(() => Response.json({}, { status: 100 }), RangeError);
  },

  "Response.redirect"() {
    const r = Response.redirect("https://example.com/a?b");
    assertEquals(r.status, 302);
    assertEquals(r.headers.get("location"), "https://example.com/a?b");
    assertEquals(r.body, null);
    for (const s of [301, 302, 303, 307, 308]) assertEquals(Response.redirect("https://x.test/", s).status, s);
    assertThrows(() => Response.redirect("https://x.test/", 200), RangeError);
    assertThrows(() => Response.redirect("https://x.test/", 304), RangeError);
    assertThrows(() => Response.redirect("/relative"), TypeError);
    assertEquals(Response.redirect(new URL("https://x.test/p")).headers.get("location"), "https://x.test/p");
  },

  "Response.error"() {
    const r = Response.error();
    assertEquals(r.type, "error");
    assertEquals(r.status, 0);
    assertEquals(r.ok, false);
    assertEquals(r.statusText, "");
    assertEquals(r.body, null);
    assertEquals(r.clone().type, "error");
  },

  "brand checks"() {
    assertThrows(() => Response.prototype.status, TypeError);
    const getter = Object.getOwnPropertyDescriptor(Response.prototype, "bodyUsed").get;
    assertThrows(() => getter.call({}), TypeError);
  },

  async "body methods on a non-Response reject"() {
    await assertRejects(Response.prototype.text.call({}), TypeError);
  },

  "toStringTag and prototype shape"() {
    assertEquals(Object.prototype.toString.call(new Response()), "[object Response]");
    const desc = Object.getOwnPropertyDescriptor(Response.prototype, "text");
    assert(desc.enumerable, "text is enumerable");
    assertEquals(Response.length, 0);
    assertEquals(Response.json.length, 1);
  },
  async "string bodies read back as UTF-8 would decode them"() {
    assertEquals(await new Response("a\uD800b").text(), "a\uFFFDb");
    assertEquals(await new Response("\uFEFFx").text(), "x");
    assertEquals((await new Response("\uFEFF[1]").json())[0], 1);
    const bytes = await new Response("h\u00e9").bytes();
    assertEquals(Array.from(bytes).join(","), "104,195,169");
    const buffer = await new Response("\uD83D\uDE00").arrayBuffer();
    assertEquals(buffer.byteLength, 4);
  },

  async "a string body as a stream, and cloned"() {
    const response = new Response("stream me");
    const copy = response.clone();
    const reader = response.body.getReader();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assertEquals(text, "stream me");
    assertEquals(await copy.text(), "stream me");
  },
};
