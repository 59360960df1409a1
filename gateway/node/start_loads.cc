#include "gateway/node/start_loads.h"

#include <algorithm>

namespace edge::gateway {

StartLoads::StartLoads(std::vector<std::shared_ptr<const ServedWorker>> order, int threads)
    : entries_(order.size()),
      loaded_by_thread_(new std::atomic<size_t>[static_cast<size_t>(std::max(threads, 1))]),
      full_(new std::atomic<bool>[static_cast<size_t>(std::max(threads, 1))]),
      threads_(std::max(threads, 1)) {
  for (int i = 0; i < threads_; ++i) {
    loaded_by_thread_[i] = 0;
    full_[i] = false;
  }
  index_.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    entries_[i].served = std::move(order[i]);
    index_.emplace(entries_[i].served->name, i);
  }
}

void StartLoads::SetOnFinished(std::function<void()> on_finished) {
  on_finished_ = std::move(on_finished);
  if (entries_.empty() && on_finished_) on_finished_();
}

std::shared_ptr<const ServedWorker> StartLoads::ClaimNext(int thread) {
  for (;;) {
    size_t next = cursor_.load();
    if (next >= entries_.size()) return nullptr;
    if (!cursor_.compare_exchange_weak(next, next + 1)) continue;
    Entry& entry = entries_[next];
    int unclaimed = kUnclaimed;
    if (entry.holder.compare_exchange_strong(unclaimed, thread)) return entry.served;
    // A request claimed it first (or it did not fit): the next one.
  }
}

StartLoads::Entry* StartLoads::Find(const ServedWorker& served) {
  auto it = index_.find(served.name);
  if (it == index_.end()) return nullptr;
  Entry& entry = entries_[it->second];
  return entry.served->instance == served.instance ? &entry : nullptr;
}

int StartLoads::HolderOrClaim(const ServedWorker& served, int thread) {
  Entry* entry = Find(served);
  if (entry == nullptr) return -1;
  int holder = kUnclaimed;
  if (entry->holder.compare_exchange_strong(holder, thread)) return thread;
  if (holder == kNobody) return -1;
  // A load that failed is no better on its holder: the request fails (or
  // loads) where it is.
  if (entry->result.load() == kFailed) return -1;
  return holder;
}

void StartLoads::Loaded(const ServedWorker& served, int thread, bool ok) {
  Entry* entry = Find(served);
  if (entry != nullptr) Resolve(*entry, ok ? kLoaded : kFailed, thread);
}

void StartLoads::Gone(const ServedWorker& served) {
  Entry* entry = Find(served);
  if (entry != nullptr) Resolve(*entry, kGone, -1);
}

void StartLoads::Full(int thread) {
  if (thread < 0 || thread >= threads_ || full_[thread].exchange(true)) return;
  if (full_count_.fetch_add(1) + 1 < threads_) return;
  // Every thread is full: what nobody claimed waits for its first request.
  for (Entry& entry : entries_) {
    int unclaimed = kUnclaimed;
    if (entry.holder.compare_exchange_strong(unclaimed, kNobody)) Resolve(entry, kUnfit, -1);
  }
}

void StartLoads::Resolve(Entry& entry, Result result, int thread) {
  uint8_t pending = kPending;
  if (!entry.result.compare_exchange_strong(pending, result)) return;  // told already
  ++counts_[result];
  if (result == kLoaded && thread >= 0 && thread < threads_) ++loaded_by_thread_[thread];
  if (resolved_.fetch_add(1) + 1 != entries_.size()) return;
  finished_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - made_)
                     .count();
  if (on_finished_) on_finished_();
}

StartLoads::Progress StartLoads::progress() const {
  Progress progress;
  progress.workers = entries_.size();
  progress.loaded = counts_[kLoaded].load();
  progress.failed = counts_[kFailed].load();
  progress.unfit = counts_[kUnfit].load();
  progress.gone = counts_[kGone].load();
  size_t resolved = resolved_.load();
  progress.pending = entries_.size() - std::min(resolved, entries_.size());
  if (progress.pending == 0) progress.finished_ms = static_cast<double>(finished_us_.load()) / 1000;
  for (int i = 0; i < threads_; ++i) progress.loaded_by_thread.push_back(loaded_by_thread_[i].load());
  return progress;
}

}  // namespace edge::gateway
