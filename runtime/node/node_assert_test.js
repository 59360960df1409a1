// node:assert against Node.js (messages printed by Node 20).

import assert, { AssertionError, strictEqual, deepStrictEqual } from "node:assert";
import strict from "node:assert/strict";
import { assert as check, assertEquals, assertRejects } from "../../runtime/testing/assert.js";

function failure(fn) {
  try {
    fn();
  } catch (e) {
    return [e.name, e.code, e.message, e.operator, e.generatedMessage];
  }
  throw new Error("expected an AssertionError");
}

export default {
  "failures carry Node's messages and fields"() {
    assertEquals(failure(() => strictEqual(1, 2)),
      ["AssertionError", "ERR_ASSERTION", "Expected values to be strictly equal:\n\n1 !== 2\n", "strictEqual", true]);
    assertEquals(failure(() => deepStrictEqual({ a: 1 }, { a: 2 })),
      ["AssertionError", "ERR_ASSERTION", "Expected values to be strictly deep-equal:\n+ actual - expected\n\n  {\n+   a: 1\n-   a: 2\n  }", "deepStrictEqual", true]);
    assertEquals(failure(() => assert.ok(0)), ["AssertionError", "ERR_ASSERTION", "0 == true", "==", true]);
    assertEquals(failure(() => assert(0, "custom")), ["AssertionError", "ERR_ASSERTION", "custom", "==", false]);
    assertEquals(failure(() => assert.throws(() => {})),
      ["AssertionError", "ERR_ASSERTION", "Missing expected exception.", "throws", false]);
    assertEquals(failure(() => assert.equal(1, 2)), ["AssertionError", "ERR_ASSERTION", "1 == 2", "==", true]);
    assertEquals(failure(() => assert.notStrictEqual(1, 1)),
      ["AssertionError", "ERR_ASSERTION", 'Expected "actual" to be strictly unequal to: 1', "notStrictEqual", true]);
    assertEquals(failure(() => assert.deepEqual([1], [2])),
      ["AssertionError", "ERR_ASSERTION", "Expected values to be loosely deep-equal:\n\n[\n  1\n]\n\nshould loosely deep-equal\n\n[\n  2\n]", "deepEqual", true]);
    assertEquals(failure(() => assert.throws(() => {
      throw new TypeError("x");
    }, RangeError)), ["AssertionError", "ERR_ASSERTION",
      'The error is expected to be an instance of "RangeError". Received "TypeError"\n\nError message:\n\nx', "throws", false]);
    assertEquals(failure(() => assert.match("abc", /x/)),
      ["AssertionError", "ERR_ASSERTION", "The input did not match the regular expression /x/. Input:\n\n'abc'\n", "match", true]);
    assertEquals(failure(() => assert.ifError(new Error("e"))),
      ["AssertionError", "ERR_ASSERTION", "ifError got unwanted exception: e", "ifError", false]);
    assertEquals(failure(() => assert.fail()), ["AssertionError", "ERR_ASSERTION", "Failed", "fail", true]);
    assertEquals(failure(() => assert.fail("boom")), ["AssertionError", "ERR_ASSERTION", "boom", "fail", false]);
    assertEquals(failure(() => strict.equal(1, "1")),
      ["AssertionError", "ERR_ASSERTION", "Expected values to be strictly equal:\n\n1 !== '1'\n", "strictEqual", true]);
  },

  "passing assertions pass"() {
    assert.deepEqual(1, "1");
    assert.deepStrictEqual(new Map([[{ a: 1 }, [1]]]), new Map([[{ a: 1 }, [1]]]));
    assert.notDeepStrictEqual({ a: 1 }, { a: "1" });
    assert.throws(() => {
      throw new Error("abc");
    }, /ab/);
    assert.throws(() => {
      throw new Error("abc");
    }, { message: "abc" });
    assert.doesNotThrow(() => {});
    assert.ifError(null);
    check(strict.strict === strict && assert.strict === strict);
    check(new AssertionError({ actual: 1, expected: 2, operator: "strictEqual" }) instanceof Error);
  },

  async "rejects and doesNotReject"() {
    await assert.rejects(Promise.reject(new Error("x")), Error);
    await assert.doesNotReject(async () => {});
    const e = await assertRejects(assert.rejects(Promise.resolve()));
    assertEquals(e.message, "Missing expected rejection.");
  },
};
