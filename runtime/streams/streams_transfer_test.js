// ArrayBuffer transfer in byte streams: the buffers the Streams spec
// transfers are detached (native.transferArrayBuffer). A detached
// ArrayBuffer has a byteLength of 0 and cannot be viewed.

import { assert, assertEquals, assertThrows, assertRejects, microtasks } from "../../runtime/testing/assert.js";
import { controlledByobReader, controlledByteStream } from "../../runtime/testing/streams.js";

function isDetached(buffer) {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

// Detaches `view`'s buffer by enqueueing it into another byte stream.
function detach(view) {
  controlledByteStream()[1].enqueue(view);
}

export default {
  async "enqueue() detaches the chunk's buffer"() {
    const [rs, c] = controlledByteStream();
    const buffer = new ArrayBuffer(4);
    const chunk = new Uint8Array(buffer, 1, 2);
    chunk.set([5, 6]);
    c.enqueue(chunk);
    assert(isDetached(buffer), "enqueued buffer detached");
    assertEquals(chunk.byteLength, 0);
    // Enqueueing it again fails.
    assertThrows(() => c.enqueue(chunk), TypeError);
    const { value } = await rs.getReader().read();
    assertEquals([value.byteOffset, value.byteLength, value.buffer.byteLength, ...value], [1, 2, 4, 5, 6]);
  },

  async "read(view) detaches the view's buffer and returns a view on the transferred one"() {
    const [reader, c] = controlledByobReader();
    const buffer = new ArrayBuffer(8);
    const view = new Uint8Array(buffer, 2, 4);
    const p = reader.read(view);
    assert(isDetached(buffer), "the reader's buffer is detached by read()");
    await microtasks();
    const request = c.byobRequest.view;
    assert(request.buffer !== buffer);
    assertEquals(request.buffer.byteLength, 8);
    request.set([1, 2]);
    c.byobRequest.respond(2);
    assert(isDetached(request.buffer), "respond() detaches the request's buffer");
    const { value } = await p;
    assertEquals([value.byteOffset, value.byteLength, value.buffer.byteLength, ...value], [2, 2, 8, 1, 2]);
    // The returned buffer can be reused for the next read.
    c.enqueue(new Uint8Array([3]));
    const r2 = await reader.read(new Uint8Array(value.buffer));
    assertEquals([...r2.value.subarray(0, 1)], [3]);
    assert(isDetached(value.buffer));
  },

  async "respondWithNewView() detaches the new view's buffer"() {
    const [rs, c] = controlledByteStream();
    const p = rs.getReader({ mode: "byob" }).read(new Uint8Array(4));
    await microtasks();
    const replacement = new Uint8Array(new ArrayBuffer(4), 0, 1);
    replacement[0] = 9;
    c.byobRequest.respondWithNewView(replacement);
    assert(isDetached(replacement.buffer));
    assertEquals([...(await p).value], [9]);
  },

  async "enqueue() detaches the byobRequest's buffer; respond() afterwards throws"() {
    const [reader, c] = controlledByobReader();
    const p = reader.read(new Uint8Array(4));
    await microtasks();
    const request = c.byobRequest;
    const requestView = request.view;
    c.enqueue(new Uint8Array([1, 2, 3, 4, 5]));
    assert(isDetached(requestView.buffer), "the request's buffer is detached");
    assertEquals(request.view, null);
    assertThrows(() => request.respond(1), TypeError);
    assertEquals([...(await p).value], [1, 2, 3, 4]);
    assertEquals([...(await reader.read(new Uint8Array(4))).value], [5]);
  },

  async "enqueue(byobRequest.view) throws: its buffer is the request's"() {
    const [rs, c] = controlledByteStream();
    rs.getReader({ mode: "byob" }).read(new Uint8Array(4)).catch(() => {});
    await microtasks();
    const view = c.byobRequest.view;
    assertThrows(() => c.enqueue(view), TypeError);
  },

  async "respond() after the request's buffer was detached elsewhere throws"() {
    const [rs, c] = controlledByteStream();
    rs.getReader({ mode: "byob" }).read(new Uint8Array(4)).catch(() => {});
    await microtasks();
    const request = c.byobRequest;
    // Enqueueing the request's view into another stream detaches it.
    detach(request.view);
    assertThrows(() => request.respond(1), TypeError);
  },

  async "read() with a detached view rejects"() {
    const rs = new ReadableStream({ type: "bytes" });
    const reader = rs.getReader({ mode: "byob" });
    const view = new Uint8Array(4);
    detach(view);
    assert(isDetached(view.buffer));
    await assertRejects(reader.read(view), TypeError);
  },

  async "read(view) on a closed stream detaches and returns an empty view"() {
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.close();
      },
    });
    const buffer = new ArrayBuffer(4);
    const { done, value } = await rs.getReader({ mode: "byob" }).read(new Uint16Array(buffer, 2, 1));
    assert(done);
    assert(isDetached(buffer));
    assert(value instanceof Uint16Array);
    assertEquals([value.byteOffset, value.byteLength, value.buffer.byteLength], [2, 0, 4]);
  },

  async "tee() clones chunks: detaching one branch's chunk leaves the other"() {
    const rs = new ReadableStream({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([1, 2, 3]));
        c.close();
      },
    });
    const [a, b] = rs.tee();
    const { value: va } = await a.getReader().read();
    // Move branch a's chunk into another stream, detaching it.
    detach(va);
    assert(isDetached(va.buffer));
    const { value: vb } = await b.getReader().read();
    assertEquals([...vb], [1, 2, 3]);
  },

  async "non-transferable buffers: a WebAssembly.Memory buffer"() {
    if (typeof WebAssembly !== "object") return;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const [rs, c] = controlledByteStream();
    assertThrows(() => c.enqueue(new Uint8Array(memory.buffer, 0, 4)), TypeError);
    const reader = rs.getReader({ mode: "byob" });
    await assertRejects(reader.read(new Uint8Array(memory.buffer, 0, 4)), TypeError);
  },
};
