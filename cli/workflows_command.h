// `edge workflows`, like wrangler's: `list`, `instances list|describe|
// terminate|pause|resume|restart NAME [ID]` and `trigger NAME [PARAMS]`,
// with --to URL (and --token-file F) against a node's admin API
// (/workflows), without it against the local state `edge dev` uses for the
// project in the current folder. Both print the same: the JSON of
// bindings/workflows/workflow_admin.h, formatted here.
#pragma once

#include <iosfwd>
#include <string>

namespace edge::cli {

struct WorkflowsCommandOptions {
  std::string action;      // "list", "instances", "trigger"
  std::string verb;        // instances: "list", "describe", "terminate", "pause", "resume", "restart"
  std::string name;        // the workflow
  std::string id;          // the instance (describe and the verbs; trigger --id)
  std::string params;      // trigger: JSON
  std::string to;          // --to URL: a node's admin API; empty: the local state
  std::string token_file;  // --token-file F (or EDGE_TOKEN)
  std::string account;     // --account A: the operator names the account on a node
  std::string config;      // --config FILE; empty: edge.toml, else wrangler.toml, in the cwd
  std::string persist_to;  // --persist-to DIR; empty: <folder of the config>/.edge/state
  bool json = false;       // --json: print the JSON as it is
};

// Runs one action; output to `out`, errors to `err` as "edge workflows: ..."
// lines. Returns the exit code (0, or 1 on any error).
int RunWorkflowsCommand(const WorkflowsCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace edge::cli
