#include "edge-sync/queue_mailbox.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>

#include "base/random_hex.h"
#include "base/base64.h"
#include "base/json_text.h"
#include "base/log.h"
#include "gateway/deploy/accounts.h"
#include "gateway/node/node.h"
#include "gateway/node/node_metrics.h"
#include "gateway/node/node_sink.h"

namespace edge::sync {
namespace {

using simdjson::dom::element;

constexpr size_t kMaxPopIdBytes = 128;
constexpr size_t kMaxAccountBytes = 128;
constexpr uint64_t kMaxAttempts = 1'000'000;
// A base64 body of at most 128 KiB.
constexpr size_t kMaxBodyText = (bindings::kQueueMaxMessageBytes + 2) / 3 * 4;

Status Bad(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

StatusOr<element> ParseObject(simdjson::dom::parser& parser, std::string_view json,
                              size_t max_bytes, std::string_view what) {
  element root;
  if (json.size() > max_bytes) {
    return Bad(fmt::format("{} must be at most {} bytes", what, max_bytes));
  }
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Bad(fmt::format("{} must be a JSON object", what));
  }
  return root;
}

bool GetString(element object, const char* key, size_t max_bytes, std::string* out) {
  std::string_view text;
  if (object[key].get_string().get(text) != simdjson::SUCCESS || text.size() > max_bytes) {
    return false;
  }
  *out = std::string(text);
  return true;
}

void AppendMessage(std::string& out, const bindings::QueueImport& item) {
  const bindings::QueueStoredMessage& message = item.message;
  out += fmt::format(
      "\"queue\":{},\"id\":{},\"content_type\":{},\"body\":\"{}\",\"attempts\":{},"
      "\"timestamp_ms\":{},\"visible_ms\":{}}}",
      base::JsonString(item.queue), base::JsonString(message.id),
      base::JsonString(message.content_type), base::Base64Encode(message.body), message.attempts,
      message.timestamp_ms, message.visible_ms);
}

// One message of a put or of a take's answer; the store checks the rest
// (the queue's name, the id, the content type, the size) when it imports.
StatusOr<bindings::QueueImport> DecodeMessage(element object, size_t index) {
  bindings::QueueImport item;
  bindings::QueueStoredMessage& message = item.message;
  std::string body;
  uint64_t attempts = 0;
  auto bad = [index](std::string_view field) {
    return Bad(fmt::format("message {}: {} is missing or malformed", index, field));
  };
  if (!object.is_object()) return Bad(fmt::format("message {} is not an object", index));
  if (!GetString(object, "queue", bindings::kQueueMaxNameBytes, &item.queue)) return bad("queue");
  if (!GetString(object, "id", 32, &message.id)) return bad("id");
  if (!GetString(object, "content_type", 16, &message.content_type)) return bad("content_type");
  if (!GetString(object, "body", kMaxBodyText, &body)) {
    return Bad(fmt::format("message {}: body is missing, not a string or over {} bytes of base64",
                           index, kMaxBodyText));
  }
  if (object["attempts"].get_uint64().get(attempts) != simdjson::SUCCESS ||
      attempts > kMaxAttempts) {
    return bad("attempts");
  }
  if (object["timestamp_ms"].get_int64().get(message.timestamp_ms) != simdjson::SUCCESS) {
    return bad("timestamp_ms");
  }
  if (object["visible_ms"].get_int64().get(message.visible_ms) != simdjson::SUCCESS) {
    return bad("visible_ms");
  }
  auto decoded = base::Base64Decode(body);
  if (!decoded.ok()) return Bad(fmt::format("message {}: body is not base64", index));
  message.body = std::move(decoded).value();
  message.attempts = static_cast<uint32_t>(attempts);
  return item;
}

StatusOr<std::vector<std::string>> DecodeStrings(element array, size_t max_items,
                                                 size_t max_bytes) {
  std::vector<std::string> out;
  simdjson::dom::array items;
  if (array.get_array().get(items) != simdjson::SUCCESS) return Bad("not an array");
  for (element item : items) {
    std::string_view text;
    if (out.size() == max_items || item.get_string().get(text) != simdjson::SUCCESS ||
        text.size() > max_bytes) {
      return Bad(fmt::format("at most {} strings of at most {} bytes", max_items, max_bytes));
    }
    out.emplace_back(text);
  }
  return out;
}

StatusOr<std::string> NewLeaseId() { return base::RandomHex(16, "a lease id"); }

}  // namespace

std::string EncodeQueuePut(const QueuePutBatch& batch) {
  std::string out =
      fmt::format("{{\"pop_id\":{},\"account\":{},\"messages\":", base::JsonString(batch.pop_id),
                  base::JsonString(batch.account));
  base::AppendJsonArray(out, batch.messages,
                        [](std::string& text, const bindings::QueueImport& item) {
                          text += '{';
                          AppendMessage(text, item);
                        });
  return out + "}";
}

StatusOr<QueuePutBatch> DecodeQueuePut(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, kQueuePutMaxBodyBytes, "a queue put");
  if (!root.ok()) return root.status();
  QueuePutBatch batch;
  if (!GetString(*root, "pop_id", kMaxPopIdBytes, &batch.pop_id) || batch.pop_id.empty()) {
    return Bad("a queue put needs pop_id (1 to 128 bytes)");
  }
  if (!GetString(*root, "account", kMaxAccountBytes, &batch.account)) {
    return Bad("a queue put needs account");
  }
  simdjson::dom::array messages;
  if ((*root)["messages"].get_array().get(messages) != simdjson::SUCCESS) {
    return Bad("a queue put needs messages (an array)");
  }
  if (messages.size() > kQueuePutMaxMessages) {
    return Bad(fmt::format("a queue put holds at most {} messages (got {})", kQueuePutMaxMessages,
                           messages.size()));
  }
  size_t index = 0;
  for (element object : messages) {
    auto item = DecodeMessage(object, index++);
    if (!item.ok()) return item.status();
    batch.messages.push_back(std::move(item).value());
  }
  return batch;
}

std::string EncodeQueueTake(const QueueTakeRequest& take) {
  return fmt::format("{{\"pop_id\":{},\"term\":{},\"max\":{},\"skip\":{}}}",
                     base::JsonString(take.pop_id), take.term, take.max,
                     base::JsonStringArray(take.skip));
}

StatusOr<QueueTakeRequest> DecodeQueueTake(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, 64 << 10, "a queue take");
  if (!root.ok()) return root.status();
  QueueTakeRequest take;
  uint64_t max = 0;
  if (!GetString(*root, "pop_id", kMaxPopIdBytes, &take.pop_id) || take.pop_id.empty()) {
    return Bad("a queue take needs pop_id (1 to 128 bytes)");
  }
  if ((*root)["term"].get_uint64().get(take.term) != simdjson::SUCCESS) {
    return Bad("a queue take needs term");
  }
  if ((*root)["max"].get_uint64().get(max) != simdjson::SUCCESS || max == 0 ||
      max > kQueueTakeMaxMessages) {
    return Bad(fmt::format("a queue take needs max, 1 to {}", kQueueTakeMaxMessages));
  }
  take.max = static_cast<size_t>(max);
  element skip;
  if ((*root)["skip"].get(skip) == simdjson::SUCCESS) {
    auto accounts = DecodeStrings(skip, kQueueSyncMaxSkippedAccounts, kMaxAccountBytes);
    if (!accounts.ok()) return Bad("a queue take's skip: " + accounts.status().message());
    take.skip = std::move(accounts).value();
  }
  return take;
}

std::string EncodeQueueTakeAnswer(const QueueTakeAnswer& answer) {
  std::string out = fmt::format("{{\"lease\":{},\"messages\":", base::JsonString(answer.lease));
  base::AppendJsonArray(out, answer.messages,
                        [](std::string& text, const QueueTakeAnswer::Item& item) {
                          text += fmt::format("{{\"account\":{},", base::JsonString(item.account));
                          AppendMessage(text, item.message);
                        });
  return out + "}";
}

StatusOr<QueueTakeAnswer> DecodeQueueTakeAnswer(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, 64u << 20, "a queue take's answer");
  if (!root.ok()) return root.status();
  QueueTakeAnswer answer;
  if (!GetString(*root, "lease", 64, &answer.lease)) return Bad("a take's answer needs lease");
  simdjson::dom::array messages;
  if ((*root)["messages"].get_array().get(messages) != simdjson::SUCCESS) {
    return Bad("a take's answer needs messages");
  }
  size_t index = 0;
  for (element object : messages) {
    QueueTakeAnswer::Item item;
    if (!object.is_object() || !GetString(object, "account", kMaxAccountBytes, &item.account)) {
      return Bad(fmt::format("message {}: account is missing", index));
    }
    auto message = DecodeMessage(object, index++);
    if (!message.ok()) return message.status();
    item.message = std::move(message).value();
    answer.messages.push_back(std::move(item));
  }
  return answer;
}

std::string EncodeQueueAck(const QueueAck& ack) {
  std::string out =
      fmt::format("{{\"pop_id\":{},\"lease\":{},\"done\":", base::JsonString(ack.pop_id),
                  base::JsonString(ack.lease));
  base::AppendJsonArray(out, ack.done,
                        [](std::string& text, uint64_t place) { text += std::to_string(place); });
  return out + "}";
}

StatusOr<QueueAck> DecodeQueueAck(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, 64 << 10, "a queue ack");
  if (!root.ok()) return root.status();
  QueueAck ack;
  if (!GetString(*root, "pop_id", kMaxPopIdBytes, &ack.pop_id) || ack.pop_id.empty()) {
    return Bad("a queue ack needs pop_id (1 to 128 bytes)");
  }
  if (!GetString(*root, "lease", 64, &ack.lease) || ack.lease.empty()) {
    return Bad("a queue ack needs lease");
  }
  simdjson::dom::array done;
  if ((*root)["done"].get_array().get(done) != simdjson::SUCCESS ||
      done.size() > kQueueTakeMaxMessages) {
    return Bad(fmt::format("a queue ack needs done: an array of at most {} places",
                           kQueueTakeMaxMessages));
  }
  for (element item : done) {
    uint64_t place = 0;
    if (item.get_uint64().get(place) != simdjson::SUCCESS) {
      return Bad("a queue ack's done holds places (numbers)");
    }
    ack.done.push_back(place);
  }
  return ack;
}

std::function<bool(std::string_view)> NodeAccountExists(gateway::Node& node) {
  return [&node](std::string_view account) {
    return account == gateway::kDefaultAccount || node.accounts()->Find(account) != nullptr;
  };
}

QueueMailbox::QueueMailbox(std::shared_ptr<bindings::QueueStore> store,
                           std::function<bool(std::string_view)> account_exists,
                           std::function<CronHomeState()> home, Options options)
    : store_(std::move(store)),
      account_exists_(std::move(account_exists)),
      home_(std::move(home)),
      options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return static_cast<int64_t>(gateway::UnixMs()); };
  last_sweep_ms_ = options_.clock();
}

QueueMailbox::Answer QueueMailbox::Refuse(int status, std::string_view message) {
  ++counts_.refused;
  return {status, fmt::format("{{\"error\":{}}}", base::JsonString(message))};
}

QueueMailbox::Answer QueueMailbox::Handle(std::string_view path, std::string_view method,
                                          std::string_view body) {
  bool known = path == "/sync/queues/put" ||
               (home_ && (path == "/sync/queues/take" || path == "/sync/queues/ack"));
  if (!known) {
    return Refuse(404, home_ ? "queue sync paths are /sync/queues/put, /sync/queues/take and "
                               "/sync/queues/ack"
                             : "this node takes /sync/queues/put only (take and ack are the "
                               "origin's)");
  }
  if (method != "POST") return Refuse(405, "use POST");
  if (path == "/sync/queues/put") return Put(body);
  if (path == "/sync/queues/take") return Take(body);
  return Ack(body);
}

void QueueMailbox::MaybeSweep(int64_t now) {
  if (now - last_sweep_ms_ < options_.sweep_every_ms) return;
  last_sweep_ms_ = now;
  auto swept = store_->SweepExpired();
  if (!swept.ok())
    Log(LogLevel::kError, "queue mailbox: retention sweep failed: {}", swept.status().message());
}

QueueMailbox::Answer QueueMailbox::Put(std::string_view body) {
  auto batch = DecodeQueuePut(body);
  if (!batch.ok()) {
    int status = body.size() > kQueuePutMaxBodyBytes ? 413 : 400;
    return Refuse(status, batch.status().message());
  }
  if (!account_exists_(batch->account)) {
    Log(LogLevel::kWarn, "queue messages from {} refused: no account {:?} here", batch->pop_id,
        batch->account);
    return Refuse(400,
                  fmt::format("no account {:?} here: its messages are refused", batch->account));
  }
  MaybeSweep(options_.clock());
  bool quota_full = false;
  Status stored = store_->Import(batch->account, batch->messages, &quota_full);
  if (!stored.ok()) {
    if (quota_full) {
      Log(LogLevel::kWarn, "queue messages of account {} from {} refused: {}", batch->account,
          batch->pop_id, stored.message());
      return Refuse(507, stored.message());
    }
    if (stored.code() == ErrorCode::kInvalidInput) return Refuse(400, stored.message());
    Log(LogLevel::kError, "queue mailbox: {}", stored.message());
    return {500, fmt::format("{{\"error\":{}}}", base::JsonString(stored.message()))};
  }
  counts_.received += batch->messages.size();
  return {200, fmt::format("{{\"stored\":{}}}", batch->messages.size())};
}

void QueueMailbox::ExpireLeases(int64_t now) {
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.expires_ms > now) {
      ++it;
      continue;
    }
    Log(LogLevel::kInfo,
        "queue mailbox: {} messages taken by {} were not acknowledged within {} ms: handed out "
        "again",
        it->second.keys.size(), it->second.pop_id, options_.lease_ms);
    store_->Release(it->second.keys);
    it = leases_.erase(it);
  }
}

QueueMailbox::Answer QueueMailbox::Take(std::string_view body) {
  auto take = DecodeQueueTake(body);
  if (!take.ok()) return Refuse(400, take.status().message());
  CronHomeState home = home_();
  if (home.pop_id.empty() || take->pop_id != home.pop_id) {
    return Refuse(409, fmt::format("{} is not the queues' home (the home is {})", take->pop_id,
                                   home.pop_id.empty() ? "nobody" : home.pop_id));
  }
  if (take->term != home.term) {
    return Refuse(409, fmt::format("term {} is over (the term is {})", take->term, home.term));
  }
  int64_t now = options_.clock();
  ExpireLeases(now);
  MaybeSweep(now);
  bindings::QueueStore::HoldOptions hold;
  hold.max_messages = take->max;
  hold.max_bytes = kQueueTakeMaxBytes;
  hold.skip_accounts = take->skip;
  auto held = store_->Hold(hold);
  if (!held.ok()) {
    Log(LogLevel::kError, "queue mailbox: {}", held.status().message());
    return {500, fmt::format("{{\"error\":{}}}", base::JsonString(held.status().message()))};
  }
  QueueTakeAnswer answer;
  if (!held->empty()) {
    auto lease = NewLeaseId();
    if (!lease.ok()) {
      std::vector<std::string> keys;
      for (const auto& message : *held) keys.push_back(message.key);
      store_->Release(keys);
      return {500, fmt::format("{{\"error\":{}}}", base::JsonString(lease.status().message()))};
    }
    answer.lease = *lease;
    Lease& kept = leases_[answer.lease];
    kept.pop_id = take->pop_id;
    kept.expires_ms = now + options_.lease_ms;
    for (bindings::QueueHeldMessage& message : *held) {
      kept.keys.push_back(std::move(message.key));
      answer.messages.push_back(
          {std::move(message.account), {std::move(message.queue), std::move(message.message)}});
    }
    counts_.handed += answer.messages.size();
  }
  return {200, EncodeQueueTakeAnswer(answer)};
}

QueueMailbox::Answer QueueMailbox::Ack(std::string_view body) {
  auto ack = DecodeQueueAck(body);
  if (!ack.ok()) return Refuse(400, ack.status().message());
  ExpireLeases(options_.clock());
  auto found = leases_.find(ack->lease);
  if (found == leases_.end()) {
    return Refuse(409, fmt::format("lease {} is unknown or over: its messages were handed out "
                                   "again (or acknowledged already)",
                                   ack->lease.substr(0, 64)));
  }
  Lease lease = std::move(found->second);
  leases_.erase(found);
  std::vector<std::string> done;
  for (uint64_t place : ack->done) {
    if (place < lease.keys.size() && !lease.keys[place].empty()) {
      done.push_back(std::move(lease.keys[place]));
      lease.keys[place].clear();
    }
  }
  std::vector<std::string> rest;
  for (std::string& key : lease.keys) {
    if (!key.empty()) rest.push_back(std::move(key));
  }
  store_->Release(rest);
  auto removed = store_->Remove(done);
  if (!removed.ok()) {
    // Still kept, and back in circulation: handed out again (a duplicate).
    store_->Release(done);
    Log(LogLevel::kError, "queue mailbox: {}", removed.status().message());
    return {500, fmt::format("{{\"error\":{}}}", base::JsonString(removed.status().message()))};
  }
  counts_.acked += *removed;
  return {200, fmt::format("{{\"removed\":{}}}", *removed)};
}

size_t QueueMailbox::leased() const {
  size_t count = 0;
  for (const auto& [id, lease] : leases_) count += lease.keys.size();
  return count;
}

void QueueMailbox::UpdateMetrics(gateway::NodeMetrics& metrics) {
  uint64_t depth = 0;
  auto all = store_->AllQueues();
  if (all.ok()) {
    for (const auto& [account, info] : *all) depth += info.depth;
  }
  metrics.SetGauge("edge_sync_queue_mailbox_messages",
                   "Queue messages the PoPs forwarded that wait here for the queues' home",
                   static_cast<double>(depth));
  metrics.SetGauge("edge_sync_queue_mailbox_leased",
                   "Mailbox messages handed to the home and not acknowledged yet",
                   static_cast<double>(leased()));
  auto add = [&metrics](const char* name, const char* help, uint64_t now, uint64_t& reported) {
    metrics.AddCounter(name, help, static_cast<double>(now - std::min(now, reported)));
    reported = now;
  };
  add("edge_sync_queue_received_total", "Queue messages the PoPs forwarded, committed here",
      counts_.received, reported_.received);
  add("edge_sync_queue_handed_total",
      "Queue messages handed to the queues' home (again after a lease ran out too)", counts_.handed,
      reported_.handed);
  add("edge_sync_queue_acked_total",
      "Queue messages the home acknowledged (committed there): deleted here", counts_.acked,
      reported_.acked);
  add("edge_sync_queue_refused_total",
      "Queue sync calls refused (malformed, unknown account, a full quota, not the home)",
      counts_.refused, reported_.refused);
}

}  // namespace edge::sync
