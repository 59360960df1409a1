// For tests that read projects: a sample edge.toml.
#pragma once

#include <string>
#include <string_view>

namespace edge::runtime::testing {

// The edge.toml of a worker named "shop" whose entry is `main`: its
// compatibility date, then `more` (more top-level keys, then [limits]),
// then the vars GREETING ("hi") and LIMITS (a JSON object), the KV
// namespace CACHE (id "abc123"), the service AUTH ("auth-worker") and the
// service ADMIN (its entrypoint "Admin").
inline std::string SampleEdgeToml(std::string_view main, std::string_view compatibility_date,
                                  std::string_view more) {
  return "name = \"shop\"\nmain = \"" + std::string(main) + "\"\ncompatibility_date = \"" +
         std::string(compatibility_date) + "\"\n" + std::string(more) + R"([vars]
GREETING = "hi"
LIMITS = { max = 3, names = ["a", "b"] }
[[kv_namespaces]]
binding = "CACHE"
id = "abc123"
[[services]]
binding = "AUTH"
service = "auth-worker"
[[services]]
binding = "ADMIN"
service = "auth-worker"
entrypoint = "Admin"
)";
}

// The edge.toml of a worker named "shop" whose entry is `main`, with
// `limits` as its [limits] table.
inline std::string EdgeTomlWithLimits(std::string_view main, std::string_view limits) {
  return "name = \"shop\"\nmain = \"" + std::string(main) + "\"\n[limits]\n" + std::string(limits);
}

// Limits within every range: memory_mb 32, startup_cpu_ms 200, subrequests
// 2, request_bytes 1000, response_bytes 5000.
inline constexpr std::string_view kSampleLimits =
    "memory_mb = 32\nstartup_cpu_ms = 200\nsubrequests = 2\nrequest_bytes = 1000\n"
    "response_bytes = 5000\n";

}  // namespace edge::runtime::testing
