// Workflow instances in a fleet, the origin's side (docs/edge-sync.md,
// "Workflows in a fleet"). Instances live on one node, the fleet's home
// (the cron home, edge-sync/cron_home.h). A PoP that is not the home sends
// each call of a workflow binding to the origin:
//
//   create, createBatch, pause, resume, terminate, restart, sendEvent
//       are commands, committed to the WorkflowMailbox (LMDB,
//       `<data_dir>/workflow-mailbox`) before the origin answers, so a
//       create() resolves once it is durable; the home takes them
//       (POST /sync/workflows/take, with its pop id and term), applies
//       them to its WorkflowStore and acknowledges them
//       (POST /sync/workflows/ack); a command taken and not acknowledged
//       within the lease is handed out again (at least once);
//   status() reads the instance's summary (status, output, error), which
//       the home pushes on every change (POST /sync/workflows/summaries);
//       a create writes a `queued` summary, so the origin knows every id
//       it accepted and refuses one taken (create) or unknown (the others).
//
// Only the current home, under its current term, may take, acknowledge
// and push summaries (409 otherwise). The wire format (JSON, bytes in
// base64) is written and read here for both sides.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"
#include "bindings/workflows/workflow_store.h"
#include "edge-sync/cron_home.h"
#include "gateway/http/http_types.h"

namespace edge::sync {

// One call of a workflow binding on its way to the home.
struct WorkflowCommand {
  uint64_t seq = 0;  // given by the mailbox
  // "create", "pause", "resume", "terminate", "restart" or "event".
  std::string op;
  // Every command: instance.account, .workflow and .id. A create: the
  // instance as the PoP's binding describes it (also .worker, .class_name,
  // .version, .params and .created_ms).
  bindings::WorkflowInstance instance;
  // create: the sync cursor of the PoP that sent it. The home applies it
  // once its own cursor is there (it has the worker's version by then).
  uint64_t cursor = 0;
  // event:
  std::string event_type;
  std::string payload;  // V8-serialized
  int64_t event_ms = 0;
};

// What the origin keeps of an instance for status(): `instance` holds the
// account, workflow, id, status, created_ms, output and error; `gone`: the
// home deleted it (retention), and so does the origin.
struct WorkflowSummaryRecord {
  bindings::WorkflowInstance instance;
  bool gone = false;
};

struct WorkflowMailboxLimits {
  // Commands kept at once, and their bytes: beyond, submits are refused
  // (503) until the home takes some.
  uint64_t max_commands = 100'000;
  uint64_t max_bytes = uint64_t{2} << 30;
  // A command taken and not acknowledged this long is handed out again.
  int64_t lease_ms = 10'000;
};

// The largest body a PoP sends or the origin takes on /sync/workflows/...
// (within the admin API's 32 MiB): a createBatch whose params exceed it is
// refused at the PoP.
inline constexpr size_t kWorkflowFleetMaxBodyBytes = 24u << 20;
// What one take hands out and one summaries push carries, at most.
inline constexpr size_t kWorkflowFleetBatchBytes = 8u << 20;
inline constexpr size_t kWorkflowFleetMaxTake = 200;

class WorkflowMailbox {
 public:
  static StatusOr<std::unique_ptr<WorkflowMailbox>> Open(const std::string& data_dir,
                                                         WorkflowMailboxLimits limits = {});
  // Commits `commands` (all creates, or a single other one). Creates: an id
  // the origin knows is refused (`batch` false) or skipped (`batch` true);
  // returns the ids created. Others: refused for an id it does not know
  // (instance.not_found), and pause, resume, terminate and sendEvent for an
  // instance its home reported finished, with the store's messages.
  StatusOr<std::vector<std::string>> Submit(std::vector<WorkflowCommand> commands, bool batch);
  // Up to `max` commands (and about kWorkflowFleetBatchBytes), oldest
  // first, not leased now; each is leased until now + lease_ms.
  StatusOr<std::vector<WorkflowCommand>> Take(size_t max, int64_t now_ms);
  // Deletes the commands the home applied (unknown seqs are ignored).
  Status Ack(const std::vector<uint64_t>& seqs);
  // Stores what the home reported (a gone summary deletes).
  Status PutSummaries(const std::vector<WorkflowSummaryRecord>& summaries);
  // The instance as last reported (kNotFound with the store's message).
  StatusOr<bindings::WorkflowInstance> Summary(std::string_view account, std::string_view workflow,
                                               std::string_view id);
  uint64_t pending();

 private:
  WorkflowMailbox(std::unique_ptr<base::LmdbEnv> env, MDB_dbi commands, MDB_dbi summaries,
                  MDB_dbi meta, WorkflowMailboxLimits limits)
      : env_(std::move(env)),
        commands_(commands),
        summaries_(summaries),
        meta_(meta),
        limits_(limits) {}

  std::unique_ptr<base::LmdbEnv> env_;
  MDB_dbi commands_, summaries_, meta_;
  WorkflowMailboxLimits limits_;
  std::mutex mutex_;
  std::map<uint64_t, int64_t> leases_;  // seq -> leased until (ms); kept in memory only
};

// The wire format. Commands and summaries are JSON objects; bytes are
// base64. Decoders refuse (kInvalidInput, naming the field) anything else.
std::string EncodeWorkflowCommand(const WorkflowCommand& command);
std::string EncodeWorkflowSummary(const WorkflowSummaryRecord& summary);
// POST /sync/workflows/submit: {"batch":bool,"commands":[...]}.
std::string EncodeWorkflowSubmit(const std::vector<WorkflowCommand>& commands, bool batch);
struct WorkflowSubmit {
  bool batch = false;
  std::vector<WorkflowCommand> commands;
};
StatusOr<WorkflowSubmit> DecodeWorkflowSubmit(std::string_view json);
// The answer to a take: {"commands":[...]} with their seqs.
StatusOr<std::vector<WorkflowCommand>> DecodeWorkflowTake(std::string_view json);
// A summaries push: {"pop_id","term","summaries":[...]}; and the answer to
// POST /sync/workflows/status (one summary).
StatusOr<std::vector<WorkflowSummaryRecord>> DecodeWorkflowSummaries(std::string_view json);
StatusOr<WorkflowSummaryRecord> DecodeWorkflowSummary(std::string_view json);
// The home's pop id and term of take, ack and summaries bodies.
StatusOr<CronHomeState> DecodeWorkflowCaller(std::string_view json);
// The status of `name` ("complete" -> kComplete), kUnknown when none.
bindings::WorkflowStatus ParseWorkflowStatus(std::string_view name);

// Answers POST /sync/workflows/{submit,status,take,ack,summaries} on the
// origin; `home` is the fleet's home as the origin names it now. False for
// other paths.
bool HandleWorkflowMailboxRequest(std::string_view path, const gateway::HttpRequest& request,
                                  gateway::ResponseWriter& writer, WorkflowMailbox& mailbox,
                                  const CronHomeState& home);

}  // namespace edge::sync
