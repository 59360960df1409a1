#include "runtime/worker_spare.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtime/testing/worker_fixture.h"

namespace edge::runtime {
namespace {

class SpareIsolateTest : public testing::WorkerFixture {
 protected:
  WorkerSpec Spec(const std::string& name, const std::string& source) {
    auto files = std::make_shared<ModuleFiles>();
    (*files)["/" + name + "/index.js"] = source;
    WorkerSpec spec;
    spec.name = name;
    spec.tenant = name;
    spec.root_dir = "/" + name;
    spec.entry_path = "/" + name + "/index.js";
    spec.files = std::move(files);
    return spec;
  }

  std::unique_ptr<SpareIsolate> MakeSpare(size_t heap_limit = 128u << 20) {
    auto spare = SpareIsolate::Make(loop(), natives_, heap_limit);
    EXPECT_TRUE(spare) << "no startup snapshot in this build";
    return spare;
  }

  std::unique_ptr<Worker> LoadInto(const WorkerSpec& spec, std::unique_ptr<SpareIsolate> spare) {
    auto loaded = Worker::Load(loop(), natives_, spec, std::move(spare));
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }
};

TEST_F(SpareIsolateTest, AWorkerLoadedIntoASpareServesAsAnyOther) {
  auto spare = MakeSpare();
  ASSERT_TRUE(spare);
  EXPECT_GT(spare->memory_bytes(), 0u);
  auto worker = LoadInto(Spec("a",
                              "export default { fetch(request) {\n"
                              "  return Response.json({ path: new URL(request.url).pathname,\n"
                              "    digest: typeof crypto.subtle.digest });\n} };\n"),
                         std::move(spare));
  ASSERT_TRUE(worker);
  EXPECT_TRUE(worker->from_spare());
  auto sink = Fetch(*worker, "GET", "http://localhost/x");
  EXPECT_EQ(sink->body, R"({"path":"/x","digest":"function"})");
}

TEST_F(SpareIsolateTest, ItsClockStartsWhenTheWorkerTakesIt) {
  auto spare = MakeSpare();
  ASSERT_TRUE(spare);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  double before =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto worker = LoadInto(Spec("a",
                              "export default { fetch() { return new Response("
                              "String(performance.timeOrigin)); } };"),
                         std::move(spare));
  ASSERT_TRUE(worker);
  double origin = std::stod(Fetch(*worker)->body);
  EXPECT_GE(origin, before - 1);
}

TEST_F(SpareIsolateTest, ASpareMadeForAnotherMemoryLimitIsNotUsed) {
  auto spare = MakeSpare(64u << 20);
  ASSERT_TRUE(spare);
  WorkerSpec spec = Spec("a", "export default { fetch() { return new Response('ok'); } };");
  auto worker = LoadInto(spec, std::move(spare));
  ASSERT_TRUE(worker);
  EXPECT_FALSE(worker->from_spare());
  EXPECT_EQ(Fetch(*worker)->body, "ok");

  // Nor by a worker that must not start from the snapshot.
  spec.use_snapshot = false;
  worker = LoadInto(spec, MakeSpare());
  ASSERT_TRUE(worker);
  EXPECT_FALSE(worker->from_spare());
  EXPECT_EQ(Fetch(*worker)->body, "ok");
}

TEST_F(SpareIsolateTest, ASpareNeverUsedIsDisposedOf) {
  for (int i = 0; i < 3; ++i) MakeSpare().reset();
  uv_run(loop(), UV_RUN_NOWAIT);
}

// A hostile tenant poisons every built-in it can reach and leaves globals
// behind; the next tenant, in another spare, finds none of it: spares are
// never shared and never reused.
TEST_F(SpareIsolateTest, ATenantInASpareNeverSeesAnotherTenantsState) {
  auto hostile = LoadInto(Spec("hostile",
                               "Object.prototype.poisoned = 'hostile';\n"
                               "Array.prototype.push = () => { throw new Error('hostile'); };\n"
                               "JSON.stringify = () => 'hostile';\n"
                               "globalThis.secret = 'hostile secret';\n"
                               "Response.json = () => new Response('hostile');\n"
                               "export default { fetch() { globalThis.later = 'seen';\n"
                               "  return new Response('done'); } };\n"),
                          MakeSpare());
  ASSERT_TRUE(hostile);
  EXPECT_EQ(Fetch(*hostile)->body, "done");

  auto victim =
      LoadInto(Spec("victim",
                    "export default { fetch() {\n"
                    "  const a = []; a.push(1);\n"
                    "  return Response.json({ poisoned: ({}).poisoned ?? null,\n"
                    "    secret: globalThis.secret ?? null, later: globalThis.later ?? null,\n"
                    "    pushed: a.length });\n} };\n"),
               MakeSpare());
  ASSERT_TRUE(victim);
  EXPECT_TRUE(victim->from_spare());
  EXPECT_EQ(Fetch(*victim)->body, R"({"poisoned":null,"secret":null,"later":null,"pushed":1})");
}

TEST_F(SpareIsolateTest, AWorkerThatFailsToLoadInASpareIsAnError) {
  auto loaded = Worker::Load(loop(), natives_, Spec("broken", "export default {"), MakeSpare());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("index.js"), std::string::npos)
      << loaded.status().message();
}

TEST_F(SpareIsolateTest, TheWorkersMemoryLimitHoldsInASpare) {
  WorkerSpec spec = Spec("big",
                         "export default { fetch() {\n"
                         "  const held = []; for (;;) held.push(new Array(100000).fill(1));\n"
                         "} };\n");
  spec.heap_limit_bytes = 32u << 20;
  auto worker = LoadInto(spec, MakeSpare(32u << 20));
  ASSERT_TRUE(worker);
  EXPECT_TRUE(worker->from_spare());
  auto sink = Fetch(*worker);
  testing::ExpectFailed(*sink, "Worker exceeded its memory limit of 32 MiB", LimitKind::kMemory);
  EXPECT_TRUE(worker->discarded());
}

}  // namespace
}  // namespace edge::runtime
