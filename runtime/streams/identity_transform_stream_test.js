// IdentityTransformStream and FixedLengthStream: bytes pass through as
// copies, anything else is a TypeError, FixedLengthStream errors on a wrong
// byte count and tells a Response its length.

import { assert, assertEquals, assertRejects, assertThrows, microtasks, utf8, readChunks } from "../../runtime/testing/assert.js";

export default {
  "the interfaces are globals and TransformStreams"() {
    for (const name of ["IdentityTransformStream", "FixedLengthStream"]) {
      const desc = Object.getOwnPropertyDescriptor(globalThis, name);
      assert(desc && !desc.enumerable && desc.writable && desc.configurable, name);
    }
    assert(new IdentityTransformStream() instanceof TransformStream);
    assert(new FixedLengthStream(3) instanceof TransformStream);
  },

  async "bytes pass through as copies"() {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const chunk = new Uint8Array([1, 2, 3]);
    const reading = readChunks(readable);
    await writer.write(chunk);
    chunk[0] = 9;
    await writer.write(new DataView(new Uint8Array([4, 5]).buffer, 1, 1));
    await writer.write(new Uint16Array([0x0706]).buffer);
    await writer.write(new Uint8Array(0));
    await writer.close();
    const chunks = await reading;
    assertEquals(chunks.map((c) => [...c]), [[1, 2, 3], [5], [6, 7]]);
    assert(chunks.every((c) => c instanceof Uint8Array));
  },

  async "anything but bytes is a TypeError that errors the stream"() {
    for (const bad of ["text", 5, { byteLength: 1 }, null]) {
      const { readable, writable } = new IdentityTransformStream();
      const writer = writable.getWriter();
      readable.getReader().read().catch(() => {});
      await assertRejects(writer.write(bad), TypeError, String(bad));
    }
  },

  async "FixedLengthStream refuses too many bytes"() {
    const { readable, writable } = new FixedLengthStream(3);
    const writer = writable.getWriter();
    const reading = readChunks(readable);
    await writer.write(utf8("ab"));
    await assertRejects(writer.write(utf8("cd")), TypeError);
    await assertRejects(reading, TypeError);
  },

  async "FixedLengthStream refuses too few bytes at close"() {
    const { readable, writable } = new FixedLengthStream(3n);
    const writer = writable.getWriter();
    const reading = readChunks(readable);
    await writer.write(utf8("ab"));
    await assertRejects(writer.close(), TypeError);
    await assertRejects(reading, TypeError);
  },

  async "FixedLengthStream with the right count, as a Response body"() {
    const { readable, writable } = new FixedLengthStream(5);
    const writer = writable.getWriter();
    writer.write(utf8("hel"));
    writer.write(utf8("lo"));
    writer.close();
    assertEquals(await new Response(readable).text(), "hello");
  },

  async "the readable side is a byte stream: BYOB reads take what fits"() {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const reader = readable.getReader({ mode: "byob" });
    const written = writer.write(new Uint8Array([1, 2, 3, 4, 5]));
    let result = await reader.read(new Uint8Array(2));
    assertEquals([...result.value], [1, 2]);
    result = await reader.read(new Uint8Array(10));
    assertEquals([...result.value], [3, 4, 5]);
    await written;
    const closed = writer.close();
    result = await reader.read(new Uint8Array(4));
    assert(result.done);
    await closed;
  },

  async "a write resolves once its bytes are read"() {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    let resolved = false;
    const written = writer.write(new Uint8Array([7])).then(() => (resolved = true));
    await microtasks();
    assert(!resolved, "resolved before any read");
    const reader = readable.getReader();
    assertEquals([...(await reader.read()).value], [7]);
    await written;
    assert(resolved);
  },

  async "pipeThrough, and cancelling the readable side errors the writable one"() {
    const piped = new Response("abc").body.pipeThrough(new IdentityTransformStream());
    assertEquals(await new Response(piped).text(), "abc");
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const written = writer.write(new Uint8Array([1]));
    await readable.cancel(new RangeError("gone"));
    await assertRejects(written, RangeError);
    await assertRejects(writer.write(new Uint8Array([2])), RangeError);
  },

  async "the highWaterMark option lets writes through before reads"() {
    const { readable, writable } = new IdentityTransformStream({ highWaterMark: 16 });
    const writer = writable.getWriter();
    await writer.write(new Uint8Array([1, 2]));
    await writer.write(new Uint8Array([3]));
    const reader = readable.getReader();
    assertEquals([...(await reader.read()).value], [1, 2]);
  },

  "bad lengths are RangeErrors"() {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, "x"]) {
      assertThrows(() => new FixedLengthStream(bad), RangeError, String(bad));
    }
    assertThrows(() => new FixedLengthStream(), TypeError);
    assertThrows(() => new FixedLengthStream(1, 5), TypeError);
  },

  async "a patched enqueue or byteLength getter changes nothing"() {
    const controllerProto = ReadableByteStreamController.prototype;
    const savedEnqueue = controllerProto.enqueue;
    const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
    const savedLength = Object.getOwnPropertyDescriptor(typedArrayProto, "byteLength");
    const { readable, writable } = new FixedLengthStream(2);
    const writer = writable.getWriter();
    const reading = readChunks(readable);
    controllerProto.enqueue = function () {
      return savedEnqueue.call(this, new Uint8Array(100));
    };
    Object.defineProperty(typedArrayProto, "byteLength", { get() { return 0; }, configurable: true });
    try {
      await writer.write(new Uint8Array([1, 2]));
    } finally {
      controllerProto.enqueue = savedEnqueue;
      Object.defineProperty(typedArrayProto, "byteLength", savedLength);
    }
    await writer.close();
    assertEquals((await reading).map((c) => [...c]), [[1, 2]]);
  },
};
