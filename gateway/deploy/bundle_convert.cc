// Bundles from projects on disk (`edge deploy`) and worker specs from
// bundles (a node loading a deployed version).
#include <fmt/core.h>
#include <simdjson.h>

#include <filesystem>
#include <set>

#include "gateway/deploy/bundle.h"
#include "base/json_text.h"
#include "runtime/module_loader.h"

namespace edge::gateway {
namespace {
namespace fs = std::filesystem;

// `path` relative to `root`, with '/' separators; nullopt when it is not
// inside `root`.
std::optional<std::string> RelativeInside(const fs::path& root, const std::string& path) {
  fs::path relative = fs::path(path).lexically_normal().lexically_relative(root);
  if (relative.empty() || relative.is_absolute() || *relative.begin() == ".." || relative == ".") {
    return std::nullopt;
  }
  return relative.generic_string();
}

// "/workers/api/3/" -> "/workers/api/3"; an error unless absolute.
StatusOr<std::string> VirtualRoot(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root.front() != '/' || root == "/") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("virtual root \"{}\" must be an absolute folder path below /", root));
  }
  return root;
}

}  // namespace

StatusOr<WorkerBundle> BundleFromProject(const runtime::Project& project,
                                         const std::vector<std::string>& module_paths) {
  const runtime::WorkerSpec& spec = project.spec;
  fs::path root = fs::path(spec.root_dir).lexically_normal();
  WorkerBundle bundle;
  bundle.name = spec.name;
  bundle.compatibility_date = project.compatibility_date;
  bundle.compatibility_flags = spec.compatibility_flags;
  // Not project.account_id: a worker belongs to the account of the token
  // that deploys it (the deploy command warns).

  std::optional<std::string> main = RelativeInside(root, spec.entry_path);
  if (!main) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the entry module {} is outside the project folder {}",
                              spec.entry_path, root.string()));
  }
  bundle.main_module = *main;
  std::vector<std::string> paths = module_paths;
  if (std::find(paths.begin(), paths.end(), spec.entry_path) == paths.end()) {
    paths.insert(paths.begin(), spec.entry_path);
  }
  std::set<std::string> seen;
  for (const std::string& path : paths) {
    std::optional<std::string> name = RelativeInside(root, path);
    if (!name) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("the module {} is outside the project folder {}: a bundle holds "
                                "only files of the project",
                                path, root.string()));
    }
    if (!seen.insert(*name).second) continue;
    StatusOr<std::string> content = runtime::ReadFile(path);
    if (!content.ok()) return content.status();
    bundle.modules.push_back({std::move(*name), std::move(content).value()});
  }

  // Vars from TOML tables arrive as pretty-printed JSON: minified here, as
  // DecodeBundle would have them.
  simdjson::dom::parser parser;
  for (runtime::WorkerVar var : spec.vars) {
    if (var.is_json) {
      simdjson::dom::element element;
      if (parser.parse(var.value.data(), var.value.size()).get(element) != simdjson::SUCCESS) {
        return Status(ErrorCode::kInternal,
                      fmt::format("vars.{}: the value is not valid JSON", var.name));
      }
      var.value = simdjson::minify(element);
    }
    bundle.vars.push_back(std::move(var));
  }
  for (const runtime::EnvBinding& binding : spec.bindings) {
    if (binding.kind == "queue") {
      bundle.queue_producers.emplace_back(binding.name, binding.Option("queue"));
      continue;
    }
    if (binding.kind == "ratelimit") {
      bundle.ratelimits.push_back(
          {binding.name, binding.Option("namespace_id"),
           static_cast<uint32_t>(std::strtoul(binding.Option("limit").c_str(), nullptr, 10)),
           static_cast<uint32_t>(std::strtoul(binding.Option("period").c_str(), nullptr, 10))});
      continue;
    }
    if (binding.kind == "workflow") {
      bundle.workflows.push_back({binding.name, binding.Option("workflow"), binding.Option("class_name")});
      continue;
    }
    // The option names runtime::LoadProject gives each kind.
    std::string_view option = binding.kind == "kv"        ? "namespace"
                              : binding.kind == "service" ? "service"
                              : binding.kind == "r2"      ? "bucket"
                                                          : "";
    auto it = std::find_if(binding.options.begin(), binding.options.end(),
                           [&](const auto& pair) { return pair.first == option; });
    if (option.empty() || it == binding.options.end()) {
      return Status(ErrorCode::kInvalidInput, fmt::format("the binding {} ({}) cannot be deployed",
                                                          binding.name, binding.kind));
    }
    if (binding.kind == "kv") {
      bundle.kv_namespaces.emplace_back(binding.name, it->second);
    } else if (binding.kind == "r2") {
      bundle.r2_buckets.emplace_back(binding.name, it->second);
    } else {
      bundle.services.push_back({binding.name, it->second, binding.Option("entrypoint")});
    }
  }
  // `[limits]` keys the config sets; the others keep the defaults.
  WorkerLimits& limits = bundle.limits;
  if (project.memory_mb) limits.memory_mb = *project.memory_mb;
  // Without cpu_ms, the CPU per request follows memory_mb (DefaultCpuMs).
  limits.cpu_ms = project.cpu_ms ? *project.cpu_ms : DefaultCpuMs(limits.memory_mb);
  if (project.startup_cpu_ms) limits.startup_cpu_ms = *project.startup_cpu_ms;
  if (project.wall_ms) limits.wall_ms = *project.wall_ms;
  if (project.subrequests) limits.subrequests = static_cast<uint32_t>(*project.subrequests);
  if (project.request_bytes) limits.request_bytes = *project.request_bytes;
  if (project.response_bytes) limits.response_bytes = *project.response_bytes;
  if (project.background_cpu_ms) limits.background_cpu_ms = *project.background_cpu_ms;
  bundle.routes = project.routes;
  bundle.crons = spec.crons;
  bundle.queue_consumers = spec.queue_consumers;
  if (!project.policies_json.empty()) {
    simdjson::dom::element element;
    if (parser.parse(project.policies_json.data(), project.policies_json.size()).get(element) !=
        simdjson::SUCCESS) {
      return Status(ErrorCode::kInternal, "policies: the config's tables are not valid JSON");
    }
    bundle.policies = simdjson::minify(element);
  }
  bundle.r2_event_notifications = spec.r2_event_notifications;

  Status valid = ValidateBundle(bundle);
  if (!valid.ok()) {
    std::string where = project.config_path.empty() ? spec.entry_path : project.config_path;
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", where, valid.message()));
  }
  return bundle;
}

StatusOr<runtime::WorkerSpec> SpecFromBundle(const WorkerBundle& bundle, std::string virtual_root) {
  StatusOr<std::string> root = VirtualRoot(std::move(virtual_root));
  if (!root.ok()) return root.status();
  EDGE_RETURN_IF_ERROR(ValidateBundle(bundle));
  runtime::WorkerSpec spec;
  spec.name = bundle.name;
  spec.root_dir = *root;
  spec.entry_path = *root + "/" + bundle.main_module;
  spec.vars = bundle.vars;
  spec.compatibility_flags = bundle.compatibility_flags;
  spec.compatibility_date = bundle.compatibility_date;
  for (const auto& [binding, id] : bundle.kv_namespaces) {
    spec.bindings.push_back({binding, "kv", {{"namespace", id}}});
  }
  for (const ServiceBindingEntry& service : bundle.services) {
    runtime::EnvBinding binding{service.binding, "service", {{"service", service.service}}};
    if (!service.entrypoint.empty()) binding.options.emplace_back("entrypoint", service.entrypoint);
    spec.bindings.push_back(std::move(binding));
  }
  for (const auto& [binding, bucket] : bundle.r2_buckets) {
    spec.bindings.push_back({binding, "r2", {{"bucket", bucket}}});
  }
  spec.heap_limit_bytes = static_cast<size_t>(bundle.limits.memory_mb) << 20;
  spec.cpu_limit_ms = bundle.limits.cpu_ms;
  spec.background_cpu_limit_ms = bundle.limits.background_cpu_ms;
  spec.crons = bundle.crons;
  for (const auto& [binding, queue] : bundle.queue_producers) {
    spec.bindings.push_back({binding, "queue", {{"queue", queue}}});
  }
  spec.queue_consumers = bundle.queue_consumers;
  for (const RateLimitEntry& limiter : bundle.ratelimits) {
    spec.bindings.push_back({limiter.name,
                             "ratelimit",
                             {{"namespace_id", limiter.namespace_id},
                              {"limit", std::to_string(limiter.limit)},
                              {"period", std::to_string(limiter.period)}}});
  }
  spec.r2_event_notifications = bundle.r2_event_notifications;
  for (const WorkflowBindingEntry& workflow : bundle.workflows) {
    spec.bindings.push_back(
        {workflow.binding, "workflow", {{"workflow", workflow.name}, {"class_name", workflow.class_name}}});
  }
  return spec;
}

std::shared_ptr<const runtime::ModuleFiles> BundleFiles(const WorkerBundle& bundle,
                                                        const std::string& virtual_root) {
  std::string root = virtual_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  auto files = std::make_shared<runtime::ModuleFiles>();
  for (const BundleModule& module : bundle.modules) {
    files->emplace(root + "/" + module.name, module.content);
  }
  return files;
}

}  // namespace edge::gateway
