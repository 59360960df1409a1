// What a PoP node serves at one moment: the route table, for every deployed
// worker the version to run with its secrets, and the operator's host
// policies. Immutable once
// published; a deploy builds a new NodeState and swaps it in whole, so a
// request sees either the old routes and versions or the new ones, never a
// mix.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/deploy/bundle.h"
#include "gateway/deploy/route_table.h"
#include "gateway/policy/policy_config.h"
#include "runtime/worker.h"

namespace edge::gateway {

// One worker as the node runs it.
struct ServedWorker {
  std::string name;
  uint64_t version = 0;
  // Changes whenever what the isolate is loaded from changes (a version, a
  // rollback, a secret): isolates are keyed by it.
  uint64_t instance = 0;
  runtime::WorkerSpec spec;  // modules in memory, vars, secrets, bindings, limits
  WorkerLimits limits;
  std::vector<std::string> routes;
  std::string sha256;  // of the bundle
  // The tenant: the account that owns the worker (never a field of its
  // bundle). Its KV namespaces and service bindings resolve inside it.
  std::string account;
  // Its `[[policies]]` tables, with keys from its secrets (null: none).
  std::shared_ptr<const policy::PolicyTables> policies;
  // The serving thread this instance was first loaded on when it arrived
  // (a deploy's validating load, a replica's load of a version it
  // received), or -1 when every serving thread loads its own. A worker new
  // to the node is loaded there only: another serving thread without an
  // isolate of it hands its requests there (NodeThread::HolderFor) until
  // it has handed over enough of them to load a copy of its own.
  int home_thread = -1;
};

struct NodeState {
  uint64_t generation = 0;
  RouteTable routes;
  std::unordered_map<std::string, std::shared_ptr<const ServedWorker>> workers;
  // The operator's host policies (null: none). A new set is a new state, so
  // a request keeps the tables it started with.
  std::shared_ptr<const policy::PolicyTables> host_policies;

  const std::shared_ptr<const ServedWorker>* Find(const std::string& name) const {
    auto it = workers.find(name);
    return it == workers.end() ? nullptr : &it->second;
  }
};

// Hands the current NodeState to every thread. Publishing takes a mutex;
// reading is an atomic load of the generation, and a locked copy of the
// pointer only when it changed (see StateReader).
class StateCell {
 public:
  void Publish(std::shared_ptr<const NodeState> state) {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = std::move(state);
    generation_.store(state_->generation, std::memory_order_release);
  }
  std::shared_ptr<const NodeState> Load() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const NodeState> state_;
  std::atomic<uint64_t> generation_{0};
};

// One thread's view of a StateCell: the state it last saw, refreshed when
// the generation moved.
class StateReader {
 public:
  explicit StateReader(const StateCell& cell) : cell_(cell) {}
  const NodeState& Current() {
    if (!state_ || cell_.generation() != state_->generation) state_ = cell_.Load();
    return *state_;
  }
  std::shared_ptr<const NodeState> Shared() {
    Current();
    return state_;
  }

 private:
  const StateCell& cell_;
  std::shared_ptr<const NodeState> state_;
};

}  // namespace edge::gateway
