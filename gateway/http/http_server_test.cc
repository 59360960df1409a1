#include "gateway/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/http/status_pages.h"
#include "gateway/http/tls_context.h"
#include "gateway/http/testing/http_test_client.h"

namespace edge::gateway {
namespace {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------
// Harness: a libuv loop on its own thread, a server on it, and a blocking
// POSIX-socket client on the test thread (gateway/testing/http_test_client.h).

using testing::Client;
using testing::Eventually;
using testing::LoopThread;
using testing::Response;
using testing::RunAfter;
using testing::TlsClientOptions;
using testing::AsciiLower;

class TestServer {
 public:
  TestServer() = default;
  ~TestServer() {
    loop_.Call([this] { server_.reset(); });
    loop_.Stop();
  }

  void Start(RequestHandler handler, ServerLimits limits = {},
             std::shared_ptr<TlsContext> tls = nullptr) {
    loop_.Call([&] {
      server_ = std::make_unique<HttpServer>(loop_.loop(), limits, std::move(handler));
      ListenOptions options;
      options.tls = tls;
      Status status = server_->Listen("127.0.0.1", 0, options);
      ASSERT_TRUE(status.ok()) << status.message();
      port_ = server_->port();
    });
    ASSERT_GT(port_, 0);
  }

  uv_loop_t* loop() { return loop_.loop(); }
  LoopThread& thread() { return loop_; }
  HttpServer& server() { return *server_; }
  int port() const { return port_; }
  size_t connections() {
    return loop_.Call([this] { return server_->connection_count(); });
  }
  // Waits (generously) until the server has `n` connections.
  bool WaitForConnections(size_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (connections() == n) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

 private:
  LoopThread loop_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

// Requests the handler saw, readable from the test thread.
class Recorder {
 public:
  void Add(const HttpRequest& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
  }
  std::vector<HttpRequest> Get() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<HttpRequest> requests_;
};

class Events {
 public:
  void Add(std::string event) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> Get() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> events_;
};

// Answers "<method> <target>\n<body>" with a Content-Length.
RequestHandler EchoHandler(Recorder* recorder = nullptr) {
  return [recorder](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (recorder != nullptr) recorder->Add(request);
    std::string body = request.method + " " + request.target + "\n" + request.body;
    writer->Start(200, "", {{"Content-Type", "text/plain"}}, body.size());
    writer->Write(body);
    writer->Finish();
  };
}

// ---------------------------------------------------------------------------
// Basics

TEST(HttpServerTest, BasicGet) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Test: yes\r\n\r\n"));
  std::optional<Response> response = client.Read();
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

TEST(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  TestServer server;
  server.Start(EchoHandler());
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "GET /one\n");
  ASSERT_TRUE(client.Send("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"));
  std::optional<Response> second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "POST /two\nbody");
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Events events;
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([&events, loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    events.Add("start " + request.target);
    std::string target = request.target;
    auto respond = [&events, writer, target] {
      events.Add("finish " + target);
      writer->Start(200, "", {}, target.size());
      writer->Write(target);
      writer->Finish();
    };
    if (target == "/slow") {
      RunAfter(loop, 100, respond);  // the first answer comes late
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
  ASSERT_TRUE(client.Send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> last = client.Read();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "/c");
}

TEST(HttpServerTest, ManyPipelinedRequestsWithAsyncAnswers) {
  constexpr int kRequests = 3000;  // about 100 KiB: more than the server buffers while busy
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    std::string target = request.target;
    RunAfter(loop, 0, [writer, target] {
      writer->Start(200, "", {}, target.size());
      writer->Write(target);
      writer->Finish();
    });
  });
  Client client(server.port());
  std::string batch;
  for (int i = 0; i < kRequests; ++i) {
    batch += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_TRUE(client.Send(batch));
  for (int i = 0; i < kRequests; ++i) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response) << i;
    ASSERT_EQ(response->body, "/r" + std::to_string(i));
  }
}

TEST(HttpServerTest, ChunkedRequestBodyIsDecoded) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi"));
  std::this_thread::sleep_for(milliseconds(20));  // let the parts arrive separately
  ASSERT_TRUE(client.Send("ki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /upload\nWikipedia");
  ASSERT_EQ(recorder.size(), 1u);
  EXPECT_EQ(recorder.Get()[0].body, "Wikipedia");
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

TEST(HttpServerTest, ChunkedResponseWhenNoContentLength) {
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(200, "", {{"Content-Type", "text/plain"}}, std::nullopt);
    writer->Write("hello ");
    writer->Write("");  // ignored: would end the body
    RunAfter(loop, 20, [writer] {
      writer->Write("world");
      writer->Finish();
    });
  });
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 2; ++i) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_TRUE(response->chunked);
    EXPECT_EQ(response->Header("Transfer-Encoding"), "chunked");
    EXPECT_FALSE(response->Has("Content-Length"));
    EXPECT_EQ(response->body, "hello world");
  }
}

TEST(HttpServerTest, HeadResponseHasNoBody) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.target == "/unknown-length") {
      writer->Start(200, "", {}, std::nullopt);
    } else {
      writer->Start(200, "", {}, 5);
    }
    writer->Write("hello");
    writer->Finish();
  });
  Client client(server.port());
  // If a body followed the HEAD response, the next read would choke on it.
  ASSERT_TRUE(
      client.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                  "HEAD /unknown-length HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> head = client.Read(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Length"), "5");
  std::optional<Response> head2 = client.Read(/*head_request=*/true);
  ASSERT_TRUE(head2);
  EXPECT_FALSE(head2->Has("Transfer-Encoding"));
  EXPECT_FALSE(head2->Has("Content-Length"));
  std::optional<Response> get = client.Read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello");
}

TEST(HttpServerTest, NoContentHasNoBody) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(request.target == "/204" ? 204 : 304, "", {}, std::nullopt);
    writer->Write("ignored");
    writer->Finish();
  });
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 204);
  EXPECT_FALSE(first->Has("Transfer-Encoding"));
  std::optional<Response> second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 304);
  EXPECT_EQ(second->head.substr(0, 27), "HTTP/1.1 304 Not Modified\r\n");
}

TEST(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  TestServer server;
  server.Start(EchoHandler());
  {
    Client client(server.port());
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "GET /old\n");
    EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    Client client(server.port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(AsciiLower(response->Header("Connection")), "keep-alive");
    ASSERT_TRUE(client.Send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    response = client.Read();
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
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->chunked);
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_EQ(response->body, "until close");
}

TEST(HttpServerTest, ConnectionCloseIsHonoured) {
  TestServer server;
  server.Start(EchoHandler());
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                  "GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /last\n");
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_EQ(rest, "");
  client.Close();  // else the server lingers up to 2 s for the client's FIN
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
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, Expect100Continue) {
  TestServer server;
  server.Start(EchoHandler());
  Client client(server.port());
  ASSERT_TRUE(client.Send(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<Response> interim = client.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  EXPECT_EQ(interim->head, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.Send("hello"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST /upload\nhello");
}

// ---------------------------------------------------------------------------
// Response writer behaviour

TEST(HttpServerTest, InvalidResponseHeadersAreDropped) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(201, "Made\r\nX-Evil: 1",
                  {{"X-Good", "ok"},
                   {"X-Bad", "a\r\nInjected: yes"},
                   {"Bad Name", "v"},
                   {"X-Nul", std::string("a\0b", 3)},
                   {"Content-Length", "999"},
                   {"Transfer-Encoding", "chunked"}},
                  2);
    writer->Write("ok");
    writer->Finish();
  });
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->head.substr(0, 22), "HTTP/1.1 201 Created\r\n");
  EXPECT_EQ(response->Header("X-Good"), "ok");
  EXPECT_FALSE(response->Has("X-Bad"));
  EXPECT_FALSE(response->Has("Injected"));
  EXPECT_FALSE(response->Has("X-Evil"));
  EXPECT_FALSE(response->Has("Bad Name"));
  EXPECT_FALSE(response->Has("X-Nul"));
  EXPECT_FALSE(response->Has("Transfer-Encoding"));
  EXPECT_EQ(response->Header("Content-Length"), "2");
  EXPECT_EQ(response->body, "ok");
}

TEST(HttpServerTest, DroppedWriterAndThrowingHandlerAnswer500) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.target == "/throw") throw std::runtime_error("boom");
    // "/drop": returns without answering; the writer dies with the last reference.
  });
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\nGET /throw HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 2; ++i) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    EXPECT_EQ(response->body, "500 Internal Server Error\n");
  }
}

TEST(HttpServerTest, SendErrorPageAnswersPlainText) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    SendErrorPage(*writer, 503, "No worker is loaded");
  });
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 2; ++i) {  // the connection stays usable
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_EQ(response->Header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(response->body, "503 Service Unavailable\nNo worker is loaded\n");
  }
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ErrorPage(799), "799\n");
}

TEST(HttpServerTest, HandlerAbortCutsTheResponse) {
  std::atomic<bool> abort_callback{false};
  std::atomic<bool> aborted_after{false};
  TestServer server;
  server.Start([&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->OnAbort([&] { abort_callback = true; });
    writer->Start(200, "", {}, std::nullopt);
    writer->Write("partial");
    writer->Abort();
    writer->Write("ignored");
    writer->Finish();
    aborted_after = writer->Aborted();
  });
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_NE(rest.find("7\r\npartial\r\n"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("0\r\n\r\n"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("ignored"), std::string::npos) << rest;
  EXPECT_TRUE(aborted_after.load());
  client.Close();
  EXPECT_TRUE(server.WaitForConnections(0));
  EXPECT_FALSE(abort_callback.load());
}

TEST(HttpServerTest, ShortContentLengthClosesTheConnection) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(200, "", {}, 10);
    writer->Write("short");
    writer->Finish();
  });
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_NE(rest.find("\r\n\r\nshort"), std::string::npos) << rest;
}

TEST(HttpServerTest, BackpressureAndDrain) {
  constexpr size_t kChunk = 64 * 1024;
  constexpr size_t kMaxTotal = 256 * 1024 * 1024;
  std::atomic<bool> waiting{false};
  std::atomic<bool> drained{false};
  std::atomic<size_t> total{0};
  std::atomic<size_t> peak{0};
  TestServer server;
  server.Start([&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(200, "", {}, std::nullopt);
    std::string chunk(kChunk, 'x');
    size_t written = 0;
    // The client is not reading: fill until the writer reports a backlog.
    while (writer->BufferedBytes() < 1024 * 1024 && written < kMaxTotal) {
      writer->Write(chunk);
      written += kChunk;
    }
    total = written;
    peak = writer->BufferedBytes();
    writer->OnDrain([writer, &drained] {
      drained = true;
      writer->Write("end");
      writer->Finish();
    });
    waiting = true;
  });
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return waiting.load(); }));
  EXPECT_GE(peak.load(), 1024u * 1024u);
  EXPECT_FALSE(drained.load());
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_TRUE(drained.load());
  EXPECT_EQ(response->body.size(), total.load() + 3);
  EXPECT_EQ(response->body.substr(response->body.size() - 3), "end");
}

// ---------------------------------------------------------------------------
// Limits and malformed input

TEST(HttpServerTest, HugeHeaderIs431) {
  Recorder recorder;
  ServerLimits limits;
  limits.max_header_bytes = 1024;
  TestServer server;
  server.Start(EchoHandler(&recorder), limits);
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_EQ(response->body, "431 Request Header Fields Too Large\n");
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(HttpServerTest, HeaderBlockOverDefaultLimitAcrossManyReadsIs431) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));  // 128 KiB
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n"));
  std::string line = "X-Filler: " + std::string(990, 'f') + "\r\n";
  for (int i = 0; i < 200; ++i) {
    if (!client.Send(line)) break;  // the server may answer before we are done
  }
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(HttpServerTest, DeclaredBodyOverLimitIs413) {
  Recorder recorder;
  ServerLimits limits;
  limits.max_body_bytes = 1024;
  TestServer server;
  server.Start(EchoHandler(&recorder), limits);
  Client client(server.port());
  ASSERT_TRUE(client.Send(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);  // and no 100 Continue first
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(HttpServerTest, BodyAtLimitIsAccepted) {
  ServerLimits limits;
  limits.max_body_bytes = 1024;
  TestServer server;
  server.Start(EchoHandler(), limits);
  Client client(server.port());
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" +
                          std::string(1024, 'b')));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 1024u + 7u);
}

TEST(HttpServerTest, ChunkedBodyOverLimitIs413) {
  Recorder recorder;
  ServerLimits limits;
  limits.max_body_bytes = 1024;
  TestServer server;
  server.Start(EchoHandler(&recorder), limits);
  Client client(server.port());
  std::string request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'c') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(client.Send(request));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(HttpServerTest, GarbageIs400) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  ASSERT_TRUE(client.Send(std::string("\x01\x02 garbage here\r\n\r\n")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
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
  std::optional<Response> first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  std::optional<Response> second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 400);
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(recorder.size(), 1u);
}

// Request smuggling defence: llhttp runs strict (no lenient flags), so a
// request with both Content-Length and Transfer-Encoding is refused.
TEST(HttpServerTest, ContentLengthWithTransferEncodingIs400) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  for (const char* request :
       {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        "0\r\n\r\n"}) {
    Client client(server.port());
    ASSERT_TRUE(client.Send(request));
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(client.WaitForClose());
  }
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(HttpServerTest, TransferEncodingNotEndingInChunkedIs400) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder));
  Client client(server.port());
  ASSERT_TRUE(client.Send(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(recorder.size(), 0u);
}

// ---------------------------------------------------------------------------
// Timeouts

TEST(HttpServerTest, SlowHeadersGet408) {
  ServerLimits limits;
  limits.header_timeout_ms = 200;
  TestServer server;
  server.Start(EchoHandler(), limits);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n"));  // never finished
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, SlowClientDoesNotBlockOthers) {
  ServerLimits limits;
  limits.header_timeout_ms = 60000;
  TestServer server;
  server.Start(EchoHandler(), limits);
  Client slow(server.port());
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\nHo"));
  Client fast(server.port());
  ASSERT_TRUE(fast.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> response = fast.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /fast\n");
}

TEST(HttpServerTest, SilentConnectionIsClosedWithoutAnswer) {
  ServerLimits limits;
  limits.header_timeout_ms = 200;
  TestServer server;
  server.Start(EchoHandler(), limits);
  Client client(server.port());
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_EQ(rest, "");
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerLimits limits;
  limits.idle_timeout_ms = 200;
  TestServer server;
  server.Start(EchoHandler(), limits);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  std::string rest;
  EXPECT_TRUE(client.WaitForClose(&rest));
  EXPECT_EQ(rest, "");  // closed silently
  EXPECT_TRUE(server.WaitForConnections(0));
}

TEST(HttpServerTest, ClientThatStopsReadingIsDisconnected) {
  ServerLimits limits;
  limits.idle_timeout_ms = 300;
  TestServer server;
  server.Start(
      [](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        std::string body(32 * 1024 * 1024, 'y');  // more than the socket buffers hold
        writer->Start(200, "", {}, body.size());
        writer->Write(body);
        writer->Finish();
      },
      limits);
  for (const char* connection : {"keep-alive", "close"}) {
    Client client(server.port());
    ASSERT_TRUE(client.Send(std::string("GET / HTTP/1.1\r\nHost: x\r\nConnection: ") + connection +
                            "\r\n\r\n"));
    ASSERT_TRUE(server.WaitForConnections(1));
    // Never reads: the server gives up once its writes stop making progress.
    EXPECT_TRUE(server.WaitForConnections(0)) << connection;
  }
}

// ---------------------------------------------------------------------------
// Disconnects and shutdown

TEST(HttpServerTest, ClientDisconnectMidResponseAborts) {
  std::atomic<bool> abort_fired{false};
  std::atomic<int> abort_count{0};
  std::shared_ptr<ResponseWriter> kept;
  std::mutex kept_mutex;
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([&, loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    {
      std::lock_guard<std::mutex> lock(kept_mutex);
      kept = writer;
    }
    writer->OnAbort([&] {
      abort_count++;
      abort_fired = true;
    });
    writer->Start(200, "", {}, std::nullopt);
    writer->Write("first");
    // Keep streaming until the client is gone.
    struct Streamer {
      uv_timer_t timer;
      std::shared_ptr<ResponseWriter> writer;
    };
    auto* streamer = new Streamer;
    streamer->writer = writer;
    uv_timer_init(loop, &streamer->timer);
    streamer->timer.data = streamer;
    uv_timer_start(
        &streamer->timer,
        [](uv_timer_t* timer) {
          auto* s = static_cast<Streamer*>(timer->data);
          if (s->writer->Aborted()) {
            uv_close(reinterpret_cast<uv_handle_t*>(timer),
                     [](uv_handle_t* handle) { delete static_cast<Streamer*>(handle->data); });
            return;
          }
          s->writer->Write("more");
        },
        10, 10);
  });
  {
    Client client(server.port());
    ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(client.ReadUntil("first"));
  }  // closes the socket mid-response
  ASSERT_TRUE(Eventually([&] { return abort_fired.load(); }));
  EXPECT_TRUE(server.WaitForConnections(0));
  bool aborted = server.thread().Call([&] {
    std::lock_guard<std::mutex> lock(kept_mutex);
    // Calls on the dead writer do nothing.
    kept->Write("ignored");
    kept->Finish();
    bool called_late = false;
    kept->OnAbort([&] { called_late = true; });
    return kept->Aborted() && called_late;
  });
  EXPECT_TRUE(aborted);
  EXPECT_EQ(abort_count.load(), 1);
  server.thread().Call([&] {
    std::lock_guard<std::mutex> lock(kept_mutex);
    kept.reset();
  });
  // Let the streaming timer notice and stop.
  std::this_thread::sleep_for(milliseconds(100));
}

TEST(HttpServerTest, ClientResetDuringLargeResponse) {
  std::atomic<bool> abort_fired{false};
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([&, loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->OnAbort([&] { abort_fired = true; });
    writer->Start(200, "", {}, std::nullopt);
    writer->Write("first");
    struct Streamer {
      uv_timer_t timer;
      std::shared_ptr<ResponseWriter> writer;
      std::string chunk = std::string(64 * 1024, 'z');
    };
    auto* streamer = new Streamer;
    streamer->writer = writer;
    uv_timer_init(loop, &streamer->timer);
    streamer->timer.data = streamer;
    uv_timer_start(
        &streamer->timer,
        [](uv_timer_t* timer) {
          auto* s = static_cast<Streamer*>(timer->data);
          if (s->writer->Aborted()) {
            uv_close(reinterpret_cast<uv_handle_t*>(timer),
                     [](uv_handle_t* handle) { delete static_cast<Streamer*>(handle->data); });
            return;
          }
          for (int i = 0; i < 4 && !s->writer->Aborted(); ++i) s->writer->Write(s->chunk);
        },
        1, 1);
  });
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("zzzz"));
  client.Reset();
  ASSERT_TRUE(Eventually([&] { return abort_fired.load(); }));
  EXPECT_TRUE(server.WaitForConnections(0));
  std::this_thread::sleep_for(milliseconds(50));  // the streaming timer stops
}

TEST(HttpServerTest, ShutdownWaitsForInFlightRequest) {
  std::atomic<bool> handling{false};
  std::atomic<bool> done{false};
  std::shared_ptr<ResponseWriter> pending;
  TestServer server;
  server.Start([&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.target == "/slow") {
      pending = writer;  // answered when the test says so
      handling = true;
      return;
    }
    writer->Start(200, "", {}, 2);
    writer->Write("ok");
    writer->Finish();
  });
  Client idle(server.port());
  ASSERT_TRUE(idle.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.Read());
  Client busy(server.port());
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return handling.load(); }));

  server.thread().Call([&] { server.server().Shutdown([&] { done = true; }); });
  // The idle connection is closed now; the busy one waits for its response.
  EXPECT_TRUE(idle.WaitForClose());
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
  std::optional<Response> response = busy.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "done");
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_TRUE(busy.WaitForClose());
  busy.Close();
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
      writer->Start(200, "", {}, name.size());
      writer->Write(name);
      writer->Finish();
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
    Client client(port);
    ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::optional<Response> response = client.Read();
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

// ---------------------------------------------------------------------------
// TLS

// Writes a self-signed certificate for `names` (the first is also its common
// name) and its EC P-256 key, as PEM files.
void WriteSelfSignedCertificate(const std::vector<std::string>& names, const std::string& cert_path,
                                const std::string& key_path) {
  static std::atomic<long> serial{1};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  std::string san;
  for (const std::string& name : names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  ASSERT_NE(extension, nullptr);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);

  FILE* cert_file = fopen(cert_path.c_str(), "w");
  ASSERT_NE(cert_file, nullptr);
  EXPECT_EQ(PEM_write_X509(cert_file, cert), 1);
  fclose(cert_file);
  FILE* key_file = fopen(key_path.c_str(), "w");
  ASSERT_NE(key_file, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  fclose(key_file);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// Two throwaway certificates in a temporary folder: `a` for a.example and
// c.example, `b` for *.b.example; and a TlsContext serving both (a first).
class TlsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "edge-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    a_ = {{"a.example", "c.example"}, dir_ + "/a.pem", dir_ + "/a.key"};
    b_ = {{"*.b.example"}, dir_ + "/b.pem", dir_ + "/b.key"};
    ASSERT_NO_FATAL_FAILURE(WriteSelfSignedCertificate(a_.hosts, a_.cert_path, a_.key_path));
    ASSERT_NO_FATAL_FAILURE(WriteSelfSignedCertificate(b_.hosts, b_.cert_path, b_.key_path));
    StatusOr<std::shared_ptr<TlsContext>> context = TlsContext::Create({a_, b_});
    ASSERT_TRUE(context.ok()) << context.status().message();
    tls_ = context.value();
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A client connected to `server` that finished a TLS handshake with
  // `server_name` as SNI.
  std::unique_ptr<Client> Connect(const TestServer& server, const std::string& server_name) {
    auto client = std::make_unique<Client>(server.port());
    EXPECT_TRUE(client->connected());
    TlsClientOptions options;
    options.server_name = server_name;
    EXPECT_TRUE(client->StartTls(options)) << client->tls_error();
    return client;
  }

  std::string dir_;
  TlsCertificate a_;
  TlsCertificate b_;
  std::shared_ptr<TlsContext> tls_;
};

class TlsContextTest : public TlsFixture {};
class HttpsServerTest : public TlsFixture {};

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
  missing.cert_path = dir_ + "/missing.pem";
  std::string message = error({missing});
  EXPECT_NE(message.find(missing.cert_path), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;

  TlsCertificate missing_key = a_;
  missing_key.key_path = dir_ + "/missing.key";
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
    std::unique_ptr<Client> client = Connect(server, c.server_name);
    EXPECT_EQ(client->PeerCommonName(), c.common_name) << c.server_name;
    if (!c.server_name.empty() && c.server_name != "unknown.example") {
      EXPECT_EQ(X509_check_host(client->PeerCertificate(), c.server_name.data(),
                                c.server_name.size(), 0, nullptr),
                1)
          << c.server_name;
    }
    ASSERT_TRUE(client->Send("GET /name HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::optional<Response> response = client->Read();
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

TEST_F(HttpsServerTest, GetAndChunkedPostOnOneKeepAliveConnection) {
  Recorder recorder;
  TestServer server;
  server.Start(EchoHandler(&recorder), {}, tls_);
  std::unique_ptr<Client> client = Connect(server, "a.example");
  ASSERT_TRUE(client->Send("GET /one HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  std::optional<Response> first = client->Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "GET /one\n");
  EXPECT_FALSE(first->Has("Connection"));

  ASSERT_TRUE(client->Send(
      "POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi"));
  std::this_thread::sleep_for(milliseconds(20));  // in two records
  ASSERT_TRUE(client->Send("ki\r\n5\r\npedia\r\n0\r\n\r\n"));
  std::optional<Response> second = client->Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "POST /upload\nWikipedia");
  EXPECT_EQ(server.connections(), 1u);
  ASSERT_EQ(recorder.size(), 2u);
  EXPECT_EQ(recorder.Get()[1].body, "Wikipedia");
}

TEST_F(HttpsServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start(
      [loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        std::string target = request.target;
        auto respond = [writer, target] {
          writer->Start(200, "", {}, target.size());
          writer->Write(target);
          writer->Finish();
        };
        if (target == "/slow") {
          RunAfter(loop, 50, respond);
        } else {
          RunAfter(loop, 0, respond);
        }
      },
      {}, tls_);
  std::unique_ptr<Client> client = Connect(server, "a.example");
  // About 100 KiB in one go: more than the server keeps while a request is
  // handled, so reading stops and resumes with plaintext already decrypted.
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
  std::unique_ptr<Client> client = Connect(server, "a.example");
  ASSERT_TRUE(client->Send("GET /after HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  std::optional<Response> response = client->Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /after\n");
}

TEST_F(HttpsServerTest, Tls11ClientIsRefused) {
  TestServer server;
  server.Start(EchoHandler(), {}, tls_);
  Client old(server.port());
  TlsClientOptions options;
  options.server_name = "a.example";
  options.max_version = TLS1_1_VERSION;
  EXPECT_FALSE(old.StartTls(options));
  // The server's refusal, not the client's inability to offer TLS 1.1.
  EXPECT_NE(old.tls_error().find("protocol version"), std::string::npos) << old.tls_error();
  EXPECT_TRUE(server.WaitForConnections(0));

  std::unique_ptr<Client> client = Connect(server, "a.example");
  ASSERT_TRUE(client->Send("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  EXPECT_TRUE(client->Read());
}

TEST_F(HttpsServerTest, AlpnSelectsHttp11OrNothing) {
  TestServer server;
  server.Start(EchoHandler(), {}, tls_);
  for (auto [offer, selected] :
       {std::pair<std::vector<std::string>, std::string>{{"h2", "http/1.1"}, "http/1.1"},
        {{"h2"}, ""},
        {{}, ""}}) {
    Client client(server.port());
    TlsClientOptions options;
    options.server_name = "a.example";
    options.alpn = offer;
    ASSERT_TRUE(client.StartTls(options)) << client.tls_error();
    EXPECT_EQ(client.Alpn(), selected);
    ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
    EXPECT_TRUE(client.Read());
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
  std::unique_ptr<Client> client = Connect(server, "a.example");
  ASSERT_TRUE(client->Send("GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  // Not reading yet: once the socket buffers are full, the writer must wait.
  EXPECT_TRUE(Eventually([&] { return waits.load() > 0; }));
  std::optional<Response> response = client->Read();
  ASSERT_TRUE(response);
  ASSERT_EQ(response->body.size(), body.size());
  EXPECT_TRUE(response->body == body);
  EXPECT_GE(peak.load(), kWriterDrainThreshold);
  // Still good for another request.
  ASSERT_TRUE(client->Send("GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  response = client->Read();
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->body == body);
}

TEST_F(HttpsServerTest, HandshakeIsBoundedByTheHeaderTimeout) {
  ServerLimits limits;
  limits.header_timeout_ms = 200;
  TestServer server;
  server.Start(EchoHandler(), limits, tls_);
  auto start = std::chrono::steady_clock::now();
  Client silent(server.port());
  Client partial(server.port());  // the start of a ClientHello, then nothing
  ASSERT_TRUE(partial.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  EXPECT_TRUE(silent.WaitForClose());
  EXPECT_TRUE(partial.WaitForClose());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(150));
  EXPECT_TRUE(server.WaitForConnections(0));
}

TEST_F(HttpsServerTest, ConnectionCloseEndsWithCloseNotify) {
  TestServer server;
  server.Start(EchoHandler(), {}, tls_);
  std::unique_ptr<Client> client = Connect(server, "a.example");
  ASSERT_TRUE(client->Send("GET /bye HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n"));
  std::optional<Response> response = client->Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "GET /bye\n");
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_TRUE(client->ReceivedCloseNotify());
}

TEST_F(HttpsServerTest, HandlerAbortCutsTheResponse) {
  TestServer server;
  server.Start(
      [](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        writer->Start(200, "", {}, std::nullopt);
        writer->Write("partial");
        writer->Abort();
      },
      {}, tls_);
  std::unique_ptr<Client> client = Connect(server, "a.example");
  ASSERT_TRUE(client->Send("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  std::string rest;
  EXPECT_TRUE(client->WaitForClose(&rest));
  EXPECT_NE(rest.find("7\r\npartial\r\n"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("0\r\n\r\n"), std::string::npos) << rest;
  client->Close();
  EXPECT_TRUE(server.WaitForConnections(0));
}

TEST_F(HttpsServerTest, ShutdownWaitsForInFlightRequest) {
  std::atomic<bool> handling{false};
  std::atomic<bool> done{false};
  std::shared_ptr<ResponseWriter> pending;
  TestServer server;
  server.Start(
      [&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        if (request.target == "/slow") {
          pending = writer;
          handling = true;
          return;
        }
        writer->Start(200, "", {}, 2);
        writer->Write("ok");
        writer->Finish();
      },
      {}, tls_);
  std::unique_ptr<Client> idle = Connect(server, "a.example");
  ASSERT_TRUE(idle->Send("GET /fast HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  ASSERT_TRUE(idle->Read());
  std::unique_ptr<Client> busy = Connect(server, "x.b.example");
  ASSERT_TRUE(busy->Send("GET /slow HTTP/1.1\r\nHost: x.b.example\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return handling.load(); }));

  server.thread().Call([&] { server.server().Shutdown([&] { done = true; }); });
  EXPECT_TRUE(idle->WaitForClose());
  EXPECT_TRUE(server.WaitForConnections(1));
  EXPECT_FALSE(done.load());
  server.thread().Call([&] {
    pending->Start(200, "", {}, 4);
    pending->Write("done");
    pending->Finish();
    pending.reset();
  });
  std::optional<Response> response = busy->Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "done");
  EXPECT_EQ(AsciiLower(response->Header("Connection")), "close");
  EXPECT_TRUE(busy->WaitForClose());
  EXPECT_TRUE(busy->ReceivedCloseNotify());
  busy->Close();
  EXPECT_TRUE(Eventually([&] { return done.load(); }));
  EXPECT_EQ(server.connections(), 0u);
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
  Client http(plain_port);
  ASSERT_TRUE(http.Send("GET /plain HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  ASSERT_TRUE(http.Read());
  Client https(tls_port);
  TlsClientOptions options;
  options.server_name = "a.example";
  ASSERT_TRUE(https.StartTls(options)) << https.tls_error();
  ASSERT_TRUE(https.Send("GET /secure HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  ASSERT_TRUE(https.Read());
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
