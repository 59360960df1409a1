#include "edge-sync/control_line.h"

#include <simdjson.h>

namespace edge::sync {

std::optional<ControlLine> AsControlLine(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(line.data(), line.size(), true).get_object().get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::string_view type;
  if (object["type"].get_string().get(type) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::element seq;
  if (object["seq"].get(seq) == simdjson::SUCCESS) return std::nullopt;
  ControlLine out;
  out.type = std::string(type);
  out.has_head = object["head"].get_uint64().get(out.head) == simdjson::SUCCESS;
  out.has_compacted_through =
      object["compacted_through"].get_uint64().get(out.compacted_through) == simdjson::SUCCESS;
  out.has_count = object["count"].get_uint64().get(out.count) == simdjson::SUCCESS;
  std::string_view text;
  if (object["sig"].get_string().get(text) == simdjson::SUCCESS) out.sig = std::string(text);
  if (object["epoch"].get_string().get(text) == simdjson::SUCCESS) out.epoch = std::string(text);
  simdjson::dom::object state;
  if (object["state"].get_object().get(state) == simdjson::SUCCESS) {
    out.state = simdjson::minify(state);
  }
  return out;
}

}  // namespace edge::sync
