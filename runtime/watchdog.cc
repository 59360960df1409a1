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

// Reading a thread's CPU clock is a system call (it takes the scheduler's
// lock): too dear for every entry of a hello-world request. So:
// - an entry shorter than kShortEntryNs of wall time is charged its wall
//   time: the thread ran it from start to end, bar a preemption, which
//   would overcharge it, never undercharge;
// - a longer one is charged the thread's CPU clock across it, capped at its
//   wall time;
// - where an entry begins, the clock (what the watchdog measures the limit
//   from) is read at most once per kCpuReadingReuseNs per thread; a reused
//   reading can make the watchdog stop an entry up to that much early.
constexpr uint64_t kShortEntryNs = 1000000;
constexpr uint64_t kCpuReadingReuseNs = 1000000;
struct CpuReading {
  uint64_t cpu_ns = 0;
  uint64_t wall_ns = 0;
};
thread_local CpuReading t_last_reading;

uint64_t ThreadCpuNs(uint64_t wall_ns) {
  if (wall_ns - t_last_reading.wall_ns <= kCpuReadingReuseNs) return t_last_reading.cpu_ns;
  t_last_reading = {ClockNs(CLOCK_THREAD_CPUTIME_ID), wall_ns};
  return t_last_reading.cpu_ns;
}

// The subjects that ran an entry with no request open on this thread since
// its last TakeBackgroundEntries.
thread_local std::vector<Watchdog::Subject*> t_background_subjects;

const std::string kNoLabel;

}  // namespace

Watchdog::Subject::Subject(v8::Isolate* isolate, uint64_t cpu_limit_ms, const std::string* label)
    : isolate_(isolate), cpu_limit_ns_(cpu_limit_ms * 1000000u), label_(label) {
  if (pthread_getcpuclockid(pthread_self(), &cpu_clock_) != 0) cpu_clock_ = CLOCK_THREAD_CPUTIME_ID;
  Watchdog::Get().Add(this);
}

Watchdog::Subject::~Subject() {
  // Destroyed on the thread it ran on, so it is listed there if at all.
  if (listed_) std::erase(t_background_subjects, this);
  Watchdog::Get().Remove(this);
}

const std::string& Watchdog::Subject::label() const {
  return label_ != nullptr ? *label_ : kNoLabel;
}

void Watchdog::Subject::NoteEntry(uint64_t ns) {
  if (!background_entry_) return;
  background_max_ns_ = std::max(background_max_ns_, ns);
  if (listed_) return;
  listed_ = true;
  t_background_subjects.push_back(this);
}

void Watchdog::Subject::ForgetBackgroundEntries() {
  if (listed_) std::erase(t_background_subjects, this);
  listed_ = false;
  background_max_ns_ = 0;
}

void Watchdog::TakeBackgroundEntries(
    const std::function<void(const Subject&, uint64_t longest_ns)>& each) {
  if (t_background_subjects.empty()) return;
  std::vector<Subject*> ran;
  ran.swap(t_background_subjects);
  for (Subject* subject : ran) {
    uint64_t longest = subject->background_max_ns_;
    subject->background_max_ns_ = 0;
    subject->listed_ = false;
    each(*subject, longest);
  }
  // Keep the list's storage for the next turn (no allocation per turn).
  ran.clear();
  if (t_background_subjects.empty()) t_background_subjects.swap(ran);
}

uint64_t Watchdog::Subject::EntryCpuSince(uint64_t now_wall_ns) {
  uint64_t wall = now_wall_ns > entry_wall_ns_ ? now_wall_ns - entry_wall_ns_ : 0;
  if (wall < kShortEntryNs) return wall;
  uint64_t cpu = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  t_last_reading = {cpu, now_wall_ns};
  return std::min(cpu > entry_cpu_ns_ ? cpu - entry_cpu_ns_ : 0, wall);
}

void Watchdog::Subject::Begin() {
  if (depth_++ > 0) return;
  // Known at the start: a request's handler that ends its request inside
  // the entry is still that request's.
  background_entry_ = !account_.has_open();
  uint64_t wall = WallNs();
  entry_wall_ns_ = wall;
  entry_cpu_ns_ = ThreadCpuNs(wall);
  // The entry's budget: what the most charged open request has left of
  // the worker's limit, and what the service-binding chains of the open
  // requests have left of their top-level request's limit, whichever is
  // less (a callee with a larger limit cannot extend its chain).
  exceeded_before_entry_ = exceeded_.load();
  CpuAccount::ChainBound chain = account_.ChainEntryBudget();
  uint64_t budget =
      cpu_limit_ns_ > 0 ? account_.EntryBudget(cpu_limit_ns_) : CpuAccount::kNoChainBudget;
  uint64_t applied_ns = cpu_limit_ns_;
  entry_chain_.reset();
  if (chain.entry_ns < budget) {
    budget = chain.entry_ns;
    applied_ns = chain.chain->cpu_budget_ns;
    entry_chain_ = std::move(chain.chain);
  }
  if (!exceeded_.load()) applied_limit_ns_ = applied_ns;
  timed_ = budget != CpuAccount::kNoChainBudget;
  if (!timed_) return;
  if (budget == 0) {
    // A chain is spent: the entry stops before it runs any JavaScript, as
    // one that overran would have (the termination takes effect at the
    // first JavaScript it runs).
    timed_ = false;
    exceeded_ = true;
    isolate_->TerminateExecution();
    return;
  }
  Watchdog& watchdog = Watchdog::Get();
  bool wake;
  {
    std::lock_guard<std::mutex> lock(watchdog.mutex_);
    running_ = true;
    cpu_at_begin_ns_ = entry_cpu_ns_;
    entry_limit_ns_ = budget;
    // CPU time never runs faster than the wall clock: this is the earliest
    // moment the budget could be used up.
    wall_deadline_ns_ = wall + budget;
    wake = wall_deadline_ns_ < watchdog.waiting_until_ns_;
  }
  if (wake) watchdog.wake_.notify_one();
}

void Watchdog::Subject::Checkpoint() {
  if (depth_ == 0) return;
  uint64_t now = WallNs();
  uint64_t used = EntryCpuSince(now);
  account_.Charge(used);
  // What follows in this entry is charged from here.
  entry_wall_ns_ = now;
  entry_cpu_ns_ += used;
}

void Watchdog::Subject::End() {
  if (--depth_ > 0) return;
  uint64_t used = EntryCpuSince(WallNs());
  account_.Charge(used);
  NoteEntry(used);
  // Stopped at what its chain had left: the chain is spent, even if this
  // entry's charge came out a little under the watchdog's measure.
  if (entry_chain_ && exceeded_.load() && !exceeded_before_entry_) entry_chain_->MarkSpent();
  entry_chain_.reset();
  if (!timed_) return;
  timed_ = false;
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
        if (used >= subject->entry_limit_ns_) {
          // The subject cannot end its entry while we hold the lock, so this
          // terminates the entry that overran and no other.
          subject->exceeded_ = true;
          subject->running_ = false;
          subject->isolate_->TerminateExecution();
          continue;
        }
        subject->wall_deadline_ns_ = now + (subject->entry_limit_ns_ - used);
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
