// TextEncoder and TextDecoder (https://encoding.spec.whatwg.org/). TextEncoder
// is UTF-8 only (as the spec says); TextDecoder knows every encoding of the
// spec. The byte work is done by natives (UTF-8: encoding.cc; UTF-16, the
// single-byte and multi-byte legacy encodings: legacy_encoding.cc); this file
// handles labels, WebIDL conversions, BOM handling and `stream: true`, for
// which it holds back an incomplete trailing UTF-8 or UTF-16 sequence between
// calls (the multi-byte ICU converters keep their own state).

const {
  finishInterface, inspectSymbol, inspectNamed, requireArguments, isUint8Array, isSharedArrayBuffer,
  toUint8Array, TypedArrayPrototypeGetBuffer,
} = internals;

// The label table is a SafeMap: a patched Map.prototype.get cannot hand the
// decoder natives a name they were not built for.
const { ArrayBufferIsView, SafeMap, SafeSet, StringPrototypeSlice, StringPrototypeToLowerCase } = internals.primordials;

const utf8Encode = native.utf8Encode;
const utf8EncodeInto = native.utf8EncodeInto;
const utf8Decode = native.utf8Decode;
const utf16Decode = native.utf16Decode;
const singleByteDecode = native.singleByteDecode;
const icuDecoderOpen = native.icuDecoderOpen;
const icuDecode = native.icuDecode;

// True if `u8` is backed by a SharedArrayBuffer (decoded from a copy, since
// another thread could change it while it is being read).
function isShared(u8) {
  return isSharedArrayBuffer(TypedArrayPrototypeGetBuffer(u8));
}

class TextEncoder {
  get encoding() {
    return "utf-8";
  }

  encode(input = "") {
    return utf8Encode(`${input}`);
  }

  encodeInto(source, destination) {
    requireArguments(arguments.length, 2, "Failed to execute 'encodeInto' on 'TextEncoder'");
    source = `${source}`;
    if (!ArrayBufferIsView(destination) || !isUint8Array(destination)) {
      throw new TypeError(
        "Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.",
      );
    }
    const result = utf8EncodeInto(source, destination);
    return { read: result[0], written: result[1] };
  }

  [inspectSymbol]() {
    return inspectNamed("TextEncoder", { encoding: "utf-8" });
  }
}
finishInterface(TextEncoder);

// The Encoding Standard's labels (https://encoding.spec.whatwg.org/#names-and-labels):
// each encoding's name followed by its labels. "replacement" is listed so
// that its labels are recognized, and rejected by TextDecoder as the spec says.
const encodingLabels = [
  ["utf-8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"],
  ["ibm866", "866", "cp866", "csibm866", "ibm866"],
  ["iso-8859-2", "csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2",
    "iso_8859-2:1987", "l2", "latin2"],
  ["iso-8859-3", "csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3",
    "iso_8859-3:1988", "l3", "latin3"],
  ["iso-8859-4", "csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4",
    "iso_8859-4:1988", "l4", "latin4"],
  ["iso-8859-5", "csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595",
    "iso_8859-5", "iso_8859-5:1988"],
  ["iso-8859-6", "arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114",
    "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596", "iso_8859-6",
    "iso_8859-6:1987"],
  ["iso-8859-7", "csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126",
    "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek"],
  ["iso-8859-8", "csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138",
    "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual"],
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
  ["windows-1252", "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
    "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii",
    "windows-1252", "x-cp1252"],
  ["windows-1253", "cp1253", "windows-1253", "x-cp1253"],
  ["windows-1254", "cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599",
    "iso_8859-9", "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"],
  ["windows-1255", "cp1255", "windows-1255", "x-cp1255"],
  ["windows-1256", "cp1256", "windows-1256", "x-cp1256"],
  ["windows-1257", "cp1257", "windows-1257", "x-cp1257"],
  ["windows-1258", "cp1258", "windows-1258", "x-cp1258"],
  ["x-mac-cyrillic", "x-mac-cyrillic", "x-mac-ukrainian"],
  ["gbk", "chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58",
    "x-gbk"],
  ["gb18030", "gb18030"],
  ["big5", "big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"],
  ["euc-jp", "cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"],
  ["iso-2022-jp", "csiso2022jp", "iso-2022-jp"],
  ["shift_jis", "csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"],
  ["euc-kr", "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
    "ksc5601", "ksc_5601", "windows-949"],
  ["replacement", "csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"],
  ["utf-16be", "unicodefffe", "utf-16be"],
  ["utf-16le", "csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"],
  ["x-user-defined", "x-user-defined"],
];

// label -> encoding name.
const labelToEncoding = new SafeMap();
for (const [name, ...labels] of encodingLabels) {
  for (const label of labels) labelToEncoding.set(label, name);
}

// How each encoding is decoded: "utf-8" (encoding.cc), "utf-16" (native
// utf16Decode), "single-byte" (the spec's indexes, native singleByteDecode)
// or "icu" (a stateful ICU converter, native icuDecoderOpen/icuDecode).
//
// The ICU converters were compared with the spec's indexes, every pointer:
// shift_jis (ibm-943_P15A-2003), euc-jp (euc-jp-2007), euc-kr
// (windows-949-2000) and iso-2022-jp's JIS X 0208 part match exactly;
// gb18030/gbk differ at one pointer (0xA3A0: ICU U+E5E5, spec U+3000);
// big5 (ICU's Big5-HKSCS, ibm-1375_P100-2008) differs at 161 of 18,594
// pointers, mostly HKSCS characters that ICU maps to the Private Use Area.
// legacy_encoding.cc corrects what shows in single code points: ibm-943's
// swapped controls (0x1A, 0x1C, 0x7F), a lone 0x80 (U+0080 in shift_jis,
// U+20AC in gb18030/gbk), and C1 or Private Use Area output of big5, euc-jp
// and euc-kr (user-defined areas the spec treats as errors).
// TODO(encoding): the 162 table differences above, the GB18030-2022 changes
// of the spec's gb18030 index, iso-2022-jp's katakana escape (ESC ( I) and
// the spec's exact error recovery (how many bytes one error consumes, an
// ASCII byte after a bad lead byte is kept by the spec) are ICU's.
const multiByteEncodings = new SafeSet(["gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr"]);

function decoderKind(name) {
  if (name === "utf-8") return "utf-8";
  if (name === "utf-16le" || name === "utf-16be") return "utf-16";
  if (multiByteEncodings.has(name)) return "icu";
  return "single-byte";
}

// Returns the encoding name for `label` (https://encoding.spec.whatwg.org/#concept-encoding-get),
// or undefined.
function getEncoding(label) {
  return labelToEncoding.get(StringPrototypeToLowerCase(trimAsciiWhitespace(`${label}`)));
}

const StringPrototypeReplace = Function.prototype.call.bind(String.prototype.replace);
const asciiWhitespaceEnds = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;

function trimAsciiWhitespace(s) {
  return StringPrototypeReplace(s, asciiWhitespaceEnds, "");
}

// Length of the incomplete UTF-8 sequence at the end of `bytes` that more
// input could still complete (0 if there is none). A trailing prefix that is
// already invalid is not held back: the decoder reports it right away.
function incompleteTailLength(bytes) {
  const len = bytes.length;
  const stop = len > 3 ? len - 3 : 0;
  for (let i = len - 1; i >= stop; i--) {
    const b = bytes[i];
    if (b >= 0x80 && b <= 0xbf) continue; // continuation byte
    let need;
    if (b >= 0xc2 && b <= 0xdf) need = 2;
    else if (b >= 0xe0 && b <= 0xef) need = 3;
    else if (b >= 0xf0 && b <= 0xf4) need = 4;
    else return 0;
    const have = len - i;
    if (have >= need) return 0;
    if (have >= 2) {
      const b1 = bytes[i + 1];
      let lo = 0x80;
      let hi = 0xbf;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
      else if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
      if (b1 < lo || b1 > hi) return 0;
      // Any further bytes are continuation bytes (checked by the loop).
    }
    return have;
  }
  return 0;
}

// Bytes at the end of UTF-16 input that more input could complete: an odd
// last byte, and a lead surrogate with no unit after it.
function utf16TailLength(bytes, bigEndian) {
  const len = bytes.length;
  let tail = len & 1;
  const end = len - tail;
  if (end >= 2) {
    const unit = bigEndian ? (bytes[end - 2] << 8) | bytes[end - 1] : (bytes[end - 1] << 8) | bytes[end - 2];
    if (unit >= 0xd800 && unit <= 0xdbff) tail += 2;
  }
  return tail;
}

class TextDecoder {
  #encoding;
  #kind;
  #fatal;
  #ignoreBOM;
  // Streaming state: bytes of an incomplete sequence held back from the last
  // call (UTF-8 and UTF-16), whether a BOM may still be stripped (only at
  // the start of a stream), and the ICU converter handle of a multi-byte
  // encoding, made on first use.
  #pending = null;
  #started = false;
  #icu = undefined;

  constructor(label = "utf-8", options = undefined) {
    const encoding = getEncoding(label);
    if (encoding === undefined || encoding === "replacement") {
      throw new RangeError(
        `Failed to construct 'TextDecoder': The encoding label provided ('${label}') is invalid.`,
      );
    }
    if (options !== undefined && options !== null && typeof options !== "object") {
      throw new TypeError(
        "Failed to construct 'TextDecoder': The provided value is not of type 'TextDecoderOptions'.",
      );
    }
    this.#encoding = encoding;
    this.#kind = decoderKind(encoding);
    this.#fatal = options != null ? !!options.fatal : false;
    this.#ignoreBOM = options != null ? !!options.ignoreBOM : false;
  }

  get encoding() {
    return this.#encoding;
  }

  get fatal() {
    return this.#fatal;
  }

  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  decode(input = undefined, options = undefined) {
    let bytes;
    if (input === undefined) {
      bytes = new Uint8Array(0);
    } else {
      bytes = toUint8Array(input);
      if (bytes === undefined) {
        throw new TypeError(
          "Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.",
        );
      }
    }
    if (options !== undefined && options !== null && typeof options !== "object") {
      throw new TypeError(
        "Failed to execute 'decode' on 'TextDecoder': The provided value is not of type 'TextDecodeOptions'.",
      );
    }
    const stream = options != null ? !!options.stream : false;
    const kind = this.#kind;

    // Fast path: one-shot UTF-8 decode with no streaming state.
    if (kind === "utf-8" && !stream && this.#pending === null && !this.#started) {
      if (isShared(bytes)) bytes = bytes.slice();
      return utf8Decode(bytes, this.#fatal, this.#ignoreBOM);
    }

    if (this.#pending !== null) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending, 0);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    } else if (isShared(bytes)) {
      bytes = bytes.slice();
    }

    if (stream && (kind === "utf-8" || kind === "utf-16")) {
      const tail =
        kind === "utf-8" ? incompleteTailLength(bytes) : utf16TailLength(bytes, this.#encoding === "utf-16be");
      if (tail !== 0) {
        this.#pending = bytes.slice(bytes.length - tail);
        bytes = bytes.subarray(0, bytes.length - tail);
      }
    }

    let result = "";
    try {
      if (kind === "utf-8") {
        if (bytes.length !== 0) {
          const ignoreBOM = this.#ignoreBOM || this.#started;
          this.#started = true;
          result = utf8Decode(bytes, this.#fatal, ignoreBOM);
        }
      } else {
        if (kind === "utf-16") {
          result = utf16Decode(bytes, this.#encoding === "utf-16be", this.#fatal);
        } else if (kind === "single-byte") {
          result = singleByteDecode(this.#encoding, bytes, this.#fatal);
        } else {
          if (this.#icu === undefined) this.#icu = icuDecoderOpen(this.#encoding, this.#fatal);
          result = icuDecode(this.#icu, bytes, !stream);
        }
        // Only UTF-16 has a BOM to strip here (UTF-8's is stripped by
        // utf8Decode): the first code point of the stream, if it is U+FEFF.
        if (result.length !== 0 && !this.#started) {
          this.#started = true;
          if (kind === "utf-16" && !this.#ignoreBOM && result[0] === "\ufeff") {
            result = StringPrototypeSlice(result, 1);
          }
        }
      }
    } catch (err) {
      this.#pending = null;
      this.#started = false;
      throw err;
    }
    if (!stream) {
      this.#pending = null;
      this.#started = false;
    }
    return result;
  }

  [inspectSymbol]() {
    return inspectNamed("TextDecoder", {
      encoding: this.#encoding,
      fatal: this.#fatal,
      ignoreBOM: this.#ignoreBOM,
    });
  }
}
finishInterface(TextDecoder);

internals.TextEncoder = TextEncoder;
internals.TextDecoder = TextDecoder;
// label -> encoding name per the Encoding Standard, or undefined.
internals.getEncoding = getEncoding;
internals.utf8Encode = utf8Encode;
// Decodes UTF-8 like TextDecoder#decode with default options (BOM stripped,
// invalid sequences replaced).
internals.utf8Decode = (u8) => utf8Decode(u8, false, false);
