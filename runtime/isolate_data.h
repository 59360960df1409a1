// Per-isolate state the C++ side needs from inside V8 callbacks: the loop the
// isolate runs on, its worker's name, the runtime's `internals` object, its
// timers and its in-flight responses.
#pragma once

#include <uv.h>
#include <v8.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/buffer_allocator.h"
#include "runtime/env_binding.h"
#include "runtime/host_services.h"
#include "runtime/native.h"
#include "runtime/response_sink.h"
#include "runtime/thread_pool_queue.h"
#include "runtime/timers.h"
#include "runtime/watchdog.h"

namespace edge::runtime {

class PendingPromise;
class SourceMapRegistry;
class WebSocketTable;
class WorkerInspector;

// Something a native keeps open between calls on behalf of an invocation
// (a cache put's body file, a cached body being read): IsolateData holds it
// by id, and drops it when its invocation ends or the isolate goes away,
// whichever comes first. The destructor releases what it holds; a job on
// the thread pool that still uses it keeps its own reference.
class InvocationResource {
 public:
  virtual ~InvocationResource() = default;
};

class IsolateData {
 public:
  IsolateData(v8::Isolate* isolate, uv_loop_t* loop, std::string worker_name,
              uint64_t cpu_limit_ms);
  ~IsolateData();

  static IsolateData* From(v8::Isolate* isolate) {
    return static_cast<IsolateData*>(isolate->GetData(0));
  }

  v8::Isolate* isolate() const { return isolate_; }
  uv_loop_t* loop() const { return loop_; }

  // What the isolate holds: V8's heap (physical), malloc'd and external
  // memory, less the runtime's sources, which V8 counts as external in
  // every isolate but the process holds once (static_source.h).
  size_t memory_bytes() const;
  // A node: module's source this isolate compiled (shared the same way).
  void add_shared_source_bytes(size_t bytes) { shared_source_bytes_ += bytes; }
  const std::string& worker_name() const { return worker_name_; }
  // A spare isolate (worker_spare.h) is made before its worker is known: it
  // is named, and its clock starts, when a worker takes it. Before any of
  // the worker's code runs.
  void set_worker_name(std::string name) { worker_name_ = std::move(name); }
  void ResetTimeOrigin();
  // Whose worker it is (WorkerSpec::tenant; the worker's name when unset).
  const std::string& tenant() const { return tenant_.empty() ? worker_name_ : tenant_; }
  // WorkerSpec::tenant as set: the worker's account on a node; "" when the
  // worker has none (edge dev, edge test).
  const std::string& account() const { return tenant_; }
  void set_tenant(std::string tenant) { tenant_ = std::move(tenant); }
  v8::Local<v8::Context> context() const { return context_.Get(isolate_); }
  v8::Local<v8::Object> internals() const { return internals_.Get(isolate_); }
  Timers& timers() { return timers_; }
  // This isolate's jobs off its thread: I/O on libuv's pool
  // (RunInThreadPool: KV), and long CPU work on the low-priority threads
  // (runtime/crypto/crypto_job.h, runtime/low_priority_threads.h).
  ThreadPoolQueue& thread_pool() { return thread_pool_; }
  ThreadPoolQueue& cpu_jobs() { return cpu_jobs_; }
  Watchdog::Subject& watchdog() { return watchdog_; }
  // What the process provides to natives (see HostServices in worker.h);
  // null when the worker was loaded without any.
  HostServices* services() const { return services_; }
  // fetch() calls one invocation may make (unset: the outbound client's
  // limit), and how many this isolate made.
  std::optional<uint32_t> subrequest_limit() const { return subrequest_limit_; }
  void set_subrequest_limit(std::optional<uint32_t> limit) { subrequest_limit_ = limit; }
  void CountSubrequest() { ++subrequests_; }
  uint64_t subrequests() const { return subrequests_; }

  // Invocations (runtime/js/invocation.js): the per-invocation state tenant
  // JavaScript must not be able to change lives here, keyed by the number the
  // JS Invocation object carries. An invocation ends when its response has
  // ended and the waitUntil work it started has settled (or when
  // internals.endInvocation says so); its state is dropped then, and a key
  // that was handed out but is no longer here is an invocation that ended.
  struct Invocation {
    uint32_t limit = 0;        // subrequests it may make
    uint32_t subrequests = 0;  // fetch() calls, redirects and service calls
    std::shared_ptr<RequestChain> chain;
    uint32_t response_id = 0;  // 0: none (tests)
    bool response_open = false;
    size_t holds = 0;          // waitUntil promises not settled
  };
  // Begins one for the response `response_id` (0: none), in the request
  // chain Worker::Fetch recorded for it (else a fresh one). Returns its key.
  double BeginInvocation(uint32_t response_id, uint32_t limit);
  // Null when `key` is unknown or the invocation ended.
  Invocation* FindInvocation(double key);
  bool InvocationEnded(double key) const { return key >= 1 && key < next_invocation_key_ && !invocations_.count(key); }
  void EndInvocation(double key);
  // waitUntil work the invocation `key` started (+1) or that settled (-1).
  void HoldInvocation(double key, int delta);
  // The key of the invocation the running JavaScript belongs to (V8's
  // continuation-preserved embedder data; see runtime_natives.cc); 0: none.
  double CurrentInvocationKey(v8::Local<v8::Context> context);
  // For Worker::Fetch: the chain the invocation answering `response_id`
  // joins.
  void SetResponseChain(uint32_t response_id, std::shared_ptr<RequestChain> chain) {
    response_chains_[response_id] = std::move(chain);
  }
  // Where console lines go (null: the server log).
  using ConsoleHook = std::function<void(std::string_view level, std::string_view message)>;
  const ConsoleHook& console_hook() const { return console_hook_; }
  void set_console_hook(ConsoleHook hook) { console_hook_ = std::move(hook); }
  // The worker's DevTools inspector (`edge dev --inspect`; null: none).
  WorkerInspector* inspector() const { return inspector_; }
  void set_inspector(WorkerInspector* inspector) { inspector_ = inspector; }
  // The worker's source maps, for stacks shown to people (null: none).
  SourceMapRegistry* source_maps() const { return source_maps_; }
  void set_source_maps(SourceMapRegistry* source_maps) { source_maps_ = source_maps; }
  // True while the worker's modules run at load (runtime/global_scope.h):
  // I/O, timers and random values are refused then.
  bool in_global_scope() const { return in_global_scope_; }
  void set_in_global_scope(bool value) { in_global_scope_ = value; }
  // True only while the worker's own .wasm files are compiled at load.
  bool compiling_wasm() const { return compiling_wasm_; }
  void set_compiling_wasm(bool value) { compiling_wasm_ = value; }
  void set_services(HostServices* services) { services_ = services; }
  // The worker's bindings (its privileges), set once from the WorkerSpec
  // before any JavaScript runs. A binding object in JavaScript holds only
  // its index here (a handle); natives resolve what it reaches through
  // FindBinding, never from a name JavaScript hands them.
  void set_binding_table(std::vector<EnvBinding> table) { binding_table_ = std::move(table); }
  const std::vector<EnvBinding>& binding_table() const { return binding_table_; }
  // The binding `handle` names, if it is one of this isolate's and of
  // `kind`; null otherwise (a handle can only ever reach this worker's own
  // bindings).
  const EnvBinding* FindBinding(v8::Local<v8::Value> handle, std::string_view kind) const;
  // Nanoseconds on the monotonic clock when the isolate was created
  // (performance.timeOrigin).
  uint64_t time_origin_ns() const { return time_origin_ns_; }
  double time_origin_epoch_ms() const { return time_origin_epoch_ms_; }

  // The isolate's ArrayBuffer allocator, which keeps its memory budget
  // (buffer_allocator.h); null for an isolate made without one.
  void set_buffer_allocator(std::shared_ptr<BufferAllocator> allocator) {
    buffer_allocator_ = std::move(allocator);
  }
  BufferAllocator* buffer_allocator() const { return buffer_allocator_.get(); }
  // The template of the objects V8's serializer hands to the embedder
  // (runtime/html/structured_clone.cc; Blob and File are made from it),
  // made on first use, never in the startup snapshot.
  v8::Local<v8::ObjectTemplate> HostObjectTemplate();

  const std::shared_ptr<BufferAllocator>& shared_buffer_allocator() const {
    return buffer_allocator_;
  }

  // The isolate was stopped (heap or CPU limit) and must not serve again.
  // `on_discard` is told once, from the loop, after the entry that hit the
  // limit has unwound.
  void SetOnDiscard(std::function<void()> on_discard) { on_discard_ = std::move(on_discard); }
  void MarkDiscarded() { discarded_ = true; }
  bool discarded() const { return discarded_ || watchdog_.exceeded(); }
  void ReportDiscardIfNeeded();

  void SetContext(v8::Local<v8::Context> context, v8::Local<v8::Object> internals);

  // The C++ side of the `native` object's functions, by index (native.h);
  // set before any JavaScript runs. Null: no natives.
  void set_natives(std::shared_ptr<const NativeTable> table) { natives_ = std::move(table); }
  const NativeTable* natives() const { return natives_.get(); }

  // Promises of asynchronous natives not settled yet: detached (made inert)
  // when the isolate goes away, or when the invocation that made them ends
  // (their result then never enters JavaScript; see CancelInvocationWork).
  void AddPendingPromise(PendingPromise* pending) { pending_promises_.insert(pending); }
  void RemovePendingPromise(PendingPromise* pending) { pending_promises_.erase(pending); }
  // Natives cancelled with their invocation: jobs dropped before they ran,
  // and results of running ones discarded. For tests and the worker's log.
  uint64_t natives_cancelled() const { return natives_cancelled_; }

  // Runs `task` soon from the loop, outside any JavaScript frame (it may
  // enter the isolate with a CallbackScope). Tasks still queued when the
  // isolate goes away are dropped.
  void Defer(std::function<void()> task);
  // Whether this isolate is still there: a token that expires with it.
  std::weak_ptr<IsolateData*> weak() const { return self_; }

  // Resources natives keep open for the invocation `invocation` (0: none;
  // then they live until removed or the isolate goes away), by an id
  // JavaScript passes back. Find returns null for an id that is not (or no
  // longer) there.
  uint32_t AddResource(double invocation, std::shared_ptr<InvocationResource> resource);
  std::shared_ptr<InvocationResource> FindResource(uint32_t id) const;
  void RemoveResource(uint32_t id) { resources_.erase(id); }

  // Request bodies still arriving (RequestBodySource), by the id the JS
  // upload stream uses for them.
  uint32_t AddUpload(std::shared_ptr<RequestBodySource> source);
  RequestBodySource* FindUpload(uint32_t id);
  void RemoveUpload(uint32_t id) { uploads_.erase(id); }

  // In-flight responses, by the id the JS dispatcher uses for them.
  uint32_t AddResponse(std::shared_ptr<ResponseSink> sink);
  ResponseSink* FindResponse(uint32_t id);
  void RemoveResponse(uint32_t id);
  size_t responses_in_flight() const { return responses_.size(); }
  // The isolate's open WebSockets (runtime/websocket/websocket_table.h),
  // and how many one tenant may have open at once in the process.
  WebSocketTable& websockets();
  size_t open_websockets() const;
  size_t websocket_limit() const { return websocket_limit_; }
  void set_websocket_limit(size_t limit) { websocket_limit_ = limit; }
  // waitUntil promises not settled yet.
  void AddHolds(int delta) { holds_ = delta < 0 && holds_ == 0 ? 0 : holds_ + delta; }
  size_t holds() const { return holds_; }
  // Ends every open response with a failure (the isolate is going away).
  void FailAllResponses(std::string_view public_reason, LimitKind limit);

  // Rejected promises with no handler yet; reported after the microtask
  // checkpoint if they are still unhandled then.
  void AddUnhandledRejection(v8::Local<v8::Promise> promise, v8::Local<v8::Value> reason);
  void RemoveUnhandledRejection(v8::Local<v8::Promise> promise);
  // Drains the microtask queue, then reports each rejection still
  // unhandled: an `unhandledrejection` event on the global scope
  // (internals.reportUnhandledRejection), and the log line unless a
  // listener cancelled it.
  void DrainMicrotasks();

 private:
  // True when a listener cancelled the `unhandledrejection` event.
  bool DispatchUnhandledRejection(v8::Local<v8::Promise> promise, v8::Local<v8::Value> reason);

  struct Rejection {
    v8::Global<v8::Promise> promise;
    v8::Global<v8::Value> reason;
  };

  v8::Isolate* isolate_;
  size_t shared_source_bytes_ = 0;
  uv_loop_t* loop_;
  std::string worker_name_;
  std::string tenant_;
  v8::Global<v8::Context> context_;
  v8::Global<v8::Object> internals_;
  v8::Global<v8::ObjectTemplate> host_object_template_;
  Timers timers_;
  ThreadPoolQueue thread_pool_;
  ThreadPoolQueue cpu_jobs_;
  Watchdog::Subject watchdog_;
  uint64_t time_origin_ns_;
  double time_origin_epoch_ms_;
  uint32_t next_response_id_ = 1;
  std::unordered_map<uint32_t, std::shared_ptr<ResponseSink>> responses_;
  struct HeldResource {
    double invocation = 0;
    std::shared_ptr<InvocationResource> resource;
  };
  uint32_t next_resource_id_ = 1;
  std::unordered_map<uint32_t, HeldResource> resources_;
  uint32_t next_upload_id_ = 1;
  std::unordered_map<uint32_t, std::shared_ptr<RequestBodySource>> uploads_;
  std::vector<Rejection> rejections_;
  std::shared_ptr<const NativeTable> natives_;
  std::unordered_set<PendingPromise*> pending_promises_;
  HostServices* services_ = nullptr;
  std::shared_ptr<BufferAllocator> buffer_allocator_;
  std::vector<EnvBinding> binding_table_;
  bool compiling_wasm_ = false;
  std::shared_ptr<IsolateData*> self_;
  std::vector<std::function<void()>> deferred_;
  uv_timer_t* defer_timer_ = nullptr;
  static void RunDeferred(uv_timer_t* timer);
  size_t holds_ = 0;
  std::unique_ptr<WebSocketTable> websockets_;
  size_t websocket_limit_ = 1000;
  std::optional<uint32_t> subrequest_limit_;
  uint64_t subrequests_ = 0;
  std::unordered_map<double, Invocation> invocations_;
  std::unordered_map<uint32_t, double> response_invocations_;
  std::unordered_map<uint32_t, std::shared_ptr<RequestChain>> response_chains_;
  double next_invocation_key_ = 1;
  void MaybeEndInvocation(double key);
  // The invocation `key` is over: forgets it and cancels what it left
  // pending in C++ (the JS side, timers and fetches, is invocation.js's).
  void ForgetInvocation(double key);
  void CancelInvocationWork(double key);
  uint64_t natives_cancelled_ = 0;
  bool in_global_scope_ = false;
  ConsoleHook console_hook_;
  SourceMapRegistry* source_maps_ = nullptr;
  WorkerInspector* inspector_ = nullptr;
  std::function<void()> on_discard_;
  bool discarded_ = false;
  bool discard_reported_ = false;
};

// Counts one subrequest against `invocation`; the "Too many subrequests"
// error once its limit is reached (runtime_natives.cc).
Status CountInvocationSubrequest(IsolateData::Invocation& invocation);

// Enters the isolate's context for a callback coming from the loop, and
// drains microtasks when it leaves: every entry into JavaScript from C++
// goes through one of these, and the watchdog times it (microtasks
// included).
class CallbackScope {
 public:
  explicit CallbackScope(IsolateData* data);
  ~CallbackScope();
  v8::Local<v8::Context> context() const { return context_; }

 private:
  IsolateData* data_;
  v8::Isolate::Scope isolate_scope_;
  v8::HandleScope handle_scope_;
  v8::Local<v8::Context> context_;
  v8::Context::Scope context_scope_;
};

}  // namespace edge::runtime
