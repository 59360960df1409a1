#include "gateway/http/http_connection.h"

#include <fmt/core.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <utility>

#include "base/http_text.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "gateway/http/status_pages.h"

namespace edge::gateway {

// A request body handed to the handler before it has all arrived.
class StreamedBody : public runtime::RequestBodySource {
 public:
  explicit StreamedBody(HttpConnection* connection) : connection_(connection) {}

  void Read(Reader reader) override {
    reader_ = std::move(reader);
    has_reader_ = true;
    if (!buffered_.empty()) {
      std::string chunk = std::move(buffered_);
      buffered_.clear();
      if (reader_.on_data) reader_.on_data(chunk);
    }
    if (!error_.empty()) {
      if (reader_.on_error) reader_.on_error(error_);
    } else if (ended_ && reader_.on_end) {
      reader_.on_end();
    }
  }
  void Pause(bool paused) override {
    paused_ = paused;
    if (connection_ != nullptr) connection_->UpdateReading();
  }

  void Deliver(std::string_view chunk) {
    if (ended_ || !error_.empty()) return;
    if (has_reader_) {
      if (reader_.on_data) reader_.on_data(chunk);
    } else {
      buffered_.append(chunk);
    }
  }
  void End() {
    if (ended_ || !error_.empty()) return;
    ended_ = true;
    if (has_reader_ && reader_.on_end) reader_.on_end();
  }
  void Error(std::string_view reason) {
    if (ended_ || !error_.empty()) return;
    error_ = reason.empty() ? "the request body was cut short" : std::string(reason);
    if (has_reader_ && reader_.on_error) reader_.on_error(error_);
  }
  void Detach() { connection_ = nullptr; }
  bool paused() const { return paused_; }
  // Unread input the handler has not taken yet, for backpressure.
  size_t buffered() const { return buffered_.size(); }

 private:
  HttpConnection* connection_;
  Reader reader_;
  bool has_reader_ = false;
  std::string buffered_;
  bool ended_ = false;
  bool paused_ = false;
  std::string error_;
};

namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
// Input kept while a request is with the handler, before reading stops.
constexpr size_t kMaxPendingInput = 64 * 1024;
constexpr size_t kDrainThreshold = kWriterDrainThreshold;
// Output waiting in the connection's buffer is written at once past this size.
constexpr size_t kFlushNowBytes = 64 * 1024;
// After the last response of a connection is written and the write side shut,
// input is drained for at most this long so the client reads the response
// instead of a reset.
constexpr uint64_t kLingerMs = 2000;
constexpr size_t kMaxKeptCapacity = 256 * 1024;
constexpr size_t kMaxSpareWrites = 4;
constexpr size_t kBodyReserveCap = 256 * 1024;
constexpr size_t kRequestLineOverhead = 16;  // method, spaces, version, CRLF
constexpr size_t kHeaderLineOverhead = 4;    // ": " and CRLF
constexpr size_t kReservedHeaders = 16;

template <typename F>
void SafeCall(F& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "gateway: {} threw: {}", what, e.what());
  } catch (...) {
    Log(LogLevel::kError, "gateway: {} threw a non-standard exception", what);
  }
}

// Printable form of untrusted text for a log line.
std::string EscapeForLog(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

void AppendDecimal(std::string& out, uint64_t value) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

std::string FormatAddress(const sockaddr_storage& addr) {
  char ip[64] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(a, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(a->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(a, ip, sizeof ip);
    return fmt::format("[{}]:{}", ip, ntohs(a->sin6_port));
  }
  return "unknown";
}

HttpConnection* Self(llhttp_t* parser) { return static_cast<HttpConnection*>(parser->data); }

}  // namespace

// ---------------------------------------------------------------------------
// ServerContext

ServerContext::ServerContext(uv_loop_t* loop_in, ServerLimits limits_in, RequestHandler handler_in)
    : loop(loop_in),
      limits(limits_in),
      handler(std::move(handler_in)),
      read_buffer(new char[kReadBufferSize]) {}

ServerContext::~ServerContext() { CloseFlushHandle(); }

void ServerContext::Add(HttpConnection* connection) {
  connection->prev_ = nullptr;
  connection->next_ = connections;
  if (connections != nullptr) connections->prev_ = connection;
  connections = connection;
  ++connection_count;
}

void ServerContext::Remove(HttpConnection* connection) {
  if (connection->prev_ != nullptr) {
    connection->prev_->next_ = connection->next_;
  } else {
    connections = connection->next_;
  }
  if (connection->next_ != nullptr) connection->next_->prev_ = connection->prev_;
  connection->prev_ = connection->next_ = nullptr;
  --connection_count;
}

void ServerContext::ScheduleFlush(HttpConnection* connection) {
  if (flush_handle == nullptr && !flush_handle_closed) {
    flush_handle = new uv_prepare_t;
    uv_prepare_init(loop, flush_handle);
    flush_handle->data = this;
  }
  if (flush_handle == nullptr) {
    connection->Flush();
    return;
  }
  connection->flush_scheduled_ = true;
  dirty.push_back(connection);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(flush_handle))) {
    uv_prepare_start(flush_handle, [](uv_prepare_t* handle) {
      static_cast<ServerContext*>(handle->data)->RunFlushes();
    });
  }
}

void ServerContext::RunFlushes() {
  dirty_spare.swap(dirty);
  for (HttpConnection* connection : dirty_spare) {
    if (!connection->flush_scheduled_) continue;
    connection->flush_scheduled_ = false;
    connection->Flush();
  }
  dirty_spare.clear();
  if (dirty.empty() && flush_handle != nullptr) uv_prepare_stop(flush_handle);
}

void ServerContext::CancelFlush(HttpConnection* connection) {
  connection->flush_scheduled_ = false;
  auto it = std::find(dirty.begin(), dirty.end(), connection);
  if (it != dirty.end()) dirty.erase(it);
}

void ServerContext::CloseFlushHandle() {
  flush_handle_closed = true;
  std::vector<HttpConnection*> left;
  left.swap(dirty);
  for (HttpConnection* connection : left) {
    if (!connection->flush_scheduled_) continue;
    connection->flush_scheduled_ = false;
    connection->Flush();
  }
  if (flush_handle != nullptr) {
    base::CloseAndDelete(flush_handle);
    flush_handle = nullptr;
  }
}

void ServerContext::MaybeFinishShutdown() {
  if (!shutting_down || listener_open || connection_count > 0 || shutdown_done.empty()) return;
  CloseFlushHandle();
  std::vector<std::function<void()>> callbacks;
  callbacks.swap(shutdown_done);
  for (auto& callback : callbacks) SafeCall(callback, "shutdown callback");
}

// ---------------------------------------------------------------------------
// ConnectionWriter: the ResponseWriter of one request.

class ConnectionWriter final : public ResponseWriter {
 public:
  ConnectionWriter(HttpConnection* connection, bool head, int http_major, int http_minor)
      : connection_(connection),
        head_(head),
        http_1_0_(http_major < 1 || (http_major == 1 && http_minor == 0)) {}

  ~ConnectionWriter() override {
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

  void Start(int status, std::string_view reason, const HeaderList& headers,
             std::optional<uint64_t> content_length) override;
  void Write(std::string_view chunk) override;
  void Finish() override;
  void Abort() override;
  bool Aborted() const override { return aborted_; }
  size_t BufferedBytes() const override {
    return connection_ != nullptr ? connection_->BufferedBytes() : 0;
  }
  void OnDrain(std::function<void()> callback) override;
  void OnAbort(std::function<void()> callback) override;

  // Answers 500 when nothing was sent yet; otherwise ends the response as
  // broken, which closes the connection.
  void Fail();

 private:
  friend class HttpConnection;
  enum class BodyMode { kNone, kLength, kChunked, kUntilClose };

  void EndResponse();

  HttpConnection* connection_;  // null once finished or aborted
  const bool head_;
  const bool http_1_0_;
  bool started_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  bool overflow_logged_ = false;
  BodyMode mode_ = BodyMode::kNone;
  uint64_t remaining_ = 0;
  std::function<void()> on_drain_;
  std::function<void()> on_abort_;
};

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

// ---------------------------------------------------------------------------
// HttpConnection

const llhttp_settings_t& HttpConnection::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = OnMessageBegin;
    s.on_url = OnUrl;
    s.on_header_field = OnHeaderField;
    s.on_header_field_complete = OnHeaderFieldComplete;
    s.on_header_value = OnHeaderValue;
    s.on_headers_complete = OnHeadersComplete;
    s.on_body = OnBody;
    s.on_message_complete = OnMessageComplete;
    return s;
  }();
  return settings;
}

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
      if (state_ != State::kReading && state_ != State::kHandling) return;
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

// llhttp callbacks. They run inside llhttp_execute and only record what they
// see; the request is dispatched after llhttp_execute returns.

int HttpConnection::OnMessageBegin(llhttp_t* parser) {
  HttpConnection* c = Self(parser);
  c->message_begun_ = true;
  c->headers_done_ = false;
  c->in_header_field_ = false;
  c->header_bytes_ = kRequestLineOverhead;
  c->trailer_bytes_ = 0;
  if (c->request_.headers.capacity() < kReservedHeaders) {
    c->request_.headers.reserve(kReservedHeaders);
  }
  if (c->timer_kind_ != TimerKind::kHeader) {
    c->ArmTimer(TimerKind::kHeader, c->limits().header_timeout_ms);
  }
  return 0;
}

int HttpConnection::OnUrl(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  c->header_bytes_ += length;
  if (c->header_bytes_ > c->limits().max_header_bytes) {
    return c->Reject(
        431, fmt::format("request line and headers exceed {} bytes", c->limits().max_header_bytes));
  }
  c->request_.target.append(at, length);
  return 0;
}

int HttpConnection::OnHeaderField(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  size_t max = c->limits().max_header_bytes;
  if (c->headers_done_) {  // a trailer field of a chunked body: counted, not kept
    c->trailer_bytes_ += length + kHeaderLineOverhead;
    if (c->trailer_bytes_ > max) {
      return c->Reject(431, fmt::format("request trailers exceed {} bytes", max));
    }
    return 0;
  }
  c->header_bytes_ += length;
  if (!c->in_header_field_) {
    c->in_header_field_ = true;
    c->header_bytes_ += kHeaderLineOverhead;
    c->request_.headers.emplace_back();
  }
  if (c->header_bytes_ > max) {
    return c->Reject(431, fmt::format("request line and headers exceed {} bytes", max));
  }
  c->request_.headers.back().first.append(at, length);
  return 0;
}

int HttpConnection::OnHeaderFieldComplete(llhttp_t* parser) {
  Self(parser)->in_header_field_ = false;
  return 0;
}

int HttpConnection::OnHeaderValue(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  size_t max = c->limits().max_header_bytes;
  if (c->headers_done_) {
    c->trailer_bytes_ += length;
    if (c->trailer_bytes_ > max) {
      return c->Reject(431, fmt::format("request trailers exceed {} bytes", max));
    }
    return 0;
  }
  c->header_bytes_ += length;
  if (c->header_bytes_ > max) {
    return c->Reject(431, fmt::format("request line and headers exceed {} bytes", max));
  }
  if (!c->request_.headers.empty()) c->request_.headers.back().second.append(at, length);
  return 0;
}

int HttpConnection::OnHeadersComplete(llhttp_t* parser) {
  HttpConnection* c = Self(parser);
  const ServerLimits& limits = c->limits();
  c->headers_done_ = true;
  c->header_phase_bytes_ = 0;
  c->StopTimer();
  HttpRequest& request = c->request_;
  request.method = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
  request.http_major = parser->http_major;
  request.http_minor = parser->http_minor;
  c->request_keep_alive_ = llhttp_should_keep_alive(parser) != 0;
  // TODO(gateway): WebSocket upgrade. Until then an upgrade request is
  // answered like any other and the connection closes after it.
  if (parser->upgrade) c->request_keep_alive_ = false;
  request.keep_alive = c->request_keep_alive_;
  c->is_head_ = parser->method == HTTP_HEAD;

  const bool chunked = (parser->flags & F_CHUNKED) != 0;
  if (!chunked && (parser->flags & F_CONTENT_LENGTH) &&
      parser->content_length > limits.max_body_bytes) {
    c->Reject(413, fmt::format("declared Content-Length {} exceeds the limit of {} bytes",
                               parser->content_length, limits.max_body_bytes));
    return -1;
  }
  const bool has_body = chunked || parser->content_length > 0;
  if (has_body) {
    if (request.http_major == 1 && request.http_minor >= 1) {
      for (const auto& [name, value] : request.headers) {
        if (base::EqualsIgnoreCase(name, "expect") &&
            base::EqualsIgnoreCase(base::TrimOws(value), "100-continue")) {
          c->out_.append("HTTP/1.1 100 Continue\r\n\r\n");
          break;
        }
      }
    }
    c->body_received_ = 0;
    if (limits.stream_request_bodies) {
      c->streamed_body_ = std::make_shared<StreamedBody>(c);
      request.body_stream = c->streamed_body_;
    } else if (!chunked) {
      request.body.reserve(
          static_cast<size_t>(std::min<uint64_t>(parser->content_length, kBodyReserveCap)));
    }
    // The body must keep arriving: each read restarts this timer.
    c->ArmTimer(TimerKind::kBody, limits.idle_timeout_ms);
  }
  return 0;
}

int HttpConnection::OnBody(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  size_t max = c->limits().max_body_bytes;
  if (length > max || c->body_received_ > max - length) {
    return c->Reject(413, fmt::format("request body exceeds the limit of {} bytes", max));
  }
  c->body_received_ += length;
  if (c->streamed_body_) {
    c->streamed_body_->Deliver(std::string_view(at, length));
  } else {
    c->request_.body.append(at, length);
  }
  return 0;
}

int HttpConnection::OnMessageComplete(llhttp_t* parser) {
  HttpConnection* c = Self(parser);
  c->message_begun_ = false;
  c->headers_done_ = false;
  c->header_phase_bytes_ = 0;
  c->request_ready_ = true;
  c->StopTimer();
  if (c->streamed_body_) {
    c->streamed_body_->End();
    c->streamed_body_->Detach();
    c->streamed_body_.reset();
  }
  return HPE_PAUSED;  // one request at a time: Execute dispatches it
}

// ---------------------------------------------------------------------------
// Output

void HttpConnection::RequestFlush() {
  if (state_ == State::kClosed) return;
  if (out_.size() >= kFlushNowBytes) {
    Flush();
    return;
  }
  if (batch_depth_ > 0 || flush_scheduled_) return;  // flushed at the end of the batch
  context_->ScheduleFlush(this);
}

size_t HttpConnection::BufferedBytes() const {
  return out_.size() + tls_out_.size() + tcp_.write_queue_size;
}

void HttpConnection::Flush() {
  if (state_ == State::kClosed) return;
  if (!tls_) {
    WriteOut(out_);
    return;
  }
  // The response bytes are encrypted now; what OpenSSL queued by itself
  // (handshake messages, session tickets, close_notify) goes out in order
  // with them.
  if (!out_.empty() && tls_->handshake_done()) {
    bool ok = tls_->Write(out_, &tls_out_);
    out_.clear();
    if (out_.capacity() > kMaxKeptCapacity) std::string().swap(out_);
    if (!ok) {
      Log(LogLevel::kDebug, "gateway: TLS error on the connection from {}: {}", remote_address_,
          tls_->error());
      CloseNow();
      return;
    }
  } else {
    tls_->TakeOutput(&tls_out_);
  }
  WriteOut(tls_out_);
}

// Writes `buffer` (out_, or tls_out_ over TLS) to the socket and leaves it
// empty: what uv_try_write does not take goes to a uv_write that owns it.
void HttpConnection::WriteOut(std::string& buffer) {
  if (state_ == State::kClosed || buffer.empty()) return;
  uv_stream_t* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  size_t offset = 0;
  if (tcp_.write_queue_size == 0) {
    uv_buf_t buf;
    buf.base = buffer.data();
    buf.len = buffer.size();
    int r = uv_try_write(stream, &buf, 1);
    if (r < 0 && r != UV_EAGAIN) {
      Fail("write", r);
      return;
    }
    if (r > 0) offset = static_cast<size_t>(r);
    if (offset == buffer.size()) {
      buffer.clear();
      if (buffer.capacity() > kMaxKeptCapacity) std::string().swap(buffer);
      return;
    }
  }
  std::unique_ptr<WriteRequest> write;
  if (!spare_writes_.empty()) {
    write = std::move(spare_writes_.back());
    spare_writes_.pop_back();
  } else {
    write = std::make_unique<WriteRequest>();
  }
  write->connection = this;
  write->data.swap(buffer);  // `buffer` takes the spare's empty one
  buffer.clear();
  write->req.data = write.get();
  uv_buf_t buf;
  buf.base = write->data.data() + offset;
  buf.len = write->data.size() - offset;
  WriteRequest* raw = write.release();
  int r = uv_write(&raw->req, stream, &buf, 1, [](uv_write_t* req, int status) {
    auto* w = static_cast<WriteRequest*>(req->data);
    w->connection->OnWriteDone(w, status);
  });
  if (r < 0) {
    delete raw;
    Fail("write", r);
  }
}

// After a failed handshake or a broken record: sends OpenSSL's alert if the
// socket takes it at once (no waiting on a peer that misbehaves), then closes.
void HttpConnection::SendTlsAlertAndClose() {
  std::string alert;
  tls_->TakeOutput(&alert);
  if (!alert.empty() && tcp_.write_queue_size == 0 && state_ != State::kClosed) {
    uv_buf_t buf = uv_buf_init(alert.data(), static_cast<unsigned int>(alert.size()));
    uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  }
  CloseNow();
}

void HttpConnection::OnWriteDone(WriteRequest* request, int status) {
  std::unique_ptr<WriteRequest> owned(request);
  owned->data.clear();
  if (owned->data.capacity() <= kMaxKeptCapacity && spare_writes_.size() < kMaxSpareWrites) {
    spare_writes_.push_back(std::move(owned));
  }
  if (status == UV_ECANCELED || state_ == State::kClosed) return;
  if (status < 0) {
    Fail("write", status);
    return;
  }
  last_write_done_ms_ = uv_now(context_->loop);
  MaybeFireDrain();
}

void HttpConnection::MaybeFireDrain() {
  if (writer_ == nullptr || !writer_->on_drain_ || BufferedBytes() >= kDrainThreshold) return;
  std::function<void()> callback = std::move(writer_->on_drain_);
  writer_->on_drain_ = nullptr;
  SafeCall(callback, "drain callback");
}

void HttpConnection::Fail(const char* what, int error) {
  Log(LogLevel::kDebug, "gateway: {} on the connection from {} failed: {}", what, remote_address_,
      uv_strerror(error));
  CloseNow();
}

void HttpConnection::OnResponseFinished(ConnectionWriter* writer) {
  if (writer_ == writer) writer_ = nullptr;
  if (state_ != State::kHandling) return;
  if (close_after_response_ || context_->shutting_down) {
    BeginLinger();
    return;
  }
  state_ = State::kReading;
  if (parser_paused_) {
    llhttp_resume(&parser_);
    parser_paused_ = false;
  }
  if (batch_depth_ == 0) Pump();
}

// Ends the connection gracefully: write what is queued, send FIN, then read
// and discard until the client closes too (or kLingerMs pass), so a client
// still sending does not get a reset that destroys the response.
void HttpConnection::BeginLinger() {
  if (state_ == State::kClosed || state_ == State::kLingering) return;
  state_ = State::kLingering;
  StopTimer();
  pending_.clear();
  Flush();
  if (state_ == State::kClosed) return;
  if (tls_) {
    // close_notify: the client can tell that the response ended here and
    // was not cut off.
    tls_->Shutdown();
    Flush();
    if (state_ == State::kClosed) return;
  }
  shutdown_req_.data = this;
  int r = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_),
                      [](uv_shutdown_t* req, int status) {
                        auto* c = static_cast<HttpConnection*>(req->data);
                        if (status == UV_ECANCELED || c->state_ == State::kClosed) return;
                        if (status < 0) {
                          c->CloseNow();
                          return;
                        }
                        c->ArmTimer(TimerKind::kLinger, kLingerMs);
                      });
  if (r < 0) {
    CloseNow();
    return;
  }
  // Until the shutdown completes, the output is still being written: the
  // client must keep reading it (see OnTimer).
  ArmTimer(TimerKind::kLinger, limits().idle_timeout_ms);
  UpdateReading();
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
  uv_timer_start(
      &timer_, [](uv_timer_t* timer) { static_cast<HttpConnection*>(timer->data)->OnTimer(); }, ms,
      0);
}

void HttpConnection::StopTimer() {
  if (timer_kind_ == TimerKind::kNone) return;
  timer_kind_ = TimerKind::kNone;
  if (state_ != State::kClosed) uv_timer_stop(&timer_);
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
