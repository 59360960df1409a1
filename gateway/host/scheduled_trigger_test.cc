#include "gateway/host/scheduled_trigger.h"

#include <gtest/gtest.h>

namespace edge::gateway {
namespace {

TEST(ScheduledTestRequestTest, ReadsCronAndTime) {
  auto event = ScheduledTestRequest("/__scheduled?cron=*/5+*+*+*+*", 42);
  ASSERT_TRUE(event && event->ok());
  EXPECT_EQ(event->value().cron, "*/5 * * * *");
  EXPECT_EQ(event->value().scheduled_time_ms, 42);

  event = ScheduledTestRequest("/cdn-cgi/handler/scheduled?time=1700000000000&cron=0%203%20*%20*%20MON",
                               42);
  ASSERT_TRUE(event && event->ok());
  EXPECT_EQ(event->value().cron, "0 3 * * MON");
  EXPECT_EQ(event->value().scheduled_time_ms, 1700000000000);

  event = ScheduledTestRequest("/__scheduled", 7);
  ASSERT_TRUE(event && event->ok());
  EXPECT_EQ(event->value().cron, "");
  EXPECT_EQ(event->value().scheduled_time_ms, 7);

  event = ScheduledTestRequest("/__scheduled?time=soon", 7);
  ASSERT_TRUE(event);
  EXPECT_FALSE(event->ok());
  event = ScheduledTestRequest("/__scheduled?time=-5", 7);
  ASSERT_TRUE(event);
  EXPECT_FALSE(event->ok());
}

TEST(ScheduledTestRequestTest, OtherPathsAreNotIt) {
  for (const char* target : {"/", "/__scheduledx", "/__scheduled/x", "/cdn-cgi/handler/fetch",
                             "/x/__scheduled", "http://host/__scheduled"}) {
    EXPECT_FALSE(ScheduledTestRequest(target, 0)) << target;
  }
}

TEST(ScheduledTestRequestTest, DecodesQueryValues) {
  EXPECT_EQ(DecodeQueryValue("a+b%20c%2Fd"), "a b c/d");
  EXPECT_EQ(DecodeQueryValue("100%"), "100%");
  EXPECT_EQ(DecodeQueryValue("%zz%4"), "%zz%4");
  EXPECT_EQ(DecodeQueryValue(""), "");
}

TEST(OutcomeSinkTest, TellsOnceWhateverHappens) {
  std::vector<std::string> told;
  auto record = [&](bool ok, std::string_view text) {
    told.push_back(std::string(ok ? "ok " : "failed ") + std::string(text));
  };
  {
    OutcomeSink sink(record);
    sink.Start(200, "OK", {}, 19);
    sink.Write("Ran scheduled event");
    sink.Finish();
    sink.Fail("late", LimitKind::kNone);
  }
  {
    OutcomeSink sink(record);
    sink.Fail("Worker threw exception", LimitKind::kNone);
  }
  { OutcomeSink sink(record); }
  EXPECT_EQ(told, (std::vector<std::string>{"ok Ran scheduled event", "failed Worker threw exception",
                                            "failed the invocation ended without an outcome"}));
}

}  // namespace
}  // namespace edge::gateway
