#include "edge-sync/queue_forwarder.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>

#include "base/log.h"
#include "edge-sync/queue_mailbox.h"
#include "gateway/node/node_metrics.h"
#include "gateway/node/node_sink.h"

namespace edge::sync {
namespace {

int64_t NowMs() { return static_cast<int64_t>(gateway::UnixMs()); }

std::string Why(StatusOr<base::HttpResponse>& response) {
  return response.ok()
             ? fmt::format("{} {}", response->status, base::ResponseError(*response).message())
             : response.status().message();
}

}  // namespace

QueueForwarder::QueueForwarder(base::HttpTarget upstream, std::string pop_id,
                               std::shared_ptr<bindings::QueueStore> store,
                               std::function<CronHomeState()> home, bool delivers_locally,
                               Options options)
    : upstream_(std::move(upstream)),
      pop_id_(std::move(pop_id)),
      store_(std::move(store)),
      home_(std::move(home)),
      delivers_locally_(delivers_locally),
      options_(options) {
  upstream_.connect_timeout_ms = 2000;
  upstream_.io_timeout_ms = 15'000;
  upstream_.cancel = std::make_shared<base::CancelToken>();
}

QueueForwarder::~QueueForwarder() { Stop(); }

void QueueForwarder::Start() {
  if (delivers_locally_) return;  // nothing to forward or pull
  thread_ = std::thread([this] { Run(); });
}

void QueueForwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  upstream_.cancel->Cancel();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool QueueForwarder::Delivers() const { return delivers_locally_ || home_().pop_id == pop_id_; }

QueueForwarder::Counts QueueForwarder::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

void QueueForwarder::Run() {
  uint64_t backoff_ms = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    CronHomeState home = home_();
    bool failed = false;
    bool busy = home.pop_id == pop_id_ ? Pull(home, &failed) : Forward(&failed);
    uint64_t wait_ms = 0;
    if (failed) {
      backoff_ms =
          std::min<uint64_t>(backoff_ms == 0 ? 200 : backoff_ms * 2, options_.max_backoff_ms);
      wait_ms = backoff_ms;
    } else {
      backoff_ms = 0;
      wait_ms = busy ? 0 : options_.idle_ms;
    }
    if (wait_ms == 0) continue;
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; });
  }
}

std::vector<std::string> QueueForwarder::Refused(int64_t now) {
  std::vector<std::string> skip;
  for (auto it = refused_until_.begin(); it != refused_until_.end();) {
    if (it->second <= now) {
      it = refused_until_.erase(it);
    } else {
      skip.push_back(it->first);
      ++it;
    }
  }
  if (skip.size() > kQueueSyncMaxSkippedAccounts) skip.resize(kQueueSyncMaxSkippedAccounts);
  return skip;
}

bool QueueForwarder::Forward(bool* failed) {
  bindings::QueueStore::HoldOptions hold;
  hold.max_messages = std::min(options_.batch_messages, kQueuePutMaxMessages);
  hold.max_bytes = options_.batch_bytes;
  hold.one_account = true;
  hold.skip_accounts = Refused(NowMs());
  auto held = store_->Hold(hold);
  if (!held.ok()) {
    Log(LogLevel::kError, "queue forwarder: {}", held.status().message());
    *failed = true;
    return false;
  }
  if (held->empty()) return false;
  QueuePutBatch batch;
  batch.pop_id = pop_id_;
  batch.account = held->front().account;
  std::vector<std::string> keys;
  for (bindings::QueueHeldMessage& message : *held) {
    keys.push_back(std::move(message.key));
    batch.messages.push_back({std::move(message.queue), std::move(message.message)});
  }
  auto response = base::Request(upstream_, "POST", "/sync/queues/put", EncodeQueuePut(batch),
                                "application/json");
  if (response.ok() && response->status / 100 == 2) {
    // Committed upstream: only now deleted here.
    auto removed = store_->Remove(keys);
    if (!removed.ok()) {
      // Still kept here: sent again later (a duplicate, never a loss).
      Log(LogLevel::kError, "queue forwarder: {}", removed.status().message());
      store_->Release(keys);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    counts_.forwarded += keys.size();
    return true;
  }
  store_->Release(keys);
  bool refused = response.ok() && (response->status / 100 == 4 || response->status == 507);
  std::lock_guard<std::mutex> lock(mutex_);
  if (refused) {
    ++counts_.refused;
    refused_until_[batch.account] = NowMs() + static_cast<int64_t>(options_.refused_retry_ms);
    Log(LogLevel::kWarn,
        "queue messages of account {} not taken by {} ({}): {} kept here, tried again in {} s",
        batch.account, upstream_.url, Why(response), keys.size(), options_.refused_retry_ms / 1000);
    return true;  // the other accounts go on
  }
  ++counts_.failed;
  Log(LogLevel::kDebug, "queue forwarder: {} messages kept here: {}", keys.size(), Why(response));
  *failed = true;
  return false;
}

bool QueueForwarder::Pull(const CronHomeState& home, bool* failed) {
  QueueTakeRequest take;
  take.pop_id = pop_id_;
  take.term = home.term;
  take.max = std::min(options_.batch_messages, kQueueTakeMaxMessages);
  take.skip = Refused(NowMs());
  auto response = base::Request(upstream_, "POST", "/sync/queues/take", EncodeQueueTake(take),
                                "application/json");
  if (!response.ok() || response->status != 200) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_.failed;
    // 409: not the home (any more) under this term; the next check-in says.
    Log(response.ok() && response->status == 409 ? LogLevel::kDebug : LogLevel::kWarn,
        "queue home: taking messages from {} failed: {}", upstream_.url, Why(response));
    *failed = true;
    return false;
  }
  auto answer = DecodeQueueTakeAnswer(response->body);
  if (!answer.ok()) {
    // Not acknowledged: handed out again after the lease.
    Log(LogLevel::kError, "queue home: the origin's answer to a take is malformed: {}",
        answer.status().message());
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_.failed;
    *failed = true;
    return false;
  }
  if (answer->messages.empty()) return false;
  // One transaction per account (its quota is its own), in the order given.
  QueueAck ack;
  ack.pop_id = pop_id_;
  ack.lease = answer->lease;
  std::map<std::string, std::vector<size_t>> places;
  for (size_t i = 0; i < answer->messages.size(); ++i)
    places[answer->messages[i].account].push_back(i);
  uint64_t committed = 0;
  for (const auto& [account, indexes] : places) {
    std::vector<bindings::QueueImport> messages;
    for (size_t i : indexes) messages.push_back(std::move(answer->messages[i].message));
    bool quota_full = false;
    Status stored = store_->Import(account, messages, &quota_full);
    if (!stored.ok()) {
      Log(LogLevel::kWarn,
          "queue home: {} messages of account {} not taken from the origin now ({}): tried "
          "again in {} s",
          messages.size(), account, stored.message(), options_.refused_retry_ms / 1000);
      refused_until_[account] = NowMs() + static_cast<int64_t>(options_.refused_retry_ms);
      continue;
    }
    committed += messages.size();
    for (size_t i : indexes) ack.done.push_back(i);
  }
  std::sort(ack.done.begin(), ack.done.end());
  auto acked =
      base::Request(upstream_, "POST", "/sync/queues/ack", EncodeQueueAck(ack), "application/json");
  std::lock_guard<std::mutex> lock(mutex_);
  counts_.pulled += committed;
  if (!acked.ok() || acked->status != 200) {
    // The origin hands them out again after the lease: delivered twice.
    ++counts_.failed;
    Log(LogLevel::kWarn,
        "queue home: acknowledging {} messages to {} failed ({}): they may be delivered twice",
        ack.done.size(), upstream_.url, Why(acked));
  }
  return true;
}

void QueueForwarder::UpdateMetrics(gateway::NodeMetrics& metrics) {
  uint64_t waiting = 0;
  if (!Delivers()) {
    auto all = store_->AllQueues();
    if (all.ok()) {
      for (const auto& [account, info] : *all) waiting += info.depth;
    }
  }
  metrics.SetGauge("edge_sync_queue_outbox_messages",
                   "Queue messages sent at this PoP that wait to be forwarded to the origin (0 "
                   "on the queues' home, which delivers them)",
                   static_cast<double>(waiting));
  Counts now = counts();
  auto add = [&metrics](const char* name, const char* help, uint64_t value, uint64_t& reported) {
    metrics.AddCounter(name, help, static_cast<double>(value - std::min(value, reported)));
    reported = value;
  };
  add("edge_sync_queue_forwarded_total",
      "Queue messages forwarded to the origin (committed there, deleted here)", now.forwarded,
      reported_.forwarded);
  add("edge_sync_queue_pulled_total",
      "Queue messages this PoP, as the queues' home, took from the origin and committed",
      now.pulled, reported_.pulled);
  add("edge_sync_queue_forward_refused_total",
      "Batches of queue messages the upstream refused (kept here, tried again)", now.refused,
      reported_.refused);
  add("edge_sync_queue_sync_failed_total",
      "Queue forwards, takes and acknowledgements that could not reach the upstream or failed "
      "there",
      now.failed, reported_.failed);
}

}  // namespace edge::sync
