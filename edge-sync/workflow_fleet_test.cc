// Workflow instances in a fleet: the origin's mailbox (duplicate ids,
// unknown and finished instances, leases and redelivery, the home's term,
// hostile bodies) and the PoPs' forwarders against it through real HTTP
// (a create at one PoP applied on the home, its status and signals from
// another, a create held until the home has the log, the origin away).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/base64.h"
#include "base/http_client/testing/test_server.h"
#include "base/testing/temp_dir.h"
#include "edge-sync/workflow_forwarder.h"
#include "edge-sync/workflow_mailbox.h"

namespace edge::sync {
namespace {

using bindings::WorkflowInstance;
using bindings::WorkflowStatus;

WorkflowCommand Create(std::string id, std::string account = "acme") {
  WorkflowCommand command;
  command.op = "create";
  command.instance.account = std::move(account);
  command.instance.workflow = "orders";
  command.instance.id = std::move(id);
  command.instance.worker = "shop";
  command.instance.class_name = "OrderFlow";
  command.instance.version = "3";
  command.instance.params = "{\"item\":\"lamp\"}";
  command.instance.created_ms = 1000;
  return command;
}

WorkflowCommand Signal(std::string op, std::string id) {
  WorkflowCommand command;
  command.op = std::move(op);
  command.instance.account = "acme";
  command.instance.workflow = "orders";
  command.instance.id = std::move(id);
  return command;
}

TEST(WorkflowMailboxTest, CreatesRefuseIdsTakenAndBatchesSkipThem) {
  base::testing::TempDir dir;
  auto mailbox = WorkflowMailbox::Open(dir.path());
  ASSERT_TRUE(mailbox.ok()) << mailbox.status().message();
  auto made = (*mailbox)->Submit({Create("a")}, false);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(*made, std::vector<std::string>{"a"});
  auto again = (*mailbox)->Submit({Create("a")}, false);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().message().starts_with("instance.already_exists"))
      << again.status().message();
  // A batch skips "a" and a repeat inside itself.
  auto batch = (*mailbox)->Submit({Create("a"), Create("b"), Create("b"), Create("c")}, true);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(*batch, (std::vector<std::string>{"b", "c"}));
  // The same id in another account is another instance.
  EXPECT_TRUE((*mailbox)->Submit({Create("a", "other")}, false).ok());
  auto queued = (*mailbox)->Summary("acme", "orders", "b");
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->status, WorkflowStatus::kQueued);
  EXPECT_EQ((*mailbox)->pending(), 4u);
  EXPECT_EQ((*mailbox)->Summary("nobody", "orders", "a").status().code(), ErrorCode::kNotFound);
}

TEST(WorkflowMailboxTest, SignalsNeedAKnownInstanceAndFinishedOnesRefuseThem) {
  base::testing::TempDir dir;
  auto mailbox = WorkflowMailbox::Open(dir.path());
  ASSERT_TRUE(mailbox.ok());
  auto unknown = (*mailbox)->Submit({Signal("pause", "x")}, false);
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(unknown.status().message(),
            "instance.not_found: no instance \"x\" of workflow \"orders\"");
  // Another account's instance of the same name is not there either.
  ASSERT_TRUE((*mailbox)->Submit({Create("x", "other")}, false).ok());
  EXPECT_EQ((*mailbox)->Submit({Signal("terminate", "x")}, false).status().code(),
            ErrorCode::kNotFound);
  ASSERT_TRUE((*mailbox)->Submit({Create("x")}, false).ok());
  EXPECT_TRUE((*mailbox)->Submit({Signal("pause", "x")}, false).ok());
  WorkflowSummaryRecord done;
  done.instance.account = "acme";
  done.instance.workflow = "orders";
  done.instance.id = "x";
  done.instance.status = WorkflowStatus::kComplete;
  done.instance.output = "out";
  ASSERT_TRUE((*mailbox)->PutSummaries({done}).ok());
  auto refused = (*mailbox)->Submit({Signal("terminate", "x")}, false);
  EXPECT_EQ(refused.status().message(), "Cannot terminate instance \"x\": it is already complete");
  WorkflowCommand event = Signal("event", "x");
  event.event_type = "shipped";
  EXPECT_EQ((*mailbox)->Submit({event}, false).status().message(),
            "Cannot send an event to instance \"x\": it is complete");
  EXPECT_TRUE((*mailbox)->Submit({Signal("restart", "x")}, false).ok());
  auto summary = (*mailbox)->Summary("acme", "orders", "x");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->output, "out");
  // The home deleted it (retention): so does the origin.
  done.gone = true;
  ASSERT_TRUE((*mailbox)->PutSummaries({done}).ok());
  EXPECT_EQ((*mailbox)->Summary("acme", "orders", "x").status().code(), ErrorCode::kNotFound);
}

TEST(WorkflowMailboxTest, TakeLeasesAndHandsOutAgainUntilAcknowledged) {
  base::testing::TempDir dir;
  WorkflowMailboxLimits limits;
  limits.lease_ms = 1000;
  {
    auto mailbox = WorkflowMailbox::Open(dir.path(), limits);
    ASSERT_TRUE(mailbox.ok());
    ASSERT_TRUE((*mailbox)->Submit({Create("a"), Create("b"), Create("c")}, true).ok());
    auto first = (*mailbox)->Take(2, 10'000);
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->size(), 2u);
    EXPECT_EQ((*first)[0].instance.id, "a");
    EXPECT_EQ((*first)[0].instance.params, "{\"item\":\"lamp\"}");
    EXPECT_EQ((*first)[0].instance.version, "3");
    EXPECT_LT((*first)[0].seq, (*first)[1].seq);
    // Leased: the next take has only "c".
    auto second = (*mailbox)->Take(10, 10'500);
    ASSERT_TRUE(second.ok());
    ASSERT_EQ(second->size(), 1u);
    EXPECT_EQ((*second)[0].instance.id, "c");
    ASSERT_TRUE((*mailbox)->Ack({(*first)[0].seq, 999'999}).ok());
    // After the lease, "b" and "c" again (never acknowledged), not "a".
    auto third = (*mailbox)->Take(10, 12'000);
    ASSERT_TRUE(third.ok());
    ASSERT_EQ(third->size(), 2u);
    EXPECT_EQ((*third)[0].instance.id, "b");
    EXPECT_EQ((*mailbox)->pending(), 2u);
  }
  // Durable: a restarted origin hands them out at once (leases are memory).
  auto reopened = WorkflowMailbox::Open(dir.path(), limits);
  ASSERT_TRUE(reopened.ok());
  auto after = (*reopened)->Take(10, 12'100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);
  EXPECT_FALSE((*reopened)->Submit({Create("a")}, false).ok());  // still known
}

TEST(WorkflowMailboxTest, AFullMailboxRefusesMore) {
  base::testing::TempDir dir;
  WorkflowMailboxLimits limits;
  limits.max_commands = 2;
  auto mailbox = WorkflowMailbox::Open(dir.path(), limits);
  ASSERT_TRUE(mailbox.ok());
  ASSERT_TRUE((*mailbox)->Submit({Create("a"), Create("b")}, true).ok());
  auto full = (*mailbox)->Submit({Create("c")}, false);
  EXPECT_EQ(full.status().code(), ErrorCode::kIo);
  EXPECT_NE(full.status().message().find("mailbox is full"), std::string::npos);
  // Nothing of the refused submit was kept.
  EXPECT_EQ((*mailbox)->Summary("acme", "orders", "c").status().code(), ErrorCode::kNotFound);
}

TEST(WorkflowMailboxTest, HostileBodiesAreRefused) {
  EXPECT_FALSE(DecodeWorkflowSubmit("").ok());
  EXPECT_FALSE(DecodeWorkflowSubmit("{").ok());
  EXPECT_FALSE(DecodeWorkflowSubmit("[]").ok());
  EXPECT_FALSE(DecodeWorkflowSubmit("{\"batch\":false,\"commands\":[]}").ok());
  EXPECT_FALSE(DecodeWorkflowSubmit("{\"batch\":false,\"commands\":[{\"op\":\"explode\"}]}").ok());
  WorkflowCommand bad = Create("ok");
  bad.instance.id = "-no";
  EXPECT_FALSE(DecodeWorkflowSubmit(EncodeWorkflowSubmit({bad}, false)).ok());
  bad = Create("ok");
  bad.instance.account = std::string("a\0b", 3);
  EXPECT_FALSE(DecodeWorkflowSubmit(EncodeWorkflowSubmit({bad}, false)).ok());
  bad = Create("ok");
  bad.instance.version = "1; drop";
  EXPECT_FALSE(DecodeWorkflowSubmit(EncodeWorkflowSubmit({bad}, false)).ok());
  bad = Create("ok");
  bad.instance.params.assign(bindings::kWorkflowMaxParamsBytes + 1, 'x');
  auto huge = DecodeWorkflowSubmit(EncodeWorkflowSubmit({bad}, false));
  EXPECT_EQ(huge.status().code(), ErrorCode::kRangeError);
  std::string not_base64 = EncodeWorkflowSubmit({Create("ok")}, false);
  not_base64.replace(not_base64.find("\"params\":\"") + 10, 2, "!!");
  EXPECT_FALSE(DecodeWorkflowSubmit(not_base64).ok());
  // Creates and signals are not mixed; signals go one at a time.
  EXPECT_FALSE(
      DecodeWorkflowSubmit(EncodeWorkflowSubmit({Create("a"), Signal("pause", "a")}, true)).ok());
  EXPECT_FALSE(
      DecodeWorkflowSubmit(EncodeWorkflowSubmit({Signal("pause", "a"), Signal("pause", "b")}, true))
          .ok());
  std::vector<WorkflowCommand> too_many(bindings::kWorkflowMaxBatch + 1, Create("a"));
  EXPECT_FALSE(DecodeWorkflowSubmit(EncodeWorkflowSubmit(too_many, true)).ok());
  EXPECT_FALSE(DecodeWorkflowSummaries("{\"summaries\":[{\"account\":\"a\"}]}").ok());
  EXPECT_FALSE(DecodeWorkflowCaller("{\"pop_id\":\"\",\"term\":1}").ok());
  EXPECT_FALSE(DecodeWorkflowCaller("{\"pop_id\":\"p\",\"term\":-1}").ok());
  auto good = DecodeWorkflowSubmit(EncodeWorkflowSubmit({Create("a")}, false));
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->commands[0].instance.params, "{\"item\":\"lamp\"}");
}

// What a response writer got, for the origin's handler outside a server.
class CapturingWriter : public gateway::ResponseWriter {
 public:
  void Start(int status, std::string_view, const gateway::HeaderList&,
             std::optional<uint64_t>) override {
    status_ = status;
  }
  void Write(std::string_view chunk) override { body_ += chunk; }
  void Finish() override {}
  void Abort() override {}
  bool Aborted() const override { return false; }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()>) override {}
  void OnAbort(std::function<void()>) override {}
  int status_ = 0;
  std::string body_;
};

// An origin: the mailbox behind a real HTTP server, the home named by the
// test.
struct TestOrigin {
  explicit TestOrigin(const std::string& dir)
      : mailbox(std::move(WorkflowMailbox::Open(dir).value())),
        server(base::testing::TestServer::EachRequest(
            [this](base::testing::ServerConnection& connection,
                   const base::testing::ServerRequest& r) {
              gateway::HttpRequest request;
              request.method = r.method;
              request.target = r.target;
              request.body = r.body;
              CapturingWriter writer;
              CronHomeState now;
              {
                std::lock_guard<std::mutex> lock(mutex);
                now = home;
              }
              if (!HandleWorkflowMailboxRequest(r.target, request, writer, *mailbox, now)) {
                writer.status_ = 404;
                writer.body_ = "not here";
              }
              connection.Respond(writer.status_, {{"Connection", "close"}}, writer.body_);
              connection.Shutdown();
            })) {}
  void SetHome(std::string pop_id, uint64_t term) {
    std::lock_guard<std::mutex> lock(mutex);
    home = {std::move(pop_id), term};
  }
  CronHomeState Home() {
    std::lock_guard<std::mutex> lock(mutex);
    return home;
  }
  base::HttpTarget Target() const {
    base::HttpTarget target;
    target.url = "http://127.0.0.1:" + std::to_string(server.port());
    return target;
  }
  std::unique_ptr<WorkflowMailbox> mailbox;
  std::mutex mutex;
  CronHomeState home;
  base::testing::TestServer server;
};

std::shared_ptr<bindings::WorkflowStore> OpenStore(const std::string& dir) {
  auto store = bindings::WorkflowStore::Open(dir, {}, [] { return int64_t{5000}; });
  EXPECT_TRUE(store.ok()) << store.status().message();
  return std::move(store).value();
}

TEST(WorkflowMailboxTest, OnlyTheHomeInItsTermTakesAcknowledgesAndReports) {
  base::testing::TempDir dir;
  TestOrigin origin(dir.path());
  origin.SetHome("pop-a", 3);
  ASSERT_TRUE(origin.mailbox->Submit({Create("a")}, false).ok());
  auto post = [&](std::string path, std::string body) {
    auto response = base::Request(origin.Target(), "POST", path, body, "application/json");
    EXPECT_TRUE(response.ok());
    return response.ok() ? *response : base::HttpResponse{};
  };
  EXPECT_EQ(post("/sync/workflows/take", "{\"pop_id\":\"pop-b\",\"term\":3}").status, 409);
  auto stale = post("/sync/workflows/take", "{\"pop_id\":\"pop-a\",\"term\":2}");
  EXPECT_EQ(stale.status, 409);
  EXPECT_NE(stale.body.find("is not the workflow home"), std::string::npos) << stale.body;
  EXPECT_EQ(post("/sync/workflows/ack", "{\"pop_id\":\"pop-a\",\"term\":4,\"seqs\":[1]}").status,
            409);
  EXPECT_EQ(
      post("/sync/workflows/summaries",
           "{\"pop_id\":\"pop-b\",\"term\":3,\"summaries\":[{\"account\":\"acme\",\"workflow\":"
           "\"orders\",\"id\":\"a\",\"status\":\"complete\",\"output\":\"\"}]}")
          .status,
      409);
  EXPECT_EQ(origin.mailbox->Summary("acme", "orders", "a")->status, WorkflowStatus::kQueued);
  EXPECT_EQ(post("/sync/workflows/take", "not json").status, 400);
  EXPECT_EQ(post("/sync/workflows/submit", "{\"batch\":false,\"commands\":[{\"op\":1}]}").status,
            400);
  EXPECT_EQ(post("/sync/workflows/elsewhere", "{}").status, 404);
  EXPECT_EQ(base::Request(origin.Target(), "GET", "/sync/workflows/take")->status, 405);
  auto taken = post("/sync/workflows/take", "{\"pop_id\":\"pop-a\",\"term\":3}");
  EXPECT_EQ(taken.status, 200);
  auto commands = DecodeWorkflowTake(taken.body);
  ASSERT_TRUE(commands.ok()) << taken.body;
  ASSERT_EQ(commands->size(), 1u);
  // Nobody is home: nobody takes.
  origin.SetHome("", 4);
  EXPECT_EQ(post("/sync/workflows/take", "{\"pop_id\":\"pop-a\",\"term\":4}").status, 409);
}

TEST(WorkflowForwarderTest, CallsAtAPopAreAppliedOnTheHomeAndReadBack) {
  base::testing::TempDir origin_dir, home_dir, pop_dir;
  TestOrigin origin(origin_dir.path());
  origin.SetHome("pop-a", 1);
  auto home_store = OpenStore(home_dir.path());
  auto pop_store = OpenStore(pop_dir.path());
  std::atomic<uint64_t> home_cursor{3};
  auto home_of = [&] { return origin.Home(); };
  WorkflowForwarderOptions by_hand;
  by_hand.thread = false;  // rounds are run by the test
  WorkflowForwarder home(
      origin.Target(), "pop-a", home_of, [&] { return home_cursor.load(); }, home_store, by_hand);
  WorkflowForwarder pop(
      origin.Target(), "pop-b", home_of, [] { return uint64_t{5}; }, pop_store, by_hand);
  home.Start();
  EXPECT_FALSE(home.Remote());
  EXPECT_TRUE(pop.Remote());

  WorkflowInstance instance;
  instance.account = "acme";
  instance.workflow = "orders";
  instance.id = "order-1";
  instance.worker = "shop";
  instance.class_name = "OrderFlow";
  instance.version = "7";
  instance.params = std::string("\xff\x0f\"\x04lamp", 7);
  instance.created_ms = 4000;
  auto made = pop.Create({instance}, false);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(*made, std::vector<std::string>{"order-1"});
  auto twice = pop.Create({instance}, false);
  EXPECT_TRUE(twice.status().message().starts_with("instance.already_exists"))
      << twice.status().message();
  auto queued = pop.Get("acme", "orders", "order-1");
  ASSERT_TRUE(queued.ok()) << queued.status().message();
  EXPECT_EQ(queued->status, WorkflowStatus::kQueued);

  // The PoP had applied the log through 5, the home through 3: held.
  home.RunHomeOnce();
  EXPECT_EQ(home_store->Get("acme", "orders", "order-1").status().code(), ErrorCode::kNotFound);
  home_cursor = 5;
  home.RunHomeOnce();
  auto applied = home_store->Load("acme", "orders", "order-1");
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(applied->instance.params, instance.params);
  EXPECT_EQ(applied->instance.version, "7");
  EXPECT_EQ(applied->instance.worker, "shop");
  EXPECT_EQ(origin.mailbox->pending(), 0u);

  // Signals from the PoP reach the home's store.
  bindings::WorkflowEventRecord event{"shipped", "payload", 4500};
  ASSERT_TRUE(pop.SendEvent("acme", "orders", "order-1", event).ok());
  ASSERT_TRUE(pop.Control("acme", "orders", "order-1", "pause").ok());
  home.RunHomeOnce();
  auto paused = home_store->Load("acme", "orders", "order-1");
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->instance.status, WorkflowStatus::kPaused);
  ASSERT_EQ(paused->events.size(), 1u);
  EXPECT_EQ(paused->events[0].second.payload, "payload");
  // The home pushed the summary the PoP reads.
  home.RunHomeOnce();
  auto status = pop.Get("acme", "orders", "order-1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status, WorkflowStatus::kPaused);
  // Unknown ids and other accounts: not found, from the PoP.
  EXPECT_EQ(pop.Control("acme", "orders", "nope", "resume").code(), ErrorCode::kNotFound);
  EXPECT_EQ(pop.Get("evil", "orders", "order-1").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(pop.SendEvent("evil", "orders", "order-1", event).code(), ErrorCode::kNotFound);
  // A terminate from the PoP, then the home reports it; a second one is
  // refused with the store's message.
  ASSERT_TRUE(pop.Control("acme", "orders", "order-1", "terminate").ok());
  home.RunHomeOnce();
  home.RunHomeOnce();
  EXPECT_EQ(pop.Get("acme", "orders", "order-1")->status, WorkflowStatus::kTerminated);
  EXPECT_EQ(pop.Control("acme", "orders", "order-1", "terminate").message(),
            "Cannot terminate instance \"order-1\": it is already terminated");

  // A new term: the home reports every instance it holds again.
  WorkflowInstance local = instance;
  local.id = "made-at-home";
  home_store->SetOnChange(nullptr);  // a change the forwarder does not see
  ASSERT_TRUE(home_store->Create(local).ok());
  home.Start();
  home.RunHomeOnce();
  EXPECT_EQ(pop.Get("acme", "orders", "made-at-home").status().code(), ErrorCode::kNotFound);
  origin.SetHome("pop-a", 2);
  home.RunHomeOnce();
  EXPECT_EQ(pop.Get("acme", "orders", "made-at-home")->status, WorkflowStatus::kQueued);
}

TEST(WorkflowForwarderTest, AnOriginAwayFailsTheCallSayingSo) {
  base::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  base::HttpTarget nowhere;
  nowhere.url = "http://127.0.0.1:1";
  WorkflowForwarder pop(
      nowhere, "pop-b",
      [] {
        return CronHomeState{"pop-a", 1};
      },
      [] { return uint64_t{0}; }, store);
  WorkflowInstance instance;
  instance.account = "acme";
  instance.workflow = "orders";
  instance.id = "x";
  auto made = pop.Create({instance}, false);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), ErrorCode::kIo);
  EXPECT_NE(made.status().message().find("origin could not be reached"), std::string::npos)
      << made.status().message();
  EXPECT_EQ(pop.counts().failed, 1u);
  // The next calls fail at once for a while, each not waiting for its own
  // timeout.
  auto again = pop.Get("acme", "orders", "x");
  EXPECT_EQ(again.status().code(), ErrorCode::kIo);
  EXPECT_NE(again.status().message().find("tried again in under"), std::string::npos)
      << again.status().message();
  // A batch whose params exceed what one request carries.
  std::vector<WorkflowInstance> big(30, instance);
  for (size_t i = 0; i < big.size(); ++i) {
    big[i].id = "big-" + std::to_string(i);
    big[i].params.assign(bindings::kWorkflowMaxParamsBytes, 'x');
  }
  EXPECT_EQ(pop.Create(big, true).status().code(), ErrorCode::kRangeError);
}

// Calls waiting for a slow origin hold threads of libuv's pool: beyond
// kWorkflowMaxCallsInFlight at once, more fail at once.
TEST(WorkflowForwarderTest, AtMostAFewCallsWaitForTheOriginAtOnce) {
  std::mutex mutex;
  std::condition_variable cv;
  int waiting = 0;
  bool release = false;
  base::testing::TestServer origin(base::testing::TestServer::EachRequest(
      [&](base::testing::ServerConnection& connection, const base::testing::ServerRequest&) {
        std::unique_lock<std::mutex> lock(mutex);
        ++waiting;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        connection.Respond(404, {{"Connection", "close"}},
                           "{\"error\":\"instance.not_found: no\",\"code\":\"not_found\"}");
        connection.Shutdown();
      }));
  base::testing::TempDir dir;
  base::HttpTarget upstream;
  upstream.url = "http://127.0.0.1:" + std::to_string(origin.port());
  WorkflowForwarderOptions by_hand;
  by_hand.thread = false;
  WorkflowForwarder pop(
      upstream, "pop-b",
      [] {
        return CronHomeState{"pop-a", 1};
      },
      [] { return uint64_t{0}; }, OpenStore(dir.path()), by_hand);
  std::vector<std::thread> callers;
  std::vector<Status> results(kWorkflowMaxCallsInFlight);
  for (int i = 0; i < kWorkflowMaxCallsInFlight; ++i) {
    callers.emplace_back([&, i] { results[i] = pop.Get("acme", "orders", "x").status(); });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                            [&] { return waiting == kWorkflowMaxCallsInFlight; }));
  }
  auto refused = pop.Get("acme", "orders", "y");
  EXPECT_EQ(refused.status().code(), ErrorCode::kIo);
  EXPECT_NE(refused.status().message().find("already waiting"), std::string::npos)
      << refused.status().message();
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
  }
  cv.notify_all();
  for (std::thread& caller : callers) caller.join();
  for (const Status& result : results)
    EXPECT_EQ(result.code(), ErrorCode::kNotFound) << result.message();
  // Free again.
  EXPECT_EQ(pop.Get("acme", "orders", "z").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace edge::sync
