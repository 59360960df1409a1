#include "cli/queues_command.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <filesystem>
#include <ostream>

#include "bindings/cron/cron_scheduler.h"
#include "bindings/queues/queue_store.h"
#include "cli/admin_client.h"
#include "cli/project_state.h"

namespace edge::cli {
namespace {
namespace fs = std::filesystem;

std::string Header() {
  return fmt::format("{:<32} {:>10} {:>14} {:>10}\n", "name", "messages", "created_ms", "retention");
}

std::string Row(std::string_view name, uint64_t messages, int64_t created_ms, int64_t retention) {
  return fmt::format("{:<32} {:>10} {:>14} {:>10}\n", name, messages, created_ms, retention);
}

Status RunLocal(const QueuesCommandOptions& options, std::ostream& out) {
  StatusOr<ProjectState> state = FindProjectState(options.config, options.persist_to, "edge queues");
  if (!state.ok()) return state.status();
  auto store = bindings::QueueStore::Open(state->state_dir, {}, bindings::SystemCronClock());
  if (!store.ok()) return store.status();
  bindings::QueueStore& queues = **store;
  // `edge dev`'s queues belong to the local account "".
  const std::string account;
  if (options.action == "list") {
    auto list = queues.ListQueues(account);
    if (!list.ok()) return list.status();
    out << Header();
    for (const bindings::QueueInfo& info : *list) {
      out << Row(info.name, info.depth, info.created_ms, info.retention_seconds);
    }
    return Status::Ok();
  }
  if (options.action == "create") {
    EDGE_RETURN_IF_ERROR(queues.CreateQueue(account, options.name, options.retention_seconds));
    out << fmt::format("Created queue {}.\n", options.name);
    return Status::Ok();
  }
  if (options.action == "delete") {
    EDGE_RETURN_IF_ERROR(queues.DeleteQueue(account, options.name));
    out << fmt::format("Deleted queue {}.\n", options.name);
    return Status::Ok();
  }
  auto purged = queues.Purge(account, options.name);
  if (!purged.ok()) return purged.status();
  out << fmt::format("Purged queue {}: {} messages deleted.\n", options.name, *purged);
  return Status::Ok();
}

Status RunRemote(const QueuesCommandOptions& options, std::ostream& out) {
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
  std::string query = options.account.empty() ? "" : "?account=" + PercentEncode(options.account);
  std::string path = "/queues";
  if (options.action != "list") path += "/" + PercentEncode(options.name);
  std::string method = "GET";
  if (options.action == "create") {
    method = "PUT";
    if (options.retention_seconds != 0) {
      query += fmt::format("{}retention_period={}", query.empty() ? "?" : "&", options.retention_seconds);
    }
  } else if (options.action == "delete") {
    method = "DELETE";
  } else if (options.action == "purge") {
    method = "POST";
    path += "/purge";
  }
  StatusOr<AdminResponse> response = Request(target, method, path + query);
  if (!response.ok()) return response.status();
  EDGE_RETURN_IF_ERROR(ResponseError(*response));
  if (options.action != "list") {
    const char* done = options.action == "create" ? "Created" : options.action == "delete" ? "Deleted" : "Purged";
    out << fmt::format("{} queue {}.\n", done, options.name);
    return Status::Ok();
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(response->body.data(), response->body.size(), true).get(root) != simdjson::SUCCESS ||
      root["queues"].get_array().get(list) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "the node's answer to GET /queues is not what edge expects");
  }
  out << Header();
  for (simdjson::dom::element entry : list) {
    std::string_view name;
    uint64_t messages = 0;
    int64_t created = 0, retention = 0;
    if (entry["name"].get_string().get(name) != simdjson::SUCCESS) continue;
    if (entry["messages"].get_uint64().get(messages) != simdjson::SUCCESS) messages = 0;
    if (entry["created_ms"].get_int64().get(created) != simdjson::SUCCESS) created = 0;
    if (entry["retention_period"].get_int64().get(retention) != simdjson::SUCCESS) retention = 0;
    out << Row(name, messages, created, retention);
  }
  return Status::Ok();
}

Status Run(const QueuesCommandOptions& options, std::ostream& out) {
  const std::string& action = options.action;
  if (action != "list" && action != "create" && action != "delete" && action != "purge") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("unknown action \"{}\": use list, create, delete or purge", action));
  }
  if (action != "list") EDGE_RETURN_IF_ERROR(bindings::ValidateQueueName(options.name));
  return options.to.empty() ? RunLocal(options, out) : RunRemote(options, out);
}

}  // namespace

int RunQueuesCommand(const QueuesCommandOptions& options, std::ostream& out, std::ostream& err) {
  Status status = Run(options, out);
  if (status.ok()) return 0;
  err << "edge queues: " << status.message() << "\n";
  return 1;
}

}  // namespace edge::cli
