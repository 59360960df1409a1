// The HTTP server reading requests: what a handler sees of a request, how
// it arrives (in pieces, chunked, after 100 Continue), and the requests it
// refuses by itself (limits, malformed input, slow headers).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/http/http_server.h"
#include "gateway/http/status_pages.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/http/testing/http_test_server.h"

namespace edge::gateway {
namespace {

using testing::AsciiLower;
using testing::Client;
using testing::EchoHandler;
using testing::Recorder;
using testing::Response;
using testing::TestServer;

TEST(HttpServerTest, BasicGet) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  std::optional<Response> response =
      client.Exchange("GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Test: yes\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->head.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(response->body, "GET /hello?x=1\n");
  EXPECT_EQ(response->Header("Content-Length"), std::to_string(response->body.size()));
  EXPECT_EQ(response->Header("Content-Type"), "text/plain");
  EXPECT_FALSE(response->Header("Date").empty());
  EXPECT_FALSE(response->Has("Connection"));

  std::vector<HttpRequest> requests = recorder.Get();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& request = requests[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/hello?x=1");
  EXPECT_EQ(request.http_major, 1);
  EXPECT_EQ(request.http_minor, 1);
  EXPECT_TRUE(request.keep_alive);
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers[0], (std::pair<std::string, std::string>("Host", "example.com")));
  EXPECT_EQ(request.headers[1], (std::pair<std::string, std::string>("X-Test", "yes")));
  EXPECT_EQ(request.remote_address.rfind("127.0.0.1:", 0), 0u) << request.remote_address;
  EXPECT_FALSE(request.tls);
  EXPECT_EQ(request.tls_server_name, "");
}

EDGE_TRANSPORT_TEST_SUITE(HttpRequestBodyTest);

TEST_P(HttpRequestBodyTest, ChunkedRequestBodyIsDecoded) {
  Recorder recorder;
  TestServer server;
  std::unique_ptr<Client> client = StartEcho(server, &recorder);
  ASSERT_TRUE(client->Send(
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi"));
  // Let the parts arrive separately (in two records over TLS).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::optional<Response> response =
      client->Exchange("ki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /upload\nWikipedia");
  ASSERT_EQ(recorder.size(), 1u);
  EXPECT_EQ(recorder.Get()[0].body, "Wikipedia");
  EXPECT_EQ(recorder.Get()[0].tls, tls());
}

TEST(HttpServerTest, RequestSentByteByByte) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  std::string request =
      "PUT /frag/path HTTP/1.1\r\nHost: x\r\nX-Long-Header-Name: some value\r\nX-Empty:\r\n"
      "X-Next: 1\r\nContent-Length: 3\r\n\r\nabc";
  for (char c : request) {
    ASSERT_TRUE(client.Send(std::string_view(&c, 1)));
  }
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "PUT /frag/path\nabc");
  ASSERT_EQ(recorder.size(), 1u);
  HeaderList expected = {{"Host", "x"},
                         {"X-Long-Header-Name", "some value"},
                         {"X-Empty", ""},
                         {"X-Next", "1"},
                         {"Content-Length", "3"}};
  EXPECT_EQ(recorder.Get()[0].headers, expected);
}

TEST(HttpServerTest, Expect100Continue) {
  TestServer server;
  server.Start(EchoHandler());
  Client client(server.port());
  std::optional<Response> interim = client.Exchange(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  EXPECT_EQ(interim->head, "HTTP/1.1 100 Continue\r\n\r\n");
  std::optional<Response> response = client.Exchange("hello");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /upload\nhello");
}

TEST(HttpServerTest, BodyAtLimitIsAccepted) {
  TestServer server;
  server.Start(EchoHandler(), {.max_body_bytes = 1024});
  std::optional<Response> response = testing::RoundTrip(
      server.port(),
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'b'));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 1024u + 7u);
}

// ---------------------------------------------------------------------------
// Requests the server refuses by itself: it answers with its error page and
// closes the connection, and the handler never sees them.

struct Refusal {
  std::string name;
  ServerLimits limits;
  // Sent one after the other; the server may answer (and close) before the
  // last part, so only the first must go through.
  std::vector<std::string> parts;
  int status;
};

std::vector<std::string> HeadWithFillerLines(int lines) {
  std::vector<std::string> parts = {"GET / HTTP/1.1\r\nHost: x\r\n"};
  parts.resize(1 + lines, "X-Filler: " + std::string(990, 'f') + "\r\n");
  return parts;
}

std::string ChunkedPost(int chunks, int chunk_size) {
  std::string request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < chunks; ++i) {
    request += fmt::format("{:x}\r\n{}\r\n", chunk_size, std::string(chunk_size, 'c'));
  }
  return request + "0\r\n\r\n";
}

const Refusal kRefusals[] = {
    {"HugeHeaderIs431",
     {.max_header_bytes = 1024},
     {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n"},
     431},
    // 200 lines of 1 KB in as many sends: over the default 128 KiB.
    {"HeaderBlockOverDefaultLimitAcrossManyReadsIs431", {}, HeadWithFillerLines(200), 431},
    // And no 100 Continue first.
    {"DeclaredBodyOverLimitIs413",
     {.max_body_bytes = 1024},
     {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n"},
     413},
    {"ChunkedBodyOverLimitIs413", {.max_body_bytes = 1024}, {ChunkedPost(4, 512)}, 413},
    {"GarbageIs400", {}, {"\x01\x02 garbage here\r\n\r\n"}, 400},
    // Request smuggling defence: llhttp runs strict (no lenient flags), so a
    // request with both Content-Length and Transfer-Encoding is refused.
    {"ContentLengthThenTransferEncodingIs400",
     {},
     {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n"},
     400},
    {"TransferEncodingThenContentLengthIs400",
     {},
     {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
      "0\r\n\r\n"},
     400},
    {"TransferEncodingNotEndingInChunkedIs400",
     {},
     {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
     400},
    // Headers never finished.
    {"SlowHeadersGet408", {.header_timeout_ms = 200}, {"GET / HTTP/1.1\r\nHost: x\r\n"}, 408},
};

class HttpRefusalTest : public ::testing::TestWithParam<Refusal> {};
INSTANTIATE_TEST_SUITE_P(Requests, HttpRefusalTest, ::testing::ValuesIn(kRefusals),
                         [](const auto& info) { return info.param.name; });

TEST_P(HttpRefusalTest, AnswersWithItsErrorPageAndCloses) {
  const Refusal& refusal = GetParam();
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder), refusal.limits);
  Client client(server.port());
  ASSERT_TRUE(client.Send(refusal.parts[0]));
  for (size_t i = 1; i < refusal.parts.size(); ++i) {
    if (!client.Send(refusal.parts[i])) break;
  }
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, refusal.status);
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_EQ(response->body, ErrorPage(refusal.status));
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(HttpServerTest, BadRequestAfterGoodOneOnSameConnection) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /bad HTTP/1.1\r\nBad Header\r\n\r\n"));
  for (int status : {200, 400}) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response) << status;
    EXPECT_EQ(response->status, status);
  }
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(recorder.size(), 1u);
}

TEST(HttpServerTest, SlowClientDoesNotBlockOthers) {
  TestServer server;
  server.Start(EchoHandler(), {.header_timeout_ms = 60000});
  Client slow(server.port());
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\nHo"));
  std::optional<Response> response =
      testing::RoundTrip(server.port(), "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /fast\n");
}

TEST(HttpServerTest, SilentConnectionIsClosedWithoutAnswer) {
  TestServer server;
  server.Start(EchoHandler(), {.header_timeout_ms = 200});
  Client client(server.port());
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_EQ(rest, "");
}

}  // namespace
}  // namespace edge::gateway
