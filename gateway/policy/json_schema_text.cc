#include "gateway/policy/json_schema_text.h"

#include <fmt/core.h>

#include <cstdint>

#include "base/ascii.h"
#include "gateway/policy/json_schema.h"

namespace edge::gateway::schema_text {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// `count` digits at `at` as a number, or -1.
int Digits(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (!IsDigit(text[i])) return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

int DaysIn(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

bool IsAtext(char c) {
  return IsAlnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

bool IsDateTime(std::string_view text) {
  // full-date "T" partial-time time-offset
  int year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || text.size() < 20 || text[4] != '-' ||
      text[7] != '-' || day > DaysIn(year, month) || (text[10] != 'T' && text[10] != 't')) {
    return false;
  }
  int hour = Digits(text, 11, 2), minute = Digits(text, 14, 2), second = Digits(text, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 ||
      text[13] != ':' || text[16] != ':') {
    return false;
  }
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    size_t digits = ++at;
    while (at < text.size() && IsDigit(text[at])) ++at;
    if (at == digits) return false;
  }
  if (at >= text.size()) return false;
  int offset_minutes = 0;
  if (text[at] == 'Z' || text[at] == 'z') {
    ++at;
  } else if (text[at] == '+' || text[at] == '-') {
    int offset_hour = Digits(text, at + 1, 2), offset_minute = Digits(text, at + 4, 2);
    if (offset_hour < 0 || offset_hour > 23 || offset_minute < 0 || offset_minute > 59 ||
        at + 3 >= text.size() || text[at + 3] != ':') {
      return false;
    }
    offset_minutes = (offset_hour * 60 + offset_minute) * (text[at] == '+' ? 1 : -1);
    at += 6;
  } else {
    return false;
  }
  if (at != text.size()) return false;
  if (second == 60) {
    // A leap second is inserted at 23:59:60 UTC.
    int utc = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59) return false;
  }
  return true;
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : base::HexDigitValue(text[i]) < 0) return false;
  }
  return true;
}

bool IsEmail(std::string_view text) {
  if (text.size() > 254) return false;
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = text.substr(0, at);
  std::string_view domain = text.substr(at + 1);
  if (local.size() > 64) return false;
  if (local.front() == '"') {
    // quoted-string: printable ASCII, with \ quoting one character.
    if (local.size() < 2 || local.back() != '"') return false;
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      char c = local[i];
      if (c < 0x20 || c > 0x7e) return false;
      if (c == '\\') {
        if (++i + 1 >= local.size()) return false;
      } else if (c == '"') {
        return false;
      }
    }
  } else {
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
      return false;
    }
    for (char c : local) {
      if (c != '.' && !IsAtext(c)) return false;
    }
  }
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (literal.empty()) return false;
    for (char c : literal) {
      if (!(IsAlnum(c) || c == '.' || c == ':')) return false;
    }
    return true;
  }
  return IsDomain(domain);
}

size_t CodePoints(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace edge::gateway::schema_text

namespace edge::gateway {
namespace {

// ECMA-262's WhiteSpace and LineTerminator code points (\s), as the
// inside of an RE2 character class.
constexpr std::string_view kEcmaSpace =
    "\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}"
    "\\x{3000}\\x{feff}";

Status PatternError(std::string message) {
  return Status(ErrorCode::kInvalidInput, std::move(message));
}

// `count` hexadecimal digits at `at`, or -1.
long HexDigits(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  long value = 0;
  for (size_t i = at; i < at + count; ++i) {
    int digit = base::HexDigitValue(text[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace

StatusOr<std::string> EcmaPatternToRe2(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return PatternError("the pattern ends with a lone backslash");
      char next = pattern[++i];
      if (next >= '1' && next <= '9') {
        return PatternError(fmt::format("backreferences (\\{}) are not supported: patterns are matched in "
                                        "linear time (RE2)",
                                        next));
      }
      if (next == 'k' && i + 1 < pattern.size() && pattern[i + 1] == '<') {
        return PatternError("named backreferences (\\k<name>) are not supported: patterns are matched in "
                            "linear time (RE2)");
      }
      if (next == 's') {
        out += in_class ? std::string(kEcmaSpace) : "[" + std::string(kEcmaSpace) + "]";
      } else if (next == 'S') {
        if (in_class) return PatternError("\\S inside a character class is not supported");
        out += "[^" + std::string(kEcmaSpace) + "]";
      } else if (next == 'u') {
        // \uXXXX, a surrogate pair of them, or \u{X...}.
        long code = -1;
        if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
          size_t close = pattern.find('}', i + 2);
          if (close != std::string_view::npos && close - i - 2 >= 1 && close - i - 2 <= 6) {
            code = HexDigits(pattern, i + 2, close - i - 2);
            if (code >= 0) i = close;
          }
        } else {
          code = HexDigits(pattern, i + 1, 4);
          if (code >= 0) i += 4;
          if (code >= 0xD800 && code <= 0xDBFF && i + 6 < pattern.size() + 0 && pattern.substr(i + 1, 2) == "\\u") {
            long low = HexDigits(pattern, i + 3, 4);
            if (low >= 0xDC00 && low <= 0xDFFF) {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
              i += 6;
            }
          }
        }
        if (code < 0 || code > 0x10FFFF) return PatternError("a bad \\u escape in the pattern");
        if (code >= 0xD800 && code <= 0xDFFF) return PatternError("a lone surrogate (\\u) in the pattern");
        out += fmt::format("\\x{{{:x}}}", code);
      } else if (next == 'c') {
        char letter = i + 1 < pattern.size() ? pattern[i + 1] : '\0';
        if (!((letter | 0x20) >= 'a' && (letter | 0x20) <= 'z')) return PatternError("a bad \\c escape in the pattern");
        out += fmt::format("\\x{{{:x}}}", letter % 32);
        ++i;
      } else if (next == '0' && !(i + 1 < pattern.size() && pattern[i + 1] >= '0' && pattern[i + 1] <= '9')) {
        out += "\\x{0}";
      } else if (next == '/') {
        out += "/";
      } else {
        out.push_back('\\');
        out.push_back(next);
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      if (c == '[') {
        out += "\\[";  // literal in ECMA (without the v flag)
        continue;
      }
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      // ECMA's [] matches nothing and [^] anything; RE2 reads "]" there as
      // a member.
      if (pattern.substr(i, 2) == "[]") {
        out += "[^\\x{0}-\\x{10ffff}]";
        ++i;
        continue;
      }
      if (pattern.substr(i, 3) == "[^]") {
        out += "[\\x{0}-\\x{10ffff}]";
        i += 2;
        continue;
      }
      in_class = true;
      out.push_back(c);
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      continue;
    }
    if (c == '(' && i + 1 < pattern.size() && pattern[i + 1] == '?') {
      std::string_view rest = pattern.substr(i + 2);
      if (rest.starts_with("=") || rest.starts_with("!") || rest.starts_with("<=") || rest.starts_with("<!")) {
        return PatternError("lookaround ((?=, (?!, (?<=, (?<!) is not supported: patterns are matched in "
                            "linear time (RE2)");
      }
      if (rest.starts_with("<")) {
        out += "(?P<";
        i += 2;
        continue;
      }
    }
    if (c == '.') {
      out += "[^\\n\\r\\x{2028}\\x{2029}]";
      continue;
    }
    out.push_back(c);
  }
  if (in_class) return PatternError("the pattern has an unclosed character class");
  return out;
}

}  // namespace edge::gateway
