#include "gateway/http/connection_writer.h"

#include <utility>

#include "base/http_text.h"
#include "base/log.h"
#include "gateway/http/connection_util.h"
#include "gateway/http/status_pages.h"
#include "gateway/http/websocket_session.h"
#include "base/ascii.h"
#include "base/websocket_frame.h"

namespace edge::gateway {

ConnectionWriter::~ConnectionWriter() {
  if (connection_ == nullptr || finished_) return;
  // A response whose bytes are all out only lacks the call to Finish.
  if (started_ && (mode_ == BodyMode::kNone || (mode_ == BodyMode::kLength && remaining_ == 0))) {
    Finish();
    return;
  }
  Log(LogLevel::kWarn, "gateway: the response writer for {} was dropped before Finish",
      connection_->remote_address_);
  Fail();
}

void ConnectionWriter::Start(int status, std::string_view reason, const HeaderList& headers,
                             std::optional<uint64_t> content_length) {
  if (connection_ == nullptr || finished_) return;
  HttpConnection& c = *connection_;
  if (started_) {
    Log(LogLevel::kWarn, "gateway: the response to {} was started twice; ignoring the second",
        c.remote_address_);
    return;
  }
  started_ = true;
  if (status < 100 || status > 999) {
    Log(LogLevel::kWarn, "gateway: invalid response status {} for {}; sending 500", status,
        c.remote_address_);
    status = 500;
    reason = {};
  }
  if (!base::IsFieldText(reason)) {
    Log(LogLevel::kWarn, "gateway: dropped invalid reason phrase \"{}\" for {}",
        EscapeForLog(reason), c.remote_address_);
    reason = {};
  }
  if (reason.empty()) reason = ReasonPhrase(status);

  const bool null_body = head_ || status < 200 || status == 204 || status == 304;
  bool close = c.close_after_response_;
  std::string& out = c.out_;
  out.append("HTTP/1.1 ");
  AppendDecimal(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
  bool has_date = false;
  for (const auto& [name, value] : headers) {
    if (!base::IsToken(name) || !base::IsFieldText(value)) {
      Log(LogLevel::kWarn, "gateway: dropped invalid response header \"{}: {}\" for {}",
          EscapeForLog(name), EscapeForLog(value), c.remote_address_);
      continue;
    }
    if (base::EqualsIgnoreCase(name, "content-length") ||
        base::EqualsIgnoreCase(name, "transfer-encoding") ||
        base::EqualsIgnoreCase(name, "keep-alive")) {
      continue;  // framing is the server's
    }
    if (base::EqualsIgnoreCase(name, "connection")) {
      if (base::HasToken(value, "close")) close = true;
      continue;
    }
    if (!has_date && base::EqualsIgnoreCase(name, "date")) has_date = true;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_date) out.append("Date: ").append(base::HttpDateNow()).append("\r\n");

  if (null_body) {
    mode_ = BodyMode::kNone;
    // HEAD and 304 may announce the length of the representation.
    if (content_length.has_value() && status >= 200 && status != 204) {
      out.append("Content-Length: ");
      AppendDecimal(out, *content_length);
      out.append("\r\n");
    }
  } else if (content_length.has_value()) {
    mode_ = BodyMode::kLength;
    remaining_ = *content_length;
    out.append("Content-Length: ");
    AppendDecimal(out, *content_length);
    out.append("\r\n");
  } else if (!http_1_0_) {
    mode_ = BodyMode::kChunked;
    out.append("Transfer-Encoding: chunked\r\n");
  } else {
    mode_ = BodyMode::kUntilClose;
    close = true;
  }
  if (close) {
    out.append("Connection: close\r\n");
  } else if (http_1_0_) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  c.close_after_response_ = close;
  c.RequestFlush();
}

void ConnectionWriter::Write(std::string_view chunk) {
  if (connection_ == nullptr || finished_) return;
  if (!started_) {
    Start(200, {}, {}, std::nullopt);
    if (connection_ == nullptr) return;
  }
  if (chunk.empty()) return;  // an empty chunk would end a chunked body
  std::string& out = connection_->out_;
  switch (mode_) {
    case BodyMode::kNone:
      return;
    case BodyMode::kLength:
      if (chunk.size() > remaining_) {
        if (!overflow_logged_) {
          Log(LogLevel::kWarn,
              "gateway: the response to {} is longer than its Content-Length; extra bytes dropped",
              connection_->remote_address_);
          overflow_logged_ = true;
        }
        chunk = chunk.substr(0, remaining_);
        if (chunk.empty()) return;
      }
      remaining_ -= chunk.size();
      out.append(chunk);
      break;
    case BodyMode::kChunked:
      base::AppendChunk(out, chunk);
      break;
    case BodyMode::kUntilClose:
      out.append(chunk);
      break;
  }
  connection_->RequestFlush();
}

void ConnectionWriter::Finish() {
  if (connection_ == nullptr || finished_) return;
  if (!started_) {
    Start(200, {}, {}, 0);
    if (connection_ == nullptr) return;
  }
  HttpConnection& c = *connection_;
  if (mode_ == BodyMode::kChunked) {
    c.out_.append(base::kLastChunk);
  } else if (mode_ == BodyMode::kLength && remaining_ > 0) {
    Log(LogLevel::kWarn,
        "gateway: the response to {} ended {} bytes short of its Content-Length; closing",
        c.remote_address_, remaining_);
    c.close_after_response_ = true;
  }
  EndResponse();
}

void ConnectionWriter::Abort() {
  if (connection_ == nullptr || finished_) return;
  Log(LogLevel::kDebug, "gateway: the response to {} was aborted by its handler",
      connection_->remote_address_);
  aborted_ = true;
  connection_->close_after_response_ = true;
  EndResponse();
}

void ConnectionWriter::Fail() {
  if (connection_ == nullptr || finished_) return;
  if (!started_) {
    SendErrorPage(*this, 500);
    return;
  }
  // The status line is out: the client must see that the response broke off.
  connection_->close_after_response_ = true;
  EndResponse();
}

void ConnectionWriter::EndResponse() {
  finished_ = true;
  on_abort_ = nullptr;
  on_drain_ = nullptr;
  HttpConnection* connection = connection_;
  connection_ = nullptr;
  connection->OnResponseFinished(this);
}

void ConnectionWriter::OnDrain(std::function<void()> callback) {
  if (!callback || aborted_) return;
  if (connection_ == nullptr || connection_->BufferedBytes() < kDrainThreshold) {
    SafeCall(callback, "drain callback");
    return;
  }
  on_drain_ = std::move(callback);
}

void ConnectionWriter::OnAbort(std::function<void()> callback) {
  if (!callback) return;
  if (aborted_) {
    SafeCall(callback, "abort callback");
    return;
  }
  if (connection_ == nullptr) return;  // finished: it will never abort
  on_abort_ = std::move(callback);
}

StatusOr<std::shared_ptr<runtime::WebSocketChannel>> ConnectionWriter::AcceptWebSocket(
    const HeaderList& headers) {
  if (connection_ == nullptr || finished_) {
    return Status(ErrorCode::kTypeError, "The client went away before its WebSocket was accepted");
  }
  if (started_) {
    return Status(ErrorCode::kTypeError, "The response started before the WebSocket was accepted");
  }
  HttpConnection& c = *connection_;
  if (c.websocket_key_.empty() || c.body_dispatched_ || c.streamed_body_) {
    return Status(ErrorCode::kTypeError,
                  "The request is not a WebSocket handshake (a GET with Upgrade: websocket, "
                  "Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key): it "
                  "cannot be answered with a WebSocket");
  }
  if (c.context_->shutting_down) {
    return Status(ErrorCode::kTypeError, "The server is shutting down");
  }
  started_ = true;
  std::string& out = c.out_;
  out.append(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(base::WebSocketAccept(c.websocket_key_));
  out.append("\r\n");
  for (const auto& [name, value] : headers) {
    if (!base::IsToken(name) || !base::IsFieldText(value)) {
      Log(LogLevel::kWarn, "gateway: dropped invalid response header \"{}: {}\" for {}",
          EscapeForLog(name), EscapeForLog(value), c.remote_address_);
      continue;
    }
    bool framing = false;
    for (std::string_view own : {"connection", "upgrade", "content-length", "transfer-encoding",
                                 "keep-alive", "sec-websocket-accept",
                                 "sec-websocket-extensions"}) {
      framing = framing || base::EqualsIgnoreCase(name, own);
    }
    if (framing) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n");
  // The HTTP exchange is over; the connection is the WebSocket's now.
  finished_ = true;
  on_abort_ = nullptr;
  on_drain_ = nullptr;
  connection_ = nullptr;
  c.writer_ = nullptr;
  c.websocket_key_.clear();
  c.StopTimer();
  c.state_ = HttpConnection::State::kUpgraded;
  auto session = std::make_shared<WebSocketSession>(&c);
  c.websocket_ = session;
  // What the client sent right after its handshake waited with pipelined
  // input.
  if (!c.pending_.empty()) {
    std::string early;
    early.swap(c.pending_);
    session->OnBytes(early);
  }
  c.RequestFlush();
  c.UpdateReading();
  return std::shared_ptr<runtime::WebSocketChannel>(session);
}

}  // namespace edge::gateway
