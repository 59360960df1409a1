// One serving thread's isolates: for each worker it has served, a WorkerHost
// holding the isolate of the worker's current instance (and, for a while,
// retired instances finishing their requests). Isolates are created when a
// deploy warms them (before the routes switch), when the node starts or the
// thread copies a worker it hands over often (Preload), or, after an
// eviction, by the first request that needs one again.
//
// Memory: the pool keeps its isolates under a budget (the node's budget
// divided among its threads). When over, idle isolates go, least recently
// used first; then isolates busy only with waitUntil work after their
// responses (a `ctx.waitUntil(new Promise(() => {}))` would otherwise pin
// one for 30 s): that work is cut short, with a warning naming the worker.
// An isolate answering a request is never evicted: cutting a response short
// punishes a request that did nothing wrong, and the isolate's own limit
// (memory_mb, heap and buffers together) already stops a request that grows
// it past its share, with the memory-limit page and a quarantine.
//
// An evicted idle isolate is not disposed of where it is evicted (the
// measurement tick, a refill): Isolate::Dispose unmaps the heap, a
// millisecond or more that a request arriving meanwhile would wait for.
// It waits in a list of dying isolates, still counted in the pool's memory
// (MemoryInUse, Stats::memory_bytes) though no longer against the room
// eviction looks for, and is disposed of once the thread is idle (below),
// or within kDisposeWithinMs whatever the thread is doing.
//
// Spares (SetSpares): a few isolates made ahead from the startup snapshot
// with no worker in them (runtime/worker_spare.h). A request whose worker
// has no isolate here (evicted, or never loaded on this thread) takes one,
// so it waits only for the worker's own modules. Spares are made when the
// thread has been idle for a while, never on a request's path; they count
// against the budget (their room is kept even while some are missing: idle
// isolates are evicted to keep it, then and there when a refill finds the
// budget taken) and are only made while they fit in it. Each is used once:
// a spare is never given back after a worker ran in it.
//
// Work between requests (disposing of a dying isolate, making a spare) is
// done one piece at a time, each after a poll of the loop that found no
// request waiting (SetBusy): a request that arrived meanwhile runs first,
// and the piece waits for the next quiet spell.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "gateway/node/node_state.h"
#include "gateway/host/worker_host.h"
#include "runtime/native.h"
#include "runtime/worker_spare.h"

namespace edge::gateway {

class IsolatePool {
 public:
  struct Stats {
    size_t alive = 0;          // loaded isolates (current instances)
    size_t memory_bytes = 0;   // as last measured
    uint64_t evictions = 0;    // since the pool started
    uint64_t waituntil_evictions = 0;  // of those, isolates whose waitUntil work was cut short
    uint64_t cold_loads = 0;   // isolates a request had to wait for
    uint64_t spare_loads = 0;  // of those, loaded into a spare isolate
    size_t spares = 0;         // spare isolates ready now
    size_t dying = 0;          // evicted isolates not disposed of yet
  };
  // What the pool measured of one worker since the last Sample.
  struct Sample {
    uint64_t unattributed_cpu_ns = 0;
    uint64_t subrequests = 0;
  };

  IsolatePool(uv_loop_t* loop, const runtime::NativeRegistry& natives, size_t memory_budget_bytes,
              std::string default_host);
  ~IsolatePool();
  IsolatePool(const IsolatePool&) = delete;
  IsolatePool& operator=(const IsolatePool&) = delete;

  // The host running `worker`'s instance, loading it first when this thread
  // has not (a cold load). The error says why the worker did not load.
  StatusOr<WorkerHost*> Acquire(const std::shared_ptr<const ServedWorker>& worker);
  // Loads `worker`'s instance now (into a spare isolate when one is ready
  // and `use_spare`), kept aside until a published state names it (the
  // routes have not switched yet): its first request finds it warm. A
  // deploy's validation is such a load, into a new isolate (the deploy
  // pays for its own, rather than the thread's next requests for the
  // refill); its failure is the deploy's answer, so it is not logged here
  // when `log_failure` is false.
  Status Warm(const std::shared_ptr<const ServedWorker>& worker, bool log_failure = true,
              bool use_spare = true);
  // Drops `name`'s warmed instance `instance` if it is still kept aside (a
  // deploy refused after its load).
  void DiscardWarm(const std::string& name, uint64_t instance);
  // Loads `worker`'s instance as the one serving here when the pool does
  // not hold it yet, with no request waiting (a node's start,
  // start_loads.h); not a cold load. It counts as never used, so it is
  // among the first evicted. Returns the memory it holds (0 when it was
  // held already).
  StatusOr<size_t> Preload(const std::shared_ptr<const ServedWorker>& worker);
  // Whether `worker`'s instance is loaded here (serving, or warmed ahead).
  bool Holds(const ServedWorker& worker) const;
  // Whether any instance of worker `name` is loaded here (serving, or
  // warmed ahead).
  bool HoldsAny(const std::string& name) const;
  // Brings the pool in line with a published state: warmed instances it
  // names become current, workers it no longer has (deleted) and instances
  // warmed but superseded go; requests in flight finish first. A warmed
  // instance newer than the one the state names (instances only grow), or
  // of a first version not yet in it, is a deploy still being committed:
  // it stays until a later state names it or DiscardWarm.
  void Retain(const NodeState& state);
  // Evicts isolates while over budget: idle ones, least recently used
  // first, then ones busy only with waitUntil work. Returns how many went.
  size_t EnforceBudget();
  // Measures every isolate (memory, CPU not charged to a request, fetch()
  // calls) and reports what changed since the last call, per worker.
  void Measure(const std::function<void(const std::string& worker, const Sample&)>& report);
  // Frees everything now (shutdown).
  void Clear();
  // Keeps up to `count` spare isolates for workers whose memory limit is
  // `heap_limit_bytes` (0: none, the default), made once the thread has
  // served nothing for `idle_ms` (which is also how long evicted isolates
  // wait for their disposal).
  void SetSpares(size_t count, size_t heap_limit_bytes, uint64_t idle_ms = 10);
  // Whether the thread has work waiting for its turn (a request queued):
  // work between requests waits while it has. Unset: never.
  void SetBusy(std::function<bool()> busy) { busy_ = std::move(busy); }

  const Stats& stats() const { return stats_; }
  // Memory of the isolates, as last measured (or when loaded), of the
  // spares at their target count, and of the evicted isolates not yet
  // disposed of. No isolate is measured again.
  size_t MemoryInUse() const;

  // Told a worker's name when one of its isolates here is stopped by a
  // limit, in a request or outside any (WorkerHost::SetOnLimit).
  void SetOnLimit(std::function<void(const std::string& worker)> on_limit) {
    on_limit_ = std::move(on_limit);
  }
  // Told of every load of a worker's instance into a new isolate (Acquire,
  // Warm, Preload) once it ended, with whether it loaded.
  void SetOnLoad(std::function<void(const ServedWorker& worker, bool ok)> on_load) {
    on_load_ = std::move(on_load);
  }

 private:
  struct Slot {
    std::unique_ptr<WorkerHost> host;
    std::shared_ptr<const ServedWorker> served;  // what host->current() runs
    std::unique_ptr<runtime::Worker> warm;       // loaded ahead of its publication
    std::shared_ptr<const ServedWorker> warm_served;
    uint64_t last_used_ms = 0;
    size_t memory_bytes = 0;
    // Counters of host->current() at the last Measure.
    const runtime::Worker* measured = nullptr;
    uint64_t unattributed_cpu_ns = 0;
    uint64_t subrequests = 0;
  };
  StatusOr<std::unique_ptr<runtime::Worker>> Load(
      const ServedWorker& worker, std::unique_ptr<runtime::SpareIsolate> spare = nullptr,
      bool log_failure = true);
  Slot& SlotFor(const std::string& name);
  // A spare for a worker with this memory limit, if one is ready.
  std::unique_ptr<runtime::SpareIsolate> TakeSpare(size_t heap_limit_bytes);
  // MemoryInUse without the dying isolates: what eviction brings under the
  // budget.
  size_t MemoryKept() const { return MemoryInUse() - dying_bytes_; }
  // Arms the timer of the work between requests, when there is some.
  void ScheduleBackground();
  // The timer: once the thread has been quiet long enough for some piece
  // of work, asks for a poll that does not block, then the check below.
  static void OnBackgroundTimer(uv_timer_t* timer);
  // After that poll: one piece of work, unless a request is waiting.
  static void OnBackgroundCheck(uv_check_t* check);
  // Frees the longest dying isolate.
  void DisposeOne();
  // Makes room for a spare (evictions), or the spare.
  void RefillOne();
  // How long the thread has served nothing; whether a spare may be made
  // now.
  uint64_t QuietForMs() const;
  bool RefillDue() const;

  uv_loop_t* loop_;
  const runtime::NativeRegistry& natives_;
  size_t budget_bytes_;
  std::string default_host_;
  std::unordered_map<std::string, Slot> slots_;
  // Hosts of deleted or evicted workers still finishing requests.
  std::vector<std::unique_ptr<WorkerHost>> draining_;
  Stats stats_;
  std::function<void(const std::string& worker)> on_limit_;
  std::function<void(const ServedWorker& worker, bool ok)> on_load_;

  std::vector<std::unique_ptr<runtime::SpareIsolate>> spares_;
  size_t spare_target_ = 0;
  size_t spare_heap_limit_ = 0;
  uint64_t spare_idle_ms_ = 20;
  // What one spare holds: measured once one is made; until then a guess
  // on the high side, so the first is not made past the budget.
  size_t spare_bytes_ = 4u << 20;
  uint64_t last_activity_ms_ = 0;  // the last Acquire or Warm
  // The last Warm that loaded an isolate (a deploy, or on a replica a
  // version arriving). Spares are made only once the thread has gone
  // kRefillAfterWarmMs without one: a deploy is answered sooner from a
  // spare, and the isolate that replaces it is made after the deploys, not
  // in the middle of the next ones or in front of their first requests (a
  // spare takes several milliseconds to make, and a deploy's first request
  // comes once every thread has warmed it and the deploy is committed,
  // often more than a quiet spell later). Under a stream of deploys, warms
  // load into new isolates, as without spares.
  uint64_t last_warm_ms_ = 0;
  static constexpr uint64_t kRefillAfterWarmMs = 1000;
  // Evicted isolates waiting for their disposal, oldest first, with what
  // they held when evicted (as last measured) and since when.
  struct Dying {
    std::unique_ptr<runtime::Worker> worker;
    size_t memory_bytes = 0;
    uint64_t since_ms = 0;
  };
  std::vector<Dying> dying_;
  size_t dying_bytes_ = 0;
  // A dying isolate is disposed of within this, busy thread or not.
  static constexpr uint64_t kDisposeWithinMs = 1000;
  // After a refill found every isolate answering requests.
  uint64_t refill_blocked_until_ms_ = 0;
  std::function<bool()> busy_;
  uv_timer_t* background_timer_ = nullptr;
  uv_idle_t* background_idle_ = nullptr;  // active: the next poll does not block
  uv_check_t* background_check_ = nullptr;
};

}  // namespace edge::gateway
