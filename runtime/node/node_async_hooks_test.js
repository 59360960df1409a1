// node:async_hooks: AsyncLocalStorage carried through awaits, timers,
// microtasks, nextTick and bound functions; AsyncResource.

import { AsyncLocalStorage, AsyncResource, executionAsyncId } from "node:async_hooks";
import { nextTick } from "node:process";
import { channel } from "node:diagnostics_channel";
import { setTimeout as sleep } from "node:timers/promises";
import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

export default {
  async "run() is seen after awaits, in timers, microtasks and nextTick"() {
    const als = new AsyncLocalStorage();
    const seen = await als.run({ id: 1 }, async () => {
      const got = [als.getStore().id];
      await null;
      got.push(als.getStore().id);
      await sleep(1);
      got.push(als.getStore().id);
      await new Promise((resolve) => setTimeout(() => {
        got.push(als.getStore().id);
        resolve();
      }, 1));
      await new Promise((resolve) => queueMicrotask(() => {
        got.push(als.getStore().id);
        resolve();
      }));
      await new Promise((resolve) => nextTick(() => {
        got.push(als.getStore().id);
        resolve();
      }));
      return got;
    });
    assertEquals(seen, [1, 1, 1, 1, 1, 1]);
    assertEquals(als.getStore(), undefined);
  },

  async "concurrent runs keep their own stores"() {
    const als = new AsyncLocalStorage();
    const task = (id, delay) => als.run(id, async () => {
      await sleep(delay);
      return als.getStore();
    });
    assertEquals(await Promise.all([task("a", 5), task("b", 1), task("c", 3)]), ["a", "b", "c"]);
  },

  "nested stores, exit, several storages"() {
    const a = new AsyncLocalStorage();
    const b = new AsyncLocalStorage();
    a.run(1, () => {
      b.run(2, () => {
        assertEquals([a.getStore(), b.getStore()], [1, 2]);
        a.run(3, () => assertEquals([a.getStore(), b.getStore()], [3, 2]));
        a.exit(() => assertEquals([a.getStore(), b.getStore()], [undefined, 2]));
        assertEquals(a.getStore(), 1);
      });
      assertEquals(b.getStore(), undefined);
    });
    assertEquals(a.run(1, (x, y) => x + y, 2, 3), 5);
    assertThrows(() => a.run(1), TypeError);
  },

  async "bind, snapshot and AsyncResource run in the captured stores"() {
    const als = new AsyncLocalStorage();
    const bound = als.run("bound", () => AsyncLocalStorage.bind(() => als.getStore()));
    const snapshot = als.run("snap", () => AsyncLocalStorage.snapshot());
    const resource = als.run("res", () => new AsyncResource("test"));
    assertEquals(bound(), "bound");
    assertEquals(snapshot(() => als.getStore()), "snap");
    assertEquals(resource.runInAsyncScope(() => als.getStore()), "res");
    assertEquals(resource.bind(() => als.getStore())(), "res");
    assertEquals(resource.type, "test");
    assertEquals(executionAsyncId(), 0);
  },

  "diagnostics_channel runStores sets the bound stores"() {
    const als = new AsyncLocalStorage();
    const ch = channel("edge-als-test");
    ch.bindStore(als, (data) => data.user);
    const seen = [];
    ch.subscribe(() => seen.push(als.getStore()));
    assertEquals(ch.runStores({ user: "ann" }, () => als.getStore()), "ann");
    assertEquals(seen, ["ann"]);
  },

  async "enterWith and disable"() {
    const als = new AsyncLocalStorage();
    await (async () => {
      als.enterWith("entered");
      await null;
      assertEquals(als.getStore(), "entered");
      als.disable();
      assertEquals(als.getStore(), undefined);
    })();
  },

  async "a patched Promise.prototype.then does not lose the store"() {
    const als = new AsyncLocalStorage();
    const then = Promise.prototype.then;
    try {
      Promise.prototype.then = function (...args) {
        return then.apply(this, args);
      };
      const got = await als.run("kept", async () => {
        await sleep(1);
        return als.getStore();
      });
      assertEquals(got, "kept");
    } finally {
      Promise.prototype.then = then;
    }
  },
};
