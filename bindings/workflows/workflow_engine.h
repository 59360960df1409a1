// The engine of Cloudflare Workflows on one node: it watches the
// WorkflowStore's due index and, for each instance whose time has come (a
// new instance, a step to run or retry, a sleep over, an event arrived, a
// wait timed out), hands one run to the host's `deliver`, which invokes the
// worker's WorkflowEntrypoint class fresh (Worker::Workflow) under the
// background CPU limit. The run replays `run()` from the top: steps already
// settled return their stored results, new steps run, and the run ends as
// soon as every new step has settled or the instance blocks on a sleep, a
// retry delay or an event. Its report is stored (FinishRun) before anything
// else happens, so a step's result is durable before the next step starts.
// Between runs an instance holds no isolate: sleeping and waiting cost only
// their stored state.
//
// Time comes from the store's clock (injectable): tests move it by hand and
// call Tick. Everything runs on the loop the engine was made on; `deliver`'s
// callback must be called there too.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "bindings/workflows/workflow_store.h"
#include "runtime/response_sink.h"

namespace edge::bindings {

// A `[[workflows]]` entry a loaded worker defines: instances of `workflow`
// in `account` run its class `class_name`.
struct WorkflowDefinition {
  std::string account;
  std::string workflow;
  std::string worker;      // the host's key for the worker
  std::string class_name;
};

// One run, as the host gets it.
struct WorkflowRun {
  WorkflowDefinition definition;
  WorkflowInstanceState state;  // the instance (its version, params) and its steps
};

// What Worker::Workflow takes for `run`: its class, instance and steps.
runtime::WorkflowRunEvent MakeWorkflowRunEvent(const WorkflowRun& run);

// Reads the report a workflow invocation's outcome carries (the body
// written by the runtime, Worker::Workflow): records of a JSON header line
// and the bytes it announces. `ok` is whether the invocation succeeded;
// `failure` its error text when it did not. A body cut short or not one
// of these is a run that died.
WorkflowRunReport ParseWorkflowReport(bool ok, std::string_view failure, std::string_view body);

// The most of a run's report a host keeps: a report cut there is a run
// that died (each step's result is at most 1 MiB).
inline constexpr size_t kWorkflowMaxReportBytes = 16u << 20;

// Counters per (account, workflow), for the node's metrics.
struct WorkflowCounters {
  uint64_t runs = 0;
  uint64_t failed_runs = 0;       // died without a report (a limit, a load failure)
  uint64_t steps_completed = 0;
  uint64_t step_retries = 0;      // failed attempts that will be tried again
  uint64_t steps_failed = 0;      // out of retries, or non-retryable
  uint64_t instances_completed = 0;
  uint64_t instances_errored = 0;
};

class WorkflowEngine {
 public:
  using Done = std::function<void(WorkflowRunReport)>;
  using Deliver = std::function<void(const WorkflowRun& run, Done done)>;
  // Called once a run's report is stored: (account, workflow, id, status).
  using OnRun = std::function<void(const WorkflowRun& run, const WorkflowInstance& after)>;
  struct Options {
    uint64_t poll_ms = 250;
    // A run whose outcome has not come back by then counts as died.
    int64_t run_timeout_ms = 15 * 60 * 1000;
    // Runs out at once on this node.
    size_t max_in_flight = 64;
    // How often finished instances past their retention are deleted.
    int64_t sweep_every_ms = 60 * 1000;
    // Whether the engine's own timer runs (tests call Tick instead).
    bool timer = true;
  };
  WorkflowEngine(uv_loop_t* loop, std::shared_ptr<WorkflowStore> store, Deliver deliver,
                 Options options);
  ~WorkflowEngine();
  WorkflowEngine(const WorkflowEngine&) = delete;
  WorkflowEngine& operator=(const WorkflowEngine&) = delete;

  // Replaces every definition. Instances of a workflow no loaded worker
  // defines wait (they run once one does).
  void SetDefinitions(std::vector<WorkflowDefinition> definitions);
  void SetOnRun(OnRun on_run) { on_run_ = std::move(on_run); }
  // Starts the runs that are due, ends those that took too long, sweeps.
  void Tick();
  void Stop();

  size_t in_flight() const { return in_flight_.size(); }
  const std::map<std::pair<std::string, std::string>, WorkflowCounters>& counters() const {
    return counters_;
  }
  WorkflowStore& store() { return *store_; }
  const std::vector<WorkflowDefinition>& definitions() const { return definitions_; }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // account, workflow, id
  struct InFlight {
    WorkflowRun run;
    uint64_t epoch = 0;
    int64_t started_ms = 0;
    uint64_t token = 0;
  };
  const WorkflowDefinition* Find(std::string_view account, std::string_view workflow) const;
  void Finish(const Key& key, uint64_t token, WorkflowRunReport report);
  void TickSoon();

  uv_loop_t* loop_;
  std::shared_ptr<WorkflowStore> store_;
  Deliver deliver_;
  Options options_;
  OnRun on_run_;
  std::vector<WorkflowDefinition> definitions_;
  std::map<Key, InFlight> in_flight_;
  std::map<std::pair<std::string, std::string>, WorkflowCounters> counters_;
  uint64_t next_token_ = 0;
  int64_t last_sweep_ms_ = 0;
  uv_timer_t* timer_ = nullptr;
  uv_async_t* wake_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace edge::bindings
