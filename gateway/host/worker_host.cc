#include "gateway/host/worker_host.h"

#include <strings.h>

#include "gateway/http/status_pages.h"
#include "gateway/host/writer_sink.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/uv_handle.h"

namespace edge::gateway {
namespace {

bool NameIs(const std::string& name, std::string_view expected) {
  return name.size() == expected.size() &&
         strncasecmp(name.data(), expected.data(), expected.size()) == 0;
}

// Characters a Host header may carry (host, port, IPv6 brackets).
bool IsValidHost(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']' || c == '_' || c == '~' || c == '%')) {
      return false;
    }
  }
  return true;
}

}  // namespace

WorkerHost::WorkerHost(uv_loop_t* loop, const runtime::NativeRegistry& natives,
                       std::string default_host)
    : loop_(loop), natives_(natives), default_host_(std::move(default_host)), collect_timer_(new uv_timer_t) {
  uv_timer_init(loop_, collect_timer_);
  collect_timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(collect_timer_));
}

WorkerHost::~WorkerHost() {
  Clear();
  uv_timer_stop(collect_timer_);
  base::CloseAndDelete(collect_timer_);
}

void WorkerHost::SetWorker(std::unique_ptr<runtime::Worker> worker) {
  if (current_) {
    // A new version serves from now on: the old one's WebSockets end with
    // 1012 (service restart), and clients reconnect to the new one.
    if (!current_->discarded()) current_->CloseWebSockets(1012, "The worker was redeployed");
    retired_.push_back({std::move(current_), uv_now(loop_)});
  }
  reload_.reset();
  served_since_load_ = false;
  current_ = std::move(worker);
  if (current_) {
    current_->SetOnDiscard([this] {
      if (on_limit_) on_limit_();
      ScheduleCollect();
    });
  }
  ScheduleCollect();
}

bool WorkerHost::idle() const {
  return retired_.empty() && (!current_ || (current_->in_flight() == 0 && current_->holds() == 0 &&
                                             current_->open_websockets() == 0));
}

bool WorkerHost::answering() const {
  // An open WebSocket pins its isolate as a request in flight does.
  if (current_ && (current_->in_flight() != 0 || current_->open_websockets() != 0)) return true;
  for (const Retired& retired : retired_) {
    if (retired.worker->in_flight() != 0) return true;
  }
  return false;
}

void WorkerHost::Clear() {
  retired_.clear();
  current_.reset();
}

std::unique_ptr<runtime::Worker> WorkerHost::TakeIdleWorker() {
  if (!idle() || !current_) return nullptr;
  current_->SetOnDiscard(nullptr);
  reload_.reset();
  return std::move(current_);
}

void WorkerHost::ScheduleCollect() {
  // Every response's end asks; once it is due at the next turn, starting
  // the timer again would only move it in the loop's heap.
  if (collect_soon_) return;
  collect_soon_ = true;
  uv_timer_start(collect_timer_, OnCollect, 0, 0);
}

// Runs from the loop, outside any worker's JavaScript: the only place a
// worker is freed or replaced.
void WorkerHost::OnCollect(uv_timer_t* timer) {
  auto* self = static_cast<WorkerHost*>(timer->data);
  self->collect_soon_ = false;
  if (!self->served_since_load_) {
    self->RetireDiscarded();
  } else {
    self->ReplaceDiscarded();
  }
  // A retired version goes once its responses are done and its waitUntil
  // work settled, or when that work has had kWaitUntilBoundMs; a discarded
  // one goes at once (its open responses fail with a 500).
  uint64_t now = uv_now(self->loop_);
  std::erase_if(self->retired_, [now](const Retired& retired) {
    const runtime::Worker& worker = *retired.worker;
    if (worker.discarded() || (worker.in_flight() == 0 && worker.holds() == 0)) return true;
    if (worker.in_flight() == 0 && now - retired.since_ms >= kWaitUntilBoundMs) {
      Log(LogLevel::kWarn, "[{}] waitUntil work still running {} s after the worker was "
          "replaced: stopping it", worker.name(), kWaitUntilBoundMs / 1000);
      return true;
    }
    return false;
  });
  // Look again later for versions still waiting on waitUntil work (unless
  // a response that ended meanwhile asked for the next turn).
  if (!self->retired_.empty() && !self->collect_soon_) {
    uv_timer_start(self->collect_timer_, OnCollect, 1000, 0);
  }
}

void WorkerHost::RetireDiscarded() {
  if (!current_ || !current_->discarded()) return;
  reload_ = std::make_unique<runtime::WorkerSpec>(current_->spec());
  retired_.push_back({std::move(current_), uv_now(loop_)});
}

void WorkerHost::ReplaceDiscarded() {
  if (!current_ && reload_) {
    auto fresh = runtime::Worker::Load(loop_, natives_, *reload_);
    if (!fresh.ok()) {
      Log(LogLevel::kError, "[{}] cannot recreate the worker: {}", reload_->name,
          fresh.status().message());
      reload_.reset();
    } else {
      SetWorker(std::move(fresh).value());
    }
    return;
  }
  if (!current_ || !current_->discarded()) return;
  auto fresh = runtime::Worker::Load(loop_, natives_, current_->spec());
  if (!fresh.ok()) {
    // It loaded before; if it no longer does, keep answering 503 until the
    // next version arrives rather than serving from a broken isolate.
    Log(LogLevel::kError, "[{}] cannot recreate the worker: {}", current_->name(),
        fresh.status().message());
    retired_.push_back({std::move(current_), uv_now(loop_)});
  } else {
    SetWorker(std::move(fresh).value());
  }
}

std::string_view RequestHost(const HttpRequest& request, std::string_view default_host) {
  for (const auto& [name, value] : request.headers) {
    if (NameIs(name, "host")) return value;
  }
  return default_host;
}

std::string AbsoluteUrl(bool tls, std::string_view host, std::string_view path) {
  std::string_view scheme = tls ? "https://" : "http://";
  std::string url;
  url.reserve(scheme.size() + host.size() + path.size());
  url += scheme;
  url += host;
  url += path;
  return url;
}

std::string RequestCfJson(std::string_view colo) {
  return fmt::format("{{\"colo\":{},\"httpProtocol\":\"HTTP/1.1\"}}", base::JsonString(colo));
}

std::string RequestCfJsonFor(const std::string& cf_json, const HttpRequest& request) {
  if (request.auth_claims_json.empty() || cf_json.size() < 2 || cf_json.back() != '}') return cf_json;
  std::string out(cf_json, 0, cf_json.size() - 1);
  if (out.size() > 1) out += ',';
  out += "\"auth\":{\"claims\":";
  out += request.auth_claims_json;
  out += "}}";
  return out;
}

std::optional<runtime::FetchRequest> ToFetchRequest(
    HttpRequest& request, std::string_view default_host, ResponseWriter& writer,
    const std::function<void()>& before_refusal) {
  std::string_view host = RequestHost(request, default_host);
  runtime::FetchRequest fetch;
  if (request.target.starts_with("http://") || request.target.starts_with("https://")) {
    fetch.url = request.target;  // absolute-form, as proxies send it
  } else if (!IsValidHost(host) || !request.target.starts_with("/")) {
    Log(LogLevel::kWarn, "bad request from {}: invalid Host '{}' or target '{}'",
        request.remote_address, host, request.target);
    if (before_refusal) before_refusal();
    SendErrorPage(writer, 400, "Invalid Host header or request target");
    return std::nullopt;
  } else {
    fetch.url = AbsoluteUrl(request.tls, host, request.target);
  }
  fetch.method = std::move(request.method);
  fetch.headers = std::move(request.headers);
  fetch.has_body = !request.body.empty();
  fetch.body = std::move(request.body);
  fetch.body_source = std::move(request.body_stream);
  return fetch;
}

void WorkerHost::Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  if (!current_ && !reload_) {
    SendErrorPage(*writer, 503, "No worker is loaded");
    return;
  }
  std::shared_ptr<WriterSink> sink =
      make_sink_ ? make_sink_(request, writer) : std::make_shared<WriterSink>(writer);
  std::optional<runtime::FetchRequest> fetch = ToFetchRequest(request, default_host_, *writer);
  if (!fetch) return;
  fetch->cf_json = RequestCfJsonFor(cf_json_, request);
  sink->SetOnEnd([this] { ScheduleCollect(); });
  Fetch(std::move(*fetch), std::move(sink));
}

runtime::Worker* WorkerHost::ReadyWorker(runtime::ResponseSink& sink) {
  // A worker discarded by its last entry is replaced before it serves again.
  ReplaceDiscarded();
  if (!current_) {
    sink.Fail("The worker is not loaded", LimitKind::kNone);
    return nullptr;
  }
  served_since_load_ = true;
  return current_.get();
}

void WorkerHost::Fetch(runtime::FetchRequest request, std::shared_ptr<runtime::ResponseSink> sink) {
  if (runtime::Worker* worker = ReadyWorker(*sink)) worker->Fetch(std::move(request), std::move(sink));
}

void WorkerHost::Scheduled(runtime::ScheduledEvent event,
                           std::shared_ptr<runtime::ResponseSink> sink) {
  if (runtime::Worker* worker = ReadyWorker(*sink)) {
    worker->Scheduled(std::move(event), std::move(sink));
  }
}

void WorkerHost::Queue(runtime::QueueEvent event, std::shared_ptr<runtime::ResponseSink> sink) {
  if (runtime::Worker* worker = ReadyWorker(*sink)) worker->Queue(std::move(event), std::move(sink));
}

void WorkerHost::Workflow(runtime::WorkflowRunEvent event,
                          std::shared_ptr<runtime::ResponseSink> sink) {
  if (runtime::Worker* worker = ReadyWorker(*sink)) worker->Workflow(std::move(event), std::move(sink));
}

}  // namespace edge::gateway
