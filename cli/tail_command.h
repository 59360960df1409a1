// `edge tail [NAME] --from URL`: streams a deployed worker's requests and
// console output live from a node's admin API (GET /workers/{name}/tail),
// like `wrangler tail`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace edge::cli {

struct TailCommandOptions {
  std::string worker;              // NAME; empty: `name` in ./edge.toml or ./wrangler.toml
  std::string from;                // --from URL: the node's admin API
  std::string token_file;          // --token-file FILE; empty: the EDGE_API_TOKEN variable
  std::string status;              // --status ok|error; empty: both
  std::string method;              // --method M; empty: any
  std::string search;              // --search TEXT; empty: everything
  std::optional<double> sampling;  // --sampling R in (0, 1]
  std::string format = "pretty";   // --format pretty|json
};

// Streams until Ctrl-C (exit 0) or until the node ends the stream or the
// connection fails (a message on stderr, exit 1). `json` prints every line
// as received; `pretty` prints FormatTailEvent's text.
int RunTailCommand(const TailCommandOptions& options);

// The request path with the filters as a percent-encoded query:
// /workers/api/tail?status=error&method=GET&search=...&sampling=0.5.
std::string TailPath(const std::string& worker, const TailCommandOptions& options);

// What `--format pretty` prints for one NDJSON event line, like wrangler:
//   GET http://a.example/x - Ok @ 2026-11-27 06:51:04
//     (log) hi
// "" for heartbeats, blank lines and types it does not know. A line that
// is not JSON is printed as it came. The text ends in "\n" when not empty.
std::string FormatTailEvent(std::string_view line);

}  // namespace edge::cli
