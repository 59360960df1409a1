// Usage per worker, for billing and quotas: invocations, CPU, duration in
// GB-seconds, subrequests and bytes, in one-minute buckets kept for a day
// plus totals since the node started.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gateway/node/invocation_record.h"

namespace edge::gateway {

struct Usage {
  uint64_t invocations = 0, errors = 0, cpu_ns = 0, wall_ns = 0, subrequests = 0, bytes_in = 0,
           bytes_out = 0;
  // Requests a route policy refused before any isolate ran: not invocations.
  uint64_t refused = 0;
  // Duration as Workers bills it: the memory limit (not use) in GiB times
  // wall time in seconds.
  double gb_seconds = 0;

  Usage& operator+=(const Usage& other);
};

// GB-seconds of one invocation: (memory_limit_bytes / 2^30) x (wall_ns / 1e9).
double GbSeconds(uint64_t memory_limit_bytes, uint64_t wall_ns);

// Thread-safe. Workers are spread over a few mutex-guarded shards by name,
// so serving threads rarely wait for each other; each call does O(1) work
// under one shard's lock (a map step when a new minute starts).
class Meter {
 public:
  // Bills `record` to its worker in the minute of `now_unix_ms`. Records with
  // an empty worker (no route matched) are not billed; a request a policy
  // refused counts as refused, not as an invocation, and a CORS preflight
  // the gateway answered not at all.
  void Record(const InvocationRecord& record, uint64_t now_unix_ms);
  // Extra CPU and subrequests not tied to a request (waitUntil work after the
  // response, timers): added to the worker's totals without an invocation.
  void AddBackground(const std::string& worker, uint64_t cpu_ns, uint64_t subrequests,
                     uint64_t now_unix_ms);

  // Per worker with any usage in the window: the sum over whole minutes
  // whose start is >= `since_unix_ms` rounded down to its minute. Minutes are
  // kept for 24 hours (counted back from the newest minute recorded), so an
  // older `since` gets the last 24 hours. 0 means the totals since the node
  // started.
  std::map<std::string, Usage> UsageSince(uint64_t since_unix_ms) const;
  // UsageSince as JSON: {"since":ms,"until":ms,"workers":{"api":{"invocations":..,
  // "errors":..,"cpu_ms":1.234,"wall_ms":..,"gb_seconds":..,"subrequests":..,
  // "bytes_in":..,"bytes_out":..,"refused":..}}}. "since" is the start of the window
  // actually summed (0 for totals); "until" is `now_unix_ms`.
  // With `include`, only the workers it accepts (an account's own).
  std::string UsageJson(uint64_t since_unix_ms, uint64_t now_unix_ms,
                        const std::function<bool(const std::string&)>& include = nullptr) const;

  // A deleted worker: its minutes and totals go. Usage recorded after this
  // (requests still in flight) starts a new account.
  void Forget(const std::string& worker);

  static constexpr uint64_t kMinuteMs = 60 * 1000;
  static constexpr uint64_t kKeptMinutes = 24 * 60;

 private:
  struct Account {
    Usage total;
    std::map<uint64_t, Usage> minutes;  // minute number (unix_ms / kMinuteMs) -> usage
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Account> accounts;
  };
  static constexpr size_t kShards = 16;

  void Add(const std::string& worker, const Usage& delta, uint64_t now_unix_ms);
  Shard& ShardFor(const std::string& worker);
  // The first minute UsageSince(since_unix_ms) sums; 0 for totals.
  uint64_t FirstMinute(uint64_t since_unix_ms) const;

  std::array<Shard, kShards> shards_;
  // The newest minute recorded: the 24 hours kept end there.
  std::atomic<uint64_t> newest_minute_{0};
};

}  // namespace edge::gateway
