#include "cli/project_state.h"

#include <fmt/core.h>

#include <filesystem>

namespace edge::cli {
namespace fs = std::filesystem;

StatusOr<ProjectState> FindProjectState(const std::string& config, const std::string& persist_to,
                                        std::string_view command) {
  std::error_code ec;
  fs::path file;
  if (!config.empty()) {
    file = fs::absolute(config, ec);
    if (ec || !fs::is_regular_file(file, ec)) {
      return Status(ErrorCode::kNotFound, fmt::format("{}: no such file", config));
    }
  } else {
    fs::path cwd = fs::current_path(ec);
    file = cwd / "edge.toml";
    if (!fs::exists(file, ec)) file = cwd / "wrangler.toml";
    if (!fs::exists(file, ec)) {
      if (!persist_to.empty()) return ProjectState{fs::absolute(persist_to, ec).string(), ""};
      return Status(ErrorCode::kNotFound,
                    fmt::format("no edge.toml or wrangler.toml in {}: run `{}` in the project folder, "
                                "pass --config FILE, or --to URL for a node",
                                cwd.string(), command));
    }
  }
  file = file.lexically_normal();
  std::string state = !persist_to.empty() ? fs::absolute(persist_to, ec).string()
                                          : (file.parent_path() / ".edge" / "state").string();
  return ProjectState{state, file.string()};
}

}  // namespace edge::cli
