#include "bindings/ratelimit/token_buckets.h"

#include <openssl/rand.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <string>

namespace edge::bindings {
namespace {

// A bucket's state word: a generation (bumped when the slot changes hands,
// so an update computed for the slot's previous key fails its
// compare-and-swap) and the theoretical arrival time in microseconds.
constexpr int kTatBits = 48;
constexpr uint64_t kTatMask = (uint64_t{1} << kTatBits) - 1;

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

// SipHash-2-4 (Aumasson and Bernstein), keyed per process.
uint64_t SipHash24(uint64_t k0, uint64_t k1, const unsigned char* in, size_t len) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  };
  size_t whole = len - len % 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m;
    std::memcpy(&m, in + i, 8);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(len) << 56;
  for (size_t i = 0; i < len % 8; ++i) last |= static_cast<uint64_t>(in[whole + i]) << (8 * i);
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t SteadyNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

struct TokenBuckets::Slot {
  std::atomic<uint64_t> tag{0};    // the key's hash (never 0); 0: free
  std::atomic<uint64_t> state{0};  // generation << 48 | theoretical arrival time
};
// The table is an anonymous mapping, which the kernel hands out zeroed and
// untouched: all-zero bytes are a free slot (each atomic is its integer,
// lock-free), so the table is not written at start. Constructing it
// wrote its 4 MiB, about a tenth of the CPU `edge dev` takes to start, and
// kept them resident in every process, rate limits used or not; now a page
// is only ever made for the slots keys hash to.
static_assert(std::atomic<uint64_t>::is_always_lock_free && sizeof(std::atomic<uint64_t>) == 8);

TokenBuckets::TokenBuckets(size_t slots) {
  size_t count = 64;
  while (count < slots && count < (size_t{1} << 30)) count <<= 1;
  slot_count_ = count;
  void* table = mmap(nullptr, count * sizeof(Slot), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (table == MAP_FAILED) throw std::bad_alloc();
  slots_ = static_cast<Slot*>(table);
  unsigned char seed[16];
  if (RAND_bytes(seed, sizeof(seed)) != 1) {
    // Without the CSPRNG the key still differs per process and start.
    uint64_t fallback = SteadyNs() ^ reinterpret_cast<uintptr_t>(this);
    std::memcpy(seed, &fallback, 8);
    fallback = Rotl(fallback, 29) * 0x9e3779b97f4a7c15ULL;
    std::memcpy(seed + 8, &fallback, 8);
  }
  std::memcpy(&sip_k0_, seed, 8);
  std::memcpy(&sip_k1_, seed + 8, 8);
  epoch_ns_ = SteadyNs();
}

TokenBuckets::~TokenBuckets() { munmap(slots_, slot_count_ * sizeof(Slot)); }

uint64_t TokenBuckets::NowUs() const { return (SteadyNs() - epoch_ns_) / 1000; }

uint64_t TokenBuckets::Hash(std::string_view space, std::string_view key) const {
  // The space's length goes first, so ("ab", "c") and ("a", "bc") differ.
  thread_local std::string buffer;
  buffer.clear();
  uint64_t length = space.size();
  buffer.append(reinterpret_cast<const char*>(&length), sizeof(length));
  buffer.append(space);
  buffer.append(key);
  uint64_t hash = SipHash24(sip_k0_, sip_k1_, reinterpret_cast<const unsigned char*>(buffer.data()),
                            buffer.size());
  if (buffer.capacity() > 4096) std::string().swap(buffer);
  return hash == 0 ? 1 : hash;
}

size_t TokenBuckets::Used() const {
  size_t used = 0;
  for (size_t i = 0; i < slot_count_; ++i) used += slots_[i].tag.load(std::memory_order_relaxed) != 0;
  return used;
}

RateDecision TokenBuckets::Take(std::string_view space, std::string_view key, uint32_t limit,
                                uint64_t period_ms, uint64_t now_us) {
  limit = std::clamp<uint32_t>(limit, 1, kMaxLimit);
  period_ms = std::clamp<uint64_t>(period_ms, 1, kMaxPeriodMs);
  const uint64_t period_us = period_ms * 1000;
  // The time one token takes to come back.
  const uint64_t interval_us = std::max<uint64_t>(1, period_us / limit);
  now_us &= kTatMask;
  const uint64_t tag = Hash(space, key);
  Slot* window = &slots_[(tag >> 7) & (slot_count_ - 1) & ~(kProbe - 1)];
  RateDecision decision;
  decision.limit = limit;
  for (;;) {
    Slot* slot = nullptr;
    for (size_t i = 0; i < kProbe && slot == nullptr; ++i) {
      if (window[i].tag.load(std::memory_order_acquire) == tag) slot = &window[i];
    }
    if (slot == nullptr) {
      // A free slot, else the one whose bucket refilled the most (its key
      // was quiet longest; a full bucket loses nothing by going).
      Slot* victim = nullptr;
      uint64_t oldest = UINT64_MAX;
      for (size_t i = 0; i < kProbe; ++i) {
        if (window[i].tag.load(std::memory_order_acquire) == 0) {
          victim = &window[i];
          break;
        }
        uint64_t tat = window[i].state.load(std::memory_order_relaxed) & kTatMask;
        if (tat < oldest) {
          oldest = tat;
          victim = &window[i];
        }
      }
      uint64_t old_tag = victim->tag.load(std::memory_order_acquire);
      if (old_tag == tag) continue;
      if (!victim->tag.compare_exchange_strong(old_tag, tag, std::memory_order_acq_rel)) continue;
      if (old_tag != 0) evictions_.fetch_add(1, std::memory_order_relaxed);
      // A new key starts with a full bucket, in a new generation.
      uint64_t state = victim->state.load(std::memory_order_relaxed);
      while (!victim->state.compare_exchange_weak(state, ((state >> kTatBits) + 1) << kTatBits,
                                                  std::memory_order_acq_rel)) {
      }
      slot = victim;
    }
    uint64_t state = slot->state.load(std::memory_order_acquire);
    if (slot->tag.load(std::memory_order_acquire) != tag) continue;  // taken over meanwhile
    uint64_t tat = state & kTatMask;
    uint64_t start = std::max(tat, now_us);
    uint64_t next = start + interval_us;
    if (next - now_us > period_us) {
      decision.allowed = false;
      decision.remaining = 0;
      decision.retry_after_ms = (next - period_us - now_us + 999) / 1000;
      decision.reset_ms = (start - now_us + 999) / 1000;
      return decision;
    }
    uint64_t updated = (state & ~kTatMask) | (next & kTatMask);
    if (!slot->state.compare_exchange_weak(state, updated, std::memory_order_acq_rel)) continue;
    decision.allowed = true;
    decision.remaining = static_cast<uint32_t>((period_us - (next - now_us)) / interval_us);
    decision.reset_ms = (next - now_us + 999) / 1000;
    return decision;
  }
}

}  // namespace edge::bindings
