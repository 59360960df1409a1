// A node's copy of the fleet's log, in LMDB (`<data_dir>/sync`): the signed
// entries by seq, the blobs they name, and a little metadata. The origin
// appends (signing); a replica appends what it received and verified; both
// serve it to the nodes below them. Entries are kept as the signed lines
// they arrived as, so what a relay passes on is byte for byte the origin's.
//
// One LMDB environment in `<data_dir>/sync` (created 0700), with named
// databases:
//   entries    seq, 8 bytes big-endian -> the signed line (SignedEntry::Line)
//   blobs      lower-case hex SHA-256 -> the bytes
//   blob_refs  lower-case hex SHA-256 -> how many stored entries name it
//              (8 bytes big-endian)
//   keys       an entry key (Entry::Keys, or "#" + its SHA-256 when longer
//              than LMDB's 511 bytes) -> the last seq that wrote it; for a
//              kDeleteWorker, its marker "w/<worker>" -> its seq
//   meta       "format", "head", "compacted_through" (decimal), and
//              free-form keys (PutMeta)
// `keys` is kept up to date by Append so that Compact needs no second scan.
//
// Thread-safety: every method may be called from any thread. Writes
// (Append, PutBlob, Compact, ResetTo, PutMeta) wait for each other; reads
// never wait and see the last committed state.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"
#include "edge-sync/entry.h"

namespace edge::sync {

class SyncLog {
 public:
  // Opens (creating if needed) the log in `<data_dir>/sync`. LMDB forbids
  // opening one environment twice in a process: a second Open of the same
  // folder while the first log lives is refused.
  static StatusOr<std::unique_ptr<SyncLog>> Open(const std::string& data_dir);
  ~SyncLog();
  SyncLog(const SyncLog&) = delete;
  SyncLog& operator=(const SyncLog&) = delete;

  // The highest seq stored (0: empty), and the compaction point: entries at
  // or below it may be missing (superseded), so a reader whose cursor is
  // below it must take a snapshot instead of tailing.
  uint64_t head() const;
  uint64_t compacted_through() const;

  // Stores `entry` (its seq must be above head(), else kInvalidInput) and,
  // in the same transaction, the blob it names if given (checked against
  // the name: kInvalidInput when it differs, or when the entry names none).
  // Blobs are stored by their hash, once. The signature is not checked here
  // (the log has no key): the origin signed it, a replica verified it. The
  // entry must decode (DecodeEntry) and carry the seq of `entry`.
  //
  // `meta`, if given, is a free-form metadata key and value stored in the
  // same transaction (checked as PutMeta checks): the origin records which
  // forwarded write an entry applies with the entry itself.
  struct MetaWrite {
    std::string key, value;
  };
  Status Append(const SignedEntry& entry, std::optional<std::string> blob = std::nullopt,
                const std::optional<MetaWrite>& meta = std::nullopt);
  Status PutBlob(const std::string& bytes);  // stored under Sha256Hex(bytes)
  // nullopt when absent; kInvalidInput for a name that is not lower-case
  // hex SHA-256; kInternal when the stored bytes do not match their name.
  StatusOr<std::optional<std::string>> GetBlob(const std::string& sha256_hex) const;
  bool HasBlob(const std::string& sha256_hex) const;

  // Up to `max` entries with seq > after, in order; once their lines add up
  // to `max_bytes` no more are read (at least one is, whatever its size).
  StatusOr<std::vector<SignedEntry>> ReadAfter(
      uint64_t after, size_t max, size_t max_bytes = std::numeric_limits<size_t>::max()) const;

  // Drops every entry at or below `through` whose keys all have a later
  // entry (and tombstones at or below it), and the blobs no entry names any
  // more; records `through` as the compaction point. Returns how many
  // entries went.
  //
  // An entry of a worker is also superseded by a later kDeleteWorker of it,
  // so a version stays until its worker is deleted. `through` above head()
  // counts as head(); the compaction point never moves back. Blobs stored
  // with PutBlob that no entry has named yet stay (an upload may be between
  // its PutBlob and its Append).
  StatusOr<size_t> Compact(uint64_t through);

  // Replaces the whole log with a snapshot's entries (a replica
  // bootstrapping): afterwards head() is `head` and compacted_through() is
  // `compacted_through`. All in one transaction. The entries must be in
  // increasing seq order, at most `head`, and decode like Append's;
  // `compacted_through` is at most `head`. Blobs the new entries do not
  // name are deleted; free-form metadata stays. The on_append callback is
  // called afterwards, as after Append.
  Status ResetTo(const std::vector<SignedEntry>& entries, uint64_t head,
                 uint64_t compacted_through);

  // ResetTo in bounded memory, for a snapshot streamed from a file: any
  // number of AppendReset batches between BeginReset and FinishReset, each
  // batch its own transaction. BeginReset empties the log's entries and
  // sets its head to `head`, with the compaction point at the head too
  // until FinishReset: meanwhile the log is incomplete, and a reader below
  // the head is told to take a snapshot. AppendReset stores entries (in
  // increasing seq order across batches, at most the head, decoding like
  // Append's). FinishReset deletes the blobs no stored entry names (blobs
  // the snapshot needs are stored with PutBlob before or during the reset)
  // and sets the compaction point. A crash in between leaves an
  // incomplete log at the head: whoever began the reset must begin it
  // again (a replica records that it is taking a snapshot). Compact does
  // nothing between BeginReset and FinishReset.
  Status BeginReset(uint64_t head, uint64_t compacted_through);
  Status AppendReset(const std::vector<SignedEntry>& entries);
  Status FinishReset(uint64_t compacted_through);

  // The seq of the last stored entry that wrote `key` (an Entry::Keys key,
  // or a kDeleteWorker's marker "w/<worker>"); nullopt when none does.
  StatusOr<std::optional<uint64_t>> LastWrite(const std::string& key) const;

  // Free-form metadata (a replica's applied cursor, a node's identity).
  // Keys are 1 to 511 bytes; "format", "head" and "compacted_through" are
  // the log's own and refused (they can be read).
  Status PutMeta(const std::string& key, const std::string& value);
  StatusOr<std::optional<std::string>> GetMeta(const std::string& key) const;

  // Called (on the appending thread) after each Append commits: wakes the
  // readers that wait for new entries. `head` is the seq just appended
  // (callbacks of concurrent Appends may run in either order: read head()
  // for the latest). Not called with any lock of the log held.
  void SetOnAppend(std::function<void(uint64_t head)> on_append);

  // The folder of the environment (`<data_dir>/sync`).
  const std::string& path() const { return env_->path(); }

 private:
  struct Dbs {
    MDB_dbi entries, blobs, blob_refs, keys, meta;
  };

  SyncLog(std::unique_ptr<base::LmdbEnv> env, Dbs dbs, uint64_t head, uint64_t compacted_through)
      : env_(std::move(env)), dbs_(dbs), head_(head), compacted_through_(compacted_through) {}
  void NotifyAppend(uint64_t head);

  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_;
  // Copies of meta's head and compacted_through, updated after each commit.
  std::atomic<uint64_t> head_;
  std::atomic<uint64_t> compacted_through_;
  // One write transaction at a time.
  std::mutex write_mutex_;
  // Between BeginReset and FinishReset; guarded by write_mutex_.
  bool resetting_ = false;
  std::mutex on_append_mutex_;
  std::function<void(uint64_t)> on_append_;
};

}  // namespace edge::sync
