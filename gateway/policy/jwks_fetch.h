// Where the `jwt` policy's JWKS caches come from: one cache per (table,
// URL), shared by every serving thread of a node and kept across redeploys
// of the same worker, and the fetch that fills them, through the node's
// outbound client (so under its address policy, as a worker's fetch()).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "bindings/fetch/outbound/client.h"
#include "gateway/policy/jwt_jwks.h"

namespace edge::gateway::policy {

// A JWKS fetch: the whole exchange (connect, answer, body) must end within
// this, or the fetch fails (and the cached set, if any, stays).
inline constexpr uint64_t kJwksFetchTimeoutMs = 10'000;

// GETs `url` (http or https) through `client` from the thread that runs
// `loop`, and calls `done` once on that loop with the body of a 200
// answer, or an error naming the URL: another status, an address the
// client's policy refuses, a body over kMaxJwksBytes, no answer within
// `timeout_ms`.
void FetchJwks(bindings::outbound::Client& client, uv_loop_t* loop, const std::string& url,
               uint64_t timeout_ms, std::function<void(StatusOr<std::string> body)> done);

// The JWKS caches of a process. Thread-safe; each cache is made on first
// use and lives as long as a policy table holds it.
class JwksCaches {
 public:
  // `fetch` fills every cache (JwksCache::Options::fetch); `clock` is the
  // caches' (tests pass their own).
  explicit JwksCaches(JwksFetch fetch, JwtClock clock = SystemSeconds)
      : fetch_(std::move(fetch)), clock_(std::move(clock)) {}

  // The cache of `url` for the table named `owner` ("<account>/<worker>
  // <index>", "host-policy <index>"): the one already made when a table
  // of that name and URL is alive, else a new one.
  std::shared_ptr<JwksCache> Get(const std::string& owner, const std::string& url);

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<JwksCache>> caches_;
  JwksFetch fetch_;
  JwtClock clock_;
};

}  // namespace edge::gateway::policy
