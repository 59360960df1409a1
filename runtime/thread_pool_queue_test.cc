#include "runtime/thread_pool_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace edge::runtime {
namespace {

constexpr size_t kBound = ThreadPoolQueue::kIoJobs;

// Holds every job's `work` until Open().
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

class ThreadPoolQueueTest : public ::testing::Test {
 protected:
  ThreadPoolQueueTest() { uv_loop_init(&loop_); }
  ~ThreadPoolQueueTest() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  // Runs the loop until `done` or 10 s.
  template <typename Done>
  bool RunUntil(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  uv_loop_t loop_;
};

TEST_F(ThreadPoolQueueTest, AtMostTheBoundRunsAtOnceAndEveryJobRunsOnce) {
  Gate gate;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::vector<int> finished;
  ThreadPoolQueue queue(&loop_, kBound);
  for (int i = 0; i < 40; ++i) {
    queue.Run(
        [&] {
          gate.Wait();
          int now = ++running;
          for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          --running;
        },
        [&finished, i] { finished.push_back(i); });
  }
  EXPECT_EQ(queue.in_flight(), kBound);
  EXPECT_EQ(queue.waiting(), 40 - kBound);
  ASSERT_TRUE(RunUntil([&] { return gate.waiting() == int(kBound); }));
  gate.Open();
  ASSERT_TRUE(RunUntil([&] { return finished.size() == 40; }));
  EXPECT_EQ(queue.in_flight(), 0u);
  EXPECT_LE(most.load(), int(kBound));
  std::sort(finished.begin(), finished.end());
  for (int i = 0; i < 40; ++i) EXPECT_EQ(finished[i], i);
}

TEST_F(ThreadPoolQueueTest, OneQueuesBacklogDoesNotHoldUpAnother) {
  Gate gate;
  ThreadPoolQueue busy(&loop_, kBound);
  ThreadPoolQueue other(&loop_, kBound);
  int busy_done = 0;
  for (int i = 0; i < 1000; ++i) busy.Run([&] { gate.Wait(); }, [&] { ++busy_done; });
  // The busy queue holds kBound of libuv's 4 threads at most; the
  // other's job still needs a free thread, so let the busy jobs go and
  // check the other's job is not behind the whole backlog.
  bool other_done = false;
  other.Run([] {}, [&] { other_done = true; });
  gate.Open();
  ASSERT_TRUE(RunUntil([&] { return other_done; }));
  EXPECT_LT(busy_done, 100);
  ASSERT_TRUE(RunUntil([&] { return busy_done == 1000; }));
}

TEST_F(ThreadPoolQueueTest, WaitingJobsAreDroppedWithTheQueueAndRunningOnesFinish) {
  Gate gate;
  std::atomic<int> worked{0};
  int after = 0;
  {
    ThreadPoolQueue queue(&loop_, kBound);
    for (int i = 0; i < 10; ++i) {
      queue.Run(
          [&] {
            gate.Wait();
            ++worked;
          },
          [&] { ++after; });
    }
  }
  gate.Open();
  ASSERT_TRUE(RunUntil([&] { return after == int(kBound); }));
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(worked.load(), int(kBound));
  EXPECT_EQ(after, int(kBound));
}

TEST_F(ThreadPoolQueueTest, DropWaitingDropsOnlyThatOwnersJobsNotStarted) {
  // Jobs of owner 1 fill the pool; 1's waiting jobs are dropped unrun while
  // owner 2's and unowned ones still run.
  Gate gate;
  std::atomic<int> worked_1{0};
  std::vector<int> after;
  ThreadPoolQueue queue(&loop_, kBound);
  for (int i = 0; i < 20; ++i) {
    queue.Run(
        [&] {
          gate.Wait();
          ++worked_1;
        },
        [&after] { after.push_back(1); }, 1);
  }
  queue.Run([] {}, [&after] { after.push_back(2); }, 2);
  queue.Run([] {}, [&after] { after.push_back(0); });
  EXPECT_EQ(queue.DropWaiting(0), 0u);  // 0 is no owner: nothing dropped
  EXPECT_EQ(queue.DropWaiting(3), 0u);
  EXPECT_EQ(queue.DropWaiting(1), 20 - kBound);
  EXPECT_EQ(queue.waiting(), 2u);
  gate.Open();
  ASSERT_TRUE(RunUntil([&] { return after.size() == kBound + 2; }));
  EXPECT_EQ(worked_1.load(), int(kBound));
  EXPECT_EQ(std::count(after.begin(), after.end(), 1), int(kBound));
  EXPECT_EQ(std::count(after.begin(), after.end(), 2), 1);
  EXPECT_EQ(std::count(after.begin(), after.end(), 0), 1);
}

TEST_F(ThreadPoolQueueTest, AnExecutorRunsTheWorkAndTheLoopRunsAfter) {
  // Work on a thread of the executor's own; `after` back on the loop thread,
  // one job at a time when the bound is 1.
  std::vector<std::thread> threads;
  auto executor = [&threads](std::function<void()> task) {
    threads.emplace_back(std::move(task));
  };
  std::thread::id loop_thread = std::this_thread::get_id();
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::vector<int> finished;
  bool afters_on_loop = true;
  {
    ThreadPoolQueue queue(&loop_, 1, executor);
    for (int i = 0; i < 5; ++i) {
      queue.Run(
          [&] {
            int now = ++running;
            for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            --running;
          },
          [&, i] {
            afters_on_loop = afters_on_loop && std::this_thread::get_id() == loop_thread;
            finished.push_back(i);
          });
    }
    ASSERT_TRUE(RunUntil([&] { return finished.size() == 5; }));
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(finished, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(most.load(), 1);
  EXPECT_TRUE(afters_on_loop);
}

TEST_F(ThreadPoolQueueTest, AnExecutorsJobFinishingAfterTheQueueIsGoneIsDropped) {
  Gate gate;
  std::vector<std::thread> threads;
  auto executor = [&threads](std::function<void()> task) {
    threads.emplace_back(std::move(task));
  };
  std::atomic<bool> worked{false};
  bool after = false;
  {
    ThreadPoolQueue queue(&loop_, 1, executor);
    queue.Run(
        [&] {
          gate.Wait();
          worked = true;
        },
        [&] { after = true; });
    ASSERT_TRUE(RunUntil([&] { return gate.waiting() == 1; }));
  }
  gate.Open();
  for (auto& thread : threads) thread.join();
  uv_run(&loop_, UV_RUN_DEFAULT);  // the queue's handle closes; nothing else runs
  EXPECT_TRUE(worked.load());
  EXPECT_FALSE(after);
}

}  // namespace
}  // namespace edge::runtime
