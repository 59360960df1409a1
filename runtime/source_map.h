// Source Map v3 (https://tc39.es/source-map/): reading the maps a bundler
// (esbuild, wrangler, tsc) writes beside a bundle, to turn a position in the
// bundle into one in the original source. Knows nothing of V8.
//
// A map comes from the tenant: parsing is bounded (SourceMapLimits) and a map
// that breaks a rule is refused as a whole with a message saying which; a
// position the map does not cover is simply not mapped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edge::runtime {

// What one map may cost. docs/api.md ("Source maps") states them.
struct SourceMapLimits {
  size_t max_json_bytes = 16u << 20;  // the map's JSON text
  size_t max_depth = 16;              // JSON nesting (a map needs 5, an index map 7)
  size_t max_sources = 100000;        // entries of `sources`, and of `names`
  size_t max_lines = 2000000;         // generated lines (';' in `mappings`)
  size_t max_sections = 10000;        // sections of an index map
};

// A position in an original source: `source` is sourceRoot + sources[i] as
// the map spells it; line and column are 0-based, as in the map.
struct OriginalPosition {
  std::string source;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string name;  // names[i] of the segment, "" when it has none
};

class SourceMap {
 public:
  // Parses and validates a whole map: every VLQ of `mappings` is decoded
  // once, so a malformed map is refused here, not at lookup.
  static StatusOr<std::shared_ptr<const SourceMap>> Parse(std::string_view json,
                                                          const SourceMapLimits& limits = {});

  // The original position of generated (line, column), both 0-based: the
  // segment of that line with the greatest column not after `column`.
  // nullopt when the line has no such segment or it maps to no source.
  // A lookup decodes that one line of `mappings`; with `budget`, only when
  // the line's text fits in what is left of it (nullopt otherwise), and
  // what it decodes is taken from it.
  std::optional<OriginalPosition> Lookup(uint32_t line, uint32_t column,
                                         size_t* budget = nullptr) const;

  // Bytes the parsed map holds (its mappings text, line index and names).
  size_t memory_bytes() const { return memory_bytes_; }

 private:
  // The decoder's running state at the start of one generated line: the
  // fields of `mappings` other than the column are relative across lines.
  struct LineStart {
    size_t offset;  // into mappings_
    int32_t source, original_line, original_column, name;
  };
  // An index map's section: the map that covers from (line, column) on.
  struct Section {
    uint32_t line, column;
    std::shared_ptr<const SourceMap> map;
  };

  // Reads the parsed JSON into a SourceMap (source_map.cc).
  friend class SourceMapReader;
  Status IndexMappings(const SourceMapLimits& limits);

  std::vector<std::string> sources_;
  std::vector<std::string> names_;
  std::string mappings_;
  std::vector<LineStart> lines_;
  std::vector<Section> sections_;
  size_t memory_bytes_ = 0;
};

}  // namespace edge::runtime
