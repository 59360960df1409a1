// setTimeout/setInterval for one isolate, on its thread's libuv loop.
#pragma once

#include <uv.h>
#include <v8.h>

#include <cstdint>
#include <unordered_map>

namespace edge::runtime {

class IsolateData;

class Timers {
 public:
  explicit Timers(IsolateData* data) : data_(data) {}
  ~Timers();
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Starts a timer that calls `callback` after `delay_ms` (then every
  // `delay_ms` when `repeat`). Returns its id (> 0).
  uint32_t Start(v8::Isolate* isolate, v8::Local<v8::Function> callback, uint64_t delay_ms,
                 bool repeat);
  void Clear(uint32_t id);
  // Cancels every timer: the isolate is being discarded.
  void ClearAll();
  size_t active() const { return timers_.size(); }

 public:
  struct Timer;

 private:
  static void OnFire(uv_timer_t* handle);

  IsolateData* data_;
  uint32_t next_id_ = 1;
  std::unordered_map<uint32_t, Timer*> timers_;
};

}  // namespace edge::runtime
