// The consumer side of Workers Queues: for each `[[queues.consumers]]`
// entry, the engine watches its queue in the QueueStore, leases batches
// (max_batch_size messages, or fewer once the oldest deliverable one has
// waited max_batch_timeout), hands each to the host's `deliver` (which runs
// the worker's queue handler), and settles the outcome: acks, retries after
// a delay, and, past max_retries, the dead-letter queue. At most
// max_concurrency batches of a queue are out at once. `edge dev` and
// `edge serve` both run one; time comes from an injectable clock, so tests
// move it by hand and call Tick.
//
// A batch whose outcome has not come back within `delivery_timeout_ms`
// (the handler never settled and no limit ended it) counts as failed: its
// messages are retried. Everything runs on the loop the engine was made
// on; `deliver`'s callback must be called there too.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bindings/queues/queue_store.h"
#include "runtime/response_sink.h"
#include "runtime/worker.h"

namespace edge::bindings {

// Unless a consumer sets max_concurrency, this many of its batches may be
// out at once on one node.
inline constexpr uint32_t kQueueDefaultMaxConcurrency = 10;

struct QueueConsumer {
  std::string owner;    // the worker (the host's key for it)
  std::string account;  // whose queue
  runtime::QueueConsumerSpec spec;
};

// What came back from one batch: whether the handler succeeded, and the
// decision for each message (the codes of Worker::Queue).
struct QueueOutcome {
  bool ok = false;
  std::vector<int64_t> decisions;
};

// Reads the decisions a queue invocation's response body carries (a JSON
// array of integers, one per message); an empty list when the body is not
// one (the handler never got to decide).
std::vector<int64_t> ParseQueueDecisions(std::string_view body);

// Per queue counters, for the node's metrics.
struct QueueCounters {
  uint64_t deliveries = 0;     // messages handed to a consumer
  uint64_t acked = 0;
  uint64_t retries = 0;
  uint64_t dead_lettered = 0;
  uint64_t dropped = 0;        // out of retries, no dead-letter queue
  uint64_t batches = 0;
  uint64_t failed_batches = 0;
};

class QueueEngine {
 public:
  using Done = std::function<void(QueueOutcome)>;
  using Deliver = std::function<void(const QueueConsumer& consumer, runtime::QueueEvent event, Done done)>;
  struct Options {
    // How often the timer looks at the queues (delays and retries that come
    // due are seen within it; a send wakes the engine at once).
    uint64_t poll_ms = 100;
    // Workers gives a consumer invocation up to 15 minutes of wall time.
    int64_t delivery_timeout_ms = 15 * 60 * 1000;
    // How often messages past their retention period are deleted.
    int64_t sweep_every_ms = 60 * 1000;
    // Whether the engine's own timer runs (tests call Tick instead).
    bool timer = true;
    // Asked at each Tick (on the loop): false holds every delivery back (in
    // a fleet, only the queues' home delivers; the others' stores are
    // outboxes). Batches out still settle; the retention sweep still runs.
    // Null: always deliver.
    std::function<bool()> delivers = nullptr;
  };
  QueueEngine(uv_loop_t* loop, std::shared_ptr<QueueStore> store, Deliver deliver, Options options);
  ~QueueEngine();
  QueueEngine(const QueueEngine&) = delete;
  QueueEngine& operator=(const QueueEngine&) = delete;

  // Replaces every consumer. One consumer per queue of an account: a second
  // is left out and logged. The queues they and their dead-letter queues
  // name are created if needed.
  void SetConsumers(std::vector<QueueConsumer> consumers);
  // Delivers what is due, times out batches that took too long, sweeps.
  void Tick();
  // No batch goes out after this; outcomes still out are dropped (their
  // messages are delivered again, after a restart or the timeout).
  void Stop();

  size_t consumers() const { return consumers_.size(); }
  size_t in_flight() const { return outstanding_.size(); }
  // (account, queue) -> counters since the engine started.
  const std::map<std::pair<std::string, std::string>, QueueCounters>& counters() const {
    return counters_;
  }
  QueueStore& store() { return *store_; }

 private:
  struct Outstanding {
    size_t consumer;  // index into consumers_ when it went out
    QueueConsumer copy;
    std::vector<std::string> ids;
    int64_t started_ms = 0;
  };
  void Pump(size_t index);
  void Finish(uint64_t batch, QueueOutcome outcome);

  uv_loop_t* loop_;
  std::shared_ptr<QueueStore> store_;
  Deliver deliver_;
  Options options_;
  std::vector<QueueConsumer> consumers_;
  std::map<uint64_t, Outstanding> outstanding_;
  std::map<std::pair<std::string, std::string>, QueueCounters> counters_;
  uint64_t next_batch_ = 0;
  int64_t last_sweep_ms_ = 0;
  uv_timer_t* timer_ = nullptr;
  // Woken by the store after a send (from any thread): the queues are
  // looked at on the loop's next turn instead of the next poll.
  uv_async_t* wake_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace edge::bindings
