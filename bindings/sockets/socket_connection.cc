#include "bindings/sockets/socket_connection.h"

#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "base/http_client/tls_client.h"
#include "base/openssl_error.h"
#include "base/thread_buffer.h"
#include "base/uv_handle.h"
#include "bindings/fetch/outbound/client.h"

namespace edge::bindings {
namespace {

static_assert(SocketConnection::kChunkBytes <= base::kThreadBufferBytes);
char* ReadBuffer() { return base::ThreadBuffer(base::ThreadBufferSlot::kSocketRead); }

}  // namespace

bool IsValidSocketHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

SocketTarget TargetUnderClient(const std::shared_ptr<outbound::Client>& client, std::string host,
                               uint16_t port, bool tls,
                               std::shared_ptr<runtime::BufferAllocator> budget) {
  SocketTarget target;
  target.host = std::move(host);
  target.port = port;
  target.tls = tls;
  target.policy = client->options().address_policy;
  target.connect_timeout_ms = client->options().connect_timeout_ms;
  target.tls_context = [client](std::string* error) {
    SSL_CTX* context = client->tls_context();
    if (context == nullptr) *error = client->tls_error();
    return context;
  };
  target.budget = std::move(budget);
  return target;
}

// Marks one of this object's callbacks on the stack: the object is not
// deleted under it, and is deleted at its end if it was closed meanwhile.
struct SocketConnection::Entry {
  explicit Entry(SocketConnection* self) : self(self) { ++self->depth_; }
  ~Entry() {
    --self->depth_;
    self->MaybeDestroy();
  }
  SocketConnection* self;
};

struct SocketConnection::WriteRequest {
  uv_write_t req;
  std::string copy;  // TLS records; empty when the bytes are the caller's
  SocketConnection* self;
};

SocketConnection* SocketConnection::Open(uv_loop_t* loop, SocketTarget target) {
  auto* connection = new SocketConnection(loop, std::move(target));
  connection->Resolve();
  return connection;
}

SocketConnection::SocketConnection(uv_loop_t* loop, SocketTarget target)
    : loop_(loop), target_(std::move(target)) {}

SocketConnection::~SocketConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // and its BIOs
  if (target_.budget && !pending_plain_.empty()) target_.budget->Uncharge(pending_plain_.size());
}

Status SocketConnection::ConnectError(std::string detail) const {
  // Workers' words, then why.
  std::string hint = target_.suggest_fetch && (target_.port == 80 || target_.port == 443)
                         ? ". It looks like you might be trying to connect to a HTTP-based "
                           "service — consider using fetch instead"
                         : "";
  return Status(ErrorCode::kIo,
                fmt::format("proxy request failed, cannot connect to the specified address{} ({})",
                            hint, detail));
}

Status SocketConnection::NetworkError(std::string detail) const {
  return Status(ErrorCode::kIo, fmt::format("Network connection lost: {}", detail));
}

void SocketConnection::Resolve() {
  Entry entry(this);
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  // Workers refuses port 25 (SMTP): no connection is even tried.
  if (target_.port == 25) {
    uv_timer_start(
        timer_,
        [](uv_timer_t* timer) {
          auto* self = static_cast<SocketConnection*>(timer->data);
          Entry entry(self);
          self->Fail(self->ConnectError("connections to port 25 are prohibited"));
        },
        0, 0);
    return;
  }
  if (target_.connect_timeout_ms > 0) {
    uv_timer_start(
        timer_,
        [](uv_timer_t* timer) {
          auto* self = static_cast<SocketConnection*>(timer->data);
          Entry entry(self);
          if (self->state_ == State::kOpen) return;
          self->Fail(self->ConnectError(fmt::format("connecting timed out after {} ms",
                                                    self->target_.connect_timeout_ms)));
        },
        target_.connect_timeout_ms, 0);
  }
  std::string host = outbound::HostForDns(target_.host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (outbound::IsIpLiteral(host)) hints.ai_flags |= AI_NUMERICHOST;
  dns_.data = this;
  dns_pending_ = true;
  ++libuv_pending_;
  int r = uv_getaddrinfo(
      loop_, &dns_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* result) {
        static_cast<SocketConnection*>(req->data)->OnResolved(status, result);
      },
      host.c_str(), nullptr, &hints);
  if (r < 0) {
    dns_pending_ = false;
    --libuv_pending_;
    // Never fail inside Open: the failure comes from the loop.
    uv_timer_start(
        timer_,
        [](uv_timer_t* timer) {
          auto* self = static_cast<SocketConnection*>(timer->data);
          Entry entry(self);
          self->Fail(self->ConnectError(fmt::format("DNS lookup for {} failed",
                                                    outbound::HostForDns(self->target_.host))));
        },
        0, 0);
  }
}

void SocketConnection::OnResolved(int status, addrinfo* result) {
  Entry entry(this);
  dns_pending_ = false;
  --libuv_pending_;
  if (state_ != State::kResolving) {
    if (result != nullptr) uv_freeaddrinfo(result);
    return;
  }
  std::string host = outbound::HostForDns(target_.host);
  if (status < 0) {
    Fail(ConnectError(fmt::format("DNS lookup for {} failed: {}", host, uv_strerror(status))));
    return;
  }
  StatusOr<std::vector<sockaddr_storage>> allowed =
      outbound::AllowedAddresses(result, target_.port, host, target_.policy);
  if (result != nullptr) uv_freeaddrinfo(result);
  if (!allowed.ok()) {
    Fail(ConnectError(allowed.status().message()));
    return;
  }
  addresses_ = std::move(allowed).value();
  state_ = State::kConnecting;
  ConnectNext();
}

void SocketConnection::ConnectNext() {
  if (next_address_ >= addresses_.size()) {
    Fail(!last_connect_error_.ok() ? last_connect_error_
                                   : ConnectError("no address could be reached"));
    return;
  }
  const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[next_address_]);
  tcp_ = new uv_tcp_t;
  uv_tcp_init(loop_, tcp_);
  tcp_->data = this;
  connect_req_.data = this;
  ++libuv_pending_;
  int r = uv_tcp_connect(&connect_req_, tcp_, address, [](uv_connect_t* req, int status) {
    static_cast<SocketConnection*>(req->data)->OnConnected(status);
  });
  if (r < 0) {
    --libuv_pending_;
    last_connect_error_ = ConnectError(
        fmt::format("connecting to {} failed: {}", outbound::FormatAddress(address), uv_strerror(r)));
    base::CloseAndDelete(tcp_);
    tcp_ = nullptr;
    ++next_address_;
    ConnectNext();
  }
}

void SocketConnection::OnConnected(int status) {
  Entry entry(this);
  --libuv_pending_;
  if (state_ != State::kConnecting || status == UV_ECANCELED) return;
  if (status < 0) {
    const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[next_address_]);
    last_connect_error_ = ConnectError(fmt::format(
        "connecting to {} failed: {}", outbound::FormatAddress(address), uv_strerror(status)));
    base::CloseAndDelete(tcp_);
    tcp_ = nullptr;
    ++next_address_;
    ConnectNext();
    return;
  }
  uv_tcp_nodelay(tcp_, 1);
  if (target_.tls) {
    BeginTls(outbound::HostForDns(target_.host));
  } else {
    OnReady();
  }
}

void SocketConnection::BeginTls(const std::string& host) {
  std::string why = "no TLS context";
  SSL_CTX* context = target_.tls_context ? target_.tls_context(&why) : nullptr;
  if (context == nullptr) {
    Fail(ConnectError(fmt::format("TLS is not available: {}", why)));
    return;
  }
  state_ = State::kHandshaking;
  tls_host_ = host;
  ssl_ = SSL_new(context);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || rbio_ == nullptr || wbio_ == nullptr) {
    if (ssl_ == nullptr) {
      if (rbio_ != nullptr) BIO_free(rbio_);
      if (wbio_ != nullptr) BIO_free(wbio_);
    } else {
      SSL_free(ssl_);
      ssl_ = nullptr;
      if (rbio_ != nullptr) BIO_free(rbio_);
      if (wbio_ != nullptr) BIO_free(wbio_);
    }
    rbio_ = wbio_ = nullptr;
    Fail(ConnectError("TLS setup failed: out of memory"));
    return;
  }
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_connect_state(ssl_);
  // A raw stream, not HTTP: no ALPN.
  SSL_set_alpn_protos(ssl_, nullptr, 0);
  if (outbound::IsIpLiteral(host)) {
    // No SNI for an address; the certificate must name the IP.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
  }
  // A handshake started by startTls() has its own time.
  if (target_.connect_timeout_ms > 0 && timer_ != nullptr && !uv_is_active(reinterpret_cast<uv_handle_t*>(timer_))) {
    uv_timer_start(
        timer_,
        [](uv_timer_t* timer) {
          auto* self = static_cast<SocketConnection*>(timer->data);
          Entry entry(self);
          if (self->state_ != State::kHandshaking) return;
          self->Fail(self->ConnectError(fmt::format("the TLS handshake timed out after {} ms",
                                                    self->target_.connect_timeout_ms)));
        },
        target_.connect_timeout_ms, 0);
  }
  StartReading();
  Handshake();
}

void SocketConnection::Handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  FlushTls();
  if (state_ != State::kHandshaking) return;
  if (r == 1) {
    OnReady();
    return;
  }
  int error = SSL_get_error(ssl_, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    Fail(ConnectError(base::VerifyErrorMessage(verify, tls_host_)));
    return;
  }
  std::string detail = base::TakeOpenSslError();
  Fail(ConnectError(fmt::format("the TLS handshake with {} failed: {}", tls_host_,
                                detail.empty() ? "the connection was closed" : detail)));
}

void SocketConnection::OnReady() {
  if (timer_ != nullptr) uv_timer_stop(timer_);
  state_ = State::kOpen;
  if (on_read_) {
    TryRead();
  } else {
    StopReading();
  }
  if (state_ != State::kOpen) return;
  PumpWrite();
  if (state_ != State::kOpen) return;
  MaybeShutdown();
  if (state_ == State::kOpen && on_open_) {
    auto ready = std::move(on_open_);
    on_open_ = nullptr;
    Defer([ready = std::move(ready)] { ready(Status::Ok()); });
  }
}

void SocketConnection::WhenOpen(std::function<void(const Status&)> done) {
  on_open_ = std::move(done);
  if (state_ == State::kOpen) {
    auto ready = std::move(on_open_);
    on_open_ = nullptr;
    Defer([ready = std::move(ready)] { ready(Status::Ok()); });
  } else if (state_ == State::kFailed) {
    auto failed = std::move(on_open_);
    on_open_ = nullptr;
    Defer([failed = std::move(failed), error = error_] { failed(error); });
  }
}

void SocketConnection::Fail(Status status) {
  if (state_ == State::kFailed || state_ == State::kClosed) return;
  state_ = State::kFailed;
  error_ = status;
  CloseHandles();
  write_owner_.reset();
  writing_ = false;
  auto open = std::move(on_open_);
  auto read = std::move(on_read_);
  auto write = std::move(on_write_);
  auto shutdown = std::move(on_shutdown_);
  on_open_ = nullptr;
  on_read_ = nullptr;
  on_write_ = nullptr;
  on_shutdown_ = nullptr;
  // One task each: a callback may close this, and the others are then
  // dropped (RunDeferred).
  if (open) Defer([open = std::move(open), status] { open(status); });
  if (read) {
    Defer([read = std::move(read), status] { read(ReadResult{ReadResult::kError, {}, status}); });
  }
  if (write) Defer([write = std::move(write), status] { write(status); });
  if (shutdown) Defer([shutdown = std::move(shutdown), status] { shutdown(status); });
}

void SocketConnection::Defer(std::function<void()> task) {
  if (closed_by_owner_) return;
  deferred_.push_back(std::move(task));
  if (defer_timer_ == nullptr) {
    defer_timer_ = new uv_timer_t;
    uv_timer_init(loop_, defer_timer_);
    defer_timer_->data = this;
  }
  uv_timer_start(
      defer_timer_,
      [](uv_timer_t* timer) { static_cast<SocketConnection*>(timer->data)->RunDeferred(); }, 0, 0);
}

void SocketConnection::RunDeferred() {
  Entry entry(this);
  auto tasks = std::move(deferred_);
  deferred_.clear();
  // Each task may close this connection (through the natives): the rest are
  // then dropped.
  for (auto& task : tasks) {
    if (closed_by_owner_) return;
    task();
  }
}

// ---------------------------------------------------------------------------
// Reading

void SocketConnection::Read(std::function<void(ReadResult)> done) {
  on_read_ = std::move(done);
  if (state_ == State::kOpen) {
    TryRead();
  } else if (state_ == State::kFailed) {
    Deliver(ReadResult{ReadResult::kError, {}, error_});
  }
}

void SocketConnection::Deliver(ReadResult result) {
  if (!on_read_) return;
  auto done = std::move(on_read_);
  on_read_ = nullptr;
  // Nothing more is read from the socket until the next Read.
  if (state_ == State::kOpen) StopReading();
  size_t charged = result.data.size();
  if (target_.budget && charged > 0) target_.budget->Charge(charged);
  Defer([done = std::move(done), result = std::move(result), budget = target_.budget,
         charged]() mutable {
    if (budget && charged > 0) budget->Uncharge(charged);
    done(std::move(result));
  });
}

void SocketConnection::TryRead() {
  if (!on_read_) return;
  if (!pending_plain_.empty()) {
    std::string data = std::move(pending_plain_);
    pending_plain_.clear();
    if (target_.budget) target_.budget->Uncharge(data.size());
    Deliver(ReadResult{ReadResult::kData, std::move(data), {}});
    return;
  }
  if (read_eof_) {
    Deliver(ReadResult{ReadResult::kEnd, {}, {}});
    return;
  }
  if (ssl_ != nullptr) {
    ERR_clear_error();
    char* plain = ReadBuffer();
    int n = SSL_read(ssl_, plain, static_cast<int>(kChunkBytes));
    if (n > 0) {
      Deliver(ReadResult{ReadResult::kData, std::string(plain, static_cast<size_t>(n)), {}});
      return;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_ZERO_RETURN) {
      read_eof_ = true;
      Deliver(ReadResult{ReadResult::kEnd, {}, {}});
      return;
    }
    if (error != SSL_ERROR_WANT_READ) {
      std::string detail = base::TakeOpenSslError();
      Fail(NetworkError(fmt::format("reading TLS data from {} failed: {}", target_.host,
                                    detail.empty() ? "bad record" : detail)));
      return;
    }
  }
  StartReading();
}

void SocketConnection::StartReading() {
  if (reading_ || tcp_ == nullptr) return;
  int r = uv_read_start(
      reinterpret_cast<uv_stream_t*>(tcp_),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        buf->base = ReadBuffer();
        buf->len = kChunkBytes;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        static_cast<SocketConnection*>(stream->data)->OnRead(nread, buf);
      });
  if (r == 0) reading_ = true;
}

void SocketConnection::StopReading() {
  if (!reading_ || tcp_ == nullptr) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  reading_ = false;
}

void SocketConnection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  Entry entry(this);
  if (state_ == State::kFailed || state_ == State::kClosed || nread == 0) return;
  if (nread < 0) {
    if (nread != UV_EOF) {
      Fail(NetworkError(fmt::format("reading from {} failed: {}", target_.host,
                                    uv_strerror(static_cast<int>(nread)))));
      return;
    }
    StopReading();
    if (state_ == State::kHandshaking) {
      Fail(ConnectError(
          fmt::format("the TLS handshake with {} failed: the connection was closed", tls_host_)));
      return;
    }
    read_eof_ = true;
    if (on_read_) Deliver(ReadResult{ReadResult::kEnd, {}, {}});
    return;
  }
  if (ssl_ != nullptr) {
    BIO_write(rbio_, buf->base, static_cast<int>(nread));
    if (state_ == State::kHandshaking) {
      Handshake();
    } else if (on_read_) {
      TryRead();
    } else {
      StopReading();  // records wait in the BIO for the next Read
    }
    return;
  }
  if (!on_read_) {
    // Nobody asked (reading stops with each delivery, so this is at most
    // one buffer): kept for the next Read.
    StopReading();
    if (pending_plain_.size() < kChunkBytes) {
      pending_plain_.append(buf->base, static_cast<size_t>(nread));
      if (target_.budget) target_.budget->Charge(static_cast<size_t>(nread));
    }
    return;
  }
  Deliver(ReadResult{ReadResult::kData, std::string(buf->base, static_cast<size_t>(nread)), {}});
}

// ---------------------------------------------------------------------------
// Writing

void SocketConnection::Write(std::shared_ptr<void> owner, const char* data, size_t length,
                             std::function<void(const Status&)> done) {
  write_owner_ = std::move(owner);
  write_data_ = data;
  write_length_ = length;
  write_offset_ = 0;
  writing_ = true;
  on_write_ = std::move(done);
  if (state_ == State::kOpen) {
    PumpWrite();
  } else if (state_ == State::kFailed) {
    writing_ = false;
    write_owner_.reset();
    auto failed = std::move(on_write_);
    on_write_ = nullptr;
    Defer([failed = std::move(failed), error = error_] { failed(error); });
  }
}

void SocketConnection::PumpWrite() {
  if (!writing_ || state_ != State::kOpen || writes_in_flight_ > 0) {
    return;
  }
  if (write_offset_ >= write_length_) {
    MaybeCompleteWrite();
    return;
  }
  size_t slice = std::min(kChunkBytes, write_length_ - write_offset_);
  const char* at = write_data_ + write_offset_;
  write_offset_ += slice;
  if (ssl_ == nullptr) {
    SendRaw({}, at, slice);
    return;
  }
  ERR_clear_error();
  if (SSL_write(ssl_, at, static_cast<int>(slice)) <= 0) {
    std::string detail = base::TakeOpenSslError();
    Fail(NetworkError(fmt::format("writing TLS data to {} failed: {}", target_.host,
                                  detail.empty() ? "the connection was closed" : detail)));
    return;
  }
  FlushTls();
}

void SocketConnection::FlushTls() {
  if (ssl_ == nullptr) return;
  size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return;
  std::string data(pending, '\0');
  BIO_read(wbio_, data.data(), static_cast<int>(pending));
  SendRaw(std::move(data), nullptr, 0);
}

void SocketConnection::SendRaw(std::string copy, const char* data, size_t length) {
  if (tcp_ == nullptr || state_ == State::kFailed || state_ == State::kClosed) return;
  auto* request = new WriteRequest{{}, std::move(copy), this};
  if (target_.budget) target_.budget->Charge(request->copy.size());
  request->req.data = request;
  uv_buf_t buf = request->copy.empty()
                     ? uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length))
                     : uv_buf_init(request->copy.data(), static_cast<unsigned>(request->copy.size()));
  ++writes_in_flight_;
  ++libuv_pending_;
  int r = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
                   [](uv_write_t* req, int status) {
                     auto* w = static_cast<WriteRequest*>(req->data);
                     w->self->OnWriteDone(w, status);
                   });
  if (r < 0) {
    --writes_in_flight_;
    --libuv_pending_;
    if (target_.budget) target_.budget->Uncharge(request->copy.size());
    delete request;
    Fail(NetworkError(fmt::format("writing to {} failed: {}", target_.host, uv_strerror(r))));
  }
}

void SocketConnection::OnWriteDone(WriteRequest* request, int status) {
  Entry entry(this);
  if (target_.budget) target_.budget->Uncharge(request->copy.size());
  delete request;
  --writes_in_flight_;
  --libuv_pending_;
  if (state_ == State::kFailed || state_ == State::kClosed || status == UV_ECANCELED) return;
  if (status < 0) {
    Fail(NetworkError(fmt::format("writing to {} failed: {}", target_.host, uv_strerror(status))));
    return;
  }
  if (writes_in_flight_ > 0) return;
  if (writing_) {
    PumpWrite();
  } else {
    MaybeShutdown();
  }
}

void SocketConnection::MaybeCompleteWrite() {
  if (!writing_ || write_offset_ < write_length_ || writes_in_flight_ > 0) return;
  writing_ = false;
  write_owner_.reset();
  write_data_ = nullptr;
  auto done = std::move(on_write_);
  on_write_ = nullptr;
  if (done) Defer([done = std::move(done)] { done(Status::Ok()); });
  MaybeShutdown();
}

void SocketConnection::Shutdown(std::function<void(const Status&)> done) {
  on_shutdown_ = std::move(done);
  shutdown_requested_ = true;
  if (state_ == State::kFailed) {
    auto failed = std::move(on_shutdown_);
    on_shutdown_ = nullptr;
    Defer([failed = std::move(failed), error = error_] { failed(error); });
    return;
  }
  MaybeShutdown();
}

void SocketConnection::MaybeShutdown() {
  if (!shutdown_requested_ || state_ != State::kOpen || writing_ || writes_in_flight_ > 0 ||
      tcp_ == nullptr) {
    return;
  }
  if (ssl_ != nullptr && !tls_shutdown_sent_) {
    tls_shutdown_sent_ = true;
    ERR_clear_error();
    SSL_shutdown(ssl_);  // close_notify
    FlushTls();
    if (writes_in_flight_ > 0) return;  // again once the alert is on the socket
  }
  shutdown_requested_ = false;
  shutdown_req_.data = this;
  ++libuv_pending_;
  int r = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(tcp_),
                      [](uv_shutdown_t* req, int status) {
                        auto* self = static_cast<SocketConnection*>(req->data);
                        Entry entry(self);
                        --self->libuv_pending_;
                        if (self->state_ != State::kOpen || status == UV_ECANCELED) return;
                        if (status < 0) {
                          self->Fail(self->NetworkError(fmt::format(
                              "closing the write side failed: {}", uv_strerror(status))));
                          return;
                        }
                        auto done = std::move(self->on_shutdown_);
                        self->on_shutdown_ = nullptr;
                        if (done) done(Status::Ok());
                      });
  if (r < 0) {
    --libuv_pending_;
    Fail(NetworkError(fmt::format("closing the write side failed: {}", uv_strerror(r))));
  }
}

// ---------------------------------------------------------------------------
// TLS upgrade, closing

void SocketConnection::StartTls(std::string host) {
  tls_host_ = std::move(host);
  // A Read of the plaintext stream is dropped unanswered: its reader is
  // gone, and the next Read is the TLS stream's.
  on_read_ = nullptr;
  if (state_ != State::kOpen) return;
  // Not open until the handshake is done: reads, writes, WhenOpen and
  // Shutdown wait for it.
  state_ = State::kUpgrading;
  StopReading();
  // From the loop: making the TLS context may load the CA store.
  Defer([this] {
    if (state_ == State::kUpgrading) BeginTls(tls_host_);
  });
}

void SocketConnection::Close() {
  closed_by_owner_ = true;
  on_open_ = nullptr;
  on_read_ = nullptr;
  on_write_ = nullptr;
  on_shutdown_ = nullptr;
  write_owner_.reset();
  deferred_.clear();
  if (state_ != State::kFailed) state_ = State::kClosed;
  CloseHandles();
  if (defer_timer_ != nullptr) {
    ++libuv_pending_;
    uv_close(reinterpret_cast<uv_handle_t*>(defer_timer_), [](uv_handle_t* handle) {
      auto* self = static_cast<SocketConnection*>(handle->data);
      delete reinterpret_cast<uv_timer_t*>(handle);
      Entry entry(self);
      --self->libuv_pending_;
    });
    defer_timer_ = nullptr;
  }
  MaybeDestroy();
}

void SocketConnection::CloseHandles() {
  if (dns_pending_) uv_cancel(reinterpret_cast<uv_req_t*>(&dns_));
  if (tcp_ != nullptr) {
    ++libuv_pending_;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* handle) {
      auto* self = static_cast<SocketConnection*>(handle->data);
      delete reinterpret_cast<uv_tcp_t*>(handle);
      Entry entry(self);
      --self->libuv_pending_;
    });
    tcp_ = nullptr;
    reading_ = false;
  }
  if (timer_ != nullptr) {
    ++libuv_pending_;
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* handle) {
      auto* self = static_cast<SocketConnection*>(handle->data);
      delete reinterpret_cast<uv_timer_t*>(handle);
      Entry entry(self);
      --self->libuv_pending_;
    });
    timer_ = nullptr;
  }
}

void SocketConnection::MaybeDestroy() {
  if (!closed_by_owner_ || depth_ > 0 || libuv_pending_ > 0) return;
  delete this;
}

}  // namespace edge::bindings
