#include "gateway/node/ready_queue.h"

#include <algorithm>
#include <utility>

namespace edge::gateway {

ReadyQueue::ReadyQueue(size_t max_queued) : max_queued_(max_queued) {}

ReadyQueue::~ReadyQueue() { Clear(); }

ReadyQueue::Flow& ReadyQueue::FlowOf(const std::string& worker, uint64_t weight) {
  auto [it, added] = flows_.try_emplace(worker);
  Flow& flow = it->second;
  if (added) flow.vtime = now_;
  flow.weight = std::max<uint64_t>(weight, 1);
  return flow;
}

bool ReadyQueue::Push(const std::string& worker, uint64_t weight, Task&& task) {
  Flow& flow = FlowOf(worker, weight);
  if (flow.tasks.size() >= max_queued_) return false;
  flow.tasks.push_back(std::move(task));
  ++queued_;
  if (flow.heap_index == kNotQueued) {
    // Back from idle: no credit kept for the time it had nothing to run.
    flow.vtime = std::max(flow.vtime, now_);
    flow.order = next_order_++;
    HeapPush(&flow);
  }
  return true;
}

bool ReadyQueue::RunNext() {
  if (heap_.empty()) return false;
  Flow* flow = heap_.front();
  now_ = std::max(now_, flow->vtime);
  Task task = std::move(flow->tasks.front());
  flow->tasks.pop_front();
  --queued_;
  if (flow->tasks.empty()) HeapErase(flow);
  // The flow may be charged, removed or given more work while this runs;
  // nothing here touches it afterwards.
  task(true);
  return true;
}

void ReadyQueue::Charge(const std::string& worker, uint64_t weight, uint64_t cpu_ns) {
  Flow& flow = FlowOf(worker, weight);
  // (CPU time past 2^40 ns, 18 minutes, is far past any cap.)
  uint64_t advance = std::min<uint64_t>(cpu_ns, uint64_t{1} << 40) * kWeightUnit / flow.weight;
  uint64_t start = std::max(flow.vtime, now_);
  flow.vtime = std::min(start + advance, now_ + kMaxLeadNs);
  if (flow.heap_index != kNotQueued) SiftDown(flow.heap_index);
}

void ReadyQueue::Remove(const std::string& worker) {
  auto it = flows_.find(worker);
  if (it == flows_.end()) return;
  std::deque<Task> tasks = std::move(it->second.tasks);
  if (it->second.heap_index != kNotQueued) HeapErase(&it->second);
  queued_ -= tasks.size();
  flows_.erase(it);
  Drop(tasks);
}

void ReadyQueue::Clear() {
  std::vector<std::deque<Task>> dropped;
  dropped.reserve(heap_.size());
  for (Flow* flow : heap_) dropped.push_back(std::move(flow->tasks));
  heap_.clear();
  flows_.clear();
  queued_ = 0;
  for (std::deque<Task>& tasks : dropped) Drop(tasks);
}

void ReadyQueue::Prune() {
  std::erase_if(flows_, [this](const auto& entry) {
    const Flow& flow = entry.second;
    return flow.heap_index == kNotQueued && flow.vtime <= now_;
  });
}

size_t ReadyQueue::queued(const std::string& worker) const {
  auto it = flows_.find(worker);
  return it == flows_.end() ? 0 : it->second.tasks.size();
}

uint64_t ReadyQueue::virtual_time(const std::string& worker) const {
  auto it = flows_.find(worker);
  return it == flows_.end() ? now_ : it->second.vtime;
}

void ReadyQueue::Drop(std::deque<Task>& tasks) {
  for (Task& task : tasks) task(false);
}

bool ReadyQueue::Before(const Flow* a, const Flow* b) {
  return a->vtime != b->vtime ? a->vtime < b->vtime : a->order < b->order;
}

void ReadyQueue::Place(size_t index, Flow* flow) {
  heap_[index] = flow;
  flow->heap_index = index;
}

void ReadyQueue::HeapPush(Flow* flow) {
  heap_.push_back(flow);
  flow->heap_index = heap_.size() - 1;
  SiftUp(flow->heap_index);
}

void ReadyQueue::HeapErase(Flow* flow) {
  size_t index = flow->heap_index;
  flow->heap_index = kNotQueued;
  Flow* last = heap_.back();
  heap_.pop_back();
  if (last == flow) return;
  Place(index, last);
  SiftDown(index);
  SiftUp(last->heap_index);
}

void ReadyQueue::SiftUp(size_t index) {
  Flow* flow = heap_[index];
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!Before(flow, heap_[parent])) break;
    Place(index, heap_[parent]);
    index = parent;
  }
  Place(index, flow);
}

void ReadyQueue::SiftDown(size_t index) {
  Flow* flow = heap_[index];
  size_t size = heap_.size();
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], flow)) break;
    Place(index, heap_[child]);
    index = child;
  }
  Place(index, flow);
}

}  // namespace edge::gateway
