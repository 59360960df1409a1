// An `edge serve` PoP node: serving threads (one libuv loop, HTTP listeners
// and IsolatePool each) and a control thread (the admin API, deploys,
// signals). The control thread owns every change: it validates it, writes
// it to the deploy store, has the new isolates warmed where the worker's
// requests will find them (SwitchAll), then publishes the new NodeState,
// so no request ever waits for a compile or sees half a deploy.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <set>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bindings/binding_services.h"
#include "bindings/kv/kv_store.h"
#include "bindings/queues/queue_engine.h"
#include "bindings/queues/queue_store.h"
#include "bindings/r2/r2_fleet.h"
#include "bindings/r2/r2_notifications.h"
#include "bindings/workflows/workflow_fleet.h"
#include "bindings/workflows/workflow_store.h"
#include "bindings/service/service_directory.h"
#include "gateway/deploy/deploy_store.h"
#include "gateway/http/http_server.h"
#include "gateway/node/loop_tasks.h"
#include "gateway/node/metering.h"
#include "gateway/node/node_extension.h"
#include "gateway/node/node_metrics.h"
#include "gateway/node/node_options.h"
#include "gateway/node/node_sink.h"
#include "gateway/node/node_state.h"
#include "gateway/node/request_log.h"
#include "gateway/node/start_loads.h"
#include "gateway/node/tail_hub.h"
#include "gateway/node/worker_lanes.h"
#include "gateway/policy/policy_engine.h"
#include "runtime/native.h"

namespace edge::gateway {

class NodeThread;
class NodeTriggers;

// A KV namespace id or service name as a node holds it: "<account>/<name>",
// the account being the worker's owner (names of workers and accounts hold
// no '/').
inline std::string ScopedName(std::string_view account, std::string_view name) {
  return std::string(account) + "/" + std::string(name);
}

// Removes every key of every KV namespace of `account` ("<account>/..."):
// what deleting an account does to its data, at the origin and at a PoP.
Status DropAccountNamespaces(bindings::KvStore& kv, const std::string& account);
// Removes every Cache API entry of `account` (nothing when `cache` is null).
Status DropAccountCache(bindings::CacheStore* cache, const std::string& account);

// The answer to an admin call: an HTTP status and a JSON body.
struct AdminResult {
  int status = 200;
  std::string body;
  static AdminResult Error(int status, std::string_view message);
};

class Node : public bindings::ServiceDirectory {
 public:
  explicit Node(NodeOptions options,
                std::vector<std::unique_ptr<NodeExtension>> extensions = {});
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Opens the store, starts the threads and serves until a signal (or
  // RequestStop). Returns the exit code.
  int Run();

  // The ports a ready node listens on (0: none), as its "Ready:" line says.
  struct Ports {
    int http = 0;
    int https = 0;
    int admin = 0;
  };
  // Runs on the control loop when the node says "Ready:" (it answers;
  // the stored workers load in the background: start_loads()), with the
  // ports actually bound:
  // what an embedder or a test that listens on port 0 needs. Set before Run.
  void SetOnReady(std::function<void(const Ports&)> on_ready) { on_ready_ = std::move(on_ready); }
  // Stops the node as SIGTERM does: requests in flight finish, then Run
  // returns. Any thread, once the node is ready.
  void RequestStop();

  // Changes, called on the control loop; `done` runs there once the change
  // is live on every thread (or refused: nothing changed). One runs at a
  // time, in the order asked.
  //
  // `account` is the account the worker must belong to: the caller's, for
  // an account token; "" for the operator, who reaches every worker (a new
  // worker the operator deploys goes to `default`, or to the account the
  // operator names). A worker of another account is refused as if it did
  // not exist (404), except by Deploy and PutSecret, which would create it:
  // they answer 409 (the name is taken). A new worker belongs to the
  // account that made it, from then on.
  using Done = std::function<void(AdminResult)>;
  void Deploy(std::string name, std::string bundle_json, std::string account, Done done);
  void Rollback(std::string name, uint64_t version, std::string account, Done done);
  void DeleteWorker(std::string name, std::string account, Done done);
  void SetRoutes(std::string name, std::vector<std::string> routes, std::string account,
                 Done done);
  void PutSecret(std::string name, std::string secret, std::string value, std::string account,
                 Done done);
  void DeleteSecret(std::string name, std::string secret, std::string account, Done done);
  // Accounts (operator only; refused on a replica). CreateAccount and
  // RotateAccountToken answer with the new token, the only time it is
  // shown. DeleteAccount removes every worker of the account (versions,
  // routes, secrets), its KV namespaces and the account.
  void CreateAccount(std::string name, std::vector<std::string> hosts, Done done);
  void ChangeAccountHosts(std::string name, std::vector<std::string> add,
                          std::vector<std::string> remove, Done done);
  void RotateAccountToken(std::string name, Done done);
  void RevokeAccountToken(std::string name, Done done);
  void DeleteAccount(std::string name, Done done);
  // The operator's host policies (docs/operations.md#host-policies): the
  // set stored through the admin API (or, on a replica, received from the
  // origin) replaces node.toml's `[[host_policies]]`; with none stored,
  // node.toml's apply. SetHostPolicies takes the whole set as the JSON
  // array of tables (refused with the field named; logged for the fleet by
  // an origin); DeleteHostPolicies removes the stored set (node.toml's
  // apply again). Both are the operator's, refused on a replica. Each
  // swaps the serving tables with a new NodeState: requests in flight keep
  // the tables they started with.
  void SetHostPolicies(std::string json, Done done);
  void DeleteHostPolicies(Done done);
  // GET /host-policies: {"source", "tables", "host_policies"} (control loop).
  AdminResult HostPoliciesAnswer() const;
  // For replicas, from any thread: the stored set changed (an applied log
  // entry or a snapshot); serve what the store now holds. A stored set that
  // cannot be read leaves the current tables serving (logged).
  void ReloadHostPolicies();
  // The accounts as last committed (control loop).
  std::shared_ptr<const AccountTable> accounts() const { return accounts_; }
  // For replicas, from any thread: the accounts in the store changed (an
  // applied log entry); read them again.
  void ReloadAccounts();
  // Whether `account` ("" = the operator) reaches worker `name`: nullopt
  // when it does (or the worker does not exist), else the answer to give
  // (404, as for a worker that does not exist).
  std::optional<AdminResult> RefuseWorker(const std::string& name,
                                          const std::string& account) const;
  // The account that owns `name`: its stored owner, `default` for a worker
  // in the store without one, nullopt when there is no such worker.
  StatusOr<std::optional<std::string>> OwnerOf(const std::string& name) const;
  // KV through the admin API (an origin logs them for its fleet).
  void KvPut(std::string ns, std::string key, std::string value, std::string metadata,
             uint64_t expiration, Done done);
  void KvDelete(std::string ns, std::string key, Done done);

  // For replicas, from any thread: the store changed under the node (an
  // applied log entry); serve what it now holds for `name` (or for every
  // worker), after warming it.
  void ReloadWorker(std::string name);
  void ReloadAll();
  // Runs `task` on the control loop (any thread).
  void PostToControl(std::function<void()> task);
  bindings::KvStore& kv() { return *services_->kv; }
  bindings::CacheStore* cache() { return services_->cache.get(); }
  // The queue store (bindings/queues/queue_store.h) and the engine that
  // runs the consumers of the workers served here (null before Start).
  const std::shared_ptr<bindings::QueueStore>& queue_store() { return services_->queues; }
  // R2 bucket event notifications (bindings/r2/r2_notifications.h): the
  // deployed workers' rules and the node's stored ones, and the mover that
  // NodeTriggers runs on the control loop.
  const std::shared_ptr<bindings::R2Notifier>& r2_events() { return r2_events_; }
  const std::shared_ptr<bindings::R2Store>& r2_store() { return services_->r2; }
  bindings::QueueEngine* queue_engine();
  // The workflow store (bindings/workflows/workflow_store.h).
  const std::shared_ptr<bindings::WorkflowStore>& workflow_store() { return services_->workflows; }
  // Where this node's workflow bindings send calls for instances that live
  // on another node (a fleet's home; bindings/workflows/workflow_fleet.h);
  // null: none. Any thread.
  void SetWorkflowFleet(std::shared_ptr<bindings::WorkflowFleet> fleet) {
    std::atomic_store(&services_->workflow_fleet, std::move(fleet));
  }
  // Where this node's R2 bindings send their calls when the buckets live
  // on another node (a fleet's origin; bindings/r2/r2_fleet.h); null: this
  // node's own store. Any thread.
  void SetR2Fleet(std::shared_ptr<bindings::R2Fleet> fleet) {
    std::atomic_store(&services_->r2_fleet, std::move(fleet));
  }
  // Version `version` of the worker `name` as it would be served (its
  // bundle from the deploy store, its current secrets), for workflow
  // instances that run to their end on the version they started on
  // (control loop). kNotFound when that version is no longer stored.
  StatusOr<std::shared_ptr<const ServedWorker>> ServedVersion(const std::string& name, uint64_t version);
  const std::vector<std::unique_ptr<NodeExtension>>& extensions() const { return extensions_; }

  // Reads, for the admin API (control loop).
  const NodeOptions& options() const { return options_; }
  DeployStore& store() { return *store_; }
  Meter& meter() { return meter_; }
  NodeMetrics& metrics() { return metrics_; }
  TailHub& tail() { return tail_; }
  std::shared_ptr<const NodeState> state() const { return state_.Load(); }
  uv_loop_t* control_loop() { return &loop_; }
  uint64_t started_unix_ms() const { return started_unix_ms_; }
  // Refreshes the gauges /metrics reports (isolates per thread).
  void UpdateGauges();

  // Workers the serving threads hand to other threads (worker_lanes.h): a
  // worker stopped by its CPU or memory limit runs on the quarantine thread,
  // one holding its thread for long stretches on the heavy lanes, so neither
  // holds up the serving threads and the other tenants on them. Any thread.
  void Quarantine(const std::string& worker);
  bool Quarantined(const std::string& worker);
  void MarkHeavy(const std::string& worker);
  WorkerLanes::Lane LaneOf(const std::string& worker);
  NodeThread* quarantine_thread() const { return quarantine_.get(); }
  // Serving thread `index` (null past the last).
  NodeThread* serving_thread(int index) const {
    return index >= 0 && static_cast<size_t>(index) < threads_.size() ? threads_[index].get()
                                                                      : nullptr;
  }
  // What the node loads as it starts (start_loads.h): set before the
  // serving threads start, never changed after (null: no serving threads).
  const std::shared_ptr<StartLoads>& start_loads() const { return start_loads_; }
  // The start loads' progress as JSON fields for /status ("start":{...}).
  std::string StartJson() const;

  // ServiceDirectory: another deployed worker, on the calling serving thread.
  Status Dispatch(const std::string& service, runtime::FetchRequest request,
                  std::shared_ptr<runtime::ResponseSink> sink) override;

  // For the serving threads.
  const StateCell& state_cell() const { return state_; }
  const runtime::NativeRegistry& natives() const { return natives_; }
  const NodeReporting& reporting() const { return reporting_; }
  std::shared_ptr<TlsContext> tls_context() const { return tls_; }
  // What every request's policies are applied with (the shared token
  // buckets, trusted proxies); the operator's host policies are in the
  // NodeState.
  const policy::PolicyContext& policy_context() const { return policy_context_; }

 private:
  using Change = std::function<void(std::function<void()> finished)>;
  void Enqueue(Change change);
  // A change the admin API asked for is refused (409, told to `done`) on a
  // replica: returns true then.
  bool RefuseAdmin(const Done& done);
  // Tells the extensions; an error is what the admin caller sees.
  Status Notify(NodeChange& change);
  void RunNextChange();

  Status Open();
  // The operator's host policies as the store and the config file give
  // them: the stored set when there is one ("origin" on a replica, else
  // "admin"), else node.toml's ("node.toml"), else none ("none").
  struct HostPolicySet {
    std::shared_ptr<const policy::PolicyTables> tables;  // null: no tables
    std::string json;
    std::string source;
  };
  StatusOr<HostPolicySet> ReadHostPolicies() const;
  // At start: ReadHostPolicies, the precedence said in the log (a stored
  // set that cannot be read: logged, node.toml's serve).
  std::shared_ptr<const policy::PolicyTables> StartingHostPolicies();
  // Serves `set` from now on (a new state), then runs `done`.
  void PublishHostPolicies(HostPolicySet set, std::function<void()> done);
  // True when an extension makes this node a replica (changes refused).
  bool Replicates() const;
  // Reads the accounts from the store into accounts_.
  Status LoadAccounts();
  // On the first start with accounts: every worker without an owner goes
  // to `default`, and its KV namespaces ("<its old account>/<id>", the old
  // account being the bundle's `account` or the worker's name) move to
  // "default/<id>"; the `default` account is created. Once per store.
  Status MigrateToAccounts();
  // The routes a worker of `account` may have: Ok, or the answer (400 for
  // an invalid pattern, 403 naming a host the account does not own).
  std::optional<AdminResult> RefuseRoutes(const std::string& account,
                                          const std::vector<std::string>& routes) const;
  // `home_thread`: ServedWorker::home_thread.
  StatusOr<std::shared_ptr<const ServedWorker>> BuildServed(const DeployedWorker& deployed,
                                                            int home_thread = -1);
  // The serving thread the next worker arriving is loaded on (round robin;
  // -1 without serving threads).
  int NextHomeThread();
  // A new state: the current one with `worker` replaced (or removed when
  // null), its routes from the worker records.
  // Hands the bucket notification rules of `state`'s workers to the
  // notifier, just before `state` is published.
  void SetR2Rules(const NodeState& state);
  StatusOr<std::shared_ptr<NodeState>> StateWith(const std::string& name,
                                                 std::shared_ptr<const ServedWorker> worker);
  // Every route of every worker in `base` (the published state when not
  // given) but `name`, plus `routes` for it: refused when two workers
  // claim one pattern.
  StatusOr<RouteTable> RoutesWith(const std::string& name, const std::vector<std::string>& routes,
                                  const NodeState* base = nullptr);
  // Warms `worker` (if set) where it must be warm, then publishes `state`,
  // then runs `done`.
  void Switch(std::shared_ptr<NodeState> state, std::shared_ptr<const ServedWorker> worker,
              std::function<void()> done);
  // The same for several workers at once (a group of deploys), `state`
  // published once. Where each is warmed first: a worker the published
  // state serves already, on every serving thread holding an isolate of it
  // (a hot worker has one on each thread its requests reach) and on its
  // home thread; a worker new to the node, on its home thread only (the
  // others hand its requests there), which a deploy's validating load has
  // done already (`loaded_at_home`): then no thread is waited for.
  void SwitchAll(std::shared_ptr<NodeState> state,
                 std::vector<std::shared_ptr<const ServedWorker>> workers,
                 std::function<void()> done, bool loaded_at_home = false);

  // Deploys (Deploy) go through four steps, several deploys at a time:
  // planned (the checks against the store and the state: PlanDeploy),
  // loaded once on one serving thread (the validation, whose isolate is
  // that thread's warm one; on the control loop for a node without serving
  // threads), committed together with the deploys loaded meanwhile (one
  // store write: CommitDeploys, a change of the queue), then warmed on the
  // other threads and published together. Deploys of one worker run one
  // at a time, in the order asked.
  struct PendingDeploy;
  struct DeployRefusal {
    int status;
    std::string message;
  };
  std::optional<DeployRefusal> PlanDeploy(PendingDeploy& deploy);
  void StartDeploys();
  void LoadDeploy(const std::shared_ptr<PendingDeploy>& deploy);
  void DeployLoaded(const std::shared_ptr<PendingDeploy>& deploy, const Status& loaded);
  void CommitDeploys(std::function<void()> finished);
  // Answers a deploy that was refused (its loaded isolate dropped).
  void RefuseDeploy(const std::shared_ptr<PendingDeploy>& deploy, const DeployRefusal& refusal);
  // The deploy is answered: the next one of its worker may start.
  void EndDeploy(const std::shared_ptr<PendingDeploy>& deploy, AdminResult result);
  // At debug level: where a deploy that went live spent its time.
  void LogDeployPhases(const PendingDeploy& deploy, size_t group);
  // Reloads one worker from the store and switches to it.
  void Reapply(const std::string& name, std::function<void(Status)> done);
  // The shape of most changes: write to the store, tell the extensions,
  // then serve what the store now holds for change.worker; `done` gets
  // success() once that is live, or the error.
  void CommitAndReapply(const std::function<Status(DeployStore::Writer&)>& write,
                        NodeChange change, const Done& done, std::function<void()> finished,
                        std::function<AdminResult()> success);
  // CommitAndReapply as a change of its own: refused on a replica, else
  // queued behind the changes before it.
  // `account` as for the public changes.
  void EnqueueCommitAndReapply(std::function<Status(DeployStore::Writer&)> write, NodeChange change,
                               std::string account, Done done,
                               std::function<AdminResult()> success);
  // A change to account `name`: `write` (refused: nothing changed), then
  // the accounts reloaded and the account as it now is told to the
  // extensions (kAccount); `done` gets the answer or the error.
  void EnqueueAccountChange(std::string name,
                            std::function<StatusOr<AdminResult>(DeployStore::Writer&)> write,
                            Done done);
  // Writes to the store, then tells the extensions: the first error.
  Status Commit(const std::function<Status(DeployStore::Writer&)>& write, NodeChange& change);

  // The steps of Run. Start's error is the line Run logs before it exits.
  Status Start();
  int ServingThreadCount() const;
  Status StartServingThreads(int count, size_t budget);
  Status StartQuarantineThread(int index, size_t budget);
  Status StartHeavyLanes(int first_index, int count, size_t budget);
  Status StartAdminApi(std::string token, std::string sync_token);
  // The order the stored workers load in at start: most recently used
  // first (recent_workers.h), then the rest by name.
  std::vector<std::shared_ptr<const ServedWorker>> StartOrder() const;
  // Once every stored worker is loaded (or failed, or did not fit): one
  // log line and the gauges.
  void OnStartLoadsFinished();
  // Prints the "Ready:" line with the ports bound, and tells on_ready_.
  void AnnounceReady();
  // Fires the workers' cron triggers from now on, if this node runs them.
  void StartTriggers();
  // SIGINT and SIGTERM stop the node (a second one exits at once).
  void WatchSignals();
  // Waits for the serving threads to end, then stops the heavy lanes and the
  // quarantine thread.
  void JoinThreads();

  static void OnSignal(uv_signal_t* handle, int signum);
  void Stop();

  NodeOptions options_;
  uv_loop_t loop_;
  std::unique_ptr<LoopTasks> control_tasks_;
  runtime::NativeRegistry natives_;
  std::unique_ptr<DeployStore> store_;
  std::shared_ptr<const AccountTable> accounts_ = std::make_shared<AccountTable>();
  std::shared_ptr<TlsContext> tls_;
  std::shared_ptr<bindings::BindingServices> services_;
  // node.toml's `[[host_policies]]` (null: none), and where the set that
  // serves now came from (HostPolicySet::source; control loop).
  std::shared_ptr<const policy::PolicyTables> file_host_policies_;
  std::string host_policy_source_ = "none";
  std::string host_policy_json_;
  // The jwt policies' JWKS caches, shared by the serving threads; their
  // fetches run on the control loop through the node's outbound client.
  std::unique_ptr<policy::JwksCaches> jwks_caches_;
  policy::TrustedProxies proxies_;
  policy::PolicyContext policy_context_;
  std::shared_ptr<bindings::R2Notifier> r2_events_;
  std::unique_ptr<bindings::KvSweeper> kv_sweeper_;
  StateCell state_;
  Meter meter_;
  NodeMetrics metrics_;
  std::unique_ptr<RequestLog> log_;
  TailHub tail_;
  NodeReporting reporting_;
  std::vector<std::unique_ptr<NodeExtension>> extensions_;
  std::vector<std::unique_ptr<NodeThread>> threads_;
  std::unique_ptr<NodeThread> quarantine_;
  std::vector<std::unique_ptr<NodeThread>> heavy_lanes_;  // one per serving thread
  WorkerLanes lanes_;
  std::unique_ptr<HttpServer> admin_server_;
  std::unique_ptr<class AdminApi> admin_api_;
  std::vector<uv_signal_t*> signals_;
  std::deque<Change> changes_;
  // Deploys not started yet (their worker has one in flight, or too many
  // are), the workers with one in flight, and those loaded and waiting for
  // CommitDeploys (control loop).
  std::deque<std::shared_ptr<PendingDeploy>> deploys_waiting_;
  std::set<std::string> deploys_in_flight_;
  std::vector<std::shared_ptr<PendingDeploy>> deploys_loaded_;
  size_t next_load_thread_ = 0;
  // Deploys planned and not answered yet, at most: each holds a loaded
  // isolate until it is published.
  static constexpr size_t kMaxDeploysInFlight = 8;
  std::set<std::string> reloads_pending_;  // ReloadWorker calls not yet run
  bool changing_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> next_instance_{1};
  uint64_t started_unix_ms_ = 0;
  std::function<void(const Ports&)> on_ready_;
  std::shared_ptr<StartLoads> start_loads_;
  // How long each step of the start took, in ms (the log line of
  // OnStartLoadsFinished).
  struct StartPhases {
    double stores = 0, workers = 0, threads = 0, answering = 0;
    double loads_made = 0;  // when the start loads were listed
  } start_phases_;
  // Cron triggers, once the node is ready (node_triggers.h).
  std::unique_ptr<NodeTriggers> triggers_;
};

}  // namespace edge::gateway
