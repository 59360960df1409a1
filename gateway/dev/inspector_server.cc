#include "gateway/dev/inspector_server.h"

#include <arpa/inet.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/json_text.h"
#include "base/log.h"
#include "gateway/http/http_server.h"
#include "gateway/http/status_pages.h"

namespace edge::gateway {
namespace {

std::string_view HeaderValue(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return value;
    }
  }
  return {};
}

// Tasks for the inspector's loop from any thread; after Close, dropped.
class Mailbox {
 public:
  explicit Mailbox(uv_loop_t* loop) : async_(new uv_async_t) {
    uv_async_init(loop, async_, [](uv_async_t* async) {
      static_cast<Mailbox*>(async->data)->Run();
    });
    async_->data = this;
  }
  void Post(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (async_ == nullptr) return;
    tasks_.push_back(std::move(task));
    uv_async_send(async_);
  }
  // On the loop's thread; the mailbox must outlive the loop's last turn
  // (the close callback frees only the handle).
  void Close() {
    std::lock_guard lock(mutex_);
    uv_close(reinterpret_cast<uv_handle_t*>(async_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
    async_ = nullptr;
    tasks_.clear();
  }

 private:
  void Run() {
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
  }
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
  uv_async_t* async_;
};

// One DevTools session: its WebSocket (on the inspector's thread) and the
// target's session id.
class Session final : public runtime::InspectorFrontend,
                      public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Mailbox> mailbox, std::shared_ptr<runtime::InspectorTarget> target)
      : mailbox_(std::move(mailbox)), target_(std::move(target)) {}

  // From the worker's thread.
  void SendToFrontend(std::string message) override {
    mailbox_->Post([weak = weak_from_this(), message = std::move(message)] {
      if (auto self = weak.lock(); self && self->channel) self->channel->Send(message, false);
    });
  }

  std::shared_ptr<Mailbox> mailbox_;
  std::shared_ptr<runtime::InspectorTarget> target_;
  std::shared_ptr<runtime::WebSocketChannel> channel;
  int id = 0;
};

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  // Without its port: "[::1]:9229", "127.0.0.1:9229", "localhost:9229".
  std::string name;
  if (!host.empty() && host.front() == '[') {
    size_t end = host.find(']');
    if (end == std::string_view::npos) return false;
    name = std::string(host.substr(1, end - 1));
    std::string_view rest = host.substr(end + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else {
    size_t colon = host.rfind(':');
    name = std::string(colon == std::string_view::npos ? host : host.substr(0, colon));
  }
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, name.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

class InspectorServer::Impl {
 public:
  Impl() {
    uv_loop_init(&loop_);
    mailbox_ = std::make_shared<Mailbox>(&loop_);
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  ~Impl() {
    mailbox_->Post([this] { Stop(); });
    thread_.join();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  StatusOr<int> Start(const std::string& ip, int port,
                      std::vector<std::shared_ptr<runtime::InspectorTarget>> targets) {
    std::promise<StatusOr<int>> started;
    mailbox_->Post([&] {
      for (auto& target : targets) targets_[target->id()] = target;
      ServerLimits limits;
      limits.max_body_bytes = 0;
      server_ = std::make_unique<HttpServer>(
          &loop_, limits, [this](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
            Handle(std::move(request), std::move(writer));
          });
      Status listening = server_->Listen(ip, port, false);
      if (!listening.ok()) {
        started.set_value(listening);
        return;
      }
      started.set_value(server_->port());
    });
    return started.get_future().get();
  }

 private:
  void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    std::string_view host = HeaderValue(request.headers, "host");
    if (!IsLoopbackHost(host)) {
      Log(LogLevel::kWarn, "inspector: refused a request with Host '{}' (only localhost and "
          "loopback addresses may reach the debugger)", host.substr(0, 200));
      SendErrorPage(*writer, 403, "The inspector answers requests for localhost only.");
      return;
    }
    std::string path = request.target.substr(0, request.target.find('?'));
    if (request.method != "GET") {
      SendErrorPage(*writer, 405);
      return;
    }
    if (path == "/json/version") {
      SendJson(*writer, "{\"Browser\":\"edge/0.1.0\",\"Protocol-Version\":\"1.3\"}");
      return;
    }
    if (path == "/json" || path == "/json/list") {
      SendJson(*writer, TargetList(host));
      return;
    }
    auto it = path.size() > 1 ? targets_.find(path.substr(1)) : targets_.end();
    if (it == targets_.end()) {
      SendErrorPage(*writer, 404, "No such target: GET /json/list lists them.");
      return;
    }
    auto session = std::make_shared<Session>(mailbox_, it->second);
    StatusOr<std::shared_ptr<runtime::WebSocketChannel>> channel = writer->AcceptWebSocket({});
    if (!channel.ok()) {
      SendErrorPage(*writer, 400, "A DevTools session is a WebSocket: connect with a WebSocket "
                                  "client to the target's webSocketDebuggerUrl.");
      return;
    }
    session->channel = *channel;
    session->id = session->target_->Connect(session);
    sessions_.insert(session);
    Log(LogLevel::kInfo, "inspector: debugger attached to '{}'", session->target_->title());
    session->channel->Start({
        .on_message =
            [weak = std::weak_ptr<Session>(session)](std::string data, bool binary) {
              auto self = weak.lock();
              if (self && !binary) self->target_->Dispatch(self->id, std::move(data));
            },
        .on_close =
            [this, weak = std::weak_ptr<Session>(session)](int, std::string, bool) {
              auto self = weak.lock();
              if (!self) return;
              self->target_->Disconnect(self->id);
              Log(LogLevel::kInfo, "inspector: debugger detached from '{}'",
                  self->target_->title());
              self->channel.reset();
              sessions_.erase(self);
            },
    });
  }

  std::string TargetList(std::string_view host) const {
    std::string out = "[";
    for (const auto& [id, target] : targets_) {
      if (out.size() > 1) out += ",";
      std::string address = std::string(host) + "/" + id;
      out += "{\"description\":\"edge worker\",\"devtoolsFrontendUrl\":";
      base::AppendJsonString(out, "devtools://devtools/bundled/js_app.html?experiments=true&"
                                  "v8only=true&ws=" + address);
      out += ",\"devtoolsFrontendUrlCompat\":";
      base::AppendJsonString(out, "devtools://devtools/bundled/inspector.html?experiments=true&"
                                  "v8only=true&ws=" + address);
      out += ",\"faviconUrl\":\"https://nodejs.org/static/images/favicons/favicon.ico\"";
      out += ",\"id\":";
      base::AppendJsonString(out, id);
      out += ",\"title\":";
      base::AppendJsonString(out, target->title());
      out += ",\"type\":\"node\",\"url\":";
      base::AppendJsonString(out, target->url());
      out += ",\"webSocketDebuggerUrl\":";
      base::AppendJsonString(out, "ws://" + address);
      out += "}";
    }
    out += "]";
    return out;
  }

  static void SendJson(ResponseWriter& writer, const std::string& body) {
    writer.Start(200, "", {{"Content-Type", "application/json; charset=UTF-8"}}, body.size());
    writer.Write(body);
    writer.Finish();
  }

  void Stop() {
    for (const auto& session : sessions_) session->target_->Disconnect(session->id);
    sessions_.clear();
    if (!server_) {
      mailbox_->Close();
      return;
    }
    server_->Shutdown([this] {
      server_.reset();
      mailbox_->Close();
    });
  }

  uv_loop_t loop_;
  std::shared_ptr<Mailbox> mailbox_;
  std::thread thread_;
  // The inspector's thread only.
  std::unique_ptr<HttpServer> server_;
  std::map<std::string, std::shared_ptr<runtime::InspectorTarget>> targets_;
  std::set<std::shared_ptr<Session>> sessions_;
};

InspectorServer::InspectorServer() : impl_(std::make_unique<Impl>()) {}
InspectorServer::~InspectorServer() = default;

Status InspectorServer::Start(const std::string& ip, int port,
                              std::vector<std::shared_ptr<runtime::InspectorTarget>> targets) {
  StatusOr<int> bound = impl_->Start(ip, port, std::move(targets));
  if (!bound.ok()) return bound.status();
  port_ = *bound;
  return Status::Ok();
}

}  // namespace edge::gateway
