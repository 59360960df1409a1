// Test helpers for the server side of the gateway's HTTP tests: an
// HttpServer on a LoopThread, what its handler saw, a handler that echoes,
// throwaway certificates, and a fixture that runs a test over plain TCP and
// over TLS alike (gateway/http/testing/http_test_client.h is the client side).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/testing/temp_dir.h"
#include "gateway/http/http_server.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/http/tls_context.h"

namespace edge::gateway::testing {

// An HttpServer listening on 127.0.0.1 (a free port), on a loop thread of
// its own; the server goes away before the loop. Not copyable (its
// LoopThread is not).
class TestServer {
 public:
  ~TestServer();

  void Start(RequestHandler handler, ServerLimits limits = {},
             std::shared_ptr<TlsContext> tls = nullptr);

  uv_loop_t* loop() { return loop_.loop(); }
  LoopThread& thread() { return loop_; }
  HttpServer& server() { return *server_; }
  int port() const { return port_; }
  size_t connections();
  // Waits (generously) until the server has `n` connections.
  bool WaitForConnections(size_t n);

 private:
  LoopThread loop_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

// A list that the loop thread adds to and the test's thread reads.
template <typename T>
class SharedList {
 public:
  void Add(T item) {
    std::lock_guard<std::mutex> lock(mutex_);
    items_.push_back(std::move(item));
  }
  std::vector<T> Get() {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<T> items_;
};

// The requests a handler saw.
using Recorder = SharedList<HttpRequest>;

// Answers "<method> <target>\n<body>" with a Content-Length, after adding
// the request to `recorder` (when given).
RequestHandler EchoHandler(Recorder* recorder = nullptr);

// Answers 200 with `body` and its Content-Length, and finishes.
void Answer(ResponseWriter& writer, std::string_view body);

// Writes a self-signed certificate for `names` (the first is also its common
// name) and its EC P-256 key, as PEM files.
void WriteSelfSignedCertificate(const std::vector<std::string>& names, const std::string& cert_path,
                                const std::string& key_path);

// Two throwaway certificates in a temporary folder: `a` for a.example and
// c.example, `b` for *.b.example; and a TlsContext serving both (a first).
class TlsFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  // A client connected to `server` that finished a TLS handshake with
  // `server_name` as SNI.
  std::unique_ptr<Client> ConnectTls(const TestServer& server, const std::string& server_name);

  base::testing::TempDir dir_{"edge-tls"};
  TlsCertificate a_;
  TlsCertificate b_;
  std::shared_ptr<TlsContext> tls_;
};

// How a test's client reaches the server.
enum class Transport { kPlain, kTls };

// A test that runs once over plain TCP and once over TLS: declare its suite
// with EDGE_TRANSPORT_TEST_SUITE(Name), then TEST_P(Name, ...).
class TransportTest : public TlsFixture, public ::testing::WithParamInterface<Transport> {
 protected:
  bool tls() const { return GetParam() == Transport::kTls; }
  // Starts `server` listening with TLS when the test runs over TLS.
  void Start(TestServer& server, RequestHandler handler, ServerLimits limits = {});
  // A connected client (with `server_name` as SNI over TLS).
  std::unique_ptr<Client> Connect(const TestServer& server,
                                  const std::string& server_name = "a.example");
  // Starts `server` with EchoHandler(recorder) and connects to it.
  std::unique_ptr<Client> StartEcho(TestServer& server, Recorder* recorder = nullptr);
};

// "Plain" or "Tls", for the tests' names.
std::string TransportName(const ::testing::TestParamInfo<Transport>& info);

#define EDGE_TRANSPORT_TEST_SUITE(name)                                                   \
  class name : public ::edge::gateway::testing::TransportTest {};                         \
  INSTANTIATE_TEST_SUITE_P(Transports, name,                                              \
                           ::testing::Values(::edge::gateway::testing::Transport::kPlain, \
                                             ::edge::gateway::testing::Transport::kTls),  \
                           ::edge::gateway::testing::TransportName)

}  // namespace edge::gateway::testing
