#include "bindings/cron/cron_scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <utility>

#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::bindings {
namespace {

// The timer never sleeps longer than this, so a wall clock that jumps
// (NTP, a suspended machine) is noticed within it.
constexpr int64_t kMaxSleepMs = 10'000;
constexpr int64_t kMinuteMs = 60'000;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CronClock SystemCronClock() {
  const char* start = std::getenv("EDGE_CLOCK_START_MS");
  if (start == nullptr || *start == '\0') return WallMs;
  char* end = nullptr;
  long long start_ms = std::strtoll(start, &end, 10);
  if (end == start || *end != '\0' || start_ms < 0) {
    Log(LogLevel::kWarn, "EDGE_CLOCK_START_MS is not a Unix time in milliseconds: ignored");
    return WallMs;
  }
  Log(LogLevel::kWarn, "a test clock starting at {} drives cron triggers and Cache API expiry (EDGE_CLOCK_START_MS)",
      start_ms);
  int64_t origin = static_cast<int64_t>(uv_hrtime() / 1000000);
  return [start_ms, origin] {
    return static_cast<int64_t>(start_ms) + static_cast<int64_t>(uv_hrtime() / 1000000) - origin;
  };
}

CronScheduler::CronScheduler(uv_loop_t* loop, CronClock clock, Fire fire)
    : loop_(loop), clock_(std::move(clock)), fire_(std::move(fire)), timer_(new uv_timer_t) {
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  // Triggers alone do not keep a loop running.
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
}

CronScheduler::~CronScheduler() { Stop(); }

void CronScheduler::Stop() {
  if (timer_ == nullptr) return;
  uv_timer_stop(timer_);
  base::CloseAndDelete(timer_);
  timer_ = nullptr;
  scheduled_.clear();
}

void CronScheduler::SetTriggers(std::vector<CronTrigger> triggers) {
  std::map<std::pair<std::string, std::string>, std::optional<int64_t>> previous;
  for (const Scheduled& scheduled : scheduled_) {
    previous.emplace(std::make_pair(scheduled.trigger.owner, scheduled.trigger.cron), scheduled.next);
  }
  int64_t now = clock_();
  std::vector<Scheduled> next;
  for (CronTrigger& trigger : triggers) {
    StatusOr<base::CronExpression> expression = base::CronExpression::Parse(trigger.cron);
    if (!expression.ok()) {
      Log(LogLevel::kError, "[{}] cron trigger left out: {}", trigger.owner,
          expression.status().message());
      continue;
    }
    auto kept = previous.find({trigger.owner, trigger.cron});
    std::optional<int64_t> when =
        kept != previous.end() ? kept->second : expression->Next(now);
    next.push_back({std::move(trigger), std::move(expression).value(), when});
  }
  scheduled_ = std::move(next);
  Arm();
}

void CronScheduler::Tick() {
  if (timer_ == nullptr) return;
  int64_t now = clock_();
  std::vector<std::pair<CronTrigger, int64_t>> due;
  for (Scheduled& scheduled : scheduled_) {
    if (!scheduled.next || *scheduled.next > now) continue;
    int64_t when = *scheduled.next;
    if (now - when >= kMinuteMs) {
      Log(LogLevel::kWarn, "[{}] cron \"{}\" missed its minute ({} ms late): not fired",
          scheduled.trigger.owner, scheduled.trigger.cron, now - when);
    } else {
      due.emplace_back(scheduled.trigger, when);
    }
    scheduled.next = scheduled.expression.Next(now);
  }
  // Fired after the state is updated: `fire` may change the triggers.
  for (const auto& [trigger, when] : due) fire_(trigger, when);
  Arm();
}

std::optional<int64_t> CronScheduler::NextFire() const {
  std::optional<int64_t> earliest;
  for (const Scheduled& scheduled : scheduled_) {
    if (scheduled.next && (!earliest || *scheduled.next < *earliest)) earliest = scheduled.next;
  }
  return earliest;
}

void CronScheduler::Arm() {
  if (timer_ == nullptr) return;
  std::optional<int64_t> next = NextFire();
  if (!next) {
    uv_timer_stop(timer_);
    return;
  }
  int64_t delay = std::clamp<int64_t>(*next - clock_(), 0, kMaxSleepMs);
  uv_timer_start(
      timer_, [](uv_timer_t* timer) { static_cast<CronScheduler*>(timer->data)->Tick(); },
      static_cast<uint64_t>(delay), 0);
}

}  // namespace edge::bindings
