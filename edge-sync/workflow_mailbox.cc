#include "edge-sync/workflow_mailbox.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <set>

#include "base/base64.h"
#include "base/json_text.h"
#include "edge-sync/origin.h"
#include "gateway/node/node_sink.h"

namespace edge::sync {
namespace {

using base::Val;
using base::View;
using bindings::WorkflowInstance;
using bindings::WorkflowStatus;
using simdjson::dom::element;

constexpr base::LmdbNames kNames{"the workflow mailbox", "workflow mailbox: ", "mailbox"};

Status Invalid(std::string_view what) {
  return Status(ErrorCode::kInvalidInput, fmt::format("a workflow command {}", what));
}

// The string member `key` of `object` into `out`; false when it is missing
// or not a string (`optional`: missing is fine).
bool GetString(element object, const char* key, std::string* out, bool optional = false) {
  std::string_view text;
  auto member = object[key];
  if (member.error() == simdjson::NO_SUCH_FIELD && optional) return true;
  if (member.get_string().get(text) != simdjson::SUCCESS) return false;
  out->assign(text);
  return true;
}

bool GetBytes(element object, const char* key, std::string* out) {
  std::string text;
  if (!GetString(object, key, &text, true)) return false;
  auto bytes = base::Base64Decode(text);
  if (!bytes.ok()) return false;
  *out = std::move(bytes).value();
  return true;
}

bool GetInt(element object, const char* key, int64_t* out) {
  auto member = object[key];
  if (member.error() == simdjson::NO_SUCH_FIELD) return true;
  return member.get_int64().get(*out) == simdjson::SUCCESS;
}

bool GetUint(element object, const char* key, uint64_t* out) {
  auto member = object[key];
  if (member.error() == simdjson::NO_SUCH_FIELD) return true;
  return member.get_uint64().get(*out) == simdjson::SUCCESS;
}

bool KnownOp(std::string_view op) {
  return op == "create" || op == "pause" || op == "resume" || op == "terminate" ||
         op == "restart" || op == "event";
}

// A command as stored and sent: every field checked as the store would
// check it (names, ids, sizes), so nothing malformed reaches the home.
Status DecodeCommand(element object, WorkflowCommand* command) {
  if (!object.is_object()) return Invalid("must be a JSON object");
  if (!GetString(object, "op", &command->op) || !KnownOp(command->op)) {
    return Invalid("needs op: create, pause, resume, terminate, restart or event");
  }
  if (!GetString(object, "account", &command->instance.account) ||
      !GetString(object, "workflow", &command->instance.workflow) ||
      !GetString(object, "id", &command->instance.id)) {
    return Invalid("needs account, workflow and id");
  }
  if (command->instance.account.size() > 256 ||
      command->instance.account.find('\0') != std::string::npos) {
    return Invalid("names an account that is not valid");
  }
  EDGE_RETURN_IF_ERROR(bindings::ValidateWorkflowName(command->instance.workflow));
  EDGE_RETURN_IF_ERROR(bindings::ValidateWorkflowId(command->instance.id, "The instance id"));
  if (!GetUint(object, "seq", &command->seq)) return Invalid("has a seq that is not a number");
  if (command->op == "create") {
    if (!GetString(object, "worker", &command->instance.worker) ||
        !GetString(object, "class_name", &command->instance.class_name) ||
        !GetString(object, "version", &command->instance.version, true) ||
        !GetBytes(object, "params", &command->instance.params) ||
        !GetInt(object, "created_ms", &command->instance.created_ms) ||
        !GetUint(object, "cursor", &command->cursor)) {
      return Invalid("create needs worker, class_name, and params in base64");
    }
    if (command->instance.worker.empty() || command->instance.worker.size() > 256 ||
        command->instance.class_name.empty() || command->instance.class_name.size() > 256 ||
        command->instance.version.size() > 20) {
      return Invalid("create names a worker, class or version that is not valid");
    }
    for (char c : command->instance.version) {
      if (c < '0' || c > '9') return Invalid("create names a version that is not a number");
    }
    if (command->instance.params.size() > bindings::kWorkflowMaxParamsBytes) {
      return Status(
          ErrorCode::kRangeError,
          fmt::format("Workflow instance params are limited to {} bytes once serialized (got {})",
                      bindings::kWorkflowMaxParamsBytes, command->instance.params.size()));
    }
  }
  if (command->op == "event") {
    if (!GetString(object, "type", &command->event_type) ||
        !GetBytes(object, "payload", &command->payload) ||
        !GetInt(object, "event_ms", &command->event_ms)) {
      return Invalid("event needs type, and payload in base64");
    }
    EDGE_RETURN_IF_ERROR(bindings::ValidateWorkflowId(command->event_type, "The event type"));
    if (command->payload.size() > bindings::kWorkflowMaxEventPayloadBytes) {
      return Status(ErrorCode::kRangeError,
                    fmt::format("Event payloads are limited to {} bytes once serialized (got {})",
                                bindings::kWorkflowMaxEventPayloadBytes, command->payload.size()));
    }
  }
  return Status::Ok();
}

Status DecodeSummary(element object, WorkflowSummaryRecord* summary) {
  WorkflowInstance& instance = summary->instance;
  std::string status;
  if (!object.is_object() || !GetString(object, "account", &instance.account) ||
      !GetString(object, "workflow", &instance.workflow) ||
      !GetString(object, "id", &instance.id) || !GetString(object, "status", &status) ||
      !GetBytes(object, "output", &instance.output) ||
      !GetString(object, "error_name", &instance.error_name, true) ||
      !GetString(object, "error_message", &instance.error_message, true) ||
      !GetInt(object, "created_ms", &instance.created_ms)) {
    return Status(ErrorCode::kInvalidInput,
                  "a workflow summary needs account, workflow, id, status, and output in base64");
  }
  if (instance.account.size() > 256 || instance.account.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidInput,
                  "a workflow summary names an account that is not valid");
  }
  EDGE_RETURN_IF_ERROR(bindings::ValidateWorkflowName(instance.workflow));
  EDGE_RETURN_IF_ERROR(bindings::ValidateWorkflowId(instance.id, "The instance id"));
  instance.status = ParseWorkflowStatus(status);
  if (instance.status == WorkflowStatus::kUnknown) {
    return Status(ErrorCode::kInvalidInput, "a workflow summary has an unknown status");
  }
  if (instance.output.size() > bindings::kWorkflowMaxStepResultBytes ||
      instance.error_message.size() > 64 * 1024 || instance.error_name.size() > 1024) {
    return Status(ErrorCode::kInvalidInput, "a workflow summary is too large");
  }
  bool gone = false;
  auto member = object["gone"];
  if (member.error() != simdjson::NO_SUCH_FIELD &&
      member.get_bool().get(gone) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a workflow summary's gone must be a boolean");
  }
  summary->gone = gone;
  return Status::Ok();
}

StatusOr<element> ParseObject(simdjson::dom::parser& parser, std::string_view json,
                              std::string_view what) {
  element root;
  if (json.size() > kWorkflowFleetMaxBodyBytes ||
      parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("{} must be a JSON object of at most {} bytes", what,
                              kWorkflowFleetMaxBodyBytes));
  }
  return root;
}

Status NotFound(std::string_view workflow, std::string_view id) {
  return Status(
      ErrorCode::kNotFound,
      fmt::format("instance.not_found: no instance \"{}\" of workflow \"{}\"", id, workflow));
}

// The store's refusal of `op` on an instance that is `status`
// (WorkflowStore::Pause and the others), or Ok.
Status RefusedWhenFinished(const WorkflowCommand& command, WorkflowStatus status) {
  if (!bindings::WorkflowFinished(status)) return Status::Ok();
  std::string_view name = bindings::WorkflowStatusName(status);
  if (command.op == "pause" || command.op == "resume") {
    return Status(ErrorCode::kInvalidInput, fmt::format("Cannot {} instance \"{}\": it is {}",
                                                        command.op, command.instance.id, name));
  }
  if (command.op == "terminate") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Cannot terminate instance \"{}\": it is already {}",
                              command.instance.id, name));
  }
  if (command.op == "event") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Cannot send an event to instance \"{}\": it is {}",
                              command.instance.id, name));
  }
  return Status::Ok();
}

std::string EncodeSummaryRecord(const WorkflowInstance& instance) {
  WorkflowSummaryRecord record{instance, false};
  return EncodeWorkflowSummary(record);
}

StatusOr<std::optional<WorkflowInstance>> ReadSummary(const base::LmdbEnv& env, MDB_txn* txn,
                                                      MDB_dbi dbi, const std::string& key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<WorkflowInstance>();
  if (rc != 0) return env.Error("read", rc);
  auto record = DecodeWorkflowSummary(View(v));
  if (!record.ok()) return Status(ErrorCode::kInternal, "workflow mailbox: a summary is damaged");
  return std::optional<WorkflowInstance>(std::move(record->instance));
}

uint64_t MetaNumber(MDB_txn* txn, MDB_dbi meta, std::string_view name) {
  MDB_val k = Val(name), v;
  if (mdb_get(txn, meta, &k, &v) != 0) return 0;
  return base::GetBe64(View(v)).value_or(0);
}

int PutMetaNumber(MDB_txn* txn, MDB_dbi meta, std::string_view name, uint64_t value) {
  std::string bytes = base::Be64(value);
  MDB_val k = Val(name), v = Val(bytes);
  return mdb_put(txn, meta, &k, &v, 0);
}

}  // namespace

bindings::WorkflowStatus ParseWorkflowStatus(std::string_view name) {
  for (int i = 0; i < static_cast<int>(WorkflowStatus::kUnknown); ++i) {
    if (bindings::WorkflowStatusName(static_cast<WorkflowStatus>(i)) == name) {
      return static_cast<WorkflowStatus>(i);
    }
  }
  return WorkflowStatus::kUnknown;
}

std::string EncodeWorkflowCommand(const WorkflowCommand& c) {
  std::string out =
      fmt::format("{{\"op\":{},\"account\":{},\"workflow\":{},\"id\":{}", base::JsonString(c.op),
                  base::JsonString(c.instance.account), base::JsonString(c.instance.workflow),
                  base::JsonString(c.instance.id));
  if (c.seq != 0) out += fmt::format(",\"seq\":{}", c.seq);
  if (c.op == "create") {
    out += fmt::format(
        ",\"worker\":{},\"class_name\":{},\"version\":{},\"params\":\"{}\",\"created_ms\":{},"
        "\"cursor\":{}",
        base::JsonString(c.instance.worker), base::JsonString(c.instance.class_name),
        base::JsonString(c.instance.version), base::Base64Encode(c.instance.params),
        c.instance.created_ms, c.cursor);
  }
  if (c.op == "event") {
    out += fmt::format(",\"type\":{},\"payload\":\"{}\",\"event_ms\":{}",
                       base::JsonString(c.event_type), base::Base64Encode(c.payload), c.event_ms);
  }
  return out + "}";
}

std::string EncodeWorkflowSummary(const WorkflowSummaryRecord& summary) {
  const WorkflowInstance& i = summary.instance;
  return fmt::format(
      "{{\"account\":{},\"workflow\":{},\"id\":{},\"status\":\"{}\",\"created_ms\":{},"
      "\"output\":\"{}\",\"error_name\":{},\"error_message\":{},\"gone\":{}}}",
      base::JsonString(i.account), base::JsonString(i.workflow), base::JsonString(i.id),
      bindings::WorkflowStatusName(i.status), i.created_ms, base::Base64Encode(i.output),
      base::JsonString(i.error_name), base::JsonString(i.error_message),
      summary.gone ? "true" : "false");
}

std::string EncodeWorkflowSubmit(const std::vector<WorkflowCommand>& commands, bool batch) {
  std::string out = fmt::format("{{\"batch\":{},\"commands\":", batch ? "true" : "false");
  base::AppendJsonArray(out, commands, [](std::string& o, const WorkflowCommand& c) {
    o += EncodeWorkflowCommand(c);
  });
  return out + "}";
}

StatusOr<WorkflowSubmit> DecodeWorkflowSubmit(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, "a workflow submit");
  if (!root.ok()) return root.status();
  WorkflowSubmit submit;
  simdjson::dom::array list;
  if ((*root)["batch"].get_bool().get(submit.batch) != simdjson::SUCCESS ||
      (*root)["commands"].get_array().get(list) != simdjson::SUCCESS || list.size() == 0 ||
      list.size() > bindings::kWorkflowMaxBatch) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("a workflow submit needs batch and 1 to {} commands",
                              bindings::kWorkflowMaxBatch));
  }
  for (element item : list) {
    WorkflowCommand command;
    EDGE_RETURN_IF_ERROR(DecodeCommand(item, &command));
    command.seq = 0;
    submit.commands.push_back(std::move(command));
  }
  bool creates = submit.commands.front().op == "create";
  for (const WorkflowCommand& command : submit.commands) {
    if ((command.op == "create") != creates) {
      return Invalid("submit mixes creates with other commands");
    }
  }
  if (!creates && submit.commands.size() != 1)
    return Invalid("submit carries one signal at a time");
  return submit;
}

StatusOr<std::vector<WorkflowCommand>> DecodeWorkflowTake(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, "a workflow take answer");
  if (!root.ok()) return root.status();
  simdjson::dom::array list;
  if ((*root)["commands"].get_array().get(list) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a workflow take answer needs commands");
  }
  std::vector<WorkflowCommand> out;
  for (element item : list) {
    WorkflowCommand command;
    EDGE_RETURN_IF_ERROR(DecodeCommand(item, &command));
    if (command.seq == 0) return Invalid("handed out needs its seq");
    out.push_back(std::move(command));
  }
  return out;
}

StatusOr<std::vector<WorkflowSummaryRecord>> DecodeWorkflowSummaries(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, "a workflow summaries push");
  if (!root.ok()) return root.status();
  simdjson::dom::array list;
  if ((*root)["summaries"].get_array().get(list) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a workflow summaries push needs summaries");
  }
  std::vector<WorkflowSummaryRecord> out;
  for (element item : list) {
    WorkflowSummaryRecord summary;
    EDGE_RETURN_IF_ERROR(DecodeSummary(item, &summary));
    out.push_back(std::move(summary));
  }
  return out;
}

StatusOr<WorkflowSummaryRecord> DecodeWorkflowSummary(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, "a workflow summary");
  if (!root.ok()) return root.status();
  WorkflowSummaryRecord summary;
  EDGE_RETURN_IF_ERROR(DecodeSummary(*root, &summary));
  return summary;
}

StatusOr<CronHomeState> DecodeWorkflowCaller(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, json, "a workflow home's request");
  if (!root.ok()) return root.status();
  CronHomeState caller;
  if (!GetString(*root, "pop_id", &caller.pop_id) || caller.pop_id.empty() ||
      (*root)["term"].get_uint64().get(caller.term) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a workflow home's request needs pop_id and term");
  }
  return caller;
}

StatusOr<std::unique_ptr<WorkflowMailbox>> WorkflowMailbox::Open(const std::string& data_dir,
                                                                 WorkflowMailboxLimits limits) {
  auto dir = base::MakeStoreDir(data_dir + "/workflow-mailbox", /*private_dir=*/true);
  if (!dir.ok()) return dir.status();
  MDB_dbi commands = 0, summaries = 0, meta = 0;
  base::LmdbOptions options;
  options.names = kNames;
  options.map_size = size_t{1} << 35;  // address space only; the limits are far below
  options.shrink_on_enomem = 8;
  options.max_dbs = 3;
  options.dbs = {{"commands", &commands}, {"summaries", &summaries}, {"meta", &meta}};
  options.init = [&](MDB_txn* txn) {
    return base::CheckStoreFormat(txn, meta, "1", "workflow mailbox", *dir, kNames);
  };
  auto env = base::LmdbEnv::Open(*dir, options);
  if (!env.ok()) return env.status();
  return std::unique_ptr<WorkflowMailbox>(
      new WorkflowMailbox(std::move(env).value(), commands, summaries, meta, limits));
}

StatusOr<std::vector<std::string>> WorkflowMailbox::Submit(std::vector<WorkflowCommand> commands,
                                                           bool batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  uint64_t next = MetaNumber(txn.get(), meta_, "next_seq");
  uint64_t count = MetaNumber(txn.get(), meta_, "commands");
  uint64_t bytes = MetaNumber(txn.get(), meta_, "bytes");
  std::vector<std::string> created;
  std::set<std::string> seen;  // ids of this batch
  for (WorkflowCommand& command : commands) {
    std::string key = bindings::WorkflowInstanceKey(command.instance.account,
                                                    command.instance.workflow, command.instance.id);
    auto known = ReadSummary(*env_, txn.get(), summaries_, key);
    if (!known.ok()) return known.status();
    if (command.op == "create") {
      if (known->has_value() || !seen.insert(command.instance.id).second) {
        if (batch) continue;
        return Status(
            ErrorCode::kInvalidInput,
            fmt::format("instance.already_exists: an instance with id \"{}\" already exists "
                        "for workflow \"{}\"",
                        command.instance.id, command.instance.workflow));
      }
      WorkflowInstance queued;
      queued.account = command.instance.account;
      queued.workflow = command.instance.workflow;
      queued.id = command.instance.id;
      queued.status = WorkflowStatus::kQueued;
      queued.created_ms = command.instance.created_ms;
      std::string record = EncodeSummaryRecord(queued);
      MDB_val k = Val(key), v = Val(record);
      int rc = mdb_put(txn.get(), summaries_, &k, &v, 0);
      if (rc != 0) return env_->Error("write", rc);
      created.push_back(command.instance.id);
    } else {
      if (!known->has_value()) return NotFound(command.instance.workflow, command.instance.id);
      EDGE_RETURN_IF_ERROR(RefusedWhenFinished(command, (*known)->status));
    }
    command.seq = ++next;
    std::string text = EncodeWorkflowCommand(command);
    if (count + 1 > limits_.max_commands || bytes + text.size() > limits_.max_bytes) {
      return Status(ErrorCode::kIo,
                    fmt::format("the fleet's workflow mailbox is full ({} commands, {} bytes): the "
                                "home has not taken them",
                                count, bytes));
    }
    ++count;
    bytes += text.size();
    std::string seq_key = base::Be64(command.seq);
    MDB_val k = Val(seq_key), v = Val(text);
    int rc = mdb_put(txn.get(), commands_, &k, &v, 0);
    if (rc != 0) return env_->Error("write", rc);
  }
  int rc = PutMetaNumber(txn.get(), meta_, "next_seq", next);
  if (rc == 0) rc = PutMetaNumber(txn.get(), meta_, "commands", count);
  if (rc == 0) rc = PutMetaNumber(txn.get(), meta_, "bytes", bytes);
  if (rc != 0) return env_->Error("write", rc);
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  return created;
}

StatusOr<std::vector<WorkflowCommand>> WorkflowMailbox::Take(size_t max, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  std::vector<WorkflowCommand> out;
  size_t out_bytes = 0;
  base::LmdbCursor cursor(txn.get(), commands_);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k, v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  size_t scanned = 0;
  // Leased commands are skipped; a long run of them (the home is slow to
  // acknowledge) bounds the look.
  while (rc == 0 && out.size() < max && out_bytes < kWorkflowFleetBatchBytes &&
         scanned++ < 10'000) {
    uint64_t seq = base::GetBe64(View(k)).value_or(0);
    auto lease = leases_.find(seq);
    if (lease == leases_.end() || lease->second <= now_ms) {
      simdjson::dom::parser parser;
      element root;
      WorkflowCommand command;
      if (parser.parse(static_cast<const char*>(v.mv_data), v.mv_size).get(root) !=
              simdjson::SUCCESS ||
          !DecodeCommand(root, &command).ok()) {
        return Status(ErrorCode::kInternal, "workflow mailbox: a command record is damaged");
      }
      command.seq = seq;
      out_bytes += v.mv_size;
      out.push_back(std::move(command));
    }
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->Error("read", rc);
  for (const WorkflowCommand& command : out) leases_[command.seq] = now_ms + limits_.lease_ms;
  return out;
}

Status WorkflowMailbox::Ack(const std::vector<uint64_t>& seqs) {
  std::lock_guard<std::mutex> lock(mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  uint64_t count = MetaNumber(txn.get(), meta_, "commands");
  uint64_t bytes = MetaNumber(txn.get(), meta_, "bytes");
  for (uint64_t seq : seqs) {
    std::string key = base::Be64(seq);
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn.get(), commands_, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) return env_->Error("read", rc);
    bytes -= std::min<uint64_t>(bytes, v.mv_size);
    count -= std::min<uint64_t>(count, 1);
    rc = mdb_del(txn.get(), commands_, &k, nullptr);
    if (rc != 0) return env_->Error("write", rc);
  }
  int rc = PutMetaNumber(txn.get(), meta_, "commands", count);
  if (rc == 0) rc = PutMetaNumber(txn.get(), meta_, "bytes", bytes);
  if (rc != 0) return env_->Error("write", rc);
  EDGE_RETURN_IF_ERROR(txn.Commit("write"));
  for (uint64_t seq : seqs) leases_.erase(seq);
  return Status::Ok();
}

Status WorkflowMailbox::PutSummaries(const std::vector<WorkflowSummaryRecord>& summaries) {
  std::lock_guard<std::mutex> lock(mutex_);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "write"));
  for (const WorkflowSummaryRecord& summary : summaries) {
    const WorkflowInstance& i = summary.instance;
    std::string key = bindings::WorkflowInstanceKey(i.account, i.workflow, i.id);
    MDB_val k = Val(key);
    int rc;
    if (summary.gone) {
      rc = mdb_del(txn.get(), summaries_, &k, nullptr);
      if (rc == MDB_NOTFOUND) rc = 0;
    } else {
      std::string record = EncodeWorkflowSummary(summary);
      MDB_val v = Val(record);
      rc = mdb_put(txn.get(), summaries_, &k, &v, 0);
    }
    if (rc != 0) return env_->Error("write", rc);
  }
  return txn.Commit("write");
}

StatusOr<WorkflowInstance> WorkflowMailbox::Summary(std::string_view account,
                                                    std::string_view workflow,
                                                    std::string_view id) {
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  auto found = ReadSummary(*env_, txn.get(), summaries_,
                           bindings::WorkflowInstanceKey(account, workflow, id));
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NotFound(workflow, id);
  return std::move(**found);
}

uint64_t WorkflowMailbox::pending() {
  base::LmdbTxn txn;
  if (!txn.Begin(*env_, true, "read").ok()) return 0;
  return MetaNumber(txn.get(), meta_, "commands");
}

bool HandleWorkflowMailboxRequest(std::string_view path, const gateway::HttpRequest& request,
                                  gateway::ResponseWriter& writer, WorkflowMailbox& mailbox,
                                  const CronHomeState& home) {
  static constexpr std::string_view kPrefix = "/sync/workflows/";
  if (!path.starts_with(kPrefix)) return false;
  std::string_view what = path.substr(kPrefix.size());
  if (what != "submit" && what != "status" && what != "take" && what != "ack" &&
      what != "summaries") {
    SendJsonError(writer, 404,
                  "workflow paths are /sync/workflows/(submit|status|take|ack|summaries)");
    return true;
  }
  if (request.method != "POST") {
    SendJson(writer, 405, "{\"error\":\"use POST\"}");
    return true;
  }
  // A failure as the store would answer it: not found 404, refused 400 or
  // 409 (an id taken), a full mailbox or a disk error 503.
  auto fail = [&](const Status& status) {
    int code = status.code() == ErrorCode::kNotFound                                      ? 404
               : status.code() == ErrorCode::kIo || status.code() == ErrorCode::kInternal ? 503
               : status.message().starts_with("instance.already_exists")                  ? 409
                                                                                          : 400;
    std::string body =
        fmt::format("{{\"error\":{},\"code\":\"{}\"}}", base::JsonString(status.message()),
                    status.code() == ErrorCode::kNotFound     ? "not_found"
                    : status.code() == ErrorCode::kRangeError ? "range"
                    : status.code() == ErrorCode::kTypeError  ? "type"
                                                              : "refused");
    SendJson(writer, code, body);
  };
  if (what == "submit") {
    auto submit = DecodeWorkflowSubmit(request.body);
    if (!submit.ok()) return fail(submit.status()), true;
    auto created = mailbox.Submit(std::move(submit->commands), submit->batch);
    if (!created.ok()) return fail(created.status()), true;
    std::string out = "{\"ids\":";
    base::AppendJsonStringArray(out, *created);
    SendJson(writer, 200, out + "}");
    return true;
  }
  if (what == "status") {
    simdjson::dom::parser parser;
    auto root = ParseObject(parser, request.body, "a workflow status request");
    if (!root.ok()) return fail(root.status()), true;
    std::string account, workflow, id;
    if (!GetString(*root, "account", &account) || !GetString(*root, "workflow", &workflow) ||
        !GetString(*root, "id", &id)) {
      return fail(Status(ErrorCode::kInvalidInput,
                         "a workflow status request needs account, workflow and id")),
             true;
    }
    auto summary = mailbox.Summary(account, workflow, id);
    if (!summary.ok()) return fail(summary.status()), true;
    SendJson(writer, 200, EncodeWorkflowSummary({std::move(summary).value(), false}));
    return true;
  }
  // take, ack, summaries: the home only, in its term.
  auto caller = DecodeWorkflowCaller(request.body);
  if (!caller.ok()) return fail(caller.status()), true;
  if (home.pop_id.empty() || caller->pop_id != home.pop_id || caller->term != home.term) {
    SendJsonError(writer, 409,
                  fmt::format("{} (term {}) is not the workflow home (the home is {}, term {})",
                              caller->pop_id, caller->term,
                              home.pop_id.empty() ? "nobody" : home.pop_id, home.term));
    return true;
  }
  if (what == "take") {
    simdjson::dom::parser parser;
    auto root = ParseObject(parser, request.body, "a workflow take");
    if (!root.ok()) return fail(root.status()), true;
    uint64_t max = kWorkflowFleetMaxTake;
    if (!GetUint(*root, "max", &max))
      return fail(Status(ErrorCode::kInvalidInput, "max must be a number")), true;
    max = std::clamp<uint64_t>(max, 1, kWorkflowFleetMaxTake);
    auto commands = mailbox.Take(max, gateway::UnixMs());
    if (!commands.ok()) return fail(commands.status()), true;
    std::string out = "{\"commands\":";
    base::AppendJsonArray(out, *commands, [](std::string& o, const WorkflowCommand& c) {
      o += EncodeWorkflowCommand(c);
    });
    SendJson(writer, 200, out + "}");
    return true;
  }
  if (what == "ack") {
    simdjson::dom::parser parser;
    auto root = ParseObject(parser, request.body, "a workflow ack");
    if (!root.ok()) return fail(root.status()), true;
    simdjson::dom::array list;
    std::vector<uint64_t> seqs;
    if ((*root)["seqs"].get_array().get(list) != simdjson::SUCCESS || list.size() > 10'000) {
      return fail(Status(ErrorCode::kInvalidInput, "a workflow ack needs seqs (at most 10000)")),
             true;
    }
    for (element item : list) {
      uint64_t seq = 0;
      if (item.get_uint64().get(seq) != simdjson::SUCCESS) {
        return fail(Status(ErrorCode::kInvalidInput, "a workflow ack's seqs must be numbers")),
               true;
      }
      seqs.push_back(seq);
    }
    Status acked = mailbox.Ack(seqs);
    if (!acked.ok()) return fail(acked), true;
    SendJson(writer, 200, "{\"acked\":true}");
    return true;
  }
  auto summaries = DecodeWorkflowSummaries(request.body);
  if (!summaries.ok()) return fail(summaries.status()), true;
  Status kept = mailbox.PutSummaries(*summaries);
  if (!kept.ok()) return fail(kept), true;
  SendJson(writer, 200, "{\"kept\":true}");
  return true;
}

}  // namespace edge::sync
