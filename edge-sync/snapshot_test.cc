// Snapshots end to end on real stores: a snapshot file made from an
// origin's log is applied to a replica's log, deploy store and KV store,
// which end with exactly its state; damaged files change nothing; an
// interrupted apply leaves the pending mark.
#include "edge-sync/snapshot_apply.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/sha256.h"
#include "base/testing/temp_dir.h"
#include "edge-sync/snapshot.h"
#include "edge-sync/testing/entries.h"
#include "gateway/deploy/accounts.h"

namespace edge::sync {
namespace {

using testing::KvEntry;
using testing::SecretEntry;
using testing::WorkerEntry;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<SigningKey> key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    signing_.emplace(std::move(key).value());
    StatusOr<VerifyKey> verify = VerifyKey::FromPem(signing_->PublicPem());
    ASSERT_TRUE(verify.ok());
    verify_ = std::move(verify).value();
    auto origin = SyncLog::Open(dir_ + "/origin");
    ASSERT_TRUE(origin.ok()) << origin.status().message();
    origin_ = std::move(origin).value();
    auto log = SyncLog::Open(dir_ + "/pop");
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(log).value();
    auto deploy = gateway::DeployStore::Open(dir_ + "/pop");
    ASSERT_TRUE(deploy.ok()) << deploy.status().message();
    deploy_ = std::move(deploy).value();
    auto kv = bindings::KvStore::Open(dir_ + "/pop");
    ASSERT_TRUE(kv.ok()) << kv.status().message();
    kv_ = std::move(kv).value();
  }

  // Appends `entry` (at the origin's next seq) to the origin's log.
  void Log(Entry entry, std::optional<std::string> blob = std::nullopt) {
    entry.seq = origin_->head() + 1;
    if (blob) entry.blob = base::Sha256Hex(*blob);
    Status status = origin_->Append(signing_->Sign(entry), blob);
    ASSERT_TRUE(status.ok()) << status.message();
  }
  void Version(const std::string& worker, uint64_t version, const std::string& bundle,
               std::optional<std::vector<std::string>> routes = std::nullopt) {
    Entry entry = WorkerEntry(EntryType::kVersion, 0, worker);
    entry.version = version;
    entry.routes = std::move(routes);
    Log(entry, bundle);
  }
  void Secret(const std::string& worker, const std::string& name, const std::string& value) {
    Entry entry = SecretEntry(EntryType::kSecretPut, 0, worker, name);
    // The test's apply stores it as is; the log wants a sealed secret's size.
    entry.sealed = value + std::string(32, '.');
    Log(entry);
  }
  void KvPut(const std::string& ns, const std::string& key, const std::string& value,
             std::string metadata = "", uint64_t expiration = 0) {
    Entry entry = KvEntry(EntryType::kKvPut, 0, ns, key);
    entry.metadata = std::move(metadata);
    entry.expiration = expiration;
    if (value.size() > kInlineValueBytes) return Log(entry, value);
    entry.value = value;
    Log(entry);
  }

  // The origin's snapshot, as its SyncServer writes it, in a file.
  std::string WriteSnapshot(const std::string& name = "snapshot.ndjson") {
    SnapshotLines lines(origin_->head(), origin_->compacted_through());
    std::string text = lines.Header();
    auto entries = origin_->ReadAfter(0, 1000000);
    EXPECT_TRUE(entries.ok());
    for (const SignedEntry& entry : *entries) {
      std::string line = entry.Line();
      lines.Add(line);
      text += line;
    }
    text += lines.End([&](std::string_view manifest) { return signing_->SignBytes(manifest); });
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // What a replica's per-entry apply does, on the deploy store (secrets
  // unsealed in the test: stored as they are).
  Status ApplyEntry(const Entry& entry, const std::optional<std::string>& blob) {
    ++applied_entries_;
    if (fail_apply_at_ != 0 && entry.seq == fail_apply_at_) {
      return Status(ErrorCode::kIo, "the test fails this entry");
    }
    return deploy_->Write([&](gateway::DeployStore::Writer& writer) -> Status {
      switch (entry.type) {
        case EntryType::kVersion:
          return writer.PutVersion(entry.worker, entry.version, blob.value_or(""), entry.routes,
                                   entry.make_current);
        case EntryType::kRoutes:
          return writer.SetRoutes(entry.worker, entry.routes.value_or(std::vector<std::string>{}));
        case EntryType::kRollback:
          return writer.Rollback(entry.worker, entry.version);
        case EntryType::kDeleteWorker: {
          Status status = writer.DeleteWorker(entry.worker);
          return status.code() == ErrorCode::kNotFound ? Status::Ok() : status;
        }
        case EntryType::kSecretPut:
          return writer.PutSecret(entry.worker, entry.name, entry.sealed);
        case EntryType::kSecretDelete: {
          Status status = writer.DeleteSecret(entry.worker, entry.name);
          return status.code() == ErrorCode::kNotFound ? Status::Ok() : status;
        }
        case EntryType::kHostPolicies:
          return writer.PutMeta(gateway::kHostPoliciesMetaKey, entry.policies);
        case EntryType::kHostPoliciesDelete:
          return writer.PutMeta(gateway::kHostPoliciesMetaKey, "");
        default:
          return Status(ErrorCode::kInvalidInput, "a KV entry reached apply_entry");
      }
    });
  }

  SnapshotTargets Targets() {
    return SnapshotTargets{*log_,
                           *deploy_,
                           *kv_,
                           "sync_cursor",
                           [this](const Entry& entry, const std::optional<std::string>& blob) {
                             return ApplyEntry(entry, blob);
                           },
                           [this](const std::string& ns, const std::string& key, uint64_t) {
                             return !(ns == own_ns_ && key == own_key_);
                           },
                           [this](const std::string& sha) -> StatusOr<std::string> {
                             if (fail_fetch_) return Status(ErrorCode::kIo, "the upstream is down");
                             auto blob = origin_->GetBlob(sha);
                             if (!blob.ok()) return blob.status();
                             if (!blob->has_value()) return Status(ErrorCode::kIo, "no such blob");
                             return **blob;
                           }};
  }

  // The replica's state, as text, to compare before and after.
  std::string State() {
    std::ostringstream out;
    auto names = kv_->Namespaces("");
    for (const std::string& ns : *names) {
      auto page = kv_->List(ns, "", 1000, "");
      for (const auto& key : page->keys) {
        auto value = kv_->Get(ns, key.name);
        out << "kv " << ns << "/" << key.name << "=" << (*value)->value << " meta "
            << (*value)->metadata << " exp " << (*value)->expiration << "\n";
      }
    }
    auto workers = deploy_->WorkerNames();
    for (const std::string& worker : *workers) {
      out << "worker " << worker;
      auto versions = deploy_->Versions(worker);
      for (const auto& version : *versions) out << " v" << version.id;
      auto loaded = deploy_->LoadWorker(worker);
      if (loaded->has_value()) {
        out << " current " << (*loaded)->version << " routes";
        for (const auto& route : (*loaded)->routes) out << " " << route;
      }
      auto secrets = deploy_->SecretNames(worker);
      for (const std::string& secret : *secrets) out << " secret " << secret;
      out << "\n";
    }
    auto accounts = deploy_->Accounts();
    for (const auto& account : *accounts) out << "account " << account.name << "\n";
    out << "log head " << log_->head() << " compacted " << log_->compacted_through() << "\n";
    return out.str();
  }

  // A replica that holds what it held before the origin deleted things.
  void SeedStaleReplica() {
    ASSERT_TRUE(kv_->Put("data", "deleted-at-origin", "stale").ok());
    ASSERT_TRUE(kv_->Put("data", "kept", "old value").ok());
    ASSERT_TRUE(kv_->Put("gone-ns", "k", "stale").ok());
    Status status = deploy_->Write([](gateway::DeployStore::Writer& writer) -> Status {
      EDGE_RETURN_IF_ERROR(writer.PutVersion("removed", 1, "bundle-removed", std::nullopt, true));
      // Same name, but the origin deleted and recreated it: other bundle.
      EDGE_RETURN_IF_ERROR(writer.PutVersion("recreated", 1, "bundle-old",
                                             std::vector<std::string>{"old.example/*"}, true));
      EDGE_RETURN_IF_ERROR(writer.PutVersion("app", 1, "bundle-app-1", std::nullopt, true));
      EDGE_RETURN_IF_ERROR(writer.PutSecret("app", "REVOKED", "old token"));
      // An account deleted at the origin meanwhile.
      gateway::AccountRecord account;
      account.name = "gone";
      EDGE_RETURN_IF_ERROR(writer.PutAccount(account));
      return writer.PutSecret("app", "KEPT", "kept");
    });
    ASSERT_TRUE(status.ok()) << status.message();
  }

  base::testing::TempDir temp_{"edge-sync-snapshot-test"};
  std::string dir_ = temp_.path();
  std::optional<SigningKey> signing_;
  VerifyKey verify_;
  std::unique_ptr<SyncLog> origin_, log_;
  std::unique_ptr<gateway::DeployStore> deploy_;
  std::shared_ptr<bindings::KvStore> kv_;
  int applied_entries_ = 0;
  uint64_t fail_apply_at_ = 0;
  bool fail_fetch_ = false;
  std::string own_ns_, own_key_;
};

TEST_F(SnapshotTest, RoundTripsEveryStoreAndRemovesWhatItLacks) {
  SeedStaleReplica();
  // The origin: "removed" was deleted long ago, "recreated" deleted and
  // made again, app's REVOKED secret and a KV key deleted, all compacted.
  Version("app", 1, "bundle-app-1");
  Secret("app", "KEPT", "kept");
  Secret("app", "REVOKED", "old token");
  Version("recreated", 1, "bundle-old", std::vector<std::string>{"old.example/*"});
  KvPut("data", "deleted-at-origin", "v");
  Log(WorkerEntry(EntryType::kDeleteWorker, 0, "recreated"));
  Log(SecretEntry(EntryType::kSecretDelete, 0, "app", "REVOKED"));
  Log(KvEntry(EntryType::kKvDelete, 0, "data", "deleted-at-origin"));
  Version("recreated", 1, "bundle-new");
  Version("app", 2, "bundle-app-2", std::vector<std::string>{"app.example/*"});
  KvPut("data", "kept", "new value", "{\"a\":1}", 4102444800);
  KvPut("data", "large", std::string(10000, 'L'));
  KvPut("other ns/with%", "k", "v");
  ASSERT_TRUE(origin_->Compact(origin_->head()).ok());
  // Not compacted: a put then a delete, both replayed.
  KvPut("data", "put-then-deleted", "v");
  Log(KvEntry(EntryType::kKvDelete, 0, "data", "put-then-deleted"));
  // This node's own write the origin has not logged yet stays.
  ASSERT_TRUE(kv_->Put("data", "mine", "own write").ok());
  own_ns_ = "data";
  own_key_ = "mine";

  std::string path = WriteSnapshot();
  StatusOr<SnapshotApplied> applied = ApplySnapshot(path, verify_, 0, Targets());
  ASSERT_TRUE(applied.ok()) << applied.status().message();

  EXPECT_EQ(State(),
            "kv data/kept=new value meta {\"a\":1} exp 4102444800\n"
            "kv data/large=" +
                std::string(10000, 'L') +
                " meta  exp 0\n"
                "kv data/mine=own write meta  exp 0\n"
                "kv other ns/with%/k=v meta  exp 0\n"
                "worker app v1 v2 current 2 routes app.example/* secret KEPT\n"
                "worker recreated v1 current 1 routes\n"
                "log head 15 compacted 13\n");
  auto bundle = deploy_->LoadWorker("recreated");
  ASSERT_TRUE(bundle.ok() && bundle->has_value());
  EXPECT_EQ((*bundle)->bundle_json, "bundle-new");
  EXPECT_EQ(applied->kv_removed, 2u);  // data/deleted-at-origin, gone-ns/k
  EXPECT_EQ(applied->secrets_removed, 1u);
  EXPECT_EQ(applied->workers_removed, 2u);  // removed, recreated (rebuilt)
  EXPECT_EQ(applied->accounts_removed, 1u);
  EXPECT_EQ(applied->blobs_fetched, 4u);  // 3 bundles of live versions + the large value
  // The cursor is the head in both stores, and no snapshot is pending.
  EXPECT_EQ(*deploy_->GetMeta("sync_cursor"), std::optional<std::string>("15"));
  EXPECT_EQ(*kv_->GetMeta("sync_cursor"), std::optional<std::string>("15"));
  EXPECT_EQ(*PendingSnapshot(*deploy_), std::nullopt);
  // The replica's log is the snapshot's, with the blobs its entries name.
  auto entries = log_->ReadAfter(0, 100);
  ASSERT_TRUE(entries.ok());
  auto origin_entries = origin_->ReadAfter(0, 100);
  ASSERT_EQ(entries->size(), origin_entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].Line(), (*origin_entries)[i].Line());
  }
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex("bundle-new")));
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("bundle-old")));

  // Applying it again changes nothing and fetches nothing.
  std::string before = State();
  applied = ApplySnapshot(path, verify_, 15, Targets());
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(State(), before);
  EXPECT_EQ(applied->blobs_fetched, 0u);
  EXPECT_EQ(applied->kv_removed, 0u);
  EXPECT_EQ(applied->workers_removed, 0u);
}

TEST_F(SnapshotTest, HostPoliciesAreTheSnapshotsOrNone) {
  auto stored = [&] {
    auto value = deploy_->GetMeta(gateway::kHostPoliciesMetaKey);
    EXPECT_TRUE(value.ok());
    return value.ok() ? value->value_or("(absent)") : std::string("(error)");
  };
  auto hold = [&](const std::string& json) {
    Status status = deploy_->Write([&](gateway::DeployStore::Writer& writer) {
      return writer.PutMeta(gateway::kHostPoliciesMetaKey, json);
    });
    ASSERT_TRUE(status.ok()) << status.message();
  };
  // The replica holds a set the origin has since removed, and the removal
  // was compacted away: a snapshot without a set leaves the replica none.
  hold(R"([{"hosts":["old.example"]}])");
  Entry set = testing::NewEntry(EntryType::kHostPolicies, 0);
  set.policies = R"([{"hosts":["a.example"]}])";
  Log(set);
  Log(testing::NewEntry(EntryType::kHostPoliciesDelete, 0));
  Version("app", 1, "bundle-app-1");
  ASSERT_TRUE(origin_->Compact(origin_->head()).ok());
  auto applied = ApplySnapshot(WriteSnapshot("none.ndjson"), verify_, 0, Targets());
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_TRUE(applied->host_policies_removed);
  EXPECT_EQ(stored(), "");

  // The origin's newest set is the replica's after the next snapshot,
  // whatever it held; the older sets were compacted away.
  hold(R"([{"hosts":["stale.example"]}])");
  set.policies = R"([{"hosts":["b.example"]}])";
  Log(set);
  set.policies = R"([{"hosts":["c.example"]}])";
  Log(set);
  ASSERT_TRUE(origin_->Compact(origin_->head()).ok());
  applied = ApplySnapshot(WriteSnapshot("set.ndjson"), verify_, 0, Targets());
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_FALSE(applied->host_policies_removed);
  EXPECT_EQ(stored(), R"([{"hosts":["c.example"]}])");
}

TEST_F(SnapshotTest, TruncatedCorruptOrForgedFilesChangeNothing) {
  SeedStaleReplica();
  Version("app", 1, "bundle-app-1");
  KvPut("data", "kept", "new value");
  KvPut("data", "large", std::string(5000, 'L'));
  std::string good = WriteSnapshot();
  std::ifstream in(good, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string before = State();

  auto write = [&](const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  std::vector<std::pair<std::string, std::string>> bad;
  // Without its end line.
  bad.emplace_back("truncated", text.substr(0, text.rfind("{\"type\":\"end\"")));
  // Cut in the middle of a line.
  bad.emplace_back("cut", text.substr(0, text.size() / 2));
  // One byte of an entry changed.
  std::string corrupt = text;
  size_t at = corrupt.find("\"entry\":\"") + 20;
  corrupt[at] = corrupt[at] == 'A' ? 'B' : 'A';
  bad.emplace_back("corrupt", corrupt);
  // An entry line dropped (the manifest no longer holds).
  std::string dropped = text;
  size_t second = dropped.find('\n') + 1;
  dropped.erase(second, dropped.find('\n', second) + 1 - second);
  bad.emplace_back("dropped", dropped);
  // A whole snapshot signed by another key.
  StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  SnapshotLines lines(origin_->head(), 0);
  std::string forged = lines.Header();
  Entry entry = KvEntry(EntryType::kKvPut, 1, "data", "forged");
  entry.value = "x";
  std::string line = other->Sign(entry).Line();
  lines.Add(line);
  forged += line + lines.End([&](std::string_view manifest) { return other->SignBytes(manifest); });
  bad.emplace_back("forged", forged);
  // Something after the end.
  bad.emplace_back("trailing",
                   text + "{\"type\":\"snapshot\",\"head\":1,\"compacted_through\":0}\n");

  // A blob that cannot be fetched: nothing the node serves changes.
  fail_fetch_ = true;
  StatusOr<SnapshotApplied> unfetched = ApplySnapshot(good, verify_, 0, Targets());
  EXPECT_FALSE(unfetched.ok());
  EXPECT_EQ(State(), before);
  EXPECT_EQ(*PendingSnapshot(*deploy_), std::nullopt);
  fail_fetch_ = false;

  for (const auto& [name, content] : bad) {
    StatusOr<SnapshotApplied> applied = ApplySnapshot(write(name, content), verify_, 0, Targets());
    EXPECT_FALSE(applied.ok()) << name;
    EXPECT_EQ(applied.status().code(), ErrorCode::kInvalidInput) << name;
    EXPECT_EQ(State(), before) << name;
    EXPECT_EQ(*PendingSnapshot(*deploy_), std::nullopt) << name;
  }
  EXPECT_EQ(applied_entries_, 0);
}

TEST_F(SnapshotTest, InterruptedApplyLeavesThePendingMarkUntilAWholeOne) {
  SeedStaleReplica();
  Version("app", 1, "bundle-app-1");
  Secret("app", "KEPT", "kept");
  KvPut("data", "kept", "new value");
  std::string path = WriteSnapshot();
  fail_apply_at_ = 2;  // the secret
  StatusOr<SnapshotApplied> applied = ApplySnapshot(path, verify_, 7, Targets());
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.status().message().find("applying entry 2"), std::string::npos)
      << applied.status().message();
  // The next snapshot must reach at least the cursor the replica had.
  EXPECT_EQ(*PendingSnapshot(*deploy_), std::optional<uint64_t>(7));
  fail_apply_at_ = 0;
  applied = ApplySnapshot(path, verify_, 7, Targets());
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(*PendingSnapshot(*deploy_), std::nullopt);
  EXPECT_EQ(State(),
            "kv data/kept=new value meta  exp 0\n"
            "worker app v1 current 1 routes secret KEPT\n"
            "log head 3 compacted 0\n");
}

TEST_F(SnapshotTest, TheLogIsResetInBatches) {
  KvPut("data", "a", "1");
  KvPut("data", "large", std::string(5000, 'L'));
  KvPut("data", "b", "2");
  auto lines = origin_->ReadAfter(0, 10);
  ASSERT_TRUE(lines.ok());
  // The replica's log held something else, and an unnamed blob.
  ASSERT_TRUE(log_->PutBlob("unnamed").ok());
  ASSERT_TRUE(log_->PutBlob(std::string(5000, 'L')).ok());

  ASSERT_TRUE(log_->BeginReset(5, 1).ok());
  // Meanwhile the log is incomplete: readers below its head take a snapshot.
  EXPECT_EQ(log_->head(), 5u);
  EXPECT_EQ(log_->compacted_through(), 5u);
  ASSERT_TRUE(log_->AppendReset({(*lines)[0], (*lines)[1]}).ok());
  // Compaction waits for the whole snapshot.
  EXPECT_EQ(*log_->Compact(5), 0u);
  // Order across batches, and nothing past the head.
  EXPECT_EQ(log_->AppendReset({(*lines)[0]}).code(), ErrorCode::kInvalidInput);
  Entry past = KvEntry(EntryType::kKvPut, 6, "data", "c");
  past.value = "x";
  EXPECT_EQ(log_->AppendReset({signing_->Sign(past)}).code(), ErrorCode::kInvalidInput);
  ASSERT_TRUE(log_->AppendReset({(*lines)[2]}).ok());
  ASSERT_TRUE(log_->FinishReset(1).ok());
  EXPECT_EQ(log_->head(), 5u);
  EXPECT_EQ(log_->compacted_through(), 1u);
  auto stored = log_->ReadAfter(0, 10);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*stored)[2].Line(), (*lines)[2].Line());
  // Blobs no entry names went; the ones the snapshot names stayed.
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("unnamed")));
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex(std::string(5000, 'L'))));
  // The index names what the snapshot writes.
  EXPECT_EQ(*log_->LastWrite(KvEntry(EntryType::kKvPut, 1, "data", "b").Keys().front()),
            std::optional<uint64_t>(3));
  EXPECT_EQ(*log_->LastWrite(KvEntry(EntryType::kKvPut, 1, "data", "zzz").Keys().front()),
            std::nullopt);
}

TEST_F(SnapshotTest, SpoolChecksEachLineAndKeepsOnlyWholeSnapshots) {
  KvPut("data", "a", "1");
  KvPut("data", "b", "2");
  std::string path = WriteSnapshot("source.ndjson");
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  std::string spool_dir = dir_ + "/spool";
  {
    auto spool = SnapshotSpool::Create(spool_dir, verify_);
    ASSERT_TRUE(spool.ok()) << spool.status().message();
    for (const std::string& line : lines) {
      // Control lines of other types are skipped, not kept.
      ASSERT_TRUE((*spool)->Add("{\"type\":\"heartbeat\",\"head\":2}").ok());
      ASSERT_TRUE((*spool)->Add(line).ok());
    }
    EXPECT_TRUE((*spool)->ended());
    auto file = (*spool)->Finish();
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ(file->info.head, 2u);
    EXPECT_EQ(file->info.count, 2u);
    auto info = VerifySnapshotFile(file->path, verify_);
    ASSERT_TRUE(info.ok()) << info.status().message();
    std::ifstream spooled(file->path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(spooled)), std::istreambuf_iterator<char>());
    std::string expected;
    for (const std::string& line : lines) expected += line + "\n";
    EXPECT_EQ(text, expected);
  }
  {
    // An entry out of order is refused as it arrives; the partial file goes.
    auto spool = SnapshotSpool::Create(spool_dir, verify_);
    ASSERT_TRUE(spool.ok());
    ASSERT_TRUE((*spool)->Add(lines[0]).ok());
    ASSERT_TRUE((*spool)->Add(lines[2]).ok());
    Status refused = (*spool)->Add(lines[1]);
    EXPECT_EQ(refused.code(), ErrorCode::kInvalidInput) << refused.message();
    EXPECT_FALSE((*spool)->Finish().ok());
  }
  EXPECT_FALSE(std::filesystem::exists(spool_dir + "/snapshot.ndjson.partial"));
}

}  // namespace
}  // namespace edge::sync
