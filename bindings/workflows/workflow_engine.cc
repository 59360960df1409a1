#include "bindings/workflows/workflow_engine.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <set>

#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::bindings {
namespace {

int64_t IntField(simdjson::dom::element header, const char* name, int64_t fallback) {
  int64_t value = 0;
  if (header[name].get_int64().get(value) == simdjson::SUCCESS) return value;
  double real = 0;
  if (header[name].get_double().get(real) == simdjson::SUCCESS && real == real) {
    if (real > 9e15) return static_cast<int64_t>(9e15);
    if (real < -9e15) return static_cast<int64_t>(-9e15);
    return static_cast<int64_t>(real);
  }
  return fallback;
}

std::string StringField(simdjson::dom::element header, const char* name) {
  std::string_view value;
  if (header[name].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value.substr(0, 64 * 1024));
}

WorkflowRunReport::StepConfig ConfigOf(simdjson::dom::element header) {
  WorkflowRunReport::StepConfig config;
  int64_t limit = IntField(header, "limit", config.limit);
  config.limit = static_cast<uint32_t>(std::clamp<int64_t>(limit, 0, kWorkflowMaxRetries));
  config.delay_ms = std::clamp<int64_t>(IntField(header, "delay", config.delay_ms), 0, kWorkflowMaxSleepMs);
  std::string backoff = StringField(header, "backoff");
  if (backoff == "constant") config.backoff = WorkflowRunReport::StepConfig::kConstant;
  if (backoff == "linear") config.backoff = WorkflowRunReport::StepConfig::kLinear;
  config.timeout_ms = IntField(header, "timeout", config.timeout_ms);
  return config;
}

}  // namespace

runtime::WorkflowRunEvent MakeWorkflowRunEvent(const WorkflowRun& run) {
  runtime::WorkflowRunEvent event;
  const WorkflowInstance& instance = run.state.instance;
  event.class_name = run.definition.class_name;
  event.instance_id = instance.id;
  event.params = instance.params;
  event.timestamp_ms = instance.created_ms;
  for (const WorkflowStep& step : run.state.steps) {
    runtime::WorkflowRunEvent::Step out;
    out.name = step.name;
    out.count = step.count;
    out.kind = step.kind;
    switch (step.state) {
      case WorkflowStep::kDone:
        out.state = 0;
        out.result = step.result;
        out.end_ms = step.end_ms;
        break;
      case WorkflowStep::kFailed:
        out.state = 1;
        out.error_name = step.error_name;
        out.error_message = step.error_message;
        break;
      case WorkflowStep::kRunning:
        out.state = 2;
        out.end_ms = step.attempts;
        break;
      default:
        out.state = 3;
        break;
    }
    event.steps.push_back(std::move(out));
  }
  return event;
}

WorkflowRunReport ParseWorkflowReport(bool ok, std::string_view failure, std::string_view body) {
  WorkflowRunReport report;
  simdjson::dom::parser parser;
  bool ended = false;
  while (!body.empty()) {
    size_t line_end = body.find('\n');
    if (line_end == std::string_view::npos || line_end > 64 * 1024) break;
    std::string header_text(body.substr(0, line_end));
    body.remove_prefix(line_end + 1);
    simdjson::dom::element header;
    if (parser.parse(header_text).get(header) != simdjson::SUCCESS || !header.is_object()) break;
    int64_t bytes = IntField(header, "n", 0);
    if (bytes < 0 || static_cast<uint64_t>(bytes) > body.size()) break;
    std::string_view payload = body.substr(0, static_cast<size_t>(bytes));
    body.remove_prefix(static_cast<size_t>(bytes));
    std::string kind = StringField(header, "k");
    WorkflowRunReport::Item item;
    item.name = StringField(header, "name");
    item.count = static_cast<uint32_t>(std::clamp<int64_t>(IntField(header, "count", 1), 1, UINT32_MAX));
    item.config = ConfigOf(header);
    item.duration_ms = std::max<int64_t>(IntField(header, "dur", 0), 0);
    if (kind == "start") {
      item.kind = WorkflowRunReport::Item::kStarted;
    } else if (kind == "done") {
      item.kind = WorkflowRunReport::Item::kDone;
      item.result = std::string(payload);
    } else if (kind == "fail") {
      item.kind = WorkflowRunReport::Item::kFailed;
      item.error_name = StringField(header, "en");
      item.error_message = StringField(header, "em");
      bool non_retryable = false;
      item.non_retryable = header["nr"].get_bool().get(non_retryable) == simdjson::SUCCESS && non_retryable;
    } else if (kind == "sleep") {
      item.kind = WorkflowRunReport::Item::kSleep;
      item.sleep_ms = IntField(header, "ms", 0);
      item.until_ms = IntField(header, "until", -1);
    } else if (kind == "wait") {
      item.kind = WorkflowRunReport::Item::kWait;
      item.event_type = StringField(header, "type");
      item.timeout_ms = IntField(header, "timeout", kWorkflowDefaultEventTimeoutMs);
    } else if (kind == "return") {
      report.end = WorkflowRunReport::kReturned;
      report.output = std::string(payload);
      ended = true;
      continue;
    } else if (kind == "throw") {
      report.end = WorkflowRunReport::kThrew;
      report.error_name = StringField(header, "en");
      report.error_message = StringField(header, "em");
      ended = true;
      continue;
    } else if (kind == "blocked") {
      ended = true;
      continue;
    } else {
      break;
    }
    report.items.push_back(std::move(item));
  }
  (void)ok;  // a run that reported its end counts even if waitUntil work failed after
  if (!ended) {
    // The invocation did not end as the runtime ends a run: a limit, the
    // isolate lost, the worker failed to load.
    report.end = WorkflowRunReport::kDied;
    report.error_name = "Error";
    report.error_message = failure.empty() ? "the run ended without a report" : std::string(failure);
  }
  return report;
}

WorkflowEngine::WorkflowEngine(uv_loop_t* loop, std::shared_ptr<WorkflowStore> store,
                               Deliver deliver, Options options)
    : loop_(loop), store_(std::move(store)), deliver_(std::move(deliver)), options_(options) {
  last_sweep_ms_ = store_->clock()();
  if (!options_.timer) return;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  uv_timer_start(
      timer_, [](uv_timer_t* timer) { static_cast<WorkflowEngine*>(timer->data)->Tick(); },
      options_.poll_ms, options_.poll_ms);
  wake_ = new uv_async_t;
  uv_async_init(loop_, wake_, [](uv_async_t* async) {
    static_cast<WorkflowEngine*>(async->data)->TickSoon();
  });
  wake_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(wake_));
  store_->SetOnDue([wake = wake_] { uv_async_send(wake); });
}

WorkflowEngine::~WorkflowEngine() { Stop(); }

void WorkflowEngine::Stop() {
  *alive_ = false;
  definitions_.clear();
  in_flight_.clear();
  if (timer_ == nullptr) return;
  store_->SetOnDue(nullptr);
  base::CloseAndDelete(wake_);
  wake_ = nullptr;
  uv_timer_stop(timer_);
  base::CloseAndDelete(timer_);
  timer_ = nullptr;
}

void WorkflowEngine::TickSoon() {
  if (timer_ == nullptr || !*alive_) return;
  uv_timer_start(
      timer_, [](uv_timer_t* timer) { static_cast<WorkflowEngine*>(timer->data)->Tick(); }, 0,
      options_.poll_ms);
}

void WorkflowEngine::SetDefinitions(std::vector<WorkflowDefinition> definitions) {
  if (!*alive_) return;
  std::vector<WorkflowDefinition> kept;
  std::set<std::pair<std::string, std::string>> taken;
  for (WorkflowDefinition& definition : definitions) {
    if (!taken.insert({definition.account, definition.workflow}).second) {
      Log(LogLevel::kError,
          "[{}] workflow \"{}\" is already defined by another worker: this definition is left out",
          definition.worker, definition.workflow);
      continue;
    }
    kept.push_back(std::move(definition));
  }
  definitions_ = std::move(kept);
  TickSoon();
}

const WorkflowDefinition* WorkflowEngine::Find(std::string_view account,
                                               std::string_view workflow) const {
  for (const WorkflowDefinition& definition : definitions_) {
    if (definition.account == account && definition.workflow == workflow) return &definition;
  }
  return nullptr;
}

void WorkflowEngine::Tick() {
  if (!*alive_) return;
  int64_t now = store_->clock()();
  std::vector<std::pair<Key, uint64_t>> late;
  for (const auto& [key, run] : in_flight_) {
    if (now - run.started_ms >= options_.run_timeout_ms) late.emplace_back(key, run.token);
  }
  for (const auto& [key, token] : late) {
    WorkflowRunReport report;
    report.end = WorkflowRunReport::kDied;
    report.error_name = "Error";
    report.error_message = fmt::format("the run got no outcome within {} ms", options_.run_timeout_ms);
    Finish(key, token, std::move(report));
  }
  if (now - last_sweep_ms_ >= options_.sweep_every_ms) {
    last_sweep_ms_ = now;
    auto swept = store_->SweepFinished();
    if (!swept.ok()) Log(LogLevel::kError, "workflows: retention sweep failed: {}", swept.status().message());
  }
  if (definitions_.empty() || in_flight_.size() >= options_.max_in_flight) return;
  auto due = store_->DueBy(now, options_.max_in_flight - in_flight_.size(),
                           [this](const WorkflowStore::Due& due) {
                             return Find(due.account, due.workflow) != nullptr &&
                                    in_flight_.count({due.account, due.workflow, due.id}) == 0;
                           });
  if (!due.ok()) {
    Log(LogLevel::kError, "workflows: {}", due.status().message());
    return;
  }
  for (const WorkflowStore::Due& item : *due) {
    if (!*alive_ || in_flight_.size() >= options_.max_in_flight) return;
    const WorkflowDefinition* definition = Find(item.account, item.workflow);
    Key key{item.account, item.workflow, item.id};
    if (definition == nullptr || in_flight_.count(key) != 0) continue;
    auto begun = store_->BeginRun(item.account, item.workflow, item.id, now);
    if (!begun.ok()) {
      Log(LogLevel::kError, "workflow \"{}\" instance \"{}\": {}", item.workflow, item.id,
          begun.status().message());
      continue;
    }
    if (!begun->has_value()) continue;  // paused, or no longer due
    InFlight flight;
    flight.run.definition = *definition;
    flight.run.state = std::move(**begun);
    flight.epoch = flight.run.state.instance.epoch;
    flight.started_ms = now;
    flight.token = ++next_token_;
    ++counters_[{item.account, item.workflow}].runs;
    uint64_t token = flight.token;
    auto [it, inserted] = in_flight_.emplace(key, std::move(flight));
    std::weak_ptr<bool> alive = alive_;
    // `deliver` may call back at once (a worker that failed to load).
    deliver_(it->second.run, [this, alive, key, token](WorkflowRunReport report) {
      std::shared_ptr<bool> live = alive.lock();
      if (!live || !*live) return;
      Finish(key, token, std::move(report));
    });
  }
}

void WorkflowEngine::Finish(const Key& key, uint64_t token, WorkflowRunReport report) {
  auto found = in_flight_.find(key);
  if (found == in_flight_.end() || found->second.token != token) return;  // timed out already
  InFlight flight = std::move(found->second);
  in_flight_.erase(found);
  const auto& [account, workflow, id] = key;
  WorkflowCounters& counters = counters_[{account, workflow}];
  if (report.end == WorkflowRunReport::kDied) ++counters.failed_runs;
  for (const WorkflowRunReport::Item& item : report.items) {
    if (item.kind == WorkflowRunReport::Item::kDone) ++counters.steps_completed;
    if (item.kind == WorkflowRunReport::Item::kFailed) {
      if (item.non_retryable) {
        ++counters.steps_failed;
      } else {
        ++counters.step_retries;
      }
    }
  }
  int64_t now = store_->clock()();
  auto after = store_->FinishRun(account, workflow, id, flight.epoch, report, flight.started_ms, now);
  if (!after.ok()) {
    Log(LogLevel::kError, "workflow \"{}\" instance \"{}\": storing a run failed: {}", workflow, id,
        after.status().message());
  } else {
    if (after->status == WorkflowStatus::kComplete) ++counters.instances_completed;
    if (after->status == WorkflowStatus::kErrored) ++counters.instances_errored;
    if (on_run_) on_run_(flight.run, *after);
  }
  // What is due now goes on the loop's next turn (not from here: a run
  // that fails at once would recurse).
  TickSoon();
}

}  // namespace edge::bindings
