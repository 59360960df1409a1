#include "runtime/isolate_data.h"

#include <chrono>

#include "runtime/errors.h"
#include "runtime/low_priority_threads.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "runtime/pending_promise.h"
#include "runtime/static_source.h"
#include "runtime/websocket/websocket_table.h"

namespace edge::runtime {

IsolateData::IsolateData(v8::Isolate* isolate, uv_loop_t* loop, std::string worker_name,
                         uint64_t cpu_limit_ms)
    : isolate_(isolate),
      loop_(loop),
      worker_name_(std::move(worker_name)),
      timers_(this),
      thread_pool_(loop, ThreadPoolQueue::kIoJobs),
      cpu_jobs_(loop, ThreadPoolQueue::kCpuJobs, RunAtLowPriority),
      watchdog_(isolate, cpu_limit_ms, &worker_name_),
      time_origin_ns_(uv_hrtime()),
      time_origin_epoch_ms_(std::chrono::duration<double, std::milli>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) {
  isolate->SetData(0, this);
  self_ = std::make_shared<IsolateData*>(this);
}

WebSocketTable& IsolateData::websockets() {
  if (!websockets_) websockets_ = std::make_unique<WebSocketTable>(this);
  return *websockets_;
}

size_t IsolateData::open_websockets() const { return websockets_ ? websockets_->open() : 0; }

void IsolateData::ResetTimeOrigin() {
  time_origin_ns_ = uv_hrtime();
  time_origin_epoch_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
}

IsolateData::~IsolateData() {
  // Sockets close (1001) while the rest of the isolate's state is there.
  websockets_.reset();
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
  resources_.clear();
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
  // Started once for a batch: the timer is already due at the next turn
  // while tasks wait.
  bool first = deferred_.empty();
  deferred_.push_back(std::move(task));
  if (first) uv_timer_start(defer_timer_, RunDeferred, 0, 0);
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

void IsolateData::RemoveResponse(uint32_t id) {
  responses_.erase(id);
  response_chains_.erase(id);
  auto it = response_invocations_.find(id);
  if (it == response_invocations_.end()) return;
  double key = it->second;
  response_invocations_.erase(it);
  auto found = invocations_.find(key);
  if (found == invocations_.end()) return;
  found->second.response_open = false;
  MaybeEndInvocation(key);
}

double IsolateData::BeginInvocation(uint32_t response_id, uint32_t limit) {
  double key = next_invocation_key_++;
  Invocation invocation;
  invocation.limit = limit;
  invocation.response_id = response_id;
  auto chain = response_chains_.find(response_id);
  if (response_id != 0 && chain != response_chains_.end()) {
    invocation.chain = std::move(chain->second);
    response_chains_.erase(chain);
  } else {
    invocation.chain = std::make_shared<RequestChain>();
  }
  if (response_id != 0 && responses_.count(response_id)) {
    invocation.response_open = true;
    response_invocations_[response_id] = key;
  }
  invocations_.emplace(key, std::move(invocation));
  return key;
}

IsolateData::Invocation* IsolateData::FindInvocation(double key) {
  auto it = invocations_.find(key);
  return it == invocations_.end() ? nullptr : &it->second;
}

void IsolateData::MaybeEndInvocation(double key) {
  auto it = invocations_.find(key);
  if (it == invocations_.end()) return;
  if (it->second.response_id == 0 || it->second.response_open || it->second.holds > 0) return;
  ForgetInvocation(key);
}

void IsolateData::HoldInvocation(double key, int delta) {
  auto it = invocations_.find(key);
  if (it == invocations_.end()) return;
  if (delta > 0) {
    ++it->second.holds;
  } else if (it->second.holds > 0) {
    --it->second.holds;
    MaybeEndInvocation(key);
  }
}

void IsolateData::EndInvocation(double key) {
  auto it = invocations_.find(key);
  if (it == invocations_.end()) return;
  if (it->second.response_open) response_invocations_.erase(it->second.response_id);
  ForgetInvocation(key);
}

void IsolateData::ForgetInvocation(double key) {
  invocations_.erase(key);
  CancelInvocationWork(key);
  std::erase_if(resources_, [key](const auto& item) { return item.second.invocation == key; });
}

uint32_t IsolateData::AddResource(double invocation, std::shared_ptr<InvocationResource> resource) {
  uint32_t id = next_resource_id_++;
  if (next_resource_id_ == 0) next_resource_id_ = 1;
  resources_[id] = HeldResource{invocation, std::move(resource)};
  return id;
}

std::shared_ptr<InvocationResource> IsolateData::FindResource(uint32_t id) const {
  auto it = resources_.find(id);
  return it == resources_.end() ? nullptr : it->second.resource;
}

// What an ended invocation left pending here: its natives' promises are
// detached first (a running job's result then never enters JavaScript),
// then its jobs still waiting for a thread are dropped unrun. Nothing is
// settled, so no JavaScript runs from here (this may be called from a
// native, inside the invocation's own JavaScript).
void IsolateData::CancelInvocationWork(double key) {
  std::vector<PendingPromise*> ended;
  for (PendingPromise* pending : pending_promises_) {
    // A settled one may still be here until its job's callback lets go.
    if (pending->invocation() == key && !pending->settled()) ended.push_back(pending);
  }
  for (PendingPromise* pending : ended) {
    pending_promises_.erase(pending);
    pending->Detach();
  }
  natives_cancelled_ += ended.size();
  thread_pool_.DropWaiting(key);
  cpu_jobs_.DropWaiting(key);
}

double IsolateData::CurrentInvocationKey(v8::Local<v8::Context> context) {
  // The runtime's Invocation object (invocation.js), never reachable by
  // tenant code; its `key` is an own class field.
  v8::Local<v8::Value> current = context->GetContinuationPreservedEmbedderData();
  if (!current->IsObject()) return 0;
  v8::Local<v8::Object> object = current.As<v8::Object>();
  v8::Local<v8::String> name = v8::String::NewFromUtf8Literal(isolate_, "key");
  v8::Maybe<bool> own = object->HasOwnProperty(context, name);
  if (own.IsNothing() || !own.FromJust()) return 0;
  v8::Local<v8::Value> key;
  if (!object->Get(context, name).ToLocal(&key) || !key->IsNumber()) return 0;
  return key.As<v8::Number>()->Value();
}

v8::Local<v8::ObjectTemplate> IsolateData::HostObjectTemplate() {
  if (host_object_template_.IsEmpty()) {
    v8::Local<v8::ObjectTemplate> made = v8::ObjectTemplate::New(isolate_);
    // One embedder field: what makes V8's serializer call WriteHostObject.
    made->SetInternalFieldCount(1);
    host_object_template_.Reset(isolate_, made);
  }
  return host_object_template_.Get(isolate_);
}

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

// Rounds of `unhandledrejection` events per drain: a listener may reject
// more promises, and those are reported in the next round; past this many,
// the rest are logged without an event.
constexpr int kRejectionEventRounds = 8;

bool IsolateData::DispatchUnhandledRejection(v8::Local<v8::Promise> promise,
                                             v8::Local<v8::Value> reason) {
  v8::Local<v8::Context> context = isolate_->GetCurrentContext();
  if (context.IsEmpty() || internals_.IsEmpty() || isolate_->IsExecutionTerminating()) return false;
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Value> hook;
  if (!internals()
           ->Get(context, v8::String::NewFromUtf8Literal(isolate_, "reportUnhandledRejection"))
           .ToLocal(&hook) ||
      !hook->IsFunction()) {
    return false;
  }
  v8::Local<v8::Value> args[] = {promise, reason};
  v8::Local<v8::Value> canceled;
  if (!hook.As<v8::Function>()->Call(context, v8::Undefined(isolate_), 2, args).ToLocal(&canceled)) {
    return false;
  }
  return canceled->IsTrue();
}

void IsolateData::DrainMicrotasks() {
  isolate_->PerformMicrotaskCheckpoint();
  for (int round = 0; !rejections_.empty(); ++round) {
    v8::HandleScope scope(isolate_);
    auto pending = std::move(rejections_);
    rejections_.clear();
    for (Rejection& r : pending) {
      // The global scope's `unhandledrejection` listeners come first; one
      // that calls preventDefault() silences the log line.
      v8::Local<v8::Value> reason = r.reason.Get(isolate_);
      if (round < kRejectionEventRounds && DispatchUnhandledRejection(r.promise.Get(isolate_), reason)) {
        continue;
      }
      Log(LogLevel::kError, "[{}] Uncaught (in promise) {}", worker_name_,
          DescribeException(isolate_, reason));
    }
    if (round >= kRejectionEventRounds) break;
    isolate_->PerformMicrotaskCheckpoint();
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

size_t IsolateData::memory_bytes() const {
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  size_t shared = RuntimeJsSourceBytes() + shared_source_bytes_;
  size_t external = stats.external_memory();
  return stats.total_physical_size() + stats.malloced_memory() +
         (external > shared ? external - shared : 0);
}

}  // namespace edge::runtime
