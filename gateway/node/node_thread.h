// One serving thread of a PoP node: its libuv loop, its listeners (the
// node's traffic address shared with the other threads through
// SO_REUSEPORT, so the kernel spreads connections), and its IsolatePool.
// A request is routed by Host and path with the NodeState the thread last
// saw, and served by that worker's isolate on this thread, or handed to the
// serving thread that holds the worker's only isolate (a worker loaded once
// at the node's start or by its deploy): an isolate never leaves its
// thread, and a hot worker has one isolate per thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "gateway/http/http_server.h"
#include "gateway/node/ready_queue.h"
#include "gateway/node/start_loads.h"
#include "gateway/node/invocation_record.h"
#include "gateway/node/isolate_pool.h"
#include "gateway/node/worker_lanes.h"
#include "gateway/node/loop_tasks.h"
#include "gateway/node/node_sink.h"
#include "gateway/node/node_state.h"
#include "gateway/node/wall_deadlines.h"
#include "gateway/policy/policy_engine.h"

namespace edge::gateway {

class Node;

class NodeThread {
 public:
  // `ports` are the traffic ports to bind (plain, TLS) when the configured
  // ones are 0: every thread must listen on the port the first one got.
  NodeThread(Node& node, int index, size_t memory_budget_bytes, int http_port = 0,
             int https_port = 0);
  // Threads without listeners that run workers for the serving threads that
  // received their requests (worker_lanes.h): the quarantine thread (the
  // lowest scheduling priority; workers that recently hit their CPU or
  // memory limit) and a serving thread's heavy lane (a little below the
  // serving threads; workers that hold a thread for long stretches).
  static std::unique_ptr<NodeThread> Quarantine(Node& node, int index, size_t memory_budget_bytes);
  static std::unique_ptr<NodeThread> HeavyLane(Node& node, int index, size_t memory_budget_bytes);
  // Where this serving thread sends its heavy workers' requests. Set before
  // Start().
  void set_heavy_lane(NodeThread* lane) { heavy_lane_ = lane; }
  NodeThread* heavy_lane() const { return heavy_lane_; }
  ~NodeThread();
  NodeThread(const NodeThread&) = delete;
  NodeThread& operator=(const NodeThread&) = delete;

  // Starts the thread and waits until it listens (or failed to).
  Status Start();
  // Runs `task` on this thread, in order.
  void Post(std::function<void()> task);
  // Stops accepting, lets requests in flight finish, then ends the loop.
  void Stop();
  void Join();

  // On this thread only.
  IsolatePool& pool() { return *pool_; }
  uv_loop_t* loop() { return &loop_; }
  // The wall-time limits of the invocations this thread answers.
  WallDeadlines* wall_deadlines() { return deadlines_.get(); }
  // The thread serving the current call, if it is a serving thread.
  static NodeThread* Current();
  // Service bindings: another worker, on this thread (or on its lane when
  // it is heavy or quarantined).
  Status Dispatch(const std::string& service, runtime::FetchRequest request,
                  std::shared_ptr<runtime::ResponseSink> sink);

  // On this thread: runs `task` when `served`'s turn comes in the thread's
  // fair queue of ready work (ready_queue.h: CPU in proportion to
  // memory_mb). When the worker already has the most tasks the queue takes
  // waiting, `task` is called at once with false.
  void RunInTurn(const ServedWorker& served, ReadyQueue::Task task);
  // On this thread: `served` used `cpu_ns` of this thread's CPU.
  void ChargeCpu(const ServedWorker& served, uint64_t cpu_ns);

  // What the thread last measured (any thread may read).
  int64_t isolates_alive() const { return alive_.load(); }
  int64_t isolate_memory_bytes() const { return memory_.load(); }
  int index() const { return index_; }
  size_t budget_bytes() const { return budget_bytes_; }
  // The ports this thread listens on (0: none).
  int http_port() const { return http_port_; }
  int https_port() const { return https_port_; }

 private:
  void Main(std::promise<Status> ready);
  Status Listen();
  void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer);
  // The id of the next invocation this thread records: "<pop>-<thread>-<n>",
  // the thread's index and n in hex.
  std::string NextRequestId();
  // Serves a routed request that passed its policies: queues it for its
  // turn here, or hands it to its lane.
  void Serve(const std::shared_ptr<const ServedWorker>& served, InvocationRecord record,
             HttpRequest request, std::shared_ptr<ResponseWriter> writer);
  // A request's turn on this thread: loads the worker if need be, enters it.
  void Enter(const std::shared_ptr<const ServedWorker>& served, InvocationRecord record,
             runtime::FetchRequest fetch, std::shared_ptr<ResponseWriter> writer);
  // On this thread: a request or service-binding call another thread handed
  // over (its response goes back through `sink`), queued for its turn.
  void RunHandedOver(std::shared_ptr<const ServedWorker> served, runtime::FetchRequest fetch,
                     std::shared_ptr<runtime::ResponseSink> sink, bool service_call);
  // What an invocation of `served` that ran on `ran_on` (this thread or a
  // lane) reports its CPU to: the heavy-worker detector here, and the fair
  // queue of the thread it ran on.
  std::function<void(uint64_t cpu_ns)> CpuReporter(NodeThread* ran_on, const ServedWorker& served);
  // After the loop polled: runs the queue's tasks in order for up to
  // kTurnSliceNs, then polls again (without blocking while work is left).
  static void OnCheck(uv_check_t* check);
  // Drops what is still queued and closes the queue's handles (the thread
  // is stopping).
  void CloseQueue();
  // Serves `served` on `lane` (the quarantine thread or the heavy lane);
  // the connection stays here.
  void HandleOn(NodeThread* lane, const std::shared_ptr<const ServedWorker>& served,
                runtime::FetchRequest fetch, std::shared_ptr<NodeSink> sink,
                const WorkerLimits& limits);
  // Where a request for `worker` runs: here, or another thread.
  NodeThread* LaneFor(const std::string& worker);
  // While this thread does not hold `served` and the node's start list
  // does (start_loads.h), or another serving thread is its home
  // (ServedWorker::home_thread: a version that arrived since the start):
  // the serving thread that holds it or is loading it, to hand the request
  // to; null to serve it here (this thread claimed it, or it is neither).
  NodeThread* HolderFor(const std::shared_ptr<const ServedWorker>& served);
  // Between two turns of ready work: loads one worker in the background (a
  // start load this thread claimed, the next of the start list while its
  // share of the budget has room, then its own copy of a worker it hands
  // over often). False when there is nothing left to load.
  bool LoadInBackground();
  static void OnLoadTurn(uv_idle_t* idle);
  // Before the loop polls: the longest background entry (no request open)
  // of each worker in the turn that ended, to find heavy ones.
  static void OnTurnEnd(uv_prepare_t* prepare);
  // `worker` held a thread for `ns` in one invocation or background entry.
  void NoteCpu(const std::string& worker, uint64_t ns);
  // Answers without a worker (no route, not loaded) and records it.
  void Refuse(ResponseWriter& writer, InvocationRecord record, int status,
              std::string_view message, std::string_view outcome);
  static void OnMeasure(uv_timer_t* timer);

  Node& node_;
  int index_;
  size_t budget_bytes_;
  int http_port_;
  int https_port_;
  enum class Kind { kServing, kQuarantine, kHeavyLane };
  Kind kind_ = Kind::kServing;
  NodeThread* heavy_lane_ = nullptr;
  std::unique_ptr<HeavyDetector> heavy_;
  uv_prepare_t turn_end_;
  ReadyQueue queue_;
  uv_check_t run_check_;
  uv_idle_t run_idle_;  // active while the queue has work: the loop polls without blocking
  bool queue_closed_ = false;
  // The node's start loads (serving threads; null elsewhere) and this
  // thread's part in them: the idle handle that loads between turns,
  // workers a request here claimed, whether it claims more, what its
  // isolates hold as far as it knows (MemoryInUse now and then, plus each
  // load), and the workers it hands over, by how often, with those it
  // will load a copy of.
  std::shared_ptr<StartLoads> start_;
  uv_idle_t load_idle_;
  bool load_idle_open_ = false;
  std::deque<std::shared_ptr<const ServedWorker>> claimed_;
  bool claiming_ = true;
  size_t memory_estimate_ = 0;
  size_t loads_since_measure_ = 0;
  size_t last_load_bytes_ = 0;
  std::unordered_map<std::string, uint32_t> handed_over_;
  std::deque<std::shared_ptr<const ServedWorker>> copies_;
  std::thread thread_;
  uv_loop_t loop_;
  std::unique_ptr<LoopTasks> tasks_;
  std::unique_ptr<WallDeadlines> deadlines_;
  std::unique_ptr<StateReader> reader_;
  std::unique_ptr<IsolatePool> pool_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<HttpServer> https_;
  uv_timer_t measure_timer_;
  std::string default_host_;
  std::string cf_json_;  // request.cf of every request this node serves
  policy::PolicyContext policy_context_;  // the node's, with `post` to this loop
  uint64_t next_request_ = 0;
  std::string request_id_prefix_;  // "<pop>-<thread index in hex>-", made on first use
  int servers_open_ = 0;
  std::atomic<int64_t> alive_{0};
  std::atomic<int64_t> memory_{0};
  // The pool's evictions already counted in the node's metrics (the pool
  // also evicts between measurements, to make room for its spares).
  uint64_t evictions_reported_ = 0;
  uint64_t cold_loads_reported_ = 0;
  std::atomic<bool> started_{false};
};

}  // namespace edge::gateway
