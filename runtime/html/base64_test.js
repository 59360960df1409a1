// atob/btoa (forgiving-base64).

import { assertEquals, assertThrows } from "../../runtime/testing/assert.js";

function assertInvalidCharacter(fn, message = "") {
  const err = assertThrows(fn, DOMException, message);
  assertEquals(err.name, "InvalidCharacterError", message);
  assertEquals(err.code, 5, message);
}

export default {
  "btoa basics"() {
    assertEquals(btoa(""), "");
    assertEquals(btoa("f"), "Zg==");
    assertEquals(btoa("fo"), "Zm8=");
    assertEquals(btoa("foo"), "Zm9v");
    assertEquals(btoa("foobar"), "Zm9vYmFy");
    assertEquals(btoa("\u00ff\u00fe\u0000"), "//4A");
    assertEquals(btoa(null), "bnVsbA==");
    assertEquals(btoa(12), "MTI=");
  },

  "btoa rejects characters above U+00FF"() {
    assertInvalidCharacter(() => btoa("€"));
    assertInvalidCharacter(() => btoa("abc\u0100"));
    assertInvalidCharacter(() => btoa("ab\u0100"));
    assertInvalidCharacter(() => btoa("a\u0100"));
    assertInvalidCharacter(() => btoa("\ud83d\ude00"));
  },

  "atob basics"() {
    assertEquals(atob(""), "");
    assertEquals(atob("Zg=="), "f");
    assertEquals(atob("Zm8="), "fo");
    assertEquals(atob("Zm9v"), "foo");
    assertEquals(atob("Zm9vYmFy"), "foobar");
    assertEquals(atob("//4A"), "\u00ff\u00fe\u0000");
  },

  "atob is forgiving: padding optional, whitespace ignored"() {
    assertEquals(atob("Zg"), "f");
    assertEquals(atob("Zm8"), "fo");
    assertEquals(atob(" Zm 9v\tYm\nFy\f\r "), "foobar");
    assertEquals(atob("Zg= ="), "f");
    // Non-zero trailing bits are discarded.
    assertEquals(atob("Zh=="), "f");
    assertEquals(atob(null), "\u009e\u00e9e");
  },

  "atob rejects invalid input"() {
    for (const input of ["Z", "Zg=", "Zg===", "=Zg=", "Zm9v=", "Z===", "Zm9v!", "Zm\u00009v", "Zm9v\u000b", "Z\u00e9", "Zg==Zg==", "ab-c", "ab_c", undefined]) {
      assertInvalidCharacter(() => atob(input), JSON.stringify(input));
    }
  },

  "round trip of all byte values"() {
    let s = "";
    for (let i = 0; i < 256; i++) s += String.fromCharCode(i);
    assertEquals(atob(btoa(s)), s);
    const long = s.repeat(100);
    assertEquals(atob(btoa(long)), long);
  },

  "argument required"() {
    assertThrows(() => atob(), TypeError);
    assertThrows(() => btoa(), TypeError);
  },
};
