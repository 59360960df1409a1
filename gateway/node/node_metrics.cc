#include "gateway/node/node_metrics.h"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <iterator>
#include <vector>

#include "base/json_escape.h"
#include "base/log.h"
#include "base/utf8.h"

namespace edge::gateway {
namespace {

// Label values of edge_requests_total, each list in sorted order so the
// output is sorted without sorting it.
constexpr std::array<std::string_view, 6> kStatusClasses = {"1xx", "2xx", "3xx",
                                                            "4xx", "5xx", "none"};
constexpr size_t kNoStatus = 5;
constexpr std::array<std::string_view, 15> kOutcomes = {
    "badRequest", "canceled", "exceededCpu",    "exceededMemory",   "exceededWall",
    "exception",  "loadError", "noRoute",       "ok",               "other",
    "overloaded", "policyRefused", "preflight", "requestTooLarge", "responseTooLarge"};
constexpr size_t kOtherOutcome = 9;

// The bucket bounds in nanoseconds, to compare with wall_ns in integers.
constexpr auto kBucketBoundsNs = [] {
  std::array<uint64_t, NodeMetrics::kDurationBuckets.size()> bounds{};
  for (size_t i = 0; i < bounds.size(); ++i) {
    bounds[i] = static_cast<uint64_t>(NodeMetrics::kDurationBuckets[i] * 1e9 + 0.5);
  }
  return bounds;
}();
static_assert(kBucketBoundsNs[0] == 1'000'000 && kBucketBoundsNs[12] == 10'000'000'000);
// The `le` label of each bucket, as Prometheus clients print the bounds.
constexpr std::array<std::string_view, NodeMetrics::kDurationBuckets.size() + 1> kBucketLabels = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "+Inf"};

constexpr std::array<std::string_view, 5> kLimitKinds = {"cpu", "memory", "response_size",
                                                         "startup", "wall"};

// The families this file writes itself; free-form metrics may not take
// these names (a histogram's too: its _bucket/_sum/_count samples).
constexpr std::array<std::string_view, 14> kBuiltinNames = {
    "edge_isolate_evictions_total",
    "edge_isolate_memory_bytes",
    "edge_isolates_alive",
    "edge_limit_kills_total",
    "edge_request_bytes_total",
    "edge_request_duration_seconds",
    "edge_request_duration_seconds_bucket",
    "edge_request_duration_seconds_count",
    "edge_request_duration_seconds_sum",
    "edge_requests_total",
    "edge_response_bytes_total",
    "edge_start_time_seconds",
    "edge_up",
    "edge_worker_cpu_seconds_total",
};

size_t StatusClass(int status) {
  if (status < 100 || status > 599) return kNoStatus;
  return static_cast<size_t>(status / 100 - 1);
}

size_t OutcomeIndex(std::string_view outcome) {
  for (size_t i = 0; i < kOutcomes.size(); ++i) {
    if (i != kOtherOutcome && kOutcomes[i] == outcome) return i;
  }
  return kOtherOutcome;
}

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsBuiltinName(std::string_view name) {
  for (std::string_view builtin : kBuiltinNames) {
    if (builtin == name) return true;
  }
  return false;
}

// Text in the exposition format, which is UTF-8: ill-formed bytes become
// U+FFFD (as they do in the JSON outputs), backslash and newline are
// escaped, and double quotes too in label values (`quoted`). This is not
// JSON's escaping: the format knows no other escapes.
void AppendEscaped(std::string& out, std::string_view text, bool quoted) {
  std::string repaired;
  if (!base::IsValidUtf8(text)) {
    repaired = base::ToWellFormedUtf8(text);
    text = repaired;
  }
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quoted) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// A label value in quotes.
void AppendLabelValue(std::string& out, std::string_view value) {
  out += '"';
  AppendEscaped(out, value, /*quoted=*/true);
  out += '"';
}

void AppendHelp(std::string& out, std::string_view name, std::string_view help,
                std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, /*quoted=*/false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// Go's float syntax, which Prometheus parses: NaN and infinities spelled its way.
std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

double Seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

double NowSeconds() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count()) /
         1000.0;
}

}  // namespace

struct NodeMetrics::WorkerSeries {
  // requests[status class * kOutcomes.size() + outcome]
  std::array<std::atomic<uint64_t>, kStatusClasses.size() * kOutcomes.size()> requests{};
  // Per bucket, not cumulative (the output adds them up); the last is +Inf.
  std::array<std::atomic<uint64_t>, kBucketLabels.size()> duration_buckets{};
  std::atomic<uint64_t> duration_ns{0}, cpu_ns{0}, bytes_in{0}, bytes_out{0};
};

NodeMetrics::NodeMetrics() : NodeMetrics(NowSeconds()) {}

NodeMetrics::NodeMetrics(double start_time_seconds) : start_time_seconds_(start_time_seconds) {
  for (std::string_view kind : kLimitKinds) limit_kills_.emplace(kind, 0);
}

NodeMetrics::~NodeMetrics() = default;

NodeMetrics::WorkerSeries& NodeMetrics::SeriesFor(const std::string& worker) {
  {
    std::shared_lock<std::shared_mutex> lock(workers_mutex_);
    auto it = workers_.find(worker);
    if (it != workers_.end()) return *it->second;
  }
  std::unique_lock<std::shared_mutex> lock(workers_mutex_);
  std::unique_ptr<WorkerSeries>& series = workers_[worker];
  if (!series) series = std::make_unique<WorkerSeries>();
  return *series;
}

void NodeMetrics::ObserveRequest(const InvocationRecord& record) {
  WorkerSeries& series = SeriesFor(record.worker);
  constexpr auto relaxed = std::memory_order_relaxed;
  series.requests[StatusClass(record.status) * kOutcomes.size() + OutcomeIndex(record.outcome)]
      .fetch_add(1, relaxed);
  size_t bucket = 0;
  while (bucket < kBucketBoundsNs.size() && record.wall_ns > kBucketBoundsNs[bucket]) ++bucket;
  series.duration_buckets[bucket].fetch_add(1, relaxed);
  series.duration_ns.fetch_add(record.wall_ns, relaxed);
  series.cpu_ns.fetch_add(record.cpu_ns, relaxed);
  series.bytes_in.fetch_add(record.bytes_in, relaxed);
  series.bytes_out.fetch_add(record.bytes_out, relaxed);
}

void NodeMetrics::AddEviction() { evictions_.fetch_add(1, std::memory_order_relaxed); }

void NodeMetrics::AddLimitKill(std::string_view kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = limit_kills_.find(kind);
  if (it == limit_kills_.end()) it = limit_kills_.emplace(std::string(kind), 0).first;
  ++it->second;
}

void NodeMetrics::SetIsolates(int thread, int64_t alive, int64_t memory_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  isolates_[thread] = {alive, memory_bytes};
}

void NodeMetrics::SetGauge(std::string_view name, std::string_view help, double value) {
  SetExtra(name, help, /*counter=*/false, value);
}

void NodeMetrics::AddCounter(std::string_view name, std::string_view help, double delta) {
  if (!(delta >= 0)) return;  // negative or NaN
  SetExtra(name, help, /*counter=*/true, delta);
}

void NodeMetrics::SetExtra(std::string_view name, std::string_view help, bool counter,
                           double value) {
  if (!IsMetricName(name) || IsBuiltinName(name)) {
    Log(LogLevel::kWarn, "metrics: dropped a sample for invalid or reserved metric name {}",
        base::JsonEscape(name));
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = extras_.find(name);
  if (it == extras_.end()) {
    it = extras_.emplace(std::string(name), Extra{counter, {}, 0}).first;
  } else if (it->second.counter != counter) {
    Log(LogLevel::kWarn, "metrics: {} is a {}, not a {}; sample dropped", std::string(name),
        it->second.counter ? "counter" : "gauge", counter ? "counter" : "gauge");
    return;
  }
  Extra& extra = it->second;
  if (extra.help != help) extra.help = std::string(help);
  extra.value = counter ? extra.value + value : value;
}

void NodeMetrics::SetWorkflows(std::vector<WorkflowSample> samples) {
  std::lock_guard<std::mutex> lock(mutex_);
  workflows_ = std::move(samples);
}

void NodeMetrics::SetQueues(std::vector<QueueSample> samples) {
  std::lock_guard<std::mutex> lock(mutex_);
  queues_ = std::move(samples);
}

std::string NodeMetrics::Prometheus() const {
  // Family name -> its text. A std::map, so the families come out sorted.
  std::map<std::string, std::string, std::less<>> families;
  // A family's text, begun with its HELP and TYPE lines.
  auto family = [&](std::string_view name, std::string_view help,
                    std::string_view type) -> std::string& {
    std::string& text = families[std::string(name)];
    AppendHelp(text, name, help, type);
    return text;
  };
  auto simple = [&](std::string_view name, std::string_view help, std::string_view type,
                    const std::string& value) {
    std::string& text = family(name, help, type);
    text += name;
    text += ' ';
    text += value;
    text += '\n';
  };

  simple("edge_up", "1 while the node is serving.", "gauge", "1");
  simple("edge_start_time_seconds", "When the node started, in Unix seconds.", "gauge",
         Number(start_time_seconds_));
  simple("edge_isolate_evictions_total", "Isolates evicted to make room for others.", "counter",
         std::to_string(evictions_.load(std::memory_order_relaxed)));

  {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t alive = 0, memory = 0;
    for (const auto& [thread, counts] : isolates_) {
      alive += counts.first;
      memory += counts.second;
    }
    simple("edge_isolates_alive", "Isolates alive, over all serving threads.", "gauge",
           std::to_string(alive));
    simple("edge_isolate_memory_bytes", "Heap memory used by the alive isolates.", "gauge",
           std::to_string(memory));

    std::string& kills =
        family("edge_limit_kills_total", "Invocations stopped for exceeding a limit.", "counter");
    for (const auto& [kind, count] : limit_kills_) {
      kills += "edge_limit_kills_total{kind=";
      AppendLabelValue(kills, kind);
      kills += fmt::format("}} {}\n", count);
    }

    for (const auto& [name, extra] : extras_) {
      simple(name, extra.help, extra.counter ? "counter" : "gauge", Number(extra.value));
    }

    if (!queues_.empty()) {
      struct QueueFamily {
        const char* name;
        const char* help;
        const char* type;
        std::function<std::string(const QueueSample&)> value;
      };
      const QueueFamily queue_families[] = {
          {"edge_queue_messages", "Messages kept in a queue (delayed and in delivery included).",
           "gauge", [](const QueueSample& q) { return std::to_string(q.depth); }},
          {"edge_queue_oldest_message_age_seconds", "Age of a queue's oldest message.", "gauge",
           [](const QueueSample& q) { return Number(q.oldest_age_seconds); }},
          {"edge_queue_deliveries_total", "Messages handed to a queue's consumer.", "counter",
           [](const QueueSample& q) { return std::to_string(q.deliveries); }},
          {"edge_queue_retries_total", "Messages of a queue retried.", "counter",
           [](const QueueSample& q) { return std::to_string(q.retries); }},
          {"edge_queue_dead_lettered_total", "Messages moved to a dead-letter queue.", "counter",
           [](const QueueSample& q) { return std::to_string(q.dead_lettered); }},
          {"edge_queue_dropped_total", "Messages out of retries with no dead-letter queue.",
           "counter", [](const QueueSample& q) { return std::to_string(q.dropped); }},
      };
      for (const QueueFamily& queue_family : queue_families) {
        std::string& text = family(queue_family.name, queue_family.help, queue_family.type);
        for (const QueueSample& sample : queues_) {
          text += queue_family.name;
          text += "{account=";
          AppendLabelValue(text, sample.account);
          text += ",queue=";
          AppendLabelValue(text, sample.queue);
          text += "} ";
          text += queue_family.value(sample);
          text += '\n';
        }
      }
    }
  }

  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!workflows_.empty()) {
      auto labels = [](std::string& text, const WorkflowSample& sample) {
        text += "{account=";
        AppendLabelValue(text, sample.account);
        text += ",workflow=";
        AppendLabelValue(text, sample.workflow);
      };
      std::string& instances = family("edge_workflow_instances", "Workflow instances kept, by status.", "gauge");
      for (const WorkflowSample& sample : workflows_) {
        for (const auto& [status, count] : sample.instances) {
          instances += "edge_workflow_instances";
          labels(instances, sample);
          instances += ",status=";
          AppendLabelValue(instances, status);
          instances += "} " + std::to_string(count) + "\n";
        }
      }
      struct WorkflowFamily {
        const char* name;
        const char* help;
        uint64_t WorkflowSample::*field;
      };
      const WorkflowFamily workflow_families[] = {
          {"edge_workflow_runs_total", "Runs of workflow instances (each a fresh invocation).",
           &WorkflowSample::runs},
          {"edge_workflow_failed_runs_total", "Workflow runs that ended without a report (a limit, a load failure).",
           &WorkflowSample::failed_runs},
          {"edge_workflow_steps_completed_total", "Workflow steps that completed.", &WorkflowSample::steps_completed},
          {"edge_workflow_step_retries_total", "Failed workflow step attempts that are retried.",
           &WorkflowSample::step_retries},
      };
      for (const WorkflowFamily& workflow_family : workflow_families) {
        std::string& text = family(workflow_family.name, workflow_family.help, "counter");
        for (const WorkflowSample& sample : workflows_) {
          text += workflow_family.name;
          labels(text, sample);
          text += "} " + std::to_string(sample.*(workflow_family.field)) + "\n";
        }
      }
    }
  }

  // Worker series, by worker name. Pointers stay valid after the lock: series
  // are never erased.
  std::map<std::string_view, const WorkerSeries*> workers;
  {
    std::shared_lock<std::shared_mutex> lock(workers_mutex_);
    for (const auto& [name, series] : workers_) workers.emplace(name, series.get());
  }
  constexpr auto relaxed = std::memory_order_relaxed;

  std::string& requests = family(
      "edge_requests_total", "Requests served, by worker, status class and outcome.", "counter");
  std::string& duration =
      family("edge_request_duration_seconds", "Wall time of requests, by worker.", "histogram");
  std::string& cpu =
      family("edge_worker_cpu_seconds_total", "CPU time spent in requests, by worker.", "counter");
  std::string& bytes_in =
      family("edge_request_bytes_total", "Request body bytes received, by worker.", "counter");
  std::string& bytes_out =
      family("edge_response_bytes_total", "Response body bytes sent, by worker.", "counter");

  for (const auto& [name, series] : workers) {
    std::string worker_label = "worker=";
    AppendLabelValue(worker_label, name);

    for (size_t status = 0; status < kStatusClasses.size(); ++status) {
      for (size_t outcome = 0; outcome < kOutcomes.size(); ++outcome) {
        uint64_t count = series->requests[status * kOutcomes.size() + outcome].load(relaxed);
        if (count == 0) continue;
        fmt::format_to(std::back_inserter(requests),
                       "edge_requests_total{{{},status_class=\"{}\",outcome=\"{}\"}} {}\n",
                       worker_label, kStatusClasses[status], kOutcomes[outcome], count);
      }
    }

    // Cumulative from one read of each bucket, so the buckets never
    // decrease and +Inf always equals _count, even while requests land.
    uint64_t cumulative = 0;
    for (size_t bucket = 0; bucket < kBucketLabels.size(); ++bucket) {
      cumulative += series->duration_buckets[bucket].load(relaxed);
      fmt::format_to(std::back_inserter(duration),
                     "edge_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", worker_label,
                     kBucketLabels[bucket], cumulative);
    }
    fmt::format_to(std::back_inserter(duration), "edge_request_duration_seconds_sum{{{}}} {}\n",
                   worker_label, Number(Seconds(series->duration_ns.load(relaxed))));
    fmt::format_to(std::back_inserter(duration), "edge_request_duration_seconds_count{{{}}} {}\n",
                   worker_label, cumulative);

    fmt::format_to(std::back_inserter(cpu), "edge_worker_cpu_seconds_total{{{}}} {}\n",
                   worker_label, Number(Seconds(series->cpu_ns.load(relaxed))));
    fmt::format_to(std::back_inserter(bytes_in), "edge_request_bytes_total{{{}}} {}\n",
                   worker_label, series->bytes_in.load(relaxed));
    fmt::format_to(std::back_inserter(bytes_out), "edge_response_bytes_total{{{}}} {}\n",
                   worker_label, series->bytes_out.load(relaxed));
  }

  std::string out;
  for (const auto& [name, text] : families) out += text;
  return out;
}

}  // namespace edge::gateway
