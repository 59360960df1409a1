#include "cli/workflows_command.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <filesystem>
#include <ostream>

#include "base/json_escape.h"
#include "base/json_text.h"
#include "bindings/cron/cron_scheduler.h"
#include "bindings/workflows/workflow_admin.h"
#include "bindings/workflows/workflow_store.h"
#include "cli/admin_client.h"
#include "cli/project_state.h"
#include "runtime/project.h"

namespace edge::cli {
namespace {
using simdjson::dom::element;

std::string Str(element value, const char* key) {
  std::string_view text;
  if (value[key].get_string().get(text) != simdjson::SUCCESS) return {};
  return std::string(text);
}

int64_t Int(element value, const char* key) {
  int64_t number = 0;
  if (value[key].get_int64().get(number) != simdjson::SUCCESS) return 0;
  return number;
}

std::string When(int64_t ms) { return ms <= 0 ? "-" : base::FormatUtcTime(static_cast<uint64_t>(ms)); }

std::string Duration(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return fmt::format("{} ms", ms);
  if (ms < 120'000) return fmt::format("{:.1f} s", ms / 1000.0);
  if (ms < 7'200'000) return fmt::format("{:.1f} min", ms / 60'000.0);
  return fmt::format("{:.1f} h", ms / 3'600'000.0);
}

std::string ErrorOf(element value) {
  element error;
  if (value["error"].get(error) != simdjson::SUCCESS || error.is_null()) return {};
  return fmt::format("{}: {}", Str(error, "name"), Str(error, "message"));
}

// The JSON of workflow_admin.h as a person reads it.
Status Print(const WorkflowsCommandOptions& options, std::string_view json, std::ostream& out) {
  if (options.json) {
    out << json << "\n";
    return Status::Ok();
  }
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "the answer is not the JSON edge expects");
  }
  simdjson::dom::array list;
  if (options.action == "list") {
    if (root["workflows"].get_array().get(list) != simdjson::SUCCESS) return Status::Ok();
    out << fmt::format("{:<32} {:>10}  {}\n", "name", "instances", "by status");
    for (element workflow : list) {
      std::string statuses;
      for (const char* status : {"queued", "running", "waiting", "paused", "waitingForPause", "complete",
                                 "errored", "terminated"}) {
        int64_t count = Int(workflow, status);
        if (count != 0) statuses += fmt::format("{}{} {}", statuses.empty() ? "" : ", ", count, status);
      }
      out << fmt::format("{:<32} {:>10}  {}\n", Str(workflow, "name"), Int(workflow, "instances"), statuses);
    }
    return Status::Ok();
  }
  if (options.verb == "list") {
    if (root["instances"].get_array().get(list) != simdjson::SUCCESS) return Status::Ok();
    out << fmt::format("{:<40} {:<16} {:<24} {:<24} {}\n", "id", "status", "created", "ended", "version");
    for (element instance : list) {
      out << fmt::format("{:<40} {:<16} {:<24} {:<24} {}\n", Str(instance, "id"), Str(instance, "status"),
                         When(Int(instance, "created_ms")), When(Int(instance, "ended_ms")),
                         Str(instance, "version").empty() ? "-" : Str(instance, "version"));
    }
    return Status::Ok();
  }
  // describe: the instance, then its steps as a timeline.
  out << fmt::format("Instance {} of workflow {}: {}\n", Str(root, "id"), Str(root, "workflow"),
                     Str(root, "status"));
  std::string version = Str(root, "version");
  out << fmt::format("  worker {}{}, class {}, {} run{}\n", Str(root, "worker"),
                     version.empty() ? "" : " (version " + version + ")", Str(root, "class_name"),
                     Int(root, "runs"), Int(root, "runs") == 1 ? "" : "s");
  out << fmt::format("  created {}, started {}, ended {}\n", When(Int(root, "created_ms")),
                     When(Int(root, "started_ms")), When(Int(root, "ended_ms")));
  if (Int(root, "wake_ms") != 0 && Str(root, "status") == "waiting") {
    out << fmt::format("  next run at {}\n", When(Int(root, "wake_ms")));
  }
  out << fmt::format("  params {} bytes, output {} bytes, {} bytes stored, {} event(s) not taken yet\n",
                     Int(root, "params_bytes"), Int(root, "output_bytes"), Int(root, "stored_bytes"),
                     Int(root, "events_waiting"));
  std::string error = ErrorOf(root);
  if (!error.empty()) out << "  error: " << error << "\n";
  if (root["steps"].get_array().get(list) != simdjson::SUCCESS) return Status::Ok();
  out << fmt::format("Steps ({}):\n", list.size());
  int index = 0;
  for (element step : list) {
    ++index;
    std::string name = Str(step, "name");
    int64_t count = Int(step, "count");
    if (count > 1) name += fmt::format(" (#{})", count);
    std::string type = Str(step, "type");
    std::string state = Str(step, "state");
    int64_t start = Int(step, "start_ms"), end = Int(step, "end_ms");
    std::string detail;
    if (type == "do") {
      detail = fmt::format("{} attempt{}", Int(step, "attempts"), Int(step, "attempts") == 1 ? "" : "s");
      if (state == "complete") detail += fmt::format(", output {} bytes", Int(step, "output_bytes"));
    } else if (type == "waitForEvent") {
      detail = fmt::format("event \"{}\"", Str(step, "event_type"));
    }
    if (state == "sleeping" || state == "waiting" || state == "retrying") {
      detail += fmt::format("{}wakes at {}", detail.empty() ? "" : ", ", When(Int(step, "wake_ms")));
    }
    out << fmt::format("  {:>3}. {:<13} {:<32} {:<9} start {}  took {}  {}\n", index, type, name, state,
                       When(start), end >= start && end != 0 ? Duration(end - start) : "-", detail);
    std::string step_error = ErrorOf(step);
    if (!step_error.empty() && state == "errored") out << "       error: " << step_error << "\n";
    simdjson::dom::array history;
    if (step["history"].get_array().get(history) != simdjson::SUCCESS || history.size() < 2) continue;
    int attempt = static_cast<int>(Int(step, "attempts")) - static_cast<int>(history.size());
    for (element item : history) {
      ++attempt;
      bool ok = false;
      if (item["ok"].get_bool().get(ok) != simdjson::SUCCESS) ok = false;
      out << fmt::format("       attempt {}: {} ({}) {}\n", attempt, When(Int(item, "start_ms")),
                         Duration(Int(item, "end_ms") - Int(item, "start_ms")),
                         ok ? "ok" : "failed: " + Str(item, "error"));
    }
  }
  return Status::Ok();
}

// The [[workflows]] entry of the local project that defines `name`.
StatusOr<bindings::WorkflowInstance> LocalDefinition(const ProjectState& state, std::string_view name) {
  if (state.config.empty()) {
    return Status(ErrorCode::kNotFound, "trigger needs the project's config (run it in the project folder)");
  }
  auto project = runtime::LoadProject(std::filesystem::path(state.config).parent_path().string());
  if (!project.ok()) return project.status();
  for (const runtime::EnvBinding& binding : project->spec.bindings) {
    if (binding.kind != "workflow" || binding.Option("workflow") != name) continue;
    bindings::WorkflowInstance definition;
    definition.workflow = std::string(name);
    definition.worker = project->spec.name;
    definition.class_name = binding.Option("class_name");
    return definition;
  }
  return Status(ErrorCode::kNotFound,
                fmt::format("{} has no [[workflows]] entry named \"{}\"", state.config, name));
}

Status RunLocal(const WorkflowsCommandOptions& options, std::ostream& out) {
  auto state = FindProjectState(options.config, options.persist_to, "edge workflows");
  if (!state.ok()) return state.status();
  auto store = bindings::WorkflowStore::Open(state->state_dir, {}, bindings::SystemCronClock());
  if (!store.ok()) return store.status();
  bindings::WorkflowStore& workflows = **store;
  const std::string account;  // `edge dev`'s instances belong to the local account ""
  if (options.action == "list") {
    auto json = bindings::WorkflowsJson(workflows, account);
    if (!json.ok()) return json.status();
    return Print(options, *json, out);
  }
  if (options.action == "trigger") {
    auto definition = LocalDefinition(*state, options.name);
    if (!definition.ok()) return definition.status();
    definition->id = options.id;
    auto id = bindings::TriggerInstance(workflows, *definition, options.params);
    if (!id.ok()) return id.status();
    out << fmt::format("Created instance {} of workflow {} (it runs under `edge dev`).\n", *id, options.name);
    return Status::Ok();
  }
  if (options.verb == "list") {
    auto json = bindings::InstancesJson(workflows, account, options.name, 1000);
    if (!json.ok()) return json.status();
    return Print(options, *json, out);
  }
  if (options.verb == "describe") {
    auto json = bindings::DescribeJson(workflows, account, options.name, options.id);
    if (!json.ok()) return json.status();
    return Print(options, *json, out);
  }
  EDGE_RETURN_IF_ERROR(bindings::ControlInstance(workflows, account, options.name, options.id, options.verb));
  out << fmt::format("Instance {} of workflow {}: {} done.\n", options.id, options.name, options.verb);
  return Status::Ok();
}

Status RunRemote(const WorkflowsCommandOptions& options, std::ostream& out) {
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
  std::string query = options.account.empty() ? "" : "?account=" + PercentEncode(options.account);
  std::string path = "/workflows";
  std::string method = "GET";
  std::string body;
  if (options.action != "list") path += "/" + PercentEncode(options.name) + "/instances";
  if (options.action == "trigger") {
    method = "POST";
    body = "{";
    if (!options.id.empty()) body += "\"id\":" + base::JsonString(options.id);
    if (!options.params.empty()) body += fmt::format("{}\"params\":{}", options.id.empty() ? "" : ",", options.params);
    body += "}";
  } else if (options.action == "instances" && options.verb != "list") {
    path += "/" + PercentEncode(options.id);
    if (options.verb != "describe") {
      method = "POST";
      path += "/" + options.verb;
    }
  }
  StatusOr<AdminResponse> response =
      Request(target, method, path + query, body, body.empty() ? "" : "application/json");
  if (!response.ok()) return response.status();
  EDGE_RETURN_IF_ERROR(ResponseError(*response));
  if (options.action == "trigger") {
    simdjson::dom::parser parser;
    element root;
    std::string id;
    if (parser.parse(response->body.data(), response->body.size(), true).get(root) == simdjson::SUCCESS) {
      id = Str(root, "id");
    }
    out << fmt::format("Created instance {} of workflow {}.\n", id, options.name);
    return Status::Ok();
  }
  if (method == "POST") {
    out << fmt::format("Instance {} of workflow {}: {} done.\n", options.id, options.name, options.verb);
    return Status::Ok();
  }
  return Print(options, response->body, out);
}

Status Run(const WorkflowsCommandOptions& options, std::ostream& out) {
  if (options.action == "instances") {
    const std::string& verb = options.verb;
    if (verb != "list" && verb != "describe" && verb != "terminate" && verb != "pause" && verb != "resume" &&
        verb != "restart") {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("unknown action \"{}\": use list, describe, terminate, pause, resume or restart", verb));
    }
    if (verb != "list" && options.id.empty()) {
      return Status(ErrorCode::kInvalidInput, fmt::format("instances {} needs NAME and ID", verb));
    }
  } else if (options.action != "list" && options.action != "trigger") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("unknown action \"{}\": use list, instances or trigger", options.action));
  }
  if (options.action != "list") EDGE_RETURN_IF_ERROR(bindings::ValidateWorkflowName(options.name));
  if (!options.params.empty()) {
    simdjson::dom::parser parser;
    element ignored;
    if (parser.parse(options.params.data(), options.params.size(), true).get(ignored) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidInput, "PARAMS must be JSON, such as '{\"order\": 42}'");
    }
  }
  return options.to.empty() ? RunLocal(options, out) : RunRemote(options, out);
}

}  // namespace

int RunWorkflowsCommand(const WorkflowsCommandOptions& options, std::ostream& out, std::ostream& err) {
  Status status = Run(options, out);
  if (status.ok()) return 0;
  err << "edge workflows: " << status.message() << "\n";
  return 1;
}

}  // namespace edge::cli
