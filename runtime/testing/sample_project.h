// For tests that read projects: the bindings part of a sample edge.toml.
#pragma once

#include <string_view>

namespace edge::runtime::testing {

// What follows a sample edge.toml's top-level keys and [limits]: the vars
// GREETING ("hi") and LIMITS (a JSON object), the KV namespace CACHE (id
// "abc123") and the service AUTH ("auth-worker").
inline constexpr std::string_view kSampleBindingsToml = R"([vars]
GREETING = "hi"
LIMITS = { max = 3, names = ["a", "b"] }
[[kv_namespaces]]
binding = "CACHE"
id = "abc123"
[[services]]
binding = "AUTH"
service = "auth-worker"
)";

}  // namespace edge::runtime::testing
