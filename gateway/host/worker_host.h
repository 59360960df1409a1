// Serves HTTP requests with the current version of one worker, on one
// thread's loop. Each gateway thread has its own WorkerHost (an isolate
// belongs to one thread). A new version replaces the current one at once for
// new requests; the old version finishes the requests it has in flight and is
// freed afterwards, outside any JavaScript frame; its ctx.waitUntil work
// keeps it a while longer (kWaitUntilBoundMs at most).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/host/writer_sink.h"
#include "gateway/http/http_types.h"
#include "runtime/worker.h"

namespace edge::gateway {

// The Host a request names (its Host header, or `default_host`).
std::string_view RequestHost(const HttpRequest& request, std::string_view default_host);

// "http://<host><path>" (https when `tls`), made without a format string:
// every request makes one or two.
std::string AbsoluteUrl(bool tls, std::string_view host, std::string_view path);

// The request as a worker sees it: an absolute URL from the scheme, Host and
// target. An invalid Host or target gets a 400 page and nullopt;
// `before_refusal` runs just before that page goes out (so a caller can count
// the refusal before the client has its answer). Moves the request's parts
// out.
std::optional<runtime::FetchRequest> ToFetchRequest(
    HttpRequest& request, std::string_view default_host, ResponseWriter& writer,
    const std::function<void()>& before_refusal = nullptr);

// request.cf as a node gives it (JSON): the colo that served the request
// (the node's PoP id; "local" under `edge dev`) and the HTTP version.
std::string RequestCfJson(std::string_view colo);
// `cf_json` (an object, as RequestCfJson makes it) with
// `"auth":{"claims":<claims_json>}` added when the request carries verified
// token claims (HttpRequest::auth_claims_json); `cf_json` as is otherwise.
std::string RequestCfJsonFor(const std::string& cf_json, const HttpRequest& request);

class WorkerHost {
 public:
  // `default_host` stands in for a missing Host header (HTTP/1.0).
  // `natives` must outlive the host: a worker that had to be discarded
  // (heap limit) is reloaded with them.
  WorkerHost(uv_loop_t* loop, const runtime::NativeRegistry& natives, std::string default_host);
  ~WorkerHost();
  WorkerHost(const WorkerHost&) = delete;
  WorkerHost& operator=(const WorkerHost&) = delete;

  void SetWorker(std::unique_ptr<runtime::Worker> worker);
  runtime::Worker* current() const { return current_.get(); }

  void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer);
  // request.cf (JSON, "" for none) of the requests Handle passes on.
  void SetCfJson(std::string cf_json) { cf_json_ = std::move(cf_json); }
  // Makes the sink each request Handle passes on answers through (unset: a
  // plain WriterSink). `edge dev` answers uncaught exceptions with a page.
  using SinkFactory = std::function<std::shared_ptr<WriterSink>(
      const HttpRequest& request, std::shared_ptr<ResponseWriter> writer)>;
  void SetSinkFactory(SinkFactory make_sink) { make_sink_ = std::move(make_sink); }
  // A request from inside the process (a service binding): no HTTP parsing,
  // the response goes to `sink`.
  void Fetch(runtime::FetchRequest request, std::shared_ptr<runtime::ResponseSink> sink);
  // A cron trigger's event for the current version (runtime::Worker::
  // Scheduled); its outcome goes to `sink` as a response would.
  void Scheduled(runtime::ScheduledEvent event, std::shared_ptr<runtime::ResponseSink> sink);
  // A queue batch for the current version (runtime::Worker::Queue).
  void Queue(runtime::QueueEvent event, std::shared_ptr<runtime::ResponseSink> sink);
  // A run of a workflow instance for the current version
  // (runtime::Worker::Workflow).
  void Workflow(runtime::WorkflowRunEvent event, std::shared_ptr<runtime::ResponseSink> sink);

  // Nothing in flight on any version, no waitUntil work pending: the host
  // may be dropped without cutting anything short.
  bool idle() const;
  // No version has a response in flight: whatever still keeps the host busy
  // is waitUntil work after its responses (the memory budget may cut it
  // short, IsolatePool::EnforceBudget).
  bool answering() const;
  // Frees every version now (shutdown): their open responses are failed.
  void Clear();
  // The current version of an idle host, handed over to be freed later
  // (IsolatePool disposes of evicted isolates between requests): nothing
  // of this host reaches it afterwards, and the host holds none.
  std::unique_ptr<runtime::Worker> TakeIdleWorker();
  // Asks for retired versions with nothing in flight to be freed soon.
  void ScheduleCollect();
  // Called when the current version is stopped by its CPU or memory limit,
  // also outside any request (a top-level timer, or waitUntil work after
  // the response): the node quarantines the worker.
  void SetOnLimit(std::function<void()> on_limit) {
    on_limit_ = std::move(on_limit);
  }

 private:
  static void OnCollect(uv_timer_t* timer);
  // The version to run an invocation on (a discarded one replaced first);
  // null after failing `sink` when none is loaded.
  runtime::Worker* ReadyWorker(runtime::ResponseSink& sink);
  // Replaces a discarded current worker with a fresh load of its spec (or
  // loads the one RetireDiscarded set aside), before a request.
  void ReplaceDiscarded();
  // Frees a discarded current worker that served no request and keeps its
  // spec for the next request: a worker whose top-level timer runs over its
  // CPU limit is reloaded (and its timer re-armed) at most once before
  // someone asks for it. One that served is replaced at once.
  void RetireDiscarded();

  uv_loop_t* loop_;
  const runtime::NativeRegistry& natives_;
  std::string default_host_;
  std::string cf_json_;
  SinkFactory make_sink_;
  std::unique_ptr<runtime::Worker> current_;
  struct Retired {
    std::unique_ptr<runtime::Worker> worker;
    uint64_t since_ms;  // loop time when it was replaced
  };
  // How long a replaced version's waitUntil work may run on (Workers allows
  // 30 s after the response).
  static constexpr uint64_t kWaitUntilBoundMs = 30000;
  std::vector<Retired> retired_;
  uv_timer_t* collect_timer_;
  bool collect_soon_ = false;  // collect_timer_ is started for the next turn
  std::function<void()> on_limit_;
  std::unique_ptr<runtime::WorkerSpec> reload_;  // set by RetireDiscarded
  bool served_since_load_ = false;               // the current one has had a request
};

}  // namespace edge::gateway
