#include "edge-sync/replica.h"

#include <fmt/core.h>

#include <filesystem>
#include "base/ascii.h"
#include "base/token_file.h"

#include "base/json_text.h"
#include "base/log.h"
#include "edge-sync/origin.h"
#include "edge-sync/sealed_secrets.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot_apply.h"
#include "gateway/deploy/bundle.h"
#include "gateway/node/node.h"
#include "gateway/node/node_metrics.h"

namespace edge::sync {
namespace {

// The cursor lives in both stores: each entry is applied together with it in
// the store it changes, and entries are applied in order, so the larger of
// the two is the last entry applied.
constexpr const char* kCursorKey = "sync_cursor";

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
    server_ = std::make_unique<SyncServer>(node.control_loop(), *log_);
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
  // KvStore calls this after the local write committed and before the
  // worker's put resolves: the write is in the durable queue by then. A
  // crash between the two commits leaves a local write that is not queued
  // (and whose put never resolved); a write that cannot be queued is
  // logged and counted (edge_sync_kv_forward_not_queued_total).
  node.kv().SetWriteListener(
      [forwarder](const bindings::KvWrite& write) { (void)forwarder->Forward(write); });

  SyncClientOptions client;
  client.from_url = options_.from_url;
  client.token = token_;
  client.pop_id = node.options().pop_id;
  key_ = *key;
  client.key = std::move(key).value();
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
  checkin_thread_ = std::thread([this] { CheckIn(); });
  Log(LogLevel::kInfo, "replicating from {} (cursor {}){}", options_.from_url, Cursor(),
      options_.relay ? ", relaying to PoPs below" : "");
  return Status::Ok();
}

void ReplicaExtension::Stop() {
  {
    std::lock_guard<std::mutex> lock(checkin_mutex_);
    stopping_ = true;
  }
  checkin_wake_.notify_all();
  if (checkin_thread_.joinable()) checkin_thread_.join();
  if (snapshot_relay_) snapshot_relay_->Stop();
  if (client_) client_->Stop();
  if (forwarder_) forwarder_->Stop();
  if (server_) server_->Close();
  server_.reset();  // its wake-up handle would keep the control loop alive
}

uint64_t ReplicaExtension::Cursor() const { return applied_cursor_.load(); }

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
      return deleted;
    }
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
  StatusOr<SnapshotApplied> applied = ApplySnapshot(file.path, key_, Cursor(), targets);
  if (!applied.ok()) {
    // Whatever the snapshot changed already is served as it is; the next
    // attempt (or the next start) takes a snapshot again.
    auto pending = PendingSnapshot(node_->store());
    if (pending.ok() && pending->has_value()) {
      snapshot_pending_ = true;
      node_->ReloadAccounts();
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
    std::vector<PopStatus> pops = {Own()};
    for (PopStatus below : fleet_.Pops()) {
      if (below.via.empty()) below.via = node_->options().pop_id;
      pops.push_back(std::move(below));
    }
    auto response =
        base::Request(upstream, "POST", "/sync/checkin", Fleet::Encode(pops), "application/json");
    if (!response.ok() || response->status != 200) {
      Log(LogLevel::kDebug, "check-in with {} failed: {}", options_.from_url,
          response.ok() ? "status " + std::to_string(response->status)
                        : response.status().message());
    }
  }
}

bool ReplicaExtension::HandleAdmin(const gateway::HttpRequest& request,
                                   std::shared_ptr<gateway::ResponseWriter>& writer) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/kv/") && (request.method == "PUT" || request.method == "DELETE")) {
    // A PoP below this relay writes: pass it towards the origin.
    std::string metadata;
    for (const auto& [name, value] : request.headers) {
      if (base::EqualsIgnoreCase(name, "x-edge-metadata")) metadata = value;
    }
    gateway::Node* node = node_;
    forwarder_->Relay(request.method, std::string(target), request.body, metadata,
                      [node, writer](int status, std::string body) {
                        node->PostToControl([writer, status, body = std::move(body)] {
                          SendJson(*writer, status, body.empty() ? "{}" : body);
                        });
                      });
    return true;
  }
  if (!options_.relay) return false;
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
  metrics.SetGauge("edge_sync_refused_entries_total",
                   "Entries or blobs refused (bad signature, bad hash, out of order, not applicable)",
                   static_cast<double>(stats.refused + refused_applies_.load()));
  metrics.SetGauge("edge_sync_kv_forwarded_total", "Workers' KV writes acknowledged upstream",
                   static_cast<double>(forwarder_->forwarded()));
  metrics.SetGauge("edge_sync_kv_pending", "Workers' KV writes waiting for the upstream",
                   static_cast<double>(forwarder_->pending()));
  // Counters: what was added since the last read.
  uint64_t refused = forwarder_->refused(), not_queued = forwarder_->not_queued();
  metrics.AddCounter("edge_sync_kv_forward_refused_total",
                     "Workers' KV writes the upstream refused (4xx) or that cannot be sent: "
                     "removed from the forward queue",
                     static_cast<double>(refused - reported_refused_));
  metrics.AddCounter("edge_sync_kv_forward_not_queued_total",
                     "Workers' KV writes applied locally but not queued for the upstream (queue "
                     "full or a storage error)",
                     static_cast<double>(not_queued - reported_not_queued_));
  reported_refused_ = refused;
  reported_not_queued_ = not_queued;
}

std::string ReplicaExtension::StatusJson() const {
  SyncClient::Stats stats = client_->stats();
  return fmt::format(
      "\"role\":\"{}\",\"sync_from\":{},\"cursor\":{},\"upstream_head\":{},\"connected\":{},"
      "\"last_contact_ms\":{},\"refused\":{},\"last_error\":{}",
      options_.relay ? "relay" : "replica", base::JsonString(options_.from_url), Cursor(),
      stats.origin_head, stats.connected ? "true" : "false", stats.last_contact_ms,
      stats.refused + refused_applies_.load(), base::JsonString(stats.last_error));
}

}  // namespace edge::sync
