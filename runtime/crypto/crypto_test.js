// crypto.getRandomValues and crypto.randomUUID.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

export default {
  "crypto is a Crypto"() {
    assert(crypto instanceof Crypto);
    assertEquals(Object.prototype.toString.call(crypto), "[object Crypto]");
    assertThrows(() => new Crypto(), TypeError);
    assert(crypto.subtle instanceof SubtleCrypto);
  },

  "getRandomValues fills and returns the same array"() {
    for (const Type of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array]) {
      const a = new Type(64);
      const r = crypto.getRandomValues(a);
      assert(r === a, Type.name);
      assert(a.some((v) => v != 0), `${Type.name} got filled`);
    }
    const empty = new Uint8Array(0);
    assert(crypto.getRandomValues(empty) === empty);
  },

  "getRandomValues fills only the view"() {
    const buf = new Uint8Array(32);
    crypto.getRandomValues(buf.subarray(8, 24));
    assert(buf.subarray(0, 8).every((v) => v === 0));
    assert(buf.subarray(24).every((v) => v === 0));
  },

  "non-integer arrays throw TypeMismatchError"() {
    for (const a of [new Float32Array(4), new Float64Array(4), new DataView(new ArrayBuffer(4))]) {
      const err = assertThrows(() => crypto.getRandomValues(a), DOMException);
      assertEquals(err.name, "TypeMismatchError");
      assertEquals(err.code, 17);
    }
  },

  "non-views throw TypeError"() {
    assertThrows(() => crypto.getRandomValues(), TypeError);
    assertThrows(() => crypto.getRandomValues(new ArrayBuffer(4)), TypeError);
    assertThrows(() => crypto.getRandomValues([1, 2]), TypeError);
  },

  "more than 65536 bytes throws QuotaExceededError"() {
    crypto.getRandomValues(new Uint8Array(65536));
    const err = assertThrows(() => crypto.getRandomValues(new Uint8Array(65537)), DOMException);
    assertEquals(err.name, "QuotaExceededError");
    assertEquals(err.code, 22);
    assert(err instanceof QuotaExceededError);
    assertEquals(err.constructor, QuotaExceededError);
    assertEquals([err.quota, err.requested], [null, null]);
    assertThrows(() => crypto.getRandomValues(new Uint32Array(16385)), QuotaExceededError);
  },

  "QuotaExceededError: a DOMException with quota and requested"() {
    const e = new QuotaExceededError("over", { quota: 10, requested: 12 });
    assert(e instanceof DOMException && e instanceof Error);
    assertEquals([e.name, e.message, e.code, e.quota, e.requested], ["QuotaExceededError", "over", 22, 10, 12]);
    assertEquals(Object.prototype.toString.call(e), "[object QuotaExceededError]");
    const plain = new QuotaExceededError();
    assertEquals([plain.message, plain.quota, plain.requested], ["", null, null]);
    assertThrows(() => new QuotaExceededError("", { quota: -1 }), RangeError);
    assertThrows(() => new QuotaExceededError("", { quota: 5, requested: 4 }), RangeError);
    assertThrows(() => new QuotaExceededError("", { quota: NaN }), TypeError);
    assertThrows(() => new QuotaExceededError("", 5), TypeError);
    // Each option is read once, quota first.
    const reads = [];
    new QuotaExceededError("", new Proxy({ quota: 1, requested: 2 }, {
      get(target, key) {
        reads.push(key);
        return target[key];
      },
    }));
    assertEquals(reads, ["quota", "requested"]);
    assertThrows(() => QuotaExceededError(), TypeError);
  },

  "randomUUID is a v4 UUID"() {
    const re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const seen = new Set();
    for (let i = 0; i < 50; i++) {
      const id = crypto.randomUUID();
      assert(re.test(id), id);
      seen.add(id);
    }
    assertEquals(seen.size, 50);
  },

  "methods are brand checked"() {
    assertEquals(typeof Crypto.prototype.getRandomValues, "function");
  },
};
