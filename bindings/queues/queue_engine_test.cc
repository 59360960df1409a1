#include "bindings/queues/queue_engine.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {

class QueueEngineTest : public ::testing::Test {
 protected:
  struct Delivered {
    QueueConsumer consumer;
    runtime::QueueEvent event;
    QueueEngine::Done done;
  };

  QueueEngineTest() {
    uv_loop_init(&loop_);
    auto store = QueueStore::Open(dir_.path(), {}, [this] { return now_; });
    EXPECT_TRUE(store.ok());
    store_ = std::move(store).value();
    QueueEngine::Options options;
    options.timer = false;
    options.delivery_timeout_ms = 60'000;
    engine_ = std::make_unique<QueueEngine>(
        &loop_, store_,
        [this](const QueueConsumer& consumer, runtime::QueueEvent event, QueueEngine::Done done) {
          delivered_.push_back({consumer, std::move(event), std::move(done)});
        },
        options);
  }
  ~QueueEngineTest() override {
    engine_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }

  void Consume(runtime::QueueConsumerSpec spec) {
    engine_->SetConsumers({{"worker", "acct", std::move(spec)}});
  }
  void Send(int count, std::string_view queue = "jobs") {
    std::vector<QueueSendMessage> messages;
    for (int i = 0; i < count; ++i) messages.push_back({std::to_string(next_++), "text", 0});
    ASSERT_TRUE(store_->Send("acct", queue, messages).ok());
  }
  // Settles the oldest batch still out.
  void Settle(bool ok, std::vector<int64_t> decisions = {}) {
    ASSERT_FALSE(delivered_.empty());
    Delivered first = std::move(delivered_.front());
    delivered_.erase(delivered_.begin());
    first.done({ok, std::move(decisions)});
  }
  const QueueCounters& Counters(std::string_view queue = "jobs") {
    return engine_->counters().at({"acct", std::string(queue)});
  }

  uv_loop_t loop_;
  base::testing::TempDir dir_;
  int64_t now_ = 1'700'000'000'000;
  int next_ = 0;
  std::shared_ptr<QueueStore> store_;
  std::unique_ptr<QueueEngine> engine_;
  std::vector<Delivered> delivered_;
};

TEST_F(QueueEngineTest, AFullBatchGoesAtOnce) {
  Consume({.queue = "jobs", .max_batch_size = 3});
  Send(7);
  engine_->Tick();
  // Two full batches now; the seventh waits for the batch timeout.
  ASSERT_EQ(delivered_.size(), 2u);
  EXPECT_EQ(delivered_[0].event.queue, "jobs");
  ASSERT_EQ(delivered_[0].event.messages.size(), 3u);
  EXPECT_EQ(delivered_[0].event.messages[0].body, "0");
  EXPECT_EQ(delivered_[0].event.messages[0].attempts, 1u);
  EXPECT_EQ(delivered_[1].event.messages[2].body, "5");
  now_ += 4'999;
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 2u);
  now_ += 1;
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 3u);
  EXPECT_EQ(delivered_[2].event.messages.size(), 1u);
}

TEST_F(QueueEngineTest, BatchTimeoutZeroDeliversAtOnce) {
  Consume({.queue = "jobs", .max_batch_size = 10, .max_batch_timeout_s = 0});
  Send(1);
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 1u);
}

// A batch of one is full with its first message: max_batch_timeout never
// holds it, whatever its length; a batch of ten waits for the timeout on
// the clock, to the millisecond.
TEST_F(QueueEngineTest, ABatchOfOneNeverWaitsAndABatchOfTenWaitsForItsTimeout) {
  Consume({.queue = "jobs", .max_batch_size = 1, .max_batch_timeout_s = 60, .max_concurrency = 1});
  Send(1);
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 1u);
  // Sent while the only slot is out: it goes on the first look after the
  // batch settles, with the clock where it was.
  Send(1);
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 1u);
  Settle(true);
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 1u);
  EXPECT_EQ(delivered_[0].event.messages[0].body, "1");
  Settle(true);

  Consume({.queue = "jobs", .max_batch_size = 10, .max_batch_timeout_s = 5});
  Send(3);
  engine_->Tick();
  now_ += 4'999;
  engine_->Tick();
  EXPECT_TRUE(delivered_.empty());
  now_ += 1;
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 1u);
  EXPECT_EQ(delivered_[0].event.messages.size(), 3u);
}

TEST_F(QueueEngineTest, SuccessAcksWhatIsUndecided) {
  Consume({.queue = "jobs", .max_batch_size = 2});
  Send(2);
  engine_->Tick();
  Settle(true);
  EXPECT_EQ(Counters().acked, 2u);
  EXPECT_EQ(store_->Info("acct", "jobs")->depth, 0u);
}

TEST_F(QueueEngineTest, FailureRetriesAllButTheAcked) {
  Consume({.queue = "jobs", .max_batch_size = 3, .retry_delay_s = 0});
  Send(3);
  engine_->Tick();
  // The first acked, the second retried in 20 s, the third left: the
  // handler threw, so it is retried too.
  Settle(false, {-2, 20, -1});
  EXPECT_EQ(Counters().acked, 1u);
  EXPECT_EQ(Counters().retries, 2u);
  EXPECT_EQ(Counters().failed_batches, 1u);
  now_ += 5'000;
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 1u);
  ASSERT_EQ(delivered_[0].event.messages.size(), 1u);
  EXPECT_EQ(delivered_[0].event.messages[0].body, "2");
  EXPECT_EQ(delivered_[0].event.messages[0].attempts, 2u);
  Settle(true);
  now_ += 20'000;
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 1u);
  EXPECT_EQ(delivered_[0].event.messages[0].body, "1");
}

TEST_F(QueueEngineTest, RetryDelayAppliesToRetriesWithoutOne) {
  Consume({.queue = "jobs", .max_batch_size = 1, .retry_delay_s = 30});
  Send(1);
  engine_->Tick();
  Settle(true, {-3});
  now_ += 29'999;
  engine_->Tick();
  EXPECT_TRUE(delivered_.empty());
  now_ += 1;
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 1u);
}

TEST_F(QueueEngineTest, AConsumerThatAlwaysThrowsEndsInTheDeadLetterQueue) {
  Consume({.queue = "jobs", .max_batch_size = 1, .max_retries = 3, .dead_letter_queue = "dead"});
  Send(1);
  for (int attempt = 1; attempt <= 4; ++attempt) {
    engine_->Tick();
    ASSERT_EQ(delivered_.size(), 1u) << attempt;
    EXPECT_EQ(delivered_[0].event.messages[0].attempts, static_cast<uint32_t>(attempt));
    Settle(false);
  }
  engine_->Tick();
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(Counters().dead_lettered, 1u);
  EXPECT_EQ(Counters().retries, 3u);
  EXPECT_EQ(store_->Info("acct", "dead")->depth, 1u);
}

TEST_F(QueueEngineTest, MaxConcurrencyIsRespected) {
  Consume({.queue = "jobs", .max_batch_size = 1, .max_concurrency = 2});
  Send(5);
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 2u);
  EXPECT_EQ(engine_->in_flight(), 2u);
  Settle(true);
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 2u);
  Settle(true);
  Settle(true);
  engine_->Tick();
  EXPECT_EQ(delivered_.size(), 2u);
}

TEST_F(QueueEngineTest, ABatchThatNeverSettlesIsRetriedAfterTheTimeout) {
  Consume({.queue = "jobs", .max_batch_size = 1});
  Send(1);
  engine_->Tick();
  ASSERT_EQ(delivered_.size(), 1u);
  QueueEngine::Done late = std::move(delivered_[0].done);
  delivered_.clear();
  now_ += 60'000;
  engine_->Tick();
  // Timed out, retried, and out again.
  ASSERT_EQ(delivered_.size(), 1u);
  EXPECT_EQ(delivered_[0].event.messages[0].attempts, 2u);
  // The outcome that comes after the timeout is ignored.
  late({true, {}});
  EXPECT_EQ(Counters().acked, 0u);
  Settle(true);
  EXPECT_EQ(Counters().acked, 1u);
}

TEST_F(QueueEngineTest, OneConsumerPerQueue) {
  engine_->SetConsumers({{"a", "acct", {.queue = "jobs"}}, {"b", "acct", {.queue = "jobs"}}});
  EXPECT_EQ(engine_->consumers(), 1u);
}

// With its own timer, the engine looks at the queues when a send commits,
// not at its next poll: a poll an hour away does not delay the delivery.
TEST(QueueEngineWakeTest, ASendWakesTheEngine) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  base::testing::TempDir dir;
  auto store = QueueStore::Open(dir.path(), {}, [] { return int64_t{1'700'000'000'000}; });
  ASSERT_TRUE(store.ok());
  size_t delivered = 0;
  QueueEngine::Options options;
  options.poll_ms = 3'600'000;
  auto engine = std::make_unique<QueueEngine>(
      &loop, *store,
      [&](const QueueConsumer&, runtime::QueueEvent event, QueueEngine::Done) {
        delivered += event.messages.size();
      },
      options);
  engine->SetConsumers({{"worker", "acct", {.queue = "jobs", .max_batch_timeout_s = 0}}});
  // Sent from another thread, as the thread pool sends.
  std::thread sender([&] {
    ASSERT_TRUE((*store)->Send("acct", "jobs", {{"hello", "text", 0}}).ok());
  });
  sender.join();
  // The engine's handles do not keep a loop alive (they are unref'd), as a
  // server's do: this one stands for the server's. Run until the
  // delivery, a bounded number of turns.
  uv_async_t server;
  uv_async_init(&loop, &server, nullptr);
  for (int turn = 0; turn < 1000 && delivered == 0; ++turn) uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(delivered, 1u);
  uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
  engine.reset();
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}

// With its own timer, a consumer at max_concurrency = 1 takes what was
// sent while its batch was out as soon as that batch settles: not at the
// next poll (an hour away here), and with the clock standing still.
TEST(QueueEngineWakeTest, ASettledBatchLetsTheNextGoAtOnce) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  base::testing::TempDir dir;
  auto store = QueueStore::Open(dir.path(), {}, [] { return int64_t{1'700'000'000'000}; });
  ASSERT_TRUE(store.ok());
  std::vector<QueueEngine::Done> out;
  std::vector<std::string> bodies;
  QueueEngine::Options options;
  options.poll_ms = 3'600'000;
  auto engine = std::make_unique<QueueEngine>(
      &loop, *store,
      [&](const QueueConsumer&, runtime::QueueEvent event, QueueEngine::Done done) {
        for (const auto& message : event.messages) bodies.push_back(message.body);
        out.push_back(std::move(done));
      },
      options);
  engine->SetConsumers(
      {{"worker", "acct", {.queue = "jobs", .max_batch_size = 1, .max_batch_timeout_s = 60, .max_concurrency = 1}}});
  uv_async_t server;  // stands for the server's handles (the engine's are unref'd)
  uv_async_init(&loop, &server, nullptr);
  auto run_until = [&](size_t count) {
    for (int turn = 0; turn < 1000 && bodies.size() < count; ++turn) uv_run(&loop, UV_RUN_NOWAIT);
  };
  ASSERT_TRUE((*store)->Send("acct", "jobs", {{"first", "text", 0}}).ok());
  run_until(1);
  ASSERT_EQ(bodies.size(), 1u);
  ASSERT_TRUE((*store)->Send("acct", "jobs", {{"second", "text", 0}}).ok());
  for (int turn = 0; turn < 20; ++turn) uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(bodies.size(), 1u);  // the slot is taken
  out[0]({true, {}});
  run_until(2);
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[1], "second");
  uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
  engine.reset();
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}

TEST(QueueDecisionsTest, Parses) {
  EXPECT_EQ(ParseQueueDecisions("[-1,-2,-3,0,43200]"), (std::vector<int64_t>{-1, -2, -3, 0, 43200}));
  EXPECT_TRUE(ParseQueueDecisions("[]").empty());
  EXPECT_TRUE(ParseQueueDecisions("<html>").empty());
  EXPECT_TRUE(ParseQueueDecisions("[1,x]").empty());
  EXPECT_TRUE(ParseQueueDecisions("[99999999]").empty());
}

}  // namespace
}  // namespace edge::bindings
