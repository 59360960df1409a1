// `edge dev`: serves worker projects on one address, reloads each when one of
// its files changes, and stops cleanly on SIGINT/SIGTERM. The first project
// serves the port; every project is reachable from the others through
// service bindings, by its name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/http/http_types.h"

namespace edge::gateway {

struct DevOptions {
  std::vector<std::string> paths = {"."};  // worker files or project folders
  std::string ip = "127.0.0.1";
  int port = 8787;
  ServerLimits limits;
  bool watch = true;
  uint32_t subrequest_limit = 50;  // fetch() calls (and redirects) per invocation
  uint32_t connections_per_origin = 32;  // outbound keep-alive pool bound
  // Local state (the KV store in <persist_to>/kv); empty: <first project>/.edge/state.
  std::string persist_to;
  // `--inspect[=PORT]`: the DevTools endpoint's port (0: a free one), on
  // 127.0.0.1 whatever `ip` is; unset: no inspector.
  std::optional<int> inspect_port;
};

// Runs until a signal stops it. Returns the process exit code.
int RunDevServer(const DevOptions& options);

}  // namespace edge::gateway
