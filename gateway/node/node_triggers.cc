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

NodeTriggers::NodeTriggers(Node& node, std::vector<NodeThread*> serving, bindings::CronClock clock)
    : node_(node),
      serving_(std::move(serving)),
      scheduler_(node.control_loop(), std::move(clock),
                 [this](const bindings::CronTrigger& trigger, int64_t when) { Fire(trigger, when); }),
      refresh_(new uv_timer_t) {
  uv_timer_init(node_.control_loop(), refresh_);
  refresh_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(refresh_));
  uv_timer_start(
      refresh_, [](uv_timer_t* timer) { static_cast<NodeTriggers*>(timer->data)->Refresh(); },
      kRefreshEveryMs, kRefreshEveryMs);
  Refresh();
}

NodeTriggers::~NodeTriggers() {
  scheduler_.Stop();
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
  for (const auto& [name, served] : state.workers) {
    for (const std::string& cron : served->spec.crons) triggers.push_back({name, cron});
  }
  scheduler_.SetTriggers(std::move(triggers));
}

void NodeTriggers::Fire(const bindings::CronTrigger& trigger, int64_t scheduled_ms) {
  if (serving_.empty()) return;
  std::shared_ptr<const NodeState> state = node_.state();
  const std::shared_ptr<const ServedWorker>* found = state->Find(trigger.owner);
  if (found == nullptr) return;  // deleted since the last refresh
  std::shared_ptr<const ServedWorker> served = *found;

  InvocationRecord record;
  record.request_id = fmt::format("{}-cron-{:x}", node_.options().pop_id, ++next_id_);
  record.start_unix_ms = UnixMs();
  record.worker = served->name;
  record.version = served->version;
  record.remote = "cron";
  record.cron = trigger.cron;
  record.scheduled_time_ms = static_cast<uint64_t>(scheduled_ms);
  record.memory_limit_bytes = served->limits.memory_mb << 20;

  // Scheduled work may compute for background_cpu_ms (30 s by default):
  // it runs on a serving thread's heavy lane, where the kernel preempts it
  // for the requests of the serving thread, never on the serving thread
  // itself; a quarantined worker on the quarantine thread.
  NodeThread* serving = serving_[next_thread_++ % serving_.size()];
  NodeThread* thread = serving->heavy_lane() != nullptr ? serving->heavy_lane() : serving;
  if (node_.quarantine_thread() != nullptr && node_.Quarantined(served->name)) {
    thread = node_.quarantine_thread();
  }
  runtime::ScheduledEvent event{trigger.cron, scheduled_ms};
  const NodeReporting& reporting = node_.reporting();
  thread->Post([thread, served, event = std::move(event), record = std::move(record),
                &reporting]() mutable {
    WorkerLimits limits = served->limits;
    limits.response_bytes = 0;  // the outcome is the runtime's, not the worker's
    auto sink = std::make_shared<NodeSink>(std::make_shared<NoClientWriter>(), reporting,
                                           std::move(record), limits, thread->loop());
    StatusOr<WorkerHost*> host = thread->pool().Acquire(served);
    if (!host.ok()) {
      sink->Fail("The worker failed to load", LimitKind::kNone);
      return;
    }
    WorkerHost* acquired = *host;
    sink->SetOnEnd([acquired] { acquired->ScheduleCollect(); });
    sink->Begin();
    acquired->Scheduled(std::move(event), std::move(sink));
  });
}

}  // namespace edge::gateway
