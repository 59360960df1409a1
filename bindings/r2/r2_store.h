// The storage behind R2 bucket bindings (`[[r2_buckets]]`), `edge r2` and
// the admin API's buckets: objects kept on disk, per owner (a node's
// account; the local project under `edge dev`) and per bucket, durable when
// a put returns. No V8 here: every method is a blocking call meant for
// libuv's thread pool, safe from several threads at once.
//
// Where things are, under `<state_dir>/r2/`:
//   index/     one LMDB environment: buckets, object records, multipart
//              uploads and their parts, each owner's byte count, and the
//              body files being written or being removed
//   bodies/XX/ one file per body (an object's, or a multipart part's),
//              named by its file id (16 hex digits; XX is the last two)
//   tmp/       bodies being written
//
// A put writes its body chunk by chunk to tmp/ with no lock held (a 1 GiB
// body is never in memory), fsyncs it, renames it into bodies/, fsyncs the
// folder, and then indexes it in one LMDB transaction (which fsyncs): once
// Commit returns, the object survives a crash of the process or the
// machine. Each body file id is written to the `pending` table when its
// put begins, and taken out in the transaction that indexes it; so a put
// that never committed (the process died, the stream failed) leaves a
// pending row, and the next open removes its file. Object deletes and
// replacements put the dropped bodies in `pending` in the same transaction
// that drops the record, and unlink them after it commits.
//
// Index layout (named databases; integers big-endian):
//   meta     "format" -> "1"; "next_file" -> u64; "next_bucket" -> u32
//   buckets  owner + '\0' + bucket name -> u32 bucket id + u64 created (ms)
//   usage    "u:" + owner -> u64 bytes (object and part bodies, records)
//   objects  u32 bucket id + IndexKey(key) -> the object's record
//   uploads  upload id -> the multipart upload's record
//   parts    upload id + u16 part number -> u64 file id + u64 size + md5
//   pending  u64 file id -> "" (a body file to remove at open)
//   rules, outbox  bucket event notifications (r2_notifications.h)
// IndexKey is the key itself when it is at most 495 bytes (LMDB keys are at
// most 511 bytes), else its first 487 bytes and 8 bytes of its SHA-256:
// list order is key order, except among keys that share their first 487
// bytes, which come in hash order.
//
// Every object creation and deletion goes through RecordChange, inside the
// transaction that makes it: a change hook set there (storage event
// notifications) writes in that same transaction, and its error fails the
// write.
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
#include "bindings/cache/cache_store.h"  // CacheFile: an fd that closes itself

namespace edge::bindings {

// R2's limits (https://developers.cloudflare.com/r2/platform/limits/).
inline constexpr size_t kR2MaxKeyBytes = 1024;
inline constexpr size_t kR2MaxMetadataBytes = 8192;
inline constexpr uint64_t kR2MinPartBytes = uint64_t{5} << 20;
inline constexpr uint32_t kR2MaxParts = 10000;
// A single put, and a single part: 5 GiB less 5 MiB ("4.995 GiB").
inline constexpr uint64_t kR2MaxPutBytes = (uint64_t{5} << 30) - (uint64_t{5} << 20);
inline constexpr uint64_t kR2MaxObjectBytes = uint64_t{5} << 40;
inline constexpr size_t kR2MaxListLimit = 1000;
inline constexpr size_t kR2MaxDeleteKeys = 1000;
// What an object or a part costs beyond its body (its file, its index rows).
inline constexpr uint64_t kR2ObjectOverhead = 1024;

struct R2Limits {
  // Bytes one owner's buckets may hold, every bucket together (objects,
  // parts of uploads in progress, and their records). edge serve:
  // `r2_account_max_mb` (10 GiB by default).
  uint64_t max_owner_bytes = uint64_t{10} << 30;
};

struct R2HttpMetadata {
  std::optional<std::string> content_type, content_language, content_disposition,
      content_encoding, cache_control;
  std::optional<int64_t> cache_expiry_ms;
};

// Raw digests; empty when the object has none of that kind.
struct R2Checksums {
  std::string md5, sha1, sha256, sha384, sha512;
};

struct R2ObjectMeta {
  std::string key;
  std::string version;
  uint64_t size = 0;
  std::string etag;
  int64_t uploaded_ms = 0;
  R2HttpMetadata http;
  std::vector<std::pair<std::string, std::string>> custom;
  R2Checksums checksums;
  std::string storage_class = "Standard";
};

struct R2Etag {
  enum Type { kStrong, kWeak, kWildcard } type = kStrong;
  std::string value;
};

// An `onlyIf` (R2Conditional, or a Headers' If-* fields with
// seconds_granularity), as R2 tests it.
struct R2Conditional {
  std::optional<std::vector<R2Etag>> etag_matches, etag_does_not_match;
  std::optional<int64_t> uploaded_before_ms, uploaded_after_ms;
  bool seconds_granularity = false;
  // Whether the operation may go on against `meta` (null: no object).
  bool Test(const R2ObjectMeta* meta) const;
};

// A `range` of get(): offset and/or length, or suffix.
struct R2Range {
  std::optional<uint64_t> offset, length, suffix;
};

struct R2PutOptions {
  R2HttpMetadata http;
  std::vector<std::pair<std::string, std::string>> custom;
  std::string storage_class = "Standard";
  std::optional<R2Conditional> only_if;
  // At most one checksum to verify: "md5", "sha1", "sha256", "sha384",
  // "sha512", with its raw digest.
  std::string checksum_algorithm;
  std::string checksum;
};

// One piece of an object's body: a part of a multipart object, or the
// whole body of a plain put.
struct R2Segment {
  CacheFile file;
  uint64_t size = 0;
};

// What get() answers: the object's metadata, and (unless its onlyIf did
// not hold) its body's open files and the range to read.
struct R2Got {
  R2ObjectMeta meta;
  bool has_body = false;
  bool ranged = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::vector<R2Segment> segments;
  // Reads up to `length` bytes at `offset` of the whole body (not of the
  // range); fewer only at its end.
  StatusOr<std::string> Read(uint64_t offset, size_t length) const;
};

struct R2ListOptions {
  std::string prefix;
  std::string delimiter;
  std::string cursor;
  std::string start_after;
  size_t limit = kR2MaxListLimit;
  bool include_http = false;
  bool include_custom = false;
};

struct R2ListResult {
  std::vector<R2ObjectMeta> objects;
  std::vector<std::string> delimited_prefixes;
  bool truncated = false;
  std::string cursor;  // when truncated
};

struct R2BucketInfo {
  std::string name;
  int64_t created_ms = 0;
};

// An object created or deleted, as RecordChange hands it to the change
// hook (inside the transaction that makes the change).
struct R2Change {
  enum Action { kPut, kCompleteMultipart, kDelete, kCopy } action = kPut;
  std::string owner;
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;
  int64_t time_ms = 0;
  // kCopy: the object it was copied from (R2's `copySource`).
  std::string source_bucket;
  std::string source_key;
};

// CopyObject's options, as S3 and R2 take them on a copy request.
struct R2CopyOptions {
  // x-amz-metadata-directive: false (COPY) keeps the source's httpMetadata
  // and customMetadata; true (REPLACE) gives the copy `http` and `custom`.
  bool replace_metadata = false;
  R2HttpMetadata http;
  std::vector<std::pair<std::string, std::string>> custom;
  // x-amz-storage-class; unset: "Standard", as S3 does.
  std::optional<std::string> storage_class;
  // x-amz-copy-source-if-match, -if-none-match, -if-modified-since and
  // -if-unmodified-since, tested against the source.
  R2Conditional source_only_if;
};

class R2Store;

// One body in progress (a put's, or a part's): it goes to a file under
// tmp/ as it arrives; Commit indexes it, Abort (or the destructor) removes
// it. Used by one thread at a time.
class R2Writer {
 public:
  ~R2Writer();
  R2Writer(const R2Writer&) = delete;
  R2Writer& operator=(const R2Writer&) = delete;

  // Appends `bytes`. An error (and the writer aborted) once the body passes
  // the size a put or part may have, or the owner's quota.
  Status Write(std::string_view bytes);
  // A put: the object's metadata, or nullopt when its onlyIf did not hold
  // (nothing is stored). A part: its size and etag (meta.size, meta.etag).
  StatusOr<std::optional<R2ObjectMeta>> Commit();
  void Abort();
  uint64_t written() const { return written_; }

 private:
  friend class R2Store;
  struct Hashes;
  R2Writer(std::shared_ptr<R2Store> store);

  std::shared_ptr<R2Store> store_;
  std::string owner_, bucket_, key_;
  R2PutOptions options_;
  std::string upload_id_;  // a part's upload; empty for a put
  uint32_t part_number_ = 0;
  std::optional<uint64_t> declared_;
  uint64_t max_bytes_ = 0;
  uint64_t file_id_ = 0;
  std::string path_;
  CacheFile file_;
  std::unique_ptr<Hashes> hashes_;
  uint64_t written_ = 0;
  bool done_ = false;
};

class R2Store : public std::enable_shared_from_this<R2Store> {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds
  using ChangeHook = std::function<Status(MDB_txn* txn, const R2Change& change)>;

  // A store in `<state_dir>/r2`, opened on first use. One per folder per
  // process: a second Open of the same folder returns the same store.
  static std::shared_ptr<R2Store> Open(const std::string& state_dir, R2Limits limits = {},
                                       Clock clock = nullptr);
  ~R2Store();
  R2Store(const R2Store&) = delete;
  R2Store& operator=(const R2Store&) = delete;

  const std::string& path() const { return path_; }
  const R2Limits& limits() const { return limits_; }
  int64_t Now() const { return clock_(); }
  // Called inside every transaction that creates or deletes an object.
  // Set before the store is used.
  void SetChangeHook(ChangeHook hook) { change_hook_ = std::move(hook); }
  const ChangeHook& change_hook() const { return change_hook_; }

  // Buckets. Names as R2 has them: 3 to 63 of a-z, 0-9 and '-', starting
  // and ending with a letter or digit.
  static bool ValidBucketName(std::string_view name);
  Status CreateBucket(const std::string& owner, const std::string& bucket);
  StatusOr<std::vector<R2BucketInfo>> ListBuckets(const std::string& owner);
  // Refused while it holds objects or uploads in progress.
  Status DeleteBucket(const std::string& owner, const std::string& bucket);
  // Removes every bucket of `owner` and all they hold (its account went).
  Status DropOwner(const std::string& owner);

  // Objects. A bucket a binding names is made on its first write (as
  // `wrangler dev` does); reads of a bucket never written are misses.
  // `declared`: the body's length when known up front (checked against the
  // limits at once, and against what arrives at Commit).
  // What BeginPut checks before it looks at the store (the key, the
  // metadata, the checksum's algorithm, the declared length), so that a
  // node that forwards the put refuses what the store would, at once.
  static Status CheckPutArgs(const std::string& key, const R2PutOptions& options,
                             std::optional<uint64_t> declared);
  StatusOr<std::unique_ptr<R2Writer>> BeginPut(const std::string& owner, const std::string& bucket,
                                               const std::string& key, R2PutOptions options,
                                               std::optional<uint64_t> declared);
  StatusOr<std::optional<R2ObjectMeta>> Head(const std::string& owner, const std::string& bucket,
                                             const std::string& key);
  StatusOr<std::optional<R2Got>> Get(const std::string& owner, const std::string& bucket,
                                     const std::string& key, const R2Conditional& only_if,
                                     const std::optional<R2Range>& range);
  Status Delete(const std::string& owner, const std::string& bucket,
                const std::vector<std::string>& keys);
  StatusOr<R2ListResult> List(const std::string& owner, const std::string& bucket,
                              const R2ListOptions& options);

  // Multipart uploads.
  StatusOr<std::string> CreateMultipartUpload(const std::string& owner, const std::string& bucket,
                                              const std::string& key, R2PutOptions options);
  StatusOr<std::unique_ptr<R2Writer>> BeginPart(const std::string& owner, const std::string& bucket,
                                                const std::string& key,
                                                const std::string& upload_id, uint32_t part_number,
                                                std::optional<uint64_t> declared);
  StatusOr<R2ObjectMeta> CompleteMultipartUpload(
      const std::string& owner, const std::string& bucket, const std::string& key,
      const std::string& upload_id, const std::vector<std::pair<uint32_t, std::string>>& parts);
  Status AbortMultipartUpload(const std::string& owner, const std::string& bucket,
                              const std::string& key, const std::string& upload_id);

  // CopyObject: the object under `source_bucket`/`source_key` copied to
  // `bucket`/`key`, both of `owner` (the destination bucket is made on
  // first write, as for a put). No body byte is read: the copy's record
  // names new body files hard-linked to the source's (copied on disk only
  // where the file system refuses another link), so the source may go
  // afterwards and the copy stays whole. The copy is a new object: a new
  // version and upload time, the source's etag (a multipart source keeps
  // its "<md5>-<parts>" etag) and checksums, its bytes counted against
  // `owner`'s quota, and its CopyObject change recorded in the transaction
  // that indexes it. kNotFound when the source is not there; nullopt when
  // `options.source_only_if` does not hold (nothing is stored). Copying an
  // object onto itself needs replace_metadata (or a storage class), as S3.
  StatusOr<std::optional<R2ObjectMeta>> CopyObject(const std::string& owner,
                                                   const std::string& source_bucket,
                                                   const std::string& source_key,
                                                   const std::string& bucket, const std::string& key,
                                                   const R2CopyOptions& options);

  StatusOr<uint64_t> OwnerBytes(const std::string& owner);
  // The index and the tables bucket event notifications keep in it
  // (r2_notifications.h), the store opened if it was not.
  struct EventTables {
    const base::LmdbEnv* env = nullptr;
    MDB_dbi meta = 0, usage = 0, rules = 0, outbox = 0;
  };
  StatusOr<EventTables> OpenEventTables();
  bool is_open() const { return open_.load(std::memory_order_acquire); }
  // Body files on disk (tests of crash cleanup).
  std::string BodyPathForTesting(uint64_t id) const { return BodyPath(id); }
  std::string TmpPathForTesting(uint64_t id) const { return TmpPath(id); }

 private:
  friend class R2Writer;
  struct Dbs {
    MDB_dbi meta, buckets, usage, objects, uploads, parts, pending, rules, outbox;
  };
  struct Upload;

  R2Store(std::string path, R2Limits limits, Clock clock)
      : path_(std::move(path)), limits_(limits), clock_(std::move(clock)) {}
  Status EnsureOpen();
  std::string BodyPath(uint64_t id) const;
  std::string TmpPath(uint64_t id) const;
  Status Error(std::string_view what, int rc) const { return env_->Error(what, rc); }
  // The bucket's id (0: none), and with `create`, made when missing.
  StatusOr<uint32_t> BucketId(MDB_txn* txn, const std::string& owner, const std::string& bucket,
                              bool create);
  StatusOr<std::optional<R2ObjectMeta>> ReadObject(MDB_txn* txn, uint32_t bucket_id,
                                                   const std::string& key,
                                                   std::vector<std::pair<uint64_t, uint64_t>>* files);
  // Drops the object under `key` (if any) inside `txn`: its bodies go to
  // `pending` and `unlink`, its bytes off `owner`'s usage.
  StatusOr<bool> DropObject(MDB_txn* txn, const std::string& owner, uint32_t bucket_id,
                            const std::string& key, std::vector<uint64_t>* unlink);
  StatusOr<std::optional<Upload>> FindUpload(MDB_txn* txn, const std::string& owner,
                                             const std::string& bucket, const std::string& key,
                                             const std::string& upload_id);
  Status DropUpload(MDB_txn* txn, const std::string& owner, const std::string& upload_id,
                    std::vector<uint64_t>* unlink, const std::vector<uint32_t>* keep);
  Status AddUsage(MDB_txn* txn, const std::string& owner, int64_t delta, bool check_quota);
  // New body file ids (`count` of them, numbered in a row from the first),
  // in `pending` until their bodies are indexed.
  StatusOr<uint64_t> AllocateFiles(uint64_t count);
  // Makes BodyPath(to) the same bytes as BodyPath(from): a hard link, or a
  // copy on disk (fsynced) where the file system refuses one. kNotFound
  // when `from` is gone.
  Status ShareBody(uint64_t from, uint64_t to);
  Status CommitWriter(R2Writer& writer, std::optional<R2ObjectMeta>* result);
  // The one place an object creation or deletion is recorded.
  Status RecordChange(MDB_txn* txn, const R2Change& change);
  // Unlinks the files and removes their `pending` rows.
  void RemoveFiles(const std::vector<uint64_t>& ids);

  std::string path_;
  R2Limits limits_;
  Clock clock_;
  ChangeHook change_hook_;
  std::mutex open_mutex_;
  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_{};
  std::atomic<bool> open_{false};
};

}  // namespace edge::bindings
