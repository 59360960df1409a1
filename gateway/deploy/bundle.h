// A worker version as uploaded and stored: the body of the admin API's
// `PUT /workers/{name}` and what the deploy store keeps (as EncodeBundle's
// bytes, addressed by their SHA-256).
//
// The format is JSON:
//   {
//     "name": "api",                          required; Workers' naming rule
//     "main": "src/index.js",                 required; one of the modules
//     "compatibility_date": "2024-01-01",     optional; YYYY-MM-DD
//     "compatibility_flags": ["nodejs_compat"],  optional; runtime/compatibility_flags.h
//     "account": "acme",                      optional; accepted from older clients
//                                             and ignored: a worker belongs to the
//                                             account of the token that deploys it
//     "modules": [{"name": "src/index.js", "content": "<base64>"}, ...],  required
//     "vars": {"GREETING": "hi", "CONFIG": {"a": 1}},
//     "kv_namespaces": [{"binding": "KV", "id": "abc123"}],
//     "services": [{"binding": "AUTH", "service": "auth"},
//                  {"binding": "ADMIN", "service": "auth", "entrypoint": "Admin"}],
//     "r2_buckets": [{"binding": "B", "bucket_name": "photos"}],  optional
//     "workflows": [{"binding": "FLOW", "name": "orders", "class_name": "OrderFlow"}],  optional
//     "limits": {"cpu_ms": 50, "memory_mb": 128, "startup_cpu_ms": 400, "wall_ms": 30000,
//                "subrequests": 50, "request_bytes": 104857600, "response_bytes": 0,
//                "background_cpu_ms": 30000},
//     "routes": ["example.com/*"],            optional; absent = keep the worker's routes
//     "triggers": {"crons": ["*/5 * * * *"]}, optional; the worker's cron triggers
//     "queues": {"producers": [{"binding": "Q", "queue": "jobs"}],   optional
//                "consumers": [{"queue": "jobs", "max_batch_size": 10, "max_batch_timeout": 5,
//                               "max_retries": 3, "dead_letter_queue": "dead",
//                               "max_concurrency": 2, "retry_delay": 0}]},
//     "ratelimits": [{"name": "LIMITER", "namespace_id": "1001",        optional
//                     "simple": {"limit": 100, "period": 60}}],
//     "policies": [{"routes": [...], "cors": {...}, ...}]  optional; the gateway's route
//                                             policies (gateway/policy/policy_config.h
//                                             checks what is inside each object)
//     "r2_event_notifications": [{"bucket": "photos", "queue": "jobs",   optional
//                                 "event_types": ["object-create"], "prefix": "img/",
//                                 "suffix": ".png"}]
//   }
// Every key other than these is refused, at any level: a typo must not
// deploy silently. Omitted optional keys take the defaults below.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/base64.h"
#include "runtime/module_loader.h"
#include "runtime/project.h"
#include "base/status.h"
#include "runtime/worker.h"

namespace edge::gateway {

struct BundleModule {
  std::string name;  // a relative path with '/' separators ("src/index.js")
  std::string content;
};

// A service binding: env.<binding> reaches the worker `service`, through
// its named export `entrypoint` ("": its default export).
struct ServiceBindingEntry {
  std::string binding;
  std::string service;
  std::string entrypoint;
  bool operator==(const ServiceBindingEntry&) const = default;
};

// A `[[workflows]]` entry: env.<binding> creates instances of the workflow
// `name`, whose class `class_name` this worker exports.
struct WorkflowBindingEntry {
  std::string binding;
  std::string name;
  std::string class_name;
  bool operator==(const WorkflowBindingEntry&) const = default;
};

// What one version of a worker may use; the ranges in the comments are
// what ValidateBundle (and DecodeBundle) accept.
struct WorkerLimits {
  uint64_t cpu_ms = 50;                   // CPU per request, 1..300000 (default: DefaultCpuMs)
  uint64_t memory_mb = 128;               // isolate heap, 16..2048
  uint64_t startup_cpu_ms = 400;          // CPU for the top-level module code, 1..10000
  uint64_t wall_ms = 30000;               // wall time per request, 0..86400000
  uint32_t subrequests = 50;              // fetch() calls per request, 0..10000
  uint64_t request_bytes = 100ull << 20;  // request body size
  uint64_t response_bytes = 0;            // response body size; 0 = unlimited
  uint64_t background_cpu_ms = 30000;     // CPU per scheduled invocation, 1..900000
};

// CPU follows memory: a worker that does not set `cpu_ms` gets 50 ms per
// 128 MiB of `memory_mb` (rounded down), at least 10 ms: 10 ms at 16 MiB,
// 50 at 128, 100 at 256, 800 at 2048 (the most memory_mb allows).
inline constexpr uint64_t kCpuMsPer128Mb = 50;
inline constexpr uint64_t kMinDefaultCpuMs = 10;
constexpr uint64_t DefaultCpuMs(uint64_t memory_mb) {
  uint64_t scaled = kCpuMsPer128Mb * memory_mb / 128;
  return scaled < kMinDefaultCpuMs ? kMinDefaultCpuMs : scaled;
}

// A Workers Rate Limiting binding: env.<name>.limit({ key }) allows
// `limit` calls per `period` seconds (10 or 60) for each key, in the
// buckets of the worker's account and `namespace_id` (an integer, as text).
struct RateLimitEntry {
  std::string name;
  std::string namespace_id;
  uint32_t limit = 0;   // 1..1000000
  uint32_t period = 0;  // 10 or 60
  bool operator==(const RateLimitEntry&) const = default;
};

// The most [[policies]] tables a worker may have, and the size of their JSON.
inline constexpr size_t kMaxPolicyTables = 32;
inline constexpr size_t kMaxPoliciesBytes = 64 * 1024;

// The most cron triggers one worker may have.
inline constexpr size_t kMaxCronTriggers = 100;
// The most queue producers and consumers one worker may have.
inline constexpr size_t kMaxQueueBindings = 100;
// `[[r2_event_notifications]]` one worker may have.
inline constexpr size_t kMaxR2EventNotifications = 100;
// The most workflows one worker may define.
inline constexpr size_t kMaxWorkflowBindings = 100;

struct WorkerBundle {
  std::string name;
  std::string main_module;         // the name of one of `modules`
  std::string compatibility_date;  // empty when not given
  // Workers' flags, in the config's order (runtime/compatibility_flags.h
  // checks them); empty when not given.
  std::vector<std::string> compatibility_flags;
  // What an older client sent as the tenant (wrangler's account_id). Kept
  // so such bundles still decode; a node ignores it (with a warning): the
  // owner of a worker is the account of the token that deployed it
  // (gateway/deploy/accounts.h).
  std::string account;
  std::vector<BundleModule> modules;
  // Strings stay strings; other JSON values have is_json = true and their
  // (minified) JSON text as value.
  std::vector<runtime::WorkerVar> vars;
  std::vector<std::pair<std::string, std::string>> kv_namespaces;  // binding -> namespace id
  std::vector<ServiceBindingEntry> services;
  std::vector<std::pair<std::string, std::string>> r2_buckets;     // binding -> bucket name
  WorkerLimits limits;
  std::optional<std::vector<std::string>> routes;  // absent: keep the worker's routes
  // `[triggers] crons`: each a valid base::CronExpression, at most
  // kMaxCronTriggers, in the order the config gave them.
  std::vector<std::string> crons;
  // `[[queues.producers]]` (binding -> queue) and `[[queues.consumers]]`.
  std::vector<std::pair<std::string, std::string>> queue_producers;
  std::vector<runtime::QueueConsumerSpec> queue_consumers;
  // `[[ratelimits]]`, sorted by name.
  std::vector<RateLimitEntry> ratelimits;
  // `[[policies]]` as minified JSON: an array of at most kMaxPolicyTables
  // objects ("" when there are none). Their content is gateway/policy's to
  // check (ParseWorkerPolicies), which a node does on upload.
  std::string policies;
  // `[[r2_event_notifications]]`, at most kMaxR2EventNotifications.
  std::vector<runtime::R2EventNotificationSpec> r2_event_notifications;
  // `[[workflows]]`, at most kMaxWorkflowBindings.
  std::vector<WorkflowBindingEntry> workflows;
};

// All modules of one bundle together, decoded.
inline constexpr size_t kMaxModuleBytes = 10u << 20;

// The canonical JSON of `bundle`: keys in the fixed order shown above, every
// limit written out, modules and vars sorted by name, KV namespaces and
// services by binding, JSON var values minified. (limits.background_cpu_ms
// when it is the default, and triggers when there are none, are left out:
// older bundles keep their bytes.) The same bundle (up to
// those orders) gives the same bytes, so their SHA-256 names the version's
// content. `bundle` should be valid (ValidateBundle); an is_json var whose
// text is not JSON is written as a string.
std::string EncodeBundle(const WorkerBundle& bundle);

// Parses and validates an uploaded bundle. The input is hostile: anything
// but the format above is refused (kInvalidInput) with one message for a
// person, naming the key or module at fault. The result is sorted as
// EncodeBundle writes it.
StatusOr<WorkerBundle> DecodeBundle(std::string_view json);

// The checks DecodeBundle makes on the values, for bundles built in C++:
// names, module paths, sizes, bindings, limits, routes.
Status ValidateBundle(const WorkerBundle& bundle);

// Workers' naming rule for a worker (and a service binding's target):
// ^[a-z0-9][a-z0-9_-]{0,62}$.
Status CheckWorkerName(std::string_view name);

// An account name: [A-Za-z0-9][A-Za-z0-9_-]{0,63} (wrangler's account_id is
// 32 hex digits).
Status CheckAccountName(std::string_view name);

// A name on `env` (var, KV namespace, service, secret) must be a JavaScript
// identifier; this accepts the ASCII ones: [A-Za-z_$][A-Za-z0-9_$]*.
Status CheckBindingName(std::string_view name);

// A secret's name must be a binding name that `bundle` does not already
// use for a var, a KV namespace or a service (they all share `env`).
Status CheckSecretName(const WorkerBundle& bundle, std::string_view name);

// The bundle `edge deploy` uploads for a project loaded by
// runtime::LoadProject. `module_paths` are absolute paths of the module
// files (Worker::module_paths(); the entry is added if missing); their
// names become their paths relative to project.spec.root_dir, and a file
// outside that folder is an error naming it. Vars, KV namespaces and
// services come from the spec, limits.cpu_ms from `[limits] cpu_ms` when
// the config sets it, routes from `route`/`routes`. Secrets are not part of
// a bundle. The result is validated as DecodeBundle would.
StatusOr<WorkerBundle> BundleFromProject(const runtime::Project& project,
                                         const std::vector<std::string>& module_paths);

// The spec a node loads a bundle with: its modules live under
// `virtual_root` (an absolute path that names no real folder, such as
// "/workers/api/3"), read from BundleFiles' map. Fills name, root_dir,
// entry_path, vars, bindings (the shapes runtime::LoadProject produces),
// heap_limit_bytes (memory_mb), cpu_limit_ms (cpu_ms),
// background_cpu_limit_ms (background_cpu_ms) and crons; secrets and
// services are the caller's.
StatusOr<runtime::WorkerSpec> SpecFromBundle(const WorkerBundle& bundle, std::string virtual_root);

// The bundle's modules by path: virtual_root + "/" + name -> content (the
// map WorkerSpec::files holds).
std::shared_ptr<const runtime::ModuleFiles> BundleFiles(const WorkerBundle& bundle,
                                                        const std::string& virtual_root);

}  // namespace edge::gateway
