// Shares the CPU time of an isolate's entries among the requests open while
// they ran. An isolate may serve several requests at once, and the runtime
// cannot tell which request a promise reaction belongs to without a hook per
// microtask; so each entry's CPU time is split evenly among the requests
// open during it. Serving one request at a time this is exact, and the
// charges of all requests always add up to the isolate's CPU time (what the
// worker is billed), whatever the overlap.
//
// The split is kept as one running sum ("CPU per open request so far"):
// a request remembers the sum when it opens and is charged the difference
// when it closes. The marks of open requests sit in a small vector (an
// isolate rarely has more than a few requests open; no allocation per
// request once it has grown).
//
// A request that belongs to a service-binding chain (request_chain.h) also
// passes each share on to its chain as it is charged, so the chain knows,
// across isolates and threads, what all its invocations used so far.
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "runtime/request_chain.h"

namespace edge::runtime {

class CpuAccount {
 public:
  // A request opens (in `chain`, if it is part of one); the returned mark
  // is given back to Close.
  double Open(std::shared_ptr<RequestChain> chain = nullptr) {
    open_.push_back(per_request_ns_);
    if (chain && chain->has_cpu_budget()) chains_.push_back({per_request_ns_, std::move(chain)});
    return per_request_ns_;
  }
  // The request closes (`chain`: the one it was opened in): the CPU time it
  // is charged, in nanoseconds. Requests opened with the same mark and chain
  // are alike, so whichever of them is dropped does not matter.
  uint64_t Close(double mark, const RequestChain* chain = nullptr) {
    for (size_t i = 0; i < open_.size(); ++i) {
      if (open_[i] == mark) {
        open_[i] = open_.back();
        open_.pop_back();
        break;
      }
    }
    for (size_t i = 0; i < chains_.size(); ++i) {
      if (chains_[i].mark == mark && chains_[i].chain.get() == chain) {
        chains_[i] = std::move(chains_.back());
        chains_.pop_back();
        break;
      }
    }
    return static_cast<uint64_t>(per_request_ns_ - mark + 0.5);
  }
  // One entry into the isolate used `ns` of CPU.
  void Charge(uint64_t ns) {
    total_ns_ += ns;
    if (open_.empty()) {
      unattributed_ns_ += ns;
    } else {
      per_request_ns_ += static_cast<double>(ns) / open_.size();
      for (const OpenInChain& open : chains_) open.chain->ChargeCpu(ns / open_.size());
    }
  }
  // A request is open (its entries are charged to it).
  bool has_open() const { return !open_.empty(); }
  // How much CPU the next entry may use before the most charged open
  // request goes over `limit_ns`; `limit_ns` itself when none is open (a
  // timer or waitUntil work after the response: each entry gets the limit).
  uint64_t EntryBudget(uint64_t limit_ns) const {
    if (open_.empty()) return limit_ns;
    double oldest = open_.front();
    for (double mark : open_) oldest = std::min(oldest, mark);
    double used = per_request_ns_ - oldest;
    if (used >= static_cast<double>(limit_ns)) return 1;
    return static_cast<uint64_t>((static_cast<double>(limit_ns) - used) * open_.size());
  }
  // How much CPU the next entry may use before a chain of an open request
  // runs out of its budget (each chain gets its requests' shares of the
  // entry), and that chain: kNoChainBudget (and no chain) when no open
  // request is in a chain with a budget, 0 when one is spent. Another
  // invocation of the same chain running meanwhile on another thread is not
  // seen until it charges: a fan-out can overrun its budget by the entries
  // running at once.
  static constexpr uint64_t kNoChainBudget = std::numeric_limits<uint64_t>::max();
  struct ChainBound {
    uint64_t entry_ns = kNoChainBudget;
    std::shared_ptr<RequestChain> chain;
  };
  ChainBound ChainEntryBudget() const {
    ChainBound bound;
    for (const OpenInChain& open : chains_) {
      size_t shares = 0;
      for (const OpenInChain& other : chains_) shares += other.chain == open.chain;
      uint64_t left = open.chain->CpuLeftNs();
      uint64_t entry = left == 0 ? 0
                                 : static_cast<uint64_t>(static_cast<double>(left) *
                                                         open_.size() / shares);
      if (entry < bound.entry_ns) bound = {entry, open.chain};
    }
    return bound;
  }
  // Every entry's CPU time since the isolate was created, and the part of
  // it no request was open for (timers and waitUntil work after the
  // response: the worker is billed for it all the same).
  uint64_t total_ns() const { return total_ns_; }
  uint64_t unattributed_ns() const { return unattributed_ns_; }
  size_t open_requests() const { return open_.size(); }

 private:
  double per_request_ns_ = 0;
  std::vector<double> open_;
  // The open requests that belong to a chain with a CPU budget.
  struct OpenInChain {
    double mark;
    std::shared_ptr<RequestChain> chain;
  };
  std::vector<OpenInChain> chains_;
  uint64_t total_ns_ = 0;
  uint64_t unattributed_ns_ = 0;
};

}  // namespace edge::runtime
