#include "runtime/testing/worker_fixture.h"

#include <strings.h>

#include <filesystem>
#include <fstream>

#include "bindings/bindings.h"
#include "runtime/snapshot.h"

namespace edge::runtime::testing {
namespace fs = std::filesystem;

void MemorySink::Start(int status_code, std::string_view text, HeaderList list,
                       std::optional<uint64_t> length) {
  started = true;
  status = status_code;
  status_text = text;
  headers = std::move(list);
  content_length = length;
}

std::string MemorySink::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

void ExpectFailed(const MemorySink& sink, std::string_view failure, LimitKind limit) {
  EXPECT_TRUE(sink.failed) << "expected the failure: " << failure;
  EXPECT_EQ(sink.failure, failure);
  EXPECT_EQ(sink.limit, limit) << failure;
}

WorkerFixture::WorkerFixture() {
  uv_loop_init(&loop_);
  bindings::RegisterNatives(natives_);
}

WorkerFixture::~WorkerFixture() {
  // Close whatever handles workers left (they are gone by now) and drain.
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

StatusOr<std::unique_ptr<Worker>> WorkerFixture::LoadFiles(
    const std::map<std::string, std::string>& files, const std::string& entry,
    std::vector<WorkerVar> vars) {
  for (const auto& [name, source] : files) {
    fs::path path = fs::path(dir_) / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << source;
  }
  WorkerSpec spec;
  spec.name = "test-worker";
  spec.root_dir = dir_;
  spec.entry_path = (fs::path(dir_) / entry).string();
  spec.vars = std::move(vars);
  spec.heap_limit_bytes = heap_limit_bytes_;
  spec.cpu_limit_ms = cpu_limit_ms_;
  spec.startup_cpu_limit_ms = startup_cpu_limit_ms_;
  spec.background_cpu_limit_ms = background_cpu_limit_ms_;
  spec.expose_natives_for_testing = expose_natives_;
  spec.use_snapshot = use_snapshot_;
  spec.subrequest_limit = subrequest_limit_;
  spec.compatibility_flags = compatibility_flags_;
  spec.bindings = bindings_;
  spec.services = services_;
  return Worker::Load(&loop_, natives_, spec);
}

std::string WorkerFixture::LoadError(const std::map<std::string, std::string>& files,
                                     const std::string& entry) {
  StatusOr<std::unique_ptr<Worker>> worker = LoadFiles(files, entry);
  return worker.ok() ? "(loaded)" : worker.status().message();
}

std::unique_ptr<Worker> WorkerFixture::LoadOrDie(const std::string& source) {
  auto worker = LoadFiles({{"index.js", source}});
  EXPECT_TRUE(worker.ok()) << worker.status().message();
  if (!worker.ok()) return nullptr;
  return std::move(worker).value();
}

void WorkerFixture::RunUntil(const std::function<bool()>& done) {
  while (!done()) {
    if (uv_run(&loop_, UV_RUN_ONCE) == 0 && !done()) break;
  }
}

std::shared_ptr<MemorySink> WorkerFixture::Scheduled(Worker& worker, const std::string& cron,
                                                     int64_t scheduled_time_ms) {
  auto sink = std::make_shared<MemorySink>();
  worker.Scheduled({cron, scheduled_time_ms}, sink);
  RunUntil([&] { return sink->done(); });
  return sink;
}

std::shared_ptr<MemorySink> WorkerFixture::Fetch(Worker& worker, const std::string& method,
                                                 const std::string& url, const std::string& body,
                                                 HeaderList headers) {
  auto sink = std::make_shared<MemorySink>();
  FetchRequest request;
  request.method = method;
  request.url = url;
  request.headers = std::move(headers);
  request.body = body;
  request.has_body = !body.empty();
  worker.Fetch(std::move(request), sink);
  RunUntil([&] { return sink->done(); });
  return sink;
}

StatusOr<std::string> WorkerFixture::Run(Worker& worker, const std::string& source) {
  bool settled = false;
  StatusOr<std::string> result = Status(ErrorCode::kInternal, "not settled");
  Status started = worker.RunScript(source, [&](StatusOr<std::string> value) {
    settled = true;
    result = std::move(value);
  });
  if (!started.ok()) return started;
  RunUntil([&] { return settled; });
  return result;
}

BareIsolate::BareIsolate(v8::StartupData* blob)
    : allocator_(v8::ArrayBuffer::Allocator::NewDefaultAllocator()) {
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = allocator_.get();
  if (blob != nullptr) {
    params.snapshot_blob = blob;
    params.external_references = SnapshotExternalReferences();
  }
  isolate_ = v8::Isolate::New(params);
}

BareIsolate::~BareIsolate() { isolate_->Dispose(); }

}  // namespace edge::runtime::testing
