#include "runtime/timers.h"

#include "runtime/errors.h"
#include "runtime/isolate_data.h"
#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::runtime {

struct Timers::Timer {
  uv_timer_t handle;
  Timers* owner;
  uint32_t id;
  bool repeat;
  v8::Global<v8::Function> callback;
};

Timers::~Timers() { ClearAll(); }

uint32_t Timers::Start(v8::Isolate* isolate, v8::Local<v8::Function> callback, uint64_t delay_ms,
                       bool repeat) {
  auto* timer = new Timer{};
  timer->owner = this;
  timer->id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  timer->repeat = repeat;
  timer->callback.Reset(isolate, callback);
  uv_timer_init(data_->loop(), &timer->handle);
  timer->handle.data = timer;
  // Repeating timers need a period of at least 1 ms, as in browsers.
  uint64_t period = repeat ? (delay_ms == 0 ? 1 : delay_ms) : 0;
  // libuv measures a timer's delay from the time it cached when the loop
  // last woke; after a long piece of JavaScript (a cold start, a heavy
  // handler) that is stale, and setTimeout(f, 30) would fire at once.
  uv_update_time(data_->loop());
  uv_timer_start(&timer->handle, OnFire, delay_ms, period);
  timers_.emplace(timer->id, timer);
  return timer->id;
}

void Timers::Clear(uint32_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  Timer* timer = it->second;
  timers_.erase(it);
  timer->callback.Reset();
  uv_timer_stop(&timer->handle);
  base::CloseAndDelete(timer);  // its handle is the first member
}

void Timers::ClearAll() {
  auto timers = std::move(timers_);
  timers_.clear();
  for (auto& [id, timer] : timers) {
    timer->callback.Reset();
    uv_timer_stop(&timer->handle);
    base::CloseAndDelete(timer);  // its handle is the first member
  }
}

void Timers::OnFire(uv_timer_t* handle) {
  auto* timer = static_cast<Timer*>(handle->data);
  Timers* self = timer->owner;
  IsolateData* data = self->data_;
  v8::Isolate* isolate = data->isolate();
  uint32_t id = timer->id;

  CallbackScope scope(data);
  v8::Local<v8::Function> callback = timer->callback.Get(isolate);
  // A one-shot timer is done before its callback runs, so clearTimeout of
  // its own id from inside the callback is harmless.
  if (!timer->repeat) self->Clear(id);

  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> ignored;
  if (!callback->Call(scope.context(), v8::Undefined(isolate), 0, nullptr).ToLocal(&ignored) &&
      try_catch.HasCaught() && !try_catch.HasTerminated()) {
    Log(LogLevel::kError, "[{}] Uncaught exception in timer: {}", data->worker_name(),
        DescribeException(isolate, try_catch.Exception(), try_catch.Message()));
  }
}

}  // namespace edge::runtime
