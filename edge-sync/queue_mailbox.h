// Queues in a fleet (docs/edge-sync.md, "Queues in a fleet"): the origin's
// mailbox. PoPs that are not the queues' home keep their workers' sends in
// their own queue store (an outbox) and post them here
// (`POST /sync/queues/put`); the origin commits them to its own queue store
// before it answers, under the account's quota. The home (the fleet's cron
// home, named by the origin with a term) takes them in batches
// (`POST /sync/queues/take`), commits them to its store, then acknowledges
// (`POST /sync/queues/ack`): only then are they deleted here. A batch not
// acknowledged within the lease (30 s) is handed out again. So a message is
// in at least one durable store at every moment: duplicates are possible at
// each hop, losses are not.
//
// A relay serves `put` too, into its own store: its forwarder then treats
// the messages as its own (it delivers them when it is the home, or posts
// them on to the origin). `take` and `ack` are the origin's only.
//
// Also the wire format, which the PoP's side (queue_forwarder.h) shares.
// Not thread-safe: the origin and the relay call it on their control loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "bindings/queues/queue_store.h"
#include "edge-sync/cron_home.h"

namespace edge::gateway {
class Node;
class NodeMetrics;
}  // namespace edge::gateway

namespace edge::sync {

// What the origin accepts in one call (and a PoP sends at most).
inline constexpr size_t kQueuePutMaxBodyBytes = 8u << 20;
inline constexpr size_t kQueuePutMaxMessages = 500;
inline constexpr size_t kQueueTakeMaxMessages = 500;
inline constexpr size_t kQueueTakeMaxBytes = 4u << 20;  // of bodies, per answer
inline constexpr size_t kQueueSyncMaxSkippedAccounts = 100;

// POST /sync/queues/put: messages of one account, for any of its queues.
struct QueuePutBatch {
  std::string pop_id;
  std::string account;
  std::vector<bindings::QueueImport> messages;
};
std::string EncodeQueuePut(const QueuePutBatch& batch);
// kInvalidInput naming what is wrong (malformed JSON, a missing or bad
// field, more than kQueuePutMaxMessages, a body that is not base64 or is
// over 128 KiB).
StatusOr<QueuePutBatch> DecodeQueuePut(std::string_view json);

// POST /sync/queues/take: the home asks for up to `max` messages (of any
// account but those in `skip`).
struct QueueTakeRequest {
  std::string pop_id;
  uint64_t term = 0;
  size_t max = 100;
  std::vector<std::string> skip;
};
std::string EncodeQueueTake(const QueueTakeRequest& take);
StatusOr<QueueTakeRequest> DecodeQueueTake(std::string_view json);

// Its answer: the lease ("" with no messages) and the messages, each with
// its account and queue; they are named by their place in the list when
// acknowledged.
struct QueueTakeAnswer {
  std::string lease;
  struct Item {
    std::string account;
    bindings::QueueImport message;
  };
  std::vector<Item> messages;
};
std::string EncodeQueueTakeAnswer(const QueueTakeAnswer& answer);
StatusOr<QueueTakeAnswer> DecodeQueueTakeAnswer(std::string_view json);

// POST /sync/queues/ack: the places (in the take's answer) of the messages
// the home committed; the lease's other messages are handed out again.
struct QueueAck {
  std::string pop_id;
  std::string lease;
  std::vector<uint64_t> done;
};
std::string EncodeQueueAck(const QueueAck& ack);
StatusOr<QueueAck> DecodeQueueAck(std::string_view json);

// Whether `node` knows an account of that name (the default account
// always), for QueueMailbox's `account_exists`. Control loop.
std::function<bool(std::string_view account)> NodeAccountExists(gateway::Node& node);

class QueueMailbox {
 public:
  struct Options {
    // How long the home has to acknowledge a take.
    int64_t lease_ms = 30'000;
    // How often messages past their queue's retention are deleted (at a
    // put or a take, at most this often).
    int64_t sweep_every_ms = 60'000;
    // Unix ms now (default: the system clock).
    std::function<int64_t()> clock;
  };
  // `account_exists`: whether this node knows the account (a put for one it
  // does not know is refused). `home`: the queues' home now, consulted by
  // take; null on a relay (take and ack are refused there).
  QueueMailbox(std::shared_ptr<bindings::QueueStore> store,
               std::function<bool(std::string_view account)> account_exists,
               std::function<CronHomeState()> home, Options options);

  struct Answer {
    int status = 200;
    std::string json;  // the body, without the trailing newline
  };
  // `path` is one of /sync/queues/{put,take,ack}; anything else is 404,
  // and a method other than POST 405.
  Answer Handle(std::string_view path, std::string_view method, std::string_view body);
  Answer Put(std::string_view body);
  Answer Take(std::string_view body);
  Answer Ack(std::string_view body);

  // Messages handed out and not acknowledged yet.
  size_t leased() const;
  struct Counts {
    uint64_t received = 0;  // messages committed from puts
    uint64_t handed = 0;    // messages handed out by takes (again after a lease too)
    uint64_t acked = 0;     // messages deleted on acknowledgement
    uint64_t refused = 0;   // calls answered 4xx or 507
  };
  const Counts& counts() const { return counts_; }
  // The origin's queue metrics (edge_sync_queue_*).
  void UpdateMetrics(gateway::NodeMetrics& metrics);

 private:
  struct Lease {
    std::string pop_id;
    std::vector<std::string> keys;  // in the order handed out
    int64_t expires_ms = 0;
  };
  void ExpireLeases(int64_t now);
  void MaybeSweep(int64_t now);
  Answer Refuse(int status, std::string_view message);

  std::shared_ptr<bindings::QueueStore> store_;
  std::function<bool(std::string_view)> account_exists_;
  std::function<CronHomeState()> home_;
  Options options_;
  std::map<std::string, Lease> leases_;
  int64_t last_sweep_ms_ = 0;
  Counts counts_;
  Counts reported_;
};

}  // namespace edge::sync
