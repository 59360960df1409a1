#include "bindings/cron/cron_scheduler.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

namespace edge::bindings {
namespace {

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

// A scheduler on a loop of its own, with a clock the test moves.
class CronSchedulerTest : public ::testing::Test {
 protected:
  CronSchedulerTest() {
    uv_loop_init(&loop_);
    scheduler_ = std::make_unique<CronScheduler>(
        &loop_, [this] { return now_; },
        [this](const CronTrigger& trigger, int64_t when) {
          fired_.push_back(trigger.owner + " " + trigger.cron + " @" + std::to_string(when));
        });
  }
  ~CronSchedulerTest() override {
    scheduler_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  std::string At(const std::string& owner, const std::string& cron, int64_t when) {
    return owner + " " + cron + " @" + std::to_string(when);
  }

  uv_loop_t loop_;
  int64_t now_ = Utc(2024, 3, 10, 12, 0, 30);
  std::vector<std::string> fired_;
  std::unique_ptr<CronScheduler> scheduler_;
};

TEST_F(CronSchedulerTest, FiresEachTriggerAtItsMinute) {
  scheduler_->SetTriggers({{"a", "* * * * *"}, {"b", "*/5 * * * *"}, {"c", "0 0 1 1 *"}});
  EXPECT_EQ(scheduler_->size(), 3u);
  EXPECT_EQ(*scheduler_->NextFire(), Utc(2024, 3, 10, 12, 1));
  scheduler_->Tick();
  EXPECT_TRUE(fired_.empty());  // nothing due yet

  now_ = Utc(2024, 3, 10, 12, 1, 0);
  scheduler_->Tick();
  EXPECT_EQ(fired_, (std::vector<std::string>{At("a", "* * * * *", Utc(2024, 3, 10, 12, 1))}));
  scheduler_->Tick();  // the same minute fires once
  EXPECT_EQ(fired_.size(), 1u);

  fired_.clear();
  now_ = Utc(2024, 3, 10, 12, 5, 0) + 400;  // a little after the minute
  scheduler_->Tick();
  // "a" was due at 12:02 and is more than a minute late: skipped, not
  // fired late; its next minute is 12:06. "b" fires for 12:05.
  EXPECT_EQ(fired_, (std::vector<std::string>{At("b", "*/5 * * * *", Utc(2024, 3, 10, 12, 5))}));
  EXPECT_EQ(*scheduler_->NextFire(), Utc(2024, 3, 10, 12, 6));
}

TEST_F(CronSchedulerTest, MissedMinutesAreNotReplayed) {
  scheduler_->SetTriggers({{"a", "*/10 * * * *"}});
  // The node was down (or the loop blocked) from 12:00:30 to 13:35.
  now_ = Utc(2024, 3, 10, 13, 35);
  scheduler_->Tick();
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(*scheduler_->NextFire(), Utc(2024, 3, 10, 13, 40));
  now_ = Utc(2024, 3, 10, 13, 40, 0) + 999;
  scheduler_->Tick();
  EXPECT_EQ(fired_, (std::vector<std::string>{At("a", "*/10 * * * *", Utc(2024, 3, 10, 13, 40))}));
}

TEST_F(CronSchedulerTest, RedeployKeepsTheNextMinuteOfKeptTriggers) {
  scheduler_->SetTriggers({{"a", "* * * * *"}, {"a", "0 * * * *"}});
  now_ = Utc(2024, 3, 10, 12, 1, 0);
  scheduler_->Tick();
  ASSERT_EQ(fired_.size(), 1u);
  // A redeploy in the same minute: "* * * * *" is kept and does not fire
  // again; "0 * * * *" is removed; "30 * * * *" is new.
  now_ += 500;
  scheduler_->SetTriggers({{"a", "* * * * *"}, {"a", "30 * * * *"}});
  scheduler_->Tick();
  EXPECT_EQ(fired_.size(), 1u);
  EXPECT_EQ(*scheduler_->NextFire(), Utc(2024, 3, 10, 12, 2));
  // Triggers of another owner with the same expression are their own.
  scheduler_->SetTriggers({{"a", "* * * * *"}, {"b", "* * * * *"}});
  now_ = Utc(2024, 3, 10, 12, 2);
  scheduler_->Tick();
  EXPECT_EQ(fired_.size(), 3u);
  // A bad expression is left out; none at all stops the timer.
  scheduler_->SetTriggers({{"a", "61 * * * *"}});
  EXPECT_EQ(scheduler_->size(), 0u);
  EXPECT_FALSE(scheduler_->NextFire());
}

TEST_F(CronSchedulerTest, NeverFiringExpressionsStaySilent) {
  scheduler_->SetTriggers({{"a", "0 0 30 FEB *"}});
  EXPECT_EQ(scheduler_->size(), 1u);
  EXPECT_FALSE(scheduler_->NextFire());
  now_ = Utc(2030, 1, 1);
  scheduler_->Tick();
  EXPECT_TRUE(fired_.empty());
}

TEST_F(CronSchedulerTest, TheTimerFiresWithoutATick) {
  // The clock is 100 ms before a minute; the loop's timer does the rest.
  // (It waits on the loop, not on a real minute.)
  int64_t start = Utc(2024, 3, 10, 12, 0, 59) + 900;
  uint64_t origin = uv_hrtime();
  scheduler_ = std::make_unique<CronScheduler>(
      &loop_, [&] { return start + static_cast<int64_t>((uv_hrtime() - origin) / 1000000); },
      [this](const CronTrigger& trigger, int64_t when) {
        fired_.push_back(At(trigger.owner, trigger.cron, when));
        scheduler_->Stop();
      });
  scheduler_->SetTriggers({{"a", "* * * * *"}});
  // The timer is unreferenced: keep the loop alive with a guard timer that
  // ends the test if nothing fires within 10 s.
  uv_timer_t guard;
  uv_timer_init(&loop_, &guard);
  uv_timer_start(&guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 10000, 0);
  while (fired_.empty() && uv_run(&loop_, UV_RUN_ONCE) != 0) {
  }
  uv_timer_stop(&guard);
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);  // the guard is closed before it leaves scope
  EXPECT_EQ(fired_, (std::vector<std::string>{At("a", "* * * * *", Utc(2024, 3, 10, 12, 1))}));
}

}  // namespace
}  // namespace edge::bindings
