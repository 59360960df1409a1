#include "runtime/watchdog.h"

#include <time.h>
#include <uv.h>

#include <algorithm>
#include <chrono>

namespace edge::runtime {
namespace {

uint64_t ClockNs(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t WallNs() { return ClockNs(CLOCK_MONOTONIC); }

// How long a reading of the thread's CPU clock is reused (see Subject).
constexpr uint64_t kCpuReadingReuseNs = 1000000;

}  // namespace

Watchdog::Subject::Subject(v8::Isolate* isolate, uint64_t cpu_limit_ms)
    : isolate_(isolate), cpu_limit_ns_(cpu_limit_ms * 1000000u) {
  if (pthread_getcpuclockid(pthread_self(), &cpu_clock_) != 0) cpu_clock_ = CLOCK_THREAD_CPUTIME_ID;
  if (cpu_limit_ns_ > 0) Watchdog::Get().Add(this);
}

Watchdog::Subject::~Subject() {
  if (cpu_limit_ns_ > 0) Watchdog::Get().Remove(this);
}

void Watchdog::Subject::Begin() {
  if (depth_++ > 0 || cpu_limit_ns_ == 0) return;
  Watchdog& watchdog = Watchdog::Get();
  uint64_t wall = WallNs();
  if (wall - last_cpu_read_wall_ns_ > kCpuReadingReuseNs) {
    last_cpu_ns_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
    last_cpu_read_wall_ns_ = wall;
  }
  bool wake;
  {
    std::lock_guard<std::mutex> lock(watchdog.mutex_);
    running_ = true;
    cpu_at_begin_ns_ = last_cpu_ns_;
    // CPU time never runs faster than the wall clock: this is the earliest
    // moment the limit could be reached.
    wall_deadline_ns_ = wall + cpu_limit_ns_;
    wake = wall_deadline_ns_ < watchdog.waiting_until_ns_;
  }
  if (wake) watchdog.wake_.notify_one();
}

void Watchdog::Subject::End() {
  if (--depth_ > 0 || cpu_limit_ns_ == 0) return;
  std::lock_guard<std::mutex> lock(Watchdog::Get().mutex_);
  running_ = false;
}

Watchdog& Watchdog::Get() {
  static Watchdog* watchdog = new Watchdog();  // lives until exit, like its thread
  return *watchdog;
}

Watchdog::Watchdog() : thread_([this] { Run(); }) { thread_.detach(); }

void Watchdog::Add(Subject* subject) {
  std::lock_guard<std::mutex> lock(mutex_);
  subjects_.insert(subject);
}

void Watchdog::Remove(Subject* subject) {
  std::lock_guard<std::mutex> lock(mutex_);
  subjects_.erase(subject);
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    uint64_t now = WallNs();
    uint64_t next = UINT64_MAX;
    for (Subject* subject : subjects_) {
      if (!subject->running_) continue;
      if (subject->wall_deadline_ns_ <= now) {
        uint64_t used = ClockNs(subject->cpu_clock_) - subject->cpu_at_begin_ns_;
        if (used >= subject->cpu_limit_ns_) {
          // The subject cannot end its entry while we hold the lock, so this
          // terminates the entry that overran and no other.
          subject->exceeded_ = true;
          subject->running_ = false;
          subject->isolate_->TerminateExecution();
          continue;
        }
        subject->wall_deadline_ns_ = now + (subject->cpu_limit_ns_ - used);
      }
      next = std::min(next, subject->wall_deadline_ns_);
    }
    waiting_until_ns_ = next;
    if (next == UINT64_MAX) {
      wake_.wait(lock);
    } else {
      wake_.wait_for(lock, std::chrono::nanoseconds(next - now));
    }
  }
}

}  // namespace edge::runtime
