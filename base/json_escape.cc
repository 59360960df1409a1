#include "base/json_escape.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <iterator>

#include "base/json_text.h"
#include "base/utf8.h"

namespace edge::base {
namespace {

// The length of the well-formed sequence starting at text[i], or 0 when it is
// ill-formed; then *bad is the length of its maximal subpart (at least 1),
// which becomes one U+FFFD.
size_t SequenceAt(std::string_view text, size_t i, size_t* bad) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t trail = 0;
  unsigned char lower = 0x80, upper = 0xBF;  // the range of the first trail byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    trail = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    trail = 2;
    if (lead == 0xE0) lower = 0xA0;  // overlong
    if (lead == 0xED) upper = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    trail = 3;
    if (lead == 0xF0) lower = 0x90;  // overlong
    if (lead == 0xF4) upper = 0x8F;  // past U+10FFFF
  } else {
    *bad = 1;
    return 0;
  }
  size_t j = i + 1;
  for (size_t k = 0; k < trail; ++k, ++j) {
    if (j >= text.size() || byte(j) < lower || byte(j) > upper) {
      *bad = j - i;
      return 0;
    }
    lower = 0x80;
    upper = 0xBF;
  }
  return j - i;
}

}  // namespace

std::string ToWellFormedUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t bad = 0;
  for (size_t i = 0; i < text.size();) {
    size_t length = SequenceAt(text, i, &bad);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += bad;
    } else {
      out.append(text, i, length);
      i += length;
    }
  }
  return out;
}

void AppendJsonEscaped(std::string& out, std::string_view text) {
  if (IsValidUtf8(text)) {
    AppendJsonString(out, text);
  } else {
    AppendJsonString(out, ToWellFormedUtf8(text));
  }
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  AppendJsonEscaped(out, text);
  return out;
}

void AppendUnsigned(std::string& out, uint64_t value) {
  char digits[20];
  char* end = digits + sizeof(digits);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  out.append(p, static_cast<size_t>(end - p));
}

void AppendMillis(std::string& out, uint64_t ns) {
  uint64_t us = ns / 1000 + (ns % 1000 >= 500 ? 1 : 0);
  AppendUnsigned(out, us / 1000);
  unsigned fraction = static_cast<unsigned>(us % 1000);
  char tail[4] = {'.', static_cast<char>('0' + fraction / 100),
                  static_cast<char>('0' + fraction / 10 % 10), static_cast<char>('0' + fraction % 10)};
  out.append(tail, sizeof(tail));
}

void AppendUtcTime(std::string& out, uint64_t unix_ms) {
  // A busy node formats thousands of times per second, nearly all in the
  // same second as the previous time: the calendar part is kept per thread.
  thread_local uint64_t cached_second = UINT64_MAX;
  thread_local char prefix[40];  // "2026-12-07T03:29:57."
  thread_local size_t prefix_size = 0;
  uint64_t second = unix_ms / 1000;
  if (second != cached_second) {
    std::time_t seconds = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    prefix_size = fmt::format_to_n(prefix, sizeof(prefix), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
                                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                   tm.tm_min, tm.tm_sec)
                      .size;
    cached_second = second;
  }
  unsigned millis = static_cast<unsigned>(unix_ms % 1000);
  out.append(prefix, std::min(prefix_size, sizeof(prefix)));
  char tail[4] = {static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                  static_cast<char>('0' + millis % 10), 'Z'};
  out.append(tail, sizeof(tail));
}

std::string FormatUtcTime(uint64_t unix_ms) {
  std::string out;
  AppendUtcTime(out, unix_ms);
  return out;
}

}  // namespace edge::base
