// A worker project on disk: a folder with edge.toml (or wrangler.toml, read
// the same way when there is no edge.toml), or a lone worker file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "runtime/worker.h"

namespace edge::runtime {

// The range of `[limits] memory_mb`, the same for `edge dev`, `edge deploy`
// and a node (gateway::ValidateBundle).
inline constexpr uint64_t kMinMemoryMb = 16;
inline constexpr uint64_t kMaxMemoryMb = 2048;

struct Project {
  WorkerSpec spec;               // name, root, entry, vars, compatibility_flags
  std::string config_path;       // empty for a lone worker file
  std::string compatibility_date;
  std::string account_id;  // wrangler's account_id: the tenant on a node ("" = none)
  // `[limits] cpu_ms` when the config sets it (spec.cpu_limit_ms holds it
  // too, or the default, which cannot be told apart from it).
  std::optional<uint64_t> cpu_ms;
  // The other `[limits]` keys a deployed worker has (gateway::WorkerLimits),
  // each when the config sets it. Only the sign is checked here; the ranges
  // are the bundle's (gateway::ValidateBundle), but for memory_mb, checked
  // here too, so `edge dev` refuses what a deploy would. memory_mb also sets
  // spec.heap_limit_bytes and startup_cpu_ms spec.startup_cpu_limit_ms; the
  // rest are enforced by `edge serve` only.
  std::optional<uint64_t> memory_mb;       // kMinMemoryMb..kMaxMemoryMb
  std::optional<uint64_t> startup_cpu_ms;  // > 0
  std::optional<uint64_t> wall_ms;         // >= 0
  std::optional<uint64_t> subrequests;     // >= 0, at most 2^32 - 1
  std::optional<uint64_t> request_bytes;   // >= 0
  std::optional<uint64_t> response_bytes;  // >= 0
  // `[limits] background_cpu_ms` (> 0): also sets spec.background_cpu_limit_ms.
  std::optional<uint64_t> background_cpu_ms;
  // `routes = [...]` or `route = ...`: each a pattern string, or a table
  // { pattern = "...", zone_name/zone_id = "..." } (zones are ignored), or
  // { pattern = "host", custom_domain = true }, taken as "host/*". Absent
  // when the config has neither key. Patterns are not checked here (the
  // gateway's route parser does that).
  std::optional<std::vector<std::string>> routes;
  // `[[policies]]`: the gateway's route policies as a JSON array of
  // objects, one per table, as written ("" when the config has none).
  // Checked by gateway/policy (policy_config.h), which owns their meaning.
  std::string policies_json;
};

// Reads `path` (a .js/.mjs file or a project folder). Errors say which file
// and which key was wrong. `[triggers] crons` goes to spec.crons, each
// expression checked (a bad one is an error naming it). `[[ratelimits]]`
// (name, namespace_id, simple = { limit, period }) become `ratelimit`
// bindings with the options namespace_id, limit and period (10 or 60).
StatusOr<Project> LoadProject(const std::string& path);

// Whether `name` is a valid R2 bucket name: 3 to 63 of a-z, 0-9 and '-',
// starting and ending with a letter or digit (R2's rule).
bool ValidR2BucketName(std::string_view name);

// Secrets for `edge dev` from a dotenv file (`NAME=value` lines, `#`
// comments, optional quotes); no file means no secrets. Errors name the line,
// never its content.
StatusOr<std::vector<WorkerVar>> ReadDevVars(const std::string& path);

}  // namespace edge::runtime
