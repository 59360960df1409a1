// The log's epoch: a random 128-bit name (32 lower-case hex digits) for one
// history of the origin's log. It is chosen when the origin's store is
// created, and chosen again when the origin finds its log older than the one
// it served (restored from a backup) or is told so (`edge origin
// --new-epoch`). Sequence numbers mean something only within one epoch: a
// PoP that meets another epoch than its own takes a snapshot instead of
// comparing numbers, so entries a restored origin logs under numbers the PoP
// has passed are not skipped.
//
// The origin keeps its epoch in two places: in its log's metadata (with the
// entries: a backup of the data folder's stores holds it) and in the file
// `<data_dir>/origin-epoch`, with the highest seq it ever logged, rewritten
// after every append. The file is not part of the stores: restoring
// `deploy/`, `kv/` and `sync/` from a backup leaves it newer than the log,
// and the origin notices at start.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/sync_log.h"

namespace edge::sync {

// The log metadata key that holds a node's epoch (the origin's own, or the
// one a replica last adopted from its upstream).
inline constexpr const char* kEpochMetaKey = "epoch";

// A new random epoch.
std::string NewEpoch();
// Whether `text` is an epoch (32 lower-case hex digits).
bool IsEpoch(std::string_view text);

// The file beside the stores: the origin's epoch and the highest seq it
// logged in it.
struct OriginMark {
  std::string epoch;
  uint64_t highest_seq = 0;
};
std::string OriginMarkPath(const std::string& data_dir);
// kNotFound when there is none; kInvalidInput when it is damaged.
StatusOr<OriginMark> ReadOriginMark(const std::string& path);
// Replaces the file durably (a new file, synced, renamed over the old).
Status WriteOriginMark(const std::string& path, const OriginMark& mark);

// At the origin's start: the epoch to serve `log` under, stored in the log
// and in the mark file. A new one when the log has none (a new store, or a
// log from before epochs), when `force_new`, or when the mark says the log
// is older than what this origin served (another epoch, or a lower head:
// restored from a backup). `*why` says why a new epoch was chosen ("" when
// the log's own was kept).
StatusOr<std::string> OpenOriginEpoch(SyncLog& log, const std::string& data_dir, bool force_new,
                                      std::string* why);

// Where the origin's log stood, signed by the origin: what heartbeats and
// 410 answers carry, so that no relay or man in the middle can make a PoP
// believe in another epoch (and take a snapshot), a compaction point past
// its cursor (a 410 that forces a snapshot), or a false head (fake lag). A
// relay passes on the newest state it verified; it cannot make one.
struct LogState {
  std::string epoch;  // "" only for a log without one (tests)
  uint64_t head = 0, compacted_through = 0;
  uint64_t time_ms = 0;  // when the origin signed it: newer states replace older ones
};
// The bytes signed:
//   edge-sync state\nepoch <epoch>\nhead <H>\ncompacted_through <C>\ntime_ms <T>\n
std::string LogStateStatement(const LogState& state);
// {"epoch":"...","head":H,"compacted_through":C,"time_ms":T,"sig":"<base64>"}
std::string LogStateJson(const LogState& state, std::string_view signature);
// The state in `json` (an object as LogStateJson writes it) if its
// signature verifies against `key`; kInvalidInput saying why not.
StatusOr<LogState> VerifyLogState(std::string_view json, const VerifyKey& key);

}  // namespace edge::sync
