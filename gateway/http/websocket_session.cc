#include "gateway/http/websocket_session.h"

#include <utility>

#include "base/log.h"
#include "gateway/http/connection_util.h"
#include "gateway/http/http_connection.h"

namespace edge::gateway {

WebSocketSession::WebSocketSession(HttpConnection* connection)
    : connection_(connection), reader_(base::WebSocketReader::Role::kServer, this) {}

WebSocketSession::~WebSocketSession() = default;

void WebSocketSession::Start(Events events) {
  if (started_) return;
  started_ = true;
  events_ = std::move(events);
  std::vector<std::function<void()>> early;
  early.swap(early_);
  for (auto& event : early) event();
}

void WebSocketSession::Deliver(std::function<void()> event) {
  if (!started_) {
    early_.push_back(std::move(event));
    return;
  }
  event();
}

void WebSocketSession::Write(const std::string& frame) {
  if (connection_ == nullptr) return;
  connection_->out_.append(frame);
  connection_->RequestFlush();
}

void WebSocketSession::Send(std::string_view data, bool binary) {
  if (connection_ == nullptr || close_sent_) return;
  Write(base::EncodeWebSocketFrame(binary ? base::WsOpcode::kBinary : base::WsOpcode::kText, data,
                                   /*mask=*/false));
}

void WebSocketSession::Close(int code, std::string_view reason) {
  if (connection_ == nullptr || close_sent_) return;
  close_sent_ = true;
  Write(base::EncodeWebSocketClose(code, reason, /*mask=*/false));
  if (close_received_) return;
  // The client answers with its own close frame; one that does not is cut
  // off after a while.
  connection_->ArmTimer(HttpConnection::TimerKind::kWebSocketClose, kCloseWaitMs);
}

size_t WebSocketSession::BufferedBytes() const {
  return connection_ != nullptr ? connection_->BufferedBytes() : 0;
}

void WebSocketSession::OnDrain(std::function<void()> callback) {
  if (connection_ == nullptr) return;
  if (connection_->BufferedBytes() < kDrainThreshold) {
    SafeCall(callback, "WebSocket drain callback");
    return;
  }
  on_drain_ = std::move(callback);
}

void WebSocketSession::OnWritable() {
  if (!on_drain_ || connection_ == nullptr || connection_->BufferedBytes() >= kDrainThreshold) {
    return;
  }
  std::function<void()> callback = std::move(on_drain_);
  on_drain_ = nullptr;
  SafeCall(callback, "WebSocket drain callback");
}

void WebSocketSession::PauseReading(bool paused) {
  paused_ = paused;
  if (connection_ != nullptr) connection_->UpdateReading();
}

void WebSocketSession::OnBytes(std::string_view bytes) { reader_.Feed(bytes); }

void WebSocketSession::OnMessage(std::string data, bool binary) {
  Deliver([this, data = std::move(data), binary]() mutable {
    if (events_.on_message) events_.on_message(std::move(data), binary);
  });
}

void WebSocketSession::OnPing(std::string_view payload) {
  if (close_sent_) return;
  Write(base::EncodeWebSocketFrame(base::WsOpcode::kPong, payload, /*mask=*/false));
}

void WebSocketSession::OnClose(int code, std::string reason) {
  close_received_ = true;
  if (!close_sent_) {
    // The runtime answers a close at once, with the same code (Workers'
    // default; allowHalfOpen is not offered).
    close_sent_ = true;
    Write(base::EncodeWebSocketClose(code == base::kWsCloseNoStatus ? 0 : code, reason,
                                     /*mask=*/false));
  }
  Finish(code, std::move(reason), /*clean=*/true);
}

void WebSocketSession::OnProtocolError(int code, std::string reason) {
  if (connection_ != nullptr) {
    Log(LogLevel::kInfo, "gateway: closing the WebSocket from {} with {}: {}",
        connection_->remote_address_, code, reason);
  }
  if (!close_sent_) {
    close_sent_ = true;
    Write(base::EncodeWebSocketClose(code, reason, /*mask=*/false));
  }
  Finish(code, std::move(reason), /*clean=*/false);
}

void WebSocketSession::OnCloseTimeout() {
  Finish(base::kWsCloseAbnormal, "", /*clean=*/false);
  if (connection_ != nullptr) connection_->CloseNow();
}

void WebSocketSession::OnShutdown() {
  if (connection_ == nullptr) return;
  if (!close_sent_) Close(base::kWsCloseGoingAway, "The server is shutting down");
}

void WebSocketSession::OnConnectionGone() {
  connection_ = nullptr;
  on_drain_ = nullptr;
  Finish(base::kWsCloseAbnormal, "", /*clean=*/false);
}

void WebSocketSession::Finish(int code, std::string reason, bool clean) {
  if (!finished_) {
    finished_ = true;
    Deliver([this, code, reason = std::move(reason), clean]() mutable {
      if (events_.on_close) {
        auto on_close = std::move(events_.on_close);
        events_ = Events();
        on_close(code, std::move(reason), clean);
      }
    });
  }
  // Both close frames are out (or the peer broke the protocol): the
  // connection ends gracefully, its output flushed first.
  if (connection_ != nullptr && close_sent_) connection_->BeginLinger();
}

}  // namespace edge::gateway
