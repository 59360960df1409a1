// Where a worker's response goes. The gateway implements it over a client
// connection; tests implement it in memory. Called on the worker's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "runtime/request_chain.h"

namespace edge::runtime {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One open WebSocket connection, message by message: the server end of a
// request the worker answered with a 101 (the gateway does the framing,
// pings and the close handshake), or a connection the worker opened itself.
// All calls, both ways, on the worker's loop.
class WebSocketChannel {
 public:
  virtual ~WebSocketChannel() = default;
  struct Events {
    // A whole message from the peer (text is valid UTF-8).
    std::function<void(std::string data, bool binary)> on_message;
    // The connection is over, once and last: the peer's close code and
    // reason with clean = true after a close handshake; 1006 (no close
    // frame) or the code of a protocol error with clean = false.
    std::function<void(int code, std::string reason, bool clean)> on_close;
  };
  // Starts delivering events; what arrived before is delivered then.
  virtual void Start(Events events) = 0;
  virtual void Send(std::string_view data, bool binary) = 0;
  // Starts the close handshake (code 0: a close frame without a code);
  // on_close follows when the peer answers or gives up.
  virtual void Close(int code, std::string_view reason) = 0;
  // Bytes sent but not yet taken by the peer's socket, and a one-shot
  // callback once they fall below the writer's drain threshold.
  virtual size_t BufferedBytes() const = 0;
  virtual void OnDrain(std::function<void()> callback) = 0;
  // Backpressure on what the peer sends: while paused, its socket is not
  // read.
  virtual void PauseReading(bool paused) = 0;
};

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // The status line and headers. Without a length the body is streamed.
  virtual void Start(int status, std::string_view status_text, HeaderList headers,
                     std::optional<uint64_t> content_length) = 0;
  virtual void Write(std::string_view chunk) = 0;
  virtual void Finish() = 0;
  // The invocation failed. Before Start this becomes a 500 page naming
  // `public_reason`; after Start the response is cut short. `limit` says
  // which of the worker's limits stopped it (kNone: it threw, or was
  // unloaded), for whoever meters the invocation; the text is for people.
  virtual void Fail(std::string_view public_reason, LimitKind limit) = 0;
  // The client went away: the worker may stop producing the body.
  virtual bool Aborted() const = 0;
  // Backpressure: true when the caller should wait for OnDrain before the
  // next Write. OnDrain's callback runs at most once.
  virtual bool NeedsDrain() const = 0;
  virtual void OnDrain(std::function<void()> callback) = 0;
  // The CPU time this invocation was charged (see CpuAccount), told once,
  // just before Finish or Fail.
  virtual void ReportCpu(uint64_t /*cpu_ns*/) {}
  // A console line written while this invocation was current, for whoever
  // collects an invocation's logs (`edge tail`). Returns true when the sink
  // logged it itself; otherwise it goes to the worker's console hook or the
  // server log.
  virtual bool OnConsole(std::string_view /*level*/, std::string_view /*message*/) {
    return false;
  }
  // The uncaught exception that fails this invocation, as shown to people
  // ("Name: message" and the source-mapped stack, runtime frames left out),
  // told just before Fail. `edge dev` answers with it; a node records it
  // for `edge tail`. Never shown to clients of `edge serve`.
  virtual void OnUncaughtException(std::string_view /*description*/) {}
  // Answers the request with 101 Switching Protocols and `headers` (the
  // worker's: Sec-WebSocket-Protocol and the like; the handshake's own are
  // the gateway's), ending the response: the connection becomes the
  // returned WebSocket. Fails when the request was not a WebSocket
  // handshake or the response cannot switch protocols (it started, or it
  // goes to a caller that is not a client connection).
  virtual StatusOr<std::shared_ptr<WebSocketChannel>> AcceptWebSocket(HeaderList /*headers*/) {
    return Status(ErrorCode::kTypeError,
                  "This response cannot become a WebSocket: it does not go to a client's "
                  "WebSocket handshake");
  }
};

// A request body that is still arriving when the worker starts: the
// gateway dispatches a request once its headers are in and feeds the body as
// the client sends it. All calls, both ways, on the connection's loop.
class RequestBodySource {
 public:
  virtual ~RequestBodySource() = default;
  struct Reader {
    std::function<void(std::string_view)> on_data;   // a chunk, as it arrives
    std::function<void()> on_end;                    // the whole body is in
    std::function<void(std::string_view)> on_error;  // it never will be
  };
  // What arrived before is delivered at once, the rest as it comes.
  virtual void Read(Reader reader) = 0;
  // Backpressure: while paused, the connection stops reading the socket.
  virtual void Pause(bool paused) = 0;
};

// The request a worker sees, as the gateway parsed it.
struct FetchRequest {
  std::string method;
  std::string url;  // absolute: "http://host/path?query"
  HeaderList headers;
  std::string body;
  bool has_body = false;
  // Set instead of `body` when the body streams in after dispatch.
  std::shared_ptr<RequestBodySource> body_source;
  // request.cf as JSON ("" = none): what the node knows of the request.
  std::string cf_json;
  // The top-level request this one belongs to (a service-binding call);
  // null: it is a top-level request itself.
  std::shared_ptr<RequestChain> chain;
  // The named export that handles it (a service binding's `entrypoint`);
  // "": the default export.
  std::string entrypoint;
  // A JS RPC call over a service binding instead of a request: `rpc_method`
  // of the entrypoint's WorkerEntrypoint class is called (kCall, with the
  // arguments V8-serialized in `body`) or read (kGet); method and url then
  // only label the invocation ("RPC", "rpc:<method>"). Its outcome comes
  // back as a response whose status says what the body holds
  // (bindings/service/README.md).
  enum class Rpc { kNone, kCall, kGet };
  Rpc rpc = Rpc::kNone;
  std::string rpc_method;
};

// One event of a cron trigger, as the scheduler fired it: the second kind
// of invocation beside a FetchRequest (Worker::Scheduled).
struct ScheduledEvent {
  std::string cron;               // the trigger's expression ("" when run by hand)
  int64_t scheduled_time_ms = 0;  // Unix ms of the minute it fired for
};

// One message of a queue batch (Worker::Queue): its body as the producer
// serialized it, decoded in the isolate by its content type.
struct QueueEventMessage {
  std::string id;
  int64_t timestamp_ms = 0;  // when it entered the queue
  std::string body;
  std::string content_type;  // "json", "text", "bytes" or "v8"
  uint32_t attempts = 1;
};

// A batch for a queue consumer: the third kind of invocation. Its outcome
// (Worker::Queue) carries what the handler decided for each message.
struct QueueEvent {
  std::string queue;
  std::vector<QueueEventMessage> messages;
};

// One run of a workflow instance: the fourth kind of invocation
// (Worker::Workflow). The steps are those settled in earlier runs (their
// stored results replayed) and those whose next attempt is due.
struct WorkflowRunEvent {
  std::string class_name;
  std::string instance_id;
  std::string params;  // V8-serialized; empty: undefined
  int64_t timestamp_ms = 0;
  struct Step {
    std::string name;
    uint32_t count = 1;
    int kind = 0;   // 0 do, 1 sleep, 2 waitForEvent
    int state = 0;  // 0 done, 1 failed, 2 its next attempt runs now
    std::string result;  // V8-serialized (a wait's event payload)
    std::string error_name, error_message;
    int64_t end_ms = 0;  // state 2: the attempts made so far
  };
  std::vector<Step> steps;
};

}  // namespace edge::runtime
