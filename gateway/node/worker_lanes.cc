#include "gateway/node/worker_lanes.h"

#include <bit>

#include "base/log.h"

namespace edge::gateway {

bool WorkerLanes::Quarantine(const std::string& worker, uint64_t now_ms) {
  return Mark(worker, &Until::quarantine_ms, now_ms + kQuarantineMs, quarantined_, now_ms);
}

bool WorkerLanes::MarkHeavy(const std::string& worker, uint64_t now_ms) {
  return Mark(worker, &Until::heavy_ms, now_ms + kHeavyMs, heavy_, now_ms);
}

bool WorkerLanes::Mark(const std::string& worker, uint64_t Until::*state, uint64_t until_ms,
                       std::atomic<size_t>& count, uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t& until = until_[worker].*state;
  bool added = until <= now_ms;
  if (until == 0) count.fetch_add(1, std::memory_order_relaxed);
  until = until_ms;
  entries_.store(until_.size(), std::memory_order_relaxed);
  return added;
}

WorkerLanes::Lane WorkerLanes::LaneOf(const std::string& worker, uint64_t now_ms) {
  if (entries_.load(std::memory_order_relaxed) == 0) return Lane::kServing;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = until_.find(worker);
  if (it == until_.end()) return Lane::kServing;
  Until& until = it->second;
  Lane lane = Lane::kServing;
  if (until.quarantine_ms > now_ms) {
    lane = Lane::kQuarantine;
  } else if (until.quarantine_ms != 0) {
    until.quarantine_ms = 0;
    quarantined_.fetch_sub(1, std::memory_order_relaxed);
    Log(LogLevel::kInfo, "[{}] back from the quarantine thread", worker);
  }
  if (until.heavy_ms > now_ms) {
    if (lane == Lane::kServing) lane = Lane::kHeavy;
  } else if (until.heavy_ms != 0) {
    until.heavy_ms = 0;
    heavy_.fetch_sub(1, std::memory_order_relaxed);
    Log(LogLevel::kInfo, "[{}] back on the serving threads from the heavy lanes", worker);
  }
  if (until.quarantine_ms == 0 && until.heavy_ms == 0) {
    until_.erase(it);
    entries_.store(until_.size(), std::memory_order_relaxed);
  }
  return lane;
}

bool HeavyDetector::Note(const std::string& worker, uint64_t ns) {
  if (threshold_ns_ == 0) return false;
  uint8_t& last = slow_[worker];
  last = static_cast<uint8_t>((last << 1) | (ns > threshold_ns_ ? 1 : 0));
  return std::popcount(last) >= kSlowOfLast8;
}

void HeavyDetector::Prune() {
  std::erase_if(slow_, [](const auto& entry) { return entry.second == 0; });
}

}  // namespace edge::gateway
