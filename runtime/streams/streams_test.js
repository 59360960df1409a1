// ReadableStream (default streams).

import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function readAll(stream) {
  const out = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

export default {
  async "enqueue, close and read"() {
    const s = new ReadableStream({
      start(c) {
        c.enqueue("a");
        c.enqueue("b");
        c.close();
      },
    });
    const reader = s.getReader();
    assert(s.locked);
    assertEquals(await reader.read(), { value: "a", done: false });
    assertEquals(await reader.read(), { value: "b", done: false });
    assertEquals(await reader.read(), { done: true });
    assertEquals(await reader.read(), { done: true });
    await reader.closed;
  },

  async "start can be async"() {
    const s = new ReadableStream({
      async start(c) {
        await tick();
        c.enqueue(1);
        c.close();
      },
    });
    assertEquals(await readAll(s), [1]);
  },

  async "pull is called on demand and respects highWaterMark"() {
    let pulls = 0;
    let controller;
    const s = new ReadableStream(
      {
        start(c) {
          controller = c;
        },
        pull(c) {
          pulls++;
          c.enqueue(pulls);
        },
      },
      { highWaterMark: 2 },
    );
    await tick();
    // Pulled until the queue holds highWaterMark chunks.
    assertEquals(pulls, 2);
    assertEquals(controller.desiredSize, 0);
    const reader = s.getReader();
    assertEquals((await reader.read()).value, 1);
    await tick();
    assertEquals(pulls, 3);
    assertEquals(controller.desiredSize, 0);
  },

  async "highWaterMark 0 pulls only when reading"() {
    let pulls = 0;
    const s = new ReadableStream(
      {
        pull(c) {
          pulls++;
          c.enqueue(pulls);
          if (pulls === 3) c.close();
        },
      },
      { highWaterMark: 0 },
    );
    await tick();
    assertEquals(pulls, 0);
    const reader = s.getReader();
    assertEquals((await reader.read()).value, 1);
    assertEquals(pulls, 1);
    assertEquals((await reader.read()).value, 2);
    assertEquals((await reader.read()).value, 3);
    assert((await reader.read()).done);
  },

  async "pull is not called again while its promise is pending"() {
    let pulls = 0;
    let resolvePull;
    const s = new ReadableStream(
      {
        pull(c) {
          pulls++;
          c.enqueue(pulls);
          return new Promise((r) => (resolvePull = r));
        },
      },
      { highWaterMark: 4 },
    );
    await tick();
    assertEquals(pulls, 1);
    resolvePull();
    await tick();
    assertEquals(pulls, 2);
    void s;
  },

  async "size strategy and desiredSize"() {
    let controller;
    new ReadableStream(
      {
        start(c) {
          controller = c;
        },
      },
      { highWaterMark: 10, size: (chunk) => chunk.length },
    );
    assertEquals(controller.desiredSize, 10);
    controller.enqueue("abcd");
    assertEquals(controller.desiredSize, 6);
    controller.enqueue("abcdefgh");
    assertEquals(controller.desiredSize, -2);
    controller.close();
    assertEquals(controller.desiredSize, -2);
  },

  "invalid size result errors the stream and throws"() {
    let controller;
    const s = new ReadableStream({ start: (c) => void (controller = c) }, { size: () => -1 });
    assertThrows(() => controller.enqueue("x"), RangeError);
    assertEquals(controller.desiredSize, null);
    void s;
  },

  "invalid strategy and source throw"() {
    assertThrows(() => new ReadableStream({}, { highWaterMark: -1 }), RangeError);
    assertThrows(() => new ReadableStream({}, { highWaterMark: NaN }), RangeError);
    assertThrows(() => new ReadableStream({}, { size: 1 }), TypeError);
    assertThrows(() => new ReadableStream({ pull: 1 }), TypeError);
    assertThrows(() => new ReadableStream({ type: "nope" }), TypeError);
    assertThrows(() => new ReadableStream(null), TypeError);
    const err = new Error("start threw");
    const got = assertThrows(() => new ReadableStream({ start() { throw err; } }));
    assert(got === err);
  },

  async "controller.error rejects pending and future reads"() {
    let controller;
    const s = new ReadableStream({ start: (c) => void (controller = c) });
    const reader = s.getReader();
    const pending = reader.read();
    const err = new Error("fail");
    controller.error(err);
    assert((await assertRejects(pending)) === err);
    assert((await assertRejects(reader.read())) === err);
    assert((await assertRejects(reader.closed)) === err);
    assertThrows(() => controller.enqueue(1), TypeError);
  },

  async "rejecting pull errors the stream"() {
    const err = new Error("pull failed");
    const s = new ReadableStream({
      pull() {
        throw err;
      },
    });
    assert((await assertRejects(s.getReader().read())) === err);
  },

  async "close then enqueue throws; remaining chunks still readable"() {
    let controller;
    const s = new ReadableStream({ start: (c) => void (controller = c) });
    controller.enqueue(1);
    controller.close();
    assertThrows(() => controller.enqueue(2), TypeError);
    assertThrows(() => controller.close(), TypeError);
    assertEquals(await readAll(s), [1]);
  },

  async "cancel calls the source and discards the queue"() {
    let reason;
    const s = new ReadableStream({
      start(c) {
        c.enqueue(1);
      },
      cancel(r) {
        reason = r;
      },
    });
    assertEquals(await s.cancel("why"), undefined);
    assertEquals(reason, "why");
    const reader = s.getReader();
    assert((await reader.read()).done);
  },

  async "cancel on a locked stream rejects"() {
    const s = new ReadableStream();
    s.getReader();
    await assertRejects(s.cancel(), TypeError);
  },

  async "reader.cancel and closed"() {
    const s = new ReadableStream({ start: (c) => c.enqueue(1) });
    const reader = s.getReader();
    await reader.cancel();
    await reader.closed;
  },

  async "releaseLock rejects pending reads and unlocks"() {
    const s = new ReadableStream();
    const reader = s.getReader();
    const pending = reader.read();
    reader.releaseLock();
    await assertRejects(pending, TypeError);
    await assertRejects(reader.closed, TypeError);
    assert(!s.locked);
    await assertRejects(reader.read(), TypeError);
    const reader2 = s.getReader();
    assert(s.locked);
    reader2.releaseLock();
  },

  "getReader on a locked stream throws; byob is rejected"() {
    const s = new ReadableStream();
    s.getReader();
    assertThrows(() => s.getReader(), TypeError);
    assertThrows(() => new ReadableStream().getReader({ mode: "byob" }), TypeError);
    assertThrows(() => new ReadableStream().getReader({ mode: "other" }), TypeError);
    assertThrows(() => new ReadableStreamDefaultReader(s), TypeError);
    const r = new ReadableStreamDefaultReader(new ReadableStream());
    assert(r instanceof ReadableStreamDefaultReader);
  },

  async "tee gives both branches every chunk"() {
    const s = new ReadableStream({
      start(c) {
        c.enqueue("x");
        c.enqueue("y");
        c.close();
      },
    });
    const [a, b] = s.tee();
    assert(s.locked);
    assertEquals(await readAll(a), ["x", "y"]);
    assertEquals(await readAll(b), ["x", "y"]);
  },

  async "tee: canceling both branches cancels the source with both reasons"() {
    let reason;
    const s = new ReadableStream({ cancel: (r) => void (reason = r) });
    const [a, b] = s.tee();
    const p1 = a.cancel("r1");
    const p2 = b.cancel("r2");
    await Promise.all([p1, p2]);
    assertEquals(reason, ["r1", "r2"]);
  },

  async "tee: errors propagate to both branches"() {
    let controller;
    const s = new ReadableStream({ start: (c) => void (controller = c) });
    const [a, b] = s.tee();
    const err = new Error("e");
    controller.error(err);
    assert((await assertRejects(a.getReader().closed)) === err);
    assert((await assertRejects(b.getReader().read())) === err);
  },

  async "async iteration"() {
    const s = new ReadableStream({
      start(c) {
        c.enqueue(1);
        c.enqueue(2);
        c.close();
      },
    });
    const seen = [];
    for await (const v of s) seen.push(v);
    assertEquals(seen, [1, 2]);
    assert(!s.locked, "lock released at the end");
  },

  async "breaking out of for-await cancels the stream"() {
    let canceled = false;
    const s = new ReadableStream({
      pull(c) {
        c.enqueue(1);
      },
      cancel() {
        canceled = true;
      },
    });
    for await (const v of s) {
      assertEquals(v, 1);
      break;
    }
    assert(canceled);
    assert(!s.locked);
  },

  async "values({ preventCancel: true }) keeps the stream open"() {
    let canceled = false;
    const s = new ReadableStream({
      start(c) {
        c.enqueue(1);
        c.enqueue(2);
      },
      cancel() {
        canceled = true;
      },
    });
    for await (const v of s.values({ preventCancel: true })) {
      assertEquals(v, 1);
      break;
    }
    assert(!canceled);
    assert(!s.locked);
    const reader = s.getReader();
    assertEquals((await reader.read()).value, 2);
  },

  async "async iterator: concurrent next() calls resolve in order"() {
    const s = new ReadableStream({
      start(c) {
        c.enqueue("a");
        c.enqueue("b");
        c.close();
      },
    });
    const it = s[Symbol.asyncIterator]();
    const results = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    assertEquals(results, [
      { value: "a", done: false },
      { value: "b", done: false },
      { done: true },
      { done: true },
    ]);
    assertEquals(await it.return("r"), { value: "r", done: true });
  },

  async "async iterator: error rejects next()"() {
    const err = new Error("bad");
    const s = new ReadableStream({
      start(c) {
        c.error(err);
      },
    });
    const it = s.values();
    assert((await assertRejects(it.next())) === err);
    assertEquals(await it.next(), { done: true });
  },

  "async iterator prototype"() {
    const it = new ReadableStream().values();
    const proto = Object.getPrototypeOf(it);
    const asyncIteratorProto = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
    assert(Object.getPrototypeOf(proto) === asyncIteratorProto);
    assertEquals(Object.prototype.toString.call(it), "[object ReadableStream AsyncIterator]");
    assert(ReadableStream.prototype.values === ReadableStream.prototype[Symbol.asyncIterator]);
  },

  async "ReadableStream.from arrays, generators and async generators"() {
    assertEquals(await readAll(ReadableStream.from([1, 2, 3])), [1, 2, 3]);
    assertEquals(await readAll(ReadableStream.from([Promise.resolve("p")])), ["p"]);
    function* gen() {
      yield "g1";
      yield "g2";
    }
    assertEquals(await readAll(ReadableStream.from(gen())), ["g1", "g2"]);
    async function* agen() {
      yield "a1";
      await tick();
      yield "a2";
    }
    assertEquals(await readAll(ReadableStream.from(agen())), ["a1", "a2"]);
    assertEquals(await readAll(ReadableStream.from("hi")), ["h", "i"]);
    const inner = ReadableStream.from([7]);
    assertEquals(await readAll(ReadableStream.from(inner)), [7]);
  },

  async "ReadableStream.from: cancel calls return()"() {
    let returned = false;
    const iterable = {
      [Symbol.asyncIterator]() {
        return {
          next: async () => ({ value: 1, done: false }),
          return: async () => {
            returned = true;
            return { done: true };
          },
        };
      },
    };
    const s = ReadableStream.from(iterable);
    const reader = s.getReader();
    assertEquals((await reader.read()).value, 1);
    await reader.cancel("stop");
    assert(returned);
  },

  "ReadableStream.from rejects non-iterables"() {
    assertThrows(() => ReadableStream.from(1), TypeError);
    assertThrows(() => ReadableStream.from({}), TypeError);
    assertThrows(() => ReadableStream.from(null), TypeError);
  },

  "ReadableStreamDefaultController cannot be constructed"() {
    assertThrows(() => new ReadableStreamDefaultController(), TypeError);
  },

  "queuing strategies"() {
    const count = new CountQueuingStrategy({ highWaterMark: 5 });
    assertEquals(count.highWaterMark, 5);
    assertEquals(count.size(), 1);
    const bytes = new ByteLengthQueuingStrategy({ highWaterMark: 1024 });
    assertEquals(bytes.highWaterMark, 1024);
    assertEquals(bytes.size(new Uint8Array(7)), 7);
    assert(bytes.size === new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size);
    // The size functions are not constructors and have no prototype.
    for (const size of [count.size, bytes.size]) {
      assertThrows(() => new size({ byteLength: 1 }), TypeError);
      assert(!("prototype" in size));
      assertEquals(size.name, "size");
    }
    assertEquals([count.size.length, bytes.size.length], [0, 1]);
    assertThrows(() => new CountQueuingStrategy({}), TypeError);
    assertThrows(() => new CountQueuingStrategy(), TypeError);
  },

  async "byte length strategy with a stream"() {
    let controller;
    new ReadableStream({ start: (c) => void (controller = c) }, new ByteLengthQueuingStrategy({ highWaterMark: 8 }));
    controller.enqueue(new Uint8Array(3));
    assertEquals(controller.desiredSize, 5);
  },

  "toStringTag and locked getter"() {
    const s = new ReadableStream();
    assertEquals(Object.prototype.toString.call(s), "[object ReadableStream]");
    assertEquals(s.locked, false);
    assertThrows(() => ReadableStream.prototype.locked, TypeError);
  },
};
