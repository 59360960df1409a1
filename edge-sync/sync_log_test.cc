#include "edge-sync/sync_log.h"

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <limits>
#include <thread>

#include "base/sha256.h"
#include "base/testing/temp_dir.h"
#include "edge-sync/sealed_secrets.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/testing/entries.h"

namespace edge::sync {
namespace {
using ::testing::HasSubstr;
using testing::KvEntry;
using testing::SecretEntry;
using testing::WorkerEntry;

class SyncLogTest : public ::testing::Test {
 protected:
  SyncLogTest() {
    auto key = SigningKey::Generate();
    EXPECT_TRUE(key.ok());
    key_.emplace(std::move(key).value());
    Reopen();
  }

  void Reopen() {
    log_.reset();
    auto log = SyncLog::Open(dir_);
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(log).value();
  }

  static Entry Routes(uint64_t seq, const std::string& worker,
                      std::vector<std::string> routes = {"a.example/*"}) {
    Entry entry = WorkerEntry(EntryType::kRoutes, seq, worker);
    entry.routes = std::move(routes);
    return entry;
  }
  static Entry Version(uint64_t seq, const std::string& worker, uint64_t version,
                       const std::string& bundle) {
    Entry entry = WorkerEntry(EntryType::kVersion, seq, worker);
    entry.version = version;
    entry.blob = base::Sha256Hex(bundle);
    return entry;
  }
  static Entry Rollback(uint64_t seq, const std::string& worker, uint64_t version) {
    Entry entry = WorkerEntry(EntryType::kRollback, seq, worker);
    entry.version = version;
    return entry;
  }
  static Entry DeleteWorker(uint64_t seq, const std::string& worker) {
    return WorkerEntry(EntryType::kDeleteWorker, seq, worker);
  }
  static Entry SecretPut(uint64_t seq, const std::string& worker, const std::string& name) {
    Entry entry = SecretEntry(EntryType::kSecretPut, seq, worker, name);
    entry.sealed = SealSecret(std::string(32, 'k'), worker, name, "value");
    return entry;
  }
  static Entry SecretDelete(uint64_t seq, const std::string& worker, const std::string& name) {
    return SecretEntry(EntryType::kSecretDelete, seq, worker, name);
  }
  static Entry KvPut(uint64_t seq, const std::string& ns, const std::string& key,
                     const std::string& value, bool as_blob = false) {
    Entry entry = KvEntry(EntryType::kKvPut, seq, ns, key);
    if (as_blob) {
      entry.blob = base::Sha256Hex(value);
    } else {
      entry.value = value;
    }
    return entry;
  }
  static Entry KvDelete(uint64_t seq, const std::string& ns, const std::string& key) {
    return KvEntry(EntryType::kKvDelete, seq, ns, key);
  }

  SignedEntry Sign(const Entry& entry) {
    EXPECT_TRUE(ValidateEntry(entry).ok()) << ValidateEntry(entry).message();
    return key_->Sign(entry);
  }
  void Append(const Entry& entry, std::optional<std::string> blob = std::nullopt) {
    Status status = log_->Append(Sign(entry), std::move(blob));
    EXPECT_TRUE(status.ok()) << status.message();
  }
  // The seqs the log holds, in order.
  std::vector<uint64_t> Seqs() {
    auto entries = log_->ReadAfter(0, 100000);
    EXPECT_TRUE(entries.ok()) << entries.status().message();
    std::vector<uint64_t> seqs;
    if (entries.ok()) {
      for (const SignedEntry& entry : *entries) seqs.push_back(entry.seq);
    }
    return seqs;
  }
  size_t Compact(uint64_t through) {
    auto dropped = log_->Compact(through);
    EXPECT_TRUE(dropped.ok()) << dropped.status().message();
    return dropped.ok() ? *dropped : 0;
  }

  base::testing::TempDir temp_{"edge-sync-log-test"};
  std::string dir_ = temp_.path();
  std::optional<SigningKey> key_;
  std::unique_ptr<SyncLog> log_;
};

using U64s = std::vector<uint64_t>;

TEST_F(SyncLogTest, AppendAndReadAfter) {
  EXPECT_EQ(log_->head(), 0u);
  EXPECT_EQ(log_->compacted_through(), 0u);
  std::vector<SignedEntry> signed_entries;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    signed_entries.push_back(Sign(Routes(seq, "w" + std::to_string(seq))));
    ASSERT_TRUE(log_->Append(signed_entries.back()).ok());
    EXPECT_EQ(log_->head(), seq);
  }
  auto all = log_->ReadAfter(0, 10);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*all)[i].seq, i + 1);
    EXPECT_EQ((*all)[i].bytes, signed_entries[i].bytes);
    EXPECT_EQ((*all)[i].signature, signed_entries[i].signature);
    EXPECT_EQ((*all)[i].Line(), signed_entries[i].Line());
  }
  auto some = log_->ReadAfter(2, 2);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].seq, 3u);
  EXPECT_EQ((*some)[1].seq, 4u);
  EXPECT_TRUE(log_->ReadAfter(5, 10)->empty());
  EXPECT_TRUE(log_->ReadAfter(0, 0)->empty());
  EXPECT_TRUE(log_->ReadAfter(std::numeric_limits<uint64_t>::max(), 10)->empty());
}

TEST_F(SyncLogTest, RefusesWhatDoesNotBelong) {
  Append(Routes(5, "w"));
  for (uint64_t seq : {5u, 3u}) {
    Status status = log_->Append(Sign(Routes(seq, "w")));
    EXPECT_EQ(status.code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(status.message(), HasSubstr(fmt::format("entry seq {} is not above the log's "
                                                        "head 5",
                                                        seq)));
  }
  // Gaps are fine: a compacted log has them.
  Append(Routes(7, "w"));
  EXPECT_EQ(log_->head(), 7u);

  SignedEntry moved = Sign(Routes(8, "w"));
  moved.seq = 9;
  EXPECT_THAT(log_->Append(moved).message(), HasSubstr("entry seq 8 in a line for seq 9"));
  SignedEntry garbage = Sign(Routes(8, "w"));
  garbage.bytes = "{";
  EXPECT_EQ(log_->Append(garbage).code(), ErrorCode::kInvalidInput);
  SignedEntry unsigned_entry = Sign(Routes(8, "w"));
  unsigned_entry.signature.clear();
  EXPECT_THAT(log_->Append(unsigned_entry).message(), HasSubstr("signature is 0 bytes"));
  EXPECT_EQ(log_->head(), 7u);
  EXPECT_EQ(Seqs(), (U64s{5, 7}));
}

TEST_F(SyncLogTest, Blobs) {
  std::string bundle = R"({"name":"w"})";
  std::string sha = base::Sha256Hex(bundle);
  EXPECT_FALSE(log_->HasBlob(sha));
  auto none = log_->GetBlob(sha);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(log_->GetBlob("not-a-sha").status().code(), ErrorCode::kInvalidInput);
  EXPECT_FALSE(log_->HasBlob("not-a-sha"));

  ASSERT_TRUE(log_->PutBlob(bundle).ok());
  ASSERT_TRUE(log_->PutBlob(bundle).ok());  // once
  EXPECT_TRUE(log_->HasBlob(sha));
  EXPECT_EQ(log_->GetBlob(sha)->value(), bundle);

  // With an entry, in its transaction.
  std::string value(10000, 'v');
  Append(KvPut(1, "ns", "big", value, true), value);
  EXPECT_EQ(log_->GetBlob(base::Sha256Hex(value))->value(), value);

  // A blob that is not the one named, or named by nothing, is refused with
  // its entry.
  Status wrong = log_->Append(Sign(Version(2, "w", 1, "bundle")), std::string("other"));
  EXPECT_EQ(wrong.code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(wrong.message(), HasSubstr("has SHA-256"));
  Status unnamed = log_->Append(Sign(Routes(2, "w")), std::string("other"));
  EXPECT_THAT(unnamed.message(), HasSubstr("names no blob"));
  EXPECT_EQ(log_->head(), 1u);
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("other")));
  // An entry may come before its blob.
  Append(Version(2, "w", 1, "bundle"));
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("bundle")));
}

TEST_F(SyncLogTest, Meta) {
  EXPECT_FALSE(log_->GetMeta("node")->has_value());
  ASSERT_TRUE(log_->PutMeta("node", "pop-1").ok());
  EXPECT_EQ(log_->GetMeta("node")->value(), "pop-1");
  ASSERT_TRUE(log_->PutMeta("node", "pop-2").ok());
  EXPECT_EQ(log_->GetMeta("node")->value(), "pop-2");
  for (std::string reserved : {"head", "compacted_through", "format"}) {
    Status status = log_->PutMeta(reserved, "1");
    EXPECT_EQ(status.code(), ErrorCode::kInvalidInput) << reserved;
  }
  EXPECT_EQ(log_->PutMeta("", "x").code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(log_->PutMeta(std::string(512, 'k'), "x").code(), ErrorCode::kInvalidInput);
  Append(Routes(3, "w"));
  EXPECT_EQ(log_->GetMeta("head")->value(), "3");
}

// The origin records a forwarded write's id with the entry that applies it:
// both or neither.
TEST_F(SyncLogTest, AppendStoresItsMetaInTheSameTransaction) {
  ASSERT_TRUE(
      log_->Append(key_->Sign(Routes(1, "w")), std::nullopt, SyncLog::MetaWrite{"write/a", "7 1"})
          .ok());
  EXPECT_EQ(log_->GetMeta("write/a")->value(), "7 1");
  // Refused entry (not above the head): the meta is not written either.
  EXPECT_FALSE(
      log_->Append(key_->Sign(Routes(1, "w")), std::nullopt, SyncLog::MetaWrite{"write/a", "8 1"})
          .ok());
  EXPECT_EQ(log_->GetMeta("write/a")->value(), "7 1");
  // A reserved meta key: the entry is not appended.
  EXPECT_EQ(log_->Append(key_->Sign(Routes(2, "w")), std::nullopt, SyncLog::MetaWrite{"head", "9"})
                .code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(log_->head(), 1u);
  Reopen();
  EXPECT_EQ(log_->GetMeta("write/a")->value(), "7 1");
}

TEST_F(SyncLogTest, ReopenKeepsEverything) {
  Append(Routes(1, "w"));
  Append(Routes(2, "w"));
  Append(Version(3, "w", 1, "bundle"), std::string("bundle"));
  ASSERT_TRUE(log_->PutMeta("node", "pop-1").ok());
  EXPECT_EQ(Compact(2), 1u);
  // One environment per folder in a process.
  auto second = SyncLog::Open(dir_);
  EXPECT_EQ(second.status().code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(second.status().message(), HasSubstr("already open"));

  Reopen();
  EXPECT_EQ(log_->head(), 3u);
  EXPECT_EQ(log_->compacted_through(), 2u);
  EXPECT_EQ(Seqs(), (U64s{2, 3}));
  EXPECT_EQ(log_->GetBlob(base::Sha256Hex("bundle"))->value(), "bundle");
  EXPECT_EQ(log_->GetMeta("node")->value(), "pop-1");
  // The index of keys survived too: routes at 2 is superseded by one at 4.
  Append(Routes(4, "w"));
  EXPECT_EQ(Compact(4), 1u);
  EXPECT_EQ(Seqs(), (U64s{3, 4}));

  struct stat info {};
  ASSERT_EQ(stat((dir_ + "/sync").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(SyncLogTest, OnAppendAfterEachCommit) {
  std::vector<uint64_t> heads;
  log_->SetOnAppend([&](uint64_t head) {
    heads.push_back(head);
    EXPECT_EQ(log_->head(), head);  // committed, and callable from here
  });
  Append(Routes(1, "w"));
  Append(Routes(4, "w"));
  EXPECT_FALSE(log_->Append(Sign(Routes(2, "w"))).ok());
  EXPECT_EQ(heads, (U64s{1, 4}));
  log_->SetOnAppend(nullptr);
  Append(Routes(5, "w"));
  EXPECT_EQ(heads, (U64s{1, 4}));
}

TEST_F(SyncLogTest, CompactDropsSupersededRoutes) {
  Append(Routes(1, "w", {"a/*"}));
  Append(Routes(2, "w", {"b/*"}));
  Append(Routes(3, "other"));
  Append(Routes(4, "w", {"c/*"}));
  // 2 is superseded by 4, above the point: it goes all the same.
  EXPECT_EQ(Compact(2), 2u);
  EXPECT_EQ(Seqs(), (U64s{3, 4}));
  EXPECT_EQ(log_->compacted_through(), 2u);
  EXPECT_EQ(log_->head(), 4u);
  // Nothing left to drop; the point moves on.
  EXPECT_EQ(Compact(4), 0u);
  EXPECT_EQ(log_->compacted_through(), 4u);
  EXPECT_EQ(Seqs(), (U64s{3, 4}));
}

TEST_F(SyncLogTest, CompactKeepsVersionsUntilTheirWorkerIsDeleted) {
  Append(Version(1, "w", 1, "bundle one"), std::string("bundle one"));
  Append(Version(2, "w", 2, "bundle two"), std::string("bundle two"));
  Append(Rollback(3, "w", 1));
  Append(SecretPut(4, "w", "KEY"));
  Append(Version(5, "other", 1, "bundle one"), std::string("bundle one"));
  // Every version stays; their "c/" keys are superseded, their "v/" ones
  // are not.
  EXPECT_EQ(Compact(4), 0u);
  EXPECT_EQ(Seqs(), (U64s{1, 2, 3, 4, 5}));

  Append(DeleteWorker(6, "w"));
  EXPECT_EQ(Compact(5), 4u);  // 1-4: everything of "w"
  EXPECT_EQ(Seqs(), (U64s{5, 6}));
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("bundle two")));
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex("bundle one")));  // "other" names it
  // The tombstone goes once it is below the point.
  EXPECT_EQ(Compact(6), 1u);
  EXPECT_EQ(Seqs(), (U64s{5}));
  EXPECT_EQ(log_->head(), 6u);
}

TEST_F(SyncLogTest, AWorkerCreatedAgainKeepsItsNewEntries) {
  Append(Version(1, "w", 1, "old"), std::string("old"));
  Append(SecretPut(2, "w", "KEY"));
  Append(DeleteWorker(3, "w"));
  Append(Version(4, "w", 1, "new"), std::string("new"));  // ids start again at 1
  Append(SecretPut(5, "w", "KEY"));
  EXPECT_EQ(Compact(5), 3u);
  EXPECT_EQ(Seqs(), (U64s{4, 5}));
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("old")));
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex("new")));
  // A later delete still reaches the new ones.
  Append(DeleteWorker(6, "w"));
  EXPECT_EQ(Compact(6), 3u);
  EXPECT_TRUE(Seqs().empty());
}

TEST_F(SyncLogTest, CompactDropsTombstonesBelowThePoint) {
  Append(KvPut(1, "ns", "k", "v1"));
  Append(KvDelete(2, "ns", "k"));
  Append(KvDelete(3, "ns", "never-there"));
  Append(SecretPut(4, "w", "A"));
  Append(SecretDelete(5, "w", "A"));
  Append(KvPut(6, "ns", "k", "v2"));
  Append(SecretDelete(7, "w", "B"));
  EXPECT_EQ(Compact(5), 5u);
  EXPECT_EQ(Seqs(), (U64s{6, 7}));
  EXPECT_EQ(Compact(7), 1u);
  EXPECT_EQ(Seqs(), (U64s{6}));
}

TEST_F(SyncLogTest, CompactKeepsTheLatestWriterOfEachKey) {
  Append(KvPut(1, "ns", "a", "1"));
  Append(KvPut(2, "ns", "b", "1"));
  Append(KvPut(3, "ns", "a", "2"));
  Append(SecretPut(4, "w", "A"));
  Append(SecretPut(5, "w", "B"));
  Append(SecretPut(6, "w", "A"));
  // Namespaces with '/' do not collide with keys that hold it.
  Append(KvPut(7, "x/y", "z", "1"));
  Append(KvPut(8, "x", "y/z", "1"));
  // Keys too long for LMDB are indexed by their hash.
  std::string long_ns(300, 'n'), long_key(512, 'k');
  Append(KvPut(9, long_ns, long_key, "1"));
  Append(KvPut(10, long_ns, long_key, "2"));
  Append(KvPut(11, long_ns, long_key.substr(1) + "j", "1"));
  EXPECT_EQ(Compact(100), 3u);  // 1, 4, 9; the point stops at the head
  EXPECT_EQ(Seqs(), (U64s{2, 3, 5, 6, 7, 8, 10, 11}));
  EXPECT_EQ(log_->compacted_through(), 11u);
  // The point never moves back.
  EXPECT_EQ(Compact(3), 0u);
  EXPECT_EQ(log_->compacted_through(), 11u);
}

TEST_F(SyncLogTest, CompactDropsBlobsNoEntryNames) {
  std::string x(6000, 'x'), y = "bundle y", orphan = "uploaded, not yet logged";
  Append(KvPut(1, "ns", "k", x, true), x);
  Append(KvPut(2, "ns", "k", x, true), x);  // the same bytes again: two names
  Append(Version(3, "w", 1, y), y);
  ASSERT_TRUE(log_->PutBlob(orphan).ok());
  EXPECT_EQ(Compact(2), 1u);
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex(x)));  // 2 still names it
  Append(KvDelete(4, "ns", "k"));
  EXPECT_EQ(Compact(4), 2u);
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex(x)));
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex(y)));
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex(orphan)));
  EXPECT_EQ(Seqs(), (U64s{3}));
}

TEST_F(SyncLogTest, ResetToReplacesEverything) {
  Append(Routes(1, "w"));
  Append(Version(2, "w", 1, "old"), std::string("old"));
  ASSERT_TRUE(log_->PutBlob("kept").ok());
  ASSERT_TRUE(log_->PutMeta("node", "pop-1").ok());
  EXPECT_EQ(Compact(1), 0u);

  std::vector<SignedEntry> snapshot = {Sign(Routes(3, "x", {"a/*"})),
                                       Sign(Version(5, "x", 1, "kept")),
                                       Sign(Routes(6, "x", {"b/*"}))};
  std::vector<uint64_t> notified;
  log_->SetOnAppend([&](uint64_t head) { notified.push_back(head); });
  ASSERT_TRUE(log_->ResetTo(snapshot, 9, 4).ok());
  EXPECT_EQ(notified, (U64s{9}));
  EXPECT_EQ(log_->head(), 9u);
  EXPECT_EQ(log_->compacted_through(), 4u);
  EXPECT_EQ(Seqs(), (U64s{3, 5, 6}));
  auto read = log_->ReadAfter(0, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ((*read)[1].Line(), snapshot[1].Line());
  EXPECT_FALSE(log_->HasBlob(base::Sha256Hex("old")));
  EXPECT_TRUE(log_->HasBlob(base::Sha256Hex("kept")));
  EXPECT_EQ(log_->GetMeta("node")->value(), "pop-1");

  EXPECT_EQ(log_->Append(Sign(Routes(9, "x"))).code(), ErrorCode::kInvalidInput);
  Append(Routes(10, "y"));
  // The key index was rebuilt from the snapshot: 3 is superseded by 6.
  EXPECT_EQ(Compact(5), 1u);
  EXPECT_EQ(Seqs(), (U64s{5, 6, 10}));
  Reopen();
  EXPECT_EQ(log_->head(), 10u);
  EXPECT_EQ(log_->compacted_through(), 5u);
}

TEST_F(SyncLogTest, ResetToRefusesABadSnapshotAndChangesNothing) {
  Append(Routes(1, "w"));
  auto refused = [&](const std::vector<SignedEntry>& entries, uint64_t head, uint64_t compacted,
                     std::string_view message) {
    Status status = log_->ResetTo(entries, head, compacted);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(status.message(), HasSubstr(message));
    EXPECT_EQ(log_->head(), 1u);
    EXPECT_EQ(Seqs(), (U64s{1}));
  };
  refused({Sign(Routes(5, "x")), Sign(Routes(3, "x"))}, 9, 0, "increasing seq order");
  refused({Sign(Routes(5, "x")), Sign(Routes(5, "x"))}, 9, 0, "increasing seq order");
  refused({Sign(Routes(12, "x"))}, 9, 0, "above its head");
  refused({}, 9, 10, "cannot be above its head");
  SignedEntry moved = Sign(Routes(4, "x"));
  moved.seq = 5;
  refused({moved}, 9, 0, "entry seq 4 in a line for seq 5");
  // An empty snapshot is a log with nothing left below its head.
  ASSERT_TRUE(log_->ResetTo({}, 20, 20).ok());
  EXPECT_TRUE(Seqs().empty());
  EXPECT_EQ(log_->head(), 20u);
}

TEST_F(SyncLogTest, ReadersAndWritersOnManyThreads) {
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!done.load()) {
        uint64_t head = log_->head();
        auto entries = log_->ReadAfter(0, 1000);
        if (!entries.ok() || entries->size() < head) failures++;
        if (!log_->GetMeta("n").ok()) failures++;
      }
    });
  }
  std::thread meta([&] {
    for (int i = 0; i < 50; ++i) {
      if (!log_->PutMeta("n", std::to_string(i)).ok()) failures++;
      if (!log_->PutBlob("blob " + std::to_string(i)).ok()) failures++;
    }
  });
  for (uint64_t seq = 1; seq <= 200; ++seq) Append(KvPut(seq, "ns", std::to_string(seq), "v"));
  meta.join();
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log_->head(), 200u);
}

}  // namespace
}  // namespace edge::sync
