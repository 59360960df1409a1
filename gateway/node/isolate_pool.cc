#include "gateway/node/isolate_pool.h"

#include <algorithm>

#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::gateway {

IsolatePool::IsolatePool(uv_loop_t* loop, const runtime::NativeRegistry& natives,
                         size_t memory_budget_bytes, std::string default_host)
    : loop_(loop),
      natives_(natives),
      budget_bytes_(memory_budget_bytes),
      default_host_(std::move(default_host)) {}

IsolatePool::~IsolatePool() {
  Clear();
  if (background_timer_ != nullptr) {
    uv_timer_stop(background_timer_);
    base::CloseAndDelete(background_timer_);
    uv_idle_stop(background_idle_);
    base::CloseAndDelete(background_idle_);
    uv_check_stop(background_check_);
    base::CloseAndDelete(background_check_);
  }
}

void IsolatePool::Clear() {
  spares_.clear();
  stats_.spares = 0;
  for (auto& [name, slot] : slots_) {
    slot.warm.reset();
    if (slot.host) slot.host->Clear();
  }
  slots_.clear();
  for (auto& host : draining_) host->Clear();
  draining_.clear();
  dying_.clear();
  dying_bytes_ = 0;
  stats_.dying = 0;
  stats_.alive = 0;
  stats_.memory_bytes = 0;
}

StatusOr<std::unique_ptr<runtime::Worker>> IsolatePool::Load(
    const ServedWorker& worker, std::unique_ptr<runtime::SpareIsolate> spare, bool log_failure) {
  auto loaded = runtime::Worker::Load(loop_, natives_, worker.spec, std::move(spare));
  if (!loaded.ok() && log_failure) {
    Log(LogLevel::kError, "[{}] version {} does not load: {}", worker.name, worker.version,
        loaded.status().message());
  }
  if (on_load_) on_load_(worker, loaded.ok());
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
  last_activity_ms_ = slot.last_used_ms;
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
  std::unique_ptr<runtime::SpareIsolate> spare = TakeSpare(worker->spec.heap_limit_bytes);
  if (spare) ++stats_.spare_loads;
  auto loaded = Load(*worker, std::move(spare));
  ScheduleBackground();
  if (!loaded.ok()) return loaded.status();
  slot.memory_bytes = (*loaded)->memory_bytes();
  slot.host->SetWorker(std::move(loaded).value());
  slot.served = worker;
  return slot.host.get();
}

Status IsolatePool::Warm(const std::shared_ptr<const ServedWorker>& worker, bool log_failure,
                         bool use_spare) {
  Slot& slot = SlotFor(worker->name);
  if ((slot.served && slot.served->instance == worker->instance) ||
      (slot.warm_served && slot.warm_served->instance == worker->instance)) {
    return Status::Ok();
  }
  last_activity_ms_ = uv_now(loop_);
  // Isolate::New and the runtime's context are the larger part of a small
  // worker's load: a spare made while the thread was idle has paid them.
  std::unique_ptr<runtime::SpareIsolate> spare =
      use_spare ? TakeSpare(worker->spec.heap_limit_bytes) : nullptr;
  last_warm_ms_ = last_activity_ms_;
  auto loaded = Load(*worker, std::move(spare), log_failure);
  ScheduleBackground();
  if (!loaded.ok()) return loaded.status();
  slot.warm = std::move(loaded).value();
  slot.warm_served = worker;
  slot.last_used_ms = uv_now(loop_);
  return Status::Ok();
}

StatusOr<size_t> IsolatePool::Preload(const std::shared_ptr<const ServedWorker>& worker) {
  if (Holds(*worker)) return size_t{0};
  Slot& slot = SlotFor(worker->name);
  last_activity_ms_ = uv_now(loop_);
  auto loaded = Load(*worker);
  if (!loaded.ok()) return loaded.status();
  slot.memory_bytes = (*loaded)->memory_bytes();
  slot.host->SetWorker(std::move(loaded).value());
  slot.served = worker;
  slot.last_used_ms = 0;
  return slot.memory_bytes;
}

bool IsolatePool::Holds(const ServedWorker& worker) const {
  auto it = slots_.find(worker.name);
  if (it == slots_.end()) return false;
  const Slot& slot = it->second;
  return (slot.served && slot.served->instance == worker.instance && slot.host &&
          slot.host->current() != nullptr) ||
         (slot.warm_served && slot.warm_served->instance == worker.instance);
}

bool IsolatePool::HoldsAny(const std::string& name) const {
  auto it = slots_.find(name);
  if (it == slots_.end()) return false;
  const Slot& slot = it->second;
  return (slot.host && slot.host->current() != nullptr) || slot.warm != nullptr;
}

void IsolatePool::DiscardWarm(const std::string& name, uint64_t instance) {
  auto it = slots_.find(name);
  if (it == slots_.end()) return;
  Slot& slot = it->second;
  if (!slot.warm_served || slot.warm_served->instance != instance) return;
  slot.warm.reset();
  slot.warm_served.reset();
  if (!slot.served && slot.host && slot.host->idle()) slots_.erase(it);
}

void IsolatePool::Retain(const NodeState& state) {
  for (auto it = slots_.begin(); it != slots_.end();) {
    const std::shared_ptr<const ServedWorker>* served = state.Find(it->first);
    Slot& slot = it->second;
    if (served == nullptr && slot.warm_served && !slot.served && slot.host &&
        slot.host->current() == nullptr) {
      // The first version of a worker whose deploy is still being
      // committed: kept for the state that will name it.
      ++it;
      continue;
    }
    if (served == nullptr) {
      // Deleted: requests in flight finish on the old isolate; its
      // WebSockets close (1001) and it goes once they have.
      slot.warm.reset();
      if (slot.host && slot.host->current() != nullptr) {
        slot.host->current()->CloseWebSockets(1001, "The worker was deleted");
      }
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
    } else if (slot.warm_served && slot.warm_served->instance > (*served)->instance) {
      // A newer version whose deploy is still being committed: kept.
    } else if (slot.warm_served) {
      // A warmed instance that lost the race to a newer deploy.
      slot.warm.reset();
      slot.warm_served.reset();
    }
    ++it;
  }
  std::erase_if(draining_, [](const std::unique_ptr<WorkerHost>& host) { return host->idle(); });
}

size_t IsolatePool::MemoryInUse() const {
  // The spares are counted at their target even while some are missing:
  // their room is kept, so they can be made again without an eviction.
  size_t total = std::max(spares_.size(), spare_target_) * spare_bytes_ + dying_bytes_;
  for (const auto& [name, slot] : slots_) total += slot.memory_bytes;
  return total;
}

void IsolatePool::SetSpares(size_t count, size_t heap_limit_bytes, uint64_t idle_ms) {
  spare_target_ = count;
  spare_heap_limit_ = heap_limit_bytes;
  spare_idle_ms_ = std::max<uint64_t>(idle_ms, 1);
  if (spares_.size() > count) spares_.resize(count);
  std::erase_if(spares_, [&](const std::unique_ptr<runtime::SpareIsolate>& spare) {
    return spare->heap_limit_bytes() != heap_limit_bytes;
  });
  stats_.spares = spares_.size();
  // Timed anew with the new quiet spell.
  if (background_timer_ != nullptr) uv_timer_stop(background_timer_);
  ScheduleBackground();
}

std::unique_ptr<runtime::SpareIsolate> IsolatePool::TakeSpare(size_t heap_limit_bytes) {
  if (spares_.empty() || heap_limit_bytes != spare_heap_limit_) return nullptr;
  std::unique_ptr<runtime::SpareIsolate> spare = std::move(spares_.back());
  spares_.pop_back();
  stats_.spares = spares_.size();
  return spare;
}

uint64_t IsolatePool::QuietForMs() const {
  uint64_t now = uv_now(loop_);
  return now - std::min(now, last_activity_ms_);
}

bool IsolatePool::RefillDue() const {
  if (spares_.size() >= spare_target_) return false;
  uint64_t now = uv_now(loop_);
  if (now < refill_blocked_until_ms_) return false;
  // Deploys are being warmed: see last_warm_ms_.
  if (last_warm_ms_ != 0 && now - std::min(now, last_warm_ms_) < kRefillAfterWarmMs) {
    return false;
  }
  return QuietForMs() >= spare_idle_ms_;
}

void IsolatePool::ScheduleBackground() {
  if (dying_.empty() && spares_.size() >= spare_target_) return;
  if (background_timer_ == nullptr) {
    background_timer_ = new uv_timer_t;
    uv_timer_init(loop_, background_timer_);
    background_timer_->data = this;
    background_idle_ = new uv_idle_t;
    uv_idle_init(loop_, background_idle_);
    background_check_ = new uv_check_t;
    uv_check_init(loop_, background_check_);
    background_check_->data = this;
    // Spares and disposals are a convenience: these handles alone do not
    // keep the loop running.
    uv_unref(reinterpret_cast<uv_handle_t*>(background_timer_));
    uv_unref(reinterpret_cast<uv_handle_t*>(background_idle_));
    uv_unref(reinterpret_cast<uv_handle_t*>(background_check_));
  }
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(background_timer_)) ||
      uv_is_active(reinterpret_cast<uv_handle_t*>(background_check_))) {
    return;
  }
  // When the first piece may run: after a quiet spell, a dying isolate's
  // bound, the pause after a deploy's warm.
  uint64_t now = uv_now(loop_);
  uint64_t quiet = QuietForMs();
  uint64_t at = now + (quiet >= spare_idle_ms_ ? 0 : spare_idle_ms_ - quiet);
  if (!dying_.empty()) {
    at = std::min(at, dying_.front().since_ms + kDisposeWithinMs);
  } else {
    at = std::max(at, refill_blocked_until_ms_);
    if (last_warm_ms_ != 0) {
      at = std::max(at, last_warm_ms_ + kRefillAfterWarmMs);
    }
  }
  uv_timer_start(background_timer_, OnBackgroundTimer, at > now ? at - now : 0, 0);
}

void IsolatePool::OnBackgroundTimer(uv_timer_t* timer) {
  auto* self = static_cast<IsolatePool*>(timer->data);
  uint64_t now = uv_now(self->loop_);
  bool dispose = !self->dying_.empty() &&
                 (self->QuietForMs() >= self->spare_idle_ms_ ||
                  now >= self->dying_.front().since_ms + kDisposeWithinMs);
  if (!dispose && !self->RefillDue()) {
    // A request came meanwhile: wait until the thread has been quiet.
    self->ScheduleBackground();
    return;
  }
  // Not here, in the timer phase, ahead of requests that arrived since the
  // last poll: the next poll (which does not block) reads them first.
  uv_idle_start(self->background_idle_, [](uv_idle_t*) {});
  uv_check_start(self->background_check_, OnBackgroundCheck);
}

void IsolatePool::OnBackgroundCheck(uv_check_t* check) {
  auto* self = static_cast<IsolatePool*>(check->data);
  uv_check_stop(check);
  uv_idle_stop(self->background_idle_);
  uint64_t now = uv_now(self->loop_);
  bool overdue = !self->dying_.empty() && now >= self->dying_.front().since_ms + kDisposeWithinMs;
  if (self->busy_ && self->busy_()) {
    // A request is waiting for its turn: it goes first, and the work waits
    // for the next quiet spell.
    self->last_activity_ms_ = std::max(self->last_activity_ms_, now);
  }
  bool quiet = self->QuietForMs() >= self->spare_idle_ms_;
  if (overdue || (quiet && !self->dying_.empty())) {
    // Disposals first: they give memory back, and a refill may need it.
    self->DisposeOne();
  } else if (self->RefillDue()) {
    self->RefillOne();
  }
  self->ScheduleBackground();
}

void IsolatePool::DisposeOne() {
  Dying dying = std::move(dying_.front());
  dying_.erase(dying_.begin());
  dying_bytes_ -= std::min(dying_bytes_, dying.memory_bytes);
  stats_.dying = dying_.size();
  stats_.memory_bytes -= std::min(stats_.memory_bytes, dying.memory_bytes);
  dying.worker.reset();
}

void IsolatePool::RefillOne() {
  // Room in the budget (which keeps room for the spares: MemoryInUse).
  // Cold loads since the last measurement may have taken it: idle isolates
  // are evicted now, while the thread is idle, rather than at the next
  // measurement, so the next cold load finds a spare. They are disposed of
  // first, one piece of work each, before the spare is made.
  if (budget_bytes_ != 0 && MemoryInUse() > budget_bytes_) {
    EnforceBudget();
    if (MemoryKept() > budget_bytes_) {
      // Only isolates answering requests left: look again later.
      refill_blocked_until_ms_ = uv_now(loop_) + 1000;
    }
    return;
  }
  auto spare = runtime::SpareIsolate::Make(loop_, natives_, spare_heap_limit_);
  if (spare == nullptr) {
    // No startup snapshot: a spare would save nothing.
    Log(LogLevel::kWarn, "no spare isolates: this binary has no usable startup snapshot");
    spare_target_ = 0;
    return;
  }
  spare_bytes_ = spare->memory_bytes();
  spares_.push_back(std::move(spare));
  stats_.spares = spares_.size();
}

size_t IsolatePool::EnforceBudget() {
  std::erase_if(draining_, [](const std::unique_ptr<WorkerHost>& host) { return host->idle(); });
  // Dying isolates are on their way out: not counted against the room
  // looked for here. One past its bound goes now.
  uint64_t now = uv_now(loop_);
  while (!dying_.empty() && now >= dying_.front().since_ms + kDisposeWithinMs) DisposeOne();
  size_t total = MemoryKept();
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
      if (!spares_.empty()) {
        // Only spares left to give: they go before anything answering
        // (and are made again once evictions leave room).
        spares_.clear();
        stats_.spares = 0;
      }
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
    std::unique_ptr<runtime::Worker> worker = oldest_idle ? oldest->host->TakeIdleWorker() : nullptr;
    if (worker) {
      // Disposed of between requests (see the header); counted until then.
      dying_.push_back({std::move(worker), oldest->memory_bytes, now});
      dying_bytes_ += oldest->memory_bytes;
    }
    slots_.erase(oldest_name);
    ++evicted;
  }
  stats_.evictions += evicted;
  stats_.dying = dying_.size();
  if (!dying_.empty()) ScheduleBackground();
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
  for (const auto& spare : spares_) memory += spare->memory_bytes();
  if (!spares_.empty()) spare_bytes_ = spares_.front()->memory_bytes();
  memory += dying_bytes_;
  stats_.alive = alive;
  stats_.memory_bytes = memory;
}

}  // namespace edge::gateway
