// The Workers Rate Limiting binding through a real worker: limit({ key })
// against the shared TokenBuckets, accounts and namespaces kept apart, and
// what a hostile tenant can pass.
#include <gtest/gtest.h>

#include "bindings/binding_services.h"
#include "bindings/ratelimit/token_buckets.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::bindings {
void RegisterRateLimitNatives(runtime::NativeRegistry& registry);

namespace {
using runtime::testing::WorkerFixture;

constexpr char kWorker[] = R"(
export default {
  async fetch(request, env) {
    globalThis.env = env;
    return new Response("ready");
  },
};
)";

class RateLimitBindingTest : public WorkerFixture {
 protected:
  RateLimitBindingTest() {
    bool registered = false;
    for (const auto& entry : natives_.entries()) registered |= entry.name == "rateLimit";
    if (!registered) RegisterRateLimitNatives(natives_);
    buckets_ = std::make_shared<TokenBuckets>(1024);
    auto services = std::make_shared<BindingServices>();
    services->rate_limits = buckets_;
    services_ = services;
    bindings_ = {
        {"LIMITER", "ratelimit",
         {{"namespace_id", "1001"}, {"limit", "3"}, {"period", "60"}, {"account", "acct"}}},
        {"OTHER", "ratelimit",
         {{"namespace_id", "1002"}, {"limit", "1"}, {"period", "10"}, {"account", "acct"}}},
    };
    worker_ = LoadOrDie(kWorker);
    EXPECT_TRUE(worker_);
    if (worker_) EXPECT_EQ(Fetch(*worker_)->body, "ready");
  }

  std::string Eval(const std::string& body) {
    std::string script = "(async () => {\n" + body +
                         "\n})().then((r) => JSON.stringify(r), "
                         "(e) => `threw ${e.name}: ${e.message}`)";
    auto result = Run(*worker_, script);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : "<script failed>";
  }

  std::shared_ptr<TokenBuckets> buckets_;
  std::unique_ptr<runtime::Worker> worker_;
};

TEST_F(RateLimitBindingTest, LimitResolvesSuccessUntilTheLimit) {
  EXPECT_EQ(Eval(R"(
    const out = [];
    for (let i = 0; i < 4; i++) out.push((await env.LIMITER.limit({ key: "a" })).success);
    out.push((await env.LIMITER.limit({ key: "b" })).success);
    return out;)"),
            "[true,true,true,false,true]");
  EXPECT_EQ(Eval(R"(return Object.keys(await env.LIMITER.limit({ key: "z" }));)"), "[\"success\"]");
}

TEST_F(RateLimitBindingTest, NamespacesAndAccountsDoNotShareBuckets) {
  EXPECT_EQ(Eval(R"(
    return [(await env.OTHER.limit({ key: "k" })).success, (await env.OTHER.limit({ key: "k" })).success,
            (await env.LIMITER.limit({ key: "k" })).success];)"),
            "[true,false,true]");
  // Another account's namespace 1002 is another bucket.
  EXPECT_TRUE(buckets_->Take("ratelimit\nother\n1002", "k", 1, 10'000).allowed);
  // This account's is the one the worker drained.
  EXPECT_FALSE(buckets_->Take("ratelimit\nacct\n1002", "k", 1, 10'000).allowed);
}

TEST_F(RateLimitBindingTest, BadArgumentsRejectWithTypeError) {
  EXPECT_EQ(Eval("return await env.LIMITER.limit();"),
            "threw TypeError: Failed to execute 'limit' on 'RateLimit': parameter 1 is not an object.");
  EXPECT_EQ(Eval("return await env.LIMITER.limit({ key: 5 });"),
            "threw TypeError: Failed to execute 'limit' on 'RateLimit': key must be a string.");
  EXPECT_EQ(Eval("return await env.LIMITER.limit({ key: 'x'.repeat(2000) });"),
            "threw TypeError: Failed to execute 'limit' on 'RateLimit': key is longer than 1024 characters.");
  EXPECT_EQ(Eval("return await env.LIMITER.limit({ get key() { throw new RangeError('boom'); } });"),
            "threw RangeError: boom");
  EXPECT_EQ(Eval("return await env.LIMITER.limit(new Proxy({}, { get() { throw new Error('trap'); } }));"),
            "threw Error: trap");
  EXPECT_EQ(Eval(R"(const p = Proxy.revocable({}, {}); p.revoke();
                    return await env.LIMITER.limit(p.proxy);)").substr(0, 16),
            "threw TypeError:");
  EXPECT_EQ(Eval("return typeof new (env.LIMITER.constructor)();").substr(0, 16), "threw TypeError:");
}

TEST_F(RateLimitBindingTest, PoisonedBuiltinsDoNotChangeTheOutcome) {
  EXPECT_EQ(Eval(R"(
    const then = Promise.prototype.then, resolve = Promise.resolve;
    Object.defineProperty(Object.prototype, "success", { set() { throw new Error("setter"); }, configurable: true });
    Promise.prototype.then = function () { throw new Error("then"); };
    Promise.resolve = () => { throw new Error("resolve"); };
    let r;
    try {
      r = env.LIMITER.limit({ key: "p" });
    } finally {
      Promise.prototype.then = then;
      Promise.resolve = resolve;
      delete Object.prototype.success;
    }
    return (await r).success;)"),
            "true");
  // A native called with something that is not its binding's handle.
  EXPECT_EQ(Eval("return typeof globalThis.native;"), "\"undefined\"");
}

}  // namespace
}  // namespace edge::bindings
