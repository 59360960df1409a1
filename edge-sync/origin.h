// `edge origin`: a node that serves no traffic and is the fleet's single
// writer. Every change the admin API commits (versions, routes, rollbacks,
// deletions, secrets sealed for the PoPs, KV writes) becomes a signed entry
// of its log, which it serves to PoPs and relays (/sync/...), with the
// fleet view (/sync/fleet) and compaction (/sync/compact, and on a timer).
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include "edge-sync/cron_home.h"
#include "edge-sync/entry.h"
#include "edge-sync/fleet.h"
#include "edge-sync/queue_mailbox.h"
#include "edge-sync/r2_home.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/sync_log.h"
#include "edge-sync/sync_server.h"
#include "edge-sync/workflow_mailbox.h"
#include "gateway/node/node_extension.h"

namespace edge::sync {

struct OriginOptions {
  std::string signing_key_path;  // Ed25519 private key (edge keygen)
  std::string secrets_key_path;  // the fleet's secrets key; "" = secrets are refused
  // Compacts the log through its head this often (0 = only on request).
  uint64_t compact_every_ms = 10 * 60 * 1000;
  // Start a new epoch even if the log looks like the one this origin last
  // served (after restoring a whole data folder, mark file included).
  bool new_epoch = false;
  // The fleet view drops a PoP not heard from for this long (0 = never).
  uint64_t fleet_forget_after_ms = Fleet::kDefaultForgetAfterMs;
  // Snapshots served at once (SyncServerOptions::max_snapshot_streams).
  size_t max_snapshot_streams = 4;
  // The fleet's cron home: "" = chosen from the fleet view; a pop_id = that
  // PoP always (origin.toml `cron_home`).
  std::string cron_home;
  // A home not heard from for this long is replaced (CronHome).
  uint64_t cron_home_grace_ms = CronHome::kDefaultGraceMs;
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
  // The cron home as the fleet view names it now, as check-in answer
  // members ("" when it cannot be kept: the answer then names no home).
  std::string CronHomeMembers();
  // POST /sync/cron-claim from the home, before it fires.
  void TakeCronClaim(const gateway::HttpRequest& request, gateway::ResponseWriter& writer);
  // A KV write on the admin API (PUT or DELETE /kv/...): answers a resent
  // forwarded write (X-Edge-Write-Id at or below the writer's last applied
  // id) without applying it again, and notes the others, in arrival order,
  // so that OnChange logs the write's id with its entry. True when answered.
  bool TakeKvWrite(const gateway::HttpRequest& request,
                   std::shared_ptr<gateway::ResponseWriter>& writer);

  // A KV write on its way through the node, oldest first: the node applies
  // them in the order they arrived, one at a time, so OnChange's KV change
  // is always the front's. Removed by OnChange, or when the write is
  // answered without a change (refused).
  struct PendingKvWrite {
    uint64_t token = 0;
    bool is_delete = false;
    std::string writer;  // "" = not a forwarded write
    uint64_t id = 0;
  };
  // Shared with the answer watchers, which may outlive this extension.
  std::shared_ptr<std::deque<PendingKvWrite>> pending_kv_writes_ =
      std::make_shared<std::deque<PendingKvWrite>>();
  // Resent forwarded writes answered without being applied again, and what
  // UpdateMetrics reported of them (control loop).
  uint64_t duplicate_writes_ = 0, reported_duplicate_writes_ = 0;
  uint64_t cron_claims_granted_ = 0, reported_claims_granted_ = 0;
  uint64_t cron_claims_refused_ = 0, reported_claims_refused_ = 0;
  uint64_t next_token_ = 1;

  OriginOptions options_;
  gateway::Node* node_ = nullptr;
  std::unique_ptr<SyncLog> log_;
  std::string epoch_;
  std::unique_ptr<SigningKey> key_;
  std::string secrets_key_;
  std::unique_ptr<SyncServer> server_;
  Fleet fleet_;
  std::optional<CronHome> cron_home_;
  // Queues in a fleet: what the PoPs forward, until the home takes it.
  std::unique_ptr<QueueMailbox> queue_mailbox_;
  // Workflow calls from PoPs on their way to the home (workflow_mailbox.h).
  std::unique_ptr<WorkflowMailbox> workflow_mailbox_;
  // R2 calls from PoPs, answered from this node's store (r2_home.h).
  std::unique_ptr<R2Home> r2_home_;
  uv_timer_t* compact_timer_ = nullptr;
};

// The fleet view as JSON: the log's head and compaction point, and every
// PoP heard from (directly or through relays) with its lag.
std::string FleetJson(const SyncLog& log, Fleet& fleet, const SyncServer* server, uint64_t now_ms);

// Answers the fleet's paths on a node that PoPs check in with (the origin, a
// relay): /sync/checkin (a check-in from below, answered with the log's
// head; with `require_post`, any other method gets 405) and /sync/fleet
// (FleetJson). `extra_members`, when given, is called after a check-in is
// recorded and adds its JSON members to both answers (the origin's cron
// home). Returns false, without touching `writer`, for other paths.
bool HandleFleetRequest(std::string_view path, const gateway::HttpRequest& request,
                        gateway::ResponseWriter& writer, const SyncLog& log, Fleet& fleet,
                        const SyncServer* server, bool require_post,
                        const std::function<std::string()>& extra_members = {});

// A forwarded write's id (X-Edge-Write-Id: "<writer>:<id>", the writer 32
// lower-case hex digits, the id a number above 0); nullopt when malformed.
struct WriteIdValue {
  std::string writer;
  uint64_t id = 0;
};
std::optional<WriteIdValue> ParseWriteId(std::string_view text);
// The origin's record of the last write it applied for `writer`: the
// write's id and the seq of its entry ("<id> <seq>" in the log's meta under
// "write/<writer>"), both 0 when none.
struct AppliedWrite {
  uint64_t id = 0, seq = 0;
};
StatusOr<AppliedWrite> LastAppliedWrite(const SyncLog& log, const std::string& writer);

// `json` and a newline as an application/json response; SendJsonError sends
// {"error": message}.
void SendJson(gateway::ResponseWriter& writer, int status, const std::string& json);
void SendJsonError(gateway::ResponseWriter& writer, int status, std::string_view message);

}  // namespace edge::sync
