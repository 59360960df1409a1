// `edge host-policies get|put|delete`: the operator's host policies of a
// node, or of a whole fleet when sent to its origin (which logs them for
// every PoP), through the admin API (/host-policies, docs/admin-api.md),
// with the node's admin token.
#pragma once

#include <iosfwd>
#include <string>

#include "base/status.h"

namespace edge::cli {

struct HostPoliciesCommandOptions {
  std::string action;      // get, put or delete
  std::string file;        // put: a TOML file with [[host_policies]] tables, or a .json array
  std::string to;          // --to URL: the node's (or origin's) admin API
  std::string token_file;  // --token-file FILE; empty: the EDGE_API_TOKEN variable
  bool json = false;       // get --json: the node's answer as it came
  bool yes = false;        // delete --yes
};

// The JSON array of tables a put sends: a .json file as it is, else the
// `[[host_policies]]` tables of a TOML file (node.toml's syntax), checked
// as the node checks them.
StatusOr<std::string> HostPoliciesFileJson(const std::string& path);

// Runs the action; prints what happened to `out` and returns 0, or prints
// "edge host-policies: <why>" to `err` and returns 1.
int RunHostPoliciesCommand(const HostPoliciesCommandOptions& options, std::ostream& out,
                           std::ostream& err);
int RunHostPoliciesCommand(const HostPoliciesCommandOptions& options);

}  // namespace edge::cli
