#include "bindings/r2/r2_store.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "base/per_path_registry.h"
#include "base/sha256.h"
#include "runtime/project.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;

using base::GetBe;
using base::PutBe32;
using base::PutBe64;
using base::Val;
using base::View;

constexpr base::LmdbNames kLmdbNames{"the R2 store", "R2 store: ", "R2 store"};
constexpr std::string_view kObjectMagic = "R1";
constexpr std::string_view kUploadMagic = "U1";
constexpr size_t kIndexKeyWhole = 495;
constexpr size_t kIndexKeyPrefix = 487;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// R2's errors, as its API words them (the caller adds "<method>: ").
Status R2Error(std::string_view message, int code) {
  return Status(ErrorCode::kInvalidInput, fmt::format("{} ({})", message, code));
}
Status InvalidObjectName() { return R2Error("The specified object name is not valid.", 10020); }
Status NoSuchUpload() { return R2Error("The specified multipart upload does not exist.", 10024); }
Status EntityTooLarge() {
  return R2Error("Your proposed upload exceeds the maximum allowed object size.", 100100);
}
Status QuotaFull(uint64_t quota) {
  return Status(ErrorCode::kInvalidInput,
                fmt::format("The account's R2 storage quota of {} bytes is full: the object does "
                            "not fit. Delete objects, or ask the node's operator for more room.",
                            quota));
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // Never reached with a working libcrypto; a clock-derived id still
    // differs from the last one.
    raw = base::Sha256(fmt::format("{}", WallMs())).substr(0, bytes);
  }
  return Hex(raw);
}

std::string Be32(uint32_t value) {
  std::string out;
  PutBe32(out, value);
  return out;
}

void PutString(std::string& out, std::string_view text) {
  PutBe32(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

void PutOptional(std::string& out, const std::optional<std::string>& text) {
  out.push_back(text ? '1' : '0');
  if (text) PutString(out, *text);
}

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
  std::string_view Raw(size_t size) {
    if (!ok_ || bytes_.size() - pos_ < size) {
      ok_ = false;
      return {};
    }
    std::string_view raw = bytes_.substr(pos_, size);
    pos_ += size;
    return raw;
  }
  std::string String() { return std::string(Raw(Int(4))); }
  std::optional<std::string> Optional() {
    std::string_view flag = Raw(1);
    if (flag == "1") return String();
    if (flag != "0") ok_ = false;
    return std::nullopt;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void PutHttp(std::string& out, const R2HttpMetadata& http) {
  PutOptional(out, http.content_type);
  PutOptional(out, http.content_language);
  PutOptional(out, http.content_disposition);
  PutOptional(out, http.content_encoding);
  PutOptional(out, http.cache_control);
  out.push_back(http.cache_expiry_ms ? '1' : '0');
  if (http.cache_expiry_ms) PutBe64(out, static_cast<uint64_t>(*http.cache_expiry_ms));
}

R2HttpMetadata ReadHttp(Reader& in) {
  R2HttpMetadata http;
  http.content_type = in.Optional();
  http.content_language = in.Optional();
  http.content_disposition = in.Optional();
  http.content_encoding = in.Optional();
  http.cache_control = in.Optional();
  if (in.Raw(1) == "1") http.cache_expiry_ms = static_cast<int64_t>(in.Int(8));
  return http;
}

void PutPairs(std::string& out, const std::vector<std::pair<std::string, std::string>>& pairs) {
  PutBe32(out, static_cast<uint32_t>(pairs.size()));
  for (const auto& [k, v] : pairs) {
    PutString(out, k);
    PutString(out, v);
  }
}

std::vector<std::pair<std::string, std::string>> ReadPairs(Reader& in, size_t max) {
  std::vector<std::pair<std::string, std::string>> pairs;
  uint64_t count = in.Int(4);
  if (count > max) count = 0;
  for (uint64_t i = 0; i < count && in.ok(); ++i) {
    std::string k = in.String();
    std::string v = in.String();
    pairs.emplace_back(std::move(k), std::move(v));
  }
  return pairs;
}

// An object's record: its metadata and the body files that make it, in
// order (one for a put, one per part for a multipart object).
struct ObjectRecord {
  R2ObjectMeta meta;
  std::vector<std::pair<uint64_t, uint64_t>> files;  // file id, size
  uint64_t accounted = 0;

  std::string Encode() const {
    std::string out(kObjectMagic);
    PutString(out, meta.key);
    PutString(out, meta.version);
    PutBe64(out, meta.size);
    PutString(out, meta.etag);
    PutBe64(out, static_cast<uint64_t>(meta.uploaded_ms));
    PutHttp(out, meta.http);
    PutPairs(out, meta.custom);
    for (const std::string* sum : {&meta.checksums.md5, &meta.checksums.sha1, &meta.checksums.sha256,
                                   &meta.checksums.sha384, &meta.checksums.sha512}) {
      PutString(out, *sum);
    }
    PutString(out, meta.storage_class);
    PutBe64(out, accounted);
    PutBe32(out, static_cast<uint32_t>(files.size()));
    for (const auto& [id, size] : files) {
      PutBe64(out, id);
      PutBe64(out, size);
    }
    return out;
  }

  static std::optional<ObjectRecord> Decode(std::string_view bytes) {
    Reader in(bytes);
    if (in.Raw(kObjectMagic.size()) != kObjectMagic) return std::nullopt;
    ObjectRecord record;
    record.meta.key = in.String();
    record.meta.version = in.String();
    record.meta.size = in.Int(8);
    record.meta.etag = in.String();
    record.meta.uploaded_ms = static_cast<int64_t>(in.Int(8));
    record.meta.http = ReadHttp(in);
    record.meta.custom = ReadPairs(in, bytes.size() / 8);
    for (std::string* sum : {&record.meta.checksums.md5, &record.meta.checksums.sha1,
                             &record.meta.checksums.sha256, &record.meta.checksums.sha384,
                             &record.meta.checksums.sha512}) {
      *sum = in.String();
    }
    record.meta.storage_class = in.String();
    record.accounted = in.Int(8);
    uint64_t count = in.Int(4);
    if (count > bytes.size() / 16) return std::nullopt;
    for (uint64_t i = 0; i < count && in.ok(); ++i) {
      uint64_t id = in.Int(8);
      uint64_t size = in.Int(8);
      record.files.emplace_back(id, size);
    }
    if (!in.done()) return std::nullopt;
    return record;
  }
};

std::string IndexKey(uint32_t bucket_id, std::string_view key) {
  std::string out = Be32(bucket_id);
  if (key.size() <= kIndexKeyWhole) {
    out.append(key);
  } else {
    out.append(key.substr(0, kIndexKeyPrefix));
    out.append(base::Sha256(key).substr(0, 8));
  }
  return out;
}

// The `usage` row of an owner ("" under edge dev: LMDB keys are never empty).
std::string UsageKey(const std::string& owner) { return "u:" + owner; }

std::string BucketRowKey(const std::string& owner, const std::string& bucket) {
  std::string out = owner;
  out.push_back('\0');
  out.append(bucket);
  return out;
}

std::string PartKey(std::string_view upload_id, uint32_t part) {
  std::string out(upload_id);
  out.push_back(static_cast<char>(part >> 8));
  out.push_back(static_cast<char>(part & 0xff));
  return out;
}

Status Put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc != 0) return base::LmdbError(kLmdbNames, "write", rc);
  return Status::Ok();
}

Status Del(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return base::LmdbError(kLmdbNames, "delete", rc);
  return Status::Ok();
}

StatusOr<std::optional<std::string>> GetRow(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return base::LmdbError(kLmdbNames, "read", rc);
  return std::optional<std::string>(std::string(View(v)));
}

StatusOr<uint64_t> GetU64(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  auto value = GetRow(txn, dbi, key);
  if (!value.ok()) return value.status();
  if (!*value || (*value)->size() != 8) return uint64_t{0};
  return GetBe((*value)->data(), 8);
}

Status SyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Status(ErrorCode::kIo, fmt::format("R2 store: cannot open {}: {}", path, strerror(errno)));
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0) return Status(ErrorCode::kIo, fmt::format("R2 store: fsync {}: {}", path, strerror(error)));
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view bytes) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(ErrorCode::kIo, fmt::format("R2 store: writing a body: {}", strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

bool EtagListMatches(const std::vector<R2Etag>& list, const std::string& etag) {
  for (const R2Etag& candidate : list) {
    if (candidate.type == R2Etag::kWildcard || candidate.value == etag) return true;
  }
  return false;
}

int64_t TruncateToSeconds(int64_t ms) { return ms - ((ms % 1000) + 1000) % 1000; }

const EVP_MD* DigestOf(std::string_view algorithm) {
  if (algorithm == "sha1") return EVP_sha1();
  if (algorithm == "sha256") return EVP_sha256();
  if (algorithm == "sha384") return EVP_sha384();
  if (algorithm == "sha512") return EVP_sha512();
  return nullptr;
}

std::string AlgorithmTitle(std::string_view algorithm) {
  if (algorithm == "md5") return "MD5";
  if (algorithm == "sha1") return "SHA-1";
  if (algorithm == "sha256") return "SHA-256";
  if (algorithm == "sha384") return "SHA-384";
  return "SHA-512";
}

// Metadata bytes as R2 counts them against its 8 KiB: custom keys and
// values, and the HTTP fields.
size_t MetadataBytes(const R2PutOptions& options) {
  size_t bytes = 0;
  for (const auto& [k, v] : options.custom) bytes += k.size() + v.size();
  for (const auto* field : {&options.http.content_type, &options.http.content_language,
                            &options.http.content_disposition, &options.http.content_encoding,
                            &options.http.cache_control}) {
    if (*field) bytes += (*field)->size();
  }
  return bytes;
}

Status CheckPutOptions(const std::string& key, const R2PutOptions& options) {
  if (key.empty() || key.size() > kR2MaxKeyBytes) return InvalidObjectName();
  if (MetadataBytes(options) > kR2MaxMetadataBytes) {
    return R2Error("Your metadata headers exceed the maximum allowed metadata size.", 10012);
  }
  if (options.storage_class != "Standard" && options.storage_class != "InfrequentAccess") {
    return R2Error("The storage class you specified is not valid.", 10040);
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------
// Conditionals, as R2 tests them (RFC 7232 section 6's order).

bool R2Conditional::Test(const R2ObjectMeta* meta) const {
  if (meta == nullptr) return !etag_matches && !uploaded_after_ms;
  bool if_match = !etag_matches || EtagListMatches(*etag_matches, meta->etag);
  bool if_none_match = !etag_does_not_match || !EtagListMatches(*etag_does_not_match, meta->etag);
  auto truncate = [&](int64_t ms) { return seconds_granularity ? TruncateToSeconds(ms) : ms; };
  int64_t uploaded = truncate(meta->uploaded_ms);
  bool modified_since = !uploaded_after_ms || truncate(*uploaded_after_ms) < uploaded ||
                        (etag_does_not_match && if_none_match);
  bool unmodified_since = !uploaded_before_ms || uploaded < truncate(*uploaded_before_ms) ||
                          (etag_matches && if_match);
  return if_match && if_none_match && modified_since && unmodified_since;
}

StatusOr<std::string> R2Got::Read(uint64_t offset, size_t length) const {
  std::string out;
  out.reserve(length);
  uint64_t start = 0;
  for (const R2Segment& segment : segments) {
    if (out.size() == length) break;
    uint64_t end = start + segment.size;
    if (offset < end) {
      uint64_t within = offset - start;
      size_t want = static_cast<size_t>(std::min<uint64_t>(segment.size - within, length - out.size()));
      auto bytes = segment.file.Read(within, want);
      if (!bytes.ok()) return bytes.status();
      out.append(*bytes);
      if (bytes->size() != want) return out;  // cut short on disk
      offset += want;
    }
    start = end;
  }
  return out;
}

// ---------------------------------------------------------------------------
// R2Writer

struct R2Writer::Hashes {
  EVP_MD_CTX* md5 = EVP_MD_CTX_new();
  EVP_MD_CTX* other = nullptr;
  ~Hashes() {
    EVP_MD_CTX_free(md5);
    if (other != nullptr) EVP_MD_CTX_free(other);
  }
};

R2Writer::R2Writer(std::shared_ptr<R2Store> store)
    : store_(std::move(store)), hashes_(std::make_unique<Hashes>()) {
  EVP_DigestInit_ex(hashes_->md5, EVP_md5(), nullptr);
}

R2Writer::~R2Writer() { Abort(); }

Status R2Writer::Write(std::string_view bytes) {
  if (done_) return Status(ErrorCode::kInvalidInput, "R2 store: this upload has ended");
  uint64_t limit = declared_ ? std::min(*declared_, max_bytes_) : max_bytes_;
  if (bytes.size() > limit - std::min(written_, limit)) {
    Abort();
    if (declared_ && written_ + bytes.size() > *declared_ && *declared_ <= max_bytes_) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("The body is longer than its declared length of {} bytes.", *declared_));
    }
    if (written_ + bytes.size() > kR2MaxPutBytes) return EntityTooLarge();
    return QuotaFull(store_->limits().max_owner_bytes);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(file_.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      Abort();
      return Status(ErrorCode::kIo, fmt::format("R2 store: writing a body: {}", strerror(error)));
    }
    done += static_cast<size_t>(n);
  }
  EVP_DigestUpdate(hashes_->md5, bytes.data(), bytes.size());
  if (hashes_->other != nullptr) EVP_DigestUpdate(hashes_->other, bytes.data(), bytes.size());
  written_ += bytes.size();
  return Status::Ok();
}

StatusOr<std::optional<R2ObjectMeta>> R2Writer::Commit() {
  if (done_) return Status(ErrorCode::kInvalidInput, "R2 store: this upload has ended");
  std::optional<R2ObjectMeta> result;
  Status status = store_->CommitWriter(*this, &result);
  if (!status.ok()) {
    Abort();
    return status;
  }
  return result;
}

void R2Writer::Abort() {
  if (done_) return;
  done_ = true;
  file_.Close();
  if (file_id_ != 0) store_->RemoveFiles({file_id_});
}

// ---------------------------------------------------------------------------
// R2Store

struct R2Store::Upload {
  uint32_t bucket_id = 0;
  std::string key;
  R2PutOptions options;
  int64_t created_ms = 0;

  std::string Encode() const {
    std::string out(kUploadMagic);
    PutBe32(out, bucket_id);
    PutString(out, key);
    PutHttp(out, options.http);
    PutPairs(out, options.custom);
    PutString(out, options.storage_class);
    PutBe64(out, static_cast<uint64_t>(created_ms));
    return out;
  }
  static std::optional<Upload> Decode(std::string_view bytes) {
    Reader in(bytes);
    if (in.Raw(kUploadMagic.size()) != kUploadMagic) return std::nullopt;
    Upload upload;
    upload.bucket_id = static_cast<uint32_t>(in.Int(4));
    upload.key = in.String();
    upload.options.http = ReadHttp(in);
    upload.options.custom = ReadPairs(in, bytes.size() / 8);
    upload.options.storage_class = in.String();
    upload.created_ms = static_cast<int64_t>(in.Int(8));
    if (!in.done()) return std::nullopt;
    return upload;
  }
};

std::shared_ptr<R2Store> R2Store::Open(const std::string& state_dir, R2Limits limits, Clock clock) {
  std::error_code ec;
  fs::path dir = fs::path(state_dir) / "r2";
  fs::path absolute = fs::absolute(dir, ec);
  std::string path = (ec ? dir : absolute.lexically_normal()).string();
  // One store per folder per process (base/per_path_registry.h).
  return base::PerPathRegistry<R2Store>::Get(path, [&] {
    return new R2Store(path, limits, clock ? std::move(clock) : WallMs);
  });
}

R2Store::~R2Store() = default;

bool R2Store::ValidBucketName(std::string_view name) { return runtime::ValidR2BucketName(name); }

Status R2Store::EnsureOpen() {
  if (open_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard lock(open_mutex_);
  if (open_.load()) return Status::Ok();
  for (const char* sub : {"index", "bodies", "tmp"}) {
    StatusOr<std::string> made = base::MakeStoreDir((fs::path(path_) / sub).string(), true);
    if (!made.ok()) return made.status();
  }
  base::LmdbOptions lmdb;
  lmdb.names = kLmdbNames;
  lmdb.map_size = size_t{1} << 36;  // 64 GiB of address space: records only
  lmdb.shrink_on_enomem = 8;
  lmdb.max_readers = 512;
  lmdb.max_dbs = 10;
  Dbs dbs{};
  lmdb.dbs = {{"meta", &dbs.meta},       {"buckets", &dbs.buckets}, {"usage", &dbs.usage},
              {"objects", &dbs.objects}, {"uploads", &dbs.uploads}, {"parts", &dbs.parts},
              {"pending", &dbs.pending}, {"rules", &dbs.rules},     {"outbox", &dbs.outbox}};
  std::vector<uint64_t> leftovers;
  std::string index = (fs::path(path_) / "index").string();
  lmdb.init = [&](MDB_txn* txn) -> Status {
    EDGE_RETURN_IF_ERROR(base::CheckStoreFormat(txn, dbs.meta, "1", "R2 store", index, kLmdbNames));
    // Bodies of puts that never committed, and of objects whose removal
    // was cut short: their files go, and so do their rows.
    base::LmdbCursor cursor(txn, dbs.pending);
    if (cursor.rc() != 0) return base::LmdbError(kLmdbNames, "open", cursor.rc());
    MDB_val k, v;
    int rc;
    for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      if (k.mv_size == 8) leftovers.push_back(GetBe(static_cast<const char*>(k.mv_data), 8));
    }
    if (rc != MDB_NOTFOUND) return base::LmdbError(kLmdbNames, "open", rc);
    rc = mdb_drop(txn, dbs.pending, 0);
    if (rc != 0) return base::LmdbError(kLmdbNames, "open", rc);
    return Status::Ok();
  };
  StatusOr<std::string> canonical = base::MakeStoreDir(index, true);
  if (!canonical.ok()) return canonical.status();
  auto env = base::LmdbEnv::Open(*canonical, lmdb);
  if (!env.ok()) return env.status();
  env_ = std::move(env).value();
  dbs_ = dbs;
  for (uint64_t id : leftovers) {
    ::unlink(TmpPath(id).c_str());
    ::unlink(BodyPath(id).c_str());
  }
  // Whatever else is in tmp/ has no index row at all (it was made before
  // its pending row committed).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(path_) / "tmp", ec)) {
    fs::remove(entry.path(), ec);
  }
  open_.store(true, std::memory_order_release);
  return Status::Ok();
}

std::string R2Store::BodyPath(uint64_t id) const {
  std::string name = fmt::format("{:016x}", id);
  return (fs::path(path_) / "bodies" / name.substr(14) / name).string();
}

std::string R2Store::TmpPath(uint64_t id) const {
  return (fs::path(path_) / "tmp" / fmt::format("{:016x}", id)).string();
}

void R2Store::RemoveFiles(const std::vector<uint64_t>& ids) {
  if (ids.empty()) return;
  for (uint64_t id : ids) {
    ::unlink(TmpPath(id).c_str());
    ::unlink(BodyPath(id).c_str());
  }
  // The rows go once the files are gone; should this fail, the next open
  // removes them (unlinking twice is harmless).
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, false, "cleanup").ok()) return;
  for (uint64_t id : ids) {
    if (!Del(txn.get(), dbs_.pending, base::Be64(id)).ok()) return;
  }
  (void)txn.Commit("cleanup");
}

StatusOr<uint64_t> R2Store::AllocateFiles(uint64_t count) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "put"));
  auto next = GetU64(txn.get(), dbs_.meta, "next_file");
  if (!next.ok()) return next.status();
  uint64_t first = *next + 1;
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.meta, "next_file", base::Be64(*next + count)));
  for (uint64_t id = first; id < first + count; ++id) {
    EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.pending, base::Be64(id), ""));
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("put"));
  return first;
}

Status R2Store::ShareBody(uint64_t from, uint64_t to) {
  std::string source = BodyPath(from);
  std::string target = BodyPath(to);
  std::error_code ec;
  fs::create_directories(fs::path(target).parent_path(), ec);
  if (::link(source.c_str(), target.c_str()) == 0) return Status::Ok();
  if (errno == ENOENT) return Status(ErrorCode::kNotFound, "R2 store: the source's body is gone");
  // Too many links to one file (EMLINK), or a file system without hard
  // links: the bytes are copied by the kernel into a new file.
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    if (errno == ENOENT) return Status(ErrorCode::kNotFound, "R2 store: the source's body is gone");
    return Status(ErrorCode::kIo, fmt::format("R2 store: cannot open {}: {}", source, strerror(errno)));
  }
  CacheFile input(in);
  std::string tmp = TmpPath(to);
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    return Status(ErrorCode::kIo, fmt::format("R2 store: cannot create {}: {}", tmp, strerror(errno)));
  }
  CacheFile output(out);
  // In the kernel where it can; else through a 256 KiB buffer.
  std::string buffer;
  for (;;) {
    ssize_t n = -1;
    if (buffer.empty()) {
      n = ::copy_file_range(in, nullptr, out, nullptr, size_t{1} << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        buffer.resize(size_t{256} << 10);
        continue;
      }
    } else {
      n = ::read(in, buffer.data(), buffer.size());
      if (n > 0) {
        Status written = WriteAll(out, std::string_view(buffer.data(), static_cast<size_t>(n)));
        if (!written.ok()) return written;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status(ErrorCode::kIo, fmt::format("R2 store: copying a body: {}", strerror(errno)));
    }
    if (n == 0) break;
  }
  if (::fsync(out) != 0) {
    return Status(ErrorCode::kIo, fmt::format("R2 store: fsync of a body: {}", strerror(errno)));
  }
  output.Close();
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    return Status(ErrorCode::kIo, fmt::format("R2 store: cannot move a body into place: {}", strerror(errno)));
  }
  return Status::Ok();
}

StatusOr<uint32_t> R2Store::BucketId(MDB_txn* txn, const std::string& owner,
                                     const std::string& bucket, bool create) {
  std::string row_key = BucketRowKey(owner, bucket);
  auto row = GetRow(txn, dbs_.buckets, row_key);
  if (!row.ok()) return row.status();
  if (*row && (*row)->size() == 12) return static_cast<uint32_t>(GetBe((*row)->data(), 4));
  if (!create) return uint32_t{0};
  if (owner.size() + bucket.size() > 400) return Status(ErrorCode::kInvalidInput, "R2 store: bucket name too long");
  auto next = GetU64(txn, dbs_.meta, "next_bucket");
  if (!next.ok()) return next.status();
  uint64_t id = *next + 1;
  if (id > 0xFFFFFFFFu) return Status(ErrorCode::kIo, "R2 store: too many buckets");
  EDGE_RETURN_IF_ERROR(Put(txn, dbs_.meta, "next_bucket", base::Be64(id)));
  std::string value = Be32(static_cast<uint32_t>(id));
  PutBe64(value, static_cast<uint64_t>(Now()));
  EDGE_RETURN_IF_ERROR(Put(txn, dbs_.buckets, row_key, value));
  return static_cast<uint32_t>(id);
}

Status R2Store::AddUsage(MDB_txn* txn, const std::string& owner, int64_t delta, bool check_quota) {
  auto used = GetU64(txn, dbs_.usage, UsageKey(owner));
  if (!used.ok()) return used.status();
  uint64_t now = delta < 0 ? *used - std::min<uint64_t>(*used, static_cast<uint64_t>(-delta))
                           : *used + static_cast<uint64_t>(delta);
  if (check_quota && delta > 0 && now > limits_.max_owner_bytes) return QuotaFull(limits_.max_owner_bytes);
  return Put(txn, dbs_.usage, UsageKey(owner), base::Be64(now));
}

StatusOr<R2Store::EventTables> R2Store::OpenEventTables() {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  return EventTables{env_.get(), dbs_.meta, dbs_.usage, dbs_.rules, dbs_.outbox};
}

Status R2Store::RecordChange(MDB_txn* txn, const R2Change& change) {
  if (change_hook_) return change_hook_(txn, change);
  return Status::Ok();
}

StatusOr<std::optional<R2ObjectMeta>> R2Store::ReadObject(
    MDB_txn* txn, uint32_t bucket_id, const std::string& key,
    std::vector<std::pair<uint64_t, uint64_t>>* files) {
  auto row = GetRow(txn, dbs_.objects, IndexKey(bucket_id, key));
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<R2ObjectMeta>();
  std::optional<ObjectRecord> record = ObjectRecord::Decode(**row);
  // A record that does not read back (or a hash twin) is no object.
  if (!record || record->meta.key != key) return std::optional<R2ObjectMeta>();
  if (files != nullptr) *files = record->files;
  return std::optional<R2ObjectMeta>(std::move(record->meta));
}

StatusOr<bool> R2Store::DropObject(MDB_txn* txn, const std::string& owner, uint32_t bucket_id,
                                   const std::string& key, std::vector<uint64_t>* unlink) {
  std::string index_key = IndexKey(bucket_id, key);
  auto row = GetRow(txn, dbs_.objects, index_key);
  if (!row.ok()) return row.status();
  if (!*row) return false;
  std::optional<ObjectRecord> record = ObjectRecord::Decode(**row);
  if (record && record->meta.key != key) return false;
  EDGE_RETURN_IF_ERROR(Del(txn, dbs_.objects, index_key));
  if (record) {
    for (const auto& [id, size] : record->files) {
      EDGE_RETURN_IF_ERROR(Put(txn, dbs_.pending, base::Be64(id), ""));
      unlink->push_back(id);
    }
    EDGE_RETURN_IF_ERROR(AddUsage(txn, owner, -static_cast<int64_t>(record->accounted), false));
  }
  return true;
}

Status R2Store::CreateBucket(const std::string& owner, const std::string& bucket) {
  if (!ValidBucketName(bucket)) {
    return R2Error("The specified bucket name is not valid.", 10005);
  }
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "create bucket"));
  auto existing = BucketId(txn.get(), owner, bucket, false);
  if (!existing.ok()) return existing.status();
  if (*existing != 0) return R2Error("The bucket you tried to create already exists, and you own it.", 10004);
  auto made = BucketId(txn.get(), owner, bucket, true);
  if (!made.ok()) return made.status();
  return txn.Commit("create bucket");
}

StatusOr<std::vector<R2BucketInfo>> R2Store::ListBuckets(const std::string& owner) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "list buckets"));
  std::vector<R2BucketInfo> out;
  std::string prefix = owner;
  prefix.push_back('\0');
  base::LmdbCursor cursor(txn.get(), dbs_.buckets);
  if (cursor.rc() != 0) return Error("list buckets", cursor.rc());
  MDB_val k = Val(prefix), v;
  for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    std::string_view row = View(k);
    if (!row.starts_with(prefix)) break;
    if (v.mv_size != 12) continue;
    out.push_back({std::string(row.substr(prefix.size())),
                   static_cast<int64_t>(GetBe(static_cast<const char*>(v.mv_data) + 4, 8))});
  }
  return out;
}

Status R2Store::DeleteBucket(const std::string& owner, const std::string& bucket) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "delete bucket"));
  auto id = BucketId(txn.get(), owner, bucket, false);
  if (!id.ok()) return id.status();
  if (*id == 0) return R2Error("The specified bucket does not exist.", 10006);
  std::string prefix = Be32(*id);
  base::LmdbCursor cursor(txn.get(), dbs_.objects);
  if (cursor.rc() != 0) return Error("delete bucket", cursor.rc());
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  bool has_objects = rc == 0 && View(k).starts_with(prefix);
  bool has_uploads = false;
  base::LmdbCursor uploads(txn.get(), dbs_.uploads);
  if (uploads.rc() != 0) return Error("delete bucket", uploads.rc());
  for (rc = mdb_cursor_get(uploads.get(), &k, &v, MDB_FIRST); rc == 0 && !has_uploads;
       rc = mdb_cursor_get(uploads.get(), &k, &v, MDB_NEXT)) {
    std::optional<Upload> upload = Upload::Decode(View(v));
    has_uploads = upload && upload->bucket_id == *id;
  }
  if (has_objects || has_uploads) {
    return R2Error("The bucket you tried to delete is not empty.", 10008);
  }
  EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.buckets, BucketRowKey(owner, bucket)));
  return txn.Commit("delete bucket");
}

Status R2Store::DropOwner(const std::string& owner) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  auto buckets = ListBuckets(owner);
  if (!buckets.ok()) return buckets.status();
  std::vector<uint64_t> unlink;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "drop account"));
  std::set<uint32_t> ids;
  for (const R2BucketInfo& bucket : *buckets) {
    auto id = BucketId(txn.get(), owner, bucket.name, false);
    if (!id.ok()) return id.status();
    ids.insert(*id);
    std::string prefix = Be32(*id);
    std::vector<std::string> keys;
    {
      base::LmdbCursor cursor(txn.get(), dbs_.objects);
      if (cursor.rc() != 0) return Error("drop account", cursor.rc());
      MDB_val k = Val(prefix), v;
      for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
           rc == 0 && View(k).starts_with(prefix);
           rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
        if (auto record = ObjectRecord::Decode(View(v))) keys.push_back(record->meta.key);
      }
    }
    for (const std::string& key : keys) {
      auto dropped = DropObject(txn.get(), owner, *id, key, &unlink);
      if (!dropped.ok()) return dropped.status();
    }
    EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.buckets, BucketRowKey(owner, bucket.name)));
  }
  std::vector<std::string> upload_ids;
  {
    base::LmdbCursor cursor(txn.get(), dbs_.uploads);
    if (cursor.rc() != 0) return Error("drop account", cursor.rc());
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::optional<Upload> upload = Upload::Decode(View(v));
      if (upload && ids.contains(upload->bucket_id)) upload_ids.emplace_back(View(k));
    }
  }
  for (const std::string& upload_id : upload_ids) {
    EDGE_RETURN_IF_ERROR(DropUpload(txn.get(), owner, upload_id, &unlink, nullptr));
  }
  EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.usage, UsageKey(owner)));
  EDGE_RETURN_IF_ERROR(txn.Commit("drop account"));
  RemoveFiles(unlink);
  return Status::Ok();
}

Status R2Store::CheckPutArgs(const std::string& key, const R2PutOptions& options,
                             std::optional<uint64_t> declared) {
  EDGE_RETURN_IF_ERROR(CheckPutOptions(key, options));
  if (!options.checksum_algorithm.empty() && options.checksum_algorithm != "md5" &&
      DigestOf(options.checksum_algorithm) == nullptr) {
    return Status(ErrorCode::kTypeError, "unknown checksum algorithm");
  }
  if (declared && *declared > kR2MaxPutBytes) return EntityTooLarge();
  return Status::Ok();
}

StatusOr<std::unique_ptr<R2Writer>> R2Store::BeginPut(const std::string& owner,
                                                      const std::string& bucket,
                                                      const std::string& key, R2PutOptions options,
                                                      std::optional<uint64_t> declared) {
  EDGE_RETURN_IF_ERROR(CheckPutArgs(key, options, declared));
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  auto used = OwnerBytes(owner);
  if (!used.ok()) return used.status();
  uint64_t room = limits_.max_owner_bytes - std::min(*used, limits_.max_owner_bytes);
  if (declared && *declared > room) return QuotaFull(limits_.max_owner_bytes);
  auto id = AllocateFiles(1);
  if (!id.ok()) return id.status();
  std::unique_ptr<R2Writer> writer(new R2Writer(shared_from_this()));
  writer->owner_ = owner;
  writer->bucket_ = bucket;
  writer->key_ = key;
  writer->options_ = std::move(options);
  writer->declared_ = declared;
  writer->max_bytes_ = std::min(kR2MaxPutBytes, room);
  writer->file_id_ = *id;
  writer->path_ = TmpPath(*id);
  if (const EVP_MD* md = DigestOf(writer->options_.checksum_algorithm)) {
    writer->hashes_->other = EVP_MD_CTX_new();
    EVP_DigestInit_ex(writer->hashes_->other, md, nullptr);
  }
  int fd = ::open(writer->path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("R2 store: cannot create {}: {}", writer->path_, strerror(errno)));
  }
  writer->file_ = CacheFile(fd);
  return writer;
}

Status R2Store::CommitWriter(R2Writer& writer, std::optional<R2ObjectMeta>* result) {
  if (writer.declared_ && writer.written_ != *writer.declared_) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("The body is {} bytes long, not its declared length of {} bytes.",
                              writer.written_, *writer.declared_));
  }
  std::string md5(EVP_MAX_MD_SIZE, '\0');
  unsigned int md5_size = 0;
  EVP_DigestFinal_ex(writer.hashes_->md5, reinterpret_cast<unsigned char*>(md5.data()), &md5_size);
  md5.resize(md5_size);
  std::string other;
  if (writer.hashes_->other != nullptr) {
    other.resize(EVP_MAX_MD_SIZE);
    unsigned int size = 0;
    EVP_DigestFinal_ex(writer.hashes_->other, reinterpret_cast<unsigned char*>(other.data()), &size);
    other.resize(size);
  }
  const std::string& algorithm = writer.options_.checksum_algorithm;
  if (!algorithm.empty()) {
    const std::string& actual = algorithm == "md5" ? md5 : other;
    if (actual != writer.options_.checksum) {
      return R2Error(fmt::format("The {} checksum you specified did not match what we received.\n"
                                 "You provided a {} checksum with value: {}\nActual {} was: {}",
                                 AlgorithmTitle(algorithm), AlgorithmTitle(algorithm),
                                 Hex(writer.options_.checksum), AlgorithmTitle(algorithm), Hex(actual)),
                     10037);
    }
  }
  // Durable before it is indexed: the body, then its name in bodies/.
  if (::fsync(writer.file_.fd()) != 0) {
    return Status(ErrorCode::kIo, fmt::format("R2 store: fsync of a body: {}", strerror(errno)));
  }
  writer.file_.Close();
  std::string body = BodyPath(writer.file_id_);
  std::error_code ec;
  fs::create_directories(fs::path(body).parent_path(), ec);
  if (::rename(writer.path_.c_str(), body.c_str()) != 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("R2 store: cannot move a body into place: {}", strerror(errno)));
  }
  EDGE_RETURN_IF_ERROR(SyncPath(fs::path(body).parent_path().string(), true));

  int64_t now = Now();
  std::vector<uint64_t> unlink;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "put"));
  if (!writer.upload_id_.empty()) {
    // A part: replaces the part of the same number.
    auto upload = FindUpload(txn.get(), writer.owner_, writer.bucket_, writer.key_, writer.upload_id_);
    if (!upload.ok()) return upload.status();
    if (!*upload) return NoSuchUpload();
    std::string part_key = PartKey(writer.upload_id_, writer.part_number_);
    auto old = GetRow(txn.get(), dbs_.parts, part_key);
    if (!old.ok()) return old.status();
    if (*old && (*old)->size() >= 16) {
      uint64_t old_id = GetBe((*old)->data(), 8);
      uint64_t old_size = GetBe((*old)->data() + 8, 8);
      EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.pending, base::Be64(old_id), ""));
      unlink.push_back(old_id);
      EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), writer.owner_, -static_cast<int64_t>(old_size + kR2ObjectOverhead), false));
    }
    std::string row = base::Be64(writer.file_id_);
    PutBe64(row, writer.written_);
    row.append(md5);
    EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.parts, part_key, row));
    EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), writer.owner_, static_cast<int64_t>(writer.written_ + kR2ObjectOverhead), true));
    EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.pending, base::Be64(writer.file_id_)));
    R2ObjectMeta part;
    part.size = writer.written_;
    part.etag = Hex(md5);
    Status committed = txn.Commit("upload part");
    if (!committed.ok()) return committed;
    writer.done_ = true;
    RemoveFiles(unlink);
    *result = std::move(part);
    return Status::Ok();
  }

  auto bucket_id = BucketId(txn.get(), writer.owner_, writer.bucket_, true);
  if (!bucket_id.ok()) return bucket_id.status();
  if (writer.options_.only_if) {
    auto current = ReadObject(txn.get(), *bucket_id, writer.key_, nullptr);
    if (!current.ok()) return current.status();
    if (!writer.options_.only_if->Test(current->has_value() ? &**current : nullptr)) {
      // Nothing is stored; the writer's file goes with Abort.
      return Status::Ok();
    }
  }
  auto dropped = DropObject(txn.get(), writer.owner_, *bucket_id, writer.key_, &unlink);
  if (!dropped.ok()) return dropped.status();
  ObjectRecord record;
  record.meta.key = writer.key_;
  record.meta.version = RandomHex(16);
  record.meta.size = writer.written_;
  record.meta.etag = Hex(md5);
  record.meta.uploaded_ms = now;
  record.meta.http = writer.options_.http;
  record.meta.custom = writer.options_.custom;
  record.meta.checksums.md5 = md5;
  if (algorithm == "sha1") record.meta.checksums.sha1 = other;
  if (algorithm == "sha256") record.meta.checksums.sha256 = other;
  if (algorithm == "sha384") record.meta.checksums.sha384 = other;
  if (algorithm == "sha512") record.meta.checksums.sha512 = other;
  record.meta.storage_class = writer.options_.storage_class;
  record.files = {{writer.file_id_, writer.written_}};
  record.accounted = writer.written_ + kR2ObjectOverhead;
  EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), writer.owner_, static_cast<int64_t>(record.accounted), true));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.objects, IndexKey(*bucket_id, writer.key_), record.Encode()));
  EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.pending, base::Be64(writer.file_id_)));
  EDGE_RETURN_IF_ERROR(RecordChange(txn.get(), {R2Change::kPut, writer.owner_, writer.bucket_,
                                                writer.key_, record.meta.size, record.meta.etag, now}));
  EDGE_RETURN_IF_ERROR(txn.Commit("put"));
  writer.done_ = true;
  RemoveFiles(unlink);
  *result = std::move(record.meta);
  return Status::Ok();
}

StatusOr<std::optional<R2ObjectMeta>> R2Store::Head(const std::string& owner,
                                                    const std::string& bucket,
                                                    const std::string& key) {
  if (key.size() > kR2MaxKeyBytes) return InvalidObjectName();
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "head"));
  auto id = BucketId(txn.get(), owner, bucket, false);
  if (!id.ok()) return id.status();
  if (*id == 0) return std::optional<R2ObjectMeta>();
  return ReadObject(txn.get(), *id, key, nullptr);
}

StatusOr<std::optional<R2Got>> R2Store::Get(const std::string& owner, const std::string& bucket,
                                            const std::string& key, const R2Conditional& only_if,
                                            const std::optional<R2Range>& range) {
  if (key.size() > kR2MaxKeyBytes) return InvalidObjectName();
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  std::vector<std::pair<uint64_t, uint64_t>> files;
  R2Got got;
  {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "get"));
    auto id = BucketId(txn.get(), owner, bucket, false);
    if (!id.ok()) return id.status();
    if (*id == 0) return std::optional<R2Got>();
    auto meta = ReadObject(txn.get(), *id, key, &files);
    if (!meta.ok()) return meta.status();
    if (!*meta) return std::optional<R2Got>();
    got.meta = std::move(**meta);
    if (!only_if.Test(&got.meta)) return std::optional<R2Got>(std::move(got));
    // The files are opened while the record is current: a delete that
    // commits afterwards unlinks names, and open files stay readable.
    for (const auto& [file_id, size] : files) {
      int fd = ::open(BodyPath(file_id).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        return Status(ErrorCode::kIo, fmt::format("R2 store: the body of \"{}\" is missing on disk", key));
      }
      got.segments.push_back({CacheFile(fd), size});
    }
  }
  got.has_body = true;
  uint64_t size = got.meta.size;
  got.offset = 0;
  got.length = size;
  if (range) {
    got.ranged = true;
    if (range->suffix) {
      got.length = std::min(*range->suffix, size);
      got.offset = size - got.length;
    } else {
      uint64_t offset = range->offset.value_or(0);
      if (offset > size || (offset == size && size > 0)) {
        return R2Error("The requested range is not satisfiable", 10039);
      }
      got.offset = offset;
      got.length = std::min(range->length.value_or(size - offset), size - offset);
    }
  }
  return std::optional<R2Got>(std::move(got));
}

Status R2Store::Delete(const std::string& owner, const std::string& bucket,
                       const std::vector<std::string>& keys) {
  if (keys.size() > kR2MaxDeleteKeys) {
    return R2Error(fmt::format("At most {} keys can be deleted at once.", kR2MaxDeleteKeys), 10029);
  }
  for (const std::string& key : keys) {
    if (key.size() > kR2MaxKeyBytes) return InvalidObjectName();
  }
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  std::vector<uint64_t> unlink;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "delete"));
  auto id = BucketId(txn.get(), owner, bucket, false);
  if (!id.ok()) return id.status();
  if (*id == 0) return Status::Ok();
  int64_t now = Now();
  for (const std::string& key : keys) {
    auto dropped = DropObject(txn.get(), owner, *id, key, &unlink);
    if (!dropped.ok()) return dropped.status();
    if (*dropped) {
      EDGE_RETURN_IF_ERROR(
          RecordChange(txn.get(), {R2Change::kDelete, owner, bucket, key, 0, "", now}));
    }
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("delete"));
  RemoveFiles(unlink);
  return Status::Ok();
}

StatusOr<R2ListResult> R2Store::List(const std::string& owner, const std::string& bucket,
                                     const R2ListOptions& options) {
  if (options.limit < 1 || options.limit > kR2MaxListLimit) {
    return R2Error("MaxKeys params must be positive integer <= 1000.", 10022);
  }
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  R2ListResult result;
  // The cursor is where the last page stopped: 'k' + the last key it
  // returned, or 'p' + the last delimited prefix (skip all under it).
  std::string after = options.start_after;
  std::string skip_prefix;
  if (!options.cursor.empty()) {
    if (options.cursor.size() < 2 || (options.cursor[0] != 'k' && options.cursor[0] != 'p')) {
      return R2Error("The cursor you provided is not valid.", 10029);
    }
    std::string from = options.cursor.substr(1);
    std::string decoded;
    for (size_t i = 0; i + 1 < from.size(); i += 2) {
      auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      int hi = nibble(from[i]), lo = nibble(from[i + 1]);
      if (hi < 0 || lo < 0) return R2Error("The cursor you provided is not valid.", 10029);
      decoded.push_back(static_cast<char>(hi * 16 + lo));
    }
    if (from.size() % 2 != 0) return R2Error("The cursor you provided is not valid.", 10029);
    if (options.cursor[0] == 'k') {
      if (decoded > after) after = decoded;
    } else {
      skip_prefix = decoded;
      if (decoded > after) after = decoded;
    }
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "list"));
  auto id = BucketId(txn.get(), owner, bucket, false);
  if (!id.ok()) return id.status();
  if (*id == 0) return result;
  std::string bucket_prefix = Be32(*id);
  base::LmdbCursor cursor(txn.get(), dbs_.objects);
  if (cursor.rc() != 0) return Error("list", cursor.rc());
  std::string seek = IndexKey(*id, std::max(after, options.prefix));
  MDB_val k = Val(seek), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  std::string last;
  char last_kind = 'k';
  size_t count = 0;
  while (rc == 0) {
    std::string_view row_key = View(k);
    if (!row_key.starts_with(bucket_prefix)) break;
    std::string_view raw = row_key.substr(4);
    // Past every key with the prefix (index order is key order here).
    if (raw.size() <= kIndexKeyWhole && !raw.starts_with(options.prefix) && raw > options.prefix) break;
    std::optional<ObjectRecord> record = ObjectRecord::Decode(View(v));
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    if (!record) continue;
    const std::string& key = record->meta.key;
    if (!key.starts_with(options.prefix) || key <= after) continue;
    if (!skip_prefix.empty() && key.starts_with(skip_prefix)) continue;
    if (!options.delimiter.empty()) {
      size_t at = key.find(options.delimiter, options.prefix.size());
      if (at != std::string::npos) {
        std::string delimited = key.substr(0, at + options.delimiter.size());
        if (count == options.limit) {
          result.truncated = true;
          break;
        }
        result.delimited_prefixes.push_back(delimited);
        ++count;
        last = delimited;
        last_kind = 'p';
        skip_prefix = delimited;
        // Jump past every key under it: to its successor in byte order.
        std::string next = delimited;
        while (!next.empty() && static_cast<unsigned char>(next.back()) == 0xff) next.pop_back();
        if (!next.empty() && next.size() <= kIndexKeyWhole) {
          next.back() = static_cast<char>(static_cast<unsigned char>(next.back()) + 1);
          std::string jump = IndexKey(*id, next);
          k = Val(jump);
          rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
        }
        continue;
      }
    }
    if (count == options.limit) {
      result.truncated = true;
      break;
    }
    R2ObjectMeta meta = std::move(record->meta);
    if (!options.include_http) meta.http = {};
    if (!options.include_custom) meta.custom.clear();
    last = meta.key;
    last_kind = 'k';
    result.objects.push_back(std::move(meta));
    ++count;
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return Error("list", rc);
  if (result.truncated) result.cursor = std::string(1, last_kind) + Hex(last);
  return result;
}

StatusOr<std::string> R2Store::CreateMultipartUpload(const std::string& owner,
                                                     const std::string& bucket,
                                                     const std::string& key, R2PutOptions options) {
  EDGE_RETURN_IF_ERROR(CheckPutOptions(key, options));
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "createMultipartUpload"));
  auto id = BucketId(txn.get(), owner, bucket, true);
  if (!id.ok()) return id.status();
  Upload upload;
  upload.bucket_id = *id;
  upload.key = key;
  upload.options = std::move(options);
  upload.options.only_if.reset();
  upload.created_ms = Now();
  std::string upload_id = RandomHex(24);
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.uploads, upload_id, upload.Encode()));
  EDGE_RETURN_IF_ERROR(txn.Commit("createMultipartUpload"));
  return upload_id;
}

StatusOr<std::optional<R2Store::Upload>> R2Store::FindUpload(MDB_txn* txn, const std::string& owner,
                                                             const std::string& bucket,
                                                             const std::string& key,
                                                             const std::string& upload_id) {
  if (upload_id.empty() || upload_id.size() > 128) return std::optional<Upload>();
  auto id = BucketId(txn, owner, bucket, false);
  if (!id.ok()) return id.status();
  auto row = GetRow(txn, dbs_.uploads, upload_id);
  if (!row.ok()) return row.status();
  if (*id == 0 || !*row) return std::optional<Upload>();
  std::optional<Upload> upload = Upload::Decode(**row);
  if (!upload || upload->bucket_id != *id || upload->key != key) return std::optional<Upload>();
  return upload;
}

StatusOr<std::unique_ptr<R2Writer>> R2Store::BeginPart(const std::string& owner,
                                                       const std::string& bucket,
                                                       const std::string& key,
                                                       const std::string& upload_id,
                                                       uint32_t part_number,
                                                       std::optional<uint64_t> declared) {
  if (part_number < 1 || part_number > kR2MaxParts) {
    return R2Error("Part number must be between 1 and 10000 (inclusive).", 10039);
  }
  if (key.empty() || key.size() > kR2MaxKeyBytes) return InvalidObjectName();
  if (declared && *declared > kR2MaxPutBytes) return EntityTooLarge();
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "uploadPart"));
    auto upload = FindUpload(txn.get(), owner, bucket, key, upload_id);
    if (!upload.ok()) return upload.status();
    if (!*upload) return NoSuchUpload();
  }
  auto writer = BeginPut(owner, bucket, key, R2PutOptions{}, declared);
  if (!writer.ok()) return writer.status();
  (*writer)->upload_id_ = upload_id;
  (*writer)->part_number_ = part_number;
  return writer;
}

Status R2Store::DropUpload(MDB_txn* txn, const std::string& owner, const std::string& upload_id,
                           std::vector<uint64_t>* unlink, const std::vector<uint32_t>* keep) {
  std::vector<std::string> rows;
  {
    base::LmdbCursor cursor(txn, dbs_.parts);
    if (cursor.rc() != 0) return Error("abort", cursor.rc());
    MDB_val k = Val(upload_id), v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
         rc == 0 && View(k).size() == upload_id.size() + 2 && View(k).starts_with(upload_id);
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::string_view row_key = View(k);
      uint32_t number = (static_cast<unsigned char>(row_key[upload_id.size()]) << 8) |
                        static_cast<unsigned char>(row_key[upload_id.size() + 1]);
      rows.emplace_back(row_key);
      if (keep != nullptr && std::find(keep->begin(), keep->end(), number) != keep->end()) continue;
      if (v.mv_size >= 16) {
        uint64_t file_id = GetBe(static_cast<const char*>(v.mv_data), 8);
        uint64_t size = GetBe(static_cast<const char*>(v.mv_data) + 8, 8);
        unlink->push_back(file_id);
        EDGE_RETURN_IF_ERROR(Put(txn, dbs_.pending, base::Be64(file_id), ""));
        EDGE_RETURN_IF_ERROR(AddUsage(txn, owner, -static_cast<int64_t>(size + kR2ObjectOverhead), false));
      }
    }
  }
  for (const std::string& row : rows) EDGE_RETURN_IF_ERROR(Del(txn, dbs_.parts, row));
  return Del(txn, dbs_.uploads, upload_id);
}

StatusOr<R2ObjectMeta> R2Store::CompleteMultipartUpload(
    const std::string& owner, const std::string& bucket, const std::string& key,
    const std::string& upload_id, const std::vector<std::pair<uint32_t, std::string>>& parts) {
  if (parts.size() > kR2MaxParts) {
    return R2Error("There was a problem with the multipart upload.", 10048);
  }
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  std::vector<uint64_t> unlink;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "completeMultipartUpload"));
  auto upload = FindUpload(txn.get(), owner, bucket, key, upload_id);
  if (!upload.ok()) return upload.status();
  if (!*upload) return NoSuchUpload();
  ObjectRecord record;
  std::string md5s;
  std::vector<uint32_t> used;
  uint64_t total = 0;
  // First every part must be there, in ascending order, with its etag;
  // then the sizes must follow R2's rules.
  std::vector<std::pair<uint64_t, uint64_t>> found;  // file id, size
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& [number, etag] = parts[i];
    if (i > 0 && number <= parts[i - 1].first) {
      return R2Error("There was a problem with the multipart upload.", 10048);
    }
    if (number < 1 || number > kR2MaxParts) {
      return R2Error("One or more of the specified parts could not be found.", 10025);
    }
    auto row = GetRow(txn.get(), dbs_.parts, PartKey(upload_id, number));
    if (!row.ok()) return row.status();
    if (!*row || (*row)->size() < 32 || Hex(std::string_view(**row).substr(16, 16)) != etag) {
      return R2Error("One or more of the specified parts could not be found.", 10025);
    }
    md5s.append(std::string_view(**row).substr(16, 16));
    found.emplace_back(GetBe((*row)->data(), 8), GetBe((*row)->data() + 8, 8));
  }
  for (size_t i = 0; i < found.size(); ++i) {
    uint64_t size = found[i].second;
    // R2: every part but the last at least 5 MiB, and all of them (but
    // the last, which may be smaller) the same size.
    bool last = i + 1 == found.size();
    if (!last && size < kR2MinPartBytes) {
      return R2Error("Your proposed upload is smaller than the minimum allowed object size.", 10011);
    }
    if ((!last && size != found[0].second) || (last && size > found[0].second)) {
      return R2Error("There was a problem with the multipart upload.", 10048);
    }
    total += size;
    used.push_back(parts[i].first);
    record.files.push_back(found[i]);
  }
  if (total > kR2MaxObjectBytes) return EntityTooLarge();
  // The parts left out go; those used become the object's body, without a
  // copy (their bytes are already counted).
  EDGE_RETURN_IF_ERROR(DropUpload(txn.get(), owner, upload_id, &unlink, &used));
  auto dropped = DropObject(txn.get(), owner, upload->value().bucket_id, key, &unlink);
  if (!dropped.ok()) return dropped.status();
  int64_t now = Now();
  record.meta.key = key;
  record.meta.version = RandomHex(16);
  record.meta.size = total;
  {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(md5s.data(), md5s.size(), digest, &size, EVP_md5(), nullptr);
    record.meta.etag = fmt::format("{}-{}", Hex(std::string_view(reinterpret_cast<char*>(digest), size)),
                                   parts.size());
  }
  record.meta.uploaded_ms = now;
  record.meta.http = upload->value().options.http;
  record.meta.custom = upload->value().options.custom;
  record.meta.storage_class = upload->value().options.storage_class;
  // Each part's overhead was counted; the object keeps one.
  record.accounted = total + kR2ObjectOverhead;
  EDGE_RETURN_IF_ERROR(AddUsage(
      txn.get(), owner, -static_cast<int64_t>(kR2ObjectOverhead * (parts.size() > 0 ? parts.size() - 1 : 0)),
      false));
  if (parts.empty()) EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), owner, kR2ObjectOverhead, true));
  EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.objects, IndexKey(upload->value().bucket_id, key), record.Encode()));
  EDGE_RETURN_IF_ERROR(RecordChange(txn.get(), {R2Change::kCompleteMultipart, owner, bucket, key,
                                                total, record.meta.etag, now}));
  EDGE_RETURN_IF_ERROR(txn.Commit("completeMultipartUpload"));
  RemoveFiles(unlink);
  return std::move(record.meta);
}

Status R2Store::AbortMultipartUpload(const std::string& owner, const std::string& bucket,
                                     const std::string& key, const std::string& upload_id) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  std::vector<uint64_t> unlink;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "abortMultipartUpload"));
  auto upload = FindUpload(txn.get(), owner, bucket, key, upload_id);
  if (!upload.ok()) return upload.status();
  // As R2: aborting an upload that is not there (or no longer) succeeds.
  if (!*upload) return Status::Ok();
  EDGE_RETURN_IF_ERROR(DropUpload(txn.get(), owner, upload_id, &unlink, nullptr));
  EDGE_RETURN_IF_ERROR(txn.Commit("abortMultipartUpload"));
  RemoveFiles(unlink);
  return Status::Ok();
}

StatusOr<std::optional<R2ObjectMeta>> R2Store::CopyObject(const std::string& owner,
                                                          const std::string& source_bucket,
                                                          const std::string& source_key,
                                                          const std::string& bucket,
                                                          const std::string& key,
                                                          const R2CopyOptions& options) {
  if (source_key.empty() || source_key.size() > kR2MaxKeyBytes) return InvalidObjectName();
  R2PutOptions checked;
  checked.http = options.http;
  checked.custom = options.custom;
  checked.storage_class = options.storage_class.value_or("Standard");
  EDGE_RETURN_IF_ERROR(CheckPutOptions(key, checked));
  bool same = source_bucket == bucket && source_key == key;
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  // The source as it is now: its record and its body files.
  std::vector<std::pair<uint64_t, uint64_t>> files;
  R2ObjectMeta source;
  {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "copy"));
    auto id = BucketId(txn.get(), owner, source_bucket, false);
    if (!id.ok()) return id.status();
    if (*id == 0) return Status(ErrorCode::kNotFound, "The specified bucket does not exist. (10006)");
    auto meta = ReadObject(txn.get(), *id, source_key, &files);
    if (!meta.ok()) return meta.status();
    if (!*meta) return Status(ErrorCode::kNotFound, "The specified key does not exist. (10007)");
    source = std::move(**meta);
  }
  if (!options.source_only_if.Test(&source)) return std::optional<R2ObjectMeta>();
  if (same && !options.replace_metadata &&
      (!options.storage_class || *options.storage_class == source.storage_class)) {
    return Status(ErrorCode::kInvalidInput,
                  "This copy request is illegal because it is trying to copy an object to itself "
                  "without changing the object's metadata or storage class.");
  }
  // Counted as a new object (the quota is checked in the transaction, once
  // a replaced destination has given its bytes back).
  uint64_t accounted = source.size + kR2ObjectOverhead;
  // New names for the source's bodies, each in `pending` until the record
  // that names it commits: a copy cut short leaves rows the next open (or
  // the error path below) turns into unlinks, and the source's own names
  // are never touched.
  std::vector<uint64_t> made;
  if (!files.empty()) {
    auto first = AllocateFiles(files.size());
    if (!first.ok()) return first.status();
    for (uint64_t i = 0; i < files.size(); ++i) made.push_back(*first + i);
  }
  auto fail = [&](Status status) {
    RemoveFiles(made);
    return status;
  };
  std::set<std::string> folders;
  ObjectRecord record;
  for (size_t i = 0; i < files.size(); ++i) {
    Status shared = ShareBody(files[i].first, made[i]);
    // The source went since it was read: as if the copy came after.
    if (shared.code() == ErrorCode::kNotFound) {
      return fail(Status(ErrorCode::kNotFound, "The specified key does not exist. (10007)"));
    }
    if (!shared.ok()) return fail(shared);
    folders.insert(fs::path(BodyPath(made[i])).parent_path().string());
    record.files.emplace_back(made[i], files[i].second);
  }
  for (const std::string& folder : folders) {
    Status synced = SyncPath(folder, true);
    if (!synced.ok()) return fail(synced);
  }
  int64_t now = Now();
  std::vector<uint64_t> unlink;
  // The transaction ends (committed or not) before `fail` cleans up.
  Status indexed = [&]() -> Status {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "copy"));
    auto bucket_id = BucketId(txn.get(), owner, bucket, true);
    if (!bucket_id.ok()) return bucket_id.status();
    auto dropped = DropObject(txn.get(), owner, *bucket_id, key, &unlink);
    if (!dropped.ok()) return dropped.status();
    record.meta = source;
    record.meta.key = key;
    record.meta.version = RandomHex(16);
    record.meta.uploaded_ms = now;
    if (options.replace_metadata) {
      record.meta.http = options.http;
      record.meta.custom = options.custom;
    }
    record.meta.storage_class = checked.storage_class;
    record.accounted = accounted;
    EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), owner, static_cast<int64_t>(accounted), true));
    EDGE_RETURN_IF_ERROR(Put(txn.get(), dbs_.objects, IndexKey(*bucket_id, key), record.Encode()));
    for (uint64_t id : made) EDGE_RETURN_IF_ERROR(Del(txn.get(), dbs_.pending, base::Be64(id)));
    R2Change change{R2Change::kCopy, owner, bucket, key, record.meta.size, record.meta.etag, now};
    change.source_bucket = source_bucket;
    change.source_key = source_key;
    EDGE_RETURN_IF_ERROR(RecordChange(txn.get(), change));
    return txn.Commit("copy");
  }();
  if (!indexed.ok()) return fail(indexed);
  RemoveFiles(unlink);
  return std::optional<R2ObjectMeta>(std::move(record.meta));
}

StatusOr<uint64_t> R2Store::OwnerBytes(const std::string& owner) {
  EDGE_RETURN_IF_ERROR(EnsureOpen());
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "usage"));
  return GetU64(txn.get(), dbs_.usage, UsageKey(owner));
}

}  // namespace edge::bindings
