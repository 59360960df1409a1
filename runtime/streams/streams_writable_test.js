// WritableStream, WritableStreamDefaultWriter, WritableStreamDefaultController:
// backpressure, close and abort ordering, errors, locking. Orderings were
// checked against the spec's reference behaviour (web-streams-polyfill).

import { assert, assertEquals, assertThrows, assertRejects, microtasks, track, assertInterfaces } from "../../runtime/testing/assert.js";
import { controlled } from "../../runtime/testing/streams.js";

// Logs how `promise` settles: [name, "ok" | error name or value].

export default {
  async "writes reach the sink in order, then close"() {
    const log = [];
    const ws = new WritableStream({
      start(c) {
        log.push(["start", c instanceof WritableStreamDefaultController]);
      },
      write(chunk, c) {
        log.push(["write", chunk, c instanceof WritableStreamDefaultController]);
      },
      close() {
        log.push(["close"]);
      },
    });
    const writer = ws.getWriter();
    assert(ws.locked);
    assertEquals(writer.desiredSize, 1);
    track(log, "w1", writer.write("a"));
    assertEquals(writer.desiredSize, 0);
    track(log, "w2", writer.write("b"));
    assertEquals(writer.desiredSize, -1);
    track(log, "close", writer.close());
    track(log, "closed", writer.closed);
    await microtasks(20);
    assertEquals(log, [
      ["start", true],
      ["write", "a", true],
      ["write", "b", true],
      ["w1", "ok"],
      ["close"],
      ["w2", "ok"],
      ["close", "ok"],
      ["closed", "ok"],
    ]);
    assertEquals(writer.desiredSize, 0);
  },

  async "backpressure: ready settles when the queue drains below the high water mark"() {
    const log = [];
    const resolvers = [];
    const ws = new WritableStream(
      {
        write(chunk) {
          log.push(["write", chunk]);
          return new Promise((resolve) => resolvers.push(resolve));
        },
      },
      { highWaterMark: 2 },
    );
    const writer = ws.getWriter();
    await microtasks();
    const ready0 = writer.ready;
    for (const x of [1, 2, 3]) {
      track(log, `w${x}`, writer.write(x));
      log.push(["desiredSize", writer.desiredSize]);
    }
    assert(writer.ready !== ready0, "a new ready promise once there is backpressure");
    track(log, "ready", writer.ready);
    await microtasks();
    while (resolvers.length > 0) {
      resolvers.shift()();
      await microtasks();
      log.push(["desiredSize", writer.desiredSize]);
    }
    assertEquals(log, [
      ["write", 1],
      ["desiredSize", 1],
      ["desiredSize", 0],
      ["desiredSize", -1],
      ["write", 2],
      ["w1", "ok"],
      ["desiredSize", 0],
      ["write", 3],
      ["w2", "ok"],
      ["ready", "ok"],
      ["desiredSize", 1],
      ["w3", "ok"],
      ["desiredSize", 2],
    ]);
  },

  async "size() and highWaterMark strategy"() {
    const sizes = [];
    const ws = new WritableStream(
      {},
      {
        highWaterMark: 5,
        size(chunk) {
          sizes.push(chunk);
          return chunk.length;
        },
      },
    );
    const writer = ws.getWriter();
    writer.write("abc");
    assertEquals(writer.desiredSize, 2);
    writer.write("abcdef");
    assertEquals(writer.desiredSize, -4);
    assertEquals(sizes, ["abc", "abcdef"]);
    await microtasks();
    assertEquals(writer.desiredSize, 5);
    // A size() that throws errors the stream; the write is rejected with it.
    const error = new RangeError("size");
    const ws2 = new WritableStream({}, {
      size() {
        throw error;
      },
    });
    const writer2 = ws2.getWriter();
    assert((await assertRejects(writer2.write(1))) === error);
    assert((await assertRejects(writer2.closed)) === error);
    // An invalid size is a RangeError.
    const writer3 = new WritableStream({}, { size: () => -1 }).getWriter();
    await assertRejects(writer3.write(1), RangeError);
    const writer4 = new WritableStream({}, { size: () => Infinity }).getWriter();
    await assertRejects(writer4.write(1), RangeError);
  },

  async "abort() during a write waits for it, then calls the sink's abort"() {
    const log = [];
    let resolveWrite;
    let signal;
    const ws = new WritableStream({
      write(chunk, c) {
        log.push(["write", chunk]);
        signal = c.signal;
        signal.addEventListener("abort", () => log.push(["signal", signal.aborted, signal.reason]));
        return new Promise((resolve) => (resolveWrite = resolve));
      },
      abort(reason) {
        log.push(["sink abort", reason]);
      },
      close() {
        log.push(["sink close"]);
      },
    });
    const writer = ws.getWriter();
    track(log, "w1", writer.write(1));
    track(log, "w2", writer.write(2));
    track(log, "closed", writer.closed);
    await microtasks();
    track(log, "abort", writer.abort("reason"));
    log.push(["desiredSize", writer.desiredSize]);
    track(log, "w3", writer.write(3));
    track(log, "close", writer.close());
    await microtasks();
    log.push(["resolving"]);
    resolveWrite();
    await microtasks();
    assertEquals(log, [
      ["write", 1],
      ["signal", true, "reason"],
      ["desiredSize", null],
      ["w3", "reason"],
      ["resolving"],
      ["sink abort", "reason"],
      ["w1", "ok"],
      ["w2", "reason"],
      ["abort", "ok"],
      ["close", "reason"],
      ["closed", "reason"],
    ]);
  },

  async "abort(): the same promise while pending; a rejected sink abort rejects it"() {
    const log = [];
    const error = new EvalError("abort failed");
    const ws = new WritableStream({
      abort(reason) {
        log.push(["sink abort", reason]);
        return Promise.reject(error);
      },
    });
    const writer = ws.getWriter();
    const a1 = writer.abort("r1");
    const a2 = writer.abort("r2");
    assert(a1 === a2);
    track(log, "abort", a1);
    track(log, "closed", writer.closed);
    await microtasks();
    // Once errored, abort() resolves.
    track(log, "abort again", writer.abort("r3"));
    await microtasks();
    assertEquals(log, [
      ["sink abort", "r1"],
      ["abort", "EvalError"],
      ["closed", "r1"],
      ["abort again", "ok"],
    ]);
  },

  async "abort() while closing: the close completes and abort resolves"() {
    const log = [];
    let resolveClose;
    const ws = new WritableStream({
      close() {
        log.push(["sink close"]);
        return new Promise((resolve) => (resolveClose = resolve));
      },
      abort(reason) {
        log.push(["sink abort", reason]);
      },
    });
    const writer = ws.getWriter();
    track(log, "close", writer.close());
    await microtasks();
    track(log, "abort", writer.abort("late"));
    track(log, "closed", writer.closed);
    log.push(["desiredSize", writer.desiredSize]);
    resolveClose();
    await microtasks();
    assertEquals(log, [
      ["sink close"],
      ["desiredSize", null],
      ["close", "ok"],
      ["abort", "ok"],
      ["closed", "ok"],
    ]);
  },

  async "a failing close() errors the stream"() {
    const log = [];
    const ws = new WritableStream({
      close() {
        throw new TypeError("close failed");
      },
    });
    const writer = ws.getWriter();
    track(log, "close", writer.close());
    track(log, "closed", writer.closed);
    track(log, "ready", writer.ready);
    await microtasks();
    assertEquals(log, [
      ["ready", "ok"],
      ["close", "TypeError"],
      ["closed", "TypeError"],
    ]);
    assertEquals(writer.desiredSize, null);
  },

  async "a rejected write errors the stream; queued writes and close are rejected"() {
    const log = [];
    const error = new RangeError("write failed");
    const ws = new WritableStream({
      write(chunk) {
        log.push(["write", chunk]);
        if (chunk === 2) return Promise.reject(error);
        return undefined;
      },
      abort() {
        log.push(["sink abort"]);
      },
    });
    const writer = ws.getWriter();
    for (const x of [1, 2, 3]) track(log, `w${x}`, writer.write(x));
    track(log, "close", writer.close());
    track(log, "closed", writer.closed);
    await microtasks(20);
    assertEquals(log, [
      ["write", 1],
      ["write", 2],
      ["w1", "ok"],
      ["w2", "RangeError"],
      ["w3", "RangeError"],
      ["close", "RangeError"],
      ["closed", "RangeError"],
    ]);
  },

  async "controller.error()"() {
    const log = [];
    const [ws, controller] = controlled(WritableStream, {
      write(chunk) {
        log.push(["write", chunk]);
      },
    });
    const writer = ws.getWriter();
    track(log, "w1", writer.write(1));
    controller.error("E");
    controller.error("ignored");
    track(log, "w2", writer.write(2));
    track(log, "closed", writer.closed);
    track(log, "ready", writer.ready);
    log.push(["desiredSize", writer.desiredSize]);
    await microtasks();
    assertEquals(log, [
      ["desiredSize", null],
      ["w2", "E"],
      ["ready", "E"],
      ["w1", "E"],
      ["closed", "E"],
    ]);
  },

  async "start(): writes wait for it; a rejection errors the stream"() {
    const log = [];
    let resolveStart;
    const ws = new WritableStream(
      {
        start() {
          return new Promise((resolve) => (resolveStart = resolve));
        },
        write(chunk) {
          log.push(["write", chunk]);
        },
        close() {
          log.push(["close"]);
        },
      },
      { highWaterMark: 0 },
    );
    const writer = ws.getWriter();
    track(log, "ready", writer.ready);
    track(log, "w1", writer.write(1));
    track(log, "close", writer.close());
    await microtasks();
    log.push(["starting"]);
    resolveStart();
    await microtasks(20);
    assertEquals(log, [
      ["ready", "ok"],
      ["starting"],
      ["write", 1],
      ["close"],
      ["w1", "ok"],
      ["close", "ok"],
    ]);
    const writer2 = new WritableStream({
      start() {
        return Promise.reject(new URIError("start"));
      },
    }).getWriter();
    await assertRejects(writer2.write(1), URIError);
    await assertRejects(writer2.closed, URIError);
  },

  async "abort() before start() finishes"() {
    const log = [];
    let resolveStart;
    const ws = new WritableStream({
      start() {
        return new Promise((resolve) => (resolveStart = resolve));
      },
      write(chunk) {
        log.push(["write", chunk]);
      },
      abort(reason) {
        log.push(["sink abort", reason]);
      },
    });
    const writer = ws.getWriter();
    track(log, "w1", writer.write(1));
    track(log, "abort", writer.abort("A"));
    track(log, "closed", writer.closed);
    await microtasks();
    log.push(["starting"]);
    resolveStart();
    await microtasks(20);
    assertEquals(log, [
      ["starting"],
      ["sink abort", "A"],
      ["w1", "A"],
      ["abort", "ok"],
      ["closed", "A"],
    ]);
  },

  "constructor checks"() {
    const error = new SyntaxError("start");
    assert(
      assertThrows(
        () =>
          new WritableStream({
            start() {
              throw error;
            },
          }),
      ) === error,
    );
    assertThrows(() => new WritableStream({ type: "bytes" }), RangeError);
    assertThrows(() => new WritableStream({ type: null }), RangeError);
    assertThrows(() => new WritableStream({ write: 1 }), TypeError);
    assertThrows(() => new WritableStream(null), TypeError);
    assertThrows(() => new WritableStream(5), TypeError);
    assertThrows(() => new WritableStream({}, { highWaterMark: -1 }), RangeError);
    assertThrows(() => new WritableStream({}, { highWaterMark: NaN }), RangeError);
    assertThrows(() => new WritableStream({}, { size: 1 }), TypeError);
    assertThrows(() => WritableStream(), TypeError);
    assertThrows(() => new WritableStreamDefaultController(), TypeError);
    assertThrows(() => new WritableStreamDefaultWriter({}), TypeError);
    assertThrows(() => new WritableStreamDefaultWriter(), TypeError);
    // Members are read in alphabetical order.
    const order = [];
    new WritableStream(
      new Proxy({}, {
        get(target, key) {
          order.push(key);
          return undefined;
        },
      }),
    );
    assertEquals(order, ["abort", "close", "start", "type", "write"]);
  },

  async "releaseLock() rejects closed and ready; a new writer sees the stream's state"() {
    let resolveWrite;
    const ws = new WritableStream({
      write() {
        return new Promise((resolve) => (resolveWrite = resolve));
      },
    });
    const writer = ws.getWriter();
    const closed = writer.closed;
    const ready = writer.ready;
    const w1 = writer.write(1);
    writer.releaseLock();
    writer.releaseLock();
    assert(!ws.locked);
    await assertRejects(closed, TypeError);
    assert(writer.closed === closed, "a pending closed promise is rejected in place");
    await assertRejects(writer.closed, TypeError);
    await assertRejects(writer.ready, TypeError);
    void ready;
    assertThrows(() => writer.desiredSize, TypeError);
    await assertRejects(writer.write(2), TypeError);
    await assertRejects(writer.close(), TypeError);
    await assertRejects(writer.abort(), TypeError);
    const writer2 = new WritableStreamDefaultWriter(ws);
    assertEquals(writer2.desiredSize, 0);
    let readySettled = false;
    writer2.ready.then(() => (readySettled = true));
    await microtasks();
    assert(!readySettled, "backpressure while the write is in flight");
    resolveWrite();
    await w1;
    await microtasks();
    assert(readySettled);
  },

  async "a locked stream cannot be aborted, closed or get another writer"() {
    const ws = new WritableStream();
    const writer = ws.getWriter();
    await assertRejects(ws.abort(), TypeError);
    await assertRejects(ws.close(), TypeError);
    assertThrows(() => ws.getWriter(), TypeError);
    writer.releaseLock();
    const close = ws.close();
    await assertRejects(ws.close(), TypeError);
    await close;
    // Closed: abort() resolves, writes reject, a writer's closed resolves.
    await ws.abort("x");
    const writer2 = ws.getWriter();
    await writer2.closed;
    await writer2.ready;
    assertEquals(writer2.desiredSize, 0);
    await assertRejects(writer2.write(1), TypeError);
    await assertRejects(writer2.close(), TypeError);
  },

  async "a writer acquired while erroring has a rejected ready and a pending closed"() {
    const log = [];
    let resolveWrite;
    const ws = new WritableStream({
      write() {
        return new Promise((resolve) => (resolveWrite = resolve));
      },
    });
    const writer = ws.getWriter();
    writer.write(1);
    await microtasks();
    writer.abort("A");
    writer.releaseLock();
    const writer2 = ws.getWriter();
    track(log, "ready", writer2.ready);
    track(log, "closed", writer2.closed);
    log.push(["desiredSize", writer2.desiredSize]);
    await microtasks();
    log.push(["resolving"]);
    resolveWrite();
    await microtasks();
    assertEquals(log, [["desiredSize", null], ["ready", "A"], ["resolving"], ["closed", "A"]]);
  },

  async "controller.signal"() {
    const log = [];
    const [ws, controller] = controlled(WritableStream);
    const signal = controller.signal;
    assert(signal === controller.signal);
    assertEquals([signal.aborted, signal.reason], [false, undefined]);
    assert(signal instanceof EventTarget);
    signal.addEventListener("abort", (e) => log.push([e.type, signal.aborted, signal.reason]));
    const abort = ws.abort("why");
    log.push(["after abort()", signal.aborted]);
    await abort;
    assertEquals(log, [["abort", true, "why"], ["after abort()", true]]);
    assertThrows(() => signal.throwIfAborted());
    // Signalled before first use, and with the default reason.
    const [ws2, controller2] = controlled(WritableStream);
    await ws2.abort();
    assert(controller2.signal.aborted);
    assert(controller2.signal.reason instanceof DOMException);
    assertEquals(controller2.signal.reason.name, "AbortError");
  },

  "interfaces"() {
    assertInterfaces({
      WritableStream: ["abort", "close", "getWriter", "locked"],
      WritableStreamDefaultWriter: ["abort", "close", "closed", "desiredSize", "ready", "releaseLock", "write"],
      WritableStreamDefaultController: ["error", "signal"],
    });
    assertEquals(WritableStream.length, 0);
    assertEquals(WritableStreamDefaultWriter.length, 1);
    assertEquals(WritableStreamDefaultWriter.prototype.write.length, 0);
    assertThrows(() => Object.getOwnPropertyDescriptor(WritableStream.prototype, "locked").get.call({}), TypeError);
  },
};
