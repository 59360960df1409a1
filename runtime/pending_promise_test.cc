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
      call.data(),
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

}  // namespace
}  // namespace edge::runtime::testing
