// TextDecoder with every encoding of the Encoding Standard
// (https://encoding.spec.whatwg.org/#names-and-labels): labels, samples of
// each family, streaming across calls and fatal errors.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

const bytes = (...b) => new Uint8Array(b);
const codePoints = (s) => [...s].map((c) => c.codePointAt(0));

// The spec's table: encoding name, then its labels.
const table = [
  ["utf-8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"],
  ["ibm866", "866", "cp866", "csibm866", "ibm866"],
  ["iso-8859-2", "csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2", "iso_8859-2:1987", "l2", "latin2"],
  ["iso-8859-3", "csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3", "iso_8859-3:1988", "l3", "latin3"],
  ["iso-8859-4", "csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4", "iso_8859-4:1988", "l4", "latin4"],
  ["iso-8859-5", "csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595", "iso_8859-5", "iso_8859-5:1988"],
  ["iso-8859-6", "arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114", "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596", "iso_8859-6", "iso_8859-6:1987"],
  ["iso-8859-7", "csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126", "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek"],
  ["iso-8859-8", "csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138", "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual"],
  ["iso-8859-8-i", "csiso88598i", "iso-8859-8-i", "logical"],
  ["iso-8859-10", "csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6"],
  ["iso-8859-13", "iso-8859-13", "iso8859-13", "iso885913"],
  ["iso-8859-14", "iso-8859-14", "iso8859-14", "iso885914"],
  ["iso-8859-15", "csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"],
  ["iso-8859-16", "iso-8859-16"],
  ["koi8-r", "cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"],
  ["koi8-u", "koi8-ru", "koi8-u"],
  ["macintosh", "csmacintosh", "mac", "macintosh", "x-mac-roman"],
  ["windows-874", "dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"],
  ["windows-1250", "cp1250", "windows-1250", "x-cp1250"],
  ["windows-1251", "cp1251", "windows-1251", "x-cp1251"],
  ["windows-1252", "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252"],
  ["windows-1253", "cp1253", "windows-1253", "x-cp1253"],
  ["windows-1254", "cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"],
  ["windows-1255", "cp1255", "windows-1255", "x-cp1255"],
  ["windows-1256", "cp1256", "windows-1256", "x-cp1256"],
  ["windows-1257", "cp1257", "windows-1257", "x-cp1257"],
  ["windows-1258", "cp1258", "windows-1258", "x-cp1258"],
  ["x-mac-cyrillic", "x-mac-cyrillic", "x-mac-ukrainian"],
  ["gbk", "chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58", "x-gbk"],
  ["gb18030", "gb18030"],
  ["big5", "big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"],
  ["euc-jp", "cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"],
  ["iso-2022-jp", "csiso2022jp", "iso-2022-jp"],
  ["shift_jis", "csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"],
  ["euc-kr", "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"],
  ["utf-16be", "unicodefffe", "utf-16be"],
  ["utf-16le", "csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"],
  ["x-user-defined", "x-user-defined"],
];
const replacementLabels = ["csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"];

// From the spec's single-byte indexes: the code points of bytes 0x80, 0xA4,
// 0xC0, 0xD5, 0xE9 and 0xFF, and the sum of the code points of all bytes
// 0x80..0xFF (an unmapped byte counted as U+FFFD).
const singleByteSamples = {
  "ibm866": [[0x410, 0x434, 0x2514, 0x2552, 0x449, 0xa0], 572178],
  "iso-8859-2": [[0x80, 0xa4, 0x154, 0x150, 0xe9, 0x2d9], 33345],
  "iso-8859-3": [[0x80, 0xa4, 0xc0, 0x120, 0xe9, 0x2d9], 485745],
  "iso-8859-4": [[0x80, 0xa4, 0x100, 0xd5, 0xe9, 0x2d9], 31296],
  "iso-8859-5": [[0x80, 0x404, 0x420, 0x435, 0x449, 0x45f], 112144],
  "iso-8859-6": [[0x80, 0xa4, 0xfffd, 0x635, 0x649, 0xfffd], 3030442],
  "iso-8859-7": [[0x80, 0x20ac, 0x390, 0x3a5, 0x3b9, 0xfffd], 312862],
  "iso-8859-8": [[0x80, 0xa4, 0xfffd, 0xfffd, 0x5d9, 0xfffd], 2434305],
  "iso-8859-10": [[0x80, 0x12a, 0x100, 0xd5, 0xe9, 0x138], 37801],
  "iso-8859-13": [[0x80, 0xa4, 0x104, 0xd5, 0xe9, 0x2019], 61443],
  "iso-8859-14": [[0x80, 0x10a, 0xc0, 0xd5, 0xe9, 0xff], 192701],
  "iso-8859-15": [[0x80, 0x20ac, 0xc0, 0xd5, 0xe9, 0xff], 33968],
  "iso-8859-16": [[0x80, 0x20ac, 0xc0, 0x150, 0xe9, 0xff], 54152],
  "koi8-r": [[0x2500, 0x2553, 0x44e, 0x443, 0x418, 0x42a], 602074],
  "koi8-u": [[0x2500, 0x454, 0x44e, 0x443, 0x418, 0x42a], 517312],
  "macintosh": [[0xc4, 0xa7, 0xbf, 0x2019, 0xc8, 0x2c7], 472827],
  "windows-874": [[0x20ac, 0xe04, 0xe20, 0xe35, 0xe49, 0xfffd], 917588],
  "windows-1250": [[0x20ac, 0xa4, 0x154, 0x150, 0xe9, 0x2d9], 171434],
  "windows-1251": [[0x402, 0xa4, 0x410, 0x425, 0x439, 0x44f], 252370],
  "windows-1252": [[0x20ac, 0xa4, 0xc0, 0xd5, 0xe9, 0xff], 165226],
  "windows-1253": [[0x20ac, 0xa4, 0x390, 0x3a5, 0x3b9, 0xfffd], 417760],
  "windows-1254": [[0x20ac, 0xa4, 0xc0, 0xd5, 0xe9, 0xff], 165248],
  "windows-1255": [[0x20ac, 0x20aa, 0x5b0, 0x5f1, 0x5d9, 0xfffd], 906942],
  "windows-1256": [[0x20ac, 0xa4, 0x6c1, 0x635, 0xe9, 0x6d2], 280033],
  "windows-1257": [[0x20ac, 0xa4, 0x104, 0xd5, 0xe9, 0x2d9], 299581],
  "windows-1258": [[0x20ac, 0xa4, 0xc0, 0x1a0, 0xe9, 0xff], 176189],
  "x-mac-cyrillic": [[0x410, 0xa7, 0x458, 0x2019, 0x439, 0x20ac], 272521],
};

export default {
  "every label maps to its encoding"() {
    let count = 0;
    for (const [name, ...labels] of table) {
      for (const label of labels) {
        assertEquals(new TextDecoder(label).encoding, name, label);
        assertEquals(new TextDecoder(` ${label.toUpperCase()}\t\n`).encoding, name, label);
        assertEquals(new TextDecoderStream(label).fatal, false, label);
        count++;
      }
    }
    assert(count > 200, `only ${count} labels`);
  },

  "replacement labels and unknown labels throw RangeError"() {
    for (const label of replacementLabels) {
      assertThrows(() => new TextDecoder(label), RangeError, label);
      assertThrows(() => new TextDecoderStream(label), RangeError, label);
    }
    for (const label of ["utf-32", "utf-7", "iso-8859-1 x", "latin 1", "\u00a0utf-8", "x-mac-greek", "", "unicode-1-1"]) {
      assertThrows(() => new TextDecoder(label), RangeError, JSON.stringify(label));
    }
  },

  "TextEncoder stays UTF-8"() {
    assertEquals(new TextEncoder().encoding, "utf-8");
    assertEquals([...new TextEncoder().encode("é")], [0xc3, 0xa9]);
  },

  "single-byte encodings decode with the spec's indexes"() {
    const high = new Uint8Array(128);
    for (let i = 0; i < 128; i++) high[i] = 0x80 + i;
    const ascii = new Uint8Array(128);
    for (let i = 0; i < 128; i++) ascii[i] = i;
    const asciiText = String.fromCharCode(...ascii);
    for (const [name, [points, sum]] of Object.entries(singleByteSamples)) {
      const decoder = new TextDecoder(name);
      assertEquals(decoder.decode(ascii), asciiText, name);
      const sample = decoder.decode(bytes(0x80, 0xa4, 0xc0, 0xd5, 0xe9, 0xff));
      assertEquals(codePoints(sample), points, name);
      const all = decoder.decode(high);
      assertEquals(all.length, 128, name);
      let total = 0;
      for (let i = 0; i < all.length; i++) total += all.charCodeAt(i);
      assertEquals(total, sum, name);
    }
  },

  "single-byte well-known characters"() {
    const d = (label, ...b) => new TextDecoder(label).decode(bytes(...b));
    assertEquals(d("latin1", 0x80, 0x81, 0xe9), "\u20ac\u0081\u00e9");
    assertEquals(d("ascii", 0x9d, 0xff), "\u009d\u00ff");
    assertEquals(d("iso-8859-1", 0x63, 0x61, 0x66, 0xe9), "café");
    assertEquals(d("latin2", 0xa1, 0xb1), "Ąą");
    assertEquals(d("koi8-r", 0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4), "Привет");
    assertEquals(d("koi8-u", 0xae, 0xbe), "ўЎ");
    assertEquals(d("windows-1251", 0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2), "Привет");
    assertEquals(d("ibm866", 0x8f, 0xe0, 0xa8, 0xa2, 0xa5, 0xe2), "Привет");
    assertEquals(d("macintosh", 0x8e, 0xdb), "é€");
    assertEquals(d("windows-874", 0xa1), "\u0e01");
    assertEquals(d("iso-8859-8-i", 0xe0), "\u05d0");
    assertEquals(d("iso-8859-8", 0xe0), "\u05d0");
    assertEquals(d("greek", 0xe1), "\u03b1");
    assertEquals(d("windows-1255", 0xca), "\u05ba");
    // x-user-defined: bytes 0x80..0xFF map to U+F780..U+F7FF.
    assertEquals(d("x-user-defined", 0x41, 0x80, 0xff), "A\uf780\uf7ff");
  },

  "single-byte unmapped bytes: U+FFFD or TypeError when fatal"() {
    // 0xA5 has no code point in iso-8859-3, 0xAA none in windows-1253.
    assertEquals(new TextDecoder("iso-8859-3").decode(bytes(0x61, 0xa5, 0x62)), "a\ufffdb");
    assertEquals(new TextDecoder("windows-1253").decode(bytes(0xaa)), "\ufffd");
    assertThrows(() => new TextDecoder("iso-8859-3", { fatal: true }).decode(bytes(0x61, 0xa5)), TypeError);
    assertThrows(() => new TextDecoder("windows-874", { fatal: true }).decode(bytes(0xdb)), TypeError);
    // Every byte of windows-1252 has a code point.
    const all = new Uint8Array(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    assertEquals(new TextDecoder("windows-1252", { fatal: true }).decode(all).length, 256);
  },

  "single-byte encodings: no BOM handling, streaming is per byte"() {
    const d = new TextDecoder("windows-1252");
    assertEquals(d.decode(bytes(0xef, 0xbb, 0xbf)), "ï»¿");
    assertEquals(d.decode(bytes(0xe9), { stream: true }) + d.decode(bytes(0xe8), { stream: true }) + d.decode(), "éè");
  },

  "UTF-16LE and UTF-16BE"() {
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0x61, 0x00, 0xac, 0x20)), "a€");
    assertEquals(new TextDecoder("utf-16").decode(bytes(0x61, 0x00)), "a");
    assertEquals(new TextDecoder("utf-16be").decode(bytes(0x00, 0x61, 0x20, 0xac)), "a€");
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0x3d, 0xd8, 0x00, 0xde)), "😀");
    assertEquals(new TextDecoder("utf-16be").decode(bytes(0xd8, 0x3d, 0xde, 0x00)), "😀");
    assertEquals(new TextDecoder("utf-16le").decode(new Uint16Array([0x68, 0x69])), "hi");
    assertEquals(new TextDecoder("utf-16le").decode(), "");
  },

  "UTF-16 BOM handling"() {
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0xff, 0xfe, 0x61, 0x00)), "a");
    assertEquals(new TextDecoder("utf-16be").decode(bytes(0xfe, 0xff, 0x00, 0x61)), "a");
    assertEquals(new TextDecoder("utf-16le", { ignoreBOM: true }).decode(bytes(0xff, 0xfe, 0x61, 0x00)), "\ufeffa");
    // A BOM of the other byte order is U+FFFE, kept.
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0xfe, 0xff, 0x61, 0x00)), "\ufffea");
    // Only one BOM is stripped, and only at the start of a stream.
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0xff, 0xfe, 0xff, 0xfe)), "\ufeff");
    const d = new TextDecoder("utf-16le");
    assertEquals(d.decode(bytes(0xff), { stream: true }), "");
    assertEquals(d.decode(bytes(0xfe, 0x61), { stream: true }), "");
    assertEquals(d.decode(bytes(0x00), { stream: true }), "a");
    assertEquals(d.decode(bytes(0xff, 0xfe), { stream: true }), "\ufeff");
    assertEquals(d.decode(), "");
    // A new stream strips a BOM again.
    assertEquals(d.decode(bytes(0xff, 0xfe, 0x62, 0x00)), "b");
  },

  "UTF-16 streaming splits every byte of a surrogate pair"() {
    const input = bytes(0x61, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x62, 0x00);
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        const d = new TextDecoder("utf-16le", { fatal: true });
        const out =
          d.decode(input.subarray(0, i), { stream: true }) +
          d.decode(input.subarray(i, j), { stream: true }) +
          d.decode(input.subarray(j));
        assertEquals(out, "a😀b", `split at ${i}, ${j}`);
      }
    }
    const be = new TextDecoder("utf-16be");
    assertEquals(be.decode(bytes(0xd8), { stream: true }) + be.decode(bytes(0x3d, 0xde), { stream: true }) + be.decode(bytes(0x00)), "😀");
  },

  "UTF-16 errors"() {
    // An odd trailing byte, a lone lead and a lone trail surrogate.
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0x61, 0x00, 0x62)), "a\ufffd");
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0x3d, 0xd8, 0x61, 0x00)), "\ufffda");
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0x00, 0xde)), "\ufffd");
    assertEquals(new TextDecoder("utf-16le").decode(bytes(0x3d, 0xd8)), "\ufffd");
    assertThrows(() => new TextDecoder("utf-16le", { fatal: true }).decode(bytes(0x61)), TypeError);
    assertThrows(() => new TextDecoder("utf-16be", { fatal: true }).decode(bytes(0xdc, 0x00)), TypeError);
    // Streaming: the incomplete end is an error only when the stream ends.
    const d = new TextDecoder("utf-16le", { fatal: true });
    assertEquals(d.decode(bytes(0x61, 0x00, 0x3d, 0xd8), { stream: true }), "a");
    assertThrows(() => d.decode(), TypeError);
    // After the error the decoder starts a new stream.
    assertEquals(d.decode(bytes(0x62, 0x00)), "b");
    const lenient = new TextDecoder("utf-16le");
    assertEquals(lenient.decode(bytes(0x61, 0x00, 0x62), { stream: true }), "a");
    assertEquals(lenient.decode(), "\ufffd");
  },

  "multi-byte encodings decode samples"() {
    const d = (label, ...b) => new TextDecoder(label).decode(bytes(...b));
    assertEquals(d("shift_jis", 0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x41), "日本語A");
    assertEquals(d("sjis", 0xb1), "\uff71"); // half-width katakana
    assertEquals(d("euc-jp", 0xc6, 0xfc, 0xcb, 0xdc, 0xb8, 0xec), "日本語");
    assertEquals(d("iso-2022-jp", 0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x38, 0x6c, 0x1b, 0x28, 0x42, 0x21), "日本語!");
    assertEquals(d("gbk", 0xd6, 0xd0, 0xce, 0xc4), "中文");
    assertEquals(d("gb2312", 0xd6, 0xd0), "中");
    assertEquals(d("gb18030", 0xd6, 0xd0, 0xce, 0xc4, 0x94, 0x39, 0xfc, 0x36, 0xa2, 0xe3), "中文😀€");
    assertEquals(d("big5", 0xa4, 0xa4, 0xa4, 0xe5), "中文");
    assertEquals(d("euc-kr", 0xc7, 0xd1, 0xb1, 0xb9, 0xbe, 0xee), "한국어");
    assertEquals(d("windows-949", 0x41), "A");
  },

  "multi-byte streaming keeps the converter's state across calls"() {
    const cases = [
      ["shift_jis", [0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea], "日本語"],
      ["euc-jp", [0xc6, 0xfc, 0x8f, 0xb0, 0xa1, 0xb8, 0xec], "日丂語"],
      ["iso-2022-jp", [0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42, 0x61], "日本a"],
      ["gb18030", [0x94, 0x39, 0xfc, 0x36, 0xd6, 0xd0], "😀中"],
      ["big5", [0xa4, 0xa4, 0xa4, 0xe5], "中文"],
      ["euc-kr", [0xc7, 0xd1, 0xb1, 0xb9], "한국"],
    ];
    for (const [label, input, expected] of cases) {
      const all = new Uint8Array(input);
      for (let i = 0; i <= all.length; i++) {
        const d = new TextDecoder(label, { fatal: true });
        const out = d.decode(all.subarray(0, i), { stream: true }) + d.decode(all.subarray(i));
        assertEquals(out, expected, `${label} split at ${i}`);
      }
      // One byte at a time.
      const d = new TextDecoder(label);
      let out = "";
      for (const b of input) out += d.decode(bytes(b), { stream: true });
      out += d.decode();
      assertEquals(out, expected, `${label} byte by byte`);
    }
  },

  "multi-byte errors: U+FFFD or TypeError when fatal"() {
    // A lead byte at the end of the input.
    assertEquals(new TextDecoder("shift_jis").decode(bytes(0x61, 0x93)), "a\ufffd");
    assertThrows(() => new TextDecoder("shift_jis", { fatal: true }).decode(bytes(0x61, 0x93)), TypeError);
    assertThrows(() => new TextDecoder("euc-kr", { fatal: true }).decode(bytes(0xc7)), TypeError);
    assertThrows(() => new TextDecoder("gbk", { fatal: true }).decode(bytes(0xff)), TypeError);
    // An invalid byte in the middle, ASCII after it is kept.
    assertEquals(new TextDecoder("euc-jp").decode(bytes(0x61, 0xff, 0x62)), "a\ufffdb");
    // A stream ending in a lead byte is an error only when it ends.
    const d = new TextDecoder("shift_jis", { fatal: true });
    assertEquals(d.decode(bytes(0x41, 0x93), { stream: true }), "A");
    assertThrows(() => d.decode(), TypeError);
    // The decoder then starts afresh.
    assertEquals(d.decode(bytes(0x93, 0xfa)), "日");
    // Not fatal: one U+FFFD for the incomplete end.
    const lenient = new TextDecoder("big5");
    assertEquals(lenient.decode(bytes(0xa4), { stream: true }), "");
    assertEquals(lenient.decode(), "\ufffd");
    // A decoder reused after a complete decode starts a new stream.
    const jis = new TextDecoder("iso-2022-jp");
    assertEquals(jis.decode(bytes(0x1b, 0x24, 0x42, 0x46, 0x7c)), "日");
    assertEquals(jis.decode(bytes(0x46, 0x7c)), "F|");
  },

  "multi-byte: where ICU differs from the spec, the spec wins"() {
    const d = (label, ...b) => new TextDecoder(label, { fatal: true }).decode(bytes(...b));
    const lenient = (label, ...b) => new TextDecoder(label).decode(bytes(...b));
    // ASCII controls stay themselves in shift_jis (ICU's ibm-943 swaps them).
    assertEquals(codePoints(d("shift_jis", 0x1a, 0x1c, 0x7f, 0x5c, 0x7e)), [0x1a, 0x1c, 0x7f, 0x5c, 0x7e]);
    // A lone 0x80: U+0080 in shift_jis, U+20AC in gbk and gb18030.
    assertEquals(d("shift_jis", 0x80), "\u0080");
    assertEquals(d("gbk", 0x80), "€");
    assertEquals(d("gb18030", 0x61, 0x80, 0x62), "a€b");
    // User-defined areas and C1 bytes are errors in big5, euc-jp and euc-kr.
    for (const [label, input] of [
      ["big5", [0x81, 0x40]],
      ["big5", [0x80]],
      ["euc-kr", [0xc9, 0xa1]],
      ["euc-kr", [0x80]],
      ["euc-kr", [0xff]],
      ["euc-jp", [0x85]],
    ]) {
      assertThrows(() => d(label, ...input), TypeError, `${label} ${input}`);
      assert(lenient(label, ...input).startsWith("\ufffd"), `${label} ${input}`);
    }
    assertEquals(codePoints(d("euc-jp", 0x8e, 0xb1)), [0xff71]);
  },

  "UTF-8 still behaves"() {
    assertEquals(new TextDecoder("utf8").decode(bytes(0xef, 0xbb, 0xbf, 0xe2, 0x82, 0xac)), "€");
    const d = new TextDecoder("unicode-1-1-utf-8");
    assertEquals(d.decode(bytes(0xe2, 0x82), { stream: true }) + d.decode(bytes(0xac)), "€");
    assertThrows(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes(0xff)), TypeError);
  },

  "TextDecoderStream decodes legacy encodings": async () => {
    const stream = new TextDecoderStream("shift_jis");
    const writer = stream.writable.getWriter();
    writer.write(bytes(0x93));
    writer.write(bytes(0xfa, 0x96));
    writer.write(bytes(0x7b));
    writer.close();
    let out = "";
    for await (const chunk of stream.readable) out += chunk;
    assertEquals(out, "日本");
    const utf16 = new TextDecoderStream("utf-16be");
    const w = utf16.writable.getWriter();
    w.write(bytes(0xfe, 0xff, 0x00));
    w.write(bytes(0x61, 0xd8, 0x3d, 0xde));
    w.write(bytes(0x00));
    w.close();
    out = "";
    for await (const chunk of utf16.readable) out += chunk;
    assertEquals(out, "a😀");
  },

  "getters and brand checks"() {
    const d = new TextDecoder("latin2", { fatal: true, ignoreBOM: true });
    assertEquals([d.encoding, d.fatal, d.ignoreBOM], ["iso-8859-2", true, true]);
    const getter = Object.getOwnPropertyDescriptor(TextDecoder.prototype, "encoding").get;
    assertThrows(() => getter.call({}), TypeError);
    assertThrows(() => TextDecoder.prototype.decode.call({}, bytes(1)), TypeError);
  },
};
