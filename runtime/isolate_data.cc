#include "runtime/isolate_data.h"

#include <chrono>

#include "runtime/errors.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "runtime/pending_promise.h"

namespace edge::runtime {

IsolateData::IsolateData(v8::Isolate* isolate, uv_loop_t* loop, std::string worker_name,
                         uint64_t cpu_limit_ms)
    : isolate_(isolate),
      loop_(loop),
      worker_name_(std::move(worker_name)),
      timers_(this),
      watchdog_(isolate, cpu_limit_ms),
      time_origin_ns_(uv_hrtime()),
      time_origin_epoch_ms_(std::chrono::duration<double, std::milli>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) {
  isolate->SetData(0, this);
  self_ = std::make_shared<IsolateData*>(this);
}

IsolateData::~IsolateData() {
  *self_ = nullptr;
  self_.reset();
  deferred_.clear();
  if (defer_timer_ != nullptr) {
    uv_timer_stop(defer_timer_);
    base::CloseAndDelete(defer_timer_);
  }
  timers_.ClearAll();
  auto pending = std::move(pending_promises_);
  for (PendingPromise* promise : pending) promise->Detach();
  FailAllResponses("Worker was unloaded", LimitKind::kNone);
  isolate_->SetData(0, nullptr);
}

void IsolateData::FailAllResponses(std::string_view public_reason, LimitKind limit) {
  // Responses still open when the isolate goes away are failed, not lost.
  auto responses = std::move(responses_);
  responses_.clear();
  for (auto& [id, sink] : responses) sink->Fail(public_reason, limit);
}

void IsolateData::Defer(std::function<void()> task) {
  if (defer_timer_ == nullptr) {
    defer_timer_ = new uv_timer_t;
    uv_timer_init(loop_, defer_timer_);
    defer_timer_->data = this;
  }
  deferred_.push_back(std::move(task));
  uv_timer_start(defer_timer_, RunDeferred, 0, 0);
}

void IsolateData::RunDeferred(uv_timer_t* timer) {
  auto* self = static_cast<IsolateData*>(timer->data);
  std::weak_ptr<IsolateData*> alive = self->weak();
  auto tasks = std::move(self->deferred_);
  self->deferred_.clear();
  for (auto& task : tasks) {
    // A task may lead to this isolate being freed (it is then the last).
    auto still = alive.lock();
    if (!still || *still == nullptr) return;
    task();
  }
}

const EnvBinding* IsolateData::FindBinding(v8::Local<v8::Value> handle,
                                           std::string_view kind) const {
  if (!handle->IsUint32()) return nullptr;
  uint32_t index = handle.As<v8::Uint32>()->Value();
  if (index >= binding_table_.size() || binding_table_[index].kind != kind) return nullptr;
  return &binding_table_[index];
}

void IsolateData::SetContext(v8::Local<v8::Context> context, v8::Local<v8::Object> internals) {
  context_.Reset(isolate_, context);
  internals_.Reset(isolate_, internals);
}

uint32_t IsolateData::AddResponse(std::shared_ptr<ResponseSink> sink) {
  uint32_t id = next_response_id_++;
  if (next_response_id_ == 0) next_response_id_ = 1;
  responses_.emplace(id, std::move(sink));
  return id;
}

uint32_t IsolateData::AddUpload(std::shared_ptr<RequestBodySource> source) {
  uint32_t id = next_upload_id_++;
  if (next_upload_id_ == 0) next_upload_id_ = 1;
  uploads_.emplace(id, std::move(source));
  return id;
}

RequestBodySource* IsolateData::FindUpload(uint32_t id) {
  auto it = uploads_.find(id);
  return it == uploads_.end() ? nullptr : it->second.get();
}

ResponseSink* IsolateData::FindResponse(uint32_t id) {
  auto it = responses_.find(id);
  return it == responses_.end() ? nullptr : it->second.get();
}

void IsolateData::RemoveResponse(uint32_t id) { responses_.erase(id); }

void IsolateData::AddUnhandledRejection(v8::Local<v8::Promise> promise,
                                        v8::Local<v8::Value> reason) {
  rejections_.push_back({v8::Global<v8::Promise>(isolate_, promise),
                         v8::Global<v8::Value>(isolate_, reason)});
}

void IsolateData::RemoveUnhandledRejection(v8::Local<v8::Promise> promise) {
  for (auto it = rejections_.begin(); it != rejections_.end(); ++it) {
    if (it->promise.Get(isolate_) == promise) {
      rejections_.erase(it);
      return;
    }
  }
}

void IsolateData::DrainMicrotasks() {
  isolate_->PerformMicrotaskCheckpoint();
  if (rejections_.empty()) return;
  v8::HandleScope scope(isolate_);
  auto pending = std::move(rejections_);
  rejections_.clear();
  for (Rejection& r : pending) {
    Log(LogLevel::kError, "[{}] Uncaught (in promise) {}", worker_name_,
        DescribeException(isolate_, r.reason.Get(isolate_)));
  }
}

CallbackScope::CallbackScope(IsolateData* data)
    : data_((data->watchdog().Begin(), data)),
      isolate_scope_(data->isolate()),
      handle_scope_(data->isolate()),
      context_(data->context()),
      context_scope_(context_) {}

void IsolateData::ReportDiscardIfNeeded() {
  if (discard_reported_ || !discarded()) return;
  discard_reported_ = true;
  if (on_discard_) on_discard_();
}

CallbackScope::~CallbackScope() {
  data_->DrainMicrotasks();
  data_->watchdog().End();
  data_->ReportDiscardIfNeeded();
}

}  // namespace edge::runtime
