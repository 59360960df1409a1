// node:events against Node.js's behaviour (expected values from Node 20).

import EventEmitter, { once, on, errorMonitor, getEventListeners, setMaxListeners } from "node:events";
import { EventEmitter as Named } from "events";
import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

export default {
  "listeners run in order; once and prepend as Node"() {
    const e = new EventEmitter();
    const log = [];
    e.on("x", (a) => log.push(`x${a}`));
    e.prependListener("x", () => log.push("first"));
    e.once("x", () => log.push("once"));
    assert(e.emit("x", 1));
    e.emit("x", 2);
    assertEquals(log, ["first", "x1", "once", "first", "x2"]);
    assertEquals(e.listenerCount("x"), 2);
    assertEquals(e.eventNames(), ["x"]);
    assertEquals(EventEmitter.listenerCount(e, "x"), 2);
    assert(!e.emit("nothing"));
    assert(Named === EventEmitter && EventEmitter.EventEmitter === EventEmitter);
  },

  "removeListener, off, removeAllListeners and their events"() {
    const e = new EventEmitter();
    const seen = [];
    e.on("removeListener", (name) => seen.push(name));
    const f = () => {};
    e.on("a", f);
    e.once("b", f);
    e.off("a", f);
    e.removeListener("b", f);
    assertEquals(seen, ["a", "b"]);
    e.on("c", f);
    e.on("c", f);
    e.removeAllListeners("c");
    assertEquals(e.listenerCount("c"), 0);
    e.removeAllListeners();
    assertEquals(e.eventNames(), []);
    const w = new EventEmitter();
    w.once("z", f);
    assertEquals(w.listeners("z")[0], f);
    assert(w.rawListeners("z")[0] !== f);
  },

  "error events: throw, ERR_UNHANDLED_ERROR, errorMonitor"() {
    const e = new EventEmitter();
    assertEquals(assertThrows(() => e.emit("error", new Error("boom"))).message, "boom");
    const unhandled = assertThrows(() => e.emit("error", "str"));
    assertEquals([unhandled.code, unhandled.message], ["ERR_UNHANDLED_ERROR", "Unhandled error. ('str')"]);
    const seen = [];
    e.on(errorMonitor, (err) => seen.push(`monitor ${err.message}`));
    e.on("error", (err) => seen.push(`handled ${err.message}`));
    e.emit("error", new Error("m"));
    assertEquals(seen, ["monitor m", "handled m"]);
  },

  "event names that are Object.prototype keys are ordinary names"() {
    const e = new EventEmitter();
    let count = 0;
    e.on("__proto__", () => count++);
    e.on("toString", () => count++);
    e.on("constructor", () => count++);
    e.emit("__proto__");
    e.emit("toString");
    e.emit("constructor");
    assertEquals(count, 3);
    Object.prototype.poisoned = () => {
      throw new Error("reached Object.prototype");
    };
    try {
      assert(!new EventEmitter().emit("poisoned"));
    } finally {
      delete Object.prototype.poisoned;
    }
  },

  "setMaxListeners warns once past the limit"() {
    const e = new EventEmitter();
    e.setMaxListeners(1);
    assertEquals(e.getMaxListeners(), 1);
    e.on("x", () => {});
    e.on("x", () => {});
    e.on("x", () => {});
    assert(e._events.x.warned === true);
    assertEquals(assertThrows(() => e.setMaxListeners(-1), RangeError).code, "ERR_OUT_OF_RANGE");
    const t = new EventEmitter();
    setMaxListeners(5, t);
    assertEquals(t.getMaxListeners(), 5);
    assertEquals(EventEmitter.defaultMaxListeners, 10);
  },

  async "once() resolves with the arguments, rejects on error and abort"() {
    const e = new EventEmitter();
    queueMicrotask(() => e.emit("ready", 1, 2));
    assertEquals(await once(e, "ready"), [1, 2]);
    queueMicrotask(() => e.emit("error", new Error("bad")));
    assertEquals((await assertRejects(once(e, "ready"))).message, "bad");
    assertEquals(e.listenerCount("ready"), 0);
    const controller = new AbortController();
    const pending = once(e, "never", { signal: controller.signal });
    controller.abort();
    assertEquals((await assertRejects(pending)).name, "AbortError");
    const target = new EventTarget();
    queueMicrotask(() => target.dispatchEvent(new Event("ping")));
    assertEquals((await once(target, "ping"))[0].type, "ping");
    assertEquals(assertThrows(() => once(e, "x", 5)).code, "ERR_INVALID_ARG_TYPE");
  },

  async "on() iterates events until the loop breaks"() {
    const e = new EventEmitter();
    queueMicrotask(() => {
      e.emit("data", "a");
      e.emit("data", "b");
    });
    const got = [];
    for await (const [value] of on(e, "data")) {
      got.push(value);
      if (got.length === 2) break;
    }
    assertEquals(got, ["a", "b"]);
    assertEquals(e.listenerCount("data"), 0);
  },

  async "captureRejections routes a rejected listener to error"() {
    const e = new EventEmitter({ captureRejections: true });
    const errors = [];
    e.on("error", (err) => errors.push(err.message));
    e.on("x", async () => {
      throw new Error("async");
    });
    e.emit("x");
    await new Promise((resolve) => setTimeout(resolve, 1));
    assertEquals(errors, ["async"]);
    assertThrows(() => new EventEmitter({ captureRejections: 1 }), TypeError);
  },

  "subclasses and util.inherits-style constructors work"() {
    class Sub extends EventEmitter {}
    const s = new Sub();
    let hit = false;
    s.on("x", () => (hit = true));
    s.emit("x");
    assert(hit);
    function Old() {
      EventEmitter.call(this);
    }
    Object.setPrototypeOf(Old.prototype, EventEmitter.prototype);
    const o = new Old();
    o.on("y", () => {});
    assertEquals(getEventListeners(o, "y").length, 1);
    assertThrows(() => new EventEmitter().on("x", "not a function"), TypeError);
  },
};
