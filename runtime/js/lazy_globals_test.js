// The globals whose JavaScript is evaluated on first use (runtime/lazy_js.h)
// behave as the data properties they were when made eagerly. This file's
// top level touches some of them before anything else reads them: one is
// assigned, one deleted, one redefined, one read through another receiver.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

const LAZY = ["URLPattern", "SubtleCrypto", "CryptoKey", "WebSocket", "WebSocketPair", "CloseEvent", "EventSource",
  "Cache", "CacheStorage", "caches", "CompressionStream", "DecompressionStream", "TextEncoderStream",
  "TextDecoderStream", "MessageChannel", "MessagePort", "MessageEvent", "IdentityTransformStream",
  "FixedLengthStream"];

// Before any read.
const namesBefore = Object.getOwnPropertyNames(globalThis);
const keysBefore = Object.keys(globalThis);
globalThis.EventSource = 42;
const deleted = delete globalThis.CacheStorage;
Object.defineProperty(globalThis, "CloseEvent", { value: "mine", writable: false, enumerable: true, configurable: false });
const throughChild = Reflect.get(globalThis, "WebSocketPair", Object.create(globalThis));
const typeofFirst = typeof URLPattern;

export default {
  "they are own properties before any read, and not enumerable"() {
    for (const name of LAZY) {
      assert(namesBefore.includes(name), `${name} is not an own property`);
      assert(!keysBefore.includes(name), `${name} is enumerable`);
    }
  },

  "each is a writable, configurable, non-enumerable data property"() {
    for (const name of LAZY.filter((name) => !["EventSource", "CacheStorage", "CloseEvent"].includes(name))) {
      const desc = Object.getOwnPropertyDescriptor(globalThis, name);
      assert("value" in desc && !("get" in desc), `${name} is not a data property`);
      assert(desc.writable && !desc.enumerable && desc.configurable, `${name} has the wrong attributes`);
      assertEquals(typeof desc.value, name === "caches" ? "object" : "function", name);
      assert(globalThis[name] === desc.value, `${name} is not the same value twice`);
    }
    const digestStream = Object.getOwnPropertyDescriptor(crypto, "DigestStream");
    assert(digestStream.writable && !digestStream.enumerable && digestStream.configurable);
    assertEquals(typeof digestStream.value, "function");
    const subtle = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(crypto), "subtle");
    assert(typeof subtle.get === "function" && subtle.enumerable && subtle.configurable);
  },

  "typeof before any other read"() {
    assertEquals(typeofFirst, "function");
    assert(URLPattern === URLPattern);
  },

  "assigning, deleting or redefining one before its first read keeps what the worker did"() {
    assertEquals(EventSource, 42);
    const desc = Object.getOwnPropertyDescriptor(globalThis, "EventSource");
    assert(desc.writable && !desc.enumerable && desc.configurable);
    assert(deleted);
    assert(!("CacheStorage" in globalThis));
    assertThrows(() => CacheStorage, ReferenceError);
    assert(caches.default instanceof Cache, "caches still works without the CacheStorage global");
    assertEquals(Object.getOwnPropertyDescriptor(globalThis, "CloseEvent"),
      { value: "mine", writable: false, enumerable: true, configurable: false });
  },

  "a read through another receiver gives the same value"() {
    assert(throughChild === WebSocketPair);
    const pair = new WebSocketPair();
    assert(pair[0] instanceof WebSocket);
  },

  "crypto.subtle is one object, an instance of SubtleCrypto"() {
    assert(crypto.subtle === crypto.subtle);
    assert(crypto.subtle instanceof SubtleCrypto);
  },

  "instances made in one call are instances in the next"() {
    globalThis.keptPattern = new URLPattern({ pathname: "/a/:id" });
  },

  async "instanceof across calls"() {
    assert(globalThis.keptPattern instanceof URLPattern);
    assertEquals(globalThis.keptPattern.exec("https://x.test/a/7").pathname.groups.id, "7");
    const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    globalThis.keptKey = key;
  },

  "a CryptoKey made in one call is one in the next"() {
    assert(globalThis.keptKey instanceof CryptoKey);
    assertEquals(Object.prototype.toString.call(crypto.subtle), "[object SubtleCrypto]");
  },
};
