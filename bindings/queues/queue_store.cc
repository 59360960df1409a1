#include "bindings/queues/queue_store.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>

#include "base/random_hex.h"
#include "base/ascii.h"
#include "base/log.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;
using base::GetBe;
using base::PutBe32;
using base::PutBe64;
using base::Val;
using base::View;

constexpr base::LmdbNames kLmdbNames{"the queue store", "queue store: ", "queue store"};
// The retention sweep and a lease look at no more than this many messages
// per queue per call, so one call's cost is bounded whatever the backlog.
constexpr size_t kMaxScan = 10'000;

std::string QueueKey(std::string_view account, std::string_view queue) {
  std::string key(account);
  key += '\0';
  key += queue;
  return key;
}

std::string MessagePrefix(std::string_view account, std::string_view queue) {
  std::string key = QueueKey(account, queue);
  key += '\0';
  return key;
}

// A message record: enqueued ms, visible-at ms, attempts, content type
// (length-prefixed), id (32 bytes), body.
struct Record {
  int64_t enqueued_ms = 0;
  int64_t visible_ms = 0;
  uint32_t attempts = 0;
  std::string content_type;
  std::string id;
  std::string body;
};

std::string Encode(const Record& record) {
  std::string out;
  out.reserve(8 + 8 + 4 + 1 + record.content_type.size() + record.id.size() + record.body.size());
  PutBe64(out, static_cast<uint64_t>(record.enqueued_ms));
  PutBe64(out, static_cast<uint64_t>(record.visible_ms));
  PutBe32(out, record.attempts);
  out += static_cast<char>(record.content_type.size());
  out += record.content_type;
  out += record.id;
  out += record.body;
  return out;
}

std::optional<Record> Decode(std::string_view bytes) {
  if (bytes.size() < 21) return std::nullopt;
  Record record;
  record.enqueued_ms = static_cast<int64_t>(GetBe(bytes.data(), 8));
  record.visible_ms = static_cast<int64_t>(GetBe(bytes.data() + 8, 8));
  record.attempts = static_cast<uint32_t>(GetBe(bytes.data() + 16, 4));
  size_t type_length = static_cast<unsigned char>(bytes[20]);
  if (bytes.size() < 21 + type_length + 32) return std::nullopt;
  record.content_type = std::string(bytes.substr(21, type_length));
  record.id = std::string(bytes.substr(21 + type_length, 32));
  record.body = std::string(bytes.substr(21 + type_length + 32));
  return record;
}

// The usage record of an account ("" is `edge dev`'s, and LMDB keys may
// not be empty).
std::string UsageKey(std::string_view account) {
  std::string key = "u";
  key += account;
  return key;
}

uint64_t Cost(size_t body_bytes) { return body_bytes + kQueueMessageOverheadBytes; }

// Workers' limits on one message, as a send (or a copy from another node)
// must keep them.
Status CheckMessage(size_t body_bytes, std::string_view content_type) {
  if (body_bytes > kQueueMaxMessageBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Queue send failed: message length of {} bytes exceeds limit of {}",
                              body_bytes, kQueueMaxMessageBytes));
  }
  if (std::find(std::begin(kQueueContentTypes), std::end(kQueueContentTypes), content_type) ==
      std::end(kQueueContentTypes)) {
    return Status(ErrorCode::kInvalidInput, "Unsupported queue message content type");
  }
  return Status::Ok();
}

Status CheckBatchBytes(size_t total) {
  if (total <= kQueueMaxBatchBytes) return Status::Ok();
  return Status(ErrorCode::kInvalidInput,
                fmt::format("Queue sendBatch failed: batch of {} bytes exceeds the limit of {}",
                            total, kQueueMaxBatchBytes));
}

StatusOr<std::string> NewId() { return base::RandomHex(16, "a message id"); }

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<QueueStore>> stores;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: used by deleters at exit
  return *registry;
}

}  // namespace

Status ValidateQueueName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kQueueMaxNameBytes && name.front() != '-' &&
            name.back() != '-';
  for (char c : name) ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  if (ok) return Status::Ok();
  std::string shown(name.substr(0, 80));
  return Status(ErrorCode::kInvalidInput,
                fmt::format("\"{}\" is not a valid queue name: use 1 to {} lowercase letters, "
                            "digits and dashes, not starting or ending with a dash",
                            shown, kQueueMaxNameBytes));
}

StatusOr<std::shared_ptr<QueueStore>> QueueStore::Open(const std::string& state_dir,
                                                       Options options, QueueClock clock) {
  StatusOr<std::string> made =
      base::MakeStoreDir((fs::path(state_dir) / "queues").string(), /*private_dir=*/false);
  if (!made.ok()) return made.status();
  const std::string& path = *made;
  Registry& registry = GetRegistry();
  std::lock_guard guard(registry.mutex);
  auto found = registry.stores.find(path);
  if (found != registry.stores.end()) {
    if (std::shared_ptr<QueueStore> store = found->second.lock()) return store;
  }
  Dbs dbs;
  base::LmdbOptions lmdb;
  lmdb.names = kLmdbNames;
  lmdb.map_size = options.map_size;
  lmdb.shrink_on_enomem = 8;
  lmdb.max_readers = 512;
  lmdb.file_mode = 0644;
  lmdb.dbs = {{"meta", &dbs.meta},
              {"queues", &dbs.queues},
              {"messages", &dbs.messages},
              {"usage", &dbs.usage}};
  lmdb.init = [&](MDB_txn* txn) -> Status {
    return base::CheckStoreFormat(txn, dbs.meta, "1", "queue store", path, kLmdbNames);
  };
  StatusOr<std::unique_ptr<base::LmdbEnv>> env = base::LmdbEnv::Open(path, lmdb);
  if (!env.ok()) return env.status();
  std::shared_ptr<QueueStore> store(
      new QueueStore(std::move(env).value(), dbs, options, std::move(clock), path),
      [](QueueStore* doomed) {
        Registry& registry = GetRegistry();
        std::lock_guard guard(registry.mutex);
        std::string key = doomed->path_;
        delete doomed;
        auto it = registry.stores.find(key);
        if (it != registry.stores.end() && it->second.expired()) registry.stores.erase(it);
      });
  registry.stores[path] = store;
  return store;
}

QueueStore::QueueStore(std::unique_ptr<base::LmdbEnv> env, Dbs dbs, Options options,
                       QueueClock clock, std::string path)
    : env_(std::move(env)),
      dbs_(dbs),
      options_(options),
      clock_(std::move(clock)),
      path_(std::move(path)) {}

QueueStore::~QueueStore() = default;

StatusOr<int64_t> QueueStore::RetentionOf(MDB_txn* txn, std::string_view account,
                                          std::string_view queue) {
  std::string key = QueueKey(account, queue);
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbs_.queues, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return Status(ErrorCode::kNotFound, fmt::format("Queue \"{}\" does not exist", queue));
  }
  if (rc != 0) return env_->Error("read", rc);
  if (v.mv_size < 16) return Status(ErrorCode::kInternal, "queue store: a queue record is damaged");
  return static_cast<int64_t>(GetBe(static_cast<const char*>(v.mv_data) + 8, 8));
}

Status QueueStore::CreateIn(MDB_txn* txn, std::string_view account, std::string_view queue,
                            int64_t retention_seconds, bool exists_ok) {
  EDGE_RETURN_IF_ERROR(ValidateQueueName(queue));
  if (retention_seconds == 0) retention_seconds = kQueueDefaultRetentionSeconds;
  if (retention_seconds < 60 || retention_seconds > kQueueMaxRetentionSeconds) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the retention period must be 60 to {} seconds (got {})",
                              kQueueMaxRetentionSeconds, retention_seconds));
  }
  std::string key = QueueKey(account, queue);
  std::string value;
  PutBe64(value, static_cast<uint64_t>(clock_()));
  PutBe64(value, static_cast<uint64_t>(retention_seconds));
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn, dbs_.queues, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {
    if (exists_ok) return Status::Ok();
    return Status(ErrorCode::kInvalidInput, fmt::format("Queue \"{}\" already exists", queue));
  }
  if (rc != 0) return env_->Error("write", rc);
  return Status::Ok();
}

Status QueueStore::CreateQueue(std::string_view account, std::string_view queue,
                               int64_t retention_seconds) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  EDGE_RETURN_IF_ERROR(CreateIn(txn.get(), account, queue, retention_seconds, false));
  return txn.Commit("write");
}

Status QueueStore::EnsureQueue(std::string_view account, std::string_view queue) {
  {
    base::LmdbTxn read;
    EDGE_RETURN_IF_ERROR(read.Begin(*env_, true, "read"));
    if (RetentionOf(read.get(), account, queue).ok()) return Status::Ok();
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  EDGE_RETURN_IF_ERROR(CreateIn(txn.get(), account, queue, 0, true));
  return txn.Commit("write");
}

Status QueueStore::AddUsage(MDB_txn* txn, std::string_view account, int64_t delta) {
  std::string usage_key = UsageKey(account);
  MDB_val k = Val(usage_key), v;
  uint64_t used = 0;
  int rc = mdb_get(txn, dbs_.usage, &k, &v);
  if (rc == 0 && v.mv_size == 8) used = GetBe(static_cast<const char*>(v.mv_data), 8);
  else if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  int64_t next = static_cast<int64_t>(used) + delta;
  if (next < 0) next = 0;
  std::string value = base::Be64(static_cast<uint64_t>(next));
  v = Val(value);
  rc = mdb_put(txn, dbs_.usage, &k, &v, 0);
  return rc == 0 ? Status::Ok() : env_->Error("write", rc);
}

uint64_t QueueStore::AccountBytes(std::string_view account) {
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, true, "read").ok()) return 0;
  std::string usage_key = UsageKey(account);
  MDB_val k = Val(usage_key), v;
  if (mdb_get(txn.get(), dbs_.usage, &k, &v) != 0 || v.mv_size != 8) return 0;
  return GetBe(static_cast<const char*>(v.mv_data), 8);
}

Status QueueStore::CheckQuota(MDB_txn* txn, std::string_view account, uint64_t cost,
                              bool* quota_full) {
  std::string usage_key = UsageKey(account);
  MDB_val k = Val(usage_key), v;
  uint64_t used = 0;
  if (mdb_get(txn, dbs_.usage, &k, &v) == 0 && v.mv_size == 8) {
    used = GetBe(static_cast<const char*>(v.mv_data), 8);
  }
  if (used + cost <= options_.account_quota_bytes) return Status::Ok();
  if (quota_full != nullptr) *quota_full = true;
  return Status(ErrorCode::kInvalidInput,
                fmt::format("Queue send failed: the account's queue storage is full ({} of {} "
                            "bytes used); messages are refused until consumers catch up or "
                            "queues are purged",
                            used, options_.account_quota_bytes));
}

Status QueueStore::AppendMessage(MDB_txn* txn, const std::string& prefix,
                                 const std::string& encoded) {
  auto seq = NextSeq(txn);
  if (!seq.ok()) return seq.status();
  std::string key = prefix + base::Be64(*seq);
  MDB_val k = Val(key), v = Val(encoded);
  int rc = mdb_put(txn, dbs_.messages, &k, &v, 0);
  if (rc != 0) return env_->Error("write", rc);
  return Status::Ok();
}

StatusOr<uint64_t> QueueStore::NextSeq(MDB_txn* txn) {
  MDB_val k = Val("next_seq"), v;
  uint64_t seq = 1;
  int rc = mdb_get(txn, dbs_.meta, &k, &v);
  if (rc == 0 && v.mv_size == 8) seq = GetBe(static_cast<const char*>(v.mv_data), 8);
  else if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  std::string next = base::Be64(seq + 1);
  v = Val(next);
  rc = mdb_put(txn, dbs_.meta, &k, &v, 0);
  if (rc != 0) return env_->Error("write", rc);
  return seq;
}

Status QueueStore::Send(std::string_view account, std::string_view queue,
                        const std::vector<QueueSendMessage>& messages) {
  if (messages.empty()) return Status::Ok();
  if (messages.size() > kQueueMaxBatchMessages) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Queue sendBatch failed: batch of {} messages exceeds the limit of {}",
                              messages.size(), kQueueMaxBatchMessages));
  }
  uint64_t cost = 0;
  size_t total = 0;
  for (const QueueSendMessage& message : messages) {
    EDGE_RETURN_IF_ERROR(CheckMessage(message.body.size(), message.content_type));
    if (message.delay_seconds < 0 || message.delay_seconds > kQueueMaxDelaySeconds) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Queue send failed: delaySeconds must be 0 to {} (got {})",
                                kQueueMaxDelaySeconds, message.delay_seconds));
    }
    total += message.body.size();
    cost += Cost(message.body.size());
  }
  EDGE_RETURN_IF_ERROR(CheckBatchBytes(total));
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  auto retention = RetentionOf(txn.get(), account, queue);
  if (!retention.ok()) return Status(retention.status().code(), fmt::format("Queue send failed: {}", retention.status().message()));
  EDGE_RETURN_IF_ERROR(CheckQuota(txn.get(), account, cost, nullptr));
  int64_t now = clock_();
  std::string prefix = MessagePrefix(account, queue);
  for (const QueueSendMessage& message : messages) {
    auto id = NewId();
    if (!id.ok()) return id.status();
    Record record{now, now + message.delay_seconds * 1000, 0, message.content_type,
                  std::move(id).value(), message.body};
    EDGE_RETURN_IF_ERROR(AppendMessage(txn.get(), prefix, Encode(record)));
  }
  EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, static_cast<int64_t>(cost)));
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  bool deliverable_now = std::any_of(messages.begin(), messages.end(),
                                     [](const QueueSendMessage& m) { return m.delay_seconds == 0; });
  if (deliverable_now) {
    std::lock_guard guard(mutex_);
    if (on_send_) on_send_();
  }
  return Status::Ok();
}

void QueueStore::SetOnSend(std::function<void()> on_send) {
  std::lock_guard guard(mutex_);
  on_send_ = std::move(on_send);
}

StatusOr<QueueStore::Ready> QueueStore::Peek(std::string_view account, std::string_view queue,
                                             size_t max) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  base::LmdbCursor cursor(txn.get(), dbs_.messages);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  std::string prefix = MessagePrefix(account, queue);
  int64_t now = clock_();
  Ready ready;
  MDB_val k = Val(prefix), v;
  std::lock_guard guard(mutex_);
  size_t scanned = 0;
  for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
       rc == 0 && ready.count < max && scanned < kMaxScan;
       rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT), ++scanned) {
    std::string_view key = View(k);
    if (!key.starts_with(prefix)) break;
    if (leased_.count(std::string(key)) != 0) continue;
    std::optional<Record> record = Decode(View(v));
    if (!record || record->visible_ms > now) continue;
    int64_t since = std::max(record->visible_ms, record->enqueued_ms);
    if (ready.count == 0 || since < ready.since_ms) ready.since_ms = since;
    ++ready.count;
  }
  return ready;
}

StatusOr<std::vector<QueueMessage>> QueueStore::Lease(std::string_view account,
                                                      std::string_view queue, size_t max) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  base::LmdbCursor cursor(txn.get(), dbs_.messages);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  std::string prefix = MessagePrefix(account, queue);
  int64_t now = clock_();
  std::vector<std::pair<std::string, Record>> taken;
  {
    std::lock_guard guard(mutex_);
    MDB_val k = Val(prefix), v;
    size_t scanned = 0;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
         rc == 0 && taken.size() < max && scanned < kMaxScan;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT), ++scanned) {
      std::string key(View(k));
      if (!std::string_view(key).starts_with(prefix)) break;
      if (leased_.count(key) != 0) continue;
      std::optional<Record> record = Decode(View(v));
      if (!record || record->visible_ms > now) continue;
      ++record->attempts;
      taken.emplace_back(std::move(key), std::move(*record));
    }
  }
  for (auto& [key, record] : taken) {
    std::string value = Encode(record);
    MDB_val k = Val(key), v = Val(value);
    int rc = mdb_put(txn.get(), dbs_.messages, &k, &v, 0);
    if (rc != 0) return env_->Error("write", rc);
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  std::vector<QueueMessage> out;
  std::lock_guard guard(mutex_);
  for (auto& [key, record] : taken) {
    leased_[key] = now;
    out.push_back({std::move(record.id), std::move(record.body), std::move(record.content_type),
                   record.enqueued_ms, record.attempts});
  }
  return out;
}

StatusOr<QueueSettleResult> QueueStore::Settle(std::string_view account, std::string_view queue,
                                               const std::vector<QueueDecision>& decisions,
                                               uint32_t max_retries,
                                               std::string_view dead_letter_queue) {
  QueueSettleResult result;
  std::string prefix = MessagePrefix(account, queue);
  std::vector<std::string> settled_keys;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  int64_t now = clock_();
  // The leased messages of this queue by id.
  std::map<std::string, std::string> keys_by_id;
  {
    std::lock_guard guard(mutex_);
    for (auto it = leased_.lower_bound(prefix); it != leased_.end() && it->first.starts_with(prefix);
         ++it) {
      MDB_val k = Val(it->first), v;
      if (mdb_get(txn.get(), dbs_.messages, &k, &v) != 0) continue;
      std::optional<Record> record = Decode(View(v));
      if (record) keys_by_id[record->id] = it->first;
    }
  }
  int64_t freed = 0;
  for (const QueueDecision& decision : decisions) {
    auto found = keys_by_id.find(decision.id);
    if (found == keys_by_id.end()) continue;  // not leased (settled already, or purged)
    const std::string& key = found->second;
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn.get(), dbs_.messages, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) return env_->Error("read", rc);
    std::optional<Record> record = Decode(View(v));
    settled_keys.push_back(key);
    if (!record) continue;
    bool remove = decision.kind == QueueDecision::kAck;
    if (decision.kind == QueueDecision::kRetry) {
      if (record->attempts > max_retries) {
        remove = true;
        if (!dead_letter_queue.empty()) {
          EDGE_RETURN_IF_ERROR(CreateIn(txn.get(), account, dead_letter_queue, 0, true));
          Record letter{now, now, 0, record->content_type, record->id, record->body};
          EDGE_RETURN_IF_ERROR(AppendMessage(txn.get(), MessagePrefix(account, dead_letter_queue),
                                             Encode(letter)));
          ++result.dead_lettered;
          freed -= static_cast<int64_t>(Cost(record->body.size()));  // kept in the DLQ
        } else {
          ++result.dropped;
          Log(LogLevel::kWarn,
              "queue \"{}\": message {} dropped after {} attempts (no dead_letter_queue)",
              queue, record->id, record->attempts);
        }
      } else {
        int64_t delay = std::clamp<int64_t>(decision.delay_seconds, 0, kQueueMaxDelaySeconds);
        record->visible_ms = now + delay * 1000;
        std::string value = Encode(*record);
        MDB_val nv = Val(value);
        rc = mdb_put(txn.get(), dbs_.messages, &k, &nv, 0);
        if (rc != 0) return env_->Error("write", rc);
        ++result.retried;
      }
    } else {
      ++result.acked;
    }
    if (remove) {
      rc = mdb_del(txn.get(), dbs_.messages, &k, nullptr);
      if (rc != 0) return env_->Error("write", rc);
      freed += static_cast<int64_t>(Cost(record->body.size()));
    }
  }
  if (freed != 0) EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, -freed));
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  std::lock_guard guard(mutex_);
  for (const std::string& key : settled_keys) leased_.erase(key);
  return result;
}

Status QueueStore::DeleteKeys(MDB_txn* txn, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    MDB_val k = Val(key);
    int rc = mdb_del(txn, dbs_.messages, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("write", rc);
    std::lock_guard guard(mutex_);
    leased_.erase(key);
  }
  return Status::Ok();
}

StatusOr<std::pair<uint64_t, uint64_t>> QueueStore::DeleteUnder(MDB_txn* txn,
                                                                const std::string& prefix) {
  base::LmdbCursor cursor(txn, dbs_.messages);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  uint64_t count = 0, bytes = 0;
  std::vector<std::string> doomed;
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  for (; rc == 0 && View(k).starts_with(prefix); rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    std::optional<Record> record = Decode(View(v));
    bytes += Cost(record ? record->body.size() : 0);
    ++count;
    doomed.emplace_back(View(k));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  EDGE_RETURN_IF_ERROR(DeleteKeys(txn, doomed));
  return std::make_pair(count, bytes);
}

StatusOr<uint64_t> QueueStore::Purge(std::string_view account, std::string_view queue) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  auto retention = RetentionOf(txn.get(), account, queue);
  if (!retention.ok()) return retention.status();
  auto deleted = DeleteUnder(txn.get(), MessagePrefix(account, queue));
  if (!deleted.ok()) return deleted.status();
  EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, -static_cast<int64_t>(deleted->second)));
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  return deleted->first;
}

Status QueueStore::DeleteQueue(std::string_view account, std::string_view queue) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  auto retention = RetentionOf(txn.get(), account, queue);
  if (!retention.ok()) return retention.status();
  auto deleted = DeleteUnder(txn.get(), MessagePrefix(account, queue));
  if (!deleted.ok()) return deleted.status();
  EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, -static_cast<int64_t>(deleted->second)));
  std::string key = QueueKey(account, queue);
  MDB_val k = Val(key);
  int rc = mdb_del(txn.get(), dbs_.queues, &k, nullptr);
  if (rc != 0) return env_->Error("write", rc);
  return txn.Commit("write");
}

StatusOr<std::vector<std::pair<std::string, QueueInfo>>> QueueStore::AllQueues() {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  std::vector<std::pair<std::string, QueueInfo>> out;
  {
    base::LmdbCursor cursor(txn.get(), dbs_.queues);
    if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::string_view key = View(k);
      size_t zero = key.find('\0');
      if (zero == std::string_view::npos || v.mv_size < 16) continue;
      QueueInfo info;
      info.name = std::string(key.substr(zero + 1));
      info.created_ms = static_cast<int64_t>(GetBe(static_cast<const char*>(v.mv_data), 8));
      info.retention_seconds =
          static_cast<int64_t>(GetBe(static_cast<const char*>(v.mv_data) + 8, 8));
      out.emplace_back(std::string(key.substr(0, zero)), std::move(info));
    }
  }
  base::LmdbCursor cursor(txn.get(), dbs_.messages);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  for (auto& [account, info] : out) {
    std::string prefix = MessagePrefix(account, info.name);
    MDB_val k = Val(prefix), v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
         rc == 0 && View(k).starts_with(prefix);
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      if (info.depth == 0 && v.mv_size >= 8) {
        info.oldest_ms = static_cast<int64_t>(GetBe(static_cast<const char*>(v.mv_data), 8));
      }
      ++info.depth;
      info.bytes += v.mv_size;
    }
  }
  return out;
}

StatusOr<std::vector<QueueInfo>> QueueStore::ListQueues(std::string_view account) {
  auto all = AllQueues();
  if (!all.ok()) return all.status();
  std::vector<QueueInfo> out;
  for (auto& [owner, info] : *all) {
    if (owner == account) out.push_back(std::move(info));
  }
  return out;
}

StatusOr<QueueInfo> QueueStore::Info(std::string_view account, std::string_view queue) {
  auto list = ListQueues(account);
  if (!list.ok()) return list.status();
  for (QueueInfo& info : *list) {
    if (info.name == queue) return std::move(info);
  }
  return Status(ErrorCode::kNotFound, fmt::format("Queue \"{}\" does not exist", queue));
}

StatusOr<uint64_t> QueueStore::SweepExpired() {
  auto all = AllQueues();
  if (!all.ok()) return all.status();
  int64_t now = clock_();
  uint64_t swept = 0;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  for (const auto& [account, info] : *all) {
    if (info.depth == 0 || info.oldest_ms + info.retention_seconds * 1000 > now) continue;
    std::string prefix = MessagePrefix(account, info.name);
    base::LmdbCursor cursor(txn.get(), dbs_.messages);
    if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
    MDB_val k = Val(prefix), v;
    int64_t freed = 0;
    size_t scanned = 0;
    std::vector<std::string> doomed;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
         rc == 0 && View(k).starts_with(prefix) && scanned++ < kMaxScan;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::optional<Record> record = Decode(View(v));
      if (record && record->enqueued_ms + info.retention_seconds * 1000 > now) break;
      freed += static_cast<int64_t>(Cost(record ? record->body.size() : 0));
      doomed.emplace_back(View(k));
    }
    EDGE_RETURN_IF_ERROR(DeleteKeys(txn.get(), doomed));
    swept += doomed.size();
    if (freed != 0) EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, -freed));
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  if (swept != 0) Log(LogLevel::kInfo, "queues: {} messages past their retention period deleted", swept);
  return swept;
}

namespace {

// A message key's account and queue (account \0 queue \0 u64 seq).
bool SplitKey(std::string_view key, std::string_view* account, std::string_view* queue) {
  size_t first = key.find('\0');
  if (first == std::string_view::npos || key.size() < first + 1 + 1 + 8) return false;
  size_t second = key.size() - 9;
  if (key[second] != '\0' || second <= first) return false;
  *account = key.substr(0, first);
  *queue = key.substr(first + 1, second - first - 1);
  return true;
}

}  // namespace

StatusOr<std::vector<QueueHeldMessage>> QueueStore::Hold(const HoldOptions& options) {
  std::vector<QueueHeldMessage> out;
  if (options.max_messages == 0) return out;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  base::LmdbCursor cursor(txn.get(), dbs_.messages);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  int64_t now = clock_();
  size_t bytes = 0, scanned = 0;
  std::string jump;
  std::lock_guard guard(mutex_);
  MDB_val k, v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  while (rc == 0 && out.size() < options.max_messages && scanned < kMaxScan) {
    std::string_view key = View(k);
    std::string_view account, queue;
    if (!SplitKey(key, &account, &queue)) {
      rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
      continue;
    }
    bool other_account = options.one_account && !out.empty() && account != out.front().account;
    if (other_account) break;
    if (std::find(options.skip_accounts.begin(), options.skip_accounts.end(), account) !=
        options.skip_accounts.end()) {
      // Past every key of this account: the next one starts after "account\0...".
      jump = std::string(account);
      jump += '\1';
      k = Val(jump);
      rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
      continue;
    }
    ++scanned;
    if (leased_.count(std::string(key)) == 0) {
      std::optional<Record> record = Decode(View(v));
      if (record) {
        if (!out.empty() && bytes + record->body.size() > options.max_bytes) break;
        bytes += record->body.size();
        QueueHeldMessage held{std::string(key), std::string(account), std::string(queue),
                              {std::move(record->id), std::move(record->body),
                               std::move(record->content_type), record->enqueued_ms,
                               record->visible_ms, record->attempts}};
        out.push_back(std::move(held));
      }
    }
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  for (const QueueHeldMessage& held : out) leased_[held.key] = now;
  return out;
}

void QueueStore::Release(const std::vector<std::string>& keys) {
  std::lock_guard guard(mutex_);
  for (const std::string& key : keys) leased_.erase(key);
}

StatusOr<uint64_t> QueueStore::Remove(const std::vector<std::string>& keys) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  std::map<std::string, int64_t> freed;  // by account
  std::vector<std::string> present;
  for (const std::string& key : keys) {
    std::string_view account, queue;
    if (!SplitKey(key, &account, &queue)) continue;
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn.get(), dbs_.messages, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) return env_->Error("read", rc);
    std::optional<Record> record = Decode(View(v));
    freed[std::string(account)] += static_cast<int64_t>(Cost(record ? record->body.size() : 0));
    present.push_back(key);
  }
  EDGE_RETURN_IF_ERROR(DeleteKeys(txn.get(), present));
  for (const auto& [account, bytes] : freed) {
    EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, -bytes));
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  Release(keys);
  return present.size();
}

Status QueueStore::Import(std::string_view account, const std::vector<QueueImport>& messages,
                          bool* quota_full) {
  if (messages.empty()) return Status::Ok();
  uint64_t cost = 0;
  for (const QueueImport& item : messages) {
    const QueueStoredMessage& message = item.message;
    EDGE_RETURN_IF_ERROR(ValidateQueueName(item.queue));
    EDGE_RETURN_IF_ERROR(CheckMessage(message.body.size(), message.content_type));
    if (message.id.size() != 32 || !base::IsLowerHex(message.id)) {
      return Status(ErrorCode::kInvalidInput, "a message id is 32 lower-case hex digits");
    }
    if (message.timestamp_ms <= 0 || message.visible_ms < 0) {
      return Status(ErrorCode::kInvalidInput, "a message needs its timestamp and visible-at time");
    }
    cost += Cost(message.body.size());
  }
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  EDGE_RETURN_IF_ERROR(CheckQuota(txn.get(), account, cost, quota_full));
  int64_t now = clock_();
  bool deliverable_now = false;
  std::string created;  // the last queue made sure of
  for (const QueueImport& item : messages) {
    const QueueStoredMessage& message = item.message;
    if (item.queue != created) {
      EDGE_RETURN_IF_ERROR(CreateIn(txn.get(), account, item.queue, 0, /*exists_ok=*/true));
      created = item.queue;
    }
    Record record{message.timestamp_ms, message.visible_ms, message.attempts,
                  message.content_type, message.id, message.body};
    deliverable_now |= message.visible_ms <= now;
    EDGE_RETURN_IF_ERROR(AppendMessage(txn.get(), MessagePrefix(account, item.queue), Encode(record)));
  }
  EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), account, static_cast<int64_t>(cost)));
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  if (deliverable_now) {
    std::lock_guard guard(mutex_);
    if (on_send_) on_send_();
  }
  return Status::Ok();
}

}  // namespace edge::bindings
