// The workflow store on a test clock: instances, run reports (results,
// retries with their backoff, sleeps, waits), events, pause, resume,
// terminate, restart, retention and the account quota.
#include "bindings/workflows/workflow_store.h"

#include <gtest/gtest.h>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {

class WorkflowStoreTest : public ::testing::Test {
 protected:
  WorkflowStoreTest() { Open({}); }

  void Open(WorkflowStore::Options options) {
    store_.reset();
    auto store = WorkflowStore::Open(dir_.path(), options, [this] { return now_; });
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  WorkflowInstance Instance(std::string id, std::string params = "p") {
    WorkflowInstance instance;
    instance.account = "acct";
    instance.workflow = "orders";
    instance.id = std::move(id);
    instance.worker = "shop";
    instance.class_name = "OrderFlow";
    instance.params = std::move(params);
    instance.created_ms = now_;
    return instance;
  }

  // Begins a run of `id` now; fails the test when it is not due.
  WorkflowInstanceState Begin(const std::string& id) {
    auto begun = store_->BeginRun("acct", "orders", id, now_);
    EXPECT_TRUE(begun.ok()) << begun.status().message();
    EXPECT_TRUE(begun.ok() && begun->has_value()) << id << " is not due";
    return begun.ok() && begun->has_value() ? **begun : WorkflowInstanceState{};
  }

  WorkflowInstance Finish(const WorkflowInstanceState& state, const WorkflowRunReport& report) {
    auto after = store_->FinishRun("acct", "orders", state.instance.id, state.instance.epoch, report,
                                   now_, now_);
    EXPECT_TRUE(after.ok()) << after.status().message();
    return after.ok() ? *after : WorkflowInstance{};
  }

  static WorkflowRunReport::Item Item(WorkflowRunReport::Item::Kind kind, std::string name) {
    WorkflowRunReport::Item item;
    item.kind = kind;
    item.name = std::move(name);
    return item;
  }

  size_t DueNow() {
    auto due = store_->DueBy(now_, 100);
    EXPECT_TRUE(due.ok());
    return due.ok() ? due->size() : 0;
  }

  base::testing::TempDir dir_;
  int64_t now_ = 1'700'000'000'000;
  std::shared_ptr<WorkflowStore> store_;
};

TEST_F(WorkflowStoreTest, IdsAndNamesFollowWorkersRules) {
  EXPECT_TRUE(ValidateWorkflowId("order-1_A", "id").ok());
  EXPECT_FALSE(ValidateWorkflowId("", "id").ok());
  EXPECT_FALSE(ValidateWorkflowId("-x", "id").ok());
  EXPECT_FALSE(ValidateWorkflowId("a b", "id").ok());
  EXPECT_FALSE(ValidateWorkflowId(std::string(101, 'a'), "id").ok());
  EXPECT_TRUE(ValidateWorkflowId(std::string(100, 'a'), "id").ok());
  EXPECT_TRUE(ValidateWorkflowName("order-flow").ok());
  EXPECT_FALSE(ValidateWorkflowName(std::string(65, 'a')).ok());
}

TEST_F(WorkflowStoreTest, CreateRefusesATakenIdAndBatchSkipsIt) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  Status again = store_->Create(Instance("a"));
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already exists"), std::string::npos);
  auto made = store_->CreateBatch({Instance("a"), Instance("b"), Instance("c")});
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(*made, (std::vector<std::string>{"b", "c"}));
  auto got = store_->Get("acct", "orders", "b");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, WorkflowStatus::kQueued);
  EXPECT_EQ(got->params, "p");
  EXPECT_FALSE(store_->Get("acct", "orders", "zz").ok());
  EXPECT_FALSE(store_->Get("other", "orders", "a").ok());  // accounts do not see each other
  EXPECT_EQ(DueNow(), 3u);
}

TEST_F(WorkflowStoreTest, AStepResultIsStoredAndTheRunGoesOnAtOnce) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  auto state = Begin("a");
  EXPECT_EQ(state.instance.status, WorkflowStatus::kRunning);
  WorkflowRunReport report;
  auto done = Item(WorkflowRunReport::Item::kDone, "charge");
  done.result = "42";
  report.items.push_back(done);
  auto after = Finish(state, report);
  EXPECT_EQ(after.status, WorkflowStatus::kRunning);
  EXPECT_EQ(after.wake_ms, now_);
  auto loaded = store_->Load("acct", "orders", "a");
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->steps.size(), 1u);
  EXPECT_EQ(loaded->steps[0].state, WorkflowStep::kDone);
  EXPECT_EQ(loaded->steps[0].result, "42");
  EXPECT_EQ(loaded->steps[0].attempts, 1u);
  // The next run returns: complete, with the output.
  state = Begin("a");
  ASSERT_EQ(state.steps.size(), 1u);
  WorkflowRunReport end;
  end.end = WorkflowRunReport::kReturned;
  end.output = "out";
  after = Finish(state, end);
  EXPECT_EQ(after.status, WorkflowStatus::kComplete);
  EXPECT_EQ(after.output, "out");
  EXPECT_EQ(DueNow(), 0u);
}

TEST_F(WorkflowStoreTest, RetriesFollowTheBackoffOnTheClock) {
  EXPECT_EQ(WorkflowRetryDelayMs({5, 10'000, WorkflowRunReport::StepConfig::kExponential}, 1), 10'000);
  EXPECT_EQ(WorkflowRetryDelayMs({5, 10'000, WorkflowRunReport::StepConfig::kExponential}, 3), 40'000);
  EXPECT_EQ(WorkflowRetryDelayMs({5, 1'000, WorkflowRunReport::StepConfig::kLinear}, 3), 3'000);
  EXPECT_EQ(WorkflowRetryDelayMs({5, 1'000, WorkflowRunReport::StepConfig::kConstant}, 4), 1'000);

  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  WorkflowRunReport::Item fail = Item(WorkflowRunReport::Item::kFailed, "charge");
  fail.config = {2, 1'000, WorkflowRunReport::StepConfig::kExponential, 60'000};
  fail.error_name = "Error";
  fail.error_message = "upstream 503";
  WorkflowRunReport report;
  report.items.push_back(fail);
  int64_t expected_delays[] = {1'000, 2'000};
  for (int64_t delay : expected_delays) {
    auto after = Finish(Begin("a"), report);
    EXPECT_EQ(after.status, WorkflowStatus::kWaiting);
    EXPECT_EQ(after.wake_ms, now_ + delay);
    now_ += delay - 1;
    EXPECT_EQ(DueNow(), 0u);  // not a millisecond early
    now_ += 1;
  }
  // The third failure is past limit 2: the step fails, and the next run
  // throws its error into run().
  auto after = Finish(Begin("a"), report);
  EXPECT_EQ(after.status, WorkflowStatus::kRunning);
  auto state = Begin("a");
  ASSERT_EQ(state.steps.size(), 1u);
  EXPECT_EQ(state.steps[0].state, WorkflowStep::kFailed);
  EXPECT_EQ(state.steps[0].attempts, 3u);
  EXPECT_EQ(state.steps[0].history.size(), 3u);
  EXPECT_EQ(state.steps[0].error_message, "upstream 503");
  WorkflowRunReport threw;
  threw.end = WorkflowRunReport::kThrew;
  threw.error_name = "Error";
  threw.error_message = "upstream 503";
  after = Finish(state, threw);
  EXPECT_EQ(after.status, WorkflowStatus::kErrored);
  EXPECT_EQ(after.error_message, "upstream 503");
}

TEST_F(WorkflowStoreTest, NonRetryableErrorsEndTheInstanceAtOnce) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  WorkflowRunReport::Item fail = Item(WorkflowRunReport::Item::kFailed, "charge");
  fail.error_name = "NonRetryableError";
  fail.error_message = "card declined";
  fail.non_retryable = true;
  WorkflowRunReport report;
  report.items.push_back(fail);
  auto after = Finish(Begin("a"), report);
  EXPECT_EQ(after.status, WorkflowStatus::kErrored);
  EXPECT_EQ(after.error_name, "NonRetryableError");
  EXPECT_EQ(after.error_message, "card declined");
}

TEST_F(WorkflowStoreTest, ARunThatDiesCountsAsAFailedAttemptOfItsStep) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  WorkflowRunReport report;
  auto started = Item(WorkflowRunReport::Item::kStarted, "spin");
  started.config = {1, 500, WorkflowRunReport::StepConfig::kConstant, 60'000};
  report.items.push_back(started);
  report.end = WorkflowRunReport::kDied;
  report.error_name = "Error";
  report.error_message = "Worker exceeded CPU time limit.";
  auto after = Finish(Begin("a"), report);
  EXPECT_EQ(after.status, WorkflowStatus::kWaiting);
  EXPECT_EQ(after.wake_ms, now_ + 500);
  EXPECT_EQ(after.run_failures, 0u);
  now_ += 500;
  after = Finish(Begin("a"), report);  // the second attempt dies too: out of retries
  EXPECT_EQ(after.status, WorkflowStatus::kRunning);
  auto loaded = store_->Load("acct", "orders", "a");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->steps[0].state, WorkflowStep::kFailed);
  EXPECT_EQ(loaded->steps[0].error_message, "Worker exceeded CPU time limit.");
  // A run that dies outside any step is retried a few times, then errors.
  ASSERT_TRUE(store_->Create(Instance("b")).ok());
  WorkflowRunReport died;
  died.end = WorkflowRunReport::kDied;
  died.error_message = "load failed";
  for (uint32_t i = 0; i <= kWorkflowMaxRunFailures; ++i) {
    after = Finish(Begin("b"), died);
    now_ = std::max(now_, after.wake_ms);
  }
  EXPECT_EQ(after.status, WorkflowStatus::kErrored);
  EXPECT_EQ(after.error_message, "load failed");
}

TEST_F(WorkflowStoreTest, SleepsWakeOnTheClock) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  WorkflowRunReport report;
  auto sleep = Item(WorkflowRunReport::Item::kSleep, "nap");
  sleep.sleep_ms = 3'600'000;
  report.items.push_back(sleep);
  auto after = Finish(Begin("a"), report);
  EXPECT_EQ(after.status, WorkflowStatus::kWaiting);
  EXPECT_EQ(after.wake_ms, now_ + 3'600'000);
  // A replay that reports the same sleep again does not move its wake time.
  now_ += 1'000;
  EXPECT_EQ(DueNow(), 0u);
  now_ += 3'599'000;
  EXPECT_EQ(DueNow(), 1u);
  auto state = Begin("a");
  ASSERT_EQ(state.steps.size(), 1u);
  EXPECT_EQ(state.steps[0].state, WorkflowStep::kDone);
  // sleepUntil a time passed is over at once.
  ASSERT_TRUE(store_->Create(Instance("b")).ok());
  WorkflowRunReport until;
  auto past = Item(WorkflowRunReport::Item::kSleep, "past");
  past.until_ms = now_ - 5;
  until.items.push_back(past);
  after = Finish(Begin("b"), until);
  EXPECT_EQ(after.status, WorkflowStatus::kRunning);
}

TEST_F(WorkflowStoreTest, EventsAreDeliveredBufferedOrTimeOut) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  ASSERT_TRUE(store_->Create(Instance("b")).ok());
  WorkflowRunReport report;
  auto wait = Item(WorkflowRunReport::Item::kWait, "shipped");
  wait.event_type = "shipped";
  wait.timeout_ms = 60'000;
  report.items.push_back(wait);
  auto after = Finish(Begin("a"), report);
  EXPECT_EQ(after.status, WorkflowStatus::kWaiting);
  // An event of another type is kept; the right one wakes the instance.
  ASSERT_TRUE(store_->SendEvent("acct", "orders", "a", {"other", "x", now_}).ok());
  EXPECT_EQ(store_->Get("acct", "orders", "a")->status, WorkflowStatus::kWaiting);
  ASSERT_TRUE(store_->SendEvent("acct", "orders", "a", {"shipped", "tracking", now_ + 1}).ok());
  EXPECT_EQ(store_->Get("acct", "orders", "a")->status, WorkflowStatus::kRunning);
  auto state = Begin("a");
  EXPECT_EQ(state.steps[0].state, WorkflowStep::kDone);
  EXPECT_EQ(state.steps[0].result, "tracking");
  EXPECT_EQ(state.steps[0].end_ms, now_ + 1);
  auto loaded = store_->Load("acct", "orders", "a");
  ASSERT_EQ(loaded->events.size(), 1u);  // "other" is still there
  // An event sent before the wait is buffered and taken by it.
  ASSERT_TRUE(store_->SendEvent("acct", "orders", "b", {"shipped", "early", now_}).ok());
  Finish(Begin("b"), report);
  state = Begin("b");
  EXPECT_EQ(state.steps[0].result, "early");
  // A wait that times out fails its step.
  ASSERT_TRUE(store_->Create(Instance("c")).ok());
  Finish(Begin("c"), report);
  now_ += 60'000;
  state = Begin("c");
  EXPECT_EQ(state.steps[0].state, WorkflowStep::kFailed);
  EXPECT_NE(state.steps[0].error_message.find("timed out"), std::string::npos);
  // Events are refused for a finished instance and a bad type.
  EXPECT_FALSE(store_->SendEvent("acct", "orders", "c", {"-bad", "", now_}).ok());
  ASSERT_TRUE(store_->Terminate("acct", "orders", "c").ok());
  EXPECT_FALSE(store_->SendEvent("acct", "orders", "c", {"shipped", "", now_}).ok());
}

TEST_F(WorkflowStoreTest, PauseResumeTerminateRestart) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  ASSERT_TRUE(store_->Pause("acct", "orders", "a").ok());
  EXPECT_EQ(store_->Get("acct", "orders", "a")->status, WorkflowStatus::kPaused);
  EXPECT_EQ(DueNow(), 0u);
  ASSERT_TRUE(store_->Resume("acct", "orders", "a").ok());
  EXPECT_EQ(store_->Get("acct", "orders", "a")->status, WorkflowStatus::kQueued);
  // Paused while a run is out: waitingForPause, then paused by its report.
  auto state = Begin("a");
  ASSERT_TRUE(store_->Pause("acct", "orders", "a").ok());
  EXPECT_EQ(store_->Get("acct", "orders", "a")->status, WorkflowStatus::kWaitingForPause);
  WorkflowRunReport report;
  auto done = Item(WorkflowRunReport::Item::kDone, "one");
  report.items.push_back(done);
  auto after = Finish(state, report);
  EXPECT_EQ(after.status, WorkflowStatus::kPaused);
  EXPECT_EQ(DueNow(), 0u);
  ASSERT_TRUE(store_->Resume("acct", "orders", "a").ok());
  EXPECT_EQ(DueNow(), 1u);
  // Terminated while a run is out: its report is dropped.
  state = Begin("a");
  ASSERT_TRUE(store_->Terminate("acct", "orders", "a").ok());
  after = Finish(state, report);
  EXPECT_EQ(after.status, WorkflowStatus::kTerminated);
  EXPECT_FALSE(store_->Terminate("acct", "orders", "a").ok());
  EXPECT_FALSE(store_->Pause("acct", "orders", "a").ok());
  // Restart: from the top, steps forgotten.
  ASSERT_TRUE(store_->Restart("acct", "orders", "a").ok());
  state = Begin("a");
  EXPECT_TRUE(state.steps.empty());
  EXPECT_EQ(state.instance.params, "p");
}

TEST_F(WorkflowStoreTest, FinishedInstancesAreKeptForTheRetentionPeriod) {
  Open({.retention_ms = 1'000});
  ASSERT_TRUE(store_->Create(Instance("a", std::string(1000, 'x'))).ok());
  uint64_t used = store_->AccountBytes("acct");
  EXPECT_GE(used, 1000u);
  ASSERT_TRUE(store_->Terminate("acct", "orders", "a").ok());
  EXPECT_EQ(*store_->SweepFinished(), 0u);
  now_ += 1'000;
  EXPECT_EQ(*store_->SweepFinished(), 1u);
  EXPECT_FALSE(store_->Get("acct", "orders", "a").ok());
  EXPECT_EQ(store_->AccountBytes("acct"), 0u);
}

TEST_F(WorkflowStoreTest, TheAccountQuotaBoundsWhatIsKept) {
  Open({.account_quota_bytes = 4096});
  ASSERT_TRUE(store_->Create(Instance("a", std::string(2000, 'x'))).ok());
  Status full = store_->Create(Instance("b", std::string(3000, 'x')));
  EXPECT_FALSE(full.ok());
  EXPECT_NE(full.message().find("storage is full"), std::string::npos);
  EXPECT_FALSE(store_->SendEvent("acct", "orders", "a", {"big", std::string(3000, 'y'), now_}).ok());
  // Another account has its own quota.
  auto other = Instance("a", std::string(2000, 'x'));
  other.account = "other";
  EXPECT_TRUE(store_->Create(other).ok());
}

TEST_F(WorkflowStoreTest, TheStepLimitEndsTheInstance) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  WorkflowRunReport report;
  for (uint32_t i = 0; i <= kWorkflowMaxSteps; ++i) {
    auto done = Item(WorkflowRunReport::Item::kDone, "s");
    done.count = i + 1;
    report.items.push_back(done);
  }
  auto after = Finish(Begin("a"), report);
  EXPECT_EQ(after.status, WorkflowStatus::kErrored);
  EXPECT_NE(after.error_message.find("maximum of 10000 steps"), std::string::npos);
}

TEST_F(WorkflowStoreTest, StateSurvivesReopening) {
  ASSERT_TRUE(store_->Create(Instance("a")).ok());
  WorkflowRunReport report;
  auto done = Item(WorkflowRunReport::Item::kDone, "one");
  done.result = "r";
  report.items.push_back(done);
  Finish(Begin("a"), report);
  store_.reset();
  Open({});
  auto loaded = store_->Load("acct", "orders", "a");
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->steps.size(), 1u);
  EXPECT_EQ(loaded->steps[0].result, "r");
  EXPECT_EQ(DueNow(), 1u);
  auto listed = store_->List("acct", "orders", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  auto workflows = store_->Workflows("acct");
  ASSERT_TRUE(workflows.ok());
  ASSERT_EQ(workflows->size(), 1u);
  EXPECT_EQ((*workflows)[0].name, "orders");
}

}  // namespace
}  // namespace edge::bindings
