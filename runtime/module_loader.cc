#include "runtime/module_loader.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace edge::runtime {
namespace fs = std::filesystem;

namespace {
bool IsRegularFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
}  // namespace

StatusOr<std::string> ResolveModulePath(const std::string& referrer, std::string_view specifier) {
  bool relative = specifier.starts_with("./") || specifier.starts_with("../");
  bool absolute = specifier.starts_with("/");
  if (!relative && !absolute) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("Cannot resolve module '{}': only relative imports ('./x.js') are "
                              "supported; bundle packages into the project first",
                              specifier));
  }
  fs::path base = absolute ? fs::path(specifier)
                           : fs::path(referrer).parent_path() / fs::path(specifier);
  base = base.lexically_normal();
  if (IsRegularFile(base)) return base.string();
  if (!base.has_extension()) {
    for (const char* suffix : {".js", ".mjs"}) {
      fs::path candidate = base;
      candidate += suffix;
      if (IsRegularFile(candidate)) return candidate.string();
    }
    if (IsRegularFile(base / "index.js")) return (base / "index.js").string();
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

std::string DisplayPath(const std::string& root, const std::string& path) {
  if (root.empty()) return path;
  fs::path relative = fs::path(path).lexically_relative(root);
  if (relative.empty() || *relative.begin() == "..") return path;
  return relative.string();
}

}  // namespace edge::runtime
