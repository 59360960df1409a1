// `edge origin`: a node that serves no traffic and is the fleet's single
// writer. Every change the admin API commits (versions, routes, rollbacks,
// deletions, secrets sealed for the PoPs, KV writes) becomes a signed entry
// of its log, which it serves to PoPs and relays (/sync/...), with the
// fleet view (/sync/fleet) and compaction (/sync/compact, and on a timer).
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "edge-sync/entry.h"
#include "edge-sync/fleet.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/sync_log.h"
#include "edge-sync/sync_server.h"
#include "gateway/node/node_extension.h"

namespace edge::sync {

struct OriginOptions {
  std::string signing_key_path;  // Ed25519 private key (edge keygen)
  std::string secrets_key_path;  // the fleet's secrets key; "" = secrets are refused
  // Compacts the log through its head this often (0 = only on request).
  uint64_t compact_every_ms = 10 * 60 * 1000;
  // Snapshots served at once (SyncServerOptions::max_snapshot_streams).
  size_t max_snapshot_streams = 4;
};

class OriginExtension : public gateway::NodeExtension {
 public:
  explicit OriginExtension(OriginOptions options);
  ~OriginExtension() override;

  Status Start(gateway::Node& node) override;
  void Stop() override;
  Status OnChange(gateway::NodeChange& change) override;
  bool HandleAdmin(const gateway::HttpRequest& request,
                   std::shared_ptr<gateway::ResponseWriter>& writer) override;
  void UpdateMetrics(gateway::NodeMetrics& metrics) override;
  std::string StatusJson() const override;

 private:
  static void OnCompactTimer(uv_timer_t* timer);
  StatusOr<size_t> Compact(uint64_t through);

  OriginOptions options_;
  gateway::Node* node_ = nullptr;
  std::unique_ptr<SyncLog> log_;
  std::unique_ptr<SigningKey> key_;
  std::string secrets_key_;
  std::unique_ptr<SyncServer> server_;
  Fleet fleet_;
  uv_timer_t* compact_timer_ = nullptr;
};

// The fleet view as JSON: the log's head and compaction point, and every
// PoP heard from (directly or through relays) with its lag.
std::string FleetJson(const SyncLog& log, const Fleet& fleet, const SyncServer* server,
                      uint64_t now_ms);

// Answers the fleet's paths on a node that PoPs check in with (the origin, a
// relay): /sync/checkin (a check-in from below, answered with the log's
// head; with `require_post`, any other method gets 405) and /sync/fleet
// (FleetJson). Returns false, without touching `writer`, for other paths.
bool HandleFleetRequest(std::string_view path, const gateway::HttpRequest& request,
                        gateway::ResponseWriter& writer, const SyncLog& log, Fleet& fleet,
                        const SyncServer* server, bool require_post);

// `json` and a newline as an application/json response; SendJsonError sends
// {"error": message}.
void SendJson(gateway::ResponseWriter& writer, int status, const std::string& json);
void SendJsonError(gateway::ResponseWriter& writer, int status, std::string_view message);

}  // namespace edge::sync
