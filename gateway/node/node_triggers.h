// The cron triggers of the workers an `edge serve` node serves: a
// bindings::CronScheduler on the control loop, fed from the published
// NodeState, whose fires run each worker's scheduled handler on a serving
// thread (round robin; the quarantine thread for a quarantined worker).
// Each scheduled invocation is reported like a request (a NodeSink with no
// client): metering, metrics, the access log and `edge tail`, with the
// worker's wall-time limit and its own CPU limit (background_cpu_ms).
//
// In a fleet a cron must fire once, not once per PoP: only nodes with
// `run_crons` on fire (by default a standalone node does and a replica
// does not; docs/triggers.md).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bindings/cron/cron_scheduler.h"

namespace edge::gateway {

class Node;
class NodeThread;
struct NodeState;

class NodeTriggers {
 public:
  // On the control loop, once the serving threads run.
  NodeTriggers(Node& node, std::vector<NodeThread*> serving, bindings::CronClock clock);
  ~NodeTriggers();
  NodeTriggers(const NodeTriggers&) = delete;
  NodeTriggers& operator=(const NodeTriggers&) = delete;

  // Schedules the triggers of every worker in `state` (control loop).
  void Update(const NodeState& state);
  // Looks at the node's state and updates when it changed (the refresh
  // timer calls it every second).
  void Refresh();
  bindings::CronScheduler& scheduler() { return scheduler_; }

 private:
  void Fire(const bindings::CronTrigger& trigger, int64_t scheduled_ms);

  Node& node_;
  std::vector<NodeThread*> serving_;
  bindings::CronScheduler scheduler_;
  uv_timer_t* refresh_ = nullptr;
  uint64_t generation_ = 0;
  size_t next_thread_ = 0;
  uint64_t next_id_ = 0;
};

}  // namespace edge::gateway
