#include "bindings/r2/r2_notifications.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include <filesystem>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {

constexpr int64_t kNow = 1'800'000'000'123;  // 2027-01-15T08:00:00.123Z

struct Stores {
  std::shared_ptr<R2Store> r2;
  std::shared_ptr<QueueStore> queues;
  std::shared_ptr<R2Notifier> notifier;
};

Stores OpenStores(const std::string& dir, QueueStore::Options queue_options = {},
                  R2Notifier::Options options = {}) {
  Stores stores;
  stores.r2 = R2Store::Open(dir, {}, [] { return kNow; });
  auto queues = QueueStore::Open(dir, queue_options, [] { return kNow; });
  EXPECT_TRUE(queues.ok()) << queues.status().message();
  stores.queues = std::move(queues).value();
  stores.notifier = R2Notifier::Attach(stores.r2, stores.queues, options);
  return stores;
}

R2NotificationRule Rule(std::string queue, bool create, bool del, std::string prefix = "",
                        std::string suffix = "", std::string bucket = "photos") {
  return {std::move(bucket), std::move(queue), create, del, std::move(prefix), std::move(suffix)};
}

class R2NotificationsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(QueueStore::Options queue_options = {}, R2Notifier::Options options = {}) {
    stores_ = {};
    stores_ = OpenStores(dir_.path(), queue_options, options);
    ASSERT_TRUE(stores_.queues->EnsureQueue("acct", "events").ok());
  }

  Status Put(const std::string& key, std::string_view body, const std::string& owner = "acct",
             const std::string& bucket = "photos") {
    auto writer = stores_.r2->BeginPut(owner, bucket, key, {}, body.size());
    if (!writer.ok()) return writer.status();
    EDGE_RETURN_IF_ERROR((*writer)->Write(body));
    auto committed = (*writer)->Commit();
    return committed.status();
  }

  // Delivers what waits, then leases and acknowledges every message of the
  // queue; returns their bodies.
  std::vector<std::string> Drain(const std::string& queue = "events", const std::string& owner = "acct") {
    auto moved = stores_.notifier->DeliverSome();
    EXPECT_TRUE(moved.ok()) << moved.status().message();
    auto leased = stores_.queues->Lease(owner, queue, 100);
    EXPECT_TRUE(leased.ok()) << leased.status().message();
    std::vector<std::string> bodies;
    std::vector<QueueDecision> decisions;
    for (const QueueMessage& message : *leased) {
      EXPECT_EQ(message.content_type, "json");
      bodies.push_back(message.body);
      decisions.push_back({message.id, QueueDecision::kAck, 0});
    }
    EXPECT_TRUE(stores_.queues->Settle(owner, queue, decisions, 3, "").ok());
    return bodies;
  }

  static std::string Field(const std::string& json, std::string_view pointer) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(json).get(doc)) return "<invalid json>";
    simdjson::dom::element value;
    if (doc.at_pointer(pointer).get(value)) return "<absent>";
    if (value.is_string()) return std::string(value.get_string().value());
    if (value.is_uint64()) return std::to_string(value.get_uint64().value());
    return "<other>";
  }

  base::testing::TempDir dir_;
  Stores stores_;
};

TEST_F(R2NotificationsTest, APutWritesItsEventWithTheObjectAndTheMoverDeliversIt) {
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
  ASSERT_TRUE(Put("cat.png", "meow").ok());
  // Written with the object, not delivered yet.
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 1u);
  EXPECT_EQ(stores_.queues->Info("acct", "events")->depth, 0u);
  std::vector<std::string> bodies = Drain();
  ASSERT_EQ(bodies.size(), 1u);
  const std::string& body = bodies[0];
  EXPECT_EQ(Field(body, "/account"), "acct");
  EXPECT_EQ(Field(body, "/action"), "PutObject");
  EXPECT_EQ(Field(body, "/bucket"), "photos");
  EXPECT_EQ(Field(body, "/object/key"), "cat.png");
  EXPECT_EQ(Field(body, "/object/size"), "4");
  auto head = stores_.r2->Head("acct", "photos", "cat.png");
  EXPECT_EQ(Field(body, "/object/eTag"), (*head)->etag);
  EXPECT_EQ(Field(body, "/eventTime"), "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(Field(body, "/copySource"), "<absent>");
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 0u);
  EXPECT_EQ(*stores_.notifier->DeliverSome(), 0u);
}

TEST_F(R2NotificationsTest, FiltersByEventTypePrefixAndSuffix) {
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false, "img/", ".png")}}});
  ASSERT_TRUE(stores_.queues->EnsureQueue("acct", "deletes").ok());
  ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("deletes", false, true, "img/")).ok());
  ASSERT_TRUE(Put("img/a.png", "1").ok());
  ASSERT_TRUE(Put("img/a.jpg", "2").ok());
  ASSERT_TRUE(Put("doc/a.png", "3").ok());
  ASSERT_TRUE(Put("img.png", "4").ok());
  ASSERT_TRUE(stores_.r2->Delete("acct", "photos", {"img/a.jpg", "doc/a.png", "img/none"}).ok());
  // Another bucket and another owner do not match.
  ASSERT_TRUE(Put("img/b.png", "5", "acct", "other").ok());
  ASSERT_TRUE(Put("img/b.png", "5", "someone").ok());
  std::vector<std::string> created = Drain("events");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(Field(created[0], "/object/key"), "img/a.png");
  std::vector<std::string> deleted = Drain("deletes");
  ASSERT_EQ(deleted.size(), 1u);  // only img/a.jpg existed under img/
  EXPECT_EQ(Field(deleted[0], "/action"), "DeleteObject");
  EXPECT_EQ(Field(deleted[0], "/object/key"), "img/a.jpg");
  EXPECT_EQ(Field(deleted[0], "/object/size"), "<absent>");
  EXPECT_EQ(Field(deleted[0], "/object/eTag"), "<absent>");
}

TEST_F(R2NotificationsTest, PrefixAndSuffixMayNotShareTheKeysBytes) {
  R2NotificationRule rule = Rule("events", true, false, "ab", "ba");
  R2Change change{R2Change::kPut, "acct", "photos", "aba", 0, "", 0};
  EXPECT_TRUE(rule.Matches(change));  // as starts_with and ends_with say
  change.key = "a";
  EXPECT_FALSE(rule.Matches(change));
}

TEST_F(R2NotificationsTest, OneMessagePerQueueHoweverManyRulesMatch) {
  stores_.notifier->SetConfigRules(
      {{"acct", {Rule("events", true, false), Rule("events", true, false), Rule("events", true, true, "a")}}});
  ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("events", true, false, "", "t")).ok());
  ASSERT_TRUE(Put("at", "x").ok());
  EXPECT_EQ(Drain().size(), 1u);
}

TEST_F(R2NotificationsTest, CompleteMultipartUploadIsItsOwnAction) {
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
  auto upload = stores_.r2->CreateMultipartUpload("acct", "photos", "big", {});
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 0u);  // nothing created yet
  auto writer = stores_.r2->BeginPart("acct", "photos", "big", *upload, 1, 3);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("abc").ok());
  auto part = (*writer)->Commit();
  ASSERT_TRUE(part.ok() && *part);
  auto done = stores_.r2->CompleteMultipartUpload("acct", "photos", "big", *upload, {{1, (*part)->etag}});
  ASSERT_TRUE(done.ok()) << done.status().message();
  std::vector<std::string> bodies = Drain();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(Field(bodies[0], "/action"), "CompleteMultipartUpload");
  EXPECT_EQ(Field(bodies[0], "/object/size"), "3");
  EXPECT_EQ(Field(bodies[0], "/object/eTag"), done->etag);
}

TEST_F(R2NotificationsTest, CopyObjectIsAnObjectCreateWithItsSource) {
  // Copies into img/*.png of "photos" notify; other copies do not.
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false, "img/", ".png")}}});
  ASSERT_TRUE(Put("raw/cat.png", "meow", "acct", "uploads").ok());
  ASSERT_TRUE(Drain().empty());  // "uploads" has no rule
  auto copy = stores_.r2->CopyObject("acct", "uploads", "raw/cat.png", "photos", "img/cat.png", {});
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  for (const char* key : {"img/cat.jpg", "doc/cat.png"}) {
    ASSERT_TRUE(stores_.r2->CopyObject("acct", "uploads", "raw/cat.png", "photos", key, {}).ok());
  }
  std::vector<std::string> bodies = Drain();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(Field(bodies[0], "/action"), "CopyObject");
  EXPECT_EQ(Field(bodies[0], "/bucket"), "photos");
  EXPECT_EQ(Field(bodies[0], "/object/key"), "img/cat.png");
  EXPECT_EQ(Field(bodies[0], "/object/size"), "4");
  EXPECT_EQ(Field(bodies[0], "/object/eTag"), (*copy)->etag);
  EXPECT_EQ(Field(bodies[0], "/copySource/bucket"), "uploads");
  EXPECT_EQ(Field(bodies[0], "/copySource/object"), "raw/cat.png");
  EXPECT_EQ(Field(bodies[0], "/account"), "acct");
  // A rule for deletes only is not told of copies.
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", false, true)}}});
  ASSERT_TRUE(stores_.r2->CopyObject("acct", "uploads", "raw/cat.png", "photos", "img/dog.png", {}).ok());
  EXPECT_TRUE(Drain().empty());
  // A copy that did not hold its condition made no event.
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
  R2CopyOptions only_if;
  only_if.source_only_if.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, "nope"}};
  auto refused = stores_.r2->CopyObject("acct", "uploads", "raw/cat.png", "photos", "x.png", only_if);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->has_value());
  EXPECT_TRUE(Drain().empty());
}

TEST(R2NotificationsCrashTest, ACopyThatDidNotCommitLeavesNoEventAndNoBody) {
  base::testing::TempDir dir;
  {
    Stores stores = OpenStores(dir.path());
    ASSERT_TRUE(stores.queues->EnsureQueue("acct", "events").ok());
    auto writer = stores.r2->BeginPut("acct", "photos", "src", {}, 4);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("body").ok());
    ASSERT_TRUE((*writer)->Commit().ok());  // no rule yet: no event
  }
  // The child's copy writes its event in the copy's transaction, and the
  // process dies before that transaction commits.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Stores stores = OpenStores(dir.path());
    stores.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
    R2Store::ChangeHook notify = stores.r2->change_hook();
    stores.r2->SetChangeHook([notify](MDB_txn* txn, const R2Change& change) -> Status {
      Status written = notify(txn, change);
      if (written.ok() && change.action == R2Change::kCopy) _exit(0);
      return written;
    });
    (void)stores.r2->CopyObject("acct", "photos", "src", "photos", "dst", {});
    _exit(1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  Stores stores = OpenStores(dir.path());
  EXPECT_EQ(*stores.notifier->DeliverSome(), 0u);
  EXPECT_EQ(*stores.notifier->PendingEvents("acct"), 0u);
  EXPECT_FALSE(*stores.r2->Head("acct", "photos", "dst"));
  size_t bodies = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           std::filesystem::path(stores.r2->path()) / "bodies")) {
    bodies += entry.is_regular_file();
  }
  EXPECT_EQ(bodies, 1u);
  auto leased = stores.queues->Lease("acct", "events", 10);
  ASSERT_TRUE(leased.ok());
  EXPECT_TRUE(leased->empty());
}

TEST_F(R2NotificationsTest, EventsWaitInTheOutboxAcrossReopening) {
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, true)}}});
  ASSERT_TRUE(Put("k", "v").ok());
  Reopen();  // nothing delivered before the stores closed
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 1u);
  std::vector<std::string> bodies = Drain();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(Field(bodies[0], "/object/key"), "k");
}

TEST(R2NotificationsCrashTest, APutOfAProcessThatDiedIsDeliveredByTheNext) {
  base::testing::TempDir dir;
  // The child stores an object with its event and dies before any delivery.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Stores stores = OpenStores(dir.path());
    if (!stores.queues->EnsureQueue("acct", "events").ok()) _exit(1);
    stores.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
    auto writer = stores.r2->BeginPut("acct", "photos", "survivor", {}, 5);
    if (!writer.ok() || !(*writer)->Write("alive").ok() || !(*writer)->Commit().ok()) _exit(2);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  Stores stores = OpenStores(dir.path());
  // No rule is configured in this process: the event was written already.
  ASSERT_EQ(*stores.notifier->DeliverSome(), 1u);
  auto leased = stores.queues->Lease("acct", "events", 10);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_NE((*leased)[0].body.find("\"survivor\""), std::string::npos);
}

TEST_F(R2NotificationsTest, AFullQueueQuotaKeepsEventsWaitingAndTheObjectsStored) {
  QueueStore::Options small;
  small.account_quota_bytes = 600;  // room for about two events
  R2Notifier::Options options;
  options.max_pending_events = 5;
  Reopen(small, options);
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put("k" + std::to_string(i), "v").ok());
  // A sixth would leave its event nowhere: the put fails and stores nothing.
  Status sixth = Put("k5", "v");
  EXPECT_FALSE(sixth.ok());
  EXPECT_NE(sixth.message().find("refuse"), std::string::npos) << sixth.message();
  EXPECT_FALSE(*stores_.r2->Head("acct", "photos", "k5"));
  // Deliveries fail on the quota: the events wait (in one batch per try,
  // all or none), the objects stay.
  auto moved = stores_.notifier->DeliverSome();
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 0u);
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(*stores_.r2->Head("acct", "photos", "k" + std::to_string(i)));
  // Another account's events are not held up by this one.
  ASSERT_TRUE(stores_.queues->EnsureQueue("other", "events").ok());
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}, {"other", {Rule("events", true, false)}}});
  ASSERT_TRUE(Put("x", "v", "other").ok());
  EXPECT_EQ(*stores_.notifier->DeliverSome(), 1u);
  // With a roomy quota they all arrive, in order.
  Reopen();
  std::vector<std::string> bodies = Drain();
  ASSERT_EQ(bodies.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Field(bodies[i], "/object/key"), "k" + std::to_string(i));
}

TEST_F(R2NotificationsTest, EventsOfAQueueThatWentAreDropped) {
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
  ASSERT_TRUE(Put("k", "v").ok());
  ASSERT_TRUE(stores_.queues->DeleteQueue("acct", "events").ok());
  EXPECT_EQ(*stores_.notifier->DeliverSome(), 1u);
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 0u);
}

TEST_F(R2NotificationsTest, StoredRulesNameTheOwnersOwnQueues) {
  // A queue of another account is not found under this one.
  ASSERT_TRUE(stores_.queues->EnsureQueue("other", "theirs").ok());
  Status theirs = stores_.notifier->AddRule("acct", Rule("theirs", true, false));
  EXPECT_EQ(theirs.code(), ErrorCode::kNotFound) << theirs.message();
  EXPECT_EQ(stores_.notifier->AddRule("acct", Rule("nope", true, false)).code(), ErrorCode::kNotFound);
  EXPECT_EQ(stores_.notifier->AddRule("acct", Rule("events", false, false)).code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(stores_.notifier->AddRule("acct", Rule("events", true, false, "", "", "Bad_Bucket")).code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(stores_.notifier->AddRule("acct", Rule("events", true, false, std::string(1025, 'p'))).code(),
            ErrorCode::kInvalidInput);

  ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("events", true, false, "a/")).ok());
  ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("events", true, false, "a/")).ok());  // once
  ASSERT_TRUE(stores_.queues->EnsureQueue("acct", "second").ok());
  ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("second", false, true, "", ".log")).ok());
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, true, "cfg/")}}});
  auto listed = stores_.notifier->ListRules("acct", "photos");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_TRUE((*listed)[0].configured);
  EXPECT_EQ((*listed)[1].rule, Rule("events", true, false, "a/"));
  EXPECT_EQ((*listed)[2].rule.EventTypes(), std::vector<std::string>{"object-delete"});
  EXPECT_TRUE(stores_.notifier->ListRules("other", "photos")->empty());

  EXPECT_EQ(*stores_.notifier->DeleteRules("acct", "photos", "second"), 1u);
  EXPECT_EQ(stores_.notifier->DeleteRules("acct", "photos", "second").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(stores_.notifier->DeleteRules("other", "photos", "").status().code(), ErrorCode::kNotFound);
  // Stored rules survive reopening; configured ones come from the host.
  Reopen();
  listed = stores_.notifier->ListRules("acct", "photos");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].configured);
}

TEST_F(R2NotificationsTest, RulesPerBucketAreCapped) {
  for (size_t i = 0; i < kR2MaxRulesPerBucket; ++i) {
    ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("events", true, false, "p" + std::to_string(i))).ok());
  }
  Status over = stores_.notifier->AddRule("acct", Rule("events", true, false, "last"));
  EXPECT_FALSE(over.ok());
  EXPECT_NE(over.message().find("at most 100"), std::string::npos) << over.message();
}

TEST_F(R2NotificationsTest, HugeAndOddKeysMakeValidMessages) {
  stores_.notifier->SetConfigRules({{"acct", {Rule("events", true, false)}}});
  std::string huge(kR2MaxKeyBytes, 'k');
  huge[3] = '"';
  huge[7] = '\n';
  huge[9] = '\\';
  ASSERT_TRUE(Put(huge, "x").ok());
  std::vector<std::string> bodies = Drain();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(Field(bodies[0], "/object/key"), huge);
}

TEST_F(R2NotificationsTest, DroppingAnOwnerRemovesItsRulesAndEvents) {
  ASSERT_TRUE(stores_.notifier->AddRule("acct", Rule("events", true, false)).ok());
  ASSERT_TRUE(Put("k", "v").ok());
  ASSERT_TRUE(stores_.notifier->DropOwner("acct").ok());
  EXPECT_EQ(*stores_.notifier->PendingEvents("acct"), 0u);
  EXPECT_EQ(*stores_.notifier->DeliverSome(), 0u);
  EXPECT_TRUE(stores_.notifier->ListRules("acct", "photos")->empty());
}

TEST(R2EventTypes, AsWranglerNamesThem) {
  R2NotificationRule rule;
  EXPECT_TRUE(AddR2EventType("object-create", &rule).ok());
  EXPECT_TRUE(AddR2EventType("object-delete", &rule).ok());
  EXPECT_TRUE(rule.object_create && rule.object_delete);
  Status bad = AddR2EventType("object-copy", &rule);
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidInput);
  EXPECT_NE(bad.message().find("\"object-copy\""), std::string::npos);
}

}  // namespace
}  // namespace edge::bindings
