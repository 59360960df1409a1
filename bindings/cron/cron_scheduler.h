// Fires cron triggers on time: each trigger's next minute is computed from
// its base::CronExpression, and one libuv timer wakes the loop for the
// earliest. The clock is injected (Unix milliseconds), so tests move time
// by hand and call Tick instead of waiting for a minute.
//
// Only what falls due while the scheduler runs is fired: a minute that
// passed while the process was down is not replayed, and one found more
// than a minute late (the loop was blocked, the clock jumped) is skipped
// and logged, not fired late.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/cron_expression.h"

namespace edge::bindings {

// Unix milliseconds now.
using CronClock = std::function<int64_t()>;

// The wall clock; or, when EDGE_CLOCK_START_MS is set (end-to-end tests),
// a clock that starts at that Unix time and runs at real speed. The Cache
// API's store (bindings/cache) keeps time by it too.
CronClock SystemCronClock();

struct CronTrigger {
  std::string owner;  // whose trigger: a worker (the caller's key for it)
  std::string cron;   // the expression, as configured (controller.cron)
};

class CronScheduler {
 public:
  // `fire` runs on the loop's thread for each trigger that falls due, with
  // the minute it is due for (controller.scheduledTime).
  using Fire = std::function<void(const CronTrigger& trigger, int64_t scheduled_ms)>;
  CronScheduler(uv_loop_t* loop, CronClock clock, Fire fire);
  ~CronScheduler();
  CronScheduler(const CronScheduler&) = delete;
  CronScheduler& operator=(const CronScheduler&) = delete;

  // Replaces every trigger. A trigger already scheduled (same owner and
  // expression) keeps its next minute, so a redeploy neither fires it twice
  // nor skips it; new ones start from the clock's now. An expression that
  // does not parse is logged and left out (callers check them first).
  void SetTriggers(std::vector<CronTrigger> triggers);
  // Fires what is due at the clock's now and re-arms the timer. The timer
  // calls it; tests call it after moving their clock.
  void Tick();
  // The earliest next fire of any trigger (Unix ms); nullopt with none.
  std::optional<int64_t> NextFire() const;
  size_t size() const { return scheduled_.size(); }
  // Closes the timer (the loop can end); no trigger fires after this.
  void Stop();

 private:
  struct Scheduled {
    CronTrigger trigger;
    base::CronExpression expression;
    std::optional<int64_t> next;  // nullopt: it never fires again
  };
  void Arm();

  uv_loop_t* loop_;
  CronClock clock_;
  Fire fire_;
  std::vector<Scheduled> scheduled_;
  uv_timer_t* timer_ = nullptr;
};

}  // namespace edge::bindings
