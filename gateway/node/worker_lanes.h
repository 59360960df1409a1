// Which workers a serving thread hands to another thread, and until when.
//
// - Quarantined: stopped by its CPU or memory limit; runs on the node's
//   quarantine thread (lowest priority) for kQuarantineMs after its last kill.
// - Heavy: within its limits, but it holds a thread for long stretches (a
//   handler using milliseconds of CPU per request, waitUntil work computing
//   after the response). A serving thread runs one request at a time, so
//   every other tenant's request arriving meanwhile waits for the stretch to
//   end. A heavy worker runs on its serving thread's heavy lane, a thread of
//   its own that the kernel time-slices against the serving thread (and
//   ranks a little below it), for kHeavyMs after it was last seen heavy.
//
// Thread-safe; a worker in neither state costs one atomic load to look up.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace edge::gateway {

class WorkerLanes {
 public:
  enum class Lane { kServing, kHeavy, kQuarantine };
  static constexpr uint64_t kQuarantineMs = 30000;
  static constexpr uint64_t kHeavyMs = 10000;

  // Each returns true when the worker was not in that state before (for a
  // log line); calling again extends the state from `now_ms`.
  bool Quarantine(const std::string& worker, uint64_t now_ms);
  bool MarkHeavy(const std::string& worker, uint64_t now_ms);
  // Where `worker`'s requests run at `now_ms` (quarantine wins over heavy).
  // A state that ran out is dropped, and said in the log.
  Lane LaneOf(const std::string& worker, uint64_t now_ms);
  size_t quarantined() const { return quarantined_.load(std::memory_order_relaxed); }
  size_t heavy() const { return heavy_.load(std::memory_order_relaxed); }

 private:
  struct Until {
    uint64_t quarantine_ms = 0;
    uint64_t heavy_ms = 0;
  };
  // Sets one state of `worker` to last until `until_ms`, counting it in
  // `count` when it was not set; true when it was not in force at `now_ms`.
  bool Mark(const std::string& worker, uint64_t Until::*state, uint64_t until_ms,
            std::atomic<size_t>& count, uint64_t now_ms);
  std::mutex mutex_;
  std::unordered_map<std::string, Until> until_;  // steady ms
  std::atomic<size_t> entries_{0};
  std::atomic<size_t> quarantined_{0};
  std::atomic<size_t> heavy_{0};
};

// Finds heavy workers from the CPU time of each invocation (a request's,
// all its entries until its response ended) and of each entry run with no
// request open (a timer, waitUntil work), as the thread sees them end. One
// per thread, not thread-safe. A worker is heavy when at least kSlowOfLast8
// of its last 8 were over the threshold: one slow one (a first request
// compiling its code) is not enough, a worker slow every other time is.
// Per invocation, not per loop turn: a popular worker whose 40 quick
// requests share a turn is not heavy; one whose every request computes for
// milliseconds is, however few requests it gets.
class HeavyDetector {
 public:
  static constexpr int kSlowOfLast8 = 4;
  // `threshold_ns` 0: nothing is ever heavy.
  explicit HeavyDetector(uint64_t threshold_ns) : threshold_ns_(threshold_ns) {}
  // `worker` ran for `ns` (an invocation or a background entry); true when
  // it is heavy.
  bool Note(const std::string& worker, uint64_t ns);
  // Forgets workers none of whose last 8 was slow (called now and
  // then, so the table does not grow with every worker the thread ran).
  void Prune();

 private:
  uint64_t threshold_ns_;
  std::unordered_map<std::string, uint8_t> slow_;  // a bit per invocation or entry, newest lowest
};

}  // namespace edge::gateway
