// Request.

import { assert, assertEquals, assertThrows, assertRejects, assertFields } from "../../runtime/testing/assert.js";

export default {
  "defaults"() {
    const r = new Request("https://example.com/path?q=1#frag");
    assertFields(r, { url: "https://example.com/path?q=1#frag", method: "GET", redirect: "follow", body: null, bodyUsed: false });
    assertEquals(r.cf, undefined);
    assertEquals([...r.headers], []);
  },

  "URL is parsed and serialized"() {
    assertEquals(new Request("HTTPS://EXAMPLE.com").url, "https://example.com/");
    assertEquals(new Request(new URL("https://a.test/x")).url, "https://a.test/x");
  },

  "relative or invalid URL throws TypeError"() {
    assertThrows(() => new Request("/relative"), TypeError);
    assertThrows(() => new Request("not a url"), TypeError);
    assertThrows(() => new Request(), TypeError);
  },

  "method normalization"() {
    // Only the spec's short list is upper-cased; "patch" is not on it.
    const normalized = {
      get: "GET", post: "POST", Delete: "DELETE", options: "OPTIONS", head: "HEAD", put: "PUT",
      patch: "patch", PATCH: "PATCH", CUSTOM: "CUSTOM",
    };
    for (const [method, expected] of Object.entries(normalized)) {
      assertEquals(new Request("https://x.test/", { method }).method, expected, method);
    }
  },

  "forbidden and invalid methods throw TypeError"() {
    for (const method of ["CONNECT", "trace", "Track", "bad method", "", "(x)"]) {
      assertThrows(() => new Request("https://x.test/", { method }), TypeError, method);
    }
  },

  "GET and HEAD cannot have a body"() {
    assertThrows(() => new Request("https://x.test/", { body: "x" }), TypeError);
    assertThrows(() => new Request("https://x.test/", { method: "HEAD", body: "x" }), TypeError);
    // null body is fine.
    new Request("https://x.test/", { body: null });
  },

  async "body and content type"() {
    const r = new Request("https://x.test/", { method: "POST", body: "hello" });
    assertEquals(r.headers.get("content-type"), "text/plain;charset=UTF-8");
    assertEquals(await r.text(), "hello");
    assertEquals(r.bodyUsed, true);
    await assertRejects(r.text(), TypeError);
  },

  "redirect option"() {
    assertEquals(new Request("https://x.test/", { redirect: "manual" }).redirect, "manual");
    assertEquals(new Request("https://x.test/", { redirect: "error" }).redirect, "error");
    assertThrows(() => new Request("https://x.test/", { redirect: "nope" }), TypeError);
  },

  "headers init"() {
    const r = new Request("https://x.test/", { headers: { "X-A": "1" } });
    assertEquals(r.headers.get("x-a"), "1");
    assertThrows(() => new Request("https://x.test/", { headers: { "bad name": "1" } }), TypeError);
  },

  "cf and signal pass through"() {
    const cf = { colo: "AMS" };
    const r = new Request("https://x.test/", { cf });
    assert(r.cf === cf);
    assertEquals(r.signal, null);
    const copy = new Request(r);
    assert(copy.cf === cf);
  },

  async "construct from another Request"() {
    const a = new Request("https://x.test/a", {
      method: "PUT",
      body: "payload",
      headers: { "x-h": "1" },
      redirect: "manual",
    });
    const b = new Request(a);
    assertEquals(b.url, "https://x.test/a");
    assertEquals(b.method, "PUT");
    assertEquals(b.redirect, "manual");
    assertEquals(b.headers.get("x-h"), "1");
    // Headers are copied, not shared.
    b.headers.set("x-h", "2");
    assertEquals(a.headers.get("x-h"), "1");
    // The body moves to the new Request.
    assertEquals(a.bodyUsed, true);
    assertEquals(await b.text(), "payload");
    assertThrows(() => new Request(a), TypeError);
  },

  async "construct from another Request with overrides"() {
    const a = new Request("https://x.test/a", { method: "POST", body: "1" });
    const b = new Request(a, { body: "2", headers: { "x-new": "y" } });
    assertEquals(b.method, "POST");
    assertEquals(b.headers.get("x-new"), "y");
    assertEquals(b.headers.get("content-type"), "text/plain;charset=UTF-8");
    assertEquals(await b.text(), "2");
    assertEquals(a.bodyUsed, false);
    assertEquals(await a.text(), "1");
    assertThrows(() => new Request(new Request("https://x.test/", { method: "POST", body: "x" }), { method: "GET" }), TypeError);
  },

  async "construct from a Request with a stream body"() {
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("streamed"));
        c.close();
      },
    });
    const a = new Request("https://x.test/", { method: "POST", body: stream });
    const b = new Request(a);
    assert(a.bodyUsed, "source request is disturbed");
    assertEquals(await b.text(), "streamed");
  },

  async "clone"() {
    const a = new Request("https://x.test/", { method: "POST", body: "c", headers: { k: "v" } });
    const b = a.clone();
    assertEquals(b.method, "POST");
    assertEquals(b.headers.get("k"), "v");
    assertEquals(await a.text(), "c");
    assertEquals(await b.text(), "c");
    assertThrows(() => a.clone(), TypeError);
  },

  async "json and arrayBuffer"() {
    const r = new Request("https://x.test/", { method: "POST", body: JSON.stringify({ n: 1 }) });
    assertEquals(await r.json(), { n: 1 });
    const r2 = new Request("https://x.test/", { method: "POST", body: new Uint8Array([1, 2]) });
    assertEquals([...new Uint8Array(await r2.arrayBuffer())], [1, 2]);
  },

  "toStringTag"() {
    assertEquals(Object.prototype.toString.call(new Request("https://x.test/")), "[object Request]");
    assertEquals(Request.length, 1);
  },
};
