// QueueForwarder against an origin made of a real QueueMailbox behind a
// test HTTP server: a PoP that is not the home forwards its messages and
// deletes them only once the origin committed them, keeping those the
// origin refuses (a full quota); the home takes the mailbox's messages,
// commits them, and acknowledges only what it committed.
#include "edge-sync/queue_forwarder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "base/http_client/testing/test_server.h"
#include "base/testing/temp_dir.h"
#include "edge-sync/queue_mailbox.h"

namespace edge::sync {
namespace {

uint64_t Depth(bindings::QueueStore& store, std::string_view account) {
  auto list = store.ListQueues(account);
  uint64_t depth = 0;
  if (list.ok()) {
    for (const auto& info : *list) depth += info.depth;
  }
  return depth;
}

bool WaitFor(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// An origin: the mailbox over its own store, served over HTTP.
class FakeOrigin {
 public:
  FakeOrigin(CronHomeState home, uint64_t quota_bytes) : home_(std::move(home)) {
    bindings::QueueStore::Options options;
    options.account_quota_bytes = quota_bytes;
    store_ = *bindings::QueueStore::Open(dir_.path(), options,
                                         [] { return int64_t{1'700'000'000'000}; });
    mailbox_ = std::make_unique<QueueMailbox>(
        store_, [](std::string_view account) { return account == "alpha" || account == "big"; },
        [this] { return home_; }, QueueMailbox::Options{});
    server_ = std::make_unique<base::testing::TestServer>(base::testing::TestServer::EachRequest(
        [this](base::testing::ServerConnection& connection, const base::testing::ServerRequest& r) {
          QueueMailbox::Answer answer;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            answer = mailbox_->Handle(r.target, r.method, r.body);
            calls_.push_back(r.target + " " + std::to_string(answer.status));
          }
          connection.Respond(answer.status, {{"Connection", "close"}}, answer.json);
          connection.Shutdown();
        }));
  }
  base::HttpTarget target() const {
    base::HttpTarget target;
    target.url = "http://127.0.0.1:" + std::to_string(server_->port());
    return target;
  }
  bindings::QueueStore& store() { return *store_; }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }

 private:
  base::testing::TempDir dir_;
  CronHomeState home_;
  std::shared_ptr<bindings::QueueStore> store_;
  std::unique_ptr<QueueMailbox> mailbox_;
  std::mutex mutex_;
  std::vector<std::string> calls_;
  std::unique_ptr<base::testing::TestServer> server_;
};

std::shared_ptr<bindings::QueueStore> PopStore(
    const base::testing::TempDir& dir,
    uint64_t quota_bytes = bindings::kQueueDefaultAccountQuotaBytes) {
  bindings::QueueStore::Options options;
  options.account_quota_bytes = quota_bytes;
  auto store =
      bindings::QueueStore::Open(dir.path(), options, [] { return int64_t{1'700'000'000'000}; });
  EXPECT_TRUE(store.ok()) << store.status().message();
  return std::move(store).value();
}

TEST(QueueForwarderTest, AnOutboxForwardsWhatTheOriginTakesAndKeepsWhatItRefuses) {
  FakeOrigin origin({"pop-a", 1}, /*quota_bytes=*/1000);
  base::testing::TempDir dir;
  auto store = PopStore(dir);
  ASSERT_TRUE(store->CreateQueue("alpha", "jobs").ok());
  ASSERT_TRUE(store->CreateQueue("big", "jobs").ok());
  ASSERT_TRUE(store->Send("alpha", "jobs", {{"one", "text", 0}, {"two", "text", 30}}).ok());
  ASSERT_TRUE(store->Send("big", "jobs", {{std::string(2000, 'x'), "text", 0}}).ok());
  QueueForwarder::Options options;
  options.idle_ms = 10;
  QueueForwarder forwarder(
      origin.target(), "pop-b", store,
      [] {
        return CronHomeState{"pop-a", 1};
      },
      /*delivers_locally=*/false, options);
  EXPECT_FALSE(forwarder.Delivers());
  forwarder.Start();
  ASSERT_TRUE(WaitFor([&] { return Depth(*store, "alpha") == 0; }));
  ASSERT_TRUE(WaitFor([&] { return forwarder.counts().refused >= 1; }));
  forwarder.Stop();
  // alpha's two (the delayed one too) are at the origin; big's message,
  // over the origin's quota, is still here.
  EXPECT_EQ(Depth(origin.store(), "alpha"), 2u);
  EXPECT_EQ(Depth(origin.store(), "big"), 0u);
  EXPECT_EQ(Depth(*store, "big"), 1u);
  EXPECT_EQ(forwarder.counts().forwarded, 2u);
  auto held = origin.store().Hold({});
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[0].message.body, "one");
  EXPECT_EQ((*held)[1].message.visible_ms, 1'700'000'000'000 + 30'000);  // its delay went with it
  bool refused_507 = false;
  for (const std::string& call : origin.calls()) refused_507 |= call == "/sync/queues/put 507";
  EXPECT_TRUE(refused_507);
}

TEST(QueueForwarderTest, TheHomeTakesCommitsThenAcknowledgesWhatItCommitted) {
  FakeOrigin origin({"pop-a", 4}, bindings::kQueueDefaultAccountQuotaBytes);
  constexpr char kId[] = "00112233445566778899aabbccddeeff";
  ASSERT_TRUE(
      origin.store()
          .Import("alpha",
                  {{"jobs", {kId, "pulled", "text", 1'699'999'999'000, 1'699'999'999'000, 2}}})
          .ok());
  ASSERT_TRUE(
      origin.store()
          .Import("big", {{"jobs", {kId, std::string(2000, 'y'), "text", 1'699'999'999'000, 0, 0}}})
          .ok());
  base::testing::TempDir dir;
  auto store = PopStore(dir, /*quota_bytes=*/1000);  // big's message does not fit here
  QueueForwarder::Options options;
  options.idle_ms = 10;
  QueueForwarder forwarder(
      origin.target(), "pop-a", store,
      [] {
        return CronHomeState{"pop-a", 4};
      },
      false, options);
  EXPECT_TRUE(forwarder.Delivers());
  forwarder.Start();
  ASSERT_TRUE(WaitFor([&] { return Depth(origin.store(), "alpha") == 0; }));
  forwarder.Stop();
  auto leased = store->Lease("alpha", "jobs", 10);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].id, kId);
  EXPECT_EQ((*leased)[0].body, "pulled");
  EXPECT_EQ((*leased)[0].attempts, 3u);
  EXPECT_EQ(forwarder.counts().pulled, 1u);
  // What the home could not commit stays at the origin.
  EXPECT_EQ(Depth(origin.store(), "big"), 1u);
  EXPECT_EQ(Depth(*store, "big"), 0u);
}

TEST(QueueForwarderTest, ATakeRefusedForAnOldTermMovesNothing) {
  FakeOrigin origin({"pop-a", 5}, bindings::kQueueDefaultAccountQuotaBytes);
  ASSERT_TRUE(origin.store()
                  .Import("alpha", {{"jobs",
                                     {"00112233445566778899aabbccddeeff", "m", "text",
                                      1'699'999'999'000, 0, 0}}})
                  .ok());
  base::testing::TempDir dir;
  auto store = PopStore(dir);
  QueueForwarder forwarder(origin.target(), "pop-a", store,
                           [] {
                             return CronHomeState{"pop-a", 4};
                           },
                           false, {});
  forwarder.Start();
  ASSERT_TRUE(WaitFor([&] { return forwarder.counts().failed >= 1; }));
  forwarder.Stop();
  EXPECT_EQ(Depth(origin.store(), "alpha"), 1u);
  EXPECT_EQ(Depth(*store, "alpha"), 0u);
  EXPECT_EQ(origin.calls().front(), "/sync/queues/take 409");
}

TEST(QueueForwarderTest, APopThatDeliversItsOwnQueuesForwardsNothing) {
  FakeOrigin origin({"pop-a", 1}, bindings::kQueueDefaultAccountQuotaBytes);
  base::testing::TempDir dir;
  auto store = PopStore(dir);
  ASSERT_TRUE(store->CreateQueue("alpha", "jobs").ok());
  ASSERT_TRUE(store->Send("alpha", "jobs", {{"mine", "text", 0}}).ok());
  QueueForwarder forwarder(origin.target(), "pop-z", store,
                           [] {
                             return CronHomeState{"pop-a", 1};
                           },
                           /*delivers_locally=*/true, {});
  EXPECT_TRUE(forwarder.Delivers());
  forwarder.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  forwarder.Stop();
  EXPECT_TRUE(origin.calls().empty());
  EXPECT_EQ(Depth(*store, "alpha"), 1u);
}

}  // namespace
}  // namespace edge::sync
