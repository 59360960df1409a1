// Workflow instances in a fleet, a PoP's side (the origin's side and the
// wire format are in edge-sync/workflow_mailbox.h; docs/edge-sync.md,
// "Workflows in a fleet").
//
// On a PoP that is not the home, the node's workflow bindings call this
// (bindings::WorkflowFleet): each create, signal and status read is a
// blocking request to the origin, which answers once the command is
// durable in its mailbox; an origin that cannot be reached fails the call
// with an error saying so (nothing is kept at the PoP to send later).
//
// On the home, a thread of its own, every `poll_ms`: takes the commands
// waiting at the origin (with its pop id and term), applies them to the
// node's WorkflowStore in order (a create only once this node has applied
// the sync log as far as the PoP that sent it had, so it has the worker's
// version), acknowledges them, and pushes the summary of every instance
// the store changed since (all of them when it becomes the home).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/http_client/http_client.h"
#include "bindings/workflows/workflow_fleet.h"
#include "bindings/workflows/workflow_store.h"
#include "edge-sync/cron_home.h"
#include "edge-sync/workflow_mailbox.h"

namespace edge::sync {

// A binding's call blocks a thread of libuv's pool (4, shared by every
// tenant's KV, cache and workflow calls) while it waits for the origin: at
// most this many wait at once in a process; more fail at once.
inline constexpr int kWorkflowMaxCallsInFlight = 2;
// After a call could not reach the origin, calls fail at once for this
// long instead of each waiting for its own timeout.
inline constexpr int64_t kWorkflowOriginBackoffMs = 2000;

struct WorkflowForwarderOptions {
  uint64_t poll_ms = 200;
  // Whether Start runs the home's thread (tests call RunHomeOnce instead).
  bool thread = true;
};

class WorkflowForwarder : public bindings::WorkflowFleet {
 public:
  // `home`: the fleet's home as this PoP last learned it (any thread);
  // `cursor`: how far this node has applied the sync log (any thread).
  WorkflowForwarder(base::HttpTarget upstream, std::string pop_id,
                    std::function<CronHomeState()> home, std::function<uint64_t()> cursor,
                    std::shared_ptr<bindings::WorkflowStore> store,
                    WorkflowForwarderOptions options = {});
  ~WorkflowForwarder() override;
  WorkflowForwarder(const WorkflowForwarder&) = delete;
  WorkflowForwarder& operator=(const WorkflowForwarder&) = delete;

  // Watches the store's changes and starts the home's thread; Stop joins it.
  void Start();
  void Stop();

  bool Remote() const override;
  StatusOr<std::vector<std::string>> Create(
      const std::vector<bindings::WorkflowInstance>& instances, bool batch) override;
  StatusOr<bindings::WorkflowInstance> Get(std::string_view account, std::string_view workflow,
                                           std::string_view id) override;
  Status Control(std::string_view account, std::string_view workflow, std::string_view id,
                 std::string_view op) override;
  Status SendEvent(std::string_view account, std::string_view workflow, std::string_view id,
                   const bindings::WorkflowEventRecord& event) override;

  struct Counts {
    uint64_t forwarded = 0;  // calls the origin accepted
    uint64_t failed = 0;     // calls that could not reach it
    uint64_t applied = 0;    // commands applied here as the home
    uint64_t pushed = 0;     // summaries pushed as the home
  };
  Counts counts() const;

  // One round of the home's work (the thread calls it; tests may too).
  void RunHomeOnce();

 private:
  using Key = std::tuple<std::string, std::string, std::string>;
  StatusOr<base::HttpResponse> Post(std::string_view path, const std::string& body);
  // A binding's call to the origin, within kWorkflowMaxCallsInFlight and
  // not while the origin is backed off.
  StatusOr<base::HttpResponse> Call(std::string_view path, const std::string& body);
  Status Submit(const std::vector<WorkflowCommand>& commands, bool batch,
                std::vector<std::string>* ids);
  // Applies `command` to the store: Ok when done or refused for good
  // (logged), an error to try again later.
  Status Apply(const WorkflowCommand& command);
  void PushSummaries(const CronHomeState& home);
  void Run();

  base::HttpTarget upstream_;
  std::string pop_id_;
  std::function<CronHomeState()> home_;
  std::function<uint64_t()> cursor_;
  std::shared_ptr<bindings::WorkflowStore> store_;
  WorkflowForwarderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool kicked_ = false;  // the store changed: push without waiting for the poll
  std::set<Key> dirty_;  // instances changed since their summary was pushed
  Counts counts_;
  int calls_in_flight_ = 0;
  int64_t origin_away_until_ms_ = 0;  // steady clock
  std::string origin_away_why_;
  std::thread thread_;

  // The home thread's own.
  uint64_t synced_term_ = 0;          // the term whose full summary push is done (0: none)
  std::deque<WorkflowCommand> held_;  // taken, not applied yet (waiting for the log)
};

}  // namespace edge::sync
