#include "bindings/workflows/workflow_admin.h"

#include <fmt/core.h>
#include <openssl/rand.h>
#include <simdjson.h>

#include "base/json_text.h"

namespace edge::bindings {
namespace {

using base::JsonString;

std::string_view StepType(WorkflowStep::Kind kind) {
  switch (kind) {
    case WorkflowStep::kDo: return "do";
    case WorkflowStep::kSleep: return "sleep";
    case WorkflowStep::kWait: return "waitForEvent";
  }
  return "do";
}

std::string_view StepState(WorkflowStep::State state) {
  switch (state) {
    case WorkflowStep::kRunning: return "running";
    case WorkflowStep::kRetrying: return "retrying";
    case WorkflowStep::kDone: return "complete";
    case WorkflowStep::kFailed: return "errored";
    case WorkflowStep::kSleeping: return "sleeping";
    case WorkflowStep::kWaiting: return "waiting";
  }
  return "unknown";
}

std::string ErrorText(std::string_view name, std::string_view message) {
  if (name.empty() && message.empty()) return "null";
  return fmt::format("{{\"name\":{},\"message\":{}}}", JsonString(name), JsonString(message));
}

}  // namespace

StatusOr<std::string> NewWorkflowInstanceId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return Status(ErrorCode::kInternal, "cannot make an instance id: OpenSSL's RAND_bytes failed");
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[bytes[i] >> 4];
    id += kHex[bytes[i] & 15];
  }
  return id;
}

StatusOr<std::string> WorkflowsJson(WorkflowStore& store, std::string_view account) {
  auto list = store.Workflows(account);
  if (!list.ok()) return list.status();
  std::string out = "{\"workflows\":";
  base::AppendJsonArray(out, *list, [](std::string& json, const WorkflowSummary& summary) {
    json += fmt::format("{{\"name\":{},\"instances\":{}", JsonString(summary.name), summary.instances);
    for (int i = 0; i <= static_cast<int>(WorkflowStatus::kUnknown); ++i) {
      if (summary.by_status[i] == 0) continue;
      json += fmt::format(",{}:{}", JsonString(WorkflowStatusName(static_cast<WorkflowStatus>(i))),
                          summary.by_status[i]);
    }
    json += '}';
  });
  return out + "}";
}

StatusOr<std::string> InstancesJson(WorkflowStore& store, std::string_view account,
                                    std::string_view workflow, size_t limit) {
  auto list = store.List(account, workflow, limit);
  if (!list.ok()) return list.status();
  std::string out = fmt::format("{{\"workflow\":{},\"instances\":", JsonString(workflow));
  base::AppendJsonArray(out, *list, [](std::string& json, const WorkflowInstance& instance) {
    json += fmt::format(
        "{{\"id\":{},\"status\":{},\"created_ms\":{},\"ended_ms\":{},\"wake_ms\":{},\"version\":{}}}",
        JsonString(instance.id), JsonString(WorkflowStatusName(instance.status)), instance.created_ms,
        instance.ended_ms, instance.wake_ms, JsonString(instance.version));
  });
  return out + "}";
}

StatusOr<std::string> DescribeJson(WorkflowStore& store, std::string_view account,
                                   std::string_view workflow, std::string_view id) {
  auto loaded = store.Load(account, workflow, id);
  if (!loaded.ok()) return loaded.status();
  const WorkflowInstance& instance = loaded->instance;
  std::string out = fmt::format(
      "{{\"id\":{},\"workflow\":{},\"status\":{},\"worker\":{},\"version\":{},\"class_name\":{},"
      "\"created_ms\":{},\"started_ms\":{},\"ended_ms\":{},\"wake_ms\":{},\"runs\":{},"
      "\"params_bytes\":{},\"output_bytes\":{},\"stored_bytes\":{},\"events_waiting\":{},\"error\":{},"
      "\"steps\":",
      JsonString(instance.id), JsonString(instance.workflow), JsonString(WorkflowStatusName(instance.status)),
      JsonString(instance.worker), JsonString(instance.version), JsonString(instance.class_name),
      instance.created_ms, instance.started_ms, instance.ended_ms, instance.wake_ms, instance.runs,
      instance.params.size(), instance.output.size(), instance.bytes, loaded->events.size(),
      ErrorText(instance.error_name, instance.error_message));
  base::AppendJsonArray(out, loaded->steps, [](std::string& json, const WorkflowStep& step) {
    json += fmt::format(
        "{{\"name\":{},\"count\":{},\"type\":{},\"state\":{},\"attempts\":{},\"start_ms\":{},"
        "\"end_ms\":{},\"wake_ms\":{},\"output_bytes\":{},\"event_type\":{},\"error\":{},\"history\":",
        JsonString(step.name), step.count, JsonString(StepType(step.kind)), JsonString(StepState(step.state)),
        step.attempts, step.start_ms, step.end_ms, step.wake_ms, step.result.size(),
        JsonString(step.event_type),
        step.state == WorkflowStep::kDone ? "null" : ErrorText(step.error_name, step.error_message));
    base::AppendJsonArray(json, step.history, [](std::string& item, const WorkflowAttempt& attempt) {
      item += fmt::format("{{\"start_ms\":{},\"end_ms\":{},\"ok\":{},\"error\":{}}}", attempt.start_ms,
                          attempt.end_ms, attempt.ok ? "true" : "false",
                          attempt.ok ? "null" : JsonString(attempt.error));
    });
    json += '}';
  });
  return out + "}";
}

Status ControlInstance(WorkflowStore& store, std::string_view account, std::string_view workflow,
                       std::string_view id, std::string_view op) {
  if (op == "pause") return store.Pause(account, workflow, id);
  if (op == "resume") return store.Resume(account, workflow, id);
  if (op == "terminate") return store.Terminate(account, workflow, id);
  if (op == "restart") return store.Restart(account, workflow, id);
  return Status(ErrorCode::kInvalidInput,
                fmt::format("unknown operation \"{}\" (pause, resume, terminate or restart)", op));
}

StatusOr<std::string> TriggerInstance(WorkflowStore& store, const WorkflowInstance& definition,
                                      std::string_view params_json) {
  WorkflowInstance instance = definition;
  if (instance.id.empty()) {
    auto id = NewWorkflowInstanceId();
    if (!id.ok()) return id.status();
    instance.id = std::move(id).value();
  }
  EDGE_RETURN_IF_ERROR(ValidateWorkflowId(instance.id, "The instance id"));
  if (!params_json.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parser.parse(params_json.data(), params_json.size()).get(element) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidInput, "the params are not valid JSON");
    }
    instance.params = simdjson::minify(element);
  }
  instance.created_ms = store.clock()();
  EDGE_RETURN_IF_ERROR(store.Create(instance));
  return instance.id;
}

}  // namespace edge::bindings
