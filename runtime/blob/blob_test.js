// Blob and File: construction from parts, type normalization, endings,
// slice() with negative indices (slices share the parent's bytes), text(),
// arrayBuffer(), bytes(), stream() (a byte stream, default and BYOB readers),
// and Blob as a Request/Response body and from body.blob().

import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

async function readAll(stream) {
  const reader = stream.getReader();
  const chunks = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    assert(value instanceof Uint8Array, "chunks are Uint8Arrays");
    chunks.push(...value);
  }
  return chunks;
}

export default {
  "globals and interface"() {
    assertEquals(typeof Blob, "function");
    assertEquals(typeof File, "function");
    assert(Object.getPrototypeOf(File.prototype) === Blob.prototype, "File extends Blob");
    assertEquals(Object.prototype.toString.call(new Blob()), "[object Blob]");
    assertEquals(Object.prototype.toString.call(new File([], "f")), "[object File]");
    assert(!Object.getOwnPropertyDescriptor(globalThis, "Blob").enumerable, "non-enumerable global");
    assert(Object.getOwnPropertyDescriptor(Blob.prototype, "size").enumerable, "size enumerable");
    assertThrows(() => Blob(), TypeError);
  },

  async "empty blob"() {
    const b = new Blob();
    assertEquals(b.size, 0);
    assertEquals(b.type, "");
    assertEquals(await b.text(), "");
    assertEquals((await b.arrayBuffer()).byteLength, 0);
    assertEquals(new Blob([]).size, 0);
    assertEquals(new Blob(undefined, undefined).size, 0);
  },

  async "parts: strings, buffers, views, blobs"() {
    const buffer = new Uint8Array([0x41, 0x42]).buffer;
    const b = new Blob([
      "é",
      buffer,
      new Uint16Array([0x4443]),
      new DataView(new Uint8Array([0x45, 0x46, 0x47]).buffer, 1, 1),
      new Blob(["xy"]),
      42,
    ]);
    assertEquals(b.size, 2 + 2 + 2 + 1 + 2 + 2);
    assertEquals(await b.text(), "éABCDFxy42");
    assertEquals([...(await b.bytes())].slice(0, 2), [0xc3, 0xa9]);
  },

  async "parts are copied at construction"() {
    const view = new Uint8Array([1, 2, 3]);
    const b = new Blob([view]);
    view[0] = 9;
    assertEquals([...(await b.bytes())], [1, 2, 3]);
    const out = await b.bytes();
    out[1] = 7;
    assertEquals([...(await b.bytes())], [1, 2, 3], "bytes() returns a copy");
    const ab = await b.arrayBuffer();
    new Uint8Array(ab)[2] = 7;
    assertEquals([...(await b.bytes())], [1, 2, 3], "arrayBuffer() returns a copy");
    assert(ab instanceof ArrayBuffer, "ArrayBuffer");
  },

  async "lone surrogates become U+FFFD"() {
    const b = new Blob(["a\uD800b"]);
    assertEquals([...(await b.bytes())], [0x61, 0xef, 0xbf, 0xbd, 0x62]);
  },

  "type is lowercased or dropped"() {
    assertEquals(new Blob([], { type: "Text/HTML;Charset=UTF-8" }).type, "text/html;charset=utf-8");
    assertEquals(new Blob([], { type: "text/plain\u00e9" }).type, "");
    assertEquals(new Blob([], { type: "a\nb" }).type, "");
    assertEquals(new Blob([], { type: undefined }).type, "");
    assertEquals(new Blob([], null).type, "");
  },

  async "endings"() {
    assertEquals(await new Blob(["a\r\nb\rc\n"], { endings: "native" }).text(), "a\nb\nc\n");
    assertEquals(await new Blob(["a\r\nb"], { endings: "transparent" }).text(), "a\r\nb");
    assertEquals(await new Blob(["a\r\nb"]).text(), "a\r\nb");
    assertThrows(() => new Blob([], { endings: "dos" }), TypeError);
  },

  "constructor errors"() {
    assertThrows(() => new Blob("abc"), TypeError, "a string is not a sequence");
    assertThrows(() => new Blob(42), TypeError);
    assertThrows(() => new Blob({}), TypeError);
    assertThrows(() => new Blob([], 5), TypeError);
  },

  "iterable parts"() {
    const parts = new Set(["a", "b"]);
    assertEquals(new Blob(parts).size, 2);
    function* gen() {
      yield "xyz";
      yield new Uint8Array(2);
    }
    assertEquals(new Blob(gen()).size, 5);
  },

  async "slice"() {
    const b = new Blob(["0123456789"], { type: "text/plain" });
    assertEquals(await b.slice().text(), "0123456789");
    assertEquals(b.slice().type, "", "slice without contentType has no type");
    assertEquals(await b.slice(2).text(), "23456789");
    assertEquals(await b.slice(2, 5).text(), "234");
    assertEquals(await b.slice(-3).text(), "789");
    assertEquals(await b.slice(-3, -1).text(), "78");
    assertEquals(await b.slice(-100, 2).text(), "01");
    assertEquals(await b.slice(5, 2).text(), "");
    assertEquals(b.slice(5, 2).size, 0);
    assertEquals(await b.slice(8, 100).text(), "89");
    assertEquals(await b.slice(100).text(), "");
    // [Clamp] long long: rounded to the nearest integer, ties to even.
    assertEquals(await b.slice(1.9, 3.2).text(), "2");
    assertEquals(await b.slice(0.5).text(), "0123456789");
    assertEquals(await b.slice(1.5, 2.5).text(), "");
    assertEquals(await b.slice(2.5, 3.5).text(), "23");
    assertEquals(await b.slice(-1.5).text(), "89");
    assertEquals(await b.slice(-Infinity, Infinity).text(), "0123456789");
    assertEquals(await b.slice(NaN, "4").text(), "0123");
    assertEquals(b.slice(0, 1, "Image/PNG").type, "image/png");
    assertEquals(b.slice(0, 1, "\u0100").type, "");
    assert(b.slice() !== b, "a new Blob");
  },

  async "structuredClone copies Blob and File"() {
    const blob = new Blob(["a\u0000b", new Uint8Array([0xff])], { type: "Text/Plain" });
    const copy = structuredClone(blob);
    assert(copy instanceof Blob && !(copy instanceof File) && copy !== blob);
    assertEquals([copy.size, copy.type], [4, "text/plain"]);
    assertEquals([...(await copy.bytes())], [0x61, 0, 0x62, 0xff]);
    const file = new File(["xyz"], "n\u00e9.txt", { type: "a/b", lastModified: 42 });
    const fileCopy = structuredClone(file);
    assert(fileCopy instanceof File);
    assertEquals([fileCopy.name, fileCopy.lastModified, fileCopy.type, await fileCopy.text()], ["n\u00e9.txt", 42, "a/b", "xyz"]);
    // Inside other values, once per identity.
    const nested = structuredClone({ list: [blob, blob], map: new Map([["f", file]]) });
    assert(nested.list[0] instanceof Blob && nested.list[0] === nested.list[1]);
    assertEquals(await nested.map.get("f").text(), "xyz");
    // Blob's prototype chain is WebIDL's; a patched getter changes nothing.
    assertEquals(Object.getPrototypeOf(Blob.prototype), Object.prototype);
    const typeGetter = Object.getOwnPropertyDescriptor(Blob.prototype, "type");
    Object.defineProperty(Blob.prototype, "type", { get: () => "evil", configurable: true });
    try {
      const again = structuredClone(blob);
      Object.defineProperty(Blob.prototype, "type", typeGetter);
      assertEquals(again.type, "text/plain");
    } finally {
      Object.defineProperty(Blob.prototype, "type", typeGetter);
    }
    // Bare instances of the base class Blob extends are not cloneable.
    const Base = Object.getPrototypeOf(Blob);
    assertThrows(() => structuredClone(new Base()), DOMException);
  },

  async "slices of slices"() {
    const b = new Blob(["abcdefghij"]);
    const s = b.slice(2, 8).slice(1, -1).slice(-2);
    assertEquals(await s.text(), "fg");
    assertEquals(s.size, 2);
    const joined = new Blob([b.slice(0, 2), "-", b.slice(-2)]);
    assertEquals(await joined.text(), "ab-ij");
  },

  async "big blob slices"() {
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    const b = new Blob([big]);
    const s = b.slice(1000, 1010);
    assertEquals([...(await s.bytes())], [232, 233, 234, 235, 236, 237, 238, 239, 240, 241]);
    assertEquals(b.slice(-1).size, 1);
  },

  async "text() decodes UTF-8 with replacement and strips a BOM"() {
    assertEquals(await new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])]).text(), "hi");
    assertEquals(await new Blob([new Uint8Array([0x68, 0xff])]).text(), "h\uFFFD");
  },

  async "methods reject or throw on a non-Blob"() {
    await assertRejects(Blob.prototype.text.call({}), TypeError);
    await assertRejects(Blob.prototype.arrayBuffer.call({}), TypeError);
    await assertRejects(Blob.prototype.bytes.call({}), TypeError);
    assertThrows(() => Blob.prototype.slice.call({}), TypeError);
    assertThrows(() => Blob.prototype.stream.call({}), TypeError);
    assertThrows(() => Object.getOwnPropertyDescriptor(Blob.prototype, "size").get.call({}), TypeError);
  },

  async "stream() with a default reader"() {
    const b = new Blob(["hello ", "world"]);
    const stream = b.stream();
    assert(stream instanceof ReadableStream, "a ReadableStream");
    assertEquals(String.fromCharCode(...(await readAll(stream))), "hello world");
    assertEquals(await readAll(new Blob().stream()), []);
  },

  async "stream() is a byte stream (BYOB reader)"() {
    const b = new Blob(["abcdefg"]);
    const reader = b.stream().getReader({ mode: "byob" });
    let r = await reader.read(new Uint8Array(3));
    assertEquals([r.done, String.fromCharCode(...r.value)], [false, "abc"]);
    r = await reader.read(new Uint8Array(3));
    assertEquals(String.fromCharCode(...r.value), "def");
    r = await reader.read(new Uint8Array(3));
    assertEquals(String.fromCharCode(...r.value), "g");
    r = await reader.read(new Uint8Array(3));
    assertEquals(r.done, true);
  },

  async "stream() of a large blob comes in chunks and copies"() {
    const big = new Uint8Array(200000).fill(7);
    const b = new Blob([big]);
    const reader = b.stream().getReader();
    let total = 0;
    let count = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      value.fill(1); // must not affect the blob
      total += value.byteLength;
      count++;
    }
    assertEquals(total, 200000);
    assert(count > 1, "several chunks");
    assertEquals((await b.slice(0, 3).bytes())[0], 7);
  },

  async "stream() can be cancelled"() {
    const stream = new Blob(["abc"]).stream();
    await stream.cancel();
    const { done } = await stream.getReader().read();
    assertEquals(done, true);
  },

  "File"() {
    const before = Date.now();
    const f = new File(["abc", new Uint8Array([100])], "name.txt", { type: "Text/Plain" });
    assert(f instanceof Blob, "instanceof Blob");
    assertEquals(f.name, "name.txt");
    assertEquals(f.size, 4);
    assertEquals(f.type, "text/plain");
    assert(f.lastModified >= before && f.lastModified <= Date.now(), "lastModified defaults to now");
    assertEquals(new File([], "x", { lastModified: 42 }).lastModified, 42);
    assertEquals(new File([], "x", { lastModified: -1.5 }).lastModified, -1);
    assertEquals(new File([], "a/b\uD800").name, "a/b\uFFFD");
    assertEquals(new File([], null).name, "null");
    assertEquals(f.slice(0, 2) instanceof File, false, "slice() is a Blob");
    assertThrows(() => new File(["a"]), TypeError);
    assertThrows(() => File.prototype.name, TypeError);
  },

  async "File is usable as a Blob part"() {
    const f = new File(["xyz"], "f.bin");
    assertEquals(await new Blob([f, f]).text(), "xyzxyz");
    assertEquals(await f.text(), "xyz");
  },

  async "Blob as a Response body"() {
    const r = new Response(new Blob(["<p>"], { type: "text/html" }));
    assertEquals(r.headers.get("content-type"), "text/html");
    assertEquals(await r.text(), "<p>");
    const untyped = new Response(new Blob(["x"]));
    assertEquals(untyped.headers.get("content-type"), null);
    const explicit = new Response(new Blob(["x"], { type: "a/b" }), { headers: { "content-type": "c/d" } });
    assertEquals(explicit.headers.get("content-type"), "c/d");
  },

  async "Blob as a Request body"() {
    const blob = new Blob([new Uint8Array([1, 2, 3])], { type: "application/octet-stream" });
    const req = new Request("https://example.com/", { method: "POST", body: blob });
    assertEquals(req.headers.get("content-type"), "application/octet-stream");
    const bytes = await req.bytes();
    bytes[0] = 9;
    assertEquals([...(await blob.bytes())], [1, 2, 3], "the body has its own copy");
  },

  async "body.blob()"() {
    const r = new Response("héllo", { headers: { "content-type": "Text/Plain;Charset=UTF-8" } });
    const b = await r.blob();
    assert(b instanceof Blob, "a Blob");
    assertEquals(b.type, "text/plain;charset=utf-8");
    assertEquals(b.size, 6);
    assertEquals(await b.text(), "héllo");
    assertEquals(r.bodyUsed, true);
    await assertRejects(r.blob(), TypeError);

    const empty = await new Response(null).blob();
    assertEquals([empty.size, empty.type], [0, ""]);

    const streamed = new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array([1, 2]));
          c.enqueue(new Uint8Array([3]));
          c.close();
        },
      }),
    );
    const sb = await streamed.blob();
    assertEquals([...(await sb.bytes())], [1, 2, 3]);
    assertEquals(sb.type, "");

    const req = new Request("https://example.com/", { method: "PUT", body: new Uint8Array([5]) });
    assertEquals((await req.blob()).size, 1);
  },

  async "a Blob round trips through Response"() {
    const original = new Blob(["abc", new Uint8Array([0, 255])], { type: "x/y" });
    const copy = await new Response(original).blob();
    assertEquals(copy.type, "x/y");
    assertEquals([...(await copy.bytes())], [...(await original.bytes())]);
    const cloned = new Response(original).clone();
    assertEquals(await cloned.text(), await original.text());
  },
};
