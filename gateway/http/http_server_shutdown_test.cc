// The HTTP server's listener and its end: graceful shutdown (idle
// connections close, in-flight requests finish), SO_REUSEPORT and listen
// errors.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <utility>

#include "gateway/http/http_server.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/http/testing/http_test_server.h"

namespace edge::gateway {
namespace {

using testing::Answer;
using testing::Client;
using testing::EchoHandler;
using testing::Eventually;
using testing::LoopThread;
using testing::Response;
using testing::TestServer;

EDGE_TRANSPORT_TEST_SUITE(HttpShutdownTest);

TEST_P(HttpShutdownTest, WaitsForInFlightRequest) {
  std::atomic<bool> handling{false};
  std::atomic<bool> done{false};
  std::shared_ptr<ResponseWriter> pending;
  TestServer server;
  Start(server, [&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.target == "/slow") {
      pending = writer;  // answered when the test says so
      handling = true;
      return;
    }
    Answer(*writer, "ok");
  });
  std::unique_ptr<Client> idle = Connect(server, "a.example");
  ASSERT_TRUE(idle->Exchange("GET /fast HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  std::unique_ptr<Client> busy = Connect(server, "x.b.example");
  ASSERT_TRUE(busy->Send("GET /slow HTTP/1.1\r\nHost: x.b.example\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return handling.load(); }));

  server.thread().Call([&] { server.server().Shutdown([&] { done = true; }); });
  // The idle connection is closed now; the busy one waits for its response.
  EXPECT_TRUE(idle->WaitForClose());
  EXPECT_TRUE(server.WaitForConnections(1));
  EXPECT_FALSE(done.load());
  // No new connections.
  Client refused(server.port());
  EXPECT_FALSE(refused.connected());

  server.thread().Call([&] {
    pending->Start(200, "", {}, 4);
    pending->Write("done");
    pending->Finish();
    pending.reset();
  });
  std::optional<Response> response = busy->Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "done");
  EXPECT_EQ(testing::AsciiLower(response->Header("Connection")), "close");
  EXPECT_TRUE(busy->WaitForClose());
  EXPECT_EQ(busy->ReceivedCloseNotify(), tls());
  busy->Close();
  EXPECT_TRUE(Eventually([&] { return done.load(); }));
  EXPECT_EQ(server.connections(), 0u);
}

TEST(HttpServerTest, ShutdownWithoutConnectionsCallsDoneOnTheLoop) {
  std::atomic<bool> done{false};
  TestServer server;
  server.Start(EchoHandler());
  bool called_inside = server.thread().Call([&] {
    server.server().Shutdown([&] { done = true; });
    return done.load();
  });
  EXPECT_FALSE(called_inside);
  EXPECT_TRUE(Eventually([&] { return done.load(); }));
}

TEST(HttpServerTest, ReusePortLetsTwoServersShareAPort) {
  LoopThread loop1;
  LoopThread loop2;
  std::unique_ptr<HttpServer> server1;
  std::unique_ptr<HttpServer> server2;
  auto handler = [](std::string name) {
    return [name](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
      Answer(*writer, name);
    };
  };
  int port = loop1.Call([&] {
    server1 = std::make_unique<HttpServer>(loop1.loop(), ServerLimits{}, handler("one"));
    Status status = server1->Listen("127.0.0.1", 0, /*reuse_port=*/true);
    EXPECT_TRUE(status.ok()) << status.message();
    return server1->port();
  });
  ASSERT_GT(port, 0);
  Status second = loop2.Call([&] {
    server2 = std::make_unique<HttpServer>(loop2.loop(), ServerLimits{}, handler("two"));
    return server2->Listen("127.0.0.1", port, /*reuse_port=*/true);
  });
  EXPECT_TRUE(second.ok()) << second.message();
  // Without SO_REUSEPORT the port is taken.
  Status third = loop1.Call([&] {
    HttpServer other(loop1.loop(), ServerLimits{}, handler("three"));
    return other.Listen("127.0.0.1", port, /*reuse_port=*/false);
  });
  EXPECT_FALSE(third.ok());
  EXPECT_EQ(third.code(), ErrorCode::kIo);

  for (int i = 0; i < 20; ++i) {
    std::optional<Response> response =
        testing::RoundTrip(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_TRUE(response->body == "one" || response->body == "two") << response->body;
  }
  loop1.Call([&] { server1.reset(); });
  loop2.Call([&] { server2.reset(); });
}

TEST(HttpServerTest, ListenReportsBadAddresses) {
  LoopThread loop;
  for (auto [host, port] : {std::pair<const char*, int>{"127.0.0.1", 70000},
                            std::pair<const char*, int>{"192.0.2.1", 0}}) {
    Status status = loop.Call([&] {
      HttpServer server(loop.loop(), ServerLimits{}, EchoHandler());
      return server.Listen(host, port, false);
    });
    EXPECT_FALSE(status.ok()) << host;
    EXPECT_FALSE(status.message().empty());
  }
}

}  // namespace
}  // namespace edge::gateway
