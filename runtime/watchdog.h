// Enforces the CPU-time limit of each entry into a worker's JavaScript (a
// request's handler, a timer, a continuation), measured on the CPU clock of
// the isolate's thread. One watchdog thread serves every isolate of the
// process; it sleeps until the earliest moment a running entry could exceed
// its limit, so an idle process does not wake.
#pragma once

#include <pthread.h>
#include <v8.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

namespace edge::runtime {

class Watchdog {
 public:
  // What the watchdog knows of one isolate. Created on the isolate's thread.
  class Subject {
   public:
    Subject(v8::Isolate* isolate, uint64_t cpu_limit_ms);
    ~Subject();
    Subject(const Subject&) = delete;
    Subject& operator=(const Subject&) = delete;

    // Outermost entry into JavaScript begins / ends (on the isolate's thread).
    void Begin();
    void End();
    // True once an entry ran over its limit and was terminated.
    bool exceeded() const { return exceeded_.load(); }
    uint64_t cpu_limit_ms() const { return cpu_limit_ns_ / 1000000; }

   private:
    friend class Watchdog;
    v8::Isolate* isolate_;
    clockid_t cpu_clock_;
    uint64_t cpu_limit_ns_;
    int depth_ = 0;
    // The thread's CPU clock as last read, and when (wall clock). Reading
    // the CPU clock is a system call; an entry that begins within 1 ms of
    // the last reading reuses it, so an entry may be charged up to 1 ms of
    // CPU spent just before it began (never less than it used).
    uint64_t last_cpu_ns_ = 0;
    uint64_t last_cpu_read_wall_ns_ = 0;
    // Guarded by the watchdog's mutex.
    bool running_ = false;
    uint64_t cpu_at_begin_ns_ = 0;
    uint64_t wall_deadline_ns_ = 0;
    std::atomic<bool> exceeded_{false};
  };

  static Watchdog& Get();

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
