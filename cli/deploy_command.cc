#include "cli/deploy_command.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <chrono>
#include <iostream>
#include <vector>

#include "cli/admin_client.h"
#include "gateway/deploy/bundle.h"
#include "runtime/project.h"
#include "runtime/worker.h"

namespace edge::cli {
namespace {

// The node compiles and warms the new version before it answers.
constexpr int kDeployIoTimeoutMs = 120000;

std::string Size(size_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (1u << 20)) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

// What the node said about the new version.
struct Deployed {
  std::string name;
  std::optional<uint64_t> version;
  std::optional<std::vector<std::string>> routes;
};

Deployed ParseAnswer(std::string_view body) {
  Deployed deployed;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS) {
    return deployed;
  }
  std::string_view name;
  if (root["name"].get_string().get(name) == simdjson::SUCCESS) deployed.name = name;
  uint64_t version = 0;
  if (root["version"].get_uint64().get(version) == simdjson::SUCCESS) deployed.version = version;
  simdjson::dom::array routes;
  if (root["routes"].get_array().get(routes) == simdjson::SUCCESS) {
    deployed.routes.emplace();
    for (simdjson::dom::element route : routes) {
      std::string_view text;
      if (route.get_string().get(text) == simdjson::SUCCESS) deployed.routes->emplace_back(text);
    }
  }
  return deployed;
}

StatusOr<std::string> Run(const DeployCommandOptions& options, std::ostream& err) {
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  target.io_timeout_ms = kDeployIoTimeoutMs;
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());

  StatusOr<runtime::Project> project = runtime::LoadProject(options.dir);
  if (!project.ok()) return project.status();
  if (!options.name.empty()) project->spec.name = options.name;
  if (!project->account_id.empty()) {
    err << "edge deploy: warning: account_id = \"" << project->account_id
        << "\" is ignored: a worker belongs to the account of the token that deploys it\n";
  }
  StatusOr<std::vector<std::string>> modules = runtime::Worker::CompileModuleGraph(project->spec);
  if (!modules.ok()) return modules.status();
  StatusOr<gateway::WorkerBundle> bundle = gateway::BundleFromProject(*project, *modules);
  if (!bundle.ok()) return bundle.status();
  size_t bytes = 0;
  for (const gateway::BundleModule& module : bundle->modules) bytes += module.content.size();
  std::string body = gateway::EncodeBundle(*bundle);

  auto started = std::chrono::steady_clock::now();
  StatusOr<AdminResponse> response =
      Request(target, "PUT",
              "/workers/" + PercentEncode(bundle->name) +
                  (options.account.empty() ? "" : "?account=" + PercentEncode(options.account)),
              body, "application/json");
  if (!response.ok()) return response.status();
  EDGE_RETURN_IF_ERROR(ResponseError(*response));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);

  Deployed deployed = ParseAnswer(response->body);
  if (deployed.name.empty()) deployed.name = bundle->name;
  if (!deployed.routes) deployed.routes = bundle->routes;
  size_t count = bundle->modules.size();
  std::string line =
      fmt::format("Deployed {}{} ({} module{}, {}) in {} ms", deployed.name,
                  deployed.version ? fmt::format(" version {}", *deployed.version) : "", count,
                  count == 1 ? "" : "s", Size(bytes), elapsed.count());
  if (deployed.routes) {
    std::string routes;
    for (const std::string& route : *deployed.routes) {
      routes += (routes.empty() ? "" : ", ") + route;
    }
    line += routes.empty() ? "; no routes" : "; routes: " + routes;
  }
  return line;
}

}  // namespace

int RunDeployCommand(const DeployCommandOptions& options, std::ostream& out, std::ostream& err) {
  StatusOr<std::string> line = Run(options, err);
  if (!line.ok()) {
    err << "edge deploy: " << line.status().message() << "\n";
    return 1;
  }
  out << *line << "\n";
  return 0;
}

int RunDeployCommand(const DeployCommandOptions& options) {
  return RunDeployCommand(options, std::cout, std::cerr);
}

}  // namespace edge::cli
