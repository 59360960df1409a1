// No timers, random values or jobs off the thread in a worker's global scope
// (runtime/global_scope.h): refused with Workers' error at load, allowed in
// a handler and in code run after the load. Fetch, KV and service bindings
// have their own tests beside their natives.
#include "runtime/global_scope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {

using ::testing::HasSubstr;
using GlobalScopeTest = WorkerFixture;

// What each attempt at the top level gave: "ok", "threw <Name>: <message>",
// "rejected <Name>: <message>" or "resolved", one line each, in order.
constexpr const char* kAttempts = R"(
const seen = [];
function attempt(name, fn) {
  try {
    const result = fn();
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      const at = seen.push(name + " pending") - 1;
      result.then(
        () => { seen[at] = name + " resolved"; },
        (e) => { seen[at] = name + " rejected " + e.constructor.name + ": " + e.message; });
    } else {
      seen.push(name + " ok");
    }
  } catch (e) {
    seen.push(name + " threw " + e.constructor.name + ": " + e.message);
  }
}
attempt("setTimeout", () => setTimeout(() => {}, 1));
attempt("setInterval", () => setInterval(() => {}, 1));
attempt("clearTimeout", () => clearTimeout(1));
attempt("clearInterval", () => clearInterval(1));
attempt("AbortSignal.timeout", () => AbortSignal.timeout(5));
attempt("getRandomValues", () => crypto.getRandomValues(new Uint8Array(4)));
attempt("randomUUID", () => crypto.randomUUID());
attempt("pbkdf2", async () => {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(16), "PBKDF2", false, ["deriveBits"]);
  return crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(8), iterations: 1000 }, key, 256);
});
attempt("generateKey", () =>
    crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]));
attempt("in a microtask", () => Promise.resolve().then(() => setTimeout(() => {}, 1)));
// Allowed, as on Workers: no I/O, nothing that outlives the load.
attempt("digest", () => crypto.subtle.digest("SHA-256", new Uint8Array(4)));
// Over the inline size a digest in a handler is a job; here it runs inline.
attempt("large digest", () => crypto.subtle.digest("SHA-256", new Uint8Array(1 << 20)));
attempt("queueMicrotask", () => queueMicrotask(() => {}));
attempt("Math.random", () => Math.random());
await null;
attempt("after a top-level await", () => setTimeout(() => {}, 1));
)";

TEST_F(GlobalScopeTest, TimersRandomValuesAndCryptoJobsAreRefusedAtTheTopLevel) {
  auto worker = LoadOrDie(std::string(kAttempts) + R"(
    export default {
      async fetch() {
        // In a handler the same operations work.
        clearTimeout(setTimeout(() => {}, 1));
        crypto.getRandomValues(new Uint8Array(4));
        const uuid = crypto.randomUUID();
        const key = await crypto.subtle.importKey("raw", new Uint8Array(16), "PBKDF2", false, ["deriveBits"]);
        await crypto.subtle.deriveBits(
            { name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(8), iterations: 10 }, key, 256);
        return new Response(seen.join("\n") + "\nhandler ok " + uuid.length);
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  ASSERT_TRUE(response->finished) << response->failure;
  std::string refused = std::string("Error: ") + kGlobalScopeError;
  std::string expected = "setTimeout threw " + refused + "\nsetInterval threw " + refused +
                         "\nclearTimeout threw " + refused + "\nclearInterval threw " + refused +
                         "\nAbortSignal.timeout threw " + refused +
                         "\ngetRandomValues threw " + refused + "\nrandomUUID threw " + refused +
                         "\npbkdf2 rejected " + refused + "\ngenerateKey rejected " + refused +
                         "\nin a microtask rejected " + refused +
                         "\ndigest resolved\nlarge digest resolved\nqueueMicrotask ok\nMath.random ok" +
                         "\nafter a top-level await threw " + refused + "\nhandler ok 36";
  EXPECT_EQ(response->body, expected);
}

TEST_F(GlobalScopeTest, AnUncaughtRefusalFailsTheLoadWithWorkersMessage) {
  // Promise.prototype.then poisoned first changes nothing.
  EXPECT_THAT(LoadError({{"index.js",
                          "Promise.prototype.then = function () { throw new Error('poisoned'); };\n"
                          "setInterval(() => { for (;;) {} }, 1);\n"
                          "export default { fetch() { return new Response('never'); } };"}}),
              HasSubstr(kGlobalScopeError));
  EXPECT_THAT(LoadError({{"index.js",
                          "await new Promise((resolve) => setTimeout(resolve, 1));\n"
                          "export default { fetch() { return new Response('never'); } };"}}),
              HasSubstr(kGlobalScopeError));
}

TEST_F(GlobalScopeTest, CodeRunAfterTheLoadIsNotTheGlobalScope) {
  // `edge test` and the fixtures run code in a loaded worker outside any
  // request: timers work there.
  auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
  ASSERT_TRUE(worker);
  auto result = Run(*worker, "new Promise((resolve) => setTimeout(() => resolve('fired'), 1))");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, "fired");
}

}  // namespace
}  // namespace edge::runtime::testing
