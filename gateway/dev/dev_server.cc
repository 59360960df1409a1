#include "gateway/dev/dev_server.h"

#include <fmt/core.h>
#include <uv.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/cron/cron_scheduler.h"
#include "bindings/cache/cache_store.h"
#include "bindings/kv/kv_store.h"
#include "bindings/queues/queue_engine.h"
#include "bindings/queues/queue_store.h"
#include "bindings/r2/r2_notifications.h"
#include "bindings/r2/r2_store.h"
#include "bindings/workflows/workflow_engine.h"
#include "bindings/fetch/outbound/client.h"
#include "gateway/dev/dev_error_page.h"
#include "gateway/dev/inspector_server.h"
#include "gateway/http/http_server.h"
#include "gateway/host/scheduled_trigger.h"
#include "gateway/host/worker_host.h"
#include "gateway/host/writer_sink.h"
#include "gateway/http/status_pages.h"
#include "gateway/policy/policy_engine.h"
#include "bindings/ratelimit/token_buckets.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "runtime/inspector/inspector_target.h"
#include "runtime/project.h"

namespace edge::gateway {
namespace {
namespace fs = std::filesystem;

// Workers read request bodies as they arrive.
ServerLimits StreamingBodies(ServerLimits limits) {
  limits.stream_request_bodies = true;
  return limits;
}

// Everything `edge dev` runs on its loop.
class DevServer : public bindings::ServiceDirectory {
 public:
  DevServer(uv_loop_t* loop, const DevOptions& options)
      : loop_(loop),
        options_(options),
        services_(std::make_shared<bindings::BindingServices>()),
        server_(loop, StreamingBodies(options.limits),
                [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
                  HandleRequest(std::move(request), std::move(writer));
                }),
        clock_(bindings::SystemCronClock()),
        cron_(loop, clock_, [this](const bindings::CronTrigger& trigger, int64_t when) {
          FireTrigger(trigger, when);
        }) {
    bindings::RegisterNatives(natives_);
    services_->services = this;
    // One outbound client for the process; `edge dev` may reach any address.
    // Response bodies are passed on as the origin encoded them: Workers
    // decodes them and re-encodes what a worker returns, and until the
    // gateway re-encodes too, decoding would break proxies that pass
    // responses through (TODO(gateway): compress by Content-Encoding).
    bindings::outbound::ClientOptions outbound;
    outbound.decode_content_encoding = false;
    outbound.subrequest_limit = options.subrequest_limit;
    outbound.max_connections_per_origin = options.connections_per_origin;
    // The workers of `edge dev` are one user's: no share between them.
    outbound.max_connections_per_tenant_per_origin = options.connections_per_origin;
    services_->outbound = std::make_shared<bindings::outbound::Client>(outbound);
    // The token buckets of the workers' rate_limit policies and Rate
    // Limiting bindings.
    services_->rate_limits = std::make_shared<bindings::TokenBuckets>();
    policy_context_.buckets = services_->rate_limits.get();
    policy_context_.match_hosts = false;  // one worker on localhost: routes match by path
    // The jwt policies' JWKS, fetched through the same client on this
    // loop (the requests waiting for a fetch go on from its callback).
    jwks_caches_ = std::make_unique<policy::JwksCaches>(
        [this](const std::string& url, std::function<void(StatusOr<std::string>)> done) {
          policy::FetchJwks(*services_->outbound, loop_, url, policy::kJwksFetchTimeoutMs, std::move(done));
        });
  }

  ~DevServer() override { Close(); }

  int Start() {
    std::string default_host = fmt::format("{}:{}", options_.ip, options_.port);
    for (const std::string& path : options_.paths) {
      StatusOr<runtime::Project> project = LoadProject(path);
      if (!project.ok()) {
        Log(LogLevel::kError, "{}", project.status().message());
        return 1;
      }
      for (const LoadedWorker& other : workers_) {
        if (other.project.spec.name == project->spec.name) {
          Log(LogLevel::kError, "two workers are named '{}': service bindings need unique names",
              project->spec.name);
          return 1;
        }
      }
      auto policies = PoliciesOf(*project);
      if (!policies.ok()) {
        Log(LogLevel::kError, "{}", policies.status().message());
        return 1;
      }
      auto worker = runtime::Worker::Load(loop_, natives_, project->spec);
      if (!worker.ok()) {
        Log(LogLevel::kError, "cannot load worker '{}': {}", project->spec.name,
            worker.status().message());
        return 1;
      }
      workers_.push_back({path, std::move(project).value(),
                          std::make_unique<WorkerHost>(loop_, natives_, default_host), {},
                          std::move(policies).value()});
      LoadedWorker& loaded = workers_.back();
      loaded.module_paths = (*worker)->module_paths();
      loaded.host->SetWorker(std::move(worker).value());
      // request.cf carries what a node gives, with a local colo.
      loaded.host->SetCfJson(RequestCfJson("local"));
      // An uncaught exception answers with its message and stack.
      loaded.host->SetSinkFactory(
          [](const HttpRequest& request, std::shared_ptr<ResponseWriter> writer) {
            return std::make_shared<DevErrorSink>(std::move(writer), AcceptsHtml(request));
          });
    }
    Watch();
    UpdateTriggers();
    if (options_.inspect_port && !StartInspector()) return 1;

    Status listening = server_.Listen(options_.ip, options_.port, false);
    if (!listening.ok()) {
      Log(LogLevel::kError, "cannot listen on {}:{}: {}", options_.ip, options_.port,
          listening.message());
      return 1;
    }
    for (int signum : {SIGINT, SIGTERM}) {
      auto* signal = new uv_signal_t;
      uv_signal_init(loop_, signal);
      signal->data = this;
      uv_signal_start(signal, OnSignal, signum);
      signals_.push_back(signal);
    }
    uv_timer_init(loop_, &debounce_);
    debounce_.data = this;
    debounce_ready_ = true;

    std::string host = options_.ip.find(':') != std::string::npos ? "[" + options_.ip + "]"
                                                                  : options_.ip;
    printf("Ready on http://%s:%d\n", host.c_str(), server_.port());
    fflush(stdout);
    for (const LoadedWorker& loaded : workers_) {
      Log(LogLevel::kInfo, "worker '{}' from {}{}", loaded.project.spec.name,
          loaded.project.spec.entry_path,
          &loaded == &workers_.front() ? " serves the port" : " (service bindings only)");
    }
    return 0;
  }

  // ServiceDirectory: the other workers of this dev server, by name.
  Status Dispatch(const std::string& service, runtime::FetchRequest request,
                  std::shared_ptr<runtime::ResponseSink> sink) override {
    for (LoadedWorker& loaded : workers_) {
      if (loaded.project.spec.name == service) {
        loaded.host->Fetch(std::move(request), std::move(sink));
        return Status::Ok();
      }
    }
    return Status(ErrorCode::kNotFound,
                  fmt::format("no worker named '{}' is loaded (start it with edge dev too)",
                              service));
  }

 private:
  struct LoadedWorker {
    std::string path;
    runtime::Project project;
    std::unique_ptr<WorkerHost> host;
    std::vector<std::string> module_paths;
    // Its `[[policies]]` (null: none), applied to the requests it serves.
    std::shared_ptr<const policy::PolicyTables> policies;
  };

  // A project's `[[policies]]`, checked as a deploy would check them.
  StatusOr<std::shared_ptr<const policy::PolicyTables>> PoliciesOf(const runtime::Project& project) {
    std::vector<std::string> warnings;
    auto tables = policy::ParseWorkerPolicies(project.policies_json, "dev/" + project.spec.name,
                                              project.spec.secrets, &warnings, jwks_caches_.get());
    if (!tables.ok()) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: {}", project.config_path, tables.status().message()));
    }
    for (const std::string& warning : warnings) Log(LogLevel::kWarn, "{}", warning);
    if (tables->empty()) return std::shared_ptr<const policy::PolicyTables>();
    return std::make_shared<const policy::PolicyTables>(std::move(tables).value());
  }

  StatusOr<runtime::Project> LoadProject(const std::string& path) {
    StatusOr<runtime::Project> project = runtime::LoadProject(path);
    if (!project.ok()) return project;
    project->spec.services = services_;
    if (options_.inspect_port) project->spec.inspector = InspectorTargetFor(project->spec);
    // The KV store is opened with the first project that has a KV binding:
    // one store per process, in <persist-to>/kv or <first project>/.edge/state/kv.
    bool wants_kv = false;
    for (const runtime::EnvBinding& binding : project->spec.bindings) wants_kv |= binding.kind == "kv";
    std::string state = !options_.persist_to.empty()
                            ? options_.persist_to
                            : (fs::path(workers_.empty() ? project->spec.root_dir
                                                         : workers_.front().project.spec.root_dir) /
                               ".edge" / "state")
                                  .string();
    // The Cache API's store, beside it: every worker may use `caches`, so it
    // is always there (its folder is made on first use); each worker
    // reaches its own entries.
    if (services_->cache == nullptr) {
      services_->cache = bindings::CacheStore::Open(state, {}, clock_);
    }
    // The queue store and its consumer engine, with the first project that
    // produces to or consumes a queue: `edge dev`'s queues are the local
    // state's (account ""), as `edge queues` without --to sees them.
    bool wants_queues = !project->spec.queue_consumers.empty() || !project->spec.r2_event_notifications.empty();
    for (const runtime::EnvBinding& binding : project->spec.bindings) wants_queues |= binding.kind == "queue";
    if (wants_queues && services_->queues == nullptr) {
      auto queues = bindings::QueueStore::Open(state, {}, clock_);
      if (!queues.ok()) return queues.status();
      services_->queues = std::move(queues).value();
      queue_engine_ = std::make_unique<bindings::QueueEngine>(
          loop_, services_->queues,
          [this](const bindings::QueueConsumer& consumer, runtime::QueueEvent event,
                 bindings::QueueEngine::Done done) { DeliverBatch(consumer, std::move(event), std::move(done)); },
          bindings::QueueEngine::Options{});
      Log(LogLevel::kInfo, "queue store in {}/queues", state);
    }
    for (const runtime::EnvBinding& binding : project->spec.bindings) {
      if (binding.kind != "queue" || services_->queues == nullptr) continue;
      Status made = services_->queues->EnsureQueue("", binding.Option("queue"));
      if (!made.ok()) return Status(made.code(), fmt::format("{}: [[queues.producers]] {}", project->config_path, made.message()));
    }
    // The workflow store and its engine, with the first project that
    // binds a workflow: `edge dev`'s instances are the local state's
    // (account ""), as `edge workflows` without --to sees them.
    bool wants_workflows = false;
    for (runtime::EnvBinding& binding : project->spec.bindings) {
      if (binding.kind != "workflow") continue;
      wants_workflows = true;
      binding.options.emplace_back("account", "");
      binding.options.emplace_back("worker", project->spec.name);
    }
    if (wants_workflows && services_->workflows == nullptr) {
      auto workflows = bindings::WorkflowStore::Open(state, {}, clock_);
      if (!workflows.ok()) return workflows.status();
      services_->workflows = std::move(workflows).value();
      workflow_engine_ = std::make_unique<bindings::WorkflowEngine>(
          loop_, services_->workflows,
          [this](const bindings::WorkflowRun& run, bindings::WorkflowEngine::Done done) {
            RunWorkflow(run, std::move(done));
          },
          bindings::WorkflowEngine::Options{});
      workflow_engine_->SetOnRun([](const bindings::WorkflowRun& run, const bindings::WorkflowInstance& after) {
        const bindings::WorkflowInstance& instance = run.state.instance;
        if (after.status == bindings::WorkflowStatus::kErrored) {
          Log(LogLevel::kError, "[{}] workflow \"{}\" instance {}: errored: {}: {}", run.definition.worker,
              instance.workflow, instance.id, after.error_name, after.error_message);
        } else {
          Log(LogLevel::kInfo, "[{}] workflow \"{}\" instance {}: {}", run.definition.worker,
              instance.workflow, instance.id, bindings::WorkflowStatusName(after.status));
        }
      });
      Log(LogLevel::kInfo, "workflow store in {}/workflows", state);
    }
    // R2's store too: its folder is made on the first call of a bucket.
    if (services_->r2 == nullptr) services_->r2 = bindings::R2Store::Open(state, {}, clock_);
    // Bucket event notifications: each rule's queue must exist (the
    // project's own queues were made just above), and the notifier that
    // writes and delivers the events runs once both stores are there.
    for (const runtime::R2EventNotificationSpec& spec : project->spec.r2_event_notifications) {
      auto rule = bindings::R2RuleFromSpec(spec);
      if (!rule.ok()) {
        return Status(rule.status().code(),
                      fmt::format("{}: [[r2_event_notifications]] {}", project->config_path, rule.status().message()));
      }
      Status made = bindings::WorkerNamesQueue(project->spec, spec.queue) ? services_->queues->EnsureQueue("", spec.queue)
                                                          : services_->queues->Info("", spec.queue).status();
      if (!made.ok()) {
        return Status(made.code(), fmt::format("{}: [[r2_event_notifications]] queue \"{}\": {} (name it in "
                                               "[[queues.consumers]] or create it with `edge queues create`)",
                                               project->config_path, spec.queue, made.message()));
      }
    }
    if (r2_events_ == nullptr && services_->queues != nullptr) {
      r2_events_ = bindings::R2Notifier::Attach(services_->r2, services_->queues, {});
      r2_events_->Start(loop_);
    }
    if (wants_kv && services_->kv == nullptr) {
      auto kv = bindings::KvStore::Open(state);
      if (!kv.ok()) return kv.status();
      services_->kv = std::move(kv).value();
      kv_sweeper_ = std::make_unique<bindings::KvSweeper>(loop_, services_->kv);
      kv_sweeper_->Start();
      Log(LogLevel::kInfo, "KV store in {}", services_->kv->path());
    }
    return project;
  }

  // The DevTools target of the worker named spec.name, made on first use:
  // every version of the worker is debugged through the same one.
  std::shared_ptr<runtime::InspectorTarget> InspectorTargetFor(const runtime::WorkerSpec& spec) {
    std::shared_ptr<runtime::InspectorTarget>& target = inspector_targets_[spec.name];
    if (target == nullptr) {
      target = std::make_shared<runtime::InspectorTarget>(
          loop_, spec.name, spec.name, "file://" + spec.entry_path);
    }
    return target;
  }

  bool StartInspector() {
    std::vector<std::shared_ptr<runtime::InspectorTarget>> targets;
    for (const LoadedWorker& loaded : workers_) {
      targets.push_back(inspector_targets_.at(loaded.project.spec.name));
    }
    inspector_ = std::make_unique<InspectorServer>();
    Status started = inspector_->Start("127.0.0.1", *options_.inspect_port, std::move(targets));
    if (!started.ok()) {
      Log(LogLevel::kError, "cannot start the inspector on 127.0.0.1:{}: {}",
          *options_.inspect_port, started.message());
      return false;
    }
    for (const LoadedWorker& loaded : workers_) {
      printf("Debugger listening on ws://127.0.0.1:%d/%s\n", inspector_->port(),
             loaded.project.spec.name.c_str());
    }
    printf("Open chrome://inspect in Chrome (or attach VS Code to 127.0.0.1:%d) to debug\n",
           inspector_->port());
    fflush(stdout);
    return true;
  }

  // The files of a project that trigger a reload: its modules, its config
  // and its .dev.vars.
  static std::vector<std::string> WatchedFiles(const LoadedWorker& loaded) {
    std::vector<std::string> files = loaded.module_paths;
    if (!loaded.project.config_path.empty()) {
      files.push_back(loaded.project.config_path);
      files.push_back((fs::path(loaded.project.spec.root_dir) / ".dev.vars").string());
    }
    return files;
  }

  // Watches the folder of every watched file: editors often replace a file
  // instead of writing it, which a watch on the file itself would miss.
  void Watch() {
    if (!options_.watch) return;
    watched_files_.clear();
    std::set<std::string> dirs;
    for (size_t i = 0; i < workers_.size(); ++i) {
      for (const std::string& file : WatchedFiles(workers_[i])) {
        watched_files_[file].insert(i);
        dirs.insert(fs::path(file).parent_path().string());
      }
    }
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (dirs.count(it->first) == 0) {
        uv_fs_event_stop(it->second);
        base::CloseAndDelete(it->second);
        it = watchers_.erase(it);
      } else {
        ++it;
      }
    }
    for (const std::string& dir : dirs) {
      if (watchers_.count(dir) != 0) continue;
      auto* watcher = new uv_fs_event_t;
      uv_fs_event_init(loop_, watcher);
      watcher->data = this;
      int rc = uv_fs_event_start(watcher, OnFileEvent, dir.c_str(), 0);
      if (rc != 0) {
        Log(LogLevel::kWarn, "cannot watch {}: {}", dir, uv_strerror(rc));
        base::CloseAndDelete(watcher);
        continue;
      }
      watchers_.emplace(dir, watcher);
    }
  }

  static void OnFileEvent(uv_fs_event_t* handle, const char* filename, int events, int status) {
    auto* self = static_cast<DevServer*>(handle->data);
    if (status != 0 || filename == nullptr || self->stopping_) return;
    char dir[4096];
    size_t size = sizeof dir;
    if (uv_fs_event_getpath(handle, dir, &size) != 0) return;
    std::string path = (fs::path(std::string(dir, size)) / filename).string();
    auto it = self->watched_files_.find(path);
    if (it == self->watched_files_.end()) return;
    self->to_reload_.insert(it->second.begin(), it->second.end());
    // Editors write in several steps: reload once things are quiet.
    uv_timer_start(&self->debounce_, OnDebounce, 100, 0);
  }

  static void OnDebounce(uv_timer_t* timer) {
    auto* self = static_cast<DevServer*>(timer->data);
    std::set<size_t> indices = std::move(self->to_reload_);
    self->to_reload_.clear();
    for (size_t index : indices) self->Reload(self->workers_[index]);
    self->Watch();
  }

  void Reload(LoadedWorker& loaded) {
    StatusOr<runtime::Project> project = LoadProject(loaded.path);
    if (!project.ok()) {
      Log(LogLevel::kError, "reload failed, still serving the last good version: {}",
          project.status().message());
      return;
    }
    auto policies = PoliciesOf(*project);
    if (!policies.ok()) {
      Log(LogLevel::kError, "reload failed, still serving the last good version: {}",
          policies.status().message());
      return;
    }
    auto worker = runtime::Worker::Load(loop_, natives_, project->spec);
    if (!worker.ok()) {
      Log(LogLevel::kError, "reload failed, still serving the last good version: {}",
          worker.status().message());
      return;
    }
    loaded.policies = std::move(policies).value();
    loaded.project = std::move(project).value();
    loaded.module_paths = (*worker)->module_paths();
    loaded.host->SetWorker(std::move(worker).value());
    Log(LogLevel::kInfo, "reloaded worker '{}'", loaded.project.spec.name);
    UpdateTriggers();
  }

  // Requests to the port: wrangler dev's test endpoints for scheduled
  // handlers (/__scheduled?cron=..., /cdn-cgi/handler/scheduled?cron=...)
  // run the first worker's at once; everything else goes to its fetch.
  void HandleRequest(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    WorkerHost& host = *workers_.front().host;
    std::optional<StatusOr<runtime::ScheduledEvent>> scheduled =
        ScheduledTestRequest(request.target, clock_());
    if (!scheduled) {
      const LoadedWorker& front = workers_.front();
      if (front.policies == nullptr) {
        host.Handle(std::move(request), std::move(writer));
        return;
      }
      // The worker's route policies first; a refused request never reaches it.
      std::string path = request.target;
      std::string line = fmt::format("{} {}", request.method.substr(0, 32), request.target.substr(0, 256));
      policy::ApplyPolicies(
          nullptr, front.policies.get(), policy_context_, "", path, std::move(request), std::move(writer),
          // The tables live as long as a request may still read them (a
          // reload meanwhile replaces front.policies).
          [&host, policies = front.policies](HttpRequest admitted, std::shared_ptr<ResponseWriter> decorated) {
            host.Handle(std::move(admitted), std::move(decorated));
          },
          [name = front.project.spec.name, line](const policy::PolicyOutcome& outcome) {
            Log(LogLevel::kInfo, "[{}] {} answered by the {} policy: {} {}", name, line, outcome.policy,
                outcome.status, outcome.detail);
          });
      return;
    }
    if (!scheduled->ok()) {
      SendErrorPage(*writer, 400, scheduled->status().message());
      return;
    }
    auto sink = std::make_shared<WriterSink>(std::move(writer));
    sink->SetOnEnd([&host] { host.ScheduleCollect(); });
    host.Scheduled(std::move(*scheduled).value(), std::move(sink));
  }

  // Every loaded worker's `[triggers] crons`, fired on this loop.
  void UpdateTriggers() {
    std::vector<bindings::CronTrigger> triggers;
    for (const LoadedWorker& loaded : workers_) {
      for (const std::string& cron : loaded.project.spec.crons) {
        triggers.push_back({loaded.project.spec.name, cron});
      }
    }
    cron_.SetTriggers(std::move(triggers));
    if (queue_engine_ != nullptr) {
      std::vector<bindings::QueueConsumer> consumers;
      for (const LoadedWorker& loaded : workers_) {
        for (const runtime::QueueConsumerSpec& spec : loaded.project.spec.queue_consumers) {
          consumers.push_back({loaded.project.spec.name, "", spec});
        }
      }
      queue_engine_->SetConsumers(std::move(consumers));
    }
    if (r2_events_ != nullptr) {
      std::vector<bindings::R2NotificationRule> rules;
      for (const LoadedWorker& loaded : workers_) {
        for (const runtime::R2EventNotificationSpec& spec : loaded.project.spec.r2_event_notifications) {
          auto rule = bindings::R2RuleFromSpec(spec);
          if (rule.ok()) rules.push_back(std::move(rule).value());
        }
      }
      r2_events_->SetConfigRules({{"", std::move(rules)}});
    }
    if (workflow_engine_ != nullptr) {
      std::vector<bindings::WorkflowDefinition> definitions;
      for (const LoadedWorker& loaded : workers_) {
        for (const runtime::EnvBinding& binding : loaded.project.spec.bindings) {
          if (binding.kind != "workflow") continue;
          definitions.push_back({"", binding.Option("workflow"), loaded.project.spec.name,
                                 binding.Option("class_name")});
        }
      }
      workflow_engine_->SetDefinitions(std::move(definitions));
    }
  }

  // A run of a workflow instance: the worker that defines its class runs
  // it (the current version: `edge dev` keeps no older ones), and its
  // report goes back to the engine.
  void RunWorkflow(const bindings::WorkflowRun& run, bindings::WorkflowEngine::Done done) {
    for (LoadedWorker& loaded : workers_) {
      if (loaded.project.spec.name != run.definition.worker) continue;
      WorkerHost* host = loaded.host.get();
      auto sink = std::make_shared<OutcomeSink>(
          [host, done = std::move(done)](bool ok, std::string_view text, std::string_view body) {
            done(bindings::ParseWorkflowReport(ok, text, body));
            host->ScheduleCollect();
          });
      sink->SetMaxBody(bindings::kWorkflowMaxReportBytes);
      host->Workflow(bindings::MakeWorkflowRunEvent(run), std::move(sink));
      return;
    }
    done(bindings::ParseWorkflowReport(false, "the worker that defines the workflow is not loaded", ""));
  }

  // A batch for a consumer: its worker's queue handler runs it, and what it
  // decided goes back to the engine.
  void DeliverBatch(const bindings::QueueConsumer& consumer, runtime::QueueEvent event,
                    bindings::QueueEngine::Done done) {
    for (LoadedWorker& loaded : workers_) {
      if (loaded.project.spec.name != consumer.owner) continue;
      WorkerHost* host = loaded.host.get();
      size_t count = event.messages.size();
      auto sink = std::make_shared<OutcomeSink>(
          [name = consumer.owner, queue = event.queue, count, host, done = std::move(done)](
              bool ok, std::string_view text, std::string_view body) {
            if (ok) {
              Log(LogLevel::kInfo, "[{}] queue \"{}\": batch of {} handled", name, queue, count);
            } else {
              Log(LogLevel::kError, "[{}] queue \"{}\": batch of {} failed: {}", name, queue, count, text);
            }
            done({ok, bindings::ParseQueueDecisions(body)});
            host->ScheduleCollect();
          });
      host->Queue(std::move(event), std::move(sink));
      return;
    }
    done({false, {}});
  }

  void FireTrigger(const bindings::CronTrigger& trigger, int64_t when) {
    for (LoadedWorker& loaded : workers_) {
      if (loaded.project.spec.name != trigger.owner) continue;
      WorkerHost* host = loaded.host.get();
      auto sink = std::make_shared<OutcomeSink>(
          [name = trigger.owner, cron = trigger.cron, host](bool ok, std::string_view text) {
            if (ok) {
              Log(LogLevel::kInfo, "[{}] cron \"{}\": {}", name, cron, text);
            } else {
              Log(LogLevel::kError, "[{}] cron \"{}\" failed: {}", name, cron, text);
            }
            host->ScheduleCollect();
          });
      host->Scheduled({trigger.cron, when}, std::move(sink));
      return;
    }
  }

  static void OnSignal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<DevServer*>(handle->data);
    if (self->stopping_) {
      Log(LogLevel::kWarn, "second signal: exiting without waiting for requests in flight");
      _exit(1);
    }
    self->stopping_ = true;
    Log(LogLevel::kInfo, "{} received: finishing requests in flight, then exiting",
        signum == SIGINT ? "SIGINT" : "SIGTERM");
    self->server_.Shutdown([self] { self->Close(); });
  }

  // Releases every handle so the loop ends.
  void Close() {
    cron_.Stop();
    if (queue_engine_) queue_engine_->Stop();
    if (r2_events_) r2_events_->Stop();
    if (workflow_engine_) workflow_engine_->Stop();
    // The inspector's thread ends first; the targets' handles are this loop's.
    inspector_.reset();
    for (auto& [name, target] : inspector_targets_) target->Close();
    if (kv_sweeper_) kv_sweeper_->Stop();
    for (LoadedWorker& loaded : workers_) loaded.host->Clear();
    for (auto& [dir, watcher] : watchers_) {
      uv_fs_event_stop(watcher);
      base::CloseAndDelete(watcher);
    }
    watchers_.clear();
    for (uv_signal_t* signal : signals_) {
      uv_signal_stop(signal);
      base::CloseAndDelete(signal);
    }
    signals_.clear();
    if (debounce_ready_) {
      debounce_ready_ = false;
      uv_timer_stop(&debounce_);
      uv_close(reinterpret_cast<uv_handle_t*>(&debounce_), nullptr);
    }
  }

  uv_loop_t* loop_;
  DevOptions options_;
  runtime::NativeRegistry natives_;
  std::shared_ptr<bindings::BindingServices> services_;
  policy::PolicyContext policy_context_;
  std::unique_ptr<policy::JwksCaches> jwks_caches_;
  std::unique_ptr<bindings::KvSweeper> kv_sweeper_;
  std::vector<LoadedWorker> workers_;
  std::map<std::string, std::shared_ptr<runtime::InspectorTarget>> inspector_targets_;
  std::unique_ptr<InspectorServer> inspector_;
  HttpServer server_;
  bindings::CronClock clock_;
  bindings::CronScheduler cron_;
  std::unique_ptr<bindings::QueueEngine> queue_engine_;
  std::shared_ptr<bindings::R2Notifier> r2_events_;
  std::unique_ptr<bindings::WorkflowEngine> workflow_engine_;
  std::map<std::string, uv_fs_event_t*> watchers_;
  std::map<std::string, std::set<size_t>> watched_files_;  // file -> workers
  std::set<size_t> to_reload_;
  std::vector<uv_signal_t*> signals_;
  uv_timer_t debounce_;
  bool debounce_ready_ = false;
  bool stopping_ = false;
};

}  // namespace

int RunDevServer(const DevOptions& options) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int code;
  {
    DevServer server(&loop, options);
    code = server.Start();
    if (code == 0) uv_run(&loop, UV_RUN_DEFAULT);
  }
  // Let close callbacks of the server's own handles run.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return code;
}

}  // namespace edge::gateway
