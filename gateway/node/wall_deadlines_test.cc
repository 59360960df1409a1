#include "gateway/node/wall_deadlines.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace edge::gateway {
namespace {

class WallDeadlinesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    deadlines_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  uv_loop_t loop_;
  std::unique_ptr<WallDeadlines> deadlines_ = nullptr;
};

// A request in flight: its wall limit, and a timer of its own for when its
// response is done (which cancels the limit, as NodeSink::End does).
struct Request {
  WallDeadlines* deadlines = nullptr;
  uint64_t limit_ms = 0;
  uint64_t work_ms = 0;
  uint64_t started_at = 0;
  WallDeadline deadline;
  uv_timer_t done;
  bool cut = false;
  uint64_t cut_at = 0;
  uint64_t finished_at = 0;  // 0: not finished
  std::vector<Request*>* cut_order = nullptr;

  static void OnLimit(WallDeadline* deadline) {
    auto* self = static_cast<Request*>(deadline->data());
    EXPECT_FALSE(deadline->pending());
    EXPECT_FALSE(self->cut);
    EXPECT_EQ(self->finished_at, 0u);
    self->cut = true;
    self->cut_at = uv_now(self->done.loop);
    self->cut_order->push_back(self);
    uv_timer_stop(&self->done);  // a cut request does no more work
  }
  static void OnDone(uv_timer_t* timer) {
    auto* self = static_cast<Request*>(timer->data);
    self->finished_at = uv_now(timer->loop);
    self->deadline.Cancel();
  }
};

TEST_F(WallDeadlinesTest, OfManyConcurrentRequestsOnlyTheLateOnesAreCut) {
  deadlines_ = std::make_unique<WallDeadlines>(&loop_);
  // 300 requests over 3 different limits, each doing less work than its
  // limit allows (by 300 ms) or more (by 300 ms): half started together,
  // half arriving while the first half is in flight.
  static constexpr uint64_t kLimits[] = {400, 600, 500};
  static constexpr uint64_t kMarginMs = 300;
  std::vector<std::unique_ptr<Request>> requests;
  std::vector<Request*> cut_order;
  auto start = [&](uint64_t limit, bool late) {
    auto request = std::make_unique<Request>();
    request->deadlines = deadlines_.get();
    request->limit_ms = limit;
    request->work_ms = late ? limit + kMarginMs : limit - kMarginMs;
    request->started_at = uv_now(&loop_);
    request->cut_order = &cut_order;
    uv_timer_init(&loop_, &request->done);
    request->done.data = request.get();
    uv_timer_start(&request->done, Request::OnDone, request->work_ms, 0);
    deadlines_->Start(&request->deadline, limit, Request::OnLimit, request.get());
    requests.push_back(std::move(request));
  };
  for (int i = 0; i < 150; ++i) start(kLimits[i % 3], i % 4 == 1);
  EXPECT_EQ(deadlines_->pending(), 150u);
  // The second half arrives 30 ms later, while the first is in flight.
  uv_timer_t later;
  uv_timer_init(&loop_, &later);
  later.data = &start;
  uv_timer_start(
      &later,
      [](uv_timer_t* timer) {
        auto& begin = *static_cast<decltype(&start)>(timer->data);
        for (int i = 0; i < 150; ++i) begin(kLimits[(i + 1) % 3], i % 5 == 2);
      },
      30, 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&later), nullptr);

  EXPECT_EQ(deadlines_->pending(), 0u);
  size_t late = 0;
  for (const auto& request : requests) {
    bool late_request = request->work_ms > request->limit_ms;
    if (late_request) {
      ++late;
      // Work past the limit is always cut, never before its limit.
      EXPECT_TRUE(request->cut) << "limit " << request->limit_ms;
      EXPECT_GE(request->cut_at, request->started_at + request->limit_ms);
    } else {
      // Done 300 ms before its limit: never cut (short of the whole loop
      // stalling for longer than that between its timer and the limit).
      EXPECT_FALSE(request->cut) << "limit " << request->limit_ms;
      EXPECT_NE(request->finished_at, 0u);
    }
  }
  EXPECT_EQ(late, 38u + 30u);
  EXPECT_EQ(cut_order.size(), late);
  // Cut in the order of their deadlines, across the limits.
  for (size_t i = 1; i < cut_order.size(); ++i) {
    EXPECT_LE(cut_order[i - 1]->started_at + cut_order[i - 1]->limit_ms,
              cut_order[i]->started_at + cut_order[i]->limit_ms);
  }
  for (auto& request : requests) uv_close(reinterpret_cast<uv_handle_t*>(&request->done), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(WallDeadlinesTest, TheLoopEndsWhenNoDeadlineIsPending) {
  deadlines_ = std::make_unique<WallDeadlines>(&loop_);
  WallDeadline a, b;
  auto never = [](WallDeadline*) { ADD_FAILURE() << "a cancelled deadline fired"; };
  deadlines_->Start(&a, 60'000, never, nullptr);
  deadlines_->Start(&b, 30'000, never, nullptr);
  EXPECT_TRUE(a.pending());
  a.Cancel();
  EXPECT_FALSE(a.pending());
  a.Cancel();  // twice: nothing
  b.Cancel();
  EXPECT_EQ(deadlines_->pending(), 0u);
  // No timer left active: the loop has nothing to wait for.
  EXPECT_EQ(uv_run(&loop_, UV_RUN_NOWAIT), 0);
}

// A callback may cancel and start deadlines (its own included), and destroy
// what it limits.
TEST_F(WallDeadlinesTest, CallbacksMayStartCancelAndDestroyDeadlines) {
  deadlines_ = std::make_unique<WallDeadlines>(&loop_);
  struct State {
    WallDeadlines* deadlines;
    std::unique_ptr<WallDeadline> first = std::make_unique<WallDeadline>();
    WallDeadline second, restarted;
    int fired_first = 0, fired_restarted = 0;
  } state{deadlines_.get()};
  deadlines_->Start(
      state.first.get(), 10,
      [](WallDeadline* self) {
        auto* state = static_cast<State*>(self->data());
        ++state->fired_first;
        state->second.Cancel();  // due at the same time: never fires
        state->first.reset();    // itself
        state->deadlines->Start(
            &state->restarted, 5,
            [](WallDeadline* again) { ++static_cast<State*>(again->data())->fired_restarted; },
            state);
      },
      &state);
  deadlines_->Start(
      &state.second, 10, [](WallDeadline*) { ADD_FAILURE() << "cancelled, yet fired"; }, &state);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(state.fired_first, 1);
  EXPECT_EQ(state.fired_restarted, 1);
  EXPECT_EQ(deadlines_->pending(), 0u);
}

// Starting a pending deadline again moves it; a deadline left pending when
// the structure goes is let go (cancelling it afterwards is harmless).
TEST_F(WallDeadlinesTest, RestartMovesAndCloseLetsGo) {
  deadlines_ = std::make_unique<WallDeadlines>(&loop_);
  int fired = 0;
  WallDeadline moved;
  auto count = [](WallDeadline* self) { ++*static_cast<int*>(self->data()); };
  deadlines_->Start(&moved, 60'000, count, &fired);
  deadlines_->Start(&moved, 1, count, &fired);
  EXPECT_EQ(deadlines_->pending(), 1u);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 1);

  WallDeadline left;
  deadlines_->Start(&left, 60'000, count, &fired);
  deadlines_->Close();
  uv_run(&loop_, UV_RUN_DEFAULT);  // ends: the closed timer holds nothing
  EXPECT_EQ(fired, 1);
  deadlines_.reset();
  EXPECT_FALSE(left.pending());
  left.Cancel();
}

// Many different limits (hostile workers each with its own): lists of
// durations no longer used are dropped.
TEST_F(WallDeadlinesTest, ListsOfUnusedDurationsAreDropped) {
  deadlines_ = std::make_unique<WallDeadlines>(&loop_);
  std::vector<WallDeadline> many(1000);
  auto never = [](WallDeadline*) {};
  for (size_t i = 0; i < many.size(); ++i) {
    deadlines_->Start(&many[i], 100'000 + i, never, nullptr);
    many[i].Cancel();
  }
  EXPECT_LE(deadlines_->lists(), 17u);
  EXPECT_EQ(uv_run(&loop_, UV_RUN_NOWAIT), 0);
}

}  // namespace
}  // namespace edge::gateway
