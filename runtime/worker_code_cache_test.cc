#include "runtime/worker_code_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/sha256.h"
#include "runtime/platform.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::runtime {
namespace {
namespace fs = std::filesystem;

constexpr char kBundleA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kBundleB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void Spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class WorkerCodeCacheTest : public testing::WorkerFixture {
 protected:
  WorkerCodeCacheTest() { InitializeV8(); }

  std::string Folder(const char* bundle) { return dir() + "/code-cache/" + bundle; }

  // A worker of two modules held in memory, as a deployed bundle is.
  WorkerSpec Spec(std::shared_ptr<const WorkerCodeCache> cache,
                  const std::string& greeting = "hello") {
    auto files = std::make_shared<ModuleFiles>();
    (*files)["/w/index.js"] =
        "import { greet } from './greet.js';\n"
        "const table = Array.from({ length: 50 }, (_, i) => i * 2);\n"
        "export default { fetch(request) { return new Response(greet(table.length)); } };\n";
    (*files)["/w/greet.js"] = "export function greet(n) { return `" + greeting + " ${n}`; }\n";
    WorkerSpec spec;
    spec.name = "cached";
    spec.root_dir = "/w";
    spec.entry_path = "/w/index.js";
    spec.files = std::move(files);
    spec.code_cache = std::move(cache);
    return spec;
  }

  std::unique_ptr<Worker> Load(const WorkerSpec& spec) {
    auto loaded = Worker::Load(loop(), natives_, spec);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }
};

TEST_F(WorkerCodeCacheTest, TheKeyNamesTheV8VersionTheFlagsTheBundleAndTheModule) {
  std::string key = WorkerCodeCache::KeyFor("10.2.154", "--stack-size=984", kBundleA, "/w/a.js");
  EXPECT_TRUE(base::IsSha256Hex(key));
  EXPECT_EQ(key, WorkerCodeCache::KeyFor("10.2.154", "--stack-size=984", kBundleA, "/w/a.js"));
  EXPECT_NE(key, WorkerCodeCache::KeyFor("10.2.155", "--stack-size=984", kBundleA, "/w/a.js"));
  EXPECT_NE(key,
            WorkerCodeCache::KeyFor("10.2.154", "--stack-size=984 --jitless", kBundleA, "/w/a.js"));
  EXPECT_NE(key, WorkerCodeCache::KeyFor("10.2.154", "--stack-size=984", kBundleB, "/w/a.js"));
  EXPECT_NE(key, WorkerCodeCache::KeyFor("10.2.154", "--stack-size=984", kBundleA, "/w/b.js"));
  // Parts cannot run into one another.
  EXPECT_NE(WorkerCodeCache::KeyFor("1", "2 3", kBundleA, "/x"),
            WorkerCodeCache::KeyFor("1 2", "3", kBundleA, "/x"));
  // This process's key is the one of its own V8 and flags.
  WorkerCodeCache cache(Folder(kBundleA), kBundleA);
  EXPECT_EQ(cache.Key("/w/a.js"),
            WorkerCodeCache::KeyFor(v8::V8::GetVersion(), V8FlagsInUse(), kBundleA, "/w/a.js"));
}

TEST_F(WorkerCodeCacheTest, WhatIsWrittenIsReadBack) {
  WorkerCodeCache cache(Folder(kBundleA), kBundleA);
  EXPECT_FALSE(cache.Read("/w/a.js").has_value());
  std::string code("\x01\x02\x00\xff compiled", 13);
  ASSERT_TRUE(cache.Write("/w/a.js", code));
  EXPECT_EQ(cache.Read("/w/a.js"), code);
  EXPECT_FALSE(cache.Read("/w/b.js").has_value());
  // Only the owner may read the folder.
  EXPECT_EQ(fs::status(Folder(kBundleA)).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(WorkerCodeCacheTest, AFileMadeForAnotherBundleOrByAnotherV8IsRemoved) {
  WorkerCodeCache a(Folder(kBundleA), kBundleA);
  ASSERT_TRUE(a.Write("/w/a.js", "code of a"));
  // The same folder read as bundle B (a file copied or left over): stale.
  WorkerCodeCache b(Folder(kBundleA), kBundleB);
  EXPECT_FALSE(b.Read("/w/a.js").has_value());
  EXPECT_FALSE(fs::exists(a.FileFor("/w/a.js")));

  // A file whose key is that of other V8 flags (EDGE_V8_FLAGS changed
  // since it was made).
  ASSERT_TRUE(a.Write("/w/a.js", "code of a"));
  std::string file = Slurp(a.FileFor("/w/a.js"));
  std::string other_flags = WorkerCodeCache::KeyFor(
      v8::V8::GetVersion(), V8FlagsInUse() + " --no-opt", kBundleA, "/w/a.js");
  size_t at = file.find(a.Key("/w/a.js"));
  ASSERT_NE(at, std::string::npos);
  file.replace(at, other_flags.size(), other_flags);
  Spit(a.FileFor("/w/a.js"), file);
  EXPECT_FALSE(a.Read("/w/a.js").has_value());
  EXPECT_FALSE(fs::exists(a.FileFor("/w/a.js")));
}

TEST_F(WorkerCodeCacheTest, ADamagedFileIsRemovedNotTrusted) {
  WorkerCodeCache cache(Folder(kBundleA), kBundleA);
  std::string code(4096, 'x');
  const std::string path = cache.FileFor("/w/a.js");
  struct Damage {
    const char* what;
    std::function<std::string(std::string)> apply;
  };
  std::vector<Damage> damages = {
      {"a flipped byte",
       [](std::string f) {
         f[f.size() - 100] ^= 1;
         return f;
       }},
      {"cut short", [](std::string f) { return f.substr(0, f.size() - 1); }},
      {"longer", [](std::string f) { return f + "y"; }},
      {"no header", [](std::string f) { return f.substr(10); }},
      {"empty", [](std::string) { return std::string(); }},
      {"a size that is not a number",
       [](std::string f) { return f.replace(f.find("size ") + 5, 1, "-"); }},
  };
  for (const Damage& damage : damages) {
    ASSERT_TRUE(cache.Write("/w/a.js", code));
    Spit(path, damage.apply(Slurp(path)));
    EXPECT_FALSE(cache.Read("/w/a.js").has_value()) << damage.what;
    EXPECT_FALSE(fs::exists(path)) << damage.what;
  }
}

TEST_F(WorkerCodeCacheTest, AWorkerMakesItsCacheOnceAndLaterIsolatesLoadFromIt) {
  auto cache = std::make_shared<WorkerCodeCache>(Folder(kBundleA), kBundleA);
  WorkerSpec spec = Spec(cache);
  auto first = Load(spec);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->modules_from_code_cache(), 0u);
  EXPECT_TRUE(fs::exists(cache->FileFor("/w/index.js")));
  EXPECT_TRUE(fs::exists(cache->FileFor("/w/greet.js")));
  EXPECT_EQ(Fetch(*first)->body, "hello 50");

  auto second = Load(spec);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->modules_from_code_cache(), 2u);
  EXPECT_EQ(Fetch(*second)->body, "hello 50");
}

TEST_F(WorkerCodeCacheTest, ACacheV8RejectsIsCompiledFromSourceAndMadeAgain) {
  auto cache = std::make_shared<WorkerCodeCache>(Folder(kBundleA), kBundleA);
  ASSERT_TRUE(Load(Spec(cache, "hello")));
  // Well formed for edge (its key and sum match) but made from another
  // source: V8's own check of the source refuses it.
  std::string stale = Slurp(cache->FileFor("/w/greet.js"));
  ASSERT_FALSE(stale.empty());
  auto other = Load(Spec(cache, "bonjour"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->modules_from_code_cache(), 1u);  // index.js's still fits
  EXPECT_EQ(Fetch(*other)->body, "bonjour 50");
  // Made again from what was compiled, and taken by the next isolate.
  EXPECT_NE(Slurp(cache->FileFor("/w/greet.js")), stale);
  auto again = Load(Spec(cache, "bonjour"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->modules_from_code_cache(), 2u);
}

TEST_F(WorkerCodeCacheTest, BytesThatAreNoCodeCacheAtAllAreRejectedNotRun) {
  auto cache = std::make_shared<WorkerCodeCache>(Folder(kBundleA), kBundleA);
  // Whole for edge, garbage for V8: the worker loads from source.
  for (std::string junk : {std::string(64, '\0'), std::string(5000, '\xff'), std::string("x")}) {
    ASSERT_TRUE(cache->Write("/w/index.js", junk));
    ASSERT_TRUE(cache->Write("/w/greet.js", junk));
    auto worker = Load(Spec(cache));
    ASSERT_TRUE(worker);
    EXPECT_EQ(worker->modules_from_code_cache(), 0u);
    EXPECT_EQ(Fetch(*worker)->body, "hello 50");
  }
}

TEST_F(WorkerCodeCacheTest, AWorkerThatFailsToLoadLeavesNoCache) {
  auto cache = std::make_shared<WorkerCodeCache>(Folder(kBundleA), kBundleA);
  WorkerSpec spec = Spec(cache);
  auto files = std::make_shared<ModuleFiles>(*spec.files);
  (*files)["/w/index.js"] = "import './greet.js'; throw new Error('no');";
  spec.files = files;
  EXPECT_FALSE(Worker::Load(loop(), natives_, spec).ok());
  EXPECT_FALSE(fs::exists(cache->FileFor("/w/index.js")));
}

}  // namespace
}  // namespace edge::runtime
