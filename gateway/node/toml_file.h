// TOML files read by the node and the command line (node.toml, origin.toml,
// a project's edge.toml).
#pragma once

#include <toml++/toml.h>

#include <string>

#include "base/status.h"

namespace edge::gateway {

// Parses the TOML file at `path`. toml++ reports a syntax error (or a file
// it cannot read) by throwing; here it is kInvalidInput,
// "<path>:<line>:<column>: <what>".
StatusOr<toml::table> ParseTomlFile(const std::string& path);

// The `[[host_policies]]` tables of a parsed TOML file (node.toml, or the
// file `edge host-policies put` sends; `path` names it in errors) as the
// JSON array policy::ParseHostPolicies reads, checked; `json` is left as it
// is when the file has none.
Status HostPoliciesFromToml(const std::string& path, const toml::table& table, std::string* json);

}  // namespace edge::gateway
