// Workers' compatibility flags (`compatibility_flags = [...]` in
// wrangler.toml/edge.toml): what edge reads from them. A flag edge does not
// act on is kept (it travels with the deployed bundle) and has no effect, so
// a Workers project's config loads unmodified; docs/api.md ("Node.js
// modules") and docs/compatibility.md list the flags edge acts on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edge::runtime {

// The most flags one worker may carry.
inline constexpr size_t kMaxCompatibilityFlags = 64;

// `import ... from "node:buffer"` (and the bare "buffer") resolves to edge's
// built-in Node.js modules (runtime/node). nodejs_compat_v2 implies it, and
// as on Workers a compatibility_date of kNodejsCompatDefaultDate or later
// turns both on unless no_nodejs_compat and no_nodejs_compat_v2 are given.
inline constexpr std::string_view kNodejsCompatFlag = "nodejs_compat";
inline constexpr std::string_view kNodejsCompatV2Flag = "nodejs_compat_v2";
inline constexpr std::string_view kNoNodejsCompatFlag = "no_nodejs_compat";
inline constexpr std::string_view kNodejsCompatDefaultDate = "2026-08-04";
// process.env holds the worker's vars and secrets (strings) with node:
// modules on and nodejs_compat_populate_process_env, or a compatibility_date
// of kPopulateProcessEnvDate or later unless
// nodejs_compat_do_not_populate_process_env; else it starts empty.
inline constexpr std::string_view kPopulateProcessEnvFlag = "nodejs_compat_populate_process_env";
inline constexpr std::string_view kDoNotPopulateProcessEnvFlag =
    "nodejs_compat_do_not_populate_process_env";
inline constexpr std::string_view kPopulateProcessEnvDate = "2025-04-01";

// A flag's name as Workers writes them: 1 to 64 of [a-z0-9_], starting with a
// letter. The error names the flag.
Status CheckCompatibilityFlag(std::string_view flag);
// Each flag checked, no flag twice, at most kMaxCompatibilityFlags.
Status CheckCompatibilityFlags(const std::vector<std::string>& flags);

// nodejs_compat_v2 adds Node's globals (Buffer, process, global,
// setImmediate, clearImmediate). As on Workers, nodejs_compat implies it from
// kNodejsCompatV2Date unless no_nodejs_compat_v2 is given.
inline constexpr std::string_view kNoNodejsCompatV2Flag = "no_nodejs_compat_v2";
inline constexpr std::string_view kNodejsCompatV2Date = "2024-09-23";

// Whether `flags` and `date` (YYYY-MM-DD or empty) turn the node: modules on.
bool NodejsCompatEnabled(const std::vector<std::string>& flags, std::string_view date);
// Whether the node: modules are on with Node's globals.
bool NodejsCompatV2Enabled(const std::vector<std::string>& flags, std::string_view date);
// Whether process.env is filled from vars and secrets (node: modules on).
bool PopulateProcessEnv(const std::vector<std::string>& flags, std::string_view date);

}  // namespace edge::runtime
