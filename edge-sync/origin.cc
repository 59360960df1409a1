#include "edge-sync/origin.h"

#include <fmt/core.h>

#include <cinttypes>
#include <cstdio>
#include <utility>

#include "base/ascii.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/uv_handle.h"
#include "edge-sync/epoch.h"
#include "edge-sync/kv_forwarder.h"
#include "edge-sync/sealed_secrets.h"
#include "edge-sync/signing_keys.h"
#include "gateway/http/status_pages.h"
#include "gateway/node/node.h"
#include "gateway/node/node_metrics.h"

namespace edge::sync {
namespace {

std::string_view PathOf(const std::string& target) {
  std::string_view path = target;
  return path.substr(0, path.find('?'));
}

std::string_view HeaderOf(const gateway::HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (base::EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

std::string AppliedWriteKey(const std::string& writer) { return "write/" + writer; }

// Passes everything on to `inner`, and calls `on_start` once when the
// answer starts (or the writer goes away unanswered).
class AnswerWatcher final : public gateway::ResponseWriter {
 public:
  AnswerWatcher(std::shared_ptr<gateway::ResponseWriter> inner, std::function<void()> on_start)
      : inner_(std::move(inner)), on_start_(std::move(on_start)) {}
  ~AnswerWatcher() override { Started(); }
  void Start(int status, std::string_view reason, const gateway::HeaderList& headers,
             std::optional<uint64_t> content_length) override {
    Started();
    inner_->Start(status, reason, headers, content_length);
  }
  void Write(std::string_view chunk) override {
    Started();
    inner_->Write(chunk);
  }
  void Finish() override {
    Started();
    inner_->Finish();
  }
  void Abort() override {
    Started();
    inner_->Abort();
  }
  bool Aborted() const override { return inner_->Aborted(); }
  size_t BufferedBytes() const override { return inner_->BufferedBytes(); }
  void OnDrain(std::function<void()> callback) override { inner_->OnDrain(std::move(callback)); }
  void OnAbort(std::function<void()> callback) override { inner_->OnAbort(std::move(callback)); }

 private:
  void Started() {
    if (on_start_) std::exchange(on_start_, nullptr)();
  }
  std::shared_ptr<gateway::ResponseWriter> inner_;
  std::function<void()> on_start_;
};

}  // namespace

std::optional<WriteIdValue> ParseWriteId(std::string_view text) {
  size_t colon = text.find(':');
  if (colon != 32) return std::nullopt;
  WriteIdValue value;
  value.writer = std::string(text.substr(0, 32));
  if (!base::IsLowerHex(value.writer)) return std::nullopt;
  std::string_view digits = text.substr(33);
  if (digits.empty() || digits.size() > 19 || digits[0] == '0') return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value.id = value.id * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

StatusOr<AppliedWrite> LastAppliedWrite(const SyncLog& log, const std::string& writer) {
  auto stored = log.GetMeta(AppliedWriteKey(writer));
  if (!stored.ok()) return stored.status();
  AppliedWrite applied;
  if (!*stored) return applied;
  if (sscanf((*stored)->c_str(), "%" SCNu64 " %" SCNu64, &applied.id, &applied.seq) != 2) {
    return Status(ErrorCode::kInternal,
                  fmt::format("the sync log's record of writer {} is damaged", writer));
  }
  return applied;
}

std::string FleetJson(const SyncLog& log, Fleet& fleet, const SyncServer* server, uint64_t now_ms) {
  auto epoch = log.GetMeta(kEpochMetaKey);
  std::string out =
      fmt::format("{{\"epoch\":{},\"head\":{},\"compacted_through\":{},\"now_ms\":{},\"pops\":",
                  base::JsonString(epoch.ok() ? epoch->value_or("") : ""), log.head(),
                  log.compacted_through(), now_ms);
  base::AppendJsonArray(out, fleet.Pops(now_ms), [&](std::string& text, const PopStatus& pop) {
    text += fmt::format(
        "{{\"pop_id\":{},\"cursor\":{},\"lag\":{},\"last_contact_ms\":{},\"reported_ms\":{},"
        "\"refused\":{},\"kv_refused\":{},\"kv_last_refused\":{},\"via\":{}}}",
        base::JsonString(pop.pop_id), pop.cursor,
        log.head() > pop.cursor ? log.head() - pop.cursor : 0, pop.last_contact_ms, pop.reported_ms,
        pop.refused, pop.kv_refused, base::JsonString(pop.kv_last_refused),
        base::JsonString(pop.via));
  });
  out += ",\"readers\":";
  std::vector<ReaderInfo> readers;
  if (server != nullptr) readers = server->Readers();
  base::AppendJsonArray(out, readers, [](std::string& text, const ReaderInfo& reader) {
    text += fmt::format("{{\"pop_id\":{},\"remote\":{},\"cursor\":{},\"last_contact_ms\":{}}}",
                        base::JsonString(reader.pop_id), base::JsonString(reader.remote),
                        reader.cursor, reader.last_contact_ms);
  });
  return out + "}";
}

void SendJson(gateway::ResponseWriter& writer, int status, const std::string& body) {
  std::string text = body + "\n";
  writer.Start(status, "", {{"Content-Type", "application/json"}}, text.size());
  writer.Write(text);
  writer.Finish();
}

void SendJsonError(gateway::ResponseWriter& writer, int status, std::string_view message) {
  SendJson(writer, status, fmt::format("{{\"error\":{}}}", base::JsonString(message)));
}

bool HandleFleetRequest(std::string_view path, const gateway::HttpRequest& request,
                        gateway::ResponseWriter& writer, const SyncLog& log, Fleet& fleet,
                        const SyncServer* server, bool require_post,
                        const std::function<std::string()>& extra_members) {
  if (path == "/sync/checkin") {
    if (require_post && request.method != "POST") {
      SendJson(writer, 405, "{\"error\":\"use POST\"}");
      return true;
    }
    auto pops = Fleet::Decode(request.body);
    if (!pops.ok()) {
      SendJsonError(writer, 400, pops.status().message());
      return true;
    }
    fleet.Report(*pops, gateway::UnixMs());
    std::string extra = extra_members ? extra_members() : "";
    SendJson(writer, 200,
             fmt::format("{{\"head\":{}{}{}}}", log.head(), extra.empty() ? "" : ",", extra));
    return true;
  }
  if (path == "/sync/fleet") {
    std::string json = FleetJson(log, fleet, server, gateway::UnixMs());
    std::string extra = extra_members ? extra_members() : "";
    if (!extra.empty()) json.insert(json.size() - 1, "," + extra);
    SendJson(writer, 200, json);
    return true;
  }
  return false;
}

OriginExtension::OriginExtension(OriginOptions options) : options_(std::move(options)) {}

OriginExtension::~OriginExtension() { Stop(); }

Status OriginExtension::Start(gateway::Node& node) {
  node_ = &node;
  auto key = SigningKey::LoadPrivate(options_.signing_key_path);
  if (!key.ok()) return key.status();
  key_ = std::make_unique<SigningKey>(std::move(key).value());
  fleet_.set_forget_after_ms(options_.fleet_forget_after_ms);
  EDGE_RETURN_IF_ERROR(ReadOptionalSecretsKey(options_.secrets_key_path, secrets_key_));
  auto log = SyncLog::Open(node.options().data_dir);
  if (!log.ok()) return log.status();
  log_ = std::move(log).value();
  std::string why;
  auto epoch = OpenOriginEpoch(*log_, node.options().data_dir, options_.new_epoch, &why);
  if (!epoch.ok()) return epoch.status();
  epoch_ = std::move(epoch).value();
  if (!why.empty() && log_->head() > 0) {
    Log(LogLevel::kWarn,
        "origin log: new epoch {}: {}; every PoP will take a snapshot instead of tailing", epoch_,
        why);
  } else if (!why.empty()) {
    Log(LogLevel::kInfo, "origin log: epoch {} ({})", epoch_, why);
  }
  SyncServerOptions server_options;
  SigningKey* key_ptr = key_.get();
  server_options.sign_manifest = [key_ptr](std::string_view manifest) {
    return key_ptr->SignBytes(manifest);
  };
  // Heartbeats and 410s carry the log's state signed, so that PoPs can
  // believe them.
  server_options.sign_state = [key_ptr](std::string_view statement) {
    return key_ptr->SignBytes(statement);
  };
  server_options.max_snapshot_streams = options_.max_snapshot_streams;
  server_ = std::make_unique<SyncServer>(node.control_loop(), *log_, std::move(server_options));
  auto cron_home = CronHome::Open(*log_, options_.cron_home, options_.cron_home_grace_ms);
  if (!cron_home.ok()) return cron_home.status();
  cron_home_.emplace(std::move(cron_home).value());
  // The cron home is the queues' home too: it takes what the PoPs forward.
  queue_mailbox_ = std::make_unique<QueueMailbox>(
      node.queue_store(), NodeAccountExists(node),
      [this] {
        uint64_t now = gateway::UnixMs();
        auto state = cron_home_->Choose(fleet_.Pops(now), now);
        return state.ok() ? *state : CronHomeState{};
      },
      QueueMailbox::Options{});
  auto mailbox = WorkflowMailbox::Open(node.options().data_dir);
  if (!mailbox.ok()) return mailbox.status();
  workflow_mailbox_ = std::move(mailbox).value();
  // Buckets: this node's store is the home of every bucket of the fleet;
  // its event notifications move into the queue mailbox on this loop (an
  // origin has no serving threads, so no triggers engine that would).
  r2_home_ = std::make_unique<R2Home>(node.r2_store(), NodeBindsBucket(node));
  if (node.r2_events() != nullptr) node.r2_events()->Start(node.control_loop());
  if (options_.compact_every_ms > 0) {
    compact_timer_ = new uv_timer_t;
    uv_timer_init(node.control_loop(), compact_timer_);
    compact_timer_->data = this;
    uv_timer_start(compact_timer_, OnCompactTimer, options_.compact_every_ms,
                   options_.compact_every_ms);
  }
  Log(LogLevel::kInfo, "origin log in {}: epoch {}, head {}, compacted through {}",
      node.options().data_dir, epoch_, log_->head(), log_->compacted_through());
  return Status::Ok();
}

void OriginExtension::Stop() {
  if (compact_timer_ != nullptr) {
    uv_timer_stop(compact_timer_);
    base::CloseAndDelete(compact_timer_);
    compact_timer_ = nullptr;
  }
  if (node_ != nullptr && node_->r2_events() != nullptr) node_->r2_events()->Stop();
  // Freed now, not with the extension: its wake-up handle would keep the
  // control loop (and the process) alive.
  if (server_) server_->Close();
  server_.reset();
}

void OriginExtension::OnCompactTimer(uv_timer_t* timer) {
  auto* self = static_cast<OriginExtension*>(timer->data);
  auto dropped = self->Compact(self->log_->head());
  if (!dropped.ok()) Log(LogLevel::kError, "log compaction failed: {}", dropped.status().message());
}

StatusOr<size_t> OriginExtension::Compact(uint64_t through) {
  auto dropped = log_->Compact(through);
  if (dropped.ok() && *dropped > 0) {
    Log(LogLevel::kInfo, "log compacted through {}: {} superseded entries dropped", through,
        *dropped);
  }
  return dropped;
}

Status OriginExtension::OnChange(gateway::NodeChange& change) {
  using Kind = gateway::NodeChange::Kind;
  Entry entry;
  entry.seq = log_->head() + 1;
  entry.time_ms = gateway::UnixMs();
  entry.worker = change.worker;
  entry.version = change.version;
  std::optional<std::string> blob;
  // Bytes kept as a content-addressed blob, which the entry names by hash.
  auto keep_blob = [&](const std::string& bytes) {
    entry.blob = base::Sha256Hex(bytes);
    blob = bytes;
  };
  switch (change.kind) {
    case Kind::kVersion:
      entry.type = EntryType::kVersion;
      entry.routes = change.routes;
      entry.make_current = true;
      entry.account = change.account;
      keep_blob(change.bundle_json);
      break;
    case Kind::kRoutes:
      entry.type = EntryType::kRoutes;
      entry.routes = change.routes;
      break;
    case Kind::kRollback:
      entry.type = EntryType::kRollback;
      break;
    case Kind::kDeleteWorker:
      entry.type = EntryType::kDeleteWorker;
      break;
    case Kind::kSecretPut:
      if (secrets_key_.empty()) {
        return Status(ErrorCode::kInvalidInput,
                      "this origin has no secrets key (--secrets-key): secrets cannot be sealed "
                      "for the PoPs");
      }
      entry.type = EntryType::kSecretPut;
      entry.name = change.secret_name;
      entry.sealed = SealSecret(secrets_key_, change.worker, change.secret_name,
                                change.secret_value);
      break;
    case Kind::kSecretDelete:
      entry.type = EntryType::kSecretDelete;
      entry.name = change.secret_name;
      break;
    case Kind::kKvPut:
      entry.type = EntryType::kKvPut;
      entry.ns = change.ns;
      entry.key = change.key;
      entry.metadata = change.metadata;
      entry.expiration = change.expiration;
      if (change.value.size() > kInlineValueBytes) {
        keep_blob(change.value);
      } else {
        entry.value = change.value;
      }
      break;
    case Kind::kAccount:
      entry.type = EntryType::kAccount;
      entry.account = change.account;
      entry.record = change.account_record;
      break;
    case Kind::kAccountDelete:
      entry.type = EntryType::kAccountDelete;
      entry.account = change.account;
      break;
    case Kind::kHostPolicies:
      entry.type = EntryType::kHostPolicies;
      entry.policies = change.host_policies;
      break;
    case Kind::kHostPoliciesDelete:
      entry.type = EntryType::kHostPoliciesDelete;
      break;
    case Kind::kKvDelete:
      entry.type = EntryType::kKvDelete;
      entry.ns = change.ns;
      entry.key = change.key;
      break;
  }
  // A KV change is the oldest pending KV write's (see TakeKvWrite): a
  // forwarded one's id is recorded with its entry, in one transaction, so
  // the write is applied once however often it is resent.
  std::optional<SyncLog::MetaWrite> applied_write;
  if (change.kind == Kind::kKvPut || change.kind == Kind::kKvDelete) {
    std::deque<PendingKvWrite>& pending_writes = *pending_kv_writes_;
    if (pending_writes.empty() ||
        pending_writes.front().is_delete != (change.kind == Kind::kKvDelete)) {
      Log(LogLevel::kError,
          "KV change to key {:?} in namespace {:?} does not match the pending KV write: its "
          "write id (if any) is not recorded",
          change.key, change.ns);
    } else {
      PendingKvWrite pending = std::move(pending_writes.front());
      pending_writes.pop_front();
      if (!pending.writer.empty()) {
        applied_write = SyncLog::MetaWrite{AppliedWriteKey(pending.writer),
                                           fmt::format("{} {}", pending.id, entry.seq)};
      }
    }
  }
  Status appended = log_->Append(key_->Sign(entry), std::move(blob), applied_write);
  if (!appended.ok()) return appended;
  change.log_seq = entry.seq;
  // The highest seq logged, beside the stores: a log restored from an
  // older backup is found out at the next start. A failure here loses only
  // that check, not the entry.
  Status marked =
      WriteOriginMark(OriginMarkPath(node_->options().data_dir), OriginMark{epoch_, entry.seq});
  if (!marked.ok()) Log(LogLevel::kError, "origin log: {}", marked.message());
  return Status::Ok();
}

bool OriginExtension::TakeKvWrite(const gateway::HttpRequest& request,
                                  std::shared_ptr<gateway::ResponseWriter>& writer) {
  PendingKvWrite pending;
  pending.is_delete = request.method == "DELETE";
  std::string_view id_text = HeaderOf(request, kWriteIdHeader);
  if (!id_text.empty()) {
    std::optional<WriteIdValue> id = ParseWriteId(id_text);
    if (!id) {
      SendJsonError(*writer, 400,
                    fmt::format("{} must be <writer: 32 lower-case hex digits>:<write number>",
                                kWriteIdHeader));
      return true;
    }
    auto applied = LastAppliedWrite(*log_, id->writer);
    if (!applied.ok()) {
      SendJsonError(*writer, 500, applied.status().message());
      return true;
    }
    if (id->id <= applied->id) {
      // Applied already (its answer was lost, or the PoP restarted before
      // it removed the write from its queue): success, applied once.
      Log(LogLevel::kInfo, "KV write {} was applied already (entry {}): not applied again", id_text,
          applied->seq);
      ++duplicate_writes_;
      SendJson(*writer, 200,
               fmt::format("{{\"duplicate\":true,\"seq\":{}}}",
                           id->id == applied->id ? applied->seq : 0));
      return true;
    }
    for (const PendingKvWrite& other : *pending_kv_writes_) {
      if (other.writer == id->writer) {
        // An earlier copy is still on its way through the node: its answer
        // decides; this copy is asked again.
        SendJsonError(*writer, 503, "an earlier copy of this KV write is being applied: retry");
        return true;
      }
    }
    pending.writer = std::move(id->writer);
    pending.id = id->id;
  }
  pending.token = next_token_++;
  uint64_t token = pending.token;
  pending_kv_writes_->push_back(std::move(pending));
  // A write refused before it changed anything (a bad path, a bad value)
  // never reaches OnChange: its answer removes it.
  std::weak_ptr<std::deque<PendingKvWrite>> weak = pending_kv_writes_;
  writer = std::make_shared<AnswerWatcher>(writer, [weak, token] {
    std::shared_ptr<std::deque<PendingKvWrite>> writes = weak.lock();
    if (!writes) return;
    for (auto it = writes->begin(); it != writes->end(); ++it) {
      if (it->token == token) {
        writes->erase(it);
        return;
      }
    }
  });
  return false;
}

bool OriginExtension::HandleAdmin(const gateway::HttpRequest& request,
                                  std::shared_ptr<gateway::ResponseWriter>& writer) {
  std::string_view path = PathOf(request.target);
  if (HandleFleetRequest(path, request, *writer, *log_, fleet_, server_.get(),
                         /*require_post=*/true, [this] { return CronHomeMembers(); })) {
    return true;
  }
  if (path.starts_with("/sync/queues/")) {
    auto answer = queue_mailbox_->Handle(path, request.method, request.body);
    SendJson(*writer, answer.status, answer.json);
    return true;
  }
  if (r2_home_ && r2_home_->Handle(request, writer)) return true;
  if (path == "/sync/cron-claim") {
    if (request.method != "POST") return SendJson(*writer, 405, "{\"error\":\"use POST\"}"), true;
    TakeCronClaim(request, *writer);
    return true;
  }
  if (path.starts_with("/kv/") && (request.method == "PUT" || request.method == "DELETE")) {
    return TakeKvWrite(request, writer);
  }
  if (path.starts_with("/sync/workflows/")) {
    // The fleet view as of now: the home and term the request is judged by.
    CronHomeMembers();
    return HandleWorkflowMailboxRequest(path, request, *writer, *workflow_mailbox_,
                                        cron_home_->current());
  }
  if (path == "/sync/compact") {
    if (request.method != "POST") return SendJson(*writer, 405, "{\"error\":\"use POST\"}"), true;
    auto dropped = Compact(log_->head());
    if (!dropped.ok()) {
      SendJsonError(*writer, 500, dropped.status().message());
    } else {
      SendJson(*writer, 200, fmt::format("{{\"dropped\":{},\"compacted_through\":{}}}", *dropped,
                                         log_->compacted_through()));
    }
    return true;
  }
  return server_ && server_->Handle(request, writer);
}

std::string OriginExtension::CronHomeMembers() {
  auto state = cron_home_->Choose(fleet_.Pops(gateway::UnixMs()), gateway::UnixMs());
  if (!state.ok()) {
    Log(LogLevel::kError, "cron home: {}", state.status().message());
    return "";
  }
  return CronHomeJsonMembers(*state);
}

void OriginExtension::TakeCronClaim(const gateway::HttpRequest& request,
                                    gateway::ResponseWriter& writer) {
  auto claim = DecodeCronClaim(request.body);
  if (!claim.ok()) return SendJsonError(writer, 400, claim.status().message());
  // The fleet view as of now: a home that stopped checking in is replaced
  // before its claim is judged.
  CronHomeMembers();
  auto outcome =
      cron_home_->Claim(claim->pop_id, claim->term, claim->worker, claim->cron, claim->minute_ms);
  if (!outcome.ok()) {
    int status = outcome.status().code() == ErrorCode::kInvalidInput ? 400 : 500;
    return SendJsonError(writer, status, outcome.status().message());
  }
  if (!outcome->granted) {
    ++cron_claims_refused_;
    Log(LogLevel::kInfo, "cron claim of {} for {} \"{}\" at {} refused: {}", claim->pop_id,
        claim->worker, claim->cron, claim->minute_ms, outcome->refusal);
    return SendJsonError(writer, 409, outcome->refusal);
  }
  ++cron_claims_granted_;
  SendJson(writer, 200, "{\"granted\":true}");
}

void OriginExtension::UpdateMetrics(gateway::NodeMetrics& metrics) {
  metrics.SetGauge("edge_sync_log_head", "The seq of the newest entry of the log",
                   static_cast<double>(log_->head()));
  metrics.SetGauge("edge_sync_compacted_through", "The log's compaction point",
                   static_cast<double>(log_->compacted_through()));
  metrics.SetGauge("edge_sync_readers", "PoPs and relays tailing this node's log now",
                   static_cast<double>(server_ ? server_->readers() : 0));
  metrics.AddCounter("edge_sync_kv_duplicate_writes_total",
                     "Forwarded KV writes resent after they were applied: answered, not applied "
                     "again",
                     static_cast<double>(duplicate_writes_ - reported_duplicate_writes_));
  reported_duplicate_writes_ = duplicate_writes_;
  metrics.AddCounter("edge_sync_cron_claims_granted_total",
                     "Cron fires the origin allowed the fleet's cron home",
                     static_cast<double>(cron_claims_granted_ - reported_claims_granted_));
  metrics.AddCounter("edge_sync_cron_claims_refused_total",
                     "Cron fires the origin refused (not the home, an old term, a minute "
                     "granted already)",
                     static_cast<double>(cron_claims_refused_ - reported_claims_refused_));
  reported_claims_granted_ = cron_claims_granted_;
  reported_claims_refused_ = cron_claims_refused_;
  if (queue_mailbox_) queue_mailbox_->UpdateMetrics(metrics);
  if (workflow_mailbox_) {
    metrics.SetGauge("edge_sync_workflow_commands_pending",
                     "Workflow calls from PoPs the fleet's home has not taken and applied yet",
                     static_cast<double>(workflow_mailbox_->pending()));
  }
}

std::string OriginExtension::StatusJson() const {
  return fmt::format(
      "\"role\":\"origin\",\"epoch\":\"{}\",\"log_head\":{},\"compacted_through\":{},{}", epoch_,
      log_->head(), log_->compacted_through(),
      CronHomeJsonMembers(cron_home_ ? cron_home_->current() : CronHomeState{}));
}

}  // namespace edge::sync
