// The fleet view: which PoPs replicate, how far they are, when each was last
// heard from. Every replica checks in with its upstream (origin or relay)
// every couple of seconds, passing on what it heard from the PoPs below it,
// so the origin knows the whole tree. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edge::sync {

struct PopStatus {
  std::string pop_id;
  uint64_t cursor = 0;           // the last entry it applied
  uint64_t upstream_head = 0;    // the head its upstream last told it
  uint64_t last_contact_ms = 0;  // when it last heard from its upstream
  uint64_t refused = 0;          // entries or blobs it refused
  uint64_t kv_refused = 0;       // its workers' KV writes the origin refused, since it started
  std::string kv_last_refused;   // the last of them: method, key, namespace, the answer
  std::string via;               // the pop_id of the relay it reports through ("" = direct)
  bool cron_candidate = false;   // offers to be the fleet's cron home (run_crons not set)
  uint64_t reported_ms = 0;      // when this report reached this node
};

class Fleet {
 public:
  // A PoP not heard from (no report reached this node) for this long is
  // dropped from the view: 24 hours.
  static constexpr uint64_t kDefaultForgetAfterMs = uint64_t{24} * 60 * 60 * 1000;

  // `forget_after_ms` 0: never drop a PoP.
  explicit Fleet(uint64_t forget_after_ms = kDefaultForgetAfterMs)
      : forget_after_ms_(forget_after_ms) {}
  void set_forget_after_ms(uint64_t ms) {
    std::lock_guard<std::mutex> lock(mutex_);
    forget_after_ms_ = ms;
  }

  void Report(const std::vector<PopStatus>& pops, uint64_t now_ms);
  // Every PoP reported within the forget time before `now_ms`, by pop_id;
  // older ones are dropped for good.
  std::vector<PopStatus> Pops(uint64_t now_ms);

  // A check-in body: {"pops":[{...}, ...]}.
  static std::string Encode(const std::vector<PopStatus>& pops);
  static StatusOr<std::vector<PopStatus>> Decode(std::string_view json);

 private:
  mutable std::mutex mutex_;
  uint64_t forget_after_ms_;
  std::map<std::string, PopStatus> pops_;
};

}  // namespace edge::sync
