// The HTTP server writing responses: framing (Content-Length, chunked, none
// for HEAD, 204 and 304), headers it refuses to send, its own error pages,
// responses cut short, backpressure, and clients that stop reading or leave
// in the middle of a streamed body.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "gateway/http/http_server.h"
#include "gateway/http/status_pages.h"
#include "base/uv_handle.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/http/testing/http_test_server.h"

namespace edge::gateway {
namespace {

using std::chrono::milliseconds;
using testing::Client;
using testing::Eventually;
using testing::Response;
using testing::RunEvery;
using testing::TestServer;

TEST(HttpServerTest, ChunkedResponseWhenNoContentLength) {
  TestServer server;
  uv_loop_t* loop = server.loop();
  server.Start([loop](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->Start(200, "", {{"Content-Type", "text/plain"}}, std::nullopt);
    writer->Write("hello ");
    writer->Write("");  // ignored: would end the body
    base::RunAfter(loop, 20, [writer] {
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
  std::optional<Response> response =
      testing::RoundTrip(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->head.substr(0, 22), "HTTP/1.1 201 Created\r\n");
  EXPECT_EQ(response->Header("X-Good"), "ok");
  for (const char* dropped :
       {"X-Bad", "Injected", "X-Evil", "Bad Name", "X-Nul", "Transfer-Encoding"}) {
    EXPECT_FALSE(response->Has(dropped)) << dropped;
  }
  EXPECT_EQ(response->Header("Content-Length"), "2");
  EXPECT_EQ(response->body, "ok");
}

// Pipelines requests for `first_target` and `second_target` on one
// connection and expects the server's plain-text page for `status` with
// `body` as both answers (the connection stays usable after the first).
void ExpectErrorPageTwice(int port, std::string_view first_target, std::string_view second_target,
                          int status, std::string_view body) {
  Client client(port);
  ASSERT_TRUE(client.Send(testing::RequestText("GET", first_target, "x") +
                          testing::RequestText("GET", second_target, "x")));
  for (int i = 0; i < 2; ++i) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(response->Header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(response->body, body);
  }
}

TEST(HttpServerTest, DroppedWriterAndThrowingHandlerAnswer500) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.target == "/throw") throw std::runtime_error("boom");
    // "/drop": returns without answering; the writer dies with the last reference.
  });
  ExpectErrorPageTwice(server.port(), "/drop", "/throw", 500, "500 Internal Server Error\n");
}

TEST(HttpServerTest, SendErrorPageAnswersPlainText) {
  TestServer server;
  server.Start([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    SendErrorPage(*writer, 503, "No worker is loaded");
  });
  ExpectErrorPageTwice(server.port(), "/", "/", 503,
                       "503 Service Unavailable\nNo worker is loaded\n");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ErrorPage(799), "799\n");
}

EDGE_TRANSPORT_TEST_SUITE(HttpResponseTest);

TEST_P(HttpResponseTest, HandlerAbortCutsTheResponse) {
  std::atomic<bool> abort_callback{false};
  std::atomic<bool> aborted_after{false};
  TestServer server;
  Start(server, [&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->OnAbort([&] { abort_callback = true; });
    writer->Start(200, "", {}, std::nullopt);
    writer->Write("partial");
    writer->Abort();
    writer->Write("ignored");
    writer->Finish();
    aborted_after = writer->Aborted();
  });
  std::unique_ptr<Client> client = Connect(server);
  ASSERT_TRUE(client->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string rest;
  EXPECT_TRUE(client->WaitForClose(&rest));
  EXPECT_NE(rest.find("7\r\npartial\r\n"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("0\r\n\r\n"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("ignored"), std::string::npos) << rest;
  client->Close();
  // The connection is released on the loop after the handler has returned,
  // so from here on the handler's last store is visible (over TLS the client
  // can see the close before the handler is done).
  EXPECT_TRUE(server.WaitForConnections(0));
  EXPECT_TRUE(aborted_after.load());
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

TEST(HttpServerTest, ClientThatStopsReadingIsDisconnected) {
  TestServer server;
  server.Start(
      [](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
        // More than the socket buffers hold.
        testing::Answer(*writer, std::string(32 * 1024 * 1024, 'y'));
      },
      {.idle_timeout_ms = 300});
  for (const char* connection : {"keep-alive", "close"}) {
    Client client(server.port());
    ASSERT_TRUE(client.Send(std::string("GET / HTTP/1.1\r\nHost: x\r\nConnection: ") + connection +
                            "\r\n\r\n"));
    ASSERT_TRUE(server.WaitForConnections(1));
    // Never reads: the server gives up once its writes stop making progress.
    EXPECT_TRUE(server.WaitForConnections(0)) << connection;
  }
}

// A handler that starts a chunked body with "first", then every
// `interval_ms` writes `more` until the client is gone; it counts the
// OnAbort calls and keeps the last writer.
class Streamer {
 public:
  Streamer(uv_loop_t* loop, uint64_t interval_ms, std::string more)
      : loop_(loop), interval_ms_(interval_ms), more_(std::move(more)) {}

  RequestHandler Handler() {
    return [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        kept_ = writer;
      }
      writer->OnAbort([this] { ++aborts_; });
      writer->Start(200, "", {}, std::nullopt);
      writer->Write("first");
      RunEvery(loop_, interval_ms_, [writer, more = more_] {
        for (int i = 0; i < 4 && !writer->Aborted(); ++i) writer->Write(more);
        return !writer->Aborted();
      });
    };
  }
  int aborts() const { return aborts_.load(); }
  // On the loop thread.
  std::shared_ptr<ResponseWriter> TakeWriter() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(kept_);
  }

 private:
  uv_loop_t* loop_;
  uint64_t interval_ms_;
  std::string more_;
  std::atomic<int> aborts_{0};
  std::mutex mutex_;
  std::shared_ptr<ResponseWriter> kept_;
};

TEST(HttpServerTest, ClientDisconnectMidResponseAborts) {
  TestServer server;
  Streamer streamer(server.loop(), 10, "more");
  server.Start(streamer.Handler());
  {
    Client client(server.port());
    ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(client.ReadUntil("first"));
  }  // closes the socket mid-response
  ASSERT_TRUE(Eventually([&] { return streamer.aborts() > 0; }));
  EXPECT_TRUE(server.WaitForConnections(0));
  bool aborted = server.thread().Call([&] {
    std::shared_ptr<ResponseWriter> kept = streamer.TakeWriter();
    // Calls on the dead writer do nothing.
    kept->Write("ignored");
    kept->Finish();
    bool called_late = false;
    kept->OnAbort([&] { called_late = true; });
    return kept->Aborted() && called_late;
  });
  EXPECT_TRUE(aborted);
  EXPECT_EQ(streamer.aborts(), 1);
  // Let the streaming timer notice and stop.
  std::this_thread::sleep_for(milliseconds(100));
}

TEST(HttpServerTest, ClientResetDuringLargeResponse) {
  TestServer server;
  Streamer streamer(server.loop(), 1, std::string(64 * 1024, 'z'));
  server.Start(streamer.Handler());
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("zzzz"));
  client.Reset();
  ASSERT_TRUE(Eventually([&] { return streamer.aborts() > 0; }));
  EXPECT_TRUE(server.WaitForConnections(0));
  server.thread().Call([&] { streamer.TakeWriter(); });
  std::this_thread::sleep_for(milliseconds(50));  // the streaming timer stops
}

}  // namespace
}  // namespace edge::gateway
