// Ownership of heap-allocated libuv handles. A handle may only be freed once
// libuv is done with it, in the callback of uv_close; this is that pair,
// written once. Header-only: the code that includes it links libuv.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <utility>

namespace edge::base {

// Closes `handle` and deletes it in the close callback. `Handle` is a libuv
// handle type (uv_timer_t, uv_async_t, ...), or a struct whose first member
// is one, allocated with `new`. The handle's data and callbacks must not be
// used after this call.
template <typename Handle>
void CloseAndDelete(Handle* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
}

// Runs `fn` once on `loop` after `ms` milliseconds (0: on a later turn of
// the loop, from a fresh callback), through a timer of its own that is
// closed and freed as it fires, before `fn` runs. Call on the loop thread;
// the timer keeps the loop alive until then.
inline void RunAfter(uv_loop_t* loop, uint64_t ms, std::function<void()> fn) {
  struct Task {
    uv_timer_t timer;  // first: CloseAndDelete frees the Task
    std::function<void()> fn;
  };
  auto* task = new Task;
  task->fn = std::move(fn);
  uv_timer_init(loop, &task->timer);
  task->timer.data = task;
  uv_timer_start(
      &task->timer,
      [](uv_timer_t* timer) {
        auto* fired = static_cast<Task*>(timer->data);
        std::function<void()> run = std::move(fired->fn);
        CloseAndDelete(fired);
        run();
      },
      ms, 0);
}

}  // namespace edge::base
