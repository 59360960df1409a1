// The Encoding Standard's legacy decoders for TextDecoder
// (https://encoding.spec.whatwg.org/#legacy-single-byte-encodings and later
// sections). Labels, BOM handling and `stream: true` are in
// runtime/encoding/encoding.js; UTF-8 is in encoding.cc.
//
// - Single-byte encodings and x-user-defined: the spec's own indexes
//   (legacy_encoding_tables.inc), stateless.
// - UTF-16LE/BE: stateless; the JavaScript side holds back an odd trailing
//   byte and a trailing lead surrogate while streaming.
// - The multi-byte encodings (gb18030/gbk, big5, euc-jp, iso-2022-jp,
//   shift_jis, euc-kr): ICU converters whose tables were checked against the
//   spec's indexes (see docs in encoding.js). ICU converters are stateful
//   (iso-2022-jp's escape state, a lead byte split across chunks), so each
//   TextDecoder owns one, held by an opaque handle: a one-byte ArrayBuffer
//   whose backing store's deleter closes the converter. V8 runs that deleter
//   when the handle is collected and when the isolate is disposed, so no
//   converter outlives its isolate.
#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/ucnv_err.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

#include "runtime/encoding/legacy_encoding_tables.inc"

constexpr char16_t kReplacement = 0xFFFD;

Status DecodeError(const std::string& encoding) {
  return TypeError("The encoded data was not valid " + encoding);
}

NativeResult MakeString(NativeCall& call, const char16_t* data, size_t length) {
  v8::Local<v8::String> text;
  if (length > static_cast<size_t>(v8::String::kMaxLength) ||
      !v8::String::NewFromTwoByte(call.isolate(), reinterpret_cast<const uint16_t*>(data),
                                  v8::NewStringType::kNormal, static_cast<int>(length))
           .ToLocal(&text)) {
    return RangeError("The decoded string is too long");
  }
  return text.As<v8::Value>();
}

const SingleByteTable* FindSingleByteTable(std::string_view name) {
  // iso-8859-8-i decodes as iso-8859-8 (they differ only in directionality).
  if (name == "iso-8859-8-i") name = "iso-8859-8";
  for (const auto& table : kSingleByteTables) {
    if (name == table.name) return &table;
  }
  return nullptr;
}

// singleByteDecode(encoding name, bytes, fatal) -> string
NativeResult SingleByteDecode(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  bool fatal = call.BoolArg(2);
  const uint16_t* upper = nullptr;
  bool user_defined = *name == "x-user-defined";
  if (!user_defined) {
    const SingleByteTable* table = FindSingleByteTable(*name);
    if (table == nullptr) return RangeError("Unknown single-byte encoding " + *name);
    upper = table->code_points;
  }
  std::string_view data = *bytes;
  std::u16string out(data.size(), u'\0');
  for (size_t i = 0; i < data.size(); ++i) {
    auto byte = static_cast<uint8_t>(data[i]);
    char16_t unit;
    if (byte < 0x80) {
      unit = byte;
    } else if (user_defined) {
      unit = static_cast<char16_t>(0xF780 + byte - 0x80);
    } else {
      unit = upper[byte - 0x80];
      if (unit == 0) {
        if (fatal) return DecodeError(*name);
        unit = kReplacement;
      }
    }
    out[i] = unit;
  }
  return MakeString(call, out.data(), out.size());
}

// utf16Decode(bytes, bigEndian, fatal) -> string. Decodes all of `bytes` as
// the end of the stream: an odd last byte and unpaired surrogates are errors.
NativeResult Utf16Decode(NativeCall& call) {
  auto bytes = call.BytesArg(0);
  if (!bytes.ok()) return bytes.status();
  bool big_endian = call.BoolArg(1);
  bool fatal = call.BoolArg(2);
  std::string_view data = *bytes;
  const std::string name = big_endian ? "utf-16be" : "utf-16le";
  size_t units = data.size() / 2;
  std::u16string out;
  out.reserve(units + 1);
  auto unit_at = [&](size_t i) -> char16_t {
    auto b0 = static_cast<uint8_t>(data[2 * i]);
    auto b1 = static_cast<uint8_t>(data[2 * i + 1]);
    return big_endian ? static_cast<char16_t>(b0 << 8 | b1) : static_cast<char16_t>(b1 << 8 | b0);
  };
  for (size_t i = 0; i < units; ++i) {
    char16_t unit = unit_at(i);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (i + 1 < units) {
        char16_t next = unit_at(i + 1);
        if (next >= 0xDC00 && next <= 0xDFFF) {
          out.push_back(unit);
          out.push_back(next);
          ++i;
          continue;
        }
      }
      if (fatal) return DecodeError(name);
      out.push_back(kReplacement);
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      if (fatal) return DecodeError(name);
      out.push_back(kReplacement);
    } else {
      out.push_back(unit);
    }
  }
  if (data.size() % 2 != 0) {
    if (fatal) return DecodeError(name);
    out.push_back(kReplacement);
  }
  return MakeString(call, out.data(), out.size());
}

enum class FixUp {
  kNone,
  kIbmControls,  // shift_jis: undo ibm-943's swap of 0x1A, 0x1C and 0x7F.
  kNoC1NoPua,    // big5, euc-jp, euc-kr: C1 controls and PUA code points are errors.
};

// The ICU converter behind one multi-byte TextDecoder.
struct IcuDecoder {
  // First member: the handle's one byte of ArrayBuffer memory, so the
  // handle's data pointer is this object's address.
  char handle_byte = 0;
  uint32_t magic = kMagic;
  UConverter* converter = nullptr;
  bool fatal = false;
  // What a lone 0x80 byte decodes to (0: an error, as ICU has it).
  UChar single_0x80 = 0;
  FixUp fix_up = FixUp::kNone;
  // Set by the callback when a fatal decoder met an error.
  bool failed = false;
  std::string encoding;

  static constexpr uint32_t kMagic = 0x45444543;  // "EDEC"

  ~IcuDecoder() {
    magic = 0;
    if (converter != nullptr) ucnv_close(converter);
  }
};
static_assert(std::is_standard_layout_v<IcuDecoder>);

// The Encoding Standard's error mode: one U+FFFD per error (ICU's default
// substitution may write U+001A for a single byte), or stop when fatal. Two
// single bytes that ICU rejects are characters in the spec: 0x80 is U+20AC
// in gb18030/gbk and U+0080 in shift_jis.
void ToUnicodeCallback(const void* context, UConverterToUnicodeArgs* args, const char* code_units,
                       int32_t length, UConverterCallbackReason reason, UErrorCode* error) {
  if (reason > UCNV_IRREGULAR) return;  // reset, close, clone: nothing to do.
  auto* decoder = static_cast<IcuDecoder*>(const_cast<void*>(context));
  if (length == 1 && static_cast<uint8_t>(code_units[0]) == 0x80 && decoder->single_0x80 != 0) {
    const UChar unit[] = {decoder->single_0x80};
    *error = U_ZERO_ERROR;
    ucnv_cbToUWriteUChars(args, unit, 1, 0, error);
    return;
  }
  if (decoder->fatal) {
    decoder->failed = true;
    return;  // Leaves *error set: ucnv_toUnicode stops.
  }
  static const UChar kFffd[] = {0xFFFD};
  *error = U_ZERO_ERROR;
  ucnv_cbToUWriteUChars(args, kFffd, 1, 0, error);
}

// Output fix-ups where ICU's table differs from the spec's index in ways a
// code point shows. Returns false for an error in fatal mode.
bool FixUpOutput(IcuDecoder& decoder, UChar* units, size_t length) {
  if (decoder.fix_up == FixUp::kNone) return true;
  for (size_t i = 0; i < length; ++i) {
    UChar unit = units[i];
    if (decoder.fix_up == FixUp::kIbmControls) {
      // ibm-943 swaps three controls: 0x1A -> U+001C, 0x1C -> U+007F,
      // 0x7F -> U+001A; the spec keeps ASCII as is. No other byte sequence
      // decodes to these code points.
      if (unit == 0x1C) {
        units[i] = 0x1A;
      } else if (unit == 0x7F) {
        units[i] = 0x1C;
      } else if (unit == 0x1A) {
        units[i] = 0x7F;
      }
    } else if ((unit >= 0x80 && unit <= 0x9F) || (unit >= 0xE000 && unit <= 0xF8FF)) {
      // The spec's big5, euc-jp and euc-kr indexes have no C1 control and no
      // Private Use Area code point: ICU's are user-defined areas and
      // vendor bytes the spec treats as errors.
      if (decoder.fatal) return false;
      units[i] = 0xFFFD;
    }
  }
  return true;
}

// The ICU converter name for each multi-byte encoding of the spec. Each was
// compared pointer by pointer with the spec's index (see encoding.js).
const char* IcuConverterName(std::string_view encoding) {
  if (encoding == "gb18030" || encoding == "gbk") return "gb18030";
  if (encoding == "big5") return "ibm-1375_P100-2008";  // Big5-HKSCS
  if (encoding == "euc-jp") return "euc-jp-2007";
  if (encoding == "iso-2022-jp") return "ISO_2022,locale=ja,version=0";
  if (encoding == "shift_jis") return "ibm-943_P15A-2003";  // windows-31j
  if (encoding == "euc-kr") return "windows-949-2000";
  return nullptr;
}

IcuDecoder* DecoderFromHandle(v8::Local<v8::Value> value) {
  if (!value->IsArrayBuffer()) return nullptr;
  auto store = value.As<v8::ArrayBuffer>()->GetBackingStore();
  if (store->ByteLength() != 1 || store->Data() == nullptr) return nullptr;
  auto* decoder = reinterpret_cast<IcuDecoder*>(store->Data());
  return decoder->magic == IcuDecoder::kMagic ? decoder : nullptr;
}

// icuDecoderOpen(encoding name, fatal) -> handle (an opaque ArrayBuffer).
NativeResult IcuDecoderOpen(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  const char* converter_name = IcuConverterName(*name);
  if (converter_name == nullptr) return RangeError("Unknown multi-byte encoding " + *name);
  auto decoder = std::make_unique<IcuDecoder>();
  decoder->fatal = call.BoolArg(1);
  decoder->encoding = *name;
  if (*name == "gb18030" || *name == "gbk") {
    decoder->single_0x80 = 0x20AC;
  } else if (*name == "shift_jis") {
    decoder->single_0x80 = 0x0080;
    decoder->fix_up = FixUp::kIbmControls;
  } else if (*name == "big5" || *name == "euc-jp" || *name == "euc-kr") {
    decoder->fix_up = FixUp::kNoC1NoPua;
  }
  UErrorCode error = U_ZERO_ERROR;
  decoder->converter = ucnv_open(converter_name, &error);
  if (U_FAILURE(error)) {
    return RangeError(std::string("ICU has no converter for ") + *name + ": " +
                               u_errorName(error));
  }
  ucnv_setToUCallBack(decoder->converter, ToUnicodeCallback, decoder.get(), nullptr, nullptr,
                      &error);
  if (U_FAILURE(error)) return RangeError(u_errorName(error));
  IcuDecoder* raw = decoder.release();
  auto store = v8::ArrayBuffer::NewBackingStore(
      raw, 1,
      [](void*, size_t, void* deleter_data) { delete static_cast<IcuDecoder*>(deleter_data); },
      raw);
  return v8::ArrayBuffer::New(call.isolate(), std::move(store)).As<v8::Value>();
}

// icuDecode(handle, bytes, flush) -> string. Without `flush`, an incomplete
// sequence at the end stays in the converter for the next call. A fatal
// error throws a TypeError and resets the converter.
NativeResult IcuDecode(NativeCall& call) {
  IcuDecoder* decoder = DecoderFromHandle(call.arg(0));
  if (decoder == nullptr) return TypeError("Not a decoder handle");
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  bool flush = call.BoolArg(2);
  std::string_view data = *bytes;
  // Each byte makes at most two UTF-16 units (a pair, or big5's two code
  // points for two bytes); the converter may also hold a few bytes back.
  std::vector<UChar> out(2 * data.size() + 16);
  const char* source = data.data();
  const char* source_end = data.data() + data.size();
  size_t written = 0;
  decoder->failed = false;
  for (;;) {
    UChar* target = out.data() + written;
    UChar* target_begin = target;
    UErrorCode error = U_ZERO_ERROR;
    ucnv_toUnicode(decoder->converter, &target, out.data() + out.size(), &source, source_end,
                   nullptr, flush, &error);
    written += static_cast<size_t>(target - target_begin);
    if (error == U_BUFFER_OVERFLOW_ERROR) {
      out.resize(out.size() * 2);
      continue;
    }
    if (U_FAILURE(error) || decoder->failed) {
      ucnv_resetToUnicode(decoder->converter);
      decoder->failed = false;
      if (decoder->fatal) return DecodeError(decoder->encoding);
      return TypeError(std::string("Decoding failed: ") + u_errorName(error));
    }
    break;
  }
  if (!FixUpOutput(*decoder, out.data(), written)) {
    ucnv_resetToUnicode(decoder->converter);
    return DecodeError(decoder->encoding);
  }
  return MakeString(call, reinterpret_cast<const char16_t*>(out.data()), written);
}

}  // namespace

void RegisterLegacyEncodingNatives(NativeRegistry& registry) {
  registry.Add({{"singleByteDecode", SingleByteDecode},
                {"utf16Decode", Utf16Decode},
                {"icuDecoderOpen", IcuDecoderOpen},
                {"icuDecode", IcuDecode}});
}

}  // namespace edge::runtime
