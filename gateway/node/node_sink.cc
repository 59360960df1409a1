#include "gateway/node/node_sink.h"

#include <utility>

#include <chrono>

#include "gateway/node/metering.h"
#include "gateway/node/node_metrics.h"
#include "gateway/node/request_log.h"
#include "gateway/http/status_pages.h"
#include "gateway/node/tail_hub.h"
#include "base/log.h"

namespace edge::gateway {
namespace {

// An invocation that logs without end must not hold the node's memory: past
// these, its lines still reach the log but are not kept for `edge tail`.
constexpr size_t kMaxKeptConsoleLines = 100;
constexpr size_t kMaxKeptConsoleBytes = 64 * 1024;

}  // namespace

uint64_t UnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void NodeReporting::Report(const InvocationRecord& record) const {
  if (meter != nullptr) meter->Record(record, UnixMs());
  if (metrics != nullptr) metrics->ObserveRequest(record);
  if (log != nullptr) log->Access(record);
  if (tail != nullptr) tail->Publish(record);
}

std::string_view OutcomeOfFailure(LimitKind limit) {
  switch (limit) {
    case LimitKind::kCpu:
    case LimitKind::kStartupCpu:
      return "exceededCpu";
    case LimitKind::kMemory:
      return "exceededMemory";
    case LimitKind::kNone:
      break;
  }
  return "exception";
}

NodeSink::NodeSink(std::shared_ptr<ResponseWriter> writer, const NodeReporting& reporting,
                   InvocationRecord record, const WorkerLimits& limits,
                   WallDeadlines* deadlines)
    : WriterSink(std::move(writer)),
      reporting_(reporting),
      record_(std::move(record)),
      limits_(limits),
      deadlines_(deadlines),
      start_ns_(uv_hrtime()) {
  record_.memory_limit_bytes = limits.memory_mb << 20;
}

NodeSink::~NodeSink() {
  StopTimer();
  // The runtime let go of the response without ending it (the isolate went
  // away mid-response and could not say why); the writer answers 500 or
  // cuts the connection when its last reference goes.
  if (!ended_) {
    ended_ = true;
    record_.outcome = "exception";
    if (record_.status == 0) record_.status = 500;
    record_.wall_ns = uv_hrtime() - start_ns_;
    reporting_.Report(record_);
  }
}

void NodeSink::Begin() {
  if (limits_.wall_ms == 0 || ended_) return;
  deadlines_->Start(&wall_deadline_, limits_.wall_ms, OnWallLimit, this);
}

void NodeSink::StopTimer() { wall_deadline_.Cancel(); }

void NodeSink::OnWallLimit(WallDeadline* deadline) {
  auto* self = static_cast<NodeSink*>(deadline->data());
  if (self->ended_) return;
  // Ending it may let go of the runtime's reference.
  std::shared_ptr<NodeSink> keep = self->shared_from_this();
  std::string reason =
      fmt::format("Worker exceeded its wall time limit of {} ms", self->limits_.wall_ms);
  Log(LogLevel::kWarn, "[{}] request {} {}: {}", self->record_.worker, self->record_.request_id,
      self->record_.url, reason);
  if (self->reporting_.metrics != nullptr) self->reporting_.metrics->AddLimitKill("wall");
  if (self->started()) {
    self->writer().Abort();
  } else {
    SendErrorPage(self->writer(), 504, reason);
    self->record_.status = 504;
  }
  // The worker may go on; what it still writes is dropped (Aborted() tells
  // its stream to stop).
  self->End("exceededWall");
  self->Ended();
}

void NodeSink::Start(int status, std::string_view status_text, runtime::HeaderList headers,
                     std::optional<uint64_t> content_length) {
  if (ended_) return;
  if (limits_.response_bytes != 0 && content_length && *content_length > limits_.response_bytes) {
    TooLarge();
    return;
  }
  record_.status = status;
  declared_length_ = content_length;
  WriterSink::Start(status, status_text, std::move(headers), content_length);
}

void NodeSink::Write(std::string_view chunk) {
  if (ended_) return;
  record_.bytes_out += chunk.size();
  if (limits_.response_bytes != 0 && record_.bytes_out > limits_.response_bytes) {
    TooLarge();
    return;
  }
  WriterSink::Write(chunk);
}

void NodeSink::TooLarge() {
  std::string reason = fmt::format("Worker response exceeded its size limit of {} bytes",
                                   limits_.response_bytes);
  Log(LogLevel::kWarn, "[{}] request {} {}: {}", record_.worker, record_.request_id, record_.url,
      reason);
  if (reporting_.metrics != nullptr) reporting_.metrics->AddLimitKill("response_size");
  if (started()) {
    writer().Abort();
  } else {
    SendErrorPage(writer(), 500, reason);
    record_.status = 500;
  }
  End("responseTooLarge");
  Ended();
}

void NodeSink::Finish() {
  if (ended_) return;
  // A client that read the whole declared body may hang up before Finish
  // arrives (a response served on another thread): that is not a cancel.
  bool complete = declared_length_ && record_.bytes_out >= *declared_length_;
  bool canceled = WriterSink::Aborted() && !complete;
  if (record_.status == 0) record_.status = 200;  // Finish without Start: an empty 200
  // Recorded before the last bytes go out: a client that reads the response
  // and then asks /usage must find it counted.
  End(canceled ? "canceled" : "ok");
  WriterSink::Finish();
}

StatusOr<std::shared_ptr<runtime::WebSocketChannel>> NodeSink::AcceptWebSocket(
    runtime::HeaderList headers) {
  if (ended_) return Status(ErrorCode::kTypeError, "The response already ended");
  auto channel = WriterSink::AcceptWebSocket(std::move(headers));
  if (channel.ok()) {
    // The request is over with its 101; the WebSocket's own traffic is
    // not part of it (its events' CPU is the worker's background use).
    record_.status = 101;
    End("ok");
  }
  return channel;
}

void NodeSink::Fail(std::string_view public_reason, LimitKind limit) {
  if (ended_) return;
  std::string_view outcome = OutcomeOfFailure(limit);
  if (reporting_.metrics != nullptr) {
    if (outcome == "exceededCpu") reporting_.metrics->AddLimitKill("cpu");
    if (outcome == "exceededMemory") reporting_.metrics->AddLimitKill("memory");
  }
  if ((outcome == "exceededCpu" || outcome == "exceededMemory") && reporting_.on_limit_kill) {
    reporting_.on_limit_kill(record_.worker);
  }
  if (!started()) record_.status = 500;
  bool canceled = WriterSink::Aborted();
  End(canceled && outcome == "exception" ? "canceled" : outcome);
  WriterSink::Fail(public_reason, limit);
}

void NodeSink::ReportCpu(uint64_t cpu_ns) {
  if (!ended_) {
    record_.cpu_ns = cpu_ns;
  } else if (reporting_.meter != nullptr) {
    // Reported already (the wall limit or the size limit cut it short): the
    // CPU it went on using is still the worker's.
    reporting_.meter->AddBackground(record_.worker, cpu_ns, 0, UnixMs());
  }
}

void NodeSink::OnUncaughtException(std::string_view description) {
  if (!ended_) KeepException(record_, description);
}

void KeepException(InvocationRecord& record, std::string_view description) {
  record.exception = std::string(description.substr(0, kMaxKeptExceptionBytes));
}

bool NodeSink::OnConsole(std::string_view level, std::string_view message) {
  reporting_.Console(record_, ended_, level, message);
  return true;
}

void NodeReporting::Console(InvocationRecord& record, bool ended, std::string_view level,
                            std::string_view message) const {
  if (log != nullptr) log->Console(record.worker, record.version, record.request_id, level, message);
  if (!ended && record.logs.size() < kMaxKeptConsoleLines) {
    size_t kept = 0;
    for (const ConsoleLine& line : record.logs) kept += line.message.size();
    if (kept + message.size() <= kMaxKeptConsoleBytes) {
      record.logs.push_back({UnixMs(), std::string(level), std::string(message)});
    }
  }
}

void NodeSink::End(std::string_view outcome) {
  if (ended_) return;
  ended_ = true;
  StopTimer();
  record_.outcome = std::string(outcome);
  record_.wall_ns = uv_hrtime() - start_ns_;
  reporting_.Report(record_);
  record_.logs.clear();
  if (on_cpu_) std::exchange(on_cpu_, nullptr)(record_.cpu_ns);
}

}  // namespace edge::gateway
