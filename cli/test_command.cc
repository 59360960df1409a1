#include "cli/test_command.h"

#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/cache/cache_store.h"
#include "bindings/kv/kv_store.h"
#include "bindings/cron/cron_scheduler.h"
#include "bindings/queues/queue_store.h"
#include "bindings/r2/r2_store.h"
#include "bindings/fetch/outbound/client.h"
#include "base/log.h"
#include "runtime/compatibility_flags.h"
#include "runtime/project.h"
#include "runtime/worker.h"

namespace edge::cli {
namespace {
namespace fs = std::filesystem;

// The entry module that imports one test file, runs its tests and answers
// with one line per test: "ok\t<name>\t<ms>" or "fail\t<name>\t<ms>\t<error>".
std::string RunnerSource(const std::string& test_file, const std::string& filter) {
  std::string quoted;
  for (char c : test_file) {
    if (c == '\\' || c == '"') quoted += '\\';
    quoted += c;
  }
  std::string filter_quoted;
  for (char c : filter) {
    if (c == '\\' || c == '"') filter_quoted += '\\';
    filter_quoted += c;
  }
  return "import * as tests from \"" + quoted + "\";\nconst filter = \"" + filter_quoted +
         R"(";
function collect() {
  const found = [];
  for (const [name, value] of Object.entries(tests)) {
    if (name === "default") continue;
    if (typeof value === "function") found.push([name, value, undefined]);
    else if (value && typeof value.test === "function") found.push([name, value.test, value]);
  }
  const fallback = tests.default;
  if (typeof fallback === "function") found.push(["default", fallback, undefined]);
  else if (fallback && typeof fallback.test === "function") found.push(["default", fallback.test, fallback]);
  else if (fallback && typeof fallback === "object") {
    for (const [name, value] of Object.entries(fallback)) {
      if (typeof value === "function") found.push([name, value, fallback]);
    }
  }
  return found.filter(([name]) => name.includes(filter));
}
export default {
  async fetch(request, env) {
    const lines = [];
    for (const [name, test, self] of collect()) {
      const started = performance.now();
      try {
        await test.call(self, env);
        lines.push(["ok", name, (performance.now() - started).toFixed(1)].join("\t"));
      } catch (error) {
        const text = String((error && error.stack) || error).replace(/\n/g, "\n    ");
        lines.push(["fail", name, (performance.now() - started).toFixed(1), text].join("\t"));
      }
    }
    return new Response(lines.join("\n"));
  },
};
)";
}

// Collects the runner's answer.
class CollectingSink : public runtime::ResponseSink {
 public:
  void Start(int, std::string_view, runtime::HeaderList, std::optional<uint64_t>) override {}
  void Write(std::string_view chunk) override { body += chunk; }
  void Finish() override { done = true; }
  void Fail(std::string_view reason, LimitKind /*limit*/) override {
    done = failed = true;
    failure = reason;
  }
  bool Aborted() const override { return false; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }

  std::string body, failure;
  bool done = false, failed = false;
};

struct Counts {
  int passed = 0;
  int failed = 0;
};

// Runs one file; prints its results.
void RunFile(uv_loop_t* loop, const runtime::NativeRegistry& natives, runtime::WorkerSpec spec,
             const std::string& file, const std::string& runner_dir, const std::string& filter,
             Counts& counts) {
  std::string absolute = fs::absolute(file).lexically_normal().string();
  std::string runner = (fs::path(runner_dir) / "runner.mjs").string();
  std::ofstream(runner, std::ios::trunc) << RunnerSource(absolute, filter);
  spec.name = fs::path(file).stem().string();
  spec.root_dir = fs::current_path().string();
  spec.entry_path = runner;

  printf("%s\n", file.c_str());
  auto worker = runtime::Worker::Load(loop, natives, spec);
  if (!worker.ok()) {
    printf("  FAIL  %s: cannot load: %s\n", file.c_str(), worker.status().message().c_str());
    counts.failed++;
    return;
  }
  auto sink = std::make_shared<CollectingSink>();
  runtime::FetchRequest request;
  request.method = "GET";
  request.url = "http://edge.test/";
  (*worker)->Fetch(std::move(request), sink);
  while (!sink->done && uv_run(loop, UV_RUN_ONCE) != 0) {
  }
  if (!sink->done || sink->failed) {
    printf("  FAIL  %s: %s\n", file.c_str(),
           sink->failed ? sink->failure.c_str() : "the tests never finished");
    counts.failed++;
    return;
  }
  size_t start = 0;
  int found = 0;
  while (start < sink->body.size()) {
    size_t end = sink->body.find('\n', start);
    while (end != std::string::npos && end + 1 < sink->body.size() && sink->body[end + 1] == ' ') {
      end = sink->body.find('\n', end + 1);  // continuation lines of a stack
    }
    if (end == std::string::npos) end = sink->body.size();
    std::string line = sink->body.substr(start, end - start);
    start = end + 1;
    std::vector<std::string> fields;
    size_t from = 0;
    for (int i = 0; i < 3; ++i) {
      size_t tab = line.find('\t', from);
      fields.push_back(line.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
      if (tab == std::string::npos) {
        from = line.size();
        break;
      }
      from = tab + 1;
    }
    std::string error = from < line.size() ? line.substr(from) : "";
    if (fields.size() < 3) continue;
    ++found;
    if (fields[0] == "ok") {
      printf("  ok    %s (%s ms)\n", fields[1].c_str(), fields[2].c_str());
      counts.passed++;
    } else {
      // The stack names original sources when the tests were bundled with
      // source maps, and none of the runtime's own frames.
      error = (*worker)->MapStack(error);
      printf("  FAIL  %s (%s ms)\n    %s\n", fields[1].c_str(), fields[2].c_str(), error.c_str());
      counts.failed++;
    }
  }
  if (found == 0) printf("  (no tests)\n");
  // The worker goes before the loop stops: its timers and handles close.
  worker->reset();
  uv_run(loop, UV_RUN_NOWAIT);
}

}  // namespace

int RunTestCommand(const TestCommandOptions& options) {
  if (options.files.empty()) {
    fprintf(stderr, "edge test: name at least one test file\n");
    return 2;
  }
  runtime::WorkerSpec base;
  auto services = std::make_shared<bindings::BindingServices>();
  base.services = services;
  services->outbound =
      std::make_shared<bindings::outbound::Client>(bindings::outbound::ClientOptions{});

  char pattern[] = "/tmp/edge-test-XXXXXX";
  const char* scratch = mkdtemp(pattern);
  if (scratch == nullptr) {
    fprintf(stderr, "edge test: cannot create a scratch folder\n");
    return 2;
  }
  if (!options.config.empty()) {
    auto project = runtime::LoadProject(fs::path(options.config).parent_path().string().empty()
                                            ? "."
                                            : fs::path(options.config).parent_path().string());
    if (!project.ok()) {
      fprintf(stderr, "edge test: %s\n", project.status().message().c_str());
      return 2;
    }
    base.vars = project->spec.vars;
    base.secrets = project->spec.secrets;
    base.bindings = project->spec.bindings;
    base.cpu_limit_ms = project->spec.cpu_limit_ms;
    base.compatibility_flags = project->spec.compatibility_flags;
    base.compatibility_date = project->spec.compatibility_date;
    // Tests get a KV store of their own, empty at the start of the run.
    auto kv = bindings::KvStore::Open((fs::path(scratch) / "state").string());
    if (!kv.ok()) {
      fprintf(stderr, "edge test: %s\n", kv.status().message().c_str());
      return 2;
    }
    services->kv = std::move(kv).value();
    // And a queue store whose producers' queues exist (nothing consumes
    // them under `edge test`).
    auto queues = bindings::QueueStore::Open((fs::path(scratch) / "state").string(), {}, bindings::SystemCronClock());
    if (!queues.ok()) {
      fprintf(stderr, "edge test: %s\n", queues.status().message().c_str());
      return 2;
    }
    services->queues = std::move(queues).value();
    for (const runtime::EnvBinding& binding : base.bindings) {
      if (binding.kind != "queue") continue;
      Status made = services->queues->EnsureQueue("", binding.Option("queue"));
      if (!made.ok()) {
        fprintf(stderr, "edge test: %s\n", made.message().c_str());
        return 2;
      }
    }
  }

  for (const std::string& flag : options.compatibility_flags) {
    Status valid = runtime::CheckCompatibilityFlag(flag);
    if (!valid.ok()) {
      fprintf(stderr, "edge test: %s\n", valid.message().c_str());
      return 2;
    }
    base.compatibility_flags.push_back(flag);
  }

  // And a Cache API store of their own, empty too.
  services->cache = bindings::CacheStore::Open((fs::path(scratch) / "state").string());
  // And an R2 store.
  services->r2 = bindings::R2Store::Open((fs::path(scratch) / "state").string());

  runtime::NativeRegistry natives;
  bindings::RegisterNatives(natives);
  uv_loop_t loop;
  uv_loop_init(&loop);
  Counts counts;
  for (const std::string& file : options.files) {
    RunFile(&loop, natives, base, file, scratch, options.filter, counts);
  }
  printf("%d passed, %d failed\n", counts.passed, counts.failed);
  fflush(stdout);
  services.reset();
  base.services.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return counts.failed == 0 ? 0 : 1;
}

}  // namespace edge::cli
