// TextEncoder / TextDecoder.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

const bytes = (...b) => new Uint8Array(b);

export default {
  "TextEncoder.encode"() {
    const enc = new TextEncoder();
    assertEquals(enc.encoding, "utf-8");
    assertEquals([...enc.encode("a€")], [0x61, 0xe2, 0x82, 0xac]);
    assertEquals([...enc.encode()], []);
    assertEquals([...enc.encode("\ud800")], [0xef, 0xbf, 0xbd]);
    assert(enc.encode("x") instanceof Uint8Array);
    assertEquals([...enc.encode(12)], [0x31, 0x32]);
  },

  "TextEncoder.encodeInto"() {
    const enc = new TextEncoder();
    const dest = new Uint8Array(5);
    assertEquals(enc.encodeInto("a€b", dest), { read: 3, written: 5 });
    assertEquals([...dest], [0x61, 0xe2, 0x82, 0xac, 0x62]);
    // Never splits a character.
    const small = new Uint8Array(3);
    assertEquals(enc.encodeInto("a€", small), { read: 1, written: 1 });
    // Surrogate pairs count as two code units read.
    const four = new Uint8Array(4);
    assertEquals(enc.encodeInto("😀", four), { read: 2, written: 4 });
    assertThrows(() => enc.encodeInto("a", new Uint16Array(2)), TypeError);
    assertThrows(() => enc.encodeInto("a"), TypeError);
  },

  "TextDecoder labels"() {
    assertEquals(new TextDecoder().encoding, "utf-8");
    assertEquals(new TextDecoder("UTF8").encoding, "utf-8");
    assertEquals(new TextDecoder(" unicode-1-1-utf-8 ").encoding, "utf-8");
    assertEquals(new TextDecoder("latin2").encoding, "iso-8859-2");
    assertEquals(new TextDecoder("latin1").encoding, "windows-1252");
    assertThrows(() => new TextDecoder("nope"), RangeError);
  },

  "TextDecoder options getters"() {
    const d = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    assertEquals(d.fatal, true);
    assertEquals(d.ignoreBOM, true);
    const e = new TextDecoder();
    assertEquals(e.fatal, false);
    assertEquals(e.ignoreBOM, false);
  },

  "decode various buffer sources"() {
    const d = new TextDecoder();
    const u8 = bytes(0x68, 0x69, 0x21);
    assertEquals(d.decode(u8), "hi!");
    assertEquals(d.decode(u8.buffer), "hi!");
    assertEquals(d.decode(new DataView(u8.buffer, 1)), "i!");
    assertEquals(d.decode(new Uint16Array(bytes(0x61, 0x62).buffer)), "ab");
    assertEquals(d.decode(u8.subarray(1, 2)), "i");
    assertEquals(d.decode(), "");
    if (typeof SharedArrayBuffer === "function") {
      const sab = new SharedArrayBuffer(2);
      new Uint8Array(sab).set([0x6f, 0x6b]);
      assertEquals(d.decode(sab), "ok");
      assertEquals(d.decode(new Uint8Array(sab)), "ok");
    }
    assertThrows(() => d.decode("string"), TypeError);
    assertThrows(() => d.decode([1, 2]), TypeError);
  },

  "BOM handling"() {
    const withBOM = bytes(0xef, 0xbb, 0xbf, 0x61);
    assertEquals(new TextDecoder().decode(withBOM), "a");
    assertEquals(new TextDecoder("utf-8", { ignoreBOM: true }).decode(withBOM), "\ufeffa");
  },

  "invalid sequences: replacement and fatal"() {
    assertEquals(new TextDecoder().decode(bytes(0x61, 0xff, 0x62)), "a\ufffdb");
    assertThrows(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes(0xff)), TypeError);
    assertThrows(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes(0xe2, 0x82)), TypeError);
  },

  "stream: true holds back split characters"() {
    const euro = [0xe2, 0x82, 0xac];
    for (let split = 1; split < 3; split++) {
      const d = new TextDecoder();
      let out = d.decode(bytes(0x61, ...euro.slice(0, split)), { stream: true });
      out += d.decode(bytes(...euro.slice(split), 0x62), { stream: true });
      out += d.decode();
      assertEquals(out, "a€b", `split at ${split}:`);
    }
    // Byte at a time, 4-byte character.
    const d = new TextDecoder();
    let out = "";
    for (const b of [0xf0, 0x9f, 0x98, 0x80]) out += d.decode(bytes(b), { stream: true });
    out += d.decode();
    assertEquals(out, "😀");
  },

  "stream: incomplete sequence at the end is flushed as U+FFFD"() {
    const d = new TextDecoder();
    assertEquals(d.decode(bytes(0x61, 0xe2, 0x82), { stream: true }), "a");
    assertEquals(d.decode(), "\ufffd");
    // The decoder is reusable after a flush.
    assertEquals(d.decode(bytes(0x62)), "b");
  },

  "stream: fatal decoder throws on flush of incomplete input"() {
    const d = new TextDecoder("utf-8", { fatal: true });
    assertEquals(d.decode(bytes(0xe2), { stream: true }), "");
    assertThrows(() => d.decode(), TypeError);
    assertEquals(d.decode(bytes(0x61)), "a");
  },

  "stream: invalid prefix is not held back"() {
    const d = new TextDecoder();
    // 0xE0 0x80 can never start a valid sequence.
    assertEquals(d.decode(bytes(0xe0, 0x80), { stream: true }), "\ufffd\ufffd");
    assertEquals(d.decode(), "");
  },

  "stream: BOM only stripped at the start of the stream"() {
    const d = new TextDecoder();
    assertEquals(d.decode(bytes(0xef, 0xbb), { stream: true }), "");
    assertEquals(d.decode(bytes(0xbf, 0x61), { stream: true }), "a");
    assertEquals(d.decode(bytes(0xef, 0xbb, 0xbf), { stream: true }), "\ufeff");
    assertEquals(d.decode(), "");
    // New stream after the flush: BOM stripped again.
    assertEquals(d.decode(bytes(0xef, 0xbb, 0xbf, 0x62)), "b");
  },

  "toStringTag"() {
    assertEquals(Object.prototype.toString.call(new TextEncoder()), "[object TextEncoder]");
    assertEquals(Object.prototype.toString.call(new TextDecoder()), "[object TextDecoder]");
  },
};
