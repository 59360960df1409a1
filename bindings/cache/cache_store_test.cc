#include "bindings/cache/cache_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kStart = 1'800'000'000'000;  // a fixed Unix ms

class CacheStoreTest : public ::testing::Test {
 protected:
  void Open(CacheLimits limits = {}) {
    store_.reset();
    store_ = CacheStore::Open(dir_.path(), limits, [this] { return now_; });
  }

  CacheKey Key(std::string url, std::string owner = "account:a", std::string name = "") {
    CacheKey key;
    key.owner = std::move(owner);
    key.is_default = name.empty();
    key.name = std::move(name);
    key.url = std::move(url);
    return key;
  }

  // Stores `body` in pieces of `piece` bytes; the commit's status.
  Status Put(const CacheKey& key, std::string_view body, int64_t ttl_ms = 60'000,
             size_t piece = 7) {
    CacheHead head;
    head.status = 200;
    head.status_text = "OK";
    head.headers = {{"content-type", "text/plain"}, {"etag", "\"v1\""}};
    head.expires_ms = now_ + ttl_ms;
    auto writer = store_->BeginPut(key, head);
    if (!writer.ok()) return writer.status();
    for (size_t i = 0; i < body.size(); i += piece) {
      Status written = (*writer)->Write(body.substr(i, piece));
      if (!written.ok()) return written;
    }
    return (*writer)->Commit();
  }

  // The body under `key`, or nullopt on a miss.
  std::optional<std::string> Body(const CacheKey& key) {
    auto hit = store_->Match(key);
    EXPECT_TRUE(hit.ok()) << hit.status().message();
    if (!hit.ok() || !*hit) return std::nullopt;
    auto bytes = (*hit)->body.Read(0, static_cast<size_t>((*hit)->body_size));
    EXPECT_TRUE(bytes.ok());
    return bytes.ok() ? std::optional<std::string>(*bytes) : std::nullopt;
  }

  size_t TmpFiles() {
    size_t count = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(dir_.path()) / "cache" / "tmp", ec)) {
      (void)entry;
      ++count;
    }
    return count;
  }

  base::testing::TempDir dir_{"edge-cache-test"};
  int64_t now_ = kStart;
  std::shared_ptr<CacheStore> store_;
};

TEST_F(CacheStoreTest, PutThenMatchReturnsTheHeadAndTheBody) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "hello, cache").ok());
  auto hit = store_->Match(Key("https://a.test/x"));
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->head.status, 200);
  EXPECT_EQ((*hit)->head.status_text, "OK");
  ASSERT_EQ((*hit)->head.headers.size(), 2u);
  EXPECT_EQ((*hit)->head.headers[1].second, "\"v1\"");
  EXPECT_EQ((*hit)->body_size, 12u);
  EXPECT_EQ(Body(Key("https://a.test/x")), "hello, cache");
  EXPECT_EQ(TmpFiles(), 0u);
}

TEST_F(CacheStoreTest, KeysAreSeparateByOwnerCacheNameAndUrl) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "default of a").ok());
  ASSERT_TRUE(Put(Key("https://a.test/x", "account:a", "named"), "named of a").ok());
  EXPECT_EQ(Body(Key("https://a.test/x", "account:b")), std::nullopt);
  EXPECT_EQ(Body(Key("https://a.test/x")), "default of a");
  EXPECT_EQ(Body(Key("https://a.test/x", "account:a", "named")), "named of a");
  EXPECT_EQ(Body(Key("https://a.test/y")), std::nullopt);
  ASSERT_TRUE(Put(Key("https://a.test/x", "account:b"), "of b").ok());
  EXPECT_EQ(Body(Key("https://a.test/x", "account:b")), "of b");
  EXPECT_EQ(Body(Key("https://a.test/x")), "default of a");
}

TEST_F(CacheStoreTest, AnExpiredEntryIsAMissAndDeleteSaysFalse) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "soon gone", 10'000).ok());
  now_ += 9'999;
  EXPECT_EQ(Body(Key("https://a.test/x")), "soon gone");
  now_ += 1;
  EXPECT_EQ(Body(Key("https://a.test/x")), std::nullopt);
  auto deleted = store_->Delete(Key("https://a.test/x"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  EXPECT_EQ(*store_->EntryCount(), 0u);
  EXPECT_EQ(*store_->TotalBytes(), 0u);
}

TEST_F(CacheStoreTest, DeleteRemovesTheEntryAndItsBytes) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "bytes").ok());
  auto id = store_->EntryIdForTesting(Key("https://a.test/x"));
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_GT(*store_->OwnerBytes("account:a"), 5u);
  auto deleted = store_->Delete(Key("https://a.test/x"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(fs::exists(store_->BodyPathForTesting(**id)));
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 0u);
  EXPECT_FALSE(*store_->Delete(Key("https://a.test/x")));
}

TEST_F(CacheStoreTest, APutReplacesTheEntryAndItsFile) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "first").ok());
  auto first = *store_->EntryIdForTesting(Key("https://a.test/x"));
  ASSERT_TRUE(Put(Key("https://a.test/x"), "second, longer").ok());
  EXPECT_EQ(Body(Key("https://a.test/x")), "second, longer");
  EXPECT_FALSE(fs::exists(store_->BodyPathForTesting(*first)));
  EXPECT_EQ(*store_->EntryCount(), 1u);
}

TEST_F(CacheStoreTest, TheOwnerCapEvictsTheLeastRecentlyUsedOfThatOwner) {
  CacheLimits limits;
  limits.max_owner_bytes = 3 * (1000 + kCacheEntryOverhead + 200);
  Open(limits);
  std::string body(1000, 'x');
  ASSERT_TRUE(Put(Key("https://a.test/1"), body, 3'600'000).ok());
  now_ += 61'000;
  ASSERT_TRUE(Put(Key("https://a.test/2"), body, 3'600'000).ok());
  now_ += 61'000;
  // Another owner's entry is not evicted for a's sake.
  ASSERT_TRUE(Put(Key("https://b.test/1", "account:b"), body, 3'600'000).ok());
  ASSERT_TRUE(Put(Key("https://a.test/3"), body, 3'600'000).ok());
  now_ += 61'000;
  // A hit makes 1 the most recently used: 2 goes first.
  EXPECT_TRUE(Body(Key("https://a.test/1")).has_value());
  now_ += 61'000;
  ASSERT_TRUE(Put(Key("https://a.test/4"), body, 3'600'000).ok());
  EXPECT_TRUE(Body(Key("https://a.test/1")).has_value());
  EXPECT_FALSE(Body(Key("https://a.test/2")).has_value());
  EXPECT_TRUE(Body(Key("https://a.test/3")).has_value());
  EXPECT_TRUE(Body(Key("https://a.test/4")).has_value());
  EXPECT_TRUE(Body(Key("https://b.test/1", "account:b")).has_value());
  EXPECT_LE(*store_->OwnerBytes("account:a"), limits.max_owner_bytes);
}

TEST_F(CacheStoreTest, TheStoreCapEvictsAcrossOwners) {
  CacheLimits limits;
  limits.max_total_bytes = 2 * (1000 + kCacheEntryOverhead + 200);
  Open(limits);
  std::string body(1000, 'y');
  ASSERT_TRUE(Put(Key("https://a.test/1"), body, 3'600'000).ok());
  now_ += 61'000;
  ASSERT_TRUE(Put(Key("https://b.test/1", "account:b"), body, 3'600'000).ok());
  now_ += 61'000;
  ASSERT_TRUE(Put(Key("https://c.test/1", "account:c"), body, 3'600'000).ok());
  EXPECT_FALSE(Body(Key("https://a.test/1")).has_value());
  EXPECT_TRUE(Body(Key("https://b.test/1", "account:b")).has_value());
  EXPECT_TRUE(Body(Key("https://c.test/1", "account:c")).has_value());
  EXPECT_LE(*store_->TotalBytes(), limits.max_total_bytes);
}

TEST_F(CacheStoreTest, ManySmallEntriesStayUnderTheCap) {
  CacheLimits limits;
  limits.max_owner_bytes = 200 * (kCacheEntryOverhead + 100);
  Open(limits);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(Put(Key("https://a.test/" + std::to_string(i)), "").ok()) << i;
  }
  EXPECT_LE(*store_->OwnerBytes("account:a"), limits.max_owner_bytes);
  uint64_t count = *store_->EntryCount();
  EXPECT_GT(count, 100u);
  EXPECT_LT(count, 250u);
  // The newest are the ones kept.
  EXPECT_TRUE(Body(Key("https://a.test/999")).has_value());
  EXPECT_FALSE(Body(Key("https://a.test/0")).has_value());
}

TEST_F(CacheStoreTest, ABodyOverTheEntryLimitFailsAndLeavesNothing) {
  CacheLimits limits;
  limits.max_entry_bytes = 100;
  Open(limits);
  Status put = Put(Key("https://a.test/big"), std::string(101, 'z'), 60'000, 50);
  EXPECT_EQ(put.code(), ErrorCode::kRangeError);
  EXPECT_EQ(TmpFiles(), 0u);
  EXPECT_EQ(*store_->EntryCount(), 0u);
  EXPECT_TRUE(Put(Key("https://a.test/fits"), std::string(100, 'z'), 60'000, 50).ok());
}

TEST_F(CacheStoreTest, AnEntryLargerThanTheOwnerCapIsRefusedWithoutEvicting) {
  CacheLimits limits;
  limits.max_owner_bytes = 4000;
  Open(limits);
  ASSERT_TRUE(Put(Key("https://a.test/small"), "s").ok());
  EXPECT_EQ(Put(Key("https://a.test/big"), std::string(5000, 'b')).code(), ErrorCode::kRangeError);
  EXPECT_TRUE(Body(Key("https://a.test/small")).has_value());
  EXPECT_EQ(TmpFiles(), 0u);
}

TEST_F(CacheStoreTest, AnAbortedPutLeavesNothing) {
  Open();
  CacheHead head;
  head.expires_ms = now_ + 1000;
  {
    auto writer = store_->BeginPut(Key("https://a.test/x"), head);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("partial").ok());
    EXPECT_EQ(TmpFiles(), 1u);
  }  // destroyed without a commit: an invocation that ended mid-body
  EXPECT_EQ(TmpFiles(), 0u);
  EXPECT_FALSE(Body(Key("https://a.test/x")).has_value());
}

TEST_F(CacheStoreTest, ACorruptRecordIsAMissAndIsDropped) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "body").ok());
  uint64_t id = **store_->EntryIdForTesting(Key("https://a.test/x"));
  ASSERT_TRUE(store_->CorruptRecordForTesting(id, "C1\x01garbage").ok());
  EXPECT_FALSE(Body(Key("https://a.test/x")).has_value());
  EXPECT_FALSE(store_->EntryIdForTesting(Key("https://a.test/x"))->has_value());
  EXPECT_FALSE(fs::exists(store_->BodyPathForTesting(id)));
  // The key works again.
  ASSERT_TRUE(Put(Key("https://a.test/x"), "again").ok());
  EXPECT_EQ(Body(Key("https://a.test/x")), "again");
}

TEST_F(CacheStoreTest, ATruncatedOrMissingBodyIsAMiss) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/short"), "0123456789").ok());
  ASSERT_TRUE(Put(Key("https://a.test/gone"), "0123456789").ok());
  uint64_t short_id = **store_->EntryIdForTesting(Key("https://a.test/short"));
  uint64_t gone_id = **store_->EntryIdForTesting(Key("https://a.test/gone"));
  ASSERT_EQ(::truncate(store_->BodyPathForTesting(short_id).c_str(), 3), 0);
  fs::remove(store_->BodyPathForTesting(gone_id));
  EXPECT_FALSE(Body(Key("https://a.test/short")).has_value());
  EXPECT_FALSE(Body(Key("https://a.test/gone")).has_value());
  EXPECT_EQ(*store_->EntryCount(), 0u);
}

TEST_F(CacheStoreTest, EvictionGetsPastCorruptRecords) {
  CacheLimits limits;
  limits.max_owner_bytes = 2 * (100 + kCacheEntryOverhead + 200);
  Open(limits);
  ASSERT_TRUE(Put(Key("https://a.test/1"), std::string(100, '1')).ok());
  uint64_t id = **store_->EntryIdForTesting(Key("https://a.test/1"));
  ASSERT_TRUE(store_->CorruptRecordForTesting(id, "not a record").ok());
  for (int i = 2; i < 10; ++i) {
    now_ += 61'000;
    ASSERT_TRUE(Put(Key("https://a.test/" + std::to_string(i)), std::string(100, 'x')).ok()) << i;
  }
  EXPECT_TRUE(Body(Key("https://a.test/9")).has_value());
  EXPECT_LE(*store_->EntryCount(), 3u);
}

TEST_F(CacheStoreTest, EntriesSurviveReopeningAndStrayTmpFilesGo) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/x"), "kept").ok());
  store_.reset();
  std::ofstream(fs::path(dir_.path()) / "cache" / "tmp" / "leftover") << "half a body";
  Open();
  EXPECT_EQ(Body(Key("https://a.test/x")), "kept");
  EXPECT_EQ(TmpFiles(), 0u);
}

TEST_F(CacheStoreTest, SweepRemovesExpiredEntries) {
  Open();
  ASSERT_TRUE(Put(Key("https://a.test/short"), "a", 1000).ok());
  ASSERT_TRUE(Put(Key("https://a.test/long"), "b", 100'000).ok());
  now_ += 5000;
  auto swept = store_->SweepExpired(100);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1u);
  EXPECT_EQ(*store_->EntryCount(), 1u);
}

TEST_F(CacheStoreTest, DropOwnerRemovesOnlyThatOwner) {
  Open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Put(Key("https://a.test/" + std::to_string(i)), "a").ok());
    ASSERT_TRUE(Put(Key("https://a.test/" + std::to_string(i), "account:b"), "b").ok());
  }
  auto dropped = store_->DropOwner("account:a");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 5u);
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 0u);
  EXPECT_EQ(Body(Key("https://a.test/3", "account:b")), "b");
  EXPECT_FALSE(Body(Key("https://a.test/3")).has_value());
}

TEST_F(CacheStoreTest, KeysOverTheLimitsAreRefusedOrMissed) {
  Open();
  std::string long_url = "https://a.test/" + std::string(kCacheMaxUrlBytes, 'u');
  EXPECT_FALSE(Put(Key(long_url), "x").ok());
  EXPECT_FALSE(Body(Key(long_url)).has_value());
  EXPECT_FALSE(*store_->Delete(Key(long_url)));
  EXPECT_FALSE(Put(Key("https://a.test/", "account:a", std::string(2000, 'n')), "x").ok());
}

TEST_F(CacheStoreTest, ConcurrentPutsAndMatchesFromSeveralThreads) {
  Open();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string url = "https://a.test/" + std::to_string(i % 10);
        if (!Put(Key(url), std::string(100 + t, 'c')).ok()) ++failures;
        auto hit = store_->Match(Key(url));
        if (!hit.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*store_->EntryCount(), 10u);
}

}  // namespace
}  // namespace edge::bindings
