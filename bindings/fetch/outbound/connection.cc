// One outbound connection: DNS (uv_getaddrinfo), the address policy, TCP,
// TLS through memory BIOs, the request written, the response parsed by
// llhttp and handed to the transaction's caller with flow control.
#include <arpa/inet.h>
#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/http_client/tls_client.h"
#include "base/http_text.h"
#include "base/thread_buffer.h"
#include "base/openssl_error.h"
#include "bindings/fetch/outbound/internal.h"

namespace edge::bindings::outbound {
namespace {

constexpr size_t kReadBufferSize = base::kThreadBufferBytes;
char* ReadBuffer() { return base::ThreadBuffer(base::ThreadBufferSlot::kFetchRead); }
char* PlainBuffer() { return base::ThreadBuffer(base::ThreadBufferSlot::kFetchPlain); }

Status NetError(std::string message) { return Status(ErrorCode::kTypeError, std::move(message)); }

// Fields the client owns or that only mean something for one hop.
bool IsClientOwnedField(std::string_view name) {
  static constexpr std::string_view kOwned[] = {
      "host", "connection", "keep-alive",    "proxy-connection", "transfer-encoding",
      "te",   "upgrade",    "content-length"};
  for (std::string_view owned : kOwned) {
    if (base::EqualsIgnoreCase(name, owned)) return true;
  }
  return false;
}

Connection* Self(llhttp_t* parser) { return static_cast<Connection*>(parser->data); }

}  // namespace

StatusOr<std::string> SerializeRequestHead(const Transaction& transaction, bool accept_encoding) {
  const RequestHead& head = transaction.head_;
  if (!base::IsToken(head.method)) {
    return NetError(fmt::format("Invalid HTTP method \"{}\"", head.method));
  }
  std::string out;
  out.reserve(256);
  out.append(head.method).append(" ").append(head.target.path).append(" HTTP/1.1\r\nHost: ");
  out.append(head.target.host);
  const uint16_t default_port = head.target.tls ? 443 : 80;
  if (head.target.port != default_port) out.append(fmt::format(":{}", head.target.port));
  out.append("\r\n");
  bool has_accept_encoding = false;
  for (const auto& [name, value] : head.headers) {
    if (!base::IsToken(name)) return NetError(fmt::format("Invalid header name \"{}\"", name));
    if (!base::IsFetchFieldValue(value)) {
      return NetError(fmt::format("Invalid value for header \"{}\"", name));
    }
    if (IsClientOwnedField(name)) continue;
    if (base::EqualsIgnoreCase(name, "accept-encoding")) has_accept_encoding = true;
    out.append(name).append(": ").append(base::TrimOws(value)).append("\r\n");
  }
  if (accept_encoding && !has_accept_encoding) out.append("Accept-Encoding: gzip, deflate\r\n");
  switch (transaction.kind_) {
    case BodyKind::kNone:
      // Fetch: a POST or PUT without a body says so.
      if (head.method == "POST" || head.method == "PUT") out.append("Content-Length: 0\r\n");
      break;
    case BodyKind::kBytes:
      out.append(fmt::format("Content-Length: {}\r\n", transaction.bytes_.size()));
      break;
    case BodyKind::kStream:
      if (transaction.upload_has_length_) {
        out.append(fmt::format("Content-Length: {}\r\n", transaction.upload_length_));
      } else {
        out.append("Transfer-Encoding: chunked\r\n");
      }
      break;
  }
  out.append("\r\n");
  return out;
}

// ---------------------------------------------------------------------------

Connection::Connection(Shard* shard, Pool* pool)
    : shard_(shard), pool_(pool), target_(pool->target()), timer_(shard->loop()) {
  llhttp_init(&parser_, HTTP_RESPONSE, Settings());
  parser_.data = this;
}

Connection::~Connection() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // and its BIOs
}

std::string Connection::Describe() const {
  return fmt::format("{}:{}", target_.host, target_.port);
}

const llhttp_settings_t* Connection::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = OnMessageBegin;
    s.on_status = OnStatus;
    s.on_header_field = OnHeaderField;
    s.on_header_value = OnHeaderValue;
    s.on_headers_complete = OnHeadersComplete;
    s.on_body = OnBody;
    s.on_message_complete = OnMessageComplete;
    return s;
  }();
  return &settings;
}

void Connection::Open() {
  const ClientOptions& options = shard_->options();
  if (options.connect_timeout_ms > 0) {
    timer_.Start(options.connect_timeout_ms, [this, ms = options.connect_timeout_ms] {
      Close(NetError(fmt::format("Connecting to {} timed out after {} ms.", Describe(), ms)));
    });
  }
  std::string host = HostForDns(target_.host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (IsIpLiteral(host)) hints.ai_flags |= AI_NUMERICHOST;
  dns_req_.data = this;
  dns_pending_ = true;
  int r = uv_getaddrinfo(
      shard_->loop(), &dns_req_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* result) {
        static_cast<Connection*>(req->data)->OnResolved(status, result);
      },
      host.c_str(), nullptr, &hints);
  if (r < 0) {
    dns_pending_ = false;
    // Never fail inside Open: the pool is in the middle of dispatching.
    Status status = NetError(fmt::format("DNS lookup for {} failed: {}", host, uv_strerror(r)));
    timer_.Start(0, [this, status] { Close(status); });
  }
}

void Connection::OnResolved(int status, addrinfo* result) {
  dns_pending_ = false;
  if (state_ == State::kClosed) {
    if (result != nullptr) uv_freeaddrinfo(result);
    MaybeDestroy();
    return;
  }
  std::string host = HostForDns(target_.host);
  if (status < 0) {
    Close(NetError(fmt::format("DNS lookup for {} failed: {}", host, uv_strerror(status))));
    return;
  }
  StatusOr<std::vector<sockaddr_storage>> allowed =
      AllowedAddresses(result, target_.port, host, shard_->options().address_policy);
  if (result != nullptr) uv_freeaddrinfo(result);
  if (!allowed.ok()) {
    Close(allowed.status());
    return;
  }
  addresses_ = std::move(allowed).value();
  state_ = State::kConnecting;
  ConnectNext();
}

void Connection::ConnectNext() {
  if (next_address_ >= addresses_.size()) {
    Close(!last_connect_error_.ok()
              ? last_connect_error_
              : NetError(fmt::format("Could not connect to {}.", Describe())));
    return;
  }
  const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[next_address_]);
  peer_ = FormatAddress(address);
  tcp_ = new uv_tcp_t;
  uv_tcp_init(shard_->loop(), tcp_);
  tcp_->data = this;
  connect_req_.data = this;
  int r = uv_tcp_connect(&connect_req_, tcp_, address, [](uv_connect_t* req, int status) {
    static_cast<Connection*>(req->data)->OnConnected(status);
  });
  if (r < 0) ConnectFailed(r);
}

void Connection::ConnectFailed(int error) {
  last_connect_error_ = NetError(
      fmt::format("Connecting to {} ({}) failed: {}.", Describe(), peer_, uv_strerror(error)));
  CloseTcp();
  ++next_address_;
  ConnectNext();
}

void Connection::OnConnected(int status) {
  if (state_ == State::kClosed || status == UV_ECANCELED) return;
  if (status < 0) return ConnectFailed(status);
  connected_ = true;
  ClientStats& stats = shard_->stats();
  stats.connections_opened.fetch_add(1, std::memory_order_relaxed);
  int64_t open = stats.connections_open.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t max = stats.max_connections_open.load(std::memory_order_relaxed);
  while (open > max && !stats.max_connections_open.compare_exchange_weak(max, open)) {
  }
  uv_tcp_nodelay(tcp_, 1);
  if (target_.tls) {
    StartTls();
  } else {
    OnReady();
  }
}

void Connection::StartTls() {
  SSL_CTX* context = shard_->tls();
  if (context == nullptr) {
    Close(NetError(fmt::format("TLS is not available: {}", shard_->tls_error())));
    return;
  }
  state_ = State::kHandshaking;
  ssl_ = SSL_new(context);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || rbio_ == nullptr || wbio_ == nullptr) {
    if (rbio_ != nullptr && ssl_ == nullptr) BIO_free(rbio_);
    if (wbio_ != nullptr && ssl_ == nullptr) BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    Close(NetError("TLS setup failed: out of memory"));
    return;
  }
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_connect_state(ssl_);
  std::string host = HostForDns(target_.host);
  if (IsIpLiteral(host)) {
    // No SNI for an address; the certificate must name the IP.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
  }
  StartReading();
  Handshake();
}

void Connection::Handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  FlushTls();
  if (state_ == State::kClosed) return;
  if (r == 1) {
    OnReady();
    return;
  }
  int error = SSL_get_error(ssl_, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    Close(NetError(base::VerifyErrorMessage(verify, HostForDns(target_.host))));
    return;
  }
  Close(TlsError("TLS handshake"));
}

Status Connection::TlsError(const char* what) {
  std::string detail = base::TakeOpenSslError();
  if (detail.empty()) detail = "the connection was closed";
  return NetError(fmt::format("{} with {} failed: {}", what, Describe(), detail));
}

void Connection::OnReady() {
  timer_.Stop();
  state_ = State::kIdle;
  StartReading();
  // Dispatch may hand it a request at once.
  pool_->OnConnectionReady(this);
  if (state_ == State::kIdle) StartIdleTimer();
}

void Connection::StartIdleTimer() {
  uint64_t ms = shard_->options().idle_timeout_ms;
  if (ms == 0) return;
  timer_.Start(ms, [this] {
    if (state_ == State::kIdle) Close(Status::Ok());
  });
}

void Connection::StartReading() {
  if (reading_ || tcp_ == nullptr || paused_ || state_ == State::kClosed) return;
  int r = uv_read_start(
      reinterpret_cast<uv_stream_t*>(tcp_),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        buf->base = ReadBuffer();
        buf->len = kReadBufferSize;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        static_cast<Connection*>(stream->data)->OnRead(nread, buf);
      });
  if (r == 0) reading_ = true;
}

void Connection::PauseReading() {
  if (paused_) return;
  paused_ = true;
  if (reading_ && tcp_ != nullptr) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    reading_ = false;
  }
}

void Connection::ResumeReading() {
  if (!paused_) return;
  paused_ = false;
  if (state_ == State::kClosed) return;
  StartReading();
  // Records OpenSSL already holds produce no socket event.
  if (ssl_ != nullptr && state_ == State::kActive) DrainTls();
}

void Connection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  if (state_ == State::kClosed || nread == 0) return;
  if (nread < 0) {
    if (nread == UV_EOF) {
      OnEof();
    } else {
      Fail(NetError(fmt::format("Network connection lost: reading from {} failed: {}.", Describe(),
                                uv_strerror(static_cast<int>(nread)))),
           true);
    }
    return;
  }
  if (ssl_ != nullptr) {
    BIO_write(rbio_, buf->base, static_cast<int>(nread));
    if (state_ == State::kHandshaking) {
      Handshake();
    } else {
      DrainTls();
    }
    return;
  }
  Feed(buf->base, static_cast<size_t>(nread));
}

void Connection::DrainTls() {
  while (state_ != State::kClosed && !paused_) {
    ERR_clear_error();
    char* plain = PlainBuffer();
    int n = SSL_read(ssl_, plain, static_cast<int>(kReadBufferSize));
    if (n > 0) {
      Feed(plain, static_cast<size_t>(n));
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_ZERO_RETURN) {
      OnEof();
      return;
    }
    Fail(TlsError("Reading TLS data"), false);
    return;
  }
  if (state_ != State::kClosed) FlushTls();
}

void Connection::OnEof() {
  if (state_ == State::kActive && transaction_ != nullptr && !message_complete_) {
    llhttp_errno_t error = llhttp_finish(&parser_);
    if ((error == HPE_OK || error == HPE_PAUSED) && message_complete_) {
      FinishResponse(false);  // a body delimited by the end of the connection
      return;
    }
    if (response_bytes_) {
      Fail(NetError(fmt::format("Network connection lost: {} closed the connection before the "
                                "response was complete.",
                                Describe())),
           false);
    } else {
      Fail(
          NetError(fmt::format(
              "Network connection lost: {} closed the connection without responding.", Describe())),
          true);
    }
    return;
  }
  if (state_ == State::kHandshaking) {
    Close(NetError(
        fmt::format("TLS handshake with {} failed: the connection was closed.", Describe())));
    return;
  }
  Close(Status::Ok());
}

void Connection::Feed(const char* data, size_t length) {
  if (state_ != State::kActive || transaction_ == nullptr) {
    Close(Status::Ok());  // bytes nobody asked for: this connection is not usable
    return;
  }
  response_bytes_ = true;
  llhttp_errno_t error = llhttp_execute(&parser_, data, length);
  if (state_ == State::kClosed) return;
  if (error == HPE_PAUSED) {
    const char* position = llhttp_get_error_pos(&parser_);
    bool extra = position != nullptr && position < data + length;
    llhttp_resume(&parser_);
    FinishResponse(!extra && keep_alive_ && request_complete_);
    return;
  }
  if (error != HPE_OK) {
    if (stale_) {
      // A 408 the origin sent on this idle connection before closing it, not
      // an answer to this request: go again on another connection.
      response_bytes_ = false;
      Fail(NetError(
               fmt::format("Network connection lost: {} timed the connection out.", Describe())),
           true);
      return;
    }
    std::string reason = !parse_error_.empty() ? parse_error_ : llhttp_get_error_reason(&parser_);
    Fail(NetError(fmt::format("Invalid HTTP response from {}: {}.", Describe(), reason)), false);
  }
}

void Connection::Begin(std::shared_ptr<Transaction> transaction) {
  state_ = State::kActive;
  timer_.Stop();
  transaction_ = std::move(transaction);
  Transaction* t = transaction_.get();
  t->connection_ = this;
  t->state_ = Transaction::State::kActive;
  ++t->attempts_;
  if (++requests_ > 1) shard_->stats().connections_reused.fetch_add(1, std::memory_order_relaxed);
  llhttp_init(&parser_, HTTP_RESPONSE, Settings());
  parser_.data = this;
  response_bytes_ = false;
  request_complete_ = false;
  message_complete_ = false;
  informational_ = false;
  keep_alive_ = false;
  stale_ = false;
  parse_error_.clear();
  if (!reading_ && !paused_) StartReading();

  std::string out = t->head_bytes_;
  if (t->kind_ == BodyKind::kBytes) out.append(t->bytes_);
  if (t->kind_ != BodyKind::kStream) request_complete_ = true;
  Send(std::move(out), 0);
  if (state_ == State::kActive && transaction_.get() == t && t->kind_ == BodyKind::kStream) {
    shard_->PumpUpload(t);
  }
}

void Connection::WriteBody(std::string data, size_t body_bytes, bool last) {
  if (state_ != State::kActive) return;
  if (last) request_complete_ = true;
  if (!data.empty()) Send(std::move(data), body_bytes);
}

void Connection::Send(std::string plaintext, size_t body_bytes) {
  if (ssl_ == nullptr) {
    SendRaw(std::move(plaintext), body_bytes);
    return;
  }
  ERR_clear_error();
  if (!plaintext.empty() &&
      SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size())) <= 0) {
    Fail(TlsError("Writing TLS data"), false);
    return;
  }
  size_t pending = BIO_ctrl_pending(wbio_);
  std::string cipher(pending, '\0');
  if (pending > 0) BIO_read(wbio_, cipher.data(), static_cast<int>(pending));
  SendRaw(std::move(cipher), body_bytes);
}

void Connection::FlushTls() {
  if (ssl_ == nullptr) return;
  size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return;
  std::string data(pending, '\0');
  BIO_read(wbio_, data.data(), static_cast<int>(pending));
  SendRaw(std::move(data), 0);
}

void Connection::SendRaw(std::string data, size_t body_bytes) {
  if (data.empty() || tcp_ == nullptr || state_ == State::kClosed) return;
  auto* request = new WriteRequest{{}, std::move(data), this, body_bytes};
  request->req.data = request;
  uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
  ++writes_pending_;
  int r = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
                   [](uv_write_t* req, int status) {
                     auto* w = static_cast<WriteRequest*>(req->data);
                     w->connection->OnWriteDone(w, status);
                   });
  if (r < 0) {
    --writes_pending_;
    delete request;
    Fail(NetError(fmt::format("Network connection lost: writing to {} failed: {}.", Describe(),
                              uv_strerror(r))),
         true);
  }
}

void Connection::OnWriteDone(WriteRequest* request, int status) {
  std::unique_ptr<WriteRequest> owned(request);
  --writes_pending_;
  if (status == UV_ECANCELED || state_ == State::kClosed) return;
  if (status < 0) {
    Fail(NetError(fmt::format("Network connection lost: writing to {} failed: {}.", Describe(),
                              uv_strerror(status))),
         true);
    return;
  }
  if (transaction_ != nullptr) {
    if (owned->body_bytes > 0) {
      transaction_->exchange_->Post({Event::Type::kUploadDrained, {}, {}, {}, owned->body_bytes});
    }
    shard_->ArmHeaderTimer(transaction_.get());
  }
}

void Connection::FinishResponse(bool reusable) {
  std::shared_ptr<Transaction> t = std::move(transaction_);
  transaction_ = nullptr;
  t->connection_ = nullptr;
  if (pool_ != nullptr) pool_->Release(t.get());
  t->exchange_->Post({Event::Type::kEnd, {}, {}, {}});
  shard_->Finish(t.get(), Status::Ok());
  if (reusable && pool_ != nullptr && !shard_->stopping()) {
    state_ = State::kIdle;
    paused_ = false;
    StartReading();
    pool_->OnConnectionIdle(this);
    if (state_ == State::kIdle) StartIdleTimer();
  } else {
    Close(Status::Ok());
  }
}

void Connection::Fail(const Status& status, bool retryable) {
  FailTransaction(status, retryable);
  Close(status);
}

void Connection::FailTransaction(const Status& status, bool retryable) {
  if (transaction_ == nullptr) return;
  std::shared_ptr<Transaction> t = std::move(transaction_);
  transaction_ = nullptr;
  t->connection_ = nullptr;
  if (pool_ != nullptr) pool_->Release(t.get());
  // A kept-alive connection the origin closed just as it was reused: the
  // request never reached it, so it goes again (once) on another connection.
  if (retryable && requests_ > 1 && !response_bytes_ && t->Replayable() && t->attempts_ < 2 &&
      !t->cancelled_ && pool_ != nullptr && !shard_->stopping()) {
    pool_->Submit(std::move(t), /*front=*/true);
    return;
  }
  shard_->Finish(t.get(), status);
}

void Connection::Close(const Status& status) {
  if (state_ == State::kClosed) return;
  const bool was_connecting =
      state_ == State::kResolving || state_ == State::kConnecting || state_ == State::kHandshaking;
  FailTransaction(status.ok() ? NetError("Network connection lost.") : status, false);
  state_ = State::kClosed;
  timer_.Stop();
  if (dns_pending_) uv_cancel(reinterpret_cast<uv_req_t*>(&dns_req_));
  CloseTcp();
  if (connected_) {
    connected_ = false;
    shard_->stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
  }
  Pool* pool = pool_;
  pool_ = nullptr;
  if (pool != nullptr) pool->OnConnectionClosed(this, was_connecting, status);
  MaybeDestroy();
}

void Connection::CloseTcp() {
  if (tcp_ == nullptr) return;
  uv_tcp_t* handle = tcp_;
  tcp_ = nullptr;
  reading_ = false;
  ++handles_closing_;
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) {
    auto* connection = static_cast<Connection*>(h->data);
    delete reinterpret_cast<uv_tcp_t*>(h);
    --connection->handles_closing_;
    connection->MaybeDestroy();
  });
}

void Connection::MaybeDestroy() {
  if (state_ != State::kClosed || handles_closing_ > 0 || dns_pending_ || pool_ != nullptr ||
      destroy_scheduled_) {
    return;
  }
  destroy_scheduled_ = true;
  // From the loop, never from inside one of this connection's own calls.
  timer_.Start(0, [this] { delete this; });
}

// ---------------------------------------------------------------------------
// llhttp callbacks: they record what they see; completion is handled after
// llhttp_execute returns.

int Connection::OnMessageBegin(llhttp_t* parser) {
  Connection* c = Self(parser);
  c->response_ = ResponseHead{};
  c->in_value_ = false;
  c->header_bytes_ = 0;
  c->message_complete_ = false;
  return 0;
}

int Connection::OnStatus(llhttp_t* parser, const char* at, size_t length) {
  Connection* c = Self(parser);
  c->header_bytes_ += length;
  if (c->header_bytes_ > c->shard_->options().max_response_header_bytes) {
    c->parse_error_ = "the response head is too large";
    return -1;
  }
  c->response_.status_text.append(at, length);
  return 0;
}

int Connection::OnHeaderField(llhttp_t* parser, const char* at, size_t length) {
  Connection* c = Self(parser);
  c->header_bytes_ += length + 4;
  if (c->header_bytes_ > c->shard_->options().max_response_header_bytes) {
    c->parse_error_ = fmt::format("the response headers exceed {} bytes",
                                  c->shard_->options().max_response_header_bytes);
    return -1;
  }
  if (c->in_value_ || c->response_.headers.empty()) {
    c->response_.headers.emplace_back();
    c->in_value_ = false;
  }
  c->response_.headers.back().first.append(at, length);
  return 0;
}

int Connection::OnHeaderValue(llhttp_t* parser, const char* at, size_t length) {
  Connection* c = Self(parser);
  c->header_bytes_ += length;
  if (c->header_bytes_ > c->shard_->options().max_response_header_bytes) {
    c->parse_error_ = fmt::format("the response headers exceed {} bytes",
                                  c->shard_->options().max_response_header_bytes);
    return -1;
  }
  c->in_value_ = true;
  if (!c->response_.headers.empty()) c->response_.headers.back().second.append(at, length);
  return 0;
}

int Connection::OnHeadersComplete(llhttp_t* parser) {
  Connection* c = Self(parser);
  const int status = parser->status_code;
  if (status == 101) {
    c->parse_error_ = "the origin switched protocols (101) although no upgrade was asked for";
    return -1;
  }
  if (status >= 100 && status < 200) {
    c->informational_ = true;  // skipped: the final response follows
    return 1;
  }
  Transaction* t = c->transaction_.get();
  if (t == nullptr) return -1;
  if (status == 408 && c->requests_ > 1 && t->Replayable() && t->attempts_ < 2) {
    c->stale_ = true;
    return -1;
  }
  c->keep_alive_ = llhttp_should_keep_alive(parser) != 0;
  const bool head = t->head_.method == "HEAD";
  ResponseHead response = std::move(c->response_);
  c->response_ = ResponseHead{};
  response.status = status;
  response.has_body = !(head || status == 204 || status == 304);
  for (auto& [name, value] : response.headers) {
    std::string_view trimmed = base::TrimOws(value);
    if (trimmed.size() != value.size()) value = std::string(trimmed);
  }
  t->head_received_ = true;
  if (t->header_timer_) t->header_timer_->Stop();
  t->exchange_->Post({Event::Type::kHead, std::move(response), {}, {}});
  return head ? 1 : 0;  // 1: no body, whatever the headers say
}

int Connection::OnBody(llhttp_t* parser, const char* at, size_t length) {
  Connection* c = Self(parser);
  Transaction* t = c->transaction_.get();
  if (t == nullptr) return -1;
  t->outstanding_ += length;
  t->exchange_->Post({Event::Type::kData, {}, std::string(at, length), {}});
  if (t->outstanding_ >= c->shard_->options().response_window_bytes) c->PauseReading();
  return 0;
}

int Connection::OnMessageComplete(llhttp_t* parser) {
  Connection* c = Self(parser);
  if (c->informational_) {
    c->informational_ = false;
    return 0;  // keep parsing: the final response is next
  }
  c->message_complete_ = true;
  return HPE_PAUSED;
}

}  // namespace edge::bindings::outbound
