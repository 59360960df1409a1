// Meter, NodeMetrics and TailHub. RequestLog and the JSON helpers are in
// request_log_test.cc.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/node/metering.h"
#include "gateway/node/node_metrics.h"
#include "gateway/node/tail_hub.h"

namespace edge::gateway {
namespace {

constexpr uint64_t kMinute = Meter::kMinuteMs;
constexpr uint64_t kMiB = 1024 * 1024;

// A typed value from a parsed document; a failure fails the test (no
// exceptions: simdjson's throwing conversions are not used).
template <typename T>
T Get(simdjson::simdjson_result<simdjson::dom::element> result) {
  T value{};
  EXPECT_EQ(result.get(value), simdjson::SUCCESS);
  return value;
}

InvocationRecord MakeRecord(std::string worker, int status = 200, std::string outcome = "ok") {
  InvocationRecord record;
  record.request_id = "0-1";
  record.start_unix_ms = 1700000000000;
  record.worker = std::move(worker);
  record.version = 3;
  record.method = "GET";
  record.url = "https://example.com/";
  record.remote = "127.0.0.1:5000";
  record.status = status;
  record.outcome = std::move(outcome);
  record.cpu_ns = 1'000'000;
  record.wall_ns = 2'000'000;
  record.memory_limit_bytes = 128 * kMiB;
  record.subrequests = 1;
  record.bytes_in = 10;
  record.bytes_out = 100;
  return record;
}

// ---------------------------------------------------------------------------
// Meter

TEST(MeterTest, SumsPerWorkerAndSkipsUnrouted) {
  Meter meter;
  uint64_t now = 1000 * kMinute;
  meter.Record(MakeRecord("api"), now);
  meter.Record(MakeRecord("api", 500, "ok"), now);
  meter.Record(MakeRecord("api", 200, "exceededCpu"), now);
  meter.Record(MakeRecord("web"), now);
  meter.Record(MakeRecord("", 404, "noRoute"), now);

  std::map<std::string, Usage> usage = meter.UsageSince(0);
  ASSERT_EQ(usage.size(), 2u);
  const Usage& api = usage["api"];
  EXPECT_EQ(api.invocations, 3u);
  EXPECT_EQ(api.errors, 2u);  // a 500 and an exceeded limit
  EXPECT_EQ(api.cpu_ns, 3'000'000u);
  EXPECT_EQ(api.wall_ns, 6'000'000u);
  EXPECT_EQ(api.subrequests, 3u);
  EXPECT_EQ(api.bytes_in, 30u);
  EXPECT_EQ(api.bytes_out, 300u);
  EXPECT_EQ(usage["web"].invocations, 1u);
  EXPECT_EQ(usage["web"].errors, 0u);
}

TEST(MeterTest, GbSecondsUseTheMemoryLimitTimesWallTime) {
  EXPECT_DOUBLE_EQ(GbSeconds(128 * kMiB, 2'000'000'000), 0.25);
  EXPECT_DOUBLE_EQ(GbSeconds(1024 * kMiB, 1'500'000'000), 1.5);
  EXPECT_DOUBLE_EQ(GbSeconds(0, 1'000'000'000), 0.0);

  Meter meter;
  InvocationRecord record = MakeRecord("api");
  record.memory_limit_bytes = 128 * kMiB;
  record.wall_ns = 2'000'000'000;
  meter.Record(record, kMinute);
  record.memory_limit_bytes = 512 * kMiB;
  record.wall_ns = 500'000'000;
  meter.Record(record, kMinute);
  EXPECT_DOUBLE_EQ(meter.UsageSince(0)["api"].gb_seconds, 0.25 + 0.25);
}

TEST(MeterTest, SinceSumsWholeMinutesFromTheMinuteOfSince) {
  Meter meter;
  uint64_t base = 5000 * kMinute;
  meter.Record(MakeRecord("api"), base + 59'999);            // minute 0
  meter.Record(MakeRecord("api"), base + kMinute);           // minute 1
  meter.Record(MakeRecord("api"), base + kMinute + 30'000);  // minute 1
  meter.Record(MakeRecord("api"), base + 5 * kMinute + 1);   // minute 5

  EXPECT_EQ(meter.UsageSince(base)["api"].invocations, 4u);
  // Rounded down to its minute: minute 1 counts whole.
  EXPECT_EQ(meter.UsageSince(base + kMinute + 45'000)["api"].invocations, 3u);
  EXPECT_EQ(meter.UsageSince(base + 2 * kMinute)["api"].invocations, 1u);
  EXPECT_EQ(meter.UsageSince(base + 5 * kMinute + 59'999)["api"].invocations, 1u);
  // No usage in the window: the worker is not listed.
  EXPECT_TRUE(meter.UsageSince(base + 6 * kMinute).empty());
}

TEST(MeterTest, KeepsMinutesForADayAndTotalsForever) {
  Meter meter;
  uint64_t day = Meter::kKeptMinutes * kMinute;
  uint64_t base = 100'000 * kMinute;
  meter.Record(MakeRecord("old"), base);
  meter.Record(MakeRecord("api"), base);
  meter.Record(MakeRecord("api"), base + day - kMinute);  // the old minute is still in the day
  EXPECT_EQ(meter.UsageSince(1)["api"].invocations, 2u);
  EXPECT_EQ(meter.UsageSince(1)["old"].invocations, 1u);

  meter.Record(MakeRecord("api"), base + day);  // now the first minute is past the day
  std::map<std::string, Usage> window = meter.UsageSince(1);
  EXPECT_EQ(window["api"].invocations, 2u);
  // "old" was not touched since, but its minute is out of the window all the same.
  EXPECT_EQ(window.count("old"), 0u);

  std::map<std::string, Usage> totals = meter.UsageSince(0);
  EXPECT_EQ(totals["api"].invocations, 3u);
  EXPECT_EQ(totals["old"].invocations, 1u);

  // A record from before the day (a slow clock) still counts in the totals.
  meter.Record(MakeRecord("api"), base - kMinute);
  EXPECT_EQ(meter.UsageSince(0)["api"].invocations, 4u);
  EXPECT_EQ(meter.UsageSince(1)["api"].invocations, 2u);
}

TEST(MeterTest, BackgroundWorkAddsCpuAndSubrequestsWithoutInvocations) {
  Meter meter;
  meter.Record(MakeRecord("api"), kMinute);
  meter.AddBackground("api", 5'000'000, 2, 2 * kMinute);
  meter.AddBackground("", 5'000'000, 2, 2 * kMinute);  // ignored
  Usage total = meter.UsageSince(0)["api"];
  EXPECT_EQ(total.invocations, 1u);
  EXPECT_EQ(total.cpu_ns, 6'000'000u);
  EXPECT_EQ(total.subrequests, 3u);
  Usage late = meter.UsageSince(2 * kMinute)["api"];
  EXPECT_EQ(late.invocations, 0u);
  EXPECT_EQ(late.cpu_ns, 5'000'000u);
  EXPECT_EQ(meter.UsageSince(0).size(), 1u);
}

TEST(MeterTest, RequestsRefusedBeforeAnyIsolateAreNotInvocations) {
  // A route policy's refusal, and a request refused because its worker
  // had too many waiting for their turn on the thread.
  Meter meter;
  meter.Record(MakeRecord("api", 401, "policyRefused"), kMinute);
  meter.Record(MakeRecord("api", 503, "overloaded"), kMinute);
  meter.Record(MakeRecord("api"), kMinute);
  Usage usage = meter.UsageSince(0)["api"];
  EXPECT_EQ(usage.refused, 2u);
  EXPECT_EQ(usage.invocations, 1u);
  EXPECT_EQ(usage.errors, 0u);
  EXPECT_EQ(usage.cpu_ns, 1'000'000u);
}

TEST(MeterTest, ForgetDropsMinutesAndTotals) {
  Meter meter;
  meter.Record(MakeRecord("api"), kMinute);
  meter.Record(MakeRecord("web"), kMinute);
  meter.Forget("api");
  meter.Forget("never-seen");
  EXPECT_EQ(meter.UsageSince(0).count("api"), 0u);
  EXPECT_EQ(meter.UsageSince(1).count("api"), 0u);
  EXPECT_EQ(meter.UsageSince(0).count("web"), 1u);
  meter.Record(MakeRecord("api"), kMinute);  // a new account
  EXPECT_EQ(meter.UsageSince(0)["api"].invocations, 1u);
}

TEST(MeterTest, UsageJsonParsesAndRoundsToTheMicrosecond) {
  Meter meter;
  InvocationRecord record = MakeRecord("api\"\n");
  record.cpu_ns = 1'234'567;
  record.wall_ns = 1'000'000'000;
  record.memory_limit_bytes = 128 * kMiB;
  meter.Record(record, 10 * kMinute + 5);
  std::string json = meter.UsageJson(10 * kMinute + 7, 11 * kMinute);
  EXPECT_NE(json.find("\"cpu_ms\":1.235,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"wall_ms\":1000.000,"), std::string::npos) << json;

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(Get<uint64_t>(doc["since"]), 10 * kMinute);
  EXPECT_EQ(Get<uint64_t>(doc["until"]), 11 * kMinute);
  simdjson::dom::element api = Get<simdjson::dom::element>(doc["workers"]["api\"\n"]);
  EXPECT_EQ(Get<uint64_t>(api["invocations"]), 1u);
  EXPECT_EQ(Get<uint64_t>(api["errors"]), 0u);
  EXPECT_DOUBLE_EQ(Get<double>(api["gb_seconds"]), 0.125);
  EXPECT_EQ(Get<uint64_t>(api["subrequests"]), 1u);
  EXPECT_EQ(Get<uint64_t>(api["bytes_in"]), 10u);
  EXPECT_EQ(Get<uint64_t>(api["bytes_out"]), 100u);

  ASSERT_EQ(parser.parse(meter.UsageJson(0, 1)).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Get<uint64_t>(doc["since"]), 0u);
  ASSERT_EQ(parser.parse(Meter().UsageJson(0, 1)).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Get<simdjson::dom::object>(doc["workers"]).size(), 0u);
}

TEST(MeterTest, CountsEveryRecordFromManyThreads) {
  Meter meter;
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&meter, t] {
      for (int i = 0; i < kPerThread; ++i) {
        meter.Record(MakeRecord(i % 2 ? "api" : "web"), (t * kPerThread + i) * 1000);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::map<std::string, Usage> usage = meter.UsageSince(0);
  EXPECT_EQ(usage["api"].invocations + usage["web"].invocations, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(usage["api"].cpu_ns, uint64_t{kThreads * kPerThread / 2} * 1'000'000);
}

// ---------------------------------------------------------------------------
// NodeMetrics: the output is parsed back as the text format.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

struct Exposition {
  std::vector<std::string> family_order;     // names from # TYPE lines, in order
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> helps;  // family -> help (escaped form)
  std::vector<Sample> samples;
};

// The family a sample belongs to: its name, or a histogram's without suffix.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string_view view = name;
    if (view.ends_with(suffix)) {
      std::string base(view.substr(0, view.size() - std::string_view(suffix).size()));
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

// A strict reader of the subset of the format Prometheus() writes; fails the
// test on anything else.
Exposition ParseExposition(const std::string& text) {
  Exposition out;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("# HELP ")) {
      size_t space = line.find(' ', 7);
      EXPECT_NE(space, std::string::npos) << line;
      out.helps[line.substr(7, space - 7)] = line.substr(space + 1);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      size_t space = line.find(' ', 7);
      std::string name = line.substr(7, space - 7);
      std::string type = line.substr(space + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_EQ(out.types.count(name), 0u) << "family twice: " << name;
      EXPECT_EQ(out.helps.count(name), 1u) << "# HELP must come first: " << name;
      out.types[name] = type;
      out.family_order.push_back(name);
      continue;
    }
    EXPECT_FALSE(line.empty() || line[0] == '#') << "unexpected line: " << line;
    Sample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') sample.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string label;
        while (i < line.size() && line[i] != '=') label += line[i++];
        EXPECT_EQ(line.substr(i, 2), "=\"") << line;
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            char c = i < line.size() ? line[i] : '?';
            EXPECT_TRUE(c == '\\' || c == '"' || c == 'n') << "bad escape in " << line;
            value += c == 'n' ? '\n' : c;
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        sample.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // closing brace
    }
    EXPECT_EQ(line.substr(i, 1), " ") << line;
    sample.value = line.substr(i + 1);
    EXPECT_FALSE(sample.value.empty()) << line;
    // Each sample belongs to the family declared last.
    EXPECT_FALSE(out.family_order.empty()) << line;
    if (!out.family_order.empty()) {
      EXPECT_EQ(FamilyOf(sample.name, out.types), out.family_order.back()) << line;
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

std::vector<Sample> Find(const Exposition& exposition, const std::string& name,
                         const std::map<std::string, std::string>& labels = {}) {
  std::vector<Sample> found;
  for (const Sample& sample : exposition.samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) match = false;
    }
    if (match) found.push_back(sample);
  }
  return found;
}

std::string Value(const Exposition& exposition, const std::string& name,
                  const std::map<std::string, std::string>& labels = {}) {
  std::vector<Sample> found = Find(exposition, name, labels);
  EXPECT_EQ(found.size(), 1u) << name;
  return found.empty() ? "" : found[0].value;
}

TEST(NodeMetricsTest, EmptyNodeHasUpStartTimeAndSortedFamilies) {
  NodeMetrics metrics(1700000000.5);
  Exposition exposition = ParseExposition(metrics.Prometheus());
  EXPECT_EQ(Value(exposition, "edge_up"), "1");
  EXPECT_EQ(Value(exposition, "edge_start_time_seconds"), "1700000000.5");
  EXPECT_EQ(Value(exposition, "edge_isolate_evictions_total"), "0");
  EXPECT_EQ(Value(exposition, "edge_isolates_alive"), "0");
  EXPECT_EQ(Value(exposition, "edge_limit_kills_total", {{"kind", "cpu"}}), "0");
  EXPECT_TRUE(std::is_sorted(exposition.family_order.begin(), exposition.family_order.end()));
  EXPECT_EQ(exposition.types["edge_request_duration_seconds"], "histogram");
  EXPECT_EQ(exposition.types["edge_requests_total"], "counter");
  // The same state prints the same text.
  EXPECT_EQ(metrics.Prometheus(), metrics.Prometheus());

  NodeMetrics now;
  double start = std::stod(Value(ParseExposition(now.Prometheus()), "edge_start_time_seconds"));
  EXPECT_GT(start, 1.6e9);
}

TEST(NodeMetricsTest, CountsRequestsByWorkerStatusClassAndOutcome) {
  NodeMetrics metrics(0);
  metrics.ObserveRequest(MakeRecord("api"));
  metrics.ObserveRequest(MakeRecord("api"));
  metrics.ObserveRequest(MakeRecord("api", 503, "exception"));
  metrics.ObserveRequest(MakeRecord("api", 0, "canceled"));
  metrics.ObserveRequest(MakeRecord("api", 200, "somethingNew"));
  metrics.ObserveRequest(MakeRecord("", 404, "noRoute"));
  Exposition exposition = ParseExposition(metrics.Prometheus());

  struct Series {
    const char* worker;
    const char* status_class;
    const char* outcome;
    const char* count;
  };
  for (const Series& series :
       {Series{"api", "2xx", "ok", "2"}, Series{"api", "5xx", "exception", "1"},
        Series{"api", "none", "canceled", "1"}, Series{"api", "2xx", "other", "1"},
        Series{"", "4xx", "noRoute", "1"}}) {
    EXPECT_EQ(Value(exposition, "edge_requests_total",
                    {{"worker", series.worker},
                     {"status_class", series.status_class},
                     {"outcome", series.outcome}}),
              series.count)
        << series.worker << " " << series.status_class << " " << series.outcome;
  }
  EXPECT_EQ(Find(exposition, "edge_requests_total").size(), 5u);  // no zero series
  EXPECT_EQ(Value(exposition, "edge_worker_cpu_seconds_total", {{"worker", "api"}}), "0.005");
  EXPECT_EQ(Value(exposition, "edge_request_bytes_total", {{"worker", "api"}}), "50");
  EXPECT_EQ(Value(exposition, "edge_response_bytes_total", {{"worker", "api"}}), "500");
}

TEST(NodeMetricsTest, OverloadedIsAnOutcomeOfItsOwn) {
  NodeMetrics metrics(0);
  metrics.ObserveRequest(MakeRecord("api", 503, "overloaded"));
  Exposition exposition = ParseExposition(metrics.Prometheus());
  EXPECT_EQ(Value(exposition, "edge_requests_total",
                  {{"worker", "api"}, {"status_class", "5xx"}, {"outcome", "overloaded"}}),
            "1");
  EXPECT_EQ(Find(exposition, "edge_requests_total").size(), 1u);
}

TEST(NodeMetricsTest, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  NodeMetrics metrics(0);
  // Wall times on and around bucket bounds: a bound is inclusive (le).
  for (uint64_t wall_ns :
       {uint64_t{0}, uint64_t{1'000'000}, uint64_t{1'000'001}, uint64_t{7'000'000},
        uint64_t{1'000'000'000}, uint64_t{60'000'000'000}}) {
    InvocationRecord record = MakeRecord("api");
    record.wall_ns = wall_ns;
    metrics.ObserveRequest(record);
  }
  Exposition exposition = ParseExposition(metrics.Prometheus());
  std::vector<Sample> buckets =
      Find(exposition, "edge_request_duration_seconds_bucket", {{"worker", "api"}});
  ASSERT_EQ(buckets.size(), NodeMetrics::kDurationBuckets.size() + 1);
  std::vector<std::string> les;
  uint64_t previous = 0;
  for (const Sample& bucket : buckets) {
    les.push_back(bucket.labels.at("le"));
    uint64_t count = std::stoull(bucket.value);
    EXPECT_GE(count, previous) << bucket.labels.at("le");
    previous = count;
  }
  EXPECT_EQ(les, (std::vector<std::string>{"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                           "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}));
  for (auto [le, count] : std::vector<std::pair<std::string, std::string>>{{"0.001", "2"},
                                                                           {"0.0025", "3"},
                                                                           {"0.01", "4"},
                                                                           {"1", "5"},
                                                                           {"10", "5"},
                                                                           {"+Inf", "6"}}) {
    EXPECT_EQ(
        Value(exposition, "edge_request_duration_seconds_bucket", {{"worker", "api"}, {"le", le}}),
        count)
        << "le " << le;
  }
  EXPECT_EQ(Value(exposition, "edge_request_duration_seconds_count", {{"worker", "api"}}), "6");
  EXPECT_DOUBLE_EQ(
      std::stod(Value(exposition, "edge_request_duration_seconds_sum", {{"worker", "api"}})),
      61.009000001);
}

TEST(NodeMetricsTest, EscapesLabelValues) {
  NodeMetrics metrics(0);
  std::string hostile = "a\"b\\c\nd}e,f=\"g\xff";
  metrics.ObserveRequest(MakeRecord(hostile));
  std::string text = metrics.Prometheus();
  EXPECT_NE(text.find("worker=\"a\\\"b\\\\c\\nd}e,f=\\\"g\xEF\xBF\xBD\""), std::string::npos)
      << text;
  Exposition exposition = ParseExposition(text);
  EXPECT_EQ(
      Value(exposition, "edge_request_bytes_total", {{"worker", "a\"b\\c\nd}e,f=\"g\xEF\xBF\xBD"}}),
      "10");
}

TEST(NodeMetricsTest, LimitKillsEvictionsAndIsolates) {
  NodeMetrics metrics(0);
  metrics.AddLimitKill("cpu");
  metrics.AddLimitKill("cpu");
  metrics.AddLimitKill("memory");
  metrics.AddLimitKill("disk\"");
  metrics.AddEviction();
  metrics.SetIsolates(0, 3, 3000);
  metrics.SetIsolates(1, 2, 500);
  metrics.SetIsolates(0, 4, 4000);  // replaces thread 0's numbers
  Exposition exposition = ParseExposition(metrics.Prometheus());
  EXPECT_EQ(Value(exposition, "edge_limit_kills_total", {{"kind", "cpu"}}), "2");
  EXPECT_EQ(Value(exposition, "edge_limit_kills_total", {{"kind", "memory"}}), "1");
  EXPECT_EQ(Value(exposition, "edge_limit_kills_total", {{"kind", "wall"}}), "0");
  EXPECT_EQ(Value(exposition, "edge_limit_kills_total", {{"kind", "disk\""}}), "1");
  EXPECT_EQ(Value(exposition, "edge_isolate_evictions_total"), "1");
  EXPECT_EQ(Value(exposition, "edge_isolates_alive"), "6");
  EXPECT_EQ(Value(exposition, "edge_isolate_memory_bytes"), "4500");
}

TEST(NodeMetricsTest, FreeFormGaugesAndCounters) {
  NodeMetrics metrics(0);
  metrics.SetGauge("edge_replication_lag_seconds", "Lag behind the origin.\nIn seconds \\ s.", 2.5);
  metrics.SetGauge("edge_replication_lag_seconds", "Lag behind the origin.", 1.25);
  metrics.AddCounter("edge_syncs_total", "Syncs done.", 1);
  metrics.AddCounter("edge_syncs_total", "Syncs done.", 2);
  metrics.AddCounter("edge_syncs_total", "Syncs done.", -5);  // counters only go up
  metrics.SetGauge("edge_nan", "Not a number.", std::nan(""));
  // Dropped: not a metric name, a built-in name, a change of type.
  metrics.SetGauge("bad name", "x", 1);
  metrics.SetGauge("9lives", "x", 1);
  metrics.SetGauge("edge_up", "x", 0);
  metrics.AddCounter("edge_request_duration_seconds_count", "x", 1);
  metrics.AddCounter("edge_replication_lag_seconds", "x", 1);

  Exposition exposition = ParseExposition(metrics.Prometheus());
  EXPECT_EQ(Value(exposition, "edge_replication_lag_seconds"), "1.25");
  EXPECT_EQ(exposition.types["edge_replication_lag_seconds"], "gauge");
  EXPECT_EQ(exposition.helps["edge_replication_lag_seconds"], "Lag behind the origin.");
  EXPECT_EQ(Value(exposition, "edge_syncs_total"), "3");
  EXPECT_EQ(exposition.types["edge_syncs_total"], "counter");
  EXPECT_EQ(Value(exposition, "edge_nan"), "NaN");
  EXPECT_EQ(Value(exposition, "edge_up"), "1");
  EXPECT_EQ(Find(exposition, "bad name").size(), 0u);
  EXPECT_EQ(exposition.types.count("9lives"), 0u);
  EXPECT_TRUE(std::is_sorted(exposition.family_order.begin(), exposition.family_order.end()));

  metrics.SetGauge("edge_help_escape", "back\\slash\nnewline", 0);
  EXPECT_EQ(ParseExposition(metrics.Prometheus()).helps["edge_help_escape"],
            "back\\\\slash\\nnewline");
}

TEST(NodeMetricsTest, ObservesFromManyThreadsWhileExposing) {
  NodeMetrics metrics(0);
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.ObserveRequest(MakeRecord("w" + std::to_string((t + i) % 8)));
      }
    });
  }
  for (int i = 0; i < 20; ++i) ParseExposition(metrics.Prometheus());
  for (std::thread& thread : threads) thread.join();
  Exposition exposition = ParseExposition(metrics.Prometheus());
  uint64_t total = 0;
  for (const Sample& sample : Find(exposition, "edge_request_duration_seconds_count")) {
    total += std::stoull(sample.value);
  }
  EXPECT_EQ(total, uint64_t{kThreads * kPerThread});
}

// ---------------------------------------------------------------------------
// TailHub: filters

TEST(TailFilterTest, ParsesTheQueryString) {
  StatusOr<TailFilter> filter =
      ParseTailFilter("api", "?status=error&method=post&search=a%20b+c%2Fd&sampling=0.25&x=1");
  ASSERT_TRUE(filter.ok()) << filter.status().message();
  EXPECT_EQ(filter->worker, "api");
  EXPECT_EQ(filter->errors_only_or_ok, std::optional<bool>(true));
  EXPECT_EQ(filter->method, "post");
  EXPECT_EQ(filter->search, "a b c/d");
  EXPECT_DOUBLE_EQ(filter->sampling, 0.25);

  filter = ParseTailFilter("", "status=ok&&status=ok");
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->errors_only_or_ok, std::optional<bool>(false));
  EXPECT_DOUBLE_EQ(filter->sampling, 1.0);

  filter = ParseTailFilter("api", "");
  ASSERT_TRUE(filter.ok());
  EXPECT_FALSE(filter->errors_only_or_ok.has_value());
  EXPECT_TRUE(filter->method.empty());
  EXPECT_TRUE(filter->search.empty());

  filter = ParseTailFilter("api", "sampling=1");
  ASSERT_TRUE(filter.ok());
  EXPECT_DOUBLE_EQ(filter->sampling, 1.0);
}

TEST(TailFilterTest, RejectsBadValuesNamingTheParameter) {
  struct Case {
    const char* query;
    const char* parameter;
  };
  for (const Case& c :
       {Case{"status=maybe", "status"}, Case{"status=", "status"}, Case{"sampling=0", "sampling"},
        Case{"sampling=1.5", "sampling"}, Case{"sampling=abc", "sampling"},
        Case{"sampling=nan", "sampling"}, Case{"sampling=", "sampling"},
        Case{"sampling=0.5x", "sampling"}, Case{"method=GE%20T", "method"},
        Case{"search=%zz", "search"}, Case{"search=%4", "search"}, Case{"search=abc%", "search"}}) {
    StatusOr<TailFilter> filter = ParseTailFilter("api", c.query);
    ASSERT_FALSE(filter.ok()) << c.query;
    EXPECT_EQ(filter.status().code(), ErrorCode::kInvalidInput) << c.query;
    EXPECT_NE(filter.status().message().find(std::string("\"") + c.parameter + "\""),
              std::string::npos)
        << c.query << ": " << filter.status().message();
  }
}

TEST(TailFilterTest, MatchSemantics) {
  InvocationRecord ok = MakeRecord("api");
  ok.url = "https://example.com/users/42";
  ok.logs.push_back({1, "log", "hello needle"});
  InvocationRecord failed = MakeRecord("api", 500, "exception");
  InvocationRecord other = MakeRecord("web");

  TailFilter all;
  EXPECT_TRUE(all.Matches(ok));
  EXPECT_TRUE(all.Matches(other));

  TailFilter api;
  api.worker = "api";
  EXPECT_TRUE(api.Matches(ok));
  EXPECT_FALSE(api.Matches(other));

  TailFilter errors;
  errors.errors_only_or_ok = true;
  EXPECT_FALSE(errors.Matches(ok));
  EXPECT_TRUE(errors.Matches(failed));
  InvocationRecord canceled = MakeRecord("api", 200, "canceled");
  EXPECT_TRUE(errors.Matches(canceled));  // an outcome other than ok is an error
  TailFilter oks;
  oks.errors_only_or_ok = false;
  EXPECT_TRUE(oks.Matches(ok));
  EXPECT_FALSE(oks.Matches(failed));

  TailFilter post;
  post.method = "post";
  EXPECT_FALSE(post.Matches(ok));
  ok.method = "POST";
  EXPECT_TRUE(post.Matches(ok));

  TailFilter search;
  search.search = "needle";
  EXPECT_TRUE(search.Matches(ok));  // in a console message
  EXPECT_FALSE(search.Matches(failed));
  search.search = "users/4";
  EXPECT_TRUE(search.Matches(ok));  // in the URL
  search.search = "USERS";
  EXPECT_FALSE(search.Matches(ok));  // case matters
}

// ---------------------------------------------------------------------------
// TailHub: delivery. The subscriber's loop runs on the test thread.

class TailHubTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    // Every handle must be closed by the test: run their close callbacks.
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `done` or 10 s.
  template <typename F>
  void RunUntil(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(done()) << "timed out";
  }

  uv_loop_t loop_;
};

simdjson::dom::element ParseLine(simdjson::dom::parser& parser, const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  simdjson::dom::element element;
  EXPECT_EQ(parser.parse(line).get(element), simdjson::SUCCESS) << line;
  return element;
}

TEST_F(TailHubTest, NoSubscribersNoWork) {
  TailHub hub;
  EXPECT_EQ(hub.subscribers(), 0u);
  hub.Publish(MakeRecord("api"));
  hub.Unsubscribe(12345);  // unknown: ignored
}

TEST_F(TailHubTest, DeliversEventLinesInOrderAcrossThreads) {
  TailHub hub;
  std::vector<std::string> lines;
  uint64_t id = hub.Subscribe(TailFilter{}, &loop_,
                              [&](std::string line) { lines.push_back(std::move(line)); });
  ASSERT_NE(id, 0u);
  EXPECT_EQ(hub.subscribers(), 1u);

  // Fewer events in all than a queue holds, so none may be dropped.
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&hub, t] {
      for (int i = 0; i < kPerThread; ++i) {
        InvocationRecord record = MakeRecord("api");
        record.request_id = std::to_string(t) + "-" + std::to_string(i);
        record.logs.push_back({1700000000456, "log", "line \"" + std::to_string(i) + "\"\n\xff"});
        hub.Publish(record);
        if (i % 50 == 0) std::this_thread::yield();
      }
    });
  }
  RunUntil([&] { return lines.size() == kThreads * kPerThread; });
  for (std::thread& thread : threads) thread.join();

  simdjson::dom::parser parser;
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    simdjson::dom::element event = ParseLine(parser, line);
    EXPECT_EQ(Get<std::string_view>(event["type"]), "request");
    std::string_view request_id = Get<std::string_view>(event["request_id"]);
    int thread = request_id[0] - '0';
    int index = std::stoi(std::string(request_id.substr(2)));
    EXPECT_EQ(index, next[thread]) << "out of order: " << request_id;
    next[thread] = index + 1;
    EXPECT_EQ(Get<std::string_view>(event["worker"]), "api");
    EXPECT_EQ(Get<uint64_t>(event["version"]), 3u);
    EXPECT_EQ(Get<std::string_view>(event["method"]), "GET");
    EXPECT_EQ(Get<std::string_view>(event["url"]), "https://example.com/");
    EXPECT_EQ(Get<int64_t>(event["status"]), 200);
    EXPECT_EQ(Get<std::string_view>(event["outcome"]), "ok");
    EXPECT_DOUBLE_EQ(Get<double>(event["cpu_ms"]), 1.0);
    EXPECT_DOUBLE_EQ(Get<double>(event["wall_ms"]), 2.0);
    EXPECT_EQ(Get<std::string_view>(event["time"]), "2023-11-14T22:13:20.000Z");
    simdjson::dom::array logs = Get<simdjson::dom::array>(event["logs"]);
    ASSERT_EQ(logs.size(), 1u);
    simdjson::dom::element log = Get<simdjson::dom::element>(logs.at(0));
    EXPECT_EQ(Get<std::string_view>(log["time"]), "2023-11-14T22:13:20.456Z");
    EXPECT_EQ(Get<std::string_view>(log["level"]), "log");
    EXPECT_EQ(Get<std::string_view>(log["message"]),
              "line \"" + std::to_string(index) + "\"\n\xEF\xBF\xBD");
  }
  EXPECT_EQ(next, std::vector<int>(kThreads, kPerThread));

  hub.Unsubscribe(id);
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST_F(TailHubTest, EachSubscriberGetsWhatItsFilterMatches) {
  TailHub hub;
  std::vector<std::string> api_errors, everything;
  TailFilter filter = ParseTailFilter("api", "status=error").value();
  uint64_t a = hub.Subscribe(filter, &loop_, [&](std::string line) { api_errors.push_back(line); });
  uint64_t b =
      hub.Subscribe(TailFilter{}, &loop_, [&](std::string line) { everything.push_back(line); });
  EXPECT_EQ(hub.subscribers(), 2u);
  hub.Publish(MakeRecord("api"));
  hub.Publish(MakeRecord("api", 500, "exception"));
  hub.Publish(MakeRecord("web", 500, "exception"));
  hub.Publish(MakeRecord("", 404, "noRoute"));
  RunUntil([&] { return everything.size() == 4; });
  ASSERT_EQ(api_errors.size(), 1u);
  EXPECT_NE(api_errors[0].find("\"outcome\":\"exception\""), std::string::npos);
  EXPECT_NE(api_errors[0].find("\"worker\":\"api\""), std::string::npos);
  hub.Unsubscribe(a);
  hub.Unsubscribe(b);
}

TEST_F(TailHubTest, SamplingSendsAShare) {
  TailHub hub;
  size_t received = 0;
  TailFilter filter;
  filter.sampling = 0.5;
  uint64_t id = hub.Subscribe(filter, &loop_, [&](std::string) { ++received; });
  // A marker subscriber that sees everything, to know when delivery is done.
  size_t marker = 0;
  uint64_t all = hub.Subscribe(TailFilter{}, &loop_, [&](std::string) { ++marker; });
  for (int i = 0; i < 800; ++i) hub.Publish(MakeRecord("api"));
  RunUntil([&] { return marker == 800; });
  uv_run(&loop_, UV_RUN_NOWAIT);
  // 800 tosses at 1/2: 400 +- 20 standard deviation; this bound is 7 of them.
  EXPECT_GT(received, 260u);
  EXPECT_LT(received, 540u);
  hub.Unsubscribe(id);
  hub.Unsubscribe(all);
}

TEST_F(TailHubTest, DropsTheOldestPastTheBoundAndSaysSo) {
  TailHub hub;
  std::vector<std::string> lines;
  uint64_t id = hub.Subscribe(TailFilter{}, &loop_,
                              [&](std::string line) { lines.push_back(std::move(line)); });
  constexpr size_t kPublished = TailHub::kMaxQueuedLines + 500;
  std::thread publisher([&hub] {
    for (size_t i = 0; i < kPublished; ++i) {
      InvocationRecord record = MakeRecord("api");
      record.request_id = std::to_string(i);
      hub.Publish(record);
    }
  });
  publisher.join();  // all queued before the loop runs
  RunUntil([&] { return lines.size() == TailHub::kMaxQueuedLines + 1; });

  simdjson::dom::parser parser;
  simdjson::dom::element dropped = ParseLine(parser, lines[0]);
  EXPECT_EQ(lines[0], "{\"type\":\"dropped\",\"count\":500}\n");
  EXPECT_EQ(Get<std::string_view>(dropped["type"]), "dropped");
  for (size_t i = 1; i < lines.size(); ++i) {
    simdjson::dom::element event = ParseLine(parser, lines[i]);
    EXPECT_EQ(Get<std::string_view>(event["request_id"]), std::to_string(500 + i - 1));
  }

  // After a drop, delivery goes on as usual, without another dropped line.
  hub.Publish(MakeRecord("api"));
  RunUntil([&] { return lines.size() == TailHub::kMaxQueuedLines + 2; });
  EXPECT_NE(lines.back().find("\"type\":\"request\""), std::string::npos);
  hub.Unsubscribe(id);
}

TEST_F(TailHubTest, UnsubscribeDiscardsQueuedEvents) {
  TailHub hub;
  int calls = 0;
  uint64_t id = hub.Subscribe(TailFilter{}, &loop_, [&](std::string) { ++calls; });
  std::thread publisher([&hub] {
    for (int i = 0; i < 10; ++i) hub.Publish(MakeRecord("api"));
  });
  publisher.join();
  hub.Unsubscribe(id);
  EXPECT_EQ(hub.subscribers(), 0u);
  hub.Publish(MakeRecord("api"));  // nobody listens any more
  hub.Unsubscribe(id);             // twice: ignored
  uv_run(&loop_, UV_RUN_DEFAULT);  // returns: the handle is closed
  EXPECT_EQ(calls, 0);
}

TEST_F(TailHubTest, UnsubscribeFromInsideDeliver) {
  TailHub hub;
  int calls = 0;
  uint64_t id = 0;
  id = hub.Subscribe(TailFilter{}, &loop_, [&](std::string) {
    ++calls;
    hub.Unsubscribe(id);
  });
  for (int i = 0; i < 5; ++i) hub.Publish(MakeRecord("api"));
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST_F(TailHubTest, UnsubscribeWhilePublishersRun) {
  TailHub hub;
  std::atomic<bool> stop{false};
  int calls_after = 0;
  bool unsubscribed = false;
  uint64_t id = hub.Subscribe(TailFilter{}, &loop_, [&](std::string) {
    if (unsubscribed) ++calls_after;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) hub.Publish(MakeRecord("api"));
    });
  }
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  hub.Unsubscribe(id);
  unsubscribed = true;
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(calls_after, 0);
}

}  // namespace
}  // namespace edge::gateway
