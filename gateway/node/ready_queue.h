// The work ready to enter isolates on one thread (a request to start, a
// service-binding call or background invocation handed over by another
// thread), queued per worker and run in weighted fair order: CPU follows
// memory, as on FaaS platforms. Each worker weighs its `[limits] memory_mb`,
// and its virtual time advances by the CPU it used times 128 / memory_mb;
// the next task is the oldest of the worker whose virtual time is least
// (start-time fair queuing). Two CPU-bound workers of 128 and 256 MiB that
// keep a thread saturated so get about 1:2 of its CPU.
//
// - FIFO within a worker.
// - Nobody starves: a worker that had nothing queued starts again at the
//   queue's virtual time (no credit saved while idle), and the debt a
//   charge may leave it (CPU used outside a queued task: continuations
//   after I/O, timers, waitUntil work) is capped at kMaxLeadNs of virtual
//   time, so even a worker of weight 16 is picked again once the others
//   have caught up that far.
// - A pick is O(log w) for w workers with work queued (a binary heap of
//   them), and allocates nothing.
// - At most max_queued tasks per worker: a worker that floods its own
//   queue is refused past that (Push returns false), and does not delay
//   the other workers by more than its fair share.
//
// One thread only; no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace edge::gateway {

class ReadyQueue {
 public:
  // Called once: with true to run the work, or with false when it is
  // dropped unrun (its worker removed, the queue cleared): it must then
  // answer without entering an isolate.
  using Task = std::function<void(bool run)>;

  // A task's virtual time is CPU ns * kWeightUnit / weight: a worker of
  // 128 MiB advances at the rate of real CPU time.
  static constexpr uint64_t kWeightUnit = 128;
  // The most virtual time a worker can be ahead of the queue (its debt).
  static constexpr uint64_t kMaxLeadNs = 1'000'000'000;
  // Tasks one worker may have queued on one thread by default.
  static constexpr size_t kDefaultMaxQueued = 1024;

  explicit ReadyQueue(size_t max_queued = kDefaultMaxQueued);
  ~ReadyQueue();
  ReadyQueue(const ReadyQueue&) = delete;
  ReadyQueue& operator=(const ReadyQueue&) = delete;

  // Queues `task` after `worker`'s others; `weight` (its memory_mb, at
  // least 1) is the worker's from now on. False, `task` left as it was,
  // when the worker already has max_queued tasks queued.
  bool Push(const std::string& worker, uint64_t weight, Task&& task);
  // Takes the next task off the queue and runs it. False when empty.
  bool RunNext();
  // `worker` used `cpu_ns` of this thread's CPU: its virtual time moves on
  // (capped at kMaxLeadNs ahead of the queue's).
  void Charge(const std::string& worker, uint64_t weight, uint64_t cpu_ns);
  // Drops `worker`'s queued tasks (each called with false, in order) and
  // forgets it.
  void Remove(const std::string& worker);
  // Drops every queued task, each called with false.
  void Clear();
  // Forgets the workers with nothing queued and no debt (they would start
  // at the queue's virtual time anyway), so the table stays as small as
  // the set of recently busy workers.
  void Prune();

  bool empty() const { return queued_ == 0; }
  size_t size() const { return queued_; }
  size_t queued(const std::string& worker) const;
  size_t workers() const { return flows_.size(); }
  uint64_t virtual_time() const { return now_; }
  // A worker's virtual time (the queue's own for one it does not know).
  uint64_t virtual_time(const std::string& worker) const;

 private:
  static constexpr size_t kNotQueued = SIZE_MAX;
  struct Flow {
    uint64_t weight = kWeightUnit;
    uint64_t vtime = 0;
    uint64_t order = 0;  // when it last got work queued: breaks ties, oldest first
    size_t heap_index = kNotQueued;
    std::deque<Task> tasks;
  };

  Flow& FlowOf(const std::string& worker, uint64_t weight);
  static bool Before(const Flow* a, const Flow* b);
  void HeapPush(Flow* flow);
  void HeapErase(Flow* flow);
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  void Place(size_t index, Flow* flow);
  // Drops the tasks of a flow already taken out of the heap and table.
  static void Drop(std::deque<Task>& tasks);

  size_t max_queued_;
  std::unordered_map<std::string, Flow> flows_;
  std::vector<Flow*> heap_;  // the workers with work queued, least virtual time first
  uint64_t now_ = 0;         // the queue's virtual time: the start of the last task run
  uint64_t next_order_ = 0;
  size_t queued_ = 0;
};

}  // namespace edge::gateway
