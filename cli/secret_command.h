// `edge secret put|delete|list`: manages a deployed worker's secrets through
// a node's admin API. Values are read from stdin and never printed.
#pragma once

#include <string>

namespace edge::cli {

struct SecretCommandOptions {
  std::string action;      // "put", "delete" or "list"
  std::string secret;      // put, delete: the secret's NAME (env.NAME in the worker)
  std::string to;          // --to URL: the node's admin API
  std::string token_file;  // --token-file FILE; empty: the EDGE_API_TOKEN variable
  std::string worker;      // --name WORKER; empty: `name` in ./edge.toml or ./wrangler.toml
};

// put: reads the value from stdin (all of it, minus one trailing newline;
// from a terminal: one line, prompted for on stderr, not echoed) and PUTs
// it. delete: DELETEs it. list: prints the worker's secret names, one a
// line. Errors go to stderr as "edge secret: ..."; returns 0 or 1.
int RunSecretCommand(const SecretCommandOptions& options);

// `value` without one trailing "\n" (or "\r\n"), as `echo value |` sends it.
std::string StripOneNewline(std::string value);

}  // namespace edge::cli
