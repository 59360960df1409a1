// A loaded worker version: one V8 isolate with the runtime's globals, the
// worker's modules compiled and instantiated, and its fetch handler found.
// Created once per version (never per request) and used on one thread: the
// thread whose loop it was created with.
#pragma once

#include <uv.h>
#include <v8.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "runtime/buffer_allocator.h"
#include "runtime/env_binding.h"
#include "runtime/host_services.h"
#include "runtime/module_loader.h"
#include "runtime/native.h"
#include "runtime/response_sink.h"
#include "runtime/runtime_js.h"
#include "runtime/snapshot.h"
#include "runtime/source_map_registry.h"
#include "runtime/worker_code_cache.h"
#include "runtime/worker_spare.h"

namespace edge::runtime {

class InspectorTarget;
class IsolateData;
class ThreadPoolQueue;
class WorkerInspector;

// A `[vars]` entry: strings stay strings, tables and arrays arrive as JSON.
struct WorkerVar {
  std::string name;
  std::string value;
  bool is_json = false;
};

// A `[[queues.consumers]]` entry (wrangler's keys): the worker consumes
// `queue`. The runtime does not read it: whoever hosts the worker runs the
// consumer (bindings/queues/queue_engine.h).
struct QueueConsumerSpec {
  std::string queue;
  uint32_t max_batch_size = 10;      // 1 to 100
  uint32_t max_batch_timeout_s = 5;  // 0 to 60
  uint32_t max_retries = 3;          // 0 to 100
  std::string dead_letter_queue;     // "": none (out of retries, dropped)
  uint32_t max_concurrency = 0;      // 0: the host's default
  uint32_t retry_delay_s = 0;        // 0 to 43200
  bool operator==(const QueueConsumerSpec&) const = default;
};

// One `[[r2_event_notifications]]` rule: object-create and/or
// object-delete events of `bucket` (keys starting with `prefix` and ending
// with `suffix`) go to `queue` of the worker's account
// (bindings/r2/r2_notifications.h).
struct R2EventNotificationSpec {
  std::string bucket;
  std::string queue;
  std::vector<std::string> event_types;  // "object-create", "object-delete"
  std::string prefix;
  std::string suffix;
  bool operator==(const R2EventNotificationSpec&) const = default;
};

// Everything needed to load one version of a worker.
struct WorkerSpec {
  std::string name;        // for logs and console tags
  // Whose worker it is (its account on a node; "": the worker alone). The
  // process's shared resources (the outbound pool's connections to an
  // origin) are shared fairly between tenants, not between workers.
  std::string tenant;
  std::string root_dir;    // module paths in stacks are shown relative to it
  std::string entry_path;  // absolute path of the main module
  // A deployed bundle's modules, by absolute virtual path under root_dir;
  // null: modules are read from disk.
  std::shared_ptr<const ModuleFiles> files;
  // Where the compiled code of those modules is kept between isolates
  // (worker_code_cache.h); null: every isolate compiles them.
  std::shared_ptr<const WorkerCodeCache> code_cache;
  std::vector<WorkerVar> vars;
  // Secrets reach `env` like vars; they are never logged.
  std::vector<WorkerVar> secrets;
  std::vector<EnvBinding> bindings;
  // `compatibility_flags` from the config or the bundle
  // (runtime/compatibility_flags.h: nodejs_compat turns on the node: modules).
  std::vector<std::string> compatibility_flags;
  std::string compatibility_date;  // YYYY-MM-DD; empty when not given
  std::shared_ptr<HostServices> services;
  // The worker's memory budget (`[limits] memory_mb`): its V8 heap and its
  // ArrayBuffers together (runtime/buffer_allocator.h). A worker that goes
  // over it is stopped and its isolate must be discarded (see
  // Worker::discarded); the process goes on.
  size_t heap_limit_bytes = 128u << 20;
  // CPU time one entry into the worker's JavaScript may use (`[limits]
  // cpu_ms`; Workers' Standard default is 30 s). 0 disables the limit.
  uint64_t cpu_limit_ms = 30000;
  // CPU time the top-level code of the modules may use; 0: cpu_limit_ms.
  uint64_t startup_cpu_limit_ms = 0;
  // CPU time one background invocation (a cron trigger's scheduled
  // handler) may use (`[limits] background_cpu_ms`; Workers gives them
  // 30 s). 0 disables the limit.
  uint64_t background_cpu_limit_ms = 30000;
  // The worker's cron triggers (`[triggers] crons`), each a valid
  // base::CronExpression. The runtime does not read them: whoever hosts
  // the worker schedules them (bindings/cron).
  std::vector<std::string> crons;
  // The worker's `[[queues.consumers]]` (the host runs them).
  std::vector<QueueConsumerSpec> queue_consumers;
  // `[[r2_event_notifications]]`: run by the host, not by the isolate.
  std::vector<R2EventNotificationSpec> r2_event_notifications;
  // fetch() calls one invocation may make (0: none); unset: the outbound
  // client's limit.
  std::optional<uint32_t> subrequest_limit;
  // WebSockets the worker's tenant may hold open at once in this process
  // (accepted and opened by its workers; runtime/websocket/websocket_table.h).
  size_t websocket_limit = 1000;
  // Where console output goes, tagged by the caller; null: the server log.
  // Called on the worker's thread.
  std::function<void(std::string_view level, std::string_view message)> on_console;
  // `edge dev --inspect`: the DevTools target this worker's isolates are
  // debugged through (runtime/inspector/); null: no inspector.
  std::shared_ptr<InspectorTarget> inspector;
  // Tests of natives only: makes the `native` object reachable from scripts
  // as globalThis.__native. Never set by edge itself.
  bool expose_natives_for_testing = false;
  // Whether the isolate may start from the startup snapshot (snapshot.h)
  // when there is a fitting one; false: the runtime's JavaScript is run, as
  // for a binary without one (tests of both paths).
  bool use_snapshot = true;
};

class Worker {
 public:
  // Compiles and instantiates the worker; the error names file:line:column
  // when the worker's code is at fault.
  // With `spare` (made on this loop's thread), the worker takes that
  // isolate instead of making one, when it fits (the same memory budget,
  // spec.use_snapshot); a spare that does not fit is disposed of.
  static StatusOr<std::unique_ptr<Worker>> Load(uv_loop_t* loop, const NativeRegistry& natives,
                                                const WorkerSpec& spec,
                                                std::unique_ptr<SpareIsolate> spare = nullptr);
  // Compiles the module graph from spec.entry_path without running any of
  // it, and returns every module file, entry first (what `edge deploy`
  // uploads). Compile errors and missing imports are reported as by Load.
  static StatusOr<std::vector<std::string>> CompileModuleGraph(const WorkerSpec& spec);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs the fetch handler for one request; the response goes to `sink`.
  void Fetch(FetchRequest request, std::shared_ptr<ResponseSink> sink);
  // Runs the scheduled handler for one cron trigger's event, under the
  // background CPU limit. Its outcome goes to `sink` as a response would:
  // 200 "Ran scheduled event" once the handler and its waitUntil work
  // settled, or Fail naming what went wrong (a throw, a rejected waitUntil
  // promise, no scheduled handler, a limit).
  void Scheduled(ScheduledEvent event, std::shared_ptr<ResponseSink> sink);
  // Runs the queue handler for one batch, under the background CPU limit.
  // Its outcome goes to `sink` as a response: a 200 whose body is what
  // the handler decided for each message (a JSON array, one number per
  // message: -1 nothing, -2 ack, -3 retry with the consumer's delay, n >= 0
  // retry after n seconds), or, when the handler failed, those decisions
  // written and then Fail.
  void Queue(QueueEvent event, std::shared_ptr<ResponseSink> sink);
  // Runs one run of a workflow instance (its WorkflowEntrypoint class's
  // run(), replayed; bindings/workflows/workflow.js), under the background
  // CPU limit. Its outcome goes to `sink` as a response whose body is the
  // run's report (bindings/workflows/workflow_engine.h reads it); a run cut
  // short (a limit) writes what it reported so far, then Fail.
  void Workflow(WorkflowRunEvent event, std::shared_ptr<ResponseSink> sink);

  // Runs `source` as a classic script in the worker's global scope and
  // reports String(result) to `done`, once the result settles if it is a
  // promise (then `done` runs from the loop). For tests and tooling; worker
  // code never reaches this. A compile error is returned, not reported.
  using ScriptCallback = std::function<void(StatusOr<std::string>)>;
  Status RunScript(std::string_view source, ScriptCallback done);

  const std::string& name() const { return spec_.name; }
  // Its isolate (null before Load): for tests and diagnostics that read
  // V8's own statistics.
  v8::Isolate* isolate() const { return isolate_; }
  // Every module file of the graph, entry first (what `edge dev` watches).
  const std::vector<std::string>& module_paths() const { return module_paths_; }
  // `text` (a stack, or a log line holding one) with the frames of the
  // worker's scripts mapped through their source maps and the runtime's own
  // frames left out (runtime/source_map_registry.h).
  std::string MapStack(std::string_view text) { return source_maps_.MapStack(text); }
  // Responses not finished yet.
  size_t in_flight() const;
  // WebSockets open: the isolate must stay while they are.
  size_t open_websockets() const;
  // Closes every open WebSocket with `code` (1001: the isolate goes away;
  // 1012: a new version took over) and `reason`.
  void CloseWebSockets(int code, std::string_view reason);
  // For metering: CPU time of every entry into this isolate so far, the part
  // of it charged to no request (see CpuAccount), the memory the isolate
  // holds (V8 heap, its malloc'd memory and ArrayBuffers), and the fetch()
  // calls it made.
  uint64_t cpu_total_ns() const;
  uint64_t cpu_unattributed_ns() const;
  size_t memory_bytes() const;
  uint64_t subrequests() const;
  // waitUntil work not settled yet: a retired version stays for it.
  // The isolate's queue of crypto jobs off the serving thread (tests look
  // at its bound).
  const ThreadPoolQueue& cpu_jobs() const;
  size_t holds() const;
  // Native calls (KV, crypto jobs) whose invocation ended before they
  // settled: dropped unrun, or their result discarded.
  uint64_t natives_cancelled() const;
  // Modules this isolate took from their code cache (spec().code_cache)
  // rather than compiling them.
  size_t modules_from_code_cache() const { return modules_from_code_cache_; }
  // Whether the isolate was a spare (Load's `spare`, taken).
  bool from_spare() const { return from_spare_; }
  // True once the worker hit its heap or CPU limit: its isolate was stopped
  // and must not serve again. Whoever owns it loads a fresh one from spec().
  bool discarded() const;
  // Called once, from the loop, when the worker becomes discarded.
  void SetOnDiscard(std::function<void()> on_discard);
  const WorkerSpec& spec() const { return spec_; }

 private:
  explicit Worker(WorkerSpec spec);
  Status Initialize(uv_loop_t* loop, const NativeRegistry& natives,
                    std::unique_ptr<SpareIsolate> spare);
  // The isolate (from `snapshot` when not null) and its IsolateData (the
  // first part of Initialize), and a fresh context in it (needs the isolate
  // entered and a HandleScope).
  void CreateIsolate(uv_loop_t* loop, const StartupSnapshot* snapshot);
  // Takes the spare's isolate and IsolateData instead, and returns its
  // restored context (needs the isolate entered and a HandleScope).
  void AdoptSpare(SpareIsolate& spare);
  v8::Local<v8::Context> TakeSpareContext(SpareIsolate& spare, RuntimeObjects* objects);
  // What of the isolate and its IsolateData is this worker's own (its
  // name, tenant, limits, bindings), set before any of its code runs.
  void ConfigureIsolate();
  v8::Local<v8::Context> NewContext();
  // The runtime's context from the isolate's snapshot, with its `native`
  // and `internals`; empty (logged) if V8 cannot restore it.
  v8::Local<v8::Context> RestoreContext(RuntimeObjects* objects);
  Status LoadModules(v8::Local<v8::Context> context);
  // Stores the code cache of every module compiled without one (after the
  // load evaluated them, so the functions their top-level code ran are in).
  void StoreCodeCache();
  StatusOr<v8::Local<v8::Module>> CompileModule(v8::Local<v8::Context> context,
                                                const std::string& path);
  Status RunServiceWorkerScript(v8::Local<v8::Context> context);
  StatusOr<v8::Local<v8::Object>> MakeEnv(v8::Local<v8::Context> context);
  // Opens a background invocation (scheduled or queue): its chain, the
  // larger CPU limit while it is open, and its response id in the table.
  uint32_t OpenBackground(std::shared_ptr<ResponseSink> sink);
  // Calls a dispatch function (fetch's or scheduled's) for the response
  // `id`; if it does not return (termination), that response is failed.
  void CallDispatch(v8::Local<v8::Context> context, v8::Local<v8::Function> dispatch, uint32_t id,
                    v8::Local<v8::Value>* args, size_t argc);
  // The watchdog's per-entry limit: the worker's, or the background limit
  // while a scheduled invocation is open.
  void UpdateCpuLimit();
  // What a failed response says publicly, by cause, and which limit (if
  // any) that cause is.
  std::string FailureReason() const;
  LimitKind FailureLimit() const;
  static size_t OnNearHeapLimit(void* data, size_t current_limit, size_t initial_limit);
  // The heap and the ArrayBuffers went over the budget (`asked`: bytes a
  // refused allocation wanted; 0 when a GC found it over).
  void OnBudgetExceeded(size_t asked);
  // Stops the worker at its memory limit; `why` goes to the log.
  void StopAtMemoryLimit(const std::string& why);
  static v8::MaybeLocal<v8::Module> ResolveModule(v8::Local<v8::Context> context,
                                                  v8::Local<v8::String> specifier,
                                                  v8::Local<v8::FixedArray> assertions,
                                                  v8::Local<v8::Module> referrer);

  struct ScriptWaiter;
  friend struct ScriptWaiter;
  struct ModuleRecord {
    std::string path;
    v8::Global<v8::Module> module;
    // For a .wasm file: its compiled module, the synthetic module's default
    // export. For a node: or cloudflare: module, its exports (the default
    // export, and each own property a named export).
    v8::Global<v8::Value> synthetic;
    bool node = false;
    std::vector<std::string> node_exports;  // the named exports, "default" aside
    // What V8 compiled, kept from before evaluation (V8 hands it out only
    // then), when the module's code cache is to be made after the load.
    v8::Global<v8::UnboundModuleScript> uncached;
  };
  StatusOr<v8::Local<v8::Module>> CompileWasmModule(const std::string& path);
  // `import ... from "node:buffer"` (path "node:buffer"): a synthetic module
  // over runtime/node's exports (runtime/node/node_modules.h).
  StatusOr<v8::Local<v8::Module>> CompileNodeModule(v8::Local<v8::Context> context,
                                                    const std::string& path);
  // `import { WorkerEntrypoint, env, waitUntil } from "cloudflare:workers"`,
  // `import { connect } from "cloudflare:sockets"`.
  StatusOr<v8::Local<v8::Module>> CompileCloudflareModule(v8::Local<v8::Context> context,
                                                          const std::string& path);
  // A synthetic module named `path` over `value`: its default export, and
  // each own enumerable property a named export (undefined: no exports but
  // the default, for a graph listed without the runtime).
  StatusOr<v8::Local<v8::Module>> BuiltinModule(v8::Local<v8::Context> context,
                                                const std::string& path,
                                                v8::Local<v8::Value> value);
  // What node:process's env starts with (compatibility_flags.h says when
  // the vars and secrets are in it).
  v8::Local<v8::Object> MakeProcessEnv(v8::Local<v8::Context> context);
  static v8::MaybeLocal<v8::Value> EvaluateSyntheticModule(v8::Local<v8::Context> context,
                                                           v8::Local<v8::Module> module);

  WorkerSpec spec_;
  std::shared_ptr<BufferAllocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
  std::unique_ptr<IsolateData> data_;
  std::unique_ptr<WorkerInspector> inspector_;  // when spec_.inspector
  std::vector<ModuleRecord> modules_;
  std::vector<std::string> module_paths_;
  // Each script's sourceMappingURL, its map read on first use.
  SourceMapRegistry source_maps_;
  v8::Global<v8::Function> dispatch_;
  v8::Global<v8::Function> scheduled_dispatch_;
  v8::Global<v8::Function> queue_dispatch_;
  v8::Global<v8::Function> workflow_dispatch_;
  // Scheduled invocations not finished yet (shared with their sinks, which
  // may outlive the worker).
  std::shared_ptr<int> background_open_ = std::make_shared<int>(0);
  v8::Global<v8::Object> env_;
  std::vector<std::unique_ptr<ScriptWaiter>> script_waiters_;
  bool memory_exceeded_ = false;
  bool service_worker_ = false;
  size_t modules_from_code_cache_ = 0;
  bool from_spare_ = false;
};

// A new isolate as every worker's is made: its heap limited to the
// allocator's budget, from `snapshot` when not null, with the callbacks that
// are the same for every worker (microtasks, promise rejections, no Wasm
// compilation from bytes). Used by Worker and SpareIsolate.
v8::Isolate* NewWorkerIsolate(const std::shared_ptr<BufferAllocator>& allocator,
                              const StartupSnapshot* snapshot);

// Natives the runtime itself provides: timers and the response channel.
void RegisterRuntimeNatives(NativeRegistry& registry);

}  // namespace edge::runtime
