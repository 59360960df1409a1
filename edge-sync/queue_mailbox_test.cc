#include "edge-sync/queue_mailbox.h"

#include <gtest/gtest.h>

#include <set>

#include "base/base64.h"
#include "base/testing/temp_dir.h"

namespace edge::sync {
namespace {

constexpr char kId1[] = "0123456789abcdef0123456789abcdef";
constexpr char kId2[] = "fedcba9876543210fedcba9876543210";

bindings::QueueImport Message(std::string queue, std::string id, std::string body,
                              int64_t timestamp_ms = 1'700'000'000'000, uint32_t attempts = 0,
                              int64_t visible_ms = 1'700'000'000'000) {
  return {std::move(queue),
          {std::move(id), std::move(body), "text", timestamp_ms, visible_ms, attempts}};
}

std::string Put(std::string account, std::vector<bindings::QueueImport> messages) {
  return EncodeQueuePut({"pop-b", std::move(account), std::move(messages)});
}

class QueueMailboxTest : public ::testing::Test {
 protected:
  QueueMailboxTest() { Open({}); }

  void Open(bindings::QueueStore::Options options) {
    mailbox_.reset();
    store_.reset();
    auto store = bindings::QueueStore::Open(dir_.path(), options, [this] { return now_; });
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    QueueMailbox::Options mailbox_options;
    mailbox_options.clock = [this] { return now_; };
    mailbox_ = std::make_unique<QueueMailbox>(
        store_, [](std::string_view account) { return account == "alpha" || account == "beta"; },
        [this] { return home_; }, mailbox_options);
  }

  uint64_t Depth(std::string_view account = "alpha") {
    auto list = store_->ListQueues(account);
    EXPECT_TRUE(list.ok());
    uint64_t depth = 0;
    for (const auto& info : *list) depth += info.depth;
    return depth;
  }

  QueueTakeAnswer Take(std::string pop = "pop-a", uint64_t term = 2, size_t max = 100) {
    QueueMailbox::Answer answer = mailbox_->Handle(
        "/sync/queues/take", "POST", EncodeQueueTake({std::move(pop), term, max, {}}));
    EXPECT_EQ(answer.status, 200) << answer.json;
    auto decoded = DecodeQueueTakeAnswer(answer.json);
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    return decoded.ok() ? std::move(decoded).value() : QueueTakeAnswer{};
  }

  QueueMailbox::Answer Ack(const std::string& lease, std::vector<uint64_t> done) {
    return mailbox_->Handle("/sync/queues/ack", "POST",
                            EncodeQueueAck({"pop-a", lease, std::move(done)}));
  }

  base::testing::TempDir dir_;
  int64_t now_ = 1'700'000'100'000;
  CronHomeState home_{"pop-a", 2};
  std::shared_ptr<bindings::QueueStore> store_;
  std::unique_ptr<QueueMailbox> mailbox_;
};

TEST_F(QueueMailboxTest, PutTakeAckMovesMessagesWithTheirIdsAttemptsAndTimes) {
  auto answer = mailbox_->Handle(
      "/sync/queues/put", "POST",
      Put("alpha", {Message("jobs", kId1, "one", 1'700'000'000'001, 2, 1'700'000'500'000),
                    Message("other", kId2, std::string("\0\xff", 2))}));
  ASSERT_EQ(answer.status, 200) << answer.json;
  EXPECT_EQ(answer.json, "{\"stored\":2}");
  EXPECT_EQ(Depth(), 2u);  // kept in the origin's store (the mailbox)

  QueueTakeAnswer taken = Take();
  ASSERT_EQ(taken.messages.size(), 2u);
  EXPECT_EQ(taken.lease.size(), 32u);
  std::map<std::string, bindings::QueueImport> by_id;
  for (const auto& item : taken.messages) {
    EXPECT_EQ(item.account, "alpha");
    by_id[item.message.message.id] = item.message;
  }
  const bindings::QueueImport& first = by_id.at(kId1);
  EXPECT_EQ(first.queue, "jobs");
  EXPECT_EQ(first.message.body, "one");
  EXPECT_EQ(first.message.attempts, 2u);
  EXPECT_EQ(first.message.timestamp_ms, 1'700'000'000'001);
  EXPECT_EQ(first.message.visible_ms, 1'700'000'500'000);            // a delay is kept
  EXPECT_EQ(by_id.at(kId2).message.body, std::string("\0\xff", 2));  // bytes round-trip

  // Held while leased: a second take gets nothing.
  EXPECT_TRUE(Take().messages.empty());
  EXPECT_EQ(Depth(), 2u);
  auto acked = Ack(taken.lease, {0, 1});
  EXPECT_EQ(acked.status, 200) << acked.json;
  EXPECT_EQ(acked.json, "{\"removed\":2}");
  EXPECT_EQ(Depth(), 0u);
  EXPECT_EQ(store_->AccountBytes("alpha"), 0u);
  EXPECT_TRUE(Take().messages.empty());
  // The lease is over once acknowledged.
  EXPECT_EQ(Ack(taken.lease, {0}).status, 409);
  EXPECT_EQ(mailbox_->counts().received, 2u);
  EXPECT_EQ(mailbox_->counts().handed, 2u);
  EXPECT_EQ(mailbox_->counts().acked, 2u);
}

TEST_F(QueueMailboxTest, ABatchNotAcknowledgedIsHandedOutAgainAfterTheLease) {
  ASSERT_EQ(mailbox_->Put(Put("alpha", {Message("jobs", kId1, "x")})).status, 200);
  QueueTakeAnswer taken = Take();
  ASSERT_EQ(taken.messages.size(), 1u);
  now_ += 29'000;
  EXPECT_TRUE(Take().messages.empty());
  now_ += 2'000;
  QueueTakeAnswer again = Take();
  ASSERT_EQ(again.messages.size(), 1u);
  EXPECT_EQ(again.messages[0].message.message.id, kId1);
  EXPECT_NE(again.lease, taken.lease);
  // The old lease's late acknowledgement deletes nothing: the new holder's does.
  EXPECT_EQ(Ack(taken.lease, {0}).status, 409);
  EXPECT_EQ(Depth(), 1u);
  EXPECT_EQ(Ack(again.lease, {0}).status, 200);
  EXPECT_EQ(Depth(), 0u);
}

TEST_F(QueueMailboxTest, APartialAckHandsTheRestOutAtOnce) {
  ASSERT_EQ(
      mailbox_->Put(Put("alpha", {Message("jobs", kId1, "a"), Message("jobs", kId2, "b")})).status,
      200);
  QueueTakeAnswer taken = Take();
  ASSERT_EQ(taken.messages.size(), 2u);
  ASSERT_EQ(Ack(taken.lease, {1, 7, 1}).status,
            200);  // out of range and repeated places are ignored
  QueueTakeAnswer rest = Take();
  ASSERT_EQ(rest.messages.size(), 1u);
  EXPECT_EQ(rest.messages[0].message.message.id, taken.messages[0].message.message.id);
}

TEST_F(QueueMailboxTest, TakeIsRefusedToAnyoneButTheHomeInItsTerm) {
  ASSERT_EQ(mailbox_->Put(Put("alpha", {Message("jobs", kId1, "x")})).status, 200);
  auto take = [&](std::string pop, uint64_t term) {
    return mailbox_->Take(EncodeQueueTake({std::move(pop), term, 10, {}}));
  };
  auto other = take("pop-b", 2);
  EXPECT_EQ(other.status, 409);
  EXPECT_NE(other.json.find("pop-b is not the queues' home (the home is pop-a)"), std::string::npos)
      << other.json;
  auto stale = take("pop-a", 1);
  EXPECT_EQ(stale.status, 409);
  EXPECT_NE(stale.json.find("term 1 is over (the term is 2)"), std::string::npos) << stale.json;
  home_ = {"", 3};
  EXPECT_EQ(take("pop-a", 3).status, 409);
  // A handover: the new home takes what the old one never acknowledged.
  home_ = {"pop-a", 3};
  QueueTakeAnswer taken = Take("pop-a", 3);
  ASSERT_EQ(taken.messages.size(), 1u);
  home_ = {"pop-c", 4};
  EXPECT_EQ(take("pop-a", 3).status, 409);
  now_ += 31'000;
  auto handed = mailbox_->Take(EncodeQueueTake({"pop-c", 4, 10, {}}));
  EXPECT_EQ(handed.status, 200);
  EXPECT_NE(handed.json.find(kId1), std::string::npos);
  EXPECT_EQ(Depth(), 1u);
}

TEST_F(QueueMailboxTest, HostilePutsAreRefusedAndChangeNothing) {
  ASSERT_EQ(mailbox_->Put(Put("alpha", {Message("jobs", kId1, "kept")})).status, 200);
  auto refused = [&](std::string_view body, int status, std::string_view says) {
    auto answer = mailbox_->Handle("/sync/queues/put", "POST", body);
    EXPECT_EQ(answer.status, status) << answer.json;
    EXPECT_NE(answer.json.find(says), std::string::npos) << answer.json;
  };
  refused("{not json", 400, "must be a JSON object");
  refused("[]", 400, "must be a JSON object");
  refused("{\"pop_id\":\"p\",\"account\":\"alpha\"}", 400, "needs messages");
  refused("{\"pop_id\":\"\",\"account\":\"alpha\",\"messages\":[]}", 400, "pop_id");
  // Another account's batch: one this node does not know.
  refused(Put("mallory", {Message("jobs", kId2, "x")}), 400, "no account \\\"mallory\\\" here");
  // Bad fields.
  refused(Put("alpha", {Message("Bad_Name", kId2, "x")}), 400, "not a valid queue name");
  refused(Put("alpha", {Message("jobs", "not-hex", "x")}), 400, "id");
  bindings::QueueImport typed = Message("jobs", kId2, "x");
  typed.message.content_type = "xml";
  refused(Put("alpha", {typed}), 400, "Unsupported queue message content type");
  std::string bad_body = Put("alpha", {Message("jobs", kId2, "abc")});
  bad_body.replace(bad_body.find("YWJj"), 4, "Y!Jj");
  refused(bad_body, 400, "not base64");
  refused(
      Put("alpha", {Message("jobs", kId2, std::string(bindings::kQueueMaxMessageBytes + 1, 'x'))}),
      400, "exceeds limit of 131072");
  std::string negative = Put("alpha", {Message("jobs", kId2, "x")});
  negative.replace(negative.find("\"attempts\":0"), 12, "\"attempts\":-1");
  refused(negative, 400, "attempts");
  // A huge batch: too many messages, then too many bytes.
  std::vector<bindings::QueueImport> many(kQueuePutMaxMessages + 1, Message("jobs", kId2, "x"));
  refused(Put("alpha", many), 400, "at most 500 messages");
  refused(std::string(kQueuePutMaxBodyBytes + 1, ' '), 413, "at most");
  // A batch with one bad message stores none of it.
  refused(Put("alpha", {Message("jobs", kId2, "fine"), Message("-bad-", kId2, "x")}), 400,
          "not a valid queue name");
  EXPECT_EQ(Depth(), 1u);
  // Wrong method and path.
  EXPECT_EQ(mailbox_->Handle("/sync/queues/put", "GET", "").status, 405);
  EXPECT_EQ(mailbox_->Handle("/sync/queues/other", "POST", "{}").status, 404);
  // Takes and acks that are malformed.
  EXPECT_EQ(mailbox_->Take("{\"pop_id\":\"pop-a\",\"term\":2,\"max\":0}").status, 400);
  EXPECT_EQ(mailbox_->Take("{\"pop_id\":\"pop-a\",\"term\":2,\"max\":100000}").status, 400);
  EXPECT_EQ(mailbox_->Take("{\"pop_id\":\"pop-a\",\"term\":-2,\"max\":1}").status, 400);
  EXPECT_EQ(mailbox_->Ack("{\"pop_id\":\"pop-a\",\"lease\":\"x\",\"done\":[\"0\"]}").status, 400);
  EXPECT_EQ(Ack("0123456789abcdef0123456789abcdef", {0}).status, 409);
  EXPECT_EQ(Depth(), 1u);
  EXPECT_GE(mailbox_->counts().refused, 15u);
}

TEST_F(QueueMailboxTest, AFullQuotaRefusesWith507AndKeepsNothingOfTheBatch) {
  bindings::QueueStore::Options options;
  options.account_quota_bytes = 1000;
  Open(options);
  auto answer = mailbox_->Put(Put("alpha", {Message("jobs", kId1, std::string(600, 'a')),
                                            Message("jobs", kId2, std::string(600, 'b'))}));
  EXPECT_EQ(answer.status, 507) << answer.json;
  EXPECT_NE(answer.json.find("queue storage is full"), std::string::npos) << answer.json;
  EXPECT_EQ(Depth(), 0u);
  // Another account is not held up.
  EXPECT_EQ(mailbox_->Put(Put("beta", {Message("jobs", kId1, "b")})).status, 200);
}

TEST_F(QueueMailboxTest, TakeSkipsTheAccountsTheHomeCannotStoreNow) {
  ASSERT_EQ(mailbox_->Put(Put("alpha", {Message("jobs", kId1, "a")})).status, 200);
  ASSERT_EQ(mailbox_->Put(Put("beta", {Message("jobs", kId2, "b")})).status, 200);
  auto answer = mailbox_->Take(EncodeQueueTake({"pop-a", 2, 10, {"alpha"}}));
  ASSERT_EQ(answer.status, 200);
  auto taken = DecodeQueueTakeAnswer(answer.json);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->messages.size(), 1u);
  EXPECT_EQ(taken->messages[0].account, "beta");
}

TEST_F(QueueMailboxTest, OnARelayOnlyPutIsServed) {
  QueueMailbox relay(store_, [](std::string_view) { return true; }, nullptr, {});
  EXPECT_EQ(
      relay.Handle("/sync/queues/put", "POST", Put("alpha", {Message("jobs", kId1, "a")})).status,
      200);
  EXPECT_EQ(relay.Handle("/sync/queues/take", "POST", EncodeQueueTake({"pop-a", 2, 1, {}})).status,
            404);
  EXPECT_EQ(relay.Handle("/sync/queues/ack", "POST", "{}").status, 404);
}

// The store's side of the move: Hold, Release, Remove, Import.
TEST_F(QueueMailboxTest, HoldSkipsConsumerLeasesAndHeldMessagesAndKeepsToOneAccount) {
  ASSERT_TRUE(store_->CreateQueue("alpha", "jobs").ok());
  ASSERT_TRUE(store_->Send("alpha", "jobs", {{"a", "text", 0}, {"b", "text", 0}}).ok());
  ASSERT_TRUE(store_->Send("alpha", "later", {{"c", "text", 60}}).ok() == false);  // no such queue
  ASSERT_TRUE(store_->CreateQueue("beta", "jobs").ok());
  ASSERT_TRUE(store_->Send("beta", "jobs", {{"d", "text", 3600}}).ok());
  auto leased = store_->Lease("alpha", "jobs", 1);  // one is out with a consumer
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  bindings::QueueStore::HoldOptions one;
  one.one_account = true;
  auto held = store_->Hold(one);
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].account, "alpha");
  EXPECT_EQ((*held)[0].message.body, "b");
  // Neither a consumer nor another Hold takes a held message.
  EXPECT_TRUE(store_->Lease("alpha", "jobs", 10)->empty());
  auto rest = store_->Hold({});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);  // beta's, delayed: moved all the same
  EXPECT_EQ((*rest)[0].account, "beta");
  EXPECT_GT((*rest)[0].message.visible_ms, now_);
  store_->Release({(*held)[0].key});
  EXPECT_EQ(store_->Lease("alpha", "jobs", 10)->size(), 1u);
  auto removed = store_->Remove({(*rest)[0].key, "no such key"});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(store_->AccountBytes("beta"), 0u);
  EXPECT_EQ(*store_->Remove({(*rest)[0].key}), 0u);  // gone already
}

TEST_F(QueueMailboxTest, ImportKeepsWhatMakesItTheSameMessageAndCreatesTheQueue) {
  ASSERT_TRUE(store_->Import("alpha", {Message("made", kId1, "m", now_ - 5000, 3, now_ - 1)}).ok());
  auto leased = store_->Lease("alpha", "made", 10);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].id, kId1);
  EXPECT_EQ((*leased)[0].timestamp_ms, now_ - 5000);
  EXPECT_EQ((*leased)[0].attempts, 4u);  // three before, this delivery
  // A delayed copy is not deliverable before its time.
  ASSERT_TRUE(store_->Import("alpha", {Message("made", kId2, "d", now_, 0, now_ + 60'000)}).ok());
  EXPECT_TRUE(store_->Lease("alpha", "made", 10)->empty());
  now_ += 60'000;
  EXPECT_EQ(store_->Lease("alpha", "made", 10)->size(), 1u);
}

TEST(QueueSyncWireTest, TakeAndAckRoundTrip) {
  auto take = DecodeQueueTake(EncodeQueueTake({"pop-a", 7, 42, {"alpha", "beta"}}));
  ASSERT_TRUE(take.ok());
  EXPECT_EQ(take->pop_id, "pop-a");
  EXPECT_EQ(take->term, 7u);
  EXPECT_EQ(take->max, 42u);
  EXPECT_EQ(take->skip, (std::vector<std::string>{"alpha", "beta"}));
  auto ack = DecodeQueueAck(EncodeQueueAck({"pop-a", "lease", {0, 3}}));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->done, (std::vector<uint64_t>{0, 3}));
  std::vector<std::string> skip(kQueueSyncMaxSkippedAccounts + 1, "a");
  EXPECT_FALSE(DecodeQueueTake(EncodeQueueTake({"pop-a", 7, 42, skip})).ok());
}

}  // namespace
}  // namespace edge::sync
