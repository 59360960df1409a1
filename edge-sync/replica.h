// `edge serve --sync-from URL --sync-key FILE.pub`: a PoP that replicates its
// deployments, secrets and KV from an origin (or a relay). The SyncClient
// tails the log; each verified entry is kept in the node's own copy of the
// log (so it can relay it) and applied to the deploy store or the KV store
// together with the node's cursor, in one LMDB transaction; the node then
// warms and switches to what the store holds. Changes through the node's own
// admin API are refused: the origin is the single writer. Workers' KV writes
// apply locally and are forwarded to the origin (KvForwarder).
#pragma once

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "edge-sync/cron_claimer.h"
#include "edge-sync/fleet.h"
#include "edge-sync/kv_forwarder.h"
#include "edge-sync/queue_forwarder.h"
#include "edge-sync/queue_mailbox.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot_relay.h"
#include "edge-sync/sync_client.h"
#include "edge-sync/sync_log.h"
#include "edge-sync/sync_server.h"
#include "edge-sync/workflow_forwarder.h"
#include "gateway/node/node_extension.h"

namespace edge::sync {

struct ReplicaOptions {
  std::string from_url;          // the origin's or a relay's admin URL
  std::string verify_key_path;   // the origin's public key (FILE.pub of edge keygen)
  std::string token_file;        // the sync token for `from_url` ("" = none)
  std::string secrets_key_path;  // the fleet's secrets key ("" = secret entries are refused)
  bool relay = false;            // serve the sync API to PoPs below this one
  uint64_t checkin_every_ms = 2000;
  // Compacts this node's copy of the log through its head this often (0 =
  // never), as the origin compacts its own.
  uint64_t compact_every_ms = 10 * 60 * 1000;
  // Snapshots a relay passes on at once (SnapshotRelay); beyond: 503.
  size_t max_snapshot_streams = 4;
};

class ReplicaExtension : public gateway::NodeExtension {
 public:
  explicit ReplicaExtension(ReplicaOptions options);
  ~ReplicaExtension() override;

  Status Start(gateway::Node& node) override;
  void Stop() override;
  std::optional<std::string> RefuseChanges() const override;
  bool HandleAdmin(const gateway::HttpRequest& request,
                   std::shared_ptr<gateway::ResponseWriter>& writer) override;
  void UpdateMetrics(gateway::NodeMetrics& metrics) override;
  std::string StatusJson() const override;
  // A PoP that has no `run_crons` of its own fires the fleet's crons when
  // its origin names it the home, each fire claimed first (CronClaimer).
  bool DecidesCronFires() const override { return cron_candidate_; }
  void AskToFireCron(const std::string& worker, const std::string& cron, int64_t minute_ms,
                     std::function<void(bool fire)> answer) override;
  // The queues' home (the cron home) delivers; the other PoPs forward
  // their sends to the origin (QueueForwarder).
  bool DeliversQueues() const override {
    return !queue_forwarder_ || queue_forwarder_->Delivers();
  }

 private:
  uint64_t Cursor() const;
  // On the SyncClient's thread.
  Status Apply(const SignedEntry& line, const Entry& entry, const std::optional<std::string>& blob);
  Status ApplyToStores(const Entry& entry, const std::optional<std::string>& blob);
  Status Reset(const SnapshotFile& file, const SyncClient::FetchBlobFn& fetch_blob);
  void CheckIn();
  PopStatus Own() const;
  static void OnCompactTimer(uv_timer_t* timer);

  ReplicaOptions options_;
  gateway::Node* node_ = nullptr;
  std::string token_;
  std::string secrets_key_;
  VerifyKey verify_key_;     // the origin's public key (a copy of the client's)
  std::string saved_state_;  // the signed state last kept in the log (check-in thread)
  std::unique_ptr<SyncLog> log_;
  std::unique_ptr<SyncServer> server_;  // when relaying
  std::unique_ptr<KvForwarder> forwarder_;
  std::unique_ptr<CronClaimer> cron_claimer_;
  std::unique_ptr<QueueForwarder> queue_forwarder_;
  std::unique_ptr<QueueMailbox> queue_mailbox_;  // when relaying: puts from below
  // Workflow calls to the fleet's home, and the home's side (workflow_forwarder.h).
  std::shared_ptr<WorkflowForwarder> workflow_forwarder_;
  bool cron_candidate_ = false;
  std::unique_ptr<SyncClient> client_;
  Fleet fleet_;  // PoPs below this one (when relaying)
  std::atomic<uint64_t> applied_cursor_{0};
  std::atomic<uint64_t> refused_applies_{0};
  // What UpdateMetrics already added to each counter (control loop).
  struct Reported {
    uint64_t refused_entries = 0, unverified = 0, snapshots = 0, forwarded = 0, kv_refused = 0,
             not_queued = 0, claims_granted = 0, claims_refused = 0, claims_failed = 0;
  };
  Reported reported_;
  std::thread checkin_thread_;
  std::mutex checkin_mutex_;
  std::condition_variable checkin_wake_;
  bool stopping_ = false;
  uv_timer_t* compact_timer_ = nullptr;
  std::unique_ptr<SnapshotRelay> snapshot_relay_;  // when relaying
  // A snapshot was being applied when the node stopped: take one first.
  std::atomic<bool> snapshot_pending_{false};
};

}  // namespace edge::sync
