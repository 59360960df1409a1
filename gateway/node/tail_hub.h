// Live logs for `edge tail`: requests (with their console output) as they
// end, streamed as NDJSON to subscribers. Events are published by the
// serving threads; each subscriber lives on another loop (the admin
// listener's) and gets its lines there, through a uv_async_t.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/node/invocation_record.h"
#include "base/status.h"

namespace edge::gateway {

// Which events a subscriber wants. Every condition set must hold.
struct TailFilter {
  std::string worker;  // "" = every worker
  // true: only errors (InvocationRecord::error()); false: only successes.
  std::optional<bool> errors_only_or_ok;
  std::string method;  // "" = any; compared without regard to case
  // "" = any; else a substring of the URL or of one console message (case matters).
  std::string search;
  double sampling = 1.0;  // in (0, 1]: the share of matching events sent

  // Every condition but sampling, which is a coin toss per event.
  bool Matches(const InvocationRecord& record) const;
};

// `query_string` (with or without its "?"): status=ok|error, method=GET,
// search=abc, sampling=0.5. Values are percent-decoded ("+" is a space);
// unknown parameters are ignored, a repeated one takes its last value. A bad
// value (or bad percent-encoding) is InvalidInput naming the parameter.
StatusOr<TailFilter> ParseTailFilter(std::string worker, std::string_view query_string);

// The event line for `record`, ending in "\n":
// {"type":"request","time":"2026-11-27T06:51:04.123Z","request_id":..,"worker":..,
// "version":..,"method":..,"url":..,"status":..,"outcome":..,"cpu_ms":..,"wall_ms":..,
// "logs":[{"time":..,"level":..,"message":..}]}
std::string TailEventLine(const InvocationRecord& record);

class TailHub {
 public:
  // Events a subscriber may have waiting; past this the oldest are dropped.
  static constexpr size_t kMaxQueuedLines = 1000;

  TailHub() = default;
  // Every subscription should be gone by now; one that is not is leaked
  // (with a log line) rather than freed under its loop.
  ~TailHub();
  TailHub(const TailHub&) = delete;
  TailHub& operator=(const TailHub&) = delete;

  // Call on `loop`'s thread. `deliver` runs on that thread with one NDJSON
  // line per event, in the order published. When the subscriber falls more
  // than kMaxQueuedLines behind, the oldest lines are dropped and
  // {"type":"dropped","count":N} is delivered before the next event. Returns
  // the id for Unsubscribe, or 0 when libuv could not make the handle (then
  // `deliver` never runs).
  uint64_t Subscribe(TailFilter filter, uv_loop_t* loop, std::function<void(std::string)> deliver);
  // Call on the subscriber's loop thread (from `deliver` too). No `deliver`
  // call happens after it returns; queued lines are discarded; the handle is
  // closed with uv_close, so the loop has it until its close callback ran.
  // An unknown id is ignored.
  void Unsubscribe(uint64_t id);

  // Any thread. With no subscribers this is one atomic load; otherwise the
  // line is formatted once, if any filter matches.
  void Publish(const InvocationRecord& record);

  size_t subscribers() const { return count_.load(std::memory_order_acquire); }

 private:
  struct Subscription;
  using List = std::vector<std::shared_ptr<Subscription>>;

  static void OnAsync(uv_async_t* async);

  // The list is replaced, never changed in place: Publish copies the pointer
  // under the lock and walks the list without it.
  mutable std::mutex mutex_;
  std::shared_ptr<const List> list_ = std::make_shared<const List>();
  uint64_t next_id_ = 1;
  std::atomic<size_t> count_{0};
};

}  // namespace edge::gateway
