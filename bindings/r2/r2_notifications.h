// R2 bucket event notifications: rules that send a message to a queue when
// an object of a bucket is created or deleted, as R2 does
// (https://developers.cloudflare.com/r2/buckets/event-notifications/).
//
// Rules come from two places: a worker's `[[r2_event_notifications]]`
// (edge.toml, carried in its bundle; the host hands every loaded worker's
// rules to SetConfigRules) and `edge r2 bucket notification create` on a
// node (AddRule: kept in the R2 index, per account and bucket).
//
// Atomicity. R2NotificationHook runs inside the LMDB transaction that
// indexes the object (R2Store::RecordChange): each message a change makes
// is written there to an outbox table of the same index. So an object that
// is stored has its events stored, and neither exists without the other.
// DeliverSome moves outbox entries into the queue store: it commits the
// queue send, then deletes the entries (at-least-once: a crash between the
// two delivers them again). A node runs it on a timer, and at startup, so
// the events of a put that resolved just before a kill -9 are delivered
// after the restart.
//
// Backlog. An account whose queues refuse its events (the queue storage
// quota is full) keeps them in the outbox, retried every second, without
// holding up other accounts. At most kR2MaxPendingEvents wait per account:
// past that, a write that would make an event fails (nothing is stored),
// so a put that resolved always has its event.
//
// Layout, in the R2 index (r2_store.h):
//   rules   owner \0 bucket -> the node's stored rules of that bucket
//   outbox  u64 sequence -> owner \0 queue \0 message body (JSON)
//   usage   "e:" + owner -> u64 events waiting in the outbox
//   meta    "next_event" -> u64
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "bindings/queues/queue_store.h"
#include "bindings/r2/r2_store.h"
#include "runtime/worker.h"

namespace edge::bindings {

// Events one account may have waiting for its queues.
inline constexpr uint64_t kR2MaxPendingEvents = 100000;
// Rules one bucket may have (stored and configured, each counted).
inline constexpr size_t kR2MaxRulesPerBucket = 100;
// The prefix and suffix of a rule: at most a key's length.
inline constexpr size_t kR2MaxRuleAffixBytes = kR2MaxKeyBytes;

// One rule: changes of `bucket` whose key starts with `prefix` and ends
// with `suffix`, of the kinds it names, go to `queue` (of the same account).
struct R2NotificationRule {
  std::string bucket;
  std::string queue;
  bool object_create = false;
  bool object_delete = false;
  std::string prefix;
  std::string suffix;
  bool operator==(const R2NotificationRule&) const = default;

  bool Matches(const R2Change& change) const;
  // ["object-create", "object-delete"] as far as they are set.
  std::vector<std::string> EventTypes() const;
};

// Sets the kind `type` names ("object-create" or "object-delete") on
// `rule`; an error naming it otherwise.
Status AddR2EventType(std::string_view type, R2NotificationRule* rule);
// A rule's fields are well formed: a valid bucket and queue name, at least
// one event type, a prefix and suffix no longer than a key.
Status ValidateR2NotificationRule(const R2NotificationRule& rule);

// The rule a `[[r2_event_notifications]]` entry makes, checked as
// ValidateR2NotificationRule does.
StatusOr<R2NotificationRule> R2RuleFromSpec(const runtime::R2EventNotificationSpec& spec);

// Whether `spec` names `queue` itself (a producer, a consumer or a
// dead-letter queue), so that it is made with the worker; a rule's queue
// that it does not name must exist already.
bool WorkerNamesQueue(const runtime::WorkerSpec& spec, std::string_view queue);

// R2's message body for `change` under `account`:
// {"account","action","bucket","object":{"key","size","eTag"},"eventTime"}
// (a delete has only the object's key, as R2's).
std::string R2EventMessage(std::string_view account, const R2Change& change);

class R2Notifier : public std::enable_shared_from_this<R2Notifier> {
 public:
  struct Options {
    // The `account` of the messages of owner "" (edge dev's local state).
    std::string local_account = "local";
    // How many outbox rows one DeliverSome looks at, at most.
    size_t scan_limit = 20000;
    // How long an (account, queue) whose send failed waits before the next
    // try.
    int64_t retry_after_ms = 1000;
    // Events one account may have waiting.
    uint64_t max_pending_events = kR2MaxPendingEvents;
  };
  // Installs the change hook on `r2` (before the store is used) and moves
  // events into `queues`.
  static std::shared_ptr<R2Notifier> Attach(std::shared_ptr<R2Store> r2,
                                            std::shared_ptr<QueueStore> queues, Options options);
  ~R2Notifier();
  R2Notifier(const R2Notifier&) = delete;
  R2Notifier& operator=(const R2Notifier&) = delete;

  // Replaces every configured rule (owner -> its rules). Identical rules
  // count once.
  void SetConfigRules(std::map<std::string, std::vector<R2NotificationRule>> rules);

  // The node's stored rules. AddRule refuses a malformed rule, a queue the
  // owner does not have (kNotFound) and more than kR2MaxRulesPerBucket.
  Status AddRule(const std::string& owner, const R2NotificationRule& rule);
  // Stored and configured rules of a bucket (`configured` tells which).
  struct ListedRule {
    R2NotificationRule rule;
    bool configured = false;
  };
  StatusOr<std::vector<ListedRule>> ListRules(const std::string& owner, const std::string& bucket);
  // Removes the stored rules of `bucket` that send to `queue` (every queue
  // when empty); returns how many (kNotFound when none).
  StatusOr<size_t> DeleteRules(const std::string& owner, const std::string& bucket,
                               const std::string& queue);
  // Removes every stored rule and waiting event of `owner` (its account went).
  Status DropOwner(const std::string& owner);

  // Moves waiting events into their queues; returns how many left the
  // outbox (delivered, or dropped because their queue no longer exists).
  StatusOr<size_t> DeliverSome();
  // Events of `owner` still in the outbox.
  StatusOr<uint64_t> PendingEvents(const std::string& owner);

  // Runs DeliverSome on `loop` (now, then whenever an event was written,
  // and every second while events wait). Stop before the loop ends.
  void Start(uv_loop_t* loop);
  void Stop();

 private:
  R2Notifier(std::shared_ptr<R2Store> r2, std::shared_ptr<QueueStore> queues, Options options);
  Status OnChange(MDB_txn* txn, const R2Change& change);
  StatusOr<std::vector<R2NotificationRule>> StoredRules(MDB_txn* txn, const std::string& owner,
                                                        const std::string& bucket);
  void Tick();

  std::shared_ptr<R2Store> r2_;
  std::shared_ptr<QueueStore> queues_;
  Options options_;
  std::mutex mutex_;  // guards config_ and blocked_
  std::map<std::string, std::vector<R2NotificationRule>> config_;
  // (owner \0 queue) -> when to try again after a failed send.
  std::map<std::string, int64_t> blocked_;
  std::atomic<bool> written_{true};  // an event may be waiting (true: look at start)
  uv_timer_t* timer_ = nullptr;
  int64_t next_scan_ms_ = 0;
};

}  // namespace edge::bindings
