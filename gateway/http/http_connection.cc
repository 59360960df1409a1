// HttpConnection: accepting, input (TLS included) through the parser,
// dispatch to the handler, rejections, timers and closing. The llhttp
// callbacks are in http_connection_parse.cc, output in
// http_connection_output.cc.
#include "gateway/http/http_connection.h"

#include <fmt/core.h>

#include <exception>
#include <utility>

#include "base/ascii.h"
#include "base/http_text.h"
#include "base/websocket_frame.h"
#include "base/log.h"
#include "gateway/http/connection_util.h"
#include "gateway/http/connection_writer.h"
#include "gateway/http/status_pages.h"
#include "gateway/http/streamed_body.h"
#include "gateway/http/websocket_session.h"

namespace edge::gateway {
namespace {

// The request's Sec-WebSocket-Key when it is a valid WebSocket opening
// handshake (RFC 6455 section 4.2.1), else "".
std::string WebSocketHandshakeKey(const HttpRequest& request) {
  if (request.method != "GET" || request.http_major != 1 || request.http_minor < 1) return {};
  bool upgrade = false, connection = false, version = false;
  std::string key;
  int keys = 0;
  for (const auto& [name, value] : request.headers) {
    if (base::EqualsIgnoreCase(name, "upgrade")) {
      upgrade = upgrade || base::HasToken(value, "websocket");
    } else if (base::EqualsIgnoreCase(name, "connection")) {
      connection = connection || base::HasToken(value, "upgrade");
    } else if (base::EqualsIgnoreCase(name, "sec-websocket-version")) {
      version = base::TrimOws(value) == "13";
    } else if (base::EqualsIgnoreCase(name, "sec-websocket-key")) {
      key = std::string(base::TrimOws(value));
      ++keys;
    }
  }
  if (!upgrade || !connection || !version || keys != 1 || !base::IsValidWebSocketKey(key)) {
    return {};
  }
  return key;
}

}  // namespace

HttpConnection::HttpConnection(std::shared_ptr<ServerContext> context)
    : context_(std::move(context)) {
  // Strict: llhttp_init clears every lenient flag, and none is ever set, so
  // Content-Length with Transfer-Encoding, bad chunk sizes and bad header
  // tokens are errors (request smuggling defences).
  llhttp_init(&parser_, HTTP_REQUEST, &Settings());
  parser_.data = this;
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Accept(const std::shared_ptr<ServerContext>& context, uv_stream_t* listener,
                            const std::shared_ptr<TlsContext>& tls) {
  auto* c = new HttpConnection(context);
  uv_tcp_init(context->loop, &c->tcp_);
  uv_timer_init(context->loop, &c->timer_);
  c->tcp_.data = c;
  c->timer_.data = c;
  c->open_handles_ = 2;
  context->Add(c);
  int r = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp_));
  if (r != 0) {
    Log(LogLevel::kWarn, "gateway: accept failed: {}", uv_strerror(r));
    c->CloseNow();
    return;
  }
  if (context->shutting_down) {
    c->CloseNow();
    return;
  }
  uv_tcp_nodelay(&c->tcp_, 1);
  sockaddr_storage addr{};
  int length = sizeof addr;
  if (uv_tcp_getpeername(&c->tcp_, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    c->remote_address_ = FormatAddress(addr);
  } else {
    c->remote_address_ = "unknown";
  }
  if (tls) {
    StatusOr<std::unique_ptr<TlsSession>> session = tls->NewSession();
    if (!session.ok()) {
      Log(LogLevel::kError, "gateway: closing the connection from {}: {}", c->remote_address_,
          session.status().message());
      c->CloseNow();
      return;
    }
    c->tls_ = std::move(session).value();
    // The header timeout bounds the handshake too (see OnTlsInput).
    c->ArmTimer(TimerKind::kHandshake, c->limits().header_timeout_ms);
  } else {
    // Until the first byte: closed silently after the header timeout.
    c->ArmTimer(TimerKind::kIdle, c->limits().header_timeout_ms);
  }
  c->UpdateReading();
}

void HttpConnection::BeginShutdown() {
  close_after_response_ = true;
  if (state_ == State::kUpgraded) {
    websocket_->OnShutdown();
    return;
  }
  if (state_ != State::kReading || message_begun_ || !pending_.empty()) return;
  if (BufferedBytes() > 0) {
    BeginLinger();  // the last response is still being written
  } else {
    CloseNow();
  }
}

void HttpConnection::CloseNow() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (streamed_body_) {
    streamed_body_->Error(error_detail_.empty() ? "the client went away before sending the whole body"
                                                : error_detail_);
    streamed_body_->Detach();
    streamed_body_.reset();
  }
  if (flush_scheduled_) context_->CancelFlush(this);
  if (writer_ != nullptr) {
    ConnectionWriter* writer = writer_;
    writer_ = nullptr;
    writer->aborted_ = true;
    writer->connection_ = nullptr;
    abort_callback_ = std::move(writer->on_abort_);
    writer->on_abort_ = nullptr;
    writer->on_drain_ = nullptr;
  }
  reading_ = false;
  timer_kind_ = TimerKind::kNone;
  if (websocket_) {
    std::shared_ptr<WebSocketSession> websocket = websocket_;
    websocket->OnConnectionGone();
  }
  auto on_close = [](uv_handle_t* handle) {
    static_cast<HttpConnection*>(handle->data)->OnHandleClosed();
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
}

void HttpConnection::OnHandleClosed() {
  if (--open_handles_ > 0) return;
  std::shared_ptr<ServerContext> context = context_;
  std::function<void()> abort_callback = std::move(abort_callback_);
  context->Remove(this);
  delete this;
  if (abort_callback) SafeCall(abort_callback, "abort callback");
  context->MaybeFinishShutdown();
}

// ---------------------------------------------------------------------------
// Input

void HttpConnection::UpdateReading() {
  bool want = false;
  switch (state_) {
    case State::kReading:
    case State::kLingering:
      want = true;
      break;
    case State::kHandling:
      if (body_dispatched_ && streamed_body_) {
        // A body streaming to the handler: read while it keeps up.
        want = !streamed_body_->paused() && streamed_body_->buffered() < kMaxPendingInput;
      } else {
        // Keep reading (to notice a client that goes away) while what arrives is small.
        want = pending_.size() < kMaxPendingInput;
      }
      break;
    case State::kUpgraded:
      want = !websocket_->paused();
      break;
    case State::kClosed:
      return;
  }
  if (want == reading_) return;
  uv_stream_t* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (!want) {
    uv_read_stop(stream);
    reading_ = false;
    return;
  }
  auto alloc = [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
    ServerContext& context = *static_cast<HttpConnection*>(handle->data)->context_;
    if (!context.read_buffer_busy) {
      context.read_buffer_busy = true;
      buf->base = context.read_buffer.get();
    } else {
      buf->base = new char[kReadBufferSize];
    }
    buf->len = kReadBufferSize;
  };
  auto read = [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<HttpConnection*>(stream->data);
    // The connection stays allocated until its close callback, which cannot
    // run from here, so `context` outlives the call.
    ServerContext* context = c->context_.get();
    c->OnRead(nread, buf);
    if (buf->base == context->read_buffer.get()) {
      context->read_buffer_busy = false;
    } else {
      delete[] buf->base;
    }
  };
  int r = uv_read_start(stream, alloc, read);
  if (r < 0) {
    Fail("read", r);
    return;
  }
  reading_ = true;
}

void HttpConnection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    OnReadEnd(nread);
    return;
  }
  if (nread == 0) return;
  if (tls_) {
    OnTlsInput(buf->base, static_cast<size_t>(nread), buf->len);
  } else {
    OnInput(buf->base, static_cast<size_t>(nread));
  }
}

// Input as the client sent it (decrypted, over TLS).
void HttpConnection::OnInput(const char* data, size_t length) {
  switch (state_) {
    case State::kReading:
      if (timer_kind_ == TimerKind::kBody) ArmTimer(TimerKind::kBody, limits().idle_timeout_ms);
      ++batch_depth_;
      if (pending_.empty()) {
        Execute(data, length);
      } else {
        pending_.append(data, length);
      }
      --batch_depth_;
      Pump();
      return;
    case State::kHandling:
      if (body_dispatched_ && !parser_paused_ && pending_.empty()) {
        // The body of the request being handled is still arriving.
        ArmTimer(TimerKind::kBody, limits().idle_timeout_ms);
        ++batch_depth_;
        Execute(data, length);
        --batch_depth_;
        Pump();
        return;
      }
      pending_.append(data, length);
      UpdateReading();
      return;
    case State::kUpgraded: {
      ++batch_depth_;
      std::shared_ptr<WebSocketSession> websocket = websocket_;
      websocket->OnBytes(std::string_view(data, length));
      --batch_depth_;
      Flush();
      return;
    }
    case State::kLingering:
    case State::kClosed:
      return;  // discarded
  }
}

// Decrypts what came from the socket and hands the plaintext to OnInput, in
// the read buffer that held the ciphertext (free once fed to OpenSSL). All
// that can be decrypted is taken now: plaintext left inside OpenSSL would wait
// for a read that may never come, since reading stops while pipelined input
// waits. So at most one read's worth of plaintext is added each time, as on a
// plain connection.
void HttpConnection::OnTlsInput(char* buffer, size_t length, size_t capacity) {
  if (state_ == State::kLingering || state_ == State::kClosed) return;  // discarded
  tls_->Feed(buffer, length);
  if (!tls_->handshake_done()) {
    TlsSession::Result result = tls_->Handshake();
    if (result == TlsSession::Result::kWantInput) {
      Flush();  // our part of the handshake
      return;
    }
    if (result != TlsSession::Result::kOk) {
      Log(LogLevel::kInfo, "gateway: TLS handshake with {} failed: {}", remote_address_,
          tls_->error());
      SendTlsAlertAndClose();
      return;
    }
    // What is left of the header timeout now waits for the first request,
    // as on a new plain connection.
    if (timer_kind_ == TimerKind::kHandshake) timer_kind_ = TimerKind::kIdle;
  }
  size_t filled = 0;
  while (true) {
    size_t n = 0;
    TlsSession::Result result = tls_->Read(buffer + filled, capacity - filled, &n);
    filled += n;
    if (result == TlsSession::Result::kOk && filled < capacity) continue;
    if (filled > 0) {
      OnInput(buffer, filled);
      filled = 0;
      if (state_ != State::kReading && state_ != State::kHandling &&
          state_ != State::kUpgraded) {
        return;
      }
    }
    if (result == TlsSession::Result::kOk) continue;
    if (result == TlsSession::Result::kWantInput) break;
    if (result == TlsSession::Result::kClosed) {  // close_notify: as the client's FIN
      OnReadEnd(UV_EOF);
      return;
    }
    Log(LogLevel::kDebug, "gateway: TLS error on the connection from {}: {}", remote_address_,
        tls_->error());
    SendTlsAlertAndClose();
    return;
  }
  Flush();  // what OpenSSL sends by itself: session tickets, key updates
}

void HttpConnection::OnReadEnd(ssize_t status) {
  const char* why =
      status == UV_EOF ? "closed the connection" : uv_strerror(static_cast<int>(status));
  switch (state_) {
    case State::kReading:
      if (tls_ && !tls_->handshake_done()) {
        Log(LogLevel::kDebug, "gateway: {} {} during the TLS handshake", remote_address_, why);
      } else if (message_begun_) {
        Log(LogLevel::kDebug, "gateway: {} {} in the middle of a request", remote_address_, why);
      }
      CloseNow();
      return;
    case State::kUpgraded:
      Log(LogLevel::kDebug, "gateway: {} {} during a WebSocket", remote_address_, why);
      CloseNow();
      return;
    case State::kHandling:
      // A client that stops sending while its request is handled is taken as
      // gone (as nginx does); the response is aborted.
      Log(LogLevel::kDebug, "gateway: {} {} before its response finished", remote_address_, why);
      CloseNow();
      return;
    case State::kLingering:
      CloseNow();
      return;
    case State::kClosed:
      return;
  }
}

// Feeds input to the parser. Called with the parser running (state kReading)
// and pending_ empty; what follows a complete message goes to pending_.
void HttpConnection::Execute(const char* data, size_t length) {
  llhttp_errno_t err = llhttp_execute(&parser_, data, length);
  if (err == HPE_OK) {
    if (headers_done_ && streamed_body_ && !body_dispatched_ && state_ == State::kReading) {
      // The headers are in and the body is coming: the handler starts now.
      body_dispatched_ = true;
      Dispatch();
      ArmTimer(TimerKind::kBody, limits().idle_timeout_ms);
      return;
    }
    if (!headers_done_) {
      // Everything fed since the last message ended belongs to a request head.
      header_phase_bytes_ += length;
      if (header_phase_bytes_ > limits().max_header_bytes) {
        SendErrorAndClose(431,
                          fmt::format("request head exceeds {} bytes", limits().max_header_bytes));
      }
    }
    return;
  }
  if (err == HPE_PAUSED && request_ready_) {
    size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
    if (body_dispatched_) {
      // The end of a body whose request is already with the handler (or
      // already answered): no second dispatch.
      body_dispatched_ = false;
      request_ready_ = false;
      request_ = HttpRequest();
      StopTimer();
      if (state_ == State::kHandling) {
        parser_paused_ = true;
        if (consumed < length) pending_.append(data + consumed, length - consumed);
      } else {
        llhttp_resume(&parser_);
        if (consumed < length) pending_.append(data + consumed, length - consumed);
      }
      return;
    }
    parser_paused_ = true;
    if (consumed < length) pending_.append(data + consumed, length - consumed);
    Dispatch();
    return;
  }
  if (error_status_ != 0) {
    SendErrorAndClose(error_status_, error_detail_);
    return;
  }
  const char* reason = llhttp_get_error_reason(&parser_);
  SendErrorAndClose(400, fmt::format("malformed request: {} ({})", reason ? reason : "?",
                                     llhttp_errno_name(err)));
}

// Parses what is pending while no response is in progress, then writes the
// output and adjusts reading and timers. Called when not already inside.
void HttpConnection::Pump() {
  if (state_ == State::kClosed) return;
  ++batch_depth_;
  while (state_ == State::kReading && !pending_.empty()) {
    scratch_.swap(pending_);
    pending_.clear();
    Execute(scratch_.data(), scratch_.size());
    scratch_.clear();
  }
  --batch_depth_;
  if (scratch_.capacity() > kMaxKeptCapacity) std::string().swap(scratch_);
  if (state_ == State::kClosed) return;
  if (state_ == State::kReading && !message_begun_ && timer_kind_ == TimerKind::kNone) {
    ArmTimer(TimerKind::kIdle, limits().idle_timeout_ms);
  }
  Flush();
  UpdateReading();
}

void HttpConnection::Dispatch() {
  request_ready_ = false;
  state_ = State::kHandling;
  StopTimer();
  if (!request_keep_alive_) close_after_response_ = true;
  auto writer =
      std::make_shared<ConnectionWriter>(this, is_head_, request_.http_major, request_.http_minor);
  writer_ = writer.get();
  // Only a request llhttp saw asking for an upgrade is looked at further.
  websocket_key_ = parser_.upgrade != 0 ? WebSocketHandshakeKey(request_) : std::string();
  HttpRequest request = std::move(request_);
  request_ = HttpRequest();
  request.remote_address = remote_address_;
  if (tls_) {
    request.tls = true;
    request.tls_server_name = tls_->server_name();
  }
  try {
    context_->handler(std::move(request), std::move(writer));
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "gateway: the request handler threw for {}: {}", remote_address_,
        e.what());
    if (writer_ != nullptr) writer_->Fail();
  } catch (...) {
    Log(LogLevel::kError, "gateway: the request handler threw for {}", remote_address_);
    if (writer_ != nullptr) writer_->Fail();
  }
}

int HttpConnection::Reject(int status, std::string detail) {
  error_status_ = status;
  error_detail_ = std::move(detail);
  return HPE_USER;
}

void HttpConnection::SendErrorAndClose(int status, std::string_view detail) {
  if (state_ == State::kClosed || state_ == State::kLingering) return;
  Log(LogLevel::kInfo, "gateway: rejected request from {} with {}: {}", remote_address_, status,
      detail);
  if (state_ == State::kHandling) {
    // Only a body streaming to the handler is parsed while handling. If the
    // handler has not started its response, the client still gets the
    // error; else the connection is cut.
    if (streamed_body_) {
      streamed_body_->Error(detail);
      streamed_body_->Detach();
      streamed_body_.reset();
    }
    if (writer_ == nullptr || writer_->started_) {
      CloseNow();
      return;
    }
    ConnectionWriter* writer = writer_;
    writer_ = nullptr;
    writer->aborted_ = true;
    writer->connection_ = nullptr;
    std::function<void()> on_abort = std::move(writer->on_abort_);
    writer->on_abort_ = nullptr;
    writer->on_drain_ = nullptr;
    body_dispatched_ = false;
    state_ = State::kReading;
    if (on_abort) SafeCall(on_abort, "abort callback");
    if (state_ == State::kClosed) return;
  }
  std::string body = ErrorPage(status);
  out_.append("HTTP/1.1 ");
  AppendDecimal(out_, static_cast<uint64_t>(status));
  out_.push_back(' ');
  out_.append(ReasonPhrase(status));
  out_.append("\r\nDate: ");
  out_.append(base::HttpDateNow());
  out_.append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
  AppendDecimal(out_, body.size());
  out_.append("\r\nConnection: close\r\n\r\n");
  out_.append(body);
  message_begun_ = false;
  BeginLinger();
}

// ---------------------------------------------------------------------------
// Timers

void HttpConnection::ArmTimer(TimerKind kind, uint64_t ms) {
  if (state_ == State::kClosed) return;
  if (ms == 0) {
    StopTimer();
    return;
  }
  timer_kind_ = kind;
  uint64_t now = uv_now(context_->loop);
  timer_due_ms_ = now + ms;
  if (timer_armed_ && timer_armed_ms_ <= timer_due_ms_) return;  // fires first, then waits on
  timer_armed_ = true;
  timer_armed_ms_ = timer_due_ms_;
  uv_timer_start(&timer_, OnTimerFired, ms, 0);
}

void HttpConnection::StopTimer() {
  // The uv timer stays started: when it fires it finds nothing to do.
  timer_kind_ = TimerKind::kNone;
}

void HttpConnection::OnTimerFired(uv_timer_t* timer) {
  auto* c = static_cast<HttpConnection*>(timer->data);
  c->timer_armed_ = false;
  if (c->timer_kind_ == TimerKind::kNone || c->state_ == State::kClosed) return;
  uint64_t now = uv_now(c->context_->loop);
  if (now < c->timer_due_ms_) {
    // Armed again for a later time since it was started.
    c->timer_armed_ = true;
    c->timer_armed_ms_ = c->timer_due_ms_;
    uv_timer_start(timer, OnTimerFired, c->timer_due_ms_ - now, 0);
    return;
  }
  c->OnTimer();
}

void HttpConnection::OnTimer() {
  TimerKind kind = timer_kind_;
  timer_kind_ = TimerKind::kNone;
  switch (kind) {
    case TimerKind::kNone:
      return;
    case TimerKind::kHandshake:
      Log(LogLevel::kDebug, "gateway: TLS handshake with {} not complete within {} ms; closing",
          remote_address_, limits().header_timeout_ms);
      CloseNow();
      return;
    case TimerKind::kHeader:
      SendErrorAndClose(408, fmt::format("request headers not complete within {} ms",
                                         limits().header_timeout_ms));
      return;
    case TimerKind::kWebSocketClose:
      if (websocket_) {
        std::shared_ptr<WebSocketSession> websocket = websocket_;
        websocket->OnCloseTimeout();
      }
      return;
    case TimerKind::kBody:
      SendErrorAndClose(408,
                        fmt::format("request body stalled for {} ms", limits().idle_timeout_ms));
      return;
    case TimerKind::kIdle:
    case TimerKind::kLinger: {
      // A response still being written is not idleness, as long as the client
      // keeps reading it.
      uint64_t idle_ms = limits().idle_timeout_ms;
      uint64_t since_write = uv_now(context_->loop) - last_write_done_ms_;
      if (tcp_.write_queue_size > 0 && since_write < idle_ms) {
        ArmTimer(kind, idle_ms - since_write);
        return;
      }
      if (kind == TimerKind::kIdle) {
        Log(LogLevel::kDebug, "gateway: closing idle connection from {}", remote_address_);
      }
      CloseNow();
      return;
    }
  }
}

}  // namespace edge::gateway
