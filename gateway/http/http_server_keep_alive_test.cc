// The HTTP server's connections: keep-alive, pipelining (answers in order,
// however late each comes), HTTP/1.0, and when a connection closes
// (Connection: close from either side, idle keep-alive connections).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "gateway/http/http_server.h"
#include "base/uv_handle.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/http/testing/http_test_server.h"

namespace edge::gateway {
namespace {

using testing::Answer;
using testing::AsciiLower;
using testing::Client;
using testing::EchoHandler;
using testing::Recorder;
using testing::Response;
using testing::SharedList;
using testing::TestServer;

EDGE_TRANSPORT_TEST_SUITE(HttpKeepAliveTest);

TEST_P(HttpKeepAliveTest, ServesTwoRequestsOnOneConnection) {
  Recorder recorder;
  TestServer server;
  std::unique_ptr<Client> client = StartEcho(server, &recorder);
  std::optional<Response> first = client->Exchange("GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "GET /one\n");
  EXPECT_FALSE(first->Has("Connection"));
  std::optional<Response> second =
      client->Exchange("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "POST /two\nbody");
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(recorder.size(), 2u);
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  SharedList<std::string> events;
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([&events, loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    events.Add("start " + request.target);
    std::string target = request.target;
    auto respond = [&events, writer, target] {
      events.Add("finish " + target);
      Answer(*writer, target);
    };
    if (target == "/slow") {
      base::RunAfter(loop, 100, respond);  // the first answer comes late
    } else {
      respond();
    }
  });
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (const char* expected : {"/slow", "/a", "/b"}) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response) << expected;
    EXPECT_EQ(response->body, expected);
  }
  EXPECT_EQ(events.Get(), (std::vector<std::string>{"start /slow", "finish /slow", "start /a",
                                                    "finish /a", "start /b", "finish /b"}));
  // The connection is still good afterwards.
  std::optional<Response> last = client.Exchange("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "/c");
}

TEST_P(HttpKeepAliveTest, ManyPipelinedRequestsWithAsyncAnswers) {
  TestServer server;
  uv_loop_t* loop = server.loop();
  Start(server, [loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    std::string target = request.target;
    base::RunAfter(loop, target == "/slow" ? 50 : 0, [writer, target] { Answer(*writer, target); });
  });
  std::unique_ptr<Client> client = Connect(server);
  // About 100 KiB in one go: more than the server keeps while a request is
  // handled, so reading stops and resumes (over TLS with plaintext already
  // decrypted).
  constexpr int kRequests = 3000;
  std::string batch = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < kRequests; ++i) {
    batch += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_TRUE(client->Send(batch));
  std::optional<Response> slow = client->Read();
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->body, "/slow");
  for (int i = 0; i < kRequests; ++i) {
    std::optional<Response> response = client->Read();
    ASSERT_TRUE(response) << i;
    ASSERT_EQ(response->body, "/r" + std::to_string(i));
  }
}

TEST(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  TestServer server;
  server.Start(EchoHandler());
  {
    Client client(server.port());
    std::optional<Response> response = client.Exchange("GET /old HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "GET /old\n");
    EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    Client client(server.port());
    std::optional<Response> response =
        client.Exchange("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(AsciiLower(response->Header("Connection")), "keep-alive");
    response = client.Exchange("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "GET /b\n");
  }
}

TEST(HttpServerTest, Http10WithoutLengthIsCloseDelimited) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(200, "", {}, std::nullopt);
    writer->Write("until ");
    writer->Write("close");
    writer->Finish();
  });
  std::optional<Response> response =
      testing::RoundTrip(server.port(), "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->chunked);
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_EQ(response->body, "until close");
}

TEST_P(HttpKeepAliveTest, ConnectionCloseIsHonoured) {
  TestServer server;
  std::unique_ptr<Client> client = StartEcho(server);
  std::optional<Response> response = client->Exchange(
      "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /last\n");
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  std::string rest;
  EXPECT_TRUE(client->WaitForClose(&rest));
  EXPECT_EQ(rest, "");
  // Over TLS the server ends with close_notify.
  EXPECT_EQ(client->ReceivedCloseNotify(), tls());
  client->Close();  // else the server lingers up to 2 s for the client's FIN
  EXPECT_TRUE(server.WaitForConnections(0));
}

TEST(HttpServerTest, HandlerMayAskToClose) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(200, "", {{"Connection", "close"}}, 2);
    writer->Write("ok");
    writer->Finish();
  });
  Client client(server.port());
  std::optional<Response> response = client.Exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  TestServer server;
  server.Start(EchoHandler(), {.idle_timeout_ms = 200});
  Client client(server.port());
  std::optional<Response> response = client.Exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_EQ(rest, "");  // closed silently
  EXPECT_TRUE(server.WaitForConnections(0));
}

}  // namespace
}  // namespace edge::gateway
