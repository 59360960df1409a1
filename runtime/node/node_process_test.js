// node:process, node:timers, node:timers/promises and
// node:diagnostics_channel.

import process, { nextTick, env } from "node:process";
import timers, { setTimeout as nodeSetTimeout, clearTimeout as nodeClearTimeout, setImmediate } from "node:timers";
import { setTimeout as sleep, setInterval as every, scheduler } from "node:timers/promises";
import diagnostics, { channel, subscribe, unsubscribe, hasSubscribers, tracingChannel } from "node:diagnostics_channel";
import EventEmitter from "node:events";
import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

export default {
  async "process: nextTick, env, warnings, versions"() {
    const order = [];
    nextTick((a) => order.push(`tick ${a}`), 1);
    order.push("sync");
    await null;
    await null;
    assertEquals(order, ["sync", "tick 1"]);
    assert(process instanceof EventEmitter);
    env.COUNT = 3;
    assertEquals(env.COUNT, "3");
    assertEquals(process.env, env);
    assertEquals(process.platform, "linux");
    assert(/^v\d+\.\d+\.\d+$/.test(process.version));
    assertEquals(process.versions.node, process.version.slice(1));
    assertEquals(process.cwd(), "/bundle");
    const warnings = [];
    process.on("warning", (w) => warnings.push([w.name, w.message, w.code]));
    process.emitWarning("careful", "CustomWarning", "CODE1");
    await new Promise((resolve) => globalThis.setTimeout(resolve, 1));
    assertEquals(warnings, [["CustomWarning", "careful", "CODE1"]]);
    assertEquals(process.getBuiltinModule("node:events"), EventEmitter);
    assertEquals(process.getBuiltinModule("internal/errors"), undefined);
    const [s, ns] = process.hrtime();
    assert(s >= 0 && ns >= 0 && typeof process.hrtime.bigint() === "bigint");
    assertThrows(() => nextTick("x"), TypeError);
  },

  async "timers return Node's Timeout objects"() {
    let fired = 0;
    const t = nodeSetTimeout((a) => (fired += a), 1, 2);
    assert(typeof t === "object" && t.hasRef() && t.ref() === t && t.unref() === t);
    assert(typeof +t === "number");
    const cancelled = nodeSetTimeout(() => (fired += 100), 1);
    nodeClearTimeout(cancelled);
    await sleep(5);
    assertEquals(fired, 2);
    let immediate = false;
    setImmediate(() => (immediate = true));
    await sleep(2);
    assert(immediate);
    assertEquals(timers.promises.setTimeout, sleep);
  },

  async "timers/promises honour values and signals"() {
    assertEquals(await sleep(1, "value"), "value");
    const controller = new AbortController();
    const pending = sleep(1000, null, { signal: controller.signal });
    controller.abort();
    const error = await assertRejects(pending);
    assertEquals([error.name, error.code], ["AbortError", "ABORT_ERR"]);
    let ticks = 0;
    for await (const v of every(1, "x")) {
      assertEquals(v, "x");
      if (++ticks === 3) break;
    }
    await scheduler.wait(1);
    await assertRejects(sleep(1, null, { signal: "nope" }), TypeError);
  },

  "diagnostics_channel publishes to subscribers"() {
    const seen = [];
    const listener = (message, name) => seen.push([message, name]);
    assert(!hasSubscribers("edge-test"));
    subscribe("edge-test", listener);
    assert(hasSubscribers("edge-test"));
    channel("edge-test").publish({ a: 1 });
    assert(unsubscribe("edge-test", listener));
    channel("edge-test").publish({ a: 2 });
    assertEquals(seen, [[{ a: 1 }, "edge-test"]]);
    assertEquals(diagnostics.channel("edge-test"), channel("edge-test"));
    const trace = tracingChannel("edge-op");
    const events = [];
    trace.subscribe({ start: () => events.push("start"), end: () => events.push("end"), error: () => events.push("error") });
    assertEquals(trace.traceSync(() => 5), 5);
    assertThrows(() => trace.traceSync(() => {
      throw new Error("x");
    }));
    assertEquals(events, ["start", "end", "start", "error", "end"]);
    assertThrows(() => channel(5), TypeError);
  },
};
