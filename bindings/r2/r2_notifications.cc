#include "bindings/r2/r2_notifications.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>
#include <utility>

#include "base/json_escape.h"
#include "base/lmdb.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "runtime/project.h"

namespace edge::bindings {
namespace {

using base::GetBe;
using base::Val;
using base::View;

constexpr int64_t kTickMs = 100;
constexpr int64_t kRescanMs = 1000;

std::string RuleRowKey(std::string_view owner, std::string_view bucket) {
  std::string key(owner);
  key.push_back('\0');
  key.append(bucket);
  return key;
}

std::string PendingKey(std::string_view owner) { return "e:" + std::string(owner); }

void PutBe16(std::string& out, size_t value) {
  out.push_back(static_cast<char>((value >> 8) & 0xFF));
  out.push_back(static_cast<char>(value & 0xFF));
}

std::string EncodeRules(const std::vector<R2NotificationRule>& rules) {
  std::string out;
  for (const R2NotificationRule& rule : rules) {
    for (const std::string* text : {&rule.queue, &rule.prefix, &rule.suffix}) {
      PutBe16(out, text->size());
      out.append(*text);
    }
    out.push_back(static_cast<char>((rule.object_create ? 1 : 0) | (rule.object_delete ? 2 : 0)));
  }
  return out;
}

// Rules as EncodeRules wrote them; a row that does not read back holds none.
std::vector<R2NotificationRule> DecodeRules(std::string_view bytes, const std::string& bucket) {
  std::vector<R2NotificationRule> rules;
  size_t at = 0;
  while (at < bytes.size()) {
    R2NotificationRule rule;
    rule.bucket = bucket;
    for (std::string* text : {&rule.queue, &rule.prefix, &rule.suffix}) {
      if (at + 2 > bytes.size()) return {};
      size_t length = GetBe(bytes.data() + at, 2);
      at += 2;
      if (at + length > bytes.size()) return {};
      text->assign(bytes.substr(at, length));
      at += length;
    }
    if (at >= bytes.size()) return {};
    uint8_t flags = static_cast<uint8_t>(bytes[at++]);
    rule.object_create = (flags & 1) != 0;
    rule.object_delete = (flags & 2) != 0;
    rules.push_back(std::move(rule));
  }
  return rules;
}

Status Lmdb(const base::LmdbEnv& env, std::string_view what, int rc) { return env.Error(what, rc); }

StatusOr<uint64_t> ReadU64(const base::LmdbEnv& env, MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return uint64_t{0};
  if (rc != 0) return Lmdb(env, "read", rc);
  return base::GetBe64(View(v)).value_or(0);
}

Status WriteU64(const base::LmdbEnv& env, MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                uint64_t value) {
  MDB_val k = Val(key);
  int rc;
  if (value == 0) {
    rc = mdb_del(txn, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) rc = 0;
  } else {
    std::string bytes = base::Be64(value);
    MDB_val v = Val(bytes);
    rc = mdb_put(txn, dbi, &k, &v, 0);
  }
  return rc == 0 ? Status::Ok() : Lmdb(env, "write", rc);
}

const char* ActionName(R2Change::Action action) {
  switch (action) {
    case R2Change::kPut:
      return "PutObject";
    case R2Change::kCompleteMultipart:
      return "CompleteMultipartUpload";
    case R2Change::kDelete:
      return "DeleteObject";
    case R2Change::kCopy:
      return "CopyObject";
  }
  return "PutObject";
}

// One outbox row read back.
struct OutboxEntry {
  std::string row_key;  // the u64 sequence
  std::string owner, queue, body;
};

std::optional<OutboxEntry> DecodeEntry(std::string_view key, std::string_view value) {
  size_t first = value.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = value.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  return OutboxEntry{std::string(key), std::string(value.substr(0, first)),
                     std::string(value.substr(first + 1, second - first - 1)),
                     std::string(value.substr(second + 1))};
}

}  // namespace

bool R2NotificationRule::Matches(const R2Change& change) const {
  bool kind = change.action == R2Change::kDelete ? object_delete : object_create;
  if (!kind || change.bucket != bucket) return false;
  // A prefix and a suffix that overlap inside a short key both match only
  // when the key is long enough for both.
  if (change.key.size() < prefix.size() || change.key.size() < suffix.size()) return false;
  return std::string_view(change.key).starts_with(prefix) && std::string_view(change.key).ends_with(suffix);
}

std::vector<std::string> R2NotificationRule::EventTypes() const {
  std::vector<std::string> types;
  if (object_create) types.push_back("object-create");
  if (object_delete) types.push_back("object-delete");
  return types;
}

Status AddR2EventType(std::string_view type, R2NotificationRule* rule) {
  if (type == "object-create") {
    rule->object_create = true;
  } else if (type == "object-delete") {
    rule->object_delete = true;
  } else {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("unknown event type \"{}\" (known: object-create, object-delete)",
                              base::ToWellFormedUtf8(type.substr(0, 64))));
  }
  return Status::Ok();
}

Status ValidateR2NotificationRule(const R2NotificationRule& rule) {
  if (!runtime::ValidR2BucketName(rule.bucket)) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("bucket \"{}\" is not a valid R2 bucket name",
                              base::ToWellFormedUtf8(std::string_view(rule.bucket).substr(0, 64))));
  }
  Status queue = ValidateQueueName(rule.queue);
  if (!queue.ok()) return queue;
  if (!rule.object_create && !rule.object_delete) {
    return Status(ErrorCode::kInvalidInput, "a rule needs at least one event type (object-create, object-delete)");
  }
  if (rule.prefix.size() > kR2MaxRuleAffixBytes || rule.suffix.size() > kR2MaxRuleAffixBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("a rule's prefix and suffix are at most {} bytes", kR2MaxRuleAffixBytes));
  }
  return Status::Ok();
}

StatusOr<R2NotificationRule> R2RuleFromSpec(const runtime::R2EventNotificationSpec& spec) {
  R2NotificationRule rule;
  rule.bucket = spec.bucket;
  rule.queue = spec.queue;
  rule.prefix = spec.prefix;
  rule.suffix = spec.suffix;
  for (const std::string& type : spec.event_types) EDGE_RETURN_IF_ERROR(AddR2EventType(type, &rule));
  EDGE_RETURN_IF_ERROR(ValidateR2NotificationRule(rule));
  return rule;
}

bool WorkerNamesQueue(const runtime::WorkerSpec& spec, std::string_view queue) {
  for (const runtime::EnvBinding& binding : spec.bindings) {
    if (binding.kind == "queue" && binding.Option("queue") == queue) return true;
  }
  for (const runtime::QueueConsumerSpec& consumer : spec.queue_consumers) {
    if (consumer.queue == queue || consumer.dead_letter_queue == queue) return true;
  }
  return false;
}

std::string R2EventMessage(std::string_view account, const R2Change& change) {
  std::string out = "{\"account\":";
  base::AppendJsonEscaped(out, account);
  out += ",\"action\":\"";
  out += ActionName(change.action);
  out += "\",\"bucket\":";
  base::AppendJsonEscaped(out, change.bucket);
  out += ",\"object\":{\"key\":";
  base::AppendJsonEscaped(out, change.key);
  if (change.action != R2Change::kDelete) {
    out += fmt::format(",\"size\":{},\"eTag\":", change.size);
    base::AppendJsonEscaped(out, change.etag);
  }
  out += "},\"eventTime\":\"";
  out += base::FormatUtcTime(static_cast<uint64_t>(std::max<int64_t>(change.time_ms, 0)));
  out += "\"";
  if (change.action == R2Change::kCopy) {
    out += ",\"copySource\":{\"bucket\":";
    base::AppendJsonEscaped(out, change.source_bucket);
    out += ",\"object\":";
    base::AppendJsonEscaped(out, change.source_key);
    out += "}";
  }
  out += "}";
  return out;
}

std::shared_ptr<R2Notifier> R2Notifier::Attach(std::shared_ptr<R2Store> r2,
                                               std::shared_ptr<QueueStore> queues, Options options) {
  std::shared_ptr<R2Notifier> notifier(new R2Notifier(r2, std::move(queues), std::move(options)));
  std::weak_ptr<R2Notifier> weak = notifier;
  r2->SetChangeHook([weak](MDB_txn* txn, const R2Change& change) -> Status {
    std::shared_ptr<R2Notifier> self = weak.lock();
    return self ? self->OnChange(txn, change) : Status::Ok();
  });
  return notifier;
}

R2Notifier::R2Notifier(std::shared_ptr<R2Store> r2, std::shared_ptr<QueueStore> queues, Options options)
    : r2_(std::move(r2)), queues_(std::move(queues)), options_(std::move(options)) {}

R2Notifier::~R2Notifier() { Stop(); }

void R2Notifier::SetConfigRules(std::map<std::string, std::vector<R2NotificationRule>> rules) {
  for (auto& [owner, list] : rules) {
    std::vector<R2NotificationRule> unique;
    for (R2NotificationRule& rule : list) {
      if (std::find(unique.begin(), unique.end(), rule) == unique.end()) unique.push_back(std::move(rule));
    }
    list = std::move(unique);
  }
  std::lock_guard lock(mutex_);
  config_ = std::move(rules);
}

StatusOr<std::vector<R2NotificationRule>> R2Notifier::StoredRules(MDB_txn* txn, const std::string& owner,
                                                                  const std::string& bucket) {
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  std::string key = RuleRowKey(owner, bucket);
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, tables->rules, &k, &v);
  if (rc == MDB_NOTFOUND) return std::vector<R2NotificationRule>();
  if (rc != 0) return Lmdb(*tables->env, "read", rc);
  return DecodeRules(View(v), bucket);
}

Status R2Notifier::OnChange(MDB_txn* txn, const R2Change& change) {
  std::vector<R2NotificationRule> rules;
  {
    std::lock_guard lock(mutex_);
    auto found = config_.find(change.owner);
    if (found != config_.end()) {
      for (const R2NotificationRule& rule : found->second) {
        if (rule.Matches(change)) rules.push_back(rule);
      }
    }
  }
  auto stored = StoredRules(txn, change.owner, change.bucket);
  if (!stored.ok()) return stored.status();
  for (const R2NotificationRule& rule : *stored) {
    if (rule.Matches(change)) rules.push_back(rule);
  }
  if (rules.empty()) return Status::Ok();
  // One message per queue, however many of its rules match.
  std::set<std::string> queues;
  for (const R2NotificationRule& rule : rules) queues.insert(rule.queue);

  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  const base::LmdbEnv& env = *tables->env;
  auto pending = ReadU64(env, txn, tables->usage, PendingKey(change.owner));
  if (!pending.ok()) return pending.status();
  if (*pending + queues.size() > options_.max_pending_events) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("R2 event notifications: {} events of this account wait for queues that refuse "
                              "them (at most {}); the write is refused until they are delivered",
                              *pending, options_.max_pending_events));
  }
  auto next = ReadU64(env, txn, tables->meta, "next_event");
  if (!next.ok()) return next.status();
  uint64_t seq = *next;
  std::string account = change.owner.empty() ? options_.local_account : change.owner;
  std::string body = R2EventMessage(account, change);
  for (const std::string& queue : queues) {
    std::string key = base::Be64(++seq);
    std::string value = change.owner;
    value.push_back('\0');
    value += queue;
    value.push_back('\0');
    value += body;
    MDB_val k = Val(key), v = Val(value);
    int rc = mdb_put(txn, tables->outbox, &k, &v, 0);
    if (rc != 0) return Lmdb(env, "write", rc);
  }
  EDGE_RETURN_IF_ERROR(WriteU64(env, txn, tables->meta, "next_event", seq));
  EDGE_RETURN_IF_ERROR(WriteU64(env, txn, tables->usage, PendingKey(change.owner), *pending + queues.size()));
  written_.store(true, std::memory_order_release);
  return Status::Ok();
}

Status R2Notifier::AddRule(const std::string& owner, const R2NotificationRule& rule) {
  EDGE_RETURN_IF_ERROR(ValidateR2NotificationRule(rule));
  auto info = queues_->Info(owner, rule.queue);
  if (!info.ok()) return info.status();
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*tables->env, false, "add notification rule"));
  auto stored = StoredRules(txn.get(), owner, rule.bucket);
  if (!stored.ok()) return stored.status();
  if (std::find(stored->begin(), stored->end(), rule) != stored->end()) return Status::Ok();
  if (stored->size() >= kR2MaxRulesPerBucket) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("bucket \"{}\" has {} notification rules already (at most {})", rule.bucket,
                              stored->size(), kR2MaxRulesPerBucket));
  }
  stored->push_back(rule);
  std::string key = RuleRowKey(owner, rule.bucket);
  std::string value = EncodeRules(*stored);
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn.get(), tables->rules, &k, &v, 0);
  if (rc != 0) return Lmdb(*tables->env, "write", rc);
  return txn.Commit("add notification rule");
}

StatusOr<std::vector<R2Notifier::ListedRule>> R2Notifier::ListRules(const std::string& owner,
                                                                    const std::string& bucket) {
  std::vector<ListedRule> out;
  {
    std::lock_guard lock(mutex_);
    auto found = config_.find(owner);
    if (found != config_.end()) {
      for (const R2NotificationRule& rule : found->second) {
        if (rule.bucket == bucket) out.push_back({rule, true});
      }
    }
  }
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*tables->env, true, "list notification rules"));
  auto stored = StoredRules(txn.get(), owner, bucket);
  if (!stored.ok()) return stored.status();
  for (R2NotificationRule& rule : *stored) out.push_back({std::move(rule), false});
  return out;
}

StatusOr<size_t> R2Notifier::DeleteRules(const std::string& owner, const std::string& bucket,
                                         const std::string& queue) {
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*tables->env, false, "delete notification rules"));
  auto stored = StoredRules(txn.get(), owner, bucket);
  if (!stored.ok()) return stored.status();
  size_t before = stored->size();
  std::erase_if(*stored, [&](const R2NotificationRule& rule) { return queue.empty() || rule.queue == queue; });
  size_t removed = before - stored->size();
  if (removed == 0) {
    return Status(ErrorCode::kNotFound,
                  queue.empty() ? fmt::format("bucket \"{}\" has no notification rules", bucket)
                                : fmt::format("bucket \"{}\" has no notification rule for queue \"{}\"",
                                              bucket, queue));
  }
  std::string key = RuleRowKey(owner, bucket);
  MDB_val k = Val(key);
  int rc;
  if (stored->empty()) {
    rc = mdb_del(txn.get(), tables->rules, &k, nullptr);
  } else {
    std::string value = EncodeRules(*stored);
    MDB_val v = Val(value);
    rc = mdb_put(txn.get(), tables->rules, &k, &v, 0);
  }
  if (rc != 0) return Lmdb(*tables->env, "write", rc);
  EDGE_RETURN_IF_ERROR(txn.Commit("delete notification rules"));
  return removed;
}

Status R2Notifier::DropOwner(const std::string& owner) {
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  const base::LmdbEnv& env = *tables->env;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(env, false, "drop account"));
  std::vector<std::string> doomed_rules, doomed_events;
  {
    std::string prefix = owner;
    prefix.push_back('\0');
    base::LmdbCursor cursor(txn.get(), tables->rules);
    if (cursor.rc() != 0) return Lmdb(env, "drop account", cursor.rc());
    MDB_val k = Val(prefix), v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE); rc == 0 && View(k).starts_with(prefix);
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      doomed_rules.emplace_back(View(k));
    }
  }
  {
    base::LmdbCursor cursor(txn.get(), tables->outbox);
    if (cursor.rc() != 0) return Lmdb(env, "drop account", cursor.rc());
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::optional<OutboxEntry> entry = DecodeEntry(View(k), View(v));
      if (entry && entry->owner == owner) doomed_events.push_back(entry->row_key);
    }
  }
  for (const std::string& key : doomed_rules) {
    MDB_val k = Val(key);
    int rc = mdb_del(txn.get(), tables->rules, &k, nullptr);
    if (rc != 0) return Lmdb(env, "drop account", rc);
  }
  for (const std::string& key : doomed_events) {
    MDB_val k = Val(key);
    int rc = mdb_del(txn.get(), tables->outbox, &k, nullptr);
    if (rc != 0) return Lmdb(env, "drop account", rc);
  }
  EDGE_RETURN_IF_ERROR(WriteU64(env, txn.get(), tables->usage, PendingKey(owner), 0));
  return txn.Commit("drop account");
}

StatusOr<uint64_t> R2Notifier::PendingEvents(const std::string& owner) {
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*tables->env, true, "read"));
  return ReadU64(*tables->env, txn.get(), tables->usage, PendingKey(owner));
}

StatusOr<size_t> R2Notifier::DeliverSome() {
  auto tables = r2_->OpenEventTables();
  if (!tables.ok()) return tables.status();
  const base::LmdbEnv& env = *tables->env;
  int64_t now = r2_->Now();
  std::map<std::string, int64_t> blocked;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(blocked_, [&](const auto& item) { return item.second <= now; });
    blocked = blocked_;
  }
  // The oldest waiting events of each (owner, queue) not held back, in
  // batches of what one send may carry.
  struct Group {
    std::string owner, queue;
    std::vector<OutboxEntry> entries;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> group_order;
  {
    base::LmdbTxn txn;
    EDGE_RETURN_IF_ERROR(txn.Begin(env, true, "read outbox"));
    base::LmdbCursor cursor(txn.get(), tables->outbox);
    if (cursor.rc() != 0) return Lmdb(env, "read outbox", cursor.rc());
    MDB_val k, v;
    size_t seen = 0;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0 && seen < options_.scan_limit;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT), ++seen) {
      std::optional<OutboxEntry> entry = DecodeEntry(View(k), View(v));
      if (!entry) continue;
      std::string id = entry->owner + '\0' + entry->queue;
      if (blocked.contains(id)) continue;
      Group& group = groups[id];
      if (group.entries.empty()) {
        group.owner = entry->owner;
        group.queue = entry->queue;
        group_order.push_back(id);
      }
      if (group.entries.size() < kQueueMaxBatchMessages) group.entries.push_back(std::move(*entry));
    }
  }
  if (groups.empty()) return size_t{0};

  // Each group's send commits on its own; then the delivered rows go in one
  // transaction (a crash between the two delivers them again).
  std::vector<std::pair<std::string, std::string>> done;  // owner, row key
  for (const std::string& id : group_order) {
    Group& group = groups[id];
    std::vector<QueueSendMessage> messages;
    size_t bytes = 0;
    size_t count = 0;
    for (const OutboxEntry& entry : group.entries) {
      if (count > 0 && bytes + entry.body.size() > kQueueMaxBatchBytes) break;
      bytes += entry.body.size();
      ++count;
      messages.push_back({entry.body, "json", 0});
    }
    Status sent = queues_->Send(group.owner, group.queue, messages);
    if (sent.code() == ErrorCode::kNotFound) {
      // The queue went after the event was written: nothing can take it.
      Log(LogLevel::kWarn,
                "R2 event notifications: queue \"{}\" of \"{}\" no longer exists; {} event(s) dropped",
                group.queue, group.owner, count);
    } else if (!sent.ok()) {
      Log(LogLevel::kWarn, "R2 event notifications for queue \"{}\" of \"{}\" wait: {}",
                group.queue, group.owner, sent.message());
      std::lock_guard lock(mutex_);
      blocked_[id] = now + options_.retry_after_ms;
      continue;
    }
    for (size_t i = 0; i < count; ++i) done.emplace_back(group.owner, group.entries[i].row_key);
  }
  if (done.empty()) return size_t{0};
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(env, false, "clear outbox"));
  std::map<std::string, uint64_t> per_owner;
  for (const auto& [owner, key] : done) {
    MDB_val k = Val(key);
    int rc = mdb_del(txn.get(), tables->outbox, &k, nullptr);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) return Lmdb(env, "clear outbox", rc);
    ++per_owner[owner];
  }
  for (const auto& [owner, count] : per_owner) {
    auto pending = ReadU64(env, txn.get(), tables->usage, PendingKey(owner));
    if (!pending.ok()) return pending.status();
    EDGE_RETURN_IF_ERROR(
        WriteU64(env, txn.get(), tables->usage, PendingKey(owner), *pending - std::min(*pending, count)));
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("clear outbox"));
  return done.size();
}

void R2Notifier::Start(uv_loop_t* loop) {
  if (timer_ != nullptr) return;
  timer_ = new uv_timer_t;
  uv_timer_init(loop, timer_);
  timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  uv_timer_start(
      timer_, [](uv_timer_t* timer) { static_cast<R2Notifier*>(timer->data)->Tick(); }, 0, kTickMs);
}

void R2Notifier::Stop() {
  if (timer_ == nullptr) return;
  uv_timer_stop(timer_);
  base::CloseAndDelete(timer_);
  timer_ = nullptr;
}

void R2Notifier::Tick() {
  int64_t now = uv_now(timer_->loop);
  bool written = written_.exchange(false, std::memory_order_acq_rel);
  // An event written just before this tick's read may not be committed
  // yet: the rescan every second picks it up.
  if (!written && (now < next_scan_ms_ || !r2_->is_open())) return;
  next_scan_ms_ = now + kRescanMs;
  // A full round moves at most a batch per (account, queue); keep going
  // while rounds move something, a bounded number of times per tick.
  for (int round = 0; round < 10; ++round) {
    auto moved = DeliverSome();
    if (!moved.ok()) {
      Log(LogLevel::kWarn, "R2 event notifications: {}", moved.status().message());
      return;
    }
    if (*moved == 0) return;
    written_.store(true, std::memory_order_release);  // more may wait: look again next tick
  }
}

}  // namespace edge::bindings
