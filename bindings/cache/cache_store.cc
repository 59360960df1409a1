#include "bindings/cache/cache_store.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/per_path_registry.h"
#include "base/sha256.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;

using base::GetBe;
using base::PutBe32;
using base::PutBe64;
using base::Val;
using base::View;

constexpr base::LmdbNames kLmdbNames{"the cache store", "cache store: ", "cache store"};
// A hit moves an entry's last use at most this often.
constexpr int64_t kTouchEveryMs = 60'000;
// Expired entries a put removes on its way.
constexpr size_t kSweepPerPut = 16;
// Record format marker.
constexpr std::string_view kRecordMagic = "C1";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutString(std::string& out, std::string_view text) {
  PutBe32(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

// Reads what PutBe32/PutBe64/PutString wrote; every read fails (and stays
// failed) past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == bytes_.size(); }
  uint64_t Int(int size) {
    if (!ok_ || bytes_.size() - pos_ < static_cast<size_t>(size)) {
      ok_ = false;
      return 0;
    }
    uint64_t value = GetBe(bytes_.data() + pos_, size);
    pos_ += size;
    return value;
  }
  std::string String() {
    uint64_t size = Int(4);
    if (!ok_ || bytes_.size() - pos_ < size) {
      ok_ = false;
      return {};
    }
    std::string text(bytes_.substr(pos_, size));
    pos_ += size;
    return text;
  }
  std::string_view Raw(size_t size) {
    if (!ok_ || bytes_.size() - pos_ < size) {
      ok_ = false;
      return {};
    }
    std::string_view raw = bytes_.substr(pos_, size);
    pos_ += size;
    return raw;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

uint64_t ToU64(int64_t ms) { return ms < 0 ? 0 : static_cast<uint64_t>(ms); }

std::string Be32(uint32_t value) {
  std::string out;
  PutBe32(out, value);
  return out;
}

std::string Be64(uint64_t value) {
  std::string out;
  PutBe64(out, value);
  return out;
}

// The `keys` row of a key: owner id + SHA-256 of the cache and the URL.
std::string IndexKey(uint32_t owner_id, const CacheKey& key) {
  std::string hashed;
  hashed.push_back(key.is_default ? 'd' : 'n');
  PutString(hashed, key.is_default ? std::string_view() : std::string_view(key.name));
  hashed.append(key.url);
  std::string out = Be32(owner_id);
  out.append(base::Sha256(hashed));
  return out;
}

std::string LruKey(uint64_t last_use, uint64_t id) { return Be64(last_use) + Be64(id); }
std::string OwnerLruKey(uint32_t owner_id, uint64_t last_use, uint64_t id) {
  return Be32(owner_id) + Be64(last_use) + Be64(id);
}

Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value,
           std::string_view what) {
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc != 0) return base::LmdbError(kLmdbNames, what, rc);
  return Status::Ok();
}

Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view what) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return base::LmdbError(kLmdbNames, what, rc);
  return Status::Ok();
}

// The u64 under `key` in `dbi` (0 when absent or malformed).
StatusOr<uint64_t> GetU64(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return uint64_t{0};
  if (rc != 0) return base::LmdbError(kLmdbNames, "read", rc);
  if (v.mv_size != 8) return uint64_t{0};
  return GetBe(static_cast<const char*>(v.mv_data), 8);
}

// `used` - `amount`, never below zero (a corrupt counter heals).
uint64_t Minus(uint64_t used, uint64_t amount) { return used > amount ? used - amount : 0; }

}  // namespace

// An entry's record, as stored in `entries`.
struct CacheStore::Record {
  uint32_t owner_id = 0;
  uint64_t expires_ms = 0;
  uint64_t last_use_ms = 0;
  uint64_t body_size = 0;
  uint64_t accounted = 0;
  uint32_t status = 200;
  std::string status_text;
  bool is_default = true;
  std::string name;
  std::string url;
  CacheHeaders headers;

  std::string Encode() const {
    std::string out(kRecordMagic);
    PutBe32(out, owner_id);
    PutBe64(out, expires_ms);
    PutBe64(out, last_use_ms);
    PutBe64(out, body_size);
    PutBe64(out, accounted);
    PutBe32(out, status);
    PutString(out, status_text);
    out.push_back(is_default ? 'd' : 'n');
    PutString(out, name);
    PutString(out, url);
    PutBe32(out, static_cast<uint32_t>(headers.size()));
    for (const auto& [header, value] : headers) {
      PutString(out, header);
      PutString(out, value);
    }
    return out;
  }

  static std::optional<Record> Decode(std::string_view bytes) {
    Reader in(bytes);
    if (in.Raw(kRecordMagic.size()) != kRecordMagic) return std::nullopt;
    Record record;
    record.owner_id = static_cast<uint32_t>(in.Int(4));
    record.expires_ms = in.Int(8);
    record.last_use_ms = in.Int(8);
    record.body_size = in.Int(8);
    record.accounted = in.Int(8);
    record.status = static_cast<uint32_t>(in.Int(4));
    record.status_text = in.String();
    std::string_view kind = in.Raw(1);
    record.is_default = kind == "d";
    record.name = in.String();
    record.url = in.String();
    uint64_t count = in.Int(4);
    if (!in.ok() || (kind != "d" && kind != "n") || record.status < 200 ||
        record.status > 599 || count > bytes.size() / 8) {
      return std::nullopt;
    }
    record.headers.reserve(count);
    for (uint64_t i = 0; i < count && in.ok(); ++i) {
      std::string header = in.String();
      std::string value = in.String();
      record.headers.emplace_back(std::move(header), std::move(value));
    }
    if (!in.done()) return std::nullopt;
    return record;
  }
};

// ---------------------------------------------------------------------------
// CacheFile

CacheFile::~CacheFile() { Close(); }

CacheFile& CacheFile::operator=(CacheFile&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void CacheFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StatusOr<std::string> CacheFile::Read(uint64_t offset, size_t length) const {
  std::string out(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status(ErrorCode::kIo, fmt::format("cache store: reading a body: {}", strerror(errno)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

// ---------------------------------------------------------------------------
// CacheWriter

CacheWriter::~CacheWriter() {
  if (!committed_) Abort();
}

Status CacheWriter::Write(std::string_view bytes) {
  if (aborted_) return Status(ErrorCode::kInvalidInput, "cache store: the put was aborted");
  if (bytes.size() > store_->limits().max_entry_bytes - std::min(written_, store_->limits().max_entry_bytes)) {
    Abort();
    return Status(ErrorCode::kRangeError,
                  fmt::format("the body is larger than the cache's limit of {} bytes per entry",
                              store_->limits().max_entry_bytes));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(file_.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      Abort();
      return Status(ErrorCode::kIo, fmt::format("cache store: writing a body: {}", strerror(error)));
    }
    done += static_cast<size_t>(n);
  }
  written_ += bytes.size();
  return Status::Ok();
}

Status CacheWriter::Commit() {
  if (aborted_) return Status(ErrorCode::kInvalidInput, "cache store: the put was aborted");
  Status status = store_->Commit(*this);
  if (!status.ok()) Abort();
  return status;
}

void CacheWriter::Abort() {
  if (committed_ || aborted_) return;
  aborted_ = true;
  file_.Close();
  ::unlink(path_.c_str());
}

// ---------------------------------------------------------------------------
// CacheStore

std::shared_ptr<CacheStore> CacheStore::Open(const std::string& state_dir, CacheLimits limits,
                                             Clock clock) {
  std::error_code ec;
  fs::path dir = fs::path(state_dir) / "cache";
  fs::path absolute = fs::absolute(dir, ec);
  std::string path = (ec ? dir : absolute.lexically_normal()).string();
  // One store per folder per process (base/per_path_registry.h).
  return base::PerPathRegistry<CacheStore>::Get(path, [&] {
    return new CacheStore(path, limits, clock ? std::move(clock) : WallMs);
  });
}

CacheStore::~CacheStore() = default;

int64_t CacheStore::Now() const { return clock_() + clock_offset_ms_.load(); }

Status CacheStore::EnsureOpen() {
  if (open_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard lock(open_mutex_);
  if (open_.load()) return Status::Ok();
  for (const char* sub : {"index", "bodies", "tmp"}) {
    StatusOr<std::string> made =
        base::MakeStoreDir((fs::path(path_) / sub).string(), /*private_dir=*/true);
    if (!made.ok()) return made.status();
  }
  // Bodies a stopped process was writing.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(path_) / "tmp", ec)) {
    fs::remove(entry.path(), ec);
  }
  base::LmdbOptions lmdb;
  lmdb.names = kLmdbNames;
  lmdb.map_size = size_t{1} << 36;  // 64 GiB of address space: records only
  lmdb.shrink_on_enomem = 8;
  lmdb.max_readers = 512;
  lmdb.max_dbs = 10;
  Dbs dbs{};
  lmdb.dbs = {{"meta", &dbs.meta},         {"owners", &dbs.owners}, {"usage", &dbs.usage},
              {"keys", &dbs.keys},         {"entries", &dbs.entries}, {"lru", &dbs.lru},
              {"owner_lru", &dbs.owner_lru}, {"expiry", &dbs.expiry}};
  std::string index = (fs::path(path_) / "index").string();
  lmdb.init = [&](MDB_txn* txn) -> Status {
    return base::CheckStoreFormat(txn, dbs.meta, "1", "cache store", index, kLmdbNames);
  };
  StatusOr<std::string> canonical = base::MakeStoreDir(index, true);
  if (!canonical.ok()) return canonical.status();
  auto env = base::LmdbEnv::Open(*canonical, lmdb);
  if (!env.ok()) return env.status();
  env_ = std::move(env).value();
  dbs_ = dbs;
  open_.store(true, std::memory_order_release);
  return Status::Ok();
}

std::string CacheStore::BodyPath(uint64_t id) const {
  std::string name = fmt::format("{:016x}", id);
  return (fs::path(path_) / "bodies" / name.substr(14) / name).string();
}

void CacheStore::UnlinkBodies(const std::vector<uint64_t>& ids) const {
  for (uint64_t id : ids) ::unlink(BodyPath(id).c_str());
}

StatusOr<uint32_t> CacheStore::FindOwner(MDB_txn* txn, std::string_view owner) const {
  MDB_val k = Val(owner), v;
  int rc = mdb_get(txn, dbs_.owners, &k, &v);
  if (rc == MDB_NOTFOUND) return uint32_t{0};
  if (rc != 0) return Error("read", rc);
  if (v.mv_size != 4) return Status(ErrorCode::kInternal, "cache store: corrupt owner row");
  return static_cast<uint32_t>(GetBe(static_cast<const char*>(v.mv_data), 4));
}

StatusOr<std::optional<uint64_t>> CacheStore::FindEntry(MDB_txn* txn, const CacheKey& key,
                                                        uint32_t owner_id) const {
  std::string index_key = IndexKey(owner_id, key);
  MDB_val k = Val(index_key), v;
  int rc = mdb_get(txn, dbs_.keys, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<uint64_t>();
  if (rc != 0) return Error("read", rc);
  if (v.mv_size != 8) return std::optional<uint64_t>();
  return std::optional<uint64_t>(GetBe(static_cast<const char*>(v.mv_data), 8));
}

Status CacheStore::DropEntry(MDB_txn* txn, uint64_t id, std::vector<uint64_t>* unlink) {
  std::string id_key = Be64(id);
  MDB_val k = Val(id_key), v;
  int rc = mdb_get(txn, dbs_.entries, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  if (rc != 0) return Error("read", rc);
  std::optional<Record> record = Record::Decode(View(v));
  EDGE_RETURN_IF_ERROR(Del(txn, dbs_.entries, id_key, "delete"));
  unlink->push_back(id);
  if (!record) {
    // A record that does not decode names no index rows we can trust; its
    // rows are found and removed by the scans that meet them (they point
    // at an id with no record).
    return Status::Ok();
  }
  CacheKey key{{}, record->is_default, record->name, record->url};
  std::string index_key = IndexKey(record->owner_id, key);
  auto mapped = FindEntry(txn, key, record->owner_id);
  if (!mapped.ok()) return mapped.status();
  if (*mapped == id) EDGE_RETURN_IF_ERROR(Del(txn, dbs_.keys, index_key, "delete"));
  EDGE_RETURN_IF_ERROR(Del(txn, dbs_.lru, LruKey(record->last_use_ms, id), "delete"));
  EDGE_RETURN_IF_ERROR(
      Del(txn, dbs_.owner_lru, OwnerLruKey(record->owner_id, record->last_use_ms, id), "delete"));
  EDGE_RETURN_IF_ERROR(Del(txn, dbs_.expiry, LruKey(record->expires_ms, id), "delete"));
  std::string owner_key = Be32(record->owner_id);
  auto used = GetU64(txn, dbs_.usage, owner_key);
  if (!used.ok()) return used.status();
  EDGE_RETURN_IF_ERROR(Put(txn, dbs_.usage, owner_key, Be64(Minus(*used, record->accounted)), "write"));
  auto total = GetU64(txn, dbs_.meta, "total");
  if (!total.ok()) return total.status();
  return Put(txn, dbs_.meta, "total", Be64(Minus(*total, record->accounted)), "write");
}

Status CacheStore::EvictUntil(MDB_txn* txn, std::optional<uint32_t> owner_id, uint64_t need,
                              uint64_t cap, std::vector<uint64_t>* unlink) {
  MDB_dbi dbi = owner_id ? dbs_.owner_lru : dbs_.lru;
  std::string prefix = owner_id ? Be32(*owner_id) : std::string();
  for (;;) {
    auto used = owner_id ? GetU64(txn, dbs_.usage, prefix) : GetU64(txn, dbs_.meta, "total");
    if (!used.ok()) return used.status();
    if (*used + need <= cap) return Status::Ok();
    base::LmdbCursor cursor(txn, dbi);
    if (cursor.rc() != 0) return Error("evict", cursor.rc());
    MDB_val k = Val(prefix), v;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && !View(k).starts_with(prefix))) {
      // Nothing left to evict: the counter says more than the entries
      // hold (it was corrupt). Start it again from what is there.
      if (owner_id) return Put(txn, dbs_.usage, prefix, Be64(0), "write");
      return Put(txn, dbs_.meta, "total", Be64(0), "write");
    }
    if (rc != 0) return Error("evict", rc);
    std::string row(View(k));
    if (row.size() != prefix.size() + 16) {
      EDGE_RETURN_IF_ERROR(Del(txn, dbi, row, "evict"));
      continue;
    }
    uint64_t id = GetBe(row.data() + prefix.size() + 8, 8);
    size_t before = unlink->size();
    EDGE_RETURN_IF_ERROR(DropEntry(txn, id, unlink));
    // A row whose entry is gone (or whose record named other rows) goes
    // by itself, so the scan always moves on.
    EDGE_RETURN_IF_ERROR(Del(txn, dbi, row, "evict"));
    if (unlink->size() == before) continue;
  }
}

StatusOr<std::unique_ptr<CacheWriter>> CacheStore::BeginPut(CacheKey key, CacheHead head) {
  if (key.url.size() > kCacheMaxUrlBytes) {
    return Status(ErrorCode::kInvalidInput, "cache store: the URL is longer than 16 KiB");
  }
  if (key.name.size() > kCacheMaxNameBytes || key.owner.empty() || key.owner.size() > 500) {
    return Status(ErrorCode::kInvalidInput, "cache store: bad cache name or owner");
  }
  size_t header_bytes = 0;
  for (const auto& [name, value] : head.headers) header_bytes += name.size() + value.size() + 4;
  if (header_bytes > kCacheMaxHeaderBytes) {
    return Status(ErrorCode::kRangeError, "cache store: the response headers are too large");
  }
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  std::string path =
      (fs::path(path_) / "tmp" / fmt::format("{}-{}", getpid(), tmp_counter_.fetch_add(1))).string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("cache store: cannot create {}: {}", path, strerror(errno)));
  }
  return std::unique_ptr<CacheWriter>(
      new CacheWriter(shared_from_this(), std::move(key), std::move(head), std::move(path), fd));
}

Status CacheStore::Commit(CacheWriter& writer) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  Record record;
  record.expires_ms = ToU64(writer.head_.expires_ms);
  record.last_use_ms = ToU64(Now());
  record.body_size = writer.written_;
  record.status = static_cast<uint32_t>(writer.head_.status);
  record.status_text = writer.head_.status_text;
  record.is_default = writer.key_.is_default;
  record.name = writer.key_.name;
  record.url = writer.key_.url;
  record.headers = writer.head_.headers;
  // The record's own size, counted before it knows it.
  record.accounted = record.body_size + record.Encode().size() + kCacheEntryOverhead;
  if (record.accounted > limits_.max_owner_bytes || record.accounted > limits_.max_total_bytes) {
    return Status(ErrorCode::kRangeError, "the entry is larger than the cache may hold");
  }
  writer.file_.Close();

  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "put"));
  std::vector<uint64_t> unlink;
  // The owner's id, allocated on its first put.
  auto owner_id = FindOwner(txn.get(), writer.key_.owner);
  if (!owner_id.ok()) return owner_id.status();
  if (*owner_id == 0) {
    auto next = GetU64(txn.get(), dbs_.meta, "next_owner");
    if (!next.ok()) return next.status();
    uint64_t allocated = *next + 1;
    if (allocated > 0xFFFFFFFFu) return Status(ErrorCode::kIo, "cache store: too many owners");
    EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.meta, "next_owner", Be64(allocated), "put"));
    EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.owners, writer.key_.owner,
                             Be32(static_cast<uint32_t>(allocated)), "put"));
    *owner_id = static_cast<uint32_t>(allocated);
  }
  record.owner_id = *owner_id;
  // What the key held goes first; then a few expired entries; then the
  // least recently used until the new one fits.
  auto old = FindEntry(txn.get(), writer.key_, *owner_id);
  if (!old.ok()) return old.status();
  if (*old) EDGE_RETURN_IF_ERROR(DropEntry(txn.get(), **old, &unlink));
  auto swept = SweepIn(txn.get(), kSweepPerPut, &unlink);
  if (!swept.ok()) return swept.status();
  EDGE_RETURN_IF_ERROR(
      EvictUntil(txn.get(), *owner_id, record.accounted, limits_.max_owner_bytes, &unlink));
  EDGE_RETURN_IF_ERROR(
      EvictUntil(txn.get(), std::nullopt, record.accounted, limits_.max_total_bytes, &unlink));

  auto next = GetU64(txn.get(), dbs_.meta, "next_id");
  if (!next.ok()) return next.status();
  uint64_t id = *next + 1;
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.meta, "next_id", Be64(id), "put"));
  std::string id_key = Be64(id);
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.entries, id_key, record.Encode(), "put"));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.keys, IndexKey(*owner_id, writer.key_), id_key, "put"));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.lru, LruKey(record.last_use_ms, id), "", "put"));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.owner_lru,
                           OwnerLruKey(*owner_id, record.last_use_ms, id), "", "put"));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.expiry, LruKey(record.expires_ms, id), "", "put"));
  std::string owner_key = Be32(*owner_id);
  auto used = GetU64(txn.get(), dbs_.usage, owner_key);
  if (!used.ok()) return used.status();
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.usage, owner_key, Be64(*used + record.accounted), "put"));
  auto total = GetU64(txn.get(), dbs_.meta, "total");
  if (!total.ok()) return total.status();
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.meta, "total", Be64(*total + record.accounted), "put"));

  // The body goes into place before the index names it.
  std::string body = BodyPath(id);
  std::error_code ec;
  fs::create_directories(fs::path(body).parent_path(), ec);
  if (::rename(writer.path_.c_str(), body.c_str()) != 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("cache store: cannot move a body into place: {}", strerror(errno)));
  }
  Status committed = txn.Commit("put");
  if (!committed.ok()) {
    ::unlink(body.c_str());
    return committed;
  }
  writer.committed_ = true;
  UnlinkBodies(unlink);
  return Status::Ok();
}

StatusOr<std::optional<CacheHit>> CacheStore::Match(const CacheKey& key) {
  if (key.url.size() > kCacheMaxUrlBytes || key.name.size() > kCacheMaxNameBytes) {
    return std::optional<CacheHit>();
  }
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  std::optional<Record> record;
  uint64_t id = 0;
  bool corrupt = false;
  {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "match"));
    auto owner_id = FindOwner(txn.get(), key.owner);
    if (!owner_id.ok()) return owner_id.status();
    if (*owner_id == 0) return std::optional<CacheHit>();
    auto found = FindEntry(txn.get(), key, *owner_id);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<CacheHit>();
    id = **found;
    std::string id_key = Be64(id);
    MDB_val k = Val(id_key), v;
    int rc = mdb_get(txn.get(), dbs_.entries, &k, &v);
    if (rc == MDB_NOTFOUND) {
      corrupt = true;
    } else if (rc != 0) {
      return Error("match", rc);
    } else {
      record = Record::Decode(View(v));
      corrupt = !record || record->owner_id != *owner_id;
      // Another key with the same hash: a miss (and not ours to drop).
      if (!corrupt && (record->url != key.url || record->is_default != key.is_default ||
                       record->name != key.name)) {
        return std::optional<CacheHit>();
      }
    }
  }
  int64_t now = Now();
  CacheHit hit;
  if (!corrupt) {
    if (static_cast<int64_t>(record->expires_ms) <= now) return std::optional<CacheHit>();
    int fd = ::open(BodyPath(id).c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != record->body_size) {
      if (fd >= 0) ::close(fd);
      corrupt = true;
    } else {
      hit.body = CacheFile(fd);
    }
  }
  if (corrupt) {
    // What does not read back as written is a miss, and goes.
    base::LmdbTxn txn;
    std::vector<uint64_t> unlink;
    if (txn.Begin(*env_, false, "match").ok()) {
      bool dropped = DropEntry(txn.get(), id, &unlink).ok();
      auto owner_id = FindOwner(txn.get(), key.owner);
      if (dropped && owner_id.ok() && *owner_id != 0) {
        auto mapped = FindEntry(txn.get(), key, *owner_id);
        if (mapped.ok() && *mapped == id) {
          dropped = Del(txn.get(), dbs_.keys, IndexKey(*owner_id, key), "match").ok();
        }
      }
      if (dropped && txn.Commit("match").ok()) UnlinkBodies(unlink);
    }
    return std::optional<CacheHit>();
  }
  if (now - static_cast<int64_t>(record->last_use_ms) >= kTouchEveryMs) Touch(id, now);
  hit.head.status = static_cast<int>(record->status);
  hit.head.status_text = std::move(record->status_text);
  hit.head.headers = std::move(record->headers);
  hit.head.expires_ms = record->expires_ms;
  hit.body_size = record->body_size;
  return std::optional<CacheHit>(std::move(hit));
}

void CacheStore::Touch(uint64_t id, int64_t now) {
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, false, "touch").ok()) return;
  std::string id_key = Be64(id);
  MDB_val k = Val(id_key), v;
  if (mdb_get(txn.get(), dbs_.entries, &k, &v) != 0) return;
  std::optional<Record> record = Record::Decode(View(v));
  if (!record) return;
  uint64_t last_use = ToU64(now);
  bool ok = Del(txn.get(), dbs_.lru, LruKey(record->last_use_ms, id), "touch").ok() &&
            Del(txn.get(), dbs_.owner_lru,
                OwnerLruKey(record->owner_id, record->last_use_ms, id), "touch").ok() &&
            Put(txn.get(), dbs_.lru, LruKey(last_use, id), "", "touch").ok() &&
            Put(txn.get(), dbs_.owner_lru, OwnerLruKey(record->owner_id, last_use, id), "",
                "touch").ok();
  if (!ok) return;
  record->last_use_ms = last_use;
  if (!Put(txn.get(), dbs_.entries, id_key, record->Encode(), "touch").ok()) return;
  (void)txn.Commit("touch");  // a lost touch only ages the entry
}

StatusOr<bool> CacheStore::Delete(const CacheKey& key) {
  if (key.url.size() > kCacheMaxUrlBytes || key.name.size() > kCacheMaxNameBytes) return false;
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "delete"));
  auto owner_id = FindOwner(txn.get(), key.owner);
  if (!owner_id.ok()) return owner_id.status();
  if (*owner_id == 0) return false;
  auto found = FindEntry(txn.get(), key, *owner_id);
  if (!found.ok()) return found.status();
  if (!*found) return false;
  // An expired entry is already a miss: deleting it says false.
  bool live = false;
  {
    std::string id_key = Be64(**found);
    MDB_val k = Val(id_key), v;
    if (mdb_get(txn.get(), dbs_.entries, &k, &v) == 0) {
      std::optional<Record> record = Record::Decode(View(v));
      live = record && static_cast<int64_t>(record->expires_ms) > Now();
    }
  }
  std::vector<uint64_t> unlink;
  EDGE_RETURN_IF_ERROR(DropEntry(txn.get(), **found, &unlink));
  EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.keys, IndexKey(*owner_id, key), "delete"));
  EDGE_RETURN_IF_ERROR(txn.Commit("delete"));
  UnlinkBodies(unlink);
  return live;
}

StatusOr<size_t> CacheStore::DropOwner(std::string_view owner) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  size_t dropped = 0;
  for (;;) {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "drop"));
    auto owner_id = FindOwner(txn.get(), owner);
    if (!owner_id.ok()) return owner_id.status();
    if (*owner_id == 0) return dropped;
    std::string prefix = Be32(*owner_id);
    std::vector<std::string> rows;
    {
      base::LmdbCursor cursor(txn.get(), dbs_.owner_lru);
      if (cursor.rc() != 0) return Error("drop", cursor.rc());
      MDB_val k = Val(prefix), v;
      int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
      while (rc == 0 && View(k).starts_with(prefix) && rows.size() < 1000) {
        rows.emplace_back(View(k));
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
      }
    }
    std::vector<uint64_t> unlink;
    for (const std::string& row : rows) {
      if (row.size() == prefix.size() + 16) {
        EDGE_RETURN_IF_ERROR(DropEntry(txn.get(), GetBe(row.data() + prefix.size() + 8, 8), &unlink));
      }
      EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.owner_lru, row, "drop"));
    }
    EDGE_RETURN_IF_ERROR(txn.Commit("drop"));
    UnlinkBodies(unlink);
    dropped += unlink.size();
    if (rows.size() < 1000) return dropped;
  }
}

StatusOr<size_t> CacheStore::SweepIn(MDB_txn* txn, size_t max, std::vector<uint64_t>* unlink) {
  std::vector<std::string> rows;
  {
    base::LmdbCursor cursor(txn, dbs_.expiry);
    if (cursor.rc() != 0) return Error("sweep", cursor.rc());
    MDB_val k, v;
    uint64_t now = ToU64(Now());
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
    while (rc == 0 && rows.size() < max &&
           (k.mv_size != 16 || GetBe(static_cast<const char*>(k.mv_data), 8) <= now)) {
      rows.emplace_back(View(k));
      rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    }
  }
  for (const std::string& row : rows) {
    if (row.size() == 16) EDGE_RETURN_IF_ERROR(DropEntry(txn, GetBe(row.data() + 8, 8), unlink));
    // A row whose entry is gone goes too, so no sweep meets it again.
    EDGE_RETURN_IF_ERROR(Del(txn, dbs_.expiry, row, "sweep"));
  }
  return rows.size();
}

StatusOr<size_t> CacheStore::SweepExpired(size_t max) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "sweep"));
  std::vector<uint64_t> unlink;
  auto swept = SweepIn(txn.get(), max, &unlink);
  if (!swept.ok()) return swept.status();
  EDGE_RETURN_IF_ERROR(txn.Commit("sweep"));
  UnlinkBodies(unlink);
  return *swept;
}

StatusOr<uint64_t> CacheStore::OwnerBytes(std::string_view owner) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  auto owner_id = FindOwner(txn.get(), owner);
  if (!owner_id.ok()) return owner_id.status();
  if (*owner_id == 0) return uint64_t{0};
  return GetU64(txn.get(), dbs_.usage, Be32(*owner_id));
}

StatusOr<uint64_t> CacheStore::TotalBytes() {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  return GetU64(txn.get(), dbs_.meta, "total");
}

StatusOr<uint64_t> CacheStore::EntryCount() {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  MDB_stat stat;
  int rc = mdb_stat(txn.get(), dbs_.entries, &stat);
  if (rc != 0) return Error("read", rc);
  return uint64_t{stat.ms_entries};
}

StatusOr<std::optional<uint64_t>> CacheStore::EntryIdForTesting(const CacheKey& key) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  auto owner_id = FindOwner(txn.get(), key.owner);
  if (!owner_id.ok()) return owner_id.status();
  if (*owner_id == 0) return std::optional<uint64_t>();
  return FindEntry(txn.get(), key, *owner_id);
}

Status CacheStore::CorruptRecordForTesting(uint64_t id, std::string_view bytes) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.entries, Be64(id), bytes, "write"));
  return txn.Commit("write");
}

}  // namespace edge::bindings
