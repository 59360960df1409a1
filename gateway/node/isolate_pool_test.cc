#include "gateway/node/isolate_pool.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "base/uv_handle.h"
#include "gateway/node/testing/node_fixtures.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::gateway {
namespace {

using runtime::testing::MemorySink;
using testing::MakeServed;
using testing::ManualBody;

// Answers with a version tag and, for /count, how many requests this
// isolate has served (a fresh isolate starts from 1).
std::string Tagged(std::string_view tag) {
  return fmt::format(R"(
    let served = 0;
    export default {{
      async fetch(request) {{
        served++;
        if (new URL(request.url).pathname === "/upload") {{
          return new Response("{} got " + await request.text());
        }}
        return new Response("{} " + served);
      }},
    }};)",
                     tag, tag);
}

// Holds `mib` MiB in an ArrayBuffer for as long as the isolate lives (the
// isolate's measured memory counts ArrayBuffers).
std::string Holding(std::string_view tag, int mib) {
  return fmt::format(R"(
    const held = new Uint8Array({} << 20);
    held.fill(1);
    export default {{
      async fetch(request) {{
        if (new URL(request.url).pathname === "/upload") {{
          return new Response("{} got " + await request.text());
        }}
        return new Response("{} " + held.length);
      }},
    }};)",
                     mib, tag, tag);
}

void RunLoopUntil(uv_loop_t* loop, const std::function<bool()>& done);

class IsolatePoolTest : public runtime::testing::WorkerFixture {
 protected:
  ~IsolatePoolTest() override { pools_.clear(); }

  IsolatePool& NewPool(size_t budget_bytes) {
    pools_.push_back(std::make_unique<IsolatePool>(loop(), natives_, budget_bytes, "localhost"));
    return *pools_.back();
  }

  // Sends a request through `host` and runs the loop until it is answered.
  std::shared_ptr<MemorySink> Send(WorkerHost* host, const std::string& path = "/",
                                   std::shared_ptr<ManualBody> body = nullptr) {
    auto sink = std::make_shared<MemorySink>();
    runtime::FetchRequest request;
    request.method = body ? "POST" : "GET";
    request.url = "http://localhost" + path;
    request.body_source = body;
    host->Fetch(std::move(request), sink);
    if (!body) RunUntil([&] { return sink->done(); });
    return sink;
  }

  // A POST to /upload through `host` whose body the worker has started
  // reading: it stays in flight until the test delivers and ends the body.
  std::pair<std::shared_ptr<ManualBody>, std::shared_ptr<MemorySink>> StartUpload(
      WorkerHost* host) {
    auto body = std::make_shared<ManualBody>();
    auto sink = Send(host, "/upload", body);
    RunUntil([&] { return body->read(); });
    return {body, sink};
  }

  // Acquires `worker` from `pool` and has it answer "/"; the body.
  std::string Serve(IsolatePool& pool, const std::shared_ptr<const ServedWorker>& worker) {
    auto host = pool.Acquire(worker);
    if (!host.ok()) return "error: " + host.status().message();
    auto sink = Send(*host);
    return sink->finished ? sink->body : "failed: " + sink->failure;
  }

  // Makes the loop's clock move on, so the next use has a later time than
  // the last (the pool's LRU order is by loop time in milliseconds).
  void NextMillisecond() {
    uint64_t before = uv_now(loop());
    while (uv_now(loop()) == before) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      uv_update_time(loop());
    }
  }

  // The memory one loaded isolate of `worker` measures, on this build.
  size_t MemoryOf(const std::shared_ptr<const ServedWorker>& worker) {
    IsolatePool probe(loop(), natives_, 0, "localhost");
    if (!probe.Acquire(worker).ok()) return 0;
    probe.Measure([](const std::string&, const IsolatePool::Sample&) {});
    return probe.stats().memory_bytes;
  }

  // What Measure reports, by worker.
  std::map<std::string, IsolatePool::Sample> Measure(IsolatePool& pool) {
    std::map<std::string, IsolatePool::Sample> samples;
    pool.Measure([&](const std::string& worker, const IsolatePool::Sample& sample) {
      samples[worker] = sample;
    });
    return samples;
  }

  static NodeState StateOf(std::vector<std::shared_ptr<const ServedWorker>> workers) {
    NodeState state;
    for (auto& worker : workers) state.workers[worker->name] = worker;
    return state;
  }

  std::vector<std::unique_ptr<IsolatePool>> pools_;
};

TEST_F(IsolatePoolTest, AWarmedInstanceServesItsFirstRequestWithoutAColdLoad) {
  IsolatePool& pool = NewPool(0);
  auto v1 = MakeServed("api", 1, Tagged("v1"));
  Status warmed = pool.Warm(v1);
  ASSERT_TRUE(warmed.ok()) << warmed.message();
  EXPECT_EQ(Serve(pool, v1), "v1 1");
  EXPECT_EQ(pool.stats().cold_loads, 0u);
  // Warming what is already current loads nothing more.
  ASSERT_TRUE(pool.Warm(v1).ok());
  EXPECT_EQ(Serve(pool, v1), "v1 2");
}

TEST_F(IsolatePoolTest, AnUnwarmedWorkerIsLoadedOnceByItsFirstRequest) {
  IsolatePool& pool = NewPool(0);
  auto v1 = MakeServed("api", 1, Tagged("v1"));
  auto first = pool.Acquire(v1);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const runtime::Worker* isolate = (*first)->current();
  EXPECT_EQ(pool.stats().cold_loads, 1u);
  auto second = pool.Acquire(v1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);
  EXPECT_EQ((*second)->current(), isolate);
  EXPECT_EQ(pool.stats().cold_loads, 1u);
  EXPECT_EQ(Serve(pool, v1), "v1 1");
  EXPECT_EQ(Serve(pool, v1), "v1 2");
}

TEST_F(IsolatePoolTest, AWorkerThatDoesNotLoadIsAnErrorEachTime) {
  IsolatePool& pool = NewPool(0);
  auto broken = MakeServed("broken", 1, "export default { fetch() { return new Response( ");
  auto warmed = pool.Warm(broken);
  EXPECT_FALSE(warmed.ok());
  auto acquired = pool.Acquire(broken);
  ASSERT_FALSE(acquired.ok());
  EXPECT_NE(acquired.status().message().find("index.js"), std::string::npos)
      << acquired.status().message();
  EXPECT_FALSE(pool.Acquire(broken).ok());
  EXPECT_EQ(pool.stats().cold_loads, 2u);
}

TEST_F(IsolatePoolTest, RetainPublishesTheWarmedInstanceAndLetsTheOldOneFinish) {
  IsolatePool& pool = NewPool(0);
  auto v1 = MakeServed("api", 1, Tagged("v1"));
  auto v2 = MakeServed("api", 2, Tagged("v2"));
  auto host = pool.Acquire(v1);
  ASSERT_TRUE(host.ok());
  // A request on v1 is still reading its body when v2 goes live.
  auto [body, in_flight] = StartUpload(*host);
  ASSERT_TRUE(pool.Warm(v2).ok());
  pool.Retain(StateOf({v2}));
  EXPECT_EQ(Serve(pool, v2), "v2 1");
  EXPECT_EQ(pool.stats().cold_loads, 1u);  // v1's first request only
  // The old isolate finishes what it had.
  EXPECT_FALSE(in_flight->done());
  body->Deliver("late");
  body->End();
  RunUntil([&] { return in_flight->done(); });
  EXPECT_EQ(in_flight->body, "v1 got late");
}

TEST_F(IsolatePoolTest, RetainDropsDeletedWorkersAndSupersededWarms) {
  IsolatePool& pool = NewPool(0);
  auto api = MakeServed("api", 1, Tagged("api"));
  auto web = MakeServed("web", 2, Tagged("web"));
  auto web_next = MakeServed("web", 3, Tagged("web3"));
  auto web_newest = MakeServed("web", 4, Tagged("web4"));
  EXPECT_EQ(Serve(pool, api), "api 1");
  EXPECT_EQ(Serve(pool, web), "web 1");
  ASSERT_TRUE(pool.Warm(web_next).ok());
  // "api" is deleted; "web" moved on past the instance warmed for it.
  pool.Retain(StateOf({web_newest}));
  uint64_t cold = pool.stats().cold_loads;
  EXPECT_EQ(Serve(pool, web_newest), "web4 1");
  EXPECT_EQ(pool.stats().cold_loads, cold + 1);
  EXPECT_EQ(Serve(pool, api), "api 1");  // a fresh isolate
  EXPECT_EQ(pool.stats().cold_loads, cold + 2);
}

TEST_F(IsolatePoolTest, OverBudgetTheLeastRecentlyUsedIdleIsolateGoesFirst) {
  // Each isolate holds 8 MiB besides its own few. The budget fits two and a
  // half of them, as measured on this build.
  auto a = MakeServed("a", 1, Holding("a", 8));
  auto b = MakeServed("b", 2, Holding("b", 8));
  auto c = MakeServed("c", 3, Holding("c", 8));
  size_t one = MemoryOf(a);
  ASSERT_GT(one, 8u << 20);
  IsolatePool& pool = NewPool(one * 5 / 2);
  for (const auto& worker : {a, b, c}) {
    NextMillisecond();
    EXPECT_EQ(Serve(pool, worker), worker->name + " " + std::to_string(8 << 20));
  }
  Measure(pool);
  EXPECT_EQ(pool.stats().alive, 3u);
  ASSERT_GT(pool.stats().memory_bytes, one * 5 / 2);

  EXPECT_EQ(pool.EnforceBudget(), 1u);
  EXPECT_EQ(pool.stats().evictions, 1u);
  // Disposed of once the thread is quiet (counted until then).
  RunLoopUntil(loop(), [&] { return pool.stats().dying == 0; });
  Measure(pool);
  EXPECT_EQ(pool.stats().alive, 2u);
  EXPECT_LE(pool.stats().memory_bytes, one * 5 / 2);
  // Under budget now: nothing more goes.
  EXPECT_EQ(pool.EnforceBudget(), 0u);

  // b and c are still loaded; a, the least recently used, comes back cold.
  uint64_t cold = pool.stats().cold_loads;
  NextMillisecond();
  EXPECT_EQ(Serve(pool, b), "b " + std::to_string(8 << 20));
  NextMillisecond();
  EXPECT_EQ(Serve(pool, c), "c " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold);
  NextMillisecond();
  EXPECT_EQ(Serve(pool, a), "a " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold + 1);
  // Now b is the oldest.
  Measure(pool);
  EXPECT_EQ(pool.EnforceBudget(), 1u);
  cold = pool.stats().cold_loads;
  EXPECT_EQ(Serve(pool, c), "c " + std::to_string(8 << 20));
  EXPECT_EQ(Serve(pool, a), "a " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold);
  EXPECT_EQ(Serve(pool, b), "b " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold + 1);
}

TEST_F(IsolatePoolTest, AnIsolateWithARequestInFlightIsNeverEvicted) {
  IsolatePool& pool = NewPool(1);  // everything is over this budget
  auto busy = MakeServed("busy", 1, Tagged("busy"));
  auto idle = MakeServed("idle", 2, Tagged("idle"));
  auto host = pool.Acquire(busy);
  ASSERT_TRUE(host.ok());
  auto [body, in_flight] = StartUpload(*host);
  EXPECT_EQ(Serve(pool, idle), "idle 1");
  Measure(pool);
  EXPECT_EQ(pool.EnforceBudget(), 1u);  // the idle one only
  body->Deliver("done");
  body->End();
  RunUntil([&] { return in_flight->done(); });
  EXPECT_EQ(in_flight->body, "busy got done");
  EXPECT_EQ(pool.EnforceBudget(), 1u);  // idle now, it goes too
  Measure(pool);
  EXPECT_EQ(pool.stats().alive, 0u);
  EXPECT_EQ(pool.stats().evictions, 2u);
}

// Holds 8 MiB; each request leaves waitUntil work that never settles, after
// poisoning Promise.prototype.then. /upload answers once its body is read.
constexpr const char* kPinned = R"(
  const held = new Uint8Array(8 << 20);
  held.fill(1);
  export default {
    async fetch(request, env, ctx) {
      if (new URL(request.url).pathname === "/upload") {
        return new Response("pinned got " + await request.text());
      }
      Promise.prototype.then = function () { throw new Error("poisoned then"); };
      ctx.waitUntil(new Promise(() => {}));
      return new Response("pinned " + held.length);
    },
  };)";

TEST_F(IsolatePoolTest, AnIsolateBusyOnlyWithWaitUntilWorkIsEvictedAfterIdleOnes) {
  auto pinned = MakeServed("pinned", 1, kPinned);
  auto idle = MakeServed("idle", 2, Holding("idle", 8));
  auto other = MakeServed("other", 3, Holding("other", 8));
  size_t one = MemoryOf(idle);
  ASSERT_GT(one, 8u << 20);
  IsolatePool& pool = NewPool(one * 3 / 2);  // room for one of them
  EXPECT_EQ(Serve(pool, pinned), "pinned " + std::to_string(8 << 20));
  auto pinned_host = pool.Acquire(pinned);
  ASSERT_TRUE(pinned_host.ok());
  EXPECT_FALSE((*pinned_host)->idle());  // its waitUntil promise never settles
  EXPECT_FALSE((*pinned_host)->answering());
  NextMillisecond();
  EXPECT_EQ(Serve(pool, idle), "idle " + std::to_string(8 << 20));
  Measure(pool);
  // Over budget: the idle isolate goes first, though it was used last.
  EXPECT_EQ(pool.EnforceBudget(), 1u);
  EXPECT_EQ(pool.stats().waituntil_evictions, 0u);
  uint64_t cold = pool.stats().cold_loads;
  EXPECT_EQ(Serve(pool, pinned), "pinned " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold);

  // Another worker needs the room while answering a request: the isolate
  // busy only with waitUntil work goes, the answering one stays.
  auto other_host = pool.Acquire(other);
  ASSERT_TRUE(other_host.ok());
  auto [body, in_flight] = StartUpload(*other_host);
  Measure(pool);
  EXPECT_EQ(pool.EnforceBudget(), 1u);
  EXPECT_EQ(pool.stats().waituntil_evictions, 1u);
  EXPECT_EQ(pool.EnforceBudget(), 0u);  // under budget now
  body->Deliver("room");
  body->End();
  RunUntil([&] { return in_flight->done(); });
  EXPECT_EQ(in_flight->body, "other got room");
  // The pinned worker comes back cold, and serves.
  cold = pool.stats().cold_loads;
  EXPECT_EQ(Serve(pool, pinned), "pinned " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold + 1);
}

TEST_F(IsolatePoolTest, AWarmedIsolateIsNotEvictedBeforeItIsPublished) {
  IsolatePool& pool = NewPool(1);
  auto v1 = MakeServed("api", 1, Tagged("v1"));
  auto v2 = MakeServed("api", 2, Tagged("v2"));
  EXPECT_EQ(Serve(pool, v1), "v1 1");
  ASSERT_TRUE(pool.Warm(v2).ok());
  Measure(pool);
  EXPECT_EQ(pool.EnforceBudget(), 0u);
  pool.Retain(StateOf({v2}));
  uint64_t cold = pool.stats().cold_loads;
  EXPECT_EQ(Serve(pool, v2), "v2 1");
  EXPECT_EQ(pool.stats().cold_loads, cold);
}

TEST_F(IsolatePoolTest, MeasureReportsCpuNoRequestWasChargedForOncePerIsolate) {
  IsolatePool& pool = NewPool(0);
  // Top-level work and a timer after the response run outside any request.
  auto worker = MakeServed("bg", 1, R"(
    function spin() { let x = 0; for (let i = 0; i < 2e6; i++) x += i; return x; }
    spin();
    export default {
      fetch(request) {
        if (new URL(request.url).pathname === "/later") setTimeout(spin, 0);
        return new Response("ok");
      },
    };)");
  auto host = pool.Acquire(worker);
  ASSERT_TRUE(host.ok()) << host.status().message();
  auto first = Measure(pool);
  ASSERT_EQ(first.count("bg"), 1u);
  EXPECT_GT(first["bg"].unattributed_cpu_ns, 0u);
  EXPECT_EQ(first["bg"].subrequests, 0u);
  EXPECT_EQ(pool.stats().alive, 1u);
  EXPECT_GT(pool.stats().memory_bytes, 0u);
  // Nothing ran since: nothing to report.
  EXPECT_EQ(Measure(pool).count("bg"), 0u);

  const runtime::Worker* isolate = (*host)->current();
  uint64_t before = isolate->cpu_unattributed_ns();
  auto sink = Send(*host, "/later");
  ASSERT_TRUE(sink->finished);
  RunUntil([&] { return isolate->cpu_unattributed_ns() > before; });
  auto later = Measure(pool);
  ASSERT_EQ(later.count("bg"), 1u);
  EXPECT_EQ(later["bg"].unattributed_cpu_ns, isolate->cpu_unattributed_ns() - before);

  // A fresh isolate (evicted, loaded again) is measured from zero, not
  // against the old one's counters.
  pool.Retain(StateOf({}));
  auto reloaded = pool.Acquire(worker);
  ASSERT_TRUE(reloaded.ok());
  auto fresh = Measure(pool);
  ASSERT_EQ(fresh.count("bg"), 1u);
  EXPECT_EQ(fresh["bg"].unattributed_cpu_ns, (*reloaded)->current()->cpu_unattributed_ns());
}

// Runs the loop (its timers) until `done` or 20 s have passed. A timer of
// its own keeps the loop alive meanwhile, as a node's server and timers do:
// the pool's refill timer alone does not.
void RunLoopUntil(uv_loop_t* loop, const std::function<bool()>& done) {
  auto* keep_alive = new uv_timer_t;
  uv_timer_init(loop, keep_alive);
  uv_timer_start(keep_alive, [](uv_timer_t*) {}, 1, 1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    uv_run(loop, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  base::CloseAndDelete(keep_alive);
  uv_run(loop, UV_RUN_NOWAIT);
}

constexpr size_t kDefaultLimit = 128u << 20;  // memory_mb's default

TEST_F(IsolatePoolTest, AnEvictedWorkerComesBackInASpareMadeWhileTheThreadWasIdle) {
  IsolatePool& pool = NewPool(0);
  pool.SetSpares(2, kDefaultLimit, 1);
  RunLoopUntil(loop(), [&] { return pool.stats().spares == 2; });
  ASSERT_EQ(pool.stats().spares, 2u);

  auto a = MakeServed("a", 1, Tagged("a"));
  EXPECT_EQ(Serve(pool, a), "a 1");
  EXPECT_EQ(pool.stats().cold_loads, 1u);
  EXPECT_EQ(pool.stats().spare_loads, 1u);
  EXPECT_EQ(pool.stats().spares, 1u);
  EXPECT_TRUE((*pool.Acquire(a))->current()->from_spare());
  EXPECT_EQ(Serve(pool, a), "a 2");

  // Evicted (the state no longer has it), then asked for again: a fresh
  // isolate, the other spare, never the one "a" ran in (its module state
  // starts again: "a 1"; the Worker's address says nothing, since the
  // allocator may hand the freed one out again).
  pool.Retain(StateOf({}));
  EXPECT_EQ(Serve(pool, a), "a 1");
  EXPECT_EQ(pool.stats().spare_loads, 2u);
  EXPECT_EQ(pool.stats().spares, 0u);

  // Refilled once the thread is idle again; counted in the pool's memory.
  RunLoopUntil(loop(), [&] { return pool.stats().spares == 2; });
  EXPECT_EQ(pool.stats().spares, 2u);
  Measure(pool);
  size_t with_spares = pool.stats().memory_bytes;
  pool.SetSpares(0, kDefaultLimit);
  Measure(pool);
  EXPECT_LT(pool.stats().memory_bytes, with_spares);
}

TEST_F(IsolatePoolTest, NoSpareIsMadeBeforeTheThreadHasBeenIdle) {
  IsolatePool& pool = NewPool(0);
  pool.SetSpares(2, kDefaultLimit, 60000);
  auto a = MakeServed("a", 1, Tagged("a"));
  EXPECT_EQ(Serve(pool, a), "a 1");
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  RunLoopUntil(loop(), [&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(pool.stats().spares, 0u);
  EXPECT_EQ(pool.stats().spare_loads, 0u);
}

TEST_F(IsolatePoolTest, SparesAreMadeOnlyWhileTheyFitInTheBudget) {
  IsolatePool& pool = NewPool(1u << 20);  // less than one spare holds
  pool.SetSpares(2, kDefaultLimit, 1);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  RunLoopUntil(loop(), [&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(pool.stats().spares, 0u);
}

TEST_F(IsolatePoolTest, ARefillEvictsAnIdleIsolateToMakeRoomForItsSpare) {
  auto a = MakeServed("a", 1, Holding("a", 8));
  auto b = MakeServed("b", 2, Holding("b", 8));
  size_t one = MemoryOf(a);
  // Room for one such isolate and a spare, not for two of them and a spare.
  IsolatePool& pool = NewPool(one + (6u << 20));
  EXPECT_EQ(Serve(pool, a), "a " + std::to_string(8 << 20));
  NextMillisecond();
  EXPECT_EQ(Serve(pool, b), "b " + std::to_string(8 << 20));
  pool.SetSpares(1, kDefaultLimit, 1);
  RunLoopUntil(loop(), [&] { return pool.stats().spares == 1; });
  EXPECT_EQ(pool.stats().spares, 1u);
  EXPECT_EQ(pool.stats().evictions, 1u);
  // The least recently used went: "a" is loaded again, "b" is not.
  uint64_t cold = pool.stats().cold_loads;
  EXPECT_EQ(Serve(pool, b), "b " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold);
  EXPECT_EQ(Serve(pool, a), "a " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold + 1);
}

TEST_F(IsolatePoolTest, AnEvictedIsolateIsDisposedOfOnceTheThreadIsQuietAndCountedUntilThen) {
  auto a = MakeServed("a", 1, Holding("a", 8));
  auto b = MakeServed("b", 2, Holding("b", 8));
  auto c = MakeServed("c", 3, Holding("c", 8));
  size_t one = MemoryOf(a);
  IsolatePool& pool = NewPool(one * 5 / 2);
  // No spares; the thread counts as quiet after a minute only.
  pool.SetSpares(0, kDefaultLimit, 60000);
  for (const auto& worker : {a, b, c}) {
    NextMillisecond();
    EXPECT_EQ(Serve(pool, worker), worker->name + " " + std::to_string(8 << 20));
  }
  Measure(pool);
  size_t held = pool.stats().memory_bytes;
  ASSERT_GT(held, one * 5 / 2);

  // Evicted, not yet disposed of: still counted as held, yet not a reason
  // to evict another.
  EXPECT_EQ(pool.EnforceBudget(), 1u);
  EXPECT_EQ(pool.stats().dying, 1u);
  EXPECT_GE(pool.MemoryInUse(), held);
  Measure(pool);
  EXPECT_EQ(pool.stats().alive, 2u);
  EXPECT_GE(pool.stats().memory_bytes, held);
  EXPECT_EQ(pool.EnforceBudget(), 0u);
  EXPECT_EQ(pool.stats().evictions, 1u);
  // "a" went: it loads again, in a fresh isolate.
  uint64_t cold = pool.stats().cold_loads;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  RunLoopUntil(loop(), [&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(pool.stats().dying, 1u);

  // Once the thread is quiet, it goes, and so does what it held.
  pool.SetSpares(0, kDefaultLimit, 1);
  RunLoopUntil(loop(), [&] { return pool.stats().dying == 0; });
  EXPECT_EQ(pool.stats().dying, 0u);
  EXPECT_LT(pool.MemoryInUse(), held);
  Measure(pool);
  EXPECT_LE(pool.stats().memory_bytes, one * 5 / 2);
  NextMillisecond();
  EXPECT_EQ(Serve(pool, a), "a " + std::to_string(8 << 20));
  EXPECT_EQ(pool.stats().cold_loads, cold + 1);
}

TEST_F(IsolatePoolTest, ABusyThreadStillDisposesOfAnEvictedIsolateWithinItsBound) {
  auto a = MakeServed("a", 1, Holding("a", 8));
  auto b = MakeServed("b", 2, Holding("b", 8));
  size_t one = MemoryOf(a);
  IsolatePool& pool = NewPool(one * 3 / 2);
  pool.SetSpares(0, kDefaultLimit, 1);
  pool.SetBusy([] { return true; });  // a request always waiting
  EXPECT_EQ(Serve(pool, a), "a " + std::to_string(8 << 20));
  NextMillisecond();
  EXPECT_EQ(Serve(pool, b), "b " + std::to_string(8 << 20));
  Measure(pool);
  EXPECT_EQ(pool.EnforceBudget(), 1u);
  EXPECT_EQ(pool.stats().dying, 1u);
  auto start = std::chrono::steady_clock::now();
  RunLoopUntil(loop(), [&] {
    return pool.stats().dying == 0 ||
           std::chrono::steady_clock::now() - start > std::chrono::seconds(5);
  });
  EXPECT_EQ(pool.stats().dying, 0u);
  // Not before the quiet spell it waited for in vain.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST_F(IsolatePoolTest, NoSpareIsMadeWhileARequestIsWaitingForItsTurn) {
  IsolatePool& pool = NewPool(0);
  bool waiting = true;
  pool.SetBusy([&] { return waiting; });
  pool.SetSpares(2, kDefaultLimit, 1);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  RunLoopUntil(loop(), [&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(pool.stats().spares, 0u);
  // Once nothing waits, the spares are made.
  waiting = false;
  RunLoopUntil(loop(), [&] { return pool.stats().spares == 2; });
  EXPECT_EQ(pool.stats().spares, 2u);
}

TEST_F(IsolatePoolTest, NoSpareIsMadeWithinASecondOfADeploysWarm) {
  IsolatePool& pool = NewPool(0);
  // A deploy's validation: a new isolate, no spare taken. The pool reads
  // the loop's clock, which must not lag the one the test reads.
  uv_update_time(loop());
  auto warming = std::chrono::steady_clock::now();
  ASSERT_TRUE(pool.Warm(MakeServed("a", 1, Tagged("a")), true, /*use_spare=*/false).ok());
  pool.SetSpares(1, kDefaultLimit, 1);
  // Made once the deploys have stopped for a while, not after the thread's
  // usual quiet spell (1 ms here).
  RunLoopUntil(loop(), [&] { return pool.stats().spares == 1; });
  EXPECT_EQ(pool.stats().spares, 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - warming, std::chrono::milliseconds(990));
}

TEST_F(IsolatePoolTest, AWorkerWithAnotherMemoryLimitLoadsWithoutASpare) {
  IsolatePool& pool = NewPool(0);
  pool.SetSpares(1, kDefaultLimit, 1);
  RunLoopUntil(loop(), [&] { return pool.stats().spares == 1; });
  WorkerLimits limits;
  limits.memory_mb = 64;
  auto small = MakeServed("small", 1, Tagged("small"), limits);
  EXPECT_EQ(Serve(pool, small), "small 1");
  EXPECT_EQ(pool.stats().spare_loads, 0u);
  EXPECT_EQ(pool.stats().spares, 1u);
}

TEST_F(IsolatePoolTest, ClearFreesEverything) {
  IsolatePool& pool = NewPool(0);
  EXPECT_EQ(Serve(pool, MakeServed("a", 1, Tagged("a"))), "a 1");
  ASSERT_TRUE(pool.Warm(MakeServed("b", 2, Tagged("b"))).ok());
  Measure(pool);
  EXPECT_EQ(pool.stats().alive, 1u);
  pool.Clear();
  EXPECT_EQ(pool.stats().alive, 0u);
  EXPECT_EQ(pool.stats().memory_bytes, 0u);
  Measure(pool);
  EXPECT_EQ(pool.stats().memory_bytes, 0u);
}

}  // namespace
}  // namespace edge::gateway
