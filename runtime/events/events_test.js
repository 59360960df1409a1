// Event, EventTarget, CustomEvent and the global event target.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

export default {
  "Event defaults and init"() {
    const e = new Event("foo");
    assertEquals(e.type, "foo");
    assertEquals(e.bubbles, false);
    assertEquals(e.cancelable, false);
    assertEquals(e.composed, false);
    assertEquals(e.defaultPrevented, false);
    assertEquals(e.isTrusted, false);
    assertEquals(e.eventPhase, Event.NONE);
    assertEquals(e.target, null);
    assertEquals(e.currentTarget, null);
    assert(typeof e.timeStamp === "number" && e.timeStamp >= 0);
    const f = new Event("bar", { bubbles: true, cancelable: true, composed: true });
    assert(f.bubbles && f.cancelable && f.composed);
    assertThrows(() => new Event(), TypeError);
  },

  "isTrusted is an unforgeable own property"() {
    const e = new Event("x");
    const desc = Object.getOwnPropertyDescriptor(e, "isTrusted");
    assert(desc && typeof desc.get === "function" && !desc.configurable);
  },

  "phase constants"() {
    assertEquals([Event.NONE, Event.CAPTURING_PHASE, Event.AT_TARGET, Event.BUBBLING_PHASE], [0, 1, 2, 3]);
    assertEquals(new Event("x").AT_TARGET, 2);
  },

  "preventDefault only for cancelable events"() {
    const a = new Event("a");
    a.preventDefault();
    assertEquals(a.defaultPrevented, false);
    const b = new Event("b", { cancelable: true });
    b.preventDefault();
    assertEquals(b.defaultPrevented, true);
    assertEquals(b.returnValue, false);
  },

  "dispatch sets target, currentTarget and phase"() {
    const target = new EventTarget();
    let seen;
    target.addEventListener("ping", function (e) {
      seen = [e.target === target, e.currentTarget === target, e.eventPhase, this === target];
    });
    const e = new Event("ping");
    assertEquals(target.dispatchEvent(e), true);
    assertEquals(seen, [true, true, Event.AT_TARGET, true]);
    assertEquals(e.eventPhase, Event.NONE);
    assertEquals(e.currentTarget, null);
    assert(e.target === target);
  },

  "dispatchEvent returns false when canceled"() {
    const t = new EventTarget();
    t.addEventListener("x", (e) => e.preventDefault());
    assertEquals(t.dispatchEvent(new Event("x", { cancelable: true })), false);
    assertEquals(t.dispatchEvent(new Event("x")), true);
  },

  "listeners run in order; duplicates ignored; capture listeners first"() {
    const t = new EventTarget();
    const order = [];
    const a = () => order.push("a");
    t.addEventListener("x", a);
    t.addEventListener("x", a);
    t.addEventListener("x", () => order.push("b"));
    t.addEventListener("x", () => order.push("capture"), { capture: true });
    t.dispatchEvent(new Event("x"));
    assertEquals(order, ["capture", "a", "b"]);
  },

  "removeEventListener matches callback and capture"() {
    const t = new EventTarget();
    let n = 0;
    const f = () => n++;
    t.addEventListener("x", f, true);
    t.removeEventListener("x", f);
    t.dispatchEvent(new Event("x"));
    assertEquals(n, 1);
    t.removeEventListener("x", f, { capture: true });
    t.dispatchEvent(new Event("x"));
    assertEquals(n, 1);
  },

  "once listeners run once"() {
    const t = new EventTarget();
    let n = 0;
    t.addEventListener("x", () => n++, { once: true });
    t.dispatchEvent(new Event("x"));
    t.dispatchEvent(new Event("x"));
    assertEquals(n, 1);
  },

  "passive listeners cannot cancel"() {
    const t = new EventTarget();
    t.addEventListener("x", (e) => e.preventDefault(), { passive: true });
    const e = new Event("x", { cancelable: true });
    assertEquals(t.dispatchEvent(e), true);
    assertEquals(e.defaultPrevented, false);
  },

  "signal option removes the listener on abort"() {
    const t = new EventTarget();
    const signalTarget = new EventTarget();
    const signal = Object.assign(signalTarget, { aborted: false });
    let n = 0;
    t.addEventListener("x", () => n++, { signal });
    t.dispatchEvent(new Event("x"));
    signal.aborted = true;
    signalTarget.dispatchEvent(new Event("abort"));
    t.dispatchEvent(new Event("x"));
    assertEquals(n, 1);
    // An already aborted signal adds nothing.
    t.addEventListener("x", () => n++, { signal });
    t.dispatchEvent(new Event("x"));
    assertEquals(n, 1);
  },

  "listener objects with handleEvent"() {
    const t = new EventTarget();
    const listener = {
      calls: 0,
      handleEvent(e) {
        this.calls++;
        assertEquals(e.type, "x");
      },
    };
    t.addEventListener("x", listener);
    t.dispatchEvent(new Event("x"));
    assertEquals(listener.calls, 1);
  },

  "a throwing listener does not stop the others"() {
    const t = new EventTarget();
    let ran = false;
    t.addEventListener("x", () => {
      throw new Error("expected test error (listener)");
    });
    t.addEventListener("x", () => (ran = true));
    t.dispatchEvent(new Event("x"));
    assert(ran);
  },

  "stopImmediatePropagation skips later listeners"() {
    const t = new EventTarget();
    const order = [];
    t.addEventListener("x", (e) => {
      order.push(1);
      e.stopImmediatePropagation();
    });
    t.addEventListener("x", () => order.push(2));
    t.dispatchEvent(new Event("x"));
    assertEquals(order, [1]);
  },

  "listeners added during dispatch do not run; removed ones do not run"() {
    const t = new EventTarget();
    const order = [];
    const late = () => order.push("late");
    const removed = () => order.push("removed");
    t.addEventListener("x", () => {
      order.push("first");
      t.addEventListener("x", late);
      t.removeEventListener("x", removed);
    });
    t.addEventListener("x", removed);
    t.dispatchEvent(new Event("x"));
    assertEquals(order, ["first"]);
  },

  "re-dispatching an event being dispatched throws InvalidStateError"() {
    const t = new EventTarget();
    let err;
    t.addEventListener("x", (e) => {
      try {
        t.dispatchEvent(e);
      } catch (caught) {
        err = caught;
      }
    });
    t.dispatchEvent(new Event("x"));
    assert(err instanceof DOMException);
    assertEquals(err.name, "InvalidStateError");
  },

  "dispatchEvent requires an Event"() {
    assertThrows(() => new EventTarget().dispatchEvent({ type: "x" }), TypeError);
  },

  "null callback is ignored, missing arguments throw"() {
    const t = new EventTarget();
    t.addEventListener("x", null);
    assertThrows(() => t.addEventListener("x"), TypeError);
  },

  "CustomEvent detail"() {
    const e = new CustomEvent("c", { detail: { a: 1 } });
    assertEquals(e.detail, { a: 1 });
    assert(e instanceof Event);
    assertEquals(new CustomEvent("d").detail, null);
  },

  "subclassing EventTarget"() {
    class Emitter extends EventTarget {
      fire() {
        return this.dispatchEvent(new Event("fire"));
      }
    }
    const em = new Emitter();
    let got;
    em.addEventListener("fire", (e) => (got = e.target));
    em.fire();
    assert(got === em);
  },

  "global addEventListener / dispatchEvent"() {
    let seen;
    const listener = (e) => (seen = [e.type, e.target === globalThis, e.currentTarget === globalThis]);
    addEventListener("custom-global", listener);
    assertEquals(dispatchEvent(new Event("custom-global")), true);
    assertEquals(seen, ["custom-global", true, true]);
    removeEventListener("custom-global", listener);
    seen = undefined;
    dispatchEvent(new Event("custom-global"));
    assertEquals(seen, undefined);
  },

  "toStringTag"() {
    assertEquals(Object.prototype.toString.call(new Event("x")), "[object Event]");
    assertEquals(Object.prototype.toString.call(new EventTarget()), "[object EventTarget]");
    assertEquals(Object.prototype.toString.call(new CustomEvent("x")), "[object CustomEvent]");
  },

  "ErrorEvent and PromiseRejectionEvent"() {
    const error = new Error("boom");
    const e = new ErrorEvent("error", { message: "m", filename: "f.js", lineno: 3, colno: 4, error, cancelable: true });
    assertEquals([e.type, e.message, e.filename, e.lineno, e.colno, e.error, e.cancelable], ["error", "m", "f.js", 3, 4, error, true]);
    assert(e instanceof Event);
    const plain = new ErrorEvent("x");
    assertEquals([plain.message, plain.filename, plain.lineno, plain.colno, plain.error], ["", "", 0, 0, undefined]);
    const promise = Promise.resolve();
    const r = new PromiseRejectionEvent("unhandledrejection", { promise, reason: 5 });
    assertEquals([r.promise, r.reason, r.isTrusted], [promise, 5, false]);
    assertThrows(() => new PromiseRejectionEvent("x"), TypeError);
    assertThrows(() => new PromiseRejectionEvent("x", {}), TypeError);
    assertThrows(() => new PromiseRejectionEvent("x", { promise: 1 }), TypeError);
  },

  async "unhandled rejections are unhandledrejection events on the global scope"() {
    const seen = [];
    const listener = (event) => {
      seen.push([event.reason, event.isTrusted, event.cancelable, event instanceof PromiseRejectionEvent]);
      event.preventDefault();
    };
    addEventListener("unhandledrejection", listener);
    try {
      const rejected = Promise.reject("why");
      await new Promise((resolve) => setTimeout(resolve, 1));
      assertEquals(seen, [["why", true, true, true]]);
      // A rejection handled in the same turn is no event.
      Promise.reject("handled").catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 1));
      assertEquals(seen.length, 1);
      void rejected;
    } finally {
      removeEventListener("unhandledrejection", listener);
    }
  },

  async "a listener that keeps rejecting promises is stopped after a few rounds"() {
    let events = 0;
    const listener = (event) => {
      events++;
      event.preventDefault();
      Promise.reject(new Error(`again ${events}`));
    };
    addEventListener("unhandledrejection", listener);
    try {
      Promise.reject(new Error("first"));
      await new Promise((resolve) => setTimeout(resolve, 5));
      // Eight rounds of events per microtask checkpoint; the rest is logged.
      assert(events >= 1 && events <= 16, `${events} events`);
      const seen = events;
      await new Promise((resolve) => setTimeout(resolve, 5));
      assertEquals(events, seen, "rejections kept being dispatched");
    } finally {
      removeEventListener("unhandledrejection", listener);
    }
  },

  async "reportError is an error event on the global scope"() {
    const seen = [];
    const listener = (event) => {
      seen.push([event.error, event.message, event.isTrusted, event instanceof ErrorEvent]);
      event.preventDefault();
    };
    addEventListener("error", listener);
    try {
      const error = new TypeError("bad");
      reportError(error);
      assertEquals(seen, [[error, "Uncaught bad", true, true]]);
      // An exception in a listener of another event is reported the same way.
      const target = new EventTarget();
      target.addEventListener("ping", () => {
        throw error;
      });
      target.dispatchEvent(new Event("ping"));
      assertEquals(seen.length, 2);
      // An error listener that throws is logged, not dispatched again.
      const thrower = () => {
        throw new Error("from the listener");
      };
      addEventListener("error", thrower);
      reportError(error);
      removeEventListener("error", thrower);
      assertEquals(seen.length, 3);
    } finally {
      removeEventListener("error", listener);
    }
  },
};
