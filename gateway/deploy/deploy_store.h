// The deployments a node serves, kept in LMDB: every version of every
// worker (their bundles), which version is current, routes, secrets, and a
// little free-form state for edge-sync (its cursor). No V8 and no loop
// here: every method blocks, and all are safe to call from several threads
// (LMDB serializes writers; readers never wait).
//
// One LMDB environment in `<data_dir>/deploy` (created 0700: it holds
// secrets), with seven named databases:
//   blobs     sha256 hex of EncodeBundle's bytes -> those bytes
//   versions  "<worker>\0<version, 16 digits, zero-padded>" -> JSON
//             {"sha256": "...", "created_ms": N, "size": N}
//   workers   worker name -> JSON {"current": N, "next": N, "routes": [...],
//             "created_ms": N, "updated_ms": N}   (current 0 = none yet)
//   secrets   "<worker>\0<secret name>" -> value
//   meta      free-form key -> value (edge-sync keeps its cursor here)
//   accounts  account name -> AccountRecord::Encode (gateway/deploy/accounts.h)
//   owners    worker name -> the name of the account that owns it; a worker
//             without one (deployed before accounts existed) belongs to
//             `default`
// Worker names never contain NUL (CheckWorkerName), so each worker's
// versions and secrets form one contiguous key range, versions in numeric
// order.
//
// Version ids are per worker: they start at 1 and never repeat, even after
// a rollback (the worker record keeps `next`). Deleting a worker forgets
// everything about it, `next` included: a worker created again under the
// same name starts again at 1.
//
// Bundles are stored once per distinct content, whichever workers and
// versions use them. DeleteWorker removes the blobs no other version uses,
// found by one scan of `versions`: deletes are rare, and there is no
// reference count that could drift from the truth.
//
// What is read back is treated as possibly corrupt: a record that does not
// parse, or a blob whose bytes do not match its hash, is an error
// (kInternal), never a crash.
//
// The store checks names (worker, secret) but not contents: callers decode
// and validate a bundle (DecodeBundle) and store EncodeBundle's bytes, and
// check route conflicts across workers (RouteTable::Build over the routes
// of every worker, with the change applied) before writing.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"
#include "gateway/deploy/accounts.h"
#include "runtime/worker.h"

namespace edge::gateway {

// The meta key holding the operator's stored host policies (the JSON array
// of `[[host_policies]]` tables, set through the admin API or replicated
// from the origin; "" or absent: none stored).
inline constexpr const char* kHostPoliciesMetaKey = "host_policies";

struct VersionInfo {
  uint64_t id = 0;
  std::string sha256;       // of the bundle's bytes, lower-case hex
  uint64_t created_ms = 0;  // milliseconds since the epoch
  uint64_t size = 0;        // of the bundle's bytes
};

// A worker as the node serves it: its current version.
struct DeployedWorker {
  std::string name;
  uint64_t version = 0;
  std::string bundle_json;  // EncodeBundle's bytes
  std::vector<std::string> routes;
  std::vector<runtime::WorkerVar> secrets;  // by name
  std::string account;                      // its owner (`default` when none is stored)
};

class DeployStore {
 public:
  // Opens (creating if needed) the store in `<data_dir>/deploy`. LMDB
  // forbids opening one environment twice in a process: a second Open of
  // the same folder while the first store lives is refused.
  static StatusOr<std::unique_ptr<DeployStore>> Open(const std::string& data_dir);
  ~DeployStore();
  DeployStore(const DeployStore&) = delete;
  DeployStore& operator=(const DeployStore&) = delete;

  // The changes of one Write, all in one LMDB transaction. Valid only inside
  // the Write callback that received it. Reads made through the store
  // meanwhile see the state before the Write.
  class Writer {
   public:
    // Stores the bundle (once per content), as a new version with the next
    // id, and makes it current. With `routes`, they replace the worker's
    // routes; without, the worker keeps its routes (none for a new worker).
    StatusOr<VersionInfo> AddVersion(const std::string& worker, const std::string& bundle_json,
                                     std::optional<std::vector<std::string>> routes);
    // The same with an id chosen by the caller (replication applies the
    // origin's ids). Refused when version `id` exists with other content; a
    // no-op (routes and current untouched) when it exists with the same
    // content. Later AddVersion ids follow the largest id stored.
    Status PutVersion(const std::string& worker, uint64_t id, const std::string& bundle_json,
                      std::optional<std::vector<std::string>> routes, bool make_current);
    // Makes an existing version current again. NotFound when the worker or
    // the version does not exist.
    Status Rollback(const std::string& worker, uint64_t version);
    // Removes the worker: its record (routes included), versions, secrets,
    // its owner, and the blobs that no other version uses. NotFound when
    // there was nothing of it.
    Status DeleteWorker(const std::string& worker);
    // NotFound when the worker does not exist.
    Status SetRoutes(const std::string& worker, std::vector<std::string> routes);
    // The worker need not exist yet: a secret may arrive before its first
    // version. The name must be a binding name (CheckBindingName); the
    // caller checks it against the bundle's bindings (CheckSecretName).
    Status PutSecret(const std::string& worker, const std::string& name, const std::string& value);
    // NotFound when absent.
    Status DeleteSecret(const std::string& worker, const std::string& name);
    Status PutMeta(const std::string& key, const std::string& value);
    // Accounts: stored (replacing one of the same name) or removed (NotFound
    // when absent). Removing an account leaves its workers: the caller
    // deletes them in the same Write.
    Status PutAccount(const AccountRecord& account);
    Status DeleteAccount(const std::string& name);
    // Makes `account` the owner of `worker` (which need not exist yet: a
    // secret may come first).
    Status SetOwner(const std::string& worker, const std::string& account);

   private:
    friend class DeployStore;
    Writer(const DeployStore& store, MDB_txn* txn) : store_(store), txn_(txn) {}
    // Records the first LMDB failure: after one, the transaction cannot
    // commit, whatever the callback returns.
    Status Lmdb(std::string_view what, int rc);
    Status PutVersionRecord(const std::string& worker, uint64_t id, const std::string& bundle_json,
                            VersionInfo* info);
    Status PutWorkerRecord(const std::string& worker, const std::string& json);

    const DeployStore& store_;
    MDB_txn* txn_;
    Status failure_;
  };

  // Runs `changes` in one write transaction, and commits (durably: the
  // commit fsyncs) only if it returns Ok; otherwise nothing changes and its
  // Status is returned. Writes wait for each other. Do not call Write or
  // the read methods from inside `changes` (use the Writer).
  Status Write(const std::function<Status(Writer&)>& changes);

  // Every worker with a current version, by name: what a node serves when
  // it starts.
  StatusOr<std::vector<DeployedWorker>> LoadAll() const;
  // nullopt when the worker does not exist or has no current version.
  StatusOr<std::optional<DeployedWorker>> LoadWorker(const std::string& name) const;
  // The id AddVersion would give `worker`'s next version (1 when it does
  // not exist).
  StatusOr<uint64_t> NextVersionId(const std::string& worker) const;
  // Its versions, oldest first; empty when the worker does not exist.
  StatusOr<std::vector<VersionInfo>> Versions(const std::string& worker) const;
  // Sorted.
  StatusOr<std::vector<std::string>> SecretNames(const std::string& worker) const;
  // Its secrets with their values, by name (also those put before its
  // first version).
  StatusOr<std::vector<runtime::WorkerVar>> Secrets(const std::string& worker) const;
  StatusOr<std::optional<std::string>> GetMeta(const std::string& key) const;
  // The bytes stored under `sha256` (lower-case hex), checked against it.
  StatusOr<std::optional<std::string>> GetBlob(const std::string& sha256) const;
  // Every worker that has a record (with or without a current version),
  // sorted.
  StatusOr<std::vector<std::string>> WorkerNames() const;
  // Whether `name` is among WorkerNames(), without reading them all.
  StatusOr<bool> HasWorker(const std::string& name) const;
  // Every account, by name.
  StatusOr<std::vector<AccountRecord>> Accounts() const;
  // The stored owner of `worker`; nullopt when none is stored (the worker
  // does not exist, or predates accounts).
  StatusOr<std::optional<std::string>> OwnerOf(const std::string& worker) const;
  // The workers whose stored owner is `account`, sorted.
  StatusOr<std::vector<std::string>> WorkersOf(const std::string& account) const;

  // The folder of the environment (`<data_dir>/deploy`).
  const std::string& path() const { return env_->path(); }

 private:
  struct Dbs {
    MDB_dbi blobs, versions, workers, secrets, meta, accounts, owners;
  };
  struct WorkerRecord;

  DeployStore(std::unique_ptr<base::LmdbEnv> env, Dbs dbs) : env_(std::move(env)), dbs_(dbs) {}
  StatusOr<std::optional<WorkerRecord>> ReadWorker(MDB_txn* txn, const std::string& name) const;
  StatusOr<std::optional<VersionInfo>> ReadVersion(MDB_txn* txn, const std::string& worker,
                                                   uint64_t id) const;
  StatusOr<std::optional<std::string>> ReadBlob(MDB_txn* txn, const std::string& sha256) const;
  StatusOr<std::optional<DeployedWorker>> Load(MDB_txn* txn, const std::string& name) const;
  StatusOr<std::optional<std::string>> ReadOwner(MDB_txn* txn, const std::string& worker) const;
  Status ReadSecrets(MDB_txn* txn, const std::string& worker,
                     std::vector<runtime::WorkerVar>* secrets) const;

  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_;
};

}  // namespace edge::gateway
