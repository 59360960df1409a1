#include "gateway/deploy/deploy_store.h"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "base/testing/temp_dir.h"

namespace edge::gateway {
namespace {
namespace fs = std::filesystem;

using Routes = std::vector<std::string>;

class DeployStoreTest : public ::testing::Test {
 protected:
  DeployStoreTest() { Reopen(); }
  void Reopen() {
    store_.reset();
    auto store = DeployStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }
  // One write that must succeed.
  void MustWrite(const std::function<Status(DeployStore::Writer&)>& changes) {
    Status status = store_->Write(changes);
    ASSERT_TRUE(status.ok()) << status.message();
  }
  VersionInfo Add(const std::string& worker, const std::string& bundle,
                  std::optional<Routes> routes = std::nullopt) {
    VersionInfo info;
    MustWrite([&](DeployStore::Writer& writer) {
      StatusOr<VersionInfo> added = writer.AddVersion(worker, bundle, routes);
      if (added.ok()) info = *added;
      return added.status();
    });
    return info;
  }
  std::optional<DeployedWorker> Load(const std::string& name) {
    auto worker = store_->LoadWorker(name);
    EXPECT_TRUE(worker.ok()) << worker.status().message();
    return worker.ok() ? *worker : std::nullopt;
  }
  size_t BlobCount() {
    // Counted through LMDB's own view of the database (the store has no
    // listing of blobs): close the store, read, reopen.
    store_.reset();
    MDB_env* env = nullptr;
    size_t entries = 0;
    if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 8) == 0 &&
        mdb_env_open(env, (fs::path(dir_) / "deploy").c_str(), 0, 0600) == 0) {
      MDB_txn* txn = nullptr;
      MDB_dbi dbi;
      MDB_stat stat;
      if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0) {
        if (mdb_dbi_open(txn, "blobs", 0, &dbi) == 0 && mdb_stat(txn, dbi, &stat) == 0) {
          entries = stat.ms_entries;
        }
        mdb_txn_abort(txn);
      }
    }
    mdb_env_close(env);
    Reopen();
    return entries;
  }
  // Writes raw bytes under `key` of database `db`, behind the store's back.
  void Tamper(const char* db, const std::string& key, const std::string& value) {
    store_.reset();
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
    ASSERT_EQ(mdb_env_open(env, (fs::path(dir_) / "deploy").c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    Reopen();
  }

  base::testing::TempDir temp_{"edge-deploy"};
  std::string dir_ = temp_.path();
  std::unique_ptr<DeployStore> store_;
};

TEST_F(DeployStoreTest, AddsVersionsAndLoadsTheCurrentOne) {
  VersionInfo first = Add("api", "{\"v\":1}", Routes{"example.com/*"});
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.size, 7u);
  EXPECT_EQ(first.sha256.size(), 64u);
  EXPECT_GT(first.created_ms, 1600000000000u);
  VersionInfo second = Add("api", "{\"v\":2}");  // no routes: keeps them
  EXPECT_EQ(second.id, 2u);

  auto api = Load("api");
  ASSERT_TRUE(api.has_value());
  EXPECT_EQ(api->name, "api");
  EXPECT_EQ(api->version, 2u);
  EXPECT_EQ(api->bundle_json, "{\"v\":2}");
  EXPECT_EQ(api->routes, Routes{"example.com/*"});
  EXPECT_TRUE(api->secrets.empty());

  auto versions = store_->Versions("api");
  ASSERT_TRUE(versions.ok()) << versions.status().message();
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].id, 1u);
  EXPECT_EQ((*versions)[0].sha256, first.sha256);
  EXPECT_EQ((*versions)[1].id, 2u);
  EXPECT_EQ((*versions)[1].size, 7u);

  auto blob = store_->GetBlob(first.sha256);
  ASSERT_TRUE(blob.ok()) << blob.status().message();
  EXPECT_EQ(*blob, std::optional<std::string>("{\"v\":1}"));
  // SHA-256 of the bytes, as anyone can compute it.
  EXPECT_EQ(Add("hash", "abc").sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  Add("web", "{\"w\":1}", Routes{"www.example.com/*", "example.org/*"});
  auto all = store_->LoadAll();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "api");
  EXPECT_EQ((*all)[2].name, "web");
  EXPECT_EQ((*all)[2].routes, (Routes{"www.example.com/*", "example.org/*"}));
  EXPECT_EQ(*store_->WorkerNames(), (Routes{"api", "hash", "web"}));

  EXPECT_FALSE(Load("nobody").has_value());
  EXPECT_TRUE(store_->Versions("nobody")->empty());
  // A worker whose name is a prefix of another's sees only its own.
  Add("ap", "{}");
  EXPECT_EQ(store_->Versions("ap")->size(), 1u);
  EXPECT_EQ(store_->Versions("api")->size(), 2u);
}

TEST_F(DeployStoreTest, RollbackKeepsIdsIncreasing) {
  Add("api", "one");
  Add("api", "two");
  MustWrite([](DeployStore::Writer& writer) { return writer.Rollback("api", 1); });
  EXPECT_EQ(Load("api")->version, 1u);
  EXPECT_EQ(Load("api")->bundle_json, "one");
  EXPECT_EQ(*store_->NextVersionId("api"), 3u);  // what the next Add gives
  EXPECT_EQ(Add("api", "three").id, 3u);  // never 2 again
  EXPECT_EQ(*store_->NextVersionId("api"), 4u);
  EXPECT_EQ(*store_->NextVersionId("nobody"), 1u);

  Status missing =
      store_->Write([](DeployStore::Writer& writer) { return writer.Rollback("api", 9); });
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.message().find("no version 9"), std::string::npos) << missing.message();
  Status nobody =
      store_->Write([](DeployStore::Writer& writer) { return writer.Rollback("nobody", 1); });
  EXPECT_EQ(nobody.code(), ErrorCode::kNotFound);
  EXPECT_EQ(Load("api")->version, 3u);
}

TEST_F(DeployStoreTest, RoutesAreReplacedOrKept) {
  Add("api", "one", Routes{"a.com/*"});
  MustWrite([](DeployStore::Writer& writer) {
    return writer.SetRoutes("api", {"b.com/*", "c.com/x"});
  });
  EXPECT_EQ(Load("api")->routes, (Routes{"b.com/*", "c.com/x"}));
  Add("api", "two", Routes{});
  EXPECT_TRUE(Load("api")->routes.empty());
  Status missing =
      store_->Write([](DeployStore::Writer& writer) { return writer.SetRoutes("nobody", {}); });
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
}

TEST_F(DeployStoreTest, Secrets) {
  Add("api", "one");
  MustWrite([](DeployStore::Writer& writer) {
    EDGE_RETURN_IF_ERROR(writer.PutSecret("api", "TOKEN", "s3cret"));
    EDGE_RETURN_IF_ERROR(writer.PutSecret("api", "API_KEY", "k"));
    return writer.PutSecret("api", "TOKEN", "rotated");
  });
  EXPECT_EQ(*store_->SecretNames("api"), (Routes{"API_KEY", "TOKEN"}));
  auto api = Load("api");
  ASSERT_EQ(api->secrets.size(), 2u);
  EXPECT_EQ(api->secrets[1].name, "TOKEN");
  EXPECT_EQ(api->secrets[1].value, "rotated");

  // With their values, also for a worker that has no version yet.
  MustWrite([](DeployStore::Writer& writer) { return writer.PutSecret("first", "KEY", "early"); });
  auto first = store_->Secrets("first");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].name, "KEY");
  EXPECT_EQ((*first)[0].value, "early");
  EXPECT_EQ(store_->Secrets("api")->size(), 2u);

  MustWrite([](DeployStore::Writer& writer) { return writer.DeleteSecret("api", "API_KEY"); });
  EXPECT_EQ(*store_->SecretNames("api"), Routes{"TOKEN"});
  Status missing = store_->Write(
      [](DeployStore::Writer& writer) { return writer.DeleteSecret("api", "API_KEY"); });
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);

  Status bad_name = store_->Write(
      [](DeployStore::Writer& writer) { return writer.PutSecret("api", "not-an-id", "x"); });
  EXPECT_EQ(bad_name.code(), ErrorCode::kInvalidInput);
  // A secret may come before the worker's first version.
  MustWrite([](DeployStore::Writer& writer) { return writer.PutSecret("later", "K", "v"); });
  EXPECT_FALSE(Load("later").has_value());
  Add("later", "one");
  EXPECT_EQ(Load("later")->secrets.size(), 1u);
}

TEST_F(DeployStoreTest, Meta) {
  EXPECT_EQ(*store_->GetMeta("cursor"), std::nullopt);
  MustWrite([](DeployStore::Writer& writer) { return writer.PutMeta("cursor", "42"); });
  EXPECT_EQ(*store_->GetMeta("cursor"), std::optional<std::string>("42"));
  Status empty = store_->Write([](DeployStore::Writer& writer) { return writer.PutMeta("", "x"); });
  EXPECT_EQ(empty.code(), ErrorCode::kInvalidInput);
}

TEST_F(DeployStoreTest, AFailedWriteChangesNothing) {
  Add("api", "one", Routes{"a.com/*"});
  Status failed = store_->Write([](DeployStore::Writer& writer) -> Status {
    EDGE_RETURN_IF_ERROR(writer.AddVersion("api", "two", Routes{"b.com/*"}).status());
    EDGE_RETURN_IF_ERROR(writer.AddVersion("web", "w", std::nullopt).status());
    EDGE_RETURN_IF_ERROR(writer.PutSecret("api", "TOKEN", "x"));
    EDGE_RETURN_IF_ERROR(writer.PutMeta("cursor", "7"));
    return writer.Rollback("api", 99);  // fails: no such version
  });
  EXPECT_EQ(failed.code(), ErrorCode::kNotFound);
  auto api = Load("api");
  EXPECT_EQ(api->version, 1u);
  EXPECT_EQ(api->routes, Routes{"a.com/*"});
  EXPECT_TRUE(api->secrets.empty());
  EXPECT_EQ(store_->Versions("api")->size(), 1u);
  EXPECT_FALSE(Load("web").has_value());
  EXPECT_EQ(*store_->WorkerNames(), Routes{"api"});
  EXPECT_EQ(*store_->GetMeta("cursor"), std::nullopt);
  EXPECT_EQ(BlobCount(), 1u);  // the bundles of the failed write are not left behind
  // The id the failed write took is free again.
  EXPECT_EQ(Add("api", "two").id, 2u);
}

TEST_F(DeployStoreTest, DeleteRemovesEverythingOfTheWorker) {
  Add("api", "one", Routes{"a.com/*"});
  Add("api", "two");
  MustWrite([](DeployStore::Writer& writer) { return writer.PutSecret("api", "TOKEN", "x"); });
  Add("web", "w");
  MustWrite([](DeployStore::Writer& writer) { return writer.DeleteWorker("api"); });
  EXPECT_FALSE(Load("api").has_value());
  EXPECT_TRUE(store_->Versions("api")->empty());
  EXPECT_TRUE(store_->SecretNames("api")->empty());
  EXPECT_EQ(*store_->WorkerNames(), Routes{"web"});
  EXPECT_EQ(BlobCount(), 1u);
  EXPECT_TRUE(Load("web").has_value());

  // Created again, it starts over.
  EXPECT_EQ(Add("api", "again").id, 1u);
  EXPECT_TRUE(Load("api")->routes.empty());

  Status missing =
      store_->Write([](DeployStore::Writer& writer) { return writer.DeleteWorker("nobody"); });
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
}

TEST_F(DeployStoreTest, BlobsAreSharedAndRemovedWhenUnused) {
  std::string sha = Add("api", "same bytes").sha256;
  EXPECT_EQ(Add("api", "same bytes").sha256, sha);  // a second version, same content
  EXPECT_EQ(Add("web", "same bytes").sha256, sha);  // another worker, same content
  Add("api", "other bytes");
  EXPECT_EQ(BlobCount(), 2u);

  MustWrite([](DeployStore::Writer& writer) { return writer.DeleteWorker("api"); });
  EXPECT_EQ(BlobCount(), 1u);  // "web" still uses it
  EXPECT_EQ(*store_->GetBlob(sha), std::optional<std::string>("same bytes"));
  MustWrite([](DeployStore::Writer& writer) { return writer.DeleteWorker("web"); });
  EXPECT_EQ(BlobCount(), 0u);
  EXPECT_EQ(*store_->GetBlob(sha), std::nullopt);
  EXPECT_EQ(store_->GetBlob("not-a-hash").status().code(), ErrorCode::kInvalidInput);
}

TEST_F(DeployStoreTest, PutVersionForReplication) {
  MustWrite([](DeployStore::Writer& writer) {
    return writer.PutVersion("api", 5, "five", Routes{"a.com/*"}, true);
  });
  EXPECT_EQ(Load("api")->version, 5u);
  EXPECT_EQ(Load("api")->routes, Routes{"a.com/*"});
  // Not current: stored, but the current version stays.
  MustWrite([](DeployStore::Writer& writer) {
    return writer.PutVersion("api", 3, "three", std::nullopt, false);
  });
  EXPECT_EQ(Load("api")->version, 5u);
  EXPECT_EQ(store_->Versions("api")->size(), 2u);
  // The same again is a no-op; other content under the same id is refused.
  MustWrite([](DeployStore::Writer& writer) {
    return writer.PutVersion("api", 3, "three", Routes{"x.com/*"}, true);
  });
  EXPECT_EQ(Load("api")->version, 5u);
  EXPECT_EQ(Load("api")->routes, Routes{"a.com/*"});
  Status clash = store_->Write([](DeployStore::Writer& writer) {
    return writer.PutVersion("api", 3, "not three", std::nullopt, true);
  });
  EXPECT_EQ(clash.code(), ErrorCode::kInvalidInput);
  EXPECT_NE(clash.message().find("version 3 of worker \"api\" exists with other content"),
            std::string::npos)
      << clash.message();
  Status zero = store_->Write([](DeployStore::Writer& writer) {
    return writer.PutVersion("api", 0, "zero", std::nullopt, true);
  });
  EXPECT_EQ(zero.code(), ErrorCode::kInvalidInput);
  // Ids chosen here follow the largest one stored.
  EXPECT_EQ(Add("api", "six").id, 6u);
}

TEST_F(DeployStoreTest, RefusesBadWorkerNames) {
  Status bad = store_->Write([](DeployStore::Writer& writer) {
    return writer.AddVersion("Not Valid", "x", std::nullopt).status();
  });
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidInput);
  Status nul = store_->Write([](DeployStore::Writer& writer) {
    return writer.PutSecret(std::string("a\0b", 3), "K", "v");
  });
  EXPECT_EQ(nul.code(), ErrorCode::kInvalidInput);
}

TEST_F(DeployStoreTest, SurvivesReopening) {
  Add("api", "one", Routes{"a.com/*"});
  Add("api", "two");
  MustWrite([](DeployStore::Writer& writer) {
    EDGE_RETURN_IF_ERROR(writer.Rollback("api", 1));
    EDGE_RETURN_IF_ERROR(writer.PutSecret("api", "TOKEN", "x"));
    return writer.PutMeta("cursor", "12");
  });
  // One store per folder per process.
  auto twice = DeployStore::Open(dir_);
  EXPECT_FALSE(twice.ok());

  Reopen();
  auto api = Load("api");
  ASSERT_TRUE(api.has_value());
  EXPECT_EQ(api->version, 1u);
  EXPECT_EQ(api->bundle_json, "one");
  EXPECT_EQ(api->routes, Routes{"a.com/*"});
  ASSERT_EQ(api->secrets.size(), 1u);
  EXPECT_EQ(*store_->GetMeta("cursor"), std::optional<std::string>("12"));
  EXPECT_EQ(Add("api", "three").id, 3u);

  struct stat info;
  ASSERT_EQ(stat((fs::path(dir_) / "deploy").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(DeployStoreTest, ACommitSurvivesAProcessThatDies) {
  store_.reset();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No destructor, no close: only the commit makes it durable.
    auto store = DeployStore::Open(dir_);
    if (!store.ok()) _exit(1);
    Status status = (*store)->Write([](DeployStore::Writer& writer) {
      EDGE_RETURN_IF_ERROR(writer.AddVersion("api", "from the child", std::nullopt).status());
      return writer.PutMeta("cursor", "99");
    });
    _exit(status.ok() ? 0 : 2);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0);
  Reopen();
  EXPECT_EQ(Load("api")->bundle_json, "from the child");
  EXPECT_EQ(*store_->GetMeta("cursor"), std::optional<std::string>("99"));
}

TEST_F(DeployStoreTest, CorruptRecordsAreErrors) {
  std::string sha = Add("api", "one").sha256;
  Add("web", "w");
  Tamper("workers", "bad", "{not json");
  auto all = store_->LoadAll();
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), ErrorCode::kInternal);
  EXPECT_NE(all.status().message().find("worker \"bad\""), std::string::npos)
      << all.status().message();
  EXPECT_FALSE(store_->LoadWorker("bad").ok());
  EXPECT_TRUE(Load("api").has_value());
  // A corrupt worker can still be deleted.
  MustWrite([](DeployStore::Writer& writer) { return writer.DeleteWorker("bad"); });
  EXPECT_TRUE(store_->LoadAll().ok());

  Tamper("workers", "web", "{\"current\":1}");
  EXPECT_EQ(store_->LoadWorker("web").status().code(), ErrorCode::kInternal);
  Tamper("versions", std::string("api\0", 4) + "0000000000000001", "[]");
  EXPECT_EQ(store_->LoadWorker("api").status().code(), ErrorCode::kInternal);
  EXPECT_EQ(store_->Versions("api").status().code(), ErrorCode::kInternal);
  Tamper("versions", std::string("api\0", 4) + "0000000000000001",
         "{\"sha256\":\"" + sha + "\",\"created_ms\":1,\"size\":3}");
  EXPECT_TRUE(Load("api").has_value());
  Tamper("blobs", sha, "changed");
  auto changed = store_->LoadWorker("api");
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.status().message().find("corrupt"), std::string::npos);
  EXPECT_EQ(store_->GetBlob(sha).status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace edge::gateway
