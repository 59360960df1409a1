#include "base/lmdb.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/testing/temp_dir.h"

namespace edge::base {
namespace {

constexpr LmdbNames kNames{"the test store", "test store: ", "store"};

class LmdbTest : public ::testing::Test {
 protected:
  LmdbOptions Options(MDB_dbi* dbi) {
    LmdbOptions options;
    options.names = kNames;
    options.map_size = size_t{16} << 20;
    options.dbs = {{"data", dbi}};
    return options;
  }
  testing::TempDir temp_{"edge-lmdb"};
  const std::string& dir_ = temp_.path();
};

TEST_F(LmdbTest, BigEndianIntegersSortNumerically) {
  EXPECT_EQ(Be64(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_LT(Be64(255), Be64(256));
  std::string out;
  PutBe32(out, 0x01020304);
  EXPECT_EQ(out, "\x01\x02\x03\x04");
  EXPECT_EQ(GetBe(out.data(), 4), 0x01020304u);
  EXPECT_EQ(GetBe64(Be64(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_FALSE(GetBe64("short").has_value());
}

TEST_F(LmdbTest, ErrorsNameTheStore) {
  EXPECT_EQ(LmdbError(kNames, "write", MDB_MAP_FULL).message(),
            "test store: write failed: the store is full (LMDB map size)");
  Status other = LmdbError(kNames, "read", MDB_CORRUPTED);
  EXPECT_EQ(other.code(), ErrorCode::kIo);
  EXPECT_EQ(other.message().rfind("test store: read failed: ", 0), 0u);
}

TEST_F(LmdbTest, MakeStoreDirCreatesAPrivateFolder) {
  StatusOr<std::string> path = MakeStoreDir(dir_ + "/a/b/../store", /*private_dir=*/true);
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(*path, std::filesystem::canonical(dir_).string() + "/a/store");
  struct stat info {};
  ASSERT_EQ(stat(path->c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(LmdbTest, AStoreFormatIsWrittenOnceAndCheckedAfter) {
  StatusOr<std::string> path = MakeStoreDir(dir_ + "/formats", false);
  ASSERT_TRUE(path.ok());
  MDB_dbi dbi;
  LmdbOptions options = Options(&dbi);
  std::string format = "1";
  options.init = [&](MDB_txn* txn) {
    return CheckStoreFormat(txn, dbi, format, "test store", *path, options.names);
  };
  auto first = LmdbEnv::Open(*path, options);
  ASSERT_TRUE(first.ok()) << first.status().message();
  first->reset();
  auto same = LmdbEnv::Open(*path, options);  // "1" found: fine
  ASSERT_TRUE(same.ok()) << same.status().message();
  same->reset();
  format = "2";
  auto other = LmdbEnv::Open(*path, options);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(other.status().message(), *path + ": test store format 1 is not supported by this edge");
}

TEST_F(LmdbTest, OneEnvironmentPerFolderAndTransactions) {
  StatusOr<std::string> path = MakeStoreDir(dir_ + "/store", false);
  ASSERT_TRUE(path.ok());
  MDB_dbi dbi;
  int init_calls = 0;
  LmdbOptions options = Options(&dbi);
  options.init = [&](MDB_txn* txn) {
    ++init_calls;
    MDB_val key = Val("format"), value = Val("1");
    return mdb_put(txn, dbi, &key, &value, 0) == 0 ? Status::Ok()
                                                   : Status(ErrorCode::kIo, "put failed");
  };
  StatusOr<std::unique_ptr<LmdbEnv>> env = LmdbEnv::Open(*path, options);
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(init_calls, 1);
  EXPECT_EQ((*env)->path(), *path);

  MDB_dbi other;
  StatusOr<std::unique_ptr<LmdbEnv>> twice = LmdbEnv::Open(*path, Options(&other));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(),
            "the test store in " + *path + " is already open in this process");

  {
    LmdbTxn txn;
    ASSERT_TRUE(txn.Begin(**env, /*read_only=*/false, "write").ok());
    MDB_val key = Val("k"), value = Val("dropped");
    ASSERT_EQ(mdb_put(txn.get(), dbi, &key, &value, 0), 0);
  }  // aborted
  {
    LmdbTxn txn;
    ASSERT_TRUE(txn.Begin(**env, /*read_only=*/false, "write").ok());
    MDB_val key = Val("k2"), value = Val("kept");
    ASSERT_EQ(mdb_put(txn.get(), dbi, &key, &value, 0), 0);
    ASSERT_TRUE(txn.Commit("write").ok());
  }
  {
    LmdbTxn txn;
    ASSERT_TRUE(txn.Begin(**env, /*read_only=*/true, "read").ok());
    MDB_val key = Val("k"), value;
    EXPECT_EQ(mdb_get(txn.get(), dbi, &key, &value), MDB_NOTFOUND);
    key = Val("k2");
    ASSERT_EQ(mdb_get(txn.get(), dbi, &key, &value), 0);
    EXPECT_EQ(View(value), "kept");
    key = Val("format");
    ASSERT_EQ(mdb_get(txn.get(), dbi, &key, &value), 0);
    EXPECT_EQ(View(value), "1");
    LmdbCursor cursor(txn.get(), dbi);
    ASSERT_EQ(cursor.rc(), 0);
    MDB_val k, v;
    ASSERT_EQ(mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST), 0);
    EXPECT_EQ(View(k), "format");
  }

  // Closing releases the folder.
  env->reset();
  StatusOr<std::unique_ptr<LmdbEnv>> again = LmdbEnv::Open(*path, Options(&other));
  EXPECT_TRUE(again.ok()) << again.status().message();
}

TEST_F(LmdbTest, AFailingInitLeavesTheFolderFree) {
  StatusOr<std::string> path = MakeStoreDir(dir_ + "/store", false);
  ASSERT_TRUE(path.ok());
  MDB_dbi dbi;
  LmdbOptions options = Options(&dbi);
  options.init = [](MDB_txn*) { return Status(ErrorCode::kInvalidInput, "format 2"); };
  StatusOr<std::unique_ptr<LmdbEnv>> env = LmdbEnv::Open(*path, options);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message(), "format 2");
  options.init = nullptr;
  EXPECT_TRUE(LmdbEnv::Open(*path, options).ok());
}

}  // namespace
}  // namespace edge::base
