// DOMException.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

export default {
  "name, message and code"() {
    const e = new DOMException("msg", "NotFoundError");
    assertEquals(e.name, "NotFoundError");
    assertEquals(e.message, "msg");
    assertEquals(e.code, 8);
    const d = new DOMException();
    assertEquals(d.name, "Error");
    assertEquals(d.message, "");
    assertEquals(d.code, 0);
    assertEquals(new DOMException("x", "CustomName").code, 0);
  },

  "legacy code table"() {
    const table = {
      IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
      NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InUseAttributeError: 10,
      InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14,
      InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20,
      URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24,
      DataCloneError: 25, EncodingError: 0, NotReadableError: 0, DataError: 0, OperationError: 0,
    };
    for (const [name, code] of Object.entries(table)) {
      assertEquals(new DOMException("", name).code, code, name);
    }
  },

  "constants on constructor and prototype"() {
    assertEquals(DOMException.INDEX_SIZE_ERR, 1);
    assertEquals(DOMException.DATA_CLONE_ERR, 25);
    assertEquals(DOMException.prototype.ABORT_ERR, 20);
    assertEquals(new DOMException().QUOTA_EXCEEDED_ERR, 22);
    const desc = Object.getOwnPropertyDescriptor(DOMException, "ABORT_ERR");
    assert(desc.enumerable && !desc.writable && !desc.configurable);
  },

  "inherits from Error"() {
    const e = new DOMException("m", "AbortError");
    assert(e instanceof DOMException);
    assert(e instanceof Error);
    assert(Object.getPrototypeOf(DOMException.prototype) === Error.prototype);
    assertEquals(Object.prototype.toString.call(e), "[object DOMException]");
    assertEquals(String(e), "AbortError: m");
  },

  "has a stack"() {
    const e = new DOMException("stacked", "AbortError");
    assert(typeof e.stack === "string");
    assert(e.stack.includes("stacked"), e.stack);
  },

  "getters are on the prototype and brand-checked"() {
    assert(!Object.prototype.hasOwnProperty.call(new DOMException(), "message"));
    const getter = Object.getOwnPropertyDescriptor(DOMException.prototype, "name").get;
    assertThrows(() => getter.call({}), TypeError);
  },

  "can be thrown and caught"() {
    try {
      throw new DOMException("boom", "SyntaxError");
    } catch (e) {
      assertEquals(e.name, "SyntaxError");
      assertEquals(e.code, 12);
    }
  },

  "subclassing"() {
    class MyError extends DOMException {
      constructor() {
        super("mine", "NotSupportedError");
      }
    }
    const e = new MyError();
    assertEquals(e.code, 9);
    assert(e instanceof MyError && e instanceof DOMException);
  },
};
