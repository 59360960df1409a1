// An isolate's jobs on libuv's thread pool (KV reads and writes), at most
// kMaxInFlight of them in the pool at once; the rest wait here, in order.
//
// libuv's pool (4 threads) is one FIFO shared by every isolate of the
// process. Without this bound, a worker that starts 10,000 KV reads puts
// 10,000 jobs ahead of every other tenant's next read. With it, another
// tenant's job waits behind at most kMaxInFlight jobs per isolate of the
// busy worker. kMaxInFlight is the pool's size, so one isolate alone runs
// as fast as before.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace edge::runtime {

class ThreadPoolQueue {
 public:
  static constexpr size_t kMaxInFlight = 4;

  explicit ThreadPoolQueue(uv_loop_t* loop);
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
