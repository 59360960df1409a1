// The client end of a WebSocket a worker opens (`new WebSocket(url)`,
// `fetch()` with `Upgrade: websocket`), RFC 6455 section 4.1, on the loop
// of the isolate that opened it. The connection is a SocketConnection
// (bindings/sockets): DNS, the node's outbound address policy on every
// resolved address, TCP, TLS with fetch()'s client context; the opening
// handshake (DNS to the 101) must finish within the connect timeout.
//
// The handshake: GET with a fresh Sec-WebSocket-Key, version 13, the
// offered subprotocols and the caller's other headers; the answer must be
// 101 with `Upgrade: websocket`, `Connection: upgrade`, the right
// Sec-WebSocket-Accept, no extension (none is offered) and a subprotocol
// among those offered. Any other status is handed back as a response (its
// body read when it is at most kMaxRefusalBodyBytes), never followed.
//
// After it, this is a runtime::WebSocketChannel: frames are read with
// base::WebSocketReader (client role: server frames must be unmasked, 1 MiB
// per message); every frame sent is masked. Pings are answered with pongs
// here. The close handshake: a server's close is answered with the same
// code; a close from the worker waits kCloseWaitMs for the server's answer.
// A protocol error sends a close frame with its code (1002, 1007, 1009).
// Reading stops while PauseReading(true) (the peer then meets TCP
// backpressure). What waits to be written counts in BufferedBytes.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/websocket_frame.h"
#include "bindings/sockets/socket_connection.h"
#include "runtime/response_sink.h"

namespace edge::bindings {

class ClientWebSocket final : public runtime::WebSocketChannel,
                              private base::WebSocketReader::Handler,
                              public std::enable_shared_from_this<ClientWebSocket> {
 public:
  static constexpr uint64_t kCloseWaitMs = 10000;
  // The longest response head read (status line and headers).
  static constexpr size_t kMaxResponseHeadBytes = 16 * 1024;
  // The longest body of a refusal (a status other than 101) handed back.
  static constexpr size_t kMaxRefusalBodyBytes = 64 * 1024;
  // Below this many bytes waiting to be written, OnDrain's callback runs.
  static constexpr size_t kDrainBytes = 64 * 1024;

  struct Request {
    SocketTarget target;
    std::string host_header;  // "example.com" or "example.com:8080"
    std::string path;         // "/chat?room=1"
    runtime::HeaderList headers;  // the caller's other headers
    std::vector<std::string> protocols;
  };
  // The server's answer: 101 (the channel is open) or a refusal.
  struct Answer {
    int status = 0;
    std::string status_text;
    runtime::HeaderList headers;
    std::string body;  // a refusal's
    std::string protocol;
  };
  using Done = std::function<void(StatusOr<Answer>)>;

  // Starts connecting; `done` runs once, from the loop, unless Abort()
  // came first. The object stays alive while the caller holds it.
  static std::shared_ptr<ClientWebSocket> Connect(uv_loop_t* loop, Request request, Done done);
  ~ClientWebSocket() override;

  // Ends everything at once: no close frame, no callback after it.
  void Abort();

  // runtime::WebSocketChannel
  void Start(Events events) override;
  void Send(std::string_view data, bool binary) override;
  void Close(int code, std::string_view reason) override;
  size_t BufferedBytes() const override { return buffered_; }
  void OnDrain(std::function<void()> callback) override;
  void PauseReading(bool paused) override;

 private:
  struct Timer;
  ClientWebSocket(uv_loop_t* loop, Request request, Done done);

  void Begin();
  void OnOpened(const Status& status);
  void ReadMore();
  void OnRead(SocketConnection::ReadResult result);
  void OnHandshakeBytes();
  void Refused(size_t head_end);
  void HandshakeFailed(Status status);
  void ArmTimer(uint64_t ms);
  void OnTimer();

  // base::WebSocketReader::Handler
  void OnMessage(std::string data, bool binary) override;
  void OnPing(std::string_view payload) override;
  void OnClose(int code, std::string reason) override;
  void OnProtocolError(int code, std::string reason) override;

  void Write(std::string frame);
  void PumpWrite();
  void Finish(int code, std::string reason, bool clean);
  void Deliver(std::function<void()> event);
  void CloseConnection();
  void BeginClosing();
  void MaybeCloseAfterWrites();

  enum class Phase { kConnecting, kHandshake, kRefusalBody, kOpen, kDone };

  uv_loop_t* loop_;
  Request request_;
  Done done_;
  std::string key_;
  SocketConnection* connection_ = nullptr;
  Timer* timer_ = nullptr;
  Phase phase_ = Phase::kConnecting;
  std::string in_;  // the response head (and refusal body) so far
  Answer answer_;
  size_t refusal_length_ = 0;  // expected body bytes; SIZE_MAX: to the end
  base::WebSocketReader reader_;
  Events events_;
  bool started_ = false;
  std::vector<std::function<void()>> early_;
  bool reading_ = false;
  bool paused_ = false;
  std::deque<std::string> out_;
  bool writing_ = false;
  size_t buffered_ = 0;
  std::function<void()> on_drain_;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool finished_ = false;
  bool closing_ = false;   // the close handshake is over: shut down once the writes are out
  bool draining_ = false;  // shut down: reading (and dropping) until the server's end
  std::shared_ptr<ClientWebSocket> self_;  // kept alive while closing
};

}  // namespace edge::bindings
