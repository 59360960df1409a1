// node:util (and node:util/types) against Node.js's behaviour (expected
// strings printed by Node 20 for the same calls).

import util, { promisify, callbackify, inspect, format, formatWithOptions, inherits, deprecate,
  isDeepStrictEqual, types, TextEncoder as UtilTextEncoder } from "node:util";
import utilTypes from "node:util/types";
import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

export default {
  "format and inspect print as Node"() {
    const cases = [
      [format("%s %d %i %f %j %o %O %%", "a", 1.5, 2.7, "3.5", { a: 1 }, [1], { b: 2 }),
        'a 1.5 2 3.5 {"a":1} [ 1, [length]: 1 ] { b: 2 } %'],
      [inspect({ a: { b: { c: { d: 1 } } } }, { depth: 0 }), "{ a: [Object] }"],
      [inspect("x"), "'x'"],
      [inspect([1, 2, 3]), "[ 1, 2, 3 ]"],
      [inspect(new Map([[1, 2]])), "Map(1) { 1 => 2 }"],
      [inspect({ a: 1, b: "s" }), "{ a: 1, b: 's' }"],
      [inspect(null), "null"],
      [format("a", 1, { x: 1 }), "a 1 { x: 1 }"],
      [inspect(new Error("e")).split("\n")[0], "Error: e"],
      [inspect(Symbol("s")), "Symbol(s)"],
      [inspect(123n), "123n"],
      [inspect(new Set([1])), "Set(1) { 1 }"],
      [inspect({ a: [1, 2, { b: 3 }] }, { compact: false }), "{\n  a: [\n    1,\n    2,\n    {\n      b: 3\n    }\n  ]\n}"],
      [inspect("a".repeat(5), { maxStringLength: 2 }), "'aa'... 3 more characters"],
      [inspect([1, 2, 3, 4], { maxArrayLength: 2 }), "[ 1, 2, ... 2 more items ]"],
      [inspect({ b: 1, a: 2 }, { sorted: true }), "{ a: 2, b: 1 }"],
      [format("%c%s", "css", "x"), "x"],
      [inspect(new Proxy({ a: 1 }, {})), "{ a: 1 }"],
      [formatWithOptions({ compact: false }, "%O", { a: 1 }), "{\n  a: 1\n}"],
    ];
    for (const [got, want] of cases) assertEquals(got, want);
    const custom = { [inspect.custom]: () => "custom!" };
    assertEquals(inspect(custom), "custom!");
    assertEquals(inspect.custom, Symbol.for("nodejs.util.inspect.custom"));
    assertThrows(() => formatWithOptions(1, "x"), TypeError);
  },

  async "promisify: callbacks, custom symbol, errors"() {
    const add = promisify((x, cb) => cb(null, x + 1));
    assertEquals(await add(1), 2);
    const fail = promisify((cb) => cb(new Error("nope")));
    assertEquals((await assertRejects(fail())).message, "nope");
    function withCustom() {}
    withCustom[promisify.custom] = () => Promise.resolve("custom");
    assertEquals(promisify(withCustom), withCustom[promisify.custom]);
    assertEquals(await promisify(withCustom)(), "custom");
    assertEquals(promisify.custom, Symbol.for("nodejs.util.promisify.custom"));
    const p = promisify((cb) => cb(null, 1));
    assertEquals(promisify(p), p);
    assertEquals(assertThrows(() => promisify(1), TypeError).code, "ERR_INVALID_ARG_TYPE");
  },

  async "callbackify: values, rejections, falsy rejections"() {
    const results = [];
    await new Promise((resolve) => callbackify(async (x) => x * 2)(3, (err, value) => {
      results.push([err, value]);
      resolve();
    }));
    await new Promise((resolve) => callbackify(async () => {
      throw null;
    })((err) => {
      results.push([err.code, err.message]);
      resolve();
    }));
    assertEquals(results, [[null, 6], ["ERR_FALSY_VALUE_REJECTION", "Promise was rejected with falsy value"]]);
    assertEquals(callbackify(async function named() {}).name, "namedCallbackified");
  },

  "inherits, deprecate, isDeepStrictEqual"() {
    function A() {}
    A.prototype.hello = () => "hi";
    function B() {}
    inherits(B, A);
    assertEquals(new B().hello(), "hi");
    assertEquals(B.super_, A);
    assertThrows(() => inherits(B, null), TypeError);
    let calls = 0;
    const old = deprecate(() => ++calls, "old() is deprecated", "DEP_TEST");
    old();
    old();
    assertEquals(calls, 2);
    assert(isDeepStrictEqual({ a: [1, { b: new Map([[1, new Set([2])]]) }] }, { a: [1, { b: new Map([[1, new Set([2])]]) }] }));
    assert(!isDeepStrictEqual({ a: 1 }, { a: "1" }));
    assert(!isDeepStrictEqual([1], { 0: 1, length: 1 }));
    assert(isDeepStrictEqual(NaN, NaN) && !isDeepStrictEqual(0, -0));
    const cyclic = { x: 1 };
    cyclic.self = cyclic;
    const cyclic2 = { x: 1 };
    cyclic2.self = cyclic2;
    assert(isDeepStrictEqual(cyclic, cyclic2));
    assert(isDeepStrictEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
    assert(!isDeepStrictEqual(new Uint8Array([1, 2]), new Int8Array([1, 2])));
  },

  "types use V8's checks, not what a value says it is"() {
    assert(types.isProxy(new Proxy({}, {})) && !types.isProxy({}));
    assert(types.isPromise(Promise.resolve()) && !types.isPromise({ then() {} }));
    const fake = { [Symbol.toStringTag]: "Date" };
    assert(!types.isDate(fake) && types.isDate(new Date()));
    assert(types.isRegExp(/x/) && types.isMap(new Map()) && types.isSet(new Set()));
    assert(types.isAsyncFunction(async () => {}) && types.isGeneratorFunction(function* () {}));
    assert(types.isUint8Array(new Uint8Array()) && !types.isUint8Array(new Int8Array()));
    assert(types.isAnyArrayBuffer(new ArrayBuffer(1)) && types.isArrayBufferView(new DataView(new ArrayBuffer(1))));
    assert(types.isBoxedPrimitive(Object(1n)) && !types.isBoxedPrimitive(1));
    assert(types.isNativeError(new TypeError()) && !types.isNativeError(Object.create(Error.prototype)));
    assert((function () { return types.isArgumentsObject(arguments); })());
    assertEquals(utilTypes, types);
    assertEquals(types.isMap.name, "isMap");
  },

  "TextEncoder/TextDecoder and legacy checks"() {
    assertEquals(UtilTextEncoder, TextEncoder);
    assertEquals(util.TextDecoder, TextDecoder);
    assert(util.isArray([]) && util.isPrimitive(1) && !util.isPrimitive({}) && util.isError(new Error()));
    assertEquals(util.debuglog("x").enabled, false);
    assertEquals(util.stripVTControlCharacters("\u001b[31mred\u001b[0m"), "red");
  },
};
