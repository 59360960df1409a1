#include "gateway/policy/jwks_fetch.h"

#include <fmt/core.h>

#include "base/http_client/http_client.h"
#include "base/uv_handle.h"

namespace edge::gateway::policy {
namespace {

struct JwksFetchState;

// The fetch's timeout timer; it owns the fetch's state, so the call (and
// the callbacks it holds) are freed from the timer's close callback, never
// from inside one of the call's own callbacks.
struct JwksFetchTimer {
  uv_timer_t timer;  // first: CloseAndDelete frees the whole struct
  std::shared_ptr<JwksFetchState> state;
};

// One fetch in flight: the call, its timer, and `done` until it has run.
struct JwksFetchState {
  std::string url;
  std::shared_ptr<bindings::outbound::Call> call;
  JwksFetchTimer* timer = nullptr;
  std::string body;
  std::function<void(StatusOr<std::string>)> done;

  // Runs `done` once; the call is cancelled if still open and the timer
  // closed (which frees this state once libuv is done with it).
  void Finish(StatusOr<std::string> result) {
    if (!done) return;
    std::function<void(StatusOr<std::string>)> callback = std::move(done);
    done = nullptr;
    if (call && !call->finished()) call->Cancel();
    if (timer != nullptr) {
      JwksFetchTimer* closing = timer;
      timer = nullptr;
      uv_timer_stop(&closing->timer);
      base::CloseAndDelete(closing);
    }
    callback(std::move(result));
  }

  Status Fail(std::string_view why) const {
    return Status(ErrorCode::kIo, fmt::format("fetching {}: {}", url, why));
  }

  void ReadBody() {
    while (done && call) {
      bindings::outbound::Call::ReadResult read = call->Read();
      switch (read.kind) {
        case bindings::outbound::Call::ReadResult::kData:
          if (body.size() + read.data.size() > kMaxJwksBytes) {
            Finish(Fail(fmt::format("the body is larger than {} bytes", kMaxJwksBytes)));
            return;
          }
          body += read.data;
          break;
        case bindings::outbound::Call::ReadResult::kEnd:
          Finish(std::move(body));
          return;
        case bindings::outbound::Call::ReadResult::kError:
          Finish(Fail(read.error.message()));
          return;
        case bindings::outbound::Call::ReadResult::kPending:
          return;
      }
    }
  }
};

}  // namespace

void FetchJwks(bindings::outbound::Client& client, uv_loop_t* loop, const std::string& url,
               uint64_t timeout_ms, std::function<void(StatusOr<std::string> body)> done) {
  auto state = std::make_shared<JwksFetchState>();
  state->url = url;
  state->done = std::move(done);
  StatusOr<base::HttpUrl> parsed = base::ParseHttpUrl(url);
  if (!parsed.ok()) {
    state->Finish(state->Fail(parsed.status().message()));
    return;
  }
  bindings::outbound::RequestHead head;
  head.method = "GET";
  head.target.tls = parsed->tls;
  head.target.host = parsed->host.find(':') != std::string::npos ? "[" + parsed->host + "]" : parsed->host;
  head.target.port = parsed->port;
  head.target.path = parsed->base_path.empty() ? "/" : parsed->base_path;
  head.headers = {{"Accept", "application/jwk-set+json, application/json"}};
  auto call = client.Start(loop, std::move(head), bindings::outbound::BodyKind::kNone);
  if (!call.ok()) {
    state->Finish(state->Fail(call.status().message()));
    return;
  }
  state->call = std::move(call).value();
  state->timer = new JwksFetchTimer;
  state->timer->state = state;
  uv_timer_init(loop, &state->timer->timer);
  uv_timer_start(
      &state->timer->timer,
      [](uv_timer_t* timer) {
        std::shared_ptr<JwksFetchState> fetch = reinterpret_cast<JwksFetchTimer*>(timer)->state;
        fetch->Finish(fetch->Fail("no answer in time"));
      },
      timeout_ms, 0);
  std::weak_ptr<JwksFetchState> weak = state;
  state->call->on_response = [weak](StatusOr<bindings::outbound::ResponseHead> head) {
    std::shared_ptr<JwksFetchState> fetch = weak.lock();
    if (!fetch) return;
    if (!head.ok()) {
      fetch->Finish(fetch->Fail(head.status().message()));
    } else if (head->status != 200) {
      fetch->Finish(fetch->Fail(fmt::format("the answer was {}, not 200", head->status)));
    } else {
      fetch->ReadBody();
    }
  };
  state->call->on_readable = [weak] {
    if (std::shared_ptr<JwksFetchState> fetch = weak.lock()) fetch->ReadBody();
  };
}

std::shared_ptr<JwksCache> JwksCaches::Get(const std::string& owner, const std::string& url) {
  std::lock_guard lock(mutex_);
  std::erase_if(caches_, [](const auto& entry) { return entry.second.expired(); });
  std::string key = owner + '\n' + url;
  if (std::shared_ptr<JwksCache> cache = caches_[key].lock()) return cache;
  std::shared_ptr<JwksCache> cache = JwksCache::Create({.url = url, .fetch = fetch_, .clock = clock_});
  caches_[key] = cache;
  return cache;
}

}  // namespace edge::gateway::policy
