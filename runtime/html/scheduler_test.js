// scheduler.wait: resolves after its delay, an AbortSignal rejects it with
// its reason, bad arguments are TypeErrors.

import { assert, assertEquals, assertRejects, assertThrows, microtasks, sleep } from "../../runtime/testing/assert.js";

export default {
  "scheduler is a global, Scheduler not constructible by tenants"() {
    const desc = Object.getOwnPropertyDescriptor(globalThis, "scheduler");
    assert(desc && !desc.enumerable && desc.writable && desc.configurable);
    assertEquals(typeof scheduler.wait, "function");
    assertThrows(() => new scheduler.constructor(), TypeError);
    assertEquals(Object.prototype.toString.call(scheduler), "[object Scheduler]");
  },

  async "wait resolves with undefined after the delay"() {
    const order = [];
    const waited = scheduler.wait(20).then((value) => order.push(["wait", value]));
    setTimeout(() => order.push(["timeout"]), 1);
    await waited;
    assertEquals(order, [["timeout"], ["wait", null]]);
  },

  async "an aborted signal rejects at once, an abort later rejects with its reason"() {
    await assertRejects(scheduler.wait(10, { signal: AbortSignal.abort(new RangeError("early")) }), RangeError);
    const controller = new AbortController();
    const waiting = scheduler.wait(10000, { signal: controller.signal });
    controller.abort();
    const error = await assertRejects(waiting, "AbortError");
    assert(error instanceof DOMException);
  },

  async "bad arguments are TypeErrors"() {
    assertThrows(() => scheduler.wait(), TypeError);
    assertThrows(() => scheduler.wait(1, { signal: {} }), TypeError);
    assertThrows(() => scheduler.wait(1, 5), TypeError);
    assertThrows(() => scheduler.wait.call({}, 1), TypeError);
  },

  async "a signal with a patched aborted getter on the prototype is read with the original"() {
    const controller = new AbortController();
    const saved = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted");
    Object.defineProperty(AbortSignal.prototype, "aborted", { get() { return true; }, configurable: true });
    let settled = false;
    const waiting = scheduler.wait(5, { signal: controller.signal }).then(() => (settled = true));
    Object.defineProperty(AbortSignal.prototype, "aborted", saved);
    await microtasks();
    assert(!settled, "resolved before the delay");
    await waiting;
    assert(settled);
  },

  async "the longest delay can still be aborted"() {
    const controller = new AbortController();
    const waiting = scheduler.wait(2 ** 31 - 1, { signal: controller.signal });
    await sleep(5);
    controller.abort("stop");
    assertEquals(await waiting.catch((e) => e), "stop");
  },
};
