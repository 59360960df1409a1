// IdentityTransformStream and FixedLengthStream are evaluated on first use
// (runtime/lazy_js.h), so after this worker replaced, at its top level, the
// built-ins their pipe runs on: the byte controller's and the BYOB
// request's methods and accessors, the writable controller's error, and
// %TypedArray%.prototype.set. Each replacement records its calls and then
// does what the original did. The streams made afterwards must use none of
// them (they use what the runtime captured before any tenant code ran), and
// must carry exactly the bytes written.

import { assert, assertEquals, assertRejects, readChunks } from "../../runtime/testing/assert.js";

const ReflectApply = Reflect.apply;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ArrayPrototypePush = Array.prototype.push;

const hits = [];
let armed = true;
function record(what) {
  if (armed) ReflectApply(ArrayPrototypePush, hits, [what]);
}

function replaceMethod(prototype, name, label) {
  const original = prototype[name];
  ObjectDefineProperty(prototype, name, {
    __proto__: null,
    value: function (...args) {
      record(`${label}.${name}()`);
      return ReflectApply(original, this, args);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

function replaceGetter(prototype, name, label) {
  const desc = ObjectGetOwnPropertyDescriptor(prototype, name);
  const original = desc.get;
  ObjectDefineProperty(prototype, name, {
    __proto__: null,
    get() {
      record(`${label}.${name} (get)`);
      return ReflectApply(original, this, []);
    },
    enumerable: desc.enumerable,
    configurable: true,
  });
}

// Before anything reads IdentityTransformStream or FixedLengthStream.
const byteController = ReadableByteStreamController.prototype;
replaceMethod(byteController, "enqueue", "ReadableByteStreamController");
replaceMethod(byteController, "close", "ReadableByteStreamController");
replaceMethod(byteController, "error", "ReadableByteStreamController");
replaceGetter(byteController, "byobRequest", "ReadableByteStreamController");
replaceMethod(ReadableStreamBYOBRequest.prototype, "respond", "ReadableStreamBYOBRequest");
replaceGetter(ReadableStreamBYOBRequest.prototype, "view", "ReadableStreamBYOBRequest");
replaceMethod(WritableStreamDefaultController.prototype, "error", "WritableStreamDefaultController");
replaceMethod(Object.getPrototypeOf(Uint8Array.prototype), "set", "%TypedArray%.prototype");

export default {
  async "a FixedLengthStream made after the patches uses none of them"() {
    const { readable, writable } = new FixedLengthStream(5);
    const writer = writable.getWriter();
    const reading = readChunks(readable);
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.write(new Uint8Array([4, 5]));
    await writer.close();
    const chunks = await reading;
    armed = false;
    assertEquals(chunks.map((c) => Array.from(c)), [[1, 2, 3], [4, 5]]);
    assertEquals(hits, []);
    armed = true;
  },

  async "a BYOB read through an IdentityTransformStream uses none of them"() {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const reader = readable.getReader({ mode: "byob" });
    const writing = writer.write(new Uint8Array([7, 8, 9, 10]));
    const first = await reader.read(new Uint8Array(3));
    const second = await reader.read(new Uint8Array(3));
    await writing;
    const closing = writer.close();
    const end = await reader.read(new Uint8Array(1));
    await closing;
    armed = false;
    assertEquals(Array.from(first.value), [7, 8, 9]);
    assertEquals(Array.from(second.value), [10]);
    assert(end.done);
    assertEquals(hits, []);
    armed = true;
  },

  async "a wrong byte count errors both sides without them"() {
    const { readable, writable } = new FixedLengthStream(1);
    const writer = writable.getWriter();
    const reading = readChunks(readable);
    await assertRejects(writer.write(new Uint8Array([1, 2])), TypeError);
    await assertRejects(reading, TypeError);
    armed = false;
    assertEquals(hits, []);
    armed = true;
  },

  "the globals are the lazily made interfaces"() {
    armed = false;
    for (const name of ["IdentityTransformStream", "FixedLengthStream"]) {
      const desc = ObjectGetOwnPropertyDescriptor(globalThis, name);
      assert(desc.writable && !desc.enumerable && desc.configurable, name);
      assertEquals(typeof desc.value, "function", name);
    }
    assert(new FixedLengthStream(0) instanceof TransformStream);
    armed = true;
  },
};
