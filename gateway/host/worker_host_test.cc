#include "gateway/host/worker_host.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gateway/node/testing/node_fixtures.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::gateway {
namespace {

using runtime::testing::ExpectFailed;
using runtime::testing::MemorySink;
using testing::ManualBody;

// A ResponseWriter in memory (one request, no socket).
class MemoryWriter : public ResponseWriter {
 public:
  void Start(int status_code, std::string_view, const HeaderList& list,
             std::optional<uint64_t>) override {
    status = status_code;
    headers = list;
  }
  void Write(std::string_view chunk) override { body += chunk; }
  void Finish() override { finished = true; }
  void Abort() override { aborted = true; }
  bool Aborted() const override { return aborted; }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  void OnAbort(std::function<void()>) override {}

  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }

  int status = 0;
  HeaderList headers;
  std::string body;
  bool finished = false, aborted = false;
};

// Tells its version, counts the requests its isolate served, reads an
// upload, holds waitUntil work on the request body, or spins forever.
std::string Versioned(std::string_view tag) {
  return fmt::format(R"(
    let served = 0;
    export default {{
      async fetch(request, env, ctx) {{
        served++;
        const path = new URL(request.url).pathname;
        if (path === "/upload") return new Response("{} got " + await request.text());
        if (path === "/hold") {{
          ctx.waitUntil(request.text());
          return new Response("{} holding");
        }}
        if (path === "/spin") for (;;) {{}}
        return new Response("{} " + served, {{ headers: {{ "x-version": "{}" }} }});
      }},
    }};)",
                     tag, tag, tag, tag);
}

class WorkerHostTest : public runtime::testing::WorkerFixture {
 protected:
  // Loads `source` as its own module file (so versions do not overwrite
  // each other on disk).
  std::unique_ptr<runtime::Worker> Load(const std::string& file, const std::string& source) {
    auto worker = LoadFiles({{file, source}}, file);
    EXPECT_TRUE(worker.ok()) << worker.status().message();
    return worker.ok() ? std::move(worker).value() : nullptr;
  }

  std::shared_ptr<MemorySink> Send(WorkerHost& host, const std::string& path,
                                   std::shared_ptr<ManualBody> body = nullptr) {
    auto sink = std::make_shared<MemorySink>();
    runtime::FetchRequest request;
    request.method = body ? "POST" : "GET";
    request.url = "http://localhost" + path;
    request.body_source = std::move(body);
    host.Fetch(std::move(request), sink);
    return sink;
  }

  // A host for localhost serving Versioned("v1"), which lives as long as
  // the test.
  WorkerHost& HostServingV1() {
    hosts_.push_back(std::make_unique<WorkerHost>(loop(), natives_, "localhost"));
    hosts_.back()->SetWorker(Load("v1.js", Versioned("v1")));
    return *hosts_.back();
  }

  // Sends and runs the loop until the answer is complete.
  std::shared_ptr<MemorySink> Answered(WorkerHost& host, const std::string& path,
                                       std::shared_ptr<ManualBody> body = nullptr) {
    auto sink = Send(host, path, std::move(body));
    RunUntil([&] { return sink->done(); });
    return sink;
  }

  // A POST to `path` whose body the worker has started reading; it stays
  // open until the test delivers and ends the body.
  std::pair<std::shared_ptr<ManualBody>, std::shared_ptr<MemorySink>> StartUpload(
      WorkerHost& host, const std::string& path = "/upload") {
    auto body = std::make_shared<ManualBody>();
    auto sink = Send(host, path, body);
    RunUntil([&] { return body->read(); });
    return {body, sink};
  }

  // Sends and waits for the answer; its body, or why it failed.
  std::string Get(WorkerHost& host, const std::string& path = "/") {
    auto sink = Answered(host, path);
    return sink->finished ? sink->body : "failed: " + sink->failure;
  }

  // Runs the loop until `done`, ten seconds at most. The host's collect
  // timer does not keep a loop alive (in a node the listeners do), so a
  // timer of ours stands in for them meanwhile.
  void Serve(const std::function<bool()>& done) {
    uv_timer_t keep_alive;
    uv_timer_init(loop(), &keep_alive);
    uv_timer_start(
        &keep_alive, [](uv_timer_t*) {}, 1, 1);
    for (int i = 0; i < 10000 && !done(); ++i) uv_run(loop(), UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&keep_alive), nullptr);
    uv_run(loop(), UV_RUN_NOWAIT);
  }

  // Runs the loop until `host` is idle: its old versions collected, no
  // request or waitUntil work open.
  void ExpectBecomesIdle(WorkerHost& host) {
    Serve([&] { return host.idle(); });
    EXPECT_TRUE(host.idle());
  }

  static HttpRequest Request(std::string target, std::string host) {
    HttpRequest request;
    request.method = "GET";
    request.target = std::move(target);
    if (!host.empty()) request.headers.push_back({"Host", std::move(host)});
    request.remote_address = "127.0.0.1:5000";
    return request;
  }

  std::vector<std::unique_ptr<WorkerHost>> hosts_;
};

TEST_F(WorkerHostTest, HandleServesAnHttpRequestThroughTheCurrentWorker) {
  WorkerHost host(loop(), natives_, "default.test");
  auto before = std::make_shared<MemoryWriter>();
  host.Handle(Request("/", "a.test"), before);
  EXPECT_EQ(before->status, 503);
  EXPECT_NE(before->body.find("No worker is loaded"), std::string::npos) << before->body;

  host.SetWorker(Load("v1.js", Versioned("v1")));
  auto writer = std::make_shared<MemoryWriter>();
  host.Handle(Request("/", "a.test"), writer);
  RunUntil([&] { return writer->finished; });
  EXPECT_EQ(writer->status, 200);
  EXPECT_EQ(writer->body, "v1 1");
  EXPECT_EQ(writer->Header("x-version"), "v1");

  auto bad = std::make_shared<MemoryWriter>();
  host.Handle(Request("/", "bad host"), bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("Invalid Host"), std::string::npos) << bad->body;
  ExpectBecomesIdle(host);
}

TEST_F(WorkerHostTest, ARetiredVersionFinishesItsRequestWhileTheNewOneServes) {
  WorkerHost& host = HostServingV1();
  const runtime::Worker* v1 = host.current();
  auto [body, in_flight] = StartUpload(host);
  ASSERT_TRUE(body->read());

  host.SetWorker(Load("v2.js", Versioned("v2")));
  EXPECT_NE(host.current(), v1);
  EXPECT_EQ(Get(host), "v2 1");
  EXPECT_FALSE(host.idle()) << "v1 still has a request in flight";
  // Collecting runs from the loop; v1 stays while its request is open.
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_FALSE(in_flight->done());
  EXPECT_FALSE(host.idle());

  body->Deliver("the ");
  body->Deliver("rest");
  body->End();
  RunUntil([&] { return in_flight->done(); });
  EXPECT_EQ(in_flight->body, "v1 got the rest");
  host.ScheduleCollect();
  ExpectBecomesIdle(host);
  EXPECT_EQ(Get(host), "v2 2");
}

TEST_F(WorkerHostTest, ARetiredVersionStaysForItsWaitUntilWork) {
  WorkerHost& host = HostServingV1();
  auto body = std::make_shared<ManualBody>();
  auto held = Answered(host, "/hold", body);
  EXPECT_EQ(held->body, "v1 holding");
  ASSERT_TRUE(body->read());
  host.SetWorker(Load("v2.js", Versioned("v2")));
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_FALSE(host.idle()) << "v1's waitUntil work is pending";
  body->End();
  ExpectBecomesIdle(host);
}

TEST_F(WorkerHostTest, ADiscardedIsolateIsReplacedByAFreshOne) {
  cpu_limit_ms_ = 50;
  WorkerHost& host = HostServingV1();
  EXPECT_EQ(Get(host), "v1 1");
  EXPECT_EQ(Get(host), "v1 2");
  const runtime::Worker* stopped = host.current();
  auto spin = Answered(host, "/spin");
  ExpectFailed(*spin, "Worker exceeded its CPU time limit of 50 ms", LimitKind::kCpu);
  // The host loads the same spec again from the loop, outside JavaScript.
  Serve([&] { return host.current() != stopped; });
  ASSERT_NE(host.current(), nullptr);
  EXPECT_NE(host.current(), stopped);
  EXPECT_FALSE(host.current()->discarded());
  EXPECT_EQ(Get(host), "v1 1");  // a fresh isolate: its count starts over
  ExpectBecomesIdle(host);
}

TEST_F(WorkerHostTest, ARequestRightAfterADiscardGetsTheFreshIsolate) {
  cpu_limit_ms_ = 50;
  WorkerHost& host = HostServingV1();
  EXPECT_EQ(Get(host), "v1 1");
  auto spin = Answered(host, "/spin");
  ASSERT_TRUE(host.current()->discarded());
  // No loop turn in between: Fetch replaces it first.
  auto next = Answered(host, "/");
  EXPECT_EQ(next->body, "v1 1");
}

TEST_F(WorkerHostTest, ADiscardedWorkerThatNoLongerLoadsFailsItsRequests) {
  cpu_limit_ms_ = 50;
  WorkerHost& host = HostServingV1();
  auto spin = Answered(host, "/spin");
  ASSERT_TRUE(spin->failed);
  // Its module is gone from disk: the reload fails.
  std::filesystem::remove(std::filesystem::path(dir()) / "v1.js");
  auto next = Answered(host, "/");
  ExpectFailed(*next, "The worker is not loaded", LimitKind::kNone);
  EXPECT_EQ(host.current(), nullptr);
  // The next version serves again.
  host.SetWorker(Load("v2.js", Versioned("v2")));
  EXPECT_EQ(Get(host), "v2 1");
}

TEST_F(WorkerHostTest, ClearFailsWhatIsStillOpen) {
  WorkerHost& host = HostServingV1();
  auto [body, open] = StartUpload(host);
  host.Clear();
  ExpectFailed(*open, "Worker was unloaded", LimitKind::kNone);
  EXPECT_EQ(host.current(), nullptr);
  EXPECT_TRUE(host.idle());
}

TEST(ToFetchRequestTest, BuildsTheAbsoluteUrlAWorkerSees) {
  MemoryWriter writer;
  HttpRequest plain;
  plain.method = "POST";
  plain.target = "/a?b=1";
  plain.headers = {{"host", "api.test:8080"}, {"x-one", "1"}};
  plain.body = "data";
  auto fetch = ToFetchRequest(plain, "default.test", writer);
  ASSERT_TRUE(fetch);
  EXPECT_EQ(fetch->url, "http://api.test:8080/a?b=1");
  EXPECT_EQ(fetch->method, "POST");
  EXPECT_EQ(fetch->body, "data");
  EXPECT_TRUE(fetch->has_body);
  EXPECT_EQ(fetch->headers.size(), 2u);

  HttpRequest http10;  // no Host: the default stands in
  http10.method = "GET";
  http10.target = "/";
  http10.tls = true;
  fetch = ToFetchRequest(http10, "default.test:443", writer);
  ASSERT_TRUE(fetch);
  EXPECT_EQ(fetch->url, "https://default.test:443/");
  EXPECT_FALSE(fetch->has_body);

  HttpRequest absolute;  // absolute-form, as proxies send it
  absolute.method = "GET";
  absolute.target = "http://other.test/x";
  absolute.headers = {{"Host", "ignored.test"}};
  fetch = ToFetchRequest(absolute, "default.test", writer);
  ASSERT_TRUE(fetch);
  EXPECT_EQ(fetch->url, "http://other.test/x");
  EXPECT_EQ(writer.status, 0) << "nothing was answered";

  for (auto [host, target] :
       {std::pair{"a.test/x", "/"}, std::pair{"a.test", "*"}, std::pair{"", "/"}}) {
    MemoryWriter refused;
    HttpRequest bad;
    bad.method = "GET";
    bad.target = target;
    bad.headers = {{"Host", host}};
    EXPECT_FALSE(ToFetchRequest(bad, "default.test", refused)) << host << " " << target;
    EXPECT_EQ(refused.status, 400) << host << " " << target;
    EXPECT_TRUE(refused.finished);
  }
}

}  // namespace
}  // namespace edge::gateway
