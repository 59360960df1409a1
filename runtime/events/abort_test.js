// AbortController and AbortSignal (DOM standard), and their use by fetch's
// and streams' callers.

import { assert, assertStrictEquals } from "../../runtime/testing/assert.js";

export default {
  "abort() sets aborted and reason, fires abort once"() {
    const controller = new AbortController();
    const signal = controller.signal;
    assert(signal instanceof AbortSignal && signal instanceof EventTarget);
    assertStrictEquals(signal.aborted, false);
    let events = 0;
    let handled = 0;
    signal.addEventListener("abort", (event) => {
      events++;
      assert(event.isTrusted, "trusted");
      assertStrictEquals(event.target, signal);
    });
    signal.onabort = () => handled++;
    controller.abort("why");
    controller.abort("again");
    assertStrictEquals(signal.aborted, true);
    assertStrictEquals(signal.reason, "why");
    assertStrictEquals(events, 1);
    assertStrictEquals(handled, 1);
    try {
      signal.throwIfAborted();
      throw new Error("did not throw");
    } catch (e) {
      assertStrictEquals(e, "why");
    }
  },

  "the default reason is an AbortError"() {
    const controller = new AbortController();
    controller.abort();
    assert(controller.signal.reason instanceof DOMException);
    assertStrictEquals(controller.signal.reason.name, "AbortError");
    assertStrictEquals(AbortSignal.abort().reason.name, "AbortError");
    assertStrictEquals(AbortSignal.abort(42).reason, 42);
  },

  async "AbortSignal.timeout aborts with a TimeoutError"() {
    const signal = AbortSignal.timeout(5);
    assertStrictEquals(signal.aborted, false);
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    assertStrictEquals(signal.reason.name, "TimeoutError");
  },

  "AbortSignal.any follows any of its signals"() {
    const a = new AbortController();
    const b = new AbortController();
    const any = AbortSignal.any([a.signal, b.signal]);
    const nested = AbortSignal.any([any]);
    let fired = 0;
    any.addEventListener("abort", () => fired++);
    b.abort("b");
    assertStrictEquals(any.aborted, true);
    assertStrictEquals(any.reason, "b");
    assertStrictEquals(nested.reason, "b");
    assertStrictEquals(fired, 1);
    const already = AbortSignal.any([AbortSignal.abort("x"), new AbortController().signal]);
    assertStrictEquals(already.reason, "x");
  },

  "constructors and brand checks"() {
    let threw = false;
    try {
      new AbortSignal();
    } catch (e) {
      threw = e instanceof TypeError;
    }
    assert(threw, "new AbortSignal() throws");
    threw = false;
    try {
      Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted").get.call({});
    } catch (e) {
      threw = e instanceof TypeError;
    }
    assert(threw, "brand check");
    assertStrictEquals(Object.prototype.toString.call(new AbortController().signal), "[object AbortSignal]");
  },

  async "pipeTo stops when its signal aborts"() {
    const controller = new AbortController();
    const readable = new ReadableStream({ pull() {} });
    const written = [];
    const writable = new WritableStream({ write(chunk) { written.push(chunk); } });
    const piping = readable.pipeTo(writable, { signal: controller.signal });
    controller.abort(new Error("stop"));
    try {
      await piping;
      throw new Error("did not reject");
    } catch (e) {
      assertStrictEquals(e.message, "stop");
    }
  },

  "a WritableStream controller's signal is an AbortSignal"() {
    let signal;
    new WritableStream({ start(controller) { signal = controller.signal; } });
    assert(signal instanceof AbortSignal);
  },
};
