// A worker project on disk: a folder with edge.toml (or wrangler.toml, read
// the same way when there is no edge.toml), or a lone worker file.
#pragma once

#include <string>
#include <vector>

#include "runtime/status.h"
#include "runtime/worker.h"

namespace edge::runtime {

struct Project {
  WorkerSpec spec;               // name, root, entry, vars
  std::string config_path;       // empty for a lone worker file
  std::string compatibility_date;
};

// Reads `path` (a .js/.mjs file or a project folder). Errors say which file
// and which key was wrong.
StatusOr<Project> LoadProject(const std::string& path);

// Secrets for `edge dev` from a dotenv file (`NAME=value` lines, `#`
// comments, optional quotes); no file means no secrets. Errors name the line,
// never its content.
StatusOr<std::vector<WorkerVar>> ReadDevVars(const std::string& path);

}  // namespace edge::runtime
