// `edge queues list|create|delete|purge`, like wrangler's: with --to URL
// (and --token-file F) against a node's admin API (/queues), without it
// against the local state `edge dev` uses for the project in the current
// folder (`<project>/.edge/state/queues`, or `<persist-to>/queues`).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace edge::cli {

struct QueuesCommandOptions {
  std::string action;      // "list", "create", "delete" or "purge"
  std::string name;        // create, delete, purge: the queue
  std::string to;          // --to URL: a node's admin API; empty: the local state
  std::string token_file;  // --token-file F (or EDGE_TOKEN)
  std::string account;     // --account A: the operator names the account on a node
  std::string config;      // --config FILE; empty: edge.toml, else wrangler.toml, in the cwd
  std::string persist_to;  // --persist-to DIR; empty: <folder of the config>/.edge/state
  int64_t retention_seconds = 0;  // create --message-retention-period-secs; 0: 4 days
};

// Runs one action; output to `out`, errors to `err` as "edge queues: ..."
// lines. Returns the exit code (0, or 1 on any error).
int RunQueuesCommand(const QueuesCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace edge::cli
