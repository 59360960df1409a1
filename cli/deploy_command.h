// `edge deploy [DIR] --to URL`: uploads a worker project to a node's admin
// API as a new version (PUT /workers/{name}).
#pragma once

#include <iosfwd>
#include <string>

namespace edge::cli {

struct DeployCommandOptions {
  std::string dir = ".";   // DIR: a project folder (edge.toml or wrangler.toml) or a worker file
  std::string to;          // --to URL: the node's admin API
  std::string token_file;  // --token-file FILE; empty: the EDGE_API_TOKEN variable
  std::string name;        // --name NAME: deploy under this name instead of the config's
  // --account NAME: with the node's admin token, the account a new worker
  // goes to (the node's `default` when empty).
  std::string account;
};

// Loads the project, compiles its module graph (nothing runs), builds the
// bundle (gateway::BundleFromProject) and uploads it. Prints
// "Deployed api version 3 (12 modules, 48.2 KiB) in 85 ms; routes: ..." to
// `out` and returns 0; on any error (the worker does not compile, the node
// refuses) prints "edge deploy: <why>" to `err` and returns 1. A config's
// `account_id` is not sent (a worker belongs to the account of the token
// that deploys it): a warning on `err` says so.
int RunDeployCommand(const DeployCommandOptions& options, std::ostream& out, std::ostream& err);
// The same on stdout and stderr.
int RunDeployCommand(const DeployCommandOptions& options);

}  // namespace edge::cli
