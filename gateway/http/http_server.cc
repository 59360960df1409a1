#include "gateway/http/http_server.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "base/signals.h"
#include "base/uv_handle.h"
#include "gateway/http/http_connection.h"

namespace edge::gateway {

// The listening socket. Heap-allocated so it can outlive the server while it closes.
struct Listener {
  uv_tcp_t handle;
  std::shared_ptr<ServerContext> context;
  bool active = false;              // listening; counted in context->listener_open
  std::shared_ptr<TlsContext> tls;  // set for a TLS listener
};

namespace {

constexpr int kBacklog = 1024;

void CloseListenerHandle(Listener* listener) {
  uv_close(reinterpret_cast<uv_handle_t*>(&listener->handle), [](uv_handle_t* handle) {
    auto* l = static_cast<Listener*>(handle->data);
    std::shared_ptr<ServerContext> context = std::move(l->context);
    bool was_active = l->active;
    delete l;
    if (was_active) {
      context->listener_open = false;
      context->MaybeFinishShutdown();
    }
  });
}

void OnConnection(uv_stream_t* server, int status) {
  auto* listener = static_cast<Listener*>(server->data);
  if (status < 0) {
    Log(LogLevel::kWarn, "gateway: accept error: {}", uv_strerror(status));
    return;
  }
  HttpConnection::Accept(listener->context, server, listener->tls);
}

}  // namespace

HttpServer::HttpServer(uv_loop_t* loop, ServerLimits limits, RequestHandler handler)
    : context_(std::make_shared<ServerContext>(loop, limits, std::move(handler))) {
  base::IgnoreSigpipe();
}

HttpServer::~HttpServer() {
  context_->shutdown_done.clear();
  context_->shutting_down = true;
  CloseListener();
  for (HttpConnection* c = context_->connections; c != nullptr;) {
    HttpConnection* next = c->next_;  // CloseNow unlinks only once closed
    c->CloseNow();
    c = next;
  }
  context_->CloseFlushHandle();
}

Status HttpServer::Listen(const std::string& host, int port, bool reuse_port) {
  ListenOptions options;
  options.reuse_port = reuse_port;
  return Listen(host, port, options);
}

Status HttpServer::Listen(const std::string& host, int port, const ListenOptions& options) {
  if (listener_ != nullptr) return Status(ErrorCode::kInvalidInput, "the server already listens");
  if (context_->shutting_down) return Status(ErrorCode::kInvalidInput, "the server is shut down");
  if (port < 0 || port > 65535) {
    return Status(ErrorCode::kInvalidInput, fmt::format("invalid port {}", port));
  }
  std::string name = host.empty() ? "0.0.0.0" : host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  sockaddr_storage addr{};
  if (uv_ip4_addr(name.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(name.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    uv_getaddrinfo_t req;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    // Without a callback, uv_getaddrinfo runs synchronously.
    int r = uv_getaddrinfo(context_->loop, &req, nullptr, name.c_str(), nullptr, &hints);
    if (r != 0) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("cannot resolve listen address {}: {}", name, uv_strerror(r)));
    }
    std::memcpy(&addr, req.addrinfo->ai_addr,
                std::min<size_t>(req.addrinfo->ai_addrlen, sizeof addr));
    uv_freeaddrinfo(req.addrinfo);
    if (addr.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(static_cast<uint16_t>(port));
    } else if (addr.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(static_cast<uint16_t>(port));
    } else {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("listen address {} is not an IP address", name));
    }
  }
  std::string where = addr.ss_family == AF_INET6 ? fmt::format("[{}]:{}", name, port)
                                                 : fmt::format("{}:{}", name, port);

  auto* listener = new Listener;
  listener->context = context_;
  listener->tls = options.tls;
  // With a family, the socket exists right away, so options can be set before bind.
  int r = uv_tcp_init_ex(context_->loop, &listener->handle, addr.ss_family);
  if (r != 0) {
    delete listener;
    return Status(ErrorCode::kIo,
                  fmt::format("cannot create a socket for {}: {}", where, uv_strerror(r)));
  }
  listener->handle.data = listener;
  auto fail = [&](const char* what, int error) {
    CloseListenerHandle(listener);
    return Status(ErrorCode::kIo, fmt::format("{} {}: {}", what, where, uv_strerror(error)));
  };
  if (options.reuse_port) {
    uv_os_fd_t fd;
    r = uv_fileno(reinterpret_cast<uv_handle_t*>(&listener->handle), &fd);
    int one = 1;
    if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      r = uv_translate_sys_error(errno);
    }
    if (r != 0) return fail("cannot set SO_REUSEPORT for", r);
  }
  r = uv_tcp_bind(&listener->handle, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (r != 0) return fail("cannot bind", r);
  r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->handle), kBacklog, OnConnection);
  if (r != 0) return fail("cannot listen on", r);
  listener->active = true;
  context_->listener_open = true;
  listener_ = listener;
  Log(LogLevel::kDebug, "gateway: listening on {}{}", where, options.tls ? " (TLS)" : "");
  return Status::Ok();
}

int HttpServer::port() const {
  if (listener_ == nullptr) return 0;
  sockaddr_storage addr{};
  int length = sizeof addr;
  if (uv_tcp_getsockname(&listener_->handle, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    return 0;
  }
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

void HttpServer::Shutdown(std::function<void()> done) {
  if (done) context_->shutdown_done.push_back(std::move(done));
  if (!context_->shutting_down) {
    context_->shutting_down = true;
    CloseListener();
    for (HttpConnection* c = context_->connections; c != nullptr;) {
      HttpConnection* next = c->next_;
      c->BeginShutdown();
      c = next;
    }
  }
  if (!context_->listener_open && context_->connection_count == 0) {
    std::shared_ptr<ServerContext> context = context_;
    base::RunAfter(context->loop, 0, [context] { context->MaybeFinishShutdown(); });
  }
}

size_t HttpServer::connection_count() const { return context_->connection_count; }

void HttpServer::CloseListener() {
  if (listener_ == nullptr) return;
  CloseListenerHandle(listener_);
  listener_ = nullptr;
}

}  // namespace edge::gateway
