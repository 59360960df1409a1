#include "runtime/source_map_registry.h"

#include <fmt/core.h>

#include <charconv>
#include <filesystem>
#include <system_error>

#include "base/base64.h"
#include "base/log.h"

namespace edge::runtime {
namespace {
namespace fs = std::filesystem;

bool HasScheme(std::string_view url) {
  size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : url.substr(0, colon)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool Inside(const std::string& root, const fs::path& path) {
  if (root.empty()) return false;
  fs::path relative = path.lexically_relative(fs::path(root).lexically_normal());
  return !relative.empty() && *relative.begin() != "..";
}

std::optional<uint32_t> ParseNumber(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The JSON of an inline map: "data:application/json[;charset=...];base64,...".
StatusOr<std::string> DecodeDataUrl(std::string_view url, size_t max_bytes) {
  size_t comma = url.find(',');
  std::string_view header = url.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
  if (comma == std::string_view::npos || !header.starts_with("application/json") ||
      !header.ends_with(";base64")) {
    return Status(ErrorCode::kInvalidInput,
                  "an inline source map must be a data:application/json;base64 URL");
  }
  std::string_view data = url.substr(comma + 1);
  if (base::Base64DecodedSize(data) > max_bytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the inline map is more than {} bytes", max_bytes));
  }
  return base::Base64Decode(data);
}

}  // namespace

std::string FindSourceMappingUrl(std::string_view source) {
  constexpr std::string_view kKey = "sourceMappingURL=";
  size_t end = source.size();
  while (end > 0) {
    size_t at = source.rfind(kKey, end - 1);
    if (at == std::string_view::npos) return "";
    end = at;
    // "//# " or "//@ " right before, and only blanks before that on its line.
    if (at < 4) continue;
    std::string_view intro = source.substr(at - 4, 4);
    if (intro != "//# " && intro != "//@ ") continue;
    size_t line_start = source.find_last_of("\n\r", at - 4);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    std::string_view before = source.substr(line_start, at - 4 - line_start);
    if (before.find_first_not_of(" \t") != std::string_view::npos) continue;
    std::string_view url = source.substr(at + kKey.size());
    return std::string(url.substr(0, url.find_first_of(" \t\r\n")));
  }
  return "";
}

SourceMapRegistry::SourceMapRegistry(std::string worker_name, std::string root_dir,
                                     std::shared_ptr<const ModuleFiles> files,
                                     SourceMapLimits limits)
    : worker_name_(std::move(worker_name)),
      root_dir_(std::move(root_dir)),
      files_(std::move(files)),
      limits_(limits) {}

void SourceMapRegistry::AddScript(const std::string& display, const std::string& path,
                                  std::string_view url) {
  if (url.empty()) return;
  scripts_[display] = Script{path, std::string(url)};
}

// A relative URL resolved against the script's folder; only files inside
// the worker's root folder are read (a bundle's own files).
std::optional<std::string> SourceMapRegistry::MapFilePath(const Script& script) const {
  std::string_view url = script.url;
  if (HasScheme(url) || url.starts_with('/') || url.empty()) return std::nullopt;
  url = url.substr(0, url.find_first_of("?#"));
  fs::path resolved = (fs::path(script.path).parent_path() / fs::path(url)).lexically_normal();
  if (!Inside(root_dir_, resolved)) return std::nullopt;
  return resolved.string();
}

std::vector<std::string> SourceMapRegistry::MapFiles() const {
  std::vector<std::string> found;
  for (const auto& [display, script] : scripts_) {
    std::optional<std::string> path = MapFilePath(script);
    if (!path) continue;
    std::error_code error;
    bool exists = files_ ? files_->count(*path) > 0 : fs::is_regular_file(*path, error);
    if (exists) found.push_back(*path);
  }
  return found;
}

void SourceMapRegistry::Load(const std::string& display, Script& script) {
  script.loaded = true;
  StatusOr<std::string> json = Status(ErrorCode::kInvalidInput, "");
  if (script.url.starts_with("data:")) {
    script.map_path = script.path;
    json = DecodeDataUrl(script.url, limits_.max_json_bytes);
  } else if (std::optional<std::string> path = MapFilePath(script)) {
    script.map_path = *path;
    std::error_code error;
    if (!files_ && fs::file_size(*path, error) > limits_.max_json_bytes && !error) {
      json = Status(ErrorCode::kInvalidInput,
                    fmt::format("{} is more than {} bytes", DisplayPath(root_dir_, *path),
                                limits_.max_json_bytes));
    } else {
      json = ReadModule(*path, files_.get());
    }
  } else {
    json = Status(ErrorCode::kInvalidInput,
                  fmt::format("sourceMappingURL \"{}\" is neither a data: URL nor a file of the "
                              "worker's folder",
                              script.url.substr(0, 200)));
  }
  StatusOr<std::shared_ptr<const SourceMap>> map =
      json.ok() ? SourceMap::Parse(*json, limits_)
                : StatusOr<std::shared_ptr<const SourceMap>>(json.status());
  if (map.ok() && total_bytes_ + (*map)->memory_bytes() > kMaxTotalBytes) {
    map = Status(
        ErrorCode::kInvalidInput,
        fmt::format("the worker's source maps would hold more than {} MiB", kMaxTotalBytes >> 20));
  }
  if (!map.ok()) {
    Log(LogLevel::kWarn, "[{}] the source map of {} is not used: {}", worker_name_, display,
        map.status().message());
    return;
  }
  total_bytes_ += (*map)->memory_bytes();
  script.map = std::move(map).value();
}

std::string SourceMapRegistry::SourceDisplay(const Script& script,
                                             const std::string& source) const {
  std::string_view name = source;
  if (name.starts_with("file://")) {
    name.remove_prefix(7);
    return DisplayPath(root_dir_, std::string(name));
  }
  if (HasScheme(name)) return source;  // webpack://app/src/x.ts: as the bundler named it
  fs::path path = name.starts_with('/') ? fs::path(name)
                                        : fs::path(script.map_path).parent_path() / fs::path(name);
  return DisplayPath(root_dir_, path.lexically_normal().string());
}

std::optional<SourceMapRegistry::Mapped> SourceMapRegistry::Map(const std::string& display,
                                                                uint32_t line, uint32_t column,
                                                                size_t* budget) {
  auto found = scripts_.find(display);
  if (found == scripts_.end() || line == 0 || column == 0) return std::nullopt;
  Script& script = found->second;
  if (!script.loaded) Load(display, script);
  if (!script.map) return std::nullopt;
  std::optional<OriginalPosition> position = script.map->Lookup(line - 1, column - 1, budget);
  if (!position || position->source.empty()) return std::nullopt;
  return Mapped{SourceDisplay(script, position->source), position->line + 1, position->column + 1};
}

std::string SourceMapRegistry::MapStack(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  bool first = true;
  size_t frames = 0;
  size_t budget = kMaxDecodedBytesPerStack;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;

    // A frame: "    at name (file:line:column)" or "    at file:line:column".
    std::string_view body = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    std::string rewritten(line);
    bool drop = false;
    if (body.starts_with("at ")) {
      size_t open = line.rfind('(');
      size_t from, to;
      if (line.ends_with(')') && open != std::string_view::npos) {
        from = open + 1;
        to = line.size() - 1;
      } else {
        from = line.size() - body.size() + 3;
        if (line.substr(from).starts_with("async ")) from += 6;
        to = line.size();
      }
      std::string_view location = line.substr(from, to - from);
      size_t column_colon = location.rfind(':');
      size_t line_colon = column_colon == std::string_view::npos
                              ? column_colon
                              : location.rfind(':', column_colon - 1);
      std::string_view file = location.substr(0, std::min(line_colon, location.size()));
      if (file.starts_with(kInternalScriptPrefix)) {
        drop = true;
      } else if (line_colon != std::string_view::npos && line_colon > 0) {
        std::optional<uint32_t> number =
            ParseNumber(location.substr(line_colon + 1, column_colon - line_colon - 1));
        std::optional<uint32_t> column = ParseNumber(location.substr(column_colon + 1));
        std::optional<Mapped> mapped;
        if (number && column && frames++ < kMaxFramesPerStack) {
          mapped = Map(std::string(file), *number, *column, &budget);
        }
        if (mapped) {
          rewritten = fmt::format("{}{}:{}:{}{}", line.substr(0, from), mapped->file, mapped->line,
                                  mapped->column, line.substr(to));
        }
      }
    }
    if (drop) continue;
    if (!first) out += '\n';
    first = false;
    out += rewritten;
  }
  return out;
}

}  // namespace edge::runtime
