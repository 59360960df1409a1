// Token buckets shared by every serving thread of a process: the gateway's
// `rate_limit` policy (gateway/policy) and the Workers Rate Limiting
// binding (`env.LIMITER.limit({ key })`) take from the same table.
//
// Each bucket is one GCRA cell (the generic cell rate algorithm, which
// behaves exactly as a token bucket holding `limit` tokens refilled at
// `limit` per `period`): a theoretical arrival time, moved by a
// compare-and-swap. Nothing on the request path takes a lock.
//
// The table has a fixed number of slots, split into shards; a key is
// hashed with a per-process SipHash key (so a client cannot aim keys at one
// slot) and lives in one of a few neighbouring slots of its shard. When
// they are all taken, the slot whose bucket is fullest (the key that has
// been quiet longest) is reused: a flood of new keys evicts old keys
// instead of growing memory, and an evicted key starts again with a full
// bucket.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace edge::bindings {

// What one Take decided.
struct RateDecision {
  bool allowed = false;
  uint32_t limit = 0;
  // Requests still allowed right now after this one (0 when refused).
  uint32_t remaining = 0;
  // Milliseconds until the bucket is full again.
  uint64_t reset_ms = 0;
  // When refused: milliseconds until one request would be allowed.
  uint64_t retry_after_ms = 0;
};

class TokenBuckets {
 public:
  // The default size: 2^18 slots of 16 bytes (4 MiB).
  static constexpr size_t kDefaultSlots = size_t{1} << 18;
  // A key lives in one of this many neighbouring slots.
  static constexpr size_t kProbe = 8;
  // The most requests one bucket may allow per period, and the longest period.
  static constexpr uint32_t kMaxLimit = 1'000'000;
  static constexpr uint64_t kMaxPeriodMs = 86'400'000;

  // `slots` is rounded up to a power of two, at least 64.
  explicit TokenBuckets(size_t slots = kDefaultSlots);
  ~TokenBuckets();
  TokenBuckets(const TokenBuckets&) = delete;
  TokenBuckets& operator=(const TokenBuckets&) = delete;

  // Takes one token from the bucket of `key` in `space` (a name that keeps
  // different owners apart: two spaces never share a bucket), allowing
  // `limit` requests per `period_ms` (1..kMaxLimit, 1..kMaxPeriodMs; out of
  // range values are clamped). `now_us` is NowUs() (tests pass their own).
  RateDecision Take(std::string_view space, std::string_view key, uint32_t limit,
                    uint64_t period_ms, uint64_t now_us);
  RateDecision Take(std::string_view space, std::string_view key, uint32_t limit,
                    uint64_t period_ms) {
    return Take(space, key, limit, period_ms, NowUs());
  }

  // Microseconds on a monotonic clock since the table was made.
  uint64_t NowUs() const;
  size_t slots() const { return slot_count_; }
  // Slots holding a key now (for tests and gauges; a racy count).
  size_t Used() const;
  // Times a key's slot was taken over by another key.
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Slot;
  uint64_t Hash(std::string_view space, std::string_view key) const;

  Slot* slots_;  // slot_count_ of them, mapped (token_buckets.cc)
  size_t slot_count_;
  uint64_t sip_k0_, sip_k1_;
  uint64_t epoch_ns_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace edge::bindings
