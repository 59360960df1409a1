#include "base/http_client/http_client.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <llhttp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/ascii.h"
#include "base/http_client/tls_client.h"
#include "base/http_text.h"
#include "base/openssl_error.h"
#include "base/signals.h"
#include "base/token_file.h"

namespace edge::base {
namespace {

using Clock = std::chrono::steady_clock;

// Bounds on the head of what a node may send back (a body is bounded by
// HttpTarget::max_response_bytes, a stream's per line).
constexpr size_t kMaxHeaderBytes = 256u << 10;
constexpr int kStopPollMs = 200;
constexpr char kUserAgent[] = "edge/0.1.0";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool IsIpLiteral(const std::string& host) {
  in6_addr v6;
  in_addr v4;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 || inet_pton(AF_INET, host.c_str(), &v4) == 1;
}

std::string Seconds(int ms) { return fmt::format("{:g} s", ms / 1000.0); }

std::string TrimTrailingSpace(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.pop_back();
  }
  return text;
}

Status CheckToken(std::string_view token, std::string_view source) {
  if (token.empty()) {
    return Status(ErrorCode::kInvalidInput,
                  "no admin token: pass --token-file FILE or set EDGE_API_TOKEN");
  }
  if (!IsVisibleAscii(token)) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the token from {} contains a space, a control character or a "
                              "non-ASCII byte; a token is one line of printable ASCII",
                              source));
  }
  return Status::Ok();
}

// An extra header field of HttpTarget::headers: a token name the client
// does not set itself, and a value that cannot end the line.
Status CheckExtraHeader(std::string_view name, std::string_view value) {
  if (!IsToken(name) || !IsPrintableFieldValue(value)) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the header \"{}\" cannot be sent: a name must be a token and a "
                              "value printable ASCII",
                              name));
  }
  for (std::string_view reserved : {"Host", "Authorization", "Accept", "Connection",
                                    "Content-Length", "Content-Type", "Transfer-Encoding"}) {
    if (EqualsIgnoreCase(name, reserved)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("the header {} is set by the client itself", reserved));
    }
  }
  return Status::Ok();
}

// The `error` string of a JSON error body, or "".
std::string ServerErrorText(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS) return {};
  std::string_view error;
  if (root["error"].get_string().get(error) != simdjson::SUCCESS) return {};
  return std::string(error);
}

// The start of a body that is not the JSON we expected, for a message.
std::string BodySnippet(std::string_view body) {
  size_t end = std::min(body.find_first_of("\r\n"), size_t{200});
  std::string snippet(body.substr(0, std::min(end, body.size())));
  for (char& c : snippet) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!snippet.empty() && snippet.back() == ' ') snippet.pop_back();
  if (snippet.size() < body.size() && !snippet.empty()) snippet += "...";
  return snippet;
}

Status CancelledStatus(const HttpUrl& url) {
  return Status(ErrorCode::kIo, fmt::format("the request to {} was cancelled", url.Authority()));
}

// One TCP (and maybe TLS) connection with non-blocking I/O and timeouts.
class Connection {
 public:
  Connection(const HttpUrl& url, const HttpTarget& target, const std::function<bool()>* stop)
      : url_(url), target_(target), stop_(stop), cancel_(target.cancel.get()) {}
  ~Connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Connect();
  Status WriteAll(std::string_view data);
  // Bytes read into `buffer`; 0 at the end of the stream.
  StatusOr<size_t> Read(char* buffer, size_t size);

  // Whether a call ended because stop_requested said so.
  bool stopped() const { return stopped_; }
  // Whether a call ended because the target's CancelToken was cancelled.
  bool cancelled() const { return cancel_ != nullptr && cancel_->cancelled(); }
  // Whether the last error was a timeout.
  bool timed_out() const { return timed_out_; }

 private:
  enum class Wait { kReady, kTimeout, kStopped, kCancelled, kError };
  Wait WaitFor(short events, int timeout_ms);
  Status Handshake();
  Status Stopped() {
    stopped_ = true;
    return Status(ErrorCode::kIo, "stopped");
  }
  Status Cancelled() const { return CancelledStatus(url_); }

  const HttpUrl& url_;
  const HttpTarget& target_;
  const std::function<bool()>* stop_;
  const CancelToken* cancel_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool stopped_ = false;
  bool timed_out_ = false;
};

Connection::Wait Connection::WaitFor(short events, int timeout_ms) {
  const bool has_stop = stop_ != nullptr && *stop_;
  // Without a wake descriptor the cancel flag is polled like stop_requested.
  const int wake_fd = cancel_ != nullptr ? cancel_->wake_fd() : -1;
  const bool poll_flags = has_stop || (cancel_ != nullptr && wake_fd < 0);
  const bool forever = timeout_ms <= 0;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cancelled()) return Wait::kCancelled;
    if (has_stop && (*stop_)()) return Wait::kStopped;
    int slice = -1;
    if (!forever) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Wait::kTimeout;
      slice = static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
    }
    if (poll_flags) slice = slice < 0 ? kStopPollMs : std::min(slice, kStopPollMs);
    pollfd entries[2] = {{fd_, events, 0}, {wake_fd, POLLIN, 0}};
    int ready = poll(entries, wake_fd >= 0 ? 2 : 1, slice);
    if (ready > 0 && entries[1].revents != 0) return Wait::kCancelled;
    // POLLERR and POLLHUP count as ready: the next call reports them.
    if (ready > 0) return Wait::kReady;
    if (ready < 0 && errno != EINTR) return Wait::kError;
  }
}

Status Connection::Connect() {
  if (cancelled()) return Cancelled();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  std::string port = std::to_string(url_.port);
  // TODO(sync): name resolution cannot be cancelled; the resolver's own timeouts bound it.
  int rc = getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &addresses);
  if (cancelled()) {
    if (rc == 0) freeaddrinfo(addresses);
    return Cancelled();
  }
  if (rc != 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("cannot resolve {}: {}", url_.host,
                              rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    int fd = socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    address->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int error = 0;
    if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        fd_ = fd;
        Wait waited = WaitFor(POLLOUT, target_.connect_timeout_ms);
        fd_ = -1;
        if (waited == Wait::kStopped || waited == Wait::kCancelled) {
          close(fd);
          freeaddrinfo(addresses);
          return waited == Wait::kStopped ? Stopped() : Cancelled();
        }
        if (waited == Wait::kReady) {
          socklen_t length = sizeof error;
          if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        } else if (waited == Wait::kTimeout) {
          error = ETIMEDOUT;
        } else {
          error = errno;
        }
      }
    }
    if (error == 0) {
      fd_ = fd;
      break;
    }
    last_error = error == ETIMEDOUT
                     ? fmt::format("no answer within {}", Seconds(target_.connect_timeout_ms))
                     : std::strerror(error);
    close(fd);
  }
  freeaddrinfo(addresses);
  if (fd_ < 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("cannot connect to {}: {}", url_.Authority(), last_error));
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return url_.tls ? Handshake() : Status::Ok();
}

Status Connection::Handshake() {
  StatusOr<SSL_CTX*> ctx = NewClientTlsContext();
  if (!ctx.ok()) return ctx.status();
  ctx_ = *ctx;
  // A node that closes without close_notify ends the body as a plain close
  // would; Content-Length and chunked bodies are checked by the parser.
  SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  ssl_ = SSL_new(ctx_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
    return Status(ErrorCode::kInternal, "cannot set up TLS: " + TakeOpenSslError());
  }
  if (IsIpLiteral(url_.host)) {
    // No SNI for an address; the certificate must name the IP.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), url_.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, url_.host.c_str());
    SSL_set1_host(ssl_, url_.host.c_str());
  }
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_connect(ssl_);
    if (result == 1) return Status::Ok();
    int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      Wait waited = WaitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, target_.io_timeout_ms);
      if (waited == Wait::kReady) continue;
      if (waited == Wait::kStopped) return Stopped();
      if (waited == Wait::kCancelled) return Cancelled();
      timed_out_ = waited == Wait::kTimeout;
      return Status(ErrorCode::kIo,
                    fmt::format("TLS handshake with {} failed: {}", url_.Authority(),
                                timed_out_ ? "no answer within " + Seconds(target_.io_timeout_ms)
                                           : std::string(std::strerror(errno))));
    }
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      return Status(ErrorCode::kIo, VerifyErrorMessage(verify, url_.host));
    }
    int saved_errno = errno;
    // A plain HTTP answer read as a TLS record has a bad version or length:
    // told by OpenSSL's reason code (the one TakeOpenSslError describes).
    unsigned long first_error = ERR_peek_error();
    bool plain_http_reply = ERR_GET_LIB(first_error) == ERR_LIB_SSL &&
                            (ERR_GET_REASON(first_error) == SSL_R_WRONG_VERSION_NUMBER ||
                             ERR_GET_REASON(first_error) == SSL_R_PACKET_LENGTH_TOO_LONG);
    std::string why = TakeOpenSslError();
    if (why.empty()) {
      why = saved_errno != 0 ? std::strerror(saved_errno) : "the node closed the connection";
    }
    if (plain_http_reply) {
      why += " (does the node serve plain HTTP there? then use an http:// URL)";
    }
    return Status(ErrorCode::kIo,
                  fmt::format("TLS handshake with {} failed: {}", url_.Authority(), why));
  }
}

Status Connection::WriteAll(std::string_view data) {
  while (!data.empty()) {
    short wait_for = POLLOUT;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      errno = 0;
      size_t written = 0;
      if (SSL_write_ex(ssl_, data.data(), data.size(), &written) == 1) {
        data.remove_prefix(written);
        continue;
      }
      int error = SSL_get_error(ssl_, 0);
      if (error == SSL_ERROR_WANT_READ) {
        wait_for = POLLIN;
      } else if (error != SSL_ERROR_WANT_WRITE) {
        int saved_errno = errno;
        std::string why = TakeOpenSslError();
        if (why.empty()) why = std::strerror(saved_errno != 0 ? saved_errno : EPIPE);
        return Status(ErrorCode::kIo, fmt::format("cannot send to {}: {}", url_.Authority(), why));
      }
    } else {
      ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent >= 0) {
        data.remove_prefix(static_cast<size_t>(sent));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Status(ErrorCode::kIo,
                      fmt::format("cannot send to {}: {}", url_.Authority(), std::strerror(errno)));
      }
    }
    Wait waited = WaitFor(wait_for, target_.io_timeout_ms);
    if (waited == Wait::kReady) continue;
    if (waited == Wait::kStopped) return Stopped();
    if (waited == Wait::kCancelled) return Cancelled();
    timed_out_ = waited == Wait::kTimeout;
    return Status(
        ErrorCode::kIo,
        timed_out_ ? fmt::format("the node at {} stopped reading the request (no "
                                 "progress for {})",
                                 url_.Authority(), Seconds(target_.io_timeout_ms))
                   : fmt::format("cannot send to {}: {}", url_.Authority(), std::strerror(errno)));
  }
  return Status::Ok();
}

StatusOr<size_t> Connection::Read(char* buffer, size_t size) {
  for (;;) {
    short wait_for = POLLIN;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      errno = 0;
      size_t read = 0;
      if (SSL_read_ex(ssl_, buffer, size, &read) == 1) return read;
      int error = SSL_get_error(ssl_, 0);
      if (error == SSL_ERROR_ZERO_RETURN) return size_t{0};
      if (error == SSL_ERROR_WANT_WRITE) {
        wait_for = POLLOUT;
      } else if (error != SSL_ERROR_WANT_READ) {
        int saved_errno = errno;
        std::string why = TakeOpenSslError();
        if (why.empty() && saved_errno == 0) return size_t{0};  // EOF without close_notify
        if (why.empty()) why = std::strerror(saved_errno);
        return Status(ErrorCode::kIo,
                      fmt::format("cannot read from {}: {}", url_.Authority(), why));
      }
    } else {
      ssize_t received = recv(fd_, buffer, size, 0);
      if (received >= 0) return static_cast<size_t>(received);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Status(ErrorCode::kIo, fmt::format("cannot read from {}: {}", url_.Authority(),
                                                  std::strerror(errno)));
      }
    }
    Wait waited = WaitFor(wait_for, target_.io_timeout_ms);
    if (waited == Wait::kReady) continue;
    if (waited == Wait::kStopped) return Stopped();
    if (waited == Wait::kCancelled) return Cancelled();
    timed_out_ = waited == Wait::kTimeout;
    return Status(ErrorCode::kIo, timed_out_
                                      ? fmt::format("no answer from {} within {}", url_.Authority(),
                                                    Seconds(target_.io_timeout_ms))
                                      : fmt::format("cannot read from {}: {}", url_.Authority(),
                                                    std::strerror(errno)));
  }
}

// The response side of one exchange, parsed by llhttp as it arrives.
class ResponseParser {
 public:
  // Where a 2xx body goes when streaming; false stops the exchange.
  using BodySink = std::function<bool(std::string_view)>;

  ResponseParser(BodySink sink, std::function<void()> on_connected, size_t max_body_bytes)
      : sink_(std::move(sink)),
        on_connected_(std::move(on_connected)),
        max_body_bytes_(max_body_bytes) {
    llhttp_init(&parser_, HTTP_RESPONSE, &Settings());
    parser_.data = this;
  }

  Status Feed(std::string_view bytes, const std::string& authority) {
    received_any_ = true;
    llhttp_errno_t error = llhttp_execute(&parser_, bytes.data(), bytes.size());
    if (error == HPE_OK || complete_ || stopped_) return Status::Ok();
    if (!error_.empty()) return Status(ErrorCode::kIo, error_);
    if (error == HPE_PAUSED_UPGRADE) {
      return Status(ErrorCode::kIo,
                    fmt::format("the node at {} switched protocols (101)", authority));
    }
    return Status(ErrorCode::kIo, fmt::format("the answer from {} is not valid HTTP/1.1: {}",
                                              authority, llhttp_get_error_reason(&parser_)));
  }

  // At the end of the connection.
  Status Finish(const std::string& authority) {
    if (complete_ || stopped_) return Status::Ok();
    if (!received_any_) {
      return Status(
          ErrorCode::kIo,
          fmt::format("the node at {} closed the connection without answering", authority));
    }
    // A close-delimited body ends here (on_message_complete pauses the
    // parser, so llhttp_finish may say HPE_PAUSED: complete_ is what counts).
    llhttp_finish(&parser_);
    if (complete_) return Status::Ok();
    return Status(
        ErrorCode::kIo,
        fmt::format("the connection to {} closed before the answer was complete", authority));
  }

  bool headers_complete() const { return headers_complete_; }
  bool complete() const { return complete_; }
  bool stopped() const { return stopped_; }
  bool streaming() const { return streaming_; }
  HttpResponse& response() { return response_; }

 private:
  static const llhttp_settings_t& Settings() {
    static const llhttp_settings_t settings = [] {
      llhttp_settings_t s;
      llhttp_settings_init(&s);
      s.on_message_begin = OnMessageBegin;
      s.on_header_field = OnHeaderField;
      s.on_header_value = OnHeaderValue;
      s.on_header_value_complete = OnHeaderValueComplete;
      s.on_headers_complete = OnHeadersComplete;
      s.on_body = OnBody;
      s.on_message_complete = OnMessageComplete;
      return s;
    }();
    return settings;
  }
  static ResponseParser* Self(llhttp_t* parser) {
    return static_cast<ResponseParser*>(parser->data);
  }

  // Counts header bytes; false (and an error) past the limit.
  bool CountHeaderBytes(size_t length) {
    header_bytes_ += length;
    if (header_bytes_ <= kMaxHeaderBytes) return true;
    error_ =
        fmt::format("the node's answer has more than {} KiB of headers", kMaxHeaderBytes >> 10);
    return false;
  }

  static int OnMessageBegin(llhttp_t* parser) {
    ResponseParser* self = Self(parser);
    self->response_.headers.clear();
    self->field_.clear();
    self->value_.clear();
    return 0;
  }
  static int OnHeaderField(llhttp_t* parser, const char* at, size_t length) {
    ResponseParser* self = Self(parser);
    if (!self->CountHeaderBytes(length)) return HPE_USER;
    self->field_.append(at, length);
    return 0;
  }
  static int OnHeaderValue(llhttp_t* parser, const char* at, size_t length) {
    ResponseParser* self = Self(parser);
    if (!self->CountHeaderBytes(length)) return HPE_USER;
    self->value_.append(at, length);
    return 0;
  }
  static int OnHeaderValueComplete(llhttp_t* parser) {
    ResponseParser* self = Self(parser);
    self->response_.headers.emplace_back(std::move(self->field_), std::move(self->value_));
    self->field_.clear();
    self->value_.clear();
    return 0;
  }
  static int OnHeadersComplete(llhttp_t* parser) {
    ResponseParser* self = Self(parser);
    int status = parser->status_code;
    if (status >= 100 && status < 200 && status != 101) return 0;  // interim: wait for the real one
    self->response_.status = status;
    self->headers_complete_ = true;
    if (self->sink_ && status >= 200 && status < 300) {
      self->streaming_ = true;
      if (self->on_connected_) self->on_connected_();
    }
    return 0;
  }
  static int OnBody(llhttp_t* parser, const char* at, size_t length) {
    ResponseParser* self = Self(parser);
    if (self->streaming_) {
      if (self->sink_(std::string_view(at, length))) return 0;
      self->stopped_ = true;
      return HPE_USER;
    }
    if (self->response_.body.size() + length > self->max_body_bytes_) {
      self->error_ =
          self->max_body_bytes_ >= (1u << 20)
              ? fmt::format("the node's answer is larger than {} MiB", self->max_body_bytes_ >> 20)
              : fmt::format("the node's answer is larger than {} bytes", self->max_body_bytes_);
      return HPE_USER;
    }
    self->response_.body.append(at, length);
    return 0;
  }
  static int OnMessageComplete(llhttp_t* parser) {
    ResponseParser* self = Self(parser);
    if (!self->headers_complete_) return 0;  // an interim 1xx answer ended
    self->complete_ = true;
    // Anything after the answer is ignored (the connection is not reused).
    return HPE_PAUSED;
  }

  llhttp_t parser_;
  BodySink sink_;
  std::function<void()> on_connected_;
  size_t max_body_bytes_;
  HttpResponse response_;
  std::string field_, value_;
  size_t header_bytes_ = 0;
  std::string error_;
  bool received_any_ = false;
  bool headers_complete_ = false;
  bool streaming_ = false;
  bool complete_ = false;
  bool stopped_ = false;
};

// Sends one request and feeds the answer to `parser` until it is complete,
// the connection ends, or `stop` says so (then Ok with an incomplete parser).
Status Exchange(const HttpTarget& target, std::string_view method, std::string_view path,
                std::string_view body, std::string_view content_type, std::string_view accept,
                ResponseParser& parser, const std::function<bool()>* stop,
                const BodySource* source = nullptr) {
  IgnoreSigpipe();
  StatusOr<HttpUrl> url = ParseHttpUrl(target.url);
  if (!url.ok()) return url.status();
  if (!target.token.empty()) EDGE_RETURN_IF_ERROR(CheckToken(target.token, "the caller"));
  if (path.empty() || path.front() != '/' || !IsVisibleAscii(path)) {
    return Status(ErrorCode::kInternal,
                  fmt::format("bad request path \"{}\": it must start with / and be "
                              "percent-encoded",
                              path));
  }
  std::string head =
      fmt::format("{} {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: {}\r\n", method,
                  url->base_path, path, url->HostHeader(), kUserAgent, accept);
  if (!target.token.empty()) head += fmt::format("Authorization: Bearer {}\r\n", target.token);
  head += "Connection: close\r\n";
  for (const auto& [name, value] : target.headers) {
    EDGE_RETURN_IF_ERROR(CheckExtraHeader(name, value));
    head += fmt::format("{}: {}\r\n", name, value);
  }
  if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
  if (source != nullptr) {
    head += fmt::format("Content-Length: {}\r\n", source->length);
  } else if (!body.empty() || (method != "GET" && method != "HEAD")) {
    head += fmt::format("Content-Length: {}\r\n", body.size());
  }
  head += "\r\n";

  Connection connection(*url, target, stop);
  Status status = connection.Connect();
  if (connection.stopped()) return Status::Ok();
  if (!status.ok()) return status;
  // Small bodies go out with the head, in one write.
  if (body.size() <= 16384) {
    head.append(body);
    body = {};
  }
  Status sent = connection.WriteAll(head);
  if (sent.ok() && !body.empty()) sent = connection.WriteAll(body);
  if (sent.ok() && source != nullptr) {
    std::string chunk(size_t{256} << 10, '\0');
    for (uint64_t left = source->length; left > 0 && sent.ok();) {
      StatusOr<size_t> got = source->read(chunk.data(), static_cast<size_t>(std::min<uint64_t>(left, chunk.size())));
      if (!got.ok()) return got.status();
      if (*got == 0) return Status(ErrorCode::kIo, "the body being sent ended early");
      left -= *got;
      sent = connection.WriteAll(std::string_view(chunk.data(), *got));
    }
  }
  if (connection.stopped()) return Status::Ok();
  if (!sent.ok() && connection.cancelled()) return sent;
  // A node may answer (and close) before it read the whole request, say
  // with 401 or 413: its answer is worth more than our write error.
  if (!sent.ok() && connection.timed_out()) return sent;

  char buffer[16384];
  for (;;) {
    StatusOr<size_t> read = connection.Read(buffer, sizeof buffer);
    if (connection.stopped()) return Status::Ok();
    if (!read.ok()) return sent.ok() ? read.status() : sent;
    if (*read == 0) {
      Status finished = parser.Finish(url->Authority());
      return finished.ok() || sent.ok() ? finished : sent;
    }
    EDGE_RETURN_IF_ERROR(parser.Feed(std::string_view(buffer, *read), url->Authority()));
    if (parser.complete() || parser.stopped()) return Status::Ok();
  }
}

}  // namespace

CancelToken::CancelToken() : wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

CancelToken::~CancelToken() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

void CancelToken::Cancel() {
  if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    // The counter stays above zero, so every later poll sees it readable.
    [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof one);
  }
}

std::string HttpUrl::Authority() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

std::string HttpUrl::HostHeader() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  auto bad = [url](std::string_view why) {
    return Status(ErrorCode::kInvalidInput, fmt::format("\"{}\" is not a node URL: {}", url, why));
  };
  if (url.empty()) return bad("it is empty");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return bad("it contains a space or a control character");
    }
  }
  HttpUrl out;
  size_t scheme_end = url.find("://");
  std::string_view scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
  if (EqualsIgnoreCase(scheme, "http")) {
    out.port = 80;
  } else if (EqualsIgnoreCase(scheme, "https")) {
    out.tls = true;
    out.port = 443;
  } else {
    return bad("write it as http://HOST:PORT or https://HOST");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("a query or a fragment is not allowed");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad("user info is not allowed (pass the token with --token-file)");
  }
  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its closing ]");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      has_port = true;
      port = after.substr(1);
    }
    in6_addr address;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &address) != 1) {
      return bad(fmt::format("\"{}\" is not an IPv6 address", host));
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return bad("an IPv6 address must be written in brackets, as http://[::1]:9001");
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    for (char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
        return bad(fmt::format("the host \"{}\" has a character a host name cannot have", host));
      }
    }
  }
  if (host.empty()) return bad("it names no host");
  if (has_port) {
    unsigned long value = 0;
    bool digits = !port.empty() && port.size() <= 5 &&
                  std::all_of(port.begin(), port.end(),
                              [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (digits) value = std::stoul(std::string(port));
    if (!digits || value == 0 || value > 65535) {
      return bad(fmt::format("\"{}\" is not a port (1 to 65535)", port));
    }
    out.port = static_cast<uint16_t>(value);
  }
  out.host = AsciiLower(host);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.base_path = std::string(path);
  return out;
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (EqualsIgnoreCase(field, name)) return value;
  }
  return {};
}

StatusOr<HttpResponse> Request(const HttpTarget& target, std::string_view method,
                               std::string_view path, std::string_view body,
                               std::string_view content_type) {
  ResponseParser parser(nullptr, nullptr, target.max_response_bytes);
  EDGE_RETURN_IF_ERROR(
      Exchange(target, method, path, body, content_type, "application/json", parser, nullptr));
  return std::move(parser.response());
}

StatusOr<HttpResponse> Transfer(const HttpTarget& target, std::string_view method,
                                std::string_view path, const BodySource* source,
                                std::string_view content_type,
                                const std::function<bool(std::string_view)>& on_body) {
  ResponseParser parser(on_body, nullptr, target.max_response_bytes);
  EDGE_RETURN_IF_ERROR(Exchange(target, method, path, {}, content_type, "*/*", parser, nullptr, source));
  if (!parser.headers_complete()) {
    return Status(ErrorCode::kIo, "the node closed the connection without answering");
  }
  return std::move(parser.response());
}

Status ResponseError(const HttpResponse& response) {
  int status = response.status;
  if (status >= 200 && status < 300) return Status::Ok();
  std::string error = ServerErrorText(response.body);
  ErrorCode code = status >= 400 && status < 500 ? ErrorCode::kInvalidInput : ErrorCode::kIo;
  if (status == 401) {
    return Status(code, "the node asked for a token (401)" + (error.empty() ? "" : ": " + error) +
                            "; if a proxy stands in front of it, check that it passes the "
                            "Authorization header on");
  }
  if (status == 403) {
    // A wrong token, or a right one (an account's) asking for what it may
    // not have: then the node says what.
    if (error.empty() || error == "the token is not valid") {
      return Status(code, "the node refused the token (403)");
    }
    return Status(code, "the node refused (403): " + error);
  }
  if (!error.empty()) return Status(code, error);
  std::string reason(ReasonPhrase(status));
  std::string snippet = BodySnippet(response.body);
  return Status(code,
                fmt::format("the node answered {}{}{}", status, reason.empty() ? "" : " " + reason,
                            snippet.empty() ? "" : ": " + snippet));
}

Status Stream(const HttpTarget& target, std::string_view path,
              const std::function<bool(std::string_view line)>& on_line,
              const StreamOptions& options) {
  LineSplitter splitter(options.max_line_bytes);
  ResponseParser parser([&](std::string_view bytes) { return splitter.Feed(bytes, on_line); },
                        options.on_connected, target.max_response_bytes);
  const std::function<bool()>* stop = options.stop_requested ? &options.stop_requested : nullptr;
  Status status = Exchange(target, "GET", path, {}, {}, "application/x-ndjson", parser, stop);
  if (splitter.overflowed()) {
    return Status(ErrorCode::kIo, fmt::format("a line of the stream is longer than {} bytes",
                                              options.max_line_bytes));
  }
  if (!status.ok()) return status;
  if (!parser.headers_complete() || parser.stopped()) return Status::Ok();
  if (!parser.streaming()) {
    if (options.refusal != nullptr) *options.refusal = parser.response();
    return ResponseError(parser.response());
  }
  if (parser.complete()) {
    splitter.Finish(on_line);
  }
  return Status::Ok();
}

bool LineSplitter::Feed(std::string_view bytes,
                        const std::function<bool(std::string_view)>& on_line) {
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      if (pending_.size() + bytes.size() > max_line_bytes_) {
        overflowed_ = true;
        return false;
      }
      pending_.append(bytes);
      return true;
    }
    std::string_view piece = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    std::string_view line;
    if (pending_.empty()) {
      line = piece;
    } else {
      pending_.append(piece);
      line = pending_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line_bytes_) {
      overflowed_ = true;
      return false;
    }
    bool go_on = on_line(line);
    pending_.clear();
    if (!go_on) return false;
  }
  return true;
}

bool LineSplitter::Finish(const std::function<bool(std::string_view)>& on_line) {
  if (pending_.empty()) return true;
  std::string line = std::move(pending_);
  pending_.clear();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return on_line(line);
}

StatusOr<std::string> ResolveToken(const std::string& token_file) {
  if (!token_file.empty()) return ReadTokenFile(token_file);
  const char* env = std::getenv("EDGE_API_TOKEN");
  std::string token = TrimTrailingSpace(env != nullptr ? env : "");
  if (token.empty()) {
    return Status(ErrorCode::kInvalidInput,
                  "no admin token: pass --token-file FILE or set EDGE_API_TOKEN");
  }
  EDGE_RETURN_IF_ERROR(CheckToken(token, "EDGE_API_TOKEN"));
  return token;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (IsUnreserved(byte)) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace edge::base
