// What edge-sync plugs into a node without the gateway knowing of it: the
// origin logs every change the node makes; a replica refuses changes made
// on it (they come from its origin) and serves the sync API; both add to
// /metrics. Extensions run on the node's control loop unless said otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/http/http_types.h"
#include "base/status.h"

namespace edge::gateway {

class Node;
class NodeMetrics;

// One change the node committed to its stores.
struct NodeChange {
  enum class Kind { kVersion, kRoutes, kRollback, kDeleteWorker, kSecretPut, kSecretDelete,
                    kKvPut, kKvDelete, kAccount, kAccountDelete, kHostPolicies,
                    kHostPoliciesDelete };
  Kind kind = Kind::kVersion;
  std::string worker;
  uint64_t version = 0;
  std::string bundle_json;                         // kVersion
  std::optional<std::vector<std::string>> routes;  // kVersion (when given), kRoutes
  std::string secret_name, secret_value;           // kSecretPut / kSecretDelete
  std::string ns, key, value, metadata;            // kKvPut / kKvDelete
  // kVersion: the worker's owner; kAccount, kAccountDelete: the account.
  std::string account;
  std::string account_record;                      // kAccount: AccountRecord::Encode
  // kHostPolicies: the operator's whole set, as the JSON array of tables
  // (policy::ParseHostPolicies read it before it was committed).
  std::string host_policies;
  uint64_t expiration = 0;
  // Set by an extension that logged the change: its place in the log.
  uint64_t log_seq = 0;
};

class NodeExtension {
 public:
  virtual ~NodeExtension() = default;
  // The node is open (stores, threads, admin listener): start background work.
  virtual Status Start(Node& /*node*/) { return Status::Ok(); }
  // The node is stopping: stop background work (threads joined here).
  virtual void Stop() {}
  // A change was committed to the node's stores (control loop). An error is
  // reported to the admin caller as a 500; the change stays committed. An
  // extension that logs it sets change.log_seq.
  virtual Status OnChange(NodeChange& /*change*/) { return Status::Ok(); }
  // Non-empty: admin changes are refused with this message (409).
  virtual std::optional<std::string> RefuseChanges() const { return std::nullopt; }
  // Admin requests this extension answers (already authenticated); false
  // when the path is not its own.
  virtual bool HandleAdmin(const HttpRequest& /*request*/,
                           std::shared_ptr<ResponseWriter>& /*writer*/) {
    return false;
  }
  // Before /metrics is rendered.
  virtual void UpdateMetrics(NodeMetrics& /*metrics*/) {}
  // Extra fields for GET /status, as `"key":value` JSON members ("" = none).
  virtual std::string StatusJson() const { return ""; }
  // Cron triggers in a fleet: true when this extension decides, fire by
  // fire, whether this node fires its crons (a replica asks its origin).
  virtual bool DecidesCronFires() const { return false; }
  // Whether to fire `cron` of `worker` for the minute `minute_ms`: `answer`
  // is called on the control loop, at once or later.
  // Queues in a fleet: whether this node's consumer engine delivers now
  // (asked on the control loop at each of its ticks). A replica that is not
  // the queues' home keeps its sends as an outbox that it forwards.
  virtual bool DeliversQueues() const { return true; }
  virtual void AskToFireCron(const std::string& /*worker*/, const std::string& /*cron*/,
                             int64_t /*minute_ms*/, std::function<void(bool fire)> answer) {
    answer(true);
  }
};

}  // namespace edge::gateway
