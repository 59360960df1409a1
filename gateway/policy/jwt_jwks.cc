#include "gateway/policy/jwt_jwks.h"

#include <fmt/core.h>

#include <vector>

namespace edge::gateway {

std::shared_ptr<JwksCache> JwksCache::Create(Options options) {
  return std::shared_ptr<JwksCache>(new JwksCache(std::move(options)));
}

bool JwksCache::HasKey(const std::string& kid, JwtAlg alg) const {
  if (!keys_) return false;
  for (const JwtKey& key : keys_->keys) {
    if (key.alg == alg && (kid.empty() || key.kid == kid)) return true;
  }
  return false;
}

void JwksCache::Keys(const std::string& kid, JwtAlg alg, KeysCallback done) {
  std::shared_ptr<const JwtKeySet> keys;
  Status error;
  bool start = false;
  bool answer_now = true;
  {
    std::lock_guard lock(mutex_);
    int64_t now = options_.clock();
    bool may_fetch = !fetching_ && (!ever_fetched_ ||
                                    now - last_fetch_started_ >= options_.min_refresh_interval_s);
    bool known = HasKey(kid, alg);
    bool stale = keys_ && now - fetched_at_ >= options_.max_age_s;
    if (known || !(may_fetch || fetching_)) {
      // Known (fetched again behind the caller's back when stale), or not
      // to be fetched again yet: answer with what there is.
      start = known && stale && may_fetch;
      keys = keys_;
      if (!keys) {
        error = Status(ErrorCode::kIo, stats_.last_error.empty() ? "no keys fetched yet"
                                                                 : stats_.last_error);
      }
    } else if (waiters_.size() >= options_.max_waiters) {
      keys = keys_;
      if (!keys) error = Status(ErrorCode::kIo, "the JWKS is being fetched");
    } else {
      waiters_.push_back(std::move(done));
      answer_now = false;
      start = may_fetch;
    }
    if (start) {
      fetching_ = true;
      ever_fetched_ = true;
      last_fetch_started_ = now;
      ++stats_.fetches;
    }
  }
  if (answer_now) done(std::move(keys), std::move(error));
  if (start) {
    options_.fetch(options_.url, [self = shared_from_this()](StatusOr<std::string> body) {
      self->Fetched(std::move(body));
    });
  }
}

void JwksCache::Fetched(StatusOr<std::string> body) {
  std::deque<KeysCallback> waiters;
  std::shared_ptr<const JwtKeySet> keys;
  Status error;
  {
    std::lock_guard lock(mutex_);
    fetching_ = false;
    StatusOr<JwtKeySet> parsed =
        body.ok() ? ParseJwks(*body) : StatusOr<JwtKeySet>(body.status());
    if (parsed.ok()) {
      keys_ = std::make_shared<const JwtKeySet>(std::move(parsed).value());
      fetched_at_ = options_.clock();
      stats_.last_error.clear();
    } else {
      ++stats_.failures;
      stats_.last_error =
          fmt::format("the JWKS at {} could not be used: {}", options_.url, parsed.status().message());
      if (!keys_) error = Status(ErrorCode::kIo, stats_.last_error);
    }
    keys = keys_;
    waiters.swap(waiters_);
  }
  for (KeysCallback& waiter : waiters) waiter(keys, error);
}

std::shared_ptr<const JwtKeySet> JwksCache::Current() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

JwksCache::Stats JwksCache::GetStats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void VerifyJwtWithJwks(std::string_view token, std::shared_ptr<const JwtPolicy> policy,
                       const std::shared_ptr<JwksCache>& cache,
                       std::function<void(JwtResult)> done) {
  auto parsed = std::make_shared<ParsedJwt>();
  JwtResult result;
  if (!ParseJwt(token, *policy, *parsed, result)) {
    done(std::move(result));
    return;
  }
  std::string kid = parsed->kid;
  JwtAlg alg = parsed->alg;
  cache->Keys(kid, alg,
              [parsed, policy = std::move(policy), done = std::move(done)](
                  std::shared_ptr<const JwtKeySet> keys, Status error) {
                if (!keys) {
                  JwtResult refused;
                  refused.failure = JwtFailure::kKeysUnavailable;
                  refused.reason = "the signing keys are unavailable: " + error.message();
                  for (char& c : refused.reason) {
                    if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) c = '\'';
                  }
                  done(std::move(refused));
                  return;
                }
                done(VerifyParsedJwt(*parsed, *policy, *keys));
              });
}

}  // namespace edge::gateway
