#include "base/cron_expression.h"

#include <gtest/gtest.h>

#include <ctime>

namespace edge::base {
namespace {

// Unix milliseconds of a UTC date and time.
int64_t Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

CronExpression Cron(std::string_view text) {
  StatusOr<CronExpression> cron = CronExpression::Parse(text);
  EXPECT_TRUE(cron.ok()) << text << ": " << cron.status().message();
  return cron.ok() ? std::move(cron).value() : CronExpression::Parse("* * * * *").value();
}

// The next fire after `after`, or -1 when there is none.
int64_t NextAfter(std::string_view text, int64_t after) {
  std::optional<int64_t> next = Cron(text).Next(after);
  return next ? *next : -1;
}

TEST(CronExpressionTest, AcceptsWhatWorkersDocuments) {
  for (const char* text :
       {"* * * * *", "*/30 * * * *", "45 * * * *", "0 17 * * sun", "0 17 * * 1", "10 7 * * mon-fri",
        "10 7 * * 2-6", "0 15 1 * *", "0 18 * * 6L", "0 18 * * friL", "59 23 LW * *",
        "*/5 * * * *", "0 3 * * MON-FRI", "0 10 * * MON#2", "0 9 L * *", "*/10 9-17 * * MON-FRI",
        "0 0 L-3 * *", "0 0 L-3W * *", "0 0 15W * *", "0 0 * JAN,jul *", "0 0 * jan-MAR/2 *",
        "5/15 * * * *", "1-30/7 * * * *", "0 0 1,15 * *", "0 0 * * L", "0\t0  * * *"}) {
    EXPECT_TRUE(CronExpression::Parse(text).ok()) << text;
  }
}

TEST(CronExpressionTest, RefusesWithAMessageNamingTheExpressionAndField) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"* * * *", "expected 5 fields"},
           {"* * * * * *", "expected 5 fields"},
           {"", "expected 5 fields"},
           {"60 * * * *", "invalid minute field '60'"},
           {"* 24 * * *", "invalid hour field '24'"},
           {"* * 0 * *", "invalid day of month field '0'"},
           {"* * 32 * *", "invalid day of month field '32'"},
           {"* * * 13 *", "invalid month field '13'"},
           {"* * * * 0", "invalid day of week field '0'"},
           {"* * * * 8", "invalid day of week field '8'"},
           {"* * * FOO *", "invalid month field 'FOO'"},
           {"* * * * MONDAY", "invalid day of week field 'MONDAY'"},
           {"*/0 * * * *", "a step must be"},
           {"*/60 * * * *", "a step must be"},
           {"5-1 * * * *", "runs backwards"},
           {"1, * * * *", "invalid minute field"},
           {"*,5 * * * *", "'*' cannot be part of a list"},
           {"* * 1W,2 * *", "stand alone"},
           {"* * L,5 * *", "L and W stand alone"},
           {"* * L-31 * *", "offset n from 1 to 30"},
           {"* * * * MON#6", "n from 1 to 5"},
           {"* * * * MON#0", "n from 1 to 5"},
           {"* * * * 1,2L", "invalid day of week field"},
           {"* * * * ?", "invalid day of week field"},
           {"@daily", "expected 5 fields"},
           {"* * * * *\n", "control characters"},
       }) {
    StatusOr<CronExpression> cron = CronExpression::Parse(c.text);
    ASSERT_FALSE(cron.ok()) << c.text;
    EXPECT_NE(cron.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << cron.status().message();
    EXPECT_NE(cron.status().message().find("invalid cron expression"), std::string::npos);
  }
  // Huge input is cut short in the message.
  std::string long_text(10000, '1');
  StatusOr<CronExpression> cron = CronExpression::Parse(long_text);
  ASSERT_FALSE(cron.ok());
  EXPECT_LT(cron.status().message().size(), 200u);
}

TEST(CronExpressionTest, NextIsStrictlyAfterAndOnAWholeMinute) {
  int64_t t = Utc(2024, 3, 10, 12, 30, 0);
  EXPECT_EQ(NextAfter("* * * * *", t), Utc(2024, 3, 10, 12, 31));
  EXPECT_EQ(NextAfter("* * * * *", t + 59'999), Utc(2024, 3, 10, 12, 31));
  EXPECT_EQ(NextAfter("*/5 * * * *", t), Utc(2024, 3, 10, 12, 35));
  EXPECT_EQ(NextAfter("*/5 * * * *", t - 1), t);
  EXPECT_EQ(NextAfter("5/15 * * * *", t), Utc(2024, 3, 10, 12, 35));
  EXPECT_EQ(NextAfter("5/15 * * * *", Utc(2024, 3, 10, 12, 50)), Utc(2024, 3, 10, 13, 5));
  EXPECT_EQ(NextAfter("0 3 * * *", t), Utc(2024, 3, 11, 3, 0));
  // The year rolls over.
  EXPECT_EQ(NextAfter("0 0 1 1 *", Utc(2024, 12, 31, 23, 59)), Utc(2025, 1, 1, 0, 0));
}

TEST(CronExpressionTest, MonthEndsAndLeapYears) {
  // The 31st skips months that have none.
  EXPECT_EQ(NextAfter("0 0 31 * *", Utc(2024, 4, 1)), Utc(2024, 5, 31));
  // 29 February: only leap years; 2100 is not one.
  EXPECT_EQ(NextAfter("0 0 29 FEB *", Utc(2024, 3, 1)), Utc(2028, 2, 29));
  EXPECT_EQ(NextAfter("0 0 29 2 *", Utc(2096, 3, 1)), Utc(2104, 2, 29));
  // L: the last day, whatever the month's length.
  EXPECT_EQ(NextAfter("0 9 L * *", Utc(2023, 2, 1)), Utc(2023, 2, 28, 9));
  EXPECT_EQ(NextAfter("0 9 L * *", Utc(2024, 2, 1)), Utc(2024, 2, 29, 9));
  EXPECT_EQ(NextAfter("0 9 L * *", Utc(2024, 4, 30, 9)), Utc(2024, 5, 31, 9));
  // L-3: three days before the last day.
  EXPECT_EQ(NextAfter("0 0 L-3 * *", Utc(2024, 2, 1)), Utc(2024, 2, 26));
  // A day no month has never fires.
  EXPECT_EQ(NextAfter("0 0 30 FEB *", Utc(2024, 1, 1)), -1);
}

TEST(CronExpressionTest, WeekdayForms) {
  // 1 = Sunday: 2024-03-10 is a Sunday.
  EXPECT_EQ(NextAfter("0 17 * * 1", Utc(2024, 3, 5)), Utc(2024, 3, 10, 17));
  EXPECT_EQ(NextAfter("0 17 * * sun", Utc(2024, 3, 5)), Utc(2024, 3, 10, 17));
  // MON-FRI from a Saturday (2024-03-09) is the Monday.
  EXPECT_EQ(NextAfter("10 7 * * MON-FRI", Utc(2024, 3, 9)), Utc(2024, 3, 11, 7, 10));
  EXPECT_EQ(NextAfter("10 7 * * 2-6", Utc(2024, 3, 9)), Utc(2024, 3, 11, 7, 10));
  // The last Friday of March 2024 is the 29th.
  EXPECT_EQ(NextAfter("0 18 * * 6L", Utc(2024, 3, 1)), Utc(2024, 3, 29, 18));
  EXPECT_EQ(NextAfter("0 18 * * friL", Utc(2024, 3, 1)), Utc(2024, 3, 29, 18));
  // The second Monday of March 2024 is the 11th; of April, the 8th.
  EXPECT_EQ(NextAfter("0 10 * * MON#2", Utc(2024, 3, 1)), Utc(2024, 3, 11, 10));
  EXPECT_EQ(NextAfter("0 10 * * MON#2", Utc(2024, 3, 12)), Utc(2024, 4, 8, 10));
  // A fifth Monday only in months that have one (April 2024: the 29th).
  EXPECT_EQ(NextAfter("0 0 * * 2#5", Utc(2024, 3, 1)), Utc(2024, 4, 29));
  // L alone is Saturday.
  EXPECT_EQ(NextAfter("0 0 * * L", Utc(2024, 3, 10)), Utc(2024, 3, 16));
}

TEST(CronExpressionTest, NearestWeekday) {
  // 2024-06-15 is a Saturday: 15W is Friday the 14th.
  EXPECT_EQ(NextAfter("0 0 15W * *", Utc(2024, 6, 1)), Utc(2024, 6, 14));
  // 2024-09-01 is a Sunday: 1W is Monday the 2nd (never the month before).
  EXPECT_EQ(NextAfter("0 0 1W * *", Utc(2024, 8, 31)), Utc(2024, 9, 2));
  // 2024-06-01 is a Saturday: 1W is Monday the 3rd.
  EXPECT_EQ(NextAfter("0 0 1W * *", Utc(2024, 5, 31)), Utc(2024, 6, 3));
  // 2024-06-30 is a Sunday: 30W stays in June, Friday the 28th.
  EXPECT_EQ(NextAfter("0 0 30W * *", Utc(2024, 6, 1)), Utc(2024, 6, 28));
  // 31W skips months without a 31st.
  EXPECT_EQ(NextAfter("0 0 31W * *", Utc(2024, 6, 1)), Utc(2024, 7, 31));
  // LW: the last weekday; 2024-03-31 is a Sunday, so Friday the 29th.
  EXPECT_EQ(NextAfter("59 23 LW * *", Utc(2024, 3, 1)), Utc(2024, 3, 29, 23, 59));
  // 2024-04-30 is a Tuesday.
  EXPECT_EQ(NextAfter("59 23 LW * *", Utc(2024, 4, 1)), Utc(2024, 4, 30, 23, 59));
  // L-1W in June 2024: the 29th is a Saturday, so Friday the 28th.
  EXPECT_EQ(NextAfter("0 0 L-1W * *", Utc(2024, 6, 1)), Utc(2024, 6, 28));
}

TEST(CronExpressionTest, DayOfMonthOrDayOfWeek) {
  // Both restricted: either matches. 2024-03-01 is a Friday; the 15th
  // comes after Monday the 4th.
  CronExpression both = Cron("0 0 15 * MON");
  EXPECT_EQ(*both.Next(Utc(2024, 3, 1)), Utc(2024, 3, 4));
  EXPECT_EQ(*both.Next(Utc(2024, 3, 11)), Utc(2024, 3, 15));
  EXPECT_TRUE(both.Matches(Utc(2024, 3, 15)));  // a Friday, but the 15th
  EXPECT_TRUE(both.Matches(Utc(2024, 3, 18)));  // a Monday, not the 15th
  EXPECT_FALSE(both.Matches(Utc(2024, 3, 19)));
  // One of them '*': only the other counts.
  EXPECT_FALSE(Cron("0 0 15 * *").Matches(Utc(2024, 3, 18)));
  EXPECT_FALSE(Cron("0 0 * * MON").Matches(Utc(2024, 3, 15)));
  // A step over the whole field still restricts it.
  CronExpression stepped = Cron("0 0 */10 * MON");
  EXPECT_TRUE(stepped.Matches(Utc(2024, 3, 21)));  // a Thursday, but 1, 11, 21, 31
  EXPECT_TRUE(stepped.Matches(Utc(2024, 3, 4)));   // a Monday
  EXPECT_FALSE(stepped.Matches(Utc(2024, 3, 5)));
}

TEST(CronExpressionTest, ListsRangesStepsAndNames) {
  CronExpression cron = Cron("0,30 9-17/4 * jan,Jul-AUG *");
  EXPECT_TRUE(cron.Matches(Utc(2024, 1, 2, 9, 30)));
  EXPECT_TRUE(cron.Matches(Utc(2024, 7, 2, 13, 0)));
  EXPECT_TRUE(cron.Matches(Utc(2024, 8, 2, 17, 0)));
  EXPECT_FALSE(cron.Matches(Utc(2024, 8, 2, 10, 0)));
  EXPECT_FALSE(cron.Matches(Utc(2024, 2, 2, 9, 0)));
  EXPECT_FALSE(cron.Matches(Utc(2024, 1, 2, 9, 15)));
  EXPECT_EQ(NextAfter("0 0 * * SAT,sun", Utc(2024, 3, 11)), Utc(2024, 3, 16));
}

TEST(CronExpressionTest, ManyNextCallsStayWithinTheSearch) {
  // Every answer of Next matches, and nothing between two answers does.
  CronExpression cron = Cron("*/7 */5 L-2W * 3#2");
  int64_t t = Utc(2024, 1, 1);
  for (int i = 0; i < 200; ++i) {
    std::optional<int64_t> next = cron.Next(t);
    ASSERT_TRUE(next);
    ASSERT_TRUE(cron.Matches(*next));
    ASSERT_GT(*next, t);
    t = *next;
  }
  CronExpression daily = Cron("0 0 * * *");
  int64_t start = Utc(2024, 2, 27, 12);
  int64_t next = *daily.Next(start);
  for (int64_t m = start + 60'000; m < next; m += 60'000) ASSERT_FALSE(daily.Matches(m));
}

}  // namespace
}  // namespace edge::base
