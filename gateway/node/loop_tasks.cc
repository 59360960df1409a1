#include "gateway/node/loop_tasks.h"

#include "base/uv_handle.h"

namespace edge::gateway {

LoopTasks::LoopTasks(uv_loop_t* loop) : async_(new uv_async_t) {
  uv_async_init(loop, async_, OnAsync);
  async_->data = this;
}

LoopTasks::~LoopTasks() { Close(); }

void LoopTasks::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    tasks_.push_back(std::move(task));
  }
  uv_async_send(async_);
}

void LoopTasks::Close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    tasks_.clear();
  }
  base::CloseAndDelete(async_);
}

void LoopTasks::OnAsync(uv_async_t* async) {
  auto* self = static_cast<LoopTasks*>(async->data);
  for (;;) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      if (self->closed_ || self->tasks_.empty()) return;
      task = std::move(self->tasks_.front());
      self->tasks_.pop_front();
    }
    task();
  }
}

}  // namespace edge::gateway
