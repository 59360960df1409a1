// AbortController and AbortSignal (DOM standard), and their use by fetch's
// and streams' callers.

function assert(condition, message = "assertion failed") {
  if (!condition) throw new Error(message);
}
function assertEquals(actual, expected, message = "") {
  if (actual !== expected) {
    throw new Error(`${message} expected ${String(expected)}, got ${String(actual)}`);
  }
}

export default {
  "abort() sets aborted and reason, fires abort once"() {
    const controller = new AbortController();
    const signal = controller.signal;
    assert(signal instanceof AbortSignal && signal instanceof EventTarget);
    assertEquals(signal.aborted, false);
    let events = 0;
    let handled = 0;
    signal.addEventListener("abort", (event) => {
      events++;
      assert(event.isTrusted, "trusted");
      assertEquals(event.target, signal);
    });
    signal.onabort = () => handled++;
    controller.abort("why");
    controller.abort("again");
    assertEquals(signal.aborted, true);
    assertEquals(signal.reason, "why");
    assertEquals(events, 1);
    assertEquals(handled, 1);
    try {
      signal.throwIfAborted();
      throw new Error("did not throw");
    } catch (e) {
      assertEquals(e, "why");
    }
  },

  "the default reason is an AbortError"() {
    const controller = new AbortController();
    controller.abort();
    assert(controller.signal.reason instanceof DOMException);
    assertEquals(controller.signal.reason.name, "AbortError");
    assertEquals(AbortSignal.abort().reason.name, "AbortError");
    assertEquals(AbortSignal.abort(42).reason, 42);
  },

  async "AbortSignal.timeout aborts with a TimeoutError"() {
    const signal = AbortSignal.timeout(5);
    assertEquals(signal.aborted, false);
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    assertEquals(signal.reason.name, "TimeoutError");
  },

  "AbortSignal.any follows any of its signals"() {
    const a = new AbortController();
    const b = new AbortController();
    const any = AbortSignal.any([a.signal, b.signal]);
    const nested = AbortSignal.any([any]);
    let fired = 0;
    any.addEventListener("abort", () => fired++);
    b.abort("b");
    assertEquals(any.aborted, true);
    assertEquals(any.reason, "b");
    assertEquals(nested.reason, "b");
    assertEquals(fired, 1);
    const already = AbortSignal.any([AbortSignal.abort("x"), new AbortController().signal]);
    assertEquals(already.reason, "x");
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
    assertEquals(Object.prototype.toString.call(new AbortController().signal), "[object AbortSignal]");
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
      assertEquals(e.message, "stop");
    }
  },

  "a WritableStream controller's signal is an AbortSignal"() {
    let signal;
    new WritableStream({ start(controller) { signal = controller.signal; } });
    assert(signal instanceof AbortSignal);
  },
};
