// Workers Queues storage on LMDB: the messages behind `env.<BINDING>.send()`
// for each `[[queues.producers]]` entry, what the consumer engine
// (queue_engine.h) leases, acknowledges, retries and dead-letters, and what
// `edge queues` lists, creates, deletes and purges. No V8 here: every method
// is a blocking call, safe from several threads at once (the natives call
// Send on libuv's thread pool, the engine the rest on its loop).
//
// One LMDB environment per data directory: `<state_dir>/queues`. Queues
// belong to an account; a queue name is unique per account. A Send returns
// once its transaction is committed (LMDB fsyncs): a send that resolved
// survives kill -9.
//
// Layout (four named databases):
//   meta      "format" -> "1"; "next_seq" -> u64
//   queues    account \0 queue -> created ms, retention s
//   messages  account \0 queue \0 u64 seq -> enqueued ms, visible-at ms,
//             attempts, content type, id, body
//   usage     account -> u64 bytes stored (bodies and a fixed overhead each)
// The sequence is global and grows, so a queue's messages are in the order
// they entered it (a dead letter enters its queue when it is moved there):
// the retention sweep stops at the first message still kept.
//
// Leases (a message handed to a consumer and not settled yet) are kept in
// memory only: after a crash every message not acknowledged is delivered
// again (at-least-once); its attempt count, bumped by Lease in the same
// transaction, survives.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"

namespace edge::bindings {

// Workers Queues' limits, shared by the store, the natives and `edge queues`.
inline constexpr size_t kQueueMaxMessageBytes = 128 * 1024;
inline constexpr size_t kQueueMaxBatchMessages = 100;
inline constexpr size_t kQueueMaxBatchBytes = 256 * 1024;
inline constexpr int64_t kQueueMaxDelaySeconds = 12 * 3600;
inline constexpr int64_t kQueueDefaultRetentionSeconds = 4 * 24 * 3600;
inline constexpr int64_t kQueueMaxRetentionSeconds = 14 * 24 * 3600;
inline constexpr size_t kQueueMaxNameBytes = 63;
// What an account may keep in its queues unless the host says otherwise.
inline constexpr uint64_t kQueueDefaultAccountQuotaBytes = uint64_t{1} << 30;
// What each message costs in the quota besides its body.
inline constexpr uint64_t kQueueMessageOverheadBytes = 64;
// Content types as Workers names them.
inline constexpr std::string_view kQueueContentTypes[] = {"json", "text", "bytes", "v8"};

using QueueClock = std::function<int64_t()>;  // Unix milliseconds now

// A queue name as Workers accepts it: 1 to 63 of a-z, 0-9 and '-', not
// starting or ending with '-'.
Status ValidateQueueName(std::string_view name);

struct QueueSendMessage {
  std::string body;          // serialized by the producer
  std::string content_type;  // one of kQueueContentTypes
  int64_t delay_seconds = 0;
};

struct QueueMessage {
  std::string id;            // 32 hex digits
  std::string body;
  std::string content_type;
  int64_t timestamp_ms = 0;  // when it entered the queue
  uint32_t attempts = 0;     // deliveries so far, this one included
};

struct QueueInfo {
  std::string name;
  int64_t created_ms = 0;
  int64_t retention_seconds = kQueueDefaultRetentionSeconds;
  uint64_t depth = 0;          // messages kept (delayed and leased ones too)
  uint64_t bytes = 0;
  int64_t oldest_ms = 0;       // enqueue time of the oldest message; 0: none
};

// What a consumer decided for one leased message.
struct QueueDecision {
  enum Kind { kAck, kRetry };
  std::string id;
  Kind kind = kAck;
  int64_t delay_seconds = 0;
};

// A message as it is kept, with what a copy in another store needs to be
// the same message: its id, its enqueue time, when it may be delivered and
// the deliveries it has had (edge-sync moves messages between nodes).
struct QueueStoredMessage {
  std::string id;            // 32 hex digits
  std::string body;
  std::string content_type;
  int64_t timestamp_ms = 0;  // when it entered the queue (first, on any node)
  int64_t visible_ms = 0;    // not deliverable before
  uint32_t attempts = 0;     // deliveries so far
};

// A copy of a message for one of an account's queues (Import).
struct QueueImport {
  std::string queue;
  QueueStoredMessage message;
};

// A message Hold took out of circulation: where it is kept (`key`, for
// Release and Remove) and whose it is.
struct QueueHeldMessage {
  std::string key;
  std::string account;
  std::string queue;
  QueueStoredMessage message;
};

struct QueueSettleResult {
  uint64_t acked = 0;
  uint64_t retried = 0;
  uint64_t dead_lettered = 0;
  uint64_t dropped = 0;  // out of retries with no dead-letter queue
};

class QueueStore {
 public:
  struct Options {
    size_t map_size = size_t{1} << 30;
    uint64_t account_quota_bytes = kQueueDefaultAccountQuotaBytes;
  };
  // Opens (or creates) `<state_dir>/queues`; within one process a second
  // Open of the same folder returns the same store.
  static StatusOr<std::shared_ptr<QueueStore>> Open(const std::string& state_dir, Options options,
                                                    QueueClock clock);
  ~QueueStore();
  QueueStore(const QueueStore&) = delete;
  QueueStore& operator=(const QueueStore&) = delete;

  // Creates a queue; kAlreadyExists when it does. `retention_seconds` 0:
  // the default (4 days).
  Status CreateQueue(std::string_view account, std::string_view queue, int64_t retention_seconds = 0);
  // Creates the queue when it does not exist (the queues a worker's config
  // names are made when it is loaded or deployed).
  Status EnsureQueue(std::string_view account, std::string_view queue);
  // Deletes a queue and its messages; kNotFound when there is none.
  Status DeleteQueue(std::string_view account, std::string_view queue);
  // Deletes every message of a queue; returns how many.
  StatusOr<uint64_t> Purge(std::string_view account, std::string_view queue);
  StatusOr<std::vector<QueueInfo>> ListQueues(std::string_view account);
  StatusOr<QueueInfo> Info(std::string_view account, std::string_view queue);
  // Every account with a queue, and its queues (the node's metrics).
  StatusOr<std::vector<std::pair<std::string, QueueInfo>>> AllQueues();

  // Stores `messages` in one transaction (all or none); returns once it is
  // committed. Refused when the queue does not exist, a limit is broken or
  // the account's quota would be exceeded.
  Status Send(std::string_view account, std::string_view queue,
              const std::vector<QueueSendMessage>& messages);
  // Called (on the sending thread, briefly, under the store's lock) after a
  // send that holds a message deliverable at once committed: the consumer
  // engine wakes then instead of at its next poll. Null: none.
  void SetOnSend(std::function<void()> on_send);

  // How many messages (at most `max`) could be leased now, and since when
  // the earliest of them has been deliverable (Unix ms; 0 with none).
  struct Ready {
    size_t count = 0;
    int64_t since_ms = 0;
  };
  StatusOr<Ready> Peek(std::string_view account, std::string_view queue, size_t max);
  // Leases up to `max` deliverable messages, oldest first, bumping their
  // attempts; they are not handed out again until settled or released.
  StatusOr<std::vector<QueueMessage>> Lease(std::string_view account, std::string_view queue,
                                            size_t max);
  // Settles leased messages: an ack deletes one; a retry makes it
  // deliverable again after its delay, unless it has had `max_retries`
  // retries already: then it moves to `dead_letter_queue` (created if
  // needed) or, with none, is dropped (and logged).
  StatusOr<QueueSettleResult> Settle(std::string_view account, std::string_view queue,
                                     const std::vector<QueueDecision>& decisions,
                                     uint32_t max_retries, std::string_view dead_letter_queue);
  // Deletes the messages kept longer than their queue's retention period;
  // returns how many.
  StatusOr<uint64_t> SweepExpired();
  // Moving messages to another node (edge-sync). Hold takes up to
  // `max_messages` messages (and at most `max_bytes` of bodies, but always
  // one when there is one) out of circulation, oldest first within each
  // queue, whether deliverable yet or not: no consumer lease, and no other
  // Hold, takes them until they are Released or Removed (or the process
  // ends). Messages leased to a consumer are not taken; nor those of the
  // accounts in `skip_accounts`. `one_account`: only the first account's.
  // A call looks at no more than 10,000 messages besides those it skips.
  struct HoldOptions {
    size_t max_messages = kQueueMaxBatchMessages;
    size_t max_bytes = 1u << 20;
    bool one_account = false;
    std::vector<std::string> skip_accounts;
  };
  StatusOr<std::vector<QueueHeldMessage>> Hold(const HoldOptions& options);
  // Puts held messages back in circulation.
  void Release(const std::vector<std::string>& keys);
  // Deletes held messages (those still kept) in one transaction; returns
  // how many were deleted.
  StatusOr<uint64_t> Remove(const std::vector<std::string>& keys);
  // Stores copies of messages from another node, for queues of one
  // account, in one transaction (all or none), each with its id,
  // timestamp, visible-at time and attempts; a queue is created when it
  // does not exist. Refused under the same rules
  // as Send (limits, content types, the account's quota; `*quota_full` is
  // set when that is why).
  Status Import(std::string_view account, const std::vector<QueueImport>& messages,
                bool* quota_full = nullptr);

  // Bytes an account's queues hold against its quota.
  uint64_t AccountBytes(std::string_view account);
  uint64_t account_quota_bytes() const { return options_.account_quota_bytes; }
  const QueueClock& clock() const { return clock_; }

 private:
  struct Dbs {
    MDB_dbi meta = 0, queues = 0, messages = 0, usage = 0;
  };
  QueueStore(std::unique_ptr<base::LmdbEnv> env, Dbs dbs, Options options, QueueClock clock,
             std::string path);
  // The queue's record in `txn`; kNotFound when it does not exist.
  StatusOr<int64_t> RetentionOf(MDB_txn* txn, std::string_view account, std::string_view queue);
  Status CreateIn(MDB_txn* txn, std::string_view account, std::string_view queue,
                  int64_t retention_seconds, bool exists_ok);
  Status AddUsage(MDB_txn* txn, std::string_view account, int64_t delta);
  // Refused when `cost` more bytes would put the account over its quota
  // (`*quota_full` set, when given).
  Status CheckQuota(MDB_txn* txn, std::string_view account, uint64_t cost, bool* quota_full);
  StatusOr<uint64_t> NextSeq(MDB_txn* txn);
  // Stores an encoded message under `prefix` (its account and queue) at the
  // next sequence number: after every message already there.
  Status AppendMessage(MDB_txn* txn, const std::string& prefix, const std::string& encoded);
  // Deletes these message keys (and their leases).
  Status DeleteKeys(MDB_txn* txn, const std::vector<std::string>& keys);
  // Deletes every message under `prefix`; returns count and bytes.
  StatusOr<std::pair<uint64_t, uint64_t>> DeleteUnder(MDB_txn* txn, const std::string& prefix);

  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_;
  Options options_;
  QueueClock clock_;
  std::string path_;
  // Leased message keys (messages db) -> lease time.
  std::mutex mutex_;
  std::function<void()> on_send_;  // guarded by mutex_
  std::map<std::string, int64_t> leased_;
};

}  // namespace edge::bindings
