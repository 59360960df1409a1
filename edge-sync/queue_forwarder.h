// Queues in a fleet, a PoP's side (the origin's is queue_mailbox.h). The
// fleet's cron home is also the queues' home: the only PoP whose consumer
// engine delivers. On every other PoP the queue store is an outbox: sends
// commit there as on a single node (a resolved send survives kill -9 and an
// unreachable origin), and this forwarder's thread posts the oldest
// messages, one account at a time, to the upstream (`POST
// /sync/queues/put`), deleting them here only after a 2xx, which the
// upstream gives after its own commit. A refusal (a full quota at the
// origin, an account it does not know) keeps the messages here, logged and
// counted, and that account is tried again 10 s later; an unreachable
// upstream is retried with backoff.
//
// On the home, the same thread pulls: `POST /sync/queues/take` with its
// pop_id and term, commits the batch to the store, then `POST
// /sync/queues/ack`. Its own sends go straight into its store.
//
// A PoP with `run_crons = true` is never the home and keeps today's local
// delivery of its own queues: it neither forwards nor pulls. The role is
// looked at before each step, so a handover needs nothing more: the new
// home pulls what the origin holds, the old one forwards what it still
// holds once it is told it is not the home.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/http_client/http_client.h"
#include "bindings/queues/queue_store.h"
#include "edge-sync/cron_home.h"

namespace edge::gateway {
class NodeMetrics;
}

namespace edge::sync {

class QueueForwarder {
 public:
  struct Options {
    // Nothing to do: looked at again after this.
    uint64_t idle_ms = 200;
    // An unreachable upstream: 200 ms, doubling up to this.
    uint64_t max_backoff_ms = 5000;
    // An account whose messages were refused (here or at the home's
    // store): tried again after this.
    uint64_t refused_retry_ms = 10'000;
    size_t batch_messages = 100;
    size_t batch_bytes = 1u << 20;
  };
  // `home`: the home and term the upstream's last check-in answer named
  // (CronClaimer::home); `delivers_locally`: run_crons = true.
  QueueForwarder(base::HttpTarget upstream, std::string pop_id,
                 std::shared_ptr<bindings::QueueStore> store, std::function<CronHomeState()> home,
                 bool delivers_locally, Options options);
  ~QueueForwarder();  // Stop()s
  QueueForwarder(const QueueForwarder&) = delete;
  QueueForwarder& operator=(const QueueForwarder&) = delete;

  void Start();
  void Stop();

  // Whether this node's consumer engine delivers now: it is the home, or
  // delivers its own queues (run_crons = true). Any thread.
  bool Delivers() const;

  struct Counts {
    uint64_t forwarded = 0;  // messages the upstream committed (deleted here)
    uint64_t pulled = 0;     // messages taken from the origin, committed here
    uint64_t refused = 0;    // puts refused by the upstream (4xx, 507)
    uint64_t failed = 0;     // calls that could not reach the upstream or failed there
  };
  Counts counts() const;
  // The PoP's queue metrics (edge_sync_queue_*).
  void UpdateMetrics(gateway::NodeMetrics& metrics);

 private:
  void Run();
  // One step; false when there was nothing to do or it failed (`*failed`).
  bool Forward(bool* failed);
  bool Pull(const CronHomeState& home, bool* failed);
  std::vector<std::string> Refused(int64_t now);

  base::HttpTarget upstream_;
  std::string pop_id_;
  std::shared_ptr<bindings::QueueStore> store_;
  std::function<CronHomeState()> home_;
  bool delivers_locally_;
  Options options_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Counts counts_;    // guarded by mutex_
  Counts reported_;  // UpdateMetrics (control loop)
  // Accounts refused (by the upstream, or this store's quota) -> when to
  // try them again (forwarder thread).
  std::map<std::string, int64_t> refused_until_;
};

}  // namespace edge::sync
