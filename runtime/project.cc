#include "runtime/project.h"

#include <fmt/core.h>

#include <toml++/toml.h>

#include <filesystem>
#include <sstream>

namespace edge::runtime {
namespace fs = std::filesystem;

namespace {

Status ConfigError(const std::string& file, const std::string& what) {
  return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", file, what));
}

}  // namespace

StatusOr<Project> LoadProject(const std::string& path) {
  std::error_code ec;
  fs::path target = fs::absolute(path, ec).lexically_normal();
  if (ec || !fs::exists(target, ec)) {
    return Status(ErrorCode::kNotFound, fmt::format("{}: no such file or folder", path));
  }
  Project project;
  if (fs::is_regular_file(target, ec)) {
    std::string ext = target.extension().string();
    if (ext != ".js" && ext != ".mjs") {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: a worker file must end in .js or .mjs", path));
    }
    project.spec.name = target.stem().string();
    project.spec.root_dir = target.parent_path().string();
    project.spec.entry_path = target.string();
    return project;
  }

  fs::path config = target / "edge.toml";
  if (!fs::exists(config, ec)) config = target / "wrangler.toml";
  if (!fs::exists(config, ec)) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("{}: no edge.toml or wrangler.toml in this folder", path));
  }
  std::string file = config.string();
  // Debian's toml++ is built with exceptions: a parse error is thrown, and
  // caught here so it stays a Status.
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& error) {
    return ConfigError(fmt::format("{}:{}:{}", file, error.source().begin.line,
                                   error.source().begin.column),
                       std::string(error.description()));
  }
  project.config_path = file;
  project.spec.root_dir = target.string();

  auto name = table["name"].value<std::string>();
  project.spec.name = name ? *name : target.filename().string();
  auto main = table["main"].value<std::string>();
  if (!main) return ConfigError(file, "`main` (the worker's entry module) is required");
  fs::path entry = (target / *main).lexically_normal();
  if (!fs::is_regular_file(entry, ec)) {
    return ConfigError(file, fmt::format("main = \"{}\": no such file", *main));
  }
  project.spec.entry_path = entry.string();
  if (auto date = table["compatibility_date"].value<std::string>()) {
    project.compatibility_date = *date;
  }

  if (const toml::node* limits = table.get("limits")) {
    if (!limits->is_table()) return ConfigError(file, "[limits] must be a table");
    if (const toml::node* cpu = limits->as_table()->get("cpu_ms")) {
      auto ms = cpu->value_exact<int64_t>();
      if (!ms || *ms <= 0) return ConfigError(file, "[limits] cpu_ms must be a positive integer");
      project.spec.cpu_limit_ms = static_cast<uint64_t>(*ms);
    }
  }

  if (const toml::node* vars_node = table.get("vars")) {
    const toml::table* vars = vars_node->as_table();
    if (vars == nullptr) return ConfigError(file, "[vars] must be a table");
    for (auto&& [key, value] : *vars) {
      WorkerVar var;
      var.name = std::string(key.str());
      if (auto text = value.value_exact<std::string>()) {
        var.value = *text;
      } else {
        std::ostringstream json;
        json << toml::json_formatter(value);
        var.value = json.str();
        var.is_json = true;
      }
      project.spec.vars.push_back(std::move(var));
    }
  }
  return project;
}

}  // namespace edge::runtime
