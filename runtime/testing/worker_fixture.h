// The shared GoogleTest fixture for code that needs an isolate: it owns a
// libuv loop and loads workers from source text written to a temporary
// project folder.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/testing/temp_dir.h"
#include "runtime/native.h"
#include "runtime/response_sink.h"
#include "runtime/worker.h"

namespace edge::runtime::testing {

// A ResponseSink that keeps everything in memory.
class MemorySink : public ResponseSink {
 public:
  void Start(int status, std::string_view status_text, HeaderList headers,
             std::optional<uint64_t> content_length) override;
  void Write(std::string_view chunk) override { body += chunk; }
  void Finish() override { finished = true; }
  void Fail(std::string_view reason, LimitKind stopped_by) override {
    failed = true;
    failure = reason;
    limit = stopped_by;
  }
  bool Aborted() const override { return aborted; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  void ReportCpu(uint64_t ns) override { cpu_ns = ns; }
  bool OnConsole(std::string_view level, std::string_view message) override {
    console.push_back(std::string(level) + ": " + std::string(message));
    return false;
  }

  bool done() const { return finished || failed; }
  std::string Header(std::string_view name) const;

  bool started = false, finished = false, failed = false, aborted = false;
  int status = 0;
  std::string status_text, body, failure;
  LimitKind limit = LimitKind::kNone;  // what Fail said stopped the worker
  HeaderList headers;
  std::optional<uint64_t> content_length;
  std::optional<uint64_t> cpu_ns;    // what ReportCpu said
  std::vector<std::string> console;  // "level: message" lines of this invocation
};

// Expects `sink` to have failed with `failure`, stopped by `limit`
// (LimitKind::kNone when no limit stopped it).
void ExpectFailed(const MemorySink& sink, std::string_view failure, LimitKind limit);

// A bare isolate for tests that look at V8 itself, with none of a worker's
// state: made from `blob` (a startup snapshot; the runtime's external
// references come with it) or from V8's own snapshot when null, and
// disposed with this object. V8 must be initialised first.
class BareIsolate {
 public:
  explicit BareIsolate(v8::StartupData* blob = nullptr);
  ~BareIsolate();
  BareIsolate(const BareIsolate&) = delete;
  BareIsolate& operator=(const BareIsolate&) = delete;
  v8::Isolate* get() const { return isolate_; }

 private:
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
};

class WorkerFixture : public ::testing::Test {
 protected:
  WorkerFixture();
  ~WorkerFixture() override;

  // Writes `files` (relative path -> source) into a fresh folder and loads
  // the worker whose entry is `entry`.
  StatusOr<std::unique_ptr<Worker>> LoadFiles(const std::map<std::string, std::string>& files,
                                              const std::string& entry = "index.js",
                                              std::vector<WorkerVar> vars = {});
  // Why loading `files` fails, as LoadFiles would; "(loaded)" when it does not.
  std::string LoadError(const std::map<std::string, std::string>& files,
                        const std::string& entry = "index.js");
  // Loads a one-module worker.
  std::unique_ptr<Worker> LoadOrDie(const std::string& source);

  // Sends a request and runs the loop until the response is done.
  std::shared_ptr<MemorySink> Fetch(Worker& worker, const std::string& method = "GET",
                                    const std::string& url = "http://localhost/",
                                    const std::string& body = "", HeaderList headers = {});

  // Runs the worker's scheduled handler for one event and runs the loop
  // until its outcome is in.
  std::shared_ptr<MemorySink> Scheduled(Worker& worker, const std::string& cron = "* * * * *",
                                        int64_t scheduled_time_ms = 1700000000000);

  // Runs `source` as a script in the worker's context; if it yields a
  // promise, runs the loop until the promise settles. Returns String(result).
  StatusOr<std::string> Run(Worker& worker, const std::string& source);

  // Runs the loop until `done()` or the loop has nothing left.
  void RunUntil(const std::function<bool()>& done);

  uv_loop_t* loop() { return &loop_; }
  const std::string& dir() const { return dir_; }

  uv_loop_t loop_;
  NativeRegistry natives_;
  size_t heap_limit_bytes_ = 128u << 20;  // for workers loaded from now on
  uint64_t cpu_limit_ms_ = 30000;
  uint64_t startup_cpu_limit_ms_ = 0;
  uint64_t background_cpu_limit_ms_ = 30000;
  bool expose_natives_ = false;  // globalThis.__native, for tests of natives
  bool use_snapshot_ = true;     // WorkerSpec::use_snapshot
  std::optional<uint32_t> subrequest_limit_;  // WorkerSpec::subrequest_limit
  std::vector<std::string> compatibility_flags_;  // of workers loaded from now on
  std::vector<EnvBinding> bindings_;         // env bindings of workers loaded from now on
  std::shared_ptr<HostServices> services_;  // what their natives get (WorkerSpec::services)
  base::testing::TempDir temp_{"edge-test"};
  std::string dir_ = temp_.path();
};

}  // namespace edge::runtime::testing
