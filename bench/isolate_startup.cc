// edge_isolate_startup [N]: how long a new isolate takes to be ready for a
// worker (runtime + the worker's modules evaluated, its handler found).
// Each sample is one Worker::Load; the ways alternate so machine noise hits
// each alike:
//
//   small, startup snapshot     a small worker (two modules) from the snapshot
//   small, runtime JS           the same, running the runtime's JavaScript
//   small, spare isolate        the same, loaded into a SpareIsolate made
//                               beforehand (not timed: a node makes it idle)
//   1 MB bundle, compiled       a generated 1 MB bundle (400 packages in the
//                               shape esbuild gives them, a quarter of them
//                               required at the top level), no code cache
//   1 MB bundle, code cache     the same with its V8 code cache, made by a
//                               first load (runtime/worker_code_cache.h)
//   1 MB bundle, cache, spare   the same, loaded into a spare isolate
//
// WAYS=word,word runs only the ways whose names contain one of the words.
//
// Also prints what the isolate holds once ready (Worker::memory_bytes:
// heap, malloc'd, external), and the first and second request to each
// worker once loaded (a GET with two headers, answered in full): what a
// first request costs beyond a warm one is the runtime's and the worker's
// code compiled on first use. Run by bench/isolate_startup.sh. With
// EDGE_BENCH_NODE_MODULES=1 the small worker has the nodejs_compat flag and
// imports node:buffer, node:events and node:util (what those modules cost a
// worker that uses them).
//
// EDGE_BENCH_HOLD=N instead loads N small workers from the snapshot, sends
// each one request and keeps them all alive, then prints what one idle
// isolate holds, as the process's growth divided by N: its RSS, what
// malloc has handed out (mallinfo2), and each V8 heap space (committed,
// used, resident), then after MemoryPressureNotification(kCritical) and
// after LowMemoryNotification on each. EDGE_BENCH_HOLD_BARE=N does the same
// for N isolates from the snapshot with only the runtime's context restored
// (nothing loaded; EDGE_BENCH_HOLD_NO_CONTEXT=1: not even that), before and
// after LowMemoryNotification: how much of what V8 counts as used right
// after deserialisation one full GC gives back (EDGE_BENCH_V8_FLAGS: V8
// flags set once the snapshot was checked, e.g. --track-gc-object-stats
// --trace-gc-object-stats to see which of it was dead objects).
#include <fmt/core.h>
#include <malloc.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "runtime/buffer_allocator.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"
#include "runtime/worker_code_cache.h"
#include "runtime/worker_spare.h"

namespace {

using edge::runtime::Worker;
using edge::runtime::WorkerSpec;

double Percentile(std::vector<double> samples, double p) {
  std::sort(samples.begin(), samples.end());
  size_t index = static_cast<size_t>(p * (samples.size() - 1) + 0.5);
  return samples[index];
}

// A bundle of about `packages` * 2.6 KB in the shape esbuild writes an npm
// app: each package a __commonJS wrapper run when first required.
std::string GeneratedBundle(int packages) {
  std::string out =
      "var __commonJS = (cb, mod) => function __require() {\n"
      "  return mod || (0, cb[Object.keys(cb)[0]])((mod = { exports: {} }).exports, mod), "
      "mod.exports;\n};\n";
  for (int i = 0; i < packages; ++i) {
    out += fmt::format(
        "var require_pkg{0} = __commonJS({{ \"node_modules/pkg{0}/index.js\"(exports, "
        "module) {{\n  \"use strict\";\n",
        i);
    for (int f = 0; f < 8; ++f) {
      out += fmt::format(
          "  function helper{0}_{1}(a, b, options = {{}}) {{\n"
          "    if (typeof a !== \"number\" || typeof b !== \"number\") {{\n"
          "      throw new TypeError(`helper{0}_{1}: expected numbers, got ${{typeof a}}`);\n"
          "    }}\n"
          "    const scale = options.scale ?? {1};\n"
          "    return [a, b, a * b].map((x) => x * scale).reduce((s, x) => s + x, 0);\n"
          "  }}\n",
          i, f);
    }
    out += fmt::format(
        "  class Client{0} {{\n"
        "    constructor(config) {{ this.config = {{ retries: 3, ...config }}; this.id = {0}; }}\n"
        "    describe() {{ return `Client{0}(${{JSON.stringify(this.config)}})`; }}\n"
        "    async send(payload) {{ return {{ ok: true, id: this.id, size: String(payload).length "
        "}}; }}\n"
        "    static create(config) {{ return new Client{0}(config); }}\n"
        "  }}\n"
        "  const defaults{0} = {{ name: \"pkg{0}\", version: \"1.{0}.0\", tags: [\"a\", \"b\", "
        "\"c\"] }};\n"
        "  module.exports = {{ Client: Client{0}, defaults: defaults{0}, helper: helper{0}_0, "
        "sum: helper{0}_1 }};\n"
        "}} }});\n",
        i);
  }
  out += "const loaded = [];\n";
  for (int i = 0; i < packages; i += 4) {
    out += fmt::format("loaded.push(require_pkg{}().defaults.name);\n", i);
  }
  out +=
      "const client = require_pkg0().Client.create({ region: 'eu' });\n"
      "export default { fetch(request) {\n"
      "  return new Response(client.describe() + ' ' + loaded.length + ' ' + "
      "require_pkg1().sum(1, 2));\n} };\n";
  return out;
}

struct Way {
  Way(const char* way_name, std::function<WorkerSpec()> make_spec, bool into_spare = false)
      : name(way_name), spec(std::move(make_spec)), spare(into_spare) {}
  const char* name;
  std::function<WorkerSpec()> spec;
  bool spare = false;
  std::vector<double> ms, mib, first_ms, second_ms;
};

// Takes a response whole and says when it has ended.
class DoneSink : public edge::runtime::ResponseSink {
 public:
  void Start(int status, std::string_view, edge::runtime::HeaderList, std::optional<uint64_t>) override {
    status_ = status;
  }
  void Write(std::string_view) override {}
  void Finish() override { done_ = true; }
  void Fail(std::string_view reason, edge::LimitKind) override {
    failure_ = std::string(reason);
    done_ = true;
  }
  bool Aborted() const override { return false; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  bool done() const { return done_; }
  bool ok() const { return failure_.empty() && status_ == 200; }
  const std::string& failure() const { return failure_; }

 private:
  bool done_ = false;
  int status_ = 0;
  std::string failure_;
};

// One request to `worker`, run to its end; its milliseconds, or -1.
double TimedRequest(uv_loop_t* loop, Worker& worker) {
  auto sink = std::make_shared<DoneSink>();
  edge::runtime::FetchRequest request;
  request.method = "GET";
  request.url = "http://bench.test/some/path?x=1";
  request.headers = {{"accept", "*/*"}, {"user-agent", "bench"}};
  auto start = std::chrono::steady_clock::now();
  worker.Fetch(std::move(request), sink);
  while (!sink->done() && uv_run(loop, UV_RUN_ONCE) != 0) {
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!sink->ok()) {
    std::fprintf(stderr, "request failed: %s\n", sink->failure().c_str());
    return -1;
  }
  return ms;
}

// The process's resident set, in bytes (/proc/self/statm).
double ResidentBytes() {
  long pages_total = 0;
  long pages_resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(statm);
  }
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double MallocInUseBytes() {
  struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

// Of MallocInUseBytes, what malloc mapped apart (blocks of 128 KiB and more).
double MallocMappedBytes() { return static_cast<double>(mallinfo2().hblkhd); }

// EDGE_BENCH_HOLD_SMAPS=PREFIX: copies /proc/self/smaps to PREFIX.<stage>.
void CopySmaps(const char* stage) {
  const char* prefix = std::getenv("EDGE_BENCH_HOLD_SMAPS");
  if (prefix == nullptr || *prefix == '\0') return;
  std::ifstream in("/proc/self/smaps");
  std::ofstream(std::string(prefix) + "." + stage) << in.rdbuf();
}

// V8's heap spaces of `isolates`, summed: name -> committed, used, resident.
struct SpaceSums {
  std::vector<std::string> names;
  std::vector<double> committed, used, physical;
  double malloced = 0;
  double external = 0;
};

SpaceSums SumSpaces(const std::vector<v8::Isolate*>& isolates) {
  SpaceSums sums;
  for (v8::Isolate* isolate : isolates) {
    for (size_t i = 0; i < isolate->NumberOfHeapSpaces(); ++i) {
      v8::HeapSpaceStatistics space;
      if (!isolate->GetHeapSpaceStatistics(&space, i)) continue;
      if (sums.names.size() <= i) {
        sums.names.emplace_back(space.space_name());
        sums.committed.push_back(0);
        sums.used.push_back(0);
        sums.physical.push_back(0);
      }
      sums.committed[i] += static_cast<double>(space.space_size());
      sums.used[i] += static_cast<double>(space.space_used_size());
      sums.physical[i] += static_cast<double>(space.physical_space_size());
    }
    v8::HeapStatistics heap;
    isolate->GetHeapStatistics(&heap);
    sums.malloced += static_cast<double>(heap.malloced_memory());
    sums.external += static_cast<double>(heap.external_memory());
  }
  return sums;
}

void PrintHold(const char* title, double rss, double malloc_bytes, double mapped_bytes,
               const SpaceSums& sums, int count) {
  constexpr double kKiB = 1024.0;
  std::printf("%s\n", title);
  std::printf("  RSS per isolate                  %8.1f KiB\n", rss / count / kKiB);
  std::printf("  malloc in use per isolate        %8.1f KiB (%.1f KiB of it in blocks mapped apart; "
              "V8 counts %.1f KiB)\n",
              malloc_bytes / count / kKiB, mapped_bytes / count / kKiB, sums.malloced / count / kKiB);
  std::printf("  %-30s %10s %10s %10s\n", "V8 space, KiB per isolate", "committed", "used",
              "resident");
  double committed = 0, used = 0, physical = 0;
  for (size_t i = 0; i < sums.names.size(); ++i) {
    std::printf("  %-30s %10.1f %10.1f %10.1f\n", sums.names[i].c_str(),
                sums.committed[i] / count / kKiB, sums.used[i] / count / kKiB,
                sums.physical[i] / count / kKiB);
    committed += sums.committed[i];
    used += sums.used[i];
    physical += sums.physical[i];
  }
  std::printf("  %-30s %10.1f %10.1f %10.1f\n", "all spaces", committed / count / kKiB,
              used / count / kKiB, physical / count / kKiB);
}

// EDGE_BENCH_HOLD_BARE: isolates from the snapshot with the runtime's
// context restored, nothing loaded.
int HoldBare(const edge::runtime::NativeRegistry& natives, int count) {
  const edge::runtime::StartupSnapshot* snapshot = edge::runtime::FindStartupSnapshot(natives);
  if (snapshot == nullptr) return 1;
  // Diagnostic flags (e.g. --track-gc-object-stats --trace-gc-object-stats)
  // set after the snapshot was checked against the process's flags.
  if (const char* flags = std::getenv("EDGE_BENCH_V8_FLAGS")) v8::V8::SetFlagsFromString(flags);
  auto allocator = std::make_shared<edge::runtime::BufferAllocator>(128u << 20);
  std::vector<v8::Isolate*> isolates;
  std::vector<v8::Global<v8::Context>> contexts;
  for (int i = 0; i < count; ++i) {
    v8::Isolate* isolate = edge::runtime::NewWorkerIsolate(allocator, snapshot);
    v8::Isolate::Scope scope(isolate);
    v8::HandleScope handles(isolate);
    isolates.push_back(isolate);
    if (std::getenv("EDGE_BENCH_HOLD_NO_CONTEXT") != nullptr) continue;
    v8::Local<v8::Context> context;
    if (!v8::Context::FromSnapshot(isolate, 0).ToLocal(&context)) return 1;
    contexts.emplace_back(isolate, context);
  }
  PrintHold("bare, context restored:", 0, 0, 0, SumSpaces(isolates), count);
  for (v8::Isolate* isolate : isolates) {
    v8::Isolate::Scope scope(isolate);
    isolate->LowMemoryNotification();
  }
  PrintHold("bare, after LowMemoryNotification:", 0, 0, 0, SumSpaces(isolates), count);
  return 0;
}

// EDGE_BENCH_HOLD: `count` small workers alive at once (see the top).
int Hold(uv_loop_t* loop, const edge::runtime::NativeRegistry& natives, const WorkerSpec& small,
         int count) {
  // One worker first, so what the process makes once (the snapshot checked,
  // code caches, the platform's threads) is not counted per isolate.
  {
    auto first = Worker::Load(loop, natives, small);
    if (!first.ok() || TimedRequest(loop, **first) < 0) return 1;
  }
  uv_run(loop, UV_RUN_NOWAIT);
  malloc_trim(0);
  double rss_before = ResidentBytes();
  double malloc_before = MallocInUseBytes();
  double mapped_before = MallocMappedBytes();
  CopySmaps("before");
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<v8::Isolate*> isolates;
  for (int i = 0; i < count; ++i) {
    auto worker = Worker::Load(loop, natives, small);
    if (!worker.ok()) {
      std::fprintf(stderr, "load failed: %s\n", worker.status().message().c_str());
      return 1;
    }
    if (TimedRequest(loop, **worker) < 0) return 1;
    isolates.push_back((*worker)->isolate());
    workers.push_back(std::move(*worker));
  }
  uv_run(loop, UV_RUN_NOWAIT);
  std::printf("%d small workers from the snapshot alive, each after one request\n", count);
  CopySmaps("idle");
  PrintHold("idle:", ResidentBytes() - rss_before, MallocInUseBytes() - malloc_before,
            MallocMappedBytes() - mapped_before, SumSpaces(isolates), count);
  for (v8::Isolate* isolate : isolates) {
    v8::Isolate::Scope scope(isolate);
    isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
  }
  malloc_trim(0);
  PrintHold("after MemoryPressureNotification(kCritical) on each:", ResidentBytes() - rss_before,
            MallocInUseBytes() - malloc_before, MallocMappedBytes() - mapped_before,
            SumSpaces(isolates), count);
  for (v8::Isolate* isolate : isolates) {
    v8::Isolate::Scope scope(isolate);
    isolate->LowMemoryNotification();
  }
  malloc_trim(0);
  CopySmaps("low");
  PrintHold("after LowMemoryNotification on each:", ResidentBytes() - rss_before,
            MallocInUseBytes() - malloc_before, MallocMappedBytes() - mapped_before,
            SumSpaces(isolates), count);
  workers.clear();
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 200;
  if (count < 1) count = 200;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("edge-isolate-startup-" + std::to_string(getpid()));
  fs::create_directories(dir);
  // A small worker: two modules, JSON and a URL at the top level.
  std::ofstream(dir / "index.js") << "import { greet } from './greet.js';\n"
                                     "const config = JSON.parse('{\"a\": 1}');\n"
                                     "export default { fetch(request) {\n"
                                     "  return new Response(greet(new URL(request.url)), "
                                     "{ headers: { 'content-type': 'text/plain' } });\n} };\n";
  std::ofstream(dir / "greet.js")
      << "export function greet(url) { return `hello ${url.pathname}`; }\n";
  const char* node_modules = std::getenv("EDGE_BENCH_NODE_MODULES");
  bool with_node_modules = node_modules != nullptr && std::string(node_modules) == "1";
  if (with_node_modules) {
    std::ofstream(dir / "greet.js", std::ios::app)
        << "import { Buffer } from 'node:buffer';\nimport EventEmitter from 'node:events';\n"
           "import util from 'node:util';\nexport const used = [Buffer, EventEmitter, util];\n";
  }

  edge::runtime::NativeRegistry natives;
  edge::bindings::RegisterNatives(natives);
  uv_loop_t loop;
  uv_loop_init(&loop);
  WorkerSpec small;
  small.name = "bench";
  small.root_dir = dir.string();
  small.entry_path = (dir / "index.js").string();
  if (with_node_modules) small.compatibility_flags = {"nodejs_compat"};

  auto files = std::make_shared<edge::runtime::ModuleFiles>();
  (*files)["/bundle/index.js"] = GeneratedBundle(400);
  size_t bundle_bytes = (*files)["/bundle/index.js"].size();
  WorkerSpec bundle;
  bundle.name = "bundle";
  bundle.root_dir = "/bundle";
  bundle.entry_path = "/bundle/index.js";
  bundle.files = files;
  WorkerSpec cached = bundle;
  cached.code_cache = std::make_shared<edge::runtime::WorkerCodeCache>(
      (dir / "code-cache").string(), std::string(64, '0'));

  if (const char* hold = std::getenv("EDGE_BENCH_HOLD_BARE"); hold != nullptr && std::atoi(hold) > 0) {
    return HoldBare(natives, std::atoi(hold));
  }
  if (const char* hold = std::getenv("EDGE_BENCH_HOLD"); hold != nullptr && std::atoi(hold) > 0) {
    int status = Hold(&loop, natives, small, std::atoi(hold));
    uv_loop_close(&loop);
    fs::remove_all(dir);
    return status;
  }

  std::vector<Way> ways;
  ways.push_back({"small, startup snapshot", [&] { return small; }});
  ways.push_back({"small, runtime JS", [&] {
                    WorkerSpec spec = small;
                    spec.use_snapshot = false;
                    return spec;
                  }});
  ways.push_back({"small, spare isolate", [&] { return small; }, true});
  ways.push_back({"1 MB bundle, compiled", [&] { return bundle; }});
  ways.push_back({"1 MB bundle, code cache", [&] { return cached; }});
  ways.push_back({"1 MB bundle, cache, spare", [&] { return cached; }, true});
  // WAYS="spare,cache" keeps the ways whose name contains one of the words.
  if (const char* only = std::getenv("WAYS"); only != nullptr && *only != '\0') {
    std::vector<std::string> words;
    std::string list = only;
    for (size_t start = 0; start <= list.size();) {
      size_t comma = std::min(list.find(',', start), list.size());
      words.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
    std::erase_if(ways, [&](const Way& way) {
      return std::none_of(words.begin(), words.end(), [&](const std::string& word) {
        return !word.empty() && std::string(way.name).find(word) != std::string::npos;
      });
    });
  }

  if (ways.empty()) {
    std::fprintf(stderr, "WAYS matches no way\n");
    return 1;
  }
  bool snapshot_found = edge::runtime::FindStartupSnapshot(natives) != nullptr;
  for (int i = 0; i < count + 5; ++i) {
    for (Way& way : ways) {
      WorkerSpec spec = way.spec();
      std::unique_ptr<edge::runtime::SpareIsolate> spare;
      if (way.spare)
        spare = edge::runtime::SpareIsolate::Make(&loop, natives, spec.heap_limit_bytes);
      auto start = std::chrono::steady_clock::now();
      auto worker = Worker::Load(&loop, natives, spec, std::move(spare));
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (!worker.ok()) {
        std::fprintf(stderr, "%s: load failed: %s\n", way.name, worker.status().message().c_str());
        return 1;
      }
      if (spec.code_cache && i >= 5 && (*worker)->modules_from_code_cache() != 1) {
        std::fprintf(stderr, "%s: the code cache was not used\n", way.name);
        return 1;
      }
      double mib = static_cast<double>((*worker)->memory_bytes()) / (1 << 20);
      double first_ms = TimedRequest(&loop, **worker);
      double second_ms = TimedRequest(&loop, **worker);
      if (first_ms < 0 || second_ms < 0) return 1;
      worker->reset();
      uv_run(&loop, UV_RUN_NOWAIT);
      if (i >= 5) {  // 5 warm-up rounds (the first makes the code cache)
        way.ms.push_back(ms);
        way.mib.push_back(mib);
        way.first_ms.push_back(first_ms);
        way.second_ms.push_back(second_ms);
      }
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  uintmax_t cache_bytes = 0;
  if (fs::exists(dir / "code-cache")) {
    for (const auto& entry : fs::recursive_directory_iterator(dir / "code-cache")) {
      if (entry.is_regular_file()) cache_bytes += entry.file_size();
    }
  }
  fs::remove_all(dir);
  std::printf("isolates per way: %d (snapshot %s); bundle %zu bytes, its code cache %ju bytes%s\n",
              count,
              snapshot_found ? "built in and used" : "NOT available: snapshot rows run the JS",
              bundle_bytes, cache_bytes,
              with_node_modules ? "; the small worker imports node:buffer, node:events, node:util"
                                : "");
  std::printf("%-26s %8s %8s %8s %10s %13s %13s\n", "way", "p50 ms", "p99 ms", "max ms",
              "p50 MiB", "1st req p50", "2nd req p50");
  for (const Way& way : ways) {
    std::printf("%-26s %8.2f %8.2f %8.2f %10.2f %13.2f %13.2f\n", way.name,
                Percentile(way.ms, 0.5), Percentile(way.ms, 0.99), Percentile(way.ms, 1.0),
                Percentile(way.mib, 0.5), Percentile(way.first_ms, 0.5),
                Percentile(way.second_ms, 0.5));
  }
  return 0;
}
