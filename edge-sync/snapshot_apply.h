// Applying a snapshot file (snapshot.h) to a replica: afterwards its log
// and its stores hold exactly the snapshot's state, whatever they held
// before. Memory stays bounded by the largest line or blob, whatever the
// size of the snapshot: the file is read one entry at a time, blobs are
// fetched one at a time into the node's log, and writes go in bounded
// batches.
//
// The steps, in order:
//   1. the whole file is checked again, and in the same reading
//   2. every blob the entries name is fetched (checked against its hash)
//      into the log, unless it is there: a truncated, damaged or forged
//      file, or a failed fetch, changes nothing the node serves (blobs
//      fetched for it are unnamed, and go at the next reset);
//   3. the deploy store records that a snapshot is being applied
//      (kSnapshotPendingKey, with the lowest head a snapshot may have to
//      replace it);
//   4. the log is replaced by the snapshot's entries (SyncLog::BeginReset,
//      AppendReset, FinishReset); its `keys` index then names every key
//      the snapshot writes;
//   5. mark and sweep: what the stores hold and the snapshot never writes
//      is removed (KV keys of every namespace, secrets, workers, accounts
//      other than "default", the stored host policies; a worker
//      whose versions differ from the snapshot's, or whose routes it never
//      sets, is removed whole, to be rebuilt in step 6);
//   6. every entry is applied in order (KV in batches, other types through
//      the replica's own per-entry apply, so a new entry type needs no
//      change here);
//   7. the cursor becomes the snapshot's head in both stores, and the
//      pending mark goes, in the deploy store's same transaction.
// A crash in steps 3 to 7 leaves the pending mark: the replica then takes
// a snapshot again before it tails (PendingSnapshot), and serves the mixed
// state meanwhile. A crash before step 3 leaves the old state, whole.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/status.h"
#include "bindings/kv/kv_store.h"
#include "edge-sync/entry.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot.h"
#include "edge-sync/sync_log.h"
#include "gateway/deploy/deploy_store.h"

namespace edge::sync {

// In the deploy store's meta: set (to the lowest head a snapshot must have)
// while a snapshot is being applied; empty or absent otherwise.
inline constexpr const char* kSnapshotPendingKey = "sync_snapshot_pending";

// The pending mark: nullopt when no snapshot is being applied.
StatusOr<std::optional<uint64_t>> PendingSnapshot(const gateway::DeployStore& store);

struct SnapshotTargets {
  SyncLog& log;
  gateway::DeployStore& deploy;
  bindings::KvStore& kv;
  // Where each store keeps the replica's cursor.
  std::string cursor_key;
  // Applies one entry that is not a KV write to the stores (and may move
  // the cursor with it): the replica's per-entry apply.
  std::function<Status(const Entry& entry, const std::optional<std::string>& blob)> apply_entry;
  // False for a KV key this node wrote itself and has not seen come back
  // through the log at `seq` (read your own writes): left as it is.
  std::function<bool(const std::string& ns, const std::string& key, uint64_t seq)> should_apply_kv;
  // A blob by its SHA-256, its bytes checked (kInvalidInput when they do
  // not match).
  std::function<StatusOr<std::string>(const std::string& sha256)> fetch_blob;
};

struct SnapshotApplied {
  uint64_t entries = 0;
  uint64_t blobs_fetched = 0;
  uint64_t kv_removed = 0;        // KV keys the snapshot lacked
  uint64_t secrets_removed = 0;   // secrets the snapshot lacked
  uint64_t workers_removed = 0;   // workers removed whole (absent, or rebuilt)
  uint64_t accounts_removed = 0;  // accounts the snapshot lacked (not "default")
  bool host_policies_removed = false;  // the stored host policies, which it lacked
};

// Applies the snapshot at `file` (spooled and checked by SnapshotSpool) to
// `targets`; `floor` is the lowest head the next snapshot must have if this
// one is interrupted (the replica's cursor before it). Runs on one thread;
// nothing else may write the log or apply entries meanwhile.
StatusOr<SnapshotApplied> ApplySnapshot(const std::string& file, const VerifyKey& key,
                                        uint64_t floor, const SnapshotTargets& targets);

}  // namespace edge::sync
