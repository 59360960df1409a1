// `edge r2 bucket create|list|delete NAME`, `edge r2 object
// put|get|delete BUCKET/KEY [--file F]`, `edge r2 object copy
// SRC_BUCKET/KEY DST_BUCKET/KEY [--metadata-directive REPLACE
// --content-type T --custom k=v]` (a copy on the store's side: no byte
// passes through the command) and `edge r2 bucket notification
// create|list|delete BUCKET` (wrangler's shape). With `--to URL
// --token-file F` against a node's admin API (/r2/..., docs/admin-api.md);
// without, against the local R2 store that `edge dev` uses for the project
// in the current folder (`<project>/.edge/state/r2`, or `<persist-to>/r2`).
// Bodies stream between the file (or stdin/stdout) and the store or the
// node, never whole in memory.
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <string>
#include <vector>

namespace edge::cli {

struct R2CommandOptions {
  std::string what;        // "bucket" or "object"
  std::string action;      // bucket: create, list, delete, notification; object: put, get, delete, copy
  std::string notification_action;  // bucket notification: create, list, delete
  std::string target;      // NAME, or BUCKET/KEY
  std::string file;        // object put|get --file F (default: stdin/stdout)
  std::string content_type;  // object put|copy --content-type
  // object copy: DST_BUCKET/KEY, --metadata-directive COPY|REPLACE, --custom k=v
  std::string destination;
  std::string metadata_directive;
  std::vector<std::string> custom;
  std::string persist_to;  // --persist-to DIR; empty: ./.edge/state
  std::string to;          // --to URL: a node's admin API
  std::string token_file;
  std::string account;     // --account NAME: with the node's admin token, whose buckets
  // bucket notification create|delete
  std::vector<std::string> event_types;  // --event-type object-create|object-delete
  std::string queue;                     // --queue Q
  std::string prefix, suffix;            // --prefix, --suffix
};

// Adds `edge r2 ...` to `app`; returns the `r2` command (parsed() after
// CLI11_PARSE when it ran).
CLI::App* AddR2Command(CLI::App& app, R2CommandOptions& options);
// Completes `options` from what was parsed and runs it; the exit code.
int RunR2Command(CLI::App* r2, R2CommandOptions& options);
// Runs one action; output to `out` (an object's bytes for get without
// --file), errors to `err` as "edge r2: ..." lines.
int RunR2Command(const R2CommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace edge::cli
