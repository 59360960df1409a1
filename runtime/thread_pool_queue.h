// Jobs of one isolate on libuv's thread pool, at most `max_in_flight` of them
// in the pool at once; the rest wait here, in order.
//
// libuv's pool (4 threads) is one FIFO shared by every isolate of the
// process. Without this bound, a worker that starts 10,000 KV reads puts
// 10,000 jobs ahead of every other tenant's next read. With it, another
// tenant's job waits behind at most `max_in_flight` jobs per isolate of the
// busy worker. An isolate has two queues (IsolateData): KV's on libuv's
// pool, bounded at the pool's size (kIoJobs, so one isolate alone runs as
// fast as without it), and long CPU work's (kCpuJobs: one job of up to
// seconds of CPU at a time) on the low-priority threads through an
// Executor, so that work never holds the pool's threads KV needs.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace edge::runtime {

class ThreadPoolQueue {
 public:
  static constexpr size_t kIoJobs = 4;
  static constexpr size_t kCpuJobs = 1;

  // Runs `task` on a thread of its own, from the loop thread; must not run
  // it inline.
  using Executor = std::function<void(std::function<void()> task)>;

  // `executor`: where jobs run instead of libuv's pool (long CPU work on
  // threads that do not hold the pool's few threads while they wait for a
  // core); their `after` still runs on `loop`.
  ThreadPoolQueue(uv_loop_t* loop, size_t max_in_flight, Executor executor = nullptr);
  // Jobs still waiting are dropped unrun (neither `work` nor `after`); jobs
  // in libuv's pool finish and their `after` runs; an executor's jobs finish
  // and their `after` is dropped.
  ~ThreadPoolQueue();
  ThreadPoolQueue(const ThreadPoolQueue&) = delete;
  ThreadPoolQueue& operator=(const ThreadPoolQueue&) = delete;

  // Runs `work` on the pool, then `after` on the loop; from the loop thread.
  // `owner` (0: none) names the invocation the job belongs to, for
  // DropWaiting.
  void Run(std::function<void()> work, std::function<void()> after, double owner = 0);
  // Drops the jobs of `owner` (not 0) that have not started: neither their
  // `work` nor their `after` runs (their invocation ended). Returns how many.
  size_t DropWaiting(double owner);

  size_t in_flight() const;
  size_t waiting() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace edge::runtime
