#include "gateway/deploy/deploy_store.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "base/json_text.h"
#include "base/lmdb.h"
#include "base/sha256.h"
#include "gateway/deploy/bundle.h"

namespace edge::gateway {
namespace {
namespace fs = std::filesystem;

// Address space reserved for the map; the file grows only as data is
// written. Bundles are at most ~13 MB each (10 MiB of modules, base64).
constexpr size_t kMapSize = size_t{4} << 30;
// Version ids are written with 16 digits.
constexpr uint64_t kMaxVersionId = 9999999999999999ull;
// LMDB's largest key (mdb_env_get_maxkeysize with the default page size).
constexpr size_t kMaxKeyBytes = 511;
constexpr size_t kMaxSecretNameBytes = 255;

constexpr base::LmdbNames kLmdbNames{"the deploy store", "deploy store: ", "store"};

Status LmdbError(std::string_view what, int rc) { return base::LmdbError(kLmdbNames, what, rc); }

Status Corrupt(std::string_view what) {
  return Status(ErrorCode::kInternal, fmt::format("deploy store: {} is corrupt", what));
}

using base::Val;
using base::View;

uint64_t NowMs() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

// Keys of `versions` and `secrets`: the worker, NUL, then the rest.
std::string WorkerPrefix(std::string_view worker) { return std::string(worker) + '\0'; }
std::string VersionKey(std::string_view worker, uint64_t id) {
  return fmt::format("{}{:016d}", WorkerPrefix(worker), id);
}
std::string SecretKey(std::string_view worker, std::string_view name) {
  return WorkerPrefix(worker) + std::string(name);
}

// The uint64 at `key` of a parsed record, if it is one.
std::optional<uint64_t> GetUint(simdjson::dom::object object, std::string_view key) {
  uint64_t value = 0;
  if (object.at_key(key).get_uint64().get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

StatusOr<simdjson::dom::object> ParseRecord(simdjson::dom::parser& parser, std::string_view bytes,
                                            std::string_view what) {
  simdjson::dom::object object;
  if (parser.parse(bytes.data(), bytes.size()).get(object) != simdjson::SUCCESS) {
    return Corrupt(what);
  }
  return object;
}

std::string EncodeVersion(const VersionInfo& info) {
  return fmt::format("{{\"sha256\":\"{}\",\"created_ms\":{},\"size\":{}}}", info.sha256,
                     info.created_ms, info.size);
}

StatusOr<VersionInfo> ParseVersion(simdjson::dom::parser& parser, std::string_view bytes,
                                   std::string_view worker, uint64_t id) {
  std::string what = fmt::format("version {} of worker \"{}\"", id, worker);
  StatusOr<simdjson::dom::object> object = ParseRecord(parser, bytes, what);
  if (!object.ok()) return object.status();
  VersionInfo info;
  info.id = id;
  std::string_view sha;
  std::optional<uint64_t> created = GetUint(*object, "created_ms");
  std::optional<uint64_t> size = GetUint(*object, "size");
  if (object->at_key("sha256").get_string().get(sha) != simdjson::SUCCESS ||
      !base::IsSha256Hex(sha) || !created || !size) {
    return Corrupt(what);
  }
  info.sha256 = std::string(sha);
  info.created_ms = *created;
  info.size = *size;
  return info;
}

// "<16 digits>" after the worker's prefix -> the id.
std::optional<uint64_t> ParseVersionId(std::string_view digits) {
  if (digits.size() != 16) return std::nullopt;
  uint64_t id = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  return id;
}

// Calls `visit` with every entry of `dbi` whose key starts with `prefix`
// (every entry for an empty prefix), in key order.
Status ForEach(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
               const std::function<Status(std::string_view key, std::string_view value)>& visit) {
  base::LmdbCursor cursor(txn, dbi);
  if (cursor.rc() != 0) return LmdbError("read", cursor.rc());
  MDB_val key = Val(prefix), value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
    if (!View(key).starts_with(prefix)) return Status::Ok();
    EDGE_RETURN_IF_ERROR(visit(View(key), View(value)));
  }
  return rc == MDB_NOTFOUND ? Status::Ok() : LmdbError("read", rc);
}

}  // namespace

struct DeployStore::WorkerRecord {
  uint64_t current = 0;  // 0: no current version
  uint64_t next = 1;
  std::vector<std::string> routes;
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;

  static WorkerRecord New(uint64_t now) {
    WorkerRecord record;
    record.created_ms = now;
    return record;
  }

  std::string Encode() const {
    std::string out = fmt::format("{{\"current\":{},\"next\":{},\"routes\":", current, next);
    base::AppendJsonStringArray(out, routes);
    out += fmt::format(",\"created_ms\":{},\"updated_ms\":{}}}", created_ms, updated_ms);
    return out;
  }

  static StatusOr<WorkerRecord> Parse(std::string_view bytes, std::string_view name) {
    std::string what = fmt::format("the record of worker \"{}\"", name);
    simdjson::dom::parser parser;
    StatusOr<simdjson::dom::object> object = ParseRecord(parser, bytes, what);
    if (!object.ok()) return object.status();
    WorkerRecord record;
    std::optional<uint64_t> current = GetUint(*object, "current");
    std::optional<uint64_t> next = GetUint(*object, "next");
    std::optional<uint64_t> created = GetUint(*object, "created_ms");
    std::optional<uint64_t> updated = GetUint(*object, "updated_ms");
    simdjson::dom::array routes;
    if (!current || !next || !created || !updated || *next == 0 || *current >= *next ||
        object->at_key("routes").get_array().get(routes) != simdjson::SUCCESS) {
      return Corrupt(what);
    }
    for (simdjson::dom::element route : routes) {
      std::string_view text;
      if (route.get_string().get(text) != simdjson::SUCCESS) return Corrupt(what);
      record.routes.emplace_back(text);
    }
    record.current = *current;
    record.next = *next;
    record.created_ms = *created;
    record.updated_ms = *updated;
    return record;
  }
};

StatusOr<std::unique_ptr<DeployStore>> DeployStore::Open(const std::string& data_dir) {
  // It holds secrets: for the node's user only.
  StatusOr<std::string> path =
      base::MakeStoreDir((fs::path(data_dir) / "deploy").string(), /*private_dir=*/true);
  if (!path.ok()) return path.status();
  Dbs dbs;
  base::LmdbOptions options;
  options.names = kLmdbNames;
  options.map_size = kMapSize;
  options.file_mode = 0600;
  options.dbs = {{"blobs", &dbs.blobs},
                 {"versions", &dbs.versions},
                 {"workers", &dbs.workers},
                 {"secrets", &dbs.secrets},
                 {"meta", &dbs.meta},
                 {"accounts", &dbs.accounts},
                 {"owners", &dbs.owners}};
  // Commits fsync: a committed deploy survives a crash.
  StatusOr<std::unique_ptr<base::LmdbEnv>> env = base::LmdbEnv::Open(*path, options);
  if (!env.ok()) return env.status();
  return std::unique_ptr<DeployStore>(new DeployStore(std::move(env).value(), dbs));
}

DeployStore::~DeployStore() = default;

Status DeployStore::Write(const std::function<Status(Writer&)>& changes) {
  // Aborts unless committed, also if `changes` throws.
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/false, "write"));
  Writer writer(*this, txn.get());
  Status result = changes(writer);
  if (!result.ok()) return result;
  if (!writer.failure_.ok()) return writer.failure_;  // an LMDB error the callback ignored
  return txn.Commit("commit");
}

// Reads.

StatusOr<std::optional<DeployStore::WorkerRecord>> DeployStore::ReadWorker(
    MDB_txn* txn, const std::string& name) const {
  MDB_val key = Val(name), value;
  int rc = mdb_get(txn, dbs_.workers, &key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<WorkerRecord>();
  if (rc != 0) return LmdbError("read", rc);
  StatusOr<WorkerRecord> record = WorkerRecord::Parse(View(value), name);
  if (!record.ok()) return record.status();
  return std::optional<WorkerRecord>(std::move(record).value());
}

StatusOr<std::optional<VersionInfo>> DeployStore::ReadVersion(MDB_txn* txn,
                                                              const std::string& worker,
                                                              uint64_t id) const {
  std::string key_bytes = VersionKey(worker, id);
  MDB_val key = Val(key_bytes), value;
  int rc = mdb_get(txn, dbs_.versions, &key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<VersionInfo>();
  if (rc != 0) return LmdbError("read", rc);
  simdjson::dom::parser parser;
  StatusOr<VersionInfo> info = ParseVersion(parser, View(value), worker, id);
  if (!info.ok()) return info.status();
  return std::optional<VersionInfo>(std::move(info).value());
}

StatusOr<std::optional<std::string>> DeployStore::ReadBlob(MDB_txn* txn,
                                                           const std::string& sha256) const {
  MDB_val key = Val(sha256), value;
  int rc = mdb_get(txn, dbs_.blobs, &key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbError("read", rc);
  if (base::Sha256Hex(View(value)) != sha256) return Corrupt(fmt::format("the bundle {}", sha256));
  return std::optional<std::string>(std::string(View(value)));
}

StatusOr<std::optional<DeployedWorker>> DeployStore::Load(MDB_txn* txn,
                                                          const std::string& name) const {
  StatusOr<std::optional<WorkerRecord>> record = ReadWorker(txn, name);
  if (!record.ok()) return record.status();
  if (!record->has_value() || (*record)->current == 0) return std::optional<DeployedWorker>();
  uint64_t current = (*record)->current;
  StatusOr<std::optional<VersionInfo>> version = ReadVersion(txn, name, current);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    return Corrupt(fmt::format("worker \"{}\" (its current version {} is missing)", name, current));
  }
  StatusOr<std::optional<std::string>> blob = ReadBlob(txn, (*version)->sha256);
  if (!blob.ok()) return blob.status();
  if (!blob->has_value()) {
    return Corrupt(
        fmt::format("worker \"{}\" (the bundle of version {} is missing)", name, current));
  }
  DeployedWorker worker;
  worker.name = name;
  worker.version = current;
  worker.bundle_json = std::move(**blob);
  worker.routes = std::move((*record)->routes);
  StatusOr<std::optional<std::string>> owner = ReadOwner(txn, name);
  if (!owner.ok()) return owner.status();
  worker.account = owner->value_or(std::string(kDefaultAccount));
  EDGE_RETURN_IF_ERROR(ReadSecrets(txn, name, &worker.secrets));
  return std::optional<DeployedWorker>(std::move(worker));
}

Status DeployStore::ReadSecrets(MDB_txn* txn, const std::string& worker,
                                std::vector<runtime::WorkerVar>* secrets) const {
  std::string prefix = WorkerPrefix(worker);
  return ForEach(txn, dbs_.secrets, prefix, [&](std::string_view key, std::string_view value) {
    secrets->push_back({std::string(key.substr(prefix.size())), std::string(value), false});
    return Status::Ok();
  });
}

StatusOr<std::vector<DeployedWorker>> DeployStore::LoadAll() const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  std::vector<DeployedWorker> workers;
  EDGE_RETURN_IF_ERROR(
      ForEach(txn.get(), dbs_.workers, "", [&](std::string_view key, std::string_view) -> Status {
        StatusOr<std::optional<DeployedWorker>> worker = Load(txn.get(), std::string(key));
        if (!worker.ok()) return worker.status();
        if (worker->has_value()) workers.push_back(std::move(**worker));
        return Status::Ok();
      }));
  return workers;
}

StatusOr<std::optional<DeployedWorker>> DeployStore::LoadWorker(const std::string& name) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  return Load(txn.get(), name);
}

StatusOr<uint64_t> DeployStore::NextVersionId(const std::string& worker) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  StatusOr<std::optional<WorkerRecord>> record = ReadWorker(txn.get(), worker);
  if (!record.ok()) return record.status();
  uint64_t next = record->has_value() ? (*record)->next : uint64_t{1};
  if (next > kMaxVersionId) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("worker \"{}\" has used every version id", worker));
  }
  return next;
}

StatusOr<std::vector<VersionInfo>> DeployStore::Versions(const std::string& worker) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  std::vector<VersionInfo> versions;
  std::string prefix = WorkerPrefix(worker);
  simdjson::dom::parser parser;
  EDGE_RETURN_IF_ERROR(
      ForEach(txn.get(), dbs_.versions, prefix,
              [&](std::string_view key, std::string_view value) -> Status {
                std::optional<uint64_t> id = ParseVersionId(key.substr(prefix.size()));
                if (!id) {
                  return Corrupt(fmt::format("a version key of worker \"{}\"", worker));
                }
                StatusOr<VersionInfo> info = ParseVersion(parser, value, worker, *id);
                if (!info.ok()) return info.status();
                versions.push_back(std::move(info).value());
                return Status::Ok();
              }));
  return versions;
}

StatusOr<std::vector<std::string>> DeployStore::SecretNames(const std::string& worker) const {
  StatusOr<std::vector<runtime::WorkerVar>> secrets = Secrets(worker);
  if (!secrets.ok()) return secrets.status();
  std::vector<std::string> names;
  for (runtime::WorkerVar& secret : *secrets) names.push_back(std::move(secret.name));
  return names;
}

StatusOr<std::vector<runtime::WorkerVar>> DeployStore::Secrets(const std::string& worker) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  std::vector<runtime::WorkerVar> secrets;
  EDGE_RETURN_IF_ERROR(ReadSecrets(txn.get(), worker, &secrets));
  return secrets;
}

StatusOr<std::optional<std::string>> DeployStore::GetMeta(const std::string& key) const {
  if (key.empty() || key.size() > kMaxKeyBytes) return std::optional<std::string>();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  MDB_val k = Val(key), value;
  int rc = mdb_get(txn.get(), dbs_.meta, &k, &value);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbError("read", rc);
  return std::optional<std::string>(std::string(View(value)));
}

StatusOr<std::optional<std::string>> DeployStore::GetBlob(const std::string& sha256) const {
  if (!base::IsSha256Hex(sha256)) {
    return Status(ErrorCode::kInvalidInput,
                  "a bundle is named by its SHA-256 in lower-case hex (64 characters)");
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  return ReadBlob(txn.get(), sha256);
}

StatusOr<std::vector<std::string>> DeployStore::WorkerNames() const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  std::vector<std::string> names;
  EDGE_RETURN_IF_ERROR(
      ForEach(txn.get(), dbs_.workers, "", [&](std::string_view key, std::string_view) {
        names.emplace_back(key);
        return Status::Ok();
      }));
  return names;
}

StatusOr<bool> DeployStore::HasWorker(const std::string& name) const {
  if (name.empty() || name.size() > kMaxKeyBytes) return false;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  MDB_val key = Val(name), value;
  int rc = mdb_get(txn.get(), dbs_.workers, &key, &value);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return LmdbError("read", rc);
  return true;
}

StatusOr<std::optional<std::string>> DeployStore::ReadOwner(MDB_txn* txn,
                                                            const std::string& worker) const {
  if (worker.empty() || worker.size() > kMaxKeyBytes) return std::optional<std::string>();
  MDB_val key = Val(worker), value;
  int rc = mdb_get(txn, dbs_.owners, &key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbError("read", rc);
  return std::optional<std::string>(std::string(View(value)));
}

StatusOr<std::optional<std::string>> DeployStore::OwnerOf(const std::string& worker) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  return ReadOwner(txn.get(), worker);
}

StatusOr<std::vector<std::string>> DeployStore::WorkersOf(const std::string& account) const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  std::vector<std::string> names;
  EDGE_RETURN_IF_ERROR(
      ForEach(txn.get(), dbs_.owners, "", [&](std::string_view key, std::string_view value) {
        if (value == account) names.emplace_back(key);
        return Status::Ok();
      }));
  return names;
}

StatusOr<std::vector<AccountRecord>> DeployStore::Accounts() const {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, /*read_only=*/true, "read"));
  std::vector<AccountRecord> accounts;
  EDGE_RETURN_IF_ERROR(ForEach(txn.get(), dbs_.accounts, "",
                               [&](std::string_view key, std::string_view value) -> Status {
                                 auto record = AccountRecord::Parse(key, value);
                                 if (!record.ok()) return record.status();
                                 accounts.push_back(std::move(record).value());
                                 return Status::Ok();
                               }));
  return accounts;
}

// Writes.

Status DeployStore::Writer::Lmdb(std::string_view what, int rc) {
  if (rc == 0) return Status::Ok();
  Status error = LmdbError(what, rc);
  if (failure_.ok()) failure_ = error;
  return error;
}

Status DeployStore::Writer::PutVersionRecord(const std::string& worker, uint64_t id,
                                             const std::string& bundle_json, VersionInfo* info) {
  info->id = id;
  info->sha256 = base::Sha256Hex(bundle_json);
  info->created_ms = NowMs();
  info->size = bundle_json.size();
  MDB_val blob_key = Val(info->sha256), blob = Val(bundle_json);
  int rc = mdb_put(txn_, store_.dbs_.blobs, &blob_key, &blob, MDB_NOOVERWRITE);
  // MDB_KEYEXIST: the same bytes are stored already (another version, or
  // another worker, uses them).
  if (rc != MDB_KEYEXIST) EDGE_RETURN_IF_ERROR(Lmdb("store a bundle", rc));
  std::string key_bytes = VersionKey(worker, id);
  std::string record = EncodeVersion(*info);
  MDB_val key = Val(key_bytes), value = Val(record);
  rc = mdb_put(txn_, store_.dbs_.versions, &key, &value, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {
    return Corrupt(
        fmt::format("the record of worker \"{}\" (version {} exists already)", worker, id));
  }
  return Lmdb("store a version", rc);
}

Status DeployStore::Writer::PutWorkerRecord(const std::string& worker, const std::string& json) {
  MDB_val key = Val(worker), value = Val(json);
  return Lmdb("store a worker", mdb_put(txn_, store_.dbs_.workers, &key, &value, 0));
}

namespace {

Status NoWorker(const std::string& worker) {
  return Status(ErrorCode::kNotFound, fmt::format("there is no worker \"{}\"", worker));
}

}  // namespace

StatusOr<VersionInfo> DeployStore::Writer::AddVersion(
    const std::string& worker, const std::string& bundle_json,
    std::optional<std::vector<std::string>> routes) {
  EDGE_RETURN_IF_ERROR(CheckWorkerName(worker));
  StatusOr<std::optional<WorkerRecord>> found = store_.ReadWorker(txn_, worker);
  if (!found.ok()) return found.status();
  uint64_t now = NowMs();
  WorkerRecord record = found->value_or(WorkerRecord::New(now));
  if (record.next > kMaxVersionId) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("worker \"{}\" has used every version id", worker));
  }
  VersionInfo info;
  EDGE_RETURN_IF_ERROR(PutVersionRecord(worker, record.next, bundle_json, &info));
  record.current = record.next++;
  if (routes) record.routes = std::move(*routes);
  record.updated_ms = now;
  EDGE_RETURN_IF_ERROR(PutWorkerRecord(worker, record.Encode()));
  return info;
}

Status DeployStore::Writer::PutVersion(const std::string& worker, uint64_t id,
                                       const std::string& bundle_json,
                                       std::optional<std::vector<std::string>> routes,
                                       bool make_current) {
  EDGE_RETURN_IF_ERROR(CheckWorkerName(worker));
  if (id == 0 || id > kMaxVersionId) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("version id {} is out of range (1 to {})", id, kMaxVersionId));
  }
  StatusOr<std::optional<VersionInfo>> existing = store_.ReadVersion(txn_, worker, id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    std::string sha = base::Sha256Hex(bundle_json);
    if ((*existing)->sha256 == sha) return Status::Ok();  // applied already
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("version {} of worker \"{}\" exists with other content (bundle {}, "
                              "not {})",
                              id, worker, (*existing)->sha256, sha));
  }
  StatusOr<std::optional<WorkerRecord>> found = store_.ReadWorker(txn_, worker);
  if (!found.ok()) return found.status();
  uint64_t now = NowMs();
  WorkerRecord record = found->value_or(WorkerRecord::New(now));
  VersionInfo info;
  EDGE_RETURN_IF_ERROR(PutVersionRecord(worker, id, bundle_json, &info));
  record.next = std::max(record.next, id + 1);
  if (make_current) record.current = id;
  if (routes) record.routes = std::move(*routes);
  record.updated_ms = now;
  return PutWorkerRecord(worker, record.Encode());
}

Status DeployStore::Writer::Rollback(const std::string& worker, uint64_t version) {
  StatusOr<std::optional<WorkerRecord>> found = store_.ReadWorker(txn_, worker);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NoWorker(worker);
  StatusOr<std::optional<VersionInfo>> existing = store_.ReadVersion(txn_, worker, version);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value()) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("worker \"{}\" has no version {}", worker, version));
  }
  WorkerRecord& record = **found;
  record.current = version;
  record.updated_ms = NowMs();
  return PutWorkerRecord(worker, record.Encode());
}

Status DeployStore::Writer::DeleteWorker(const std::string& worker) {
  EDGE_RETURN_IF_ERROR(CheckWorkerName(worker));
  const Dbs& dbs = store_.dbs_;
  StatusOr<std::optional<WorkerRecord>> found = store_.ReadWorker(txn_, worker);
  // A corrupt record is deleted like a sound one.
  bool existed = !found.ok() || found->has_value();

  // Keys first, deletes after: no cursor walks over entries it removes.
  std::string prefix = WorkerPrefix(worker);
  std::vector<std::string> version_keys, secret_keys;
  std::set<std::string> hashes;  // the bundles its versions used
  simdjson::dom::parser parser;
  EDGE_RETURN_IF_ERROR(
      ForEach(txn_, dbs.versions, prefix, [&](std::string_view key, std::string_view value) {
        version_keys.emplace_back(key);
        StatusOr<VersionInfo> info = ParseVersion(parser, value, worker, 0);
        if (info.ok()) hashes.insert(info->sha256);
        return Status::Ok();
      }));
  EDGE_RETURN_IF_ERROR(
      ForEach(txn_, dbs.secrets, prefix, [&](std::string_view key, std::string_view) {
        secret_keys.emplace_back(key);
        return Status::Ok();
      }));
  StatusOr<std::optional<std::string>> owner = store_.ReadOwner(txn_, worker);
  if (!owner.ok()) return owner.status();
  if (!existed && version_keys.empty() && secret_keys.empty() && !owner->has_value()) {
    return NoWorker(worker);
  }

  auto remove = [&](MDB_dbi dbi, const std::string& key_bytes) {
    MDB_val key = Val(key_bytes);
    int rc = mdb_del(txn_, dbi, &key, nullptr);
    return Lmdb("delete", rc == MDB_NOTFOUND ? 0 : rc);
  };
  for (const std::string& key : version_keys) EDGE_RETURN_IF_ERROR(remove(dbs.versions, key));
  for (const std::string& key : secret_keys) EDGE_RETURN_IF_ERROR(remove(dbs.secrets, key));
  EDGE_RETURN_IF_ERROR(remove(dbs.workers, worker));
  EDGE_RETURN_IF_ERROR(remove(dbs.owners, worker));

  // A bundle another version still names stays. The hash is searched as
  // text in each record, so a record too damaged to parse that still holds
  // it keeps its bundle: when in doubt, keep.
  EDGE_RETURN_IF_ERROR(
      ForEach(txn_, dbs.versions, "", [&](std::string_view, std::string_view value) {
        std::erase_if(hashes, [&](const std::string& sha) {
          return value.find(sha) != std::string_view::npos;
        });
        return Status::Ok();
      }));
  for (const std::string& sha : hashes) EDGE_RETURN_IF_ERROR(remove(dbs.blobs, sha));
  return Status::Ok();
}

Status DeployStore::Writer::SetRoutes(const std::string& worker, std::vector<std::string> routes) {
  StatusOr<std::optional<WorkerRecord>> found = store_.ReadWorker(txn_, worker);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NoWorker(worker);
  WorkerRecord& record = **found;
  record.routes = std::move(routes);
  record.updated_ms = NowMs();
  return PutWorkerRecord(worker, record.Encode());
}

Status DeployStore::Writer::PutSecret(const std::string& worker, const std::string& name,
                                      const std::string& value) {
  EDGE_RETURN_IF_ERROR(CheckWorkerName(worker));
  EDGE_RETURN_IF_ERROR(CheckBindingName(name));
  if (name.size() > kMaxSecretNameBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("a secret name is at most {} bytes", kMaxSecretNameBytes));
  }
  std::string key_bytes = SecretKey(worker, name);
  MDB_val key = Val(key_bytes), data = Val(value);
  return Lmdb("store a secret", mdb_put(txn_, store_.dbs_.secrets, &key, &data, 0));
}

Status DeployStore::Writer::DeleteSecret(const std::string& worker, const std::string& name) {
  std::string key_bytes = SecretKey(worker, name);
  MDB_val key = Val(key_bytes);
  int rc = mdb_del(txn_, store_.dbs_.secrets, &key, nullptr);
  if (rc == MDB_NOTFOUND) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("worker \"{}\" has no secret \"{}\"", worker, name));
  }
  return Lmdb("delete a secret", rc);
}

Status DeployStore::Writer::PutMeta(const std::string& key, const std::string& value) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("a meta key is 1 to {} bytes long", kMaxKeyBytes));
  }
  MDB_val k = Val(key), data = Val(value);
  return Lmdb("store meta", mdb_put(txn_, store_.dbs_.meta, &k, &data, 0));
}

Status DeployStore::Writer::PutAccount(const AccountRecord& account) {
  EDGE_RETURN_IF_ERROR(CheckAccountName(account.name));
  std::string json = account.Encode();
  MDB_val key = Val(account.name), value = Val(json);
  return Lmdb("store an account", mdb_put(txn_, store_.dbs_.accounts, &key, &value, 0));
}

Status DeployStore::Writer::DeleteAccount(const std::string& name) {
  EDGE_RETURN_IF_ERROR(CheckAccountName(name));
  MDB_val key = Val(name);
  int rc = mdb_del(txn_, store_.dbs_.accounts, &key, nullptr);
  if (rc == MDB_NOTFOUND) {
    return Status(ErrorCode::kNotFound, fmt::format("there is no account \"{}\"", name));
  }
  return Lmdb("delete an account", rc);
}

Status DeployStore::Writer::SetOwner(const std::string& worker, const std::string& account) {
  EDGE_RETURN_IF_ERROR(CheckWorkerName(worker));
  EDGE_RETURN_IF_ERROR(CheckAccountName(account));
  MDB_val key = Val(worker), value = Val(account);
  return Lmdb("store a worker's owner", mdb_put(txn_, store_.dbs_.owners, &key, &value, 0));
}

}  // namespace edge::gateway
