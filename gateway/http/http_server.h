// The gateway's HTTP/1.1 server: libuv for sockets and timers, llhttp for
// parsing, optionally TLS (OpenSSL, see tls_context.h) in between. One
// HttpServer per loop (thread) and listener; several servers on different
// loops can share a port through SO_REUSEPORT. To serve HTTP and HTTPS, run
// two servers on the loop, one per listener, with the same handler and
// limits (and call Shutdown on both).
//
// Threading: every method, the RequestHandler and every ResponseWriter call run
// on the loop thread. To stop from a signal or another thread, wake the loop
// (uv_signal_t / uv_async_t) and call Shutdown from there.
//
// Constructing a server sets SIGPIPE to SIG_IGN (once per process, only if it
// is still SIG_DFL): writes to a reset connection must fail, not kill.
//
// Lifetime: destroy the server on the loop thread. The destructor closes the
// listener and every connection at once (responses in progress are aborted);
// their handles finish closing on the next turn of the loop, so run the loop
// (uv_run returns once they are gone) before uv_loop_close. After Shutdown's
// `done` has run nothing of the server is left on the loop.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "gateway/http/http_types.h"
#include "base/status.h"

namespace edge::gateway {

struct ServerContext;
struct Listener;
class TlsContext;

struct ListenOptions {
  // Sets SO_REUSEPORT before bind so several threads, each with its own loop
  // and HttpServer, can listen on the same address.
  bool reuse_port = false;
  // When set, the listener speaks HTTP/1.1 over TLS: every connection does a
  // TLS handshake (bounded by ServerLimits::header_timeout_ms) before its
  // first request, and the requests carry HttpRequest::tls. Servers on
  // several loops may share one context.
  std::shared_ptr<TlsContext> tls;
};

class HttpServer {
 public:
  HttpServer(uv_loop_t* loop, ServerLimits limits, RequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, once per server. `host` is an IPv4 or IPv6 literal
  // (brackets allowed) or a name resolved now; "" means 0.0.0.0. port 0 =
  // ephemeral (see port()).
  Status Listen(const std::string& host, int port, const ListenOptions& options);
  // Plain HTTP; the same as options {.reuse_port = reuse_port}.
  Status Listen(const std::string& host, int port, bool reuse_port);
  // The bound port, or 0 when not listening.
  int port() const;

  // Stops accepting; idle keep-alive connections are closed now; connections
  // with a request in flight are closed once their current response finishes
  // (pipelined requests not yet started get no answer). `done` runs on the
  // loop when no connection is left (never from inside this call).
  void Shutdown(std::function<void()> done);
  // Open connections, including those still closing.
  size_t connection_count() const;

 private:
  void CloseListener();

  std::shared_ptr<ServerContext> context_;
  Listener* listener_ = nullptr;  // freed by its close callback
};

}  // namespace edge::gateway
