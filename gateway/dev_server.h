// `edge dev`: serves one worker project on one address, reloads it when one
// of its files changes, and stops cleanly on SIGINT/SIGTERM.
#pragma once

#include <string>

#include "gateway/http_types.h"

namespace edge::gateway {

struct DevOptions {
  std::string path = ".";  // a worker file or a project folder
  std::string ip = "127.0.0.1";
  int port = 8787;
  ServerLimits limits;
  bool watch = true;
};

// Runs until a signal stops it. Returns the process exit code.
int RunDevServer(const DevOptions& options);

}  // namespace edge::gateway
