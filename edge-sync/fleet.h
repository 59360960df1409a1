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
  uint64_t reported_ms = 0;      // when this report reached this node
};

class Fleet {
 public:
  void Report(const std::vector<PopStatus>& pops, uint64_t now_ms);
  std::vector<PopStatus> Pops() const;

  // A check-in body: {"pops":[{...}, ...]}.
  static std::string Encode(const std::vector<PopStatus>& pops);
  static StatusOr<std::vector<PopStatus>> Decode(std::string_view json);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, PopStatus> pops_;
};

}  // namespace edge::sync
