// Headers behaviour (Fetch spec): validation, normalization, case-insensitivity,
// sorted iteration, Set-Cookie handling and guards.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

export default {
  "construct empty and from record, pairs and Headers"() {
    assertEquals([...new Headers()], []);
    const fromRecord = new Headers({ "Content-Type": "text/plain", "X-A": "1" });
    assertEquals([...fromRecord], [["content-type", "text/plain"], ["x-a", "1"]]);
    const fromPairs = new Headers([["X-B", "2"], ["x-a", "1"]]);
    assertEquals([...fromPairs], [["x-a", "1"], ["x-b", "2"]]);
    const copy = new Headers(fromPairs);
    fromPairs.set("x-c", "3");
    assertEquals([...copy], [["x-a", "1"], ["x-b", "2"]]);
    const fromIterable = new Headers(new Map([["k", "v"]]));
    assertEquals(fromIterable.get("K"), "v");
  },

  "invalid init throws TypeError"() {
    assertThrows(() => new Headers(null), TypeError);
    assertThrows(() => new Headers(42), TypeError);
    assertThrows(() => new Headers([["a"]]), TypeError);
    assertThrows(() => new Headers([["a", "b", "c"]]), TypeError);
    assertThrows(() => new Headers(["ab"]), TypeError);
  },

  "names are case-insensitive"() {
    const h = new Headers();
    h.append("Accept", "a");
    assertEquals(h.get("ACCEPT"), "a");
    assert(h.has("accept"));
    h.delete("aCCept");
    assert(!h.has("Accept"));
    assertEquals(h.get("accept"), null);
  },

  "append combines with comma-space, set replaces"() {
    const h = new Headers();
    h.append("x", "1");
    h.append("X", "2");
    assertEquals(h.get("x"), "1, 2");
    h.set("x", "3");
    assertEquals(h.get("x"), "3");
    assertEquals([...h], [["x", "3"]]);
  },

  "value whitespace is normalized"() {
    const h = new Headers({ a: "  \t value \t\r\n " });
    assertEquals(h.get("a"), "value");
    h.set("b", " inner  space ");
    assertEquals(h.get("b"), "inner  space");
    h.append("c", "");
    assertEquals(h.get("c"), "");
  },

  "invalid names and values throw TypeError"() {
    const h = new Headers();
    assertThrows(() => h.append("bad name", "v"), TypeError);
    assertThrows(() => h.append("", "v"), TypeError);
    assertThrows(() => h.append("a:b", "v"), TypeError);
    assertThrows(() => h.append("é", "v"), TypeError);
    assertThrows(() => h.append("a", "x\ny"), TypeError);
    assertThrows(() => h.append("a", "x\ry"), TypeError);
    assertThrows(() => h.append("a", "x\0y"), TypeError);
    assertThrows(() => h.append("a", "€"), TypeError);
    assertThrows(() => h.get("bad name"), TypeError);
    assertThrows(() => h.has("bad name"), TypeError);
    assertThrows(() => h.delete("bad name"), TypeError);
    assertThrows(() => new Headers({ "a b": "c" }), TypeError);
    // Latin-1 values are allowed.
    h.append("a", "caf\u00e9");
    assertEquals(h.get("a"), "caf\u00e9");
  },

  "missing arguments throw TypeError"() {
    const h = new Headers();
    assertThrows(() => h.append("a"), TypeError);
    assertThrows(() => h.set("a"), TypeError);
    assertThrows(() => h.get(), TypeError);
  },

  "iteration is sorted by name and combined"() {
    const h = new Headers();
    h.append("b", "2");
    h.append("A", "1");
    h.append("c", "3");
    h.append("b", "22");
    assertEquals([...h.keys()], ["a", "b", "c"]);
    assertEquals([...h.values()], ["1", "2, 22", "3"]);
    assertEquals([...h.entries()], [["a", "1"], ["b", "2, 22"], ["c", "3"]]);
    const seen = [];
    h.forEach(function (value, key, target) {
      seen.push([key, value, target === h, this.tag]);
    }, { tag: "t" });
    assertEquals(seen, [["a", "1", true, "t"], ["b", "2, 22", true, "t"], ["c", "3", true, "t"]]);
  },

  "set-cookie values stay separate"() {
    const h = new Headers();
    h.append("Set-Cookie", "a=1");
    h.append("set-cookie", "b=2");
    h.append("x", "y");
    assertEquals(h.getSetCookie(), ["a=1", "b=2"]);
    assertEquals(h.get("set-cookie"), "a=1, b=2");
    assertEquals([...h], [["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x", "y"]]);
    h.set("set-cookie", "c=3");
    assertEquals(h.getSetCookie(), ["c=3"]);
    h.delete("set-cookie");
    assertEquals(h.getSetCookie(), []);
    assertEquals(h.get("set-cookie"), null);
  },

  "iterator sees later changes"() {
    const h = new Headers({ a: "1", c: "3" });
    const it = h.keys();
    assertEquals(it.next().value, "a");
    h.append("b", "2");
    assertEquals(it.next().value, "b");
    assertEquals(it.next().value, "c");
    assert(it.next().done);
  },

  "iterator prototype and toStringTag"() {
    const it = new Headers().entries();
    assertEquals(Object.prototype.toString.call(it), "[object Headers Iterator]");
    assertEquals(Object.prototype.toString.call(new Headers()), "[object Headers]");
    assertEquals(typeof it[Symbol.iterator], "function");
    assert(it[Symbol.iterator]() === it);
    assert(Headers.prototype[Symbol.iterator] === Headers.prototype.entries);
  },

  "immutable headers from Response.error/redirect throw on mutation"() {
    const h = Response.error().headers;
    assertThrows(() => h.append("a", "b"), TypeError);
    assertThrows(() => h.set("a", "b"), TypeError);
    assertThrows(() => h.delete("a"), TypeError);
    const r = Response.redirect("https://example.com/", 301);
    assertThrows(() => r.headers.set("location", "x"), TypeError);
    assertEquals(r.headers.get("location"), "https://example.com/");
  },

  "request and response headers are mutable"() {
    const req = new Request("https://example.com/");
    req.headers.set("x", "1");
    assertEquals(req.headers.get("x"), "1");
    const res = new Response("ok");
    res.headers.append("set-cookie", "a=b");
    assertEquals(res.headers.getSetCookie(), ["a=b"]);
  },

  "record with symbol-keyed enumerable property throws"() {
    assertThrows(() => new Headers({ [Symbol("s")]: "x" }), TypeError);
    // Non-enumerable properties are skipped.
    const o = {};
    Object.defineProperty(o, "hidden", { value: "x", enumerable: false });
    assertEquals([...new Headers(o)], []);
  },

  "a record is read once, in WebIDL's order, before any header is checked"() {
    const log = [];
    const handler = {};
    for (const trap of ["get", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf", "has"]) {
      handler[trap] = (...args) => {
        log.push(trap + (typeof args[1] === "string" ? ` ${args[1]}` : ""));
        return Reflect[trap](...args);
      };
    }
    // "b c" is not a header name: the TypeError comes after every read.
    assertThrows(() => new Headers(new Proxy({ a: "1", "b c": "2", d: "3" }, handler)), TypeError);
    assertEquals(log, ["get", "ownKeys", "getOwnPropertyDescriptor a", "get a",
      "getOwnPropertyDescriptor b c", "get b c", "getOwnPropertyDescriptor d", "get d"]);
    log.length = 0;
    // Another Headers object is iterated with its own iterator.
    const source = new Headers({ a: "1" });
    source[Symbol.iterator] = function* () {
      yield ["b", "2"];
    };
    assertEquals([...new Headers(source)], [["b", "2"]]);
    const h = new Headers(new Proxy({ x: "1" }, handler));
    assertEquals([...h], [["x", "1"]]);
    assertEquals(log, ["get", "ownKeys", "getOwnPropertyDescriptor x", "get x"]);
  },
};
