#include "bindings/kv/kv_store.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;

class KvStoreTest : public ::testing::Test {
 protected:
  KvStoreTest() {
    auto store = KvStore::Open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (store.ok()) store_ = std::move(store).value();
  }

  std::optional<KvEntry> Get(std::string_view ns, std::string_view key) {
    auto entry = store_->Get(ns, key);
    EXPECT_TRUE(entry.ok()) << entry.status().message();
    return entry.ok() ? std::move(entry).value() : std::nullopt;
  }

  // Every live key of `ns` under `prefix`, read page by page.
  std::vector<std::string> ListAll(std::string_view ns, std::string_view prefix, size_t page,
                                   int* pages = nullptr) {
    std::vector<std::string> names;
    std::string cursor;
    int count = 0;
    for (;;) {
      auto result = store_->List(ns, prefix, page, cursor);
      EXPECT_TRUE(result.ok()) << result.status().message();
      if (!result.ok()) break;
      ++count;
      EXPECT_LE(result->keys.size(), page);
      for (const KvListKey& key : result->keys) names.push_back(key.name);
      if (result->complete) {
        EXPECT_TRUE(result->cursor.empty());
        break;
      }
      EXPECT_FALSE(result->cursor.empty());
      cursor = result->cursor;
      if (count > 10000) break;
    }
    if (pages != nullptr) *pages = count;
    return names;
  }

  base::testing::TempDir dir_{"edge-kv-test"};
  std::shared_ptr<KvStore> store_;
};

TEST_F(KvStoreTest, PutGetOverwriteDelete) {
  ASSERT_TRUE(store_);
  EXPECT_EQ(store_->path(), fs::canonical(fs::path(dir_.path()) / "kv").string());
  EXPECT_FALSE(Get("ns", "missing"));
  ASSERT_TRUE(store_->Put("ns", "k", "v1").ok());
  auto entry = Get("ns", "k");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "v1");
  EXPECT_EQ(entry->metadata, "");
  EXPECT_EQ(entry->expiration, 0u);

  uint64_t later = store_->Now() + 3600;
  ASSERT_TRUE(store_->Put("ns", "k", std::string("bin\0ary", 7), R"({"a":1})", later).ok());
  entry = Get("ns", "k");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, std::string("bin\0ary", 7));
  EXPECT_EQ(entry->metadata, R"({"a":1})");
  EXPECT_EQ(entry->expiration, later);

  ASSERT_TRUE(store_->Put("ns", "empty", "").ok());
  entry = Get("ns", "empty");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "");

  ASSERT_TRUE(store_->Delete("ns", "k").ok());
  EXPECT_FALSE(Get("ns", "k"));
  EXPECT_TRUE(store_->Delete("ns", "k").ok());        // not there: fine
  EXPECT_TRUE(store_->Delete("never", "k").ok());     // unknown namespace: fine
  EXPECT_EQ(ListAll("ns", "", 1000), std::vector<std::string>{"empty"});
}

TEST_F(KvStoreTest, NamespacesAreIsolated) {
  ASSERT_TRUE(store_);
  // Names that prefix one another must not share keys.
  for (std::string ns : {"a", "ab", "b"}) {
    ASSERT_TRUE(store_->Put(ns, "key", "value of " + ns).ok());
    ASSERT_TRUE(store_->Put(ns, "only-" + ns, "x").ok());
  }
  EXPECT_EQ(Get("a", "key")->value, "value of a");
  EXPECT_EQ(Get("ab", "key")->value, "value of ab");
  EXPECT_FALSE(Get("a", "only-ab"));
  EXPECT_EQ(ListAll("ab", "", 1000), (std::vector<std::string>{"key", "only-ab"}));
  EXPECT_EQ(ListAll("b", "only", 1000), (std::vector<std::string>{"only-b"}));
  ASSERT_TRUE(store_->Delete("a", "key").ok());
  EXPECT_TRUE(Get("ab", "key"));
  EXPECT_TRUE(ListAll("c", "", 1000).empty());
  EXPECT_FALSE(Get("c", "key"));
}

TEST_F(KvStoreTest, ListIsInByteOrderAndPagesWithCursors) {
  ASSERT_TRUE(store_);
  std::vector<std::string> keys;
  for (int i = 0; i < 57; ++i) keys.push_back(fmt::format("item:{:03}", i));
  keys.insert(keys.end(), {"item", "item:", "itemz", "a", "zebra", "\xC3\xA9t\xC3\xA9", "Z", "item:\xF0\x9F\x98\x80"});
  std::vector<std::string> shuffled = keys;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
  for (const std::string& key : shuffled) ASSERT_TRUE(store_->Put("ns", key, key).ok());
  ASSERT_TRUE(store_->Put("other", "item:000", "elsewhere").ok());
  std::sort(keys.begin(), keys.end());  // std::string compares bytes as unsigned

  int pages = 0;
  EXPECT_EQ(ListAll("ns", "", 1000, &pages), keys);
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(ListAll("ns", "", 7, &pages), keys);
  EXPECT_EQ(pages, 10);  // 65 keys
  EXPECT_EQ(ListAll("ns", "", 1, &pages), keys);
  EXPECT_EQ(pages, 65);

  std::vector<std::string> with_prefix;
  for (const std::string& key : keys) {
    if (key.starts_with("item:")) with_prefix.push_back(key);
  }
  EXPECT_EQ(ListAll("ns", "item:", 10, &pages), with_prefix);
  EXPECT_EQ(pages, 6);  // 59 keys
  EXPECT_TRUE(ListAll("ns", "nothing", 10).empty());

  // A page that ends exactly at the last key says so at once.
  auto exact = store_->List("ns", "item:05", 7, "");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->keys.size(), 7u);
  EXPECT_TRUE(exact->complete);

  // A cursor is opaque but stable: it resumes after the last key returned.
  auto first = store_->List("ns", "item:", 2, "");
  ASSERT_TRUE(first.ok());
  auto second = store_->List("ns", "item:", 2, first->cursor);
  ASSERT_TRUE(second.ok());
  // "item:" itself comes first, then "item:000".
  EXPECT_EQ(second->keys[0].name, "item:001");
  // Keys deleted or added between pages are simply seen or not.
  ASSERT_TRUE(store_->Delete("ns", "item:003").ok());
  auto third = store_->List("ns", "item:", 2, second->cursor);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->keys[0].name, "item:004");
}

TEST_F(KvStoreTest, ListReportsExpirationAndMetadata) {
  ASSERT_TRUE(store_);
  uint64_t at = store_->Now() + 600;
  ASSERT_TRUE(store_->Put("ns", "a", "1", R"({"tag":"x"})").ok());
  ASSERT_TRUE(store_->Put("ns", "b", "2", "", at).ok());
  auto list = store_->List("ns", "", 10, "");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->keys.size(), 2u);
  EXPECT_EQ(list->keys[0].metadata, R"({"tag":"x"})");
  EXPECT_EQ(list->keys[0].expiration, 0u);
  EXPECT_EQ(list->keys[1].metadata, "");
  EXPECT_EQ(list->keys[1].expiration, at);
}

TEST_F(KvStoreTest, LongKeysShareBucketsAndKeepTheirOrder) {
  ASSERT_TRUE(store_);
  std::string head(506, 'k');
  std::vector<std::string> keys = {head,         head + "a",        head + "ab",  head + "abcdef",
                                   head + "b",   head + "\x7f",     head + "zzzzzz",
                                   head.substr(0, 505) + "l",       head.substr(0, 505) + "j" + "12345"};
  std::vector<std::string> shuffled = keys;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  for (const std::string& key : shuffled) {
    ASSERT_LE(key.size(), kKvMaxKeyBytes);
    ASSERT_TRUE(store_->Put("ns", key, "v" + key.substr(500)).ok()) << key.size();
  }
  for (const std::string& key : keys) {
    auto entry = Get("ns", key);
    ASSERT_TRUE(entry) << key.substr(500);
    EXPECT_EQ(entry->value, "v" + key.substr(500));
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(ListAll("ns", "", 1000), keys);
  EXPECT_EQ(ListAll("ns", "", 2), keys);
  EXPECT_EQ(ListAll("ns", head + "a", 1), (std::vector<std::string>{head + "a", head + "ab", head + "abcdef"}));

  // Overwrite and delete inside a bucket.
  ASSERT_TRUE(store_->Put("ns", head + "ab", "new").ok());
  EXPECT_EQ(Get("ns", head + "ab")->value, "new");
  ASSERT_TRUE(store_->Delete("ns", head + "a").ok());
  EXPECT_FALSE(Get("ns", head + "a"));
  EXPECT_TRUE(Get("ns", head + "ab"));
  for (const std::string& key : keys) ASSERT_TRUE(store_->Delete("ns", key).ok());
  EXPECT_TRUE(ListAll("ns", "", 1000).empty());
}

TEST_F(KvStoreTest, ExpiredEntriesAreInvisibleAtOnceAndSweptInBatches) {
  ASSERT_TRUE(store_);
  uint64_t now = store_->Now();
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(store_->Put("ns", fmt::format("temp{:02}", i), "x", "", now + 60).ok());
  }
  ASSERT_TRUE(store_->Put("ns", "later", "x", "", now + 3600).ok());
  ASSERT_TRUE(store_->Put("ns", "forever", "x").ok());
  // Written with an expiration, then rewritten without: it stays.
  ASSERT_TRUE(store_->Put("ns", "rewritten", "x", "", now + 60).ok());
  ASSERT_TRUE(store_->Put("ns", "rewritten", "kept").ok());
  // A long key in a bucket expires too.
  std::string long_key(510, 'q');
  ASSERT_TRUE(store_->Put("ns", long_key, "x", "", now + 60).ok());

  EXPECT_TRUE(Get("ns", "temp00"));
  EXPECT_EQ(ListAll("ns", "", 1000).size(), 29u);
  auto early = store_->SweepExpired(store_->Now(), 100);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, 0u);

  store_->AdvanceClockForTesting(61);
  EXPECT_FALSE(Get("ns", "temp00"));
  EXPECT_FALSE(Get("ns", long_key));
  auto many = store_->GetMany("ns", {"temp03", "later"});
  ASSERT_TRUE(many.ok());
  EXPECT_FALSE((*many)[0]);
  EXPECT_TRUE((*many)[1]);
  EXPECT_EQ(ListAll("ns", "", 1000), (std::vector<std::string>{"forever", "later", "rewritten"}));
  EXPECT_EQ(ListAll("ns", "", 1), (std::vector<std::string>{"forever", "later", "rewritten"}));

  uint64_t sweep_time = store_->Now();
  std::vector<size_t> batches;
  for (;;) {
    auto swept = store_->SweepExpired(sweep_time, 10);
    ASSERT_TRUE(swept.ok()) << swept.status().message();
    batches.push_back(*swept);
    if (*swept < 10) break;
  }
  EXPECT_EQ(batches, (std::vector<size_t>{10, 10, 6}));
  // Swept for good: turning the clock back does not bring them back.
  store_->AdvanceClockForTesting(-61);
  EXPECT_FALSE(Get("ns", "temp00"));
  EXPECT_FALSE(Get("ns", long_key));
  EXPECT_EQ(Get("ns", "rewritten")->value, "kept");
  EXPECT_EQ(ListAll("ns", "", 1000), (std::vector<std::string>{"forever", "later", "rewritten"}));
  // A key written again after its sweep is an ordinary key.
  ASSERT_TRUE(store_->Put("ns", "temp00", "back").ok());
  EXPECT_EQ(Get("ns", "temp00")->value, "back");
}

TEST_F(KvStoreTest, LargestValueRoundTripsAndLargerIsRefused) {
  ASSERT_TRUE(store_);
  std::string big(kKvMaxValueBytes, '\0');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  ASSERT_TRUE(store_->Put("ns", "big", big).ok());
  auto entry = Get("ns", "big");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value.size(), big.size());
  EXPECT_TRUE(entry->value == big);
  big.push_back('x');
  Status refused = store_->Put("ns", "bigger", big);
  EXPECT_EQ(refused.code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(refused.message(), "Value length of 26214401 exceeds limit of 26214400.");
  ASSERT_TRUE(store_->Delete("ns", "big").ok());
}

TEST_F(KvStoreTest, RefusesWhatWorkersRefuses) {
  ASSERT_TRUE(store_);
  EXPECT_EQ(store_->Put("ns", "", "v").code(), ErrorCode::kTypeError);
  EXPECT_EQ(store_->Put("ns", ".", "v").code(), ErrorCode::kTypeError);
  EXPECT_EQ(store_->Put("ns", "..", "v").code(), ErrorCode::kTypeError);
  EXPECT_TRUE(store_->Put("ns", std::string(512, 'k'), "v").ok());
  Status too_long = store_->Put("ns", std::string(513, 'k'), "v");
  EXPECT_EQ(too_long.message(), "UTF-8 encoded length of 513 exceeds key length limit of 512.");
  EXPECT_FALSE(store_->Get("ns", std::string(513, 'k')).ok());
  EXPECT_TRUE(store_->Put("ns", "m", "v", std::string(1024, ' ')).ok());
  EXPECT_EQ(store_->Put("ns", "m", "v", std::string(1025, ' ')).message(),
            "Metadata length of 1025 exceeds limit of 1024.");
  EXPECT_FALSE(store_->List("ns", "", 0, "").ok());
  EXPECT_FALSE(store_->List("ns", "", 1001, "").ok());
  EXPECT_TRUE(store_->List("ns", "", 1000, "").ok());
  auto bad_cursor = store_->List("ns", "", 10, "not a cursor!");
  ASSERT_FALSE(bad_cursor.ok());
  EXPECT_EQ(bad_cursor.status().message(), "Invalid cursor.");
  EXPECT_FALSE(store_->Put("", "k", "v").ok());
}

TEST_F(KvStoreTest, SurvivesReopenAndSharesOneEnvironmentPerFolder) {
  ASSERT_TRUE(store_);
  ASSERT_TRUE(store_->Put("ns", "kept", "yes", R"("m")", store_->Now() + 3600).ok());
  auto same = KvStore::Open(dir_.path());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->get(), store_.get());
  same = Status(ErrorCode::kInternal, "released");
  store_.reset();  // closes the environment
  auto reopened = KvStore::Open(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  store_ = std::move(reopened).value();
  auto entry = Get("ns", "kept");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "yes");
  EXPECT_EQ(entry->metadata, R"("m")");
  // The namespace ids and the id counter carry on where they were.
  ASSERT_TRUE(store_->Put("ns2", "other", "v").ok());
  ASSERT_TRUE(store_->Put("ns", "new", "v").ok());
  EXPECT_EQ(ListAll("ns", "", 1000), (std::vector<std::string>{"kept", "new"}));
  EXPECT_EQ(ListAll("ns2", "", 1000), (std::vector<std::string>{"other"}));
}

TEST_F(KvStoreTest, ManyThreadsAtOnce) {
  ASSERT_TRUE(store_);
  constexpr int kThreads = 6;
  constexpr int kKeys = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string ns = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kKeys; ++i) {
        std::string key = fmt::format("t{}-{:03}", t, i);
        if (!store_->Put(ns, key, key + "=value").ok()) failures++;
        auto entry = store_->Get(ns, key);
        if (!entry.ok() || !*entry || (*entry)->value != key + "=value") failures++;
        auto list = store_->List(ns, fmt::format("t{}-", t), 1000, "");
        if (!list.ok() || list->keys.size() != static_cast<size_t>(i + 1 - i / 4)) failures++;
        if (i % 4 == 3 && !store_->Delete(ns, key).ok()) failures++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  size_t per_thread = kKeys - kKeys / 4;
  EXPECT_EQ(ListAll("even", "", 1000).size(), per_thread * kThreads / 2);
  EXPECT_EQ(ListAll("odd", "", 37).size(), per_thread * kThreads / 2);
}

TEST_F(KvStoreTest, SweeperRunsOnTheLoop) {
  ASSERT_TRUE(store_);
  uint64_t now = store_->Now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Put("ns", fmt::format("e{}", i), "x", "", now + 60).ok());
  }
  store_->AdvanceClockForTesting(120);
  uv_loop_t loop;
  uv_loop_init(&loop);
  // The sweeper's timer does not hold the loop: keep it busy meanwhile.
  uv_timer_t guard;
  uv_timer_init(&loop, &guard);
  {
    KvSweeper sweeper(&loop, store_, 10);
    sweeper.Start();
    guard.data = &sweeper;
    uv_timer_start(
        &guard,
        [](uv_timer_t* timer) {
          auto* sweeper = static_cast<KvSweeper*>(timer->data);
          if (sweeper->swept() >= 5) uv_timer_stop(timer);
        },
        5, 5);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(sweeper.swept(), 5u);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // closes the sweeper's timer
  EXPECT_EQ(uv_loop_close(&loop), 0);
  EXPECT_TRUE(ListAll("ns", "", 1000).empty());
}

TEST_F(KvStoreTest, CursorsRoundTripAnyKeyBytes) {
  ASSERT_TRUE(store_);
  std::vector<std::string> keys = {"\x01", "a\xFF", std::string(512, '\xE2'), "b"};
  for (const std::string& key : keys) ASSERT_TRUE(store_->Put("ns", key, "v").ok());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(ListAll("ns", "", 1), keys);
}

// Replication: Apply, GetMeta and the write listener.

TEST_F(KvStoreTest, ApplyWritesAndItsMetaTogether) {
  ASSERT_TRUE(store_);
  EXPECT_FALSE(store_->GetMeta("cursor")->has_value());
  KvWrite put{false, "ns", "k", "v1", R"({"m":1})", store_->Now() + 3600};
  ASSERT_TRUE(store_->Apply(put, "cursor", "1").ok());
  auto entry = Get("ns", "k");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "v1");
  EXPECT_EQ(entry->metadata, R"({"m":1})");
  EXPECT_EQ(entry->expiration, put.expiration);
  EXPECT_EQ(store_->GetMeta("cursor")->value(), "1");
  // The same write again is harmless.
  ASSERT_TRUE(store_->Apply(put, "cursor", "1").ok());
  EXPECT_EQ(Get("ns", "k")->value, "v1");
  EXPECT_EQ(ListAll("ns", "", 1000), (std::vector<std::string>{"k"}));

  KvWrite remove{true, "ns", "k", "", "", 0};
  ASSERT_TRUE(store_->Apply(remove, "cursor", "2").ok());
  EXPECT_FALSE(Get("ns", "k"));
  EXPECT_EQ(store_->GetMeta("cursor")->value(), "2");
  ASSERT_TRUE(store_->Apply(remove, "cursor", "3").ok());
  // In a namespace never written to, too.
  ASSERT_TRUE(store_->Apply(KvWrite{true, "fresh", "k", "", "", 0}, "cursor", "4").ok());
  EXPECT_EQ(store_->GetMeta("cursor")->value(), "4");
  // A put into a new namespace makes it, as Put does.
  ASSERT_TRUE(store_->Apply(KvWrite{false, "new-ns", "a", "x", "", 0}, "cursor", "5").ok());
  EXPECT_EQ(Get("new-ns", "a")->value, "x");
  ASSERT_TRUE(store_->Put("new-ns", "b", "y").ok());
  EXPECT_EQ(ListAll("new-ns", "", 1000), (std::vector<std::string>{"a", "b"}));
}

TEST_F(KvStoreTest, ApplyRefusesWhatPutRefusesAndWritesNothing) {
  ASSERT_TRUE(store_);
  ASSERT_TRUE(store_->Apply(KvWrite{false, "ns", "k", "v", "", 0}, "cursor", "1").ok());
  std::string long_key(kKvMaxKeyBytes + 1, 'k');
  EXPECT_FALSE(store_->Apply(KvWrite{false, "ns", long_key, "v", "", 0}, "cursor", "2").ok());
  EXPECT_FALSE(store_->Apply(KvWrite{true, "ns", "", "", "", 0}, "cursor", "2").ok());
  KvWrite big_metadata{false, "ns", "k", "v", std::string(kKvMaxMetadataBytes + 1, 'm'), 0};
  EXPECT_FALSE(store_->Apply(big_metadata, "cursor", "2").ok());
  EXPECT_FALSE(store_->Apply(KvWrite{false, "", "k", "v", "", 0}, "cursor", "2").ok());
  // A bad meta key refuses the write as well.
  EXPECT_FALSE(store_->Apply(KvWrite{false, "ns", "k", "v2", "", 0}, "", "2").ok());
  EXPECT_FALSE(store_->Apply(KvWrite{true, "ns", "k", "", "", 0}, std::string(512, 'c'), "2").ok());
  EXPECT_EQ(store_->GetMeta("cursor")->value(), "1");
  EXPECT_EQ(Get("ns", "k")->value, "v");
}

TEST_F(KvStoreTest, ReplicaMetaIsApartFromTheStoresOwn) {
  ASSERT_TRUE(store_);
  ASSERT_TRUE(store_->Put("ns", "k", "v").ok());
  // The store's own records ("format", counters) are not replica meta...
  EXPECT_FALSE(store_->GetMeta("format")->has_value());
  EXPECT_FALSE(store_->GetMeta("next_id")->has_value());
  // ... and replica meta cannot touch them.
  ASSERT_TRUE(store_->Apply(KvWrite{false, "ns", "k2", "v", "", 0}, "next_id", "junk").ok());
  ASSERT_TRUE(store_->Put("ns", "k3", "v").ok());
  EXPECT_EQ(ListAll("ns", "", 1000), (std::vector<std::string>{"k", "k2", "k3"}));
  EXPECT_EQ(store_->GetMeta("next_id")->value(), "junk");
  EXPECT_FALSE(store_->GetMeta("")->has_value());

  store_.reset();
  auto reopened = KvStore::Open(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  store_ = std::move(reopened).value();
  EXPECT_EQ(store_->GetMeta("next_id")->value(), "junk");
  EXPECT_EQ(Get("ns", "k2")->value, "v");
}

TEST_F(KvStoreTest, WriteHookHearsPutsAndDeletesNotApplies) {
  ASSERT_TRUE(store_);
  std::mutex mutex;
  std::vector<KvWrite> heard;
  store_->SetWriteHook([&](const KvWrite& write) {
    std::lock_guard guard(mutex);
    heard.push_back(write);
    return Status::Ok();
  });
  ASSERT_TRUE(store_->Put("ns", "a", "1", R"({"x":true})", store_->Now() + 600).ok());
  ASSERT_TRUE(store_->Delete("ns", "a").ok());
  ASSERT_TRUE(store_->Delete("ns", "never-there").ok());
  ASSERT_TRUE(store_->Delete("unknown-ns", "k").ok());
  ASSERT_TRUE(store_->Apply(KvWrite{false, "ns", "b", "2", "", 0}, "cursor", "1").ok());
  ASSERT_TRUE(store_->Apply(KvWrite{true, "ns", "b", "", "", 0}, "cursor", "2").ok());
  EXPECT_FALSE(store_->Put("ns", "", "refused").ok());
  EXPECT_FALSE(store_->Delete("ns", "..").ok());

  ASSERT_EQ(heard.size(), 4u);
  EXPECT_FALSE(heard[0].is_delete);
  EXPECT_EQ(heard[0].ns, "ns");
  EXPECT_EQ(heard[0].key, "a");
  EXPECT_EQ(heard[0].value, "1");
  EXPECT_EQ(heard[0].metadata, R"({"x":true})");
  EXPECT_NE(heard[0].expiration, 0u);
  EXPECT_TRUE(heard[1].is_delete);
  EXPECT_EQ(heard[1].key, "a");
  EXPECT_TRUE(heard[2].is_delete);
  EXPECT_EQ(heard[2].key, "never-there");
  EXPECT_EQ(heard[3].ns, "unknown-ns");

  store_->SetWriteHook(nullptr);
  ASSERT_TRUE(store_->Put("ns", "c", "3").ok());
  EXPECT_EQ(heard.size(), 4u);
}

TEST_F(KvStoreTest, WriteHookErrorAbortsTheWrite) {
  ASSERT_TRUE(store_);
  ASSERT_TRUE(store_->Put("ns", "kept", "old").ok());
  store_->SetWriteHook(
      [&](const KvWrite&) { return Status(ErrorCode::kRangeError, "the queue is full"); });
  Status put = store_->Put("ns", "kept", "new");
  EXPECT_EQ(put.code(), ErrorCode::kRangeError);
  EXPECT_EQ(put.message(), "the queue is full");
  EXPECT_EQ(store_->Put("ns", "fresh", "v").code(), ErrorCode::kRangeError);
  EXPECT_EQ(store_->Delete("ns", "kept").code(), ErrorCode::kRangeError);
  store_->SetWriteHook(nullptr);
  EXPECT_EQ(Get("ns", "kept")->value, "old");
  EXPECT_FALSE(Get("ns", "fresh").has_value());
}

TEST_F(KvStoreTest, WriteHookOnManyThreads) {
  ASSERT_TRUE(store_);
  std::atomic<int> heard{0};
  store_->SetWriteHook([&](const KvWrite&) {
    heard++;
    return Status::Ok();
  });
  constexpr int kThreads = 4;
  constexpr int kWrites = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        std::string key = fmt::format("t{}-{}", t, i);
        EXPECT_TRUE(store_->Put("ns", key, "v").ok());
        if (i % 2 == 1) {
          EXPECT_TRUE(store_->Delete("ns", key).ok());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(heard.load(), kThreads * (kWrites + kWrites / 2));

  // Swapping the hook while writes run is safe; each write reaches at
  // most one hook.
  std::atomic<int> first{0}, second{0};
  std::atomic<bool> done{false};
  store_->SetWriteHook([&](const KvWrite&) {
    first++;
    return Status::Ok();
  });
  std::thread swapper([&] {
    for (int i = 0; !done.load(); ++i) {
      if (i % 2 == 0) {
        store_->SetWriteHook([&](const KvWrite&) {
          first++;
          return Status::Ok();
        });
      } else {
        store_->SetWriteHook([&](const KvWrite&) {
          second++;
          return Status::Ok();
        });
      }
    }
  });
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store_->Put("ns", fmt::format("s{}", i), "v").ok());
  done = true;
  swapper.join();
  EXPECT_EQ(first.load() + second.load(), 100);
  store_->SetWriteHook(nullptr);
}

}  // namespace
}  // namespace edge::bindings
