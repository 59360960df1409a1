// A spare isolate: made ahead of need from the startup snapshot, with the
// runtime's context restored and no worker's code in it, so a worker whose
// isolate was evicted pays only for its own modules (Worker::Load with a
// spare). Whoever keeps spares (gateway/node/isolate_pool.h) makes them
// when its thread is idle.
//
// A spare is fresh: made on its own, handed to one worker (Load consumes
// it; a spare that does not fit is disposed of), and never returned to a
// pool after a worker ran in it. No tenant's code, name, bindings or
// limits reach it before Load: they are set then, before that worker's
// code runs.
#pragma once

#include <uv.h>
#include <v8.h>

#include <cstddef>
#include <memory>

#include "runtime/buffer_allocator.h"
#include "runtime/native.h"

namespace edge::runtime {

class IsolateData;
class Worker;

class SpareIsolate {
 public:
  // Makes one on `loop`'s thread (the thread that will use it) for workers
  // whose memory budget is `heap_limit_bytes`. Null when there is no
  // usable startup snapshot (a spare would save nothing) or V8 could not
  // restore the runtime from it (logged).
  static std::unique_ptr<SpareIsolate> Make(uv_loop_t* loop, const NativeRegistry& natives,
                                            size_t heap_limit_bytes);
  ~SpareIsolate();
  SpareIsolate(const SpareIsolate&) = delete;
  SpareIsolate& operator=(const SpareIsolate&) = delete;

  // The memory budget it was made for: a worker with another one loads
  // without it (V8 fixes the heap's limits when it makes an isolate).
  size_t heap_limit_bytes() const { return allocator_->budget(); }
  // What it holds (V8 heap, malloc'd, external), as Worker::memory_bytes.
  size_t memory_bytes() const;

 private:
  friend class Worker;
  SpareIsolate() = default;

  std::shared_ptr<BufferAllocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
  std::unique_ptr<IsolateData> data_;
  v8::Global<v8::Context> context_;
  v8::Global<v8::Object> internals_;
  v8::Global<v8::Object> native_;
};

}  // namespace edge::runtime
