// TokenBuckets: the token bucket arithmetic on a fixed clock, spaces kept
// apart, a flood of keys that cannot grow the table, and the count under
// several threads taking from one bucket at once.
#include "bindings/ratelimit/token_buckets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace edge::bindings {
namespace {

TEST(TokenBucketsTest, AllowsTheLimitThenRefusesUntilATokenComesBack) {
  TokenBuckets buckets(1024);
  const uint64_t t0 = 5'000'000;
  for (uint32_t i = 0; i < 10; ++i) {
    RateDecision decision = buckets.Take("s", "k", 10, 60'000, t0);
    EXPECT_TRUE(decision.allowed) << i;
    EXPECT_EQ(decision.remaining, 9 - i);
    EXPECT_EQ(decision.limit, 10u);
  }
  RateDecision refused = buckets.Take("s", "k", 10, 60'000, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0u);
  // One token every 6 s; the bucket is full 60 s after the first take.
  EXPECT_EQ(refused.retry_after_ms, 6000u);
  EXPECT_EQ(refused.reset_ms, 60'000u);
  EXPECT_FALSE(buckets.Take("s", "k", 10, 60'000, t0 + 5'999'000).allowed);
  EXPECT_TRUE(buckets.Take("s", "k", 10, 60'000, t0 + 6'000'000).allowed);
  EXPECT_FALSE(buckets.Take("s", "k", 10, 60'000, t0 + 6'000'000).allowed);
  // Quiet for a whole period: full again.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(buckets.Take("s", "k", 10, 60'000, t0 + 70'000'000).allowed);
  EXPECT_FALSE(buckets.Take("s", "k", 10, 60'000, t0 + 70'000'000).allowed);
}

TEST(TokenBucketsTest, KeysAndSpacesHaveTheirOwnBuckets) {
  TokenBuckets buckets(1024);
  EXPECT_TRUE(buckets.Take("acct-a", "k", 1, 10'000, 1000).allowed);
  EXPECT_FALSE(buckets.Take("acct-a", "k", 1, 10'000, 1000).allowed);
  EXPECT_TRUE(buckets.Take("acct-b", "k", 1, 10'000, 1000).allowed);
  EXPECT_TRUE(buckets.Take("acct-a", "other", 1, 10'000, 1000).allowed);
  // The space's length is hashed: ("ab", "c") is not ("a", "bc").
  EXPECT_TRUE(buckets.Take("ab", "c", 1, 10'000, 1000).allowed);
  EXPECT_TRUE(buckets.Take("a", "bc", 1, 10'000, 1000).allowed);
}

TEST(TokenBucketsTest, OutOfRangeArgumentsAreClamped) {
  TokenBuckets buckets(64);
  RateDecision decision = buckets.Take("s", "k", 0, 0, 1000);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.limit, 1u);
  decision = buckets.Take("s", "huge", UINT32_MAX, UINT64_MAX, 1000);
  EXPECT_EQ(decision.limit, TokenBuckets::kMaxLimit);
}

TEST(TokenBucketsTest, AKeyFloodEvictsInsteadOfGrowing) {
  TokenBuckets buckets(256);
  ASSERT_EQ(buckets.slots(), 256u);
  // A quiet key first, then a flood of new keys.
  EXPECT_TRUE(buckets.Take("s", "victim", 1, 60'000, 1000).allowed);
  for (int i = 0; i < 100'000; ++i) {
    buckets.Take("s", "flood-" + std::to_string(i), 5, 60'000, 2000 + i);
  }
  EXPECT_LE(buckets.Used(), buckets.slots());
  EXPECT_GT(buckets.evictions(), 90'000u);
  EXPECT_EQ(buckets.slots(), 256u);
}

TEST(TokenBucketsTest, ThreadsShareOneBucketWithoutLosingCounts) {
  TokenBuckets buckets(4096);
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        // One instant, so no token comes back: exactly the limit passes.
        if (buckets.Take("s", "shared", 7000, 86'400'000, 1'000'000).allowed) ++allowed;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 7000);
}

TEST(TokenBucketsTest, ThreadsFloodingKeysStayWithinTheTable) {
  TokenBuckets buckets(512);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&buckets, t] {
      for (int i = 0; i < 20'000; ++i) {
        buckets.Take("s", std::to_string(t) + ":" + std::to_string(i), 3, 10'000, buckets.NowUs());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(buckets.Used(), 512u);
}

}  // namespace
}  // namespace edge::bindings
