#include "runtime/pending_promise.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/isolate_data.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {

std::atomic<int> g_work_done{0};

// later(value, fail): settles on the loop after a trip through the pool.
NativeResult Later(NativeCall& call) {
  auto value = call.NumberArg(0);
  if (!value.ok()) return value.status();
  bool fail = call.BoolArg(1);
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  auto [promise, pending] = std::move(created).value();
  double number = *value;
  RunInThreadPool(
      call.data(), *pending,
      [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        g_work_done++;
      },
      [pending = pending, number, fail] {
        if (fail) {
          pending->Reject(RangeError("refused " + std::to_string(static_cast<int>(number))));
        } else {
          pending->Resolve([number](v8::Isolate* isolate, v8::Local<v8::Context>) {
            return v8::Number::New(isolate, number * 2).As<v8::Value>();
          });
        }
      });
  return promise;
}

class PendingPromiseTest : public WorkerFixture {
 protected:
  PendingPromiseTest() {
    natives_.Add("later", Later);
    expose_natives_ = true;
  }
};

TEST_F(PendingPromiseTest, ResolvesAndRejectsFromTheLoop) {
  auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
  ASSERT_TRUE(worker);
  auto result = Run(*worker, R"(
    Promise.all([
      __native.later(21, false),
      __native.later(1, true).catch((e) => e.name + ": " + e.message),
    ]).then((r) => r.join(" / ")))");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, "42 / RangeError: refused 1");
}

TEST_F(PendingPromiseTest, AWorkerGoneBeforeTheWorkEndsIsNotTouched) {
  auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
  ASSERT_TRUE(worker);
  int before = g_work_done;
  auto started = Run(*worker, "__native.later(1, false); 'started'");
  ASSERT_TRUE(started.ok());
  worker.reset();  // the isolate is disposed while the pool works
  RunUntil([&] { return g_work_done > before; });
  uv_run(loop(), UV_RUN_DEFAULT);  // the after-callback runs against a dead promise
  EXPECT_EQ(g_work_done, before + 1);
}

// The jobs an invocation queued are dropped when it ends: at most the ones
// already in the pool run, and none of their results reaches JavaScript,
// even with Promise.prototype.then poisoned meanwhile.
TEST_F(PendingPromiseTest, AnEndedInvocationsJobsAreDroppedAndNeverSettle) {
  auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
  ASSERT_TRUE(worker);
  int before = g_work_done;
  auto queued = Run(*worker, R"(
    globalThis.settled = 0;
    const key = __native.invocationBegin(0, 50);
    __native.setCurrentInvocation({ key });
    const thenOf = Promise.prototype.then;
    for (let i = 0; i < 200; i++) {
      thenOf.call(__native.later(i, i % 2 === 1), () => globalThis.settled++, () => globalThis.settled++);
    }
    __native.setCurrentInvocation(undefined);
    Promise.prototype.then = function () { throw new Error("poisoned then"); };
    __native.invocationEnd(key);
    // Code left behind by the ended invocation starts nothing more.
    __native.setCurrentInvocation({ key });
    try { __native.later(1, false); globalThis.late = "started"; } catch (e) { globalThis.late = e.name; }
    __native.setCurrentInvocation(undefined);
    'queued')");
  ASSERT_TRUE(queued.ok()) << queued.status().message();
  uv_run(loop(), UV_RUN_DEFAULT);  // every job that was let through has finished
  EXPECT_LE(g_work_done - before, static_cast<int>(ThreadPoolQueue::kIoJobs));
  auto settled = Run(*worker, "String(globalThis.settled)");
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_EQ(*settled, "0");
  auto late = Run(*worker, "globalThis.late");
  ASSERT_TRUE(late.ok()) << late.status().message();
  EXPECT_EQ(*late, "TypeError");
}

// Jobs of an invocation still running, or of none, are not touched when
// another invocation ends.
TEST_F(PendingPromiseTest, AnotherInvocationsEndLeavesJobsAlone) {
  auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
  ASSERT_TRUE(worker);
  auto queued = Run(*worker, R"(
    globalThis.settled = 0;
    const mine = __native.invocationBegin(0, 50);
    const other = __native.invocationBegin(0, 50);
    __native.setCurrentInvocation({ key: mine });
    for (let i = 0; i < 10; i++) __native.later(i, false).then(() => globalThis.settled++);
    __native.setCurrentInvocation(undefined);
    for (let i = 0; i < 10; i++) __native.later(i, false).then(() => globalThis.settled++);
    __native.invocationEnd(other);
    'queued')");
  ASSERT_TRUE(queued.ok()) << queued.status().message();
  uv_run(loop(), UV_RUN_DEFAULT);
  auto settled = Run(*worker, "String(globalThis.settled)");
  ASSERT_TRUE(settled.ok()) << settled.status().message();
  EXPECT_EQ(*settled, "20");
}

}  // namespace
}  // namespace edge::runtime::testing
