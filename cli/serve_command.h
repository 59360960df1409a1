// `edge serve`: a PoP node, from node.toml and flags.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace edge::cli {

// Adds the `serve` subcommand to `app`; the returned function runs it once
// the command line is parsed (and returns the exit code).
std::function<int()> AddServeCommand(CLI::App& app, CLI::App** command);

}  // namespace edge::cli
