#include "runtime/worker_spare.h"

#include "base/log.h"
#include "runtime/isolate_data.h"
#include "runtime/platform.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace edge::runtime {

std::unique_ptr<SpareIsolate> SpareIsolate::Make(uv_loop_t* loop, const NativeRegistry& natives,
                                                 size_t heap_limit_bytes) {
  InitializeV8();
  const StartupSnapshot* snapshot = FindStartupSnapshot(natives);
  if (snapshot == nullptr) return nullptr;
  std::unique_ptr<SpareIsolate> spare(new SpareIsolate());
  spare->allocator_ = std::make_shared<BufferAllocator>(heap_limit_bytes);
  spare->isolate_ = NewWorkerIsolate(spare->allocator_, snapshot);
  // Named and limited when a worker takes it (Worker::AdoptSpare).
  spare->data_ = std::make_unique<IsolateData>(spare->isolate_, loop, std::string(), 0);
  spare->data_->set_natives(natives.table());
  v8::Isolate::Scope isolate_scope(spare->isolate_);
  v8::HandleScope handle_scope(spare->isolate_);
  v8::Local<v8::Context> context;
  v8::Local<v8::Value> internals;
  v8::Local<v8::Value> native;
  if (!v8::Context::FromSnapshot(spare->isolate_, kSnapshotRuntimeContext).ToLocal(&context) ||
      !context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotInternals).ToLocal(&internals) ||
      !context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotNative).ToLocal(&native) ||
      !internals->IsObject() || !native->IsObject()) {
    Log(LogLevel::kWarn,
        "cannot restore the runtime from the startup snapshot for a spare isolate");
    return nullptr;
  }
  context->AllowCodeGenerationFromStrings(false);
  spare->context_.Reset(spare->isolate_, context);
  spare->internals_.Reset(spare->isolate_, internals.As<v8::Object>());
  spare->native_.Reset(spare->isolate_, native.As<v8::Object>());
  return spare;
}

SpareIsolate::~SpareIsolate() {
  if (isolate_ == nullptr) return;  // taken by a worker
  {
    v8::Isolate::Scope isolate_scope(isolate_);
    context_.Reset();
    internals_.Reset();
    native_.Reset();
    data_.reset();
  }
  isolate_->Dispose();
}

size_t SpareIsolate::memory_bytes() const {
  if (isolate_ == nullptr || data_ == nullptr) return 0;
  return data_->memory_bytes();
}

}  // namespace edge::runtime
