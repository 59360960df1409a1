// `edge test [FILES...]`: runs test modules inside the real runtime.
#pragma once

#include <string>
#include <vector>

namespace edge::cli {

struct TestCommandOptions {
  std::vector<std::string> files;  // test modules (.js/.mjs)
  std::string config;              // --config FILE: env (vars, secrets, KV) for the tests
  std::string filter;              // --filter TEXT: only tests whose name contains it
  // --compatibility-flag NAME (repeatable): added to the config's
  // compatibility_flags (runtime/compatibility_flags.h).
  std::vector<std::string> compatibility_flags;
};

// Each file is loaded as the worker it would be (its own isolate), and each
// of its tests is run in turn:
//   export function testName(env) {}          a test
//   export const other = { test(env) {} }     a test
//   export default { "name"(env) {}, ... }    one test per member
// Tests may be async; they pass unless they throw or reject. Prints one
// line per test and "N passed, N failed"; returns 0 only if all passed.
int RunTestCommand(const TestCommandOptions& options);

}  // namespace edge::cli
