// StartLoads: each worker claimed once, in order, by the thread that asks
// first (a background load or a request); results counted once; the
// finish told once; a full budget on every thread leaves the rest unfit.
#include "gateway/node/start_loads.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <set>
#include <thread>

namespace edge::gateway {
namespace {

std::shared_ptr<const ServedWorker> Served(const std::string& name, uint64_t instance) {
  auto served = std::make_shared<ServedWorker>();
  served->name = name;
  served->instance = instance;
  return served;
}

std::vector<std::shared_ptr<const ServedWorker>> Workers(int count) {
  std::vector<std::shared_ptr<const ServedWorker>> workers;
  for (int i = 0; i < count; ++i) workers.push_back(Served("w" + std::to_string(i), 100 + i));
  return workers;
}

TEST(StartLoadsTest, EachWorkerIsClaimedOnceInOrderAndTheFinishIsToldOnce) {
  auto workers = Workers(4);
  StartLoads loads(workers, 2);
  int finished = 0;
  loads.SetOnFinished([&] { ++finished; });
  // A request on thread 1 claims w2 before the background loads reach it.
  EXPECT_EQ(loads.HolderOrClaim(*workers[2], 1), 1);
  EXPECT_EQ(loads.ClaimNext(0)->name, "w0");
  EXPECT_EQ(loads.ClaimNext(1)->name, "w1");
  EXPECT_EQ(loads.ClaimNext(0)->name, "w3");  // w2 is skipped: claimed
  EXPECT_EQ(loads.ClaimNext(1), nullptr);
  // A request elsewhere is handed to the holder.
  EXPECT_EQ(loads.HolderOrClaim(*workers[0], 1), 0);
  EXPECT_EQ(loads.HolderOrClaim(*workers[2], 0), 1);
  loads.Loaded(*workers[0], 0, true);
  loads.Loaded(*workers[0], 0, true);  // told twice, counted once
  loads.Loaded(*workers[1], 1, false);
  loads.Loaded(*workers[2], 1, true);
  EXPECT_FALSE(loads.finished());
  EXPECT_EQ(loads.progress().pending, 1u);
  EXPECT_EQ(finished, 0);
  loads.Gone(*workers[3]);
  EXPECT_TRUE(loads.finished());
  EXPECT_EQ(finished, 1);
  StartLoads::Progress progress = loads.progress();
  EXPECT_EQ(progress.workers, 4u);
  EXPECT_EQ(progress.loaded, 2u);
  EXPECT_EQ(progress.failed, 1u);
  EXPECT_EQ(progress.gone, 1u);
  EXPECT_EQ(progress.pending, 0u);
  EXPECT_EQ(progress.loaded_by_thread, (std::vector<size_t>{1, 1}));
  // A worker that failed to load is not handed over: it fails (or loads)
  // where its request is.
  EXPECT_EQ(loads.HolderOrClaim(*workers[1], 0), -1);
}

TEST(StartLoadsTest, OtherInstancesAndUnknownWorkersAreNotItsBusiness) {
  auto workers = Workers(2);
  StartLoads loads(workers, 2);
  // A redeployed version (another instance) and a worker deployed since.
  EXPECT_EQ(loads.HolderOrClaim(*Served("w0", 999), 1), -1);
  EXPECT_EQ(loads.HolderOrClaim(*Served("new", 1), 1), -1);
  loads.Loaded(*Served("w0", 999), 1, true);
  EXPECT_EQ(loads.progress().loaded, 0u);
  EXPECT_EQ(loads.ClaimNext(0)->name, "w0");
}

TEST(StartLoadsTest, WhenEveryThreadIsFullTheRestWaitForTheirFirstRequest) {
  auto workers = Workers(5);
  StartLoads loads(workers, 2);
  bool finished = false;
  loads.SetOnFinished([&] { finished = true; });
  ASSERT_EQ(loads.ClaimNext(0)->name, "w0");
  ASSERT_EQ(loads.ClaimNext(1)->name, "w1");
  loads.Loaded(*workers[0], 0, true);
  loads.Full(0);
  loads.Full(0);  // once per thread
  EXPECT_EQ(loads.progress().unfit, 0u);
  // Thread 1 still has room.
  ASSERT_EQ(loads.ClaimNext(1)->name, "w2");
  loads.Full(1);
  StartLoads::Progress progress = loads.progress();
  EXPECT_EQ(progress.unfit, 2u);  // w3, w4
  EXPECT_EQ(progress.pending, 2u);  // w1 and w2 are loading
  EXPECT_EQ(loads.HolderOrClaim(*workers[4], 0), -1);  // loads where its request is
  EXPECT_EQ(loads.ClaimNext(0), nullptr);
  loads.Loaded(*workers[1], 1, true);
  loads.Loaded(*workers[2], 1, true);
  EXPECT_TRUE(finished);
  EXPECT_EQ(loads.progress().loaded, 3u);
}

TEST(StartLoadsTest, NoWorkersIsFinishedAtOnce) {
  StartLoads loads({}, 2);
  bool finished = false;
  loads.SetOnFinished([&] { finished = true; });
  EXPECT_TRUE(finished);
  EXPECT_TRUE(loads.finished());
  EXPECT_EQ(loads.ClaimNext(0), nullptr);
}

TEST(StartLoadsTest, ThreadsRacingClaimEveryWorkerExactlyOnce) {
  auto workers = Workers(2000);
  StartLoads loads(workers, 4);
  std::vector<std::vector<std::string>> claimed(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0;; ++i) {
        // Half the threads also claim as requests would, out of order.
        // (A thread asks only for workers it does not hold, as NodeThread
        // does: for one it holds, the answer is itself again.)
        if (t % 2 == 1) {
          const auto& worker = workers[(i * 7919) % workers.size()];
          bool mine = std::find(claimed[t].begin(), claimed[t].end(), worker->name) !=
                      claimed[t].end();
          if (!mine && loads.HolderOrClaim(*worker, t) == t) {
            claimed[t].push_back(worker->name);
            loads.Loaded(*worker, t, true);
          }
        }
        std::shared_ptr<const ServedWorker> next = loads.ClaimNext(t);
        if (next == nullptr) break;
        claimed[t].push_back(next->name);
        loads.Loaded(*next, t, true);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> all;
  size_t total = 0;
  for (const auto& names : claimed) {
    total += names.size();
    all.insert(names.begin(), names.end());
  }
  EXPECT_EQ(total, workers.size());
  EXPECT_EQ(all.size(), workers.size());
  EXPECT_TRUE(loads.finished());
  EXPECT_EQ(loads.progress().loaded, workers.size());
}

}  // namespace
}  // namespace edge::gateway
