// The server end of a WebSocket on an HttpConnection that answered a
// handshake with 101 (ConnectionWriter::AcceptWebSocket). Internal to the
// gateway: the connection feeds it what the client sends and writes its
// frames; the worker sees it as a runtime::WebSocketChannel.
//
// Frames are read with base::WebSocketReader (server role: client frames
// must be masked, 1 MiB per message). Pings are answered here with pongs,
// without waking the worker. The close handshake: a close frame from the
// client is answered with the same code (none for 1005) and the connection
// ends gracefully; a close from the worker is sent and the client's answer
// awaited for kCloseWaitMs before the connection is cut. A protocol error
// sends a close frame with its code (1002, 1007, 1009) and ends the
// connection. The worker is told on_close once, last.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/websocket_frame.h"
#include "runtime/response_sink.h"

namespace edge::gateway {

class HttpConnection;

class WebSocketSession final : public runtime::WebSocketChannel,
                               private base::WebSocketReader::Handler {
 public:
  // How long a close sent by the server waits for the client's answer.
  static constexpr uint64_t kCloseWaitMs = 10000;

  explicit WebSocketSession(HttpConnection* connection);
  ~WebSocketSession() override;

  // runtime::WebSocketChannel
  void Start(Events events) override;
  void Send(std::string_view data, bool binary) override;
  void Close(int code, std::string_view reason) override;
  size_t BufferedBytes() const override;
  void OnDrain(std::function<void()> callback) override;
  void PauseReading(bool paused) override;

  // From the connection.
  void OnBytes(std::string_view bytes);
  // The socket is gone (the client's FIN or an error, or the server cut
  // it): 1006 for the worker unless the handshake completed.
  void OnConnectionGone();
  // The server is shutting down: close with 1001.
  void OnShutdown();
  void OnWritable();
  void OnCloseTimeout();
  bool paused() const { return paused_; }

 private:
  // base::WebSocketReader::Handler
  void OnMessage(std::string data, bool binary) override;
  void OnPing(std::string_view payload) override;
  void OnPong(std::string_view payload) override {}
  void OnClose(int code, std::string reason) override;
  void OnProtocolError(int code, std::string reason) override;

  void Write(const std::string& frame);
  // Tells the worker (once) and lets the connection end.
  void Finish(int code, std::string reason, bool clean);
  void Deliver(std::function<void()> event);

  HttpConnection* connection_;  // null once the connection is gone
  base::WebSocketReader reader_;
  Events events_;
  bool started_ = false;
  std::vector<std::function<void()>> early_;  // events before Start
  bool close_sent_ = false;
  bool close_received_ = false;
  bool finished_ = false;
  bool paused_ = false;
  std::function<void()> on_drain_;
};

}  // namespace edge::gateway
