#include "cli/worker_name.h"

#include <fmt/core.h>

#include <filesystem>

#include "gateway/node/toml_file.h"

namespace edge::cli {

StatusOr<std::string> ResolveWorkerName(const std::string& flag, const std::string& flag_name) {
  if (!flag.empty()) return flag;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  fs::path file = cwd / "edge.toml";
  if (!fs::exists(file, ec)) file = cwd / "wrangler.toml";
  if (!fs::exists(file, ec)) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("no edge.toml or wrangler.toml in {} to take the worker's name "
                              "from: run this in the project folder, or pass {}",
                              cwd.string(), flag_name));
  }
  StatusOr<toml::table> parsed = gateway::ParseTomlFile(file.string());
  if (!parsed.ok()) return parsed.status();
  toml::table& table = *parsed;
  std::optional<std::string> name = table["name"].value<std::string>();
  if (!name || name->empty()) {
    return Status(
        ErrorCode::kInvalidInput,
        fmt::format("{} has no name = \"...\": add one, or pass {}", file.string(), flag_name));
  }
  return *name;
}

}  // namespace edge::cli
