#include "bindings/queues/queue_engine.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::bindings {
namespace {

// The decision codes (runtime/worker.h, Worker::Queue).
constexpr int64_t kUndecided = -1;
constexpr int64_t kAck = -2;
constexpr int64_t kRetryDefault = -3;

}  // namespace

std::vector<int64_t> ParseQueueDecisions(std::string_view body) {
  std::vector<int64_t> out;
  if (body.size() < 2 || body.front() != '[' || body.back() != ']') return out;
  body = body.substr(1, body.size() - 2);
  while (!body.empty()) {
    size_t comma = body.find(',');
    std::string_view item = body.substr(0, comma);
    body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
    bool negative = !item.empty() && item.front() == '-';
    if (negative) item.remove_prefix(1);
    if (item.empty() || item.size() > 6) return {};
    int64_t value = 0;
    for (char c : item) {
      if (c < '0' || c > '9') return {};
      value = value * 10 + (c - '0');
    }
    out.push_back(negative ? -value : value);
  }
  return out;
}

QueueEngine::QueueEngine(uv_loop_t* loop, std::shared_ptr<QueueStore> store, Deliver deliver,
                         Options options)
    : loop_(loop), store_(std::move(store)), deliver_(std::move(deliver)), options_(options) {
  last_sweep_ms_ = store_->clock()();
  if (!options_.timer) return;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  uv_timer_start(
      timer_, [](uv_timer_t* timer) { static_cast<QueueEngine*>(timer->data)->Tick(); },
      options_.poll_ms, options_.poll_ms);
  wake_ = new uv_async_t;
  uv_async_init(loop_, wake_, [](uv_async_t* async) {
    auto* self = static_cast<QueueEngine*>(async->data);
    if (self->timer_ == nullptr) return;
    uv_timer_start(
        self->timer_, [](uv_timer_t* timer) { static_cast<QueueEngine*>(timer->data)->Tick(); }, 0,
        self->options_.poll_ms);
  });
  wake_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(wake_));
  store_->SetOnSend([wake = wake_] { uv_async_send(wake); });
}

QueueEngine::~QueueEngine() { Stop(); }

void QueueEngine::Stop() {
  *alive_ = false;
  consumers_.clear();
  outstanding_.clear();
  if (timer_ == nullptr) return;
  // No send may touch the async handle once it is closing.
  store_->SetOnSend(nullptr);
  base::CloseAndDelete(wake_);
  wake_ = nullptr;
  uv_timer_stop(timer_);
  base::CloseAndDelete(timer_);
  timer_ = nullptr;
}

void QueueEngine::SetConsumers(std::vector<QueueConsumer> consumers) {
  if (!*alive_) return;
  std::vector<QueueConsumer> kept;
  std::set<std::pair<std::string, std::string>> taken;
  for (QueueConsumer& consumer : consumers) {
    auto key = std::make_pair(consumer.account, consumer.spec.queue);
    if (!taken.insert(key).second) {
      Log(LogLevel::kError,
          "[{}] queue \"{}\" already has a consumer: this one is left out (a queue has one "
          "consumer)",
          consumer.owner, consumer.spec.queue);
      continue;
    }
    Status made = store_->EnsureQueue(consumer.account, consumer.spec.queue);
    if (made.ok() && !consumer.spec.dead_letter_queue.empty()) {
      made = store_->EnsureQueue(consumer.account, consumer.spec.dead_letter_queue);
    }
    if (!made.ok()) {
      Log(LogLevel::kError, "[{}] queue consumer of \"{}\" left out: {}", consumer.owner,
          consumer.spec.queue, made.message());
      continue;
    }
    kept.push_back(std::move(consumer));
  }
  consumers_ = std::move(kept);
  // A batch out for a consumer that went away still settles (Finish uses
  // the copy it went out with).
}

void QueueEngine::Tick() {
  if (!*alive_) return;
  int64_t now = store_->clock()();
  // Batches that took too long fail: their messages are retried.
  std::vector<uint64_t> late;
  for (const auto& [batch, out] : outstanding_) {
    if (now - out.started_ms >= options_.delivery_timeout_ms) late.push_back(batch);
  }
  for (uint64_t batch : late) {
    Log(LogLevel::kWarn, "[{}] queue \"{}\": a batch got no outcome within {} ms: retried",
        outstanding_[batch].copy.owner, outstanding_[batch].copy.spec.queue,
        options_.delivery_timeout_ms);
    Finish(batch, QueueOutcome{false, {}});
  }
  if (now - last_sweep_ms_ >= options_.sweep_every_ms) {
    last_sweep_ms_ = now;
    auto swept = store_->SweepExpired();
    if (!swept.ok()) Log(LogLevel::kError, "queues: retention sweep failed: {}", swept.status().message());
  }
  if (options_.delivers && !options_.delivers()) return;
  for (size_t i = 0; i < consumers_.size(); ++i) Pump(i);
}

void QueueEngine::Pump(size_t index) {
  const QueueConsumer& consumer = consumers_[index];
  const runtime::QueueConsumerSpec& spec = consumer.spec;
  size_t batch_size = std::clamp<uint32_t>(spec.max_batch_size, 1, kQueueMaxBatchMessages);
  uint32_t concurrency = spec.max_concurrency != 0 ? spec.max_concurrency : kQueueDefaultMaxConcurrency;
  for (;;) {
    size_t out = 0;
    for (const auto& [batch, item] : outstanding_) {
      out += item.copy.account == consumer.account && item.copy.spec.queue == spec.queue;
    }
    if (out >= concurrency) return;
    int64_t now = store_->clock()();
    auto ready = store_->Peek(consumer.account, spec.queue, batch_size);
    if (!ready.ok()) {
      Log(LogLevel::kError, "[{}] queue \"{}\": {}", consumer.owner, spec.queue,
          ready.status().message());
      return;
    }
    if (ready->count == 0) return;
    if (ready->count < batch_size &&
        now - ready->since_ms < static_cast<int64_t>(spec.max_batch_timeout_s) * 1000) {
      return;  // not full yet, and the oldest has not waited long enough
    }
    auto leased = store_->Lease(consumer.account, spec.queue, batch_size);
    if (!leased.ok()) {
      Log(LogLevel::kError, "[{}] queue \"{}\": {}", consumer.owner, spec.queue,
          leased.status().message());
      return;
    }
    if (leased->empty()) return;
    uint64_t batch = ++next_batch_;
    Outstanding item{index, consumer, {}, now};
    runtime::QueueEvent event;
    event.queue = spec.queue;
    for (QueueMessage& message : *leased) {
      item.ids.push_back(message.id);
      event.messages.push_back({std::move(message.id), message.timestamp_ms,
                                std::move(message.body), std::move(message.content_type),
                                message.attempts});
    }
    QueueCounters& counters = counters_[{consumer.account, spec.queue}];
    counters.deliveries += item.ids.size();
    ++counters.batches;
    QueueConsumer copy = consumer;
    outstanding_.emplace(batch, std::move(item));
    std::weak_ptr<bool> alive = alive_;
    // `deliver` may call back at once (a worker that failed to load).
    deliver_(copy, std::move(event), [this, alive, batch](QueueOutcome outcome) {
      std::shared_ptr<bool> live = alive.lock();
      if (!live || !*live) return;
      Finish(batch, std::move(outcome));
    });
    if (!*alive_ || index >= consumers_.size()) return;
  }
}

void QueueEngine::Finish(uint64_t batch, QueueOutcome outcome) {
  auto found = outstanding_.find(batch);
  if (found == outstanding_.end()) return;  // timed out already
  Outstanding item = std::move(found->second);
  outstanding_.erase(found);
  const runtime::QueueConsumerSpec& spec = item.copy.spec;
  std::vector<QueueDecision> decisions;
  for (size_t i = 0; i < item.ids.size(); ++i) {
    int64_t code = i < outcome.decisions.size() ? outcome.decisions[i] : kUndecided;
    QueueDecision decision{item.ids[i], QueueDecision::kAck, 0};
    if (code == kUndecided) code = outcome.ok ? kAck : kRetryDefault;
    if (code == kRetryDefault) {
      decision.kind = QueueDecision::kRetry;
      decision.delay_seconds = spec.retry_delay_s;
    } else if (code >= 0) {
      decision.kind = QueueDecision::kRetry;
      decision.delay_seconds = code;
    }
    decisions.push_back(std::move(decision));
  }
  QueueCounters& counters = counters_[{item.copy.account, spec.queue}];
  if (!outcome.ok) ++counters.failed_batches;
  auto settled = store_->Settle(item.copy.account, spec.queue, decisions, spec.max_retries,
                                spec.dead_letter_queue);
  if (!settled.ok()) {
    Log(LogLevel::kError, "[{}] queue \"{}\": settling a batch failed: {}", item.copy.owner,
        spec.queue, settled.status().message());
    return;
  }
  counters.acked += settled->acked;
  counters.retries += settled->retried;
  counters.dead_lettered += settled->dead_lettered;
  counters.dropped += settled->dropped;
  if (settled->dead_lettered != 0) {
    Log(LogLevel::kWarn, "[{}] queue \"{}\": {} messages out of retries moved to \"{}\"",
        item.copy.owner, spec.queue, settled->dead_lettered, spec.dead_letter_queue);
  }
  // A slot is free: what waits goes on the loop's next turn (not from
  // here: a batch that fails at once would recurse).
  if (timer_ != nullptr && *alive_) {
    uv_timer_start(
        timer_, [](uv_timer_t* timer) { static_cast<QueueEngine*>(timer->data)->Tick(); }, 0,
        options_.poll_ms);
  }
}

}  // namespace edge::bindings
