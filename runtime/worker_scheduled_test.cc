// Worker::Scheduled: the scheduled handler (cron triggers), beside fetch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/testing/worker_fixture.h"
#include "runtime/worker.h"

namespace edge::runtime::testing {
namespace {

using ::testing::HasSubstr;
using ScheduledTest = WorkerFixture;

TEST_F(ScheduledTest, ModuleHandlerGetsControllerEnvAndCtx) {
  auto worker = LoadOrDie(R"(
    let seen = "none";
    export default {
      fetch() { return new Response(seen); },
      async scheduled(controller, env, ctx) {
        controller.noRetry();
        seen = [controller.cron, controller.scheduledTime, typeof controller.scheduledTime,
                String(controller), typeof ctx.waitUntil, Object.getPrototypeOf(env)].join("|");
        ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 5)));
      },
    };)");
  ASSERT_TRUE(worker);
  auto outcome = Scheduled(*worker, "*/5 * * * *", 1700000040000);
  ASSERT_TRUE(outcome->finished) << outcome->failure;
  EXPECT_EQ(outcome->status, 200);
  EXPECT_EQ(outcome->body, "Ran scheduled event");
  EXPECT_EQ(Fetch(*worker)->body,
            "*/5 * * * *|1700000040000|number|[object ScheduledController]|function|");
}

TEST_F(ScheduledTest, ServiceWorkerListener) {
  auto worker = LoadOrDie(R"(
    let seen = "none";
    addEventListener("fetch", (event) => event.respondWith(new Response(seen)));
    addEventListener("scheduled", (event) => {
      event.waitUntil(Promise.resolve().then(() => {
        seen = `${event.type} ${event.cron} ${event.scheduledTime} ${String(event)}`;
      }));
    });)");
  ASSERT_TRUE(worker);
  auto outcome = Scheduled(*worker, "0 3 * * MON-FRI", 5);
  ASSERT_TRUE(outcome->finished) << outcome->failure;
  EXPECT_EQ(Fetch(*worker)->body, "scheduled 0 3 * * MON-FRI 5 [object ScheduledEvent]");
}

TEST_F(ScheduledTest, TheOutcomeWaitsForWaitUntilWork) {
  auto worker = LoadOrDie(R"(
    let done = false;
    export default {
      fetch() { return new Response(String(done)); },
      scheduled(controller, env, ctx) {
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => { done = true; resolve(); }, 20)));
      },
    };)");
  ASSERT_TRUE(worker);
  auto outcome = Scheduled(*worker);
  ASSERT_TRUE(outcome->finished) << outcome->failure;
  EXPECT_EQ(Fetch(*worker)->body, "true");
}

TEST_F(ScheduledTest, FailuresAreReportedNotThrown) {
  auto worker = LoadOrDie(R"(
    export default {
      fetch() { return new Response("still serving"); },
      scheduled(controller, env, ctx) {
        if (controller.cron === "throw") throw new Error("boom");
        if (controller.cron === "reject") return Promise.reject(new TypeError("nope"));
        if (controller.cron === "waituntil") ctx.waitUntil(Promise.reject(new Error("later")));
        if (controller.cron === "revoked") {
          const { proxy, revoke } = Proxy.revocable({}, {});
          revoke();
          throw proxy;
        }
      },
    };)");
  ASSERT_TRUE(worker);
  for (const char* cron : {"throw", "reject", "waituntil", "revoked"}) {
    auto outcome = Scheduled(*worker, cron);
    EXPECT_TRUE(outcome->failed) << cron;
    EXPECT_EQ(outcome->limit, LimitKind::kNone) << cron;
  }
  EXPECT_TRUE(Scheduled(*worker, "fine")->finished);
  EXPECT_EQ(Fetch(*worker)->body, "still serving");
}

TEST_F(ScheduledTest, AListenerThatThrowsFailsTheEvent) {
  auto worker = LoadOrDie(R"(
    addEventListener("fetch", (event) => event.respondWith(new Response("x")));
    addEventListener("scheduled", () => { throw new Error("listener boom"); });)");
  ASSERT_TRUE(worker);
  EXPECT_TRUE(Scheduled(*worker)->failed);
}

TEST_F(ScheduledTest, MissingHandlers) {
  auto fetch_only = LoadOrDie("export default { fetch() { return new Response('x'); } };");
  ASSERT_TRUE(fetch_only);
  EXPECT_TRUE(Scheduled(*fetch_only)->failed);
  EXPECT_EQ(Fetch(*fetch_only)->body, "x");

  // A worker with only a scheduled handler loads; a request fails.
  auto scheduled_only = LoadOrDie("export default { scheduled() {} };");
  ASSERT_TRUE(scheduled_only);
  EXPECT_TRUE(Scheduled(*scheduled_only)->finished);
  EXPECT_TRUE(Fetch(*scheduled_only)->failed);
  auto listener_only = LoadOrDie("addEventListener('scheduled', () => {});");
  ASSERT_TRUE(listener_only);
  EXPECT_TRUE(Scheduled(*listener_only)->finished);

  EXPECT_THAT(LoadError({{"index.js", "export default { nothing: 1 };"}}),
              HasSubstr("no fetch handler"));
}

TEST_F(ScheduledTest, RunsUnderTheBackgroundCpuLimitNotCpuMs) {
  cpu_limit_ms_ = 20;
  background_cpu_limit_ms_ = 60000;
  // Both handlers spin for a time of the wall clock (the cron names how
  // long). How much CPU that is depends on how busy the machine is: the
  // thread may get a fraction of a core.
  auto worker = LoadOrDie(R"(
    function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
    export default {
      fetch(request) { spin(60000); return new Response("late"); },
      scheduled(controller) { spin(Number(controller.cron)); },
    };)");
  ASSERT_TRUE(worker);
  // The scheduled handler uses more than cpu_ms and finishes. The spin
  // grows until it did use twice cpu_ms (a spin of at most 25,600 ms of
  // wall time cannot use the 60,000 ms of the background limit).
  for (int ms = 100;; ms *= 2) {
    auto outcome = Scheduled(*worker, std::to_string(ms));
    ASSERT_TRUE(outcome->finished) << ms << " ms: " << outcome->failure;
    EXPECT_FALSE(worker->discarded());
    ASSERT_TRUE(outcome->cpu_ns.has_value());
    if (*outcome->cpu_ns > 2 * 20'000'000u) break;
    ASSERT_LT(ms, 25600) << "a spin of " << ms << " ms of wall time got only " << *outcome->cpu_ns
                        << " ns of CPU";
  }
  // Requests keep cpu_ms: one that spins for 60 s of wall time (far more
  // than 20 ms of CPU however busy the machine is) is stopped.
  auto response = Fetch(*worker);
  EXPECT_TRUE(response->failed);
  EXPECT_EQ(response->limit, LimitKind::kCpu);
}

TEST_F(ScheduledTest, AHandlerThatLoopsForeverIsStopped) {
  cpu_limit_ms_ = 20;
  background_cpu_limit_ms_ = 100;
  auto worker = LoadOrDie(R"(
    export default { fetch() { return new Response("x"); }, scheduled() { for (;;) {} } };)");
  ASSERT_TRUE(worker);
  auto outcome = Scheduled(*worker);
  ExpectFailed(*outcome, "Worker exceeded its CPU time limit of 100 ms", LimitKind::kCpu);
  EXPECT_TRUE(worker->discarded());
}

TEST_F(ScheduledTest, PoisonedBuiltinsDoNotStopTheOutcome) {
  auto worker = LoadOrDie(R"(
    let runs = 0;
    export default {
      scheduled(controller) {
        runs++;
        const boom = () => { throw new Error("poisoned"); };
        for (const name of ["then", "catch", "cron", "scheduledTime", "waitUntil", "noRetry"]) {
          Object.defineProperty(Object.prototype, name, { get: boom, set: boom, configurable: true });
        }
        Object.defineProperty(Array.prototype, "0", { get: boom, set: boom, configurable: true });
        Array.prototype.push = boom;
        Promise.prototype.then = boom;
        Promise.resolve = boom;
        EventTarget.prototype.dispatchEvent = boom;
        JSON.stringify = boom;
      },
    };)");
  ASSERT_TRUE(worker);
  for (int i = 0; i < 2; ++i) {
    auto outcome = Scheduled(*worker);
    ASSERT_TRUE(outcome->finished) << i << ": " << outcome->failure;
    EXPECT_EQ(outcome->body, "Ran scheduled event");
  }
}

TEST_F(ScheduledTest, ServiceWorkerDispatchIgnoresAPatchedDispatchEvent) {
  auto worker = LoadOrDie(R"(
    let seen = 0;
    addEventListener("scheduled", () => { seen++; });
    EventTarget.prototype.dispatchEvent = () => { throw new Error("patched"); };)");
  ASSERT_TRUE(worker);
  EXPECT_TRUE(Scheduled(*worker)->finished);
  auto seen = Run(*worker, "String(seen)");
  ASSERT_TRUE(seen.ok()) << seen.status().message();
  EXPECT_EQ(*seen, "1");
}

}  // namespace
}  // namespace edge::runtime::testing
