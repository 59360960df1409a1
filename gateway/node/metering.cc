#include "gateway/node/metering.h"

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <iterator>

#include "base/json_escape.h"

namespace edge::gateway {

Usage& Usage::operator+=(const Usage& other) {
  invocations += other.invocations;
  errors += other.errors;
  cpu_ns += other.cpu_ns;
  wall_ns += other.wall_ns;
  subrequests += other.subrequests;
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  refused += other.refused;
  gb_seconds += other.gb_seconds;
  return *this;
}

double GbSeconds(uint64_t memory_limit_bytes, uint64_t wall_ns) {
  return (static_cast<double>(memory_limit_bytes) / (1024.0 * 1024.0 * 1024.0)) *
         (static_cast<double>(wall_ns) / 1e9);
}

void Meter::Record(const InvocationRecord& record, uint64_t now_unix_ms) {
  if (record.worker.empty() || record.outcome == "preflight") return;
  Usage delta;
  // Refused before any isolate was entered: by a route policy, or because
  // the worker had too many requests waiting for their turn.
  if (record.outcome == "policyRefused" || record.outcome == "overloaded") {
    delta.refused = 1;
    Add(record.worker, delta, now_unix_ms);
    return;
  }
  delta.invocations = 1;
  delta.errors = record.error() ? 1 : 0;
  delta.cpu_ns = record.cpu_ns;
  delta.wall_ns = record.wall_ns;
  delta.subrequests = record.subrequests;
  delta.bytes_in = record.bytes_in;
  delta.bytes_out = record.bytes_out;
  delta.gb_seconds = GbSeconds(record.memory_limit_bytes, record.wall_ns);
  Add(record.worker, delta, now_unix_ms);
}

void Meter::AddBackground(const std::string& worker, uint64_t cpu_ns, uint64_t subrequests,
                          uint64_t now_unix_ms) {
  if (worker.empty()) return;
  Usage delta;
  delta.cpu_ns = cpu_ns;
  delta.subrequests = subrequests;
  Add(worker, delta, now_unix_ms);
}

void Meter::Add(const std::string& worker, const Usage& delta, uint64_t now_unix_ms) {
  uint64_t minute = now_unix_ms / kMinuteMs;
  uint64_t newest = newest_minute_.load(std::memory_order_relaxed);
  while (minute > newest &&
         !newest_minute_.compare_exchange_weak(newest, minute, std::memory_order_relaxed)) {
  }
  newest = std::max(newest, minute);

  Shard& shard = ShardFor(worker);
  std::lock_guard<std::mutex> lock(shard.mutex);
  Account& account = shard.accounts[worker];
  account.total += delta;
  // Requests end in about the order of their clocks, so the newest bucket is
  // nearly always the one to add to.
  if (!account.minutes.empty() && account.minutes.rbegin()->first == minute) {
    account.minutes.rbegin()->second += delta;
  } else if (minute + kKeptMinutes > newest) {
    account.minutes[minute] += delta;
  }
  // Minutes past the day go here, a few at a time, as the account is used;
  // an idle account's old minutes are skipped by FirstMinute instead.
  while (!account.minutes.empty() && account.minutes.begin()->first + kKeptMinutes <= newest) {
    account.minutes.erase(account.minutes.begin());
  }
}

Meter::Shard& Meter::ShardFor(const std::string& worker) {
  return shards_[std::hash<std::string>{}(worker) % kShards];
}

uint64_t Meter::FirstMinute(uint64_t since_unix_ms) const {
  if (since_unix_ms == 0) return 0;
  uint64_t newest = newest_minute_.load(std::memory_order_relaxed);
  uint64_t oldest_kept = newest >= kKeptMinutes ? newest - kKeptMinutes + 1 : 0;
  return std::max(since_unix_ms / kMinuteMs, oldest_kept);
}

std::map<std::string, Usage> Meter::UsageSince(uint64_t since_unix_ms) const {
  std::map<std::string, Usage> result;
  uint64_t first = FirstMinute(since_unix_ms);
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    for (const auto& [worker, account] : shard.accounts) {
      if (since_unix_ms == 0) {
        result[worker] = account.total;
        continue;
      }
      auto it = account.minutes.lower_bound(first);
      if (it == account.minutes.end()) continue;
      Usage& sum = result[worker];
      for (; it != account.minutes.end(); ++it) sum += it->second;
    }
  }
  return result;
}

std::string Meter::UsageJson(uint64_t since_unix_ms, uint64_t now_unix_ms,
                             const std::function<bool(const std::string&)>& include) const {
  std::map<std::string, Usage> usage = UsageSince(since_unix_ms);
  std::string out;
  auto append = std::back_inserter(out);
  fmt::format_to(append, "{{\"since\":{},\"until\":{},\"workers\":{{",
                 FirstMinute(since_unix_ms) * kMinuteMs, now_unix_ms);
  bool first = true;
  for (const auto& [worker, u] : usage) {
    if (include && !include(worker)) continue;
    if (!first) out += ',';
    first = false;
    base::AppendJsonEscaped(out, worker);
    fmt::format_to(append, ":{{\"invocations\":{},\"errors\":{},\"cpu_ms\":", u.invocations,
                   u.errors);
    base::AppendMillis(out, u.cpu_ns);
    out += ",\"wall_ms\":";
    base::AppendMillis(out, u.wall_ns);
    // Shortest round-trip form: exact, and always a valid JSON number.
    fmt::format_to(append,
                   ",\"gb_seconds\":{},\"subrequests\":{},\"bytes_in\":{},\"bytes_out\":{},"
                   "\"refused\":{}}}",
                   u.gb_seconds, u.subrequests, u.bytes_in, u.bytes_out, u.refused);
  }
  out += "}}";
  return out;
}

void Meter::Forget(const std::string& worker) {
  Shard& shard = ShardFor(worker);
  std::lock_guard<std::mutex> lock(shard.mutex);
  shard.accounts.erase(worker);
}

}  // namespace edge::gateway
