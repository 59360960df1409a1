// Cron expressions as Cloudflare Workers accepts them in `[triggers] crons`:
// five fields (minute, hour, day of month, month, day of week), UTC, with
// Quartz-like extensions. What each field takes:
//
//   minute        0-59                          * , - /
//   hour          0-23                          * , - /
//   day of month  1-31                          * , - /   L  LW  L-n  L-nW  nW
//   month         1-12 or JAN-DEC               * , - /
//   day of week   1-7 or SUN-SAT (1 = Sunday)   * , - /   L  xL  x#n
//
// Names are three letters, any case. `a/s` steps from a to the field's
// maximum; `a-b/s` within the range; `*/s` over the whole field. The L, W
// and # forms stand alone in their field (they do not join a list). When
// both day fields are restricted (neither is a lone `*`), a day matches if
// either matches, as in classic cron; when one is `*`, only the other
// counts.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::base {

class CronExpression {
 public:
  // Parses `text`; the error names the expression and the field at fault.
  static StatusOr<CronExpression> Parse(std::string_view text);

  // The first minute strictly after `after_unix_ms` that the expression
  // matches, as Unix milliseconds (a multiple of 60,000); nullopt when it
  // matches no minute in the next ten years (such as "0 0 30 FEB *").
  std::optional<int64_t> Next(int64_t after_unix_ms) const;
  // Whether the minute holding `unix_ms` matches.
  bool Matches(int64_t unix_ms) const;

  const std::string& text() const { return text_; }

  // How a day-of-month field is written.
  enum class DayOfMonthKind {
    kAll,                 // *
    kList,                // values, ranges, steps
    kLast,                // L: the last day of the month
    kLastWeekday,         // LW: the last Monday-Friday of the month
    kLastOffset,          // L-n: n days before the last day
    kLastOffsetWeekday,   // L-nW: the weekday nearest to L-n
    kNearestWeekday,      // nW: the weekday nearest to day n, in the same month
  };
  // How a day-of-week field is written.
  enum class DayOfWeekKind {
    kAll,   // *
    kList,  // values, ranges, steps (L alone means Saturday)
    kLast,  // xL: the last weekday x of the month
    kNth,   // x#n: the n-th weekday x of the month
  };

 private:
  bool DayMatches(int year, int month, int day, int weekday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<13> months_;  // 1..12
  DayOfMonthKind dom_kind_ = DayOfMonthKind::kAll;
  std::bitset<32> days_;  // 1..31, for kList
  int dom_value_ = 0;     // n of L-n, L-nW and nW
  DayOfWeekKind dow_kind_ = DayOfWeekKind::kAll;
  std::bitset<8> weekdays_;  // 1..7 (1 = Sunday), for kList
  int dow_value_ = 0;        // x of xL and x#n (1..7)
  int dow_nth_ = 0;          // n of x#n (1..5)
};

}  // namespace edge::base
