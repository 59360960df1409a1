#include "bindings/queues/queue_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {

class QueueStoreTest : public ::testing::Test {
 protected:
  QueueStoreTest() { Reopen({}); }

  void Reopen(QueueStore::Options options) {
    store_.reset();
    auto store = QueueStore::Open(dir_.path(), options, [this] { return now_; });
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  static QueueSendMessage Text(std::string body, int64_t delay = 0) {
    return {std::move(body), "text", delay};
  }

  std::vector<QueueMessage> Lease(std::string_view queue, size_t max = 100) {
    auto leased = store_->Lease("acct", queue, max);
    EXPECT_TRUE(leased.ok()) << leased.status().message();
    return leased.ok() ? std::move(leased).value() : std::vector<QueueMessage>{};
  }

  base::testing::TempDir dir_;
  int64_t now_ = 1'700'000'000'000;
  std::shared_ptr<QueueStore> store_;
};

TEST_F(QueueStoreTest, QueuesBelongToAnAccount) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  Status again = store_->CreateQueue("acct", "jobs");
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already exists"), std::string::npos);
  // Another account may use the same name; it sees only its own.
  EXPECT_TRUE(store_->CreateQueue("other", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("a")}).ok());
  auto mine = store_->ListQueues("acct");
  auto theirs = store_->ListQueues("other");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].depth, 1u);
  EXPECT_EQ((*mine)[0].retention_seconds, kQueueDefaultRetentionSeconds);
  EXPECT_EQ((*theirs)[0].depth, 0u);
  EXPECT_TRUE(store_->Lease("other", "jobs", 10)->empty());
  // `edge dev`'s queues belong to the account "".
  ASSERT_TRUE(store_->CreateQueue("", "jobs").ok());
  ASSERT_TRUE(store_->Send("", "jobs", {Text("local")}).ok());
  EXPECT_GT(store_->AccountBytes(""), 0u);
  EXPECT_EQ(store_->ListQueues("")->at(0).depth, 1u);
}

TEST_F(QueueStoreTest, NamesAreChecked) {
  EXPECT_FALSE(store_->CreateQueue("acct", "Jobs").ok());
  EXPECT_FALSE(store_->CreateQueue("acct", "-jobs").ok());
  EXPECT_FALSE(store_->CreateQueue("acct", std::string(64, 'a')).ok());
  EXPECT_FALSE(store_->CreateQueue("acct", "a/b").ok());
  EXPECT_TRUE(store_->CreateQueue("acct", std::string(63, 'a')).ok());
}

TEST_F(QueueStoreTest, SendToAMissingQueueFails) {
  Status sent = store_->Send("acct", "nope", {Text("a")});
  EXPECT_EQ(sent.code(), ErrorCode::kNotFound);
  EXPECT_NE(sent.message().find("does not exist"), std::string::npos);
}

TEST_F(QueueStoreTest, SentMessagesAreCommittedAndSurviveReopen) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("one"), Text("two")}).ok());
  Reopen({});
  auto leased = Lease("jobs");
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_EQ(leased[0].body, "one");
  EXPECT_EQ(leased[1].body, "two");
  EXPECT_EQ(leased[0].attempts, 1u);
  EXPECT_EQ(leased[0].timestamp_ms, now_);
  EXPECT_EQ(leased[0].id.size(), 32u);
  EXPECT_NE(leased[0].id, leased[1].id);
}

TEST_F(QueueStoreTest, LimitsAreWorkers) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  EXPECT_FALSE(store_->Send("acct", "jobs", {Text(std::string(kQueueMaxMessageBytes + 1, 'x'))}).ok());
  EXPECT_TRUE(store_->Send("acct", "jobs", {Text(std::string(kQueueMaxMessageBytes, 'x'))}).ok());
  std::vector<QueueSendMessage> many(kQueueMaxBatchMessages + 1, Text("x"));
  EXPECT_FALSE(store_->Send("acct", "jobs", many).ok());
  std::vector<QueueSendMessage> big(3, Text(std::string(kQueueMaxBatchBytes / 3 + 1, 'x')));
  Status too_big = store_->Send("acct", "jobs", big);
  EXPECT_FALSE(too_big.ok());
  EXPECT_NE(too_big.message().find("exceeds the limit"), std::string::npos);
  EXPECT_FALSE(store_->Send("acct", "jobs", {Text("x", kQueueMaxDelaySeconds + 1)}).ok());
  EXPECT_FALSE(store_->Send("acct", "jobs", {{"x", "xml", 0}}).ok());
}

TEST_F(QueueStoreTest, DelayedMessagesWaitForTheClock) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("later", 30), Text("now")}).ok());
  auto first = Lease("jobs");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].body, "now");
  EXPECT_EQ(store_->Peek("acct", "jobs", 10)->count, 0u);
  now_ += 30'000;
  auto ready = store_->Peek("acct", "jobs", 10);
  EXPECT_EQ(ready->count, 1u);
  EXPECT_EQ(ready->since_ms, now_);
  auto second = Lease("jobs");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].body, "later");
}

TEST_F(QueueStoreTest, LeasedMessagesAreNotHandedOutTwice) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("a"), Text("b"), Text("c")}).ok());
  EXPECT_EQ(Lease("jobs", 2).size(), 2u);
  auto rest = Lease("jobs", 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].body, "c");
  EXPECT_TRUE(Lease("jobs").empty());
}

TEST_F(QueueStoreTest, AckDeletesRetryDelaysAndCounts) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("a"), Text("b")}).ok());
  auto leased = Lease("jobs");
  ASSERT_EQ(leased.size(), 2u);
  auto settled = store_->Settle("acct", "jobs",
                                {{leased[0].id, QueueDecision::kAck, 0},
                                 {leased[1].id, QueueDecision::kRetry, 10}},
                                3, "");
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(settled->acked, 1u);
  EXPECT_EQ(settled->retried, 1u);
  EXPECT_TRUE(Lease("jobs").empty());  // b waits 10 s
  now_ += 10'000;
  auto again = Lease("jobs");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body, "b");
  EXPECT_EQ(again[0].attempts, 2u);
  EXPECT_EQ(again[0].id, leased[1].id);
}

TEST_F(QueueStoreTest, OutOfRetriesGoesToTheDeadLetterQueue) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("poison")}).ok());
  // max_retries 2: three deliveries, then the dead-letter queue.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto leased = Lease("jobs");
    ASSERT_EQ(leased.size(), 1u) << attempt;
    EXPECT_EQ(leased[0].attempts, static_cast<uint32_t>(attempt));
    auto settled = store_->Settle("acct", "jobs", {{leased[0].id, QueueDecision::kRetry, 0}}, 2, "dlq");
    ASSERT_TRUE(settled.ok());
    EXPECT_EQ(settled->dead_lettered, attempt == 3 ? 1u : 0u);
  }
  EXPECT_TRUE(Lease("jobs").empty());
  auto letters = Lease("dlq");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].body, "poison");
  EXPECT_EQ(letters[0].attempts, 1u);
  auto info = store_->Info("acct", "dlq");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->depth, 1u);
}

TEST_F(QueueStoreTest, OutOfRetriesWithoutADeadLetterQueueIsDropped) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("poison")}).ok());
  auto leased = Lease("jobs");
  auto settled = store_->Settle("acct", "jobs", {{leased[0].id, QueueDecision::kRetry, 0}}, 0, "");
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(settled->dropped, 1u);
  EXPECT_EQ(store_->Info("acct", "jobs")->depth, 0u);
  EXPECT_EQ(store_->AccountBytes("acct"), 0u);
}

TEST_F(QueueStoreTest, AnUnsettledLeaseIsDeliveredAgainAfterReopen) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("a")}).ok());
  ASSERT_EQ(Lease("jobs").size(), 1u);
  Reopen({});  // as after kill -9: leases are gone, attempts kept
  auto again = Lease("jobs");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 2u);
}

TEST_F(QueueStoreTest, RetentionDeletesOldMessagesAndDeadLetters) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->CreateQueue("acct", "short", 60).ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("old")}).ok());
  ASSERT_TRUE(store_->Send("acct", "short", {Text("old")}).ok());
  now_ += 61'000;
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("new")}).ok());
  EXPECT_EQ(*store_->SweepExpired(), 1u);  // "short"'s only
  EXPECT_EQ(store_->Info("acct", "short")->depth, 0u);
  now_ += kQueueDefaultRetentionSeconds * 1000 - 61'000;
  EXPECT_EQ(*store_->SweepExpired(), 1u);  // jobs' "old", 4 days on
  auto left = Lease("jobs");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].body, "new");
  EXPECT_FALSE(store_->CreateQueue("acct", "x", 59).ok());
}

TEST_F(QueueStoreTest, AFullQuotaRefusesSends) {
  Reopen({.account_quota_bytes = 1000});
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->CreateQueue("other", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text(std::string(800, 'x'))}).ok());
  Status full = store_->Send("acct", "jobs", {Text(std::string(200, 'x'))});
  EXPECT_FALSE(full.ok());
  EXPECT_NE(full.message().find("queue storage is full"), std::string::npos);
  // Another account's quota is its own.
  EXPECT_TRUE(store_->Send("other", "jobs", {Text(std::string(800, 'x'))}).ok());
  // Acknowledging frees the room.
  auto leased = Lease("jobs");
  ASSERT_TRUE(store_->Settle("acct", "jobs", {{leased[0].id, QueueDecision::kAck, 0}}, 3, "").ok());
  EXPECT_EQ(store_->AccountBytes("acct"), 0u);
  EXPECT_TRUE(store_->Send("acct", "jobs", {Text(std::string(200, 'x'))}).ok());
}

TEST_F(QueueStoreTest, PurgeAndDelete) {
  ASSERT_TRUE(store_->CreateQueue("acct", "jobs").ok());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("a"), Text("b")}).ok());
  EXPECT_EQ(*store_->Purge("acct", "jobs"), 2u);
  EXPECT_EQ(store_->AccountBytes("acct"), 0u);
  EXPECT_TRUE(Lease("jobs").empty());
  ASSERT_TRUE(store_->Send("acct", "jobs", {Text("c")}).ok());
  EXPECT_TRUE(store_->DeleteQueue("acct", "jobs").ok());
  EXPECT_EQ(store_->DeleteQueue("acct", "jobs").code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListQueues("acct")->empty());
  EXPECT_EQ(store_->AccountBytes("acct"), 0u);
}

}  // namespace
}  // namespace edge::bindings
