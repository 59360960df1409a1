#include "gateway/node/node_triggers.h"

#include <fmt/core.h>

#include "base/log.h"
#include "base/uv_handle.h"
#include "gateway/host/worker_host.h"
#include "gateway/node/node.h"
#include "gateway/node/node_sink.h"
#include "gateway/node/node_state.h"
#include "gateway/node/node_thread.h"

namespace edge::gateway {
namespace {

// How often the control loop looks for a new NodeState (a deploy changes
// the triggers within this).
constexpr uint64_t kRefreshEveryMs = 1000;

// The "client" of a scheduled invocation: there is none. NodeSink writes
// the outcome here and reports the invocation as it does a request's.
class NoClientWriter : public ResponseWriter {
 public:
  void Start(int, std::string_view, const HeaderList&, std::optional<uint64_t>) override {}
  void Write(std::string_view) override {}
  void Finish() override {}
  void Abort() override {}
  bool Aborted() const override { return false; }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  void OnAbort(std::function<void()>) override {}
};

}  // namespace

NodeTriggers::NodeTriggers(Node& node, std::vector<NodeThread*> serving, bindings::CronClock clock,
                           bool run_crons, CronGate ask, std::function<bool()> delivers_queues)
    : node_(node),
      serving_(std::move(serving)),
      scheduler_(node.control_loop(), std::move(clock),
                 [this](const bindings::CronTrigger& trigger, int64_t when) { Due(trigger, when); }),
      run_crons_(run_crons),
      ask_(std::move(ask)),
      queues_(std::make_unique<bindings::QueueEngine>(
          node.control_loop(), node.queue_store(),
          [this](const bindings::QueueConsumer& consumer, runtime::QueueEvent event,
                 bindings::QueueEngine::Done done) { Deliver(consumer, std::move(event), std::move(done)); },
          bindings::QueueEngine::Options{.delivers = std::move(delivers_queues)})),
      workflows_(std::make_unique<bindings::WorkflowEngine>(
          node.control_loop(), node.workflow_store(),
          [this](const bindings::WorkflowRun& run, bindings::WorkflowEngine::Done done) {
            RunWorkflow(run, std::move(done));
          },
          bindings::WorkflowEngine::Options{})),
      refresh_(new uv_timer_t) {
  uv_timer_init(node_.control_loop(), refresh_);
  refresh_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(refresh_));
  uv_timer_start(
      refresh_, [](uv_timer_t* timer) { static_cast<NodeTriggers*>(timer->data)->Refresh(); },
      kRefreshEveryMs, kRefreshEveryMs);
  Refresh();
  // Bucket event notifications move from the R2 outbox into the queues on
  // this loop, from now on (events a killed node left are delivered first).
  if (node_.r2_events() != nullptr) node_.r2_events()->Start(node_.control_loop());
}

NodeTriggers::~NodeTriggers() {
  *alive_ = false;
  scheduler_.Stop();
  queues_->Stop();
  if (node_.r2_events() != nullptr) node_.r2_events()->Stop();
  workflows_->Stop();
  uv_timer_stop(refresh_);
  base::CloseAndDelete(refresh_);
}

void NodeTriggers::Refresh() {
  std::shared_ptr<const NodeState> state = node_.state();
  if (!state || state->generation == generation_) return;
  generation_ = state->generation;
  Update(*state);
}

void NodeTriggers::Update(const NodeState& state) {
  std::vector<bindings::CronTrigger> triggers;
  std::vector<bindings::QueueConsumer> consumers;
  for (const auto& [name, served] : state.workers) {
    if (run_crons_) {
      for (const std::string& cron : served->spec.crons) triggers.push_back({name, cron});
    }
    for (const runtime::QueueConsumerSpec& spec : served->spec.queue_consumers) {
      consumers.push_back({name, served->account, spec});
    }
  }
  scheduler_.SetTriggers(std::move(triggers));
  queues_->SetConsumers(std::move(consumers));
  std::vector<bindings::WorkflowDefinition> definitions;
  for (const auto& [name, served] : state.workers) {
    for (const runtime::EnvBinding& binding : served->spec.bindings) {
      if (binding.kind != "workflow") continue;
      definitions.push_back({served->account, binding.Option("workflow"), name, binding.Option("class_name")});
    }
  }
  workflows_->SetDefinitions(std::move(definitions));
  // Pinned versions are loaded again on use after a deploy (cheap; rare).
  pinned_.clear();
}


NodeThread* NodeTriggers::BackgroundThread(const std::string& worker) {
  // Background work may compute for background_cpu_ms (30 s by default):
  // it runs on a serving thread's heavy lane, where the kernel preempts it
  // for the requests of the serving thread, never on the serving thread
  // itself; a quarantined worker on the quarantine thread.
  NodeThread* serving = serving_[next_thread_++ % serving_.size()];
  NodeThread* thread = serving->heavy_lane() != nullptr ? serving->heavy_lane() : serving;
  if (node_.quarantine_thread() != nullptr && node_.Quarantined(worker)) {
    thread = node_.quarantine_thread();
  }
  return thread;
}

namespace {

// The "client" of a queue batch: keeps the body (the decisions) and hands
// it, with whether the invocation succeeded, to `done` once it ends.
class DecisionWriter : public ResponseWriter {
 public:
  explicit DecisionWriter(std::function<void(bool ok, std::string body)> done)
      : done_(std::move(done)) {}
  ~DecisionWriter() override { End(false); }
  void Start(int status, std::string_view, const HeaderList&, std::optional<uint64_t>) override {
    status_ = status;
  }
  void Write(std::string_view chunk) override {
    if (body_.size() < 4096) body_.append(chunk.substr(0, 4096 - body_.size()));
  }
  void Finish() override { End(status_ != 0 && status_ < 400); }
  void Abort() override { End(false); }
  bool Aborted() const override { return false; }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  void OnAbort(std::function<void()>) override {}

 private:
  void End(bool ok) {
    if (!done_) return;
    std::exchange(done_, nullptr)(ok, std::move(body_));
  }
  std::function<void(bool, std::string)> done_;
  int status_ = 0;
  std::string body_;
};

// The "client" of a workflow run: keeps its report (up to
// kWorkflowMaxReportBytes) and hands it, with whether the invocation
// succeeded, to `done` once it ends.
class ReportWriter : public ResponseWriter {
 public:
  explicit ReportWriter(std::function<void(bool ok, std::string failure, std::string body)> done)
      : done_(std::move(done)) {}
  ~ReportWriter() override { End(false); }
  void Start(int status, std::string_view, const HeaderList&, std::optional<uint64_t>) override {
    status_ = status;
  }
  void Write(std::string_view chunk) override {
    size_t room = bindings::kWorkflowMaxReportBytes - std::min(body_.size(), bindings::kWorkflowMaxReportBytes);
    body_.append(chunk.substr(0, room));
  }
  void Finish() override { End(status_ != 0 && status_ < 400); }
  void Abort() override { End(false); }
  bool Aborted() const override { return false; }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  void OnAbort(std::function<void()>) override {}

 private:
  void End(bool ok) {
    if (!done_) return;
    std::exchange(done_, nullptr)(ok, ok ? std::string() : "the run failed (a limit or an error: see the access log)",
                                  std::move(body_));
  }
  std::function<void(bool, std::string, std::string)> done_;
  int status_ = 0;
  std::string body_;
};

}  // namespace

void NodeTriggers::Deliver(const bindings::QueueConsumer& consumer, runtime::QueueEvent event,
                           bindings::QueueEngine::Done done) {
  std::shared_ptr<const NodeState> state = node_.state();
  const std::shared_ptr<const ServedWorker>* found = state ? state->Find(consumer.owner) : nullptr;
  if (serving_.empty() || found == nullptr) {
    done({false, {}});  // deleted since the last refresh: delivered again later
    return;
  }
  std::shared_ptr<const ServedWorker> served = *found;
  InvocationRecord record = BackgroundRecord(*served, "queue");
  record.queue = event.queue;
  record.batch_size = static_cast<uint32_t>(event.messages.size());
  Node* node = &node_;
  // The outcome comes back on the control loop, where the engine lives.
  auto writer = std::make_shared<DecisionWriter>(
      [node, done = std::move(done)](bool ok, std::string body) mutable {
        node->PostToControl([done = std::move(done), ok, body = std::move(body)] {
          done({ok, bindings::ParseQueueDecisions(body)});
        });
      });
  auto shared_event = std::make_shared<runtime::QueueEvent>(std::move(event));
  RunBackground(std::move(served), std::move(record), std::move(writer),
                [shared_event](WorkerHost& host, std::shared_ptr<NodeSink> sink) {
                  host.Queue(std::move(*shared_event), std::move(sink));
                });
}

InvocationRecord NodeTriggers::BackgroundRecord(const ServedWorker& served, std::string_view kind) {
  InvocationRecord record;
  record.request_id = fmt::format("{}-{}-{:x}", node_.options().pop_id, kind, ++next_id_);
  record.start_unix_ms = UnixMs();
  record.worker = served.name;
  record.version = served.version;
  record.remote = std::string(kind);
  record.memory_limit_bytes = served.limits.memory_mb << 20;
  return record;
}

void NodeTriggers::RunBackground(std::shared_ptr<const ServedWorker> served, InvocationRecord record,
                                 std::shared_ptr<ResponseWriter> writer,
                                 std::function<void(WorkerHost&, std::shared_ptr<NodeSink>)> start) {
  NodeThread* thread = BackgroundThread(served->name);
  const NodeReporting& reporting = node_.reporting();
  thread->Post([thread, served = std::move(served), record = std::move(record),
                writer = std::move(writer), start = std::move(start), &reporting]() mutable {
    // Entered in its turn among the thread's ready work; its wall clock
    // starts then, as a request's does.
    const ServedWorker& worker = *served;
    thread->RunInTurn(worker, [thread, served = std::move(served), record = std::move(record),
                               writer = std::move(writer), start = std::move(start),
                               &reporting](bool run) mutable {
      WorkerLimits limits = served->limits;
      limits.response_bytes = 0;  // the outcome is the runtime's, not the worker's
      auto sink = std::make_shared<NodeSink>(std::move(writer), reporting, std::move(record),
                                             limits, thread->wall_deadlines());
      if (!run) {
        sink->Fail("The worker has too many invocations waiting on this node", LimitKind::kNone);
        return;
      }
      StatusOr<WorkerHost*> host = thread->pool().Acquire(served);
      if (!host.ok()) {
        sink->Fail("The worker failed to load", LimitKind::kNone);
        return;
      }
      // Its CPU counts in the thread's fair queue, as a request's does.
      sink->SetOnCpu([thread, served](uint64_t cpu_ns) { thread->ChargeCpu(*served, cpu_ns); });
      WorkerHost* acquired = *host;
      sink->SetOnEnd([acquired] { acquired->ScheduleCollect(); });
      sink->Begin();
      start(*acquired, std::move(sink));
    });
  });
}

void NodeTriggers::Due(const bindings::CronTrigger& trigger, int64_t scheduled_ms) {
  if (!ask_) return Fire(trigger, scheduled_ms);
  std::weak_ptr<bool> alive = alive_;
  ask_(trigger.owner, trigger.cron, scheduled_ms,
       [this, alive, trigger, scheduled_ms](bool fire) {
         std::shared_ptr<bool> still = alive.lock();
         if (fire && still && *still) Fire(trigger, scheduled_ms);
       });
}

void NodeTriggers::Fire(const bindings::CronTrigger& trigger, int64_t scheduled_ms) {
  if (serving_.empty()) return;
  std::shared_ptr<const NodeState> state = node_.state();
  const std::shared_ptr<const ServedWorker>* found = state->Find(trigger.owner);
  if (found == nullptr) return;  // deleted since the last refresh
  std::shared_ptr<const ServedWorker> served = *found;
  InvocationRecord record = BackgroundRecord(*served, "cron");
  record.cron = trigger.cron;
  record.scheduled_time_ms = static_cast<uint64_t>(scheduled_ms);
  runtime::ScheduledEvent event{trigger.cron, scheduled_ms};
  RunBackground(std::move(served), std::move(record), std::make_shared<NoClientWriter>(),
                [event = std::move(event)](WorkerHost& host, std::shared_ptr<NodeSink> sink) mutable {
                  host.Scheduled(std::move(event), std::move(sink));
                });
}

void NodeTriggers::RunWorkflow(const bindings::WorkflowRun& run, bindings::WorkflowEngine::Done done) {
  std::shared_ptr<const NodeState> state = node_.state();
  const std::shared_ptr<const ServedWorker>* found = state ? state->Find(run.definition.worker) : nullptr;
  if (serving_.empty() || found == nullptr) {
    done(bindings::ParseWorkflowReport(false, "the worker that defines the workflow is not deployed", ""));
    return;
  }
  std::shared_ptr<const ServedWorker> served = *found;
  const bindings::WorkflowInstance& instance = run.state.instance;
  // The version the instance started on, when it is not the current one.
  if (!instance.version.empty() && instance.version != std::to_string(served->version)) {
    uint64_t version = 0;
    for (char c : instance.version) version = version * 10 + static_cast<uint64_t>(c - '0');
    auto key = std::make_pair(served->name, version);
    auto pinned = pinned_.find(key);
    if (pinned == pinned_.end()) {
      auto loaded = node_.ServedVersion(served->name, version);
      if (!loaded.ok()) {
        bindings::WorkflowRunReport report;
        report.end = bindings::WorkflowRunReport::kThrew;
        report.error_name = "Error";
        report.error_message = fmt::format(
            "this instance started on version {} of worker \"{}\", which cannot be run any more: {}",
            version, served->name, loaded.status().message());
        done(std::move(report));
        return;
      }
      pinned = pinned_.emplace(key, std::move(loaded).value()).first;
    }
    served = pinned->second;
  }
  InvocationRecord record = BackgroundRecord(*served, "workflow");
  record.workflow = instance.workflow;
  record.workflow_instance = instance.id;
  Node* node = &node_;
  auto writer = std::make_shared<ReportWriter>([node, done = std::move(done)](bool ok, std::string failure,
                                                                              std::string body) mutable {
    node->PostToControl([done = std::move(done), ok, failure = std::move(failure), body = std::move(body)] {
      done(bindings::ParseWorkflowReport(ok, failure, body));
    });
  });
  auto event = std::make_shared<runtime::WorkflowRunEvent>(bindings::MakeWorkflowRunEvent(run));
  RunBackground(std::move(served), std::move(record), std::move(writer),
                [event](WorkerHost& host, std::shared_ptr<NodeSink> sink) {
                  host.Workflow(std::move(*event), std::move(sink));
                });
}

}  // namespace edge::gateway
