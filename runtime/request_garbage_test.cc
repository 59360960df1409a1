// What a request leaves behind for V8's garbage collector. A request's
// objects (its Request, Response, invocation and promises) should die in
// the young generation, where a scavenge frees them for nearly nothing;
// one that keeps them alive across two scavenges has them copied to the old
// generation, and a hello-world request then costs its share of scavenges
// and mark-compacts (a WeakMap keyed by the invocation did that: V8's
// scavenger treats the values of a WeakMap in old space as strong).
#include <gtest/gtest.h>

#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {

// Bytes the old generation grew by across every scavenge while installed:
// what scavenges promoted.
class PromotionMeter {
 public:
  explicit PromotionMeter(v8::Isolate* isolate) : isolate_(isolate) {
    isolate_->AddGCPrologueCallback(Before, this, v8::kGCTypeScavenge);
    isolate_->AddGCEpilogueCallback(After, this, v8::kGCTypeScavenge);
  }
  ~PromotionMeter() {
    isolate_->RemoveGCPrologueCallback(Before, this);
    isolate_->RemoveGCEpilogueCallback(After, this);
  }
  size_t promoted() const { return promoted_; }
  int scavenges() const { return scavenges_; }

 private:
  static size_t OldBytes(v8::Isolate* isolate) {
    size_t total = 0;
    for (size_t i = 0; i < isolate->NumberOfHeapSpaces(); ++i) {
      v8::HeapSpaceStatistics space;
      if (!isolate->GetHeapSpaceStatistics(&space, i)) continue;
      std::string_view name = space.space_name();
      if (name == "old_space" || name == "large_object_space") total += space.space_used_size();
    }
    return total;
  }
  static void Before(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
    static_cast<PromotionMeter*>(data)->before_ = OldBytes(isolate);
  }
  static void After(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
    auto* meter = static_cast<PromotionMeter*>(data);
    size_t now = OldBytes(isolate);
    if (now > meter->before_) meter->promoted_ += now - meter->before_;
    meter->scavenges_++;
  }

  v8::Isolate* isolate_;
  size_t before_ = 0;
  size_t promoted_ = 0;
  int scavenges_ = 0;
};

class RequestGarbageTest : public WorkerFixture {};

TEST_F(RequestGarbageTest, AHelloWorldRequestsObjectsDieYoung) {
  auto worker = LoadOrDie(R"(
    export default {
      fetch(request, env, ctx) {
        return new Response("Hello, world!\n", { headers: { "content-type": "text/plain" } });
      },
    };)");
  // Warm: the first requests compile the handler and the runtime's paths.
  for (int i = 0; i < 300; ++i) ASSERT_EQ(Fetch(*worker)->status, 200);

  PromotionMeter meter(worker->isolate());
  constexpr int kRequests = 4000;
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(Fetch(*worker)->status, 200);
  ASSERT_GE(meter.scavenges(), 2) << "the requests should fill the young generation a few times";
  // Before the fix: about 500 bytes per request. A few objects a scavenge
  // catches mid-request may be promoted; nothing per request should be.
  EXPECT_LT(meter.promoted() / kRequests, 64u)
      << meter.promoted() << " bytes promoted by " << meter.scavenges() << " scavenges";
}

TEST_F(RequestGarbageTest, WaitUntilAndAPostBodyLeaveNothingOldEither) {
  auto worker = LoadOrDie(R"(
    export default {
      async fetch(request, env, ctx) {
        ctx.waitUntil(Promise.resolve(1));
        const body = await request.text();
        return Response.json({ length: body.length, path: new URL(request.url).pathname });
      },
    };)");
  for (int i = 0; i < 300; ++i) ASSERT_EQ(Fetch(*worker, "POST", "http://localhost/a", "x")->status, 200);

  PromotionMeter meter(worker->isolate());
  constexpr int kRequests = 3000;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(Fetch(*worker, "POST", "http://localhost/a", "payload")->status, 200);
  }
  ASSERT_GE(meter.scavenges(), 2);
  EXPECT_LT(meter.promoted() / kRequests, 64u)
      << meter.promoted() << " bytes promoted by " << meter.scavenges() << " scavenges";
}

}  // namespace
}  // namespace edge::runtime::testing
