// JSON text for the node's own output (access log, tail events, usage
// reports), where strings come from workers and clients: they may hold
// anything, invalid UTF-8 included, and every line must still parse.
// Escaping itself is json_text.h's and validation utf8.h's; this adds the
// UTF-8 repair and the number and time formats those outputs share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edge::base {

// `text` with each ill-formed sequence (each maximal subpart, as the Unicode
// standard and the WHATWG decoder count them) replaced by U+FFFD.
std::string ToWellFormedUtf8(std::string_view text);

// Appends `text` as a JSON string literal, quotes included: escaped as
// json_text.h does (control characters as \u00XX), ill-formed UTF-8 replaced
// by U+FFFD, so the result is always valid JSON.
void AppendJsonEscaped(std::string& out, std::string_view text);
std::string JsonEscape(std::string_view text);

// Appends a duration in nanoseconds as milliseconds with three decimals,
// rounded to the microsecond: 1234567 -> "1.235". Integer arithmetic, so
// large totals print exactly.
void AppendMillis(std::string& out, uint64_t ns);

// "2026-11-27T06:51:04.123Z": a Unix time in milliseconds, in UTC.
std::string FormatUtcTime(uint64_t unix_ms);
// The same, appended to `out` (no string of its own).
void AppendUtcTime(std::string& out, uint64_t unix_ms);

// Appends `value` in decimal, as fmt's "{}" would.
void AppendUnsigned(std::string& out, uint64_t value);

}  // namespace edge::base
