// The cron triggers of the workers an `edge serve` node serves: a
// bindings::CronScheduler on the control loop, fed from the published
// NodeState, whose fires run each worker's scheduled handler on a serving
// thread (round robin; the quarantine thread for a quarantined worker).
// Each scheduled invocation is reported like a request (a NodeSink with no
// client): metering, metrics, the access log and `edge tail`, with the
// worker's wall-time limit and its own CPU limit (background_cpu_ms).
//
// In a fleet a cron must fire once, not once per PoP: a replica with no
// `run_crons` of its own asks, fire by fire, whether it may (its origin
// names one PoP the cron home and grants each minute once); `run_crons`
// set fires or never fires without asking (docs/triggers.md).
//
// The same path runs queue consumers: a bindings::QueueEngine on the
// control loop, fed from the same NodeState, whose batches run each
// worker's queue handler on a serving thread's heavy lane, reported like
// a scheduled invocation, with the decisions sent back to the engine on
// the control loop. A node delivers its own queues, except a replica that
// is not the fleet's queue home (its store is an outbox: edge-sync).
//
// And workflows: a bindings::WorkflowEngine on the control loop, fed the
// `[[workflows]]` of the deployed workers, whose runs go the same way
// (reported as "workflow" invocations). An instance runs on the version
// of its worker it was created by (loaded from the deploy store when the
// worker was redeployed since); the instances of a node live on it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <memory>
#include <vector>

#include "bindings/cron/cron_scheduler.h"
#include "bindings/queues/queue_engine.h"
#include "bindings/workflows/workflow_engine.h"
#include "gateway/node/invocation_record.h"

namespace edge::gateway {

class Node;
class NodeSink;
class NodeThread;
class ResponseWriter;
class WorkerHost;
struct NodeState;
struct ServedWorker;

class NodeTriggers {
 public:
  // On the control loop, once the serving threads run.
  // `ask`, when given, is asked before each fire (CronGate); without it
  // every due trigger fires.
  using CronGate = std::function<void(const std::string& worker, const std::string& cron,
                                      int64_t minute_ms, std::function<void(bool fire)> answer)>;
  // `delivers_queues`, when given, is asked at each tick of the queue
  // engine whether it delivers now (QueueEngine::Options::delivers).
  NodeTriggers(Node& node, std::vector<NodeThread*> serving, bindings::CronClock clock,
               bool run_crons = true, CronGate ask = nullptr,
               std::function<bool()> delivers_queues = nullptr);
  ~NodeTriggers();
  NodeTriggers(const NodeTriggers&) = delete;
  NodeTriggers& operator=(const NodeTriggers&) = delete;

  // Schedules the triggers of every worker in `state` (control loop).
  void Update(const NodeState& state);
  // Looks at the node's state and updates when it changed (the refresh
  // timer calls it every second).
  void Refresh();
  bindings::CronScheduler& scheduler() { return scheduler_; }
  bindings::QueueEngine* queue_engine() { return queues_.get(); }
  bindings::WorkflowEngine* workflow_engine() { return workflows_.get(); }

 private:
  // A trigger fell due: fires it, or asks the gate first.
  void Due(const bindings::CronTrigger& trigger, int64_t scheduled_ms);
  void Fire(const bindings::CronTrigger& trigger, int64_t scheduled_ms);
  void Deliver(const bindings::QueueConsumer& consumer, runtime::QueueEvent event,
               bindings::QueueEngine::Done done);
  void RunWorkflow(const bindings::WorkflowRun& run, bindings::WorkflowEngine::Done done);
  // The thread a background invocation of `worker` runs on.
  NodeThread* BackgroundThread(const std::string& worker);
  // The record of a background invocation of `served` ("cron", "queue").
  InvocationRecord BackgroundRecord(const ServedWorker& served, std::string_view kind);
  // Runs a background invocation of `served` on a background thread: a
  // NodeSink over `writer` reports it as `record`; `start` begins it on
  // the host it acquired.
  void RunBackground(std::shared_ptr<const ServedWorker> served, InvocationRecord record,
                     std::shared_ptr<ResponseWriter> writer,
                     std::function<void(WorkerHost&, std::shared_ptr<NodeSink>)> start);

  Node& node_;
  std::vector<NodeThread*> serving_;
  bindings::CronScheduler scheduler_;
  bool run_crons_;
  CronGate ask_;
  // Lets a gate's late answer find out that the triggers are gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<bindings::QueueEngine> queues_;
  std::unique_ptr<bindings::WorkflowEngine> workflows_;
  // Older versions that workflow instances still run on, by (worker, version).
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const ServedWorker>> pinned_;
  uv_timer_t* refresh_ = nullptr;
  uint64_t generation_ = 0;
  size_t next_thread_ = 0;
  uint64_t next_id_ = 0;
};

}  // namespace edge::gateway
