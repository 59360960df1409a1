#include "edge-sync/sync_log.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "base/lmdb.h"
#include "base/sha256.h"

namespace edge::sync {
namespace {
namespace fs = std::filesystem;

// Address space reserved for the map; the file grows only as data is
// written (the map is sparse).
constexpr size_t kMapSize = size_t{64} << 30;
// LMDB's largest key (mdb_env_get_maxkeysize with the default page size).
constexpr size_t kMaxKeyBytes = 511;
constexpr char kFormat[] = "1";
constexpr std::string_view kReservedMeta[] = {"format", "head", "compacted_through"};

constexpr base::LmdbNames kLmdbNames{"the sync log", "sync log: ", "log"};

Status LmdbError(std::string_view what, int rc) { return base::LmdbError(kLmdbNames, what, rc); }

Status Corrupt(std::string_view what) {
  return Status(ErrorCode::kInternal, fmt::format("sync log: {} is corrupt", what));
}

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

using base::Be64;
using base::GetBe64;
using base::Val;
using base::View;

// The `keys` database's key for an entry key: itself, or its hash when it
// is longer than LMDB allows ("#" starts no entry key).
std::string StoreKey(std::string_view key) {
  if (key.size() <= kMaxKeyBytes) return std::string(key);
  return "#" + base::Sha256Hex(key);
}

// The keys an entry holds in `keys` (its Keys(), stored form).
std::vector<std::string> StoreKeys(const Entry& entry) {
  std::vector<std::string> keys = entry.Keys();
  for (std::string& key : keys) key = StoreKey(key);
  return keys;
}

// The worker whose keys a kDeleteWorker of it supersedes, for the entries
// that belong to a worker (kDeleteWorker itself aside).
std::optional<std::string> OwningWorker(const Entry& entry) {
  switch (entry.type) {
    case EntryType::kVersion:
    case EntryType::kRoutes:
    case EntryType::kRollback:
    case EntryType::kSecretPut:
    case EntryType::kSecretDelete:
      return entry.worker;
    case EntryType::kDeleteWorker:
    case EntryType::kKvPut:
    case EntryType::kKvDelete:
    case EntryType::kAccount:
    case EntryType::kAccountDelete:
    case EntryType::kHostPolicies:
    case EntryType::kHostPoliciesDelete:
      break;
  }
  return std::nullopt;
}

Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value,
           std::string_view what, unsigned flags = 0) {
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn, dbi, &k, &v, flags);
  return rc == 0 ? Status::Ok() : LmdbError(what, rc);
}

// Deletes `key`; absent is fine.
Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view what) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn, dbi, &k, nullptr);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbError(what, rc);
}

StatusOr<std::optional<std::string_view>> Get(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                              std::string_view what) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return LmdbError(what, rc);
  return std::optional<std::string_view>(View(v));
}

// A seq (or a count) stored as 8 bytes big-endian; nullopt when absent.
StatusOr<std::optional<uint64_t>> GetNumber(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                            std::string_view what) {
  StatusOr<std::optional<std::string_view>> bytes = Get(txn, dbi, key, what);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<uint64_t>();
  std::optional<uint64_t> number = GetBe64(**bytes);
  if (!number) return Corrupt(fmt::format("the record of {}", key));
  return number;
}

// meta's head and compacted_through: decimal text, 0 when absent.
StatusOr<uint64_t> GetCounter(MDB_txn* txn, MDB_dbi meta, std::string_view name) {
  StatusOr<std::optional<std::string_view>> text = Get(txn, meta, name, "open");
  if (!text.ok()) return text.status();
  if (!text->has_value()) return uint64_t{0};
  std::string_view digits = **text;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return Corrupt(fmt::format("its \"{}\"", name));
  }
  return value;
}

Status PutCounter(MDB_txn* txn, MDB_dbi meta, std::string_view name, uint64_t value) {
  return Put(txn, meta, name, std::to_string(value), "write");
}

// A stored line, parsed and decoded; kInternal when it does not.
StatusOr<Entry> DecodeStored(std::string_view line, uint64_t seq) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  StatusOr<SignedEntry> parsed = ParseLine(line);
  if (!parsed.ok()) {
    return Corrupt(fmt::format("the entry at seq {} ({})", seq, parsed.status().message()));
  }
  StatusOr<Entry> entry = DecodeEntry(parsed->bytes);
  if (!entry.ok()) {
    return Corrupt(fmt::format("the entry at seq {} ({})", seq, entry.status().message()));
  }
  if (parsed->seq != seq || entry->seq != seq) {
    return Corrupt(fmt::format("the entry at seq {} (it holds seq {})", seq, entry->seq));
  }
  return entry;
}

// The checks Append and ResetTo make on an entry before storing it.
StatusOr<Entry> CheckIncoming(const SignedEntry& signed_entry) {
  auto refuse = [&](std::string_view why) {
    return Invalid(fmt::format("cannot store the entry at seq {}: {}", signed_entry.seq, why));
  };
  if (signed_entry.seq == 0) return refuse("seq must be above 0");
  if (signed_entry.signature.size() != 64) {
    return refuse(fmt::format("its signature is {} bytes, not 64", signed_entry.signature.size()));
  }
  StatusOr<Entry> entry = DecodeEntry(signed_entry.bytes);
  if (!entry.ok()) return refuse(entry.status().message());
  if (entry->seq != signed_entry.seq) {
    return refuse(fmt::format("entry seq {} in a line for seq {}", entry->seq, signed_entry.seq));
  }
  return entry;
}

// What Compact drops of one entry.
struct Dropped {
  uint64_t seq;
  std::vector<std::string> keys;  // stored form
  std::string blob;
};

// Records an entry's keys and blob reference (Append and ResetTo).
Status IndexEntry(MDB_txn* txn, MDB_dbi keys, MDB_dbi blob_refs, const Entry& entry) {
  std::string seq = Be64(entry.seq);
  for (const std::string& key : StoreKeys(entry)) {
    EDGE_RETURN_IF_ERROR(Put(txn, keys, key, seq, "append"));
  }
  if (!entry.blob.empty()) {
    StatusOr<std::optional<uint64_t>> refs = GetNumber(txn, blob_refs, entry.blob, "append");
    if (!refs.ok()) return refs.status();
    EDGE_RETURN_IF_ERROR(Put(txn, blob_refs, entry.blob, Be64(refs->value_or(0) + 1), "append"));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<SyncLog>> SyncLog::Open(const std::string& data_dir) {
  // It holds sealed secrets and the fleet's KV data: for the node's user only.
  StatusOr<std::string> made =
      base::MakeStoreDir((fs::path(data_dir) / "sync").string(), /*private_dir=*/true);
  if (!made.ok()) return made.status();
  const std::string& path = *made;

  Dbs dbs;
  uint64_t head = 0, compacted = 0;
  base::LmdbOptions options;
  options.names = kLmdbNames;
  options.map_size = kMapSize;
  // A smaller reservation is better than no log.
  options.shrink_on_enomem = 4;
  options.max_readers = 512;
  options.file_mode = 0600;
  options.dbs = {{"entries", &dbs.entries},
                 {"blobs", &dbs.blobs},
                 {"blob_refs", &dbs.blob_refs},
                 {"keys", &dbs.keys},
                 {"meta", &dbs.meta}};
  // The log's own records, in the transaction that opens the databases.
  options.init = [&](MDB_txn* txn) -> Status {
    Status status = [&]() -> Status {
      StatusOr<std::optional<std::string_view>> format = Get(txn, dbs.meta, "format", "open");
      if (!format.ok()) return format.status();
      if (!format->has_value()) {
        EDGE_RETURN_IF_ERROR(Put(txn, dbs.meta, "format", kFormat, "open"));
      } else if (**format != kFormat) {
        return Invalid(
            fmt::format("{}: sync log format {} is not supported by this edge", path, **format));
      }
      StatusOr<uint64_t> stored_head = GetCounter(txn, dbs.meta, "head");
      if (!stored_head.ok()) return stored_head.status();
      StatusOr<uint64_t> stored_compacted = GetCounter(txn, dbs.meta, "compacted_through");
      if (!stored_compacted.ok()) return stored_compacted.status();
      head = *stored_head;
      compacted = *stored_compacted;
      // The last entry is at most the head. (A write transaction's cursor
      // is closed before the transaction ends.)
      base::LmdbCursor cursor(txn, dbs.entries);
      if (cursor.rc() != 0) return LmdbError("open", cursor.rc());
      MDB_val k, v;
      int last = mdb_cursor_get(cursor.get(), &k, &v, MDB_LAST);
      if (last == 0) {
        std::optional<uint64_t> seq = GetBe64(View(k));
        if (!seq || *seq > head) return Corrupt("its head");
      } else if (last != MDB_NOTFOUND) {
        return LmdbError("open", last);
      }
      return Status::Ok();
    }();
    if (status.code() == ErrorCode::kIo) {
      return Status(ErrorCode::kIo,
                    fmt::format("cannot open the sync log in {}: {}", path, status.message()));
    }
    return status;
  };
  // Commits fsync: an appended entry survives a crash.
  StatusOr<std::unique_ptr<base::LmdbEnv>> env = base::LmdbEnv::Open(path, options);
  if (!env.ok()) return env.status();
  return std::unique_ptr<SyncLog>(new SyncLog(std::move(env).value(), dbs, head, compacted));
}

SyncLog::~SyncLog() = default;

uint64_t SyncLog::head() const { return head_.load(); }
uint64_t SyncLog::compacted_through() const { return compacted_through_.load(); }

void SyncLog::SetOnAppend(std::function<void(uint64_t head)> on_append) {
  std::lock_guard guard(on_append_mutex_);
  on_append_ = std::move(on_append);
}

void SyncLog::NotifyAppend(uint64_t head) {
  std::function<void(uint64_t)> on_append;
  {
    std::lock_guard guard(on_append_mutex_);
    on_append = on_append_;
  }
  if (on_append) on_append(head);
}

// A free-form metadata key: 1 to 511 bytes, not one of the log's own.
static Status CheckMetaKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Invalid(fmt::format("a meta key is 1 to {} bytes long", kMaxKeyBytes));
  }
  for (std::string_view reserved : kReservedMeta) {
    if (key == reserved) {
      return Invalid(fmt::format("the meta key \"{}\" is the sync log's own", key));
    }
  }
  return Status::Ok();
}

Status SyncLog::Append(const SignedEntry& signed_entry, std::optional<std::string> blob,
                       const std::optional<MetaWrite>& meta) {
  StatusOr<Entry> entry = CheckIncoming(signed_entry);
  if (!entry.ok()) return entry.status();
  if (meta) EDGE_RETURN_IF_ERROR(CheckMetaKey(meta->key));
  uint64_t seq = signed_entry.seq;
  if (blob) {
    if (entry->blob.empty()) {
      return Invalid(fmt::format("the entry at seq {} names no blob, but one was given", seq));
    }
    std::string sha = base::Sha256Hex(*blob);
    if (sha != entry->blob) {
      return Invalid(fmt::format("the blob given with the entry at seq {} has SHA-256 {}, not {}",
                                 seq, sha, entry->blob));
    }
  }
  std::string line = signed_entry.Line();
  {
    std::lock_guard guard(write_mutex_);
    uint64_t head = head_.load();
    if (seq <= head) {
      return Invalid(fmt::format("entry seq {} is not above the log's head {}", seq, head));
    }
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "append"));
    if (blob) {
      MDB_val k = Val(entry->blob), v = Val(*blob);
      int rc = mdb_put(txn.get(), dbs_.blobs, &k, &v, MDB_NOOVERWRITE);
      if (rc != 0 && rc != MDB_KEYEXIST) return LmdbError("append", rc);
    }
    std::string key = Be64(seq);
    MDB_val k = Val(key), v = Val(line);
    int rc = mdb_put(txn.get(), dbs_.entries, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return Corrupt(fmt::format("its head (seq {} exists)", seq));
    if (rc != 0) return LmdbError("append", rc);
    EDGE_RETURN_IF_ERROR(IndexEntry(txn.get(), dbs_.keys, dbs_.blob_refs, *entry));
    EDGE_RETURN_IF_ERROR(PutCounter(txn.get(), dbs_.meta, "head", seq));
    if (meta) EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.meta, meta->key, meta->value, "append"));
    EDGE_RETURN_IF_ERROR(txn.Commit("append"));
    head_.store(seq);
  }
  NotifyAppend(seq);
  return Status::Ok();
}

Status SyncLog::PutBlob(const std::string& bytes) {
  std::string sha = base::Sha256Hex(bytes);
  std::lock_guard guard(write_mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "store a blob"));
  MDB_val k = Val(sha), v = Val(bytes);
  int rc = mdb_put(txn.get(), dbs_.blobs, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return Status::Ok();  // stored already; the abort costs nothing
  if (rc != 0) return LmdbError("store a blob", rc);
  return txn.Commit("store a blob");
}

StatusOr<std::optional<std::string>> SyncLog::GetBlob(const std::string& sha256_hex) const {
  if (!base::IsSha256Hex(sha256_hex)) {
    return Invalid("a blob is named by its SHA-256 in lower-case hex (64 characters)");
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read a blob"));
  StatusOr<std::optional<std::string_view>> bytes =
      Get(txn.get(), dbs_.blobs, sha256_hex, "read a blob");
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<std::string>();
  if (base::Sha256Hex(**bytes) != sha256_hex)
    return Corrupt(fmt::format("the blob {}", sha256_hex));
  return std::optional<std::string>(std::string(**bytes));
}

bool SyncLog::HasBlob(const std::string& sha256_hex) const {
  if (!base::IsSha256Hex(sha256_hex)) return false;
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, true, "read a blob").ok()) return false;
  StatusOr<std::optional<std::string_view>> bytes =
      Get(txn.get(), dbs_.blobs, sha256_hex, "read a blob");
  return bytes.ok() && bytes->has_value();
}

StatusOr<std::vector<SignedEntry>> SyncLog::ReadAfter(uint64_t after, size_t max,
                                                      size_t max_bytes) const {
  std::vector<SignedEntry> entries;
  size_t bytes = 0;
  if (max == 0 || after == std::numeric_limits<uint64_t>::max()) return entries;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  base::LmdbCursor cursor(txn.get(), dbs_.entries);
  if (cursor.rc() != 0) return LmdbError("read", cursor.rc());
  std::string start = Be64(after + 1);
  MDB_val k = Val(start), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  for (; rc == 0 && entries.size() < max && (entries.empty() || bytes < max_bytes);
       rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    std::optional<uint64_t> seq = GetBe64(View(k));
    if (!seq) return Corrupt("an entry's key");
    std::string_view line = View(v);
    bytes += line.size();
    if (line.ends_with('\n')) line.remove_suffix(1);
    StatusOr<SignedEntry> parsed = ParseLine(line);
    if (!parsed.ok()) {
      return Corrupt(fmt::format("the entry at seq {} ({})", *seq, parsed.status().message()));
    }
    if (parsed->seq != *seq) {
      return Corrupt(
          fmt::format("the entry at seq {} (its line is for seq {})", *seq, parsed->seq));
    }
    entries.push_back(std::move(parsed).value());
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("read", rc);
  return entries;
}

StatusOr<size_t> SyncLog::Compact(uint64_t through) {
  std::lock_guard guard(write_mutex_);
  // Half a snapshot is not a log to compact (FinishReset sets the point).
  if (resetting_) return size_t{0};
  through = std::min(through, head_.load());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "compact"));
  MDB_txn* t = txn.get();

  // Decide first, from the log as it is; delete after (no cursor walks
  // over entries it removes, and no decision sees another's deletes).
  std::vector<Dropped> dropped;
  {
    base::LmdbCursor cursor(t, dbs_.entries);
    if (cursor.rc() != 0) return LmdbError("compact", cursor.rc());
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::optional<uint64_t> seq = GetBe64(View(k));
      if (!seq) return Corrupt("an entry's key");
      if (*seq > through) break;
      StatusOr<Entry> entry = DecodeStored(View(v), *seq);
      if (!entry.ok()) return entry.status();
      std::vector<std::string> keys = StoreKeys(*entry);
      bool drop = entry->IsTombstone();
      if (!drop) {
        // A later delete of the worker supersedes every key of it.
        std::optional<uint64_t> deleted;
        if (std::optional<std::string> worker = OwningWorker(*entry)) {
          StatusOr<std::optional<uint64_t>> marker =
              GetNumber(t, dbs_.keys, StoreKey("w/" + *worker), "compact");
          if (!marker.ok()) return marker.status();
          deleted = *marker;
        }
        drop = !keys.empty();
        for (const std::string& key : keys) {
          if (deleted && *deleted > *seq) continue;
          StatusOr<std::optional<uint64_t>> last = GetNumber(t, dbs_.keys, key, "compact");
          if (!last.ok()) return last.status();
          if (!last->has_value() || **last <= *seq) {
            drop = false;
            break;
          }
        }
      }
      if (drop) dropped.push_back({*seq, std::move(keys), entry->blob});
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("compact", rc);
  }

  for (const Dropped& entry : dropped) {
    std::string seq = Be64(entry.seq);
    EDGE_RETURN_IF_ERROR(Del(t, dbs_.entries, seq, "compact"));
    // A key whose last writer goes needs no record: every earlier writer
    // of it is at or below `through` and superseded, so it goes too.
    for (const std::string& key : entry.keys) {
      StatusOr<std::optional<uint64_t>> last = GetNumber(t, dbs_.keys, key, "compact");
      if (!last.ok()) return last.status();
      if (*last == entry.seq) EDGE_RETURN_IF_ERROR(Del(t, dbs_.keys, key, "compact"));
    }
    if (entry.blob.empty()) continue;
    StatusOr<std::optional<uint64_t>> refs = GetNumber(t, dbs_.blob_refs, entry.blob, "compact");
    if (!refs.ok()) return refs.status();
    // No count: the books disagree with the entries. When in doubt, keep.
    if (!refs->has_value() || **refs == 0) continue;
    if (**refs > 1) {
      EDGE_RETURN_IF_ERROR(Put(t, dbs_.blob_refs, entry.blob, Be64(**refs - 1), "compact"));
    } else {
      EDGE_RETURN_IF_ERROR(Del(t, dbs_.blob_refs, entry.blob, "compact"));
      EDGE_RETURN_IF_ERROR(Del(t, dbs_.blobs, entry.blob, "compact"));
    }
  }
  uint64_t compacted = std::max(compacted_through_.load(), through);
  EDGE_RETURN_IF_ERROR(PutCounter(t, dbs_.meta, "compacted_through", compacted));
  EDGE_RETURN_IF_ERROR(txn.Commit("compact"));
  compacted_through_.store(compacted);
  return dropped.size();
}

Status SyncLog::ResetTo(const std::vector<SignedEntry>& entries, uint64_t head,
                        uint64_t compacted_through) {
  if (compacted_through > head) {
    return Invalid(fmt::format("a snapshot's compaction point ({}) cannot be above its head ({})",
                               compacted_through, head));
  }
  std::vector<Entry> decoded;
  decoded.reserve(entries.size());
  std::set<std::string> blobs;  // what the new entries name
  uint64_t previous = 0;
  for (const SignedEntry& signed_entry : entries) {
    StatusOr<Entry> entry = CheckIncoming(signed_entry);
    if (!entry.ok()) return entry.status();
    if (signed_entry.seq <= previous) {
      return Invalid(
          fmt::format("a snapshot's entries must be in increasing seq order ({} after {})",
                      signed_entry.seq, previous));
    }
    if (signed_entry.seq > head) {
      return Invalid(fmt::format("a snapshot's entry at seq {} is above its head ({})",
                                 signed_entry.seq, head));
    }
    previous = signed_entry.seq;
    if (!entry->blob.empty()) blobs.insert(entry->blob);
    decoded.push_back(std::move(entry).value());
  }

  {
    std::lock_guard guard(write_mutex_);
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "reset"));
    MDB_txn* t = txn.get();
    for (MDB_dbi dbi : {dbs_.entries, dbs_.keys, dbs_.blob_refs}) {
      int rc = mdb_drop(t, dbi, 0);  // empties it, keeps the handle
      if (rc != 0) return LmdbError("reset", rc);
    }
    std::vector<std::string> unnamed;
    {
      base::LmdbCursor cursor(t, dbs_.blobs);
      if (cursor.rc() != 0) return LmdbError("reset", cursor.rc());
      MDB_val k, v;
      int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
      for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
        if (!blobs.contains(std::string(View(k)))) unnamed.emplace_back(View(k));
      }
      if (rc != MDB_NOTFOUND) return LmdbError("reset", rc);
    }
    for (const std::string& sha : unnamed) EDGE_RETURN_IF_ERROR(Del(t, dbs_.blobs, sha, "reset"));
    for (size_t i = 0; i < entries.size(); ++i) {
      EDGE_RETURN_IF_ERROR(
          Put(t, dbs_.entries, Be64(entries[i].seq), entries[i].Line(), "reset", MDB_APPEND));
      EDGE_RETURN_IF_ERROR(IndexEntry(t, dbs_.keys, dbs_.blob_refs, decoded[i]));
    }
    EDGE_RETURN_IF_ERROR(PutCounter(t, dbs_.meta, "head", head));
    EDGE_RETURN_IF_ERROR(PutCounter(t, dbs_.meta, "compacted_through", compacted_through));
    EDGE_RETURN_IF_ERROR(txn.Commit("reset"));
    head_.store(head);
    compacted_through_.store(compacted_through);
  }
  NotifyAppend(head);
  return Status::Ok();
}

Status SyncLog::BeginReset(uint64_t head, uint64_t compacted_through) {
  if (compacted_through > head) {
    return Invalid(fmt::format("a snapshot's compaction point ({}) cannot be above its head ({})",
                               compacted_through, head));
  }
  {
    std::lock_guard guard(write_mutex_);
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "reset"));
    MDB_txn* t = txn.get();
    for (MDB_dbi dbi : {dbs_.entries, dbs_.keys, dbs_.blob_refs}) {
      int rc = mdb_drop(t, dbi, 0);  // empties it, keeps the handle
      if (rc != 0) return LmdbError("reset", rc);
    }
    // Until FinishReset, the log holds only part of the snapshot: a reader
    // below its head is told to take a snapshot of its own.
    EDGE_RETURN_IF_ERROR(PutCounter(t, dbs_.meta, "head", head));
    EDGE_RETURN_IF_ERROR(PutCounter(t, dbs_.meta, "compacted_through", head));
    EDGE_RETURN_IF_ERROR(txn.Commit("reset"));
    head_.store(head);
    compacted_through_.store(head);
    resetting_ = true;
  }
  NotifyAppend(head);
  return Status::Ok();
}

Status SyncLog::AppendReset(const std::vector<SignedEntry>& entries) {
  std::vector<Entry> decoded;
  decoded.reserve(entries.size());
  const uint64_t head = head_.load();
  for (const SignedEntry& signed_entry : entries) {
    StatusOr<Entry> entry = CheckIncoming(signed_entry);
    if (!entry.ok()) return entry.status();
    if (signed_entry.seq > head) {
      return Invalid(fmt::format("a snapshot's entry at seq {} is above its head ({})",
                                 signed_entry.seq, head));
    }
    decoded.push_back(std::move(entry).value());
  }
  std::lock_guard guard(write_mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "reset"));
  MDB_txn* t = txn.get();
  for (size_t i = 0; i < entries.size(); ++i) {
    // MDB_APPEND refuses a key that is not above the last: seq order.
    MDB_val k, v;
    std::string key = Be64(entries[i].seq), line = entries[i].Line();
    k = Val(key);
    v = Val(line);
    int rc = mdb_put(t, dbs_.entries, &k, &v, MDB_APPEND);
    if (rc == MDB_KEYEXIST) {
      return Invalid(fmt::format("a snapshot's entries must be in increasing seq order (at {})",
                                 entries[i].seq));
    }
    if (rc != 0) return LmdbError("reset", rc);
    EDGE_RETURN_IF_ERROR(IndexEntry(t, dbs_.keys, dbs_.blob_refs, decoded[i]));
  }
  return txn.Commit("reset");
}

Status SyncLog::FinishReset(uint64_t compacted_through) {
  {
    std::lock_guard guard(write_mutex_);
    compacted_through = std::min(compacted_through, head_.load());
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "reset"));
    MDB_txn* t = txn.get();
    // Blobs no entry of the snapshot names go (what a worker deleted
    // meanwhile used, and any fetched for an attempt that failed).
    std::vector<std::string> unnamed;
    {
      base::LmdbCursor cursor(t, dbs_.blobs);
      if (cursor.rc() != 0) return LmdbError("reset", cursor.rc());
      MDB_val k, v;
      int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
      for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
        StatusOr<std::optional<std::string_view>> refs =
            Get(t, dbs_.blob_refs, View(k), "reset");
        if (!refs.ok()) return refs.status();
        if (!refs->has_value()) unnamed.emplace_back(View(k));
      }
      if (rc != MDB_NOTFOUND) return LmdbError("reset", rc);
    }
    for (const std::string& sha : unnamed) EDGE_RETURN_IF_ERROR(Del(t, dbs_.blobs, sha, "reset"));
    EDGE_RETURN_IF_ERROR(PutCounter(t, dbs_.meta, "compacted_through", compacted_through));
    EDGE_RETURN_IF_ERROR(txn.Commit("reset"));
    compacted_through_.store(compacted_through);
    resetting_ = false;
  }
  NotifyAppend(head_.load());
  return Status::Ok();
}

StatusOr<std::optional<uint64_t>> SyncLog::LastWrite(const std::string& key) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  return GetNumber(txn.get(), dbs_.keys, StoreKey(key), "read");
}

Status SyncLog::PutMeta(const std::string& key, const std::string& value) {
  EDGE_RETURN_IF_ERROR(CheckMetaKey(key));
  std::lock_guard guard(write_mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "store meta"));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.meta, key, value, "store meta"));
  return txn.Commit("store meta");
}

StatusOr<std::optional<std::string>> SyncLog::GetMeta(const std::string& key) const {
  if (key.empty() || key.size() > kMaxKeyBytes) return std::optional<std::string>();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read meta"));
  StatusOr<std::optional<std::string_view>> value = Get(txn.get(), dbs_.meta, key, "read meta");
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<std::string>();
  return std::optional<std::string>(std::string(**value));
}

}  // namespace edge::sync
