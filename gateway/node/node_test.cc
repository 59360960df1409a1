// The node's control plane in-process: a Node on free ports with a
// temporary data dir, changed through its admin API and asked for traffic
// over real sockets.
#include "gateway/node/node.h"

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "base/sha256.h"
#include "gateway/http/testing/http_test_client.h"
#include "gateway/node/testing/node_fixtures.h"
#include "gateway/node/testing/node_harness.h"

namespace edge::gateway {
namespace {

using testing::BundleJson;
using testing::Client;
using ::testing::HasSubstr;
using testing::NodeHarness;
using ::testing::Not;
using testing::RequestText;
using testing::Response;

// Says who answered: the worker's VERSION var, its secret, and the path;
// /upload answers with the request body once it is all in, /echo starts
// its answer at once and streams the request body into it; /spin runs
// into the CPU limit; /slow computes 4 ms, /later 4 ms after its response.
constexpr const char* kWorker = R"(
  export default {
    async fetch(request, env, ctx) {
      const path = new URL(request.url).pathname;
      const spin = (ms) => {
        const until = Date.now() + ms;
        while (Date.now() < until) {}
      };
      if (path === "/upload") return new Response(`${env.VERSION} got ${await request.text()}`);
      if (path === "/echo") {
        const reader = request.body.getReader();
        return new Response(new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`${env.VERSION} got `));
          },
          async pull(controller) {
            const { done, value } = await reader.read();
            if (done) controller.close(); else controller.enqueue(value);
          },
        }));
      }
      if (path === "/spin") for (;;) {}
      if (path === "/slow") spin(4);
      if (path === "/later") ctx.waitUntil(new Promise((done) => setTimeout(() => (spin(4), done()), 1)));
      return new Response(`${env.VERSION} ${env.API_KEY ?? "none"} ${path}`);
    },
  };)";

std::string Version(const std::string& name, const std::string& version,
                    const std::vector<std::string>& routes) {
  return BundleJson(name, kWorker, routes, {{"VERSION", version, false}});
}

// The body of a response, or what came instead.
std::string BodyOf(const std::optional<Response>& response) {
  if (!response) return "<no response>";
  if (response->status != 200) return fmt::format("<{}> {}", response->status, response->body);
  return response->body;
}

// The value of one Prometheus series ("" when absent).
std::string Series(const std::string& exposition, const std::string& series) {
  size_t at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return exposition.substr(start, exposition.find('\n', start) - start);
}

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(node_.Start()) << "exit code " << node_.exit_code(); }

  // Deploys and expects it to go live.
  void Deploy(const std::string& name, const std::string& bundle) {
    std::string body = node_.AdminOk("PUT", "/workers/" + name, bundle);
    ASSERT_THAT(body, HasSubstr(fmt::format("\"name\":\"{}\"", name)));
  }

  NodeHarness node_;
};

TEST_F(NodeTest, ADeployPublishesItsRoutesAndServes) {
  EXPECT_EQ(node_.Get("hello.test")->status, 404);
  std::string answer = node_.AdminOk("PUT", "/workers/hello",
                                     Version("hello", "v1", {"hello.test/*", "api.test/v1/*"}));
  EXPECT_THAT(answer, HasSubstr("\"version\":1"));
  EXPECT_THAT(answer, HasSubstr("\"routes\":[\"hello.test/*\",\"api.test/v1/*\"]"));
  EXPECT_EQ(BodyOf(node_.Get("hello.test", "/a")), "v1 none /a");
  EXPECT_EQ(BodyOf(node_.Get("api.test", "/v1/b")), "v1 none /v1/b");
  std::optional<Response> unrouted = node_.Get("api.test", "/v2/b");
  ASSERT_TRUE(unrouted);
  EXPECT_EQ(unrouted->status, 404);
  EXPECT_THAT(unrouted->body, HasSubstr("No worker is routed"));
  // Counted by the time the client has the answer.
  EXPECT_EQ(Series(node_.AdminOk("GET", "/metrics"),
                   "edge_requests_total{worker=\"\",status_class=\"4xx\",outcome=\"noRoute\"}"),
            "2");

  EXPECT_THAT(node_.AdminOk("GET", "/routes"),
              HasSubstr("{\"pattern\":\"hello.test/*\",\"worker\":\"hello\"}"));
  EXPECT_THAT(node_.AdminOk("GET", "/workers"),
              HasSubstr("{\"name\":\"hello\",\"version\":1,\"routes\":"));
  std::string status = node_.AdminOk("GET", "/status");
  EXPECT_THAT(status, HasSubstr("\"pop_id\":\"test\""));
  EXPECT_THAT(status, HasSubstr("\"workers\":1,\"routes\":2"));
}

TEST_F(NodeTest, ARedeployKeepsServingAndFinishesRequestsOnTheOldVersion) {
  // The slow request below is open on v1 while the traffic runs there, and
  // each entry's CPU is split among the requests open during it
  // (runtime/cpu_account.h): it is charged half of every request the
  // traffic makes before v2 is live, as many as the deploy takes time for
  // on a busy machine. The limit here is so nothing of that stops it.
  WorkerLimits limits;
  limits.cpu_ms = 300000;
  auto version = [&](const std::string& name) {
    return BundleJson("shop", kWorker, {"shop.test/*"}, {{"VERSION", name, false}}, limits);
  };
  Deploy("shop", version("v1"));
  // A request on v1 (it answered already) whose body is still coming when
  // v2 goes live.
  Client slow(node_.ports().http);
  ASSERT_TRUE(
      slow.Send("POST /echo HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 9\r\n\r\nfirst"));
  ASSERT_TRUE(slow.ReadUntil("v1 got "));
  // Requests keep coming during the deploy; each sees one version whole.
  std::atomic<bool> deploying{true};
  int sent = 0;
  std::vector<std::string> errors;
  std::thread traffic([&] {
    while (deploying.load() || sent < 3) {
      std::string body = BodyOf(node_.Get("shop.test", "/x"));
      ++sent;
      if (body != "v1 none /x" && body != "v2 none /x") errors.push_back(body);
    }
  });
  Deploy("shop", version("v2"));
  deploying = false;
  traffic.join();
  EXPECT_THAT(errors, ::testing::IsEmpty());
  EXPECT_EQ(BodyOf(node_.Get("shop.test", "/x")), "v2 none /x");
  ASSERT_TRUE(slow.Send(" end"));
  std::optional<Response> finished = slow.Read();
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->body, "v1 got first end");
}

TEST_F(NodeTest, RollbackServesAnEarlierVersionAndRefusesOneThatIsNot) {
  Deploy("shop", Version("shop", "v1", {"shop.test/*"}));
  Deploy("shop", Version("shop", "v2", {"shop.test/*"}));
  EXPECT_EQ(BodyOf(node_.Get("shop.test")), "v2 none /");
  EXPECT_THAT(node_.AdminOk("POST", "/workers/shop/rollback", R"({"version": 1})"),
              HasSubstr("\"version\":1"));
  EXPECT_EQ(BodyOf(node_.Get("shop.test")), "v1 none /");
  EXPECT_THAT(node_.AdminOk("GET", "/workers/shop"), HasSubstr("\"version\":1,"));

  std::optional<Response> missing =
      node_.Admin("POST", "/workers/shop/rollback", R"({"version": 9})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("has no version 9"));
  std::optional<Response> nobody =
      node_.Admin("POST", "/workers/ghost/rollback", R"({"version": 1})");
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->status, 404);
  EXPECT_EQ(BodyOf(node_.Get("shop.test")), "v1 none /");
}

TEST_F(NodeTest, SecretChangesReachTheWorkerAndAreNeverShown) {
  Deploy("vault", Version("vault", "v1", {"vault.test/*"}));
  EXPECT_EQ(BodyOf(node_.Get("vault.test")), "v1 none /");
  node_.AdminOk("PUT", "/workers/vault/secrets/API_KEY", "s3cr3t");
  EXPECT_EQ(BodyOf(node_.Get("vault.test")), "v1 s3cr3t /");
  EXPECT_EQ(node_.AdminOk("GET", "/workers/vault/secrets"), "{\"secrets\":[\"API_KEY\"]}\n");
  EXPECT_THAT(node_.AdminOk("GET", "/workers/vault"), Not(HasSubstr("s3cr3t")));
  // A redeploy keeps it.
  Deploy("vault", Version("vault", "v2", {"vault.test/*"}));
  EXPECT_EQ(BodyOf(node_.Get("vault.test")), "v2 s3cr3t /");

  // A secret may not take a var's name, nor be no identifier.
  std::optional<Response> clash = node_.Admin("PUT", "/workers/vault/secrets/VERSION", "x");
  ASSERT_TRUE(clash);
  EXPECT_EQ(clash->status, 400);
  EXPECT_THAT(clash->body, HasSubstr("VERSION"));
  std::optional<Response> bad = node_.Admin("PUT", "/workers/vault/secrets/1bad", "x");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(BodyOf(node_.Get("vault.test")), "v2 s3cr3t /");

  node_.AdminOk("DELETE", "/workers/vault/secrets/API_KEY");
  EXPECT_EQ(BodyOf(node_.Get("vault.test")), "v2 none /");
  EXPECT_EQ(node_.AdminOk("GET", "/workers/vault/secrets"), "{\"secrets\":[]}\n");
}

TEST_F(NodeTest, RoutesChangeAloneAndAClaimedPatternIsRefused) {
  Deploy("shop", Version("shop", "v1", {"shop.test/*"}));
  Deploy("blog", Version("blog", "v1", {"blog.test/*"}));
  EXPECT_THAT(node_.AdminOk("PUT", "/workers/shop/routes", R"({"routes": ["store.test/*"]})"),
              HasSubstr("store.test/*"));
  EXPECT_EQ(BodyOf(node_.Get("store.test")), "v1 none /");
  EXPECT_EQ(node_.Get("shop.test")->status, 404);

  std::optional<Response> taken =
      node_.Admin("PUT", "/workers/shop/routes", R"({"routes": ["blog.test/*"]})");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->status, 409);
  EXPECT_THAT(taken->body, HasSubstr("blog"));
  std::optional<Response> bad =
      node_.Admin("PUT", "/workers/shop/routes", R"({"routes": ["/no-host"]})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  std::optional<Response> nobody =
      node_.Admin("PUT", "/workers/ghost/routes", R"({"routes": ["ghost.test/*"]})");
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->status, 404);
  EXPECT_THAT(nobody->body, HasSubstr("no worker named 'ghost' is deployed"));
  EXPECT_EQ(BodyOf(node_.Get("store.test")), "v1 none /");
  EXPECT_EQ(BodyOf(node_.Get("blog.test")), "v1 none /");
}

TEST_F(NodeTest, DeleteTakesTheWorkerAndItsRoutes) {
  Deploy("gone", Version("gone", "v1", {"gone.test/*"}));
  EXPECT_EQ(BodyOf(node_.Get("gone.test")), "v1 none /");
  EXPECT_THAT(node_.AdminOk("DELETE", "/workers/gone"), HasSubstr("\"deleted\":\"gone\""));
  EXPECT_EQ(node_.Get("gone.test")->status, 404);
  EXPECT_EQ(node_.Admin("GET", "/workers/gone")->status, 404);
  EXPECT_EQ(node_.AdminOk("GET", "/routes"), "{\"routes\":[]}\n");
}

TEST_F(NodeTest, BadBundlesAreRefusedAndNothingIsLost) {
  Deploy("calc", Version("calc", "v1", {"calc.test/*"}));
  Deploy("other", Version("other", "v1", {"other.test/*"}));
  struct Case {
    std::string what, bundle;
    int status;
    std::string message;
  };
  WorkerLimits startup;
  startup.startup_cpu_ms = 20;
  std::vector<Case> cases = {
      {"not JSON", "{not json", 400, ""},
      {"another name", Version("calc2", "v2", {"calc.test/*"}), 400,
       "the bundle is named 'calc2' but was uploaded to /workers/calc"},
      {"a syntax error", BundleJson("calc", "export default { fetch() {", {"calc.test/*"}), 400,
       "index.js"},
      {"no fetch handler", BundleJson("calc", "export const x = 1;", {"calc.test/*"}), 400,
       "fetch handler"},
      {"a route another worker holds", Version("calc", "v2", {"other.test/*"}), 409, "other"},
      {"a bad route", Version("calc", "v2", {"calc.test/*", "no-slash"}), 400, ""},
      {"top-level code over the startup CPU limit",
       BundleJson("calc", "for (;;) {}\nexport default { fetch() {} };", {"calc.test/*"}, {},
                  startup),
       400, "startup exceeded its CPU time limit of 20 ms"},
  };
  for (const Case& bad : cases) {
    std::optional<Response> refused = node_.Admin("PUT", "/workers/calc", bad.bundle);
    ASSERT_TRUE(refused) << bad.what;
    EXPECT_EQ(refused->status, bad.status) << bad.what << ": " << refused->body;
    EXPECT_THAT(refused->body, HasSubstr(bad.message)) << bad.what;
    EXPECT_THAT(refused->body, HasSubstr("\"error\":")) << bad.what;
  }
  // Still v1, with one version on record, and the other worker untouched.
  EXPECT_EQ(BodyOf(node_.Get("calc.test")), "v1 none /");
  EXPECT_EQ(BodyOf(node_.Get("other.test")), "v1 none /");
  std::string versions = node_.AdminOk("GET", "/workers/calc/versions");
  EXPECT_THAT(versions, HasSubstr("{\"versions\":[{\"id\":1,"));
  EXPECT_THAT(versions, Not(HasSubstr("\"id\":2"))) << versions;
  // The startup kill was counted as one, by kind.
  std::string metrics = node_.AdminOk("GET", "/metrics");
  EXPECT_EQ(Series(metrics, "edge_limit_kills_total{kind=\"startup\"}"), "1") << metrics;
}

TEST_F(NodeTest, AWorkerStoppedByItsCpuLimitIsCountedAndQuarantinedButServesOn) {
  WorkerLimits limits;
  limits.cpu_ms = 50;
  Deploy("hot", BundleJson("hot", kWorker, {"hot.test/*"}, {{"VERSION", "v1", false}}, limits));
  EXPECT_EQ(BodyOf(node_.Get("hot.test")), "v1 none /");
  std::optional<Response> stopped = node_.Get("hot.test", "/spin");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->status, 500);
  EXPECT_THAT(stopped->body, HasSubstr("Worker exceeded its CPU time limit of 50 ms"));
  // Now it runs on the quarantine thread: its requests hop there and back.
  EXPECT_EQ(BodyOf(node_.Get("hot.test", "/after")), "v1 none /after");
  bool quarantined = false;
  node_.OnControl([&] { quarantined = node_.node().Quarantined("hot"); });
  EXPECT_TRUE(quarantined);
  Client upload(node_.ports().http);
  ASSERT_TRUE(upload.Send(RequestText("POST", "/upload", "hot.test", "through the hop")));
  std::optional<Response> hopped = upload.Read();
  ASSERT_TRUE(hopped);
  EXPECT_EQ(hopped->body, "v1 got through the hop");

  std::string metrics = node_.AdminOk("GET", "/metrics");
  EXPECT_EQ(Series(metrics, "edge_limit_kills_total{kind=\"cpu\"}"), "1") << metrics;
  EXPECT_EQ(
      Series(metrics,
             "edge_requests_total{worker=\"hot\",status_class=\"5xx\",outcome=\"exceededCpu\"}"),
      "1")
      << metrics;
  EXPECT_EQ(Series(metrics, "edge_quarantined_workers"), "1") << metrics;
}

// Answers after `?ms=` milliseconds of waiting (no CPU), with its name.
constexpr const char* kWaitingWorker = R"(
  export default {
    async fetch(request, env) {
      const ms = Number(new URL(request.url).searchParams.get("ms"));
      await new Promise((done) => setTimeout(done, ms));
      return new Response(`${env.VERSION} waited ${ms}`);
    },
  };)";

// Many requests in flight at once on one thread, under two different wall
// limits: only those still running past their own worker's limit are cut
// (504), and a request of the worker with the longer limit outlives the
// other worker's deadlines untouched.
TEST_F(NodeTest, OfManyConcurrentRequestsOnlyThosePastTheirWallLimitAreCut) {
  WorkerLimits brief;
  brief.wall_ms = 400;
  WorkerLimits patient;
  patient.wall_ms = 8000;
  Deploy("brief", BundleJson("brief", kWaitingWorker, {"brief.test/*"},
                             {{"VERSION", "brief", false}}, brief));
  Deploy("patient", BundleJson("patient", kWaitingWorker, {"patient.test/*"},
                               {{"VERSION", "patient", false}}, patient));
  // Both loaded before the clock matters.
  EXPECT_EQ(BodyOf(node_.Get("brief.test", "/?ms=0")), "brief waited 0");
  EXPECT_EQ(BodyOf(node_.Get("patient.test", "/?ms=0")), "patient waited 0");

  struct Call {
    std::string host;
    int ms;
    int want_status;
    std::optional<Response> response;
  };
  std::vector<Call> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back({"brief.test", 0, 200, std::nullopt});
    calls.push_back({"brief.test", 2500, 504, std::nullopt});
    calls.push_back({"patient.test", 1500, 200, std::nullopt});
    calls.push_back({"patient.test", 20 * i, 200, std::nullopt});
  }
  std::vector<std::thread> clients;
  for (Call& call : calls) {
    clients.emplace_back([&node = node_, &call] {
      call.response = node.Get(call.host, fmt::format("/?ms={}", call.ms));
    });
  }
  for (std::thread& client : clients) client.join();
  for (const Call& call : calls) {
    ASSERT_TRUE(call.response) << call.host << " " << call.ms;
    EXPECT_EQ(call.response->status, call.want_status) << call.host << " " << call.ms;
    if (call.want_status == 504) {
      EXPECT_THAT(call.response->body, HasSubstr("wall time limit of 400 ms"));
    } else {
      std::string name = call.host.substr(0, call.host.find('.'));
      EXPECT_EQ(call.response->body, fmt::format("{} waited {}", name, call.ms));
    }
  }
  std::string metrics = node_.AdminOk("GET", "/metrics");
  EXPECT_EQ(Series(metrics, "edge_limit_kills_total{kind=\"wall\"}"), "8") << metrics;
  EXPECT_EQ(BodyOf(node_.Get("brief.test", "/?ms=0")), "brief waited 0");
}

TEST_F(NodeTest, AWorkerHoldingItsThreadRunsOnTheHeavyLaneAndOthersStay) {
  Deploy("slow", Version("slow", "v1", {"slow.test/*"}));
  Deploy("quick", Version("quick", "v1", {"quick.test/*"}));
  // Each /slow request holds the thread ~4 ms, over the 1 ms default: a few
  // in a row make the worker heavy; its requests go on being answered.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(BodyOf(node_.Get("slow.test", "/slow")), "v1 none /slow");
    EXPECT_EQ(BodyOf(node_.Get("quick.test", "/")), "v1 none /");
  }
  auto lane = [&](const std::string& worker) {
    WorkerLanes::Lane found = WorkerLanes::Lane::kServing;
    node_.OnControl([&] { found = node_.node().LaneOf(worker); });
    return found;
  };
  EXPECT_EQ(lane("slow"), WorkerLanes::Lane::kHeavy);
  EXPECT_EQ(lane("quick"), WorkerLanes::Lane::kServing);
  // On the heavy lane: a request body crosses the hop both ways.
  Client upload(node_.ports().http);
  ASSERT_TRUE(upload.Send(RequestText("POST", "/upload", "slow.test", "through the lane")));
  std::optional<Response> hopped = upload.Read();
  ASSERT_TRUE(hopped);
  EXPECT_EQ(hopped->body, "v1 got through the lane");
  EXPECT_EQ(BodyOf(node_.Get("slow.test", "/slow")), "v1 none /slow");
  EXPECT_EQ(lane("slow"), WorkerLanes::Lane::kHeavy);
  // A request on the heavy lane is metered once its record has come back
  // from the lane, which may be just after its response: wait for it.
  const std::string slow_ok = "edge_requests_total{worker=\"slow\",status_class=\"2xx\",outcome=\"ok\"}";
  std::string metrics = node_.AdminOk("GET", "/metrics");
  for (int i = 0; i < 100 && Series(metrics, slow_ok) != "10"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    metrics = node_.AdminOk("GET", "/metrics");
  }
  EXPECT_EQ(Series(metrics, "edge_heavy_workers"), "1") << metrics;
  EXPECT_EQ(Series(metrics, slow_ok), "10") << metrics;
}

TEST_F(NodeTest, AWorkerComputingAfterItsResponsesIsHeavyToo) {
  Deploy("later", Version("later", "v1", {"later.test/*"}));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(BodyOf(node_.Get("later.test", "/later")), "v1 none /later");
    // Its waitUntil work runs 1 ms after the response.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  WorkerLanes::Lane found = WorkerLanes::Lane::kServing;
  node_.OnControl([&] { found = node_.node().LaneOf("later"); });
  EXPECT_EQ(found, WorkerLanes::Lane::kHeavy);
}

// A heavy worker's CPU measured in iterations, not in wall time, and a
// threshold far above what a call that only forwards uses even on a
// loaded machine.
class HeavyServiceTest : public NodeTest {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
    // The forwarding is our C++, several times slower when instrumented;
    // the heavy worker's loop is V8's code, which is not.
    node_.options().heavy_cpu_us = 6000;
#else
    node_.options().heavy_cpu_us = 2000;
#endif
    NodeTest::SetUp();
  }
};

TEST_F(HeavyServiceTest, ACallThroughABindingRunsOnTheCalleesLaneNotOnTheCallers) {
  Deploy("slow", BundleJson("slow", R"(
    export default { async fetch(request) {
      let x = 0;
      for (let i = 0; i < 3000000; ++i) x = (x + i) % 1000003;
      if (request.method === "POST") {
        console.log("slow was sent a body");
        return new Response(`got ${await request.text()}`);
      }
      return new Response(`computed ${x > -1}`);
    } };)", {"slow.test/*"}));
  // "front" passes each request on over a service binding and does no work
  // of its own.
  Deploy("front", BundleJson("front", R"(
    export default { fetch(request, env) { return env.SLOW.fetch(request); } };)",
                             {"front.test/*"}, {}, {}, {{"SLOW", "slow"}}));
  auto lane = [&](const std::string& worker) {
    WorkerLanes::Lane found = WorkerLanes::Lane::kServing;
    node_.OnControl([&] { found = node_.node().LaneOf(worker); });
    return found;
  };
  for (int i = 0; i < 8; ++i) EXPECT_EQ(BodyOf(node_.Get("slow.test", "/")), "computed true");
  ASSERT_EQ(lane("slow"), WorkerLanes::Lane::kHeavy);
  // Called on its lane, the callee's CPU is no longer spent inside the
  // caller's invocation (it was, when the callee ran nested in it): the
  // caller stays light however often it calls.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(BodyOf(node_.Get("front.test", "/")), "computed true");
  EXPECT_EQ(lane("front"), WorkerLanes::Lane::kServing);
  EXPECT_EQ(lane("slow"), WorkerLanes::Lane::kHeavy);
  // A request body goes to the lane and the response comes back through
  // the caller.
  Client upload(node_.ports().http);
  ASSERT_TRUE(upload.Send(RequestText("POST", "/", "front.test", "through the lane")));
  std::optional<Response> hopped = upload.Read();
  ASSERT_TRUE(hopped);
  EXPECT_EQ(hopped->body, "got through the lane");
  // Requests on the heavy lane are metered once their records have come
  // back from the lane, which may be just after their responses: wait for
  // them.
  const std::string slow_ok = "edge_requests_total{worker=\"slow\",status_class=\"2xx\",outcome=\"ok\"}";
  std::string metrics = node_.AdminOk("GET", "/metrics");
  for (int i = 0; i < 500 && Series(metrics, slow_ok) != "17"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    metrics = node_.AdminOk("GET", "/metrics");
  }
  EXPECT_EQ(Series(metrics, slow_ok), "17") << metrics;
  // Its console line, written on the lane, reaches the log under it.
  std::string log;
  for (int i = 0; i < 100 && log.find("slow was sent a body") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(node_.dir() + "/access.log");
    log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_THAT(log, HasSubstr(R"("type":"console","worker":"slow")")) << log;
  EXPECT_THAT(log, HasSubstr("slow was sent a body")) << log;
}

TEST(NodeRestartTest, ARestartedNodeServesWhatItsStoreHolds) {
  NodeHarness node;
  ASSERT_TRUE(node.Start());
  ASSERT_THAT(node.AdminOk("PUT", "/workers/one", Version("one", "v1", {"one.test/*"})),
              HasSubstr("\"version\":1"));
  ASSERT_THAT(node.AdminOk("PUT", "/workers/one", Version("one", "v2", {"one.test/*"})),
              HasSubstr("\"version\":2"));
  ASSERT_THAT(node.AdminOk("PUT", "/workers/two", Version("two", "v1", {"two.test/*"})),
              HasSubstr("\"version\":1"));
  node.AdminOk("POST", "/workers/one/rollback", R"({"version": 1})");
  node.AdminOk("PUT", "/workers/two/secrets/API_KEY", "kept");
  node.AdminOk("PUT", "/workers/three/secrets/API_KEY", "no version yet");

  ASSERT_TRUE(node.Restart()) << "exit code " << node.exit_code();
  EXPECT_EQ(node.exit_code(), 0);
  EXPECT_EQ(BodyOf(node.Get("one.test", "/again")), "v1 none /again");
  EXPECT_EQ(BodyOf(node.Get("two.test")), "v1 kept /");
  EXPECT_THAT(
      node.AdminOk("GET", "/workers"),
      ::testing::AllOf(HasSubstr("\"name\":\"one\",\"version\":1"),
                       HasSubstr("\"name\":\"two\",\"version\":1"), Not(HasSubstr("three"))));
  EXPECT_THAT(node.AdminOk("GET", "/workers/one/versions"), HasSubstr("\"id\":2"));
  // A worker that only has secrets gets them when it is deployed.
  ASSERT_THAT(node.AdminOk("PUT", "/workers/three", Version("three", "v1", {"three.test/*"})),
              HasSubstr("\"version\":1"));
  EXPECT_EQ(BodyOf(node.Get("three.test")), "v1 no version yet /");
}

// The start's progress, from /status ("start":{...}): `field`'s value.
std::string StartField(NodeHarness& node, const std::string& field) {
  std::string status = node.AdminOk("GET", "/status");
  size_t start = status.find("\"start\":{");
  if (start == std::string::npos) return "<no start in " + status + ">";
  size_t at = status.find("\"" + field + "\":", start);
  if (at == std::string::npos) return "<no " + field + ">";
  at += field.size() + 3;
  return status.substr(at, status.find_first_of(",}", at) - at);
}

// Waits until the node has loaded (or given up on) every stored worker.
void AwaitStartLoads(NodeHarness& node) {
  for (int i = 0; i < 3000 && StartField(node, "pending") != "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(StartField(node, "pending"), "0");
}

// A restarted node answers at once and loads its workers in the
// background, each once, on one of its serving threads: a request that
// lands on the other thread is handed to it, and no request waits for a
// load once they are all in.
TEST(NodeRestartTest, EachStoredWorkerLoadsOnceAndEveryThreadServesIt) {
  NodeHarness node;
  node.options().threads = 2;
  ASSERT_TRUE(node.Start());
  constexpr int kWorkers = 12;
  for (int i = 0; i < kWorkers; ++i) {
    std::string name = fmt::format("s{}", i);
    ASSERT_THAT(node.AdminOk("PUT", "/workers/" + name,
                             Version(name, fmt::format("v{}", i), {name + ".test/*"})),
                HasSubstr("\"version\":1"));
  }
  ASSERT_TRUE(node.Restart());
  AwaitStartLoads(node);
  EXPECT_EQ(StartField(node, "workers"), std::to_string(kWorkers));
  EXPECT_EQ(StartField(node, "loaded"), std::to_string(kWorkers));
  EXPECT_EQ(StartField(node, "unfit"), "0");
  EXPECT_NE(StartField(node, "warm_ms"), "null");
  // New connections, so both threads take some (the kernel spreads them):
  // every worker answers from either, twice.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kWorkers; ++i) {
      std::string name = fmt::format("s{}", i);
      EXPECT_EQ(BodyOf(node.Get(name + ".test", "/x")), fmt::format("v{} none /x", i));
    }
  }
  // Each once: the serving threads hold 12 isolates between them, and no
  // request loaded one (the gauges are refreshed every second).
  std::string metrics;
  for (int i = 0; i < 300; ++i) {
    metrics = node.AdminOk("GET", "/metrics");
    if (Series(metrics, "edge_isolates_alive") == std::to_string(kWorkers)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Series(metrics, "edge_isolates_alive"), std::to_string(kWorkers)) << metrics;
  EXPECT_EQ(Series(metrics, "edge_isolate_cold_loads_total"), "") << metrics;
  EXPECT_EQ(Series(metrics, "edge_start_workers_pending"), "0") << metrics;
}

// Under a memory budget too small for any of them, no worker loads at
// start: the node says so, and each loads on its first request, which it
// answers.
TEST(NodeRestartTest, WorkersThatDoNotFitTheBudgetLoadOnTheirFirstRequest) {
  NodeHarness node;
  node.options().threads = 2;
  ASSERT_TRUE(node.Start());
  for (int i = 0; i < 3; ++i) {
    std::string name = fmt::format("b{}", i);
    ASSERT_THAT(node.AdminOk("PUT", "/workers/" + name,
                             Version(name, fmt::format("v{}", i), {name + ".test/*"})),
                HasSubstr("\"version\":1"));
  }
  node.Stop();
  node.options().memory_budget_mb = 1;
  ASSERT_TRUE(node.Start());
  AwaitStartLoads(node);
  EXPECT_EQ(StartField(node, "loaded"), "0");
  EXPECT_EQ(StartField(node, "unfit"), "3");
  for (int i = 0; i < 3; ++i) {
    std::string name = fmt::format("b{}", i);
    EXPECT_EQ(BodyOf(node.Get(name + ".test", "/y")), fmt::format("v{} none /y", i));
  }
  std::string metrics = node.AdminOk("GET", "/metrics");
  EXPECT_EQ(Series(metrics, "edge_start_workers_unfit"), "3") << metrics;
}

// Deploys asked at once on a node with two serving threads: they load,
// commit and switch together, and end as if they had run one at a time.
class ConcurrentDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_.options().threads = 2;
    ASSERT_TRUE(node_.Start()) << "exit code " << node_.exit_code();
  }

  // Each (name, bundle) PUT from a thread of its own, all at once; the
  // answers in the same order.
  std::vector<std::optional<Response>> DeployAtOnce(
      const std::vector<std::pair<std::string, std::string>>& deploys) {
    std::vector<std::optional<Response>> answers(deploys.size());
    std::vector<std::thread> clients;
    std::atomic<size_t> ready{0};
    for (size_t i = 0; i < deploys.size(); ++i) {
      clients.emplace_back([&, i] {
        ++ready;
        while (ready.load() < deploys.size()) std::this_thread::yield();
        answers[i] = node_.Admin("PUT", "/workers/" + deploys[i].first, deploys[i].second);
      });
    }
    for (std::thread& client : clients) client.join();
    return answers;
  }

  void Deploy(const std::string& name, const std::string& bundle) {
    ASSERT_THAT(node_.AdminOk("PUT", "/workers/" + name, bundle),
                HasSubstr(fmt::format("\"name\":\"{}\"", name)));
  }

  // What `host` answers over `count` new connections (the kernel spreads
  // them over both threads).
  std::set<std::string> Answers(const std::string& host, int count = 24) {
    std::set<std::string> seen;
    for (int i = 0; i < count; ++i) seen.insert(BodyOf(node_.Get(host)));
    return seen;
  }

  NodeHarness node_;
};

TEST_F(ConcurrentDeployTest, TwoDeploysOfOneWorkerAtOnceEndWithTheLastCommittedEverywhere) {
  std::vector<std::pair<std::string, std::string>> deploys;
  for (int i = 0; i < 6; ++i) {
    deploys.emplace_back("race", Version("race", fmt::format("r{}", i), {"race.test/*"}));
  }
  std::vector<std::optional<Response>> answers = DeployAtOnce(deploys);
  // Every one committed, each as a version of its own; the last committed
  // (the highest version) is the one served, on both threads, and after a
  // restart.
  std::map<int, int> deploy_of_version;
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i]) << i;
    ASSERT_EQ(answers[i]->status, 200) << answers[i]->body;
    size_t at = answers[i]->body.find("\"version\":");
    ASSERT_NE(at, std::string::npos) << answers[i]->body;
    deploy_of_version[std::atoi(answers[i]->body.c_str() + at + 10)] = static_cast<int>(i);
  }
  ASSERT_EQ(deploy_of_version.size(), 6u);
  EXPECT_EQ(deploy_of_version.begin()->first, 1);
  EXPECT_EQ(deploy_of_version.rbegin()->first, 6);
  std::string last = fmt::format("r{} none /", deploy_of_version.rbegin()->second);
  EXPECT_THAT(Answers("race.test"), ::testing::ElementsAre(last));
  EXPECT_THAT(node_.AdminOk("GET", "/workers/race"), HasSubstr("\"version\":6,"));
  ASSERT_TRUE(node_.Restart()) << "exit code " << node_.exit_code();
  EXPECT_THAT(Answers("race.test", 8), ::testing::ElementsAre(last));
}

TEST_F(ConcurrentDeployTest, ADeployRefusedAmongGoodOnesAtOnceFailsAlone) {
  Deploy("kept", Version("kept", "k1", {"kept.test/*"}));
  std::vector<std::pair<std::string, std::string>> deploys = {
      {"good1", Version("good1", "g1", {"good1.test/*"})},
      {"broken", BundleJson("broken", "export default { fetch() {", {"broken.test/*"})},
      {"good2", Version("good2", "g2", {"good2.test/*"})},
      {"throws", BundleJson("throws", "throw new Error('no');\nexport default {};",
                            {"throws.test/*"})},
      {"good3", Version("good3", "g3", {"good3.test/*"})},
      // A new version of a worker that serves, which does not load: it
      // keeps serving the old one.
      {"kept", BundleJson("kept", "export default {};", {"kept.test/*"})},
      // Two workers claiming one route: one of them gets it.
      {"claim1", Version("claim1", "c1", {"claimed.test/*"})},
      {"claim2", Version("claim2", "c2", {"claimed.test/*"})},
  };
  std::vector<std::optional<Response>> answers = DeployAtOnce(deploys);
  std::map<std::string, int> status;
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i]) << deploys[i].first;
    status[deploys[i].first] = answers[i]->status;
  }
  EXPECT_EQ(status["good1"], 200);
  EXPECT_EQ(status["good2"], 200);
  EXPECT_EQ(status["good3"], 200);
  EXPECT_EQ(status["broken"], 400);
  EXPECT_EQ(status["throws"], 400);
  EXPECT_EQ(status["kept"], 400);
  EXPECT_EQ(std::min(status["claim1"], status["claim2"]), 200);
  EXPECT_EQ(std::max(status["claim1"], status["claim2"]), 409);
  for (const char* good : {"good1", "good2", "good3"}) {
    EXPECT_THAT(Answers(fmt::format("{}.test", good), 6),
                ::testing::ElementsAre(fmt::format("g{} none /", good[4])));
  }
  std::string winner = status["claim1"] == 200 ? "c1 none /" : "c2 none /";
  EXPECT_THAT(Answers("claimed.test", 6), ::testing::ElementsAre(winner));
  EXPECT_THAT(Answers("kept.test", 6), ::testing::ElementsAre("k1 none /"));
  EXPECT_EQ(node_.Get("broken.test")->status, 404);
  EXPECT_EQ(node_.Get("throws.test")->status, 404);
  std::string workers = node_.AdminOk("GET", "/workers");
  EXPECT_THAT(workers, Not(HasSubstr("broken")));
  EXPECT_THAT(workers, Not(HasSubstr("throws")));
  EXPECT_THAT(node_.AdminOk("GET", "/workers/kept/versions"), Not(HasSubstr("\"id\":2")));
  // And so after a restart: the refused ones left nothing in the store.
  ASSERT_TRUE(node_.Restart()) << "exit code " << node_.exit_code();
  EXPECT_THAT(Answers("good2.test", 4), ::testing::ElementsAre("g2 none /"));
  EXPECT_THAT(Answers("kept.test", 4), ::testing::ElementsAre("k1 none /"));
  EXPECT_EQ(node_.Get("broken.test")->status, 404);
}

// Counts the requests its isolate answered: two isolates of one version
// each start at 1.
std::string Counting(const std::string& name, const std::string& version) {
  return BundleJson(name, R"(
    let answered = 0;
    export default { fetch(request, env) { return new Response(`${env.VERSION} ${++answered}`); } };)",
                    {name + ".test/*"}, {{"VERSION", version, false}});
}

// A deploy loads its worker once, on one serving thread (its validation),
// and answers without waiting for the others: a request that lands on
// another thread is handed to that one, so one isolate answers them all
// and none waits for a load.
TEST_F(ConcurrentDeployTest, ANewWorkerLoadsOnceAndEveryThreadServesItAsSoonAsItsDeployAnswers) {
  constexpr int kWorkers = 6;
  constexpr int kRequests = 10;  // fewer than a thread hands over before it loads a copy
  for (int i = 0; i < kWorkers; ++i) {
    std::string name = fmt::format("once{}", i);
    Deploy(name, Counting(name, "v1"));
    // New connections: the kernel spreads them over both threads.
    std::set<std::string> seen;
    for (int n = 0; n < kRequests; ++n) seen.insert(BodyOf(node_.Get(name + ".test")));
    std::set<std::string> one_isolate;
    for (int n = 1; n <= kRequests; ++n) one_isolate.insert(fmt::format("v1 {}", n));
    EXPECT_EQ(seen, one_isolate) << name;
  }
  std::string metrics;
  for (int i = 0; i < 300; ++i) {
    metrics = node_.AdminOk("GET", "/metrics");
    if (Series(metrics, "edge_isolates_alive") == std::to_string(kWorkers)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Series(metrics, "edge_isolates_alive"), std::to_string(kWorkers)) << metrics;
  EXPECT_EQ(Series(metrics, "edge_isolate_cold_loads_total"), "") << metrics;
}

// A worker whose requests reach both threads gets an isolate on each (the
// thread that handed it over often loads a copy); its next deploy is warm
// on both before it answers, so neither hands its requests over again.
TEST_F(ConcurrentDeployTest, AHotWorkersNextVersionIsWarmOnEveryThreadThatHeldIt) {
  Deploy("hot", Counting("hot", "v1"));
  int fresh_isolates = 0;
  for (int n = 0; n < 400 && fresh_isolates < 2; ++n) {
    if (BodyOf(node_.Get("hot.test")) == "v1 1") ++fresh_isolates;
    if (n >= 40) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(fresh_isolates, 2) << "the second thread never loaded its own copy";
  Deploy("hot", Counting("hot", "v2"));
  std::multiset<std::string> seen;
  for (int n = 0; n < 16; ++n) seen.insert(BodyOf(node_.Get("hot.test")));
  EXPECT_EQ(seen.count("v2 1"), 2u) << ::testing::PrintToString(seen);
  for (const std::string& body : seen) EXPECT_THAT(body, ::testing::StartsWith("v2 "));
  std::string metrics = node_.AdminOk("GET", "/metrics");
  EXPECT_EQ(Series(metrics, "edge_isolate_cold_loads_total"), "") << metrics;
}

// The operator's host policies: node.toml's, replaced by a set made through
// the admin API (kept across restarts), node.toml's again once it is
// removed; a bad set is refused with its field named, and a stored set the
// node cannot read leaves the tables that serve as they are.
TEST(NodeHostPoliciesTest, TheAdminApisSetReplacesTheFilesWhileServing) {
  const std::string file_set = R"([{"hosts":["hp.test"],"validate":{"methods":["GET"]}}])";
  const std::string api_set = fmt::format(
      R"([{{"hosts":["hp.test"],"api_key":{{"header":"x-ops-key","keys":{{"ops":"{}"}}}}}}])",
      base::Sha256Hex("ops-secret"));
  NodeHarness node;
  node.options().host_policies_json = file_set;
  ASSERT_TRUE(node.Start());
  ASSERT_THAT(node.AdminOk("PUT", "/workers/hp", Version("hp", "v1", {"hp.test/*"})),
              HasSubstr("\"version\":1"));
  auto status = [&](std::string_view method, const HeaderList& headers = {}) {
    std::optional<Response> response = node.Request(method, "hp.test", "/x", "", headers);
    return response ? response->status : 0;
  };
  const HeaderList key = {{"x-ops-key", "ops-secret"}};
  EXPECT_EQ(status("GET"), 200);
  EXPECT_EQ(status("POST"), 405);
  EXPECT_THAT(node.AdminOk("GET", "/host-policies"),
              HasSubstr(R"("source":"node.toml","tables":1,"host_policies":[{"hosts")"));

  // Refused with the field named; nothing changes.
  std::optional<Response> bad = node.Admin(
      "PUT", "/host-policies", R"([{"hosts":["hp.test"],"rate_limit":{"requests":5,"period_s":0}}])");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("host_policies[0].rate_limit.period_s"));
  for (std::string_view body : {"", "{", "{}", R"([{"routes":["a.test/*"]}])"}) {
    std::optional<Response> refused = node.Admin("PUT", "/host-policies", body);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << body;
  }
  std::optional<Response> huge = node.Admin(
      "PUT", "/host-policies", "[" + std::string(policy::kMaxHostPoliciesJsonBytes, ' ') + "]");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 400);
  EXPECT_THAT(huge->body, HasSubstr("over the limit"));
  EXPECT_EQ(status("POST"), 405);

  // The admin API's set replaces node.toml's at once.
  EXPECT_EQ(node.AdminOk("PUT", "/host-policies", api_set), R"({"source":"admin","tables":1})" "\n");
  EXPECT_EQ(status("GET"), 401);
  EXPECT_EQ(status("POST", key), 200);
  EXPECT_EQ(status("GET", {{"x-ops-key", "wrong"}}), 403);

  // A restart serves the stored set.
  ASSERT_TRUE(node.Restart());
  EXPECT_EQ(status("GET"), 401);
  EXPECT_EQ(status("POST", key), 200);
  EXPECT_THAT(node.AdminOk("GET", "/host-policies"), HasSubstr(R"("source":"admin","tables":1)"));

  // A stored set this node cannot read (one a newer build wrote, say):
  // the tables serving keep serving.
  node.OnControl([&] {
    Status written = node.node().store().Write([](DeployStore::Writer& writer) {
      return writer.PutMeta(kHostPoliciesMetaKey, R"([{"hosts":["hp.test"],"future":{}}])");
    });
    ASSERT_TRUE(written.ok()) << written.message();
  });
  node.node().ReloadHostPolicies();
  node.OnControl([] {});
  EXPECT_EQ(status("GET"), 401);
  EXPECT_EQ(status("POST", key), 200);
  // Started with it, the node serves node.toml's (and says why in its log).
  ASSERT_TRUE(node.Restart());
  EXPECT_EQ(status("GET"), 200);
  EXPECT_EQ(status("POST"), 405);

  // Removed: node.toml's apply again; removing twice finds nothing.
  EXPECT_EQ(node.AdminOk("PUT", "/host-policies", "[]"), R"({"source":"admin","tables":0})" "\n");
  EXPECT_EQ(status("POST"), 200);
  EXPECT_EQ(node.AdminOk("DELETE", "/host-policies"), R"({"source":"node.toml","tables":1})" "\n");
  EXPECT_EQ(status("POST"), 405);
  std::optional<Response> again = node.Admin("DELETE", "/host-policies");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
  std::optional<Response> wrong = node.Admin("POST", "/host-policies");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
}

TEST(NodeRestartTest, AnOriginServesTheAdminApiOnly) {
  NodeHarness origin;
  origin.options().serve_traffic = false;
  ASSERT_TRUE(origin.Start());
  EXPECT_EQ(origin.ports().http, 0);
  EXPECT_NE(origin.ports().admin, 0);
  ASSERT_THAT(origin.AdminOk("PUT", "/workers/one", Version("one", "v1", {"one.test/*"})),
              HasSubstr("\"version\":1"));
  EXPECT_THAT(origin.AdminOk("GET", "/routes"), HasSubstr("one.test/*"));
  EXPECT_EQ(origin.Stop(), 0);
}

TEST(NodeRestartTest, ANodeThatCannotStartSaysSoAndExits) {
  NodeHarness node;
  node.options().admin_token_file = node.dir() + "/missing-token";
  EXPECT_FALSE(node.Start());
  EXPECT_EQ(node.exit_code(), 1);
  NodeHarness bad_listen;
  bad_listen.options().listen = "127.0.0.1";
  EXPECT_FALSE(bad_listen.Start());
  EXPECT_EQ(bad_listen.exit_code(), 1);
}

}  // namespace
}  // namespace edge::gateway
