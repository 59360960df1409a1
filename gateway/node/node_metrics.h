// The node's metrics in the Prometheus text exposition format (0.0.4), for
// GET /metrics on the admin listener: requests, durations, CPU and bytes per
// worker, limit kills, isolates, and free-form gauges and counters other
// parts of the node add by name.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "gateway/node/invocation_record.h"

namespace edge::gateway {

// Thread-safe. The request path takes a shared lock to find the worker's
// series (an exclusive one only for a worker's first request) and otherwise
// only adds to atomics. Label cardinality is bounded by the deployed workers;
// a request with no worker is labelled worker="".
class NodeMetrics {
 public:
  // edge_start_time_seconds is the time of construction (or the one given).
  NodeMetrics();
  explicit NodeMetrics(double start_time_seconds);
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;
  ~NodeMetrics();

  // edge_requests_total{worker,status_class,outcome} (status_class "1xx".."5xx",
  // "none" when no response was sent; an outcome not in InvocationRecord's
  // list counts as "other", to keep the label bounded),
  // edge_request_duration_seconds{worker} (a histogram of wall time),
  // edge_worker_cpu_seconds_total{worker}, edge_request_bytes_total{worker},
  // edge_response_bytes_total{worker}.
  void ObserveRequest(const InvocationRecord& record);
  // edge_isolate_evictions_total.
  void AddEviction();
  // edge_limit_kills_total{kind}: "cpu", "memory", "wall", "startup",
  // "response_size" (always listed, from 0); another kind gets its own series.
  void AddLimitKill(std::string_view kind);
  // The isolates of one serving thread, as of now: edge_isolates_alive and
  // edge_isolate_memory_bytes are the sums over threads.
  void SetIsolates(int thread, int64_t alive, int64_t memory_bytes);

  // Workers Queues, one sample per queue of each account (UpdateGauges sets
  // them from the queue store and the consumer engine):
  // edge_queue_messages{account,queue} (depth), edge_queue_oldest_message_age_seconds,
  // and the counters edge_queue_deliveries_total, edge_queue_retries_total,
  // edge_queue_dead_lettered_total, edge_queue_dropped_total.
  struct QueueSample {
    std::string account, queue;
    uint64_t depth = 0;
    double oldest_age_seconds = 0;
    uint64_t deliveries = 0, retries = 0, dead_lettered = 0, dropped = 0;
  };
  void SetQueues(std::vector<QueueSample> samples);

  // Workflows, one sample per workflow of each account (UpdateGauges sets
  // them from the workflow store and engine):
  // edge_workflow_instances{account,workflow,status} and the counters
  // edge_workflow_runs_total, edge_workflow_failed_runs_total (runs that
  // died: a limit, a load failure), edge_workflow_steps_completed_total and
  // edge_workflow_step_retries_total.
  struct WorkflowSample {
    std::string account, workflow;
    std::vector<std::pair<std::string, uint64_t>> instances;  // status -> count
    uint64_t runs = 0, failed_runs = 0, steps_completed = 0, step_retries = 0;
  };
  void SetWorkflows(std::vector<WorkflowSample> samples);

  // Free-form metrics by name (e.g. replication lag), emitted as one
  // unlabelled sample each. The name must be a valid Prometheus metric name
  // not used by the metrics above, and keep one type (gauge or counter);
  // otherwise the call is dropped with a log line, so one bad caller cannot
  // break the whole exposition. The latest help text wins. A counter ignores
  // negative or NaN deltas (counters only go up).
  void SetGauge(std::string_view name, std::string_view help, double value);
  void AddCounter(std::string_view name, std::string_view help, double delta);

  // The exposition: families sorted by name, each with # HELP and # TYPE,
  // samples in a stable order, label values escaped (\\, \", \n).
  std::string Prometheus() const;

  // Upper bounds of edge_request_duration_seconds, in seconds (+Inf follows).
  static constexpr std::array<double, 13> kDurationBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

 private:
  struct WorkerSeries;
  struct Extra {
    bool counter = false;
    std::string help;
    double value = 0;
  };

  WorkerSeries& SeriesFor(const std::string& worker);
  void SetExtra(std::string_view name, std::string_view help, bool counter, double value);

  const double start_time_seconds_;
  std::atomic<uint64_t> evictions_{0};

  mutable std::shared_mutex workers_mutex_;
  // Never erased, so a series found under the lock stays valid without it.
  std::unordered_map<std::string, std::unique_ptr<WorkerSeries>> workers_;

  // Rarely changed: limit kills, per-thread isolate counts, free-form metrics.
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t, std::less<>> limit_kills_;
  std::map<int, std::pair<int64_t, int64_t>> isolates_;  // thread -> (alive, memory bytes)
  std::map<std::string, Extra, std::less<>> extras_;
  std::vector<QueueSample> queues_;
  std::vector<WorkflowSample> workflows_;
};

}  // namespace edge::gateway
