// Cloudflare Workflows storage on LMDB: every instance of every workflow of
// an account, its steps (each completed result, each attempt), its events
// and when it next wants to run. No V8 here: each method is a blocking call,
// safe from several threads at once (the binding's natives call it on
// libuv's thread pool, the engine on its loop, `edge workflows` directly).
//
// One LMDB environment per data directory: `<state_dir>/workflows`.
//
// Layout (five named databases):
//   meta       "format" -> "1"
//   instances  account \0 workflow \0 id -> the instance record
//   steps      account \0 workflow \0 id \0 u32 index -> a step record, in
//              the order the steps first ran
//   events     account \0 workflow \0 id \0 u64 seq -> an event sent and not
//              consumed yet (type, payload, time)
//   due        u64 wake ms \0 account \0 workflow \0 id -> "": the instances
//              that want to run at that time (queued, running, waiting)
//   usage      account -> u64 bytes stored (parameters, results, events)
// Each change of an instance (a run's report, pause, an event) is one write
// transaction: a step's result is on disk before the next step starts.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <atomic>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"

namespace edge::bindings {

// Workers' limits for Workflows (paid plan), shared by the store, the
// natives, the JavaScript and `edge workflows`.
inline constexpr size_t kWorkflowMaxStepResultBytes = 1 << 20;      // a step's result, serialized
inline constexpr size_t kWorkflowMaxEventPayloadBytes = 1 << 20;    // sendEvent's payload
inline constexpr size_t kWorkflowMaxParamsBytes = 1 << 20;          // create's params
inline constexpr uint32_t kWorkflowMaxSteps = 10'000;               // steps per instance (sleeps aside)
inline constexpr size_t kWorkflowMaxStepNameBytes = 256;
inline constexpr size_t kWorkflowMaxIdBytes = 100;                  // instance ids, event types
inline constexpr size_t kWorkflowMaxNameBytes = 64;                 // a workflow's name
inline constexpr size_t kWorkflowMaxBatch = 100;                    // createBatch
inline constexpr int64_t kWorkflowMaxSleepMs = 365LL * 24 * 3600 * 1000;
inline constexpr int64_t kWorkflowDefaultEventTimeoutMs = 24LL * 3600 * 1000;
inline constexpr uint32_t kWorkflowMaxRetries = 10'000;
// How long finished instances are kept (Workers' default: 7 days).
inline constexpr int64_t kWorkflowDefaultRetentionMs = 7LL * 24 * 3600 * 1000;
// What an account may keep in its instances unless the host says otherwise
// (Workers keeps up to 1 GB per instance; edge bounds the account).
inline constexpr uint64_t kWorkflowDefaultAccountQuotaBytes = uint64_t{1} << 30;
// What each instance, step and event costs in the quota besides its bytes.
inline constexpr uint64_t kWorkflowRecordOverheadBytes = 128;
// Attempts remembered per step for `describe` (the count is always exact).
inline constexpr size_t kWorkflowAttemptsKept = 32;
// A run that died without a report (the CPU or memory limit, a load
// failure) is tried again this many times before the instance errors.
inline constexpr uint32_t kWorkflowMaxRunFailures = 5;

using WorkflowClock = std::function<int64_t()>;  // Unix milliseconds now

// Workers' rule for instance ids and event types: 1 to 100 characters of
// [a-zA-Z0-9_-], not starting with '-'. `what` names it in the error.
Status ValidateWorkflowId(std::string_view id, std::string_view what);
// How instances are keyed (account \0 workflow \0 id), here and by the
// fleet's mailbox of summaries (edge-sync/workflow_mailbox.h).
std::string WorkflowInstanceKey(std::string_view account, std::string_view workflow,
                                std::string_view id);
// A workflow's name as wrangler accepts it: 1 to 64 of [a-zA-Z0-9_-].
Status ValidateWorkflowName(std::string_view name);

enum class WorkflowStatus : uint8_t {
  kQueued = 0,
  kRunning,
  kPaused,
  kErrored,
  kTerminated,
  kComplete,
  kWaiting,
  kWaitingForPause,
  kUnknown,
};
std::string_view WorkflowStatusName(WorkflowStatus status);
bool WorkflowFinished(WorkflowStatus status);

struct WorkflowAttempt {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool ok = false;
  std::string error;  // "Name: message" when it failed
};

// One step of an instance, identified by its name and its occurrence
// (1 for the first step.do("x"), 2 for the second of that name), as Workers
// identifies them.
struct WorkflowStep {
  enum Kind : uint8_t { kDo = 0, kSleep, kWait };
  enum State : uint8_t {
    kRunning = 0,   // an attempt is out (or about to be)
    kRetrying,      // a failed attempt; the next one at wake_ms
    kDone,          // result holds the value (or the event)
    kFailed,        // out of retries (or timed out waiting): error_*
    kSleeping,      // until wake_ms
    kWaiting,       // for an event of event_type, until wake_ms
  };
  std::string name;
  uint32_t count = 1;
  Kind kind = kDo;
  State state = kRunning;
  uint32_t attempts = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t wake_ms = 0;
  std::string result;  // V8-serialized (a do's value; a wait's event)
  std::string error_name;
  std::string error_message;
  std::string event_type;
  std::vector<WorkflowAttempt> history;  // the last kWorkflowAttemptsKept attempts
  bool Settled() const { return state == kDone || state == kFailed; }
};

struct WorkflowEventRecord {
  std::string type;
  std::string payload;  // V8-serialized
  int64_t timestamp_ms = 0;
};

struct WorkflowInstance {
  std::string account;
  std::string workflow;
  std::string id;
  std::string worker;      // the script that defines the class
  std::string version;     // the version it started on ("" under edge dev)
  std::string class_name;
  WorkflowStatus status = WorkflowStatus::kQueued;
  int64_t created_ms = 0;
  int64_t started_ms = 0;   // first run; 0 before
  int64_t ended_ms = 0;     // finished; 0 before
  int64_t wake_ms = 0;      // when it wants to run (0: not by itself)
  std::string params;       // V8-serialized
  std::string output;       // V8-serialized, when complete
  std::string error_name;   // when errored
  std::string error_message;
  uint32_t run_failures = 0;
  uint64_t epoch = 0;       // bumped by terminate and restart: older runs' reports are dropped
  uint64_t runs = 0;
  uint64_t bytes = 0;       // what it costs in the account's quota
  bool pause_requested = false;
};

// Everything about one instance (what a run needs and `describe` shows).
struct WorkflowInstanceState {
  WorkflowInstance instance;
  std::vector<WorkflowStep> steps;
  std::vector<std::pair<uint64_t, WorkflowEventRecord>> events;  // seq -> event, oldest first
};

// What one run of `run()` reported (the engine parses it from the
// invocation's outcome, workflow_engine.h).
struct WorkflowRunReport {
  struct StepConfig {
    uint32_t limit = 5;
    int64_t delay_ms = 10'000;
    enum Backoff : uint8_t { kConstant, kLinear, kExponential } backoff = kExponential;
    int64_t timeout_ms = 10 * 60 * 1000;
  };
  struct Item {
    enum Kind : uint8_t { kStarted, kDone, kFailed, kSleep, kWait } kind = kStarted;
    std::string name;
    uint32_t count = 1;
    StepConfig config;
    std::string result;  // kDone
    std::string error_name, error_message;
    bool non_retryable = false;
    int64_t start_ms = 0;  // kDone / kFailed: when the attempt began (0: the run's start)
    int64_t duration_ms = 0;
    int64_t sleep_ms = 0;       // kSleep: relative, or
    int64_t until_ms = -1;      // kSleep: absolute (sleepUntil)
    std::string event_type;     // kWait
    int64_t timeout_ms = kWorkflowDefaultEventTimeoutMs;
  };
  std::vector<Item> items;
  enum End : uint8_t { kBlocked, kReturned, kThrew, kDied } end = kBlocked;
  std::string output;  // kReturned
  std::string error_name, error_message;  // kThrew, kDied
};

// The delay before retry number `retry` (1 for the first retry) of a step.
int64_t WorkflowRetryDelayMs(const WorkflowRunReport::StepConfig& config, uint32_t retry);

struct WorkflowSummary {
  std::string name;
  uint64_t instances = 0;
  uint64_t by_status[static_cast<int>(WorkflowStatus::kUnknown) + 1] = {};
};

class WorkflowStore {
 public:
  struct Options {
    size_t map_size = size_t{1} << 30;
    uint64_t account_quota_bytes = kWorkflowDefaultAccountQuotaBytes;
    int64_t retention_ms = kWorkflowDefaultRetentionMs;
  };
  // Opens (or creates) `<state_dir>/workflows`; within one process a second
  // Open of the same folder returns the same store.
  static StatusOr<std::shared_ptr<WorkflowStore>> Open(const std::string& state_dir,
                                                       Options options, WorkflowClock clock);
  ~WorkflowStore();
  WorkflowStore(const WorkflowStore&) = delete;
  WorkflowStore& operator=(const WorkflowStore&) = delete;

  const std::string& path() const { return path_; }
  const WorkflowClock& clock() const { return clock_; }
  const Options& options() const { return options_; }

  // A new instance, queued to run now. Refused when the id is taken by an
  // instance still kept (Workers' message), or the quota is full.
  Status Create(const WorkflowInstance& instance);
  // Several in one transaction; an id already taken is skipped (Workers'
  // createBatch). Returns the ids created.
  StatusOr<std::vector<std::string>> CreateBatch(const std::vector<WorkflowInstance>& instances);
  StatusOr<WorkflowInstance> Get(std::string_view account, std::string_view workflow,
                                 std::string_view id);
  StatusOr<WorkflowInstanceState> Load(std::string_view account, std::string_view workflow,
                                       std::string_view id);
  // The instances of a workflow, newest first, at most `limit`.
  StatusOr<std::vector<WorkflowInstance>> List(std::string_view account, std::string_view workflow,
                                               size_t limit);
  // Every workflow with instances in `account`, with counts by status.
  StatusOr<std::vector<WorkflowSummary>> Workflows(std::string_view account);

  // pause(), resume(), terminate(), restart() (Workers' rules: an instance
  // that finished cannot be paused or resumed; restart starts it over).
  Status Pause(std::string_view account, std::string_view workflow, std::string_view id);
  Status Resume(std::string_view account, std::string_view workflow, std::string_view id);
  Status Terminate(std::string_view account, std::string_view workflow, std::string_view id);
  Status Restart(std::string_view account, std::string_view workflow, std::string_view id);
  // sendEvent(): kept until a waitForEvent of its type takes it; a waiting
  // step takes it at once and the instance is due.
  Status SendEvent(std::string_view account, std::string_view workflow, std::string_view id,
                   WorkflowEventRecord event);

  // Up to `max` instances due at `now` (queued, running or waiting with a
  // wake time passed), oldest wake first, except those in `skip`.
  struct Due {
    std::string account, workflow, id;
    int64_t wake_ms = 0;
  };
  // `want` (when set) says which of them to return; at most kDueScan
  // entries are looked at.
  StatusOr<std::vector<Due>> DueBy(int64_t now, size_t max,
                                   const std::function<bool(const Due&)>& want = nullptr);
  // Called (on the changing thread, briefly) after a change that makes an
  // instance due at once (create, resume, restart, an event delivered):
  // the engine wakes then instead of at its next poll. Null: none.
  void SetOnDue(std::function<void()> on_due);
  // Called (on the changing thread, after the commit) with the instance a
  // committed change touched: created, paused, resumed, terminated,
  // restarted, sent an event, run, or deleted by the sweep. A fleet's home
  // pushes what changed to the origin (edge-sync/workflow_forwarder.h).
  // Null: none.
  using OnChange = std::function<void(std::string_view account, std::string_view workflow,
                                      std::string_view id)>;
  void SetOnChange(OnChange on_change);
  // Every instance of every account in key order (account, workflow, id),
  // starting after the one named (all empty: from the first), at most
  // `limit`.
  StatusOr<std::vector<WorkflowInstance>> ScanAfter(std::string_view account,
                                                    std::string_view workflow,
                                                    std::string_view id, size_t limit);
  // The earliest wake time of any instance (nullopt: none).
  std::optional<int64_t> NextWake();
  // Starts a run of a due instance: settles the sleeps and waits that are
  // over, marks it running, and returns its state for the run (nullopt
  // when it is no longer due: paused, finished, or not yet).
  StatusOr<std::optional<WorkflowInstanceState>> BeginRun(std::string_view account,
                                                          std::string_view workflow,
                                                          std::string_view id, int64_t now);
  // Applies a run's report in one transaction: step results and failures
  // (with retries scheduled), sleeps, waits, the instance's end. `epoch` is
  // the one BeginRun returned: a report of an older epoch (the instance was
  // terminated or restarted meanwhile) is dropped. Returns the new state.
  StatusOr<WorkflowInstance> FinishRun(std::string_view account, std::string_view workflow,
                                       std::string_view id, uint64_t epoch,
                                       const WorkflowRunReport& report, int64_t started_ms,
                                       int64_t now);
  // Deletes the finished instances older than the retention period;
  // returns how many.
  StatusOr<uint64_t> SweepFinished();
  uint64_t AccountBytes(std::string_view account);
  uint64_t account_quota_bytes() const { return options_.account_quota_bytes; }

 private:
  struct Dbs {
    MDB_dbi meta = 0, instances = 0, steps = 0, events = 0, due = 0, usage = 0;
  };
  WorkflowStore(std::unique_ptr<base::LmdbEnv> env, Dbs dbs, Options options, WorkflowClock clock,
                std::string path);
  StatusOr<std::optional<WorkflowInstance>> ReadInstance(MDB_txn* txn, const std::string& key);
  Status WriteInstance(MDB_txn* txn, const WorkflowInstance& instance, int64_t old_wake);
  StatusOr<std::vector<WorkflowStep>> ReadSteps(MDB_txn* txn, const std::string& key);
  Status WriteStep(MDB_txn* txn, const std::string& key, uint32_t index, const WorkflowStep& step);
  StatusOr<std::vector<std::pair<uint64_t, WorkflowEventRecord>>> ReadEvents(MDB_txn* txn,
                                                                             const std::string& key);
  Status DeleteUnder(MDB_dbi dbi, MDB_txn* txn, const std::string& prefix);
  Status AddUsage(MDB_txn* txn, std::string_view account, int64_t delta);
  uint64_t UsageIn(MDB_txn* txn, std::string_view account);
  Status CreateIn(MDB_txn* txn, const WorkflowInstance& instance, bool skip_taken, bool* created);
  // Runs `change` on the instance's record in one write transaction and
  // writes it back (with its due entry) when it returns Ok.
  Status Mutate(std::string_view account, std::string_view workflow, std::string_view id,
                const std::function<Status(MDB_txn*, const std::string& key, WorkflowInstance&)>& change);
  Status ApplyReport(MDB_txn* txn, const std::string& key, WorkflowInstance& instance,
                     std::vector<WorkflowStep>& steps, const WorkflowRunReport& report,
                     int64_t started_ms, int64_t now);
  // Hands buffered events to the waits of `steps` that match; true when
  // one was.
  StatusOr<bool> DeliverEvents(MDB_txn* txn, const std::string& key, std::vector<WorkflowStep>& steps);

  std::unique_ptr<base::LmdbEnv> env_;
  Dbs dbs_;
  Options options_;
  WorkflowClock clock_;
  std::string path_;
  std::atomic<uint64_t> next_event_{0};
  std::mutex mutex_;
  std::function<void()> on_due_;  // guarded by mutex_
  OnChange on_change_;            // guarded by mutex_
  void NotifyDue();
  void NotifyChange(std::string_view account, std::string_view workflow, std::string_view id);
};

}  // namespace edge::bindings
