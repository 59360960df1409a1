#include "gateway/node/node.h"

#include <fmt/core.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "bindings/bindings.h"
#include "bindings/cache/cache_store.h"
#include "bindings/cron/cron_scheduler.h"
#include "bindings/kv/kv_store.h"
#include "bindings/r2/r2_store.h"
#include "bindings/fetch/outbound/client.h"
#include "gateway/node/admin_api.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "gateway/node/code_cache_folder.h"
#include "gateway/node/node_thread.h"
#include "gateway/node/node_triggers.h"
#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::gateway {
namespace {

// The HTTP status of a refused change.
int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kInvalidInput:
    case ErrorCode::kTypeError:
    case ErrorCode::kRangeError:
    case ErrorCode::kSyntaxError:
      return 400;
    default:
      return 500;
  }
}

// Outbound connections, inbound connections and the stores' files share the
// process's file descriptors. The soft limit goes up to the hard one; a
// bound on outbound connections above half of what the limit then allows is
// lowered to that half (and said), so a tenant fetching from thousands of
// origins can never take the descriptors the node needs to accept requests.
uint32_t FitToFileLimit(uint32_t outbound_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return outbound_connections;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || outbound_connections <= limit.rlim_cur / 2) {
    return outbound_connections;
  }
  uint32_t fitted = static_cast<uint32_t>(std::max<rlim_t>(1, limit.rlim_cur / 2));
  Log(LogLevel::kWarn,
      "outbound_connections is {} but this process may open only {} files (ulimit -n): "
      "at most {} outbound connections will be open at once",
      outbound_connections, limit.rlim_cur, fitted);
  return fitted;
}

// A new state to change: `current`'s workers, routes and host policies.
// Without `with_routes`, the routes are left empty, for a caller that
// builds them itself.
std::shared_ptr<NodeState> CopyOf(const NodeState& current, bool with_routes = true) {
  auto state = std::make_shared<NodeState>();
  state->workers = current.workers;
  state->host_policies = current.host_policies;
  state->generation = current.generation;
  if (with_routes) {
    // The routes of a published state always build again.
    auto routes = RouteTable::Build(current.routes.routes());
    if (routes.ok()) state->routes = std::move(routes).value();
  }
  return state;
}

}  // namespace

AdminResult AdminResult::Error(int status, std::string_view message) {
  return {status, fmt::format("{{\"error\":{}}}", base::JsonString(message))};
}

Node::Node(NodeOptions options, std::vector<std::unique_ptr<NodeExtension>> extensions)
    : options_(std::move(options)), extensions_(std::move(extensions)) {
  uv_loop_init(&loop_);
  bindings::RegisterNatives(natives_);
  // A JWKS is fetched like a worker's fetch(): the node's outbound client,
  // under its address policy; the fetch runs on the control loop, and the
  // requests waiting for it go on on their own threads.
  jwks_caches_ = std::make_unique<policy::JwksCaches>(
      [this](const std::string& url, std::function<void(StatusOr<std::string>)> done) {
        if (!control_tasks_) {
          done(Status(ErrorCode::kIo, "the node is not started"));
          return;
        }
        PostToControl([this, url, done = std::move(done)]() mutable {
          policy::FetchJwks(*services_->outbound, &loop_, url, policy::kJwksFetchTimeoutMs, std::move(done));
        });
      });
}

Node::~Node() {
  triggers_.reset();  // its timers close while the loop still runs
  JoinThreads();
  threads_.clear();
  for (uv_signal_t* signal : signals_) {
    uv_signal_stop(signal);
    base::CloseAndDelete(signal);
  }
  signals_.clear();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

namespace {
double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}
}  // namespace

Status Node::Open() {
  auto opening = std::chrono::steady_clock::now();
  auto store = DeployStore::Open(options_.data_dir);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  auto log = RequestLog::Open(options_.access_log);
  if (!log.ok()) return log.status();
  log_ = std::move(log).value();
  log_->set_on_dropped([this](uint64_t lines) {
    metrics_.AddCounter("edge_access_log_dropped_lines_total",
                        "Request log lines dropped because the disk did not keep up",
                        static_cast<double>(lines));
  });
  reporting_ = {&meter_, &metrics_, log_.get(), &tail_,
                [this](const std::string& worker) { Quarantine(worker); }};
  if (!options_.https.empty()) {
    if (options_.tls.empty()) {
      return Status(ErrorCode::kInvalidInput,
                    "an HTTPS listener needs at least one [[tls]] certificate");
    }
    auto tls = TlsContext::Create(options_.tls);
    if (!tls.ok()) return tls.status();
    tls_ = std::move(tls).value();
  }

  services_ = std::make_shared<bindings::BindingServices>();
  services_->services = this;
  auto kv = bindings::KvStore::Open(options_.data_dir);
  if (!kv.ok()) return kv.status();
  services_->kv = std::move(kv).value();
  kv_sweeper_ = std::make_unique<bindings::KvSweeper>(&loop_, services_->kv);
  kv_sweeper_->Start();
  // Workers Queues: one store per node, each account's queues its own.
  auto queues = bindings::QueueStore::Open(options_.data_dir, {}, bindings::SystemCronClock());
  if (!queues.ok()) return queues.status();
  services_->queues = std::move(queues).value();
  // Workflows: one store per node, each account's instances its own.
  bindings::WorkflowStore::Options workflow_options;
  workflow_options.retention_ms = static_cast<int64_t>(options_.workflow_retention_days) * 86'400'000;
  auto workflows = bindings::WorkflowStore::Open(options_.data_dir, workflow_options, bindings::SystemCronClock());
  if (!workflows.ok()) return workflows.status();
  services_->workflows = std::move(workflows).value();
  // The Cache API's store: one per node, each account's entries its own.
  bindings::CacheLimits cache_limits;
  cache_limits.max_total_bytes = options_.cache_max_mb << 20;
  cache_limits.max_owner_bytes = std::min(options_.cache_account_max_mb, options_.cache_max_mb) << 20;
  cache_limits.max_entry_bytes = options_.cache_entry_max_mb << 20;
  services_->cache = bindings::CacheStore::Open(options_.data_dir, cache_limits, bindings::SystemCronClock());
  // R2 buckets, per account, in <data_dir>/r2.
  bindings::R2Limits r2_limits;
  r2_limits.max_owner_bytes = options_.r2_account_max_mb << 20;
  services_->r2 = bindings::R2Store::Open(options_.data_dir, r2_limits, bindings::SystemCronClock());
  // Token buckets every serving thread shares: the rate_limit policies'
  // and the Rate Limiting bindings'. Counts are this node's (per PoP).
  services_->rate_limits = std::make_shared<bindings::TokenBuckets>(options_.rate_limit_slots);
  auto proxies = policy::TrustedProxies::Parse(options_.trusted_proxies, options_.forwarded_header);
  if (!proxies.ok()) return proxies.status();
  proxies_ = std::move(proxies).value();
  if (!options_.host_policies_json.empty()) {
    auto host_policies = policy::ParseHostPolicies(options_.host_policies_json, jwks_caches_.get());
    if (!host_policies.ok()) return host_policies.status();
    file_host_policies_ = std::make_shared<const policy::PolicyTables>(std::move(host_policies).value());
  }
  policy_context_.buckets = services_->rate_limits.get();
  policy_context_.proxies = &proxies_;
  // Its event notifications write into the same index (hooked before any
  // worker can put), and reach the node's queues.
  r2_events_ = bindings::R2Notifier::Attach(services_->r2, services_->queues, {});

  // A PoP node reaches public addresses only, plus what the operator allows.
  std::vector<bindings::outbound::Cidr> allowed;
  for (const std::string& text : options_.allow_fetch_to) {
    bindings::outbound::Cidr cidr;
    if (!bindings::outbound::Cidr::Parse(text, &cidr)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("allow_fetch_to: '{}' is not an address range (CIDR)", text));
    }
    allowed.push_back(cidr);
  }
  bindings::outbound::ClientOptions outbound;
  outbound.address_policy = bindings::outbound::AddressPolicy::DenyPrivate(std::move(allowed));
  outbound.max_connections_per_origin = options_.connections_per_origin;
  outbound.max_connections = FitToFileLimit(options_.outbound_connections);
  outbound.max_requests_per_tenant = options_.outbound_requests_per_account;
  outbound.decode_content_encoding = false;  // as in edge dev: see dev_server.cc
  services_->outbound = std::make_shared<bindings::outbound::Client>(outbound);

  EDGE_RETURN_IF_ERROR(MigrateToAccounts());
  EDGE_RETURN_IF_ERROR(LoadAccounts());

  start_phases_.stores = MsSince(opening);
  auto reading = std::chrono::steady_clock::now();
  // What was deployed before the node stopped.
  auto deployed = store_->LoadAll();
  if (!deployed.ok()) return deployed.status();
  auto state = std::make_shared<NodeState>();
  std::vector<Route> routes;
  for (const DeployedWorker& worker : *deployed) {
    auto served = BuildServed(worker);
    if (!served.ok()) {
      Log(LogLevel::kError, "[{}] version {} in the store cannot be served: {}", worker.name,
          worker.version, served.status().message());
      continue;
    }
    for (const std::string& pattern : worker.routes) routes.push_back({pattern, worker.name});
    state->workers.emplace(worker.name, std::move(served).value());
  }
  auto table = RouteTable::Build(std::move(routes));
  if (!table.ok()) return table.status();
  state->routes = std::move(table).value();
  state->generation = 1;
  state->host_policies = StartingHostPolicies();
  // Code caches of versions no longer deployed (replaced or deleted before
  // this start) go; the current ones are kept, so workers load from them.
  std::set<std::string> bundles;
  for (const auto& [name, served] : state->workers) bundles.insert(served->sha256);
  PruneCodeCaches(options_.data_dir, bundles);
  SetR2Rules(*state);
  state_.Publish(std::move(state));
  start_phases_.workers = MsSince(reading);
  return Status::Ok();
}

int Node::NextHomeThread() {
  if (threads_.empty()) return -1;
  return static_cast<int>(next_load_thread_++ % threads_.size());
}

StatusOr<std::shared_ptr<const ServedWorker>> Node::BuildServed(const DeployedWorker& deployed,
                                                                int home_thread) {
  auto bundle = DecodeBundle(deployed.bundle_json);
  if (!bundle.ok()) return bundle.status();
  std::string root = fmt::format("/workers/{}/v{}", deployed.name, deployed.version);
  auto spec = SpecFromBundle(*bundle, root);
  if (!spec.ok()) return spec.status();
  auto served = std::make_shared<ServedWorker>();
  served->name = deployed.name;
  served->version = deployed.version;
  served->instance = next_instance_++;
  served->home_thread = home_thread;
  served->limits = bundle->limits;
  served->routes = deployed.routes;
  served->account = deployed.account;
  served->spec = std::move(spec).value();
  served->spec.tenant = deployed.account;
  // A tenant's KV namespace ids and service names are its own: they are
  // scoped by its account, so another tenant naming the same id reaches
  // another namespace (and cannot call its workers).
  for (runtime::EnvBinding& binding : served->spec.bindings) {
    // A producer reaches the queue of that name in the worker's account,
    // which exists from the deploy on.
    // A rate limiter counts in its account's namespace.
    if (binding.kind == "ratelimit") {
      std::erase_if(binding.options, [](const auto& option) { return option.first == "account"; });
      binding.options.emplace_back("account", served->account);
    }
    if (binding.kind == "queue") {
      std::erase_if(binding.options, [](const auto& option) { return option.first == "account"; });
      binding.options.emplace_back("account", served->account);
      Status made = services_->queues->EnsureQueue(served->account, binding.Option("queue"));
      if (!made.ok()) Log(LogLevel::kError, "[{}] {}", served->name, made.message());
    }
    // A workflow's instances are its account's, and remember the version
    // that created them (they run to their end on it).
    if (binding.kind == "workflow") {
      std::erase_if(binding.options, [](const auto& option) {
        return option.first == "account" || option.first == "worker" || option.first == "version";
      });
      binding.options.emplace_back("account", served->account);
      binding.options.emplace_back("worker", served->name);
      binding.options.emplace_back("version", std::to_string(served->version));
    }
    for (auto& [key, value] : binding.options) {
      if ((binding.kind == "kv" && key == "namespace") ||
          (binding.kind == "service" && key == "service")) {
        value = ScopedName(served->account, value);
      }
    }
  }
  // Its route policies, with the API keys its secrets hold: a bad table is
  // a deploy error naming the field.
  std::vector<std::string> warnings;
  auto policies = policy::ParseWorkerPolicies(bundle->policies, served->account + "/" + served->name,
                                              deployed.secrets, &warnings, jwks_caches_.get());
  if (!policies.ok()) return policies.status();
  for (const std::string& warning : warnings) Log(LogLevel::kWarn, "[{}] {}", served->name, warning);
  if (!policies->empty()) {
    served->policies = std::make_shared<const policy::PolicyTables>(std::move(policies).value());
  }
  served->spec.files = BundleFiles(*bundle, root);
  served->sha256 = base::Sha256Hex(deployed.bundle_json);
  served->spec.code_cache = CodeCacheFor(options_.data_dir, served->sha256);
  served->spec.secrets = deployed.secrets;
  served->spec.services = services_;
  served->spec.startup_cpu_limit_ms = bundle->limits.startup_cpu_ms;
  served->spec.subrequest_limit = bundle->limits.subrequests;
  served->spec.websocket_limit = options_.websockets_per_account;
  // Console output outside any request (top-level code, timers after the
  // response) goes to the access log's stream, tagged with the worker.
  RequestLog* log = log_.get();
  std::string name = deployed.name;
  uint64_t version = deployed.version;
  served->spec.on_console = [log, name, version](std::string_view level, std::string_view message) {
    log->Console(name, version, "", level, message);
  };
  return std::shared_ptr<const ServedWorker>(std::move(served));
}

StatusOr<RouteTable> Node::RoutesWith(const std::string& name,
                                      const std::vector<std::string>& patterns,
                                      const NodeState* base) {
  std::shared_ptr<const NodeState> current = state_.Load();
  if (base == nullptr) base = current.get();
  std::vector<Route> routes;
  for (const Route& route : base->routes.routes()) {
    if (route.worker != name) routes.push_back(route);
  }
  for (const std::string& pattern : patterns) routes.push_back({pattern, name});
  return RouteTable::Build(std::move(routes));
}

void Node::SetR2Rules(const NodeState& state) {
  if (r2_events_ == nullptr) return;
  std::map<std::string, std::vector<bindings::R2NotificationRule>> rules;
  for (const auto& [name, served] : state.workers) {
    for (const runtime::R2EventNotificationSpec& spec : served->spec.r2_event_notifications) {
      auto rule = bindings::R2RuleFromSpec(spec);
      if (rule.ok()) rules[served->account].push_back(std::move(rule).value());
    }
  }
  r2_events_->SetConfigRules(std::move(rules));
}

StatusOr<std::shared_ptr<NodeState>> Node::StateWith(const std::string& name,
                                                     std::shared_ptr<const ServedWorker> worker) {
  std::shared_ptr<const NodeState> current = state_.Load();
  auto state = std::make_shared<NodeState>();
  state->workers = current->workers;
  state->host_policies = current->host_policies;
  if (worker) {
    state->workers[name] = worker;
  } else {
    state->workers.erase(name);
  }
  auto table = RoutesWith(name, worker ? worker->routes : std::vector<std::string>{});
  if (!table.ok()) return table.status();
  state->routes = std::move(table).value();
  state->generation = current->generation + 1;
  return state;
}

void Node::Switch(std::shared_ptr<NodeState> state, std::shared_ptr<const ServedWorker> worker,
                  std::function<void()> done) {
  std::vector<std::shared_ptr<const ServedWorker>> workers;
  if (worker) workers.push_back(std::move(worker));
  SwitchAll(std::move(state), std::move(workers), std::move(done));
}

void Node::SwitchAll(std::shared_ptr<NodeState> state,
                     std::vector<std::shared_ptr<const ServedWorker>> workers,
                     std::function<void()> done, bool loaded_at_home) {
  auto publish = [this, state, done = std::move(done)]() mutable {
    // A version's bucket notification rules hold from the moment it serves.
    SetR2Rules(*state);
    state_.Publish(state);
    for (auto& thread : threads_) {
      thread->Post([thread = thread.get(), state] { thread->pool().Retain(*state); });
    }
    done();
  };
  if (workers.empty() || threads_.empty()) {
    publish();
    return;
  }
  // The threads that may have to load before the switch: every one for a
  // worker that serves already (only the thread knows whether it holds an
  // isolate of it), else the home threads that have not loaded yet.
  std::shared_ptr<const NodeState> current = state_.Load();
  std::vector<NodeThread*> asked;
  std::vector<bool> ask(threads_.size(), false);
  for (const auto& worker : workers) {
    int home = worker->home_thread;
    if (current->Find(worker->name) != nullptr || home < 0 ||
        static_cast<size_t>(home) >= threads_.size()) {
      ask.assign(threads_.size(), true);
      break;
    }
    if (!loaded_at_home) ask[home] = true;
  }
  for (size_t i = 0; i < threads_.size(); ++i) {
    if (ask[i]) asked.push_back(threads_[i].get());
  }
  if (asked.empty()) {
    publish();
    return;
  }
  // Each asked thread loads the new isolates it must hold (the one that
  // already did finds them: Warm is a no-op there); the routes switch
  // once all have.
  auto remaining = std::make_shared<size_t>(asked.size());
  auto publish_once = std::make_shared<std::function<void()>>(std::move(publish));
  auto shared_workers =
      std::make_shared<const std::vector<std::shared_ptr<const ServedWorker>>>(std::move(workers));
  for (NodeThread* thread : asked) {
    thread->Post([this, thread, shared_workers, remaining, publish_once] {
      for (const auto& worker : *shared_workers) {
        if (worker->home_thread >= 0 && worker->home_thread != thread->index() &&
            !thread->pool().HoldsAny(worker->name)) {
          // Not its home, and its requests here went elsewhere: they are
          // handed to the home thread until they are many.
          continue;
        }
        Status warmed = thread->pool().Warm(worker);
        if (!warmed.ok()) {
          Log(LogLevel::kWarn, "[{}] thread {} could not warm version {}: {}", worker->name,
              thread->index(), worker->version, warmed.message());
        }
      }
      control_tasks_->Post([remaining, publish_once] {
        if (--*remaining == 0) (*publish_once)();
      });
    });
  }
}

void Node::Enqueue(Change change) {
  changes_.push_back(std::move(change));
  if (!changing_) RunNextChange();
}

bool Node::RefuseAdmin(const Done& done) {
  for (const auto& extension : extensions_) {
    if (std::optional<std::string> refusal = extension->RefuseChanges()) {
      done(AdminResult::Error(409, *refusal));
      return true;
    }
  }
  return false;
}

Status Node::Notify(NodeChange& change) {
  for (const auto& extension : extensions_) {
    Status told = extension->OnChange(change);
    if (!told.ok()) {
      Log(LogLevel::kError, "change to '{}' committed but not recorded for the fleet: {}",
          change.worker.empty() ? change.ns + "/" + change.key : change.worker, told.message());
      return told;
    }
  }
  return Status::Ok();
}

void Node::PostToControl(std::function<void()> task) { control_tasks_->Post(std::move(task)); }

void Node::ReloadWorker(std::string name) {
  PostToControl([this, name = std::move(name)] {
    // Entries for one worker come in runs (catching up): one reload serves
    // all that are queued.
    if (!reloads_pending_.insert(name).second) return;
    Enqueue([this, name](std::function<void()> finished) {
      reloads_pending_.erase(name);
      auto deployed = store_->LoadWorker(name);
      if (deployed.ok() && !*deployed) {
        // Gone from the store: gone from the routes.
        auto state = StateWith(name, nullptr);
        if (!state.ok()) {
          Log(LogLevel::kError, "[{}] cannot drop the deleted worker: {}", name,
              state.status().message());
          return finished();
        }
        return Switch(std::move(state).value(), nullptr, finished);
      }
      Reapply(name, [name, finished](Status status) {
        if (!status.ok()) {
          Log(LogLevel::kError, "[{}] cannot serve what the store now holds: {}", name,
              status.message());
        }
        finished();
      });
    });
  });
}

void Node::ReloadAll() {
  PostToControl([this] {
    std::set<std::string> names;
    for (const auto& [name, served] : state_.Load()->workers) names.insert(name);
    auto stored = store_->WorkerNames();
    if (stored.ok()) names.insert(stored->begin(), stored->end());
    for (const std::string& name : names) ReloadWorker(name);
  });
}

void Node::RunNextChange() {
  if (changes_.empty() || stopping_) {
    changing_ = false;
    return;
  }
  changing_ = true;
  Change change = std::move(changes_.front());
  changes_.pop_front();
  // The next change starts from the loop, not from inside this one's stack.
  change([this] { control_tasks_->Post([this] { RunNextChange(); }); });
}

struct Node::PendingDeploy {
  std::string name;
  std::string account;      // the caller's ("" = the operator)
  std::string bundle_json;  // as uploaded
  Done done;
  std::chrono::steady_clock::time_point started;
  // Set by PlanDeploy.
  std::optional<WorkerBundle> bundle;
  std::string canonical;     // EncodeBundle's bytes: what is stored
  DeployedWorker candidate;  // what it stores and serves; version: the id it gets
  // Built from `candidate` and loaded (LoadDeploy).
  std::shared_ptr<const ServedWorker> served;
  NodeThread* loaded_on = nullptr;  // null: loaded on the control loop
  double load_ms = 0;
  int plans = 0;  // planned again when the worker changed while it loaded
  // When each step began or ended, for the debug line that says where a
  // deploy's time went (its last plan and load).
  std::chrono::steady_clock::time_point planned, load_start, load_end, loaded_seen, commit_start,
      replanned, written, notified;
  double plan_ms = 0, replan_ms = 0;
};

void Node::Deploy(std::string name, std::string bundle_json, std::string account, Done done) {
  if (RefuseAdmin(done)) return;
  auto deploy = std::make_shared<PendingDeploy>();
  deploy->name = std::move(name);
  deploy->account = std::move(account);
  deploy->bundle_json = std::move(bundle_json);
  deploy->done = std::move(done);
  deploy->started = std::chrono::steady_clock::now();
  deploys_waiting_.push_back(std::move(deploy));
  StartDeploys();
}

std::optional<Node::DeployRefusal> Node::PlanDeploy(PendingDeploy& deploy) {
  const std::string& name = deploy.name;
  if (!deploy.bundle) {
    auto bundle = DecodeBundle(deploy.bundle_json);
    if (!bundle.ok()) return DeployRefusal{400, bundle.status().message()};
    if (bundle->name != name) {
      return DeployRefusal{400, fmt::format("the bundle is named '{}' but was uploaded to /workers/{}",
                                            bundle->name, name)};
    }
    if (!bundle->account.empty()) {
      // Older bundles carry one; the owner is the deployer's account.
      Log(LogLevel::kWarn, "deploy of '{}': the bundle's account \"{}\" is ignored (a worker "
          "belongs to the account of the token that deploys it)", name, bundle->account);
    }
    deploy.canonical = EncodeBundle(*bundle);
    deploy.bundle = std::move(bundle).value();
    deploy.bundle_json.clear();
  }
  const WorkerBundle& bundle = *deploy.bundle;
  auto owner = OwnerOf(name);
  if (!owner.ok()) return DeployRefusal{500, owner.status().message()};
  if (*owner && !deploy.account.empty() && **owner != deploy.account) {
    return DeployRefusal{409, fmt::format("the worker name '{}' belongs to another account", name)};
  }
  std::string target =
      *owner ? **owner : (deploy.account.empty() ? std::string(kDefaultAccount) : deploy.account);
  if (target != kDefaultAccount && accounts_->Find(target) == nullptr) {
    return DeployRefusal{404, fmt::format("no account named '{}'", target)};
  }
  auto existing = store_->LoadWorker(name);
  if (!existing.ok()) return DeployRefusal{500, existing.status().message()};
  std::vector<std::string> routes =
      bundle.routes ? *bundle.routes
                    : (*existing ? (*existing)->routes : std::vector<std::string>{});
  if (auto refused = RefuseRoutes(target, routes)) {
    return DeployRefusal{refused->status, refused->body};
  }
  // Checked against the published routes without building a table: the
  // commit builds the one it publishes.
  Status free = state_.Load()->routes.CheckClaims(name, routes);
  if (!free.ok()) return DeployRefusal{409, free.message()};
  // Its secrets as stored, also those put before its first version.
  auto secrets = store_->Secrets(name);
  if (!secrets.ok()) return DeployRefusal{500, secrets.status().message()};
  for (const runtime::WorkerVar& secret : *secrets) {
    Status free = CheckSecretName(bundle, secret.name);
    if (!free.ok()) return DeployRefusal{400, free.message()};
  }
  auto version = store_->NextVersionId(name);
  if (!version.ok()) return DeployRefusal{HttpStatusOf(version.status()), version.status().message()};
  // A bucket notification's queue is the account's: one the worker names
  // (made with it), or one that exists already.
  for (const runtime::R2EventNotificationSpec& spec : bundle.r2_event_notifications) {
    bool named = std::any_of(bundle.queue_producers.begin(), bundle.queue_producers.end(),
                             [&](const auto& producer) { return producer.second == spec.queue; }) ||
                 std::any_of(bundle.queue_consumers.begin(), bundle.queue_consumers.end(),
                             [&](const runtime::QueueConsumerSpec& consumer) {
                               return consumer.queue == spec.queue || consumer.dead_letter_queue == spec.queue;
                             });
    Status exists = named ? services_->queues->EnsureQueue(target, spec.queue)
                          : services_->queues->Info(target, spec.queue).status();
    if (!exists.ok()) {
      return DeployRefusal{exists.code() == ErrorCode::kNotFound ? 400 : 500,
                           fmt::format("r2_event_notifications: queue \"{}\": {}", spec.queue,
                                       exists.message())};
    }
  }
  DeployedWorker& candidate = deploy.candidate;
  candidate.name = name;
  candidate.version = *version;
  candidate.bundle_json = deploy.canonical;
  candidate.routes = std::move(routes);
  candidate.account = std::move(target);
  candidate.secrets = std::move(secrets).value();
  return std::nullopt;
}

void Node::StartDeploys() {
  // In the order asked, skipping (for now) those whose worker has a deploy
  // in flight.
  for (auto it = deploys_waiting_.begin();
       it != deploys_waiting_.end() && deploys_in_flight_.size() < kMaxDeploysInFlight &&
       !stopping_;) {
    if (deploys_in_flight_.contains((*it)->name)) {
      ++it;
      continue;
    }
    std::shared_ptr<PendingDeploy> deploy = std::move(*it);
    it = deploys_waiting_.erase(it);
    deploys_in_flight_.insert(deploy->name);
    auto plan_start = std::chrono::steady_clock::now();
    if (std::optional<DeployRefusal> refused = PlanDeploy(*deploy)) {
      RefuseDeploy(deploy, *refused);
      continue;
    }
    deploy->planned = std::chrono::steady_clock::now();
    deploy->plan_ms = MsSince(plan_start);
    LoadDeploy(deploy);
  }
}

void Node::LoadDeploy(const std::shared_ptr<PendingDeploy>& deploy) {
  ++deploy->plans;
  int home = NextHomeThread();
  auto served = BuildServed(deploy->candidate, home);
  if (!served.ok()) return RefuseDeploy(deploy, {400, served.status().message()});
  deploy->served = std::move(served).value();
  // Compile, instantiate and run the top-level code once, with the
  // worker's own limits: a worker that does not load is refused and
  // nothing changes. On a serving thread, that load is the thread's warm
  // isolate for the version; the other threads load it from the code
  // cache it left, into spare isolates when they have them.
  if (threads_.empty()) {
    // Posted, so the deploys asked together load before the first commits.
    control_tasks_->Post([this, deploy] {
      auto started = std::chrono::steady_clock::now();
      Status loaded;
      {
        auto worker = runtime::Worker::Load(&loop_, natives_, deploy->served->spec);
        if (!worker.ok()) loaded = worker.status();
      }
      deploy->load_ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - started)
                            .count();
      DeployLoaded(deploy, loaded);
      StartDeploys();
    });
    return;
  }
  NodeThread* thread = threads_[home].get();
  deploy->loaded_on = thread;
  thread->Post([this, thread, deploy] {
    auto started = std::chrono::steady_clock::now();
    Status loaded = thread->pool().Warm(deploy->served, /*log_failure=*/false, /*use_spare=*/false);
    auto ended = std::chrono::steady_clock::now();
    double load_ms = std::chrono::duration<double, std::milli>(ended - started).count();
    control_tasks_->Post([this, deploy, loaded, load_ms, started, ended] {
      deploy->load_start = started;
      deploy->load_end = ended;
      deploy->loaded_seen = std::chrono::steady_clock::now();
      deploy->load_ms = load_ms;
      DeployLoaded(deploy, loaded);
      StartDeploys();
    });
  });
}

void Node::DeployLoaded(const std::shared_ptr<PendingDeploy>& deploy, const Status& loaded) {
  if (stopping_) return;
  if (!loaded.ok()) {
    if (loaded.limit() == LimitKind::kStartupCpu) metrics_.AddLimitKill("startup");
    return RefuseDeploy(deploy, {400, fmt::format("the worker does not load: {}", loaded.message())});
  }
  deploys_loaded_.push_back(deploy);
  // The first commit change takes every deploy loaded by then; the others
  // find none left.
  Enqueue([this](std::function<void()> finished) { CommitDeploys(std::move(finished)); });
}

void Node::RefuseDeploy(const std::shared_ptr<PendingDeploy>& deploy, const DeployRefusal& refusal) {
  Log(LogLevel::kWarn, "deploy of '{}' refused: {}", deploy->name, refusal.message);
  if (deploy->loaded_on != nullptr && deploy->served) {
    deploy->loaded_on->Post([thread = deploy->loaded_on, name = deploy->name,
                             instance = deploy->served->instance] {
      thread->pool().DiscardWarm(name, instance);
    });
  }
  EndDeploy(deploy, AdminResult::Error(refusal.status, refusal.message));
}

void Node::EndDeploy(const std::shared_ptr<PendingDeploy>& deploy, AdminResult result) {
  deploys_in_flight_.erase(deploy->name);
  Done done = std::move(deploy->done);
  if (done) done(std::move(result));
}

void Node::CommitDeploys(std::function<void()> finished_change) {
  // Whatever this group's end, deploys waiting for one of its workers may
  // start then.
  auto finished = [this, finished_change = std::move(finished_change)] {
    finished_change();
    StartDeploys();
  };
  std::vector<std::shared_ptr<PendingDeploy>> loaded = std::move(deploys_loaded_);
  deploys_loaded_.clear();
  // The routes are built once per deploy of the group, each from the
  // routes before it (the published ones for the first).
  std::shared_ptr<const NodeState> published = state_.Load();
  auto state = CopyOf(*published, /*with_routes=*/false);
  const NodeState* routes_before = published.get();
  // Checked again: another change may have committed since each was
  // planned (a secret, a rollback, a route another worker took, one of
  // this group). A worker that changed in what its isolate was loaded
  // with (version id, secrets, owner) is loaded again.
  std::vector<std::shared_ptr<PendingDeploy>> group;
  for (const std::shared_ptr<PendingDeploy>& deploy : loaded) {
    DeployedWorker planned = deploy->candidate;
    deploy->commit_start = std::chrono::steady_clock::now();
    if (std::optional<DeployRefusal> refused = PlanDeploy(*deploy)) {
      RefuseDeploy(deploy, *refused);
      continue;
    }
    deploy->replanned = std::chrono::steady_clock::now();
    deploy->replan_ms = MsSince(deploy->commit_start);
    const DeployedWorker& now = deploy->candidate;
    bool same_secrets = std::equal(
        now.secrets.begin(), now.secrets.end(), planned.secrets.begin(), planned.secrets.end(),
        [](const runtime::WorkerVar& a, const runtime::WorkerVar& b) {
          return a.name == b.name && a.value == b.value && a.is_json == b.is_json;
        });
    if (now.version != planned.version || now.account != planned.account || !same_secrets) {
      if (deploy->plans >= 4) {
        RefuseDeploy(deploy, {409, fmt::format("worker '{}' kept changing while it was being "
                                               "deployed: deploy it again", deploy->name)});
        continue;
      }
      if (deploy->loaded_on != nullptr) {
        deploy->loaded_on->Post([thread = deploy->loaded_on, name = deploy->name,
                                 instance = deploy->served->instance] {
          thread->pool().DiscardWarm(name, instance);
        });
      }
      LoadDeploy(deploy);
      continue;
    }
    auto table = RoutesWith(deploy->name, now.routes, routes_before);
    if (!table.ok()) {
      RefuseDeploy(deploy, {409, table.status().message()});
      continue;
    }
    if (deploy->served->routes != now.routes) {
      // A route change of its own since the load: same isolate, new routes.
      auto updated = std::make_shared<ServedWorker>(*deploy->served);
      updated->routes = now.routes;
      deploy->served = std::move(updated);
    }
    state->workers[deploy->name] = deploy->served;
    state->routes = std::move(table).value();
    routes_before = state.get();
    group.push_back(deploy);
  }
  if (group.empty()) return finished();

  // One store write, so one fsync, for the whole group; a deploy is
  // answered only after it.
  if (group.size() > 1) Log(LogLevel::kDebug, "storing {} deploys in one write", group.size());
  Status written = store_->Write([&](DeployStore::Writer& writer) -> Status {
    for (const std::shared_ptr<PendingDeploy>& deploy : group) {
      EDGE_RETURN_IF_ERROR(writer.PutVersion(deploy->name, deploy->candidate.version,
                                             deploy->canonical, deploy->bundle->routes,
                                             /*make_current=*/true));
      EDGE_RETURN_IF_ERROR(writer.SetOwner(deploy->name, deploy->candidate.account));
    }
    return Status::Ok();
  });
  if (!written.ok()) {
    for (const std::shared_ptr<PendingDeploy>& deploy : group) {
      RefuseDeploy(deploy, {500, written.message()});
    }
    return finished();
  }
  for (const std::shared_ptr<PendingDeploy>& deploy : group) {
    deploy->written = std::chrono::steady_clock::now();
  }
  std::vector<std::shared_ptr<PendingDeploy>> live;
  std::vector<std::shared_ptr<const ServedWorker>> workers;
  for (const std::shared_ptr<PendingDeploy>& deploy : group) {
    NodeChange change;
    change.kind = NodeChange::Kind::kVersion;
    change.worker = deploy->name;
    change.version = deploy->candidate.version;
    change.bundle_json = deploy->canonical;
    change.routes = deploy->bundle->routes;
    change.account = deploy->candidate.account;
    Status logged = Notify(change);
    if (!logged.ok()) {
      // Stored, but not recorded for the fleet: not served until a restart.
      RefuseDeploy(deploy, {500, logged.message()});
      continue;
    }
    live.push_back(deploy);
    workers.push_back(deploy->served);
  }
  if (live.size() != group.size()) {
    // The state again, from the published one and the deploys that count.
    state = CopyOf(*state_.Load());
    for (const std::shared_ptr<PendingDeploy>& deploy : live) {
      auto table = RoutesWith(deploy->name, deploy->served->routes, state.get());
      if (!table.ok()) continue;
      state->workers[deploy->name] = deploy->served;
      state->routes = std::move(table).value();
    }
  }
  if (live.empty()) return finished();
  for (const std::shared_ptr<PendingDeploy>& deploy : live) {
    deploy->notified = std::chrono::steady_clock::now();
  }
  state->generation = state_.Load()->generation + 1;
  SwitchAll(
      std::move(state), std::move(workers),
      [this, live = std::move(live), finished = std::move(finished)] {
              for (const std::shared_ptr<PendingDeploy>& deploy : live) {
                double total_ms = std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - deploy->started)
                                      .count();
                const ServedWorker& served = *deploy->served;
                LogDeployPhases(*deploy, live.size());
                Log(LogLevel::kInfo, "[{}] version {} is live ({} modules, {:.1f} ms to switch)",
                    served.name, served.version, deploy->bundle->modules.size(), total_ms);
                EndDeploy(deploy, {200, fmt::format("{{\"name\":{},\"version\":{},\"sha256\":{},"
                                                    "\"routes\":{},\"load_ms\":{:.3f},"
                                                    "\"switch_ms\":{:.3f}}}",
                                                    base::JsonString(served.name), served.version,
                                                    base::JsonString(served.sha256),
                                                    base::JsonStringArray(served.routes),
                                                    deploy->load_ms, total_ms)});
              }
              finished();
      },
      /*loaded_at_home=*/true);
}

void Node::LogDeployPhases(const PendingDeploy& deploy, size_t group) {
  using Ms = std::chrono::duration<double, std::milli>;
  auto now = std::chrono::steady_clock::now();
  Log(LogLevel::kDebug,
      "[{}] deploy took {:.2f} ms: checks {:.2f}, waiting for its thread {:.2f}, load {:.2f}, "
      "back to the control loop {:.2f}, waiting for its commit {:.2f}, checks again {:.2f}, "
      "store write {:.2f}, extensions {:.2f}, switch {:.2f} ({} deploy(s) stored together)",
      deploy.name, Ms(now - deploy.started).count(), deploy.plan_ms,
      Ms(deploy.load_start - deploy.planned).count(), Ms(deploy.load_end - deploy.load_start).count(),
      Ms(deploy.loaded_seen - deploy.load_end).count(),
      Ms(deploy.commit_start - deploy.loaded_seen).count(), deploy.replan_ms,
      Ms(deploy.written - deploy.replanned).count(), Ms(deploy.notified - deploy.written).count(),
      Ms(now - deploy.notified).count(), group);
}

void Node::Reapply(const std::string& name, std::function<void(Status)> done) {
  auto deployed = store_->LoadWorker(name);
  if (!deployed.ok()) return done(deployed.status());
  if (!*deployed) {
    // Secrets of a worker with no version yet: nothing to serve.
    return done(Status::Ok());
  }
  auto served = BuildServed(**deployed, NextHomeThread());
  if (!served.ok()) return done(served.status());
  auto state = StateWith(name, *served);
  if (!state.ok()) return done(state.status());
  Switch(std::move(state).value(), std::move(served).value(), [done] { done(Status::Ok()); });
}

Status Node::Commit(const std::function<Status(DeployStore::Writer&)>& write, NodeChange& change) {
  Status written = store_->Write(write);
  if (written.ok()) written = Notify(change);
  return written;
}

void Node::CommitAndReapply(const std::function<Status(DeployStore::Writer&)>& write,
                            NodeChange change, const Done& done, std::function<void()> finished,
                            std::function<AdminResult()> success) {
  Status written = Commit(write, change);
  if (!written.ok()) {
    done(AdminResult::Error(HttpStatusOf(written), written.message()));
    return finished();
  }
  Reapply(change.worker, [done, finished = std::move(finished),
                          success = std::move(success)](Status status) {
    done(status.ok() ? success() : AdminResult::Error(500, status.message()));
    finished();
  });
}

void Node::EnqueueCommitAndReapply(std::function<Status(DeployStore::Writer&)> write,
                                   NodeChange change, std::string account, Done done,
                                   std::function<AdminResult()> success) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, write = std::move(write), change = std::move(change), account = std::move(account),
           done = std::move(done), success = std::move(success)](std::function<void()> finished) {
    if (auto refused = RefuseWorker(change.worker, account)) {
      done(*refused);
      return finished();
    }
    CommitAndReapply(write, change, done, std::move(finished), success);
  });
}

void Node::Rollback(std::string name, uint64_t version, std::string account, Done done) {
  NodeChange change;
  change.kind = NodeChange::Kind::kRollback;
  change.worker = name;
  change.version = version;
  EnqueueCommitAndReapply(
      [name, version](DeployStore::Writer& writer) { return writer.Rollback(name, version); },
      std::move(change), std::move(account), std::move(done),
      [name, version] {
        Log(LogLevel::kInfo, "[{}] rolled back to version {}", name, version);
        return AdminResult{
            200, fmt::format("{{\"name\":{},\"version\":{}}}", base::JsonString(name), version)};
      });
}

void Node::DeleteWorker(std::string name, std::string account, Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, name = std::move(name), account = std::move(account),
           done = std::move(done)](std::function<void()> finished) {
    if (auto refused = RefuseWorker(name, account)) {
      done(*refused);
      return finished();
    }
    NodeChange change;
    change.kind = NodeChange::Kind::kDeleteWorker;
    change.worker = name;
    Status written =
        Commit([&](DeployStore::Writer& writer) { return writer.DeleteWorker(name); }, change);
    if (!written.ok()) {
      done(AdminResult::Error(HttpStatusOf(written), written.message()));
      return finished();
    }
    auto state = StateWith(name, nullptr);
    if (!state.ok()) {
      done(AdminResult::Error(500, state.status().message()));
      return finished();
    }
    Switch(std::move(state).value(), nullptr, [name, done, finished] {
      Log(LogLevel::kInfo, "[{}] deleted", name);
      done({200, fmt::format("{{\"deleted\":{}}}", base::JsonString(name))});
      finished();
    });
  });
}

void Node::SetRoutes(std::string name, std::vector<std::string> routes, std::string account,
                     Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, name = std::move(name), routes = std::move(routes), account = std::move(account),
           done = std::move(done)](std::function<void()> finished) {
    std::shared_ptr<const NodeState> current = state_.Load();
    const std::shared_ptr<const ServedWorker>* served = current->Find(name);
    if (served == nullptr || (!account.empty() && (*served)->account != account)) {
      done(AdminResult::Error(404, fmt::format("no worker named '{}' is deployed", name)));
      return finished();
    }
    if (auto refused = RefuseRoutes((*served)->account, routes)) {
      done(*refused);
      return finished();
    }
    auto table = RoutesWith(name, routes);
    if (!table.ok()) {
      done(AdminResult::Error(409, table.status().message()));
      return finished();
    }
    NodeChange change;
    change.kind = NodeChange::Kind::kRoutes;
    change.worker = name;
    change.routes = routes;
    Status written =
        Commit([&](DeployStore::Writer& writer) { return writer.SetRoutes(name, routes); }, change);
    if (!written.ok()) {
      done(AdminResult::Error(HttpStatusOf(written), written.message()));
      return finished();
    }
    // Same isolate, new routes: nothing to warm.
    auto updated = std::make_shared<ServedWorker>(**served);
    updated->routes = routes;
    auto state = StateWith(name, updated);
    if (!state.ok()) {
      done(AdminResult::Error(409, state.status().message()));
      return finished();
    }
    Switch(std::move(state).value(), nullptr, [name, routes, done, finished] {
      done({200, fmt::format("{{\"name\":{},\"routes\":{}}}", base::JsonString(name),
                             base::JsonStringArray(routes))});
      finished();
    });
  });
}

void Node::PutSecret(std::string name, std::string secret, std::string value,
                     std::string account, Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, name = std::move(name), secret = std::move(secret), value = std::move(value),
           account = std::move(account), done = std::move(done)](std::function<void()> finished) {
    auto owner = OwnerOf(name);
    if (!owner.ok()) {
      done(AdminResult::Error(500, owner.status().message()));
      return finished();
    }
    if (*owner && !account.empty() && **owner != account) {
      done(AdminResult::Error(
          409, fmt::format("the worker name '{}' belongs to another account", name)));
      return finished();
    }
    std::string target =
        *owner ? **owner : (account.empty() ? std::string(kDefaultAccount) : account);
    Status valid = CheckBindingName(secret);
    std::shared_ptr<const NodeState> current = state_.Load();
    if (valid.ok()) {
      auto deployed = store_->LoadWorker(name);
      if (deployed.ok() && *deployed) {
        auto bundle = DecodeBundle((*deployed)->bundle_json);
        if (bundle.ok()) valid = CheckSecretName(*bundle, secret);
      }
    }
    if (!valid.ok()) {
      done(AdminResult::Error(400, valid.message()));
      return finished();
    }
    NodeChange change;
    change.kind = NodeChange::Kind::kSecretPut;
    change.worker = name;
    change.secret_name = secret;
    change.secret_value = value;
    CommitAndReapply(
        [&](DeployStore::Writer& writer) -> Status {
          EDGE_RETURN_IF_ERROR(writer.PutSecret(name, secret, value));
          return writer.SetOwner(name, target);
        },
        std::move(change), done, std::move(finished), [name, secret] {
          Log(LogLevel::kInfo, "[{}] secret {} set", name, secret);
          return AdminResult{200, fmt::format("{{\"worker\":{},\"secret\":{}}}",
                                              base::JsonString(name), base::JsonString(secret))};
        });
  });
}

void Node::DeleteSecret(std::string name, std::string secret, std::string account, Done done) {
  NodeChange change;
  change.kind = NodeChange::Kind::kSecretDelete;
  change.worker = name;
  change.secret_name = secret;
  EnqueueCommitAndReapply(
      [name, secret](DeployStore::Writer& writer) { return writer.DeleteSecret(name, secret); },
      std::move(change), std::move(account), std::move(done),
      [name, secret] {
        Log(LogLevel::kInfo, "[{}] secret {} deleted", name, secret);
        return AdminResult{200, fmt::format("{{\"worker\":{},\"deleted\":{}}}",
                                            base::JsonString(name), base::JsonString(secret))};
      });
}

void Node::KvPut(std::string ns, std::string key, std::string value, std::string metadata,
                 uint64_t expiration, Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, ns = std::move(ns), key = std::move(key), value = std::move(value),
                      metadata = std::move(metadata), expiration,
                      done](std::function<void()> finished) {
    Status written = services_->kv->Put(ns, key, value, metadata, expiration);
    NodeChange change;
    if (written.ok()) {
      change.kind = NodeChange::Kind::kKvPut;
      change.ns = ns;
      change.key = key;
      change.value = value;
      change.metadata = metadata;
      change.expiration = expiration;
      written = Notify(change);
    }
    if (!written.ok()) {
      done(AdminResult::Error(written.code() == ErrorCode::kInternal ? 500 : 400,
                              written.message()));
    } else {
      done({200, fmt::format("{{\"namespace\":{},\"key\":{},\"seq\":{}}}", base::JsonString(ns),
                             base::JsonString(key), change.log_seq)});
    }
    finished();
  });
}

void Node::KvDelete(std::string ns, std::string key, Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, ns = std::move(ns), key = std::move(key),
                      done](std::function<void()> finished) {
    Status written = services_->kv->Delete(ns, key);
    NodeChange change;
    if (written.ok()) {
      change.kind = NodeChange::Kind::kKvDelete;
      change.ns = ns;
      change.key = key;
      written = Notify(change);
    }
    if (!written.ok()) {
      done(AdminResult::Error(400, written.message()));
    } else {
      done({200, fmt::format("{{\"namespace\":{},\"deleted\":{},\"seq\":{}}}", base::JsonString(ns),
                             base::JsonString(key), change.log_seq)});
    }
    finished();
  });
}

Status Node::Dispatch(const std::string& service, runtime::FetchRequest request,
                      std::shared_ptr<runtime::ResponseSink> sink) {
  NodeThread* thread = NodeThread::Current();
  if (thread == nullptr) {
    return Status(ErrorCode::kInternal, "service bindings run on serving threads only");
  }
  return thread->Dispatch(service, std::move(request), std::move(sink));
}

namespace {
uint64_t SteadyMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

void Node::Quarantine(const std::string& worker) {
  if (!quarantine_) return;
  if (lanes_.Quarantine(worker, SteadyMs())) {
    Log(LogLevel::kWarn, "[{}] hit its CPU or memory limit: it runs on the quarantine thread for "
        "the next {} s", worker, WorkerLanes::kQuarantineMs / 1000);
  }
}

bool Node::Quarantined(const std::string& worker) {
  return LaneOf(worker) == WorkerLanes::Lane::kQuarantine;
}

void Node::MarkHeavy(const std::string& worker) {
  if (heavy_lanes_.empty()) return;
  if (lanes_.MarkHeavy(worker, SteadyMs())) {
    Log(LogLevel::kWarn,
        "[{}] used more than {} us of CPU at a stretch in {} of its last 8 requests or "
        "background tasks: its requests run on the heavy lanes, beside the serving threads, for "
        "at least {} s",
        worker, options_.heavy_cpu_us, HeavyDetector::kSlowOfLast8, WorkerLanes::kHeavyMs / 1000);
  }
}

WorkerLanes::Lane Node::LaneOf(const std::string& worker) {
  return lanes_.LaneOf(worker, SteadyMs());
}

void Node::UpdateGauges() {
  for (const auto& thread : threads_) {
    metrics_.SetIsolates(thread->index(), thread->isolates_alive(),
                         thread->isolate_memory_bytes());
  }
  if (quarantine_) {
    metrics_.SetIsolates(quarantine_->index(), quarantine_->isolates_alive(),
                         quarantine_->isolate_memory_bytes());
  }
  for (const auto& lane : heavy_lanes_) {
    metrics_.SetIsolates(lane->index(), lane->isolates_alive(), lane->isolate_memory_bytes());
  }
  if (start_loads_) {
    StartLoads::Progress progress = start_loads_->progress();
    metrics_.SetGauge("edge_start_workers_pending",
                      "Stored workers the node has not loaded yet since it started (0: every "
                      "one is warm, failed, or did not fit in the memory budget)",
                      static_cast<double>(progress.pending));
    metrics_.SetGauge("edge_start_workers_unfit",
                      "Stored workers left at start for their first request: the memory budget "
                      "was full",
                      static_cast<double>(progress.unfit));
  }
  metrics_.SetGauge("edge_quarantined_workers",
                    "Workers running on the quarantine thread after hitting a limit",
                    static_cast<double>(lanes_.quarantined()));
  metrics_.SetGauge("edge_heavy_workers",
                    "Workers running on the heavy lanes: they hold a thread for long stretches",
                    static_cast<double>(lanes_.heavy()));
  // Queues: depth and oldest age from the store, counters from the engine.
  if (services_ != nullptr && services_->queues != nullptr) {
    auto all = services_->queues->AllQueues();
    if (all.ok()) {
      std::vector<NodeMetrics::QueueSample> samples;
      int64_t now = static_cast<int64_t>(UnixMs());
      bindings::QueueEngine* engine = queue_engine();
      for (const auto& [account, info] : *all) {
        NodeMetrics::QueueSample sample;
        sample.account = account;
        sample.queue = info.name;
        sample.depth = info.depth;
        sample.oldest_age_seconds =
            info.depth == 0 ? 0 : std::max<int64_t>(0, now - info.oldest_ms) / 1000.0;
        if (engine != nullptr) {
          auto counted = engine->counters().find({account, info.name});
          if (counted != engine->counters().end()) {
            sample.deliveries = counted->second.deliveries;
            sample.retries = counted->second.retries;
            sample.dead_lettered = counted->second.dead_lettered;
            sample.dropped = counted->second.dropped;
          }
        }
        samples.push_back(std::move(sample));
      }
      metrics_.SetQueues(std::move(samples));
    }
  }
  // Workflows: instances by status from the store, counters from the engine.
  if (services_ != nullptr && services_->workflows != nullptr && triggers_ != nullptr) {
    std::vector<NodeMetrics::WorkflowSample> samples;
    bindings::WorkflowEngine* engine = triggers_->workflow_engine();
    std::set<std::string> accounts;
    for (const bindings::WorkflowDefinition& definition : engine->definitions()) accounts.insert(definition.account);
    for (const auto& [key, counted] : engine->counters()) accounts.insert(key.first);
    for (const std::string& account : accounts) {
      auto summaries = services_->workflows->Workflows(account);
      if (!summaries.ok()) continue;
      for (const bindings::WorkflowSummary& summary : *summaries) {
        NodeMetrics::WorkflowSample sample;
        sample.account = account;
        sample.workflow = summary.name;
        for (int i = 0; i <= static_cast<int>(bindings::WorkflowStatus::kUnknown); ++i) {
          if (summary.by_status[i] == 0) continue;
          sample.instances.emplace_back(
              std::string(bindings::WorkflowStatusName(static_cast<bindings::WorkflowStatus>(i))),
              summary.by_status[i]);
        }
        auto counted = engine->counters().find({account, summary.name});
        if (counted != engine->counters().end()) {
          sample.runs = counted->second.runs;
          sample.failed_runs = counted->second.failed_runs;
          sample.steps_completed = counted->second.steps_completed;
          sample.step_retries = counted->second.step_retries;
        }
        samples.push_back(std::move(sample));
      }
    }
    metrics_.SetWorkflows(std::move(samples));
  }
  for (const auto& extension : extensions_) extension->UpdateMetrics(metrics_);
}

namespace {
// `status` with `what` in front of its message.
Status Context(std::string_view what, const Status& status) {
  return Status(status.code(), fmt::format("{}: {}", what, status.message()));
}
}  // namespace

int Node::Run() {
  started_unix_ms_ = UnixMs();
  control_tasks_ = std::make_unique<LoopTasks>(&loop_);
  Status started = Start();
  if (!started.ok()) {
    Log(LogLevel::kError, "{}", started.message());
    Stop();
    return 1;
  }
  WatchSignals();
  uv_run(&loop_, UV_RUN_DEFAULT);
  JoinThreads();
  return 0;
}

Status Node::Start() {
  auto starting = std::chrono::steady_clock::now();
  Status opened = Open();
  if (!opened.ok()) return Context("cannot start the node", opened);
  auto token = ReadAdminToken(options_.admin_token_file);
  if (!token.ok()) return token.status();
  int threads = ServingThreadCount();
  size_t budget =
      threads == 0 ? 0 : (options_.memory_budget_mb << 20) / static_cast<size_t>(threads);
  // The heavy lanes first: each serving thread knows its lane before it
  // takes a request. Numbered after the serving threads and the quarantine
  // thread.
  if (threads > 0) EDGE_RETURN_IF_ERROR(StartHeavyLanes(threads + 1, threads, budget));
  // What the store holds loads in the background, each worker once, on the
  // serving thread that claims it (start_loads.h); the node answers
  // meanwhile.
  if (threads > 0) {
    start_phases_.loads_made = MsSince(starting);
    start_loads_ = std::make_shared<StartLoads>(StartOrder(), threads);
    start_loads_->SetOnFinished([this] { PostToControl([this] { OnStartLoadsFinished(); }); });
  }
  auto threading = std::chrono::steady_clock::now();
  EDGE_RETURN_IF_ERROR(StartServingThreads(threads, budget));
  start_phases_.threads = MsSince(threading);
  std::string sync_token;
  if (!options_.sync_token_file.empty()) {
    auto read = ReadAdminToken(options_.sync_token_file);
    if (!read.ok()) return Context("sync token", read.status());
    sync_token = std::move(read).value();
  }
  // The quarantine thread serves workers the serving threads hand over, so
  // a node without them has none.
  if (threads > 0) EDGE_RETURN_IF_ERROR(StartQuarantineThread(threads, budget));
  EDGE_RETURN_IF_ERROR(StartAdminApi(std::move(token).value(), std::move(sync_token)));
  for (const auto& extension : extensions_) {
    Status extension_started = extension->Start(*this);
    if (!extension_started.ok()) return Context("cannot start the node", extension_started);
  }
  start_phases_.answering = MsSince(starting);
  AnnounceReady();
  Log(LogLevel::kInfo, "node '{}' serving {} worker(s) from {} with {} thread(s)", options_.pop_id,
      state_.Load()->workers.size(), options_.data_dir, threads);
  Log(LogLevel::kInfo,
      "start: stores opened in {:.1f} ms, {} stored worker(s) read and prepared in {:.1f} ms, "
      "serving threads listening in {:.1f} ms; answering {:.1f} ms after the node started{}",
      start_phases_.stores, state_.Load()->workers.size(), start_phases_.workers,
      start_phases_.threads, start_phases_.answering,
      start_loads_ && !start_loads_->finished() ? "; the workers load in the background" : "");
  return Status::Ok();
}

std::vector<std::shared_ptr<const ServedWorker>> Node::StartOrder() const {
  std::shared_ptr<const NodeState> state = state_.Load();
  std::vector<std::shared_ptr<const ServedWorker>> order;
  order.reserve(state->workers.size());
  for (const auto& [name, served] : state->workers) order.push_back(served);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a->name < b->name; });
  return order;
}

void Node::OnStartLoadsFinished() {
  StartLoads::Progress progress = start_loads_->progress();
  if (progress.workers == 0) return;
  std::string by_thread;
  for (size_t i = 0; i < progress.loaded_by_thread.size(); ++i) {
    by_thread += fmt::format("{}{}", i == 0 ? "" : " + ", progress.loaded_by_thread[i]);
  }
  std::string unfit;
  if (progress.unfit != 0) {
    unfit = fmt::format("; {} did not fit in the memory budget ({} MiB) and load on their first "
                        "request",
                        progress.unfit, options_.memory_budget_mb);
  }
  Log(LogLevel::kInfo,
      "start: every stored worker is warm {:.0f} ms after the node started: {} of {} loaded "
      "(by thread: {}){}{}{}",
      start_phases_.loads_made + progress.finished_ms, progress.loaded,
      progress.workers, by_thread,
      progress.failed != 0 ? fmt::format(", {} failed to load (logged above)", progress.failed)
                           : "",
      progress.gone != 0 ? fmt::format(", {} replaced or deleted meanwhile", progress.gone) : "",
      unfit);
}

std::string Node::StartJson() const {
  if (!start_loads_) return "";
  StartLoads::Progress progress = start_loads_->progress();
  std::string warm_ms = "null";
  if (progress.pending == 0) {
    warm_ms = fmt::format("{:.1f}", start_phases_.loads_made + progress.finished_ms);
  }
  return fmt::format(
      "\"start\":{{\"workers\":{},\"loaded\":{},\"failed\":{},\"unfit\":{},\"gone\":{},"
      "\"pending\":{},\"answering_ms\":{:.1f},\"warm_ms\":{}}}",
      progress.workers, progress.loaded, progress.failed, progress.unfit, progress.gone,
      progress.pending, start_phases_.answering, warm_ms);
}

int Node::ServingThreadCount() const {
  if (!options_.serve_traffic) return 0;
  if (options_.threads > 0) return options_.threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Status Node::StartServingThreads(int count, size_t budget) {
  for (int i = 0; i < count; ++i) {
    // Every thread listens on the ports the first one bound (the configured
    // ones may be 0).
    int http_port = i == 0 ? 0 : threads_.front()->http_port();
    int https_port = i == 0 ? 0 : threads_.front()->https_port();
    threads_.push_back(std::make_unique<NodeThread>(*this, i, budget, http_port, https_port));
    if (static_cast<size_t>(i) < heavy_lanes_.size()) {
      threads_.back()->set_heavy_lane(heavy_lanes_[i].get());
    }
    Status started = threads_.back()->Start();
    if (!started.ok()) {
      threads_.pop_back();
      return Context("cannot listen for traffic", started);
    }
  }
  return Status::Ok();
}

Status Node::StartQuarantineThread(int index, size_t budget) {
  quarantine_ = NodeThread::Quarantine(*this, index, budget);
  Status started = quarantine_->Start();
  if (!started.ok()) {
    quarantine_.reset();
    return Context("cannot start the quarantine thread", started);
  }
  return Status::Ok();
}

Status Node::StartHeavyLanes(int first_index, int count, size_t budget) {
  for (int i = 0; i < count; ++i) {
    heavy_lanes_.push_back(NodeThread::HeavyLane(*this, first_index + i, budget));
    Status started = heavy_lanes_.back()->Start();
    if (!started.ok()) {
      heavy_lanes_.pop_back();
      return Context("cannot start a heavy lane", started);
    }
  }
  return Status::Ok();
}

Status Node::StartAdminApi(std::string token, std::string sync_token) {
  admin_api_ = std::make_unique<AdminApi>(*this, std::move(token), std::move(sync_token));
  ServerLimits admin_limits = options_.limits;
  // Bodies stream in: an R2 object upload goes to disk as it arrives (up
  // to R2's largest put, and on an origin a PoP's upload: that after its
  // line of JSON, at most 64 KiB); the rest are read whole, at most
  // kAdminMaxBodyBytes (AdminApi::BufferBody).
  admin_limits.max_body_bytes = bindings::kR2MaxPutBytes + (64u << 10);
  admin_limits.stream_request_bodies = true;
  admin_server_ = std::make_unique<HttpServer>(
      &loop_, admin_limits, [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        admin_api_->Handle(std::move(request), std::move(writer));
      });
  std::string admin_host;
  int admin_port = 0;
  Status admin = SplitHostPort(options_.admin, &admin_host, &admin_port);
  if (admin.ok()) admin = admin_server_->Listen(admin_host, admin_port, false);
  if (!admin.ok()) {
    return Context(fmt::format("cannot listen for the admin API on {}", options_.admin), admin);
  }
  return Status::Ok();
}

void Node::AnnounceReady() {
  // One line tools can wait for, with the ports actually bound.
  Ports ports;
  ports.admin = admin_server_->port();
  if (!threads_.empty()) {
    ports.http = threads_.front()->http_port();
    ports.https = threads_.front()->https_port();
  }
  std::string line = "Ready:";
  if (ports.http != 0) line += fmt::format(" http port {}", ports.http);
  if (ports.https != 0) line += fmt::format(" https port {}", ports.https);
  line += fmt::format(" admin port {}", ports.admin);
  printf("%s\n", line.c_str());
  fflush(stdout);
  StartTriggers();
  if (on_ready_) on_ready_(ports);
}

void Node::StartTriggers() {
  // A replica fires its crons only when its origin names it the fleet's
  // cron home, minute by minute; `run_crons` set overrides that (fires
  // without asking, or never). Queue consumers run where the queues' home
  // is (docs/triggers.md).
  bool replica = false;
  NodeExtension* decides = nullptr;
  for (const auto& extension : extensions_) {
    replica |= extension->RefuseChanges().has_value();
    if (decides == nullptr && extension->DecidesCronFires()) decides = extension.get();
  }
  if (threads_.empty()) return;
  std::vector<NodeThread*> serving;
  for (auto& thread : threads_) serving.push_back(thread.get());
  NodeTriggers::CronGate ask;
  if (decides != nullptr) {
    ask = [decides](const std::string& worker, const std::string& cron, int64_t minute_ms,
                    std::function<void(bool)> answer) {
      decides->AskToFireCron(worker, cron, minute_ms, std::move(answer));
    };
  }
  bool run_crons = options_.run_crons.value_or(!replica || decides != nullptr);
  // Queues: in a fleet, only the home delivers (the extensions say).
  auto delivers_queues = [this] {
    for (const auto& extension : extensions_) {
      if (!extension->DeliversQueues()) return false;
    }
    return true;
  };
  triggers_ = std::make_unique<NodeTriggers>(*this, std::move(serving), bindings::SystemCronClock(),
                                             run_crons, std::move(ask), delivers_queues);
}

StatusOr<std::shared_ptr<const ServedWorker>> Node::ServedVersion(const std::string& name,
                                                                  uint64_t version) {
  auto versions = store_->Versions(name);
  if (!versions.ok()) return versions.status();
  for (const VersionInfo& info : *versions) {
    if (info.id != version) continue;
    auto blob = store_->GetBlob(info.sha256);
    if (!blob.ok()) return blob.status();
    auto current = store_->LoadWorker(name);
    if (!current.ok()) return current.status();
    if (!blob->has_value() || !current->has_value()) break;
    DeployedWorker deployed = std::move(**current);
    deployed.version = version;
    deployed.bundle_json = std::move(**blob);
    return BuildServed(deployed);
  }
  return Status(ErrorCode::kNotFound,
                fmt::format("version {} of worker \"{}\" is no longer stored", version, name));
}

bindings::QueueEngine* Node::queue_engine() {
  return triggers_ != nullptr ? triggers_->queue_engine() : nullptr;
}

void Node::WatchSignals() {
  for (int signum : {SIGINT, SIGTERM}) {
    auto* signal = new uv_signal_t;
    uv_signal_init(&loop_, signal);
    signal->data = this;
    uv_signal_start(signal, OnSignal, signum);
    signals_.push_back(signal);
  }
}

void Node::JoinThreads() {
  for (auto& thread : threads_) thread->Join();
  // Last: requests the serving threads handed to them have finished with them.
  for (auto& lane : heavy_lanes_) {
    lane->Stop();
    lane->Join();
  }
  if (quarantine_) {
    quarantine_->Stop();
    quarantine_->Join();
  }
}

void Node::RequestStop() {
  PostToControl([this] {
    if (!stopping_) Stop();
  });
}

void Node::OnSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Node*>(handle->data);
  if (self->stopping_) {
    Log(LogLevel::kWarn, "second signal: exiting without waiting for requests in flight");
    _exit(1);
  }
  Log(LogLevel::kInfo, "{} received: finishing requests in flight, then exiting",
      signum == SIGINT ? "SIGINT" : "SIGTERM");
  self->Stop();
}

void Node::Stop() {
  stopping_ = true;
  for (const auto& extension : extensions_) extension->Stop();
  for (auto& thread : threads_) thread->Stop();
  if (admin_api_) admin_api_->Close();
  if (admin_server_) {
    admin_server_->Shutdown([this] { admin_server_.reset(); });
  }
  if (kv_sweeper_) kv_sweeper_->Stop();
  triggers_.reset();
  // The signal handlers stay (a second signal exits at once) but no longer
  // keep the loop alive; they are closed when the node is destroyed.
  for (uv_signal_t* signal : signals_) uv_unref(reinterpret_cast<uv_handle_t*>(signal));
  if (control_tasks_) control_tasks_->Close();
}

}  // namespace edge::gateway
