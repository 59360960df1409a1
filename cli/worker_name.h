// The worker a command acts on when the command line names none: the
// `name` in edge.toml (or wrangler.toml) of the current folder.
#pragma once

#include <string>

#include "base/status.h"

namespace edge::cli {

// `flag` when not empty; otherwise the `name` key of ./edge.toml, else of
// ./wrangler.toml. Only that key is read, so this works even when the
// worker itself would not load. `flag_name` ("--name") is what the error
// tells the user to pass instead.
StatusOr<std::string> ResolveWorkerName(const std::string& flag, const std::string& flag_name);

}  // namespace edge::cli
