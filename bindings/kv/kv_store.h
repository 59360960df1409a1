// Workers KV storage on LMDB: the data behind `env.<BINDING>` for each
// `[[kv_namespaces]]` entry, and behind `edge kv`. No V8 here: every method
// is a blocking call meant for libuv's thread pool (or a CLI), and all of
// them are safe to call from several threads at once.
//
// One LMDB environment per data directory: `<state_dir>/kv` (data.mdb and
// lock.mdb). Several processes may open it at once (`edge dev` serving while
// `edge kv put` seeds it): LMDB's lock file serializes their writers. Within
// one process KvStore::Open hands out the same store for the same folder,
// because LMDB forbids opening one environment twice in a process.
//
// Layout (six named databases):
//   meta        "format" -> "1"; "next_id" -> u64; "next_ns" -> u32
//   namespaces  namespace name -> u32 id (allocated once, never reused)
//   keys        u32 ns id + key            -> u64 record id   (keys <= 506 bytes)
//               u32 ns id + key[0,506) + 0xFF -> bucket        (longer keys)
//   records     u64 record id -> expiration, metadata, ns id, key, value
//   expiry      u64 expiration + u64 record id -> "" (only entries that expire)
//   replica     free-form key -> value, written by Apply with the write it
//               goes with (a replica's cursor in the fleet's log)
// Integers in LMDB keys are big-endian so that byte order is numeric order.
//
// Why an id per namespace rather than its name in every key: LMDB keys are
// at most 511 bytes and Workers keys up to 512, so the namespace must cost as
// few bytes as possible (4), whatever the length of its id in edge.toml.
// Even so, 4 + 512 > 511: a key longer than 506 bytes is stored in a
// *bucket*, one LMDB entry per (namespace, first 506 bytes) that lists the
// tails (the bytes after 506) of every such key, sorted, each with its
// record id. The 0xFF marker never occurs in UTF-8, and a bucket holds every
// key of 507 bytes or more that starts with its 506 bytes, so plain byte
// order of the `keys` database is exactly the UTF-8 byte order of the keys
// that `list` must follow, buckets included.
//
// Values live in `records` under a record id so that the expiry index can
// name them in 16 bytes; SweepExpired walks `expiry` in time order, so a
// sweep costs what it deletes, not the size of the store.
#pragma once

#include <lmdb.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"

namespace edge::bindings {

// Workers KV's limits, shared by the store, the natives and `edge kv`.
inline constexpr size_t kKvMaxKeyBytes = 512;
inline constexpr size_t kKvMaxValueBytes = 25u << 20;  // 25 MiB
inline constexpr size_t kKvMaxMetadataBytes = 1024;
inline constexpr size_t kKvMaxListLimit = 1000;
inline constexpr size_t kKvMaxBulkKeys = 100;
inline constexpr uint64_t kKvMinTtlSeconds = 60;

// One stored value with what was stored with it.
struct KvEntry {
  std::string value;
  std::string metadata;     // JSON text; empty when the put had none
  uint64_t expiration = 0;  // seconds since the epoch; 0 = never
};

struct KvListKey {
  std::string name;
  uint64_t expiration = 0;  // 0 = never
  std::string metadata;     // JSON text; empty = none
};

// One write to the store: what a replica applies (KvStore::Apply) and what
// the write hook hears of the writes workers make.
struct KvWrite {
  bool is_delete = false;
  std::string ns, key;
  std::string value;        // puts only
  std::string metadata;     // puts only: JSON text; empty = none
  uint64_t expiration = 0;  // puts only: seconds since the epoch; 0 = never
};

struct KvListResult {
  std::vector<KvListKey> keys;
  bool complete = true;  // false: more keys follow `cursor`
  std::string cursor;    // opaque; empty when complete
};

class KvStore {
 public:
  struct Options {
    // Address space reserved for the map: LMDB never grows past it. The file
    // itself grows only as data is written (the map is sparse), so a large
    // reservation costs nothing on a 64-bit system.
    size_t map_size = size_t{1} << 40;  // 1 TiB
  };

  // Opens (creating if needed) the environment in `<state_dir>/kv`. A second
  // Open of the same folder in this process returns the same store.
  static StatusOr<std::shared_ptr<KvStore>> Open(const std::string& state_dir);
  static StatusOr<std::shared_ptr<KvStore>> Open(const std::string& state_dir,
                                                 const Options& options);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // The environment's folder (`<state_dir>/kv`).
  const std::string& path() const { return env_->path(); }

  // The value of `key`, or nullopt when there is none or it has expired
  // (an expired entry is invisible at once, before any sweep removes it).
  StatusOr<std::optional<KvEntry>> Get(std::string_view ns, std::string_view key) const;
  // Several keys read from one snapshot; results in the order of `keys`.
  StatusOr<std::vector<std::optional<KvEntry>>> GetMany(
      std::string_view ns, const std::vector<std::string>& keys) const;
  // Stores `value` under `key`, replacing what was there. Returns once the
  // LMDB transaction is committed, which fsyncs: an acknowledged put
  // survives a crash of the process or of the machine.
  Status Put(std::string_view ns, std::string_view key, std::string_view value,
             std::string_view metadata = {}, uint64_t expiration = 0);
  // Removes `key`; removing a key that is not there is not an error.
  Status Delete(std::string_view ns, std::string_view key);
  // At most `limit` (1..1000) live keys that start with `prefix`, in UTF-8
  // byte order, after `cursor` (a cursor returned by an earlier List, or
  // empty to start at the beginning).
  StatusOr<KvListResult> List(std::string_view ns, std::string_view prefix, size_t limit,
                              std::string_view cursor) const;
  // Deletes up to `max` entries whose expiration is at or before `now`, in
  // one transaction; returns how many it deleted. Call it again while it
  // returns `max`.
  StatusOr<size_t> SweepExpired(uint64_t now, size_t max);

  // Replication. Applies `write` (a put or a delete, checked as Put and
  // Delete check theirs) and stores `meta_value` under `meta_key` (1 to 511
  // bytes, in the `replica` database, apart from the KV data) in ONE
  // transaction: a replica applies an entry of the fleet's log and moves
  // its cursor together, or does neither. Applying the same write twice is
  // harmless (a put stores the same entry again; deleting a missing key is
  // not an error). The write hook is not called.
  Status Apply(const KvWrite& write, std::string_view meta_key, std::string_view meta_value);
  // Several writes and the meta value in ONE transaction, in order (a
  // replica applying a snapshot in batches). An empty `meta_key` stores no
  // meta value. Each write is checked as Apply checks it; one refused
  // write refuses the batch. The write listener is not called.
  Status ApplyBatch(const std::vector<KvWrite>& writes, std::string_view meta_key,
                    std::string_view meta_value);
  // The names of every namespace that starts with `prefix`, sorted (a
  // namespace stays listed once created, even when empty): what deleting
  // an account's data walks, and what a replica sweeping what a snapshot
  // lacks walks with "").
  StatusOr<std::vector<std::string>> Namespaces(std::string_view prefix) const;
  // What Apply stored under `key`; nullopt when nothing (or for a key
  // Apply would refuse).
  StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const;
  // Sets the function called for every Put and Delete (a Delete of a
  // missing key included) made through this store, inside its transaction,
  // after the write's arguments were checked and before it commits: how a
  // PoP queues its workers' writes for the origin before they can resolve.
  // An error from the hook aborts the write (nothing is stored) and is what
  // Put or Delete returns. Writes are serialised by the transaction, so the
  // hook hears them in the order they commit. If the commit itself then
  // fails, the hook has heard a write that is not stored. Not called for
  // Apply or SweepExpired. An empty function removes the hook. The store is
  // shared by every Open of its folder in the process, and so is its hook.
  //
  // Threads: the hook runs on the thread that called Put or Delete while it
  // holds the store's write lock: it must be thread-safe, must not block for
  // long, and must not write to the store. SetWriteHook may be called from
  // any thread, also while Puts and Deletes run; a write that races with the
  // change may still reach the previous hook.
  using WriteHook = std::function<Status(const KvWrite&)>;
  void SetWriteHook(WriteHook hook);

  // Seconds since the epoch, as the store sees them (expiration checks).
  uint64_t Now() const;
  // Tests only: moves the store's clock (not the system's) by `seconds`.
  void AdvanceClockForTesting(int64_t seconds) { clock_offset_ += seconds; }

 private:
  struct Dbs {
    MDB_dbi meta, namespaces, keys, records, expiry, replica;
  };

  KvStore(std::unique_ptr<base::LmdbEnv> env, Dbs dbs) : env_(std::move(env)), dbs_(dbs) {}
  // The namespace's id, or 0 when it was never written to (ids start at 1).
  StatusOr<uint32_t> FindNamespace(MDB_txn* txn, std::string_view ns) const;
  StatusOr<uint32_t> FindOrCreateNamespace(MDB_txn* txn, std::string_view ns,
                                           bool* created) const;
  StatusOr<std::optional<KvEntry>> GetIn(MDB_txn* txn, uint32_t ns_id, std::string_view key,
                                         uint64_t now) const;
  // Removes the record `id` and its expiry entry (not its `keys` mapping).
  Status DropRecord(MDB_txn* txn, uint64_t id) const;
  // The writes of Put, Delete and Apply inside `txn`, their arguments
  // checked. PutIn returns the namespace's id and sets `*created` when it
  // allocated it (to be cached once committed); DeleteIn returns whether
  // it changed anything.
  StatusOr<uint32_t> PutIn(MDB_txn* txn, std::string_view ns, std::string_view key,
                           std::string_view value, std::string_view metadata, uint64_t expiration,
                           bool* created);
  StatusOr<bool> DeleteIn(MDB_txn* txn, std::string_view ns, std::string_view key);
  void RememberNamespace(std::string_view ns, uint32_t id);
  // The hook, if any (a copy that stays valid while it runs).
  std::shared_ptr<const WriteHook> Hook() const;

  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_;
  std::atomic<int64_t> clock_offset_{0};
  // Namespace ids seen committed: they never change once allocated.
  mutable std::mutex namespaces_mutex_;
  mutable std::unordered_map<std::string, uint32_t> namespace_ids_;
  mutable std::mutex hook_mutex_;
  std::shared_ptr<const WriteHook> hook_;
};

// Reclaims the space of expired entries in the background: a libuv timer on
// `loop` that runs KvStore::SweepExpired on the thread pool every
// `interval_ms`, a bounded number of batches per run, one run at a time.
// The timer does not keep the loop alive. Whoever owns the store owns one
// sweeper per process; call Stop() (or destroy it) on the loop's thread
// before closing the loop, then let the loop run once to close the timer.
class KvSweeper {
 public:
  KvSweeper(uv_loop_t* loop, std::shared_ptr<KvStore> store, uint64_t interval_ms = 5000);
  ~KvSweeper();
  KvSweeper(const KvSweeper&) = delete;
  KvSweeper& operator=(const KvSweeper&) = delete;

  void Start();
  // Idempotent. A sweep already on the pool finishes; nothing follows it.
  void Stop();
  // Entries deleted by the sweeps finished so far.
  uint64_t swept() const;

  // Per run: batches of this many entries, at most this many batches.
  static constexpr size_t kBatch = 1000;
  static constexpr size_t kMaxBatchesPerRun = 16;

 private:
  struct State;
  State* state_;  // freed once the timer is closed and no sweep is in flight
};

}  // namespace edge::bindings
