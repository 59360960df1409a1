// `edge dev --inspect[=PORT]`: the Chrome DevTools Protocol endpoint. A
// thread of its own (a worker stopped at a breakpoint blocks `edge dev`'s
// loop, and DevTools must still reach it) serves, on a loopback address
// only, the discovery endpoints DevTools and VS Code poll (/json/version,
// /json/list) and one WebSocket per session at /<target id>, relayed to
// the worker's InspectorTarget.
//
// The Host header must name a loopback address or `localhost`, so a web
// page cannot reach the debugger through DNS rebinding; `edge serve` never
// starts this.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "runtime/inspector/inspector_target.h"

namespace edge::gateway {

class InspectorServer {
 public:
  InspectorServer();
  ~InspectorServer();  // stops the thread (sessions are closed with 1001)
  InspectorServer(const InspectorServer&) = delete;
  InspectorServer& operator=(const InspectorServer&) = delete;

  // Listens on `ip` (a loopback address) and `port` (0: a free one) and
  // serves `targets` from now on.
  Status Start(const std::string& ip, int port,
               std::vector<std::shared_ptr<runtime::InspectorTarget>> targets);
  int port() const { return port_; }

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Whether a Host header value names the local machine: `localhost` or a
// loopback IP literal, with or without a port.
bool IsLoopbackHost(std::string_view host);

}  // namespace edge::gateway
