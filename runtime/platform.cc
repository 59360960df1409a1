#include "runtime/platform.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <cstdlib>
#include <memory>
#include <mutex>

namespace edge::runtime {

namespace {
std::string g_flags;
}  // namespace

// code_range_hint.cc: V8's scan of /proc/self/maps for each new isolate's
// code range gets an empty file. True once the real fopen is found.
bool CodeRangeHintDiverted();

const std::string& V8FlagsInUse() { return g_flags; }

void InitializeV8() {
  static std::once_flag once;
  static std::unique_ptr<v8::Platform> platform;
  std::call_once(once, [] {
    // Workers cannot compile code from strings; V8 enforces that per
    // context (see Worker). Single-threaded GC keeps a worker's CPU time on
    // its own thread, where the per-request CPU clock can see it. V8 would
    // checksum the whole startup snapshot for each new isolate: the snapshot
    // built into edge is checked once per process instead (snapshot.cc),
    // and a worker's code cache carries its own sha256 (worker_code_cache.h).
    g_flags = "--single-threaded-gc --no-verify-snapshot-checksum";
    // For profiling and debugging by the operator (e.g. --perf-basic-prof);
    // never set from anything a worker controls.
    if (const char* extra = std::getenv("EDGE_V8_FLAGS"); extra != nullptr && *extra != '\0') {
      g_flags.append(" ").append(extra);
    }
    v8::V8::SetFlagsFromString(g_flags.c_str());
    // Resolved before any isolate (and before other threads) asks.
    (void)CodeRangeHintDiverted();
    platform = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(platform.get());
    v8::V8::Initialize();
  });
}

}  // namespace edge::runtime
