#include "base/http_client/http_client.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/http_client/testing/test_server.h"
#include "base/testing/temp_dir.h"

namespace edge::base {
namespace {

using ::testing::HasSubstr;
using testing::ServerConnection;
using testing::ServerRequest;
using testing::TestCertificates;
using testing::TestServer;

void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

// A line callback that keeps every line in `lines`.
std::function<bool(std::string_view)> Collect(std::vector<std::string>* lines) {
  return [lines](std::string_view line) {
    lines->emplace_back(line);
    return true;
  };
}

// What a request failed with; "(it succeeded)" when it did not fail.
std::string ErrorOf(const StatusOr<HttpResponse>& response) {
  return response.ok() ? "(it succeeded)" : response.status().message();
}

// ---------------------------------------------------------------------------
// URLs, percent-encoding, lines, tokens

TEST(ParseHttpUrlTest, HostPortAndBasePath) {
  struct Case {
    const char* url;
    bool tls;
    const char* host;
    int port;
    const char* base_path;
    const char* authority;
    const char* host_header;
  } cases[] = {
      {"http://127.0.0.1:9001", false, "127.0.0.1", 9001, "", "127.0.0.1:9001", "127.0.0.1:9001"},
      {"HTTPS://Node.Example/admin/api/", true, "node.example", 443, "/admin/api",
       "node.example:443", "node.example"},
      {"http://[::1]:8080/", false, "::1", 8080, "", "[::1]:8080", "[::1]:8080"},
      {"http://localhost", false, "localhost", 80, "", "localhost:80", "localhost"},
  };
  for (const Case& c : cases) {
    StatusOr<HttpUrl> url = ParseHttpUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status().message();
    EXPECT_EQ(url->tls, c.tls) << c.url;
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->base_path, c.base_path) << c.url;
    EXPECT_EQ(url->Authority(), c.authority) << c.url;
    EXPECT_EQ(url->HostHeader(), c.host_header) << c.url;
  }
}

TEST(ParseHttpUrlTest, RefusesWhatIsNotANodeUrl) {
  for (const char* bad :
       {"", "127.0.0.1:9001", "ftp://host", "http://", "http://:9001", "http://host:0",
        "http://host:65536", "http://host:80a", "http://host:", "http://user:pw@host",
        "http://host/?x=1", "http://host/#top", "http://ho st", "http://::1:9001", "http://[::1",
        "http://[nothost]:1", "http://host\n"}) {
    StatusOr<HttpUrl> url = ParseHttpUrl(bad);
    EXPECT_FALSE(url.ok()) << bad;
    if (!url.ok()) {
      EXPECT_NE(url.status().message().find("is not a node URL"), std::string::npos)
          << url.status().message();
    }
  }
  EXPECT_NE(ParseHttpUrl("http://::1:9001").status().message().find("brackets"), std::string::npos);
}

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("api-v2_x.y~"), "api-v2_x.y~");
  EXPECT_EQ(PercentEncode("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
  EXPECT_EQ(PercentEncode("\xc3\xbc+%"), "%C3%BC%2B%25");
}

TEST(LineSplitterTest, SplitsAcrossFeedsAndDropsCarriageReturns) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  auto collect = Collect(&lines);
  EXPECT_TRUE(splitter.Feed("one\ntw", collect));
  EXPECT_TRUE(splitter.Feed("o\r", collect));
  EXPECT_TRUE(splitter.Feed("\n\nthree\r\nfo", collect));
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "", "three"}));
  EXPECT_TRUE(splitter.Finish(collect));
  EXPECT_EQ(lines.back(), "fo");
  lines.clear();
  EXPECT_TRUE(splitter.Finish(collect));  // nothing left
  EXPECT_TRUE(lines.empty());
}

TEST(LineSplitterTest, StopsWhenAskedAndOnLongLines) {
  LineSplitter splitter;
  int calls = 0;
  EXPECT_FALSE(splitter.Feed("a\nb\nc\n", [&](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);

  LineSplitter small(4);
  auto ignore = [](std::string_view) { return true; };
  EXPECT_TRUE(small.Feed("abcd\nab", ignore));
  EXPECT_FALSE(small.Feed("cde", ignore));
  EXPECT_TRUE(small.overflowed());
}

class TokenTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("EDGE_API_TOKEN"); }
  std::string Write(const std::string& name, const std::string& content) {
    return dir_.Write(name, content);
  }
  testing::TempDir dir_{"edge-token"};
};

TEST_F(TokenTest, EnvironmentWhenNoFile) {
  unsetenv("EDGE_API_TOKEN");
  StatusOr<std::string> none = ResolveToken("");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("--token-file"), std::string::npos);
  EXPECT_NE(none.status().message().find("EDGE_API_TOKEN"), std::string::npos);

  setenv("EDGE_API_TOKEN", "from-env\n", 1);
  StatusOr<std::string> token = ResolveToken("");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "from-env");
  // A file wins over the environment.
  token = ResolveToken(Write("token", "from-file"));
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "from-file");
}

// ---------------------------------------------------------------------------
// Requests against a scripted server

// The requests a server saw, for the test thread.
struct Seen {
  std::mutex mutex;
  std::vector<ServerRequest> requests;
  void Add(const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mutex);
    requests.push_back(request);
  }
  ServerRequest Last() {
    std::lock_guard<std::mutex> lock(mutex);
    return requests.empty() ? ServerRequest{} : requests.back();
  }
};

// A server that reads one request, then writes `pieces` one by one with a
// pause between them, then closes.
std::unique_ptr<TestServer> Scripted(std::vector<std::string> pieces, Seen* seen = nullptr) {
  return std::make_unique<TestServer>([pieces, seen](ServerConnection& connection) {
    ServerRequest request;
    if (!connection.ReadRequest(&request)) return;
    if (seen != nullptr) seen->Add(request);
    for (const std::string& piece : pieces) {
      if (!connection.Write(piece)) return;
      Pause();
    }
  });
}

// A server that reads a request and answers nothing until it goes away.
class SilentServer {
 public:
  SilentServer()
      : server_([this](ServerConnection& connection) {
          ServerRequest request;
          connection.ReadRequest(&request);
          while (!released_.load()) Pause();
        }) {}
  ~SilentServer() { released_ = true; }
  int port() const { return server_.port(); }

 private:
  std::atomic<bool> released_{false};
  TestServer server_;
};

// A server that answers with a chunked stream of one line, "hey", and
// then sends nothing more until the client goes away.
std::unique_ptr<TestServer> HeyThenNothing() {
  return std::make_unique<TestServer>([](ServerConnection& connection) {
    ServerRequest request;
    if (!connection.ReadRequest(&request)) return;
    connection.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhey\n\r\n");
    connection.ReadRequest(&request);  // until the client goes away
  });
}

// A TCP socket bound to 127.0.0.1 on a free port, written to `address`.
int BindLoopback(sockaddr_in* address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof *address;
  if (bind(fd, reinterpret_cast<sockaddr*>(address), length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(address), &length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

HttpTarget Target(int port, std::string base = "") {
  HttpTarget target{"http://127.0.0.1:" + std::to_string(port) + base, "tok3n"};
  target.connect_timeout_ms = 2000;
  target.io_timeout_ms = 5000;
  return target;
}

TEST(HttpRequestTest, ContentLengthAnswerAndWhatWasSent) {
  Seen seen;
  auto server = Scripted({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 26\r\nX-Twice: 1\r\nX-Twice: 2\r\n\r\n"
                          "{\"name\":\"api\",\"version\":3}"},
                         &seen);
  StatusOr<HttpResponse> response = Request(Target(server->port(), "/base/"), "PUT", "/workers/api",
                                            "{\"a\":1}", "application/json");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"name\":\"api\",\"version\":3}");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("x-twice"), "1");
  EXPECT_TRUE(ResponseError(*response).ok());

  ServerRequest request = seen.Last();
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.target, "/base/workers/api");
  EXPECT_EQ(request.Header("Authorization"), "Bearer tok3n");
  EXPECT_EQ(request.Header("Host"), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("Content-Length"), "7");
  EXPECT_EQ(request.Header("Connection"), "close");
  EXPECT_EQ(request.body, "{\"a\":1}");
}

TEST(HttpRequestTest, LargeBodyIsSentWhole) {
  Seen seen;
  auto server = Scripted({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"}, &seen);
  std::string body(3 << 20, 'x');
  StatusOr<HttpResponse> response =
      Request(Target(server->port()), "PUT", "/workers/big", body, "application/json");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(seen.Last().body.size(), body.size());
}

TEST(HttpRequestTest, GetAndDeleteWithoutBody) {
  Seen seen;
  auto server = Scripted({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"}, &seen);
  ASSERT_TRUE(Request(Target(server->port()), "GET", "/workers").ok());
  EXPECT_FALSE(seen.Last().HasHeader("Content-Length"));
  EXPECT_FALSE(seen.Last().HasHeader("Content-Type"));
  ASSERT_TRUE(Request(Target(server->port()), "DELETE", "/workers/api").ok());
  EXPECT_EQ(seen.Last().method, "DELETE");
  EXPECT_EQ(seen.Last().Header("Content-Length"), "0");
}

TEST(HttpRequestTest, ChunkedAnswerSplitAcrossWrites) {
  auto server = Scripted({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n",
                          "6\r\n, worl\r\n1", "\r\nd\r\n0\r\n", "\r\n"});
  StatusOr<HttpResponse> response = Request(Target(server->port()), "GET", "/workers");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->body, "hello, world");
}

TEST(HttpRequestTest, CloseDelimitedAnswer) {
  auto server = Scripted({"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst ", "second"});
  StatusOr<HttpResponse> response = Request(Target(server->port()), "GET", "/workers");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->body, "first second");
}

TEST(HttpRequestTest, InterimAnswerIsSkipped) {
  auto server = Scripted(
      {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"});
  StatusOr<HttpResponse> response = Request(Target(server->port()), "POST", "/x", "{}");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "ok");
}

TEST(HttpRequestTest, ErrorsCarryTheServersText) {
  auto unauthorized =
      Scripted({"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                "Content-Length: 31\r\n\r\n{\"error\":\"a token is required\"}"});
  StatusOr<HttpResponse> response = Request(Target(unauthorized->port()), "GET", "/workers");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status, 401);
  Status error = ResponseError(*response);
  EXPECT_FALSE(error.ok());
  EXPECT_NE(error.message().find("(401): a token is required"), std::string::npos)
      << error.message();

  HttpResponse forbidden{403, {}, "{\"error\":\"the token is not valid\"}"};
  EXPECT_EQ(ResponseError(forbidden).message(), "the node refused the token (403)");
  HttpResponse empty_forbidden{403, {}, ""};
  EXPECT_EQ(ResponseError(empty_forbidden).message(), "the node refused the token (403)");
  HttpResponse not_yours{403, {}, "{\"error\":\"route \\\"b.test/*\\\": not one of a's hosts\"}"};
  EXPECT_EQ(ResponseError(not_yours).message(),
            "the node refused (403): route \"b.test/*\": not one of a's hosts");
  HttpResponse refused{400, {}, "{\"error\": \"modules: src/x.js is not valid UTF-8\"}"};
  EXPECT_EQ(ResponseError(refused).message(), "modules: src/x.js is not valid UTF-8");
  HttpResponse proxy{502, {}, "<html><body>bad gateway</body></html>\nmore"};
  EXPECT_EQ(ResponseError(proxy).message(),
            "the node answered 502 Bad Gateway: <html><body>bad gateway</body></html>...");
  HttpResponse bare{404, {}, ""};
  EXPECT_EQ(ResponseError(bare).message(), "the node answered 404 Not Found");
}

TEST(HttpRequestTest, TruncatedAnswerIsAnError) {
  auto server = Scripted({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"});
  StatusOr<HttpResponse> response = Request(Target(server->port()), "GET", "/workers");
  EXPECT_THAT(ErrorOf(response), HasSubstr("closed before the answer was complete"));
}

TEST(HttpRequestTest, NoAnswerAndGarbage) {
  auto silent = Scripted({});
  StatusOr<HttpResponse> response = Request(Target(silent->port()), "GET", "/workers");
  EXPECT_THAT(ErrorOf(response), HasSubstr("closed the connection without answering"));

  auto garbage = Scripted({"SSH-2.0-OpenSSH_9.2\r\n"});
  response = Request(Target(garbage->port()), "GET", "/workers");
  EXPECT_THAT(ErrorOf(response), HasSubstr("not valid HTTP/1.1"));
}

TEST(HttpRequestTest, ConnectionRefused) {
  // A port that was free a moment ago.
  sockaddr_in address{};
  int fd = BindLoopback(&address);
  ASSERT_GE(fd, 0);
  int port = ntohs(address.sin_port);
  close(fd);
  StatusOr<HttpResponse> response = Request(Target(port), "GET", "/workers");
  EXPECT_EQ(ErrorOf(response),
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(HttpRequestTest, SlowNodeTimesOut) {
  SilentServer server;
  HttpTarget target = Target(server.port());
  target.io_timeout_ms = 300;
  StatusOr<HttpResponse> response = Request(target, "GET", "/workers");
  EXPECT_EQ(ErrorOf(response),
            "no answer from 127.0.0.1:" + std::to_string(server.port()) + " within 0.3 s");
}

TEST(HttpRequestTest, BadTokenAndBadPath) {
  HttpTarget target = Target(1);
  target.token = "two words";
  EXPECT_FALSE(Request(target, "GET", "/workers").ok());
  EXPECT_FALSE(Request(Target(1), "GET", "workers").ok());
  EXPECT_FALSE(Request(Target(1), "GET", "/a b").ok());
}

TEST(HttpRequestTest, NoTokenNoAuthorizationAndExtraHeaders) {
  Seen seen;
  auto server = Scripted({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"}, &seen);
  HttpTarget target = Target(server->port());
  target.token = "";
  target.headers = {{"X-Edge-Pop-Id", "pop 1"}};
  StatusOr<HttpResponse> response = Request(target, "GET", "/sync/blobs/x");
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_FALSE(seen.Last().HasHeader("Authorization"));
  EXPECT_EQ(seen.Last().Header("X-Edge-Pop-Id"), "pop 1");

  for (auto header : std::vector<std::pair<std::string, std::string>>{
           {"Bad Name", "v"}, {"X-Ok", "line\r\nInjected: 1"}, {"", "v"}, {"host", "evil"}}) {
    target.headers = {header};
    StatusOr<HttpResponse> refused = Request(target, "GET", "/x");
    EXPECT_FALSE(refused.ok()) << header.first;
  }
}

TEST(HttpRequestTest, AnswerLargerThanTheLimit) {
  auto server =
      Scripted({"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x')});
  HttpTarget target = Target(server->port());
  target.max_response_bytes = 1000;
  StatusOr<HttpResponse> response = Request(target, "GET", "/big");
  EXPECT_THAT(ErrorOf(response), HasSubstr("larger than 1000 bytes"));
}

// ---------------------------------------------------------------------------
// Cancellation from another thread

// Gives `target` a token that another thread cancels after `ms`, runs
// `call` and expects it to return within `limit` of its start.
template <typename Call>
auto CancelDuring(HttpTarget& target, int ms, std::chrono::seconds limit, Call call) {
  target.cancel = std::make_shared<CancelToken>();
  auto started = std::chrono::steady_clock::now();
  std::thread canceller([token = target.cancel, ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    token->Cancel();
  });
  auto result = call();
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, limit);
  return result;
}

TEST(HttpCancelTest, CancelEndsABlockedStreamAtOnce) {
  auto server = HeyThenNothing();
  HttpTarget target = Target(server->port());
  target.io_timeout_ms = 0;  // no limit: only the token ends it
  std::vector<std::string> lines;
  Status status = CancelDuring(target, 200, std::chrono::seconds(2),
                               [&] { return Stream(target, "/t", Collect(&lines)); });
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cancelled"), std::string::npos) << status.message();
  EXPECT_EQ(lines, (std::vector<std::string>{"hey"}));
}

TEST(HttpCancelTest, CancelEndsARequestWaitingForItsAnswer) {
  SilentServer server;
  HttpTarget target = Target(server.port());
  target.io_timeout_ms = 30000;
  StatusOr<HttpResponse> response = CancelDuring(target, 200, std::chrono::seconds(5),
                                                 [&] { return Request(target, "GET", "/slow"); });
  EXPECT_EQ(ErrorOf(response),
            "the request to 127.0.0.1:" + std::to_string(server.port()) + " was cancelled");
}

TEST(HttpCancelTest, CancelledTokenFailsLaterCallsWithoutConnecting) {
  Seen seen;
  auto server = Scripted({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"}, &seen);
  HttpTarget target = Target(server->port());
  target.cancel = std::make_shared<CancelToken>();
  target.cancel->Cancel();
  target.cancel->Cancel();  // twice is fine
  EXPECT_TRUE(target.cancel->cancelled());
  EXPECT_FALSE(Request(target, "GET", "/x").ok());
  EXPECT_FALSE(Stream(target, "/x", [](std::string_view) { return true; }).ok());
  Pause();
  EXPECT_EQ(server->accepted(), 0);
}

TEST(HttpCancelTest, CancelEndsAConnectThatHangs) {
  // A listener whose backlog is full: further connects neither succeed nor fail.
  sockaddr_in address{};
  int fd = BindLoopback(&address);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(listen(fd, 0), 0);
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {
    int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
    fillers.push_back(filler);
  }
  HttpTarget target = Target(ntohs(address.sin_port));
  target.connect_timeout_ms = 30000;
  target.io_timeout_ms = 30000;
  StatusOr<HttpResponse> response = CancelDuring(target, 300, std::chrono::seconds(5),
                                                 [&] { return Request(target, "GET", "/x"); });
  EXPECT_THAT(ErrorOf(response), HasSubstr("cancelled"));
  for (int filler : fillers) close(filler);
  close(fd);
}

// ---------------------------------------------------------------------------
// Streams

TEST(HttpStreamTest, LinesAcrossChunksUntilTheEnd) {
  Seen seen;
  auto server =
      Scripted({"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
                "8\r\n{\"a\":1}\n\r\n", "4\r\n{\"b\"\r\n", "6\r\n:2}\n{}\r\n", "0\r\n\r\n"},
               &seen);
  std::vector<std::string> lines;
  bool connected = false;
  StreamOptions options;
  options.on_connected = [&] { connected = lines.empty(); };
  Status status =
      Stream(Target(server->port()), "/workers/api/tail?status=ok", Collect(&lines), options);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(connected);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{}"}));
  EXPECT_EQ(seen.Last().target, "/workers/api/tail?status=ok");
  EXPECT_EQ(seen.Last().Header("Accept"), "application/x-ndjson");
}

TEST(HttpStreamTest, CallbackEndsTheStream) {
  auto server = std::make_unique<TestServer>([](ServerConnection& connection) {
    ServerRequest request;
    if (!connection.ReadRequest(&request)) return;
    connection.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 1000; ++i) {
      if (!connection.Write("2\r\n" + std::to_string(i % 10) + "\n\r\n")) return;
      Pause();
    }
  });
  int count = 0;
  auto started = std::chrono::steady_clock::now();
  Status status =
      Stream(Target(server->port()), "/t", [&](std::string_view) { return ++count < 3; });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(count, 3);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(HttpStreamTest, StopRequestedWhileIdle) {
  auto server = HeyThenNothing();
  std::atomic<bool> stop{false};
  StreamOptions options;
  options.stop_requested = [&] { return stop.load(); };
  std::vector<std::string> lines;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  Status status = Stream(Target(server->port()), "/t", Collect(&lines), options);
  stopper.join();
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(lines, (std::vector<std::string>{"hey"}));
}

TEST(HttpStreamTest, RefusalIsAnError) {
  auto server =
      Scripted({"HTTP/1.1 404 Not Found\r\nContent-Length: 25\r\n\r\n"
                "{\"error\":\"no worker api\"}"});
  bool called = false;
  HttpResponse refusal;
  StreamOptions options;
  options.refusal = &refusal;
  Status status = Stream(
      Target(server->port()), "/workers/api/tail",
      [&](std::string_view) {
        called = true;
        return true;
      },
      options);
  EXPECT_FALSE(called);
  EXPECT_EQ(status.message(), "no worker api");
  EXPECT_EQ(refusal.status, 404);
  EXPECT_EQ(refusal.body, "{\"error\":\"no worker api\"}");
}

// ---------------------------------------------------------------------------
// TLS

class HttpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = std::make_unique<TestCertificates>(); }
  static void TearDownTestSuite() { certs_.reset(); }
  void SetUp() override {
    if (certs_->ca.empty()) GTEST_SKIP() << "the openssl command failed";
    certs_->TrustOnlyTheCa();
  }
  void TearDown() override { TestCertificates::Untrust(); }

  static std::unique_ptr<TestServer> Serve(const std::string& cert, const std::string& key) {
    TestServer::Tls tls{cert, key};
    return std::make_unique<TestServer>(
        TestServer::EachRequest([](ServerConnection& connection, const ServerRequest& request) {
          connection.Respond(200, {{"Content-Type", "application/json"}},
                             "{\"host\":\"" + request.Header("Host") + "\"}");
        }),
        &tls);
  }
  static HttpTarget Https(const std::string& host, int port) {
    HttpTarget target{"https://" + host + ":" + std::to_string(port), "tok3n"};
    target.io_timeout_ms = 5000;
    return target;
  }

  static inline std::unique_ptr<TestCertificates> certs_;
};

TEST_F(HttpTlsTest, TrustedCertificateByNameAndAddress) {
  auto server = Serve(certs_->good_cert, certs_->good_key);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    StatusOr<HttpResponse> response = Request(Https(host, server->port()), "GET", "/workers");
    ASSERT_TRUE(response.ok()) << host << ": " << response.status().message();
    EXPECT_EQ(response->body,
              "{\"host\":\"" + std::string(host) + ":" + std::to_string(server->port()) + "\"}");
  }
}

TEST_F(HttpTlsTest, WrongHostUnknownCaAndPlainServer) {
  auto wrong = Serve(certs_->wrong_host_cert, certs_->wrong_host_key);
  StatusOr<HttpResponse> response = Request(Https("localhost", wrong->port()), "GET", "/w");
  EXPECT_THAT(ErrorOf(response), HasSubstr("not valid for localhost"));

  auto self_signed = Serve(certs_->unknown_ca_cert, certs_->unknown_ca_key);
  response = Request(Https("localhost", self_signed->port()), "GET", "/w");
  EXPECT_THAT(ErrorOf(response), HasSubstr("unknown certificate authority"));

  // A plain HTTP server answers the ClientHello with a 400 of its own.
  TestServer plain([](ServerConnection& connection) {
    connection.Write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  response = Request(Https("127.0.0.1", plain.port()), "GET", "/w");
  EXPECT_THAT(ErrorOf(response), HasSubstr("TLS handshake with 127.0.0.1:"));
  EXPECT_THAT(ErrorOf(response), HasSubstr("use an http:// URL"));
}

}  // namespace
}  // namespace edge::base
