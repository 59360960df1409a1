// The storage behind the Workers Cache API (`caches.default`,
// `caches.open(name)`): responses kept on disk, per owner (a node's
// account, or the worker under `edge dev`), under byte caps with
// least-recently-used eviction. No V8 here: every method is a blocking call
// meant for libuv's thread pool, safe from several threads at once.
//
// Where things are, under `<state_dir>/cache/`:
//   index/     one LMDB environment: what is cached, for how long, how
//              recently it was used, and how many bytes each owner holds
//   bodies/XX/ one file per cached body, named by its entry id (16 hex
//              digits; XX is the last two, to keep folders small)
//   tmp/       bodies being written; whatever is here when the store opens
//              was left by a process that stopped mid-put, and is removed
//
// Why files for bodies and LMDB only for the index: a body (up to the
// per-entry cap, 512 MiB by default as on Workers) arrives as a stream
// over many event-loop turns. An LMDB value is written whole inside one
// write transaction, and LMDB has one writer at a time: storing bodies in
// it would hold every other put, delete and eviction of the node for as
// long as the slowest tenant's stream takes, or buffer the body in memory
// first. A body file is written chunk by chunk with no lock held, then
// renamed into place and indexed in one short transaction. Reading one is a
// pread of the range asked for (a Range request reads only its bytes), and
// an open file stays readable after an eviction unlinks it.
//
// Index layout (named databases; integers big-endian so byte order is
// numeric order):
//   meta      "format" -> "1"; "next_id" -> u64; "next_owner" -> u32;
//             "total" -> u64 (bytes accounted to every entry)
//   owners    owner name -> u32 owner id (allocated once, never reused)
//   usage     u32 owner id -> u64 bytes accounted to the owner's entries
//   keys      u32 owner id + SHA-256(cache name, URL) -> u64 entry id
//   entries   u64 entry id -> the entry's record (EncodeRecord)
//   lru       u64 last use (ms) + u64 entry id -> ""    (the whole store)
//   owner_lru u32 owner id + u64 last use + u64 entry id -> ""
//   expiry    u64 expiry (ms) + u64 entry id -> ""
// URLs are hashed because LMDB keys are at most 511 bytes and a cache key's
// URL may be 16 KiB; the record keeps the URL and the cache name, and a
// lookup checks them, so a hash collision is a miss, never another entry.
//
// An entry's accounted size is its body, its record and kEntryOverhead (the
// file and the index rows), so a flood of empty bodies fills the caps too.
// A put that would take an owner (or the store) over its cap first evicts
// that owner's (or the store's) least recently used entries. Last use is
// written at most once a minute per entry, so a hit rarely needs a write
// transaction. Expired entries are misses at once; each put removes a few
// of them, and eviction takes the rest.
//
// Index commits are durable (LMDB fsyncs each one); body files are not
// fsynced: after a machine crash an entry whose body file is shorter than
// its record says is a miss, and is dropped when found. Any record or body
// that does not read back as written is a miss, never a crash.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"

namespace edge::bindings {

using CacheHeaders = std::vector<std::pair<std::string, std::string>>;

// Workers' limits: a cache name shorter than 1024 bytes (workerd's
// "Cache name is too long."), a key URL no longer than a request URL may
// be (16 KiB).
inline constexpr size_t kCacheMaxNameBytes = 1023;
inline constexpr size_t kCacheMaxUrlBytes = 16u << 10;
// The headers of one cached response, names and values together.
inline constexpr size_t kCacheMaxHeaderBytes = 128u << 10;
// What an entry costs beyond its body and record (its file, its index rows).
inline constexpr uint64_t kCacheEntryOverhead = 1024;

struct CacheLimits {
  // The largest body one entry may have (Workers: 512 MB on every plan).
  uint64_t max_entry_bytes = uint64_t{512} << 20;
  // Bytes one owner's entries may take, every cache of it together.
  uint64_t max_owner_bytes = uint64_t{1} << 30;
  // Bytes every entry of the store may take.
  uint64_t max_total_bytes = uint64_t{10} << 30;
};

// Whose entries a worker reaches: its account's on a node (every worker of
// the account shares them), else its own (`edge dev`, `edge test`: no
// accounts there). The prefixes keep an account and a worker of the same
// name apart.
inline std::string CacheOwner(std::string_view account, std::string_view worker) {
  return account.empty() ? "worker:" + std::string(worker) : "account:" + std::string(account);
}

// Which entry: whose (the owner, decided by the host, never by a worker),
// which of its caches (`name`: "" with is_default for caches.default), and
// the request URL.
struct CacheKey {
  std::string owner;
  bool is_default = true;
  std::string name;
  std::string url;
};

// What is stored with a body.
struct CacheHead {
  int status = 200;
  std::string status_text;
  CacheHeaders headers;
  uint64_t expires_ms = 0;  // Unix ms after which it is a miss
};

// A body file that closes itself.
class CacheFile {
 public:
  CacheFile() = default;
  explicit CacheFile(int fd) : fd_(fd) {}
  ~CacheFile();
  CacheFile(CacheFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  CacheFile& operator=(CacheFile&& other) noexcept;
  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  void Close();
  // Reads up to `length` bytes at `offset` (fewer only at the end of the
  // file); an error when the file cannot be read.
  StatusOr<std::string> Read(uint64_t offset, size_t length) const;

 private:
  int fd_ = -1;
};

// A hit: what was stored, and its body, open (still readable should the
// entry be evicted or replaced meanwhile).
struct CacheHit {
  CacheHead head;
  uint64_t body_size = 0;
  CacheFile body;
};

class CacheStore;

// One put in progress: the body goes to a file under tmp/ as it arrives;
// Commit indexes it, Abort (or the destructor) removes it. Used by one
// thread at a time.
class CacheWriter {
 public:
  ~CacheWriter();
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  // Appends `bytes`. kTooLarge (and the writer aborted) once the body
  // passes the store's max_entry_bytes.
  Status Write(std::string_view bytes);
  // Stores the entry, replacing what the key held, evicting to make room.
  // kTooLarge when the entry can never fit the caps (nothing is stored).
  Status Commit();
  void Abort();
  uint64_t written() const { return written_; }
  bool aborted() const { return aborted_; }

 private:
  friend class CacheStore;
  CacheWriter(std::shared_ptr<CacheStore> store, CacheKey key, CacheHead head, std::string path,
              int fd)
      : store_(std::move(store)), key_(std::move(key)), head_(std::move(head)),
        path_(std::move(path)), file_(fd) {}

  std::shared_ptr<CacheStore> store_;
  CacheKey key_;
  CacheHead head_;
  std::string path_;
  CacheFile file_;
  uint64_t written_ = 0;
  bool aborted_ = false;
  bool committed_ = false;
};

class CacheStore : public std::enable_shared_from_this<CacheStore> {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds

  // A store in `<state_dir>/cache`, opened on first use (so a worker that
  // never touches `caches` leaves no folder behind). One per folder per
  // process: a second Open of the same folder returns the same store.
  static std::shared_ptr<CacheStore> Open(const std::string& state_dir, CacheLimits limits = {},
                                          Clock clock = nullptr);
  ~CacheStore();
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  const std::string& path() const { return path_; }
  const CacheLimits& limits() const { return limits_; }
  int64_t Now() const;
  // Tests only: moves the store's clock (not the system's).
  void AdvanceClockForTesting(int64_t ms) { clock_offset_ms_ += ms; }

  // Starts a put of `head` under `key`. The caller has decided the entry
  // may be stored (cache_http.h); the key and headers are checked here
  // against the limits above.
  StatusOr<std::unique_ptr<CacheWriter>> BeginPut(CacheKey key, CacheHead head);
  // The entry under `key` if there is one and it has not expired.
  StatusOr<std::optional<CacheHit>> Match(const CacheKey& key);
  // Removes the entry under `key`; whether there was one (an expired one
  // counts as none, as a miss would).
  StatusOr<bool> Delete(const CacheKey& key);
  // Removes every entry of `owner` (its account was deleted); how many.
  StatusOr<size_t> DropOwner(std::string_view owner);
  // Removes up to `max` expired entries; how many.
  StatusOr<size_t> SweepExpired(size_t max);

  // Bytes accounted to `owner`'s entries, and to every entry.
  StatusOr<uint64_t> OwnerBytes(std::string_view owner);
  StatusOr<uint64_t> TotalBytes();
  // Live and expired entries of every owner.
  StatusOr<uint64_t> EntryCount();
  // The body file of entry `id` (tests corrupt it).
  std::string BodyPathForTesting(uint64_t id) const { return BodyPath(id); }
  // The entry id under `key`, if any (tests).
  StatusOr<std::optional<uint64_t>> EntryIdForTesting(const CacheKey& key);
  // Overwrites entry `id`'s record with `bytes` (tests of corrupt records).
  Status CorruptRecordForTesting(uint64_t id, std::string_view bytes);

 private:
  friend class CacheWriter;
  struct Dbs {
    MDB_dbi meta, owners, usage, keys, entries, lru, owner_lru, expiry;
  };
  struct Record;

  CacheStore(std::string path, CacheLimits limits, Clock clock)
      : path_(std::move(path)), limits_(limits), clock_(std::move(clock)) {}
  // Opens the index (once; a failure is returned to every caller until an
  // open succeeds).
  Status EnsureOpen();
  std::string BodyPath(uint64_t id) const;
  Status Commit(CacheWriter& writer);
  // Removes entry `id` inside `txn`; its body file is added to `unlink`.
  Status DropEntry(MDB_txn* txn, uint64_t id, std::vector<uint64_t>* unlink);
  // Drops entries in LRU order (the owner's when `owner_id` is set) until
  // `used + need <= cap`, updating `used`.
  Status EvictUntil(MDB_txn* txn, std::optional<uint32_t> owner_id, uint64_t need, uint64_t cap,
                    std::vector<uint64_t>* unlink);
  // Removes up to `max` expired entries inside `txn`.
  StatusOr<size_t> SweepIn(MDB_txn* txn, size_t max, std::vector<uint64_t>* unlink);
  void UnlinkBodies(const std::vector<uint64_t>& ids) const;
  StatusOr<std::optional<uint64_t>> FindEntry(MDB_txn* txn, const CacheKey& key,
                                              uint32_t owner_id) const;
  StatusOr<uint32_t> FindOwner(MDB_txn* txn, std::string_view owner) const;
  // Moves entry `id`'s last use to `now` (a write transaction of its own).
  void Touch(uint64_t id, int64_t now);
  Status Error(std::string_view what, int rc) const { return env_->Error(what, rc); }

  std::string path_;
  CacheLimits limits_;
  Clock clock_;
  std::atomic<int64_t> clock_offset_ms_{0};
  std::mutex open_mutex_;
  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_{};
  std::atomic<bool> open_{false};
  std::atomic<uint64_t> tmp_counter_{0};
};

}  // namespace edge::bindings
