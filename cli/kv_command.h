// `edge kv get|put|delete|list --binding NAME`: reads and seeds the local KV
// store that `edge dev` uses for the project in the current folder
// (`<project>/.edge/state/kv`, or `<persist-to>/kv`).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace edge::cli {

struct KvCommandOptions {
  std::string action;      // "get", "put", "delete" or "list"
  std::string binding;     // --binding NAME: a `[[kv_namespaces]]` binding
  std::string config;      // --config FILE; empty: edge.toml, else wrangler.toml, in the cwd
  std::string persist_to;  // --persist-to DIR; empty: <folder of the config>/.edge/state
  std::string key;         // get, put, delete: KEY
  std::optional<std::string> value;  // put: VALUE (or --path)
  std::string path;        // put --path FILE: the value is the file's bytes
  std::string prefix;      // list --prefix P
  std::string metadata;    // put --metadata JSON (optional)
  std::optional<int64_t> ttl;         // put --ttl SECONDS (>= 60)
  std::optional<int64_t> expiration;  // put --expiration EPOCH_SECONDS (>= now + 60)
};

// Runs one `edge kv` action. `get` writes the raw value to `out`; `list`
// writes a JSON array of {name, expiration?, metadata?}; errors go to `err`
// as "edge kv: ..." lines. Returns the exit code: 0, or 1 on any error
// (a key that `get` does not find included).
int RunKvCommand(const KvCommandOptions& options, std::ostream& out, std::ostream& err);
// The same on stdout and stderr.
int RunKvCommand(const KvCommandOptions& options);

}  // namespace edge::cli
