// The URL parser and its natives (runtime/url): URL, URLSearchParams and
// URLPattern in JavaScript, and the ICU natives behind hosts
// (domainToASCII, domainToUnicode). One isolate is made once (a worker
// whose natives are exposed for testing) and every input is handed to
// url_fuzzer.js's __fuzzUrl, which calls the natives directly and the
// classes as a worker would.
//
// Input: byte 0 picks how the rest becomes a string (bit 0 set: UTF-16LE
// code units, lone surrogates included; clear: UTF-8 with replacement); a
// "\n" in it splits the input from a base URL.
//
// Checked (in the JavaScript): domainToASCII gives ASCII or null, a parsed
// URL's href parses again to the same href, URL.canParse agrees with the
// constructor. A broken check throws an error whose message starts with
// "FUZZ"; the harness aborts on it (and on anything else going wrong in the
// harness itself). Any other exception is the parser refusing the input.
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/log.h"
#include "bindings/bindings.h"
#include "fuzz/fuzz_check.h"
#include "runtime/worker.h"

namespace {

// Embedded at build time from url_fuzzer.js (see CMakeLists.txt).
constexpr char kHarness[] =
#include "url_fuzzer_js.inc"
    ;

struct Runtime {
  uv_loop_t loop;
  edge::runtime::NativeRegistry natives;
  edge::runtime::WorkerSpec spec;
  std::unique_ptr<edge::runtime::Worker> worker;

  Runtime() {
    edge::SetLogLevel(edge::LogLevel::kError);
    uv_loop_init(&loop);
    edge::bindings::RegisterNatives(natives);
    auto files = std::make_shared<edge::runtime::ModuleFiles>();
    files->emplace("/fuzz/url/index.js", kHarness);
    spec.name = "url-fuzzer";
    spec.root_dir = "/fuzz/url";
    spec.entry_path = "/fuzz/url/index.js";
    spec.files = files;
    // A URLPattern's regular expressions can backtrack for long, as a
    // tenant's would: the CPU limit stops them, and the worker is reloaded.
    spec.cpu_limit_ms = 2000;
    spec.expose_natives_for_testing = true;
    Load();
  }

  void Load() {
    worker.reset();
    auto loaded = edge::runtime::Worker::Load(&loop, natives, spec);
    if (!loaded.ok()) {
      std::fprintf(stderr, "url_fuzzer: %s\n", loaded.status().message().c_str());
    }
    FUZZ_CHECK(loaded.ok(), "the harness worker does not load");
    worker = std::move(loaded).value();
  }
};

Runtime& TheRuntime() {
  static Runtime* runtime = new Runtime();  // lives as long as the process
  return *runtime;
}

std::string Hex(const uint8_t* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // longer strings add nothing but time
  Runtime& runtime = TheRuntime();
  if (runtime.worker->discarded()) runtime.Load();
  bool settled = false;
  edge::StatusOr<std::string> result = edge::Status(edge::ErrorCode::kInternal, "not settled");
  edge::Status started = runtime.worker->RunScript(
      "__fuzzUrl('" + Hex(data, size) + "')", [&](edge::StatusOr<std::string> value) {
        settled = true;
        result = std::move(value);
      });
  if (!started.ok()) std::fprintf(stderr, "url_fuzzer: %s\n", started.message().c_str());
  FUZZ_CHECK(started.ok(), "the harness script does not compile");
  while (!settled && uv_run(&runtime.loop, UV_RUN_ONCE) != 0) {
  }
  FUZZ_CHECK(settled, "the harness script never settled");
  if (runtime.worker->discarded()) {
    FUZZ_NOTE("stopped by the CPU limit");
    return 0;
  }
  FUZZ_NOTE("%s", result.ok() ? result->c_str() : result.status().message().c_str());
  if (!result.ok() || *result != "ok") {
    std::fprintf(stderr, "url_fuzzer: %s\n",
                 result.ok() ? result->c_str() : result.status().message().c_str());
  }
  FUZZ_CHECK(result.ok() && *result == "ok", "a check of url_fuzzer.js failed");
  return 0;
}
