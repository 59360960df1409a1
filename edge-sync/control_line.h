// The control lines of the sync streams (`GET /sync/log`, `/sync/snapshot`):
// a JSON object with a "type" and no "seq" (heartbeats, a snapshot's header
// and end). Anything else on those streams must be an entry (ParseLine in
// entry.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edge::sync {

struct ControlLine {
  std::string type;
  uint64_t head = 0, compacted_through = 0, count = 0;
  bool has_head = false, has_compacted_through = false, has_count = false;
  std::string sig;    // base64, on a snapshot's end line
  std::string epoch;  // heartbeats, snapshot headers ("" = none said); not signed
  std::string state;  // heartbeats and 410s: the origin's signed LogState, as JSON ("" = none)
};

// The control line `line` is, or nullopt when it is not one.
std::optional<ControlLine> AsControlLine(std::string_view line);

}  // namespace edge::sync
