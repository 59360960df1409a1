// TLS in the HTTP server: the TlsContext choosing a certificate by server
// name, and what only HTTPS has (SNI, ALPN, old protocol versions, plain
// HTTP on the TLS port, the handshake's time limit, TLS records under
// backpressure). What plain and TLS connections share runs over both in the
// other http_server_*_test.cc files.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/http/http_server.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/http/testing/http_test_server.h"
#include "gateway/http/tls_context.h"

namespace edge::gateway {
namespace {

using testing::Client;
using testing::EchoHandler;
using testing::Eventually;
using testing::LoopThread;
using testing::Recorder;
using testing::Response;
using testing::TestServer;
using testing::TlsClientOptions;

class TlsContextTest : public testing::TlsFixture {};

TEST_F(TlsContextTest, SelectsTheCertificateByServerName) {
  EXPECT_EQ(tls_->Select("a.example"), 0u);
  EXPECT_EQ(tls_->Select("A.Example."), 0u);
  EXPECT_EQ(tls_->Select("c.example"), 0u);
  EXPECT_EQ(tls_->Select("x.b.example"), 1u);
  EXPECT_EQ(tls_->Select("X.B.EXAMPLE"), 1u);
  // A wildcard covers exactly one label.
  EXPECT_EQ(tls_->Select("b.example"), 0u);
  EXPECT_EQ(tls_->Select("y.x.b.example"), 0u);
  EXPECT_EQ(tls_->Select(".b.example"), 0u);
  // Anything else gets the first certificate.
  EXPECT_EQ(tls_->Select("other.example"), 0u);
  EXPECT_EQ(tls_->Select(""), 0u);
}

TEST_F(TlsContextTest, KeyThatDoesNotMatchTheCertificateIsAnError) {
  TlsCertificate mixed = a_;
  mixed.key_path = b_.key_path;
  StatusOr<std::shared_ptr<TlsContext>> context = TlsContext::Create({mixed});
  ASSERT_FALSE(context.ok());
  const std::string& message = context.status().message();
  EXPECT_NE(message.find(b_.key_path), std::string::npos) << message;
  EXPECT_NE(message.find(a_.cert_path), std::string::npos) << message;
  EXPECT_NE(message.find("does not match"), std::string::npos) << message;
  EXPECT_NE(message.find("key values mismatch"), std::string::npos) << message;  // OpenSSL's words
}

TEST_F(TlsContextTest, BadConfigurationIsAnError) {
  auto error = [](std::vector<TlsCertificate> certificates) {
    StatusOr<std::shared_ptr<TlsContext>> context = TlsContext::Create(certificates);
    EXPECT_FALSE(context.ok());
    return context.ok() ? std::string() : context.status().message();
  };
  EXPECT_NE(error({}).find("at least one certificate"), std::string::npos);

  TlsCertificate missing = a_;
  missing.cert_path = dir_.path() + "/missing.pem";
  std::string message = error({missing});
  EXPECT_NE(message.find(missing.cert_path), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;

  TlsCertificate missing_key = a_;
  missing_key.key_path = dir_.path() + "/missing.key";
  message = error({missing_key});
  EXPECT_NE(message.find(missing_key.key_path), std::string::npos) << message;

  TlsCertificate swapped = a_;
  std::swap(swapped.cert_path, swapped.key_path);  // a key where the certificate should be
  message = error({swapped});
  EXPECT_NE(message.find(swapped.cert_path), std::string::npos) << message;

  for (std::vector<std::string> hosts :
       {std::vector<std::string>{}, std::vector<std::string>{"a.*.example"},
        std::vector<std::string>{"*."}, std::vector<std::string>{""}}) {
    TlsCertificate bad = a_;
    bad.hosts = hosts;
    message = error({bad});
    EXPECT_NE(message.find(a_.cert_path), std::string::npos) << message;
  }
}

class HttpsServerTest : public testing::TlsFixture {};

TEST_F(HttpsServerTest, ServerNameSelectsTheCertificate) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder), {}, tls_);
  struct Case {
    std::string server_name;
    std::string common_name;
  };
  for (const Case& c : {Case{"a.example", "a.example"}, Case{"x.b.example", "*.b.example"},
                        Case{"C.EXAMPLE", "a.example"}, Case{"unknown.example", "a.example"},
                        Case{"", "a.example"}}) {
    std::unique_ptr<Client> client = ConnectTls(server, c.server_name);
    EXPECT_EQ(client->PeerCommonName(), c.common_name) << c.server_name;
    if (!c.server_name.empty() && c.server_name != "unknown.example") {
      EXPECT_EQ(X509_check_host(client->PeerCertificate(), c.server_name.data(),
                                c.server_name.size(), 0, nullptr),
                1)
          << c.server_name;
    }
    std::optional<Response> response = client->Exchange("GET /name HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response) << c.server_name;
    EXPECT_EQ(response->body, "GET /name\n");
  }
  std::vector<HttpRequest> requests = recorder.Get();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_TRUE(requests[0].tls);
  EXPECT_EQ(requests[0].tls_server_name, "a.example");
  EXPECT_EQ(requests[1].tls_server_name, "x.b.example");
  EXPECT_EQ(requests[2].tls_server_name, "C.EXAMPLE");
  EXPECT_TRUE(requests[4].tls);
  EXPECT_EQ(requests[4].tls_server_name, "");
}

TEST_F(HttpsServerTest, PlainHttpOnTheTlsPortIsClosed) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder), {}, tls_);
  Client plain(server.port());
  ASSERT_TRUE(plain.Send("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  std::string rest;
  EXPECT_TRUE(plain.WaitForClose(&rest));
  EXPECT_EQ(rest.find("HTTP/"), std::string::npos) << rest;
  Client garbage(server.port());  // not even HTTP
  ASSERT_TRUE(garbage.Send(std::string("\x16\x03\x01\x00\x05hello", 10)));
  EXPECT_TRUE(garbage.WaitForClose());
  EXPECT_EQ(recorder.size(), 0u);
  EXPECT_TRUE(server.WaitForConnections(0));

  // The server goes on serving.
  std::unique_ptr<Client> client = ConnectTls(server, "a.example");
  std::optional<Response> response =
      client->Exchange("GET /after HTTP/1.1\r\nHost: a.example\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /after\n");
}

// What a client (SNI a.example) offering TLS up to `max_version` (0: any)
// and the protocols in `alpn` gets from the handshake: an error, or the
// protocol ALPN selected, after a request went through on the connection.
struct HandshakeResult {
  bool ok = false;
  std::string error;
  std::string alpn;
};

HandshakeResult TryHandshake(int port, int max_version, std::vector<std::string> alpn = {}) {
  TlsClientOptions options;
  options.server_name = "a.example";
  options.max_version = max_version;
  options.alpn = std::move(alpn);
  Client client(port);
  HandshakeResult result;
  result.ok = client.StartTls(options);
  if (!result.ok) {
    result.error = client.tls_error();
    return result;
  }
  result.alpn = client.Alpn();
  EXPECT_TRUE(client.Exchange("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  return result;
}

TEST_F(HttpsServerTest, Tls11ClientIsRefused) {
  TestServer server;
  server.Start(EchoHandler(), {}, tls_);
  HandshakeResult old = TryHandshake(server.port(), TLS1_1_VERSION);
  EXPECT_FALSE(old.ok);
  // The server's refusal, not the client's inability to offer TLS 1.1.
  EXPECT_NE(old.error.find("protocol version"), std::string::npos) << old.error;
  EXPECT_TRUE(server.WaitForConnections(0));
  EXPECT_TRUE(TryHandshake(server.port(), 0).ok);
}

TEST_F(HttpsServerTest, AlpnSelectsHttp11OrNothing) {
  TestServer server;
  server.Start(EchoHandler(), {}, tls_);
  for (auto [offer, selected] :
       {std::pair<std::vector<std::string>, std::string>{{"h2", "http/1.1"}, "http/1.1"},
        {{"h2"}, ""},
        {{}, ""}}) {
    HandshakeResult handshake = TryHandshake(server.port(), 0, offer);
    ASSERT_TRUE(handshake.ok) << handshake.error;
    EXPECT_EQ(handshake.alpn, selected);
  }
}

TEST_F(HttpsServerTest, LargeResponseWithBackpressureArrivesIntact) {
  constexpr size_t kTotal = 8 * 1024 * 1024;
  static constexpr size_t kChunk = 48 * 1024;
  std::string body(kTotal, '\0');
  for (size_t i = 0; i < kTotal; ++i) body[i] = static_cast<char>('a' + (i % 7919) % 26);
  std::atomic<int> waits{0};
  std::atomic<size_t> peak{0};

  // Writes the body as fast as the connection takes it, waiting for OnDrain
  // whenever the writer reports a backlog.
  struct Sender : std::enable_shared_from_this<Sender> {
    std::shared_ptr<ResponseWriter> writer;
    const std::string* body;
    size_t sent = 0;
    std::atomic<int>* waits;
    std::atomic<size_t>* peak;
    void Continue() {
      while (sent < body->size()) {
        size_t buffered = writer->BufferedBytes();
        if (buffered > *peak) *peak = buffered;
        if (buffered >= kWriterDrainThreshold) {
          ++*waits;
          writer->OnDrain([self = shared_from_this()] { self->Continue(); });
          return;
        }
        size_t n = std::min(kChunk, body->size() - sent);
        writer->Write(std::string_view(*body).substr(sent, n));
        sent += n;
      }
      writer->Finish();
    }
  };
  TestServer server;
  server.Start(
      [&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        writer->Start(200, "", {}, body.size());
        auto sender = std::make_shared<Sender>();
        sender->writer = writer;
        sender->body = &body;
        sender->waits = &waits;
        sender->peak = &peak;
        sender->Continue();
      },
      {}, tls_);
  std::unique_ptr<Client> client = ConnectTls(server, "a.example");
  ASSERT_TRUE(client->Send("GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  // Not reading yet: once the socket buffers are full, the writer must wait.
  EXPECT_TRUE(Eventually([&] { return waits.load() > 0; }));
  std::optional<Response> response = client->Read();
  ASSERT_TRUE(response);
  ASSERT_EQ(response->body.size(), body.size());
  EXPECT_TRUE(response->body == body);
  EXPECT_GE(peak.load(), kWriterDrainThreshold);
  // Still good for another request.
  response = client->Exchange("GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->body == body);
}

TEST_F(HttpsServerTest, HandshakeIsBoundedByTheHeaderTimeout) {
  TestServer server;
  server.Start(EchoHandler(), {.header_timeout_ms = 200}, tls_);
  auto start = std::chrono::steady_clock::now();
  Client silent(server.port());
  Client partial(server.port());  // the start of a ClientHello, then nothing
  ASSERT_TRUE(partial.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  EXPECT_TRUE(silent.WaitForClose());
  EXPECT_TRUE(partial.WaitForClose());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_TRUE(server.WaitForConnections(0));
}

// A node serving HTTP and HTTPS: two servers, one per listener, on one loop.
TEST_F(HttpsServerTest, PlainAndTlsServersShareALoop) {
  Recorder recorder;
  LoopThread loop;
  std::unique_ptr<HttpServer> plain;
  std::unique_ptr<HttpServer> secure;
  auto [plain_port, tls_port] = loop.Call([&] {
    plain = std::make_unique<HttpServer>(loop.loop(), ServerLimits{}, EchoHandler(&recorder));
    secure = std::make_unique<HttpServer>(loop.loop(), ServerLimits{}, EchoHandler(&recorder));
    ListenOptions options;
    options.tls = tls_;
    Status first = plain->Listen("127.0.0.1", 0, false);
    Status second = secure->Listen("127.0.0.1", 0, options);
    EXPECT_TRUE(first.ok()) << first.message();
    EXPECT_TRUE(second.ok()) << second.message();
    // One listener per server.
    EXPECT_FALSE(secure->Listen("127.0.0.1", 0, false).ok());
    return std::pair<int, int>(plain->port(), secure->port());
  });
  ASSERT_TRUE(testing::RoundTrip(plain_port, "GET /plain HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  Client https(tls_port);
  TlsClientOptions options;
  options.server_name = "a.example";
  ASSERT_TRUE(https.StartTls(options)) << https.tls_error();
  ASSERT_TRUE(https.Exchange("GET /secure HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  std::vector<HttpRequest> requests = recorder.Get();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_FALSE(requests[0].tls);
  EXPECT_TRUE(requests[1].tls);

  std::atomic<int> done{0};
  loop.Call([&] {
    plain->Shutdown([&] { ++done; });
    secure->Shutdown([&] { ++done; });
  });
  EXPECT_TRUE(Eventually([&] { return done.load() == 2; }));
  loop.Call([&] {
    plain.reset();
    secure.reset();
  });
}

}  // namespace
}  // namespace edge::gateway
