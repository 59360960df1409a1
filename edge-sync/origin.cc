#include "edge-sync/origin.h"

#include <fmt/core.h>

#include "base/json_text.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/uv_handle.h"
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

}  // namespace

std::string FleetJson(const SyncLog& log, const Fleet& fleet, const SyncServer* server,
                      uint64_t now_ms) {
  std::string out =
      fmt::format("{{\"head\":{},\"compacted_through\":{},\"now_ms\":{},\"pops\":", log.head(),
                  log.compacted_through(), now_ms);
  base::AppendJsonArray(out, fleet.Pops(), [&](std::string& text, const PopStatus& pop) {
    text += fmt::format(
        "{{\"pop_id\":{},\"cursor\":{},\"lag\":{},\"last_contact_ms\":{},\"reported_ms\":{},"
        "\"refused\":{},\"via\":{}}}",
        base::JsonString(pop.pop_id), pop.cursor,
        log.head() > pop.cursor ? log.head() - pop.cursor : 0, pop.last_contact_ms, pop.reported_ms,
        pop.refused, base::JsonString(pop.via));
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
                        const SyncServer* server, bool require_post) {
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
    SendJson(writer, 200, fmt::format("{{\"head\":{}}}", log.head()));
    return true;
  }
  if (path == "/sync/fleet") {
    SendJson(writer, 200, FleetJson(log, fleet, server, gateway::UnixMs()));
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
  EDGE_RETURN_IF_ERROR(ReadOptionalSecretsKey(options_.secrets_key_path, secrets_key_));
  auto log = SyncLog::Open(node.options().data_dir);
  if (!log.ok()) return log.status();
  log_ = std::move(log).value();
  SyncServerOptions server_options;
  SigningKey* key_ptr = key_.get();
  server_options.sign_manifest = [key_ptr](std::string_view manifest) {
    return key_ptr->SignBytes(manifest);
  };
  server_options.max_snapshot_streams = options_.max_snapshot_streams;
  server_ = std::make_unique<SyncServer>(node.control_loop(), *log_, std::move(server_options));
  if (options_.compact_every_ms > 0) {
    compact_timer_ = new uv_timer_t;
    uv_timer_init(node.control_loop(), compact_timer_);
    compact_timer_->data = this;
    uv_timer_start(compact_timer_, OnCompactTimer, options_.compact_every_ms,
                   options_.compact_every_ms);
  }
  Log(LogLevel::kInfo, "origin log in {}: head {}, compacted through {}",
      node.options().data_dir, log_->head(), log_->compacted_through());
  return Status::Ok();
}

void OriginExtension::Stop() {
  if (compact_timer_ != nullptr) {
    uv_timer_stop(compact_timer_);
    base::CloseAndDelete(compact_timer_);
    compact_timer_ = nullptr;
  }
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
    case Kind::kKvDelete:
      entry.type = EntryType::kKvDelete;
      entry.ns = change.ns;
      entry.key = change.key;
      break;
  }
  Status appended = log_->Append(key_->Sign(entry), std::move(blob));
  if (appended.ok()) change.log_seq = entry.seq;
  return appended;
}

bool OriginExtension::HandleAdmin(const gateway::HttpRequest& request,
                                  std::shared_ptr<gateway::ResponseWriter>& writer) {
  std::string_view path = PathOf(request.target);
  if (HandleFleetRequest(path, request, *writer, *log_, fleet_, server_.get(),
                         /*require_post=*/true)) {
    return true;
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

void OriginExtension::UpdateMetrics(gateway::NodeMetrics& metrics) {
  metrics.SetGauge("edge_sync_log_head", "The seq of the newest entry of the log",
                   static_cast<double>(log_->head()));
  metrics.SetGauge("edge_sync_compacted_through", "The log's compaction point",
                   static_cast<double>(log_->compacted_through()));
  metrics.SetGauge("edge_sync_readers", "PoPs and relays tailing this node's log now",
                   static_cast<double>(server_ ? server_->readers() : 0));
}

std::string OriginExtension::StatusJson() const {
  return fmt::format("\"role\":\"origin\",\"log_head\":{},\"compacted_through\":{}", log_->head(),
                     log_->compacted_through());
}

}  // namespace edge::sync
