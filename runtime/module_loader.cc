#include "runtime/module_loader.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "runtime/node/node_modules.h"

namespace edge::runtime {
namespace fs = std::filesystem;

namespace {
bool IsModuleFile(const fs::path& p, const ModuleFiles* files) {
  if (files != nullptr) return files->find(p.string()) != files->end();
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
// `node:X` or a bare `X` (nullopt: not a built-in name at all). The
// messages start as workerd's do, then say why.
std::optional<StatusOr<std::string>> ResolveNodeModule(std::string_view specifier,
                                                       bool nodejs_compat) {
  bool prefixed = specifier.starts_with(kNodeModulePrefix);
  std::string_view name = prefixed ? specifier.substr(kNodeModulePrefix.size()) : specifier;
  NodeModuleState state = NodeModuleStateOf(name);
  if (!prefixed && state == NodeModuleState::kUnknown) return std::nullopt;
  std::string full = fmt::format("{}{}", kNodeModulePrefix, name);
  if (state == NodeModuleState::kProvided && nodejs_compat) return StatusOr<std::string>(full);
  std::string why;
  if (state == NodeModuleState::kUnknown) {
    why = "";
  } else if (!nodejs_compat) {
    why = fmt::format(" Node.js modules need compatibility_flags = [\"nodejs_compat\"] in the "
                      "project's config.");
  } else if (state == NodeModuleState::kNotYet) {
    why = fmt::format(" edge does not provide {} yet (docs/api.md lists the node: modules).", full);
  }
  return StatusOr<std::string>(Status(
      ErrorCode::kNotFound, fmt::format("No such module \"{}\".{}", prefixed ? full : specifier, why)));
}

// `cloudflare:X` (nullopt: another scheme). cloudflare:workers and
// cloudflare:sockets are edge's; the others Workers has are refused by name.
std::optional<StatusOr<std::string>> ResolveCloudflareModule(std::string_view specifier) {
  if (!specifier.starts_with("cloudflare:")) return std::nullopt;
  if (specifier == kCloudflareWorkersModule || specifier == kCloudflareSocketsModule ||
      specifier == kCloudflareWorkflowsModule) {
    return StatusOr<std::string>(std::string(specifier));
  }
  std::string why;
  for (std::string_view known : {"cloudflare:email",
                                 "cloudflare:pipelines", "cloudflare:node"}) {
    if (specifier == known) {
      why = fmt::format(" edge does not provide {} yet (docs/compatibility.md).", specifier);
    }
  }
  return StatusOr<std::string>(
      Status(ErrorCode::kNotFound, fmt::format("No such module \"{}\".{}", specifier, why)));
}

}  // namespace

StatusOr<std::string> ResolveModulePath(const std::string& referrer, std::string_view specifier,
                                        const ModuleFiles* files, bool nodejs_compat) {
  bool relative = specifier.starts_with("./") || specifier.starts_with("../");
  bool absolute = specifier.starts_with("/");
  if (!relative && !absolute) {
    if (std::optional<StatusOr<std::string>> node = ResolveNodeModule(specifier, nodejs_compat)) {
      return *node;
    }
    if (std::optional<StatusOr<std::string>> cf = ResolveCloudflareModule(specifier)) return *cf;
    return Status(ErrorCode::kNotFound,
                  fmt::format("Cannot resolve module '{}': only relative imports ('./x.js') are "
                              "supported; bundle packages into the project first",
                              specifier));
  }
  fs::path base = absolute ? fs::path(specifier)
                           : fs::path(referrer).parent_path() / fs::path(specifier);
  base = base.lexically_normal();
  if (IsModuleFile(base, files)) return base.string();
  if (!base.has_extension()) {
    for (const char* suffix : {".js", ".mjs"}) {
      fs::path candidate = base;
      candidate += suffix;
      if (IsModuleFile(candidate, files)) return candidate.string();
    }
    if (IsModuleFile(base / "index.js", files)) return (base / "index.js").string();
  }
  return Status(ErrorCode::kNotFound, fmt::format("Cannot find module '{}'", specifier));
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kNotFound, fmt::format("cannot read {}: {}", path, strerror(errno)));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Status(ErrorCode::kIo, fmt::format("error reading {}", path));
  return out.str();
}

StatusOr<std::string> ReadModule(const std::string& path, const ModuleFiles* files) {
  if (files == nullptr) return ReadFile(path);
  auto it = files->find(path);
  if (it == files->end()) {
    return Status(ErrorCode::kNotFound, fmt::format("the bundle has no module {}", path));
  }
  return it->second;
}

std::string DisplayPath(const std::string& root, const std::string& path) {
  if (root.empty()) return path;
  fs::path relative = fs::path(path).lexically_relative(root);
  if (relative.empty() || *relative.begin() == "..") return path;
  return relative.string();
}

}  // namespace edge::runtime
