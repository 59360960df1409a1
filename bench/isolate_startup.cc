// edge_isolate_startup [N]: how long a new isolate takes to be ready for a
// small worker (runtime + the worker's modules evaluated, its handler found),
// from the startup snapshot and by running the runtime's JavaScript. Each
// sample is one Worker::Load, which begins with Isolate::New; the two ways
// alternate so machine noise hits both alike. Also prints what the isolate
// holds once ready (Worker::memory_bytes: heap, malloc'd, external). Run by
// bench/isolate_startup.sh. With EDGE_BENCH_NODE_MODULES=1 the worker has
// the nodejs_compat flag and imports node:buffer, node:events and node:util
// (what those modules cost a worker that uses them).
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace {

using edge::runtime::Worker;
using edge::runtime::WorkerSpec;

double Percentile(std::vector<double> samples, double p) {
  std::sort(samples.begin(), samples.end());
  size_t index = static_cast<size_t>(p * (samples.size() - 1) + 0.5);
  return samples[index];
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
  std::ofstream(dir / "greet.js") << "export function greet(url) { return `hello ${url.pathname}`; }\n";
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
  WorkerSpec spec;
  spec.name = "bench";
  spec.root_dir = dir.string();
  spec.entry_path = (dir / "index.js").string();
  if (with_node_modules) spec.compatibility_flags = {"nodejs_compat"};

  std::vector<double> with_snapshot, without;
  std::vector<double> memory_with, memory_without;  // MiB the isolate holds once ready
  bool snapshot_found = edge::runtime::FindStartupSnapshot(natives) != nullptr;
  for (int i = 0; i < count + 5; ++i) {
    for (bool use : {true, false}) {
      spec.use_snapshot = use;
      auto start = std::chrono::steady_clock::now();
      auto worker = Worker::Load(&loop, natives, spec);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                      .count();
      if (!worker.ok()) {
        std::fprintf(stderr, "load failed: %s\n", worker.status().message().c_str());
        return 1;
      }
      double mib = static_cast<double>((*worker)->memory_bytes()) / (1 << 20);
      worker->reset();
      uv_run(&loop, UV_RUN_NOWAIT);
      if (i >= 5) {  // 5 warm-up rounds
        (use ? with_snapshot : without).push_back(ms);
        (use ? memory_with : memory_without).push_back(mib);
      }
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  fs::remove_all(dir);
  std::printf("isolates per way: %d (snapshot %s)%s\n", count,
              snapshot_found ? "built in and used" : "NOT available: both rows run the JS",
              with_node_modules ? ", worker imports node:buffer, node:events, node:util" : "");
  std::printf("%-22s %8s %8s %8s %10s\n", "way", "p50 ms", "p99 ms", "max ms", "p50 MiB");
  struct Row {
    const char* name;
    const std::vector<double>& ms;
    const std::vector<double>& mib;
  };
  for (const Row& row : {Row{"startup snapshot", with_snapshot, memory_with},
                         Row{"runtime JS evaluated", without, memory_without}}) {
    std::printf("%-22s %8.2f %8.2f %8.2f %10.2f\n", row.name, Percentile(row.ms, 0.5),
                Percentile(row.ms, 0.99), Percentile(row.ms, 1.0), Percentile(row.mib, 0.5));
  }
  return 0;
}
