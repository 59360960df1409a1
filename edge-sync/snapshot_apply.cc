#include "edge-sync/snapshot_apply.h"

#include <fmt/core.h>

#include <charconv>

#include "base/log.h"
#include "gateway/deploy/accounts.h"

namespace edge::sync {
namespace {

// Batches: the log's reset, the KV writes of step 6, the KV deletes of
// step 5. Each is one LMDB transaction, so one fsync per batch, and its
// size bounds the memory a batch holds (plus one entry or value past it).
constexpr size_t kBatchEntries = 1000;
constexpr size_t kBatchBytes = size_t{8} << 20;

// Ignores NotFound: removing what is already gone.
Status IgnoreNotFound(Status status) {
  return status.code() == ErrorCode::kNotFound ? Status::Ok() : status;
}

// The entry keys (Entry::Keys) the sweep asks the log's index about, made
// by Entry itself so they always match what the log indexed.
std::string VersionKey(const std::string& worker, uint64_t version) {
  Entry entry;
  entry.type = EntryType::kVersion;
  entry.worker = worker;
  entry.version = version;
  entry.make_current = false;
  return entry.Keys().front();
}
std::string RoutesKey(const std::string& worker) {
  Entry entry;
  entry.type = EntryType::kRoutes;
  entry.worker = worker;
  return entry.Keys().front();
}
std::string SecretKey(const std::string& worker, const std::string& name) {
  Entry entry;
  entry.type = EntryType::kSecretPut;
  entry.worker = worker;
  entry.name = name;
  return entry.Keys().front();
}
std::string AccountKey(const std::string& account) {
  Entry entry;
  entry.type = EntryType::kAccount;
  entry.account = account;
  return entry.Keys().front();
}
std::string HostPoliciesKey() {
  Entry entry;
  entry.type = EntryType::kHostPolicies;
  return entry.Keys().front();
}
std::string KvKey(const std::string& ns, const std::string& key) {
  Entry entry;
  entry.type = EntryType::kKvPut;
  entry.ns = ns;
  entry.key = key;
  return entry.Keys().front();
}

bool IsKv(const Entry& entry) {
  return entry.type == EntryType::kKvPut || entry.type == EntryType::kKvDelete;
}

class Applier {
 public:
  Applier(const std::string& file, const VerifyKey& key, uint64_t floor,
          const SnapshotTargets& targets)
      : file_(file), key_(key), floor_(floor), t_(targets) {}

  StatusOr<SnapshotApplied> Run() {
    EDGE_RETURN_IF_ERROR(CheckAndFetchBlobs());
    EDGE_RETURN_IF_ERROR(t_.deploy.Write([&](gateway::DeployStore::Writer& writer) {
      return writer.PutMeta(kSnapshotPendingKey, std::to_string(std::max(floor_, info_.head)));
    }));
    EDGE_RETURN_IF_ERROR(ResetLog());
    EDGE_RETURN_IF_ERROR(SweepDeploy());
    EDGE_RETURN_IF_ERROR(SweepKv());
    EDGE_RETURN_IF_ERROR(Replay());
    std::string head = std::to_string(info_.head);
    EDGE_RETURN_IF_ERROR(t_.kv.ApplyBatch({}, t_.cursor_key, head));
    EDGE_RETURN_IF_ERROR(t_.deploy.Write([&](gateway::DeployStore::Writer& writer) {
      EDGE_RETURN_IF_ERROR(writer.PutMeta(t_.cursor_key, head));
      return writer.PutMeta(kSnapshotPendingKey, "");
    }));
    return applied_;
  }

 private:
  // Steps 1 and 2 in one reading: the whole file checked, and every blob
  // in the log, before anything the node serves changes. A blob is
  // fetched only for an entry whose signature held; if the file then
  // fails its end line, the blobs fetched are unnamed and go at the next
  // reset.
  Status CheckAndFetchBlobs() {
    Status status = ForEachSnapshotEntry(
        file_, key_,
        [&](const VerifiedEntry& verified) -> Status {
          const std::string& sha = verified.entry.blob;
          if (sha.empty() || t_.log.HasBlob(sha)) return Status::Ok();
          StatusOr<std::string> blob = t_.fetch_blob(sha);
          if (!blob.ok()) return blob.status();
          ++applied_.blobs_fetched;
          return t_.log.PutBlob(*blob);
        },
        &info_);
    if (status.code() == ErrorCode::kInvalidInput) {
      return Status(status.code(),
                    fmt::format("the snapshot in {} is refused: {}", file_, status.message()));
    }
    return status;
  }

  // Step 4.
  Status ResetLog() {
    EDGE_RETURN_IF_ERROR(t_.log.BeginReset(info_.head, info_.compacted_through));
    std::vector<SignedEntry> batch;
    size_t bytes = 0;
    Status status = ForEachSnapshotEntry(file_, key_, [&](const VerifiedEntry& verified) {
      bytes += verified.line.bytes.size();
      batch.push_back(verified.line);
      if (batch.size() < kBatchEntries && bytes < kBatchBytes) return Status::Ok();
      Status appended = t_.log.AppendReset(batch);
      batch.clear();
      bytes = 0;
      return appended;
    });
    EDGE_RETURN_IF_ERROR(status);
    if (!batch.empty()) EDGE_RETURN_IF_ERROR(t_.log.AppendReset(batch));
    return t_.log.FinishReset(info_.compacted_through);
  }

  // The blob of the version entry that last wrote `key`, or nullopt when
  // no entry of the snapshot writes it.
  StatusOr<std::optional<std::string>> SnapshotVersionBlob(const std::string& key) {
    StatusOr<std::optional<uint64_t>> seq = t_.log.LastWrite(key);
    if (!seq.ok()) return seq.status();
    if (!seq->has_value()) return std::optional<std::string>();
    StatusOr<std::vector<SignedEntry>> read = t_.log.ReadAfter(**seq - 1, 1);
    if (!read.ok()) return read.status();
    if (read->empty() || read->front().seq != **seq) return std::optional<std::string>();
    StatusOr<Entry> entry = DecodeEntry(read->front().bytes);
    if (!entry.ok()) return entry.status();
    return std::optional<std::string>(entry->blob);
  }

  StatusOr<bool> Written(const std::string& key) {
    StatusOr<std::optional<uint64_t>> seq = t_.log.LastWrite(key);
    if (!seq.ok()) return seq.status();
    return seq->has_value();
  }

  // Step 5, deployments. A worker stays only when every version it has is
  // the snapshot's (same id, same bundle) and the snapshot sets its routes
  // if it has any; then only its secrets the snapshot lacks go. Any other
  // worker is removed whole: step 6 rebuilds it if the snapshot has it.
  Status SweepDeploy() {
    StatusOr<std::vector<std::string>> names = t_.deploy.WorkerNames();
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      StatusOr<bool> keep = KeepWorker(name);
      if (!keep.ok()) return keep.status();
      if (!*keep) {
        EDGE_RETURN_IF_ERROR(t_.deploy.Write([&](gateway::DeployStore::Writer& writer) {
          return IgnoreNotFound(writer.DeleteWorker(name));
        }));
        ++applied_.workers_removed;
        continue;
      }
      StatusOr<std::vector<std::string>> secrets = t_.deploy.SecretNames(name);
      if (!secrets.ok()) return secrets.status();
      for (const std::string& secret : *secrets) {
        StatusOr<bool> written = Written(SecretKey(name, secret));
        if (!written.ok()) return written.status();
        if (*written) continue;
        EDGE_RETURN_IF_ERROR(t_.deploy.Write([&](gateway::DeployStore::Writer& writer) {
          return IgnoreNotFound(writer.DeleteSecret(name, secret));
        }));
        ++applied_.secrets_removed;
      }
    }
    // Accounts the snapshot never writes (their workers went above).
    StatusOr<std::vector<gateway::AccountRecord>> accounts = t_.deploy.Accounts();
    if (!accounts.ok()) return accounts.status();
    for (const gateway::AccountRecord& account : *accounts) {
      if (account.name == gateway::kDefaultAccount) continue;
      StatusOr<bool> written = Written(AccountKey(account.name));
      if (!written.ok()) return written.status();
      if (*written) continue;
      EDGE_RETURN_IF_ERROR(t_.deploy.Write([&](gateway::DeployStore::Writer& writer) {
        return IgnoreNotFound(writer.DeleteAccount(account.name));
      }));
      ++applied_.accounts_removed;
    }
    // The fleet's host policies, when the snapshot holds no set: the
    // stored one goes (node.toml's apply again); a set it holds is
    // replayed in step 6.
    StatusOr<bool> policies = Written(HostPoliciesKey());
    if (!policies.ok()) return policies.status();
    StatusOr<std::optional<std::string>> stored = t_.deploy.GetMeta(gateway::kHostPoliciesMetaKey);
    if (!stored.ok()) return stored.status();
    if (!*policies && stored->has_value() && !(*stored)->empty()) {
      EDGE_RETURN_IF_ERROR(t_.deploy.Write([&](gateway::DeployStore::Writer& writer) {
        return writer.PutMeta(gateway::kHostPoliciesMetaKey, "");
      }));
      applied_.host_policies_removed = true;
    }
    return Status::Ok();
  }

  StatusOr<bool> KeepWorker(const std::string& name) {
    StatusOr<std::vector<gateway::VersionInfo>> versions = t_.deploy.Versions(name);
    if (!versions.ok()) return versions.status();
    if (versions->empty()) return false;
    for (const gateway::VersionInfo& version : *versions) {
      StatusOr<std::optional<std::string>> blob = SnapshotVersionBlob(VersionKey(name, version.id));
      if (!blob.ok()) return blob.status();
      if (!blob->has_value() || **blob != version.sha256) return false;
    }
    StatusOr<std::optional<gateway::DeployedWorker>> worker = t_.deploy.LoadWorker(name);
    if (!worker.ok()) return worker.status();
    if (worker->has_value() && !(*worker)->routes.empty()) {
      StatusOr<bool> routes = Written(RoutesKey(name));
      if (!routes.ok()) return routes.status();
      if (!*routes) return false;
    }
    return true;
  }

  // Step 5, KV: every live key of every namespace that no entry of the
  // snapshot writes goes, unless this node wrote it itself since.
  Status SweepKv() {
    StatusOr<std::vector<std::string>> namespaces = t_.kv.Namespaces("");
    if (!namespaces.ok()) return namespaces.status();
    for (const std::string& ns : *namespaces) {
      std::string cursor;
      for (;;) {
        StatusOr<bindings::KvListResult> page =
            t_.kv.List(ns, "", bindings::kKvMaxListLimit, cursor);
        if (!page.ok()) return page.status();
        std::vector<bindings::KvWrite> deletes;
        for (const bindings::KvListKey& listed : page->keys) {
          StatusOr<bool> written = Written(KvKey(ns, listed.name));
          if (!written.ok()) return written.status();
          if (*written || !t_.should_apply_kv(ns, listed.name, info_.head)) continue;
          bindings::KvWrite write;
          write.is_delete = true;
          write.ns = ns;
          write.key = listed.name;
          deletes.push_back(std::move(write));
        }
        // Deleting keys the page listed does not move the cursor's place.
        if (!deletes.empty()) EDGE_RETURN_IF_ERROR(t_.kv.ApplyBatch(deletes, "", ""));
        applied_.kv_removed += deletes.size();
        if (page->complete) break;
        cursor = page->cursor;
      }
    }
    return Status::Ok();
  }

  // Step 6.
  Status Replay() {
    std::vector<bindings::KvWrite> batch;
    size_t bytes = 0;
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::Ok();
      Status status = t_.kv.ApplyBatch(batch, "", "");
      batch.clear();
      bytes = 0;
      return status;
    };
    Status status = ForEachSnapshotEntry(file_, key_, [&](const VerifiedEntry& verified) -> Status {
      const Entry& entry = verified.entry;
      ++applied_.entries;
      std::optional<std::string> blob;
      if (!entry.blob.empty()) {
        StatusOr<std::optional<std::string>> stored = t_.log.GetBlob(entry.blob);
        if (!stored.ok()) return stored.status();
        if (!stored->has_value()) {
          return Status(ErrorCode::kIo, fmt::format("blob {} of entry {} is missing from the log",
                                                    entry.blob, entry.seq));
        }
        blob = std::move(**stored);
      }
      if (!IsKv(entry)) {
        EDGE_RETURN_IF_ERROR(flush());
        Status applied = t_.apply_entry(entry, blob);
        if (!applied.ok()) {
          return Status(applied.code(),
                        fmt::format("applying entry {}: {}", entry.seq, applied.message()));
        }
        return Status::Ok();
      }
      // This node's own later write of the key stays (read your own writes).
      if (!t_.should_apply_kv(entry.ns, entry.key, entry.seq)) return Status::Ok();
      bindings::KvWrite write;
      write.is_delete = entry.type == EntryType::kKvDelete;
      write.ns = entry.ns;
      write.key = entry.key;
      write.value = blob ? std::move(*blob) : entry.value;
      write.metadata = entry.metadata;
      write.expiration = entry.expiration;
      bytes += write.value.size() + write.key.size();
      batch.push_back(std::move(write));
      if (batch.size() >= kBatchEntries || bytes >= kBatchBytes) return flush();
      return Status::Ok();
    });
    EDGE_RETURN_IF_ERROR(status);
    return flush();
  }

  const std::string& file_;
  const VerifyKey& key_;
  uint64_t floor_;
  const SnapshotTargets& t_;
  SnapshotInfo info_;
  SnapshotApplied applied_;
};

}  // namespace

StatusOr<std::optional<uint64_t>> PendingSnapshot(const gateway::DeployStore& store) {
  StatusOr<std::optional<std::string>> value = store.GetMeta(kSnapshotPendingKey);
  if (!value.ok()) return value.status();
  if (!value->has_value() || (*value)->empty()) return std::optional<uint64_t>();
  const std::string& text = **value;
  uint64_t head = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), head);
  if (error != std::errc() || end != text.data() + text.size()) {
    return Status(ErrorCode::kInternal,
                  fmt::format("the deploy store's {} is corrupt", kSnapshotPendingKey));
  }
  return std::optional<uint64_t>(head);
}

StatusOr<SnapshotApplied> ApplySnapshot(const std::string& file, const VerifyKey& key,
                                        uint64_t floor, const SnapshotTargets& targets) {
  return Applier(file, key, floor, targets).Run();
}

}  // namespace edge::sync
