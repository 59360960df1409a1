#include "edge-sync/workflow_forwarder.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>

#include "base/json_text.h"
#include "base/log.h"
#include "bindings/workflows/workflow_admin.h"

namespace edge::sync {
namespace {

using bindings::WorkflowInstance;

// Instances whose summaries one full push (on becoming the home) reads
// from the store at a time.
constexpr size_t kScanPage = 500;

std::string CallerJson(const CronHomeState& home, std::string_view rest) {
  return fmt::format("{{\"pop_id\":{},\"term\":{}{}}}", base::JsonString(home.pop_id), home.term,
                     rest);
}

}  // namespace

WorkflowForwarder::WorkflowForwarder(base::HttpTarget upstream, std::string pop_id,
                                     std::function<CronHomeState()> home,
                                     std::function<uint64_t()> cursor,
                                     std::shared_ptr<bindings::WorkflowStore> store,
                                     WorkflowForwarderOptions options)
    : upstream_(std::move(upstream)),
      pop_id_(std::move(pop_id)),
      home_(std::move(home)),
      cursor_(std::move(cursor)),
      store_(std::move(store)),
      options_(options) {
  // A binding's call waits on these: an origin that does not answer within
  // seconds fails the call rather than the invocation's wall time.
  upstream_.connect_timeout_ms = 2000;
  upstream_.io_timeout_ms = 5000;
  upstream_.max_response_bytes = kWorkflowFleetBatchBytes * 2 + (1 << 20);
}

WorkflowForwarder::~WorkflowForwarder() { Stop(); }

void WorkflowForwarder::Start() {
  store_->SetOnChange(
      [this](std::string_view account, std::string_view workflow, std::string_view id) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          dirty_.emplace(std::string(account), std::string(workflow), std::string(id));
          kicked_ = true;
        }
        wake_.notify_one();
      });
  if (options_.thread) thread_ = std::thread([this] { Run(); });
}

void WorkflowForwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  store_->SetOnChange(nullptr);
}

bool WorkflowForwarder::Remote() const { return home_().pop_id != pop_id_; }

WorkflowForwarder::Counts WorkflowForwarder::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

StatusOr<base::HttpResponse> WorkflowForwarder::Post(std::string_view path,
                                                     const std::string& body) {
  if (body.size() > kWorkflowFleetMaxBodyBytes) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("a workflow call sent to the fleet's home carries at most {} bytes "
                              "(params and payloads, in base64); this one is {}",
                              kWorkflowFleetMaxBodyBytes, body.size()));
  }
  return base::Request(upstream_, "POST", path, body, "application/json");
}

namespace {
int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

StatusOr<base::HttpResponse> WorkflowForwarder::Call(std::string_view path,
                                                     const std::string& body) {
  if (body.size() > kWorkflowFleetMaxBodyBytes) return Post(path, body);  // refused, as too large
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (SteadyMs() < origin_away_until_ms_) {
      return Status(ErrorCode::kIo, fmt::format("{} (tried again in under {} ms)", origin_away_why_,
                                                kWorkflowOriginBackoffMs));
    }
    if (calls_in_flight_ >= kWorkflowMaxCallsInFlight) {
      return Status(ErrorCode::kIo,
                    fmt::format("{} workflow calls are already waiting for the fleet's origin on "
                                "this PoP (the most at once); await each call, or use createBatch",
                                kWorkflowMaxCallsInFlight));
    }
    ++calls_in_flight_;
  }
  auto response = Post(path, body);
  std::lock_guard<std::mutex> lock(mutex_);
  --calls_in_flight_;
  if (!response.ok() && response.status().code() != ErrorCode::kRangeError) {
    origin_away_until_ms_ = SteadyMs() + kWorkflowOriginBackoffMs;
    origin_away_why_ = response.status().message();
  }
  return response;
}

// A binding's call, answered by the origin: the store's errors as the
// store gives them (404 not found, 400/409 refused), anything else (no
// answer, 5xx) an error saying that the fleet's origin could not take it.
namespace {
Status FromAnswer(const StatusOr<base::HttpResponse>& response) {
  if (!response.ok()) {
    if (response.status().code() == ErrorCode::kRangeError) return response.status();
    return Status(
        ErrorCode::kIo,
        fmt::format("workflow instances live on the fleet's home, and its origin could not "
                    "be reached: {}",
                    response.status().message()));
  }
  const base::HttpResponse& answer = response.value();
  if (answer.status >= 200 && answer.status < 300) return Status::Ok();
  std::string message = base::ResponseError(answer).message();
  // The origin's own refusals carry a "code"; a 4xx without one is not
  // its answer (a relay, an older origin).
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view code;
  if (answer.status >= 400 && answer.status < 500 &&
      parser.parse(answer.body).get(root) == simdjson::SUCCESS &&
      root["code"].get_string().get(code) == simdjson::SUCCESS) {
    if (code == "not_found") return Status(ErrorCode::kNotFound, message);
    if (code == "range") return Status(ErrorCode::kRangeError, message);
    if (code == "type") return Status(ErrorCode::kTypeError, message);
    return Status(ErrorCode::kInvalidInput, message);
  }
  return Status(
      ErrorCode::kIo,
      fmt::format("workflow instances live on the fleet's home, and its origin refused the "
                  "call ({}): {}",
                  answer.status, message));
}
}  // namespace

Status WorkflowForwarder::Submit(const std::vector<WorkflowCommand>& commands, bool batch,
                                 std::vector<std::string>* ids) {
  auto response = Call("/sync/workflows/submit", EncodeWorkflowSubmit(commands, batch));
  Status answered = FromAnswer(response);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++(answered.ok() ? counts_.forwarded : counts_.failed);
  }
  if (!answered.ok() || ids == nullptr) return answered;
  simdjson::dom::parser parser;
  simdjson::dom::array list;
  simdjson::dom::element root;
  if (parser.parse(response->body).get(root) != simdjson::SUCCESS ||
      root["ids"].get_array().get(list) != simdjson::SUCCESS) {
    return Status(ErrorCode::kIo, "the fleet's origin answered a workflow create without its ids");
  }
  for (simdjson::dom::element item : list) {
    std::string_view id;
    if (item.get_string().get(id) == simdjson::SUCCESS) ids->emplace_back(id);
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> WorkflowForwarder::Create(
    const std::vector<WorkflowInstance>& instances, bool batch) {
  std::vector<WorkflowCommand> commands;
  uint64_t cursor = cursor_();
  for (const WorkflowInstance& instance : instances) {
    WorkflowCommand command;
    command.op = "create";
    command.instance = instance;
    command.cursor = cursor;
    commands.push_back(std::move(command));
  }
  std::vector<std::string> ids;
  EDGE_RETURN_IF_ERROR(Submit(commands, batch, &ids));
  return ids;
}

StatusOr<WorkflowInstance> WorkflowForwarder::Get(std::string_view account,
                                                  std::string_view workflow, std::string_view id) {
  std::string body =
      fmt::format("{{\"account\":{},\"workflow\":{},\"id\":{}}}", base::JsonString(account),
                  base::JsonString(workflow), base::JsonString(id));
  auto response = Call("/sync/workflows/status", body);
  EDGE_RETURN_IF_ERROR(FromAnswer(response));
  auto summary = DecodeWorkflowSummary(response->body);
  if (!summary.ok()) {
    return Status(ErrorCode::kIo,
                  "the fleet's origin answered a workflow status that is not valid: " +
                      summary.status().message());
  }
  return std::move(summary->instance);
}

Status WorkflowForwarder::Control(std::string_view account, std::string_view workflow,
                                  std::string_view id, std::string_view op) {
  WorkflowCommand command;
  command.op = std::string(op);
  command.instance.account = std::string(account);
  command.instance.workflow = std::string(workflow);
  command.instance.id = std::string(id);
  return Submit({command}, false, nullptr);
}

Status WorkflowForwarder::SendEvent(std::string_view account, std::string_view workflow,
                                    std::string_view id,
                                    const bindings::WorkflowEventRecord& event) {
  WorkflowCommand command;
  command.op = "event";
  command.instance.account = std::string(account);
  command.instance.workflow = std::string(workflow);
  command.instance.id = std::string(id);
  command.event_type = event.type;
  command.payload = event.payload;
  command.event_ms = event.timestamp_ms;
  return Submit({command}, false, nullptr);
}

Status WorkflowForwarder::Apply(const WorkflowCommand& command) {
  Status applied;
  if (command.op == "create") {
    applied = store_->Create(command.instance);
  } else if (command.op == "event") {
    applied =
        store_->SendEvent(command.instance.account, command.instance.workflow, command.instance.id,
                          {command.event_type, command.payload, command.event_ms});
  } else {  // pause, resume, terminate, restart
    const WorkflowInstance& i = command.instance;
    applied = bindings::ControlInstance(*store_, i.account, i.workflow, i.id, command.op);
  }
  // The disk said no: try again. Anything else is the answer for good (a
  // create sent again after a restart finds its instance there).
  if (applied.code() == ErrorCode::kIo || applied.code() == ErrorCode::kInternal) return applied;
  if (!applied.ok()) {
    Log(LogLevel::kInfo, "workflow \"{}\" instance {}: {} from another PoP not applied: {}",
        command.instance.workflow, command.instance.id, command.op, applied.message());
    // The origin's summary may be behind (a queued create refused here):
    // the instance's own summary goes again.
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_.emplace(command.instance.account, command.instance.workflow, command.instance.id);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_.applied;
  return Status::Ok();
}

void WorkflowForwarder::PushSummaries(const CronHomeState& home) {
  std::vector<Key> keys;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (dirty_.empty()) return;
    keys.assign(dirty_.begin(), dirty_.end());
    dirty_.clear();
  }
  size_t next = 0;
  while (next < keys.size()) {
    std::string body = CallerJson(home, "");
    body.pop_back();
    body += ",\"summaries\":[";
    size_t first = next;
    for (; next < keys.size() && body.size() < kWorkflowFleetBatchBytes; ++next) {
      const auto& [account, workflow, id] = keys[next];
      WorkflowSummaryRecord summary;
      auto found = store_->Get(account, workflow, id);
      if (found.ok()) {
        summary.instance = std::move(found).value();
      } else if (found.status().code() == ErrorCode::kNotFound) {
        summary.instance.account = account;
        summary.instance.workflow = workflow;
        summary.instance.id = id;
        summary.gone = true;
      } else {
        continue;  // read again with the next change
      }
      if (next > first) body += ',';
      body += EncodeWorkflowSummary(summary);
    }
    body += "]}";
    auto response = Post("/sync/workflows/summaries", body);
    if (!response.ok() || response->status != 200) {
      Log(LogLevel::kDebug, "workflow summaries not pushed to the origin: {}",
          response.ok() ? base::ResponseError(*response).message() : response.status().message());
      std::lock_guard<std::mutex> lock(mutex_);
      dirty_.insert(keys.begin() + static_cast<std::ptrdiff_t>(first), keys.end());
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    counts_.pushed += next - first;
  }
}

void WorkflowForwarder::RunHomeOnce() {
  CronHomeState home = home_();
  if (home.pop_id != pop_id_) {
    // Not the home: nothing to take; what changed here is pushed in full
    // when this node becomes the home.
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_.clear();
    synced_term_ = 0;
    held_.clear();
    return;
  }
  if (synced_term_ != home.term) {
    // A new term: every instance this node holds, as the origin may have
    // missed changes (a kill -9 before a push, another home meanwhile).
    std::string account, workflow, id;
    for (;;) {
      auto page = store_->ScanAfter(account, workflow, id, kScanPage);
      if (!page.ok()) return;  // the next round tries again
      std::lock_guard<std::mutex> lock(mutex_);
      for (const WorkflowInstance& instance : *page) {
        dirty_.emplace(instance.account, instance.workflow, instance.id);
      }
      if (page->size() < kScanPage) break;
      account = page->back().account;
      workflow = page->back().workflow;
      id = page->back().id;
    }
    synced_term_ = home.term;
  }
  // Commands: those held back first, then new ones once none is.
  if (held_.empty()) {
    auto response = Post("/sync/workflows/take",
                         CallerJson(home, fmt::format(",\"max\":{}", kWorkflowFleetMaxTake)));
    if (response.ok() && response->status == 200) {
      auto commands = DecodeWorkflowTake(response->body);
      if (commands.ok()) {
        for (WorkflowCommand& command : *commands) held_.push_back(std::move(command));
      } else {
        Log(LogLevel::kWarn, "workflow commands from the origin not taken: {}",
            commands.status().message());
      }
    } else if (response.ok() && response->status == 409) {
      Log(LogLevel::kDebug, "workflow commands: {}", base::ResponseError(*response).message());
    }
  }
  std::vector<uint64_t> done;
  uint64_t cursor = cursor_();
  while (!held_.empty()) {
    const WorkflowCommand& command = held_.front();
    // A create from a PoP further along the log than this node: wait for
    // the log (the worker's version) before running it here.
    if (command.op == "create" && command.cursor > cursor) break;
    if (!Apply(command).ok()) break;
    done.push_back(command.seq);
    held_.pop_front();
  }
  if (!done.empty()) {
    std::string seqs = ",\"seqs\":[";
    for (size_t i = 0; i < done.size(); ++i) seqs += (i ? "," : "") + std::to_string(done[i]);
    auto response = Post("/sync/workflows/ack", CallerJson(home, seqs + "]"));
    if (!response.ok() || response->status != 200) {
      // Handed out again after the lease: applied twice at worst.
      Log(LogLevel::kDebug, "workflow commands applied but not acknowledged: {}",
          response.ok() ? base::ResponseError(*response).message() : response.status().message());
    }
  }
  PushSummaries(home);
}

void WorkflowForwarder::Run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                     [this] { return stopping_ || kicked_; });
      if (stopping_) return;
      kicked_ = false;
    }
    RunHomeOnce();
  }
}

}  // namespace edge::sync
