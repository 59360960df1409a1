// ASCII text helpers: case folding and comparison that ignore the locale
// (bytes from 0x80 up are left as they are), and hex digits.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace edge::base {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// `text` with A-Z lowered.
std::string AsciiLower(std::string_view text);

// True when `a` and `b` are equal but for the case of ASCII letters.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// True when `text` starts with `prefix`, ignoring the case of ASCII letters.
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix);

// True when every byte is visible ASCII (0x21 to 0x7E): no space, no
// control character, nothing from 0x80 up.
bool IsVisibleAscii(std::string_view text);
// Every byte below 0x80 (V8 can then read the text as one-byte Latin-1).
bool IsAscii(std::string_view text);

// The value of a hex digit (0-9, a-f, A-F), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when `text` is only 0-9 and a-f (empty counts).
bool IsLowerHex(std::string_view text);

// Lower-case hex, two digits per byte.
std::string HexEncode(std::string_view bytes);

// The bytes of an even number of hex digits (either case); nullopt for
// anything else.
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace edge::base
