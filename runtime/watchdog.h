// Measures the CPU time of every entry into a worker's JavaScript (a
// request's handler, a timer, a continuation) on the CPU clock of the
// isolate's thread, charges it to the requests open at the time (see
// CpuAccount), and enforces the CPU limit: no open request may be charged
// more than the limit, and an entry with no request open (a timer, waitUntil
// work) may use the limit on its own. One watchdog thread serves every
// isolate of the process; it sleeps until the earliest moment a running
// entry could exceed its budget, so an idle process does not wake.
#pragma once

#include <pthread.h>
#include <v8.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cpu_account.h"

namespace edge::runtime {

class Watchdog {
 public:
  // What the watchdog knows of one isolate. Created on the isolate's thread.
  class Subject {
   public:
    // `label` (the worker's name, which outlives the subject) is what
    // TakeBackgroundEntries reports it as.
    Subject(v8::Isolate* isolate, uint64_t cpu_limit_ms, const std::string* label = nullptr);
    ~Subject();
    Subject(const Subject&) = delete;
    Subject& operator=(const Subject&) = delete;

    // Outermost entry into JavaScript begins / ends (on the isolate's thread).
    void Begin();
    void End();
    // Charges the CPU the current entry used so far (a request that ends
    // inside an entry is charged for its part of it).
    void Checkpoint();
    // True once an entry ran over its limit and was terminated.
    bool exceeded() const { return exceeded_.load(); }
    uint64_t cpu_limit_ms() const { return cpu_limit_ns_ / 1000000; }
    // The limit the entry that was stopped ran under: the worker's own, or
    // the CPU limit of the top-level request of a service-binding chain
    // (whichever left it less). Read on the isolate's thread.
    uint64_t exceeded_limit_ms() const { return applied_limit_ns_ / 1000000; }
    // Changes the limit for entries that begin from now on (startup runs
    // under its own limit). 0 disables it; CPU time is measured anyway.
    void set_cpu_limit_ms(uint64_t ms) { cpu_limit_ns_ = ms * 1000000u; }
    // Where each entry's CPU time is charged.
    CpuAccount& account() { return account_; }
    // Takes the entries with no request open since the thread's last
    // TakeBackgroundEntries off its list: a worker's load (its top-level
    // code) is not background work that makes it heavy; an isolate loaded
    // after each eviction would otherwise look heavy by its loads alone.
    void ForgetBackgroundEntries();
    const std::string& label() const;

   private:
    friend class Watchdog;
    v8::Isolate* isolate_;
    clockid_t cpu_clock_;
    uint64_t cpu_limit_ns_;
    int depth_ = 0;
    // The CPU the current entry used since it began (or since the last
    // Checkpoint), read as watchdog.cc explains.
    uint64_t EntryCpuSince(uint64_t now_wall_ns);
    bool timed_ = false;          // the current entry is watched
    uint64_t applied_limit_ns_ = 0;  // see exceeded_limit_ms()
    // The service-binding chain whose budget bounds the current entry, if
    // one does (request_chain.h).
    std::shared_ptr<RequestChain> entry_chain_;
    bool exceeded_before_entry_ = false;
    uint64_t entry_cpu_ns_ = 0;   // the thread's CPU clock when it began (maybe reused)
    uint64_t entry_wall_ns_ = 0;  // the monotonic clock when it began
    CpuAccount account_;
    // Guarded by the watchdog's mutex.
    bool running_ = false;
    uint64_t cpu_at_begin_ns_ = 0;
    uint64_t entry_limit_ns_ = 0;
    uint64_t wall_deadline_ns_ = 0;
    std::atomic<bool> exceeded_{false};
    // Since the thread's last TakeBackgroundEntries: the longest entry with
    // no request open, and whether the subject is on the thread's list.
    const std::string* label_;
    uint64_t background_max_ns_ = 0;
    bool listed_ = false;
    bool background_entry_ = false;  // the current entry began with no request open
    void NoteEntry(uint64_t ns);
  };

  static Watchdog& Get();

  // On a thread whose event loop runs isolates, once per turn of the loop
  // (before it polls for I/O): calls `each` with every subject that ran an
  // entry with no request open (a timer, waitUntil work after the
  // response) on this thread since the previous call, and the longest such
  // entry. Such an entry holds the thread as long as a slow handler does
  // and delays every other request on it; the node moves workers that do
  // this often to a thread of their own (gateway/node/worker_lanes.h).
  static void TakeBackgroundEntries(
      const std::function<void(const Subject&, uint64_t longest_ns)>& each);

 private:
  Watchdog();
  void Add(Subject* subject);
  void Remove(Subject* subject);
  void Started(Subject* subject);
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<Subject*> subjects_;
  // When the watchdog thread will next look (UINT64_MAX: not before it is
  // woken). An entry whose deadline is later needs no wake-up, which keeps
  // the request path free of a thread switch per entry.
  uint64_t waiting_until_ns_ = UINT64_MAX;
  std::thread thread_;
};

}  // namespace edge::runtime
