#include "base/base64.h"

#include <fmt/core.h>

#include <array>

namespace edge::base {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Character -> its 6 bits, or -1.
constexpr std::array<int8_t, 256> MakeDecodeTable(const char* alphabet) {
  std::array<int8_t, 256> table{};
  for (int8_t& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable(kAlphabet);
constexpr std::array<int8_t, 256> kUrlDecode = MakeDecodeTable(kUrlAlphabet);

// `bytes` in 6-bit groups from `alphabet`; with `pad`, '=' fills the last
// group of four.
std::string Encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                     static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                     static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(alphabet[(group >> 18) & 0x3F]);
    out.push_back(alphabet[(group >> 12) & 0x3F]);
    out.push_back(alphabet[(group >> 6) & 0x3F]);
    out.push_back(alphabet[group & 0x3F]);
  }
  size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) group |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(alphabet[(group >> 18) & 0x3F]);
    out.push_back(alphabet[(group >> 12) & 0x3F]);
    if (left == 2) {
      out.push_back(alphabet[(group >> 6) & 0x3F]);
    } else if (pad) {
      out.push_back('=');
    }
    if (pad) out.push_back('=');
  }
  return out;
}

// How many '=' end `text` (0, 1 or 2).
size_t Padding(std::string_view text) {
  if (text.empty() || text.back() != '=') return 0;
  return text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
}

// Decodes `chars`, each from `table`, appending the bytes to `out`. Returns
// the offset of the first character not in the table (npos when all are);
// `spare` gets the low bits of the last character that encode no byte.
size_t DecodeChars(std::string_view chars, const std::array<int8_t, 256>& table, std::string& out,
                   uint32_t& spare) {
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < chars.size(); ++i) {
    int8_t value = table[static_cast<unsigned char>(chars[i])];
    if (value < 0) return i;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  spare = buffer & ((1u << bits) - 1);
  return std::string_view::npos;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kAlphabet, true); }

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrlAlphabet, false); }

size_t Base64DecodedSize(std::string_view text) {
  size_t size = text.size() / 4 * 3;
  size_t padding = Padding(text);
  return size >= padding ? size - padding : 0;
}

StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status(
        ErrorCode::kInvalidInput,
        fmt::format("invalid base64: the length ({}) is not a multiple of 4", text.size()));
  }
  size_t padding = Padding(text);
  std::string out;
  out.reserve(Base64DecodedSize(text));
  uint32_t spare = 0;
  size_t bad = DecodeChars(text.substr(0, text.size() - padding), kDecode, out, spare);
  if (bad != std::string_view::npos) {
    return Status(ErrorCode::kInvalidInput,
                  text[bad] == '='
                      ? fmt::format("invalid base64: '=' at offset {} is not at the end", bad)
                      : fmt::format("invalid base64: unexpected byte 0x{:02x} at offset {}",
                                    static_cast<unsigned char>(text[bad]), bad));
  }
  return out;
}

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid base64url: no encoding is {} characters long", text.size()));
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t spare = 0;
  size_t bad = DecodeChars(text, kUrlDecode, out, spare);
  if (bad != std::string_view::npos) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid base64url: unexpected byte 0x{:02x} at offset {}",
                              static_cast<unsigned char>(text[bad]), bad));
  }
  if (spare != 0) {
    return Status(ErrorCode::kInvalidInput,
                  "invalid base64url: the last character has bits set that encode nothing");
  }
  return out;
}

}  // namespace edge::base
