#include "gateway/http/testing/http_test_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

namespace edge::gateway::testing {

LoopThread::LoopThread() {
  uv_loop_init(&loop_);
  async_.data = this;
  uv_async_init(&loop_, &async_,
                [](uv_async_t* async) { static_cast<LoopThread*>(async->data)->RunTasks(); });
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
}

LoopThread::~LoopThread() { Stop(); }

void LoopThread::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void LoopThread::Stop() {
  if (!thread_.joinable()) return;
  Post([this] {
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void* arg) {
          if (handle == arg || uv_is_closing(handle)) return;
          ADD_FAILURE() << "handle left open on the loop: " << uv_handle_type_name(handle->type);
          uv_close(handle, nullptr);
        },
        &async_);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  });
  thread_.join();
  EXPECT_EQ(uv_loop_close(&loop_), 0);
}

void LoopThread::RunTasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

void RunEvery(uv_loop_t* loop, uint64_t ms, std::function<bool()> fn) {
  struct Repeat {
    uv_timer_t timer;
    uint64_t ms;
    std::function<bool()> fn;

    static void Tick(uv_timer_t* timer) {
      auto* self = static_cast<Repeat*>(timer->data);
      if (self->fn()) {
        uv_timer_start(timer, Tick, self->ms, 0);
        return;
      }
      uv_close(reinterpret_cast<uv_handle_t*>(timer),
               [](uv_handle_t* handle) { delete static_cast<Repeat*>(handle->data); });
    }
  };
  auto* repeat = new Repeat{{}, ms, std::move(fn)};
  uv_timer_init(loop, &repeat->timer);
  repeat->timer.data = repeat;
  uv_timer_start(&repeat->timer, Repeat::Tick, ms, 0);
}

std::string AsciiLower(std::string text) {
  for (char& c : text) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return text;
}

bool Response::Has(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (AsciiLower(n) == AsciiLower(name)) return true;
  }
  return false;
}

std::string Response::Header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (AsciiLower(n) == AsciiLower(name)) return v;
  }
  return "";
}

std::string TakeOpenSslErrors() {
  std::string text;
  unsigned long error;
  while ((error = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(error, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

Client::Client(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{10, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

Client::~Client() { Close(); }

void Client::Reset() {
  linger option{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  Close();
}

void Client::Close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  ssl_ = nullptr;
  ssl_ctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::StartTls(const TlsClientOptions& options) {
  ERR_clear_error();
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) return false;
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
  if (options.max_version != 0) {
    // OpenSSL 3 offers nothing older than TLS 1.2 above security level 0.
    SSL_CTX_set_security_level(ssl_ctx_, 0);
    SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ssl_ctx_, options.max_version);
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    SSL_CTX_set_alpn_protos(ssl_ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
  }
  ssl_ = SSL_new(ssl_ctx_);
  SSL_set_fd(ssl_, fd_);
  if (!options.server_name.empty()) SSL_set_tlsext_host_name(ssl_, options.server_name.c_str());
  if (SSL_connect(ssl_) != 1) {
    tls_error_ = TakeOpenSslErrors();
    return false;
  }
  return true;
}

X509* Client::PeerCertificate() const { return SSL_get0_peer_certificate(ssl_); }

std::string Client::PeerCommonName() const {
  char name[256] = {};
  X509* certificate = PeerCertificate();
  if (certificate == nullptr) return "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof name);
  return name;
}

std::string Client::Alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

bool Client::ReceivedCloseNotify() const {
  return ssl_ != nullptr && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
}

bool Client::Send(std::string_view data) {
  if (ssl_ != nullptr) {
    size_t written = 0;
    return data.empty() || SSL_write_ex(ssl_, data.data(), data.size(), &written) == 1;
  }
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<Response> Client::Read(bool head_request) {
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) return std::nullopt;
  }
  Response r;
  r.head = buf_.substr(0, end + 4);
  buf_.erase(0, end + 4);
  size_t line_end = r.head.find("\r\n");
  std::string status_line = r.head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  r.status = std::stoi(status_line.substr(9, 3));
  size_t pos = line_end + 2;
  while (pos + 2 < r.head.size()) {
    size_t eol = r.head.find("\r\n", pos);
    std::string line = r.head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers.emplace_back(line.substr(0, colon), value);
    pos = eol + 2;
  }
  if (head_request || r.status < 200 || r.status == 204 || r.status == 304) return r;
  if (AsciiLower(r.Header("Transfer-Encoding")) == "chunked") {
    r.chunked = true;
    while (true) {
      std::optional<std::string> line = ReadLine();
      if (!line) return std::nullopt;
      size_t size = std::stoul(*line, nullptr, 16);
      if (size == 0) {
        std::optional<std::string> last = ReadLine();
        if (!last || !last->empty()) return std::nullopt;
        break;
      }
      if (!ReadBytes(size, &r.body)) return std::nullopt;
      std::optional<std::string> crlf = ReadLine();
      if (!crlf || !crlf->empty()) return std::nullopt;
    }
  } else if (r.Has("Content-Length")) {
    if (!ReadBytes(std::stoul(r.Header("Content-Length")), &r.body)) return std::nullopt;
  } else {
    while (Fill()) {
    }
    r.body = std::move(buf_);
    buf_.clear();
  }
  return r;
}

std::optional<Response> Client::Exchange(std::string_view request, bool head_request) {
  if (!Send(request)) return std::nullopt;
  return Read(head_request);
}

bool Client::WaitForClose(std::string* rest) {
  if (rest != nullptr) *rest = buf_;
  buf_.clear();
  char data[65536];
  while (ssl_ != nullptr) {
    size_t n = 0;
    int r = SSL_read_ex(ssl_, data, sizeof data, &n);
    if (r == 1) {
      if (rest != nullptr) rest->append(data, n);
      continue;
    }
    int error = SSL_get_error(ssl_, r);
    ERR_clear_error();
    // Want-read is the receive timeout; anything else is the end (close_notify,
    // an end of file without it, a reset).
    return error != SSL_ERROR_WANT_READ;
  }
  while (true) {
    ssize_t n = recv(fd_, data, sizeof data, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    if (rest != nullptr) rest->append(data, static_cast<size_t>(n));
  }
}

bool Client::ReadUntil(std::string_view text) {
  while (buf_.find(text) == std::string::npos) {
    if (!Fill()) return false;
  }
  return true;
}

bool Client::Fill() {
  char data[65536];
  if (ssl_ != nullptr) {
    size_t n = 0;
    if (SSL_read_ex(ssl_, data, sizeof data, &n) != 1) {
      ERR_clear_error();
      return false;
    }
    buf_.append(data, n);
    return true;
  }
  ssize_t n = recv(fd_, data, sizeof data, 0);
  if (n <= 0) return false;
  buf_.append(data, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> Client::ReadLine() {
  size_t eol;
  while ((eol = buf_.find("\r\n")) == std::string::npos) {
    if (!Fill()) return std::nullopt;
  }
  std::string line = buf_.substr(0, eol);
  buf_.erase(0, eol + 2);
  return line;
}

bool Client::ReadBytes(size_t n, std::string* out) {
  while (buf_.size() < n) {
    if (!Fill()) return false;
  }
  out->append(buf_, 0, n);
  buf_.erase(0, n);
  return true;
}

std::string RequestText(std::string_view method, std::string_view target, std::string_view host,
                        std::string_view body, const HeaderList& headers) {
  std::string text = std::string(method) + " " + std::string(target) +
                     " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "PUT" || method == "POST") {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n";
  text += body;
  return text;
}

std::optional<Response> RoundTrip(int port, std::string_view request) {
  Client client(port);
  if (!client.connected()) return std::nullopt;
  return client.Exchange(request);
}

}  // namespace edge::gateway::testing
