// ReadableStream.prototype.pipeTo and pipeThrough: flow control, every
// option, error and close propagation in both directions, abort signals.
// Orderings were checked against the spec's reference behaviour
// (web-streams-polyfill).

import { assert, assertEquals, assertThrows, assertRejects, microtasks, sleep, track } from "../../runtime/testing/assert.js";
import { controlledStream } from "../../runtime/testing/streams.js";

// An AbortController, or while the runtime has none, an object with what
// pipeTo() reads from a signal: aborted, reason and an "abort" event.
function makeAbortController() {
  if (typeof AbortController === "function") return new AbortController();
  const signal = new EventTarget();
  signal.aborted = false;
  signal.reason = undefined;
  return {
    signal,
    abort(reason) {
      if (signal.aborted) return;
      signal.aborted = true;
      signal.reason = reason;
      signal.dispatchEvent(new Event("abort"));
    },
  };
}

function source(chunks, extra = {}) {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
    ...extra,
  });
}

function recordingSink(log, extra = {}) {
  return new WritableStream({
    write(chunk) {
      log.push(["write", chunk]);
    },
    close() {
      log.push(["close"]);
    },
    abort(reason) {
      log.push(["abort", reason]);
    },
    ...extra,
  });
}

export default {
  async "pipeTo() copies every chunk, then closes the destination"() {
    const log = [];
    const rs = source([1, 2, 3]);
    const ws = recordingSink(log);
    const pipe = rs.pipeTo(ws);
    assert(rs.locked && ws.locked);
    await pipe;
    assert(!rs.locked && !ws.locked);
    assertEquals(log, [["write", 1], ["write", 2], ["write", 3], ["close"]]);
  },

  async "flow control: the source is pulled only as the destination wants more"() {
    const log = [];
    let n = 0;
    const rs = new ReadableStream(
      {
        pull(c) {
          n++;
          log.push(["pull", n]);
          c.enqueue(n);
          if (n === 4) c.close();
        },
      },
      { highWaterMark: 0 },
    );
    const resolvers = [];
    const ws = new WritableStream(
      {
        write(chunk) {
          log.push(["write", chunk]);
          return new Promise((resolve) => resolvers.push(resolve));
        },
        close() {
          log.push(["close"]);
        },
      },
      { highWaterMark: 2 },
    );
    const pipe = rs.pipeTo(ws);
    await microtasks(20);
    log.push(["settle write"]);
    while (resolvers.length > 0) {
      resolvers.shift()();
      await microtasks(20);
    }
    await pipe;
    assertEquals(log, [
      ["pull", 1],
      ["write", 1],
      ["pull", 2],
      ["settle write"],
      ["write", 2],
      ["pull", 3],
      ["write", 3],
      ["pull", 4],
      ["write", 4],
      ["close"],
    ]);
  },

  async "preventClose leaves the destination open and unlocked"() {
    const log = [];
    const ws = recordingSink(log);
    await source(["a"]).pipeTo(ws, { preventClose: true });
    assert(!ws.locked);
    const writer = ws.getWriter();
    await writer.write("b");
    await writer.close();
    assertEquals(log, [["write", "a"], ["write", "b"], ["close"]]);
  },

  async "errors propagate forward: the destination is aborted"() {
    const log = [];
    const [rs, c] = controlledStream();
    const ws = recordingSink(log);
    track(log, "pipe", rs.pipeTo(ws));
    c.enqueue("x");
    await microtasks();
    c.error("E");
    await microtasks(20);
    assertEquals(log, [["write", "x"], ["abort", "E"], ["pipe", "E"]]);
  },

  async "errors propagate forward: preventAbort leaves the destination usable"() {
    const log = [];
    const rs = new ReadableStream({
      start(c) {
        c.error("E");
      },
    });
    const ws = recordingSink(log);
    assertEquals(await assertRejects(rs.pipeTo(ws, { preventAbort: true })), "E");
    assert(!ws.locked);
    await ws.getWriter().write(1);
    assertEquals(log, [["write", 1]]);
  },

  async "errors propagate backward: the source is canceled"() {
    const log = [];
    let wc;
    const rs = new ReadableStream({
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const ws = new WritableStream({
      start(c) {
        wc = c;
      },
    });
    track(log, "pipe", rs.pipeTo(ws));
    await microtasks();
    wc.error("WE");
    await microtasks(20);
    assertEquals(log, [["cancel", "WE"], ["pipe", "WE"]]);
  },

  async "errors propagate backward: a failed write with preventCancel keeps the source"() {
    const log = [];
    const rs = new ReadableStream({
      start(c) {
        c.enqueue(1);
        c.enqueue(2);
      },
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const ws = new WritableStream({
      write() {
        throw new RangeError("write");
      },
    });
    await assertRejects(rs.pipeTo(ws, { preventCancel: true }), RangeError);
    assert(!rs.locked);
    // The chunk read for the failed write is gone; the next one is still there.
    assertEquals(await rs.getReader().read(), { value: 2, done: false });
    assertEquals(log, []);
  },

  async "closing propagates backward: a closed destination cancels the source"() {
    const log = [];
    const ws = new WritableStream();
    const writer = ws.getWriter();
    writer.close();
    writer.releaseLock();
    const rs = new ReadableStream({
      cancel(reason) {
        log.push(["cancel", reason instanceof TypeError]);
      },
    });
    await assertRejects(rs.pipeTo(ws), TypeError);
    const rs2 = new ReadableStream({
      cancel() {
        log.push(["cancel2"]);
      },
    });
    await assertRejects(rs2.pipeTo(ws, { preventCancel: true }), TypeError);
    assert(!rs2.locked);
    assertEquals(log, [["cancel", true]]);
  },

  async "both already errored: the source's error wins"() {
    const rs = new ReadableStream({
      start(c) {
        c.error("RE");
      },
    });
    const ws = new WritableStream({
      start(c) {
        c.error("WE");
      },
    });
    await microtasks();
    assertEquals(await assertRejects(rs.pipeTo(ws)), "RE");
    // Closed source, errored destination: the destination's error.
    const closed = source([]);
    const ws2 = new WritableStream({
      start(c) {
        c.error("WE2");
      },
    });
    await microtasks();
    assertEquals(await assertRejects(closed.pipeTo(ws2)), "WE2");
  },

  async "shutdown waits for writes in flight"() {
    const log = [];
    const rs = source([1, 2, 3]);
    const ws = new WritableStream(
      {
        write(chunk) {
          log.push(["write start", chunk]);
          return sleep(1).then(() => log.push(["write end", chunk]));
        },
        close() {
          log.push(["close"]);
        },
      },
      { highWaterMark: 10 },
    );
    await rs.pipeTo(ws);
    assertEquals(log, [
      ["write start", 1],
      ["write end", 1],
      ["write start", 2],
      ["write end", 2],
      ["write start", 3],
      ["write end", 3],
      ["close"],
    ]);
  },

  async "an error while writes are pending aborts after they finish"() {
    const log = [];
    const [rs, c] = controlledStream();
    c.enqueue(1);
    c.enqueue(2);
    const ws = new WritableStream(
      {
        write(chunk) {
          log.push(["write start", chunk]);
          return sleep(1).then(() => log.push(["write end", chunk]));
        },
        abort(reason) {
          log.push(["abort", reason]);
        },
      },
      { highWaterMark: 10 },
    );
    const pipe = rs.pipeTo(ws);
    await microtasks();
    c.error("E");
    assertEquals(await assertRejects(pipe), "E");
    assertEquals(log, [
      ["write start", 1],
      ["write end", 1],
      ["write start", 2],
      ["write end", 2],
      ["abort", "E"],
    ]);
  },

  async "signal: aborting cancels the source and aborts the destination"() {
    const log = [];
    const controller = makeAbortController();
    let n = 0;
    const rs = new ReadableStream(
      {
        pull(c) {
          n++;
          c.enqueue(n);
        },
        cancel(reason) {
          log.push(["cancel", reason]);
        },
      },
      { highWaterMark: 0 },
    );
    const ws = new WritableStream({
      write(chunk) {
        log.push(["write", chunk]);
        return sleep(1);
      },
      abort(reason) {
        log.push(["abort", reason]);
      },
    });
    const pipe = rs.pipeTo(ws, { signal: controller.signal });
    await sleep(3);
    controller.abort("stop");
    assertEquals(await assertRejects(pipe), "stop");
    assert(!rs.locked && !ws.locked);
    const writes = log.filter((entry) => entry[0] === "write").length;
    assert(writes >= 1, "some chunks were piped");
    assertEquals(log.slice(writes), [["abort", "stop"], ["cancel", "stop"]]);
  },

  async "signal: preventAbort and preventCancel keep both streams"() {
    const log = [];
    const controller = makeAbortController();
    const rs = new ReadableStream({
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const ws = recordingSink(log);
    const pipe = rs.pipeTo(ws, { signal: controller.signal, preventAbort: true, preventCancel: true });
    await microtasks();
    controller.abort("A");
    assertEquals(await assertRejects(pipe), "A");
    assert(!rs.locked && !ws.locked);
    assertEquals(log, []);
  },

  async "signal: already aborted"() {
    const log = [];
    const controller = makeAbortController();
    controller.abort("early");
    const rs = source([1], {
      cancel(reason) {
        log.push(["cancel", reason]);
      },
    });
    const ws = recordingSink(log);
    assertEquals(await assertRejects(rs.pipeTo(ws, { signal: controller.signal })), "early");
    assertEquals(log, [["abort", "early"], ["cancel", "early"]]);
  },

  async "signal: the first failed action's error rejects the pipe"() {
    const controller = makeAbortController();
    const rs = new ReadableStream({
      cancel() {
        throw new URIError("cancel");
      },
    });
    const ws = new WritableStream({
      abort() {
        return Promise.reject(new EvalError("abort"));
      },
    });
    const pipe = rs.pipeTo(ws, { signal: controller.signal });
    await microtasks();
    controller.abort("x");
    await assertRejects(pipe, URIError);
  },

  async "pipeTo() argument checks"() {
    const rs = new ReadableStream();
    await assertRejects(rs.pipeTo(), TypeError);
    await assertRejects(rs.pipeTo({}), TypeError);
    await assertRejects(rs.pipeTo(new WritableStream(), { signal: {} }), TypeError);
    await assertRejects(rs.pipeTo(new WritableStream(), { signal: 1 }), TypeError);
    await assertRejects(rs.pipeTo(new WritableStream(), 1), TypeError);
    const locked = new WritableStream();
    locked.getWriter();
    await assertRejects(rs.pipeTo(locked), TypeError);
    const reader = rs.getReader();
    await assertRejects(rs.pipeTo(new WritableStream()), TypeError);
    reader.releaseLock();
    await assertRejects(ReadableStream.prototype.pipeTo.call({}, new WritableStream()), TypeError);
    // Options are read in alphabetical order.
    const order = [];
    const options = {};
    for (const key of ["preventAbort", "preventCancel", "preventClose", "signal"]) {
      Object.defineProperty(options, key, {
        get() {
          order.push(key);
          return undefined;
        },
      });
    }
    await source([]).pipeTo(new WritableStream(), options);
    assertEquals(order, ["preventAbort", "preventCancel", "preventClose", "signal"]);
  },

  async "pipeThrough() returns the readable side"() {
    const rs = source(["a", "b"]);
    const out = rs.pipeThrough(
      new TransformStream({
        transform(chunk, c) {
          c.enqueue(chunk + chunk);
        },
      }),
    );
    assert(rs.locked);
    assert(!out.locked);
    const chunks = [];
    for await (const chunk of out) chunks.push(chunk);
    assertEquals(chunks, ["aa", "bb"]);
    // An error goes through too.
    const errored = new ReadableStream({
      start(c) {
        c.error("E");
      },
    });
    assertEquals(await assertRejects(errored.pipeThrough(new TransformStream()).getReader().read()), "E");
  },

  async "pipeThrough() accepts any { readable, writable } pair"() {
    const log = [];
    const pair = { readable: source(["r"]), writable: recordingSink(log) };
    const readable = source([1]).pipeThrough(pair);
    assert(readable === pair.readable);
    await microtasks(20);
    assertEquals(log, [["write", 1], ["close"]]);
  },

  "pipeThrough() argument checks"() {
    const rs = new ReadableStream();
    assertThrows(() => rs.pipeThrough(), TypeError);
    assertThrows(() => rs.pipeThrough(null), TypeError);
    assertThrows(() => rs.pipeThrough({}), TypeError);
    assertThrows(() => rs.pipeThrough({ readable: rs }), TypeError);
    assertThrows(() => rs.pipeThrough({ writable: new WritableStream() }), TypeError);
    assertThrows(() => rs.pipeThrough({ readable: {}, writable: new WritableStream() }), TypeError);
    assertThrows(() => rs.pipeThrough({ readable: new ReadableStream(), writable: {} }), TypeError);
    const ts = new TransformStream();
    ts.writable.getWriter();
    assertThrows(() => rs.pipeThrough(ts), TypeError);
    assert(!rs.locked);
    rs.getReader();
    assertThrows(() => rs.pipeThrough(new TransformStream()), TypeError);
    // The pair's members are read in alphabetical order.
    const order = [];
    const rs2 = new ReadableStream();
    rs2.pipeThrough({
      get writable() {
        order.push("writable");
        return new WritableStream();
      },
      get readable() {
        order.push("readable");
        return new ReadableStream();
      },
    });
    assertEquals(order, ["readable", "writable"]);
  },

  async "pipeTo() of a byte stream"() {
    let n = 0;
    const rs = new ReadableStream({
      type: "bytes",
      pull(c) {
        n++;
        if (n > 3) c.close();
        else c.enqueue(new Uint8Array([n, n]));
      },
    });
    const chunks = [];
    await rs.pipeTo(
      new WritableStream({
        write(chunk) {
          chunks.push([...chunk]);
        },
      }),
    );
    assertEquals(chunks, [[1, 1], [2, 2], [3, 3]]);
  },

  async "pipeTo() does not use Promise.prototype.then or Object.prototype.then"() {
    const log = [];
    const rs = source(["a"]);
    const ws = recordingSink(log);
    let calls = 0;
    const then = Promise.prototype.then;
    Object.prototype.then = function () {
      calls++;
    };
    try {
      rs.pipeTo(ws);
      await new Promise((resolve) => setTimeout(resolve, 1));
    } finally {
      delete Object.prototype.then;
    }
    assertEquals(calls, 0);
    assert(Promise.prototype.then === then);
    assertEquals(log, [["write", "a"], ["close"]]);
  },

  async "a long pipe chain through several transforms"() {
    const n = 1000;
    let i = 0;
    const rs = new ReadableStream({
      pull(c) {
        if (i === n) c.close();
        else c.enqueue(i++);
      },
    });
    const double = () =>
      new TransformStream({
        transform(chunk, c) {
          c.enqueue(chunk * 2);
        },
      });
    let sum = 0;
    await rs
      .pipeThrough(double())
      .pipeThrough(double())
      .pipeThrough(new TransformStream())
      .pipeTo(
        new WritableStream({
          write(chunk) {
            sum += chunk;
          },
        }),
      );
    assertEquals(sum, 4 * ((n * (n - 1)) / 2));
  },
};
