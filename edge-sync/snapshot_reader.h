// The lines of a snapshot (GET /sync/snapshot, see sync_server.h), checked
// one at a time as they arrive: a header {"type":"snapshot","head":H,
// "compacted_through":C}, the signed entry lines in increasing seq order, none
// past the head, and an end line {"type":"end","count":N,"sig":"..."} whose
// signature is the origin's over SnapshotManifest (head, compaction point,
// count and the SHA-256 of every entry line). Every byte is hostile: the
// first line that breaks a rule is refused and nothing of the snapshot is
// used. SyncClient feeds it from the network; the fuzzer feeds it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "base/sha256.h"
#include "base/status.h"
#include "edge-sync/entry.h"
#include "edge-sync/signing_keys.h"

namespace edge::sync {

// What a line of the sync API's streams is: a control line (a JSON object
// with a "type" and no "seq": heartbeats, a snapshot's header and end), or
// anything else, which must be an entry. nullopt for an entry.
struct ControlLine {
  std::string type;
  uint64_t head = 0, compacted_through = 0, count = 0;
  std::string sig;  // base64, on a snapshot's end line
};
std::optional<ControlLine> AsControlLine(simdjson::dom::parser& parser, std::string_view line);

class SnapshotReader {
 public:
  enum class Result {
    kMore,     // the line was taken; more must follow
    kEnded,    // the end line, signed: the snapshot is complete
    kRefused,  // see refused_seq() and reason(); feed nothing more
  };

  explicit SnapshotReader(const VerifyKey& key) : key_(key) {}

  // One line, without its "\n". Empty lines are skipped; control lines of
  // another type are ignored.
  Result OnLine(std::string_view line);

  // After kRefused: why, and the seq of the entry at fault (0: none).
  const std::string& reason() const { return reason_; }
  uint64_t refused_seq() const { return refused_seq_; }

  // After kEnded: what the snapshot holds.
  uint64_t head() const { return head_; }
  uint64_t compacted_through() const { return compacted_through_; }
  std::vector<std::pair<SignedEntry, Entry>>& entries() { return entries_; }

 private:
  Result Refuse(uint64_t seq, std::string reason);

  const VerifyKey& key_;
  simdjson::dom::parser parser_;
  base::Sha256Stream digest_;
  bool has_header_ = false;
  bool ended_ = false;
  bool refused_ = false;
  uint64_t head_ = 0, compacted_through_ = 0;
  std::vector<std::pair<SignedEntry, Entry>> entries_;
  std::string reason_;
  uint64_t refused_seq_ = 0;
};

}  // namespace edge::sync
