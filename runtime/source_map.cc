#include "runtime/source_map.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <limits>

namespace edge::runtime {
namespace {

constexpr int64_t kMaxField = std::numeric_limits<int32_t>::max();

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidInput, "invalid source map: " + std::move(message));
}

// The value of one base64 digit, or -1.
int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

enum class VlqResult { kOk, kBadDigit, kTruncated, kTooLarge };

// Decodes the base64 VLQ at text[pos] (5 data bits per digit, the 6th says
// another digit follows; the lowest bit of the result is the sign) and
// advances `pos` past it. A value needs at most 32 bits: a longer run of
// digits is refused before it can overflow anything.
VlqResult DecodeVlq(std::string_view text, size_t& pos, int64_t& value) {
  uint64_t raw = 0;
  int shift = 0;
  while (true) {
    if (pos >= text.size()) return VlqResult::kTruncated;
    int digit = Base64Digit(text[pos]);
    if (digit < 0) return VlqResult::kBadDigit;
    ++pos;
    raw |= static_cast<uint64_t>(digit & 0x1f) << shift;
    if (raw > 0xffffffffull) return VlqResult::kTooLarge;
    if ((digit & 0x20) == 0) break;
    shift += 5;
    if (shift > 30) return VlqResult::kTooLarge;
  }
  int64_t magnitude = static_cast<int64_t>(raw >> 1);
  value = (raw & 1) != 0 ? -magnitude : magnitude;
  return VlqResult::kOk;
}

// One decoded segment; `fields` is 1, 4 or 5.
struct Segment {
  int fields = 0;
  int64_t column = 0, source = 0, original_line = 0, original_column = 0, name = 0;
};

// Decodes the segment at mappings[pos] (stopping before ',' ';' or the end)
// into deltas.
Status DecodeSegment(std::string_view mappings, size_t& pos, Segment& deltas) {
  int64_t* fields[5] = {&deltas.column, &deltas.source, &deltas.original_line,
                        &deltas.original_column, &deltas.name};
  deltas.fields = 0;
  while (pos < mappings.size() && mappings[pos] != ',' && mappings[pos] != ';') {
    if (deltas.fields == 5) {
      return Invalid(
          fmt::format("a segment of `mappings` at offset {} has more than 5 fields", pos));
    }
    size_t at = pos;
    switch (DecodeVlq(mappings, pos, *fields[deltas.fields])) {
      case VlqResult::kOk:
        break;
      case VlqResult::kBadDigit:
        return Invalid(
            fmt::format("`mappings` has a character that is not base64 at offset {}", pos));
      case VlqResult::kTruncated:
        return Invalid(fmt::format("`mappings` ends inside a VLQ value (offset {})", at));
      case VlqResult::kTooLarge:
        return Invalid(fmt::format("a VLQ value of `mappings` at offset {} exceeds 32 bits", at));
    }
    ++deltas.fields;
  }
  if (deltas.fields != 1 && deltas.fields != 4 && deltas.fields != 5) {
    return Invalid(fmt::format("a segment of `mappings` before offset {} has {} fields (1, 4 or 5)",
                               pos, deltas.fields));
  }
  return Status::Ok();
}

}  // namespace

// Turns simdjson's document into a SourceMap, checking each field's type.
class SourceMapReader {
 public:
  using element = simdjson::dom::element;

  static StatusOr<std::shared_ptr<const SourceMap>> Read(element root,
                                                         const SourceMapLimits& limits,
                                                         bool in_section) {
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) return Invalid("not a JSON object");
    int64_t version = 0;
    if (object["version"].get_int64().get(version) != simdjson::SUCCESS || version != 3) {
      return Invalid("`version` must be 3");
    }
    auto map = std::make_shared<SourceMap>();
    element sections;
    if (object["sections"].get(sections) == simdjson::SUCCESS) {
      if (in_section) return Invalid("a section's map may not have sections itself");
      EDGE_RETURN_IF_ERROR(ReadSections(sections, limits, *map));
      return std::shared_ptr<const SourceMap>(std::move(map));
    }

    std::string_view root_text;
    element source_root;
    if (object["sourceRoot"].get(source_root) == simdjson::SUCCESS && !source_root.is_null()) {
      if (source_root.get_string().get(root_text) != simdjson::SUCCESS) {
        return Invalid("`sourceRoot` must be a string");
      }
    }
    std::string prefix(root_text);
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    EDGE_RETURN_IF_ERROR(ReadStrings(object, "sources", prefix, limits, map->sources_));
    EDGE_RETURN_IF_ERROR(ReadStrings(object, "names", "", limits, map->names_));
    std::string_view mappings;
    if (object["mappings"].get_string().get(mappings) != simdjson::SUCCESS) {
      return Invalid("`mappings` must be a string");
    }
    map->mappings_ = mappings;
    EDGE_RETURN_IF_ERROR(map->IndexMappings(limits));
    map->memory_bytes_ += map->mappings_.size() + map->lines_.size() * sizeof(SourceMap::LineStart);
    for (const auto* list : {&map->sources_, &map->names_}) {
      for (const std::string& text : *list) map->memory_bytes_ += text.size() + sizeof(text);
    }
    return std::shared_ptr<const SourceMap>(std::move(map));
  }

 private:
  // `sources` (required) or `names` (optional): strings, or null for a
  // source without a name.
  static Status ReadStrings(simdjson::dom::object object, std::string_view key,
                            const std::string& prefix, const SourceMapLimits& limits,
                            std::vector<std::string>& out) {
    element value;
    if (object[key].get(value) != simdjson::SUCCESS) {
      if (key == "names") return Status::Ok();
      return Invalid(fmt::format("`{}` is missing", key));
    }
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      return Invalid(fmt::format("`{}` must be an array", key));
    }
    if (array.size() > limits.max_sources) {
      return Invalid(fmt::format("`{}` has more than {} entries", key, limits.max_sources));
    }
    for (element entry : array) {
      std::string_view text;
      if (entry.is_null()) {
        out.emplace_back();
      } else if (entry.get_string().get(text) == simdjson::SUCCESS) {
        out.push_back(prefix + std::string(text));
      } else {
        return Invalid(fmt::format("`{}` must hold strings", key));
      }
    }
    return Status::Ok();
  }

  static Status ReadSections(element value, const SourceMapLimits& limits, SourceMap& map) {
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      return Invalid("`sections` must be an array");
    }
    if (array.size() > limits.max_sections) {
      return Invalid(fmt::format("`sections` has more than {} entries", limits.max_sections));
    }
    for (element section : array) {
      int64_t line = -1, column = -1;
      if (section["offset"]["line"].get_int64().get(line) != simdjson::SUCCESS ||
          section["offset"]["column"].get_int64().get(column) != simdjson::SUCCESS || line < 0 ||
          column < 0 || line > kMaxField || column > kMaxField) {
        return Invalid("a section needs an `offset` with a `line` and a `column`");
      }
      element url;
      if (section["url"].get(url) == simdjson::SUCCESS) {
        return Invalid("sections that name a `url` are not supported; inline their `map`");
      }
      element inner;
      if (section["map"].get(inner) != simdjson::SUCCESS) return Invalid("a section needs a `map`");
      StatusOr<std::shared_ptr<const SourceMap>> parsed = Read(inner, limits, true);
      if (!parsed.ok()) return parsed.status();
      SourceMap::Section next{static_cast<uint32_t>(line), static_cast<uint32_t>(column),
                              std::move(parsed).value()};
      if (!map.sections_.empty()) {
        const SourceMap::Section& last = map.sections_.back();
        if (next.line < last.line || (next.line == last.line && next.column < last.column)) {
          return Invalid("`sections` must be in order of their offsets");
        }
      }
      map.memory_bytes_ += next.map->memory_bytes();
      map.sections_.push_back(std::move(next));
    }
    return Status::Ok();
  }
};

StatusOr<std::shared_ptr<const SourceMap>> SourceMap::Parse(std::string_view json,
                                                            const SourceMapLimits& limits) {
  if (json.size() > limits.max_json_bytes) {
    return Invalid(fmt::format("{} bytes, more than the {} a map may have", json.size(),
                               limits.max_json_bytes));
  }
  // The spec lets a map start with ")]}'" (against cross-site inclusion).
  if (json.starts_with(")]}'")) {
    size_t newline = json.find('\n');
    json.remove_prefix(newline == std::string_view::npos ? json.size() : newline + 1);
  }
  if (json.empty()) return Invalid("empty");
  simdjson::dom::parser parser;
  if (parser.allocate(json.size(), limits.max_depth) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "invalid source map: out of memory");
  }
  simdjson::dom::element root;
  simdjson::error_code error = parser.parse(json.data(), json.size(), true).get(root);
  if (error == simdjson::DEPTH_ERROR) {
    return Invalid(fmt::format("JSON nested deeper than {} levels", limits.max_depth));
  }
  if (error != simdjson::SUCCESS) {
    return Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(error)));
  }
  return SourceMapReader::Read(root, limits, false);
}

// Decodes every segment once: checks each value and records where each
// generated line starts, so a lookup decodes one line only.
Status SourceMap::IndexMappings(const SourceMapLimits& limits) {
  std::string_view text = mappings_;
  int64_t source = 0, original_line = 0, original_column = 0, name = 0;
  lines_.push_back({0, 0, 0, 0, 0});
  int64_t column = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == ';') {
      ++pos;
      if (lines_.size() >= limits.max_lines) {
        return Invalid(fmt::format("`mappings` has more than {} lines", limits.max_lines));
      }
      lines_.push_back({pos, static_cast<int32_t>(source), static_cast<int32_t>(original_line),
                        static_cast<int32_t>(original_column), static_cast<int32_t>(name)});
      column = 0;
      continue;
    }
    if (c == ',') {
      ++pos;
      continue;
    }
    Segment deltas;
    EDGE_RETURN_IF_ERROR(DecodeSegment(text, pos, deltas));
    column += deltas.column;
    if (column < 0 || column > kMaxField) {
      return Invalid(fmt::format("a generated column before offset {} is out of range", pos));
    }
    if (deltas.fields >= 4) {
      source += deltas.source;
      original_line += deltas.original_line;
      original_column += deltas.original_column;
      if (source < 0 || source >= static_cast<int64_t>(sources_.size())) {
        return Invalid(fmt::format("a segment before offset {} names source {} of {}", pos, source,
                                   sources_.size()));
      }
      if (original_line < 0 || original_line > kMaxField || original_column < 0 ||
          original_column > kMaxField) {
        return Invalid(fmt::format("an original position before offset {} is out of range", pos));
      }
    }
    if (deltas.fields == 5) {
      name += deltas.name;
      if (name < 0 || name >= static_cast<int64_t>(names_.size())) {
        return Invalid(fmt::format("a segment before offset {} names name {} of {}", pos, name,
                                   names_.size()));
      }
    }
  }
  return Status::Ok();
}

std::optional<OriginalPosition> SourceMap::Lookup(uint32_t line, uint32_t column,
                                                  size_t* budget) const {
  if (!sections_.empty()) {
    const Section* found = nullptr;
    for (const Section& section : sections_) {
      if (section.line > line || (section.line == line && section.column > column)) break;
      found = &section;
    }
    if (found == nullptr) return std::nullopt;
    uint32_t inner_column = line == found->line ? column - found->column : column;
    return found->map->Lookup(line - found->line, inner_column, budget);
  }
  if (line >= lines_.size()) return std::nullopt;
  const LineStart& start = lines_[line];
  if (budget != nullptr) {
    size_t end = line + 1 < lines_.size() ? lines_[line + 1].offset : mappings_.size();
    if (end - start.offset > *budget) return std::nullopt;
    *budget -= end - start.offset;
  }
  std::string_view text = mappings_;
  int64_t source = start.source, original_line = start.original_line,
          original_column = start.original_column, name = start.name;
  int64_t generated = 0;
  std::optional<OriginalPosition> best;
  int64_t best_column = -1;
  size_t pos = start.offset;
  while (pos < text.size() && text[pos] != ';') {
    if (text[pos] == ',') {
      ++pos;
      continue;
    }
    Segment deltas;
    if (!DecodeSegment(text, pos, deltas).ok()) return std::nullopt;  // checked by Parse
    generated += deltas.column;
    if (deltas.fields >= 4) {
      source += deltas.source;
      original_line += deltas.original_line;
      original_column += deltas.original_column;
    }
    if (deltas.fields == 5) name += deltas.name;
    // Segments are usually in column order, but nothing requires it.
    if (generated > column || generated < best_column) continue;
    best_column = generated;
    if (deltas.fields == 1) {
      best.reset();  // this column on maps to nothing
      continue;
    }
    best = OriginalPosition{sources_[source], static_cast<uint32_t>(original_line),
                            static_cast<uint32_t>(original_column),
                            deltas.fields == 5 ? names_[name] : std::string()};
  }
  return best;
}

}  // namespace edge::runtime
