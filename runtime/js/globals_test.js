// Globals: property shape, self, structuredClone, navigator, performance, reportError, console.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

const interfaces = [
  "DOMException", "Event", "EventTarget", "CustomEvent", "TextEncoder", "TextDecoder",
  "ReadableStream", "ReadableStreamDefaultReader", "ReadableStreamDefaultController",
  "ByteLengthQueuingStrategy", "CountQueuingStrategy", "Headers", "Request", "Response",
  "URL", "URLSearchParams", "Crypto", "Navigator", "Performance",
];

const functions = [
  "setTimeout", "setInterval", "clearTimeout", "clearInterval", "queueMicrotask", "structuredClone",
  "atob", "btoa", "reportError", "addEventListener", "removeEventListener", "dispatchEvent",
];

export default {
  "globals are non-enumerable, writable, configurable"() {
    for (const name of [...interfaces, ...functions, "console", "crypto", "navigator", "performance", "self"]) {
      const desc = Object.getOwnPropertyDescriptor(globalThis, name);
      assert(desc !== undefined, `${name} is missing`);
      assert(!desc.enumerable && desc.writable && desc.configurable, `${name} has the wrong attributes`);
    }
    for (const name of interfaces) assertEquals(typeof globalThis[name], "function", name);
    for (const name of functions) {
      assertEquals(typeof globalThis[name], "function", name);
      assertEquals(globalThis[name].name, name);
    }
  },

  "self is the global object"() {
    assert(self === globalThis);
  },

  "structuredClone deep-copies"() {
    const date = new Date(0);
    const original = { a: [1, { b: 2 }], m: new Map([["k", new Set([1])]]), d: date, u8: new Uint8Array([1, 2]) };
    original.self = original;
    const copy = structuredClone(original);
    assert(copy !== original && copy.a !== original.a);
    assert(copy.self === copy, "cycles are preserved");
    assertEquals(copy.a, [1, { b: 2 }]);
    assert(copy.m.get("k").has(1));
    assertEquals(copy.d.getTime(), 0);
    assertEquals([...copy.u8], [1, 2]);
    assertEquals(structuredClone(5), 5);
    assertEquals(structuredClone("s"), "s");
  },

  "structuredClone throws DataCloneError for functions and symbols"() {
    for (const value of [() => {}, { f() {} }, Symbol("s")]) {
      const err = assertThrows(() => structuredClone(value), DOMException);
      assertEquals(err.name, "DataCloneError");
    }
    assertThrows(() => structuredClone(), TypeError);
  },

  "structuredClone transfer validation"() {
    const err = assertThrows(() => structuredClone(1, { transfer: [{}] }), DOMException);
    assertEquals(err.name, "DataCloneError");
    const buf = new ArrayBuffer(1);
    assertThrows(() => structuredClone(buf, { transfer: [buf, buf] }), DOMException);
    assertThrows(() => structuredClone(1, { transfer: 1 }), TypeError);
  },

  "navigator.userAgent"() {
    assert(navigator instanceof Navigator);
    // What Workers answers, and what libraries probe for to detect Workers.
    assertEquals(navigator.userAgent, "Cloudflare-Workers");
    assertThrows(() => new Navigator(), TypeError);
  },

  "performance"() {
    assert(performance instanceof Performance);
    assert(performance instanceof EventTarget);
    const a = performance.now();
    const b = performance.now();
    assert(typeof a === "number" && a >= 0 && b >= a);
    assert(performance.timeOrigin > 1.5e12, "timeOrigin is ms since the epoch");
    assertEquals(performance.toJSON(), { timeOrigin: performance.timeOrigin });
    assert(Math.abs(performance.timeOrigin + performance.now() - Date.now()) < 1000);
    assertThrows(() => new Performance(), TypeError);
  },

  "reportError does not throw"() {
    reportError(new Error("expected test error (reportError)"));
    assertThrows(() => reportError(), TypeError);
  },

  "console methods exist and do not throw"() {
    const o = { a: 1, nested: { deep: { deeper: { deepest: 1 } } }, list: [1, 2, 3] };
    o.self = o;
    console.log("log %s %d %i %f %j %o %O %c%%", "s", 1, 2.5, "3.5", { j: 1 }, [1], o, "color: red");
    console.info("info", new Map([[1, 2]]), new Set([1]), new Date(0), /re/g, Symbol("s"), 1n, -0);
    console.debug("debug", new Headers({ a: "b" }), new Response("x"), new Request("https://x.test/"));
    console.warn("warn", new URL("https://x.test/a?b=c"), new URLSearchParams("a=1"), new ReadableStream());
    console.error("error", new Error("expected test error (console)"), new DOMException("d", "AbortError"));
    console.trace("trace");
    console.assert(true, "not printed");
    console.assert(false, "assert %s", "printed");
    console.dir(o, { depth: 0 });
    console.table([{ a: 1, b: "x" }, { a: 2, c: true }]);
    console.table({ r1: 1, r2: { c: 2 } });
    console.time("t");
    console.timeLog("t", "extra");
    console.timeEnd("t");
    console.timeEnd("missing");
    console.count();
    console.count();
    console.countReset();
    console.group("group");
    console.log("indented");
    console.groupEnd();
    console.groupEnd();
    console.log(new Uint8Array(3), new ArrayBuffer(2), class A {}, function f() {}, async () => {}, Promise.resolve(1));
  },

  "console is a namespace object"() {
    const desc = Object.getOwnPropertyDescriptor(console, "log");
    assert(desc.enumerable && desc.writable && desc.configurable);
    assertEquals(Object.prototype.toString.call(console), "[object console]");
  },
  "every global of the WinterTC Minimum Common API is there"() {
    const names = ["AbortController", "AbortSignal", "Blob", "ByteLengthQueuingStrategy",
      "CompressionStream", "CountQueuingStrategy", "Crypto", "CryptoKey", "CustomEvent",
      "DecompressionStream", "DOMException", "Event", "EventTarget", "File", "FormData", "Headers",
      "ReadableByteStreamController", "ReadableStream", "ReadableStreamBYOBReader",
      "ReadableStreamBYOBRequest", "ReadableStreamDefaultController", "ReadableStreamDefaultReader",
      "Request", "Response", "SubtleCrypto", "TextDecoder", "TextDecoderStream", "TextEncoder",
      "TextEncoderStream", "TransformStream", "TransformStreamDefaultController", "URL", "URLPattern",
      "URLSearchParams", "WebAssembly", "WritableStream", "WritableStreamDefaultController",
      "WritableStreamDefaultWriter", "globalThis", "self", "atob", "btoa", "console", "crypto",
      "fetch", "navigator", "performance", "queueMicrotask", "reportError", "setTimeout",
      "clearTimeout", "setInterval", "clearInterval", "structuredClone"];
    const missing = names.filter((name) => !(name in globalThis));
    if (missing.length !== 0) throw new Error(`missing globals: ${missing.join(", ")}`);
    if (typeof navigator.userAgent !== "string") throw new Error("navigator.userAgent");
    if (typeof performance.now() !== "number" || typeof performance.timeOrigin !== "number") {
      throw new Error("performance");
    }
  },
};
