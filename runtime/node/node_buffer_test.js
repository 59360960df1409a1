// node:buffer against Node.js: the expected values were printed by Node 20
// (`node -e`) for the same calls. Run with the nodejs_compat flag
// (test/CMakeLists.txt).

import { Buffer, kMaxLength, constants, atob, btoa, Blob, isUtf8, isAscii, transcode } from "node:buffer";
import bufferDefault from "buffer";
import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

const inputs = ["", "hello", "héllo wörld €😀", "\u0000\u00ff\u0100", "a\ud800b"];
const encoded = {
  utf8: ["", "68656c6c6f", "68c3a96c6c6f2077c3b6726c6420e282acf09f9880", "00c3bfc480", "61efbfbd62"],
  utf16le: ["", "680065006c006c006f00", "6800e9006c006c006f0020007700f60072006c0064002000ac203dd800de", "0000ff000001", "610000d86200"],
  latin1: ["", "68656c6c6f", "68e96c6c6f2077f6726c6420ac3d00", "00ff00", "610062"],
  ascii: ["", "68656c6c6f", "68e96c6c6f2077f6726c6420ac3d00", "00ff00", "610062"],
  base64: ["", "85e965", "865968c2b95d", "", "69"],
  base64url: ["", "85e965", "865968c2b95d", "", "69"],
  hex: ["", "", "", "", ""],
};
const bytes = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x41, 0xe2, 0x82, 0xac, 0xf0, 0x9f];
const decoded = {
  utf8: "\u0000\u0001\u007f\ufffd\ufffd\ufffdA€\ufffd",
  utf16le: "\u0100\u807f\ufeff\ue241\uac82\u9ff0",
  latin1: "\u0000\u0001\u007f\u0080ÿþAâ\u0082¬ð\u009f",
  base64: "AAF/gP/+QeKCrPCf",
  base64url: "AAF_gP_-QeKCrPCf",
  hex: "00017f80fffe41e282acf09f",
};
const base64Inputs = {
  "aGVsbG8": ["68656c6c6f", "68656c6c6f", "", 5, 3],
  "aGVs bG8=\n": ["68656c6c6f", "68656c6c6f", "", 7, 5],
  "_-8": ["ffef", "ffef", "", 2, 1],
  "zz": ["cf", "cf", "", 1, 1],
  "0a0b0": ["d1ad1b", "d1ad1b", "0a0b", 3, 2],
  "+/+/": ["fbffbf", "fbffbf", "", 3, 2],
};

export default {
  "every encoding encodes as Node does"() {
    for (const [encoding, expected] of Object.entries(encoded)) {
      for (let i = 0; i < inputs.length; i++) {
        assertEquals(Buffer.from(inputs[i], encoding).toString("hex"), expected[i], `${encoding} ${i}`);
      }
    }
    assertEquals(Buffer.from("abc", "UCS-2").toString("hex"), "610062006300");
    assertEquals(Buffer.from("é", "BINARY").toString("hex"), "e9");
  },

  "every encoding decodes as Node does"() {
    const buffer = Buffer.from(bytes);
    for (const [encoding, expected] of Object.entries(decoded)) {
      assertEquals(buffer.toString(encoding), expected, encoding);
    }
    // ascii drops the high bit of each byte (Node's documented behaviour).
    assertEquals(Buffer.from([0x41, 0xc1, 0x7f]).toString("ascii"), "AA\u007f");
    // A UTF-8 BOM is kept, as Node keeps it.
    assertEquals(Buffer.from([0xef, 0xbb, 0xbf, 0x61]).toString(), "\ufeffa");
  },

  "base64 and hex decoding is lenient as Node's"() {
    for (const [input, [b64, b64url, hex, b64Length, hexLength]] of Object.entries(base64Inputs)) {
      assertEquals(Buffer.from(input, "base64").toString("hex"), b64, input);
      assertEquals(Buffer.from(input, "base64url").toString("hex"), b64url, input);
      assertEquals(Buffer.from(input, "hex").toString("hex"), hex, input);
      assertEquals(Buffer.byteLength(input, "base64"), b64Length, input);
      assertEquals(Buffer.byteLength(input, "hex"), hexLength, input);
    }
    assertEquals(Buffer.byteLength("héllo"), 6);
    assertEquals(Buffer.byteLength("😀", "utf16le"), 4);
    assertEquals(Buffer.byteLength(new Uint16Array(3)), 6);
  },

  "numbers read and write as Node's"() {
    const b = Buffer.alloc(16);
    const results = [b.writeUInt16BE(0x1234, 0), b.writeInt32LE(-5, 2), b.writeFloatBE(1.5, 6), b.writeDoubleLE(-0.1, 8)];
    assertEquals(results, [2, 6, 10, 16]);
    assertEquals(b.toString("hex"), "1234fbffffff3fc09a9999999999b9bf");
    assertEquals([b.readUInt16LE(0), b.readInt32LE(2), b.readFloatBE(6), b.readDoubleLE(8), b.readUIntBE(1, 3),
      b.readIntLE(2, 6)], [13330, -5, 1.5047179460525513, -0.1, 3472383, -70093866270725]);
    assertEquals(String(b.readBigInt64LE(8)), "-4631501856787818086");
    assertEquals(String(b.readBigUInt64BE(0)), "1311950468401807296");
    assertEquals(b.readUint16LE, b.readUInt16LE);
    const c = Buffer.alloc(8);
    c.writeBigInt64BE(-2n);
    assertEquals(c.toString("hex"), "fffffffffffffffe");
    c.writeIntBE(-123456789012, 0, 6);
    assertEquals(c.toString("hex"), "ffe34166e5ecfffe");
  },

  "out-of-range numbers and offsets throw Node's errors"() {
    const b = Buffer.alloc(8);
    const cases = [
      [() => b.writeUInt32LE(-1), "ERR_OUT_OF_RANGE", 'The value of "value" is out of range. It must be >= 0 and <= 4294967295. Received -1'],
      [() => b.writeInt8(200), "ERR_OUT_OF_RANGE", 'The value of "value" is out of range. It must be >= -128 and <= 127. Received 200'],
      [() => b.readUInt32LE(6), "ERR_OUT_OF_RANGE", 'The value of "offset" is out of range. It must be >= 0 and <= 4. Received 6'],
      [() => b.readUInt8(1.5), "ERR_OUT_OF_RANGE", 'The value of "offset" is out of range. It must be an integer. Received 1.5'],
      [() => b.writeBigInt64LE(2n ** 63n), "ERR_OUT_OF_RANGE", 'The value of "value" is out of range. It must be >= -(2n ** 63n) and < 2n ** 63n. Received 9_223_372_036_854_775_808n'],
      [() => b.writeUIntLE(1, 0, 7), "ERR_OUT_OF_RANGE", 'The value of "byteLength" is out of range. It must be >= 1 and <= 6. Received 7'],
      [() => Buffer.alloc(2).readUInt32LE(0), "ERR_BUFFER_OUT_OF_BOUNDS", "Attempt to access memory outside buffer bounds"],
    ];
    for (const [fn, code, message] of cases) {
      const error = assertThrows(fn);
      assertEquals([error.code, error.message], [code, message]);
    }
    assertEquals(assertThrows(() => b.readUInt8("1"), TypeError).code, "ERR_INVALID_ARG_TYPE");
  },

  "search, swap, fill, copy, compare, concat as Node"() {
    const x = Buffer.from("abcabcabc");
    assertEquals([x.indexOf("c"), x.indexOf("bc", 3), x.lastIndexOf("abc"), x.lastIndexOf("a", -4), x.indexOf(99, -3),
      x.includes("cab"), x.indexOf(""), x.indexOf("", 20), x.indexOf(Buffer.from("ca")), x.lastIndexOf("")],
    [2, 4, 6, 3, 8, true, 0, 9, 2, 9]);
    const y = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    assertEquals(y.swap16().toString("hex"), "0201040306050807");
    assertEquals(y.swap32().toString("hex"), "0304010207080506");
    assertEquals(y.swap64().toString("hex"), "0605080702010403");
    assertEquals(assertThrows(() => Buffer.alloc(3).swap16(), RangeError).code, "ERR_INVALID_BUFFER_SIZE");
    assertEquals(Buffer.alloc(10, "abc").toString(), "abcabcabca");
    assertEquals(Buffer.alloc(5, "aGk=", "base64").toString("hex"), "6869686968");
    assertEquals(Buffer.alloc(4).fill(0x101).toString("hex"), "01010101");
    assertEquals(Buffer.from("hello").fill("x", 1, 3).toString(), "hxxlo");
    const s = Buffer.from("hello world");
    const t = Buffer.alloc(5);
    assertEquals(s.copy(t, 1, 6), 4);
    assertEquals(t.toString("hex"), "00776f726c");
    assertEquals(s.copy(s, 0, 6), 5);
    assertEquals(s.toString(), "world world");
    assertEquals(Buffer.compare(Buffer.from("a"), Buffer.from("b")), -1);
    assertEquals(Buffer.from("abc").compare(Buffer.from("xbcx"), 1, 3, 1), 0);
    assertEquals(Buffer.concat([Buffer.from("ab"), new Uint8Array([99])], 5).toString("hex"), "6162630000");
    assertEquals(JSON.stringify(Buffer.from("hi")), '{"type":"Buffer","data":[104,105]}');
    assert(Buffer.from("abc").equals(new Uint8Array([97, 98, 99])));
  },

  "slices share memory and are Buffers"() {
    const b = Buffer.from("hello");
    const slice = b.slice(1, -1);
    assertEquals(slice.toString(), "ell");
    assert(Buffer.isBuffer(slice) && Buffer.isBuffer(b.subarray(1)));
    slice[0] = 0x45;
    assertEquals(b.toString(), "hEllo");
    assertEquals(b.subarray(-2).toString(), "lo");
    assertEquals(Buffer.from("héllo").toString("utf8", 1, 3), "é");
    assertEquals(Buffer.from("hello").write("XY", 1), 2);
    assertEquals(Buffer.from("hello").toString("latin1", 2), "llo");
    // A view of an ArrayBuffer, not a copy.
    const ab = new ArrayBuffer(4);
    const view = Buffer.from(ab, 1, 2);
    view[0] = 7;
    assertEquals(new Uint8Array(ab)[1], 7);
  },

  "module exports and Buffer's shape"() {
    assertEquals(kMaxLength, 2 ** 32);
    assertEquals(constants.MAX_LENGTH, 2 ** 32);
    assertEquals(constants.MAX_STRING_LENGTH, 536870888);
    assertEquals(bufferDefault.Buffer, Buffer);
    assertEquals(btoa("hi"), "aGk=");
    assertEquals(atob("aGk="), "hi");
    assert(new Blob(["x"]).size === 1);
    assert(Buffer.from("x") instanceof Uint8Array);
    assertEquals(Buffer.prototype.constructor, Buffer);
    assert(Buffer.isEncoding("UTF-8") && Buffer.isEncoding("base64url") && !Buffer.isEncoding("utf32"));
    assert(isUtf8(Buffer.from("é")) && !isUtf8(Buffer.from([0xff])));
    assert(isAscii(Buffer.from("a")) && !isAscii(Buffer.from("é")));
    assertEquals(transcode(Buffer.from("hé€"), "utf8", "latin1").toString("hex"), "68e93f");
    assertEquals(Buffer.from(new Uint16Array([1, 256])).toString("hex"), "0100");
    assertEquals(Buffer.from({ type: "Buffer", data: [1, 2] }).toString("hex"), "0102");
    assertEquals(Buffer.from(new String("ab")).toString(), "ab");
    assertEquals(Buffer.of(1, 2).toString("hex"), "0102");
    assertEquals(Buffer(3).length, 3);
  },

  "inspect prints as Node"() {
    assertEquals(Buffer.from("hello")[Symbol.for("nodejs.util.inspect.custom")](), "<Buffer 68 65 6c 6c 6f>");
    const long = Buffer.alloc(60);
    assertEquals(long[Symbol.for("nodejs.util.inspect.custom")](),
      `<Buffer ${"00 ".repeat(50).trim()} ... 10 more bytes>`);
  },

  "bad sizes and encodings give errors, not crashes"() {
    const huge = assertThrows(() => Buffer.alloc(2 ** 40), RangeError);
    assertEquals(huge.code, "ERR_OUT_OF_RANGE");
    assertEquals(huge.message, 'The value of "size" is out of range. It must be >= 0 && <= 4294967296. Received 1_099_511_627_776');
    assertEquals(assertThrows(() => Buffer.alloc(-1), RangeError).code, "ERR_OUT_OF_RANGE");
    assertEquals(assertThrows(() => Buffer.alloc("x"), TypeError).code, "ERR_INVALID_ARG_TYPE");
    // (Within kMaxLength but over the worker's memory_mb, the worker is
    // stopped as for any allocation: node_modules_test.cc.)
    assertEquals(assertThrows(() => Buffer.from("x", "utf32"), TypeError).code, "ERR_UNKNOWN_ENCODING");
    assertEquals(assertThrows(() => Buffer.from({}), TypeError).code, "ERR_INVALID_ARG_TYPE");
    assertThrows(() => Buffer.concat([1]), TypeError);
    assertThrows(() => Buffer.from("a").toString("nope"), TypeError);
  },

  "a worker's patched built-ins change nothing"() {
    const saved = {
      set: Uint8Array.prototype.set, subarray: Uint8Array.prototype.subarray,
      fill: Uint8Array.prototype.fill, encodeInto: TextEncoder.prototype.encodeInto,
      decode: TextDecoder.prototype.decode,
    };
    const boom = () => {
      throw new Error("patched");
    };
    try {
      Object.getPrototypeOf(Uint8Array.prototype).set = boom;
      Object.getPrototypeOf(Uint8Array.prototype).subarray = boom;
      Object.getPrototypeOf(Uint8Array.prototype).fill = boom;
      TextEncoder.prototype.encodeInto = boom;
      TextDecoder.prototype.decode = boom;
      Object.defineProperty(Uint8Array, Symbol.species, { get: boom, configurable: true });
      Object.prototype.type = "Buffer";
      const b = Buffer.concat([Buffer.from("héllo"), Buffer.alloc(2, "z")]);
      assertEquals(b.toString(), "héllozz");
      assertEquals(b.subarray(1, 3).toString("hex"), "c3a9");
      assertEquals(Buffer.alloc(3, 1).toString("hex"), "010101");
    } finally {
      delete Object.prototype.type;
      const typed = Object.getPrototypeOf(Uint8Array.prototype);
      typed.set = saved.set;
      typed.subarray = saved.subarray;
      typed.fill = saved.fill;
      TextEncoder.prototype.encodeInto = saved.encodeInto;
      TextDecoder.prototype.decode = saved.decode;
      delete Uint8Array[Symbol.species];
    }
  },

  "Proxies as arguments are read as objects"() {
    const proxy = new Proxy([1, 2, 3], {});
    assertEquals(Buffer.from(proxy).toString("hex"), "010203");
    const trap = new Proxy({}, { get() { throw new Error("trap"); } });
    assertThrows(() => Buffer.from(trap), Error);
    assertEquals(Buffer.concat(new Proxy([Buffer.from("a")], {})).toString(), "a");
  },

  "large fills and repeats stay linear"() {
    const b = Buffer.alloc(1 << 20, "abc");
    assertEquals(b.toString("latin1", (1 << 20) - 3), "bca");
    assertEquals(Buffer.from("ab".repeat(1 << 16), "hex").length, 1 << 16);
    assertEquals(Buffer.from("ab".repeat(1 << 16)).toString("base64").length, 174764);
  },
};
