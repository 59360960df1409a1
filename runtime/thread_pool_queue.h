// Jobs of one isolate on libuv's thread pool, at most `max_in_flight` of them
// in the pool at once; the rest wait here, in order.
//
// libuv's pool (4 threads) is one FIFO shared by every isolate of the
// process. Without this bound, a worker that starts 10,000 KV reads puts
// 10,000 jobs ahead of every other tenant's next read. With it, another
// tenant's job waits behind at most `max_in_flight` jobs per isolate of the
// busy worker. An isolate has two queues (IsolateData): KV's, bounded at
// the pool's size (kIoJobs, so one isolate alone runs as fast as without
// it), and crypto's (kCpuJobs: one job of up to seconds of CPU at a time,
// so a worker's RSA key generations leave the pool's other threads to
// everyone's KV).
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

  ThreadPoolQueue(uv_loop_t* loop, size_t max_in_flight);
  // Jobs still waiting are dropped unrun (neither `work` nor `after`); jobs
  // in the pool finish and their `after` runs.
  ~ThreadPoolQueue();
  ThreadPoolQueue(const ThreadPoolQueue&) = delete;
  ThreadPoolQueue& operator=(const ThreadPoolQueue&) = delete;

  // Runs `work` on the pool, then `after` on the loop; from the loop thread.
  void Run(std::function<void()> work, std::function<void()> after);

  size_t in_flight() const;
  size_t waiting() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace edge::runtime
