// Finding and reading a worker's modules on disk. Knows nothing of V8: the
// Worker compiles what this returns.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::runtime {

// A worker's modules held in memory (a deployed bundle) instead of on disk:
// absolute virtual path -> content. Resolution and reads consult it alone
// when it is given, so a deployed worker never touches the file system.
using ModuleFiles = std::map<std::string, std::string, std::less<>>;

// Resolves `specifier` as imported by the module at `referrer` (an absolute
// path). Only relative ("./x.js", "../y.mjs") and absolute paths are
// supported, as a bundle's modules are all files of the project. A specifier
// without an extension also matches "<it>.js", "<it>.mjs" and "<it>/index.js",
// like wrangler's bundler. Returns the normalized absolute path.
// With `files`, paths are looked up there instead of on disk.
// With `nodejs_compat` (the compatibility flag), "node:X" and a bare "X" name
// a built-in Node.js module edge provides (runtime/node/node_modules.h) and
// resolve to "node:X" (never an absolute path, so never a file). Otherwise,
// or for a module edge lacks, the error is Workers' `No such module "node:X".`
StatusOr<std::string> ResolveModulePath(const std::string& referrer, std::string_view specifier,
                                        const ModuleFiles* files = nullptr,
                                        bool nodejs_compat = false);

// The prefix of a resolved built-in module ("node:buffer").
inline constexpr std::string_view kNodeModulePrefix = "node:";
// The cloudflare: modules edge provides (the others are refused by name).
inline constexpr std::string_view kCloudflareWorkersModule = "cloudflare:workers";
inline constexpr std::string_view kCloudflareSocketsModule = "cloudflare:sockets";
inline constexpr std::string_view kCloudflareWorkflowsModule = "cloudflare:workflows";

// Reads a whole file.
StatusOr<std::string> ReadFile(const std::string& path);
// Reads a module: from `files` when given, else from disk.
StatusOr<std::string> ReadModule(const std::string& path, const ModuleFiles* files);

// `path` relative to `root` when it is inside it, for log lines and stacks.
std::string DisplayPath(const std::string& root, const std::string& path);

}  // namespace edge::runtime
