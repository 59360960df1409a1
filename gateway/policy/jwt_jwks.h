// Keys from a JWKS URL for the gateway's `jwt` policy: fetched through a
// function the caller gives (the node passes its outbound client, under its
// address policy), cached, and fetched again when a token names a kid the
// cached set lacks, at most once a minute, or when the set is older than an
// hour (the stale set keeps answering while the new one comes).
//
// Use:
//   auto cache = JwksCache::Create({.url = policy_url, .fetch = fetch});
//   VerifyJwtWithJwks(token, policy, cache, [](JwtResult result) { ... });
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/policy/jwt.h"

namespace edge::gateway {

// Fetches `url` and calls `done` once with the response body (a 2xx; the
// fetcher turns anything else, and a timeout, into an error Status). It
// may call `done` before it returns, or later from any thread; it must
// call it exactly once, and should stop reading after kMaxJwksBytes + 1.
using JwksFetch = std::function<void(const std::string& url,
                                     std::function<void(StatusOr<std::string> body)> done)>;

class JwksCache : public std::enable_shared_from_this<JwksCache> {
 public:
  struct Options {
    std::string url;
    JwksFetch fetch;
    JwtClock clock = SystemSeconds;
    // No fetch starts sooner than this after the previous one, whatever
    // the tokens ask (an unknown kid from a flood of forged tokens costs
    // one fetch a minute at most).
    int64_t min_refresh_interval_s = 60;
    // A set older than this is fetched again on the next use, and served
    // meanwhile.
    int64_t max_age_s = 3600;
    // Callers waiting for a fetch in progress; more are answered at once
    // with what the cache has.
    size_t max_waiters = 4096;
  };

  static std::shared_ptr<JwksCache> Create(Options options);

  // `keys` is null when no set has been fetched yet (`error` then says why);
  // else the newest set, which may still lack the kid asked for.
  using KeysCallback = std::function<void(std::shared_ptr<const JwtKeySet> keys, Status error)>;

  // The keys to verify a token of `alg` naming `kid` ("" for none): at once
  // when the cached set has such a key (or may not be fetched again yet),
  // else after a fetch (one fetch serves every caller waiting for it).
  // `done` runs on the calling thread when called at once, else on the
  // thread that completes the fetch; never under the cache's lock.
  void Keys(const std::string& kid, JwtAlg alg, KeysCallback done);

  // The cached set (null before the first successful fetch).
  std::shared_ptr<const JwtKeySet> Current() const;

  struct Stats {
    uint64_t fetches = 0;   // started
    uint64_t failures = 0;  // fetches that failed or did not parse (the old set stayed)
    std::string last_error;
  };
  Stats GetStats() const;

  const std::string& url() const { return options_.url; }

 private:
  explicit JwksCache(Options options) : options_(std::move(options)) {}
  bool HasKey(const std::string& kid, JwtAlg alg) const;  // under mutex_
  void Fetched(StatusOr<std::string> body);

  const Options options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const JwtKeySet> keys_;
  int64_t fetched_at_ = 0;         // when keys_ arrived
  int64_t last_fetch_started_ = 0;
  bool ever_fetched_ = false;
  bool fetching_ = false;
  std::deque<KeysCallback> waiters_;
  Stats stats_;
};

// Verifies `token` against `policy` with keys from `cache`: the token's
// shape and algorithm first (no fetch for a malformed token or an algorithm
// the policy refuses), then the keys for its kid, then signature and
// claims. `done` runs once, at once or when a fetch ends (see
// JwksCache::Keys). A cache without keys after its fetch gives
// kKeysUnavailable.
void VerifyJwtWithJwks(std::string_view token, std::shared_ptr<const JwtPolicy> policy,
                       const std::shared_ptr<JwksCache>& cache,
                       std::function<void(JwtResult)> done);

}  // namespace edge::gateway
