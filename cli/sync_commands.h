// The edge-sync commands: `edge origin`, `edge keygen`, `edge status`, and
// the replication flags of `edge serve`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "gateway/node/node_extension.h"
#include "gateway/node/node_options.h"

namespace edge::cli {

// Adds `origin`, `keygen` and `status`; the returned function runs the one
// that was parsed (or returns -1 when none was).
std::function<int()> AddSyncCommands(CLI::App& app);

// Adds --sync-from, --sync-key, --sync-token-file, --secrets-key and
// --sync-relay to `serve`; the returned function turns them (and node.toml's
// keys of the same names) into the node's extensions.
std::function<StatusOr<std::vector<std::unique_ptr<gateway::NodeExtension>>>(
    const std::string& config_path)>
AddReplicaFlags(CLI::App& serve);

}  // namespace edge::cli
