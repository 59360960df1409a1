// setTimeout/setInterval/clearTimeout/clearInterval and queueMicrotask.

import { assert, assertEquals, assertThrows, sleep } from "../../runtime/testing/assert.js";

// A timeout cleared by `clear` right away never fires.
async function assertCancels(clear) {
  let fired = false;
  clear(setTimeout(() => (fired = true), 5));
  await sleep(20);
  assert(!fired, `${clear.name} left the timeout`);
}

export default {
  async "setTimeout runs the callback with extra arguments"() {
    const args = await new Promise((resolve) => {
      setTimeout((a, b) => resolve([a, b]), 1, "x", 2);
    });
    assertEquals(args, ["x", 2]);
  },

  async "a timeout set after a long synchronous stretch does not fire early"() {
    // 40 ms of JavaScript without a turn of the loop: the loop's cached
    // time is 40 ms old when the timer starts.
    const busyUntil = performance.now() + 40;
    while (performance.now() < busyUntil) {}
    const started = performance.now();
    const fired = await new Promise((resolve) => setTimeout(() => resolve(performance.now()), 30));
    // Never early (late is fine: the machine may be busy).
    assert(fired - started >= 29, `fired after ${fired - started} ms, asked for 30`);
  },

  "ids are positive integers"() {
    const a = setTimeout(() => {}, 1000);
    const b = setTimeout(() => {}, 1000);
    const c = setInterval(() => {}, 1000);
    for (const id of [a, b, c]) assert(Number.isInteger(id) && id > 0, `bad id ${id}`);
    assert(a !== b && b !== c, "ids are unique");
    clearTimeout(a);
    clearTimeout(b);
    clearInterval(c);
  },

  async "clearTimeout cancels"() {
    await assertCancels(clearTimeout);
  },

  async "clearTimeout and clearInterval share ids"() {
    await assertCancels(clearInterval);
  },

  "clear with invalid ids is a no-op"() {
    clearTimeout();
    clearTimeout(undefined);
    clearTimeout(null);
    clearTimeout("abc");
    clearTimeout(-1);
    clearInterval(1.5);
  },

  async "setInterval repeats until cleared"() {
    let count = 0;
    await new Promise((resolve) => {
      const id = setInterval(() => {
        count++;
        if (count === 3) {
          clearInterval(id);
          resolve();
        }
      }, 1);
    });
    await sleep(10);
    assertEquals(count, 3);
  },

  async "timers fire in delay order"() {
    const order = [];
    await new Promise((resolve) => {
      setTimeout(() => order.push(2), 10);
      setTimeout(() => order.push(1), 1);
      setTimeout(() => {
        order.push(3);
        resolve();
      }, 20);
    });
    assertEquals(order, [1, 2, 3]);
  },

  async "delay coercion: NaN, negative, strings"() {
    const fired = [];
    await new Promise((resolve) => {
      setTimeout(() => fired.push("nan"), NaN);
      setTimeout(() => fired.push("neg"), -100);
      setTimeout(() => fired.push("str"), "1");
      setTimeout(() => fired.push("undef"));
      setTimeout(resolve, 15);
    });
    assertEquals(fired.sort(), ["nan", "neg", "str", "undef"]);
  },

  "non-function callbacks throw TypeError"() {
    assertThrows(() => setTimeout("code()", 1), TypeError);
    assertThrows(() => setInterval(null, 1), TypeError);
    assertThrows(() => setTimeout(), TypeError);
  },

  async "a throwing callback does not stop other timers"() {
    let ran = false;
    setTimeout(() => {
      throw new Error("expected test error (timer)");
    }, 1);
    await new Promise((resolve) => setTimeout(() => resolve((ran = true)), 5));
    assert(ran);
  },

  async "queueMicrotask runs before timers and after sync code"() {
    const order = [];
    await new Promise((resolve) => {
      setTimeout(() => {
        order.push("timeout");
        resolve();
      }, 0);
      queueMicrotask(() => order.push("micro"));
      order.push("sync");
    });
    assertEquals(order, ["sync", "micro", "timeout"]);
  },

  async "queueMicrotask interleaves with promise jobs in FIFO order"() {
    const order = [];
    Promise.resolve().then(() => order.push(1));
    queueMicrotask(() => order.push(2));
    Promise.resolve().then(() => order.push(3));
    await sleep(0);
    assertEquals(order, [1, 2, 3]);
  },

  async "queueMicrotask: exceptions are reported, later tasks still run"() {
    let ran = false;
    queueMicrotask(() => {
      throw new Error("expected test error (microtask)");
    });
    queueMicrotask(() => (ran = true));
    await sleep(0);
    assert(ran);
  },

  "queueMicrotask validates its argument"() {
    assertThrows(() => queueMicrotask(), TypeError);
    assertThrows(() => queueMicrotask("x"), TypeError);
  },
};
