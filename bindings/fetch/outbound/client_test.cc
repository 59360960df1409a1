// The outbound client against real sockets: a threaded test server (plain
// and TLS, with certificates made by the openssl command at test time).
#include "bindings/fetch/outbound/client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/http_client/testing/test_server.h"
#include "bindings/fetch/testing/compress.h"

namespace edge::bindings::outbound {
namespace {

using base::testing::ServerConnection;
using base::testing::ServerRequest;
using base::testing::TestCertificates;
using base::testing::TestServer;
using namespace std::chrono_literals;

// What one request ended with.
struct Outcome {
  bool done = false;
  Status error;
  bool has_head = false;
  ResponseHead head;
  std::string body;
};

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() { uv_loop_init(&loop_); }
  ~ClientTest() override {
    client_.reset();
    calls_.clear();
    pumps_.clear();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  Client& client() {
    if (!client_) client_ = std::make_unique<Client>(options_);
    return *client_;
  }

  static RequestHead Get(int port, std::string path = "/", bool tls = false,
                         std::string host = "127.0.0.1") {
    RequestHead head;
    head.method = "GET";
    head.target.tls = tls;
    head.target.host = std::move(host);
    head.target.port = static_cast<uint16_t>(port);
    head.target.path = std::move(path);
    return head;
  }

  // Starts a request whose body (if any) is read as it arrives.
  std::shared_ptr<Outcome> Start(RequestHead head, BodyKind kind = BodyKind::kNone,
                                 std::string bytes = {}, bool read_body = true) {
    auto outcome = std::make_shared<Outcome>();
    auto call = client().Start(&loop_, std::move(head), kind, std::move(bytes));
    if (!call.ok()) {
      outcome->done = true;
      outcome->error = call.status();
      return outcome;
    }
    std::shared_ptr<Call> c = call.value();
    calls_.push_back(c);
    std::weak_ptr<Call> weak = c;
    auto owned_pump = std::make_shared<std::function<void()>>();
    pumps_.push_back(owned_pump);
    std::function<void()>* pump = owned_pump.get();
    *pump = [weak, outcome] {
      auto c = weak.lock();
      if (!c) return;
      for (;;) {
        Call::ReadResult r = c->Read();
        if (r.kind == Call::ReadResult::kData) {
          outcome->body += r.data;
          continue;
        }
        if (r.kind == Call::ReadResult::kEnd) outcome->done = true;
        if (r.kind == Call::ReadResult::kError) {
          outcome->error = r.error;
          outcome->done = true;
        }
        return;
      }
    };
    c->on_readable = [pump] { (*pump)(); };
    c->on_response = [outcome, pump, read_body](StatusOr<ResponseHead> head) {
      if (!head.ok()) {
        outcome->error = head.status();
        outcome->done = true;
        return;
      }
      outcome->has_head = true;
      outcome->head = std::move(head).value();
      if (read_body) (*pump)();
    };
    return outcome;
  }

  // Starts a request and runs the loop until it is done.
  std::shared_ptr<Outcome> Fetch(RequestHead head) {
    auto outcome = Start(std::move(head));
    EXPECT_TRUE(RunUntil([&] { return outcome->done; })) << "the request never ended";
    return outcome;
  }

  // A server that answers one request with `raw` bytes, then closes.
  static TestServer::Handler ReplyOnce(std::string raw) {
    return [raw](ServerConnection& c) {
      ServerRequest r;
      if (c.ReadRequest(&r)) c.Write(raw);
    };
  }

  std::shared_ptr<Call> LastCall() { return calls_.back(); }

  // Runs the loop until `done()` or `timeout` passes; false on timeout.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    uv_timer_start(
        &tick, [](uv_timer_t*) {}, 5, 5);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool ok = true;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ok = false;
        break;
      }
      uv_run(&loop_, UV_RUN_ONCE);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return ok;
  }

  void RunFor(std::chrono::milliseconds duration) {
    auto until = std::chrono::steady_clock::now() + duration;
    RunUntil([&] { return std::chrono::steady_clock::now() > until; }, duration + 1s);
  }

  uv_loop_t loop_;
  ClientOptions options_;
  std::unique_ptr<Client> client_;
  std::vector<std::shared_ptr<Call>> calls_;
  std::vector<std::shared_ptr<std::function<void()>>> pumps_;
};

TestServer::Handler Echo() {
  return TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    std::string body = r.method + " " + r.target + " " + r.body;
    c.Respond(200,
              {{"X-Host", r.Header("host")},
               {"X-Chunked", r.chunked ? "yes" : "no"},
               {"X-Length", r.Header("content-length")},
               {"X-Accept-Encoding", r.Header("accept-encoding")}},
              body);
  });
}

TEST_F(ClientTest, GetAndKeepAliveReuse) {
  TestServer server(Echo());
  for (int i = 0; i < 5; ++i) {
    auto outcome = Fetch(Get(server.port(), "/n" + std::to_string(i)));
    ASSERT_TRUE(outcome->error.ok()) << outcome->error.message();
    EXPECT_EQ(outcome->head.status, 200);
    EXPECT_EQ(outcome->head.status_text, "OK");
    EXPECT_EQ(outcome->body, "GET /n" + std::to_string(i) + " ");
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(client().stats().connections_opened.load(), 1u);
  EXPECT_EQ(client().stats().connections_reused.load(), 4u);
}

TEST_F(ClientTest, HostHeaderComesFromTheUrlAndAcceptEncodingIsOffered) {
  TestServer server(Echo());
  RequestHead head = Get(server.port(), "/h");
  head.headers = {{"Host", "evil.example"}, {"Connection", "close"}, {"X-Mine", "1"}};
  auto outcome = Start(std::move(head));
  ASSERT_TRUE(RunUntil([&] { return outcome->done; }));
  std::string host, accept_encoding;
  for (auto& [name, value] : outcome->head.headers) {
    if (name == "X-Host") host = value;
    if (name == "X-Accept-Encoding") accept_encoding = value;
  }
  EXPECT_EQ(host, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(accept_encoding, "gzip, deflate");
}

TEST_F(ClientTest, PoolBoundHoldsUnderManyConcurrentRequests) {
  options_.max_connections_per_origin = 4;
  TestServer server(TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    std::this_thread::sleep_for(20ms);
    c.Respond(200, {}, r.target);
  }));
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < 60; ++i)
    outcomes.push_back(Start(Get(server.port(), "/" + std::to_string(i))));
  ASSERT_TRUE(RunUntil(
      [&] {
        for (auto& o : outcomes) {
          if (!o->done) return false;
        }
        return true;
      },
      30s));
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(outcomes[i]->error.ok()) << outcomes[i]->error.message();
    EXPECT_EQ(outcomes[i]->body, "/" + std::to_string(i));
  }
  EXPECT_LE(server.max_open_connections(), 4);
  EXPECT_LE(server.accepted(), 4);
  EXPECT_LE(client().stats().max_connections_open.load(), 4);
}

// Done or not, for each outcome.
static size_t CountDone(const std::vector<std::shared_ptr<Outcome>>& outcomes) {
  size_t done = 0;
  for (const auto& o : outcomes) done += o->done ? 1 : 0;
  return done;
}

static RequestHead WithTenant(RequestHead head, std::string tenant) {
  head.tenant = std::move(tenant);
  return head;
}

TEST_F(ClientTest, OneTenantHoldsAtMostItsShareOfAnOriginsConnections) {
  options_.max_connections_per_origin = 4;  // share: 2
  TestServer server(TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    std::this_thread::sleep_for(10ms);
    c.Respond(200, {}, r.target);
  }));
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < 20; ++i)
    outcomes.push_back(Start(WithTenant(Get(server.port(), "/" + std::to_string(i)), "a")));
  ASSERT_TRUE(RunUntil([&] { return CountDone(outcomes) == outcomes.size(); }, 30s));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(outcomes[i]->error.ok()) << outcomes[i]->error.message();
    EXPECT_EQ(outcomes[i]->body, "/" + std::to_string(i));  // FIFO within a tenant
  }
  EXPECT_LE(server.max_open_connections(), 2);
}

TEST_F(ClientTest, TheShareCanBeTheWholePool) {
  options_.max_connections_per_origin = 4;
  options_.max_connections_per_tenant_per_origin = 4;
  std::atomic<int> busy{0};
  std::atomic<int> most{0};
  TestServer server(TestServer::EachRequest([&](ServerConnection& c, const ServerRequest& r) {
    int now = ++busy;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(20ms);
    --busy;
    c.Respond(200, {}, r.target);
  }));
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < 12; ++i) outcomes.push_back(Start(WithTenant(Get(server.port()), "a")));
  ASSERT_TRUE(RunUntil([&] { return CountDone(outcomes) == outcomes.size(); }, 30s));
  EXPECT_LE(server.max_open_connections(), 4);
  EXPECT_GT(server.max_open_connections(), 2);
}

TEST_F(ClientTest, AnotherTenantIsNotQueuedBehindOnesBacklog) {
  options_.max_connections_per_origin = 2;  // share: 1 each
  TestServer server(TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    std::this_thread::sleep_for(20ms);
    c.Respond(200, {}, r.target);
  }));
  std::vector<std::shared_ptr<Outcome>> backlog;
  for (int i = 0; i < 30; ++i) backlog.push_back(Start(WithTenant(Get(server.port()), "hog")));
  auto victim = Start(WithTenant(Get(server.port(), "/victim"), "victim"));
  ASSERT_TRUE(RunUntil([&] { return victim->done; }, 30s));
  ASSERT_TRUE(victim->error.ok()) << victim->error.message();
  EXPECT_EQ(victim->body, "/victim");
  // In one FIFO the victim would have waited for all 30 (two at a time).
  EXPECT_LT(CountDone(backlog), 10u);
  ASSERT_TRUE(RunUntil([&] { return CountDone(backlog) == backlog.size(); }, 30s));
  for (const auto& o : backlog) EXPECT_TRUE(o->error.ok()) << o->error.message();
}

// Several origins (one test server each) whose handlers share counters of
// the requests they are answering at once.
struct Origins {
  std::atomic<int> busy{0};
  std::atomic<int> most{0};
  std::vector<std::unique_ptr<TestServer>> servers;
  Origins(int count, std::chrono::milliseconds delay) {
    for (int i = 0; i < count; ++i) {
      servers.push_back(std::make_unique<TestServer>(
          TestServer::EachRequest([this, delay](ServerConnection& c, const ServerRequest& r) {
            int now = ++busy;
            for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
            }
            std::this_thread::sleep_for(delay);
            --busy;
            c.Respond(200, {}, r.target);
          })));
    }
  }
  int port(size_t i) const { return servers[i % servers.size()]->port(); }
};

TEST_F(ClientTest, OneTenantsRequestsAcrossOriginsAreBounded) {
  options_.max_requests_per_tenant = 3;
  Origins origins(6, 30ms);
  std::vector<std::shared_ptr<Outcome>> hog;
  for (int i = 0; i < 24; ++i) {
    hog.push_back(
        Start(WithTenant(Get(origins.port(i), "/" + std::to_string(i)), "hog")));
  }
  auto victim = Start(WithTenant(Get(origins.port(0), "/victim"), "victim"));
  ASSERT_TRUE(RunUntil([&] { return victim->done; }, 30s));
  ASSERT_TRUE(victim->error.ok()) << victim->error.message();
  EXPECT_EQ(victim->body, "/victim");
  // Admitted three at a time, the hog's 24 take 8 rounds; the victim went
  // in beside the first of them.
  EXPECT_LT(CountDone(hog), 12u);
  ASSERT_TRUE(RunUntil([&] { return CountDone(hog) == hog.size(); }, 30s));
  for (int i = 0; i < 24; ++i) {
    ASSERT_TRUE(hog[i]->error.ok()) << hog[i]->error.message();
    EXPECT_EQ(hog[i]->body, "/" + std::to_string(i));
  }
  // The hog's three plus the victim's one, never more, over six origins.
  EXPECT_LE(origins.most.load(), 4);
  EXPECT_GE(client().stats().tenant_held.load(), 20u);
}

TEST_F(ClientTest, AHeldRequestCanBeCancelledOrTimeOut) {
  options_.max_requests_per_tenant = 1;
  options_.response_header_timeout_ms = 300;
  std::atomic<bool> release{false};
  TestServer server(TestServer::EachRequest([&](ServerConnection& c, const ServerRequest& r) {
    if (r.target == "/slow") {  // the head at once, the body's end later
      c.Write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst");
      while (!release) std::this_thread::sleep_for(5ms);
      c.Write("later");
      return;
    }
    c.Respond(200, {}, r.target);
  }));
  auto slow = Start(WithTenant(Get(server.port(), "/slow"), "a"));
  auto cancelled = Start(WithTenant(Get(server.port(), "/cancelled"), "a"));
  auto cancelled_call = LastCall();
  auto timed_out = Start(WithTenant(Get(server.port(), "/timed-out"), "a"));
  RunFor(50ms);
  cancelled_call->Cancel();
  // Held behind /slow, the third request's header timeout still runs, and
  // its error says it was never sent.
  ASSERT_TRUE(RunUntil([&] { return timed_out->done; }));
  EXPECT_NE(timed_out->error.message().find("waited 300 ms behind 1 other requests of the same "
                                            "account without being sent"),
            std::string::npos)
      << timed_out->error.message();
  EXPECT_FALSE(slow->done);
  release = true;
  ASSERT_TRUE(RunUntil([&] { return slow->done; }));
  ASSERT_TRUE(slow->error.ok()) << slow->error.message();
  EXPECT_EQ(slow->body, "firstlater");
  EXPECT_FALSE(cancelled->done);
  // The tenant's queue is empty again: a new request goes at once.
  auto next = Fetch(WithTenant(Get(server.port(), "/next"), "a"));
  ASSERT_TRUE(next->error.ok()) << next->error.message();
  EXPECT_EQ(next->body, "/next");
}

TEST_F(ClientTest, IdleConnectionsOfOtherOriginsMakeRoomUnderTheBound) {
  options_.max_connections = 3;
  Origins origins(8, 0ms);
  // One request at a time to eight origins, each leaving a keep-alive
  // connection: the oldest idle ones are closed as new ones open.
  for (int i = 0; i < 8; ++i) {
    auto outcome = Fetch(Get(origins.port(i), "/" + std::to_string(i)));
    ASSERT_TRUE(outcome->error.ok()) << i << ": " << outcome->error.message();
  }
  EXPECT_LE(client().stats().max_connections_open.load(), 3);
  EXPECT_EQ(client().stats().idle_evicted.load(), 5u);
  // The most recent origin's connection is still there to be reused.
  uint64_t reused = client().stats().connections_reused.load();
  auto again = Fetch(Get(origins.port(7), "/again"));
  ASSERT_TRUE(again->error.ok()) << again->error.message();
  EXPECT_EQ(client().stats().connections_reused.load(), reused + 1);
}

TEST_F(ClientTest, AtTheBoundWithNothingIdleANewOriginWaits) {
  options_.max_connections = 2;
  Origins origins(3, 150ms);
  auto first = Start(Get(origins.port(0), "/a"));
  auto second = Start(Get(origins.port(1), "/b"));
  RunFor(30ms);
  auto third = Start(Get(origins.port(2), "/c"));
  ASSERT_TRUE(RunUntil([&] { return first->done && second->done && third->done; }, 30s));
  for (auto* o : {&first, &second, &third}) ASSERT_TRUE((*o)->error.ok()) << (*o)->error.message();
  EXPECT_EQ(third->body, "/c");
  EXPECT_LE(client().stats().max_connections_open.load(), 2);
  EXPECT_LE(origins.most.load(), 2);
}

TEST_F(ClientTest, PoolIsSharedByCallersOnSeveralThreads) {
  options_.max_connections_per_origin = 3;
  TestServer server(TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    std::this_thread::sleep_for(5ms);
    c.Respond(200, {}, "ok");
  }));
  Client& shared = client();
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      uv_loop_t loop;
      uv_loop_init(&loop);
      int done = 0;
      std::vector<std::shared_ptr<Call>> calls;
      for (int i = 0; i < 20; ++i) {
        auto call = shared.Start(&loop, Get(server.port()), BodyKind::kNone);
        ASSERT_TRUE(call.ok());
        std::shared_ptr<Call> c = call.value();
        calls.push_back(c);
        Call* raw = c.get();
        auto drain = [raw, &done, &succeeded] {
          for (;;) {
            auto r = raw->Read();
            if (r.kind == Call::ReadResult::kData) continue;
            if (r.kind == Call::ReadResult::kEnd) {
              ++succeeded;
              ++done;
            } else if (r.kind == Call::ReadResult::kError) {
              ++done;
            }
            return;
          }
        };
        c->on_readable = drain;
        c->on_response = [drain, &done](StatusOr<ResponseHead> head) {
          if (!head.ok()) {
            ++done;
            return;
          }
          drain();
        };
      }
      while (done < 20) uv_run(&loop, UV_RUN_ONCE);
      calls.clear();
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 80);
  EXPECT_LE(server.max_open_connections(), 3);
  EXPECT_LE(server.accepted(), 3);
}

TEST_F(ClientTest, ResponseBodyFramings) {
  TestServer server([](ServerConnection& c) {
    ServerRequest r;
    while (c.ReadRequest(&r)) {
      if (r.target == "/chunked") {
        c.Write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
            "world\r\n0\r\n\r\n");
      } else if (r.target == "/continue") {
        c.Write(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone");
      } else if (r.target == "/204") {
        c.Write("HTTP/1.1 204 No Content\r\n\r\n");
      } else if (r.target == "/head") {
        c.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      } else if (r.target == "/close") {
        c.Write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
        return;
      }
    }
  });
  auto chunked = Fetch(Get(server.port(), "/chunked"));
  EXPECT_EQ(chunked->body, "hello world");
  auto cont = Fetch(Get(server.port(), "/continue"));
  EXPECT_EQ(cont->head.status, 201);
  EXPECT_EQ(cont->body, "done");
  auto no_content = Start(Get(server.port(), "/204"));
  ASSERT_TRUE(RunUntil([&] { return no_content->has_head; }));
  EXPECT_FALSE(no_content->head.has_body);
  RequestHead head = Get(server.port(), "/head");
  head.method = "HEAD";
  auto head_outcome = Start(std::move(head));
  ASSERT_TRUE(RunUntil([&] { return head_outcome->has_head; }));
  EXPECT_FALSE(head_outcome->head.has_body);
  auto after_head = Start(Get(server.port(), "/chunked"));  // same connection, still in sync
  ASSERT_TRUE(RunUntil([&] { return after_head->done; }));
  EXPECT_EQ(after_head->body, "hello world");
  auto until_close = Fetch(Get(server.port(), "/close"));
  ASSERT_TRUE(until_close->error.ok()) << until_close->error.message();
  EXPECT_EQ(until_close->body, "until the end");
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(ClientTest, RequestBodies) {
  TestServer server(Echo());
  RequestHead post = Get(server.port(), "/bytes");
  post.method = "POST";
  auto bytes = Start(std::move(post), BodyKind::kBytes, "payload");
  ASSERT_TRUE(RunUntil([&] { return bytes->done; }));
  EXPECT_EQ(bytes->body, "POST /bytes payload");

  RequestHead put = Get(server.port(), "/stream");
  put.method = "PUT";
  auto streamed = Start(std::move(put), BodyKind::kStream);
  auto call = LastCall();
  EXPECT_FALSE(call->Write("part1,"));
  EXPECT_FALSE(call->Write("part2"));
  call->EndBody();
  ASSERT_TRUE(RunUntil([&] { return streamed->done; }));
  EXPECT_EQ(streamed->body, "PUT /stream part1,part2");
  bool chunked = false;
  for (auto& [name, value] : streamed->head.headers)
    chunked |= name == "X-Chunked" && value == "yes";
  EXPECT_TRUE(chunked);

  RequestHead sized = Get(server.port(), "/sized");
  sized.method = "POST";
  sized.headers = {{"Content-Length", "6"}};
  auto with_length = Start(std::move(sized), BodyKind::kStream);
  call = LastCall();
  call->Write("abc");
  call->Write("def");
  call->EndBody();
  ASSERT_TRUE(RunUntil([&] { return with_length->done; }));
  EXPECT_EQ(with_length->body, "POST /sized abcdef");
  std::string length;
  for (auto& [name, value] : with_length->head.headers) {
    if (name == "X-Length") length = value;
  }
  EXPECT_EQ(length, "6");
}

TEST_F(ClientTest, StreamedUploadHasBackpressure) {
  options_.upload_high_water_bytes = 64 * 1024;
  std::atomic<bool> release{false};
  TestServer server([&](ServerConnection& c) {
    ServerRequest r;
    if (!c.ReadHead(&r)) return;
    while (!release) std::this_thread::sleep_for(5ms);  // not reading the body yet
    std::string piece, all;
    while (c.ReadBodyPiece(r, &piece)) all += piece;
    c.Respond(200, {}, std::to_string(all.size()));
  });
  RequestHead post = Get(server.port(), "/up");
  post.method = "POST";
  auto outcome = Start(std::move(post), BodyKind::kStream);
  auto call = LastCall();
  std::string chunk(64 * 1024, 'x');
  size_t written = 0;
  bool waiting = false;
  call->on_drain = [&] { waiting = false; };
  // Write until told to wait, and keep going each time the drain comes,
  // while the server does not read: the client must stop asking.
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 1s) {
    if (!waiting) {
      waiting = call->Write(chunk);
      written += chunk.size();
    }
    uv_run(&loop_, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(waiting);
  EXPECT_LT(written, 64u << 20) << "the writer was never held back";
  release = true;
  while (written < (16u << 20)) {
    if (!waiting) {
      waiting = call->Write(chunk);
      written += chunk.size();
    } else {
      uv_run(&loop_, UV_RUN_ONCE);
    }
  }
  call->EndBody();
  ASSERT_TRUE(RunUntil([&] { return outcome->done; }, 30s));
  EXPECT_EQ(outcome->body, std::to_string(written));
}

TEST_F(ClientTest, ResponseBodyIsNotReadAheadOfTheCaller) {
  options_.response_window_bytes = 64 * 1024;
  std::atomic<size_t> sent{0};
  const size_t total = 64u << 20;
  TestServer server([&](ServerConnection& c) {
    ServerRequest r;
    if (!c.ReadRequest(&r)) return;
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n");
    std::string block(64 * 1024, 'z');
    while (sent < total && c.Write(block)) sent += block.size();
  });
  auto outcome = Start(Get(server.port(), "/big"), BodyKind::kNone, {}, /*read_body=*/false);
  ASSERT_TRUE(RunUntil([&] { return outcome->has_head; }));
  RunFor(500ms);
  size_t stalled_at = sent.load();
  EXPECT_LT(stalled_at, total / 2) << "the client kept reading without a reader";
  RunFor(200ms);
  EXPECT_LT(sent.load(), stalled_at + (1u << 20));
  // Now read it all.
  auto call = LastCall();
  size_t received = 0;
  bool end = false;
  std::function<void()> pump = [&] {
    for (;;) {
      auto r = call->Read();
      if (r.kind == Call::ReadResult::kData) {
        received += r.data.size();
        continue;
      }
      if (r.kind != Call::ReadResult::kPending) end = true;
      return;
    }
  };
  call->on_readable = pump;
  pump();
  ASSERT_TRUE(RunUntil([&] { return end; }, 60s));
  EXPECT_EQ(received, total);
}

TEST_F(ClientTest, GzipBodiesAreDecoded) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  std::string gz = bindings::testing::Compress(text);
  TestServer server(TestServer::EachRequest([&](ServerConnection& c, const ServerRequest& r) {
    c.Respond(200, {{"Content-Encoding", "gzip"}}, gz);
  }));
  auto outcome = Fetch(Get(server.port()));
  ASSERT_TRUE(outcome->error.ok()) << outcome->error.message();
  EXPECT_EQ(outcome->body, text);
}

TEST_F(ClientTest, ConnectionRefusedAndDnsFailure) {
  int port;
  {
    TestServer gone(Echo());
    port = gone.port();
  }
  auto refused = Fetch(Get(port));
  EXPECT_FALSE(refused->error.ok());
  EXPECT_NE(refused->error.message().find("connection refused"), std::string::npos)
      << refused->error.message();
  auto dns = Start(Get(80, "/", false, "does-not-exist.invalid"));
  ASSERT_TRUE(RunUntil([&] { return dns->done; }, 30s));
  EXPECT_FALSE(dns->error.ok());
  EXPECT_NE(dns->error.message().find("DNS lookup for does-not-exist.invalid failed"),
            std::string::npos)
      << dns->error.message();
}

TEST_F(ClientTest, AddressPolicyDeniesBeforeConnecting) {
  options_.address_policy = AddressPolicy::DenyPrivate();
  TestServer server(Echo());
  auto outcome = Fetch(Get(server.port(), "/", false, "localhost"));
  EXPECT_FALSE(outcome->error.ok());
  EXPECT_NE(outcome->error.message().find("loopback"), std::string::npos)
      << outcome->error.message();
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(ClientTest, AddressPolicyAllowList) {
  Cidr loopback;
  ASSERT_TRUE(Cidr::Parse("127.0.0.0/8", &loopback));
  options_.address_policy = AddressPolicy::DenyPrivate({loopback});
  TestServer server(Echo());
  auto outcome = Fetch(Get(server.port()));
  EXPECT_TRUE(outcome->error.ok()) << outcome->error.message();
}

TEST_F(ClientTest, ResponseHeaderTimeout) {
  options_.response_header_timeout_ms = 200;
  std::atomic<bool> stop{false};
  TestServer server([&](ServerConnection& c) {
    ServerRequest r;
    c.ReadRequest(&r);
    while (!stop) std::this_thread::sleep_for(5ms);
  });
  auto start = std::chrono::steady_clock::now();
  auto outcome = Fetch(Get(server.port()));
  stop = true;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_NE(outcome->error.message().find("response header timeout"), std::string::npos)
      << outcome->error.message();
}

TEST_F(ClientTest, ConnectTimeoutCoversTheTlsHandshake) {
  options_.connect_timeout_ms = 200;
  std::atomic<bool> stop{false};
  // Accepts TCP, never speaks TLS.
  TestServer server([&](ServerConnection&) {
    while (!stop) std::this_thread::sleep_for(5ms);
  });
  auto outcome = Fetch(Get(server.port(), "/", /*tls=*/true));
  stop = true;
  EXPECT_NE(outcome->error.message().find("timed out after 200 ms"), std::string::npos)
      << outcome->error.message();
}

TEST_F(ClientTest, CancelMidResponseClosesTheConnection) {
  std::atomic<bool> peer_closed{false};
  TestServer server([&](ServerConnection& c) {
    ServerRequest r;
    if (!c.ReadRequest(&r)) return;
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst");
    if (!c.ReadRequest(&r)) peer_closed = true;  // blocks until the client closes
  });
  auto outcome = Start(Get(server.port()));
  ASSERT_TRUE(RunUntil([&] { return outcome->body == "first"; }));
  LastCall()->Cancel();
  ASSERT_TRUE(RunUntil([&] { return peer_closed.load(); }));
  RunUntil([&] { return client().stats().connections_open.load() == 0; });
  EXPECT_EQ(client().stats().connections_open.load(), 0);
}

TEST_F(ClientTest, CancelWhileQueuedFreesTheSlot) {
  options_.max_connections_per_origin = 1;
  std::atomic<bool> release{false};
  TestServer server(TestServer::EachRequest([&](ServerConnection& c, const ServerRequest& r) {
    if (r.target == "/slow") {
      while (!release) std::this_thread::sleep_for(5ms);
    }
    c.Respond(200, {}, r.target);
  }));
  auto slow = Start(Get(server.port(), "/slow"));
  auto queued = Start(Get(server.port(), "/queued"));
  auto queued_call = LastCall();
  auto third = Start(Get(server.port(), "/third"));
  RunFor(100ms);
  queued_call->Cancel();
  release = true;
  ASSERT_TRUE(RunUntil([&] { return slow->done && third->done; }));
  EXPECT_EQ(slow->body, "/slow");
  EXPECT_EQ(third->body, "/third");
  EXPECT_FALSE(queued->done);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(ClientTest, OriginClosingKeptAliveConnectionsIsRetried) {
  // Answers one request per connection, without saying Connection: close.
  TestServer server([](ServerConnection& c) {
    ServerRequest r;
    if (c.ReadRequest(&r)) c.Respond(200, {}, "once");
  });
  for (int i = 0; i < 10; ++i) {
    auto outcome = Fetch(Get(server.port()));
    ASSERT_TRUE(outcome->error.ok()) << i << ": " << outcome->error.message();
    EXPECT_EQ(outcome->body, "once");
  }
}

TEST_F(ClientTest, A408OnAReusedConnectionIsRetried) {
  std::atomic<int> connections{0};
  TestServer server([&](ServerConnection& c) {
    int n = ++connections;
    ServerRequest r;
    if (!c.ReadRequest(&r)) return;
    c.Respond(200, {}, "first on " + std::to_string(n));
    if (n == 1) {
      // The origin timed the idle connection out just as the next request
      // came: it answers 408 and closes, as some servers do.
      if (c.ReadRequest(&r)) c.Respond(408, {{"Connection", "close"}}, "", "Request Timeout");
      return;
    }
    while (c.ReadRequest(&r)) c.Respond(200, {}, "again on " + std::to_string(n));
  });
  auto first = Fetch(Get(server.port()));
  EXPECT_EQ(first->body, "first on 1");
  auto second = Fetch(Get(server.port()));
  ASSERT_TRUE(second->error.ok()) << second->error.message();
  EXPECT_EQ(second->head.status, 200);
  EXPECT_EQ(second->body, "first on 2");
}

TEST_F(ClientTest, InvalidResponseIsAnError) {
  TestServer server(ReplyOnce("HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n"));
  auto outcome = Fetch(Get(server.port()));
  EXPECT_NE(outcome->error.message().find("Invalid HTTP response"), std::string::npos)
      << outcome->error.message();
}

TEST_F(ClientTest, BodyCutShortIsAnError) {
  TestServer server(ReplyOnce("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  auto outcome = Fetch(Get(server.port()));
  EXPECT_EQ(outcome->body, "abc");
  EXPECT_NE(outcome->error.message().find("before the response was complete"), std::string::npos)
      << outcome->error.message();
}

TEST_F(ClientTest, InvalidRequestsFailAtOnce) {
  RequestHead head = Get(80);
  head.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  auto outcome = Start(std::move(head));
  EXPECT_TRUE(outcome->done);
  EXPECT_NE(outcome->error.message().find("Invalid value for header"), std::string::npos);
  RequestHead bad_path = Get(80, "/a b");
  outcome = Start(std::move(bad_path));
  EXPECT_TRUE(outcome->done);
  EXPECT_FALSE(outcome->error.ok());
}

// ---------------------------------------------------------------------------
// TLS

class TlsClientTest : public ClientTest {
 protected:
  static void SetUpTestSuite() {
    certs_ = std::make_unique<TestCertificates>();
    // Trust the test CA (and only it) in clients created from now on.
    certs_->TrustOnlyTheCa();
  }
  static void TearDownTestSuite() {
    TestCertificates::Untrust();
    certs_.reset();
  }
  void SetUp() override {
    if (certs_->ca.empty()) GTEST_SKIP() << "the openssl command failed";
  }

  std::shared_ptr<Outcome> FetchFrom(const std::string& cert, const std::string& key,
                                     std::string host = "localhost") {
    TestServer::Tls tls{cert, key};
    server_ = std::make_unique<TestServer>(Echo(), &tls);
    auto outcome = Start(Get(server_->port(), "/secure", true, std::move(host)));
    EXPECT_TRUE(RunUntil([&] { return outcome->done; }));
    return outcome;
  }

  static inline std::unique_ptr<TestCertificates> certs_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(TlsClientTest, TheTlsContextIsMadeByTheFirstHttpsFetchNotByTheClient) {
  // The client exists and has served plain http before the CA it must
  // trust is named: the CA certificates are read by the first https fetch.
  TestCertificates::Untrust();
  TestServer plain(Echo());
  ASSERT_TRUE(Fetch(Get(plain.port()))->error.ok());
  certs_->TrustOnlyTheCa();
  auto outcome = FetchFrom(certs_->good_cert, certs_->good_key);
  ASSERT_TRUE(outcome->error.ok()) << outcome->error.message();
  EXPECT_EQ(outcome->body, "GET /secure ");
}

TEST_F(TlsClientTest, TrustedCertificate) {
  auto outcome = FetchFrom(certs_->good_cert, certs_->good_key);
  ASSERT_TRUE(outcome->error.ok()) << outcome->error.message();
  EXPECT_EQ(outcome->body, "GET /secure ");
  // Kept alive over TLS too.
  auto again = Fetch(Get(server_->port(), "/again", true, "localhost"));
  EXPECT_EQ(again->body, "GET /again ");
  EXPECT_EQ(server_->accepted(), 1);
}

TEST_F(TlsClientTest, CertificateForAnIpAddress) {
  auto outcome = FetchFrom(certs_->good_cert, certs_->good_key, "127.0.0.1");
  ASSERT_TRUE(outcome->error.ok()) << outcome->error.message();
}

TEST_F(TlsClientTest, WrongHost) {
  auto outcome = FetchFrom(certs_->wrong_host_cert, certs_->wrong_host_key);
  EXPECT_EQ(outcome->error.code(), ErrorCode::kTypeError);
  EXPECT_NE(outcome->error.message().find("not valid for localhost (wrong host)"),
            std::string::npos)
      << outcome->error.message();
}

TEST_F(TlsClientTest, Expired) {
  auto outcome = FetchFrom(certs_->expired_cert, certs_->expired_key);
  EXPECT_NE(outcome->error.message().find("the certificate has expired"), std::string::npos)
      << outcome->error.message();
}

TEST_F(TlsClientTest, UnknownAuthority) {
  auto outcome = FetchFrom(certs_->unknown_ca_cert, certs_->unknown_ca_key);
  EXPECT_NE(outcome->error.message().find("unknown certificate authority"), std::string::npos)
      << outcome->error.message();
}

TEST_F(TlsClientTest, LargeBodyOverTls) {
  TestServer::Tls tls{certs_->good_cert, certs_->good_key};
  std::string big(3 << 20, 'q');
  TestServer server(TestServer::EachRequest([&](ServerConnection& c, const ServerRequest& r) {
                      c.Respond(200, {}, r.body.empty() ? big : std::to_string(r.body.size()));
                    }),
                    &tls);
  auto outcome = Start(Get(server.port(), "/", true, "localhost"));
  ASSERT_TRUE(RunUntil([&] { return outcome->done; }, 30s));
  ASSERT_TRUE(outcome->error.ok()) << outcome->error.message();
  EXPECT_EQ(outcome->body.size(), big.size());
  RequestHead post = Get(server.port(), "/", true, "localhost");
  post.method = "POST";
  auto upload = Start(std::move(post), BodyKind::kBytes, big);
  ASSERT_TRUE(RunUntil([&] { return upload->done; }, 30s));
  EXPECT_EQ(upload->body, std::to_string(big.size()));
}

}  // namespace
}  // namespace edge::bindings::outbound
