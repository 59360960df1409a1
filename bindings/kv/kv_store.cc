#include "bindings/kv/kv_store.h"

#include "base/lmdb.h"
#include "base/log.h"

#include <fmt/core.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;

// LMDB keys are at most 511 bytes: 4 for the namespace id, 506 for the key,
// 1 for the bucket marker.
constexpr size_t kHeadBytes = 506;
constexpr char kBucketMarker = '\xFF';
constexpr size_t kBucketKeyBytes = 4 + kHeadBytes + 1;
constexpr size_t kMaxNamespaceBytes = 511;

constexpr base::LmdbNames kLmdbNames{"the KV store", "KV ", "store"};

Status LmdbError(std::string_view what, int rc) { return base::LmdbError(kLmdbNames, what, rc); }

using base::Be64;
using base::GetBe;
using base::PutBe32;
using base::PutBe64;
using base::Val;
using base::View;

void PutLeAt(char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string NamespacePrefix(uint32_t ns_id) {
  std::string out;
  PutBe32(out, ns_id);
  return out;
}

bool IsLongKey(std::string_view key) { return key.size() > kHeadBytes; }

// The `keys` entry that holds `key`: the key itself, or its bucket.
std::string MappingKey(uint32_t ns_id, std::string_view key) {
  std::string out = NamespacePrefix(ns_id);
  if (IsLongKey(key)) {
    out.append(key.substr(0, kHeadBytes));
    out.push_back(kBucketMarker);
  } else {
    out.append(key);
  }
  return out;
}

bool IsBucket(std::string_view mapping_key) {
  return mapping_key.size() == kBucketKeyBytes && mapping_key.back() == kBucketMarker;
}

// A bucket: the tails of the long keys that share its 506 bytes, sorted,
// each as [u8 length][tail][u64 record id].
struct BucketItem {
  std::string tail;
  uint64_t id;
};

StatusOr<std::vector<BucketItem>> ParseBucket(std::string_view data) {
  std::vector<BucketItem> items;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t length = static_cast<unsigned char>(data[pos]);
    if (pos + 1 + length + 8 > data.size()) {
      return Status(ErrorCode::kInternal, "KV store: corrupt bucket entry");
    }
    items.push_back({std::string(data.substr(pos + 1, length)),
                     GetBe(data.data() + pos + 1 + length, 8)});
    pos += 1 + length + 8;
  }
  return items;
}

std::string SerializeBucket(const std::vector<BucketItem>& items) {
  std::string out;
  for (const BucketItem& item : items) {
    out.push_back(static_cast<char>(item.tail.size()));
    out.append(item.tail);
    PutBe64(out, item.id);
  }
  return out;
}

// A record: [u64 expiration][u32 metadata length][metadata][u32 namespace
// id][u16 key length][key][value], integers little-endian.
struct RecordView {
  uint64_t expiration;
  std::string_view metadata;
  uint32_t ns_id;
  std::string_view key;
  std::string_view value;
};

StatusOr<RecordView> ParseRecord(std::string_view data) {
  if (data.size() < 12) return Status(ErrorCode::kInternal, "KV store: corrupt record");
  RecordView record;
  record.expiration = GetLe(data.data(), 8);
  size_t metadata_length = GetLe(data.data() + 8, 4);
  size_t pos = 12;
  if (pos + metadata_length + 6 > data.size()) {
    return Status(ErrorCode::kInternal, "KV store: corrupt record");
  }
  record.metadata = data.substr(pos, metadata_length);
  pos += metadata_length;
  record.ns_id = static_cast<uint32_t>(GetLe(data.data() + pos, 4));
  size_t key_length = GetLe(data.data() + pos + 4, 2);
  pos += 6;
  if (pos + key_length > data.size()) return Status(ErrorCode::kInternal, "KV store: corrupt record");
  record.key = data.substr(pos, key_length);
  record.value = data.substr(pos + key_length);
  return record;
}

bool Expired(uint64_t expiration, uint64_t now) { return expiration != 0 && expiration <= now; }

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status(ErrorCode::kTypeError, "Key name cannot be empty.");
  if (key == "." || key == "..") {
    return Status(ErrorCode::kTypeError, fmt::format("\"{}\" is not allowed as a key name.", key));
  }
  if (key.size() > kKvMaxKeyBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("UTF-8 encoded length of {} exceeds key length limit of {}.",
                              key.size(), kKvMaxKeyBytes));
  }
  return Status::Ok();
}

Status CheckNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > kMaxNamespaceBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("KV namespace ids must be 1 to {} bytes long", kMaxNamespaceBytes));
  }
  return Status::Ok();
}

// Cursors are the last key returned, in base64url without padding.
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string EncodeCursor(std::string_view key) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : key) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

std::optional<std::string> DecodeCursor(std::string_view cursor) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : cursor) {
    const char* found = static_cast<const char*>(memchr(kBase64Url, c, 64));
    if (found == nullptr || c == '\0') return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(found - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // a length no encoding produces
  if (out.empty() || out.size() > kKvMaxKeyBytes) return std::nullopt;
  return out;
}

// Every store open in this process, by folder, so that a second Open shares
// it: LMDB forbids opening one environment twice in a process (and
// base::LmdbEnv refuses to). A store being closed stays listed until it is
// closed, and an Open of the same folder waits for that.
struct Registry {
  std::mutex mutex;
  std::condition_variable closed;
  std::map<std::string, std::weak_ptr<KvStore>> stores;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: used by deleters at exit
  return *registry;
}

// Reads the record id stored for `key`, if any.
StatusOr<std::optional<uint64_t>> FindId(MDB_txn* txn, MDB_dbi keys, uint32_t ns_id,
                                         std::string_view key) {
  std::string mapping = MappingKey(ns_id, key);
  MDB_val k = Val(mapping), v;
  int rc = mdb_get(txn, keys, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<uint64_t>();
  if (rc != 0) return LmdbError("GET", rc);
  if (!IsLongKey(key)) {
    if (v.mv_size != 8) return Status(ErrorCode::kInternal, "KV store: corrupt key entry");
    return std::optional<uint64_t>(GetBe(static_cast<const char*>(v.mv_data), 8));
  }
  auto items = ParseBucket(View(v));
  if (!items.ok()) return items.status();
  std::string_view tail = key.substr(kHeadBytes);
  for (const BucketItem& item : *items) {
    if (item.tail == tail) return std::optional<uint64_t>(item.id);
  }
  return std::optional<uint64_t>();
}

Status SetId(MDB_txn* txn, MDB_dbi keys, uint32_t ns_id, std::string_view key, uint64_t id) {
  std::string mapping = MappingKey(ns_id, key);
  MDB_val k = Val(mapping);
  if (!IsLongKey(key)) {
    std::string value = Be64(id);
    MDB_val v = Val(value);
    int rc = mdb_put(txn, keys, &k, &v, 0);
    return rc == 0 ? Status::Ok() : LmdbError("PUT", rc);
  }
  MDB_val v;
  std::vector<BucketItem> items;
  int rc = mdb_get(txn, keys, &k, &v);
  if (rc == 0) {
    auto parsed = ParseBucket(View(v));
    if (!parsed.ok()) return parsed.status();
    items = std::move(parsed).value();
  } else if (rc != MDB_NOTFOUND) {
    return LmdbError("PUT", rc);
  }
  std::string tail(key.substr(kHeadBytes));
  auto it = std::lower_bound(items.begin(), items.end(), tail,
                             [](const BucketItem& item, const std::string& t) { return item.tail < t; });
  if (it != items.end() && it->tail == tail) {
    it->id = id;
  } else {
    items.insert(it, {tail, id});
  }
  std::string bucket = SerializeBucket(items);
  MDB_val data = Val(bucket);
  rc = mdb_put(txn, keys, &k, &data, 0);
  return rc == 0 ? Status::Ok() : LmdbError("PUT", rc);
}

// Removes the mapping of `key` if it still names record `id`.
Status RemoveId(MDB_txn* txn, MDB_dbi keys, uint32_t ns_id, std::string_view key, uint64_t id) {
  std::string mapping = MappingKey(ns_id, key);
  MDB_val k = Val(mapping), v;
  int rc = mdb_get(txn, keys, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  if (rc != 0) return LmdbError("DELETE", rc);
  if (!IsLongKey(key)) {
    if (v.mv_size != 8 || GetBe(static_cast<const char*>(v.mv_data), 8) != id) return Status::Ok();
    rc = mdb_del(txn, keys, &k, nullptr);
    return rc == 0 ? Status::Ok() : LmdbError("DELETE", rc);
  }
  auto items = ParseBucket(View(v));
  if (!items.ok()) return items.status();
  std::string_view tail = key.substr(kHeadBytes);
  auto it = std::find_if(items->begin(), items->end(),
                         [&](const BucketItem& item) { return item.tail == tail && item.id == id; });
  if (it == items->end()) return Status::Ok();
  items->erase(it);
  if (items->empty()) {
    rc = mdb_del(txn, keys, &k, nullptr);
  } else {
    std::string bucket = SerializeBucket(*items);
    MDB_val data = Val(bucket);
    rc = mdb_put(txn, keys, &k, &data, 0);
  }
  return rc == 0 ? Status::Ok() : LmdbError("DELETE", rc);
}

StatusOr<uint64_t> NextCounter(MDB_txn* txn, MDB_dbi meta, std::string_view name, int bytes) {
  MDB_val k = Val(name), v;
  uint64_t next = 1;
  int rc = mdb_get(txn, meta, &k, &v);
  if (rc == 0) {
    if (static_cast<int>(v.mv_size) != bytes) return Status(ErrorCode::kInternal, "KV store: corrupt counter");
    next = GetBe(static_cast<const char*>(v.mv_data), bytes);
  } else if (rc != MDB_NOTFOUND) {
    return LmdbError("PUT", rc);
  }
  if (bytes == 4 && next >= 0xFFFFFFFFu) {
    return Status(ErrorCode::kIo, "KV store: too many namespaces");
  }
  std::string stored;
  if (bytes == 4) {
    PutBe32(stored, static_cast<uint32_t>(next + 1));
  } else {
    PutBe64(stored, next + 1);
  }
  MDB_val data = Val(stored);
  rc = mdb_put(txn, meta, &k, &data, 0);
  if (rc != 0) return LmdbError("PUT", rc);
  return next;
}

}  // namespace

StatusOr<std::shared_ptr<KvStore>> KvStore::Open(const std::string& state_dir) {
  return Open(state_dir, Options{});
}

StatusOr<std::shared_ptr<KvStore>> KvStore::Open(const std::string& state_dir,
                                                 const Options& options) {
  StatusOr<std::string> made =
      base::MakeStoreDir((fs::path(state_dir) / "kv").string(), /*private_dir=*/false);
  if (!made.ok()) return made.status();
  const std::string& path = *made;

  Registry& registry = GetRegistry();
  std::unique_lock lock(registry.mutex);
  for (;;) {
    auto it = registry.stores.find(path);
    if (it == registry.stores.end()) break;
    if (std::shared_ptr<KvStore> store = it->second.lock()) return store;
    registry.closed.wait(lock);  // the last user is closing it
  }

  Dbs dbs;
  base::LmdbOptions lmdb;
  lmdb.names = kLmdbNames;
  lmdb.map_size = options.map_size;
  // A smaller reservation is better than no store.
  lmdb.shrink_on_enomem = 8;
  // The thread pool runs read transactions wherever it likes (MDB_NOTLS),
  // many at once. Commits fsync: an acknowledged put is on disk.
  lmdb.max_readers = 512;
  lmdb.file_mode = 0644;
  lmdb.dbs = {{"meta", &dbs.meta},     {"namespaces", &dbs.namespaces},
              {"keys", &dbs.keys},     {"records", &dbs.records},
              {"expiry", &dbs.expiry}, {"replica", &dbs.replica}};
  lmdb.init = [&](MDB_txn* txn) -> Status {
    MDB_val format_key = Val("format"), format_value;
    int rc = mdb_get(txn, dbs.meta, &format_key, &format_value);
    if (rc == MDB_NOTFOUND) {
      MDB_val one = Val("1");
      rc = mdb_put(txn, dbs.meta, &format_key, &one, 0);
    } else if (rc == 0 && View(format_value) != "1") {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: KV store format {} is not supported by this edge", path,
                                View(format_value)));
    }
    if (rc != 0) {
      return Status(ErrorCode::kIo,
                    fmt::format("cannot open the KV store in {}: {}", path, mdb_strerror(rc)));
    }
    return Status::Ok();
  };
  StatusOr<std::unique_ptr<base::LmdbEnv>> env = base::LmdbEnv::Open(path, lmdb);
  if (!env.ok()) return env.status();

  // The deleter closes the environment and unlists it under the registry's
  // lock, so a concurrent Open of the same folder waits for the close.
  std::shared_ptr<KvStore> store(new KvStore(std::move(env).value(), dbs), [](KvStore* doomed) {
    Registry& registry = GetRegistry();
    std::lock_guard guard(registry.mutex);
    std::string key = doomed->path();
    delete doomed;
    registry.stores.erase(key);
    registry.closed.notify_all();
  });
  registry.stores[path] = store;
  return store;
}

KvStore::~KvStore() = default;

uint64_t KvStore::Now() const {
  int64_t now = static_cast<int64_t>(time(nullptr)) + clock_offset_.load();
  return now < 0 ? 0 : static_cast<uint64_t>(now);
}

StatusOr<uint32_t> KvStore::FindNamespace(MDB_txn* txn, std::string_view ns) const {
  {
    std::lock_guard guard(namespaces_mutex_);
    auto it = namespace_ids_.find(std::string(ns));
    if (it != namespace_ids_.end()) return it->second;
  }
  MDB_val k = Val(ns), v;
  int rc = mdb_get(txn, dbs_.namespaces, &k, &v);
  if (rc == MDB_NOTFOUND) return uint32_t{0};
  if (rc != 0) return LmdbError("GET", rc);
  if (v.mv_size != 4) return Status(ErrorCode::kInternal, "KV store: corrupt namespace entry");
  auto id = static_cast<uint32_t>(GetBe(static_cast<const char*>(v.mv_data), 4));
  // Ids are never reassigned: what a committed transaction shows is final.
  std::lock_guard guard(namespaces_mutex_);
  namespace_ids_.emplace(std::string(ns), id);
  return id;
}

StatusOr<uint32_t> KvStore::FindOrCreateNamespace(MDB_txn* txn, std::string_view ns,
                                                  bool* created) const {
  *created = false;
  auto found = FindNamespace(txn, ns);
  if (!found.ok() || *found != 0) return found;
  auto next = NextCounter(txn, dbs_.meta, "next_ns", 4);
  if (!next.ok()) return next.status();
  std::string id_bytes;
  PutBe32(id_bytes, static_cast<uint32_t>(*next));
  MDB_val k = Val(ns), v = Val(id_bytes);
  int rc = mdb_put(txn, dbs_.namespaces, &k, &v, 0);
  if (rc != 0) return LmdbError("PUT", rc);
  *created = true;
  return static_cast<uint32_t>(*next);
}

StatusOr<std::optional<KvEntry>> KvStore::GetIn(MDB_txn* txn, uint32_t ns_id,
                                                std::string_view key, uint64_t now) const {
  auto id = FindId(txn, dbs_.keys, ns_id, key);
  if (!id.ok()) return id.status();
  if (!id->has_value()) return std::optional<KvEntry>();
  std::string id_key = Be64(**id);
  MDB_val k = Val(id_key), v;
  int rc = mdb_get(txn, dbs_.records, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<KvEntry>();
  if (rc != 0) return LmdbError("GET", rc);
  auto record = ParseRecord(View(v));
  if (!record.ok()) return record.status();
  if (Expired(record->expiration, now)) return std::optional<KvEntry>();
  KvEntry entry;
  entry.value.assign(record->value);  // the one copy out of the map
  entry.metadata.assign(record->metadata);
  entry.expiration = record->expiration;
  return std::optional<KvEntry>(std::move(entry));
}

StatusOr<std::optional<KvEntry>> KvStore::Get(std::string_view ns, std::string_view key) const {
  EDGE_RETURN_IF_ERROR(CheckNamespace(ns));
  EDGE_RETURN_IF_ERROR(CheckKey(key));
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "GET"));
  auto ns_id = FindNamespace(txn.get(), ns);
  if (!ns_id.ok()) return ns_id.status();
  if (*ns_id == 0) return std::optional<KvEntry>();
  return GetIn(txn.get(), *ns_id, key, Now());
}

StatusOr<std::vector<std::optional<KvEntry>>> KvStore::GetMany(
    std::string_view ns, const std::vector<std::string>& keys) const {
  EDGE_RETURN_IF_ERROR(CheckNamespace(ns));
  for (const std::string& key : keys) EDGE_RETURN_IF_ERROR(CheckKey(key));
  std::vector<std::optional<KvEntry>> results(keys.size());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "GET_BULK"));
  auto ns_id = FindNamespace(txn.get(), ns);
  if (!ns_id.ok()) return ns_id.status();
  if (*ns_id == 0) return results;
  uint64_t now = Now();
  for (size_t i = 0; i < keys.size(); ++i) {
    auto entry = GetIn(txn.get(), *ns_id, keys[i], now);
    if (!entry.ok()) return entry.status();
    results[i] = std::move(entry).value();
  }
  return results;
}

Status KvStore::DropRecord(MDB_txn* txn, uint64_t id) const {
  std::string id_key = Be64(id);
  MDB_val k = Val(id_key), v;
  int rc = mdb_get(txn, dbs_.records, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  if (rc != 0) return LmdbError("DELETE", rc);
  auto record = ParseRecord(View(v));
  if (!record.ok()) return record.status();
  if (record->expiration != 0) {
    std::string expiry_key = Be64(record->expiration) + id_key;
    MDB_val ek = Val(expiry_key);
    rc = mdb_del(txn, dbs_.expiry, &ek, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("DELETE", rc);
  }
  rc = mdb_del(txn, dbs_.records, &k, nullptr);
  return rc == 0 ? Status::Ok() : LmdbError("DELETE", rc);
}

namespace {

Status CheckPut(std::string_view ns, std::string_view key, std::string_view value,
                std::string_view metadata) {
  EDGE_RETURN_IF_ERROR(CheckNamespace(ns));
  EDGE_RETURN_IF_ERROR(CheckKey(key));
  if (value.size() > kKvMaxValueBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Value length of {} exceeds limit of {}.", value.size(),
                              kKvMaxValueBytes));
  }
  if (metadata.size() > kKvMaxMetadataBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Metadata length of {} exceeds limit of {}.", metadata.size(),
                              kKvMaxMetadataBytes));
  }
  return Status::Ok();
}

constexpr size_t kMaxReplicaKeyBytes = 511;

Status CheckReplicaKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxReplicaKeyBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("KV replica meta keys are 1 to {} bytes long", kMaxReplicaKeyBytes));
  }
  return Status::Ok();
}

}  // namespace

void KvStore::RememberNamespace(std::string_view ns, uint32_t id) {
  std::lock_guard guard(namespaces_mutex_);
  namespace_ids_.emplace(std::string(ns), id);
}

StatusOr<uint32_t> KvStore::PutIn(MDB_txn* txn, std::string_view ns, std::string_view key,
                                  std::string_view value, std::string_view metadata,
                                  uint64_t expiration, bool* created) {
  auto ns_id = FindOrCreateNamespace(txn, ns, created);
  if (!ns_id.ok()) return ns_id.status();

  auto existing = FindId(txn, dbs_.keys, *ns_id, key);
  if (!existing.ok()) return existing.status();
  uint64_t id;
  if (existing->has_value()) {
    id = **existing;
    // The old record's expiry entry goes; the record is overwritten below.
    EDGE_RETURN_IF_ERROR(DropRecord(txn, id));
  } else {
    auto next = NextCounter(txn, dbs_.meta, "next_id", 8);
    if (!next.ok()) return next.status();
    id = *next;
    EDGE_RETURN_IF_ERROR(SetId(txn, dbs_.keys, *ns_id, key, id));
  }

  std::string id_key = Be64(id);
  MDB_val k = Val(id_key);
  size_t header = 8 + 4 + metadata.size() + 4 + 2 + key.size();
  MDB_val v{header + value.size(), nullptr};
  // MDB_RESERVE: the value is copied once, straight into the map.
  int rc = mdb_put(txn, dbs_.records, &k, &v, MDB_RESERVE);
  if (rc != 0) return LmdbError("PUT", rc);
  char* out = static_cast<char*>(v.mv_data);
  PutLeAt(out, expiration, 8);
  PutLeAt(out + 8, metadata.size(), 4);
  if (!metadata.empty()) memcpy(out + 12, metadata.data(), metadata.size());
  char* pos = out + 12 + metadata.size();
  PutLeAt(pos, *ns_id, 4);
  PutLeAt(pos + 4, key.size(), 2);
  memcpy(pos + 6, key.data(), key.size());
  if (!value.empty()) memcpy(pos + 6 + key.size(), value.data(), value.size());

  if (expiration != 0) {
    std::string expiry_key = Be64(expiration) + id_key;
    MDB_val ek = Val(expiry_key), empty{0, nullptr};
    rc = mdb_put(txn, dbs_.expiry, &ek, &empty, 0);
    if (rc != 0) return LmdbError("PUT", rc);
  }
  return *ns_id;
}

StatusOr<bool> KvStore::DeleteIn(MDB_txn* txn, std::string_view ns, std::string_view key) {
  auto ns_id = FindNamespace(txn, ns);
  if (!ns_id.ok()) return ns_id.status();
  if (*ns_id == 0) return false;
  auto id = FindId(txn, dbs_.keys, *ns_id, key);
  if (!id.ok()) return id.status();
  if (!id->has_value()) return false;
  EDGE_RETURN_IF_ERROR(DropRecord(txn, **id));
  EDGE_RETURN_IF_ERROR(RemoveId(txn, dbs_.keys, *ns_id, key, **id));
  return true;
}

std::shared_ptr<const KvStore::WriteHook> KvStore::Hook() const {
  std::lock_guard guard(hook_mutex_);
  return hook_;
}

void KvStore::SetWriteHook(WriteHook hook) {
  std::shared_ptr<const WriteHook> next;
  if (hook) next = std::make_shared<const WriteHook>(std::move(hook));
  std::lock_guard guard(hook_mutex_);
  hook_.swap(next);
  // The previous hook is released after the lock (a write may still hold
  // it).
}

Status KvStore::Put(std::string_view ns, std::string_view key, std::string_view value,
                    std::string_view metadata, uint64_t expiration) {
  EDGE_RETURN_IF_ERROR(CheckPut(ns, key, value, metadata));
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "PUT"));
  bool created = false;
  auto ns_id = PutIn(txn.get(), ns, key, value, metadata, expiration, &created);
  if (!ns_id.ok()) return ns_id.status();
  if (std::shared_ptr<const WriteHook> hook = Hook()) {
    EDGE_RETURN_IF_ERROR((*hook)(KvWrite{false, std::string(ns), std::string(key),
                                         std::string(value), std::string(metadata), expiration}));
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("PUT"));
  if (created) RememberNamespace(ns, *ns_id);
  return Status::Ok();
}

Status KvStore::Delete(std::string_view ns, std::string_view key) {
  EDGE_RETURN_IF_ERROR(CheckNamespace(ns));
  EDGE_RETURN_IF_ERROR(CheckKey(key));
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "DELETE"));
  auto changed = DeleteIn(txn.get(), ns, key);
  if (!changed.ok()) return changed.status();
  // Heard even when nothing changed here: the key may live elsewhere in the
  // fleet.
  if (std::shared_ptr<const WriteHook> hook = Hook()) {
    EDGE_RETURN_IF_ERROR((*hook)(KvWrite{true, std::string(ns), std::string(key), {}, {}, 0}));
  }
  // Nothing changed: the transaction is aborted, nothing to write.
  if (*changed) EDGE_RETURN_IF_ERROR(txn.Commit("DELETE"));
  return Status::Ok();
}

Status KvStore::Apply(const KvWrite& write, std::string_view meta_key,
                      std::string_view meta_value) {
  EDGE_RETURN_IF_ERROR(CheckReplicaKey(meta_key));
  if (write.is_delete) {
    EDGE_RETURN_IF_ERROR(CheckNamespace(write.ns));
    EDGE_RETURN_IF_ERROR(CheckKey(write.key));
  } else {
    EDGE_RETURN_IF_ERROR(CheckPut(write.ns, write.key, write.value, write.metadata));
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "apply"));
  bool created = false;
  uint32_t ns_id = 0;
  if (write.is_delete) {
    auto changed = DeleteIn(txn.get(), write.ns, write.key);
    if (!changed.ok()) return changed.status();
  } else {
    auto id = PutIn(txn.get(), write.ns, write.key, write.value, write.metadata, write.expiration,
                    &created);
    if (!id.ok()) return id.status();
    ns_id = *id;
  }
  MDB_val k = Val(meta_key), v = Val(meta_value);
  int rc = mdb_put(txn.get(), dbs_.replica, &k, &v, 0);
  if (rc != 0) return LmdbError("apply", rc);
  EDGE_RETURN_IF_ERROR(txn.Commit("apply"));
  if (created) RememberNamespace(write.ns, ns_id);
  return Status::Ok();
}

Status KvStore::ApplyBatch(const std::vector<KvWrite>& writes, std::string_view meta_key,
                           std::string_view meta_value) {
  if (!meta_key.empty()) EDGE_RETURN_IF_ERROR(CheckReplicaKey(meta_key));
  for (const KvWrite& write : writes) {
    if (write.is_delete) {
      EDGE_RETURN_IF_ERROR(CheckNamespace(write.ns));
      EDGE_RETURN_IF_ERROR(CheckKey(write.key));
    } else {
      EDGE_RETURN_IF_ERROR(CheckPut(write.ns, write.key, write.value, write.metadata));
    }
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "apply"));
  std::vector<std::pair<std::string_view, uint32_t>> created_namespaces;
  for (const KvWrite& write : writes) {
    if (write.is_delete) {
      auto changed = DeleteIn(txn.get(), write.ns, write.key);
      if (!changed.ok()) return changed.status();
    } else {
      bool created = false;
      auto id = PutIn(txn.get(), write.ns, write.key, write.value, write.metadata,
                      write.expiration, &created);
      if (!id.ok()) return id.status();
      if (created) created_namespaces.emplace_back(write.ns, *id);
    }
  }
  if (!meta_key.empty()) {
    MDB_val k = Val(meta_key), v = Val(meta_value);
    int rc = mdb_put(txn.get(), dbs_.replica, &k, &v, 0);
    if (rc != 0) return LmdbError("apply", rc);
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("apply"));
  for (const auto& [ns, id] : created_namespaces) RememberNamespace(ns, id);
  return Status::Ok();
}

StatusOr<std::vector<std::string>> KvStore::Namespaces(std::string_view prefix) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "list namespaces"));
  base::LmdbCursor cursor(txn.get(), dbs_.namespaces);
  if (cursor.rc() != 0) return LmdbError("list namespaces", cursor.rc());
  std::vector<std::string> names;
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    if (!View(k).starts_with(prefix)) break;
    names.emplace_back(View(k));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("list namespaces", rc);
  return names;
}

StatusOr<std::optional<std::string>> KvStore::GetMeta(std::string_view key) const {
  if (!CheckReplicaKey(key).ok()) return std::optional<std::string>();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "GET"));
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn.get(), dbs_.replica, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbError("GET", rc);
  return std::optional<std::string>(std::string(View(v)));
}

StatusOr<KvListResult> KvStore::List(std::string_view ns, std::string_view prefix, size_t limit,
                                     std::string_view cursor) const {
  EDGE_RETURN_IF_ERROR(CheckNamespace(ns));
  if (limit == 0 || limit > kKvMaxListLimit) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Invalid key_count_limit of {}. Please specify an integer from 1 "
                              "to {}.",
                              limit, kKvMaxListLimit));
  }
  if (prefix.size() > kKvMaxKeyBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("UTF-8 encoded length of {} exceeds key length limit of {}.",
                              prefix.size(), kKvMaxKeyBytes));
  }
  std::optional<std::string> after;
  if (!cursor.empty()) {
    after = DecodeCursor(cursor);
    if (!after) return Status(ErrorCode::kInvalidInput, "Invalid cursor.");
  }
  KvListResult result;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "LIST"));
  auto ns_id = FindNamespace(txn.get(), ns);
  if (!ns_id.ok()) return ns_id.status();
  if (*ns_id == 0) return result;
  uint64_t now = Now();

  // Every key at or after `start` maps at or after ns + start[0, 506).
  std::string_view start = prefix;
  if (after && *after > start) start = *after;
  std::string ns_prefix = NamespacePrefix(*ns_id);
  std::string seek = ns_prefix;
  seek.append(start.substr(0, std::min(start.size(), kHeadBytes)));

  base::LmdbCursor keys(txn.get(), dbs_.keys);
  if (keys.rc() != 0) return LmdbError("LIST", keys.rc());
  MDB_val k = Val(seek), v;
  int rc = mdb_cursor_get(keys.get(), &k, &v, MDB_SET_RANGE);
  bool more = false;
  bool done = false;
  // Looks at one key in order; returns false to stop.
  auto visit = [&](std::string_view name, uint64_t id) -> StatusOr<bool> {
    if (name < prefix || (after && name <= *after)) return true;
    if (!name.starts_with(prefix)) return false;  // past the prefix: no more
    std::string id_key = Be64(id);
    MDB_val rk = Val(id_key), rv;
    int get = mdb_get(txn.get(), dbs_.records, &rk, &rv);
    if (get == MDB_NOTFOUND) return true;
    if (get != 0) return LmdbError("LIST", get);
    auto record = ParseRecord(View(rv));
    if (!record.ok()) return record.status();
    if (Expired(record->expiration, now)) return true;
    if (result.keys.size() == limit) {
      more = true;
      return false;
    }
    result.keys.push_back(
        {std::string(name), record->expiration, std::string(record->metadata)});
    return true;
  };
  while (rc == 0 && !done) {
    std::string_view mapping = View(k);
    if (!mapping.starts_with(ns_prefix)) break;
    if (IsBucket(mapping)) {
      auto items = ParseBucket(View(v));
      if (!items.ok()) return items.status();
      std::string name(mapping.substr(4, kHeadBytes));
      for (const BucketItem& item : *items) {
        name.resize(kHeadBytes);
        name.append(item.tail);
        auto go_on = visit(name, item.id);
        if (!go_on.ok()) return go_on.status();
        if (!*go_on) {
          done = true;
          break;
        }
      }
    } else {
      if (v.mv_size != 8) return Status(ErrorCode::kInternal, "KV store: corrupt key entry");
      auto go_on = visit(mapping.substr(4), GetBe(static_cast<const char*>(v.mv_data), 8));
      if (!go_on.ok()) return go_on.status();
      done = !*go_on;
    }
    if (!done) rc = mdb_cursor_get(keys.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("LIST", rc);
  result.complete = !more;
  if (more) result.cursor = EncodeCursor(result.keys.back().name);
  return result;
}

StatusOr<size_t> KvStore::SweepExpired(uint64_t now, size_t max) {
  if (max == 0) return size_t{0};
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "sweep"));
  // Collect the batch first: deleting through another handle would move
  // the cursor under our feet.
  std::vector<std::string> batch;  // expiry keys: expiration + record id
  {
    base::LmdbCursor expiry(txn.get(), dbs_.expiry);
    if (expiry.rc() != 0) return LmdbError("sweep", expiry.rc());
    MDB_val k, v;
    int rc = mdb_cursor_get(expiry.get(), &k, &v, MDB_FIRST);
    while (rc == 0 && batch.size() < max) {
      if (k.mv_size != 16) return Status(ErrorCode::kInternal, "KV store: corrupt expiry entry");
      if (GetBe(static_cast<const char*>(k.mv_data), 8) > now) break;
      batch.emplace_back(View(k));
      rc = mdb_cursor_get(expiry.get(), &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("sweep", rc);
  }
  if (batch.empty()) return size_t{0};
  for (const std::string& expiry_key : batch) {
    uint64_t id = GetBe(expiry_key.data() + 8, 8);
    std::string id_key = Be64(id);
    MDB_val k = Val(id_key), v;
    int rc = mdb_get(txn.get(), dbs_.records, &k, &v);
    if (rc == 0) {
      auto record = ParseRecord(View(v));
      if (!record.ok()) return record.status();
      // Copies: the record's bytes go away with DropRecord.
      std::string key(record->key);
      uint32_t ns_id = record->ns_id;
      EDGE_RETURN_IF_ERROR(RemoveId(txn.get(), dbs_.keys, ns_id, key, id));
      EDGE_RETURN_IF_ERROR(DropRecord(txn.get(), id));
    } else if (rc != MDB_NOTFOUND) {
      return LmdbError("sweep", rc);
    }
    // Gone with the record, unless the two disagreed: make sure.
    MDB_val ek = Val(expiry_key);
    rc = mdb_del(txn.get(), dbs_.expiry, &ek, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError("sweep", rc);
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("sweep"));
  return batch.size();
}

// The sweeper's state lives on the heap: the timer handle must outlive
// uv_close, and a sweep on the pool must find it when it comes back.
struct KvSweeper::State {
  State(uv_loop_t* l, std::shared_ptr<KvStore> s, uint64_t interval)
      : loop(l), store(std::move(s)), interval_ms(interval) {}

  uv_loop_t* loop;
  std::shared_ptr<KvStore> store;
  uint64_t interval_ms;
  uv_timer_t timer{};
  int refs = 1;          // the owner + the open timer + sweeps in flight (loop thread)
  bool started = false;
  bool stopped = false;
  bool running = false;  // a sweep is on the pool
  std::atomic<uint64_t> swept{0};

  void Unref() {
    if (--refs == 0) delete this;
  }

  struct Job {
    uv_work_t request{};
    State* state = nullptr;
    size_t deleted = 0;
    Status status;
  };
};

KvSweeper::KvSweeper(uv_loop_t* loop, std::shared_ptr<KvStore> store, uint64_t interval_ms)
    : state_(new State(loop, std::move(store), interval_ms)) {}

KvSweeper::~KvSweeper() {
  Stop();
  state_->Unref();
}

void KvSweeper::Start() {
  State* state = state_;
  if (state->started || state->stopped) return;
  state->started = true;
  uv_timer_init(state->loop, &state->timer);
  state->timer.data = state;
  state->refs++;
  uv_timer_start(
      &state->timer,
      [](uv_timer_t* timer) {
        auto* state = static_cast<State*>(timer->data);
        if (state->running || state->stopped) return;
        state->running = true;
        state->refs++;
        auto* job = new State::Job;
        job->state = state;
        job->request.data = job;
        uv_queue_work(
            state->loop, &job->request,
            [](uv_work_t* request) {
              auto* job = static_cast<State::Job*>(request->data);
              KvStore& store = *job->state->store;
              for (size_t i = 0; i < kMaxBatchesPerRun; ++i) {
                StatusOr<size_t> deleted = store.SweepExpired(store.Now(), kBatch);
                if (!deleted.ok()) {
                  job->status = deleted.status();
                  break;
                }
                job->deleted += *deleted;
                if (*deleted < kBatch) break;
              }
            },
            [](uv_work_t* request, int) {
              std::unique_ptr<State::Job> job(static_cast<State::Job*>(request->data));
              State* state = job->state;
              state->running = false;
              state->swept += job->deleted;
              if (!job->status.ok()) {
                Log(LogLevel::kWarn, "KV sweep: {}", job->status.message());
              } else if (job->deleted > 0) {
                Log(LogLevel::kDebug, "KV sweep: {} expired entries deleted", job->deleted);
              }
              state->Unref();
            });
      },
      state->interval_ms, state->interval_ms);
  uv_unref(reinterpret_cast<uv_handle_t*>(&state->timer));
}

void KvSweeper::Stop() {
  State* state = state_;
  if (state->stopped) return;
  state->stopped = true;
  if (!state->started) return;
  uv_timer_stop(&state->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&state->timer),
           [](uv_handle_t* handle) { static_cast<State*>(handle->data)->Unref(); });
}

uint64_t KvSweeper::swept() const { return state_->swept.load(); }

}  // namespace edge::bindings
