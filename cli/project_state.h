// The local state folder `edge dev` keeps for the project in the current
// folder (or --config's): `<project>/.edge/state`, or --persist-to's.
// Shared by the commands that work on it without --to (`edge queues`,
// `edge workflows`).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::cli {

struct ProjectState {
  std::string state_dir;  // where the stores are
  std::string config;     // the project's edge.toml or wrangler.toml ("" with --persist-to alone)
};

// `command` names the command in the error ("edge queues").
StatusOr<ProjectState> FindProjectState(const std::string& config, const std::string& persist_to,
                                        std::string_view command);

}  // namespace edge::cli
