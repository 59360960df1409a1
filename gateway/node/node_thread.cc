#include "gateway/node/node_thread.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/ascii.h"
#include "base/json_text.h"
#include "gateway/node/node.h"
#include "gateway/node/node_sink.h"
#include "gateway/http/status_pages.h"
#include "gateway/node/thread_hop.h"
#include "gateway/host/worker_host.h"
#include "runtime/watchdog.h"
#include "base/log.h"

namespace edge::gateway {
namespace {

// A service-binding call's response on its way back to the calling worker:
// counted under the called worker (/usage, metrics, access log, tails) as
// one invocation, as a request the node served is.
class CalleeSink : public runtime::ResponseSink {
 public:
  CalleeSink(std::shared_ptr<runtime::ResponseSink> inner, const NodeReporting& reporting,
             InvocationRecord record)
      : inner_(std::move(inner)), reporting_(reporting), record_(std::move(record)),
        start_ns_(uv_hrtime()) {}
  ~CalleeSink() override { End("canceled"); }

  // Told the invocation's CPU once it ended, as NodeSink::SetOnCpu.
  void SetOnCpu(std::function<void(uint64_t cpu_ns)> on_cpu) { on_cpu_ = std::move(on_cpu); }

  void Start(int status, std::string_view status_text, runtime::HeaderList headers,
             std::optional<uint64_t> content_length) override {
    record_.status = status;
    inner_->Start(status, status_text, std::move(headers), content_length);
  }
  void Write(std::string_view chunk) override {
    record_.bytes_out += chunk.size();
    inner_->Write(chunk);
  }
  void Finish() override {
    End("ok");
    inner_->Finish();
  }
  void Fail(std::string_view public_reason, LimitKind limit) override {
    std::string_view outcome = OutcomeOfFailure(limit);
    if (reporting_.metrics != nullptr && !ended_) {
      if (outcome == "exceededCpu") reporting_.metrics->AddLimitKill("cpu");
      if (outcome == "exceededMemory") reporting_.metrics->AddLimitKill("memory");
    }
    if ((outcome == "exceededCpu" || outcome == "exceededMemory") && reporting_.on_limit_kill &&
        !ended_) {
      reporting_.on_limit_kill(record_.worker);
    }
    if (record_.status == 0) record_.status = 500;
    End(outcome);
    inner_->Fail(public_reason, limit);
  }
  void ReportCpu(uint64_t cpu_ns) override { record_.cpu_ns += cpu_ns; }
  // Logged and kept under the callee, as a request's lines are (and on
  // whichever thread the callee ran: a hop forwards them here).
  bool OnConsole(std::string_view level, std::string_view message) override {
    reporting_.Console(record_, ended_, level, message);
    return true;
  }
  void OnUncaughtException(std::string_view description) override {
    if (!ended_) KeepException(record_, description);
  }
  bool Aborted() const override { return inner_->Aborted(); }
  bool NeedsDrain() const override { return inner_->NeedsDrain(); }
  void OnDrain(std::function<void()> callback) override { inner_->OnDrain(std::move(callback)); }
  // The callee answered with a WebSocket: its caller gets the other end.
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList headers) override {
    auto channel = inner_->AcceptWebSocket(std::move(headers));
    if (channel.ok()) {
      record_.status = 101;
      End("ok");
    }
    return channel;
  }

 private:
  void End(std::string_view outcome) {
    if (ended_) return;
    ended_ = true;
    record_.outcome = std::string(outcome);
    record_.wall_ns = uv_hrtime() - start_ns_;
    reporting_.Report(record_);
    if (on_cpu_) std::exchange(on_cpu_, nullptr)(record_.cpu_ns);
  }

  std::shared_ptr<runtime::ResponseSink> inner_;
  std::function<void(uint64_t cpu_ns)> on_cpu_;
  NodeReporting reporting_;
  InvocationRecord record_;
  uint64_t start_ns_;
  bool ended_ = false;
};

thread_local NodeThread* t_current = nullptr;

// How often a thread measures its isolates (memory budget, metering of
// CPU no request was charged for, gauges).
constexpr uint64_t kMeasureEveryMs = 1000;

constexpr int kHeavyLaneNice = 5;

// Requests of one worker a thread hands to the thread holding it before it
// loads a copy of its own (HolderFor).
constexpr uint32_t kCopyAfterHandOvers = 16;

// Background loads between two measurements of the pool's memory
// (IsolatePool::MemoryInUse walks every isolate).
constexpr size_t kLoadsBetweenMeasures = 32;

// How long the thread runs queued work before it polls for I/O again.
constexpr uint64_t kTurnSliceNs = 1'000'000;

// A request refused because its worker already has ReadyQueue's most
// waiting on the thread.
constexpr std::string_view kQueueFull =
    "The worker has too many requests waiting on this node; try again later";

// Counts a streamed request body for metering and holds it to the worker's
// request size limit (a body without Content-Length is only known as it
// arrives).
class CountedBody : public runtime::RequestBodySource {
 public:
  CountedBody(std::shared_ptr<runtime::RequestBodySource> inner, std::weak_ptr<NodeSink> sink,
              uint64_t limit)
      : inner_(std::move(inner)), sink_(std::move(sink)), limit_(limit) {}

  void Read(Reader reader) override {
    auto state = std::make_shared<Reader>(std::move(reader));
    auto counted = std::make_shared<uint64_t>(0);
    Reader counting;
    counting.on_data = [state, counted, sink = sink_, limit = limit_,
                        inner = inner_.get()](std::string_view chunk) {
      if (!state->on_data) return;  // refused already
      *counted += chunk.size();
      if (auto open = sink.lock()) open->CountBytesIn(chunk.size());
      if (limit != 0 && *counted > limit) {
        auto on_error = std::move(state->on_error);
        *state = Reader{};
        inner->Pause(true);
        if (on_error) {
          on_error(fmt::format("The request body exceeded the worker's limit of {} bytes", limit));
        }
        return;
      }
      state->on_data(chunk);
    };
    counting.on_end = [state] {
      if (state->on_end) state->on_end();
    };
    counting.on_error = [state](std::string_view error) {
      if (state->on_error) state->on_error(error);
    };
    inner_->Read(std::move(counting));
  }
  void Pause(bool paused) override { inner_->Pause(paused); }

 private:
  std::shared_ptr<runtime::RequestBodySource> inner_;
  std::weak_ptr<NodeSink> sink_;
  uint64_t limit_;
};

std::optional<uint64_t> ContentLength(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (base::EqualsIgnoreCase(name, "content-length")) {
      char* end = nullptr;
      unsigned long long length = strtoull(value.c_str(), &end, 10);
      if (end != value.c_str() && *end == '\0') return length;
    }
  }
  return std::nullopt;
}

// The path of a request target, for routing: origin form as is; absolute
// form ("http://host/path") loses its scheme and authority.
std::string_view TargetPath(std::string_view target, std::string_view* host) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.starts_with(scheme)) {
      target.remove_prefix(scheme.size());
      size_t slash = target.find('/');
      *host = target.substr(0, slash);
      return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  return target;
}

}  // namespace

NodeThread::NodeThread(Node& node, int index, size_t memory_budget_bytes, int http_port,
                       int https_port)
    : node_(node),
      index_(index),
      budget_bytes_(memory_budget_bytes),
      http_port_(http_port),
      https_port_(https_port) {}

NodeThread::~NodeThread() { Join(); }

NodeThread* NodeThread::Current() { return t_current; }

std::unique_ptr<NodeThread> NodeThread::Quarantine(Node& node, int index,
                                                   size_t memory_budget_bytes) {
  auto thread = std::make_unique<NodeThread>(node, index, memory_budget_bytes);
  thread->kind_ = Kind::kQuarantine;
  return thread;
}

std::unique_ptr<NodeThread> NodeThread::HeavyLane(Node& node, int index,
                                                  size_t memory_budget_bytes) {
  auto thread = std::make_unique<NodeThread>(node, index, memory_budget_bytes);
  thread->kind_ = Kind::kHeavyLane;
  return thread;
}

Status NodeThread::Start() {
  std::promise<Status> ready;
  std::future<Status> listening = ready.get_future();
  thread_ = std::thread([this, ready = std::move(ready)]() mutable { Main(std::move(ready)); });
  Status status = listening.get();
  if (!status.ok()) Join();
  return status;
}

void NodeThread::Post(std::function<void()> task) {
  if (started_.load()) tasks_->Post(std::move(task));
}

void NodeThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void NodeThread::Stop() {
  Post([this] {
    auto closed = [this] {
      if (--servers_open_ > 0) return;
      // Every connection is gone: free the isolates and the loop's handles.
      uv_timer_stop(&measure_timer_);
      uv_close(reinterpret_cast<uv_handle_t*>(&measure_timer_), nullptr);
      uv_prepare_stop(&turn_end_);
      uv_close(reinterpret_cast<uv_handle_t*>(&turn_end_), nullptr);
      CloseQueue();
      pool_->Clear();
      tasks_->Close();
    };
    servers_open_ = (http_ ? 1 : 0) + (https_ ? 1 : 0);
    if (servers_open_ == 0) {
      servers_open_ = 1;
      closed();
      return;
    }
    if (http_) http_->Shutdown(closed);
    if (https_) https_->Shutdown(closed);
  });
}

Status NodeThread::Listen() {
  const NodeOptions& options = node_.options();
  if (kind_ == Kind::kQuarantine) {
    // Below the serving threads: a worker burning its CPU limit here over and
    // over gets what the cores leave idle (SCHED_IDLE), not the other
    // tenants' share; where that policy is refused, the lowest nice value.
    sched_param param{};
    if (sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
    }
    return Status::Ok();
  }
  if (kind_ == Kind::kHeavyLane) {
    // A little below the serving threads: when both want the core, a
    // serving thread woken by a request gets it at once, and the heavy
    // lane still gets about a quarter of it (nice 5 weighs 335 to 1024).
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kHeavyLaneNice);
    return Status::Ok();
  }
  ServerLimits limits = options.limits;
  limits.stream_request_bodies = true;
  auto handler = [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    Handle(std::move(request), std::move(writer));
  };
  // A SO_REUSEPORT listener on `address`; its port 0 means `port` (set
  // before to the port the first thread bound), which is set to the bound one.
  auto listen = [&](const std::string& address, std::shared_ptr<TlsContext> tls,
                    std::unique_ptr<HttpServer>& server, int& port) -> Status {
    std::string host;
    int wanted = 0;
    EDGE_RETURN_IF_ERROR(SplitHostPort(address, &host, &wanted));
    if (wanted == 0) wanted = port;
    server = std::make_unique<HttpServer>(&loop_, limits, handler);
    ListenOptions listen_options;
    listen_options.reuse_port = true;
    listen_options.tls = std::move(tls);
    EDGE_RETURN_IF_ERROR(server->Listen(host, wanted, listen_options));
    port = server->port();
    return Status::Ok();
  };
  if (!options.listen.empty()) {
    EDGE_RETURN_IF_ERROR(listen(options.listen, nullptr, http_, http_port_));
    default_host_ = options.listen;
  }
  if (!options.https.empty()) {
    EDGE_RETURN_IF_ERROR(listen(options.https, node_.tls_context(), https_, https_port_));
    if (default_host_.empty()) default_host_ = options.https;
  }
  return Status::Ok();
}

void NodeThread::Main(std::promise<Status> ready) {
  t_current = this;
  uv_loop_init(&loop_);
  tasks_ = std::make_unique<LoopTasks>(&loop_);
  deadlines_ = std::make_unique<WallDeadlines>(&loop_);
  reader_ = std::make_unique<StateReader>(node_.state_cell());
  cf_json_ = RequestCfJson(node_.options().pop_id);
  // The node's policy context, plus the way back to this loop for requests
  // that waited for a JWKS fetch.
  policy_context_ = node_.policy_context();
  policy_context_.post = [this](std::function<void()> task) { Post(std::move(task)); };
  Status listening = Listen();
  pool_ = std::make_unique<IsolatePool>(&loop_, node_.natives(), budget_bytes_, default_host_);
  // Spares serve the workers a serving thread evicted; made for the default
  // memory limit (`[limits] memory_mb`), which most workers keep.
  if (kind_ == Kind::kServing) {
    pool_->SetSpares(node_.options().spare_isolates,
                     static_cast<size_t>(WorkerLimits{}.memory_mb) << 20);
  }
  // Disposals of evicted isolates and spares wait while requests are queued
  // for their turn.
  pool_->SetBusy([this] { return !queue_.empty(); });
  // A worker stopped by a limit is quarantined, also outside any request (a
  // top-level timer, waitUntil work after the response), which no NodeSink
  // sees.
  pool_->SetOnLimit([this](const std::string& worker) {
    if (node_.reporting().on_limit_kill) node_.reporting().on_limit_kill(worker);
  });
  uv_timer_init(&loop_, &measure_timer_);
  measure_timer_.data = this;
  uv_timer_start(&measure_timer_, OnMeasure, kMeasureEveryMs, kMeasureEveryMs);
  // Heavy workers are looked for where their requests arrive (the serving
  // threads: every invocation's CPU comes back to its connection's thread)
  // and where their background entries run (serving threads and heavy
  // lanes); the quarantine thread has its own rule.
  if (kind_ != Kind::kQuarantine) {
    heavy_ = std::make_unique<HeavyDetector>(node_.options().heavy_cpu_us * 1000);
  }
  uv_prepare_init(&loop_, &turn_end_);
  turn_end_.data = this;
  uv_prepare_start(&turn_end_, OnTurnEnd);
  uv_check_init(&loop_, &run_check_);
  run_check_.data = this;
  uv_check_start(&run_check_, OnCheck);
  uv_idle_init(&loop_, &run_idle_);
  run_idle_.data = this;
  // The node's start loads: this thread takes its part between turns of
  // its ready work, from the first turn on.
  if (kind_ == Kind::kServing && node_.start_loads() != nullptr) {
    start_ = node_.start_loads();
    pool_->SetOnLoad([this](const ServedWorker& worker, bool ok) {
      start_->Loaded(worker, index_, ok);
    });
    uv_idle_init(&loop_, &load_idle_);
    load_idle_.data = this;
    load_idle_open_ = true;
    memory_estimate_ = pool_->MemoryInUse();
    uv_idle_start(&load_idle_, OnLoadTurn);
  }
  started_ = listening.ok();
  if (!listening.ok()) {
    http_.reset();
    https_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&measure_timer_), nullptr);
    uv_prepare_stop(&turn_end_);
    uv_close(reinterpret_cast<uv_handle_t*>(&turn_end_), nullptr);
    CloseQueue();
    tasks_->Close();
  }
  ready.set_value(listening);
  uv_run(&loop_, UV_RUN_DEFAULT);
  started_ = false;
  http_.reset();
  https_.reset();
  pool_.reset();
  deadlines_->Close();
  uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks of what was just freed
  deadlines_.reset();
  tasks_.reset();
  uv_loop_close(&loop_);
  t_current = nullptr;
}

void NodeThread::OnTurnEnd(uv_prepare_t* prepare) {
  auto* self = static_cast<NodeThread*>(prepare->data);
  runtime::Watchdog::TakeBackgroundEntries(
      [self](const runtime::Watchdog::Subject& subject, uint64_t longest_ns) {
        if (!subject.label().empty()) self->NoteCpu(subject.label(), longest_ns);
      });
}

void NodeThread::CloseQueue() {
  queue_closed_ = true;
  queue_.Clear();
  uv_check_stop(&run_check_);
  uv_close(reinterpret_cast<uv_handle_t*>(&run_check_), nullptr);
  uv_idle_stop(&run_idle_);
  uv_close(reinterpret_cast<uv_handle_t*>(&run_idle_), nullptr);
  if (load_idle_open_) {
    // Start loads not made yet are left to their first requests.
    load_idle_open_ = false;
    uv_idle_stop(&load_idle_);
    uv_close(reinterpret_cast<uv_handle_t*>(&load_idle_), nullptr);
  }
}

void NodeThread::RunInTurn(const ServedWorker& served, ReadyQueue::Task task) {
  if (queue_closed_ || !queue_.Push(served.name, served.limits.memory_mb, std::move(task))) {
    task(false);
    return;
  }
  // Queued from outside the poll phase (a timer, a task), the loop must not
  // block in its next poll before the check phase runs it.
  uv_idle_start(&run_idle_, [](uv_idle_t*) {});
}

void NodeThread::OnCheck(uv_check_t* check) {
  auto* self = static_cast<NodeThread*>(check->data);
  if (self->queue_.empty()) return;
  uint64_t start = uv_hrtime();
  // Not the whole queue: work that arrives meanwhile (the next requests of
  // every worker) must compete for the next turns, or each poll's batch
  // would run in full and the shares follow the arrival rates instead.
  while (self->queue_.RunNext() && uv_hrtime() - start < kTurnSliceNs) {
  }
  if (self->queue_.empty()) uv_idle_stop(&self->run_idle_);
}

void NodeThread::ChargeCpu(const ServedWorker& served, uint64_t cpu_ns) {
  queue_.Charge(served.name, served.limits.memory_mb, cpu_ns);
}

std::function<void(uint64_t cpu_ns)> NodeThread::CpuReporter(NodeThread* ran_on,
                                                             const ServedWorker& served) {
  return [this, ran_on, worker = served.name, weight = served.limits.memory_mb](uint64_t cpu_ns) {
    NoteCpu(worker, cpu_ns);
    if (ran_on == this) {
      queue_.Charge(worker, weight, cpu_ns);
      return;
    }
    ran_on->Post([ran_on, worker, weight, cpu_ns] { ran_on->queue_.Charge(worker, weight, cpu_ns); });
  };
}

void NodeThread::NoteCpu(const std::string& worker, uint64_t ns) {
  if (heavy_ && heavy_->Note(worker, ns)) node_.MarkHeavy(worker);
}

void NodeThread::OnMeasure(uv_timer_t* timer) {
  auto* self = static_cast<NodeThread*>(timer->data);
  Node& node = self->node_;
  if (self->heavy_) self->heavy_->Prune();
  const NodeState& state = self->reader_->Current();
  self->pool_->Retain(state);
  uint64_t now = UnixMs();
  self->pool_->Measure([&](const std::string& worker, const IsolatePool::Sample& sample) {
    node.meter().AddBackground(worker, sample.unattributed_cpu_ns, sample.subrequests, now);
    // CPU no request was charged for (timers, waitUntil work after the
    // response) is the worker's use of this thread too.
    const std::shared_ptr<const ServedWorker>* found = state.Find(worker);
    if (found != nullptr && sample.unattributed_cpu_ns > 0) {
      self->ChargeCpu(**found, sample.unattributed_cpu_ns);
    }
  });
  self->queue_.Prune();
  size_t evicted = self->pool_->EnforceBudget();
  const IsolatePool::Stats& stats = self->pool_->stats();
  for (; self->evictions_reported_ < stats.evictions; ++self->evictions_reported_) {
    node.metrics().AddEviction();
  }
  if (stats.cold_loads > self->cold_loads_reported_) {
    node.metrics().AddCounter("edge_isolate_cold_loads_total",
                              "Isolates a request had to wait for (evicted, or never loaded on "
                              "its thread)",
                              static_cast<double>(stats.cold_loads - self->cold_loads_reported_));
    self->cold_loads_reported_ = stats.cold_loads;
  }
  self->alive_ = static_cast<int64_t>(stats.alive - std::min(stats.alive, evicted));
  self->memory_ = static_cast<int64_t>(stats.memory_bytes);
}

void NodeThread::Refuse(ResponseWriter& writer, InvocationRecord record, int status,
                        std::string_view message, std::string_view outcome) {
  // Recorded before the page goes out, as NodeSink does: a client that reads
  // the answer and then asks /usage or /metrics must find it counted.
  record.status = status;
  record.outcome = std::string(outcome);
  node_.reporting().Report(record);
  SendErrorPage(writer, status, message);
}

std::string NodeThread::NextRequestId() {
  if (request_id_prefix_.empty()) {
    request_id_prefix_ = fmt::format("{}-{:x}-", node_.options().pop_id, index_);
  }
  // "<pop>-<thread>-<counter>", the counter in hex.
  uint64_t counter = ++next_request_;
  char digits[16];
  char* end = digits + sizeof(digits);
  char* p = end;
  do {
    *--p = "0123456789abcdef"[counter & 0xF];
    counter >>= 4;
  } while (counter != 0);
  std::string id;
  id.reserve(request_id_prefix_.size() + static_cast<size_t>(end - p));
  id += request_id_prefix_;
  id.append(p, static_cast<size_t>(end - p));
  return id;
}

void NodeThread::Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  const NodeState& state = reader_->Current();
  InvocationRecord record;
  record.request_id = NextRequestId();
  record.start_unix_ms = UnixMs();
  record.method = request.method;
  record.remote = request.remote_address;
  std::string_view host = RequestHost(request, default_host_);
  std::string_view path = TargetPath(request.target, &host);
  record.url = AbsoluteUrl(request.tls, host, path);

  const std::string* name = state.routes.Match(host, path);
  if (name == nullptr) {
    Refuse(*writer, std::move(record), 404, "No worker is routed for this host and path",
           "noRoute");
    return;
  }
  const std::shared_ptr<const ServedWorker>* found = state.Find(*name);
  if (found == nullptr) {
    Refuse(*writer, std::move(record), 503,
           fmt::format("Worker '{}' is routed here but has no version deployed", *name),
           "loadError");
    return;
  }
  std::shared_ptr<const ServedWorker> served = *found;
  record.worker = served->name;
  record.version = served->version;
  const WorkerLimits& limits = served->limits;
  std::optional<uint64_t> declared = ContentLength(request);
  if (limits.request_bytes != 0 && declared && *declared > limits.request_bytes) {
    Refuse(*writer, std::move(record), 413,
           fmt::format("The request body exceeds the worker's limit of {} bytes",
                       limits.request_bytes),
           "requestTooLarge");
    return;
  }
  // The route policies (the operator's for the host, then the worker's),
  // before any isolate: a refused request ends here.
  const policy::PolicyTables* host_policies = state.host_policies.get();
  if (host_policies != nullptr || served->policies != nullptr) {
    // Copies: `host` and `path` point into the request, which moves.
    std::string host_copy(host), path_copy(path);
    // One record, for whichever of the two callbacks runs.
    auto shared = std::make_shared<InvocationRecord>(std::move(record));
    policy::ApplyPolicies(
        host_policies, served->policies.get(), policy_context_, host_copy, path_copy,
        std::move(request), std::move(writer),
        // The tables stay alive while a policy waits (a JWKS fetch) even if
        // a new host policy set is published meanwhile.
        [this, served, shared, keep = state.host_policies](
            HttpRequest admitted, std::shared_ptr<ResponseWriter> decorated) {
          Serve(served, std::move(*shared), std::move(admitted), std::move(decorated));
        },
        [this, shared](const policy::PolicyOutcome& outcome) {
          shared->status = outcome.status;
          shared->outcome = outcome.preflight ? "preflight" : "policyRefused";
          shared->policy = outcome.policy;
          node_.reporting().Report(*shared);
        });
    return;
  }
  Serve(served, std::move(record), std::move(request), std::move(writer));
}

void NodeThread::Serve(const std::shared_ptr<const ServedWorker>& served, InvocationRecord record,
                       HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  const WorkerLimits& limits = served->limits;
  // A quarantined or heavy worker runs on another thread; the connection
  // stays.
  NodeThread* lane = LaneFor(served->name);
  if (lane == nullptr) lane = HolderFor(served);
  record.bytes_in = request.body.size();
  // A refusal is counted before its page goes out, as in Refuse.
  std::optional<runtime::FetchRequest> fetch =
      ToFetchRequest(request, default_host_, *writer, [&] {
        record.status = 400;
        record.outcome = "badRequest";
        node_.reporting().Report(record);
      });
  if (!fetch) return;
  fetch->cf_json = RequestCfJsonFor(cf_json_, request);
  if (lane != nullptr) {
    auto sink = std::make_shared<NodeSink>(std::move(writer), node_.reporting(), std::move(record),
                                           limits, deadlines_.get());
    // Wherever the worker ran, its invocation's CPU comes back here.
    sink->SetOnCpu(CpuReporter(lane, *served));
    HandleOn(lane, served, std::move(*fetch), std::move(sink), limits);
    return;
  }
  // Entered in its turn among the thread's ready work; the wall clock (and
  // GB-s) of the invocation start then.
  RunInTurn(*served, [this, served, record = std::move(record), fetch = std::move(*fetch),
                      writer = std::move(writer)](bool run) mutable {
    if (!run) {
      Refuse(*writer, std::move(record), 503, kQueueFull, "overloaded");
      return;
    }
    Enter(served, std::move(record), std::move(fetch), std::move(writer));
  });
}

void NodeThread::Enter(const std::shared_ptr<const ServedWorker>& served, InvocationRecord record,
                       runtime::FetchRequest fetch, std::shared_ptr<ResponseWriter> writer) {
  StatusOr<WorkerHost*> host_or = pool_->Acquire(served);
  if (!host_or.ok()) {
    Refuse(*writer, std::move(record), 503, "The worker failed to load", "loadError");
    return;
  }
  WorkerHost* worker_host = *host_or;
  const WorkerLimits& limits = served->limits;
  auto sink = std::make_shared<NodeSink>(std::move(writer), node_.reporting(), std::move(record),
                                         limits, deadlines_.get());
  sink->SetOnCpu(CpuReporter(this, *served));
  if (fetch.body_source) {
    fetch.body_source =
        std::make_shared<CountedBody>(std::move(fetch.body_source), sink, limits.request_bytes);
  }
  sink->SetOnEnd([worker_host] { worker_host->ScheduleCollect(); });
  sink->Begin();
  worker_host->Fetch(std::move(fetch), std::move(sink));
}

void NodeThread::RunHandedOver(std::shared_ptr<const ServedWorker> served,
                               runtime::FetchRequest fetch,
                               std::shared_ptr<runtime::ResponseSink> sink, bool service_call) {
  const ServedWorker& worker = *served;
  RunInTurn(worker, [this, served = std::move(served), fetch = std::move(fetch), sink,
                     service_call](bool run) mutable {
    if (!run) {
      sink->Fail(kQueueFull, LimitKind::kNone);
      return;
    }
    StatusOr<WorkerHost*> host = pool_->Acquire(served);
    if (!host.ok()) {
      sink->Fail(service_call ? fmt::format("worker '{}' failed to load: {}", served->name,
                                            host.status().message())
                              : std::string("The worker failed to load"),
                 LimitKind::kNone);
      return;
    }
    (*host)->Fetch(std::move(fetch), std::move(sink));
  });
}

NodeThread* NodeThread::LaneFor(const std::string& worker) {
  NodeThread* lane = nullptr;
  switch (node_.LaneOf(worker)) {
    case WorkerLanes::Lane::kServing:
      break;
    case WorkerLanes::Lane::kHeavy:
      lane = heavy_lane_;
      break;
    case WorkerLanes::Lane::kQuarantine:
      lane = node_.quarantine_thread();
      break;
  }
  return lane == this ? nullptr : lane;
}

NodeThread* NodeThread::HolderFor(const std::shared_ptr<const ServedWorker>& served) {
  if (start_ == nullptr || pool_->Holds(*served)) return nullptr;
  int holder = start_->HolderOrClaim(*served, index_);
  if (holder == index_) {
    // Claimed here: the request loads it in its turn; should it never run
    // (refused), the background loads do.
    claimed_.push_back(served);
    if (load_idle_open_) uv_idle_start(&load_idle_, OnLoadTurn);
    return nullptr;
  }
  // Not a start load: a version that arrived since (a deploy, a version a
  // replica received) is held by its home thread.
  if (holder < 0) holder = served->home_thread;
  NodeThread* thread = holder < 0 ? nullptr : node_.serving_thread(holder);
  if (thread == nullptr || thread == this) return nullptr;
  // A worker handed over often gets its own isolate here too (a hot one
  // keeps one per thread), while the budget has room for it.
  uint32_t& count = handed_over_[served->name];
  if (++count == kCopyAfterHandOvers) {
    copies_.push_back(served);
    if (load_idle_open_) uv_idle_start(&load_idle_, OnLoadTurn);
  }
  return thread;
}

void NodeThread::OnLoadTurn(uv_idle_t* idle) {
  auto* self = static_cast<NodeThread*>(idle->data);
  // Ready work first: a load waits for a turn with none left over.
  if (!self->queue_.empty()) return;
  if (!self->LoadInBackground()) uv_idle_stop(idle);
}

bool NodeThread::LoadInBackground() {
  const NodeState& state = reader_->Current();
  auto current = [&](const ServedWorker& worker) {
    const std::shared_ptr<const ServedWorker>* found = state.Find(worker.name);
    return found != nullptr && (*found)->instance == worker.instance;
  };
  auto full = [&](size_t more) {
    if (budget_bytes_ == 0) return false;
    // What the pool holds, measured again now and then (requests load and
    // evict too), plus what each load since added.
    if (loads_since_measure_ >= kLoadsBetweenMeasures) {
      memory_estimate_ = pool_->MemoryInUse();
      loads_since_measure_ = 0;
    }
    return memory_estimate_ + more > budget_bytes_;
  };
  auto load = [&](const std::shared_ptr<const ServedWorker>& worker) {
    StatusOr<size_t> held = pool_->Preload(worker);
    if (held.ok() && *held != 0) {
      memory_estimate_ += *held;
      last_load_bytes_ = *held;
      ++loads_since_measure_;
    }
  };
  while (!claimed_.empty()) {
    std::shared_ptr<const ServedWorker> worker = std::move(claimed_.front());
    claimed_.pop_front();
    if (!current(*worker)) {
      start_->Gone(*worker);
      continue;
    }
    if (pool_->Holds(*worker)) continue;  // its request loaded it
    load(worker);
    return true;
  }
  while (claiming_) {
    // Up to this thread's share of the budget, as a cold load would
    // evict the oldest to make room: the first one past it is the last.
    if (full(0)) {
      claiming_ = false;
      start_->Full(index_);
      break;
    }
    std::shared_ptr<const ServedWorker> worker = start_->ClaimNext(index_);
    if (worker == nullptr) {
      claiming_ = false;
      break;
    }
    if (!current(*worker)) {
      start_->Gone(*worker);  // redeployed (warmed by the deploy) or deleted meanwhile
      continue;
    }
    load(worker);
    return true;
  }
  while (!copies_.empty()) {
    std::shared_ptr<const ServedWorker> worker = std::move(copies_.front());
    copies_.pop_front();
    if (!current(*worker) || pool_->Holds(*worker)) continue;
    // A copy never makes an eviction: only while it fits, by what the
    // pool holds now (requests loaded and evicted since the start).
    loads_since_measure_ = kLoadsBetweenMeasures;
    if (full(last_load_bytes_)) continue;
    load(worker);
    return true;
  }
  return false;
}

void NodeThread::HandleOn(NodeThread* lane, const std::shared_ptr<const ServedWorker>& served,
                          runtime::FetchRequest fetch, std::shared_ptr<NodeSink> sink,
                          const WorkerLimits& limits) {
  PostFn to_connection = [this](std::function<void()> task) { Post(std::move(task)); };
  PostFn to_worker = [lane](std::function<void()> task) { lane->Post(std::move(task)); };
  if (fetch.body_source) {
    fetch.body_source = HopBody(
        std::make_shared<CountedBody>(std::move(fetch.body_source), sink, limits.request_bytes),
        to_connection, to_worker);
  }
  sink->Begin();
  std::shared_ptr<runtime::ResponseSink> hop = HopSink(std::move(sink), to_connection, to_worker);
  lane->Post([lane, served, fetch = std::move(fetch), hop]() mutable {
    lane->RunHandedOver(std::move(served), std::move(fetch), std::move(hop), false);
  });
}

Status NodeThread::Dispatch(const std::string& scoped_service, runtime::FetchRequest request,
                            std::shared_ptr<runtime::ResponseSink> sink) {
  // "<account>/<worker>": a binding reaches workers of its own account only.
  size_t slash = scoped_service.find('/');
  std::string account = scoped_service.substr(0, slash);
  std::string service =
      slash == std::string::npos ? scoped_service : scoped_service.substr(slash + 1);
  const NodeState& state = reader_->Current();
  const std::shared_ptr<const ServedWorker>* found = state.Find(service);
  if (found == nullptr || (*found)->account != account) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("no worker named '{}' is deployed in this account", service));
  }
  InvocationRecord record;
  record.request_id = NextRequestId();
  record.start_unix_ms = UnixMs();
  record.worker = (*found)->name;
  record.version = (*found)->version;
  record.method = request.method;
  record.url = request.url;
  record.remote = "service-binding";
  record.bytes_in = request.body.size();
  record.memory_limit_bytes = (*found)->limits.memory_mb << 20;
  NodeThread* lane = LaneFor((*found)->name);
  if (lane == nullptr) lane = HolderFor(*found);
  WorkerHost* local = nullptr;
  if (lane == nullptr) {
    // Loaded first: a callee that cannot load is the caller's error, not an
    // invocation of the callee.
    StatusOr<WorkerHost*> host = pool_->Acquire(*found);
    if (!host.ok()) {
      return Status(ErrorCode::kNotFound, fmt::format("worker '{}' failed to load: {}", service,
                                                      host.status().message()));
    }
    local = *host;
  }
  auto callee = std::make_shared<CalleeSink>(std::move(sink), node_.reporting(), std::move(record));
  // A callee's CPU counts towards its own lane, as a request's does: a
  // worker that computes when called goes to the heavy lane too.
  // (Run here, nested in the caller's turn, its CPU is the caller's too:
  // only a callee on its lane is charged to that lane's fair queue.)
  if (lane != nullptr) {
    callee->SetOnCpu(CpuReporter(lane, **found));
  } else {
    callee->SetOnCpu([this, worker = (*found)->name](uint64_t cpu_ns) { NoteCpu(worker, cpu_ns); });
  }
  if (local != nullptr) {
    local->Fetch(std::move(request), std::move(callee));
    return Status::Ok();
  }
  // A heavy or quarantined callee runs on its lane, not on the caller's
  // thread, where it would hold up the other tenants the caller shares
  // it with. Its response and body come back here, as a request's do.
  PostFn to_caller = [this](std::function<void()> task) { Post(std::move(task)); };
  PostFn to_lane = [lane](std::function<void()> task) { lane->Post(std::move(task)); };
  if (request.body_source) {
    request.body_source = HopBody(std::move(request.body_source), to_caller, to_lane);
  }
  std::shared_ptr<runtime::ResponseSink> hop = HopSink(std::move(callee), to_caller, to_lane);
  lane->Post([lane, served = *found, request = std::move(request), hop]() mutable {
    lane->RunHandedOver(std::move(served), std::move(request), std::move(hop), true);
  });
  return Status::Ok();
}

}  // namespace edge::gateway
