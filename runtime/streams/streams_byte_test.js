// Readable byte streams: ReadableByteStreamController, BYOB readers and
// requests (read with min, respond, respondWithNewView), autoAllocateChunkSize,
// tee of byte streams. Orderings were checked against the spec's reference
// behaviour (web-streams-polyfill). Detaching of transferred buffers is
// covered by streams_transfer_test.js.

import { assert, assertEquals, assertThrows, assertRejects, microtasks, assertInterfaces } from "../../runtime/testing/assert.js";
import { controlledByobReader, controlledByteStream } from "../../runtime/testing/streams.js";

// A view as [type, byteOffset, byteLength, buffer byteLength, ...elements].
function describe(view) {
  const name = Object.prototype.toString.call(view).slice(8, -1);
  const elements = name === "DataView" ? [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)] : [...view];
  return [name, view.byteOffset, view.byteLength, view.buffer.byteLength, ...elements];
}

function result(r) {
  return [r.done, r.value === undefined ? undefined : describe(r.value)];
}

export default {
  "byte stream with a default reader"() {
    const rs = new ReadableStream({ type: "bytes" });
    assert(rs instanceof ReadableStream);
    const reader = rs.getReader();
    assert(reader instanceof ReadableStreamDefaultReader);
  },

  async "default reader reads enqueued chunks as Uint8Array"() {
    const log = [];
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        log.push(["start", c.desiredSize, c.byobRequest]);
        c.enqueue(new Uint8Array([1, 2, 3]));
        c.enqueue(new Uint16Array([0x0201]));
      },
      pull(c) {
        log.push(["pull", c.desiredSize]);
        c.enqueue(new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2));
        c.close();
      },
    });
    const reader = rs.getReader();
    assertEquals(result(await reader.read()), [false, ["Uint8Array", 0, 3, 3, 1, 2, 3]]);
    assertEquals(result(await reader.read()), [false, ["Uint8Array", 0, 2, 2, 1, 2]]);
    assertEquals(result(await reader.read()), [false, ["Uint8Array", 1, 2, 3, 8, 7]]);
    assertEquals(result(await reader.read()), [true, undefined]);
    assertEquals(log, [["start", 0, null], ["pull", 0]]);
  },

  async "BYOB read fills the given view through byobRequest"() {
    const log = [];
    const rs = new ReadableStream({
      type: "bytes",
      pull(c) {
        const request = c.byobRequest;
        log.push(describe(request.view));
        request.view.set([7, 8]);
        request.respond(2);
        log.push(request.view, c.byobRequest);
      },
    });
    const reader = rs.getReader({ mode: "byob" });
    assert(reader instanceof ReadableStreamBYOBReader);
    const r = await reader.read(new Uint8Array(new ArrayBuffer(8), 2, 4));
    assertEquals(result(r), [false, ["Uint8Array", 2, 2, 8, 7, 8]]);
    assertEquals(log, [["Uint8Array", 2, 4, 8, 0, 0, 0, 0], null, null]);
  },

  async "BYOB read with a multi-byte view keeps partial elements for the next read"() {
    const [reader, c] = controlledByobReader();
    const p = reader.read(new Uint16Array(4));
    await microtasks();
    c.byobRequest.view.set([1, 0, 2, 0, 3]);
    c.byobRequest.respond(5);
    // Two whole elements; the fifth byte goes back to the queue.
    assertEquals(result(await p), [false, ["Uint16Array", 0, 4, 8, 1, 2]]);
    assertEquals(c.desiredSize, -1);
    c.enqueue(new Uint8Array([0]));
    assertEquals(result(await reader.read(new Uint16Array(1))), [false, ["Uint16Array", 0, 2, 2, 3]]);
  },

  async "read(view, { min }) waits until min elements are filled"() {
    const pulls = [];
    let n = 0;
    const rs = new ReadableStream({
      type: "bytes",
      pull(c) {
        n++;
        const view = c.byobRequest.view;
        pulls.push([view.byteOffset, view.byteLength]);
        view[0] = n;
        c.byobRequest.respond(1);
      },
    });
    const reader = rs.getReader({ mode: "byob" });
    const r = await reader.read(new Uint8Array(4), { min: 3 });
    assertEquals(result(r), [false, ["Uint8Array", 0, 3, 4, 1, 2, 3]]);
    assertEquals(pulls, [[0, 4], [1, 3], [2, 2]]);
  },

  async "read(view, { min }) counts elements of the view's type"() {
    const [reader, c] = controlledByobReader();
    let settled = false;
    const p = reader.read(new Uint32Array(3), { min: 2 });
    p.then(() => (settled = true));
    await microtasks();
    c.byobRequest.view.set([1, 0, 0, 0, 2]);
    c.byobRequest.respond(5);
    await microtasks();
    assert(!settled, "5 bytes are fewer than 2 elements");
    assertEquals(describe(c.byobRequest.view).slice(0, 3), ["Uint8Array", 5, 7]);
    c.byobRequest.view.set([0, 0, 0, 3]);
    c.byobRequest.respond(4);
    assertEquals(result(await p), [false, ["Uint32Array", 0, 8, 12, 1, 2]]);
    // The remaining byte (3) is queued.
    assertEquals(c.desiredSize, -1);
  },

  async "read(view, { min }) is satisfied from the queue"() {
    const [rs, c] = controlledByteStream({}, { highWaterMark: 16 });
    c.enqueue(new Uint8Array([1, 2, 3]));
    c.enqueue(new Uint8Array([4, 5]));
    const reader = rs.getReader({ mode: "byob" });
    assertEquals(result(await reader.read(new Uint8Array(8), { min: 4 })), [false, ["Uint8Array", 0, 5, 8, 1, 2, 3, 4, 5]]);
    c.enqueue(new Uint8Array([6, 7, 8]));
    assertEquals(result(await reader.read(new Uint8Array(2))), [false, ["Uint8Array", 0, 2, 2, 6, 7]]);
    c.close();
    assertEquals(result(await reader.read(new Uint8Array(2))), [false, ["Uint8Array", 0, 1, 2, 8]]);
    assertEquals(result(await reader.read(new Uint8Array(2))), [true, ["Uint8Array", 0, 0, 2]]);
  },

  async "close with too few bytes for min: the read gets what there is once respond(0) is called"() {
    const [reader, c] = controlledByobReader();
    const p = reader.read(new Uint8Array(4), { min: 4 });
    await microtasks();
    c.byobRequest.view.set([1, 2]);
    c.byobRequest.respond(2);
    c.close();
    c.byobRequest.respond(0);
    assertEquals(result(await p), [true, ["Uint8Array", 0, 2, 4, 1, 2]]);
  },

  async "read() argument checks"() {
    const reader = new ReadableStream({ type: "bytes" }).getReader({ mode: "byob" });
    const cases = [
      [() => reader.read(), TypeError],
      [() => reader.read({}), TypeError],
      [() => reader.read(new ArrayBuffer(4)), TypeError],
      [() => reader.read(new Uint8Array(0)), TypeError],
      [() => reader.read(new Uint8Array(new ArrayBuffer(0))), TypeError],
      [() => reader.read(new Uint8Array(4), { min: 0 }), TypeError],
      [() => reader.read(new Uint8Array(4), { min: -1 }), TypeError],
      [() => reader.read(new Uint8Array(4), { min: NaN }), TypeError],
      [() => reader.read(new Uint8Array(4), { min: 2 ** 53 }), TypeError],
      [() => reader.read(new Uint8Array(4), { min: 5 }), RangeError],
      [() => reader.read(new Uint16Array(4), { min: 5 }), RangeError],
      [() => reader.read(new DataView(new ArrayBuffer(4)), { min: 5 }), RangeError],
      [() => reader.read(new Uint8Array(4), 5), TypeError],
    ];
    for (const [call, ErrorClass] of cases) await assertRejects(call(), ErrorClass, String(call));
    // min is truncated ([EnforceRange] unsigned long long).
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([1, 2, 3]));
      },
    });
    const r = await rs.getReader({ mode: "byob" }).read(new Uint8Array(4), { min: 2.9 });
    assertEquals(result(r), [false, ["Uint8Array", 0, 3, 4, 1, 2, 3]]);
  },

  async "respondWithNewView()"() {
    const [reader, c] = controlledByobReader();
    const p = reader.read(new Uint8Array(10));
    await microtasks();
    const request = c.byobRequest;
    const view = request.view;
    // Wrong offset, wrong buffer size, too long, empty.
    assertThrows(() => request.respondWithNewView(new Uint8Array(view.buffer, 1, 2)), RangeError);
    assertThrows(() => request.respondWithNewView(new Uint8Array(new ArrayBuffer(11), 0, 2)), RangeError);
    assertThrows(() => request.respondWithNewView(new Uint8Array(view.buffer, 0, 0)), TypeError);
    assertThrows(() => request.respondWithNewView({}), TypeError);
    // Another buffer of the same size is accepted.
    const other = new Uint8Array(new ArrayBuffer(10), 0, 3);
    other.set([4, 5, 6]);
    request.respondWithNewView(other);
    assertEquals(result(await p), [false, ["Uint8Array", 0, 3, 10, 4, 5, 6]]);
    assertEquals(request.view, null);
    assertThrows(() => request.respond(1), TypeError);
  },

  async "respond() checks bytesWritten"() {
    const [rs, c] = controlledByteStream();
    const p = rs.getReader({ mode: "byob" }).read(new Uint8Array(4));
    await microtasks();
    const request = c.byobRequest;
    assertThrows(() => request.respond(5), RangeError);
    assertThrows(() => request.respond(0), TypeError);
    assertThrows(() => request.respond(-1), TypeError);
    assertThrows(() => request.respond(Infinity), TypeError);
    assertThrows(() => request.respond(), TypeError);
    request.respond(4.7);
    assertEquals(result(await p), [false, ["Uint8Array", 0, 4, 4, 0, 0, 0, 0]]);
  },

  async "byobRequest after close: respond(0) ends pending reads"() {
    const [reader, c] = controlledByobReader();
    const log = [];
    reader.read(new Uint8Array(4)).then((r) => log.push(["a", ...result(r)]));
    reader.read(new Uint16Array(1)).then((r) => log.push(["b", ...result(r)]));
    await microtasks();
    const request = c.byobRequest;
    c.close();
    assert(c.byobRequest === request);
    assertThrows(() => request.respond(1), TypeError);
    request.respond(0);
    assertEquals(c.byobRequest, null);
    await microtasks();
    assertEquals(log, [
      ["a", true, ["Uint8Array", 0, 0, 4]],
      ["b", true, ["Uint16Array", 0, 0, 2]],
    ]);
    assertEquals(result(await reader.read(new Uint8Array(1))), [true, ["Uint8Array", 0, 0, 1]]);
  },

  async "close() with a partly filled element errors the stream"() {
    const [reader, c] = controlledByobReader();
    const p = reader.read(new Uint16Array(2));
    await microtasks();
    c.enqueue(new Uint8Array([1, 2, 3]));
    await microtasks();
    // 2 bytes went to the first read; 1 byte is in the second read's buffer.
    const q = reader.read(new Uint16Array(2));
    assertEquals(result(await p), [false, ["Uint16Array", 0, 2, 4, 0x0201]]);
    await microtasks();
    const e = assertThrows(() => c.close(), TypeError);
    assert((await assertRejects(q, TypeError)) === e);
    assert((await assertRejects(reader.closed, TypeError)) === e);
  },

  async "queued bytes that cannot fill an element error a BYOB read after close"() {
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([1]));
        c.close();
      },
    });
    const reader = rs.getReader({ mode: "byob" });
    await assertRejects(reader.read(new Uint16Array(1)), TypeError);
    await assertRejects(reader.closed, TypeError);
  },

  async autoAllocateChunkSize() {
    const log = [];
    let n = 0;
    const rs = new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 4,
      pull(c) {
        n++;
        const request = c.byobRequest;
        log.push(describe(request.view));
        request.view[0] = n;
        request.respond(n);
        if (n === 2) c.close();
      },
    });
    const reader = rs.getReader();
    assertEquals(result(await reader.read()), [false, ["Uint8Array", 0, 1, 4, 1]]);
    assertEquals(result(await reader.read()), [false, ["Uint8Array", 0, 2, 4, 2, 0]]);
    assertEquals(result(await reader.read()), [true, undefined]);
    assertEquals(log, [
      ["Uint8Array", 0, 4, 4, 0, 0, 0, 0],
      ["Uint8Array", 0, 4, 4, 0, 0, 0, 0],
    ]);
  },

  async "autoAllocateChunkSize: enqueue() instead of respond()"() {
    const rs = new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 16,
      pull(c) {
        assertEquals(c.byobRequest.view.byteLength, 16);
        c.enqueue(new Uint8Array([7, 7]));
        assertEquals(c.byobRequest, null);
      },
    });
    assertEquals(result(await rs.getReader().read()), [false, ["Uint8Array", 0, 2, 2, 7, 7]]);
  },

  "constructor checks"() {
    assertThrows(() => new ReadableStream({ type: "bytes", autoAllocateChunkSize: 0 }), TypeError);
    assertThrows(() => new ReadableStream({ type: "bytes", autoAllocateChunkSize: -1 }), TypeError);
    assertThrows(() => new ReadableStream({ type: "bytes", autoAllocateChunkSize: NaN }), TypeError);
    assertThrows(() => new ReadableStream({ type: "bytes", autoAllocateChunkSize: Infinity }), TypeError);
    new ReadableStream({ type: "bytes", autoAllocateChunkSize: 1.5 });
    new ReadableStream({ type: "bytes", autoAllocateChunkSize: "3" });
    assertThrows(() => new ReadableStream({ type: "bytes" }, { size: () => 1 }), RangeError);
    assertThrows(() => new ReadableStream({ type: "bytes" }, { highWaterMark: -1 }), RangeError);
    assertThrows(() => new ReadableStream({ type: "byte" }), TypeError);
    assertThrows(() => new ReadableStream().getReader({ mode: "byob" }), TypeError);
    assertThrows(() => new ReadableStream({ type: "bytes" }).getReader({ mode: "nope" }), TypeError);
    assertThrows(() => new ReadableStreamBYOBReader(new ReadableStream()), TypeError);
    assertThrows(() => new ReadableStreamBYOBReader({}), TypeError);
    assertThrows(() => new ReadableByteStreamController(), TypeError);
    assertThrows(() => new ReadableStreamBYOBRequest(), TypeError);
    let startError;
    assertThrows(
      () =>
        new ReadableStream({
          type: "bytes",
          start() {
            startError = new SyntaxError("start");
            throw startError;
          },
        }),
      SyntaxError,
    );
  },

  async "high water mark and desiredSize"() {
    const pulls = [];
    const [rs, c] = controlledByteStream(
      {
        pull(controller) {
          pulls.push(controller.desiredSize);
        },
      },
      { highWaterMark: 4 },
    );
    assertEquals(c.desiredSize, 4);
    await microtasks();
    assertEquals(pulls, [4]);
    c.enqueue(new Uint8Array(3));
    assertEquals(c.desiredSize, 1);
    await microtasks();
    assertEquals(pulls, [4, 1]);
    c.enqueue(new Uint8Array(3));
    assertEquals(c.desiredSize, -2);
    await microtasks();
    assertEquals(pulls, [4, 1]);
    const reader = rs.getReader();
    await reader.read();
    await microtasks();
    assertEquals(c.desiredSize, 1);
    assertEquals(pulls, [4, 1, 1]);
    // A byte stream's default high water mark is 0.
    assertEquals(controlledByteStream()[1].desiredSize, 0);
  },

  async "enqueue() checks"() {
    const [rs, c] = controlledByteStream();
    assertThrows(() => c.enqueue(), TypeError);
    assertThrows(() => c.enqueue({}), TypeError);
    assertThrows(() => c.enqueue(new ArrayBuffer(2)), TypeError);
    assertThrows(() => c.enqueue(new Uint8Array(0)), TypeError);
    assertThrows(() => c.enqueue(new Uint8Array(new ArrayBuffer(0))), TypeError);
    c.enqueue(new Uint8Array([1]));
    c.close();
    assertThrows(() => c.enqueue(new Uint8Array(1)), TypeError);
    assertThrows(() => c.close(), TypeError);
    const reader = rs.getReader();
    await reader.read();
    assertEquals((await reader.read()).done, true);
    assertThrows(() => c.close(), TypeError);
    assertThrows(() => c.enqueue(new Uint8Array(1)), TypeError);
    c.error(new Error("ignored once closed"));
    await reader.closed;
  },

  async "a default reader's pending reads are filled in order"() {
    const [rs, c] = controlledByteStream();
    const reader = rs.getReader();
    const log = [];
    reader.read().then((r) => log.push(["r1", ...result(r)]));
    reader.read().then((r) => log.push(["r2", ...result(r)]));
    c.enqueue(new Uint8Array([1]));
    c.enqueue(new Uint8Array([2, 3]));
    c.enqueue(new Uint8Array([4]));
    assertEquals(c.desiredSize, -1);
    c.close();
    reader.read().then((r) => log.push(["r3", ...result(r)]));
    reader.read().then((r) => log.push(["r4", ...result(r)]));
    await microtasks();
    assertEquals(log, [
      ["r1", false, ["Uint8Array", 0, 1, 1, 1]],
      ["r2", false, ["Uint8Array", 0, 2, 2, 2, 3]],
      ["r3", false, ["Uint8Array", 0, 1, 1, 4]],
      ["r4", true, undefined],
    ]);
  },

  async "releasing a BYOB reader with a pending read hands the filled bytes to the next reader"() {
    const [rs, c] = controlledByteStream();
    const reader = rs.getReader({ mode: "byob" });
    const p = reader.read(new Uint8Array(4));
    await microtasks();
    const request = c.byobRequest;
    request.view[0] = 42;
    reader.releaseLock();
    await assertRejects(p, TypeError);
    await assertRejects(reader.closed, TypeError);
    // The source can still respond; the byte goes to the queue.
    assert(c.byobRequest === request);
    request.respond(1);
    assertEquals(c.byobRequest, null);
    assertEquals(result(await rs.getReader().read()), [false, ["Uint8Array", 0, 1, 1, 42]]);
  },

  async "releasing with a pending read, then a new BYOB read waits for the old request"() {
    const [rs, c] = controlledByteStream();
    const reader = rs.getReader({ mode: "byob" });
    reader.read(new Uint8Array(4)).catch(() => {});
    await microtasks();
    const request = c.byobRequest;
    request.view.set([1, 2, 3]);
    reader.releaseLock();
    const reader2 = rs.getReader({ mode: "byob" });
    const p = reader2.read(new Uint8Array(2));
    await microtasks();
    assert(c.byobRequest === request, "the first request stays until it is answered");
    request.respond(3);
    assertEquals(result(await p), [false, ["Uint8Array", 0, 2, 2, 1, 2]]);
    assertEquals(result(await reader2.read(new Uint8Array(2))), [false, ["Uint8Array", 0, 1, 2, 3]]);
  },

  async "cancel() resolves pending BYOB reads as done and clears the request"() {
    let cancelArgs;
    const [rs, c] = controlledByteStream({
      cancel(reason) {
        cancelArgs = [reason, c.byobRequest];
      },
    });
    const reader = rs.getReader({ mode: "byob" });
    const p1 = reader.read(new Uint8Array(4));
    const p2 = reader.read(new Uint8Array(2));
    await microtasks();
    const request = c.byobRequest;
    await reader.cancel("why");
    assertEquals(cancelArgs, ["why", null]);
    assertEquals(request.view, null);
    assertEquals(await p1, { done: true });
    assertEquals((await p2).value, undefined);
    assertEquals(result(await reader.read(new Uint8Array(3))), [true, ["Uint8Array", 0, 0, 3]]);
  },

  async "error() rejects pending BYOB reads"() {
    const [reader, c] = controlledByobReader();
    const p = reader.read(new Uint8Array(4));
    await microtasks();
    const error = new Error("boom");
    c.error(error);
    assertEquals(c.byobRequest, null);
    assertEquals(c.desiredSize, null);
    assert((await assertRejects(p)) === error);
    assert((await assertRejects(reader.read(new Uint8Array(1)))) === error);
    assert((await assertRejects(reader.closed)) === error);
  },

  async "pull() and start() rejections error the stream"() {
    const rs = new ReadableStream({
      type: "bytes",
      pull() {
        throw new RangeError("pull");
      },
    });
    await assertRejects(rs.getReader({ mode: "byob" }).read(new Uint8Array(1)), RangeError);
    const rs2 = new ReadableStream({
      type: "bytes",
      start() {
        return Promise.reject(new URIError("start"));
      },
    });
    await assertRejects(rs2.getReader().read(), URIError);
  },

  async "read into DataView and other typed arrays"() {
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
        c.close();
      },
    });
    const reader = rs.getReader({ mode: "byob" });
    assertEquals(result(await reader.read(new DataView(new ArrayBuffer(3), 1), { min: 2 })), [false, ["DataView", 1, 2, 3, 1, 2]]);
    assertEquals(result(await reader.read(new Int8Array(2))), [false, ["Int8Array", 0, 2, 2, 3, 4]]);
    const big = await reader.read(new BigUint64Array(1));
    assert(big.value[0] === 0x0c0b0a0908070605n);
    assertEquals(result(await reader.read(new Float64Array(1))), [true, ["Float64Array", 0, 0, 8]]);
  },

  async "BYOB reader: closed, releaseLock(), cancel() after release"() {
    const rs = new ReadableStream({ type: "bytes" });
    const reader = new ReadableStreamBYOBReader(rs);
    assert(rs.locked);
    assertThrows(() => rs.getReader(), TypeError);
    assertThrows(() => new ReadableStreamBYOBReader(rs), TypeError);
    reader.releaseLock();
    reader.releaseLock();
    assert(!rs.locked);
    await assertRejects(reader.closed, TypeError);
    await assertRejects(reader.read(new Uint8Array(1)), TypeError);
    await assertRejects(reader.cancel(), TypeError);
    const closed = new ReadableStream({
      type: "bytes",
      start(c) {
        c.close();
      },
    });
    await closed.getReader({ mode: "byob" }).closed;
  },

  async "async iteration over a byte stream"() {
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([1, 2]));
        c.enqueue(new Uint8Array([3]));
        c.close();
      },
    });
    const chunks = [];
    for await (const chunk of rs) chunks.push(describe(chunk));
    assertEquals(chunks, [
      ["Uint8Array", 0, 2, 2, 1, 2],
      ["Uint8Array", 0, 1, 1, 3],
    ]);
  },

  async "tee() of a byte stream gives byte streams with independent copies"() {
    let n = 0;
    const pulls = [];
    const rs = new ReadableStream({
      type: "bytes",
      pull(c) {
        n++;
        pulls.push(c.byobRequest && c.byobRequest.view.byteLength);
        if (n > 3) {
          c.close();
          return;
        }
        c.enqueue(new Uint8Array([n, n]));
      },
    });
    const [a, b] = rs.tee();
    const ra = a.getReader();
    const rb = b.getReader({ mode: "byob" });
    const a1 = await ra.read();
    assertEquals(result(await rb.read(new Uint8Array(1))), [false, ["Uint8Array", 0, 1, 1, 1]]);
    assertEquals(result(await rb.read(new Uint8Array(3))), [false, ["Uint8Array", 0, 1, 3, 1]]);
    a1.value[0] = 99; // branch b got its own copy
    assertEquals(result(a1), [false, ["Uint8Array", 0, 2, 2, 99, 1]]);
    assertEquals(result(await ra.read()), [false, ["Uint8Array", 0, 2, 2, 2, 2]]);
    assertEquals(result(await ra.read()), [false, ["Uint8Array", 0, 2, 2, 3, 3]]);
    // Branch b has queued what branch a pulled.
    assertEquals(result(await rb.read(new Uint8Array(3))), [false, ["Uint8Array", 0, 3, 3, 2, 2, 3]]);
    assertEquals(result(await rb.read(new Uint8Array(3))), [false, ["Uint8Array", 0, 1, 3, 3]]);
    assertEquals(result(await ra.read()), [true, undefined]);
    assertEquals(result(await rb.read(new Uint8Array(3))), [true, ["Uint8Array", 0, 0, 3]]);
    assertEquals(pulls, [null, null, null, null]);
  },

  async "tee() of a byte stream: BYOB reads on both branches pull with a BYOB request"() {
    let n = 0;
    const log = [];
    const rs = new ReadableStream({
      type: "bytes",
      pull(c) {
        n++;
        const request = c.byobRequest;
        log.push(["pull", n, request && request.view.byteLength]);
        if (n > 2) {
          c.close();
          request.respond(0);
          return;
        }
        request.view[0] = n;
        request.respond(1);
      },
    });
    const [a, b] = rs.tee();
    const ra = a.getReader({ mode: "byob" });
    const rb = b.getReader({ mode: "byob" });
    log.push(["a", ...result(await ra.read(new Uint8Array(4)))]);
    log.push(["b", ...result(await rb.read(new Uint8Array(2)))]);
    log.push(["b", ...result(await rb.read(new Uint8Array(2)))]);
    log.push(["a", ...result(await ra.read(new Uint8Array(4)))]);
    log.push(["a", ...result(await ra.read(new Uint8Array(4)))]);
    log.push(["b", ...result(await rb.read(new Uint8Array(2)))]);
    assertEquals(log, [
      ["pull", 1, 4],
      ["a", false, ["Uint8Array", 0, 1, 4, 1]],
      ["b", false, ["Uint8Array", 0, 1, 2, 1]],
      ["pull", 2, 2],
      ["b", false, ["Uint8Array", 0, 1, 2, 2]],
      ["a", false, ["Uint8Array", 0, 1, 4, 2]],
      ["pull", 3, 4],
      ["a", true, ["Uint8Array", 0, 0, 4]],
      ["b", true, ["Uint8Array", 0, 0, 2]],
    ]);
  },

  async "tee() of a byte stream: cancel both branches cancels the source with both reasons"() {
    let reason;
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([1]));
      },
      cancel(r) {
        reason = r;
      },
    });
    const [a, b] = rs.tee();
    const ra = a.getReader();
    assertEquals(result(await ra.read()), [false, ["Uint8Array", 0, 1, 1, 1]]);
    const log = [];
    ra.cancel("r1").then(() => log.push("a"));
    await microtasks();
    assertEquals(log, []);
    await b.cancel("r2").then(() => log.push("b"));
    await microtasks();
    assertEquals(log, ["a", "b"]);
    assertEquals(reason, ["r1", "r2"]);
  },

  async "tee() of a byte stream: an error reaches both branches"() {
    const [rs, c] = controlledByteStream();
    const [a, b] = rs.tee();
    const pa = a.getReader({ mode: "byob" }).read(new Uint8Array(2));
    const pb = b.getReader().read();
    await microtasks();
    const error = new Error("boom");
    c.error(error);
    assert((await assertRejects(pa)) === error);
    assert((await assertRejects(pb)) === error);
  },

  async "tee() of a byte stream: close with pending BYOB reads on both branches"() {
    const [rs, c] = controlledByteStream();
    const [a, b] = rs.tee();
    const pa = a.getReader({ mode: "byob" }).read(new Uint8Array(2));
    const pb = b.getReader({ mode: "byob" }).read(new Uint8Array(3));
    await microtasks();
    c.close();
    c.byobRequest.respond(0);
    assertEquals(result(await pa), [true, ["Uint8Array", 0, 0, 2]]);
    assertEquals(result(await pb), [true, ["Uint8Array", 0, 0, 3]]);
  },

  async "Response bodies are byte streams"() {
    const body = new Response("hello").body;
    const reader = body.getReader({ mode: "byob" });
    const r = await reader.read(new Uint8Array(3));
    assertEquals(new TextDecoder().decode(r.value), "hel");
    const r2 = await reader.read(new Uint8Array(8));
    assertEquals(new TextDecoder().decode(r2.value), "lo");
    assert((await reader.read(new Uint8Array(1))).done);
    assertEquals(await new Response(new Response("abc").body).text(), "abc");
    const [x, y] = new Response("tee").body.tee();
    assertEquals(await new Response(x).text(), "tee");
    assertEquals(await new Response(y).text(), "tee");
  },

  "interfaces"() {
    assertInterfaces({
      ReadableByteStreamController: ["byobRequest", "close", "desiredSize", "enqueue", "error"],
      ReadableStreamBYOBReader: ["cancel", "closed", "read", "releaseLock"],
      ReadableStreamBYOBRequest: ["respond", "respondWithNewView", "view"],
    });
    assertEquals(ReadableStreamBYOBReader.length, 1);
    assertEquals(ReadableStreamBYOBReader.prototype.read.length, 1);
    assertEquals(ReadableStreamBYOBRequest.prototype.respond.length, 1);
    assertEquals(ReadableByteStreamController.prototype.enqueue.length, 1);
    assertThrows(() => Object.getOwnPropertyDescriptor(ReadableByteStreamController.prototype, "desiredSize").get.call({}), TypeError);
  },
};
