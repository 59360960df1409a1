#include "gateway/node/isolate_pool.h"

#include "base/log.h"

namespace edge::gateway {

IsolatePool::IsolatePool(uv_loop_t* loop, const runtime::NativeRegistry& natives,
                         size_t memory_budget_bytes, std::string default_host)
    : loop_(loop),
      natives_(natives),
      budget_bytes_(memory_budget_bytes),
      default_host_(std::move(default_host)) {}

IsolatePool::~IsolatePool() { Clear(); }

void IsolatePool::Clear() {
  for (auto& [name, slot] : slots_) {
    slot.warm.reset();
    if (slot.host) slot.host->Clear();
  }
  slots_.clear();
  for (auto& host : draining_) host->Clear();
  draining_.clear();
  stats_.alive = 0;
  stats_.memory_bytes = 0;
}

StatusOr<std::unique_ptr<runtime::Worker>> IsolatePool::Load(const ServedWorker& worker) {
  auto loaded = runtime::Worker::Load(loop_, natives_, worker.spec);
  if (!loaded.ok()) {
    Log(LogLevel::kError, "[{}] version {} does not load: {}", worker.name, worker.version,
        loaded.status().message());
  }
  return loaded;
}

IsolatePool::Slot& IsolatePool::SlotFor(const std::string& name) {
  Slot& slot = slots_[name];
  if (!slot.host) {
    slot.host = std::make_unique<WorkerHost>(loop_, natives_, default_host_);
    slot.host->SetOnLimit([this, name] {
      if (on_limit_) on_limit_(name);
    });
  }
  return slot;
}

StatusOr<WorkerHost*> IsolatePool::Acquire(const std::shared_ptr<const ServedWorker>& worker) {
  Slot& slot = SlotFor(worker->name);
  slot.last_used_ms = uv_now(loop_);
  if (slot.served && slot.served->instance == worker->instance && slot.host->current()) {
    return slot.host.get();
  }
  if (slot.warm && slot.warm_served->instance == worker->instance) {
    slot.memory_bytes = slot.warm->memory_bytes();
    slot.host->SetWorker(std::move(slot.warm));
    slot.served = std::move(slot.warm_served);
    slot.warm_served.reset();
    return slot.host.get();
  }
  // Evicted, or never warmed on this thread (a warm that failed).
  ++stats_.cold_loads;
  auto loaded = Load(*worker);
  if (!loaded.ok()) return loaded.status();
  slot.memory_bytes = (*loaded)->memory_bytes();
  slot.host->SetWorker(std::move(loaded).value());
  slot.served = worker;
  return slot.host.get();
}

Status IsolatePool::Warm(const std::shared_ptr<const ServedWorker>& worker) {
  Slot& slot = SlotFor(worker->name);
  if ((slot.served && slot.served->instance == worker->instance) ||
      (slot.warm_served && slot.warm_served->instance == worker->instance)) {
    return Status::Ok();
  }
  auto loaded = Load(*worker);
  if (!loaded.ok()) return loaded.status();
  slot.warm = std::move(loaded).value();
  slot.warm_served = worker;
  slot.last_used_ms = uv_now(loop_);
  return Status::Ok();
}

void IsolatePool::Retain(const NodeState& state) {
  for (auto it = slots_.begin(); it != slots_.end();) {
    const std::shared_ptr<const ServedWorker>* served = state.Find(it->first);
    Slot& slot = it->second;
    if (served == nullptr) {
      // Deleted: requests in flight finish on the old isolate.
      slot.warm.reset();
      if (slot.host && !slot.host->idle()) draining_.push_back(std::move(slot.host));
      it = slots_.erase(it);
      continue;
    }
    if (slot.warm_served && slot.warm_served->instance == (*served)->instance) {
      // Published: the warmed isolate becomes the current one now, so the
      // replaced one can go once idle and the budget sees it like any other.
      slot.memory_bytes = slot.warm->memory_bytes();
      slot.host->SetWorker(std::move(slot.warm));
      slot.served = std::move(slot.warm_served);
      slot.warm_served.reset();
    } else if (slot.warm_served) {
      // A warmed instance that lost the race to a newer deploy.
      slot.warm.reset();
      slot.warm_served.reset();
    }
    ++it;
  }
  std::erase_if(draining_, [](const std::unique_ptr<WorkerHost>& host) { return host->idle(); });
}

size_t IsolatePool::EnforceBudget() {
  std::erase_if(draining_, [](const std::unique_ptr<WorkerHost>& host) { return host->idle(); });
  size_t total = 0;
  for (const auto& [name, slot] : slots_) total += slot.memory_bytes;
  size_t evicted = 0;
  while (budget_bytes_ != 0 && total > budget_bytes_) {
    // Idle isolates first, least recently used first; then isolates busy
    // only with waitUntil work (every response sent), whose work is cut
    // short. One answering a request is never chosen: see the header.
    Slot* oldest = nullptr;
    std::string oldest_name;
    bool oldest_idle = false;
    for (auto& [name, slot] : slots_) {
      if (slot.memory_bytes == 0 || !slot.host || slot.warm || slot.host->answering()) continue;
      bool idle = slot.host->idle();
      bool better = oldest == nullptr || (idle && !oldest_idle) ||
                    (idle == oldest_idle && slot.last_used_ms < oldest->last_used_ms);
      if (better) {
        oldest = &slot;
        oldest_name = name;
        oldest_idle = idle;
      }
    }
    if (oldest == nullptr) {
      Log(LogLevel::kDebug, "over the memory budget ({} KiB > {} KiB): every isolate left is "
          "answering a request", total >> 10, budget_bytes_ >> 10);
      break;
    }
    total -= oldest->memory_bytes;
    if (oldest_idle) {
      Log(LogLevel::kDebug, "[{}] evicting its idle isolate ({} KiB) to stay under the memory "
          "budget", oldest_name, oldest->memory_bytes >> 10);
    } else {
      // Its invocations end with it: their timers, fetches and pending
      // natives go with the isolate, and no JavaScript of it runs again.
      Log(LogLevel::kWarn, "[{}] evicting its isolate ({} KiB) with waitUntil work still "
          "running: the memory budget needs the room; that work is cut short",
          oldest_name, oldest->memory_bytes >> 10);
      ++stats_.waituntil_evictions;
    }
    slots_.erase(oldest_name);
    ++evicted;
  }
  stats_.evictions += evicted;
  return evicted;
}

void IsolatePool::Measure(
    const std::function<void(const std::string& worker, const Sample&)>& report) {
  size_t alive = 0, memory = 0;
  for (auto& [name, slot] : slots_) {
    if (slot.warm) memory += slot.warm->memory_bytes();
    const runtime::Worker* current = slot.host ? slot.host->current() : nullptr;
    if (current == nullptr) {
      slot.memory_bytes = 0;
      continue;
    }
    ++alive;
    slot.memory_bytes = current->memory_bytes();
    memory += slot.memory_bytes;
    if (slot.measured != current) {
      // A new isolate: its counters start from zero.
      slot.measured = current;
      slot.unattributed_cpu_ns = 0;
      slot.subrequests = 0;
    }
    Sample sample;
    sample.unattributed_cpu_ns = current->cpu_unattributed_ns() - slot.unattributed_cpu_ns;
    sample.subrequests = current->subrequests() - slot.subrequests;
    slot.unattributed_cpu_ns = current->cpu_unattributed_ns();
    slot.subrequests = current->subrequests();
    if (sample.unattributed_cpu_ns != 0 || sample.subrequests != 0) report(name, sample);
  }
  stats_.alive = alive;
  stats_.memory_bytes = memory;
}

}  // namespace edge::gateway
