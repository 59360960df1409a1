#include "base/http_client/testing/test_server.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace edge::base::testing {

std::string ServerRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

bool ServerRequest::HasHeader(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
}

ServerConnection::~ServerConnection() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  close(fd_);
}

void ServerConnection::Shutdown() { shutdown(fd_, SHUT_RDWR); }

bool ServerConnection::Fill() {
  char data[16384];
  ssize_t n;
  if (ssl_ != nullptr) {
    n = SSL_read(ssl_, data, sizeof data);
  } else {
    n = recv(fd_, data, sizeof data, 0);
  }
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(data, static_cast<size_t>(n));
  return true;
}

bool ServerConnection::ReadLine(std::string* line) {
  for (;;) {
    size_t end = buffer_.find("\r\n");
    if (end != std::string::npos) {
      *line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return true;
    }
    if (!Fill()) return false;
  }
}

bool ServerConnection::ReadExact(size_t n, std::string* out) {
  while (buffer_.size() < n) {
    if (!Fill()) return false;
  }
  out->append(buffer_, 0, n);
  buffer_.erase(0, n);
  return true;
}

bool ServerConnection::ReadHead(ServerRequest* request) {
  *request = ServerRequest{};
  std::string line;
  if (!ReadLine(&line)) return false;
  size_t a = line.find(' '), b = line.rfind(' ');
  if (a == std::string::npos || a == b) return false;
  request->method = line.substr(0, a);
  request->target = line.substr(a + 1, b - a - 1);
  for (;;) {
    if (!ReadLine(&line)) return false;
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    request->headers.emplace_back(line.substr(0, colon), value);
  }
  remaining_ = 0;
  in_chunks_ = false;
  body_done_ = false;
  std::string te = request->Header("transfer-encoding");
  if (strcasecmp(te.c_str(), "chunked") == 0) {
    request->chunked = true;
    in_chunks_ = true;
  } else if (request->HasHeader("content-length")) {
    remaining_ = std::strtoull(request->Header("content-length").c_str(), nullptr, 10);
    body_done_ = remaining_ == 0;
  } else {
    body_done_ = true;
  }
  return true;
}

bool ServerConnection::ReadBodyPiece(ServerRequest& request, std::string* piece) {
  piece->clear();
  if (body_done_) return false;
  if (!in_chunks_) {
    if (buffer_.empty() && !Fill()) return false;
    size_t n = std::min<uint64_t>(remaining_, buffer_.size());
    piece->assign(buffer_, 0, n);
    buffer_.erase(0, n);
    remaining_ -= n;
    if (remaining_ == 0) body_done_ = true;
    return true;
  }
  std::string line;
  if (!ReadLine(&line)) return false;
  uint64_t size = std::strtoull(line.c_str(), nullptr, 16);
  if (size == 0) {
    // Trailers, then the blank line.
    while (ReadLine(&line) && !line.empty()) {
    }
    body_done_ = true;
    return false;
  }
  if (!ReadExact(size, piece)) return false;
  std::string crlf;
  ReadExact(2, &crlf);
  return true;
}

bool ServerConnection::ReadRequest(ServerRequest* request) {
  if (!ReadHead(request)) return false;
  std::string piece;
  while (ReadBodyPiece(*request, &piece)) request->body += piece;
  return !closed_ || body_done_;
}

bool ServerConnection::Write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    } else {
      n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ServerConnection::Respond(int status,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view body, std::string_view reason) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason);
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    if (strcasecmp(name.c_str(), "content-length") == 0 ||
        strcasecmp(name.c_str(), "transfer-encoding") == 0) {
      has_length = true;
    }
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (!has_length) out += fmt::format("Content-Length: {}\r\n", body.size());
  out += "\r\n";
  out.append(body);
  return Write(out);
}

// ---------------------------------------------------------------------------

TestServer::TestServer(Handler handler, const Tls* tls) : handler_(std::move(handler)) {
  signal(SIGPIPE, SIG_IGN);
  if (tls != nullptr) {
    tls_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(tls_, tls->cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      fprintf(stderr, "test server: cannot load %s\n", tls->cert_file.c_str());
    }
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listen_fd_, 1024);
  socklen_t length = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestServer::~TestServer() {
  stopping_ = true;
  accept_thread_.join();
  close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (ServerConnection* connection : connections_) connection->Shutdown();
  }
  for (auto& thread : threads_) thread.join();
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

void TestServer::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    accepted_++;
    int open = ++open_;
    int max = max_open_.load();
    while (open > max && !max_open_.compare_exchange_weak(max, open)) {
    }
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, fd] {
      SSL* ssl = nullptr;
      if (tls_ != nullptr) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
          ERR_clear_error();
          SSL_free(ssl);
          close(fd);
          --open_;
          return;
        }
      }
      auto connection = std::make_unique<ServerConnection>(fd, ssl);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) connection->Shutdown();
        connections_.push_back(connection.get());
      }
      handler_(*connection);
      {
        std::lock_guard<std::mutex> lock(mu_);
        connections_.erase(std::find(connections_.begin(), connections_.end(), connection.get()));
      }
      connection.reset();
      --open_;
    });
  }
}

TestServer::Handler TestServer::EachRequest(
    std::function<void(ServerConnection&, const ServerRequest&)> respond) {
  return [respond](ServerConnection& connection) {
    ServerRequest request;
    while (connection.ReadRequest(&request)) {
      respond(connection, request);
      if (connection.closed()) return;
    }
  };
}

// ---------------------------------------------------------------------------

std::string MakeTempDir() {
  char pattern[] = "/tmp/edge-outbound-XXXXXX";
  return mkdtemp(pattern);
}

TestCertificates::TestCertificates() {
  static_cast<Certificates&>(*this) = MakeCertificates(dir_.path());
}

void TestCertificates::TrustOnlyTheCa() const {
  setenv("SSL_CERT_FILE", ca.c_str(), 1);
  setenv("SSL_CERT_DIR", (dir_.path() + "/no-such-dir").c_str(), 1);
}

void TestCertificates::Untrust() {
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");
}

Certificates MakeCertificates(const std::string& dir) {
  const std::string ca_config = dir + "/ca.cnf";
  std::ofstream(ca_config) << "[ca]\ndefault_ca=c\n[c]\ndir=" << dir << "\ndatabase=" << dir
                           << "/index.txt\nserial=" << dir << "/serial\nnew_certs_dir=" << dir
                           << "\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n"
                              "[p]\ncommonName=supplied\n";
  std::ofstream(dir + "/index.txt");
  std::ofstream(dir + "/serial") << "1000\n";
  const std::string d = "'" + dir + "'";
  const std::string q = " >/dev/null 2>&1";
  std::string script =
      "set -e; cd " + d + q.substr(0, 0) +
      "; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2"
      " -subj '/CN=edge test CA' -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign" +
      q +
      // Good: localhost and 127.0.0.1.
      "; openssl req -newkey rsa:2048 -nodes -keyout good.key -out good.csr -subj /CN=localhost" +
      q +
      "; printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > good.ext"
      "; openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out good.pem"
      " -days 2 -extfile good.ext" +
      q +
      // Wrong host.
      "; openssl req -newkey rsa:2048 -nodes -keyout wrong.key -out wrong.csr -subj "
      "/CN=other.example" +
      q +
      "; printf 'subjectAltName=DNS:other.example\\n' > wrong.ext"
      "; openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out wrong.pem"
      " -days 2 -extfile wrong.ext" +
      q +
      // Expired in 2020.
      "; openssl req -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr -subj "
      "/CN=localhost"
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1" +
      q +
      "; openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr"
      " -out expired.pem -startdate 20200101000000Z -enddate 20200102000000Z" +
      q +
      // Unknown CA: self-signed.
      "; openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2"
      " -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1" +
      q;
  Certificates certs;
  std::string command = "sh -c \"" + script + "\"";
  // Quote for sh -c: the script holds no double quotes.
  if (std::system(command.c_str()) != 0) return certs;
  certs.ca = dir + "/ca.pem";
  certs.good_cert = dir + "/good.pem";
  certs.good_key = dir + "/good.key";
  certs.wrong_host_cert = dir + "/wrong.pem";
  certs.wrong_host_key = dir + "/wrong.key";
  certs.expired_cert = dir + "/expired.pem";
  certs.expired_key = dir + "/expired.key";
  certs.unknown_ca_cert = dir + "/self.pem";
  certs.unknown_ca_key = dir + "/self.key";
  return certs;
}

}  // namespace edge::base::testing
