// The workflow engine driving a real worker on a test clock: env.FLOW
// creates instances, the engine runs each due instance through
// Worker::Workflow (a fresh WorkflowEntrypoint per run, run() replayed),
// and the store keeps what each run reported. Replay (results returned, not
// re-run), retries and backoff, NonRetryableError, step timeouts, sleeps,
// waitForEvent delivered and timed out, pause/resume/terminate/restart, the
// CPU limit, step limits and a hostile tenant's tricks.
#include "bindings/workflows/workflow_engine.h"

#include <gtest/gtest.h>

#include "bindings/binding_services.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::bindings {
void RegisterWorkflowNatives(runtime::NativeRegistry& registry);
void RegisterServiceNatives(runtime::NativeRegistry& registry);

namespace {
using runtime::testing::MemorySink;
using runtime::testing::WorkerFixture;

constexpr char kPrelude[] = R"(
import { WorkflowEntrypoint } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
globalThis.calls = {};
const count = (name) => { globalThis.calls[name] = (globalThis.calls[name] || 0) + 1; };
export default {
  async fetch(request, env) {
    globalThis.env = env;
    return new Response("ready");
  },
};
)";

class WorkflowEngineTest : public WorkerFixture {
 protected:
  WorkflowEngineTest() {
    bool workflows = false, rpc = false;
    for (const auto& entry : natives_.entries()) {
      workflows |= entry.name == "workflowCreate";
      rpc |= entry.name == "rpcDeserialize";
    }
    if (!workflows) RegisterWorkflowNatives(natives_);
    if (!rpc) RegisterServiceNatives(natives_);
    auto store = WorkflowStore::Open(dir_ + "/.edge/state", {}, [this] { return now_; });
    EXPECT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    auto services = std::make_shared<BindingServices>();
    services->workflows = store_;
    services_ = services;
    bindings_ = {{"FLOW", "workflow", {{"workflow", "orders"}, {"class_name", "Flow"}, {"account", "acct"}}}};
    WorkflowEngine::Options options;
    options.timer = false;
    options.run_timeout_ms = 60'000;
    engine_ = std::make_unique<WorkflowEngine>(
        loop(), store_,
        [this](const WorkflowRun& run, WorkflowEngine::Done done) {
          if (worker_->discarded()) Load(source_);  // a limit stopped the last isolate
          auto sink = std::make_shared<MemorySink>();
          ++runs_;
          worker_->Workflow(MakeWorkflowRunEvent(run), sink);
          pending_.push_back({sink, std::move(done)});
        },
        options);
    engine_->SetDefinitions({{"acct", "orders", "shop", "Flow"}});
  }
  ~WorkflowEngineTest() override {
    engine_.reset();
    worker_.reset();
  }

  void Load(const std::string& body) {
    source_ = body;
    worker_ = LoadOrDie(std::string(kPrelude) + body);
    ASSERT_TRUE(worker_);
    ASSERT_EQ(Fetch(*worker_)->body, "ready");
  }

  std::string Eval(const std::string& body) {
    std::string script = "(async () => {\n" + body +
                         "\n})().then((r) => JSON.stringify(r), (e) => `threw ${e.name}: ${e.message}`)";
    auto result = Run(*worker_, script);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : "<script failed>";
  }

  // Runs every run that is due now, and those they make due, until none is.
  void Drive() {
    for (int round = 0; round < 200; ++round) {
      engine_->Tick();
      if (pending_.empty()) return;
      RunUntil([&] {
        for (const auto& item : pending_) {
          if (!item.sink->done()) return false;
        }
        return true;
      });
      auto done = std::move(pending_);
      pending_.clear();
      for (auto& [sink, callback] : done) {
        callback(ParseWorkflowReport(sink->finished && !sink->failed, sink->failure, sink->body));
      }
    }
    ADD_FAILURE() << "the runs did not settle";
  }

  WorkflowInstanceState State(const std::string& id) {
    auto state = store_->Load("acct", "orders", id);
    EXPECT_TRUE(state.ok()) << state.status().message();
    return state.ok() ? *state : WorkflowInstanceState{};
  }
  WorkflowStatus StatusOf(const std::string& id) { return State(id).instance.status; }
  std::string Calls() { return Eval("return globalThis.calls"); }

  struct Pending {
    std::shared_ptr<MemorySink> sink;
    WorkflowEngine::Done done;
  };
  int64_t now_ = 1'700'000'000'000;
  std::shared_ptr<WorkflowStore> store_;
  std::unique_ptr<WorkflowEngine> engine_;
  std::unique_ptr<runtime::Worker> worker_;
  std::string source_;
  std::vector<Pending> pending_;
  int runs_ = 0;
};

constexpr char kOrderFlow[] = R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    const a = await step.do("a", async () => { count("a"); return { n: event.payload.n + 1 }; });
    const b = await step.do("b", { retries: { limit: 3, delay: "1 second", backoff: "exponential" } },
      async (ctx) => { count("b"); if (ctx.attempt < 3) throw new Error("flaky " + ctx.attempt); return a.n * 2; });
    await step.sleep("nap", "1 hour");
    const e = await step.waitForEvent("go", { type: "go", timeout: "1 day" });
    const again = await step.do("a", async () => { count("a2"); return "second a"; });
    return { a, b, e: e.payload, again, id: event.instanceId, envOk: this.env.FLOW !== undefined,
             ts: event.timestamp instanceof Date };
  }
}
)";

TEST_F(WorkflowEngineTest, ReplaysRetriesSleepsAndWaitsToTheEnd) {
  Load(kOrderFlow);
  EXPECT_EQ(Eval("const i = await env.FLOW.create({ id: 'o1', params: { n: 1 } }); return i.id"), R"("o1")");
  Drive();
  // a ran, b failed once and waits 1 s (exponential from 1 s).
  auto state = State("o1");
  EXPECT_EQ(state.instance.status, WorkflowStatus::kWaiting);
  ASSERT_EQ(state.steps.size(), 2u);
  EXPECT_EQ(state.steps[1].state, WorkflowStep::kRetrying);
  EXPECT_EQ(state.steps[1].wake_ms, now_ + 1'000);
  now_ += 999;
  Drive();
  EXPECT_EQ(Calls(), R"({"a":1,"b":1})");
  now_ += 1;
  Drive();  // the second attempt fails too: 2 s more
  EXPECT_EQ(State("o1").steps[1].wake_ms, now_ + 2'000);
  now_ += 2'000;
  Drive();  // the third succeeds; the sleep begins
  EXPECT_EQ(Calls(), R"({"a":1,"b":3})");
  state = State("o1");
  EXPECT_EQ(state.instance.status, WorkflowStatus::kWaiting);
  ASSERT_EQ(state.steps.size(), 3u);
  EXPECT_EQ(state.steps[2].kind, WorkflowStep::kSleep);
  EXPECT_EQ(state.steps[2].wake_ms, now_ + 3'600'000);
  EXPECT_EQ(Eval("return (await (await env.FLOW.get('o1')).status()).status"), R"("waiting")");
  now_ += 3'600'000;
  Drive();  // waiting for "go" now
  EXPECT_EQ(State("o1").steps.size(), 4u);
  EXPECT_EQ(Eval("await (await env.FLOW.get('o1')).sendEvent({ type: 'go', payload: { ship: 7 } })"),
            "undefined");
  Drive();
  EXPECT_EQ(StatusOf("o1"), WorkflowStatus::kComplete);
  EXPECT_EQ(Eval("return await (await env.FLOW.get('o1')).status()"),
            R"({"status":"complete","output":{"a":{"n":2},"b":4,"e":{"ship":7},"again":"second a","id":"o1","envOk":true,"ts":true}})");
  // Each step ran once, however many times run() was replayed.
  EXPECT_EQ(Calls(), R"({"a":1,"b":3,"a2":1})");
  EXPECT_GT(runs_, 6);
}

TEST_F(WorkflowEngineTest, NonRetryableErrorsAndCaughtFailures) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    if (event.payload.mode === "caught") {
      try {
        await step.do("x", { retries: { limit: 1, delay: 0 } }, async () => { count("x"); throw new TypeError("nope"); });
      } catch (e) {
        return "caught " + e.name + ": " + e.message;
      }
    }
    await step.do("y", async () => { count("y"); throw new NonRetryableError("card declined"); });
    await step.do("never", async () => { count("never"); });
  }
}
)");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'n', params: { mode: 'fatal' } }); "
                 "await env.FLOW.create({ id: 'c', params: { mode: 'caught' } });"),
            "undefined");
  Drive();
  EXPECT_EQ(StatusOf("n"), WorkflowStatus::kErrored);
  EXPECT_EQ(Eval("return await (await env.FLOW.get('n')).status()"),
            R"({"status":"errored","error":{"name":"NonRetryableError","message":"card declined"}})");
  EXPECT_EQ(StatusOf("c"), WorkflowStatus::kComplete);
  EXPECT_EQ(Eval("return (await (await env.FLOW.get('c')).status()).output"), R"("caught TypeError: nope")");
  EXPECT_EQ(Calls(), R"({"x":2,"y":1})");
}

TEST_F(WorkflowEngineTest, ParallelStepsAndRepeatedNames) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    const [a, b] = await Promise.all([
      step.do("p", async () => { count("p1"); return 1; }),
      step.do("p", async () => { count("p2"); return 2; }),
    ]);
    return a + b;
  }
}
)");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'p' })"), "undefined");
  Drive();
  EXPECT_EQ(Eval("return (await (await env.FLOW.get('p')).status()).output"), "3");
  EXPECT_EQ(Calls(), R"({"p1":1,"p2":1})");
  auto state = State("p");
  ASSERT_EQ(state.steps.size(), 2u);
  EXPECT_EQ(state.steps[0].count, 1u);
  EXPECT_EQ(state.steps[1].count, 2u);
}

TEST_F(WorkflowEngineTest, AStepTimeoutIsAFailedAttempt) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    return await step.do("hang", { retries: { limit: 0 }, timeout: 20 }, () => new Promise(() => {}));
  }
}
)");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 't' })"), "undefined");
  Drive();
  auto state = State("t");
  EXPECT_EQ(state.instance.status, WorkflowStatus::kErrored);
  EXPECT_EQ(state.instance.error_name, "WorkflowTimeoutError");
  EXPECT_NE(state.instance.error_message.find("timed out after 20 ms"), std::string::npos);
}

TEST_F(WorkflowEngineTest, WaitForEventTimesOutOnTheClock) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    try {
      await step.waitForEvent("approval", { type: "approved", timeout: "10 minutes" });
      return "approved";
    } catch (e) {
      return "timed out: " + e.message;
    }
  }
}
)");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'w' })"), "undefined");
  Drive();
  EXPECT_EQ(StatusOf("w"), WorkflowStatus::kWaiting);
  now_ += 10 * 60 * 1000;
  Drive();
  EXPECT_EQ(StatusOf("w"), WorkflowStatus::kComplete);
  EXPECT_NE(Eval("return (await (await env.FLOW.get('w')).status()).output").find("timed out"),
            std::string::npos);
}

TEST_F(WorkflowEngineTest, PauseResumeTerminateRestartThroughTheBinding) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    await step.do("one", async () => { count("one"); });
    await step.sleep("nap", 1000);
    await step.do("two", async () => { count("two"); });
    return "done";
  }
}
)");
  EXPECT_EQ(Eval("const i = await env.FLOW.create({ id: 'r' }); await i.pause(); return (await i.status()).status"),
            R"("paused")");
  Drive();
  EXPECT_EQ(Calls(), "{}");  // a paused instance does not run
  EXPECT_EQ(Eval("await (await env.FLOW.get('r')).resume()"), "undefined");
  Drive();
  EXPECT_EQ(StatusOf("r"), WorkflowStatus::kWaiting);
  EXPECT_EQ(Eval("await (await env.FLOW.get('r')).terminate()"), "undefined");
  now_ += 1000;
  Drive();
  EXPECT_EQ(StatusOf("r"), WorkflowStatus::kTerminated);
  EXPECT_EQ(Calls(), R"({"one":1})");
  EXPECT_EQ(Eval("await (await env.FLOW.get('r')).restart()"), "undefined");
  Drive();
  now_ += 1000;
  Drive();
  EXPECT_EQ(StatusOf("r"), WorkflowStatus::kComplete);
  EXPECT_EQ(Calls(), R"({"one":2,"two":1})");
}

TEST_F(WorkflowEngineTest, BindingErrorsAndLimits) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run() { return 1; }
}
)");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'dup' }); await env.FLOW.create({ id: 'dup' })"),
            "threw Error: instance.already_exists: an instance with id \"dup\" already exists for workflow \"orders\"");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: '-bad' })").substr(0, 40), "threw TypeError: The instance id \"-bad\" ");
  EXPECT_EQ(Eval("await env.FLOW.get('missing')").substr(0, 30), "threw Error: instance.not_foun");
  EXPECT_EQ(Eval("await env.FLOW.create({ params: { big: 'x'.repeat(2 << 20) } })").substr(0, 57),
            "threw RangeError: Workflow instance params are limited to");
  EXPECT_EQ(Eval("await env.FLOW.create({ params: () => 1 })").substr(0, 24), "threw DataCloneError: ()");
  EXPECT_EQ(Eval("const made = await env.FLOW.createBatch([{ id: 'dup' }, { id: 'b1' }, {}]); "
                 "return made.length"),
            "2");
  EXPECT_EQ(Eval("return (await env.FLOW.create()).id.length"), "36");
  EXPECT_EQ(Eval("await env.FLOW.createBatch(new Array(101).fill({}))").substr(0, 60),
            "threw RangeError: createBatch takes at most 100 instances (g");
  EXPECT_EQ(Eval("await (await env.FLOW.get('dup')).sendEvent({ type: 'a b', payload: 1 })").substr(0, 40),
            "threw TypeError: The event type \"a b\" is");
}

TEST_F(WorkflowEngineTest, HostileTenantsGetErrorsNotCrashes) {
  source_ = "hostile";
  worker_ = LoadOrDie(std::string(kPrelude) + R"(
Object.prototype.then = "not a function";
Array.prototype[Symbol.iterator] = function () { throw new Error("poisoned iterator"); };
Promise.prototype.then = function () { throw new Error("poisoned Promise.then"); };
Object.defineProperty(Promise, Symbol.species, { get() { throw new Error("poisoned species"); } });
Object.prototype.limit = 0;
export class Flow extends WorkflowEntrypoint {
  // An implicit derived constructor spreads its arguments through the
  // (poisoned) array iterator on this V8: the tenant's own code.
  constructor(ctx, env) {
    super(ctx, env);
  }
  async run(event, step) {
    const mode = event.payload;
    if (mode === "proxy") {
      const config = new Proxy({}, { get() { throw new Error("trap"); } });
      try { await step.do("x", config, async () => 1); } catch (e) { return "config: " + e.message; }
    }
    if (mode === "revoked") {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      try { await step.do("x", { retries: proxy }, async () => 1); } catch (e) { return "revoked: " + e.name; }
    }
    if (mode === "unserializable") {
      await step.do("fn", async () => () => 1);
    }
    if (mode === "huge") {
      await step.do("huge", async () => "x".repeat(2 << 20));
    }
    if (mode === "toString") {
      await step.do("bad error", { retries: { limit: 0 } }, async () => {
        throw { get name() { throw 1; }, get message() { throw 2; } };
      });
    }
    if (mode === "badDuration") {
      try { await step.sleep("s", { valueOf() { throw new Error("valueOf"); } }); } catch (e) { return e.name; }
    }
    if (mode === "longName") {
      try { await step.do("n".repeat(257), async () => 1); } catch (e) { return e.name + ": " + e.message; }
    }
    return await step.do("fine", async () => [1, 2, 3]);
  }
}
)");
  ASSERT_TRUE(worker_);
  // Made through the store (JSON params): the test's own scripts would
  // trip over the poisoned Promise.prototype.then.
  for (const char* mode : {"proxy", "revoked", "unserializable", "huge", "toString", "badDuration",
                           "longName", "plain"}) {
    WorkflowInstance instance;
    instance.account = "acct";
    instance.workflow = "orders";
    instance.id = mode;
    instance.worker = "shop";
    instance.class_name = "Flow";
    instance.params = std::string("\"") + mode + "\"";
    instance.created_ms = now_;
    ASSERT_TRUE(store_->Create(instance).ok()) << mode;
  }
  Drive();
  EXPECT_EQ(State("proxy").instance.output.empty(), false);
  EXPECT_EQ(StatusOf("proxy"), WorkflowStatus::kComplete);
  EXPECT_EQ(StatusOf("revoked"), WorkflowStatus::kComplete);
  auto unserializable = State("unserializable").instance;
  EXPECT_EQ(unserializable.status, WorkflowStatus::kErrored);
  EXPECT_EQ(unserializable.error_name, "DataCloneError");
  auto huge = State("huge").instance;
  EXPECT_EQ(huge.status, WorkflowStatus::kErrored);
  EXPECT_NE(huge.error_message.find("Workflow step results are limited"), std::string::npos) << huge.error_message;
  auto bad = State("toString").instance;
  EXPECT_EQ(bad.status, WorkflowStatus::kErrored);
  EXPECT_EQ(bad.error_message, "(the error could not be read)");
  EXPECT_EQ(StatusOf("badDuration"), WorkflowStatus::kComplete);
  EXPECT_EQ(StatusOf("longName"), WorkflowStatus::kComplete);
  EXPECT_EQ(StatusOf("plain"), WorkflowStatus::kComplete);
}

// A worker without a [[workflows]] binding evaluates the workflow runtime
// (workflow.js, made on first use: runtime/lazy_js.h) on its first run,
// after its top level replaced the built-ins that file's top level would
// have used: Date, Date.prototype.getTime, Object.freeze, Map's methods and
// the array iterator. The run still gets a real Date, durations parse, a
// Date is read with the original getTime, and nothing the worker replaced
// is called.
TEST_F(WorkflowEngineTest, TheFirstRunAfterTheTenantPatchedBuiltInsUsesNone) {
  bindings_.clear();
  source_ = "patched";
  worker_ = LoadOrDie(std::string(kPrelude) + R"(
const RealDate = Date;
globalThis.hits = [];
const hit = (what) => { globalThis.hits[globalThis.hits.length] = what; };
globalThis.Date = function FakeDate() { hit("Date"); return {}; };
RealDate.prototype.getTime = function () { hit("getTime"); return 0; };
Object.freeze = function (o) { hit("Object.freeze"); return o; };
Map.prototype.set = function () { hit("Map.prototype.set"); return this; };
Map.prototype.get = function () { hit("Map.prototype.get"); return undefined; };
Array.prototype[Symbol.iterator] = function () { hit("Array.prototype[Symbol.iterator]"); throw new Error("poisoned"); };
export class Flow extends WorkflowEntrypoint {
  constructor(ctx, env) {
    super(ctx, env);
  }
  async run(event, step) {
    await step.sleep("nap", "2 seconds");
    await step.sleepUntil("later", new RealDate(Number(event.timestamp.valueOf()) + 5000));
    return JSON.stringify({ real: event.timestamp instanceof RealDate, frozen: Object.isFrozen(event),
                            hits: globalThis.hits });
  }
}
)");
  ASSERT_TRUE(worker_);
  WorkflowInstance instance;
  instance.account = "acct";
  instance.workflow = "orders";
  instance.id = "p";
  instance.worker = "shop";
  instance.class_name = "Flow";
  instance.params = "null";
  instance.created_ms = now_;
  ASSERT_TRUE(store_->Create(instance).ok());
  Drive();
  auto state = State("p");
  ASSERT_EQ(state.steps.size(), 1u);
  EXPECT_EQ(state.steps[0].wake_ms, now_ + 2'000);
  now_ += 2'000;
  Drive();
  state = State("p");
  ASSERT_EQ(state.steps.size(), 2u);
  EXPECT_EQ(state.steps[1].wake_ms, now_ - 2'000 + 5'000);
  now_ += 3'000;
  Drive();
  state = State("p");
  EXPECT_EQ(state.instance.status, WorkflowStatus::kComplete) << state.instance.error_message;
  EXPECT_NE(state.instance.output.find(R"({"real":true,"frozen":true,"hits":[]})"), std::string::npos)
      << state.instance.output;
}

TEST_F(WorkflowEngineTest, TheCpuLimitEndsAnAttemptAndTheStepLimitHolds) {
  background_cpu_limit_ms_ = 100;
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    if (event.payload === "spin") {
      await step.do("spin", { retries: { limit: 1, delay: 10 } }, () => { for (;;) {} });
    }
    let i = 0;
    for (;;) await step.do("s" + (i++ % 3), async () => i);
  }
}
)");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'spin', params: 'spin' })"), "undefined");
  Drive();
  now_ += 10;
  Drive();
  auto spin = State("spin");
  EXPECT_EQ(spin.instance.status, WorkflowStatus::kErrored);
  ASSERT_EQ(spin.steps.size(), 1u);
  EXPECT_EQ(spin.steps[0].attempts, 2u);
  EXPECT_NE(spin.instance.error_message.find("CPU"), std::string::npos) << spin.instance.error_message;
}

TEST_F(WorkflowEngineTest, InstancesOfAnUndefinedWorkflowWait) {
  Load(R"(
export class Flow extends WorkflowEntrypoint {
  async run() { return "ran"; }
}
)");
  engine_->SetDefinitions({});
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'later' })"), "undefined");
  Drive();
  EXPECT_EQ(StatusOf("later"), WorkflowStatus::kQueued);
  engine_->SetDefinitions({{"acct", "orders", "shop", "Flow"}});
  Drive();
  EXPECT_EQ(StatusOf("later"), WorkflowStatus::kComplete);
}

TEST_F(WorkflowEngineTest, AMissingClassErrorsTheInstance) {
  Load("export class Other {}\n");
  EXPECT_EQ(Eval("await env.FLOW.create({ id: 'x' })"), "undefined");
  Drive();
  auto state = State("x").instance;
  EXPECT_EQ(state.status, WorkflowStatus::kErrored);
  EXPECT_NE(state.error_message.find("no class \"Flow\" extending WorkflowEntrypoint"), std::string::npos)
      << state.error_message;
}

}  // namespace
}  // namespace edge::bindings
