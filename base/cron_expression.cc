#include "base/cron_expression.h"

#include <fmt/core.h>

#include <array>
#include <cctype>
#include <vector>

namespace edge::base {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMinutes = 24 * 60;
// How far Next looks: "29 FEB" needs up to eight years (2096 -> 2104).
constexpr int64_t kSearchDays = 366 * 10;

// The civil date of a day counted from 1970-01-01 (Howard Hinnant's
// algorithm: proleptic Gregorian, exact for every date we meet).
void CivilFromDays(int64_t z, int* year, int* month, int* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int>(y + (m <= 2));
  *month = static_cast<int>(m);
  *day = static_cast<int>(d);
}

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 13> kDays = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month];
}

// 0 = Sunday .. 6 = Saturday.
int WeekdayOf(int64_t days_since_epoch) {
  int64_t w = (days_since_epoch + 4) % 7;  // 1970-01-01 was a Thursday
  return static_cast<int>(w < 0 ? w + 7 : w);
}

// The Monday-Friday day nearest to `day` inside its month (Quartz's W):
// a Saturday moves to the Friday before, unless that leaves the month; a
// Sunday to the Monday after, likewise.
int NearestWeekday(int day, int days_in_month, int weekday_of_day) {
  if (weekday_of_day == 6) return day > 1 ? day - 1 : day + 2;
  if (weekday_of_day == 0) return day < days_in_month ? day + 1 : day - 2;
  return day;
}

// One field being parsed: its name for errors, its range and its names.
struct Field {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // names[i] is value min + i
  int name_count;
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kWeekdayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                       "SAT", "",    "",    "",    "",    ""};

const Field kMinute{"minute", 0, 59, nullptr, 0};
const Field kHour{"hour", 0, 23, nullptr, 0};
const Field kDayOfMonth{"day of month", 1, 31, nullptr, 0};
const Field kMonth{"month", 1, 12, &kMonthNames, 12};
const Field kDayOfWeek{"day of week", 1, 7, &kWeekdayNames, 7};

// Reads a value (digits, or a name where the field has names) at the start
// of `text`, advancing it.
StatusOr<int> ReadValue(std::string_view& text, const Field& field, std::string_view whole) {
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid {} field '{}': {}", field.name, whole, why));
  };
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    int value = 0;
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > 1000) return bad("number out of range");
      ++i;
    }
    text.remove_prefix(i);
    if (value < field.min || value > field.max) {
      return bad(fmt::format("{} is not in {}-{}", value, field.min, field.max));
    }
    return value;
  }
  if (field.names != nullptr && text.size() >= 3) {
    for (int i = 0; i < field.name_count; ++i) {
      const char* name = (*field.names)[i];
      bool same = true;
      for (int j = 0; j < 3; ++j) {
        same &= std::toupper(static_cast<unsigned char>(text[j])) == name[j];
      }
      if (same) {
        text.remove_prefix(3);
        return field.min + i;
      }
    }
  }
  if (text.empty()) return bad("a value is missing");
  return bad(field.names != nullptr
                 ? fmt::format("expected a number from {} to {} or a three-letter name",
                               field.min, field.max)
                 : fmt::format("expected a number from {} to {}", field.min, field.max));
}

// The step after '/': 1 up to the width of the field.
StatusOr<int> ReadStep(std::string_view& text, const Field& field, std::string_view whole) {
  Field steps{field.name, 1, field.max - field.min, nullptr, 0};
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid {} field '{}': a step must be a number from 1 to {}",
                              field.name, whole, steps.max));
  }
  StatusOr<int> step = ReadValue(text, steps, whole);
  if (!step.ok()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid {} field '{}': a step must be from 1 to {}", field.name,
                              whole, steps.max));
  }
  return step;
}

// A list of values, ranges and steps ("1,5-9,*/15,10/5,2-20/3") into `bits`.
template <size_t N>
Status ReadList(std::string_view whole, const Field& field, std::bitset<N>& bits) {
  std::string_view text = whole;
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid {} field '{}': {}", field.name, whole, why));
  };
  for (;;) {
    int start = field.min;
    int end = field.max;
    bool star = false;
    if (!text.empty() && text[0] == '*') {
      star = true;
      text.remove_prefix(1);
    } else {
      StatusOr<int> value = ReadValue(text, field, whole);
      if (!value.ok()) return value.status();
      start = *value;
      end = start;
      if (!text.empty() && text[0] == '-') {
        text.remove_prefix(1);
        StatusOr<int> last = ReadValue(text, field, whole);
        if (!last.ok()) return last.status();
        end = *last;
        if (end < start) return bad(fmt::format("the range {}-{} runs backwards", start, end));
      }
    }
    int step = 1;
    if (!text.empty() && text[0] == '/') {
      text.remove_prefix(1);
      StatusOr<int> read = ReadStep(text, field, whole);
      if (!read.ok()) return read.status();
      step = *read;
      // "a/s" runs from a to the field's maximum.
      if (!star && start == end) end = field.max;
    } else if (star && whole != "*") {
      return bad("'*' cannot be part of a list");
    }
    for (int v = start; v <= end; v += step) bits.set(static_cast<size_t>(v));
    if (text.empty()) return Status::Ok();
    if (text[0] != ',') return bad(fmt::format("unexpected '{}'", text.substr(0, 1)));
    text.remove_prefix(1);
    if (text.empty()) return bad("a list ends with ','");
  }
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

StatusOr<CronExpression> CronExpression::Parse(std::string_view text) {
  auto wrap = [&](const Status& status) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid cron expression \"{}\": {}", text, status.message()));
  };
  if (text.size() > 256) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("invalid cron expression \"{}...\": longer than 256 characters",
                              text.substr(0, 32)));
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return wrap(Status(ErrorCode::kInvalidInput, "control characters are not allowed"));
    }
    if (static_cast<unsigned char>(c) >= 0x7f) {
      return wrap(Status(ErrorCode::kInvalidInput, "only ASCII characters are allowed"));
    }
  }
  std::vector<std::string_view> fields = SplitFields(text);
  if (fields.size() != 5) {
    return wrap(Status(ErrorCode::kInvalidInput,
                       fmt::format("expected 5 fields (minute hour day-of-month month "
                                   "day-of-week), got {}",
                                   fields.size())));
  }
  CronExpression cron;
  cron.text_ = std::string(text);
  Status status = ReadList(fields[0], kMinute, cron.minutes_);
  if (status.ok()) status = ReadList(fields[1], kHour, cron.hours_);
  if (status.ok()) status = ReadList(fields[3], kMonth, cron.months_);
  if (!status.ok()) return wrap(status);

  // Day of month: *, L, LW, L-n, L-nW, nW, or a list.
  std::string dom = Upper(fields[2]);
  auto bad_dom = [&](std::string_view why) {
    return wrap(Status(ErrorCode::kInvalidInput,
                       fmt::format("invalid day of month field '{}': {}", fields[2], why)));
  };
  if (dom == "*") {
    cron.dom_kind_ = DayOfMonthKind::kAll;
  } else if (dom == "L") {
    cron.dom_kind_ = DayOfMonthKind::kLast;
  } else if (dom == "LW") {
    cron.dom_kind_ = DayOfMonthKind::kLastWeekday;
  } else if (dom.starts_with("L-")) {
    std::string_view rest = std::string_view(dom).substr(2);
    bool weekday = rest.ends_with("W");
    if (weekday) rest.remove_suffix(1);
    Field offsets{"day of month", 1, 30, nullptr, 0};
    std::string_view cursor = rest;
    StatusOr<int> offset = ReadValue(cursor, offsets, fields[2]);
    if (!offset.ok() || !cursor.empty() || rest.empty()) {
      return bad_dom("L-n needs an offset n from 1 to 30");
    }
    cron.dom_value_ = *offset;
    cron.dom_kind_ = weekday ? DayOfMonthKind::kLastOffsetWeekday : DayOfMonthKind::kLastOffset;
  } else if (dom.ends_with("W")) {
    std::string_view rest = std::string_view(dom).substr(0, dom.size() - 1);
    std::string_view cursor = rest;
    StatusOr<int> day = ReadValue(cursor, kDayOfMonth, fields[2]);
    if (!day.ok() || !cursor.empty() || rest.empty()) {
      return bad_dom("nW needs one day n from 1 to 31 (W does not join a list or range)");
    }
    cron.dom_value_ = *day;
    cron.dom_kind_ = DayOfMonthKind::kNearestWeekday;
  } else {
    if (dom.find_first_of("LW#") != std::string::npos) {
      return bad_dom("L and W stand alone in the field (L, LW, L-n, L-nW, nW)");
    }
    cron.dom_kind_ = DayOfMonthKind::kList;
    status = ReadList(fields[2], kDayOfMonth, cron.days_);
    if (!status.ok()) return wrap(status);
  }

  // Day of week: *, L (Saturday), xL, x#n, or a list.
  std::string dow = Upper(fields[4]);
  auto bad_dow = [&](std::string_view why) {
    return wrap(Status(ErrorCode::kInvalidInput,
                       fmt::format("invalid day of week field '{}': {}", fields[4], why)));
  };
  size_t hash = dow.find('#');
  if (dow == "*") {
    cron.dow_kind_ = DayOfWeekKind::kAll;
  } else if (dow == "L") {
    cron.dow_kind_ = DayOfWeekKind::kList;
    cron.weekdays_.set(7);
  } else if (hash != std::string::npos) {
    std::string_view day_text = std::string_view(dow).substr(0, hash);
    std::string_view nth_text = std::string_view(dow).substr(hash + 1);
    std::string_view cursor = day_text;
    StatusOr<int> day = ReadValue(cursor, kDayOfWeek, fields[4]);
    if (!day.ok() || !cursor.empty() || day_text.empty()) {
      return bad_dow("x#n needs one weekday x (1-7 or SUN-SAT)");
    }
    Field nths{"day of week", 1, 5, nullptr, 0};
    cursor = nth_text;
    StatusOr<int> nth = ReadValue(cursor, nths, fields[4]);
    if (!nth.ok() || !cursor.empty() || nth_text.empty()) {
      return bad_dow("x#n needs n from 1 to 5");
    }
    cron.dow_kind_ = DayOfWeekKind::kNth;
    cron.dow_value_ = *day;
    cron.dow_nth_ = *nth;
  } else if (dow.size() > 1 && dow.ends_with("L")) {
    std::string_view day_text = std::string_view(dow).substr(0, dow.size() - 1);
    std::string_view cursor = day_text;
    StatusOr<int> day = ReadValue(cursor, kDayOfWeek, fields[4]);
    if (!day.ok() || !cursor.empty()) {
      return bad_dow("xL needs one weekday x (1-7 or SUN-SAT)");
    }
    cron.dow_kind_ = DayOfWeekKind::kLast;
    cron.dow_value_ = *day;
  } else {
    cron.dow_kind_ = DayOfWeekKind::kList;
    status = ReadList(fields[4], kDayOfWeek, cron.weekdays_);
    if (!status.ok()) return wrap(status);
  }
  return cron;
}

bool CronExpression::DayMatches(int year, int month, int day, int weekday) const {
  int days_in_month = DaysInMonth(year, month);
  auto dom_matches = [&]() -> bool {
    switch (dom_kind_) {
      case DayOfMonthKind::kAll:
        return true;
      case DayOfMonthKind::kList:
        return days_[static_cast<size_t>(day)];
      case DayOfMonthKind::kLast:
        return day == days_in_month;
      case DayOfMonthKind::kLastWeekday: {
        int last_weekday = (weekday + (days_in_month - day)) % 7;
        return day == NearestWeekday(days_in_month, days_in_month, last_weekday) &&
               weekday != 0 && weekday != 6;
      }
      case DayOfMonthKind::kLastOffset:
        return day == days_in_month - dom_value_;
      case DayOfMonthKind::kLastOffsetWeekday:
      case DayOfMonthKind::kNearestWeekday: {
        int target = dom_kind_ == DayOfMonthKind::kNearestWeekday ? dom_value_
                                                                   : days_in_month - dom_value_;
        if (target < 1 || target > days_in_month) return false;
        int target_weekday = ((weekday + (target - day)) % 7 + 7) % 7;
        return day == NearestWeekday(target, days_in_month, target_weekday);
      }
    }
    return false;
  };
  auto dow_matches = [&]() -> bool {
    int value = weekday + 1;  // 1 = Sunday
    switch (dow_kind_) {
      case DayOfWeekKind::kAll:
        return true;
      case DayOfWeekKind::kList:
        return weekdays_[static_cast<size_t>(value)];
      case DayOfWeekKind::kLast:
        return value == dow_value_ && day + 7 > days_in_month;
      case DayOfWeekKind::kNth:
        return value == dow_value_ && (day - 1) / 7 + 1 == dow_nth_;
    }
    return false;
  };
  bool dom_all = dom_kind_ == DayOfMonthKind::kAll;
  bool dow_all = dow_kind_ == DayOfWeekKind::kAll;
  if (dom_all && dow_all) return true;
  if (dom_all) return dow_matches();
  if (dow_all) return dom_matches();
  return dom_matches() || dow_matches();
}

bool CronExpression::Matches(int64_t unix_ms) const {
  int64_t minute = (unix_ms >= 0 ? unix_ms : unix_ms - kMinuteMs + 1) / kMinuteMs;
  int64_t days = (minute >= 0 ? minute : minute - kDayMinutes + 1) / kDayMinutes;
  int64_t in_day = minute - days * kDayMinutes;
  int year, month, day;
  CivilFromDays(days, &year, &month, &day);
  return minutes_[static_cast<size_t>(in_day % 60)] && hours_[static_cast<size_t>(in_day / 60)] &&
         months_[static_cast<size_t>(month)] && DayMatches(year, month, day, WeekdayOf(days));
}

std::optional<int64_t> CronExpression::Next(int64_t after_unix_ms) const {
  // The first whole minute after `after`.
  int64_t minute = (after_unix_ms >= 0 ? after_unix_ms : after_unix_ms - kMinuteMs + 1) / kMinuteMs + 1;
  int64_t days = (minute >= 0 ? minute : minute - kDayMinutes + 1) / kDayMinutes;
  int first_minute_of_day = static_cast<int>(minute - days * kDayMinutes);
  for (int64_t i = 0; i < kSearchDays; ++i, ++days) {
    int year, month, day;
    CivilFromDays(days, &year, &month, &day);
    int from = i == 0 ? first_minute_of_day : 0;
    if (!months_[static_cast<size_t>(month)]) {
      // Skip to the first day of the next month.
      int left = DaysInMonth(year, month) - day;
      days += left;
      i += left;
      continue;
    }
    if (!DayMatches(year, month, day, WeekdayOf(days))) continue;
    for (int hour = from / 60; hour < 24; ++hour) {
      if (!hours_[static_cast<size_t>(hour)]) continue;
      int first = hour == from / 60 ? from % 60 : 0;
      for (int m = first; m < 60; ++m) {
        if (minutes_[static_cast<size_t>(m)]) {
          return (days * kDayMinutes + hour * 60 + m) * kMinuteMs;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace edge::base
