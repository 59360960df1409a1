#include "gateway/node/ready_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace edge::gateway {
namespace {

// A thread kept saturated: every worker always has CPU-bound work queued,
// each task using `cost_ns` of CPU (charged as the node charges a request's
// CPU when its response ends, inside the task); returns each worker's CPU.
std::map<std::string, uint64_t> Saturate(ReadyQueue& queue,
                                         const std::map<std::string, uint64_t>& weights,
                                         const std::map<std::string, uint64_t>& cost_ns,
                                         int picks) {
  std::map<std::string, uint64_t> used;
  std::function<void(const std::string&)> refill = [&](const std::string& worker) {
    uint64_t weight = weights.at(worker);
    ASSERT_TRUE(queue.Push(worker, weight, [&, worker, weight](bool run) {
      if (!run) return;
      used[worker] += cost_ns.at(worker);
      queue.Charge(worker, weight, cost_ns.at(worker));
      refill(worker);  // a closed-loop client sends the next request
    }));
  };
  for (const auto& [worker, weight] : weights) {
    refill(worker);
    refill(worker);
  }
  for (int i = 0; i < picks; ++i) EXPECT_TRUE(queue.RunNext());
  return used;
}

TEST(ReadyQueueTest, CpuFollowsTheWeights) {
  ReadyQueue queue;
  auto used = Saturate(queue, {{"small", 128}, {"large", 256}}, {{"small", 5000000}, {"large", 5000000}},
                       3000);
  double ratio = static_cast<double>(used["large"]) / static_cast<double>(used["small"]);
  EXPECT_NEAR(ratio, 2.0, 0.01);
}

TEST(ReadyQueueTest, TheShareDoesNotDependOnTheCostOfEachTask) {
  // The 256 MiB worker's requests cost 10x the 128 MiB worker's: it gets
  // twice the CPU still, in fewer, longer turns.
  ReadyQueue queue;
  auto used = Saturate(queue, {{"small", 128}, {"large", 256}}, {{"small", 300000}, {"large", 3000000}},
                       20000);
  double ratio = static_cast<double>(used["large"]) / static_cast<double>(used["small"]);
  EXPECT_NEAR(ratio, 2.0, 0.05);
  // Three workers, the extremes of memory_mb's range among them.
  ReadyQueue three;
  used = Saturate(three, {{"tiny", 16}, {"mid", 128}, {"huge", 2048}},
                  {{"tiny", 1000000}, {"mid", 1000000}, {"huge", 1000000}}, 20000);
  EXPECT_NEAR(static_cast<double>(used["mid"]) / used["tiny"], 8.0, 0.1);
  EXPECT_NEAR(static_cast<double>(used["huge"]) / used["mid"], 16.0, 0.2);
}

TEST(ReadyQueueTest, TheLightestWorkerStillProgresses) {
  // Weight 16 against 2048, both always busy: 1 turn in 129, never none.
  ReadyQueue queue;
  auto used = Saturate(queue, {{"tiny", 16}, {"huge", 2048}}, {{"tiny", 1000000}, {"huge", 1000000}},
                       129 * 20);
  EXPECT_EQ(used["tiny"], 20u * 1000000);
  // The longest wait of the light worker between two of its turns is
  // bounded by the weights, not by how much work the heavy one has.
  ReadyQueue again;
  std::vector<std::string> order;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(again.Push("huge", 2048, [&](bool) {
      order.push_back("huge");
      again.Charge("huge", 2048, 1000000);
    }));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(again.Push("tiny", 16, [&](bool) {
      order.push_back("tiny");
      again.Charge("tiny", 16, 1000000);
    }));
  }
  while (again.RunNext()) {
  }
  std::vector<size_t> tiny_at;
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] == "tiny") tiny_at.push_back(i);
  }
  ASSERT_EQ(tiny_at.size(), 3u);
  EXPECT_LE(tiny_at[0], 1u);  // it was queued when the other had a backlog
  EXPECT_LE(tiny_at[1] - tiny_at[0], 129u);
  EXPECT_LE(tiny_at[2] - tiny_at[1], 129u);
}

TEST(ReadyQueueTest, FifoWithinAWorker) {
  ReadyQueue queue;
  std::vector<int> ran;
  for (int i = 0; i < 50; ++i) {
    std::string worker = i % 3 == 0 ? "a" : (i % 3 == 1 ? "b" : "c");
    ASSERT_TRUE(queue.Push(worker, 128 + 64 * (i % 3), [&, i, worker](bool run) {
      EXPECT_TRUE(run);
      ran.push_back(i);
      queue.Charge(worker, 128, 1000 * (i % 7 + 1));
    }));
  }
  EXPECT_EQ(queue.size(), 50u);
  while (queue.RunNext()) {
  }
  ASSERT_EQ(ran.size(), 50u);
  std::map<int, int> last;  // worker -> last index seen
  for (int i : ran) {
    int worker = i % 3;
    if (last.count(worker)) EXPECT_LT(last[worker], i);
    last[worker] = i;
  }
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.RunNext());
}

TEST(ReadyQueueTest, NoCreditForTimeSpentIdle) {
  // A worker idle while another ran for a long time comes back at the
  // queue's virtual time: it does not then run alone for as long.
  ReadyQueue queue;
  std::vector<std::string> order;
  auto push = [&](const std::string& worker) {
    ASSERT_TRUE(queue.Push(worker, 128, [&, worker](bool run) {
      if (!run) return;
      order.push_back(worker);
      queue.Charge(worker, 128, 1'000'000);
    }));
  };
  queue.Charge("back", 128, 0);  // known to the queue, at virtual time 0
  for (int i = 0; i < 1000; ++i) push("busy");
  while (queue.RunNext()) {
  }
  EXPECT_EQ(queue.virtual_time("back"), 0u);
  EXPECT_EQ(queue.virtual_time("busy"), 1000u * 1'000'000);
  order.clear();
  for (int i = 0; i < 4; ++i) push("back");
  for (int i = 0; i < 4; ++i) push("busy");
  while (queue.RunNext()) {
  }
  // "back" starts one task behind "busy" (the start of busy's last task),
  // then they alternate, ties to the one queued first: it did not bank
  // the 1000 turns it sat out.
  EXPECT_EQ(order, (std::vector<std::string>{"back", "back", "busy", "back", "busy", "back", "busy",
                                             "busy"}));
}

TEST(ReadyQueueTest, DebtIsCappedSoNobodyWaitsForever) {
  ReadyQueue queue;
  // 100 s of CPU outside any queued task (a long background run) at the
  // smallest weight: ahead of the queue by at most kMaxLeadNs.
  queue.Charge("hog", 16, 100'000'000'000);
  EXPECT_EQ(queue.virtual_time("hog"), queue.virtual_time() + ReadyQueue::kMaxLeadNs);
  std::vector<std::string> order;
  auto push = [&](const std::string& worker, uint64_t weight) {
    ASSERT_TRUE(queue.Push(worker, weight, [&, worker, weight](bool run) {
      if (!run) return;
      order.push_back(worker);
      queue.Charge(worker, weight, 10'000'000);  // 10 ms
    }));
  };
  push("hog", 16);
  for (int i = 0; i < 200; ++i) push("other", 128);
  while (queue.RunNext()) {
  }
  // The other worker runs first, but the hog is back once the queue has
  // moved kMaxLeadNs on: 1 s of virtual time at 10 ms a turn.
  auto at = std::find(order.begin(), order.end(), "hog") - order.begin();
  EXPECT_GE(at, 90);
  EXPECT_LE(at, 101);
}

TEST(ReadyQueueTest, AWorkerRemovedWhileQueued) {
  ReadyQueue queue;
  std::vector<std::string> ran, dropped;
  auto push = [&](const std::string& worker, int i) {
    return queue.Push(worker, 128, [&, worker, i](bool run) {
      (run ? ran : dropped).push_back(worker + std::to_string(i));
    });
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(push("a", i));
    ASSERT_TRUE(push("b", i));
    ASSERT_TRUE(push("c", i));
  }
  ASSERT_TRUE(queue.RunNext());  // a0
  queue.Remove("b");
  // Its tasks were told, in order, and nothing of it is left.
  EXPECT_EQ(dropped, (std::vector<std::string>{"b0", "b1", "b2"}));
  EXPECT_EQ(queue.queued("b"), 0u);
  EXPECT_EQ(queue.size(), 5u);
  while (queue.RunNext()) {
  }
  EXPECT_EQ(ran.size(), 6u);
  for (const std::string& name : ran) EXPECT_NE(name[0], 'b');
  queue.Remove("unknown");  // harmless

  // Removed from inside its own running task, with more of it queued.
  ASSERT_TRUE(queue.Push("d", 128, [&](bool run) {
    ran.push_back("d0");
    if (run) queue.Remove("d");
  }));
  ASSERT_TRUE(push("d", 1));
  ASSERT_TRUE(push("e", 0));
  while (queue.RunNext()) {
  }
  EXPECT_EQ(dropped.back(), "d1");
  EXPECT_EQ(ran.back(), "e0");
  EXPECT_TRUE(queue.empty());
  // Clear drops everything left.
  ASSERT_TRUE(push("f", 0));
  ASSERT_TRUE(push("g", 0));
  queue.Clear();
  EXPECT_EQ(dropped.back(), "g0");
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.workers(), 0u);
}

TEST(ReadyQueueTest, AFloodFillsOnlyItsOwnQueue) {
  // A tenant that queues far more than it may: refused past its cap,
  // while another worker's single request runs within a turn or two.
  ReadyQueue queue(64);
  int refused = 0;
  std::vector<std::string> order;
  for (int i = 0; i < 10000; ++i) {
    bool queued = queue.Push("flood", 2048, [&](bool run) {
      if (!run) return;
      order.push_back("flood");
      queue.Charge("flood", 2048, 50'000'000);
    });
    refused += queued ? 0 : 1;
  }
  EXPECT_EQ(refused, 10000 - 64);
  EXPECT_EQ(queue.queued("flood"), 64u);
  ASSERT_TRUE(queue.RunNext());
  ASSERT_TRUE(queue.Push("victim", 16, [&](bool run) {
    if (run) order.push_back("victim");
  }));
  ASSERT_TRUE(queue.RunNext());
  EXPECT_EQ(order.back(), "victim");
}

TEST(ReadyQueueTest, PruneForgetsIdleWorkersWithoutDebt) {
  ReadyQueue queue;
  ASSERT_TRUE(queue.Push("a", 128, [&](bool) { queue.Charge("a", 128, 1000); }));
  ASSERT_TRUE(queue.Push("b", 128, [](bool) {}));
  queue.Charge("c", 128, 0);
  EXPECT_EQ(queue.workers(), 3u);
  ASSERT_TRUE(queue.RunNext());  // a, now ahead of the queue
  queue.Prune();
  // b is queued, a has debt; c had neither.
  EXPECT_EQ(queue.workers(), 2u);
  ASSERT_TRUE(queue.RunNext());  // b
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace edge::gateway
