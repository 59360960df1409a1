#include "bindings/workflows/workflow_store.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "base/log.h"
#include "base/per_path_registry.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;
using base::GetBe;
using base::PutBe32;
using base::PutBe64;
using base::Val;
using base::View;

constexpr base::LmdbNames kLmdbNames{"the workflow store", "workflow store: ", "workflow store"};
// The retention sweep looks at no more than this many instances per call.
constexpr size_t kMaxSweepScan = 10'000;
// DueBy looks at no more than this many due entries per call.
constexpr size_t kDueScan = 10'000;

std::string InstanceKey(std::string_view account, std::string_view workflow, std::string_view id) {
  return WorkflowInstanceKey(account, workflow, id);
}

std::string ChildPrefix(const std::string& instance_key) { return instance_key + '\0'; }

std::string UsageKey(std::string_view account) { return "u" + std::string(account); }

// The records are fields one after the other: integers big-endian, strings
// and bytes with a u32 length before them.
class Writer {
 public:
  void U8(uint8_t value) { out_ += static_cast<char>(value); }
  void U32(uint32_t value) { PutBe32(out_, value); }
  void I64(int64_t value) { PutBe64(out_, static_cast<uint64_t>(value)); }
  void Str(std::string_view value) {
    U32(static_cast<uint32_t>(value.size()));
    out_ += value;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t U8() {
    if (!Need(1)) return 0;
    uint8_t value = static_cast<uint8_t>(in_[at_]);
    at_ += 1;
    return value;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t value = static_cast<uint32_t>(GetBe(in_.data() + at_, 4));
    at_ += 4;
    return value;
  }
  int64_t I64() {
    if (!Need(8)) return 0;
    int64_t value = static_cast<int64_t>(GetBe(in_.data() + at_, 8));
    at_ += 8;
    return value;
  }
  std::string Str() {
    uint32_t size = U32();
    if (!Need(size)) return {};
    std::string value(in_.substr(at_, size));
    at_ += size;
    return value;
  }
  bool ok() const { return ok_; }

 private:
  bool Need(size_t bytes) {
    if (!ok_ || in_.size() - at_ < bytes) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  size_t at_ = 0;
  bool ok_ = true;
};

std::string EncodeInstance(const WorkflowInstance& instance) {
  Writer w;
  w.Str(instance.account);
  w.Str(instance.workflow);
  w.Str(instance.id);
  w.Str(instance.worker);
  w.Str(instance.version);
  w.Str(instance.class_name);
  w.U8(static_cast<uint8_t>(instance.status));
  w.I64(instance.created_ms);
  w.I64(instance.started_ms);
  w.I64(instance.ended_ms);
  w.I64(instance.wake_ms);
  w.Str(instance.params);
  w.Str(instance.output);
  w.Str(instance.error_name);
  w.Str(instance.error_message);
  w.U32(instance.run_failures);
  w.I64(static_cast<int64_t>(instance.epoch));
  w.I64(static_cast<int64_t>(instance.runs));
  w.I64(static_cast<int64_t>(instance.bytes));
  w.U8(instance.pause_requested ? 1 : 0);
  return w.Take();
}

std::optional<WorkflowInstance> DecodeInstance(std::string_view bytes) {
  Reader r(bytes);
  WorkflowInstance instance;
  instance.account = r.Str();
  instance.workflow = r.Str();
  instance.id = r.Str();
  instance.worker = r.Str();
  instance.version = r.Str();
  instance.class_name = r.Str();
  uint8_t status = r.U8();
  instance.status = status <= static_cast<uint8_t>(WorkflowStatus::kUnknown)
                        ? static_cast<WorkflowStatus>(status)
                        : WorkflowStatus::kUnknown;
  instance.created_ms = r.I64();
  instance.started_ms = r.I64();
  instance.ended_ms = r.I64();
  instance.wake_ms = r.I64();
  instance.params = r.Str();
  instance.output = r.Str();
  instance.error_name = r.Str();
  instance.error_message = r.Str();
  instance.run_failures = r.U32();
  instance.epoch = static_cast<uint64_t>(r.I64());
  instance.runs = static_cast<uint64_t>(r.I64());
  instance.bytes = static_cast<uint64_t>(r.I64());
  instance.pause_requested = r.U8() != 0;
  if (!r.ok()) return std::nullopt;
  return instance;
}

std::string EncodeStep(const WorkflowStep& step) {
  Writer w;
  w.Str(step.name);
  w.U32(step.count);
  w.U8(step.kind);
  w.U8(step.state);
  w.U32(step.attempts);
  w.I64(step.start_ms);
  w.I64(step.end_ms);
  w.I64(step.wake_ms);
  w.Str(step.result);
  w.Str(step.error_name);
  w.Str(step.error_message);
  w.Str(step.event_type);
  w.U32(static_cast<uint32_t>(step.history.size()));
  for (const WorkflowAttempt& attempt : step.history) {
    w.I64(attempt.start_ms);
    w.I64(attempt.end_ms);
    w.U8(attempt.ok ? 1 : 0);
    w.Str(attempt.error);
  }
  return w.Take();
}

std::optional<WorkflowStep> DecodeStep(std::string_view bytes) {
  Reader r(bytes);
  WorkflowStep step;
  step.name = r.Str();
  step.count = r.U32();
  step.kind = static_cast<WorkflowStep::Kind>(std::min<uint8_t>(r.U8(), WorkflowStep::kWait));
  step.state = static_cast<WorkflowStep::State>(std::min<uint8_t>(r.U8(), WorkflowStep::kWaiting));
  step.attempts = r.U32();
  step.start_ms = r.I64();
  step.end_ms = r.I64();
  step.wake_ms = r.I64();
  step.result = r.Str();
  step.error_name = r.Str();
  step.error_message = r.Str();
  step.event_type = r.Str();
  uint32_t history = r.U32();
  for (uint32_t i = 0; i < history && r.ok() && i < kWorkflowAttemptsKept; ++i) {
    WorkflowAttempt attempt;
    attempt.start_ms = r.I64();
    attempt.end_ms = r.I64();
    attempt.ok = r.U8() != 0;
    attempt.error = r.Str();
    step.history.push_back(std::move(attempt));
  }
  if (!r.ok()) return std::nullopt;
  return step;
}

std::string EncodeEvent(const WorkflowEventRecord& event) {
  Writer w;
  w.Str(event.type);
  w.I64(event.timestamp_ms);
  w.Str(event.payload);
  return w.Take();
}

std::optional<WorkflowEventRecord> DecodeEvent(std::string_view bytes) {
  Reader r(bytes);
  WorkflowEventRecord event;
  event.type = r.Str();
  event.timestamp_ms = r.I64();
  event.payload = r.Str();
  if (!r.ok()) return std::nullopt;
  return event;
}

// Whether an instance in `status` has an entry in the due index.
bool DueAble(WorkflowStatus status) {
  return status == WorkflowStatus::kQueued || status == WorkflowStatus::kRunning ||
         status == WorkflowStatus::kWaiting || status == WorkflowStatus::kWaitingForPause;
}

std::string DueKey(int64_t wake_ms, const std::string& instance_key) {
  std::string key = base::Be64(static_cast<uint64_t>(std::max<int64_t>(wake_ms, 0)));
  key += instance_key;
  return key;
}

uint64_t StepCost(const WorkflowStep& step) {
  return kWorkflowRecordOverheadBytes + step.name.size() + step.result.size() +
         step.error_message.size();
}

std::string Described(std::string_view name, std::string_view message) {
  if (name.empty()) return std::string(message);
  return fmt::format("{}: {}", name, message);
}

void AddAttempt(WorkflowStep& step, WorkflowAttempt attempt) {
  if (step.history.size() >= kWorkflowAttemptsKept) step.history.erase(step.history.begin());
  step.history.push_back(std::move(attempt));
}

Status NotFound(std::string_view workflow, std::string_view id) {
  return Status(ErrorCode::kNotFound,
                fmt::format("instance.not_found: no instance \"{}\" of workflow \"{}\"", id, workflow));
}

}  // namespace

std::string WorkflowInstanceKey(std::string_view account, std::string_view workflow,
                                std::string_view id) {
  std::string key(account);
  key += '\0';
  key += workflow;
  key += '\0';
  key += id;
  return key;
}

Status ValidateWorkflowId(std::string_view id, std::string_view what) {
  bool ok = !id.empty() && id.size() <= kWorkflowMaxIdBytes && id.front() != '-';
  for (char c : id) {
    ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-';
  }
  if (ok) return Status::Ok();
  return Status(ErrorCode::kTypeError,
                fmt::format("{} \"{}\" is not valid: use 1 to {} characters of a-z, A-Z, 0-9, _ and -, "
                            "not starting with - (^[a-zA-Z0-9_][a-zA-Z0-9-_]*$)",
                            what, id.substr(0, 120), kWorkflowMaxIdBytes));
}

Status ValidateWorkflowName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kWorkflowMaxNameBytes;
  for (char c : name) {
    ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-';
  }
  if (ok) return Status::Ok();
  return Status(ErrorCode::kInvalidInput,
                fmt::format("\"{}\" is not a valid workflow name: use 1 to {} of a-z, A-Z, 0-9, _ and -",
                            name.substr(0, 80), kWorkflowMaxNameBytes));
}

std::string_view WorkflowStatusName(WorkflowStatus status) {
  switch (status) {
    case WorkflowStatus::kQueued: return "queued";
    case WorkflowStatus::kRunning: return "running";
    case WorkflowStatus::kPaused: return "paused";
    case WorkflowStatus::kErrored: return "errored";
    case WorkflowStatus::kTerminated: return "terminated";
    case WorkflowStatus::kComplete: return "complete";
    case WorkflowStatus::kWaiting: return "waiting";
    case WorkflowStatus::kWaitingForPause: return "waitingForPause";
    case WorkflowStatus::kUnknown: break;
  }
  return "unknown";
}

bool WorkflowFinished(WorkflowStatus status) {
  return status == WorkflowStatus::kErrored || status == WorkflowStatus::kTerminated ||
         status == WorkflowStatus::kComplete;
}

int64_t WorkflowRetryDelayMs(const WorkflowRunReport::StepConfig& config, uint32_t retry) {
  int64_t delay = std::max<int64_t>(config.delay_ms, 0);
  retry = std::max<uint32_t>(retry, 1);
  int64_t out = delay;
  switch (config.backoff) {
    case WorkflowRunReport::StepConfig::kConstant:
      break;
    case WorkflowRunReport::StepConfig::kLinear:
      out = delay * retry;
      break;
    case WorkflowRunReport::StepConfig::kExponential:
      // delay * 2^(retry - 1), held below a year.
      for (uint32_t i = 1; i < retry && out < kWorkflowMaxSleepMs; ++i) out *= 2;
      break;
  }
  return std::min(out, kWorkflowMaxSleepMs);
}

StatusOr<std::shared_ptr<WorkflowStore>> WorkflowStore::Open(const std::string& state_dir,
                                                             Options options, WorkflowClock clock) {
  StatusOr<std::string> made =
      base::MakeStoreDir((fs::path(state_dir) / "workflows").string(), /*private_dir=*/false);
  if (!made.ok()) return made.status();
  const std::string path = *made;
  Status failed = Status::Ok();
  std::shared_ptr<WorkflowStore> store = base::PerPathRegistry<WorkflowStore>::Get(path, [&]() -> WorkflowStore* {
    Dbs dbs;
    base::LmdbOptions lmdb;
    lmdb.names = kLmdbNames;
    lmdb.map_size = options.map_size;
    lmdb.shrink_on_enomem = 8;
    lmdb.max_readers = 512;
    lmdb.file_mode = 0644;
    lmdb.dbs = {{"meta", &dbs.meta},     {"instances", &dbs.instances}, {"steps", &dbs.steps},
                {"events", &dbs.events}, {"due", &dbs.due},             {"usage", &dbs.usage}};
    lmdb.init = [&](MDB_txn* txn) -> Status {
      return base::CheckStoreFormat(txn, dbs.meta, "1", "workflow store", path, kLmdbNames);
    };
    StatusOr<std::unique_ptr<base::LmdbEnv>> env = base::LmdbEnv::Open(path, lmdb);
    if (!env.ok()) {
      failed = env.status();
      return nullptr;
    }
    return new WorkflowStore(std::move(env).value(), dbs, options, std::move(clock), path);
  });
  if (!failed.ok()) return failed;
  if (store == nullptr) return Status(ErrorCode::kInternal, "workflow store: cannot open " + path);
  return store;
}

WorkflowStore::WorkflowStore(std::unique_ptr<base::LmdbEnv> env, Dbs dbs, Options options,
                             WorkflowClock clock, std::string path)
    : env_(std::move(env)),
      dbs_(dbs),
      options_(options),
      clock_(std::move(clock)),
      path_(std::move(path)) {
  next_event_ = static_cast<uint64_t>(std::max<int64_t>(clock_(), 0)) << 10;
}

WorkflowStore::~WorkflowStore() = default;

StatusOr<std::optional<WorkflowInstance>> WorkflowStore::ReadInstance(MDB_txn* txn,
                                                                      const std::string& key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbs_.instances, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<WorkflowInstance>();
  if (rc != 0) return env_->Error("read", rc);
  std::optional<WorkflowInstance> instance = DecodeInstance(View(v));
  if (!instance) return Status(ErrorCode::kInternal, "workflow store: an instance record is damaged");
  return instance;
}

Status WorkflowStore::WriteInstance(MDB_txn* txn, const WorkflowInstance& instance,
                                    int64_t old_wake) {
  std::string key = InstanceKey(instance.account, instance.workflow, instance.id);
  if (old_wake != 0) {
    std::string due = DueKey(old_wake, key);
    MDB_val d = Val(due);
    int rc = mdb_del(txn, dbs_.due, &d, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("write", rc);
  }
  std::string record = EncodeInstance(instance);
  MDB_val k = Val(key), v = Val(record);
  int rc = mdb_put(txn, dbs_.instances, &k, &v, 0);
  if (rc != 0) return env_->Error("write", rc);
  if (DueAble(instance.status) && instance.wake_ms != 0) {
    std::string due = DueKey(instance.wake_ms, key);
    MDB_val d = Val(due), empty = Val("");
    rc = mdb_put(txn, dbs_.due, &d, &empty, 0);
    if (rc != 0) return env_->Error("write", rc);
  }
  return Status::Ok();
}

StatusOr<std::vector<WorkflowStep>> WorkflowStore::ReadSteps(MDB_txn* txn, const std::string& key) {
  std::vector<WorkflowStep> steps;
  std::string prefix = ChildPrefix(key);
  base::LmdbCursor cursor(txn, dbs_.steps);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0 && View(k).starts_with(prefix)) {
    std::optional<WorkflowStep> step = DecodeStep(View(v));
    if (!step) return Status(ErrorCode::kInternal, "workflow store: a step record is damaged");
    steps.push_back(std::move(*step));
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  return steps;
}

Status WorkflowStore::WriteStep(MDB_txn* txn, const std::string& key, uint32_t index,
                                const WorkflowStep& step) {
  std::string step_key = ChildPrefix(key);
  PutBe32(step_key, index);
  std::string record = EncodeStep(step);
  MDB_val k = Val(step_key), v = Val(record);
  int rc = mdb_put(txn, dbs_.steps, &k, &v, 0);
  if (rc != 0) return env_->Error("write", rc);
  return Status::Ok();
}

StatusOr<std::vector<std::pair<uint64_t, WorkflowEventRecord>>> WorkflowStore::ReadEvents(
    MDB_txn* txn, const std::string& key) {
  std::vector<std::pair<uint64_t, WorkflowEventRecord>> events;
  std::string prefix = ChildPrefix(key);
  base::LmdbCursor cursor(txn, dbs_.events);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0 && View(k).starts_with(prefix)) {
    std::optional<WorkflowEventRecord> event = DecodeEvent(View(v));
    std::optional<uint64_t> seq = base::GetBe64(View(k).substr(prefix.size()));
    if (!event || !seq) return Status(ErrorCode::kInternal, "workflow store: an event record is damaged");
    events.emplace_back(*seq, std::move(*event));
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  return events;
}

Status WorkflowStore::DeleteUnder(MDB_dbi dbi, MDB_txn* txn, const std::string& prefix) {
  base::LmdbCursor cursor(txn, dbi);
  if (cursor.rc() != 0) return env_->Error("write", cursor.rc());
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0 && View(k).starts_with(prefix)) {
    rc = mdb_cursor_del(cursor.get(), 0);
    if (rc != 0) return env_->Error("write", rc);
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_GET_CURRENT);
    if (rc == EINVAL) rc = MDB_NOTFOUND;  // deleted the last record
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("write", rc);
  return Status::Ok();
}

uint64_t WorkflowStore::UsageIn(MDB_txn* txn, std::string_view account) {
  std::string key = UsageKey(account);
  MDB_val k = Val(key), v;
  if (mdb_get(txn, dbs_.usage, &k, &v) != 0) return 0;
  return base::GetBe64(View(v)).value_or(0);
}

Status WorkflowStore::AddUsage(MDB_txn* txn, std::string_view account, int64_t delta) {
  if (delta == 0) return Status::Ok();
  int64_t now = static_cast<int64_t>(UsageIn(txn, account));
  uint64_t next = static_cast<uint64_t>(std::max<int64_t>(now + delta, 0));
  std::string key = UsageKey(account);
  std::string value = base::Be64(next);
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn, dbs_.usage, &k, &v, 0);
  if (rc != 0) return env_->Error("write", rc);
  return Status::Ok();
}

uint64_t WorkflowStore::AccountBytes(std::string_view account) {
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, true, "read").ok()) return 0;
  return UsageIn(txn.get(), account);
}

Status WorkflowStore::CreateIn(MDB_txn* txn, const WorkflowInstance& proposed, bool skip_taken,
                               bool* created) {
  *created = false;
  std::string key = InstanceKey(proposed.account, proposed.workflow, proposed.id);
  auto existing = ReadInstance(txn, key);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    if (skip_taken) return Status::Ok();
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("instance.already_exists: an instance with id \"{}\" already exists "
                              "for workflow \"{}\"",
                              proposed.id, proposed.workflow));
  }
  if (proposed.params.size() > kWorkflowMaxParamsBytes) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("Workflow instance params are limited to {} bytes once serialized (got {})",
                              kWorkflowMaxParamsBytes, proposed.params.size()));
  }
  WorkflowInstance instance = proposed;
  instance.status = WorkflowStatus::kQueued;
  instance.wake_ms = std::max<int64_t>(instance.created_ms, 1);
  instance.bytes = kWorkflowRecordOverheadBytes + instance.params.size();
  uint64_t used = UsageIn(txn, instance.account);
  if (used + instance.bytes > options_.account_quota_bytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the account's workflow storage is full ({} of {} bytes used): finished "
                              "instances are freed after their retention period",
                              used, options_.account_quota_bytes));
  }
  EDGE_RETURN_IF_ERROR(WriteInstance(txn, instance, 0));
  EDGE_RETURN_IF_ERROR(AddUsage(txn, instance.account, static_cast<int64_t>(instance.bytes)));
  *created = true;
  return Status::Ok();
}

Status WorkflowStore::Create(const WorkflowInstance& instance) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  bool created = false;
  EDGE_RETURN_IF_ERROR(CreateIn(txn.get(), instance, false, &created));
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  NotifyChange(instance.account, instance.workflow, instance.id);
  NotifyDue();
  return Status::Ok();
}

StatusOr<std::vector<std::string>> WorkflowStore::CreateBatch(
    const std::vector<WorkflowInstance>& instances) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  std::vector<std::string> made;
  for (const WorkflowInstance& instance : instances) {
    bool created = false;
    EDGE_RETURN_IF_ERROR(CreateIn(txn.get(), instance, true, &created));
    if (created) made.push_back(instance.id);
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  for (const WorkflowInstance& instance : instances) {
    if (std::find(made.begin(), made.end(), instance.id) != made.end()) {
      NotifyChange(instance.account, instance.workflow, instance.id);
    }
  }
  if (!made.empty()) NotifyDue();
  return made;
}

StatusOr<WorkflowInstance> WorkflowStore::Get(std::string_view account, std::string_view workflow,
                                              std::string_view id) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  auto instance = ReadInstance(txn.get(), InstanceKey(account, workflow, id));
  if (!instance.ok()) return instance.status();
  if (!instance->has_value()) return NotFound(workflow, id);
  return std::move(**instance);
}

StatusOr<WorkflowInstanceState> WorkflowStore::Load(std::string_view account,
                                                    std::string_view workflow, std::string_view id) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  std::string key = InstanceKey(account, workflow, id);
  auto instance = ReadInstance(txn.get(), key);
  if (!instance.ok()) return instance.status();
  if (!instance->has_value()) return NotFound(workflow, id);
  WorkflowInstanceState state;
  state.instance = std::move(**instance);
  auto steps = ReadSteps(txn.get(), key);
  if (!steps.ok()) return steps.status();
  state.steps = std::move(steps).value();
  auto events = ReadEvents(txn.get(), key);
  if (!events.ok()) return events.status();
  state.events = std::move(events).value();
  return state;
}

StatusOr<std::vector<WorkflowInstance>> WorkflowStore::List(std::string_view account,
                                                            std::string_view workflow, size_t limit) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  std::string prefix = std::string(account) + '\0' + std::string(workflow) + '\0';
  std::vector<WorkflowInstance> out;
  base::LmdbCursor cursor(txn.get(), dbs_.instances);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0 && View(k).starts_with(prefix)) {
    std::optional<WorkflowInstance> instance = DecodeInstance(View(v));
    if (instance) out.push_back(std::move(*instance));
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  std::stable_sort(out.begin(), out.end(), [](const WorkflowInstance& a, const WorkflowInstance& b) {
    return a.created_ms > b.created_ms;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

StatusOr<std::vector<WorkflowSummary>> WorkflowStore::Workflows(std::string_view account) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  std::string prefix = std::string(account) + '\0';
  std::map<std::string, WorkflowSummary> found;
  base::LmdbCursor cursor(txn.get(), dbs_.instances);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k = Val(prefix), v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0 && View(k).starts_with(prefix)) {
    std::optional<WorkflowInstance> instance = DecodeInstance(View(v));
    if (instance) {
      WorkflowSummary& summary = found[instance->workflow];
      summary.name = instance->workflow;
      ++summary.instances;
      ++summary.by_status[static_cast<int>(instance->status)];
    }
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  std::vector<WorkflowSummary> out;
  for (auto& [name, summary] : found) out.push_back(std::move(summary));
  return out;
}

Status WorkflowStore::Mutate(
    std::string_view account, std::string_view workflow, std::string_view id,
    const std::function<Status(MDB_txn*, const std::string&, WorkflowInstance&)>& change) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  std::string key = InstanceKey(account, workflow, id);
  auto found = ReadInstance(txn.get(), key);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NotFound(workflow, id);
  WorkflowInstance instance = std::move(**found);
  int64_t old_wake = DueAble(instance.status) ? instance.wake_ms : 0;
  uint64_t old_bytes = instance.bytes;
  EDGE_RETURN_IF_ERROR(change(txn.get(), key, instance));
  EDGE_RETURN_IF_ERROR(WriteInstance(txn.get(), instance, old_wake));
  EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), instance.account,
                                static_cast<int64_t>(instance.bytes) - static_cast<int64_t>(old_bytes)));
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  NotifyChange(account, workflow, id);
  return Status::Ok();
}

Status WorkflowStore::Pause(std::string_view account, std::string_view workflow, std::string_view id) {
  return Mutate(account, workflow, id, [&](MDB_txn*, const std::string&, WorkflowInstance& instance) {
    if (WorkflowFinished(instance.status)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Cannot pause instance \"{}\": it is {}", instance.id,
                                WorkflowStatusName(instance.status)));
    }
    // A run out now finishes first (its report makes the instance paused);
    // the engine's next look at a due instance pauses one not running.
    if (instance.status == WorkflowStatus::kRunning) {
      instance.status = WorkflowStatus::kWaitingForPause;
      instance.wake_ms = std::max<int64_t>(instance.wake_ms, 1);
    } else if (instance.status != WorkflowStatus::kWaitingForPause) {
      instance.status = WorkflowStatus::kPaused;
    }
    instance.pause_requested = true;
    return Status::Ok();
  });
}

Status WorkflowStore::Resume(std::string_view account, std::string_view workflow, std::string_view id) {
  int64_t now = clock_();
  Status done = Mutate(account, workflow, id, [&](MDB_txn*, const std::string&, WorkflowInstance& instance) {
    if (WorkflowFinished(instance.status)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Cannot resume instance \"{}\": it is {}", instance.id,
                                WorkflowStatusName(instance.status)));
    }
    instance.pause_requested = false;
    if (instance.status == WorkflowStatus::kPaused) {
      if (instance.wake_ms == 0) instance.wake_ms = now;
      instance.status = instance.started_ms == 0 ? WorkflowStatus::kQueued
                        : instance.wake_ms > now ? WorkflowStatus::kWaiting
                                                 : WorkflowStatus::kRunning;
    } else if (instance.status == WorkflowStatus::kWaitingForPause) {
      instance.status = WorkflowStatus::kRunning;
    }
    return Status::Ok();
  });
  if (done.ok()) NotifyDue();
  return done;
}

Status WorkflowStore::Terminate(std::string_view account, std::string_view workflow,
                                std::string_view id) {
  int64_t now = clock_();
  return Mutate(account, workflow, id, [&](MDB_txn*, const std::string&, WorkflowInstance& instance) {
    if (WorkflowFinished(instance.status)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Cannot terminate instance \"{}\": it is already {}", instance.id,
                                WorkflowStatusName(instance.status)));
    }
    instance.status = WorkflowStatus::kTerminated;
    instance.ended_ms = now;
    instance.wake_ms = 0;
    instance.pause_requested = false;
    ++instance.epoch;
    return Status::Ok();
  });
}

Status WorkflowStore::Restart(std::string_view account, std::string_view workflow,
                              std::string_view id) {
  int64_t now = clock_();
  Status done = Mutate(account, workflow, id, [&](MDB_txn* txn, const std::string& key,
                                           WorkflowInstance& instance) {
    EDGE_RETURN_IF_ERROR(DeleteUnder(dbs_.steps, txn, ChildPrefix(key)));
    instance.status = WorkflowStatus::kQueued;
    instance.started_ms = 0;
    instance.ended_ms = 0;
    instance.wake_ms = now;
    instance.output.clear();
    instance.error_name.clear();
    instance.error_message.clear();
    instance.run_failures = 0;
    instance.pause_requested = false;
    ++instance.epoch;
    // What is left: the record, its params and the events still waiting.
    auto events = ReadEvents(txn, key);
    if (!events.ok()) return events.status();
    instance.bytes = kWorkflowRecordOverheadBytes + instance.params.size();
    for (const auto& [seq, event] : *events) {
      instance.bytes += kWorkflowRecordOverheadBytes + event.payload.size();
    }
    return Status::Ok();
  });
  if (done.ok()) NotifyDue();
  return done;
}

StatusOr<bool> WorkflowStore::DeliverEvents(MDB_txn* txn, const std::string& key,
                                            std::vector<WorkflowStep>& steps) {
  bool any_waiting = false;
  for (const WorkflowStep& step : steps) any_waiting |= step.state == WorkflowStep::kWaiting;
  if (!any_waiting) return false;
  auto events = ReadEvents(txn, key);
  if (!events.ok()) return events.status();
  bool delivered = false;
  for (auto& [seq, event] : *events) {
    for (uint32_t i = 0; i < steps.size(); ++i) {
      WorkflowStep& step = steps[i];
      if (step.state != WorkflowStep::kWaiting || step.event_type != event.type) continue;
      step.state = WorkflowStep::kDone;
      step.result = std::move(event.payload);
      step.end_ms = event.timestamp_ms;
      step.wake_ms = 0;
      // The event's bytes move from the inbox to the step.
      EDGE_RETURN_IF_ERROR(WriteStep(txn, key, i, step));
      std::string event_key = ChildPrefix(key);
      PutBe64(event_key, seq);
      MDB_val k = Val(event_key);
      int rc = mdb_del(txn, dbs_.events, &k, nullptr);
      if (rc != 0) return env_->Error("write", rc);
      delivered = true;
      break;
    }
  }
  return delivered;
}

Status WorkflowStore::SendEvent(std::string_view account, std::string_view workflow,
                                std::string_view id, WorkflowEventRecord event) {
  EDGE_RETURN_IF_ERROR(ValidateWorkflowId(event.type, "The event type"));
  if (event.payload.size() > kWorkflowMaxEventPayloadBytes) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("Event payloads are limited to {} bytes once serialized (got {})",
                              kWorkflowMaxEventPayloadBytes, event.payload.size()));
  }
  int64_t now = clock_();
  Status done = Mutate(account, workflow, id, [&](MDB_txn* txn, const std::string& key,
                                           WorkflowInstance& instance) -> Status {
    if (WorkflowFinished(instance.status)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Cannot send an event to instance \"{}\": it is {}", instance.id,
                                WorkflowStatusName(instance.status)));
    }
    uint64_t cost = kWorkflowRecordOverheadBytes + event.payload.size();
    uint64_t used = UsageIn(txn, instance.account);
    if (used + cost > options_.account_quota_bytes) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("the account's workflow storage is full ({} of {} bytes used)", used,
                                options_.account_quota_bytes));
    }
    instance.bytes += cost;
    std::string event_key = ChildPrefix(key);
    PutBe64(event_key, ++next_event_);
    std::string record = EncodeEvent(event);
    MDB_val k = Val(event_key), v = Val(record);
    int rc = mdb_put(txn, dbs_.events, &k, &v, 0);
    if (rc != 0) return env_->Error("write", rc);
    auto steps = ReadSteps(txn, key);
    if (!steps.ok()) return steps.status();
    auto delivered = DeliverEvents(txn, key, *steps);
    if (!delivered.ok()) return delivered.status();
    if (*delivered && instance.status == WorkflowStatus::kWaiting) {
      instance.status = WorkflowStatus::kRunning;
      instance.wake_ms = now;
    } else if (*delivered && instance.status == WorkflowStatus::kPaused) {
      instance.wake_ms = now;  // runs once resumed
    }
    return Status::Ok();
  });
  if (done.ok()) NotifyDue();
  return done;
}

void WorkflowStore::SetOnDue(std::function<void()> on_due) {
  std::lock_guard guard(mutex_);
  on_due_ = std::move(on_due);
}

void WorkflowStore::SetOnChange(OnChange on_change) {
  std::lock_guard guard(mutex_);
  on_change_ = std::move(on_change);
}

void WorkflowStore::NotifyChange(std::string_view account, std::string_view workflow,
                                 std::string_view id) {
  std::lock_guard guard(mutex_);
  if (on_change_) on_change_(account, workflow, id);
}

StatusOr<std::vector<WorkflowInstance>> WorkflowStore::ScanAfter(std::string_view account,
                                                                 std::string_view workflow,
                                                                 std::string_view id,
                                                                 size_t limit) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  bool from_first = account.empty() && workflow.empty() && id.empty();
  std::string after = from_first ? std::string() : InstanceKey(account, workflow, id);
  std::vector<WorkflowInstance> out;
  base::LmdbCursor cursor(txn.get(), dbs_.instances);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k = Val(after), v;
  int rc = from_first ? mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST)
                      : mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  while (rc == 0 && out.size() < limit) {
    if (from_first || View(k) != after) {
      std::optional<WorkflowInstance> instance = DecodeInstance(View(v));
      if (instance) out.push_back(std::move(*instance));
    }
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  return out;
}

void WorkflowStore::NotifyDue() {
  std::lock_guard guard(mutex_);
  if (on_due_) on_due_();
}

StatusOr<std::vector<WorkflowStore::Due>> WorkflowStore::DueBy(
    int64_t now, size_t max, const std::function<bool(const Due&)>& want) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  std::vector<Due> out;
  base::LmdbCursor cursor(txn.get(), dbs_.due);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k, v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  size_t scanned = 0;
  while (rc == 0 && out.size() < max && scanned++ < kDueScan) {
    std::string_view key = View(k);
    if (key.size() < 8) break;
    int64_t wake = static_cast<int64_t>(GetBe(key.data(), 8));
    if (wake > now) break;
    std::string_view rest = key.substr(8);
    size_t first = rest.find('\0');
    size_t second = first == std::string_view::npos ? first : rest.find('\0', first + 1);
    if (second != std::string_view::npos) {
      Due due{std::string(rest.substr(0, first)),
              std::string(rest.substr(first + 1, second - first - 1)),
              std::string(rest.substr(second + 1)), wake};
      if (!want || want(due)) out.push_back(std::move(due));
    }
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  return out;
}

std::optional<int64_t> WorkflowStore::NextWake() {
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, true, "read").ok()) return std::nullopt;
  base::LmdbCursor cursor(txn.get(), dbs_.due);
  if (cursor.rc() != 0) return std::nullopt;
  MDB_val k, v;
  if (mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST) != 0 || k.mv_size < 8) return std::nullopt;
  return static_cast<int64_t>(GetBe(static_cast<const char*>(k.mv_data), 8));
}

StatusOr<std::optional<WorkflowInstanceState>> WorkflowStore::BeginRun(std::string_view account,
                                                                       std::string_view workflow,
                                                                       std::string_view id,
                                                                       int64_t now) {
  std::optional<WorkflowInstanceState> out;
  Status changed = Mutate(account, workflow, id, [&](MDB_txn* txn, const std::string& key,
                                                     WorkflowInstance& instance) -> Status {
    if (!DueAble(instance.status) || instance.wake_ms == 0 || instance.wake_ms > now) {
      return Status::Ok();
    }
    if (instance.status == WorkflowStatus::kWaitingForPause || instance.pause_requested) {
      instance.status = WorkflowStatus::kPaused;
      return Status::Ok();
    }
    auto steps = ReadSteps(txn, key);
    if (!steps.ok()) return steps.status();
    for (uint32_t i = 0; i < steps->size(); ++i) {
      WorkflowStep& step = (*steps)[i];
      if (step.wake_ms == 0 || step.wake_ms > now) continue;
      if (step.state == WorkflowStep::kSleeping) {
        step.state = WorkflowStep::kDone;
        step.end_ms = step.wake_ms;
      } else if (step.state == WorkflowStep::kWaiting) {
        step.state = WorkflowStep::kFailed;
        step.end_ms = step.wake_ms;
        step.error_name = "Error";
        step.error_message = fmt::format("waitForEvent \"{}\" timed out waiting for an event of type \"{}\"",
                                         step.name, step.event_type);
      } else if (step.state == WorkflowStep::kRetrying) {
        step.state = WorkflowStep::kRunning;
      } else {
        continue;
      }
      step.wake_ms = 0;
      EDGE_RETURN_IF_ERROR(WriteStep(txn, key, i, step));
    }
    instance.status = WorkflowStatus::kRunning;
    if (instance.started_ms == 0) instance.started_ms = now;
    ++instance.runs;
    // The due entry stays (at `now`): after a crash the run happens again.
    instance.wake_ms = now;
    WorkflowInstanceState state;
    state.instance = instance;
    state.steps = std::move(steps).value();
    out = std::move(state);
    return Status::Ok();
  });
  if (!changed.ok()) return changed;
  return out;
}

Status WorkflowStore::ApplyReport(MDB_txn* txn, const std::string& key, WorkflowInstance& instance,
                                  std::vector<WorkflowStep>& steps, const WorkflowRunReport& report,
                                  int64_t started_ms, int64_t now) {
  std::map<std::pair<std::string, uint32_t>, uint32_t> index;
  uint32_t counted = 0;  // steps against the limit (sleeps are not)
  for (uint32_t i = 0; i < steps.size(); ++i) {
    index[{steps[i].name, steps[i].count}] = i;
    counted += steps[i].kind != WorkflowStep::kSleep;
  }
  bool progressed = false;  // a step settled: the replay goes on at once
  bool attributed = false;  // a died run was a step's failed attempt
  const uint64_t bytes_before = instance.bytes;
  auto error_out = [&](std::string name, std::string message) {
    instance.status = WorkflowStatus::kErrored;
    instance.error_name = std::move(name);
    instance.error_message = std::move(message);
    instance.ended_ms = now;
    instance.wake_ms = 0;
  };
  auto step_of = [&](const WorkflowRunReport::Item& item, WorkflowStep::Kind kind) -> WorkflowStep* {
    auto found = index.find({item.name, item.count});
    if (found != index.end()) return &steps[found->second];
    if (kind != WorkflowStep::kSleep && counted >= kWorkflowMaxSteps) return nullptr;
    WorkflowStep step;
    step.name = item.name;
    step.count = item.count;
    step.kind = kind;
    step.start_ms = item.start_ms != 0 ? item.start_ms : started_ms;
    counted += kind != WorkflowStep::kSleep;
    steps.push_back(std::move(step));
    index[{item.name, item.count}] = static_cast<uint32_t>(steps.size() - 1);
    return &steps.back();
  };
  std::vector<bool> touched(steps.size() + report.items.size(), false);
  auto touch = [&](WorkflowStep* step) { touched[static_cast<size_t>(step - steps.data())] = true; };
  steps.reserve(steps.size() + report.items.size());
  std::map<std::pair<std::string, uint32_t>, const WorkflowRunReport::Item*> started;
  for (const WorkflowRunReport::Item& item : report.items) {
    if (WorkflowFinished(instance.status)) break;
    if (item.name.empty() || item.name.size() > kWorkflowMaxStepNameBytes) continue;
    if (item.kind == WorkflowRunReport::Item::kStarted) {
      started[{item.name, item.count}] = &item;
      continue;
    }
    WorkflowStep::Kind kind = item.kind == WorkflowRunReport::Item::kSleep  ? WorkflowStep::kSleep
                              : item.kind == WorkflowRunReport::Item::kWait ? WorkflowStep::kWait
                                                                            : WorkflowStep::kDo;
    bool existed = index.count({item.name, item.count}) != 0;
    if (existed && kind != WorkflowStep::kDo) continue;  // a sleep or wait keeps its wake time
    WorkflowStep* step = step_of(item, kind);
    if (step == nullptr) {
      error_out("Error", fmt::format("The workflow exceeded the maximum of {} steps per instance",
                                     kWorkflowMaxSteps));
      break;
    }
    if (step->Settled()) continue;  // a late duplicate
    touch(step);
    started.erase({item.name, item.count});
    uint64_t before = StepCost(*step);
    int64_t attempt_start = item.start_ms != 0 ? item.start_ms : started_ms;
    switch (item.kind) {
      case WorkflowRunReport::Item::kDone: {
        if (item.result.size() > kWorkflowMaxStepResultBytes) break;  // the runtime refused it already
        ++step->attempts;
        step->state = WorkflowStep::kDone;
        step->result = item.result;
        step->end_ms = attempt_start + item.duration_ms;
        step->wake_ms = 0;
        AddAttempt(*step, {attempt_start, attempt_start + item.duration_ms, true, {}});
        progressed = true;
        break;
      }
      case WorkflowRunReport::Item::kFailed: {
        ++step->attempts;
        std::string described = Described(item.error_name, item.error_message);
        AddAttempt(*step, {attempt_start, attempt_start + item.duration_ms, false, described});
        step->error_name = item.error_name;
        step->error_message = item.error_message;
        if (item.non_retryable) {
          step->state = WorkflowStep::kFailed;
          step->end_ms = attempt_start + item.duration_ms;
          error_out(item.error_name, item.error_message);
        } else if (step->attempts > std::min(item.config.limit, kWorkflowMaxRetries)) {
          step->state = WorkflowStep::kFailed;
          step->end_ms = attempt_start + item.duration_ms;
          step->wake_ms = 0;
          progressed = true;
        } else {
          step->state = WorkflowStep::kRetrying;
          step->wake_ms = now + WorkflowRetryDelayMs(item.config, step->attempts);
        }
        break;
      }
      case WorkflowRunReport::Item::kSleep: {
        step->state = WorkflowStep::kSleeping;
        int64_t until = item.until_ms >= 0 ? item.until_ms : now + std::max<int64_t>(item.sleep_ms, 0);
        until = std::min(until, now + kWorkflowMaxSleepMs);
        if (until <= now) {
          step->state = WorkflowStep::kDone;
          step->end_ms = now;
          step->wake_ms = 0;
          progressed = true;
        } else {
          step->wake_ms = until;
        }
        break;
      }
      case WorkflowRunReport::Item::kWait: {
        step->state = WorkflowStep::kWaiting;
        step->event_type = item.event_type;
        step->wake_ms = now + std::clamp<int64_t>(item.timeout_ms, 1, kWorkflowMaxSleepMs);
        break;
      }
      case WorkflowRunReport::Item::kStarted:
        break;
    }
    instance.bytes = instance.bytes + StepCost(*step) - before;
  }
  // A run that died (a limit, the isolate lost) counts as a failed attempt
  // of each step it had started and not settled.
  if (!WorkflowFinished(instance.status) && report.end == WorkflowRunReport::kDied) {
    for (const auto& [id, item] : started) {
      WorkflowRunReport::Item failed = *item;
      failed.kind = WorkflowRunReport::Item::kFailed;
      WorkflowStep* step = step_of(failed, WorkflowStep::kDo);
      if (step == nullptr || step->Settled()) continue;
      touch(step);
      uint64_t before = StepCost(*step);
      ++step->attempts;
      int64_t attempt_start = item->start_ms != 0 ? item->start_ms : started_ms;
      AddAttempt(*step, {attempt_start, now, false, Described(report.error_name, report.error_message)});
      step->error_name = report.error_name;
      step->error_message = report.error_message;
      if (step->attempts > std::min(item->config.limit, kWorkflowMaxRetries)) {
        step->state = WorkflowStep::kFailed;
        step->end_ms = now;
        progressed = true;
      } else {
        step->state = WorkflowStep::kRetrying;
        step->wake_ms = now + WorkflowRetryDelayMs(item->config, step->attempts);
      }
      instance.bytes = instance.bytes + StepCost(*step) - before;
      attributed = true;  // the step's attempt failed, not the run
    }
  }
  if (!WorkflowFinished(instance.status)) {
    auto delivered = DeliverEvents(txn, key, steps);
    if (!delivered.ok()) return delivered.status();
    if (*delivered) {
      progressed = true;
      for (size_t i = 0; i < steps.size(); ++i) touched[i] = true;
    }
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    if (touched[i]) EDGE_RETURN_IF_ERROR(WriteStep(txn, key, static_cast<uint32_t>(i), steps[i]));
  }
  if (WorkflowFinished(instance.status)) return Status::Ok();
  if (instance.bytes > bytes_before &&
      UsageIn(txn, instance.account) + (instance.bytes - bytes_before) > options_.account_quota_bytes) {
    error_out("Error", fmt::format("the account's workflow storage is full ({} bytes): the step's "
                                   "result could not be kept",
                                   options_.account_quota_bytes));
    return Status::Ok();
  }
  switch (report.end) {
    case WorkflowRunReport::kReturned:
      instance.status = WorkflowStatus::kComplete;
      instance.output = report.output;
      instance.bytes += report.output.size();
      instance.ended_ms = now;
      instance.wake_ms = 0;
      return Status::Ok();
    case WorkflowRunReport::kThrew:
      error_out(report.error_name, report.error_message);
      return Status::Ok();
    case WorkflowRunReport::kDied:
      if (!progressed && !attributed) {
        ++instance.run_failures;
        if (instance.run_failures > kWorkflowMaxRunFailures) {
          error_out(report.error_name, report.error_message);
          return Status::Ok();
        }
        WorkflowRunReport::StepConfig backoff;
        instance.status = WorkflowStatus::kWaiting;
        instance.wake_ms = now + WorkflowRetryDelayMs(backoff, instance.run_failures);
        return Status::Ok();
      }
      break;
    case WorkflowRunReport::kBlocked:
      break;
  }
  if (progressed) {
    instance.status = WorkflowStatus::kRunning;
    instance.wake_ms = now;
    return Status::Ok();
  }
  // Blocked: it runs again when its first sleep, retry or wait is due.
  int64_t wake = 0;
  for (const WorkflowStep& step : steps) {
    if (step.Settled() || step.wake_ms == 0) continue;
    wake = wake == 0 ? step.wake_ms : std::min(wake, step.wake_ms);
  }
  if (wake == 0) {
    error_out("Error", "run() neither returned nor reached a step.do, step.sleep or step.waitForEvent "
                       "that could go on");
    return Status::Ok();
  }
  instance.status = wake > now ? WorkflowStatus::kWaiting : WorkflowStatus::kRunning;
  instance.wake_ms = wake;
  return Status::Ok();
}

StatusOr<WorkflowInstance> WorkflowStore::FinishRun(std::string_view account,
                                                    std::string_view workflow, std::string_view id,
                                                    uint64_t epoch, const WorkflowRunReport& report,
                                                    int64_t started_ms, int64_t now) {
  WorkflowInstance out;
  Status changed = Mutate(account, workflow, id, [&](MDB_txn* txn, const std::string& key,
                                                     WorkflowInstance& instance) -> Status {
    bool running = instance.status == WorkflowStatus::kRunning ||
                   instance.status == WorkflowStatus::kWaitingForPause;
    if (instance.epoch != epoch || !running) {
      out = instance;
      return Status::Ok();  // terminated or restarted meanwhile: the report is dropped
    }
    bool pause = instance.pause_requested;
    instance.status = WorkflowStatus::kRunning;
    auto steps = ReadSteps(txn, key);
    if (!steps.ok()) return steps.status();
    EDGE_RETURN_IF_ERROR(ApplyReport(txn, key, instance, *steps, report, started_ms, now));
    if (report.end != WorkflowRunReport::kDied) instance.run_failures = 0;
    if (pause && !WorkflowFinished(instance.status)) instance.status = WorkflowStatus::kPaused;
    out = instance;
    return Status::Ok();
  });
  if (!changed.ok()) return changed;
  return out;
}

StatusOr<uint64_t> WorkflowStore::SweepFinished() {
  int64_t now = clock_();
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  std::vector<WorkflowInstance> doomed;
  {
    base::LmdbCursor cursor(txn.get(), dbs_.instances);
    if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
    size_t scanned = 0;
    while (rc == 0 && scanned++ < kMaxSweepScan) {
      std::optional<WorkflowInstance> instance = DecodeInstance(View(v));
      if (instance && WorkflowFinished(instance->status) && instance->ended_ms != 0 &&
          now - instance->ended_ms >= options_.retention_ms) {
        doomed.push_back(std::move(*instance));
      }
      rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    }
  }
  for (const WorkflowInstance& instance : doomed) {
    std::string key = InstanceKey(instance.account, instance.workflow, instance.id);
    EDGE_RETURN_IF_ERROR(DeleteUnder(dbs_.steps, txn.get(), ChildPrefix(key)));
    EDGE_RETURN_IF_ERROR(DeleteUnder(dbs_.events, txn.get(), ChildPrefix(key)));
    MDB_val k = Val(key);
    int rc = mdb_del(txn.get(), dbs_.instances, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("write", rc);
    EDGE_RETURN_IF_ERROR(AddUsage(txn.get(), instance.account, -static_cast<int64_t>(instance.bytes)));
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  for (const WorkflowInstance& instance : doomed) {
    NotifyChange(instance.account, instance.workflow, instance.id);
  }
  return static_cast<uint64_t>(doomed.size());
}

}  // namespace edge::bindings
