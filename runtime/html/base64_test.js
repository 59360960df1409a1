// atob/btoa (forgiving-base64).

import { assertEquals, assertThrows } from "../../runtime/testing/assert.js";

function assertInvalidCharacter(fn, message = "") {
  const err = assertThrows(fn, DOMException, message);
  assertEquals(err.name, "InvalidCharacterError", message);
  assertEquals(err.code, 5, message);
}

// Binary strings and their base64.
const encodings = [
  ["", ""],
  ["f", "Zg=="],
  ["fo", "Zm8="],
  ["foo", "Zm9v"],
  ["foobar", "Zm9vYmFy"],
  ["\u00ff\u00fe\u0000", "//4A"],
];

export default {
  "btoa basics"() {
    for (const [text, encoded] of encodings) assertEquals(btoa(text), encoded, JSON.stringify(text));
    assertEquals(btoa(null), "bnVsbA==");
    assertEquals(btoa(12), "MTI=");
  },

  "btoa rejects characters above U+00FF"() {
    for (const input of ["€", "abc\u0100", "ab\u0100", "a\u0100", "\ud83d\ude00"]) {
      assertInvalidCharacter(() => btoa(input), JSON.stringify(input));
    }
  },

  "atob basics"() {
    for (const [text, encoded] of encodings) assertEquals(atob(encoded), text, encoded);
  },

  "atob is forgiving: padding optional, whitespace ignored"() {
    // Non-zero trailing bits ("Zh==") are discarded.
    const forgiven = [["Zg", "f"], ["Zm8", "fo"], [" Zm 9v\tYm\nFy\f\r ", "foobar"], ["Zg= =", "f"], ["Zh==", "f"]];
    for (const [input, text] of forgiven) assertEquals(atob(input), text, JSON.stringify(input));
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
