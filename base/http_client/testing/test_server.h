// A small threaded HTTP/1.1 (and HTTPS) server for the HTTP clients' tests
// (fetch's outbound client, the blocking client, edge-sync's protocol):
// blocking sockets, one thread per connection, scripted by the test.
// It counts the connections it accepts, so tests can check pooling.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/testing/temp_dir.h"

namespace edge::base::testing {

struct ServerRequest {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;
  // The first value of `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

class ServerConnection {
 public:
  ServerConnection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~ServerConnection();

  // Reads one request with its whole body. False when the client closed.
  bool ReadRequest(ServerRequest* request);
  // Reads the request head only; the body is left to ReadBodyChunk.
  bool ReadHead(ServerRequest* request);
  // The next piece of a chunked or Content-Length body after ReadHead;
  // false at the end of the body.
  bool ReadBodyPiece(ServerRequest& request, std::string* piece);
  bool Write(std::string_view data);
  // "HTTP/1.1 <status> <reason>", the headers, Content-Length, the body.
  bool Respond(int status, const std::vector<std::pair<std::string, std::string>>& headers,
               std::string_view body, std::string_view reason = "OK");
  void Shutdown();  // unblocks reads (used when the server stops)
  bool closed() const { return closed_; }

 private:
  bool Fill();
  bool ReadLine(std::string* line);
  bool ReadExact(size_t n, std::string* out);

  int fd_;
  SSL* ssl_;
  std::string buffer_;
  bool closed_ = false;
  // Body reading state after ReadHead.
  uint64_t remaining_ = 0;
  bool in_chunks_ = false;
  bool body_done_ = false;
};

class TestServer {
 public:
  using Handler = std::function<void(ServerConnection&)>;
  struct Tls {
    std::string cert_file;
    std::string key_file;
  };

  // Listens on 127.0.0.1 (a free port); `handler` runs on its own thread per
  // accepted connection, which is closed when it returns.
  explicit TestServer(Handler handler, const Tls* tls = nullptr);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int open_connections() const { return open_.load(); }
  int max_open_connections() const { return max_open_.load(); }

  // A handler that answers every request of a keep-alive connection with
  // what `respond` writes (it must write exactly one response).
  static Handler EachRequest(std::function<void(ServerConnection&, const ServerRequest&)> respond);

 private:
  void AcceptLoop();

  Handler handler_;
  SSL_CTX* tls_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::vector<ServerConnection*> connections_;
};

// Throwaway certificates made with the `openssl` command in `dir`.
struct Certificates {
  std::string ca;                               // the test CA's certificate (SSL_CERT_FILE)
  std::string good_cert, good_key;              // localhost and 127.0.0.1, signed by the CA
  std::string wrong_host_cert, wrong_host_key;  // other.example, signed by the CA
  std::string expired_cert, expired_key;        // localhost, expired in 2020
  std::string unknown_ca_cert, unknown_ca_key;  // localhost, self-signed
};
// Empty `ca` when the openssl command failed.
Certificates MakeCertificates(const std::string& dir);

// MakeCertificates in a temporary folder of their own, which goes away with
// them (make one in a suite's SetUpTestSuite: the openssl command is slow).
class TestCertificates : public Certificates {
 public:
  TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  // Points OpenSSL's default verify paths at the test CA alone
  // (SSL_CERT_FILE, and an SSL_CERT_DIR that does not exist): TLS clients
  // made afterwards trust nothing else. Untrust clears both.
  void TrustOnlyTheCa() const;
  static void Untrust();

 private:
  TempDir dir_{"edge-outbound"};
};

// A fresh temporary folder.
std::string MakeTempDir();

}  // namespace edge::base::testing
