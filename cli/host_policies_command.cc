#include "cli/host_policies_command.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <iostream>

#include "cli/admin_client.h"
#include "gateway/node/toml_file.h"
#include "gateway/policy/policy_config.h"
#include "runtime/module_loader.h"

namespace edge::cli {
namespace {

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

StatusOr<std::string> Run(const HostPoliciesCommandOptions& options) {
  const std::string& action = options.action;
  if (action == "delete" && !options.yes) {
    return Invalid(
        "deleting the host policies stops every check they make (on every PoP, when sent to "
        "the origin): add --yes to do it");
  }
  std::string body;
  if (action == "put") {
    auto json = HostPoliciesFileJson(options.file);
    if (!json.ok()) return json.status();
    body = std::move(json).value();
  }
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
  std::string_view method = action == "put" ? "PUT" : action == "delete" ? "DELETE" : "GET";
  if (action != "get" && action != "put" && action != "delete") {
    return Invalid(fmt::format("unknown action '{}'", action));
  }
  StatusOr<AdminResponse> response =
      Request(target, method, "/host-policies", body, body.empty() ? "" : "application/json");
  if (!response.ok()) return response.status();
  EDGE_RETURN_IF_ERROR(ResponseError(*response));
  if (action == "get" && options.json) return response->body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view source;
  uint64_t tables = 0;
  if (parser.parse(response->body).get(root) != simdjson::SUCCESS ||
      root["source"].get_string().get(source) != simdjson::SUCCESS ||
      root["tables"].get_uint64().get(tables) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "the node's answer is not a host policy summary");
  }
  if (action == "put") {
    return fmt::format("Set {} host policy table(s) on {}", tables, options.to);
  }
  if (action == "delete") {
    return fmt::format("Removed the host policies set on {}; now serving: {} ({} table(s))",
                       options.to, source, tables);
  }
  return fmt::format("{} host policy table(s), from {}", tables, source);
}

}  // namespace

StatusOr<std::string> HostPoliciesFileJson(const std::string& path) {
  if (path.empty()) return Invalid("put needs the file: edge host-policies put FILE --to URL");
  if (path.ends_with(".json")) {
    auto text = runtime::ReadFile(path);
    if (!text.ok()) return text.status();
    auto parsed = gateway::policy::ParseHostPolicies(*text);
    if (!parsed.ok()) return Invalid(fmt::format("{}: {}", path, parsed.status().message()));
    if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
      return Invalid(fmt::format("{} is empty: write [] for a set with no tables", path));
    }
    return text;
  }
  auto table = gateway::ParseTomlFile(path);
  if (!table.ok()) return table.status();
  std::string json;
  EDGE_RETURN_IF_ERROR(gateway::HostPoliciesFromToml(path, *table, &json));
  if (json.empty()) {
    return Invalid(fmt::format(
        "{} has no [[host_policies]] tables (write host_policies = [] for a set with none)", path));
  }
  return json;
}

int RunHostPoliciesCommand(const HostPoliciesCommandOptions& options, std::ostream& out,
                           std::ostream& err) {
  StatusOr<std::string> line = Run(options);
  if (!line.ok()) {
    err << "edge host-policies: " << line.status().message() << "\n";
    return 1;
  }
  if (!line->empty()) out << *line << "\n";
  return 0;
}

int RunHostPoliciesCommand(const HostPoliciesCommandOptions& options) {
  return RunHostPoliciesCommand(options, std::cout, std::cerr);
}

}  // namespace edge::cli
