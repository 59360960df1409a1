// TransformStream and TransformStreamDefaultController: transform, flush,
// backpressure, terminate, errors on either side, cancel. Orderings were
// checked against the spec's reference behaviour (web-streams-polyfill).

import { assert, assertEquals, assertThrows, assertRejects, microtasks, assertInterfaces } from "../../runtime/testing/assert.js";
import { controlled } from "../../runtime/testing/streams.js";

function track(log, name, promise) {
  promise.then(
    (v) => log.push([name, v && typeof v === "object" && "done" in v ? v : "ok"]),
    (e) => log.push([name, e instanceof Error ? e.name : e]),
  );
}

export default {
  async "identity transform"() {
    const ts = new TransformStream();
    assert(ts.readable instanceof ReadableStream);
    assert(ts.writable instanceof WritableStream);
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    const log = [];
    // The readable side has a high water mark of 0: backpressure at once.
    assertEquals(writer.desiredSize, 1);
    track(log, "w1", writer.write("a"));
    assertEquals(writer.desiredSize, 0);
    track(log, "w2", writer.write("b"));
    await microtasks();
    assertEquals(log, []);
    track(log, "r1", reader.read());
    await microtasks();
    track(log, "r2", reader.read());
    track(log, "close", writer.close());
    track(log, "r3", reader.read());
    await microtasks(20);
    assertEquals(log, [
      ["r1", { value: "a", done: false }],
      ["w1", "ok"],
      ["r2", { value: "b", done: false }],
      ["w2", "ok"],
      ["r3", { done: true }],
      ["close", "ok"],
    ]);
  },

  async "transform() and flush() enqueue; start() can enqueue too"() {
    const log = [];
    const ts = new TransformStream(
      {
        start(c) {
          log.push(["start", c.desiredSize]);
          c.enqueue("pre");
          log.push(["after enqueue", c.desiredSize]);
        },
        transform(chunk, c) {
          log.push(["transform", chunk, c.desiredSize]);
          c.enqueue(`${chunk}1`);
          c.enqueue(`${chunk}2`);
        },
        flush(c) {
          log.push(["flush"]);
          c.enqueue("post");
        },
      },
      undefined,
      { highWaterMark: 2 },
    );
    const writer = ts.writable.getWriter();
    writer.write("x");
    writer.write("y");
    writer.close();
    const chunks = [];
    for await (const chunk of ts.readable) chunks.push(chunk);
    assertEquals(chunks, ["pre", "x1", "x2", "y1", "y2", "post"]);
    assertEquals(log, [
      ["start", 2],
      ["after enqueue", 1],
      ["transform", "x", 2],
      ["transform", "y", 2],
      ["flush"],
    ]);
  },

  async "async transform() runs one chunk at a time"() {
    const log = [];
    const ts = new TransformStream({
      async transform(chunk, c) {
        log.push(["start", chunk]);
        await null;
        c.enqueue(chunk * 2);
        log.push(["end", chunk]);
      },
    });
    const writer = ts.writable.getWriter();
    for (const x of [1, 2, 3]) writer.write(x);
    writer.close();
    const out = [];
    for await (const chunk of ts.readable) out.push(chunk);
    assertEquals(out, [2, 4, 6]);
    assertEquals(log, [["start", 1], ["end", 1], ["start", 2], ["end", 2], ["start", 3], ["end", 3]]);
  },

  async "backpressure: transform() waits for the readable side to want more"() {
    const log = [];
    const [ts, controller] = controlled(
      TransformStream,
      {
        transform(chunk, c) {
          log.push(["transform", chunk, c.desiredSize]);
          c.enqueue(chunk);
        },
      },
      { highWaterMark: 1 },
      { highWaterMark: 1 },
    );
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    await microtasks();
    log.push(["sizes", controller.desiredSize, writer.desiredSize]);
    track(log, "w1", writer.write(1));
    track(log, "w2", writer.write(2));
    track(log, "w3", writer.write(3));
    await microtasks();
    log.push(["sizes", controller.desiredSize, writer.desiredSize]);
    track(log, "r1", reader.read());
    await microtasks();
    log.push(["sizes", controller.desiredSize, writer.desiredSize]);
    track(log, "r2", reader.read());
    track(log, "r3", reader.read());
    await microtasks(20);
    log.push(["sizes", controller.desiredSize, writer.desiredSize]);
    assertEquals(log, [
      ["sizes", 1, 1],
      ["transform", 1, 1],
      ["w1", "ok"],
      ["sizes", 0, -1],
      ["transform", 2, 1],
      ["r1", { value: 1, done: false }],
      ["w2", "ok"],
      ["sizes", 0, 0],
      ["transform", 3, 1],
      ["r2", { value: 2, done: false }],
      ["r3", { value: 3, done: false }],
      ["w3", "ok"],
      ["sizes", 1, 1],
    ]);
  },

  async "a throwing transform() errors both sides"() {
    const log = [];
    const error = new RangeError("transform");
    const ts = new TransformStream({
      transform(chunk) {
        if (chunk === 2) throw error;
      },
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    track(log, "w1", writer.write(1));
    track(log, "w2", writer.write(2));
    track(log, "w3", writer.write(3));
    track(log, "writer closed", writer.closed);
    track(log, "reader closed", reader.closed);
    track(log, "read", reader.read());
    await microtasks(20);
    assertEquals(log, [
      ["w1", "ok"],
      ["reader closed", "RangeError"],
      ["read", "RangeError"],
      ["w2", "RangeError"],
      ["w3", "RangeError"],
      ["writer closed", "RangeError"],
    ]);
  },

  async "a rejected flush() errors the readable side and the close"() {
    const log = [];
    const ts = new TransformStream({
      flush() {
        return Promise.reject(new SyntaxError("flush"));
      },
    });
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    track(log, "close", writer.close());
    track(log, "reader closed", reader.closed);
    await microtasks(20);
    assertEquals(log, [
      ["reader closed", "SyntaxError"],
      ["close", "SyntaxError"],
    ]);
  },

  async "canceling the readable side errors the writable side and calls transformer.cancel"() {
    const log = [];
    const ts = new TransformStream({
      transform(chunk) {
        log.push(["transform", chunk]);
      },
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const writer = ts.writable.getWriter();
    track(log, "w1", writer.write(1));
    track(log, "writer closed", writer.closed);
    await microtasks();
    track(log, "cancel", ts.readable.cancel("stop"));
    track(log, "w2", writer.write(2));
    await microtasks(20);
    assertEquals(log, [
      ["cancel", "stop"],
      ["cancel", "ok"],
      ["w1", "stop"],
      ["w2", "stop"],
      ["writer closed", "stop"],
    ]);
    assertEquals(writer.desiredSize, null);
  },

  async "aborting the writable side errors the readable side and calls transformer.cancel"() {
    const log = [];
    const ts = new TransformStream({
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const reader = ts.readable.getReader();
    track(log, "reader closed", reader.closed);
    track(log, "read", reader.read());
    track(log, "abort", ts.writable.abort("ab"));
    await microtasks(20);
    assertEquals(log, [
      ["cancel", "ab"],
      ["reader closed", "ab"],
      ["read", "ab"],
      ["abort", "ok"],
    ]);
  },

  async "cancel() and abort() share transformer.cancel's result"() {
    const log = [];
    let calls = 0;
    const ts = new TransformStream({
      cancel(reason) {
        calls++;
        log.push(["cancel", reason]);
      },
    });
    track(log, "cancel", ts.readable.cancel("c1"));
    track(log, "abort", ts.writable.abort("a1"));
    await microtasks(20);
    assertEquals(calls, 1);
    assertEquals(log, [["cancel", "c1"], ["cancel", "ok"], ["abort", "ok"]]);
  },

  async "a rejected transformer.cancel rejects cancel() and errors the writable side"() {
    const ts = new TransformStream({
      cancel() {
        throw new RangeError("cancel");
      },
    });
    const writer = ts.writable.getWriter();
    await assertRejects(ts.readable.cancel("x"), RangeError);
    await assertRejects(writer.closed, RangeError);
  },

  async "cancel() during flush() waits for the flush"() {
    const log = [];
    let resolveFlush;
    const ts = new TransformStream({
      flush() {
        log.push(["flush"]);
        return new Promise((resolve) => (resolveFlush = resolve));
      },
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const writer = ts.writable.getWriter();
    track(log, "close", writer.close());
    await microtasks();
    track(log, "cancel", ts.readable.cancel("late"));
    await microtasks();
    log.push(["resolving"]);
    resolveFlush();
    await microtasks(20);
    // The flush finished first, so the close succeeds and the cancel resolves.
    assertEquals(log, [["flush"], ["resolving"], ["close", "ok"], ["cancel", "ok"]]);
  },

  async "terminate() closes the readable side and errors the writable side"() {
    const log = [];
    const [ts, controller] = controlled(TransformStream, {
      transform(chunk) {
        log.push(["transform", chunk]);
      },
    });
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    controller.enqueue("a");
    controller.terminate();
    track(log, "w1", writer.write(1));
    track(log, "writer closed", writer.closed);
    track(log, "reader closed", reader.closed);
    track(log, "r1", reader.read());
    track(log, "r2", reader.read());
    assertThrows(() => controller.enqueue("b"), TypeError);
    assertEquals(controller.desiredSize, 0);
    await microtasks(20);
    assertEquals(log, [
      ["w1", "TypeError"],
      ["reader closed", "ok"],
      ["r1", { value: "a", done: false }],
      ["r2", { done: true }],
      ["writer closed", "TypeError"],
    ]);
  },

  async "controller.error() errors both sides"() {
    const [ts, controller] = controlled(TransformStream);
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    controller.error("E");
    assertEquals(controller.desiredSize, null);
    assertEquals(writer.desiredSize, null);
    assertEquals(await assertRejects(writer.write(1)), "E");
    assertEquals(await assertRejects(reader.closed), "E");
    assertEquals(await assertRejects(writer.closed), "E");
  },

  async "an enqueue() that fails in the readable strategy errors the writable side"() {
    const error = new URIError("size");
    const ts = new TransformStream(
      {
        transform(chunk, c) {
          c.enqueue(chunk);
        },
      },
      undefined,
      {
        highWaterMark: 1,
        size() {
          throw error;
        },
      },
    );
    const writer = ts.writable.getWriter();
    assert((await assertRejects(writer.write(1))) === error);
    assert((await assertRejects(writer.closed)) === error);
    assert((await assertRejects(ts.readable.getReader().closed)) === error);
  },

  async "start() returning a promise delays transforms"() {
    const log = [];
    let resolveStart;
    const ts = new TransformStream({
      start() {
        log.push("start");
        return new Promise((resolve) => (resolveStart = resolve));
      },
      transform(chunk) {
        log.push(`transform ${chunk}`);
      },
    });
    const writer = ts.writable.getWriter();
    writer.write(1);
    ts.readable.getReader().read();
    await microtasks();
    log.push("resolving");
    resolveStart();
    await microtasks();
    assertEquals(log, ["start", "resolving", "transform 1"]);
  },

  "constructor checks"() {
    assertThrows(() => new TransformStream({ readableType: "bytes" }), RangeError);
    assertThrows(() => new TransformStream({ writableType: "bytes" }), RangeError);
    assertThrows(() => new TransformStream({ transform: 1 }), TypeError);
    assertThrows(() => new TransformStream(null), TypeError);
    assertThrows(() => new TransformStream({}, { highWaterMark: -1 }), RangeError);
    assertThrows(() => new TransformStream({}, {}, { highWaterMark: NaN }), RangeError);
    assertThrows(
      () =>
        new TransformStream({
          start() {
            throw new EvalError("start");
          },
        }),
      EvalError,
    );
    assertThrows(() => new TransformStreamDefaultController(), TypeError);
    const order = [];
    new TransformStream(
      new Proxy({}, {
        get(target, key) {
          order.push(key);
          return undefined;
        },
      }),
    );
    assertEquals(order, ["cancel", "flush", "readableType", "start", "transform", "writableType"]);
  },

  "interfaces"() {
    assertInterfaces({
      TransformStream: ["readable", "writable"],
      TransformStreamDefaultController: ["desiredSize", "enqueue", "error", "terminate"],
    });
    assertEquals(TransformStream.length, 0);
    assertThrows(() => Object.getOwnPropertyDescriptor(TransformStream.prototype, "readable").get.call({}), TypeError);
  },
};
