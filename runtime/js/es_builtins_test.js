// The ECMAScript built-ins the runtime adds to V8 10.2 (es_*.js): their
// shape, and that a tenant's patches to the built-ins they run on change
// nothing but what the specification makes observable. test262 checks the
// semantics (test/conformance/test262_test.cc).

import { assert, assertEquals, assertRejects, assertThrows, microtasks } from "../../runtime/testing/assert.js";

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);

// [object, name, length] of every method added.
const METHODS = [
  [Array.prototype, "toReversed", 0], [Array.prototype, "toSorted", 1], [Array.prototype, "toSpliced", 2],
  [Array.prototype, "with", 2], [Array, "fromAsync", 1], [TypedArrayPrototype, "toReversed", 0],
  [TypedArrayPrototype, "toSorted", 1], [TypedArrayPrototype, "with", 2], [Object, "groupBy", 2],
  [Map, "groupBy", 2], [Promise, "withResolvers", 0], [Set.prototype, "union", 1],
  [Set.prototype, "intersection", 1], [Set.prototype, "difference", 1], [Set.prototype, "symmetricDifference", 1],
  [Set.prototype, "isSubsetOf", 1], [Set.prototype, "isSupersetOf", 1], [Set.prototype, "isDisjointFrom", 1],
  [String.prototype, "isWellFormed", 0], [String.prototype, "toWellFormed", 0],
  [ArrayBuffer.prototype, "transfer", 0], [ArrayBuffer.prototype, "transferToFixedLength", 0],
];

// Runs fn with `patches` ([object, key, value]) applied, then restores
// them. Index loops only: the patches may include Array.prototype's
// iterator, which destructuring and for-of would call.
function withPatches(patches, fn) {
  // map defines its elements: no index setter a test added sees them.
  const saved = patches.map((patch) => Object.getOwnPropertyDescriptor(patch[0], patch[1]));
  try {
    for (let i = 0; i < patches.length; i++) {
      Object.defineProperty(patches[i][0], patches[i][1], { value: patches[i][2], writable: true, configurable: true });
    }
    return fn();
  } finally {
    for (let i = 0; i < patches.length; i++) {
      if (saved[i] === undefined) delete patches[i][0][patches[i][1]];
      else Object.defineProperty(patches[i][0], patches[i][1], saved[i]);
    }
  }
}

// Runs fn with a setter for "0" and "1" on Array.prototype and
// Object.prototype; returns what the setters saw.
function withIndexSetters(fn) {
  const seen = [];
  const targets = [Array.prototype, Object.prototype];
  for (const target of targets) {
    for (const key of ["0", "1"]) {
      Object.defineProperty(target, key, { set(v) { seen.push(v); }, get() { return "poison"; }, configurable: true });
    }
  }
  try {
    fn();
  } finally {
    for (const target of targets) {
      delete target["0"];
      delete target["1"];
    }
  }
  return seen;
}

const boom = () => {
  throw new Error("a patched built-in ran");
};

export default {
  "methods are writable, non-enumerable, configurable, with their length and name"() {
    for (const [object, name, length] of METHODS) {
      const desc = Object.getOwnPropertyDescriptor(object, name);
      assert(desc !== undefined, `${name} is missing`);
      assert(desc.writable && !desc.enumerable && desc.configurable, `${name} has the wrong attributes`);
      assertEquals(desc.value.length, length, `${name}.length`);
      assertEquals(desc.value.name, name, `${name}.name`);
      assert(!Object.prototype.hasOwnProperty.call(desc.value, "prototype"), `${name} has a prototype`);
      assertThrows(() => new desc.value(), TypeError, `new ${name}`);
      assert(Object.getPrototypeOf(desc.value) === Function.prototype, `${name}'s prototype`);
    }
    const detached = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached");
    assert(typeof detached.get === "function" && detached.set === undefined && !detached.enumerable && detached.configurable);
    assertEquals(detached.get.name, "get detached");
    const unscopables = Array.prototype[Symbol.unscopables];
    assert(unscopables.toReversed && unscopables.toSorted && unscopables.toSpliced && !("with" in unscopables));
  },

  "change-by-copy methods give new arrays and leave the receiver alone"() {
    const a = [3, 1, undefined, 2];
    assertEquals(a.toSorted(), [1, 2, 3, undefined]);
    assertEquals(a.toReversed(), [2, undefined, 1, 3]);
    assertEquals(a.toSpliced(1, 2, "x"), [3, "x", 2]);
    assertEquals(a.with(-1, 9), [3, 1, undefined, 9]);
    assertEquals(a, [3, 1, undefined, 2]);
    assertThrows(() => a.with(4, 0), RangeError);
    assertThrows(() => a.toSorted("not a function"), TypeError);
    assertEquals(Array.from(new Int8Array([3, -1, 2]).toSorted()), [-1, 2, 3]);
    assertEquals(Array.from(new BigInt64Array([1n, 2n]).with(0, 5n), String), ["5", "2"]);
    assertThrows(() => new BigInt64Array(1).with(0, 1), TypeError);
    assertThrows(() => TypedArrayPrototype.toReversed.call([1]), TypeError);
  },

  "patched Array.prototype methods and index setters do not change the results"() {
    const items = new Set([1, 2, 3]);
    const seen = withIndexSetters(() =>
      withPatches(
        [[Array.prototype, "push", boom], [Array.prototype, "sort", boom], [Array.prototype, Symbol.iterator, boom],
          [Array, Symbol.species, boom]],
        () => {
          assertEquals([2, 1].toSorted(), [1, 2]);
          assertEquals([2, 1].toReversed(), [1, 2]);
          assertEquals([2, 1].with(0, 5), [5, 1]);
          assertEquals([2, 1].toSpliced(0, 1, 7, 8), [7, 8, 1]);
          const byParity = Object.groupBy(items, (v) => (v % 2 ? "odd" : "even"));
          assertEquals(Object.getPrototypeOf(byParity), null);
          assertEquals(byParity.odd.length, 2);
        },
      ),
    );
    assertEquals(seen, []);
  },

  "the receiver is read as the specification says, a Proxy's traps in order"() {
    const log = [];
    const target = { length: 2, 0: "b", 1: "a" };
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        log.push(String(key));
        return Reflect.get(t, key, receiver);
      },
    });
    assertEquals(Array.prototype.toSorted.call(proxy), ["a", "b"]);
    assertEquals(log, ["length", "0", "1"]);
    log.length = 0;
    assertEquals(Array.prototype.with.call(proxy, 0, "z"), ["z", "a"]);
    assertEquals(log, ["length", "1"]);
  },

  "huge lengths give the specification's errors"() {
    assertThrows(() => Array.prototype.toSorted.call({ length: 2 ** 32 }), RangeError);
    assertThrows(() => Array.prototype.toReversed.call({ length: 2 ** 32 }), RangeError);
    assertThrows(() => Array.prototype.toSpliced.call({ length: 2 ** 53 - 1 }, 0, 0, 1), TypeError);
    assertThrows(() => Array.prototype.with.call({ length: 2 ** 32 }, 0, 0), RangeError);
    assertThrows(() => new ArrayBuffer(8).transfer(2 ** 53), RangeError);
  },

  "Set methods read the receiver with the original Set methods"() {
    const a = new Set([1, 2, 3]);
    const b = new Set([3, 4]);
    // The argument's keys() is read as the specification says (here an
    // array iterator); the receiver is read with the original Set methods.
    const setLikeB = { size: 2, has: (v) => v === 3 || v === 4, keys: () => [3, 4][Symbol.iterator]() };
    withPatches(
      [[Set.prototype, "add", boom], [Set.prototype, "forEach", boom], [Set.prototype, "values", boom],
        [Set.prototype, "has", boom], [Set.prototype, Symbol.iterator, boom],
        [Object.getPrototypeOf(new Set().values()), "next", boom]],
      () => {
        assertEquals(a.union(setLikeB).size, 4);
        assertEquals(a.intersection(setLikeB).size, 1);
        assertEquals(a.difference(setLikeB).size, 2);
        assertEquals(a.symmetricDifference(setLikeB).size, 3);
        assert(!a.isSubsetOf(setLikeB) && !a.isSupersetOf(setLikeB) && !a.isDisjointFrom(setLikeB));
      },
    );
    assertEquals([...a.union(b)], [1, 2, 3, 4]);
    assert(new Set([1]).isSubsetOf(a) && a.isSupersetOf(new Set([1])) && a.isDisjointFrom(new Set([9])));
    // A set-like is read through size, has and keys, in that order.
    const log = [];
    const setLike = {
      get size() { log.push("size"); return 1; },
      get has() { log.push("has"); return () => true; },
      get keys() { log.push("keys"); return () => [3][Symbol.iterator](); },
    };
    assertEquals([...a.intersection(setLike)], [3]);
    assertEquals(log, ["size", "has", "keys"]);
    assertThrows(() => a.union({ size: NaN, has() {}, keys() {} }), TypeError);
    assertThrows(() => a.union({ size: -1, has() {}, keys() {} }), RangeError);
    assertThrows(() => Set.prototype.union.call(new Map(), b), TypeError);
  },

  "Map.groupBy and Object.groupBy group in first-seen order"() {
    withPatches([[Map.prototype, "set", boom], [Map.prototype, "get", boom]], () => {
      const map = Map.groupBy([1, 2, 3, -0], (v) => (v === 2 ? 0 : v));
      assertEquals([...Map.prototype.keys.call(map)].map(String), ["1", "0", "3"]);
    });
    assertThrows(() => Object.groupBy(null, () => 0), TypeError);
    assertThrows(() => Object.groupBy([], "nope"), TypeError);
    // The iterator is closed when the callback throws.
    let closed = false;
    const items = { [Symbol.iterator]() { return { next: () => ({ value: 1, done: false }), return() { closed = true; return {}; } }; } };
    assertThrows(() => Object.groupBy(items, () => { throw new RangeError("stop"); }), RangeError);
    assert(closed);
  },

  async "Promise.withResolvers and Array.fromAsync"() {
    const { promise, resolve, reject } = Promise.withResolvers();
    assert(promise instanceof Promise && typeof resolve === "function" && typeof reject === "function");
    resolve(5);
    assertEquals(await promise, 5);
    assertThrows(() => Promise.withResolvers.call(undefined), TypeError);
    const patched = withPatches([[Promise.prototype, "then", boom], [Array.prototype, "push", boom]], () =>
      Array.fromAsync([1, Promise.resolve(2)], (v) => v * 10),
    );
    assertEquals(await patched, [10, 20]);
    async function* gen() {
      yield 1;
      yield 2;
    }
    assertEquals(await Array.fromAsync(gen()), [1, 2]);
    assertEquals(await Array.fromAsync({ length: 2, 0: "a", 1: Promise.resolve("b") }), ["a", "b"]);
    await assertRejects(Array.fromAsync(null), TypeError);
    await assertRejects(Array.fromAsync([], 5), TypeError);
  },

  async "Array.fromAsync over an iterator that never settles stays pending"() {
    let settled = false;
    const never = { [Symbol.asyncIterator]() { return { next: () => new Promise(() => {}) }; } };
    Array.fromAsync(never).then(() => (settled = true), () => (settled = true));
    await microtasks(20);
    assert(!settled);
  },

  "well-formed strings"() {
    withPatches([[RegExp.prototype, "exec", boom], [String.prototype, "slice", boom]], () => {
      assert("abc\uD83D\uDE00".isWellFormed());
      assert(!"a\uD800b".isWellFormed());
      assertEquals("a\uD800b\uDC00".toWellFormed(), "a\uFFFDb\uFFFD");
    });
    assertThrows(() => String.prototype.isWellFormed.call(null), TypeError);
    assertThrows(() => String.prototype.toWellFormed.call(Symbol()), TypeError);
  },

  "ArrayBuffer transfer moves the bytes and detaches the original"() {
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const same = buffer.transfer();
    assert(buffer.detached && !same.detached);
    assertEquals(buffer.byteLength, 0);
    assertEquals([...new Uint8Array(same)], [1, 2, 3]);
    assertThrows(() => buffer.transfer(), TypeError);
    const longer = same.transferToFixedLength(5);
    assertEquals([...new Uint8Array(longer)], [1, 2, 3, 0, 0]);
    assertEquals([...new Uint8Array(longer.transfer(2))], [1, 2]);
    assertThrows(() => ArrayBuffer.prototype.transfer.call(new Uint8Array(1)), TypeError);
    assertThrows(() => Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached").get.call({}), TypeError);
    if (typeof WebAssembly === "object") {
      const memory = new WebAssembly.Memory({ initial: 1 });
      assertThrows(() => memory.buffer.transfer(), TypeError);
    }
  },
};
