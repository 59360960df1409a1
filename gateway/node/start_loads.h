// The workers a node loads when it starts, shared by its serving threads.
//
// Each stored worker is loaded once, by whichever serving thread claims it
// first, in the order given (most recently used first), while the node
// already answers: a thread loads one between two turns of its ready work
// (NodeThread), so a request waits for one load at most. A request that
// arrives on a thread that does not hold its worker is handed to the
// thread that does (or is loading it); one whose worker no thread has
// claimed yet claims it for its own thread (it is loaded there, in the
// request's turn). Under a memory budget, a thread stops claiming once its
// share is full (Full); when every thread is full, the workers left are
// counted as not fitting and load on their first request, as after an
// eviction.
//
// Thread-safe: claims and results are atomics; the list and the index by
// name are fixed when it is made. Every operation is O(1) but ClaimNext,
// which skips the workers already claimed (each is skipped once in all).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/node/node_state.h"

namespace edge::gateway {

class StartLoads {
 public:
  // What became of the workers so far.
  struct Progress {
    size_t workers = 0;
    size_t loaded = 0;
    size_t failed = 0;    // did not load (logged); their requests get 503s
    size_t unfit = 0;     // left for their first request: the budget was full
    size_t gone = 0;      // replaced or deleted before their turn
    size_t pending = 0;   // not loaded yet
    // Time from the moment the list was made to the last result (0 while
    // some are pending).
    double finished_ms = 0;
    std::vector<size_t> loaded_by_thread;
  };

  // `order`: the workers to load, first first. `threads`: serving threads.
  StartLoads(std::vector<std::shared_ptr<const ServedWorker>> order, int threads);
  StartLoads(const StartLoads&) = delete;
  StartLoads& operator=(const StartLoads&) = delete;

  // Told once, on the thread that resolved the last worker (right away, in
  // the constructor's caller, when there is none). Set before any thread
  // uses the list.
  void SetOnFinished(std::function<void()> on_finished);

  // The next worker `thread` loads in the background (claimed for it), or
  // null when every worker is claimed.
  std::shared_ptr<const ServedWorker> ClaimNext(int thread);

  // For a request to `served` on `thread`, which does not hold it: the
  // thread that holds it or is loading it. When no thread has claimed it,
  // `thread` claims it and gets its own index (it loads it). -1 when the
  // list does not know this instance (a later deploy, a worker that did
  // not fit): load it where the request is, as any cold load.
  int HolderOrClaim(const ServedWorker& served, int thread);

  // A load of `served` ended on `thread`, through any path (a background
  // load, a request's): its result, when `served` is the instance listed.
  void Loaded(const ServedWorker& served, int thread, bool ok);
  // `served` was claimed but is no longer what the node serves (redeployed
  // or deleted before its turn).
  void Gone(const ServedWorker& served);
  // `thread`'s share of the memory budget is full: it claims nothing more.
  // Once every thread is, the workers nobody claimed are counted unfit.
  void Full(int thread);

  Progress progress() const;
  bool finished() const { return resolved_.load() == entries_.size(); }
  size_t size() const { return entries_.size(); }

 private:
  enum Result : uint8_t { kPending, kLoaded, kFailed, kUnfit, kGone };
  static constexpr int kUnclaimed = -1;
  static constexpr int kNobody = -2;  // unfit: nobody will load it at start
  struct Entry {
    std::shared_ptr<const ServedWorker> served;
    std::atomic<int> holder{kUnclaimed};
    std::atomic<uint8_t> result{kPending};
  };
  // The entry listing this very instance, or null.
  Entry* Find(const ServedWorker& served);
  void Resolve(Entry& entry, Result result, int thread);

  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
  std::atomic<size_t> cursor_{0};
  std::atomic<size_t> resolved_{0};
  std::atomic<size_t> counts_[5] = {};
  std::unique_ptr<std::atomic<size_t>[]> loaded_by_thread_;
  std::unique_ptr<std::atomic<bool>[]> full_;
  int threads_;
  std::atomic<int> full_count_{0};
  std::chrono::steady_clock::time_point made_ = std::chrono::steady_clock::now();
  std::atomic<int64_t> finished_us_{0};
  std::function<void()> on_finished_;
};

}  // namespace edge::gateway
