#include "edge-sync/replica.h"

#include "bindings/r2/r2_wire.h"
#include "edge-sync/r2_remote.h"

#include <fmt/core.h>

#include <filesystem>
#include "base/ascii.h"
#include "base/token_file.h"

#include "base/json_text.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "bindings/r2/r2_wire.h"
#include "edge-sync/epoch.h"
#include "edge-sync/origin.h"
#include "edge-sync/r2_remote.h"
#include "edge-sync/sealed_secrets.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot_apply.h"
#include "gateway/deploy/bundle.h"
#include "gateway/node/node.h"
#include "gateway/node/node_metrics.h"
#include "gateway/policy/policy_config.h"

namespace edge::sync {
namespace {

// The cursor lives in both stores: each entry is applied together with it in
// the store it changes, and entries are applied in order, so the larger of
// the two is the last entry applied.
constexpr const char* kCursorKey = "sync_cursor";
// The newest state signed by the origin that a relay heard, in its log.
constexpr const char* kRelayedStateMetaKey = "relayed_state";

uint64_t ParseCursor(StatusOr<std::optional<std::string>> value) {
  if (!value.ok() || !*value) return 0;
  return strtoull((*value)->c_str(), nullptr, 10);
}

// A missing worker or secret is fine to delete again (applied twice).
Status IgnoreNotFound(Status status) {
  return status.code() == ErrorCode::kNotFound ? Status::Ok() : status;
}

}  // namespace

ReplicaExtension::ReplicaExtension(ReplicaOptions options) : options_(std::move(options)) {}

ReplicaExtension::~ReplicaExtension() { Stop(); }

Status ReplicaExtension::Start(gateway::Node& node) {
  node_ = &node;
  auto key = VerifyKey::LoadPublic(options_.verify_key_path);
  if (!key.ok()) return key.status();
  verify_key_ = *key;
  if (!options_.token_file.empty()) {
    auto token = base::ReadTokenFile(options_.token_file);
    if (!token.ok()) return token.status();
    token_ = std::move(token).value();
  }
  EDGE_RETURN_IF_ERROR(ReadOptionalSecretsKey(options_.secrets_key_path, secrets_key_));
  auto log = SyncLog::Open(node.options().data_dir);
  if (!log.ok()) return log.status();
  log_ = std::move(log).value();
  applied_cursor_ = std::max(ParseCursor(node.store().GetMeta(kCursorKey)),
                             ParseCursor(node.kv().GetMeta(kCursorKey)));
  // Interrupted while applying a snapshot: the stores are part old, part
  // new. The next snapshot must reach at least as far as that one did.
  auto pending = PendingSnapshot(node.store());
  if (!pending.ok()) return pending.status();
  if (pending->has_value()) {
    snapshot_pending_ = true;
    applied_cursor_ = **pending;
    Log(LogLevel::kWarn,
        "a snapshot (head {}) was being applied when this node stopped: taking one again",
        **pending);
  }
  if (options_.relay) {
    // Its readers get the newest state the origin signed, as it came.
    SyncServerOptions server_options;
    // Only a state of the epoch its own log is in: while the relay takes
    // the origin's new epoch, its readers get no state (and wait) rather
    // than the new epoch over the old history.
    // After a restart, until the upstream is heard again, the state kept
    // in the log (CheckIn keeps the newest), so PoPs below can catch up
    // with this relay while the origin is away.
    server_options.relayed_state = [this] {
      if (!client_) return std::string();
      auto [state, json] = client_->Latest();
      if (!state) {
        auto kept = log_->GetMeta(kRelayedStateMetaKey);
        if (!kept.ok() || !*kept) return std::string();
        auto verified = VerifyLogState(**kept, verify_key_);
        if (!verified.ok()) return std::string();
        state = *verified;
        json = **kept;
      }
      auto epoch = log_->GetMeta(kEpochMetaKey);
      if (!epoch.ok() || state->epoch != epoch->value_or("")) return std::string();
      return json;
    };
    server_ = std::make_unique<SyncServer>(node.control_loop(), *log_, std::move(server_options));
    base::HttpTarget upstream;
    upstream.url = options_.from_url;
    upstream.token = token_;
    upstream.headers.push_back({"X-Edge-Pop-Id", node.options().pop_id});
    gateway::Node* node_ptr = &node;
    snapshot_relay_ = std::make_unique<SnapshotRelay>(
        std::move(upstream), options_.max_snapshot_streams, /*retry_after_s=*/5,
        [node_ptr](std::function<void()> task) { node_ptr->PostToControl(std::move(task)); });
  }

  base::HttpTarget upstream;
  upstream.url = options_.from_url;
  upstream.token = token_;
  upstream.headers.push_back({"X-Edge-Pop-Id", node.options().pop_id});
  auto queue = KvForwardQueue::Open(node.options().data_dir);
  if (!queue.ok()) return queue.status();
  forwarder_ = std::make_unique<KvForwarder>(upstream, std::move(queue).value());
  // Before any entry is applied: pending writes shadow older entries.
  EDGE_RETURN_IF_ERROR(forwarder_->Restore());
  forwarder_->Start();
  KvForwarder* forwarder = forwarder_.get();
  // KvStore calls this inside the local write's transaction, before it
  // commits: the write is in the durable queue before the worker's put can
  // resolve, and a write that cannot be queued (the queue is full, its
  // store failed) is not applied and fails the put with the reason.
  node.kv().SetWriteHook(
      [forwarder](const bindings::KvWrite& write) { return forwarder->Forward(write); });

  SyncClientOptions client;
  client.from_url = options_.from_url;
  client.token = token_;
  client.pop_id = node.options().pop_id;
  client.key = std::move(key).value();
  // The epoch lives in this node's log, which a relay serves on: the PoPs
  // below see the epoch it adopted.
  client.epoch = [this] {
    auto epoch = log_->GetMeta(kEpochMetaKey);
    return epoch.ok() ? epoch->value_or("") : std::string();
  };
  client.set_epoch = [this](const std::string& epoch) {
    Log(LogLevel::kInfo, "replicating epoch {} of the log", epoch);
    return log_->PutMeta(kEpochMetaKey, epoch);
  };
  client.on_other_epoch = [forwarder] { forwarder->ForgetAcknowledged(); };
  client.snapshot_dir = (std::filesystem::path(node.options().data_dir) / "snapshot").string();
  client.snapshot_required = [this] { return snapshot_pending_.load(); };
  client_ = std::make_unique<SyncClient>(
      std::move(client), [this] { return Cursor(); },
      [this](const SignedEntry& line, const Entry& entry, const std::optional<std::string>& blob) {
        return Apply(line, entry, blob);
      },
      [this](const SnapshotFile& file, const SyncClient::FetchBlobFn& fetch_blob) {
        return Reset(file, fetch_blob);
      });
  client_->Start();
  // Crons: a PoP with no run_crons of its own offers to be the fleet's
  // cron home; the origin names one (docs/edge-sync.md).
  cron_candidate_ = !node.options().run_crons.has_value();
  cron_claimer_ = std::make_unique<CronClaimer>(
      upstream, node.options().pop_id,
      [node_ptr = &node](std::function<void()> task) { node_ptr->PostToControl(std::move(task)); });
  // Queues: the cron home delivers them; every other PoP's store is an
  // outbox, forwarded to the origin (a relay takes its PoPs' into its own).
  CronClaimer* claimer = cron_claimer_.get();
  queue_forwarder_ = std::make_unique<QueueForwarder>(
      upstream, node.options().pop_id, node.queue_store(), [claimer] { return claimer->home(); },
      node.options().run_crons.value_or(false), QueueForwarder::Options{});
  queue_forwarder_->Start();
  if (options_.relay) {
    queue_mailbox_ = std::make_unique<QueueMailbox>(node.queue_store(), NodeAccountExists(node),
                                                    nullptr, QueueMailbox::Options{});
  }
  // Workflows: instances live on the same home (docs/edge-sync.md).
  workflow_forwarder_ = std::make_shared<WorkflowForwarder>(
      upstream, node.options().pop_id, [claimer = cron_claimer_.get()] { return claimer->home(); },
      [this] { return Cursor(); }, node.workflow_store());
  workflow_forwarder_->Start();
  node.SetWorkflowFleet(workflow_forwarder_);
  // Buckets live at the origin: every R2 call of this node's workers goes
  // there (docs/edge-sync.md, "Buckets in a fleet").
  node.SetR2Fleet(std::make_shared<R2Remote>(upstream));
  checkin_thread_ = std::thread([this] { CheckIn(); });
  if (options_.compact_every_ms > 0) {
    compact_timer_ = new uv_timer_t;
    uv_timer_init(node.control_loop(), compact_timer_);
    compact_timer_->data = this;
    uv_timer_start(compact_timer_, OnCompactTimer, options_.compact_every_ms,
                   options_.compact_every_ms);
  }
  Log(LogLevel::kInfo, "replicating from {} (cursor {}){}", options_.from_url, Cursor(),
      options_.relay ? ", relaying to PoPs below" : "");
  return Status::Ok();
}

void ReplicaExtension::Stop() {
  if (compact_timer_ != nullptr) {
    uv_timer_stop(compact_timer_);
    base::CloseAndDelete(compact_timer_);
    compact_timer_ = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(checkin_mutex_);
    stopping_ = true;
  }
  checkin_wake_.notify_all();
  if (checkin_thread_.joinable()) checkin_thread_.join();
  if (queue_forwarder_) queue_forwarder_->Stop();
  if (node_ != nullptr) node_->SetR2Fleet(nullptr);
  if (workflow_forwarder_) {
    node_->SetWorkflowFleet(nullptr);
    workflow_forwarder_->Stop();
  }
  if (cron_claimer_) cron_claimer_->Stop();
  if (snapshot_relay_) snapshot_relay_->Stop();
  if (client_) client_->Stop();
  if (forwarder_) forwarder_->Stop();
  if (server_) server_->Close();
  server_.reset();  // its wake-up handle would keep the control loop alive
}

uint64_t ReplicaExtension::Cursor() const { return applied_cursor_.load(); }

void ReplicaExtension::OnCompactTimer(uv_timer_t* timer) {
  // Like the origin: every applied entry a later one superseded goes, and
  // tombstones; readers below a relay that are behind the new compaction
  // point get 410 and take a snapshot.
  auto* self = static_cast<ReplicaExtension*>(timer->data);
  // Never past the origin's own compaction point (as it signed it): a
  // relay's 410 must be one the origin's signed state backs, or the PoPs
  // below would not believe it.
  std::optional<LogState> state = self->client_->LatestState();
  if (!state) return;
  uint64_t through = std::min(self->log_->head(), state->compacted_through);
  if (through <= self->log_->compacted_through()) return;
  auto dropped = self->log_->Compact(through);
  if (!dropped.ok()) {
    Log(LogLevel::kError, "replica log compaction failed: {}", dropped.status().message());
  } else if (*dropped > 0) {
    Log(LogLevel::kInfo, "replica log compacted through {}: {} superseded entries dropped", through,
        *dropped);
  }
}

std::optional<std::string> ReplicaExtension::RefuseChanges() const {
  return fmt::format("this node replicates from {}: make changes at the origin",
                     options_.from_url);
}

Status ReplicaExtension::Apply(const SignedEntry& line, const Entry& entry,
                               const std::optional<std::string>& blob) {
  if (entry.seq <= Cursor()) return Status::Ok();  // applied already
  // Kept first (for relaying, and as the record of what arrived), then
  // applied with the cursor: a crash in between re-applies it, harmlessly.
  if (line.seq > log_->head()) EDGE_RETURN_IF_ERROR(log_->Append(line, blob));
  Status applied = ApplyToStores(entry, blob);
  if (!applied.ok()) {
    ++refused_applies_;
    return applied;
  }
  applied_cursor_ = entry.seq;
  if (!entry.worker.empty()) node_->ReloadWorker(entry.worker);
  if (entry.type == EntryType::kAccount || entry.type == EntryType::kAccountDelete) {
    node_->ReloadAccounts();
  }
  // A set this node could not read was not stored: nothing to reload.
  if (entry.type == EntryType::kHostPoliciesDelete ||
      (entry.type == EntryType::kHostPolicies &&
       gateway::policy::ParseHostPolicies(entry.policies).ok())) {
    node_->ReloadHostPolicies();
  }
  return Status::Ok();
}

namespace {

// A PoP enforces the origin's rules on what it receives: the routes of a
// worker lie inside its account's hostname patterns (gateway/deploy/
// accounts.h), read from this node's own store.
Status CheckRoutesOwned(const gateway::DeployStore& store, const std::string& worker,
                        const std::string& account_given,
                        const std::optional<std::vector<std::string>>& routes) {
  if (!routes || routes->empty()) return Status::Ok();
  std::string account = account_given;
  if (account.empty()) {
    auto owner = store.OwnerOf(worker);
    if (!owner.ok()) return owner.status();
    account = owner->value_or(std::string(gateway::kDefaultAccount));
  }
  auto accounts = store.Accounts();
  if (!accounts.ok()) return accounts.status();
  gateway::AccountTable table(std::move(accounts).value());
  for (const std::string& pattern : *routes) {
    auto parsed = gateway::ParseRoutePattern(pattern);
    if (!parsed.ok()) return parsed.status();
    Status allowed = table.CheckRoute(account, pattern, *parsed);
    if (!allowed.ok()) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("worker '{}': {}", worker, allowed.message()));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ReplicaExtension::ApplyToStores(const Entry& entry, const std::optional<std::string>& blob) {
  std::string cursor = std::to_string(entry.seq);
  gateway::DeployStore& store = node_->store();
  auto with_cursor = [&](const std::function<Status(gateway::DeployStore::Writer&)>& change) {
    return store.Write([&](gateway::DeployStore::Writer& writer) -> Status {
      EDGE_RETURN_IF_ERROR(change(writer));
      return writer.PutMeta(kCursorKey, cursor);
    });
  };
  switch (entry.type) {
    case EntryType::kVersion: {
      if (!blob) return Status(ErrorCode::kInvalidInput, "a version entry without its bundle");
      // The bundle must be one this node can serve; the origin checked it,
      // but a node refuses to store what it would refuse to load.
      auto bundle = gateway::DecodeBundle(*blob);
      if (!bundle.ok()) return bundle.status();
      EDGE_RETURN_IF_ERROR(CheckRoutesOwned(store, entry.worker, entry.account, entry.routes));
      return with_cursor([&](gateway::DeployStore::Writer& writer) -> Status {
        EDGE_RETURN_IF_ERROR(writer.PutVersion(entry.worker, entry.version, *blob, entry.routes,
                                               entry.make_current));
        return entry.account.empty() ? Status::Ok() : writer.SetOwner(entry.worker, entry.account);
      });
    }
    case EntryType::kAccount: {
      auto record = gateway::AccountRecord::Parse(entry.account, entry.record);
      if (!record.ok()) return record.status();
      // No two accounts own overlapping patterns, here as at the origin.
      auto accounts = store.Accounts();
      if (!accounts.ok()) return accounts.status();
      gateway::AccountTable table(std::move(accounts).value());
      for (const gateway::HostPattern& host : record->hosts) {
        EDGE_RETURN_IF_ERROR(table.CheckNewHost(entry.account, host));
      }
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return writer.PutAccount(*record);
      });
    }
    case EntryType::kAccountDelete: {
      Status deleted = with_cursor([&](gateway::DeployStore::Writer& writer) {
        return IgnoreNotFound(writer.DeleteAccount(entry.account));
      });
      // Applied again after a crash, this finds less to delete.
      if (deleted.ok()) deleted = gateway::DropAccountNamespaces(node_->kv(), entry.account);
      if (deleted.ok()) deleted = gateway::DropAccountCache(node_->cache(), entry.account);
      return deleted;
    }
    case EntryType::kHostPolicies: {
      // A set this node cannot read (a policy its build lacks, say) is not
      // stored: the set it has keeps serving, and the log moves on.
      auto tables = gateway::policy::ParseHostPolicies(entry.policies);
      if (!tables.ok()) {
        ++refused_applies_;
        Log(LogLevel::kError,
            "host policies of log entry {} not applied: {}; the current set keeps serving",
            entry.seq, tables.status().message());
        return with_cursor([](gateway::DeployStore::Writer&) { return Status::Ok(); });
      }
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return writer.PutMeta(gateway::kHostPoliciesMetaKey, entry.policies);
      });
    }
    case EntryType::kHostPoliciesDelete:
      return with_cursor([](gateway::DeployStore::Writer& writer) {
        return writer.PutMeta(gateway::kHostPoliciesMetaKey, "");
      });
    case EntryType::kRoutes:
      EDGE_RETURN_IF_ERROR(CheckRoutesOwned(store, entry.worker, "", entry.routes));
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return IgnoreNotFound(writer.SetRoutes(entry.worker, entry.routes.value_or(
                                                                 std::vector<std::string>{})));
      });
    case EntryType::kRollback:
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return IgnoreNotFound(writer.Rollback(entry.worker, entry.version));
      });
    case EntryType::kDeleteWorker:
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return IgnoreNotFound(writer.DeleteWorker(entry.worker));
      });
    case EntryType::kSecretPut: {
      if (secrets_key_.empty()) {
        return Status(ErrorCode::kInvalidInput,
                      "a secret arrived but this node has no secrets key (--secrets-key)");
      }
      auto value = OpenSecret(secrets_key_, entry.worker, entry.name, entry.sealed);
      if (!value.ok()) return value.status();
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return writer.PutSecret(entry.worker, entry.name, *value);
      });
    }
    case EntryType::kSecretDelete:
      return with_cursor([&](gateway::DeployStore::Writer& writer) {
        return IgnoreNotFound(writer.DeleteSecret(entry.worker, entry.name));
      });
    case EntryType::kKvPut:
    case EntryType::kKvDelete: {
      if (!forwarder_->ShouldApply(entry.ns, entry.key, entry.seq)) {
        // This PoP wrote the key since: keep its own value (read your own
        // writes); only the cursor moves.
        return with_cursor([](gateway::DeployStore::Writer&) { return Status::Ok(); });
      }
      bindings::KvWrite write;
      write.is_delete = entry.type == EntryType::kKvDelete;
      write.ns = entry.ns;
      write.key = entry.key;
      write.value = blob ? *blob : entry.value;
      write.metadata = entry.metadata;
      write.expiration = entry.expiration;
      return node_->kv().Apply(write, kCursorKey, cursor);
    }
  }
  return Status(ErrorCode::kInvalidInput, "unknown entry type");
}

Status ReplicaExtension::Reset(const SnapshotFile& file,
                               const SyncClient::FetchBlobFn& fetch_blob) {
  Log(LogLevel::kInfo, "bootstrapping from a snapshot: {} entries up to {}", file.info.count,
      file.info.head);
  SnapshotTargets targets{
      *log_,
      node_->store(),
      node_->kv(),
      kCursorKey,
      [this](const Entry& entry, const std::optional<std::string>& blob) {
        return ApplyToStores(entry, blob);
      },
      [this](const std::string& ns, const std::string& key, uint64_t seq) {
        return forwarder_->ShouldApply(ns, key, seq);
      },
      fetch_blob};
  // The stores are about to change: until the snapshot is whole, a
  // restart takes one again (ApplySnapshot leaves a mark in the store).
  StatusOr<SnapshotApplied> applied = ApplySnapshot(file.path, verify_key_, Cursor(), targets);
  if (!applied.ok()) {
    // Whatever the snapshot changed already is served as it is; the next
    // attempt (or the next start) takes a snapshot again.
    auto pending = PendingSnapshot(node_->store());
    if (pending.ok() && pending->has_value()) {
      snapshot_pending_ = true;
      node_->ReloadAccounts();
      node_->ReloadHostPolicies();
      node_->ReloadAll();
    }
    return applied.status();
  }
  snapshot_pending_ = false;
  applied_cursor_ = file.info.head;
  Log(LogLevel::kInfo,
      "applied the snapshot (head {}): {} entries, {} blobs fetched; removed {} KV keys, {} "
      "secrets, {} workers and {} accounts it did not have",
      file.info.head, applied->entries, applied->blobs_fetched, applied->kv_removed,
      applied->secrets_removed, applied->workers_removed, applied->accounts_removed);
  node_->ReloadAccounts();
  node_->ReloadHostPolicies();
  node_->ReloadAll();
  return Status::Ok();
}

PopStatus ReplicaExtension::Own() const {
  PopStatus own;
  own.pop_id = node_->options().pop_id;
  own.cursor = Cursor();
  SyncClient::Stats stats = client_->stats();
  own.upstream_head = stats.origin_head;
  own.last_contact_ms = stats.last_contact_ms;
  own.refused = stats.refused + refused_applies_.load();
  own.kv_refused = forwarder_->refused();
  own.kv_last_refused = forwarder_->last_refused();
  own.cron_candidate = cron_candidate_;
  return own;
}

void ReplicaExtension::CheckIn() {
  base::HttpTarget upstream;
  upstream.url = options_.from_url;
  upstream.token = token_;
  upstream.connect_timeout_ms = 2000;
  upstream.io_timeout_ms = 5000;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkin_mutex_);
      checkin_wake_.wait_for(lock, std::chrono::milliseconds(options_.checkin_every_ms),
                             [this] { return stopping_; });
      if (stopping_) return;
    }
    if (options_.relay) {
      // The newest signed state, kept for the readers below after a restart.
      std::string json = client_->LatestStateJson();
      if (!json.empty() && json != saved_state_) {
        Status kept = log_->PutMeta(kRelayedStateMetaKey, json);
        if (kept.ok()) saved_state_ = std::move(json);
      }
    }
    std::vector<PopStatus> pops = {Own()};
    for (PopStatus below : fleet_.Pops(gateway::UnixMs())) {
      if (below.via.empty()) below.via = node_->options().pop_id;
      pops.push_back(std::move(below));
    }
    auto response =
        base::Request(upstream, "POST", "/sync/checkin", Fleet::Encode(pops), "application/json");
    if (response.ok() && response->status == 200) cron_claimer_->Learn(response->body);
    if (!response.ok() || response->status != 200) {
      Log(LogLevel::kDebug, "check-in with {} failed: {}", options_.from_url,
          response.ok() ? "status " + std::to_string(response->status)
                        : response.status().message());
    }
  }
}

namespace {
// A relay does not pass R2 calls on: the PoP below is told so, once the
// body of its upload (if any) is read, so that it gets the answer rather
// than a reset connection.
void RefuseR2BelowRelay(const gateway::HttpRequest& request,
                        const std::shared_ptr<gateway::ResponseWriter>& writer) {
  std::string body = bindings::R2ErrorJson(Status(
      ErrorCode::kIo,
      "R2 buckets are reached only from PoPs that sync from the origin directly: this node is a "
      "relay, which does not pass R2 calls on (docs/edge-sync.md, \"Buckets in a fleet\")"));
  auto answer = [writer, body] {
    writer->Start(501, "", {{"Content-Type", "application/json"}}, body.size());
    writer->Write(body);
    writer->Finish();
  };
  if (request.body_stream == nullptr) return answer();
  request.body_stream->Read({[](std::string_view) {}, answer, [](std::string_view) {}});
}
}  // namespace

bool ReplicaExtension::HandleAdmin(const gateway::HttpRequest& request,
                                   std::shared_ptr<gateway::ResponseWriter>& writer) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/kv/") && (request.method == "PUT" || request.method == "DELETE")) {
    // A PoP below this relay writes: pass it towards the origin.
    std::string metadata, write_id;
    for (const auto& [name, value] : request.headers) {
      if (base::EqualsIgnoreCase(name, "x-edge-metadata")) metadata = value;
      if (base::EqualsIgnoreCase(name, kWriteIdHeader)) write_id = value;
    }
    gateway::Node* node = node_;
    forwarder_->Relay(request.method, std::string(target), request.body, metadata, write_id,
                      [node, writer](int status, std::string body) {
                        node->PostToControl([writer, status, body = std::move(body)] {
                          SendJson(*writer, status, body.empty() ? "{}" : body);
                        });
                      });
    return true;
  }
  if (!options_.relay) return false;
  if (path.starts_with("/sync/r2/")) {
    RefuseR2BelowRelay(request, writer);
    return true;
  }
  if (path.starts_with("/sync/queues/")) {
    auto answer = queue_mailbox_->Handle(path, request.method, request.body);
    SendJson(*writer, answer.status, answer.json);
    return true;
  }
  if (path == "/sync/snapshot") {
    // Only the origin can sign a snapshot: pass the request on, streamed.
    if (request.method != "GET") {
      SendJson(*writer, 405, "{\"error\":\"/sync/snapshot takes GET\"}");
    } else {
      snapshot_relay_->Serve(writer);
    }
    return true;
  }
  // Check-ins from PoPs below are taken with any method, as they always were.
  if (HandleFleetRequest(path, request, *writer, *log_, fleet_, server_.get(),
                         /*require_post=*/false)) {
    return true;
  }
  return server_ && server_->Handle(request, writer);
}

void ReplicaExtension::UpdateMetrics(gateway::NodeMetrics& metrics) {
  SyncClient::Stats stats = client_->stats();
  uint64_t cursor = Cursor();
  metrics.SetGauge("edge_sync_cursor", "The seq of the last log entry this node applied",
                   static_cast<double>(cursor));
  metrics.SetGauge("edge_sync_upstream_head", "The head of the log as the upstream last said",
                   static_cast<double>(stats.origin_head));
  metrics.SetGauge("edge_sync_lag_entries", "Entries the upstream has that this node has not applied",
                   static_cast<double>(stats.origin_head > cursor ? stats.origin_head - cursor : 0));
  metrics.SetGauge("edge_sync_last_contact_seconds",
                   "Seconds since the upstream was last heard from (-1: never)",
                   stats.last_contact_ms == 0
                       ? -1.0
                       : static_cast<double>(gateway::UnixMs() - stats.last_contact_ms) / 1000.0);
  metrics.SetGauge("edge_sync_connected", "1 while tailing the upstream's log",
                   stats.connected ? 1.0 : 0.0);
  metrics.SetGauge("edge_sync_kv_pending", "Workers' KV writes waiting for the upstream",
                   static_cast<double>(forwarder_->pending()));
  // Counters: what was added since the last read (the sources count from
  // this process's start; the registry keeps the running total).
  auto add = [&metrics](const char* name, const char* help, uint64_t now, uint64_t* reported) {
    metrics.AddCounter(name, help, static_cast<double>(now - std::min(now, *reported)));
    *reported = now;
  };
  add("edge_sync_refused_entries_total",
      "Entries or blobs refused (bad signature, bad hash, out of order, not applicable)",
      stats.refused + refused_applies_.load(), &reported_.refused_entries);
  add("edge_sync_unverified_total",
      "Heartbeats and 410 answers ignored: not signed by the origin, forged, older, or not "
      "backed by the signed state",
      stats.unverified, &reported_.unverified);
  add("edge_sync_snapshots_total", "Snapshots taken from the upstream", stats.snapshots,
      &reported_.snapshots);
  add("edge_sync_kv_forwarded_total",
      "KV requests the forwarder finished (its workers' writes, and requests relayed from below)",
      forwarder_->forwarded(), &reported_.forwarded);
  add("edge_sync_kv_forward_refused_total",
      "Workers' KV writes the upstream refused (4xx) or that cannot be sent: removed from the "
      "forward queue",
      forwarder_->refused(), &reported_.kv_refused);
  add("edge_sync_kv_forward_not_queued_total",
      "Workers' KV writes refused because they could not be queued for the upstream (queue full "
      "or a storage error): the put or delete failed",
      forwarder_->not_queued(), &reported_.not_queued);
  CronClaimer::Counts claims = cron_claimer_ ? cron_claimer_->counts() : CronClaimer::Counts{};
  add("edge_sync_cron_claims_granted_total",
      "Cron fires the origin allowed this PoP as the fleet's cron home", claims.granted,
      &reported_.claims_granted);
  add("edge_sync_cron_claims_refused_total",
      "Cron fires the origin refused this PoP (no longer the home, a minute fired already)",
      claims.refused, &reported_.claims_refused);
  add("edge_sync_cron_claims_failed_total",
      "Cron fires not fired because the origin could not be asked", claims.failed,
      &reported_.claims_failed);
  if (queue_forwarder_) queue_forwarder_->UpdateMetrics(metrics);
}

void ReplicaExtension::AskToFireCron(const std::string& worker, const std::string& cron,
                                     int64_t minute_ms, std::function<void(bool fire)> answer) {
  if (!cron_claimer_) return answer(false);
  cron_claimer_->Ask(worker, cron, minute_ms, std::move(answer));
}

std::string ReplicaExtension::StatusJson() const {
  SyncClient::Stats stats = client_->stats();
  auto stored_epoch = log_->GetMeta(kEpochMetaKey);
  std::string epoch = stored_epoch.ok() ? stored_epoch->value_or("") : "";
  return fmt::format(
      "\"role\":\"{}\",\"sync_from\":{},\"epoch\":{},\"cursor\":{},\"upstream_head\":{},"
      "\"connected\":{},\"last_contact_ms\":{},\"refused\":{},\"last_error\":{},{}",
      options_.relay ? "relay" : "replica", base::JsonString(options_.from_url),
      base::JsonString(epoch), Cursor(), stats.origin_head, stats.connected ? "true" : "false",
      stats.last_contact_ms, stats.refused + refused_applies_.load(),
      base::JsonString(stats.last_error), CronHomeJsonMembers(cron_claimer_ ? cron_claimer_->home() : CronHomeState{}));
}

}  // namespace edge::sync
