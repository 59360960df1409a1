// Runs functions on a libuv loop's thread, posted from any thread: how the
// node's control thread and its serving threads talk (warm this version,
// publish, stop). Tasks run in the order posted.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <mutex>

namespace edge::gateway {

class LoopTasks {
 public:
  // Call on the loop's thread.
  explicit LoopTasks(uv_loop_t* loop);
  ~LoopTasks();
  LoopTasks(const LoopTasks&) = delete;
  LoopTasks& operator=(const LoopTasks&) = delete;

  // Any thread. Tasks posted after Close are dropped.
  void Post(std::function<void()> task);
  // On the loop's thread: stops taking tasks and releases the handle so the
  // loop can end. Tasks already queued are dropped.
  void Close();

 private:
  static void OnAsync(uv_async_t* async);

  uv_async_t* async_;
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
  bool closed_ = false;
};

}  // namespace edge::gateway
