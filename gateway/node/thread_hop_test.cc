#include "gateway/node/thread_hop.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/http/http_types.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/node/testing/node_fixtures.h"

namespace edge::gateway {
namespace {

using testing::Eventually;
using testing::LoopThread;
using testing::ManualBody;

// The connection's side of a hop: records every call, and notes any that
// arrives on another thread than the connection's.
class RecordingSink : public runtime::ResponseSink {
 public:
  RecordingSink(LoopThread& owner, std::shared_ptr<std::thread::id> destroyed_on = nullptr)
      : owner_(owner), destroyed_on_(std::move(destroyed_on)) {}
  ~RecordingSink() override {
    if (destroyed_on_) *destroyed_on_ = std::this_thread::get_id();
  }

  void Start(int status, std::string_view status_text, runtime::HeaderList headers,
             std::optional<uint64_t> content_length) override {
    std::string event = fmt::format("start {} {}", status, status_text);
    for (const auto& [name, value] : headers) event += " " + name + "=" + value;
    if (content_length) event += fmt::format(" length={}", *content_length);
    Record(std::move(event));
  }
  void Write(std::string_view chunk) override {
    Record(fmt::format(
        "write {}", chunk.size() <= 16 ? chunk : "<" + std::to_string(chunk.size()) + " bytes>"));
  }
  void Finish() override { Record("finish"); }
  void Fail(std::string_view public_reason, LimitKind limit) override {
    Record(fmt::format("fail {} limit={}", public_reason, static_cast<int>(limit)));
  }
  void ReportCpu(uint64_t cpu_ns) override { Record(fmt::format("cpu {}", cpu_ns)); }
  bool OnConsole(std::string_view level, std::string_view message) override {
    Record(fmt::format("console {} {}", level, message));
    return false;
  }
  bool Aborted() const override { return aborted; }
  bool NeedsDrain() const override { return needs_drain; }
  // A WebSocket that records what it is told (on the owner's thread) and
  // hands out the events it was started with.
  class Channel : public runtime::WebSocketChannel {
   public:
    explicit Channel(RecordingSink& sink) : sink_(sink) {}
    void Start(Events events) override {
      sink_.Record("ws-start");
      events_ = std::move(events);
    }
    void Send(std::string_view data, bool binary) override {
      sink_.Record(fmt::format("ws-send {} {}", data, binary ? "binary" : "text"));
    }
    void Close(int code, std::string_view reason) override {
      sink_.Record(fmt::format("ws-close {} {}", code, reason));
    }
    size_t BufferedBytes() const override { return 0; }
    void OnDrain(std::function<void()> callback) override { callback(); }
    void PauseReading(bool paused) override { sink_.Record(fmt::format("ws-pause {}", paused)); }
    Events events_;

   private:
    RecordingSink& sink_;
  };
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList headers) override {
    Record(fmt::format("accept {}", headers.size()));
    if (refuse_websocket) return Status(ErrorCode::kTypeError, "not a handshake");
    channel = std::make_shared<Channel>(*this);
    return std::shared_ptr<runtime::WebSocketChannel>(channel);
  }
  bool refuse_websocket = false;
  std::shared_ptr<Channel> channel;
  void OnDrain(std::function<void()> callback) override {
    Record("on-drain");
    drain = std::move(callback);
  }

  // Read and written on the owner's thread only.
  std::vector<std::string> events;
  bool wrong_thread = false;
  bool aborted = false;
  bool needs_drain = false;
  std::function<void()> drain;

 private:
  void Record(std::string event) {
    if (!owner_.OnLoopThread()) wrong_thread = true;
    events.push_back(std::move(event));
  }

  LoopThread& owner_;
  std::shared_ptr<std::thread::id> destroyed_on_;
};

// A connection's loop and a worker's loop, each on its own thread, and the
// hop between them.
class ThreadHopTest : public ::testing::Test {
 protected:
  PostFn ToConnection() {
    return [this](std::function<void()> task) { connection_.Post(std::move(task)); };
  }
  PostFn ToWorker() {
    return [this](std::function<void()> task) { worker_.Post(std::move(task)); };
  }

  // `inner`, read on the connection's loop, as the worker's loop sees it
  // (hopped on the worker's thread).
  std::shared_ptr<runtime::RequestBodySource> HopToWorker(std::shared_ptr<ManualBody> inner) {
    return worker_.Call([&] { return HopBody(std::move(inner), ToConnection(), ToWorker()); });
  }

  // A hop onto `inner`, made on the worker's thread (where a hop lives).
  std::shared_ptr<runtime::ResponseSink> Hop(std::shared_ptr<RecordingSink> inner) {
    return worker_.Call([&] { return HopSink(std::move(inner), ToConnection(), ToWorker()); });
  }

  std::vector<std::string> Events(const std::shared_ptr<RecordingSink>& inner) {
    return connection_.Call([&] { return inner->events; });
  }
  // Waits until the connection's sink has seen `count` events.
  bool WaitForEvents(const std::shared_ptr<RecordingSink>& inner, size_t count) {
    return Eventually([&] { return Events(inner).size() >= count; });
  }
  // Keeps the connection's loop busy until the returned promise is set:
  // whatever is posted to it meanwhile waits.
  std::shared_ptr<std::promise<void>> BlockConnection() {
    auto release = std::make_shared<std::promise<void>>();
    std::promise<void> blocked;
    std::future<void> entered = blocked.get_future();
    connection_.Post([release, &blocked] {
      blocked.set_value();
      release->get_future().wait();
    });
    entered.wait();
    return release;
  }

  LoopThread connection_;
  LoopThread worker_;
};

TEST_F(ThreadHopTest, TheResponseReachesTheConnectionThreadInOrder) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  auto hop = Hop(inner);
  bool logged = worker_.Call([&] {
    hop->Start(201, "Created", {{"x-a", "1"}}, 5);
    hop->Write("he");
    hop->Write("llo");
    bool result = hop->OnConsole("log", "hi");
    hop->ReportCpu(1234);
    hop->Finish();
    return result;
  });
  // The connection's sink logs the line (on its own thread), not the worker.
  EXPECT_TRUE(logged);
  ASSERT_TRUE(WaitForEvents(inner, 6));
  EXPECT_EQ(Events(inner),
            (std::vector<std::string>{"start 201 Created x-a=1 length=5", "write he", "write llo",
                                      "console log hi", "cpu 1234", "finish"}));
  EXPECT_FALSE(connection_.Call([&] { return inner->wrong_thread; }));
  worker_.Call([&] { hop.reset(); });
}

// A WebSocket accepted for a worker on another thread: its calls reach the
// connection's channel in order, on that thread; the channel's events reach
// the worker's thread.
TEST_F(ThreadHopTest, AWebSocketCrossesTheHopBothWays) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  auto hop = Hop(inner);
  struct Seen {
    std::vector<std::string> events;
    bool wrong_thread = false;
  };
  auto seen = std::make_shared<Seen>();
  auto channel = worker_.Call([&] {
    auto accepted = hop->AcceptWebSocket({{"sec-websocket-protocol", "chat"}});
    EXPECT_TRUE(accepted.ok());
    std::shared_ptr<runtime::WebSocketChannel> ws = std::move(accepted).value();
    runtime::WebSocketChannel::Events events;
    events.on_message = [this, seen](std::string data, bool binary) {
      seen->wrong_thread |= !worker_.OnLoopThread();
      seen->events.push_back(fmt::format("message {} {}", data, binary));
    };
    events.on_close = [this, seen](int code, std::string reason, bool clean) {
      seen->wrong_thread |= !worker_.OnLoopThread();
      seen->events.push_back(fmt::format("close {} {} {}", code, reason, clean));
    };
    ws->Start(std::move(events));
    ws->Send("hi", false);
    ws->Send(std::string("\x01\x02", 2), true);
    ws->PauseReading(true);
    ws->Close(1000, "bye");
    return ws;
  });
  ASSERT_TRUE(WaitForEvents(inner, 6));
  EXPECT_EQ(Events(inner), (std::vector<std::string>{"accept 1", "ws-start", "ws-send hi text",
                                                     "ws-send \x01\x02 binary", "ws-pause true",
                                                     "ws-close 1000 bye"}));
  EXPECT_FALSE(connection_.Call([&] { return inner->wrong_thread; }));
  connection_.Call([&] {
    inner->channel->events_.on_message("from the peer", false);
    inner->channel->events_.on_close(1000, "done", true);
  });
  ASSERT_TRUE(Eventually([&] { return worker_.Call([&] { return seen->events.size(); }) == 2; }));
  EXPECT_EQ(worker_.Call([&] { return seen->events; }),
            (std::vector<std::string>{"message from the peer false", "close 1000 done true"}));
  EXPECT_FALSE(worker_.Call([&] { return seen->wrong_thread; }));
  worker_.Call([&] {
    channel.reset();
    hop.reset();
  });
}

// Refused on the connection's thread (the request was no handshake): the
// response fails there, and the worker's socket ends as a connection that
// never was (1006).
TEST_F(ThreadHopTest, AWebSocketRefusedAcrossTheHopEndsWith1006) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  connection_.Call([&] { inner->refuse_websocket = true; });
  auto hop = Hop(inner);
  auto closed = std::make_shared<std::promise<int>>();
  auto channel = worker_.Call([&] {
    auto ws = hop->AcceptWebSocket({}).value();
    runtime::WebSocketChannel::Events events;
    events.on_close = [closed](int code, std::string, bool) { closed->set_value(code); };
    ws->Start(std::move(events));
    return ws;
  });
  EXPECT_EQ(closed->get_future().get(), 1006);
  ASSERT_TRUE(WaitForEvents(inner, 2));
  EXPECT_EQ(Events(inner)[1], "fail not a handshake limit=0");
  worker_.Call([&] {
    channel.reset();
    hop.reset();
  });
}

TEST_F(ThreadHopTest, AFailureKeepsItsReasonAndLimit) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  auto hop = Hop(inner);
  worker_.Call([&] { hop->Fail("Worker exceeded its CPU time limit of 50 ms", LimitKind::kCpu); });
  ASSERT_TRUE(WaitForEvents(inner, 1));
  EXPECT_EQ(Events(inner)[0],
            fmt::format("fail Worker exceeded its CPU time limit of 50 ms limit={}",
                        static_cast<int>(LimitKind::kCpu)));
  EXPECT_FALSE(connection_.Call([&] { return inner->wrong_thread; }));
  worker_.Call([&] { hop.reset(); });
}

TEST_F(ThreadHopTest, TheConnectionsSinkIsReleasedOnItsOwnThread) {
  auto destroyed_on = std::make_shared<std::thread::id>();
  std::thread::id connection_thread = connection_.Call([] { return std::this_thread::get_id(); });
  {
    auto hop = Hop(std::make_shared<RecordingSink>(connection_, destroyed_on));
    worker_.Call([&] {
      hop->Finish();
      hop.reset();  // the worker's thread lets go last
    });
  }
  ASSERT_TRUE(Eventually(
      [&] { return connection_.Call([&] { return *destroyed_on == connection_thread; }); }));
}

TEST_F(ThreadHopTest, BytesStillOnTheirWayCountAsBackpressure) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  auto hop = Hop(inner);
  auto release = BlockConnection();
  std::string chunk(kWriterDrainThreshold / 2, 'x');
  auto drained = std::make_shared<std::promise<bool>>();
  bool needs_drain = worker_.Call([&] {
    hop->Write(chunk);
    bool half = hop->NeedsDrain();
    hop->Write(chunk);
    bool full = hop->NeedsDrain();
    hop->OnDrain([this, drained] { drained->set_value(worker_.OnLoopThread()); });
    return !half && full;
  });
  EXPECT_TRUE(needs_drain) << "half the threshold queued is no backpressure; all of it is";
  auto drained_future = drained->get_future();
  EXPECT_EQ(drained_future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "the drain callback ran while the bytes were still queued";
  release->set_value();
  // Once the connection's thread wrote them, the callback runs on the
  // worker's thread.
  EXPECT_TRUE(drained_future.get());
  EXPECT_FALSE(worker_.Call([&] { return hop->NeedsDrain(); }));
  EXPECT_EQ(Events(inner).size(), 2u);  // two writes; the inner sink needed no drain
  worker_.Call([&] { hop.reset(); });
}

TEST_F(ThreadHopTest, TheConnectionsOwnBackpressureIsWaitedFor) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  connection_.Call([&] { inner->needs_drain = true; });
  auto hop = Hop(inner);
  worker_.Call([&] { hop->Write("x"); });
  ASSERT_TRUE(WaitForEvents(inner, 1));
  // The write told the hop the connection is backed up.
  EXPECT_TRUE(worker_.Call([&] { return hop->NeedsDrain(); }));
  auto drained = std::make_shared<std::promise<bool>>();
  worker_.Call(
      [&] { hop->OnDrain([this, drained] { drained->set_value(worker_.OnLoopThread()); }); });
  ASSERT_TRUE(WaitForEvents(inner, 2));
  EXPECT_EQ(Events(inner)[1], "on-drain");
  auto drained_future = drained->get_future();
  EXPECT_EQ(drained_future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "the drain callback ran before the connection drained";
  connection_.Call([&] {
    inner->needs_drain = false;
    std::exchange(inner->drain, nullptr)();
  });
  EXPECT_TRUE(drained_future.get());
  EXPECT_FALSE(worker_.Call([&] { return hop->NeedsDrain(); }));
  worker_.Call([&] { hop.reset(); });
}

TEST_F(ThreadHopTest, AClientThatWentAwayIsSeenByTheWorkerAfterItsNextCall) {
  auto inner = std::make_shared<RecordingSink>(connection_);
  auto hop = Hop(inner);
  worker_.Call([&] { hop->Start(200, "", {}, std::nullopt); });
  ASSERT_TRUE(WaitForEvents(inner, 1));
  EXPECT_FALSE(worker_.Call([&] { return hop->Aborted(); }));
  connection_.Call([&] { inner->aborted = true; });
  worker_.Call([&] { hop->Write("more"); });
  EXPECT_TRUE(Eventually([&] { return worker_.Call([&] { return hop->Aborted(); }); }));
  worker_.Call([&] { hop.reset(); });
}

TEST_F(ThreadHopTest, BodyChunksReachTheWorkerThreadInOrder) {
  auto inner = std::make_shared<ManualBody>();
  std::shared_ptr<runtime::RequestBodySource> body = HopToWorker(inner);
  std::thread::id connection_thread = connection_.Call([] { return std::this_thread::get_id(); });
  std::mutex mutex;
  std::string received;
  bool ended = false, off_thread = false;
  worker_.Call([&] {
    runtime::RequestBodySource::Reader reader;
    reader.on_data = [&](std::string_view chunk) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!worker_.OnLoopThread()) off_thread = true;
      received += chunk;
    };
    reader.on_end = [&] {
      std::lock_guard<std::mutex> lock(mutex);
      if (!worker_.OnLoopThread()) off_thread = true;
      ended = true;
    };
    body->Read(std::move(reader));
  });
  ASSERT_TRUE(Eventually([&] { return connection_.Call([&] { return inner->read(); }); }));
  EXPECT_EQ(connection_.Call([&] { return inner->read_thread(); }), connection_thread);
  connection_.Call([&] {
    inner->Deliver("one,");
    inner->Deliver("two,");
    inner->Deliver("three");
    inner->End();
  });
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return ended;
  }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(received, "one,two,three");
  EXPECT_FALSE(off_thread);
  worker_.Call([&] { body.reset(); });
}

TEST_F(ThreadHopTest, ABodyErrorAndPausesCrossTheHop) {
  auto inner = std::make_shared<ManualBody>();
  std::shared_ptr<runtime::RequestBodySource> body = HopToWorker(inner);
  std::thread::id connection_thread = connection_.Call([] { return std::this_thread::get_id(); });
  auto error = std::make_shared<std::promise<std::string>>();
  worker_.Call([&] {
    runtime::RequestBodySource::Reader reader;
    reader.on_error = [error](std::string_view message) { error->set_value(std::string(message)); };
    body->Read(std::move(reader));
    body->Pause(true);
    body->Pause(false);
  });
  ASSERT_TRUE(
      Eventually([&] { return connection_.Call([&] { return inner->pauses().size() == 2; }); }));
  EXPECT_EQ(connection_.Call([&] { return inner->pauses(); }), (std::vector<bool>{true, false}));
  EXPECT_EQ(connection_.Call([&] { return inner->pause_thread(); }), connection_thread);
  connection_.Call([&] { inner->Error("The request body exceeded the limit"); });
  EXPECT_EQ(error->get_future().get(), "The request body exceeded the limit");
  // The connection's body is released on its own thread when the worker
  // lets go of the hop.
  std::weak_ptr<ManualBody> weak = inner;
  inner.reset();
  worker_.Call([&] { body.reset(); });
  EXPECT_TRUE(Eventually([&] { return connection_.Call([&] { return weak.expired(); }); }));
}

}  // namespace
}  // namespace edge::gateway
