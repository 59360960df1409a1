#include "gateway/node/worker_lanes.h"

#include <gtest/gtest.h>

namespace edge::gateway {
namespace {

using Lane = WorkerLanes::Lane;

TEST(WorkerLanesTest, AQuarantineLastsItsTimeThenTheWorkerIsBack) {
  WorkerLanes lanes;
  EXPECT_EQ(lanes.LaneOf("a", 1000), Lane::kServing);
  EXPECT_TRUE(lanes.Quarantine("a", 1000));
  EXPECT_FALSE(lanes.Quarantine("a", 2000));  // extended, not new
  EXPECT_EQ(lanes.quarantined(), 1u);
  EXPECT_EQ(lanes.LaneOf("a", 2000 + WorkerLanes::kQuarantineMs - 1), Lane::kQuarantine);
  EXPECT_EQ(lanes.LaneOf("b", 2000), Lane::kServing);
  EXPECT_EQ(lanes.LaneOf("a", 2000 + WorkerLanes::kQuarantineMs), Lane::kServing);
  EXPECT_EQ(lanes.quarantined(), 0u);
  // Quarantined again after it ran out: said again.
  EXPECT_TRUE(lanes.Quarantine("a", 100000));
}

TEST(WorkerLanesTest, QuarantineWinsOverHeavyAndEachRunsOutOnItsOwn) {
  WorkerLanes lanes;
  EXPECT_TRUE(lanes.MarkHeavy("a", 0));
  EXPECT_EQ(lanes.LaneOf("a", 1), Lane::kHeavy);
  EXPECT_TRUE(lanes.Quarantine("a", 1));
  EXPECT_EQ(lanes.LaneOf("a", 2), Lane::kQuarantine);
  EXPECT_EQ(lanes.heavy(), 1u);
  EXPECT_EQ(lanes.quarantined(), 1u);
  // The heavy mark runs out first; the quarantine still holds.
  EXPECT_EQ(lanes.LaneOf("a", WorkerLanes::kHeavyMs + 1), Lane::kQuarantine);
  EXPECT_EQ(lanes.heavy(), 0u);
  EXPECT_TRUE(lanes.MarkHeavy("a", WorkerLanes::kQuarantineMs - 5));
  EXPECT_EQ(lanes.LaneOf("a", 1 + WorkerLanes::kQuarantineMs), Lane::kHeavy);
  EXPECT_EQ(lanes.quarantined(), 0u);
}

TEST(HeavyDetectorTest, OneSlowTurnIsNotHeavyASteadyRunIs) {
  HeavyDetector detector(1000000);  // 1 ms
  // A cold start or a first request compiling its code: one long turn
  // among quick ones, however long.
  EXPECT_FALSE(detector.Note("w", 500000000));
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(detector.Note("w", 50000));
  // Slow every other turn: heavy by the 4th slow one.
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(detector.Note("w", 3000000));
    EXPECT_FALSE(detector.Note("w", 50000));
  }
  EXPECT_TRUE(detector.Note("w", 3000000));
  // Other workers are measured apart.
  EXPECT_FALSE(detector.Note("light", 100000));
  // Back to quick turns: no longer heavy once fewer than 4 of the last 8
  // were slow.
  EXPECT_TRUE(detector.Note("w", 50000));
  for (int i = 0; i < 3; ++i) detector.Note("w", 50000);
  EXPECT_FALSE(detector.Note("w", 50000));
}

TEST(HeavyDetectorTest, ZeroThresholdNeverMarksAndPruneForgetsCalmWorkers) {
  HeavyDetector never(0);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(never.Note("w", 1000000000));
  HeavyDetector detector(1000000);
  for (int i = 0; i < 3; ++i) detector.Note("w", 5000000);
  for (int i = 0; i < 8; ++i) detector.Note("w", 0);
  detector.Prune();
  // Forgotten: three slow turns again are not yet heavy.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(detector.Note("w", 3000000));
  EXPECT_TRUE(detector.Note("w", 3000000));
}

}  // namespace
}  // namespace edge::gateway
