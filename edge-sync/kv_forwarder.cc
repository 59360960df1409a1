#include "edge-sync/kv_forwarder.h"

#include <simdjson.h>

#include <fmt/format.h>

#include "base/log.h"

namespace edge::sync {
namespace {

constexpr uint64_t kMaxBackoffMs = 5000;

uint64_t SeqOf(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  uint64_t seq = 0;
  if (parser.parse(body).get(root) == simdjson::SUCCESS) {
    if (root["seq"].get_uint64().get(seq) != simdjson::SUCCESS) seq = 0;
  }
  return seq;
}

// The upstream's answer as the operator sees it: one line, at most 300 bytes.
std::string Excerpt(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  std::string out(body.substr(0, 300));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

std::string WriteId(const std::string& writer, uint64_t id) {
  return writer + ":" + std::to_string(id);
}

KvForwarder::KvForwarder(base::HttpTarget upstream, std::unique_ptr<KvForwardQueue> queue)
    : upstream_(std::move(upstream)), queue_(std::move(queue)) {}

KvForwarder::~KvForwarder() { Stop(); }

void KvForwarder::Start() { thread_ = std::thread([this] { Run(); }); }

void KvForwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string KvForwarder::KeyOf(const std::string& ns, const std::string& key) {
  return ns + std::string(1, '\0') + key;
}

KvForwarder::Job KvForwarder::JobOf(const bindings::KvWrite& write) {
  Job job;
  job.method = write.is_delete ? "DELETE" : "PUT";
  job.path = "/kv/" + base::PercentEncode(write.ns) + "/" + base::PercentEncode(write.key);
  // Metadata is any JSON (UTF-8): it travels percent-encoded in the query,
  // not in a header that must be ASCII.
  std::string query;
  if (!write.is_delete && write.expiration != 0) {
    query += "expiration=" + std::to_string(write.expiration);
  }
  if (!write.is_delete && !write.metadata.empty()) {
    query +=
        (query.empty() ? "" : "&") + std::string("metadata=") + base::PercentEncode(write.metadata);
  }
  if (!query.empty()) job.path += "?" + query;
  job.body = write.is_delete ? "" : write.value;
  job.pending_key = KeyOf(write.ns, write.key);
  return job;
}

Status KvForwarder::Restore() {
  if (!queue_) return Status::Ok();
  std::lock_guard<std::mutex> lock(mutex_);
  auto records = queue_->ReadAll();
  if (!records.ok()) return records.status();
  for (const KvForwardQueue::Record& record : *records) {
    Job job = JobOf(record.write);
    job.queue_id = record.id;
    job.write_id = WriteId(queue_->writer(), record.id);
    ++keys_[job.pending_key].in_flight;
    jobs_.push_back(std::move(job));
  }
  if (!records->empty()) {
    Log(LogLevel::kInfo, "{} KV writes from before the restart wait for the origin",
        records->size());
  }
  return Status::Ok();
}

Status KvForwarder::Forward(const bindings::KvWrite& write) {
  Job job = JobOf(write);
  {
    // Under the lock: the queue's order is the order of jobs_.
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_) {
      auto id = queue_->Append(write);
      if (!id.ok()) {
        ++not_queued_;
        Log(LogLevel::kError,
            "KV write {} of key {:?} in namespace {:?} refused (not applied): it cannot be "
            "queued for the origin: {}",
            job.method, write.key, write.ns, id.status().message());
        return id.status();
      }
      job.queue_id = *id;
      job.write_id = WriteId(queue_->writer(), *id);
    }
    ++keys_[job.pending_key].in_flight;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_all();
  return Status::Ok();
}

void KvForwarder::Relay(std::string method, std::string path, std::string body,
                        std::string metadata, std::string write_id,
                        std::function<void(int, std::string)> done) {
  Job job;
  job.method = std::move(method);
  job.path = std::move(path);
  job.body = std::move(body);
  job.metadata = std::move(metadata);
  job.write_id = std::move(write_id);
  job.done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_all();
}

bool KvForwarder::ShouldApply(const std::string& ns, const std::string& key, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = keys_.find(KeyOf(ns, key));
  if (it == keys_.end()) return true;
  if (it->second.in_flight > 0 || seq < it->second.acknowledged_seq) return false;
  // The log caught up with this PoP's last write: nothing to protect any more.
  keys_.erase(it);
  return true;
}

void KvForwarder::ForgetAcknowledged() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.in_flight == 0) {
      it = keys_.erase(it);
    } else {
      it->second.acknowledged_seq = 0;
      ++it;
    }
  }
}

uint64_t KvForwarder::forwarded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return forwarded_;
}

uint64_t KvForwarder::refused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_;
}

uint64_t KvForwarder::not_queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return not_queued_;
}

std::string KvForwarder::last_refused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_refused_;
}

uint64_t KvForwarder::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return jobs_.size();
}

void KvForwarder::Run() {
  uint64_t backoff_ms = 100;
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = jobs_.front();  // stays queued until acknowledged: order is kept
    }
    base::HttpTarget target = upstream_;
    if (!job.metadata.empty()) target.headers.push_back({"X-Edge-Metadata", job.metadata});
    if (!job.write_id.empty()) target.headers.push_back({kWriteIdHeader, job.write_id});
    auto response =
        base::Request(target, job.method, job.path, job.body, "application/octet-stream");
    // A request this client refuses to send (kInvalidInput) would be refused
    // forever: it is dropped with a log line rather than block the queue.
    bool delivered = (response.ok() && response->status < 500) ||
                     (!response.ok() && response.status().code() == ErrorCode::kInvalidInput);
    bool refused = delivered && (!response.ok() || response->status >= 400);
    std::string refusal;
    if (refused && !job.pending_key.empty()) {
      size_t nul = job.pending_key.find('\0');
      std::string ns = job.pending_key.substr(0, nul), key = job.pending_key.substr(nul + 1);
      refusal = fmt::format("{} {:?} in {:?}: {}", job.method, key, ns,
                            response.ok()
                                ? fmt::format("{} {}", response->status, Excerpt(response->body))
                                : response.status().message());
      if (response.ok()) {
        Log(LogLevel::kError,
            "KV write {} of key {:?} in namespace {:?} refused by the origin ({}): {}: removed "
            "from the forward queue",
            job.method, key, ns, response->status, response->body);
      } else {
        Log(LogLevel::kError,
            "KV write {} of key {:?} in namespace {:?} cannot be sent to the origin: {}: "
            "removed from the forward queue",
            job.method, key, ns, response.status().message());
      }
    }
    if (!delivered && job.pending_key.empty() && !response.ok()) {
      // A relayed request: its sender retries; tell it now.
      job.done(502, response.status().message());
      delivered = true;
    }
    if (!delivered) {
      Log(LogLevel::kWarn, "KV write {} {} not acknowledged by the origin yet ({}): retrying",
          job.method, job.path,
          response.ok() ? "status " + std::to_string(response->status)
                        : response.status().message());
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
      backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
      continue;
    }
    backoff_ms = 100;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_ && job.queue_id != 0) {
        Status removed = queue_->Remove(job.queue_id);
        if (!removed.ok()) {
          // Still queued: sent again after a restart (the origin takes a
          // write twice as it takes it once).
          Log(LogLevel::kError, "KV forward queue: {}", removed.message());
        }
      }
      jobs_.pop_front();
      if (refused && !job.pending_key.empty()) {
        ++refused_;
        last_refused_ = std::move(refusal);
      }
      ++forwarded_;
      if (!job.pending_key.empty()) {
        PendingKey& pending = keys_[job.pending_key];
        if (pending.in_flight > 0) --pending.in_flight;
        if (response.ok()) {
          pending.acknowledged_seq = std::max(pending.acknowledged_seq, SeqOf(response->body));
        }
      }
    }
    if (job.done && response.ok()) job.done(response->status, response->body);
  }
}

}  // namespace edge::sync
