// The response of one request a PoP node serves: a WriterSink that enforces
// the worker's wall-time and response-size limits, collects the
// invocation's console lines, and when the response ends hands the
// InvocationRecord to metering, metrics, the access log and live tails.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/deploy/bundle.h"
#include "gateway/node/invocation_record.h"
#include "gateway/node/wall_deadlines.h"
#include "gateway/host/writer_sink.h"

namespace edge::gateway {

class Meter;
class NodeMetrics;
class RequestLog;
class TailHub;

// Keeps an invocation's uncaught exception (as ResponseSink::
// OnUncaughtException tells it) in its record, for `edge tail`; a longer one
// is cut at kMaxKeptExceptionBytes.
inline constexpr size_t kMaxKeptExceptionBytes = 16 * 1024;
void KeepException(InvocationRecord& record, std::string_view description);

// Where the records of a node's requests go. Every member is thread-safe.
struct NodeReporting {
  Meter* meter = nullptr;
  NodeMetrics* metrics = nullptr;
  RequestLog* log = nullptr;
  TailHub* tail = nullptr;
  // Told when a worker was stopped by its CPU or memory limit (the node
  // quarantines it). Any thread.
  std::function<void(const std::string& worker)> on_limit_kill;
  // Records one request the node answered (with or without a worker).
  void Report(const InvocationRecord& record) const;
  // A console line of the invocation `record` describes: logged, and kept
  // in the record (bounded) for tails while it has not `ended`.
  void Console(InvocationRecord& record, bool ended, std::string_view level,
               std::string_view message) const;
};

// Milliseconds since the Unix epoch, for records.
uint64_t UnixMs();

class NodeSink : public WriterSink, public std::enable_shared_from_this<NodeSink> {
 public:
  // `record` holds what is known at dispatch (id, worker, version, method,
  // url, remote, bytes_in so far); the sink fills in the rest. The wall-time
  // limit runs on `deadlines`, its thread's (the thread the sink is used on).
  NodeSink(std::shared_ptr<ResponseWriter> writer, const NodeReporting& reporting,
           InvocationRecord record, const WorkerLimits& limits, WallDeadlines* deadlines);
  ~NodeSink() override;

  // Starts the wall-time limit: the invocation's wall clock starts here,
  // not when the sink was made (a sink failed before it runs never starts).
  void Begin();
  // Told the CPU time the invocation was charged, once, when the response
  // ends (on this sink's thread).
  void SetOnCpu(std::function<void(uint64_t cpu_ns)> on_cpu) { on_cpu_ = std::move(on_cpu); }
  // Adds request body bytes as they stream in.
  void CountBytesIn(uint64_t bytes) { record_.bytes_in += bytes; }

  void Start(int status, std::string_view status_text, runtime::HeaderList headers,
             std::optional<uint64_t> content_length) override;
  void Write(std::string_view chunk) override;
  void Finish() override;
  void Fail(std::string_view public_reason, LimitKind limit) override;
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList headers) override;
  void ReportCpu(uint64_t cpu_ns) override;
  bool OnConsole(std::string_view level, std::string_view message) override;
  void OnUncaughtException(std::string_view description) override;
  bool Aborted() const override { return ended_ || WriterSink::Aborted(); }

 private:
  static void OnWallLimit(WallDeadline* deadline);
  void TooLarge();
  // The response is over for the client: report it once.
  void End(std::string_view outcome);
  void StopTimer();

  NodeReporting reporting_;
  InvocationRecord record_;
  WorkerLimits limits_;
  WallDeadlines* deadlines_;
  uint64_t start_ns_;
  WallDeadline wall_deadline_;
  std::optional<uint64_t> declared_length_;  // the response's Content-Length
  bool ended_ = false;  // the client's side is done (reported)
  std::function<void(uint64_t cpu_ns)> on_cpu_;
};

// The outcome of an invocation the runtime failed, by the limit that
// stopped it (kCpu -> "exceededCpu"; none -> "exception").
std::string_view OutcomeOfFailure(LimitKind limit);

}  // namespace edge::gateway
