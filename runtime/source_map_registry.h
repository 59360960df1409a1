// A worker's source maps, and the rewriting of stack traces with them for
// the places stacks are shown to people: the log of an uncaught exception,
// console lines that carry a stack, `edge dev`'s error page, `edge tail` and
// `edge test`. `error.stack` inside the worker stays what V8 made, as on
// Workers.
//
// Each script records the `//# sourceMappingURL=` comment V8 found in it when
// it is compiled; the map itself (inline as a base64 `data:` URL, or a file
// beside the script: a module of a deployed bundle, a file on disk for
// `edge dev`) is read and parsed the first time a stack names that script.
// Used on the worker's thread only.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/module_loader.h"
#include "runtime/source_map.h"

namespace edge::runtime {

// The prefix of the runtime's own scripts (runtime/runtime_js.cc): their
// frames are left out of the stacks shown to people.
inline constexpr std::string_view kInternalScriptPrefix = "edge:internal/";

// The URL of the last `//# sourceMappingURL=URL` comment (or the older
// `//@` form) that starts a line of `source`; "" when there is none. (V8
// 10.2 does not tell it for modules.)
std::string FindSourceMappingUrl(std::string_view source);

class SourceMapRegistry {
 public:
  // `worker_name` tags the warning logged when a map cannot be used;
  // `files` (null: the disk) is where map files are read from.
  SourceMapRegistry(std::string worker_name, std::string root_dir,
                    std::shared_ptr<const ModuleFiles> files, SourceMapLimits limits = {});

  // A script shown as `display` in stacks, read from `path`, whose
  // sourceMappingURL comment says `url` ("" when it has none).
  void AddScript(const std::string& display, const std::string& path, std::string_view url);

  // The map files the scripts name by relative URL that exist beside them:
  // what `edge deploy` uploads with the modules.
  std::vector<std::string> MapFiles() const;

  // `text` with each "    at ... (file:line:column)" frame of a script that
  // has a usable map rewritten to the original file, line and column, and
  // the frames of the runtime's scripts removed. Other lines are kept.
  std::string MapStack(std::string_view text);

  // The original position of a 1-based (line, column) of `display`, with
  // the source shown relative to the root folder.
  struct Mapped {
    std::string file;
    uint32_t line = 0, column = 0;
  };
  // With `budget`, as SourceMap::Lookup.
  std::optional<Mapped> Map(const std::string& display, uint32_t line, uint32_t column,
                            size_t* budget = nullptr);

  // What one MapStack call may do: a tenant can log a string of many fake
  // frames naming the longest line of its map. Frames past these are left
  // as they are.
  static constexpr size_t kMaxFramesPerStack = 200;
  static constexpr size_t kMaxDecodedBytesPerStack = 32u << 20;

  // All maps together may hold this many bytes once parsed; a map past it
  // is not loaded (and a warning says so).
  static constexpr size_t kMaxTotalBytes = 64u << 20;

 private:
  struct Script {
    std::string path;  // absolute (virtual for a deployed bundle)
    std::string url;
    bool loaded = false;
    std::shared_ptr<const SourceMap> map;
    std::string map_path;  // the map's own path: its `sources` are relative to it
  };
  void Load(const std::string& display, Script& script);
  std::optional<std::string> MapFilePath(const Script& script) const;
  std::string SourceDisplay(const Script& script, const std::string& source) const;

  std::string worker_name_;
  std::string root_dir_;
  std::shared_ptr<const ModuleFiles> files_;
  SourceMapLimits limits_;
  std::map<std::string, Script, std::less<>> scripts_;
  size_t total_bytes_ = 0;
};

}  // namespace edge::runtime
