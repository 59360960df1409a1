#include "runtime/worker.h"

#include "runtime/websocket/websocket_table.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/ascii.h"
#include "runtime/errors.h"
#include "runtime/global_scope.h"
#include "runtime/inspector/worker_inspector.h"
#include "runtime/isolate_data.h"
#include "base/log.h"
#include "runtime/compatibility_flags.h"
#include "runtime/module_loader.h"
#include "runtime/node/node_modules.h"
#include "runtime/platform.h"
#include "runtime/html/structured_clone.h"

namespace edge::runtime {
namespace {

// The worker whose modules are being instantiated on this thread: V8's
// resolve callback has no data pointer, and instantiation is synchronous.
thread_local Worker* g_instantiating = nullptr;

void OnPromiseReject(v8::PromiseRejectMessage message) {
  v8::Local<v8::Promise> promise = message.GetPromise();
  IsolateData* data = IsolateData::From(promise->GetIsolate());
  if (data == nullptr) return;
  switch (message.GetEvent()) {
    case v8::kPromiseRejectWithNoHandler:
      data->AddUnhandledRejection(promise, message.GetValue());
      break;
    case v8::kPromiseHandlerAddedAfterReject:
      data->RemoveUnhandledRejection(promise);
      break;
    default:
      break;
  }
}

// Wasm compilation from bytes at run time is refused, as on Workers; only
// the worker's own .wasm modules are compiled, while it loads.
bool AllowWasmCodeGeneration(v8::Local<v8::Context> context, v8::Local<v8::String>) {
  IsolateData* data = IsolateData::From(context->GetIsolate());
  return data != nullptr && data->compiling_wasm();
}

// Charges the invocation its share of the isolate's CPU time when its
// response ends (see CpuAccount).
class AccountedSink : public ResponseSink {
 public:
  // `chain`: the service-binding chain the request belongs to, which is
  // charged the same CPU as it runs.
  AccountedSink(std::shared_ptr<ResponseSink> inner, IsolateData* data,
                std::shared_ptr<RequestChain> chain)
      : inner_(std::move(inner)),
        data_(data->weak()),
        chain_(chain.get()),
        mark_(data->watchdog().account().Open(std::move(chain))) {}
  ~AccountedSink() override { Close(); }

  void Start(int status, std::string_view status_text, HeaderList headers,
             std::optional<uint64_t> content_length) override {
    inner_->Start(status, status_text, std::move(headers), content_length);
  }
  void Write(std::string_view chunk) override { inner_->Write(chunk); }
  void Finish() override {
    Close();
    inner_->Finish();
  }
  void Fail(std::string_view public_reason, LimitKind limit) override {
    Close();
    inner_->Fail(public_reason, limit);
  }
  bool Aborted() const override { return inner_->Aborted(); }
  bool NeedsDrain() const override { return inner_->NeedsDrain(); }
  void OnDrain(std::function<void()> callback) override { inner_->OnDrain(std::move(callback)); }
  bool OnConsole(std::string_view level, std::string_view message) override {
    return inner_->OnConsole(level, message);
  }
  void OnUncaughtException(std::string_view description) override {
    inner_->OnUncaughtException(description);
  }
  StatusOr<std::shared_ptr<WebSocketChannel>> AcceptWebSocket(HeaderList headers) override {
    // The response is over with the 101: its CPU is charged now, and what
    // the WebSocket's events use later is the worker's, outside any request
    // (a refusal fails the response right after, so it is over either way).
    Close();
    return inner_->AcceptWebSocket(std::move(headers));
  }

 private:
  void Close() {
    if (closed_) return;
    closed_ = true;
    std::shared_ptr<IsolateData*> data = data_.lock();
    if (data && *data) {
      Watchdog::Subject& watchdog = (*data)->watchdog();
      watchdog.Checkpoint();
      inner_->ReportCpu(watchdog.account().Close(mark_, chain_));
    }
  }

  std::shared_ptr<ResponseSink> inner_;
  std::weak_ptr<IsolateData*> data_;
  const RequestChain* chain_;  // identifies the open request; the account holds it
  double mark_;
  bool closed_ = false;
};

// Forwards to `inner` and runs `on_end` once, when the response ends
// (finished, failed, or dropped unanswered).
class EndNotifyingSink : public ResponseSink {
 public:
  EndNotifyingSink(std::shared_ptr<ResponseSink> inner, std::function<void()> on_end)
      : inner_(std::move(inner)), on_end_(std::move(on_end)) {}
  ~EndNotifyingSink() override { End(); }

  void Start(int status, std::string_view status_text, HeaderList headers,
             std::optional<uint64_t> content_length) override {
    inner_->Start(status, status_text, std::move(headers), content_length);
  }
  void Write(std::string_view chunk) override { inner_->Write(chunk); }
  void Finish() override {
    End();
    inner_->Finish();
  }
  void Fail(std::string_view public_reason, LimitKind limit) override {
    End();
    inner_->Fail(public_reason, limit);
  }
  bool Aborted() const override { return inner_->Aborted(); }
  bool NeedsDrain() const override { return inner_->NeedsDrain(); }
  void OnDrain(std::function<void()> callback) override { inner_->OnDrain(std::move(callback)); }
  void ReportCpu(uint64_t cpu_ns) override { inner_->ReportCpu(cpu_ns); }
  bool OnConsole(std::string_view level, std::string_view message) override {
    return inner_->OnConsole(level, message);
  }
  void OnUncaughtException(std::string_view description) override {
    inner_->OnUncaughtException(description);
  }
  StatusOr<std::shared_ptr<WebSocketChannel>> AcceptWebSocket(HeaderList headers) override {
    auto channel = inner_->AcceptWebSocket(std::move(headers));
    if (channel.ok()) End();
    return channel;
  }

 private:
  void End() {
    if (!on_end_) return;
    auto on_end = std::move(on_end_);
    on_end_ = nullptr;
    on_end();
  }

  std::shared_ptr<ResponseSink> inner_;
  std::function<void()> on_end_;
};

// A module's source as V8 reads it in place: no copy into the heap, no
// UTF-8 decoding (a 1 MB bundle spent more time there than in compiling
// from its code cache). Only for ASCII text, which V8 reads as Latin-1.
class ModuleSource : public v8::String::ExternalOneByteStringResource {
 public:
  // `text` lives in `files`, which the resource keeps alive.
  ModuleSource(std::shared_ptr<const ModuleFiles> files, std::string_view text)
      : files_(std::move(files)), text_(text) {}
  explicit ModuleSource(std::string text) : owned_(std::move(text)), text_(owned_) {}
  const char* data() const override { return text_.data(); }
  size_t length() const override { return text_.size(); }

 private:
  std::shared_ptr<const ModuleFiles> files_;
  std::string owned_;
  std::string_view text_;
};

// `path`'s source as a V8 string: external when it is ASCII (and long
// enough for that to matter), decoded from UTF-8 otherwise. The source is
// `files`' entry for `path` when it has one, else `from_disk`.
v8::MaybeLocal<v8::String> ModuleSourceString(v8::Isolate* isolate,
                                              const std::shared_ptr<const ModuleFiles>& files,
                                              const std::string& path, std::string from_disk) {
  std::string_view text = from_disk;
  bool in_files = false;
  if (files != nullptr) {
    if (auto found = files->find(path); found != files->end()) {
      text = found->second;
      in_files = true;
    }
  }
  constexpr size_t kExternalFrom = 4096;
  if (text.size() >= kExternalFrom && base::IsAscii(text)) {
    // V8 owns the resource from here (and disposes of it even if it fails).
    auto* resource = in_files ? new ModuleSource(files, text)
                              : new ModuleSource(std::move(from_disk));
    return v8::String::NewExternalOneByte(isolate, resource);
  }
  return v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(text.size()));
}

}  // namespace

// Receives the settlement of a RunScript promise.
struct Worker::ScriptWaiter {
  Worker::ScriptCallback done;
  static void Settle(const v8::FunctionCallbackInfo<v8::Value>& info, bool fulfilled) {
    auto* waiter = static_cast<ScriptWaiter*>(info.Data().As<v8::External>()->Value());
    if (!waiter->done) return;
    v8::Isolate* isolate = info.GetIsolate();
    auto done = std::move(waiter->done);
    waiter->done = nullptr;
    if (fulfilled) {
      done(ToStdString(isolate, info[0]));
    } else {
      done(Status(ErrorCode::kInvalidInput, DescribeException(isolate, info[0])));
    }
  }
};

Worker::Worker(WorkerSpec spec)
    : spec_(std::move(spec)), source_maps_(spec_.name, spec_.root_dir, spec_.files) {}

StatusOr<std::unique_ptr<Worker>> Worker::Load(uv_loop_t* loop, const NativeRegistry& natives,
                                               const WorkerSpec& spec,
                                               std::unique_ptr<SpareIsolate> spare) {
  InitializeV8();
  std::unique_ptr<Worker> worker(new Worker(spec));
  EDGE_RETURN_IF_ERROR(worker->Initialize(loop, natives, std::move(spare)));
  return worker;
}

StatusOr<std::vector<std::string>> Worker::CompileModuleGraph(const WorkerSpec& spec) {
  InitializeV8();
  uv_loop_t loop;
  uv_loop_init(&loop);
  Status compiled;
  std::vector<std::string> paths;
  {
    std::unique_ptr<Worker> worker(new Worker(spec));
    worker->CreateIsolate(&loop, nullptr);
    v8::Isolate::Scope isolate_scope(worker->isolate_);
    v8::HandleScope handle_scope(worker->isolate_);
    v8::Local<v8::Context> context = worker->NewContext();
    v8::Context::Scope context_scope(context);
    StatusOr<v8::Local<v8::Module>> entry = worker->CompileModule(context, spec.entry_path);
    if (entry.ok()) {
      paths = worker->module_paths_;
      // The map files beside the modules travel with them (edge deploy).
      for (std::string& map : worker->source_maps_.MapFiles()) paths.push_back(std::move(map));
    } else {
      // A service-worker script may use what modules refuse (sloppy mode):
      // it is a graph of one file if it compiles as a classic script.
      StatusOr<std::string> source = ReadModule(spec.entry_path, spec.files.get());
      v8::TryCatch try_catch(worker->isolate_);
      v8::ScriptOrigin origin(worker->isolate_, Utf8String(worker->isolate_, spec.entry_path));
      v8::Local<v8::Script> script;
      if (source.ok() &&
          v8::Script::Compile(context, Utf8String(worker->isolate_, *source), &origin)
              .ToLocal(&script)) {
        paths = {spec.entry_path};
      } else {
        compiled = entry.status();
      }
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // the isolate's handles finish closing
  uv_loop_close(&loop);
  if (!compiled.ok()) return compiled;
  return paths;
}

Worker::~Worker() {
  if (isolate_ == nullptr) return;
  {
    v8::Isolate::Scope isolate_scope(isolate_);
    if (data_) {
      if (discarded()) {
        data_->FailAllResponses(FailureReason(), FailureLimit());
      } else {
        data_->FailAllResponses("Worker was unloaded", LimitKind::kNone);
      }
    }
    inspector_.reset();
    dispatch_.Reset();
    scheduled_dispatch_.Reset();
    queue_dispatch_.Reset();
    workflow_dispatch_.Reset();
    env_.Reset();
    modules_.clear();
    data_.reset();
  }
  allocator_->Detach();
  isolate_->Dispose();
}

size_t Worker::OnNearHeapLimit(void* data, size_t current_limit, size_t initial_limit) {
  auto* self = static_cast<Worker*>(data);
  self->StopAtMemoryLimit(fmt::format("the worker reached its heap limit of {} MiB",
                                      self->spec_.heap_limit_bytes >> 20));
  // Room for the stack to unwind; the isolate is discarded afterwards.
  return current_limit + (32u << 20);
}

void Worker::OnBudgetExceeded(size_t asked) {
  BufferAllocator::Usage usage = allocator_->Measure();
  std::string what = asked != 0 ? fmt::format(", asking for {} bytes more", asked) : "";
  StopAtMemoryLimit(fmt::format(
      "the worker went over its memory limit of {} MiB (V8 heap {} MiB + ArrayBuffers {} MiB + "
      "WebAssembly memories {} MiB{})",
      spec_.heap_limit_bytes >> 20, usage.heap >> 20, usage.buffers >> 20, usage.wasm >> 20, what));
}

void Worker::StopAtMemoryLimit(const std::string& why) {
  if (!memory_exceeded_) {
    memory_exceeded_ = true;
    data_->MarkDiscarded();
    Log(LogLevel::kError, "[{}] {}: stopping it; a fresh isolate will serve the next requests",
        spec_.name, why);
  }
  isolate_->TerminateExecution();
}

bool Worker::discarded() const { return data_ && data_->discarded(); }

void Worker::SetOnDiscard(std::function<void()> on_discard) {
  data_->SetOnDiscard(std::move(on_discard));
}

std::string Worker::FailureReason() const {
  if (memory_exceeded_) {
    return fmt::format("Worker exceeded its memory limit of {} MiB", spec_.heap_limit_bytes >> 20);
  }
  if (data_ && data_->watchdog().exceeded()) {
    return fmt::format("Worker exceeded its CPU time limit of {} ms",
                       data_->watchdog().exceeded_limit_ms());
  }
  return "Worker threw exception";
}

LimitKind Worker::FailureLimit() const {
  if (memory_exceeded_) return LimitKind::kMemory;
  if (data_ && data_->watchdog().exceeded()) return LimitKind::kCpu;
  return LimitKind::kNone;
}

size_t Worker::in_flight() const { return data_ ? data_->responses_in_flight() : 0; }

size_t Worker::open_websockets() const { return data_ ? data_->open_websockets() : 0; }

void Worker::CloseWebSockets(int code, std::string_view reason) {
  if (data_) data_->websockets().CloseAll(code, reason);
}

uint64_t Worker::cpu_total_ns() const { return data_ ? data_->watchdog().account().total_ns() : 0; }

uint64_t Worker::subrequests() const { return data_ ? data_->subrequests() : 0; }

uint64_t Worker::cpu_unattributed_ns() const {
  return data_ ? data_->watchdog().account().unattributed_ns() : 0;
}

size_t Worker::memory_bytes() const {
  if (isolate_ == nullptr || data_ == nullptr) return 0;
  return data_->memory_bytes();
}

const ThreadPoolQueue& Worker::cpu_jobs() const { return data_->cpu_jobs(); }

size_t Worker::holds() const { return data_ ? data_->holds() : 0; }

uint64_t Worker::natives_cancelled() const { return data_ ? data_->natives_cancelled() : 0; }

v8::Isolate* NewWorkerIsolate(const std::shared_ptr<BufferAllocator>& allocator,
                              const StartupSnapshot* snapshot) {
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator_shared = allocator;
  params.constraints.ConfigureDefaultsFromHeapSize(0, allocator->budget());
  if (snapshot != nullptr) {
    params.snapshot_blob = snapshot->blob();
    params.external_references = SnapshotExternalReferences();
  }
  v8::Isolate* isolate = v8::Isolate::New(params);
  isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  isolate->SetPromiseRejectCallback(OnPromiseReject);
  isolate->SetAllowWasmCodeGenerationCallback(AllowWasmCodeGeneration);
  isolate->SetCaptureStackTraceForUncaughtExceptions(true, 16);
  return isolate;
}

void Worker::CreateIsolate(uv_loop_t* loop, const StartupSnapshot* snapshot) {
  // One budget for the heap and the ArrayBuffers (buffer_allocator.h); V8
  // keeps the allocator alive while any buffer made with it lives.
  allocator_ = std::make_shared<BufferAllocator>(spec_.heap_limit_bytes);
  isolate_ = NewWorkerIsolate(allocator_, snapshot);
  data_ = std::make_unique<IsolateData>(isolate_, loop, spec_.name, spec_.cpu_limit_ms);
  ConfigureIsolate();
}

void Worker::AdoptSpare(SpareIsolate& spare) {
  allocator_ = std::move(spare.allocator_);
  isolate_ = spare.isolate_;
  spare.isolate_ = nullptr;
  data_ = std::move(spare.data_);
  data_->set_worker_name(spec_.name);
  data_->watchdog().set_cpu_limit_ms(spec_.cpu_limit_ms);
  // performance.timeOrigin is when the worker got the isolate, not when
  // the spare was made.
  data_->ResetTimeOrigin();
  ConfigureIsolate();
}

v8::Local<v8::Context> Worker::TakeSpareContext(SpareIsolate& spare, RuntimeObjects* objects) {
  v8::Local<v8::Context> context = spare.context_.Get(isolate_);
  objects->internals = spare.internals_.Get(isolate_);
  objects->native = spare.native_.Get(isolate_);
  spare.context_.Reset();
  spare.internals_.Reset();
  spare.native_.Reset();
  return context;
}

void Worker::ConfigureIsolate() {
  isolate_->AddNearHeapLimitCallback(OnNearHeapLimit, this);
  data_->set_tenant(spec_.tenant);
  data_->set_buffer_allocator(allocator_);
  allocator_->Attach(isolate_, [this](size_t asked) { OnBudgetExceeded(asked); });
  data_->set_services(spec_.services.get());
  data_->set_binding_table(spec_.bindings);
  data_->set_subrequest_limit(spec_.subrequest_limit);
  data_->set_websocket_limit(spec_.websocket_limit);
  if (spec_.on_console) data_->set_console_hook(spec_.on_console);
  data_->set_source_maps(&source_maps_);
}

v8::Local<v8::Context> Worker::NewContext() {
  v8::Local<v8::Context> context = v8::Context::New(isolate_);
  // eval() and new Function() throw EvalError, as on Workers.
  context->AllowCodeGenerationFromStrings(false);
  return context;
}

v8::Local<v8::Context> Worker::RestoreContext(RuntimeObjects* objects) {
  v8::Local<v8::Context> context;
  v8::Local<v8::Value> internals;
  v8::Local<v8::Value> native;
  if (!v8::Context::FromSnapshot(isolate_, kSnapshotRuntimeContext).ToLocal(&context) ||
      !context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotInternals).ToLocal(&internals) ||
      !context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotNative).ToLocal(&native) ||
      !internals->IsObject() || !native->IsObject()) {
    Log(LogLevel::kWarn, "[{}] cannot restore the runtime from the startup snapshot; running it",
        spec_.name);
    return {};
  }
  // Set again rather than trusted to the snapshot: workers cannot compile
  // code from strings.
  context->AllowCodeGenerationFromStrings(false);
  objects->internals = internals.As<v8::Object>();
  objects->native = native.As<v8::Object>();
  return context;
}

Status Worker::Initialize(uv_loop_t* loop, const NativeRegistry& natives,
                          std::unique_ptr<SpareIsolate> spare) {
  // A spare fits a worker that may start from the snapshot and has the
  // memory budget the spare's heap was made for.
  if (spare && (!spec_.use_snapshot || spare->heap_limit_bytes() != spec_.heap_limit_bytes)) {
    spare.reset();
  }
  const StartupSnapshot* snapshot =
      spare || !spec_.use_snapshot ? nullptr : FindStartupSnapshot(natives);
  if (spare) {
    AdoptSpare(*spare);
    from_spare_ = true;
  } else {
    CreateIsolate(loop, snapshot);
  }
  data_->set_natives(natives.table());
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handle_scope(isolate_);
  RuntimeObjects objects;
  v8::Local<v8::Context> context;
  if (spare) {
    context = TakeSpareContext(*spare, &objects);
  } else if (snapshot != nullptr) {
    context = RestoreContext(&objects);
  }
  // Without a snapshot (or if V8 could not restore its context: the
  // isolate's default context is a plain one) the runtime is built here.
  bool restored = !context.IsEmpty();
  if (!restored) context = NewContext();
  v8::Context::Scope context_scope(context);
  if (!restored) {
    StatusOr<RuntimeObjects> made = MakeRuntimeObjects(context, natives);
    if (!made.ok()) return made.status();
    objects = *made;
  }
  data_->SetContext(context, objects.internals);
  if (spec_.inspector) {
    inspector_ = std::make_unique<WorkerInspector>(isolate_, context, spec_.inspector,
                                                   spec_.root_dir, spec_.name);
    data_->set_inspector(inspector_.get());
  }
  if (!DefineIsolateNatives(context, objects.native, *data_)) {
    return Status(ErrorCode::kInternal, "cannot create the runtime's natives");
  }
  if (spec_.expose_natives_for_testing &&
      !DefineData(context, context->Global(), "__native", objects.native)) {
    return Status(ErrorCode::kInternal, "cannot expose the natives");
  }

  // Startup runs under its own CPU limit: the runtime's JavaScript (unless
  // the snapshot holds it), then `env` (made from the binding table before
  // any of the worker's code runs, so nothing the worker does to the
  // built-ins can reach it), then the worker's top-level code.
  uint64_t startup_limit_ms =
      spec_.startup_cpu_limit_ms != 0 ? spec_.startup_cpu_limit_ms : spec_.cpu_limit_ms;
  data_->watchdog().set_cpu_limit_ms(startup_limit_ms);
  data_->watchdog().Begin();
  Status started = restored ? FinishRestoredRuntime(context, objects.internals)
                            : RunRuntimeJs(*data_, context, objects);
  if (started.ok()) {
    StatusOr<v8::Local<v8::Object>> env = MakeEnv(context);
    if (env.ok()) {
      env_.Reset(isolate_, *env);
    } else {
      started = env.status();
    }
  }
  if (started.ok()) started = LoadModules(context);
  data_->watchdog().End();
  data_->watchdog().ForgetBackgroundEntries();
  if (started.ok()) StoreCodeCache();
  if (started.ok() && inspector_) inspector_->Attach();
  data_->watchdog().set_cpu_limit_ms(spec_.cpu_limit_ms);
  if (!started.ok() && data_->watchdog().exceeded()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the worker's startup exceeded its CPU time limit of {} ms",
                              startup_limit_ms))
        .WithLimit(LimitKind::kStartupCpu);
  }
  return started;
}

StatusOr<v8::Local<v8::Module>> Worker::CompileModule(v8::Local<v8::Context> context,
                                                      const std::string& path) {
  for (const ModuleRecord& record : modules_) {
    if (record.path == path) return record.module.Get(isolate_);
  }
  if (path.starts_with(kNodeModulePrefix)) return CompileNodeModule(context, path);
  if (path == kCloudflareWorkersModule || path == kCloudflareSocketsModule ||
      path == kCloudflareWorkflowsModule) {
    return CompileCloudflareModule(context, path);
  }
  if (path.ends_with(".wasm")) return CompileWasmModule(path);
  // A deployed bundle's module is read where it is; one on disk is read
  // into a string.
  std::string from_disk;
  if (spec_.files == nullptr || !spec_.files->contains(path)) {
    StatusOr<std::string> source = ReadModule(path, spec_.files.get());
    if (!source.ok()) return source.status();
    from_disk = std::move(source).value();
  }
  std::string display = DisplayPath(spec_.root_dir, path);
  v8::ScriptOrigin origin(isolate_, Utf8String(isolate_, display), 0, 0, false, -1, {}, false, false,
                          true);
  // Its sourceMappingURL comment, found before the text goes to V8.
  std::string mapping_url =
      FindSourceMappingUrl(from_disk.empty() && spec_.files != nullptr && spec_.files->contains(path)
                               ? std::string_view(spec_.files->at(path))
                               : std::string_view(from_disk));
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::String> text;
  if (!ModuleSourceString(isolate_, spec_.files, path, std::move(from_disk)).ToLocal(&text)) {
    return ExceptionStatus(isolate_, try_catch, "cannot read the module");
  }
  // The module's compiled code from an earlier isolate, when there is one
  // (worker_code_cache.h: only ever made by this process's V8).
  std::optional<std::string> cached;
  if (spec_.code_cache) cached = spec_.code_cache->Read(path);
  v8::ScriptCompiler::CachedData* cached_data = nullptr;
  if (cached) {
    cached_data = new v8::ScriptCompiler::CachedData(
        reinterpret_cast<const uint8_t*>(cached->data()), static_cast<int>(cached->size()),
        v8::ScriptCompiler::CachedData::BufferNotOwned);
  }
  // Owns cached_data (whose bytes `cached` holds until after the compile).
  v8::ScriptCompiler::Source compiler_source(text, origin, cached_data);
  v8::Local<v8::Module> module;
  if (!v8::ScriptCompiler::CompileModule(isolate_, &compiler_source,
                                         cached ? v8::ScriptCompiler::kConsumeCodeCache
                                                : v8::ScriptCompiler::kNoCompileOptions)
           .ToLocal(&module)) {
    return ExceptionStatus(isolate_, try_catch, "compile error");
  }
  source_maps_.AddScript(display, path, mapping_url);
  bool cache_used = cached && !compiler_source.GetCachedData()->rejected;
  if (cache_used) ++modules_from_code_cache_;
  if (cached && !cache_used) {
    // V8 checks the source and its own version and flags again; what it
    // refuses was compiled from source above, and is made anew after load.
    Log(LogLevel::kDebug, "[{}] V8 rejected the code cache of {}: compiled from source",
        spec_.name, display);
    spec_.code_cache->Remove(path);
  }
  modules_.push_back({path, v8::Global<v8::Module>(isolate_, module)});
  if (spec_.code_cache && !cache_used) {
    modules_.back().uncached.Reset(isolate_, module->GetUnboundModuleScript());
  }
  module_paths_.push_back(path);

  // Compile the imports now, so a missing file is reported with the
  // position of the import that names it.
  v8::Local<v8::FixedArray> requests = module->GetModuleRequests();
  for (int i = 0; i < requests->Length(); ++i) {
    auto request = requests->Get(context, i).As<v8::ModuleRequest>();
    std::string specifier = ToStdString(isolate_, request->GetSpecifier());
    StatusOr<std::string> resolved = ResolveModulePath(
        path, specifier, spec_.files.get(), NodejsCompatEnabled(spec_.compatibility_flags, spec_.compatibility_date));
    if (!resolved.ok()) {
      v8::Location where = module->SourceOffsetToLocation(request->GetSourceOffset());
      return Status(ErrorCode::kNotFound,
                    fmt::format("{}:{}:{}: {}", display, where.GetLineNumber() + 1,
                                where.GetColumnNumber() + 1, resolved.status().message()));
    }
    StatusOr<v8::Local<v8::Module>> imported = CompileModule(context, *resolved);
    if (!imported.ok()) return imported.status();
  }
  return module;
}

// `import mod from "./add.wasm"`: the file is compiled now, at load, and the
// module's default export is the WebAssembly.Module (as with wrangler).
StatusOr<v8::Local<v8::Module>> Worker::CompileWasmModule(const std::string& path) {
  StatusOr<std::string> bytes = ReadModule(path, spec_.files.get());
  if (!bytes.ok()) return bytes.status();
  std::string display = DisplayPath(spec_.root_dir, path);
  v8::TryCatch try_catch(isolate_);
  data_->set_compiling_wasm(true);
  v8::MaybeLocal<v8::WasmModuleObject> compiled = v8::WasmModuleObject::Compile(
      isolate_, v8::MemorySpan<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()),
                                              bytes->size()));
  data_->set_compiling_wasm(false);
  v8::Local<v8::WasmModuleObject> wasm;
  if (!compiled.ToLocal(&wasm)) {
    return ExceptionStatus(isolate_, try_catch, fmt::format("{}: invalid WebAssembly", display));
  }
  std::vector<v8::Local<v8::String>> exports = {Utf8String(isolate_, "default")};
  v8::Local<v8::Module> module = v8::Module::CreateSyntheticModule(
      isolate_, Utf8String(isolate_, display), exports, EvaluateSyntheticModule);
  modules_.push_back({path, v8::Global<v8::Module>(isolate_, module),
                      v8::Global<v8::Value>(isolate_, wasm), {}});
  module_paths_.push_back(path);
  return module;
}

v8::Local<v8::Object> Worker::MakeProcessEnv(v8::Local<v8::Context> context) {
  v8::Local<v8::Object> env = NewNullProtoObject(isolate_);
  if (!PopulateProcessEnv(spec_.compatibility_flags, spec_.compatibility_date)) return env;
  // Strings only, as Workers (a JSON var as its JSON text); bindings are not
  // strings and stay on `env`.
  for (const std::vector<WorkerVar>* list : {&spec_.vars, &spec_.secrets}) {
    for (const WorkerVar& var : *list) {
      if (env->CreateDataProperty(context, Utf8String(isolate_, var.name),
                                  Utf8String(isolate_, var.value))
              .IsNothing()) {
        return NewNullProtoObject(isolate_);
      }
    }
  }
  return env;
}

StatusOr<v8::Local<v8::Module>> Worker::CompileNodeModule(v8::Local<v8::Context> context,
                                                          const std::string& path) {
  std::string name = path.substr(kNodeModulePrefix.size());
  v8::Local<v8::Value> value = v8::Undefined(isolate_);
  v8::Local<v8::Object> internals = data_->internals();
  // Without the runtime (Worker::CompileModuleGraph lists files, runs
  // nothing) the module only has to exist.
  if (!internals.IsEmpty()) {
    v8::TryCatch try_catch(isolate_);
    if (!NodeModuleExports(context, internals, name, MakeProcessEnv(context)).ToLocal(&value)) {
      return ExceptionStatus(isolate_, try_catch, fmt::format("internal error in {}", path));
    }
  }
  return BuiltinModule(context, path, value);
}

StatusOr<v8::Local<v8::Module>> Worker::CompileCloudflareModule(v8::Local<v8::Context> context,
                                                                const std::string& path) {
  v8::Local<v8::Object> internals = data_->internals();
  const bool workers = path == kCloudflareWorkersModule;
  if (internals.IsEmpty() || (workers && env_.IsEmpty())) {
    return BuiltinModule(context, path, v8::Undefined(isolate_));
  }
  // Its exports: the runtime's own functions (cloudflare:workers'
  // WorkerEntrypoint and waitUntil from runtime/js/dispatch.js,
  // cloudflare:sockets' connect from bindings/sockets/sockets.js), and for
  // cloudflare:workers the worker's env, made before any of the worker's
  // code ran.
  struct Export {
    const char* name;
    const char* internal;
  };
  static constexpr Export kWorkers[] = {{"WorkerEntrypoint", "WorkerEntrypoint"},
                                        {"WorkflowEntrypoint", "WorkflowEntrypoint"},
                                        {"waitUntil", "waitUntil"}};
  static constexpr Export kWorkflows[] = {{"NonRetryableError", "NonRetryableError"}};
  static constexpr Export kSockets[] = {{"connect", "socketsConnect"}};
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Object> exports = NewNullProtoObject(isolate_);
  auto add = [&](const Export& item) {
    v8::Local<v8::Value> value;
    return internals->Get(context, Utf8String(isolate_, item.internal)).ToLocal(&value) &&
           exports->CreateDataProperty(context, Utf8String(isolate_, item.name), value).IsJust();
  };
  bool made = true;
  if (workers) {
    for (const Export& item : kWorkers) made = made && add(item);
    made = made && exports->CreateDataProperty(context, Utf8String(isolate_, "env"), env_.Get(isolate_))
                       .IsJust();
  } else if (path == kCloudflareWorkflowsModule) {
    for (const Export& item : kWorkflows) made = made && add(item);
  } else {
    for (const Export& item : kSockets) made = made && add(item);
  }
  if (!made) return ExceptionStatus(isolate_, try_catch, fmt::format("internal error in {}", path));
  return BuiltinModule(context, path, exports);
}

StatusOr<v8::Local<v8::Module>> Worker::BuiltinModule(v8::Local<v8::Context> context,
                                                      const std::string& path,
                                                      v8::Local<v8::Value> value) {
  std::vector<v8::Local<v8::String>> exports = {Utf8String(isolate_, "default")};
  std::vector<std::string> names;
  if (value->IsObject()) {
    v8::TryCatch try_catch(isolate_);
    v8::Local<v8::Array> keys;
    if (!value.As<v8::Object>()
             ->GetOwnPropertyNames(context, v8::ONLY_ENUMERABLE,
                                   v8::KeyConversionMode::kConvertToString)
             .ToLocal(&keys)) {
      return ExceptionStatus(isolate_, try_catch, fmt::format("internal error in {}", path));
    }
    for (uint32_t i = 0; i < keys->Length(); ++i) {
      v8::Local<v8::Value> key;
      if (!keys->Get(context, i).ToLocal(&key) || !key->IsString()) continue;
      std::string key_name = ToStdString(isolate_, key);
      if (key_name == "default") continue;
      exports.push_back(key.As<v8::String>());
      names.push_back(std::move(key_name));
    }
  }
  v8::Local<v8::Module> module = v8::Module::CreateSyntheticModule(
      isolate_, Utf8String(isolate_, path), exports, EvaluateSyntheticModule);
  // Not in module_paths_: a built-in is no file to upload or watch.
  modules_.push_back({path, v8::Global<v8::Module>(isolate_, module),
                      v8::Global<v8::Value>(isolate_, value), true, std::move(names)});
  return module;
}

v8::MaybeLocal<v8::Value> Worker::EvaluateSyntheticModule(v8::Local<v8::Context> context,
                                                          v8::Local<v8::Module> module) {
  v8::Isolate* isolate = context->GetIsolate();
  Worker* self = g_instantiating;
  if (self != nullptr) {
    for (const ModuleRecord& record : self->modules_) {
      if (record.module.Get(isolate) == module && !record.synthetic.IsEmpty()) {
        v8::Local<v8::Value> value = record.synthetic.Get(isolate);
        if (module->SetSyntheticModuleExport(isolate, Utf8String(isolate, "default"), value)
                .IsNothing()) {
          return {};
        }
        if (record.node) {
          // Each named export is the exports' property of that name (Node's
          // ESM view of a built-in).
          for (const std::string& name : record.node_exports) {
            v8::Local<v8::Value> item;
            if (!value.As<v8::Object>()->Get(context, Utf8String(isolate, name)).ToLocal(&item) ||
                module->SetSyntheticModuleExport(isolate, Utf8String(isolate, name), item)
                    .IsNothing()) {
              return {};
            }
          }
        }
        v8::Local<v8::Promise::Resolver> done;
        if (!v8::Promise::Resolver::New(context).ToLocal(&done) ||
            done->Resolve(context, v8::Undefined(isolate)).IsNothing()) {
          return {};
        }
        return done->GetPromise();
      }
    }
  }
  isolate->ThrowException(v8::Exception::Error(Utf8String(isolate, "unknown synthetic module")));
  return {};
}

v8::MaybeLocal<v8::Module> Worker::ResolveModule(v8::Local<v8::Context> context,
                                                 v8::Local<v8::String> specifier,
                                                 v8::Local<v8::FixedArray> assertions,
                                                 v8::Local<v8::Module> referrer) {
  Worker* self = g_instantiating;
  v8::Isolate* isolate = context->GetIsolate();
  const std::string* referrer_path = nullptr;
  for (const ModuleRecord& record : self->modules_) {
    if (record.module.Get(isolate) == referrer) referrer_path = &record.path;
  }
  if (referrer_path != nullptr) {
    StatusOr<std::string> resolved =
        ResolveModulePath(*referrer_path, ToStdString(isolate, specifier), self->spec_.files.get(),
                          NodejsCompatEnabled(self->spec_.compatibility_flags,
                                              self->spec_.compatibility_date));
    if (resolved.ok()) {
      for (const ModuleRecord& record : self->modules_) {
        if (record.path == *resolved) return record.module.Get(isolate);
      }
    }
  }
  // Every import was compiled before instantiation; reaching here means the
  // graph changed under us.
  isolate->ThrowException(v8::Exception::Error(Utf8String(
      isolate, fmt::format("Cannot resolve module '{}'", ToStdString(isolate, specifier)))));
  return {};
}

Status Worker::LoadModules(v8::Local<v8::Context> context) {
  // The worker's global scope: its top-level code, a top-level await and
  // the microtasks they queue may start no I/O, timer or random value
  // (runtime/global_scope.h), so nothing they do outlives the load.
  GlobalScope global_scope(*data_);
  if (NodejsCompatV2Enabled(spec_.compatibility_flags, spec_.compatibility_date)) {
    v8::TryCatch try_catch(isolate_);
    if (!InstallNodeGlobals(context, data_->internals(), MakeProcessEnv(context))) {
      return ExceptionStatus(isolate_, try_catch, "internal error installing Node's globals");
    }
  }
  StatusOr<v8::Local<v8::Module>> compiled = CompileModule(context, spec_.entry_path);
  if (!compiled.ok()) return compiled.status();
  v8::Local<v8::Module> entry = *compiled;

  v8::TryCatch try_catch(isolate_);
  g_instantiating = this;
  bool instantiated = entry->InstantiateModule(context, ResolveModule).FromMaybe(false);
  g_instantiating = nullptr;
  if (!instantiated) return ExceptionStatus(isolate_, try_catch, "cannot link modules");

  v8::Local<v8::Object> internals = data_->internals();
  v8::Local<v8::Value> handler = v8::Undefined(isolate_);
  // The entry module's namespace, where service bindings find named
  // entrypoints (none for a service-worker script).
  v8::Local<v8::Value> named = v8::Undefined(isolate_);
  // A lone module with no imports and no exports is a service-worker script
  // (`addEventListener("fetch", ...)`): run it as a classic script, sloppy
  // mode included, as Workers does.
  v8::Local<v8::Object> ns = entry->GetModuleNamespace().As<v8::Object>();
  v8::Local<v8::Array> export_names;
  bool service_worker = modules_.size() == 1 &&
                        ns->GetOwnPropertyNames(context).ToLocal(&export_names) &&
                        export_names->Length() == 0;
  if (service_worker) {
    service_worker_ = true;
    EDGE_RETURN_IF_ERROR(RunServiceWorkerScript(context));
  } else {
    v8::Local<v8::Value> result;
    // Synthetic modules (.wasm, node:) find their worker through g_instantiating.
    g_instantiating = this;
    bool evaluated = entry->Evaluate(context).ToLocal(&result);
    g_instantiating = nullptr;
    if (!evaluated) return ExceptionStatus(isolate_, try_catch, "uncaught exception at startup");
    data_->DrainMicrotasks();
    if (result->IsPromise()) {
      auto promise = result.As<v8::Promise>();
      if (promise->State() == v8::Promise::kRejected) {
        return Status(ErrorCode::kInvalidInput,
                      "uncaught exception at startup: " +
                          DescribeException(isolate_, promise->Result()));
      }
      if (promise->State() == v8::Promise::kPending) {
        return Status(ErrorCode::kInvalidInput,
                      "the worker's top-level await did not settle during startup (I/O and "
                      "timers are not available at startup)");
      }
    }
    if (!ns->Get(context, Utf8String(isolate_, "default")).ToLocal(&handler)) {
      return ExceptionStatus(isolate_, try_catch, "cannot read the default export");
    }
    named = ns;
  }

  v8::Local<v8::Value> prepare;
  v8::Local<v8::Value> dispatch;
  v8::Local<v8::Value> args[] = {handler, named};
  if (!internals->Get(context, Utf8String(isolate_, "prepareFetchHandler")).ToLocal(&prepare) ||
      !prepare->IsFunction() ||
      !prepare.As<v8::Function>()->Call(context, v8::Undefined(isolate_), 2, args)
           .ToLocal(&dispatch) ||
      !dispatch->IsFunction()) {
    if (try_catch.HasCaught()) {
      return Status(ErrorCode::kInvalidInput,
                    DescribeException(isolate_, try_catch.Exception(), try_catch.Message()));
    }
    return Status(ErrorCode::kInternal, "runtime/js did not define prepareFetchHandler");
  }
  dispatch_.Reset(isolate_, dispatch.As<v8::Function>());
  // The other kinds of invocation: scheduled events (cron triggers) and
  // queue batches.
  auto prepare_other = [&](const char* name, v8::Global<v8::Function>* out) -> Status {
    v8::Local<v8::Value> made;
    if (!internals->Get(context, Utf8String(isolate_, name)).ToLocal(&prepare) ||
        !prepare->IsFunction() ||
        !prepare.As<v8::Function>()->Call(context, v8::Undefined(isolate_), 1, args)
             .ToLocal(&made) ||
        !made->IsFunction()) {
      if (try_catch.HasCaught()) {
        return Status(ErrorCode::kInvalidInput,
                      DescribeException(isolate_, try_catch.Exception(), try_catch.Message()));
      }
      return Status(ErrorCode::kInternal, fmt::format("runtime/js did not define {}", name));
    }
    out->Reset(isolate_, made.As<v8::Function>());
    return Status::Ok();
  };
  EDGE_RETURN_IF_ERROR(prepare_other("prepareScheduledHandler", &scheduled_dispatch_));
  EDGE_RETURN_IF_ERROR(prepare_other("prepareQueueHandler", &queue_dispatch_));
  // Workflow runs look their class up among the named exports.
  v8::Local<v8::Value> made;
  if (internals->Get(context, Utf8String(isolate_, "prepareWorkflowHandler")).ToLocal(&prepare) &&
      prepare->IsFunction() &&
      prepare.As<v8::Function>()->Call(context, v8::Undefined(isolate_), 2, args).ToLocal(&made) &&
      made->IsFunction()) {
    workflow_dispatch_.Reset(isolate_, made.As<v8::Function>());
  } else if (try_catch.HasCaught()) {
    return Status(ErrorCode::kInvalidInput,
                  DescribeException(isolate_, try_catch.Exception(), try_catch.Message()));
  }
  return Status::Ok();
}

void Worker::StoreCodeCache() {
  for (ModuleRecord& record : modules_) {
    if (record.uncached.IsEmpty()) continue;
    v8::Local<v8::UnboundModuleScript> script = record.uncached.Get(isolate_);
    record.uncached.Reset();
    // A service-worker script ran as a classic script: its module
    // compilation is not what serves, so no cache of it is kept.
    if (service_worker_) continue;
    std::unique_ptr<v8::ScriptCompiler::CachedData> code(
        v8::ScriptCompiler::CreateCodeCache(script));
    if (code == nullptr || code->length <= 0) continue;
    spec_.code_cache->Write(record.path,
                            std::string_view(reinterpret_cast<const char*>(code->data),
                                             static_cast<size_t>(code->length)));
  }
}

Status Worker::RunServiceWorkerScript(v8::Local<v8::Context> context) {
  StatusOr<std::string> source = ReadModule(spec_.entry_path, spec_.files.get());
  if (!source.ok()) return source.status();
  v8::ScriptOrigin origin(isolate_,
                          Utf8String(isolate_, DisplayPath(spec_.root_dir, spec_.entry_path)));
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Script> script;
  v8::Local<v8::Value> ignored;
  if (!v8::Script::Compile(context, Utf8String(isolate_, *source), &origin).ToLocal(&script)) {
    return ExceptionStatus(isolate_, try_catch, "compile error");
  }
  source_maps_.AddScript(DisplayPath(spec_.root_dir, spec_.entry_path), spec_.entry_path,
                         FindSourceMappingUrl(*source));
  if (!script->Run(context).ToLocal(&ignored)) {
    return ExceptionStatus(isolate_, try_catch, "uncaught exception at startup");
  }
  data_->DrainMicrotasks();
  return Status::Ok();
}

// `env`: an object with no prototype whose own data properties are the
// vars, the secrets and one object per binding, defined with
// CreateDataProperty (no setter runs). It is made once, before the worker's
// top-level code, so the same objects serve every request.
StatusOr<v8::Local<v8::Object>> Worker::MakeEnv(v8::Local<v8::Context> context) {
  v8::EscapableHandleScope scope(isolate_);
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Object> env = NewNullProtoObject(isolate_);
  for (const std::vector<WorkerVar>* list : {&spec_.vars, &spec_.secrets}) {
    for (const WorkerVar& var : *list) {
      v8::Local<v8::Value> value = Utf8String(isolate_, var.value);
      if (var.is_json) {
        v8::Local<v8::Value> parsed;
        if (v8::JSON::Parse(context, value.As<v8::String>()).ToLocal(&parsed)) {
          value = parsed;
        } else if (try_catch.HasTerminated()) {
          return ExceptionStatus(isolate_, try_catch, "cannot create env");
        }
        try_catch.Reset();
      }
      if (!DefineData(context, env, var.name, value)) {
        return ExceptionStatus(isolate_, try_catch, fmt::format("cannot set env.{}", var.name));
      }
    }
  }
  if (!spec_.bindings.empty()) {
    v8::Local<v8::Value> create;
    if (!data_->internals()->Get(context, Utf8String(isolate_, "createBinding")).ToLocal(&create) ||
        !create->IsFunction()) {
      return Status(ErrorCode::kInternal, "runtime/js defines no createBinding");
    }
    // The binding objects get their index in IsolateData's binding table
    // (set from the same spec when the isolate was made) as their handle.
    // The options go along only for what the objects show (a service's name
    // in error messages); natives read what a binding reaches from the table.
    for (uint32_t i = 0; i < spec_.bindings.size(); ++i) {
      const EnvBinding& binding = spec_.bindings[i];
      v8::Local<v8::Object> options = NewNullProtoObject(isolate_);
      for (const auto& [key, value] : binding.options) {
        if (!DefineData(context, options, key, Utf8String(isolate_, value))) {
          return ExceptionStatus(isolate_, try_catch,
                                 fmt::format("cannot create binding env.{}", binding.name));
        }
      }
      v8::Local<v8::Value> args[] = {Utf8String(isolate_, binding.kind),
                                     Utf8String(isolate_, binding.name),
                                     v8::Integer::NewFromUnsigned(isolate_, i), options};
      v8::Local<v8::Value> object;
      if (!create.As<v8::Function>()
               ->Call(context, v8::Undefined(isolate_), std::size(args), args)
               .ToLocal(&object) ||
          !DefineData(context, env, binding.name, object)) {
        return ExceptionStatus(isolate_, try_catch,
                               fmt::format("cannot create binding env.{}", binding.name));
      }
    }
  }
  return scope.Escape(env);
}

Status Worker::RunScript(std::string_view source, ScriptCallback done) {
  CallbackScope scope(data_.get());
  v8::Local<v8::Context> context = scope.context();
  v8::TryCatch try_catch(isolate_);
  v8::ScriptOrigin origin(isolate_, Utf8String(isolate_, "edge:script"));
  v8::Local<v8::Script> script;
  if (!v8::Script::Compile(context, Utf8String(isolate_, source), &origin).ToLocal(&script)) {
    return ExceptionStatus(isolate_, try_catch, "compile error");
  }
  v8::Local<v8::Value> result;
  if (!script->Run(context).ToLocal(&result)) {
    done(ExceptionStatus(isolate_, try_catch, "uncaught exception"));
    return Status::Ok();
  }
  if (!result->IsPromise()) {
    done(ToStdString(isolate_, result));
    return Status::Ok();
  }
  // The waiter lives as long as the worker: scripts are few (tests, tools).
  script_waiters_.push_back(std::make_unique<ScriptWaiter>(ScriptWaiter{std::move(done)}));
  v8::Local<v8::External> data = v8::External::New(isolate_, script_waiters_.back().get());
  v8::FunctionCallback fulfilled = [](const v8::FunctionCallbackInfo<v8::Value>& info) {
    ScriptWaiter::Settle(info, true);
  };
  v8::FunctionCallback rejected = [](const v8::FunctionCallbackInfo<v8::Value>& info) {
    ScriptWaiter::Settle(info, false);
  };
  v8::Local<v8::Function> on_fulfilled;
  v8::Local<v8::Function> on_rejected;
  v8::Local<v8::Promise> chained;
  if (!v8::Function::New(context, fulfilled, data).ToLocal(&on_fulfilled) ||
      !v8::Function::New(context, rejected, data).ToLocal(&on_rejected) ||
      !result.As<v8::Promise>()->Then(context, on_fulfilled, on_rejected).ToLocal(&chained)) {
    return ExceptionStatus(isolate_, try_catch, "cannot wait for the script's promise");
  }
  return Status::Ok();
}

void Worker::Fetch(FetchRequest request, std::shared_ptr<ResponseSink> sink) {
  // The invocation answering it joins the request chain of its caller (a
  // service-binding call) or starts one, whose CPU budget is this worker's
  // limit.
  std::shared_ptr<RequestChain> chain =
      request.chain ? std::move(request.chain) : RequestChain::TopLevel(spec_.cpu_limit_ms);
  // Opened before the entry begins, so the entry's CPU is charged to it.
  sink = std::make_shared<AccountedSink>(std::move(sink), data_.get(), chain);
  CallbackScope scope(data_.get());
  v8::Local<v8::Context> context = scope.context();
  uint32_t id = data_->AddResponse(sink);
  data_->SetResponseChain(id, std::move(chain));

  // Header names and values are bytes (ByteString): one code unit each.
  std::vector<v8::Local<v8::Value>> items;
  items.reserve(request.headers.size() * 2);
  for (const auto& [name, value] : request.headers) {
    items.push_back(Latin1String(isolate_, name));
    items.push_back(Latin1String(isolate_, value));
  }
  v8::Local<v8::Array> headers = v8::Array::New(isolate_, items.data(), items.size());
  v8::Local<v8::Value> body = v8::Null(isolate_);
  if (request.has_body) {
    // A body over the memory budget stops the worker like any other buffer.
    StatusOr<v8::Local<v8::Uint8Array>> bytes = NewUint8Array(isolate_, request.body);
    if (!bytes.ok()) {
      Log(LogLevel::kError, "[{}] the request's body of {} bytes does not fit in memory",
          spec_.name, request.body.size());
      if (ResponseSink* open = data_->FindResponse(id)) {
        open->Fail(FailureReason(), FailureLimit());
        data_->RemoveResponse(id);
      }
      return;
    }
    body = *bytes;
  }
  // A body still arriving becomes a stream the worker reads as it comes.
  uint32_t upload = 0;
  if (request.body_source) upload = data_->AddUpload(std::move(request.body_source));
  v8::Local<v8::Value> args[] = {
      v8::Integer::NewFromUnsigned(isolate_, id), Utf8String(isolate_, request.method),
      Utf8String(isolate_, request.url), headers, body, env_.Get(isolate_),
      v8::Integer::NewFromUnsigned(isolate_, upload), Utf8String(isolate_, request.cf_json),
      // A service binding's named entrypoint, and what a JS RPC call asks.
      Utf8String(isolate_, request.entrypoint),
      Utf8String(isolate_, request.rpc == FetchRequest::Rpc::kCall  ? "call"
                           : request.rpc == FetchRequest::Rpc::kGet ? "get"
                                                                    : ""),
      Utf8String(isolate_, request.rpc_method),
  };
  CallDispatch(context, dispatch_.Get(isolate_), id, args, std::size(args));
}

void Worker::CallDispatch(v8::Local<v8::Context> context, v8::Local<v8::Function> dispatch,
                          uint32_t id, v8::Local<v8::Value>* args, size_t argc) {
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Value> ignored;
  if (!dispatch->Call(context, v8::Undefined(isolate_), static_cast<int>(argc), args)
           .ToLocal(&ignored)) {
    // The dispatch functions catch the worker's errors themselves; reaching
    // here means termination or a runtime bug. The response must still end.
    std::string reason = discarded() ? FailureReason()
                         : try_catch.HasTerminated()
                             ? "execution terminated"
                             : DescribeException(isolate_, try_catch.Exception(),
                                                 try_catch.Message());
    Log(LogLevel::kError, "[{}] {}", spec_.name, reason);
    if (ResponseSink* open = data_->FindResponse(id)) {
      open->Fail(FailureReason(), FailureLimit());
      data_->RemoveResponse(id);
    }
  }
}

void Worker::UpdateCpuLimit() {
  if (!data_) return;  // the worker is being freed
  uint64_t limit = spec_.cpu_limit_ms;
  // While a scheduled invocation is open, entries may run up to the larger
  // limit: each invocation stays bounded by its own chain's budget (a
  // request's is cpu_limit_ms, a scheduled event's background_cpu_limit_ms).
  if (*background_open_ > 0 && limit != 0) {
    limit = spec_.background_cpu_limit_ms == 0
                ? 0
                : std::max(limit, spec_.background_cpu_limit_ms);
  }
  data_->watchdog().set_cpu_limit_ms(limit);
}

uint32_t Worker::OpenBackground(std::shared_ptr<ResponseSink> sink) {
  // Its own chain, whose CPU budget is the background limit.
  std::shared_ptr<RequestChain> chain = RequestChain::TopLevel(spec_.background_cpu_limit_ms);
  ++*background_open_;
  UpdateCpuLimit();
  // When the invocation's outcome is out, the larger limit goes with it.
  std::weak_ptr<int> open = background_open_;
  Worker* self = this;
  sink = std::make_shared<EndNotifyingSink>(std::move(sink), [open, self] {
    std::shared_ptr<int> count = open.lock();
    if (!count) return;  // the worker is gone
    --*count;
    self->UpdateCpuLimit();
  });
  sink = std::make_shared<AccountedSink>(std::move(sink), data_.get(), chain);
  uint32_t id = data_->AddResponse(sink);
  data_->SetResponseChain(id, std::move(chain));
  return id;
}

void Worker::Scheduled(ScheduledEvent event, std::shared_ptr<ResponseSink> sink) {
  // Opened before the entry into JavaScript, which takes the CPU limit in
  // force then.
  uint32_t id = OpenBackground(std::move(sink));
  CallbackScope scope(data_.get());
  v8::Local<v8::Context> context = scope.context();
  v8::Local<v8::Value> args[] = {
      v8::Integer::NewFromUnsigned(isolate_, id),
      Utf8String(isolate_, event.cron),
      v8::Number::New(isolate_, static_cast<double>(event.scheduled_time_ms)),
      env_.Get(isolate_),
  };
  CallDispatch(context, scheduled_dispatch_.Get(isolate_), id, args, std::size(args));
}

void Worker::Queue(QueueEvent event, std::shared_ptr<ResponseSink> sink) {
  uint32_t id = OpenBackground(std::move(sink));
  CallbackScope scope(data_.get());
  v8::Local<v8::Context> context = scope.context();
  // Each message as [id, timestamp, body, attempts], its body decoded by
  // its content type as Workers does: "text" a string, "json" parsed,
  // "bytes" an ArrayBuffer, "v8" the structured clone. A body that does not
  // decode (it was not written by a producer) arrives as undefined, logged.
  std::vector<v8::Local<v8::Value>> messages;
  messages.reserve(event.messages.size());
  for (QueueEventMessage& message : event.messages) {
    v8::Local<v8::Value> body;
    bool decoded = false;
    {
      v8::TryCatch try_catch(isolate_);
      if (message.content_type == "bytes") {
        StatusOr<v8::Local<v8::ArrayBuffer>> bytes = AdoptBytes(isolate_, std::move(message.body));
        if (bytes.ok()) {
          body = *bytes;
          decoded = true;
        }
      } else if (message.content_type == "v8") {
        decoded = DeserializeValue(isolate_, context, message.body).ToLocal(&body);
      } else {
        v8::Local<v8::String> text;
        decoded = v8::String::NewFromUtf8(isolate_, message.body.data(), v8::NewStringType::kNormal,
                                          static_cast<int>(message.body.size()))
                      .ToLocal(&text);
        if (decoded && message.content_type == "json") {
          decoded = v8::JSON::Parse(context, text).ToLocal(&body);
        } else if (decoded) {
          body = text;
        }
      }
      if (try_catch.HasTerminated()) {
        // The CPU or memory limit stopped the decoding: the batch fails.
        if (ResponseSink* open = data_->FindResponse(id)) {
          open->Fail(FailureReason(), FailureLimit());
          data_->RemoveResponse(id);
        }
        return;
      }
    }
    if (!decoded) {
      Log(LogLevel::kWarn, "[{}] queue \"{}\": message {} has a body that does not decode as {}",
          spec_.name, event.queue, message.id, message.content_type);
      body = v8::Undefined(isolate_);
    }
    v8::Local<v8::Value> fields[] = {
        Utf8String(isolate_, message.id),
        v8::Number::New(isolate_, static_cast<double>(message.timestamp_ms)),
        body,
        v8::Integer::NewFromUnsigned(isolate_, message.attempts),
    };
    messages.push_back(v8::Array::New(isolate_, fields, std::size(fields)));
  }
  v8::Local<v8::Value> args[] = {
      v8::Integer::NewFromUnsigned(isolate_, id),
      Utf8String(isolate_, event.queue),
      NewArray(isolate_, messages),
      env_.Get(isolate_),
  };
  CallDispatch(context, queue_dispatch_.Get(isolate_), id, args, std::size(args));
}


void Worker::Workflow(WorkflowRunEvent event, std::shared_ptr<ResponseSink> sink) {
  uint32_t id = OpenBackground(std::move(sink));
  if (workflow_dispatch_.IsEmpty()) {
    if (ResponseSink* open = data_->FindResponse(id)) {
      open->Fail("this worker cannot run workflows", LimitKind::kNone);
      data_->RemoveResponse(id);
    }
    return;
  }
  CallbackScope scope(data_.get());
  v8::Local<v8::Context> context = scope.context();
  // The stored bytes become Uint8Arrays counted against the memory budget;
  // one that does not fit fails the run (the memory limit).
  auto bytes = [&](const std::string& value, v8::Local<v8::Value>* out) {
    if (value.empty()) {
      *out = v8::Undefined(isolate_);
      return true;
    }
    StatusOr<v8::Local<v8::Uint8Array>> made = NewUint8Array(isolate_, value);
    if (!made.ok()) return false;
    *out = *made;
    return true;
  };
  auto fail = [&] {
    if (ResponseSink* open = data_->FindResponse(id)) {
      open->Fail(FailureReason(), FailureLimit());
      data_->RemoveResponse(id);
    }
  };
  std::vector<v8::Local<v8::Value>> steps;
  steps.reserve(event.steps.size());
  for (const WorkflowRunEvent::Step& step : event.steps) {
    v8::Local<v8::Value> result;
    if (!bytes(step.result, &result)) return fail();
    v8::Local<v8::Value> fields[] = {
        Utf8String(isolate_, step.name),
        v8::Integer::NewFromUnsigned(isolate_, step.count),
        v8::Integer::New(isolate_, step.kind),
        v8::Integer::New(isolate_, step.state),
        result,
        Utf8String(isolate_, step.error_name),
        Utf8String(isolate_, step.error_message),
        v8::Number::New(isolate_, static_cast<double>(step.end_ms)),
    };
    steps.push_back(v8::Array::New(isolate_, fields, std::size(fields)));
  }
  v8::Local<v8::Value> params;
  if (!bytes(event.params, &params)) return fail();
  v8::Local<v8::Value> args[] = {
      v8::Integer::NewFromUnsigned(isolate_, id),
      Utf8String(isolate_, event.class_name),
      Utf8String(isolate_, event.instance_id),
      params,
      v8::Number::New(isolate_, static_cast<double>(event.timestamp_ms)),
      NewArray(isolate_, steps),
      env_.Get(isolate_),
  };
  CallDispatch(context, workflow_dispatch_.Get(isolate_), id, args, std::size(args));
}

}  // namespace edge::runtime
