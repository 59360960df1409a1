#include "bindings/websocket/websocket_client.h"

#include <fmt/core.h>

#include <charconv>
#include <cstdint>
#include <utility>

#include "base/ascii.h"
#include "base/http_text.h"

namespace edge::bindings {

struct ClientWebSocket::Timer {
  uv_timer_t handle;
  std::weak_ptr<ClientWebSocket> self;
};

namespace {

// The value of the first header named `name`, or null.
const std::string* FindHeader(const runtime::HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (base::EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

// The headers a caller may not set: the handshake's own, and framing.
bool IsHandshakeHeader(std::string_view name) {
  for (std::string_view own : {"host", "upgrade", "connection", "sec-websocket-key",
                               "sec-websocket-version", "sec-websocket-extensions",
                               "sec-websocket-accept", "content-length", "transfer-encoding",
                               "keep-alive", "te", "trailer"}) {
    if (base::EqualsIgnoreCase(name, own)) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<ClientWebSocket> ClientWebSocket::Connect(uv_loop_t* loop, Request request,
                                                          Done done) {
  std::shared_ptr<ClientWebSocket> socket(
      new ClientWebSocket(loop, std::move(request), std::move(done)));
  socket->Begin();
  return socket;
}

ClientWebSocket::ClientWebSocket(uv_loop_t* loop, Request request, Done done)
    : loop_(loop),
      request_(std::move(request)),
      done_(std::move(done)),
      key_(base::NewWebSocketKey()),
      reader_(base::WebSocketReader::Role::kClient, this) {}

ClientWebSocket::~ClientWebSocket() {
  CloseConnection();
  if (timer_ != nullptr) {
    uv_timer_stop(&timer_->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->handle),
             [](uv_handle_t* handle) { delete reinterpret_cast<Timer*>(handle); });
    timer_ = nullptr;
  }
}

void ClientWebSocket::Begin() {
  request_.target.suggest_fetch = false;
  uint64_t timeout = request_.target.connect_timeout_ms;
  connection_ = SocketConnection::Open(loop_, request_.target);
  // DNS, TCP, TLS and the 101 within the connect timeout.
  ArmTimer(timeout);
  std::weak_ptr<ClientWebSocket> weak = weak_from_this();
  connection_->WhenOpen([weak](const Status& status) {
    if (auto self = weak.lock()) self->OnOpened(status);
  });
}

void ClientWebSocket::ArmTimer(uint64_t ms) {
  if (timer_ == nullptr) {
    timer_ = new Timer;
    timer_->self = weak_from_this();
    uv_timer_init(loop_, &timer_->handle);
  }
  uv_timer_start(
      &timer_->handle,
      [](uv_timer_t* handle) {
        auto* timer = reinterpret_cast<Timer*>(handle);
        if (auto self = timer->self.lock()) self->OnTimer();
      },
      ms, 0);
}

void ClientWebSocket::OnTimer() {
  if (draining_) {
    CloseConnection();
    return;
  }
  if (phase_ == Phase::kConnecting || phase_ == Phase::kHandshake ||
      phase_ == Phase::kRefusalBody) {
    HandshakeFailed(Status(
        ErrorCode::kTypeError,
        fmt::format("The WebSocket handshake with {} did not complete within {} ms",
                    request_.host_header, request_.target.connect_timeout_ms)));
    return;
  }
  // The server never answered the worker's close.
  Finish(base::kWsCloseAbnormal, "", /*clean=*/false);
  CloseConnection();
}

void ClientWebSocket::OnOpened(const Status& status) {
  if (phase_ != Phase::kConnecting) return;
  if (!status.ok()) {
    HandshakeFailed(Status(ErrorCode::kTypeError,
                           fmt::format("WebSocket connection to {} failed: {}",
                                       request_.host_header, status.message())));
    return;
  }
  phase_ = Phase::kHandshake;
  std::string head = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
      request_.path, request_.host_header, key_);
  if (!request_.protocols.empty()) {
    head += "Sec-WebSocket-Protocol: ";
    for (size_t i = 0; i < request_.protocols.size(); ++i) {
      if (i != 0) head += ", ";
      head += request_.protocols[i];
    }
    head += "\r\n";
  }
  for (const auto& [name, value] : request_.headers) {
    if (IsHandshakeHeader(name)) continue;
    if (!request_.protocols.empty() && base::EqualsIgnoreCase(name, "sec-websocket-protocol")) continue;
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  Write(std::move(head));
  ReadMore();
}

void ClientWebSocket::ReadMore() {
  if (reading_ || connection_ == nullptr || (finished_ && !draining_)) return;
  if (phase_ == Phase::kOpen && paused_) return;
  reading_ = true;
  std::weak_ptr<ClientWebSocket> weak = weak_from_this();
  connection_->Read([weak](SocketConnection::ReadResult result) {
    if (auto self = weak.lock()) self->OnRead(std::move(result));
  });
}

void ClientWebSocket::OnRead(SocketConnection::ReadResult result) {
  std::shared_ptr<ClientWebSocket> self = shared_from_this();
  reading_ = false;
  bool ended = result.kind != SocketConnection::ReadResult::kData;
  switch (phase_) {
    case Phase::kHandshake:
      if (ended) {
        HandshakeFailed(Status(
            ErrorCode::kTypeError,
            fmt::format("WebSocket connection to {} failed: the server {} before answering the "
                        "handshake",
                        request_.host_header,
                        result.kind == SocketConnection::ReadResult::kEnd
                            ? "closed the connection"
                            : result.error.message())));
        return;
      }
      in_ += result.data;
      OnHandshakeBytes();
      break;
    case Phase::kRefusalBody:
      if (!ended) {
        size_t room = kMaxRefusalBodyBytes - answer_.body.size();
        answer_.body.append(result.data, 0, std::min(room, result.data.size()));
      }
      if (ended || answer_.body.size() >= refusal_length_ ||
          answer_.body.size() >= kMaxRefusalBodyBytes) {
        if (answer_.body.size() > refusal_length_) answer_.body.resize(refusal_length_);
        phase_ = Phase::kDone;
        CloseConnection();
        if (Done done = std::exchange(done_, nullptr)) done(std::move(answer_));
        return;
      }
      break;
    case Phase::kOpen:
      if (ended) {
        Finish(base::kWsCloseAbnormal, "", /*clean=*/false);
        CloseConnection();
        return;
      }
      reader_.Feed(result.data);
      break;
    default:
      if (!draining_) return;
      if (ended) {
        CloseConnection();
        return;
      }
      break;  // dropped: the close handshake is over
  }
  ReadMore();
}

void ClientWebSocket::OnHandshakeBytes() {
  size_t head_end = in_.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (in_.size() > kMaxResponseHeadBytes) {
      HandshakeFailed(Status(ErrorCode::kTypeError,
                             fmt::format("The WebSocket handshake response from {} has a head "
                                         "over {} KiB",
                                         request_.host_header, kMaxResponseHeadBytes >> 10)));
    }
    return;
  }
  auto bad = [&](std::string_view why) {
    HandshakeFailed(Status(ErrorCode::kTypeError,
                           fmt::format("The WebSocket handshake with {} failed: {}",
                                       request_.host_header, why)));
  };
  std::string_view head(in_.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 101 Switching Protocols"
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
    return bad("the server did not answer with HTTP");
  }
  int status = 0;
  auto parsed = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (parsed.ec != std::errc() || parsed.ptr != status_line.data() + 12 || status < 100 ||
      status > 599 || (status_line.size() > 12 && status_line[12] != ' ')) {
    return bad("the status line is malformed");
  }
  answer_.status = status;
  answer_.status_text = std::string(status_line.size() > 13 ? status_line.substr(13) : "");
  if (!base::IsFieldText(answer_.status_text)) return bad("the status line is malformed");
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || !base::IsToken(line.substr(0, colon))) {
      return bad("a response header is malformed");
    }
    std::string_view value = base::TrimOws(line.substr(colon + 1));
    if (!base::IsFetchFieldValue(value)) return bad("a response header is malformed");
    answer_.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  size_t body_start = head_end + 4;
  if (status != 101) return Refused(body_start);

  const std::string* upgrade = FindHeader(answer_.headers, "upgrade");
  if (upgrade == nullptr || !base::EqualsIgnoreCase(*upgrade, "websocket")) {
    return bad("the 101 response lacks `Upgrade: websocket`");
  }
  const std::string* connection = FindHeader(answer_.headers, "connection");
  if (connection == nullptr || !base::HasToken(*connection, "upgrade")) {
    return bad("the 101 response lacks `Connection: upgrade`");
  }
  const std::string* accept = FindHeader(answer_.headers, "sec-websocket-accept");
  if (accept == nullptr || *accept != base::WebSocketAccept(key_)) {
    return bad("Sec-WebSocket-Accept does not match the key sent");
  }
  if (FindHeader(answer_.headers, "sec-websocket-extensions") != nullptr) {
    return bad("the server chose an extension, and none was offered");
  }
  if (const std::string* protocol = FindHeader(answer_.headers, "sec-websocket-protocol")) {
    bool offered = false;
    for (const std::string& candidate : request_.protocols) offered |= candidate == *protocol;
    if (!offered) return bad("the server chose a subprotocol that was not offered");
    answer_.protocol = *protocol;
  }
  uv_timer_stop(&timer_->handle);
  phase_ = Phase::kOpen;
  std::string leftover = in_.substr(body_start);
  in_.clear();
  in_.shrink_to_fit();
  if (!leftover.empty()) reader_.Feed(leftover);
  if (Done done = std::exchange(done_, nullptr)) done(answer_);
}

// A status other than 101: handed back as a response, its body read when
// its length is known and small (or it ends with the connection).
void ClientWebSocket::Refused(size_t body_start) {
  refusal_length_ = SIZE_MAX;
  if (const std::string* length = FindHeader(answer_.headers, "content-length")) {
    uint64_t value = 0;
    auto parsed = std::from_chars(length->data(), length->data() + length->size(), value);
    refusal_length_ = parsed.ec == std::errc() && parsed.ptr == length->data() + length->size() &&
                              value <= kMaxRefusalBodyBytes
                          ? static_cast<size_t>(value)
                          : 0;
  }
  if (FindHeader(answer_.headers, "transfer-encoding") != nullptr) refusal_length_ = 0;
  answer_.body = in_.substr(body_start, std::min(refusal_length_, kMaxRefusalBodyBytes));
  in_.clear();
  if (answer_.body.size() >= refusal_length_ || answer_.body.size() >= kMaxRefusalBodyBytes) {
    phase_ = Phase::kDone;
    CloseConnection();
    if (Done done = std::exchange(done_, nullptr)) done(std::move(answer_));
    return;
  }
  phase_ = Phase::kRefusalBody;
}

void ClientWebSocket::HandshakeFailed(Status status) {
  phase_ = Phase::kDone;
  finished_ = true;
  CloseConnection();
  if (Done done = std::exchange(done_, nullptr)) done(std::move(status));
}

void ClientWebSocket::Abort() {
  done_ = nullptr;
  events_ = Events();
  early_.clear();
  on_drain_ = nullptr;
  finished_ = true;
  phase_ = Phase::kDone;
  CloseConnection();
}

void ClientWebSocket::CloseConnection() {
  if (connection_ != nullptr) {
    connection_->Close();  // no callback of it runs after this
    connection_ = nullptr;
  }
  out_.clear();
  writing_ = false;
  buffered_ = 0;
  reading_ = false;
  if (timer_ != nullptr) uv_timer_stop(&timer_->handle);
  // Every caller holds a reference of its own while this runs.
  self_.reset();
}

void ClientWebSocket::Start(Events events) {
  if (started_) return;
  started_ = true;
  events_ = std::move(events);
  std::vector<std::function<void()>> early;
  early.swap(early_);
  for (auto& event : early) event();
}

void ClientWebSocket::Deliver(std::function<void()> event) {
  if (!started_) {
    early_.push_back(std::move(event));
    return;
  }
  event();
}

void ClientWebSocket::Write(std::string frame) {
  if (connection_ == nullptr) return;
  buffered_ += frame.size();
  out_.push_back(std::move(frame));
  PumpWrite();
}

void ClientWebSocket::PumpWrite() {
  if (writing_ || out_.empty() || connection_ == nullptr) return;
  writing_ = true;
  auto frame = std::make_shared<std::string>(std::move(out_.front()));
  out_.pop_front();
  const char* data = frame->data();
  size_t size = frame->size();
  std::weak_ptr<ClientWebSocket> weak = weak_from_this();
  connection_->Write(frame, data, size, [weak, size](const Status& status) {
    auto self = weak.lock();
    if (!self) return;
    self->writing_ = false;
    self->buffered_ -= std::min(size, self->buffered_);
    if (!status.ok()) {
      if (self->phase_ == Phase::kOpen) {
        self->Finish(base::kWsCloseAbnormal, "", /*clean=*/false);
        self->CloseConnection();
      } else {
        self->HandshakeFailed(Status(ErrorCode::kTypeError,
                                     fmt::format("WebSocket connection to {} failed: {}",
                                                 self->request_.host_header, status.message())));
      }
      return;
    }
    if (self->on_drain_ && self->buffered_ < kDrainBytes) {
      std::function<void()> callback = std::exchange(self->on_drain_, nullptr);
      callback();
    }
    self->PumpWrite();
    self->MaybeCloseAfterWrites();
  });
}

// The close handshake is over (or broken off): the worker may let go of
// this socket as soon as it is told, so it keeps itself alive until its
// close frame is out and the connection ends, for at most kCloseWaitMs.
void ClientWebSocket::BeginClosing() {
  closing_ = true;
  self_ = shared_from_this();
  ArmTimer(kCloseWaitMs);
  MaybeCloseAfterWrites();
}

// Once the close frame is out: the write side is shut (FIN) and what the
// server still sends is read and dropped until it closes too, for at most
// kCloseWaitMs (closing with unread bytes would reset the connection, and
// the server could lose the close frame).
void ClientWebSocket::MaybeCloseAfterWrites() {
  if (!closing_ || writing_ || !out_.empty() || draining_ || connection_ == nullptr) return;
  draining_ = true;
  connection_->Shutdown([](const Status&) {});
  ReadMore();
}

void ClientWebSocket::Send(std::string_view data, bool binary) {
  if (phase_ != Phase::kOpen || close_sent_ || finished_) return;
  Write(base::EncodeWebSocketFrame(binary ? base::WsOpcode::kBinary : base::WsOpcode::kText, data,
                                   /*mask=*/true));
}

void ClientWebSocket::Close(int code, std::string_view reason) {
  if (phase_ != Phase::kOpen || close_sent_ || finished_) return;
  close_sent_ = true;
  Write(base::EncodeWebSocketClose(code, reason, /*mask=*/true));
  // The server answers with its own close frame; one that does not is cut
  // off after a while.
  ArmTimer(kCloseWaitMs);
}

void ClientWebSocket::OnDrain(std::function<void()> callback) {
  if (buffered_ < kDrainBytes || connection_ == nullptr) {
    callback();
    return;
  }
  on_drain_ = std::move(callback);
}

void ClientWebSocket::PauseReading(bool paused) {
  paused_ = paused;
  if (!paused) ReadMore();
}

void ClientWebSocket::OnMessage(std::string data, bool binary) {
  Deliver([this, data = std::move(data), binary]() mutable {
    if (events_.on_message) events_.on_message(std::move(data), binary);
  });
}

void ClientWebSocket::OnPing(std::string_view payload) {
  if (close_sent_) return;
  Write(base::EncodeWebSocketFrame(base::WsOpcode::kPong, payload, /*mask=*/true));
}

void ClientWebSocket::OnClose(int code, std::string reason) {
  close_received_ = true;
  if (!close_sent_) {
    // Answered at once with the same code, as the server side does.
    close_sent_ = true;
    Write(base::EncodeWebSocketClose(code == base::kWsCloseNoStatus ? 0 : code, reason,
                                     /*mask=*/true));
  }
  Finish(code, std::move(reason), /*clean=*/true);
  BeginClosing();
}

void ClientWebSocket::OnProtocolError(int code, std::string reason) {
  if (!close_sent_) {
    close_sent_ = true;
    Write(base::EncodeWebSocketClose(code, reason, /*mask=*/true));
  }
  Finish(code, std::move(reason), /*clean=*/false);
  BeginClosing();
}

void ClientWebSocket::Finish(int code, std::string reason, bool clean) {
  if (finished_) return;
  finished_ = true;
  phase_ = Phase::kDone;
  if (timer_ != nullptr) uv_timer_stop(&timer_->handle);
  Deliver([this, code, reason = std::move(reason), clean]() mutable {
    if (!events_.on_close) return;
    auto on_close = std::move(events_.on_close);
    events_ = Events();
    on_close(code, std::move(reason), clean);
  });
}

}  // namespace edge::bindings
