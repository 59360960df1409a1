// How an `edge serve` PoP node is set up: from node.toml, with every key
// also a command-line flag (flags win).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/http/http_types.h"
#include "gateway/http/tls_context.h"
#include "base/status.h"

namespace edge::gateway {

struct NodeOptions {
  std::string listen = "0.0.0.0:8080";  // worker traffic, plain HTTP; "" = none
  std::string https;                    // worker traffic over TLS ("ADDR:PORT"); needs tls
  std::vector<TlsCertificate> tls;      // [[tls]] hosts, cert, key
  std::string admin = "127.0.0.1:9090";  // the admin API
  std::string admin_token_file;          // required: the bearer token for the admin API
  std::string data_dir = "edge-data";    // LMDB: deployments and KV
  int threads = 0;                       // serving threads; 0 = one per core
  // A worker whose invocations (or entries with no request open) use more
  // CPU than this, 4 times in its last 8, goes to the thread's heavy lane
  // (worker_lanes.h); 0 = never.
  uint64_t heavy_cpu_us = 1000;
  size_t memory_budget_mb = 2048;        // for all isolates of the node; 0 = no budget
  // Spare isolates each serving thread keeps ready for workers whose
  // isolate was evicted (isolate_pool.h); 0 = none.
  size_t spare_isolates = 2;
  // WebSockets one account's workers may hold open at once on this node,
  // accepted and opened together (runtime/websocket/websocket_table.h).
  size_t websockets_per_account = 1000;
  std::string access_log = "-";          // JSON lines; "-" = stdout
  std::string pop_id = "local";          // this node's name (request.cf.colo)
  ServerLimits limits;                   // on every request read (headers, body, timeouts)
  uint32_t connections_per_origin = 32;  // outbound keep-alive pool bound
  // Outbound connections open at once, every origin together (the least
  // recently used idle one is closed to make room).
  uint32_t outbound_connections = 4096;
  // fetch() requests of one account in the outbound pools at once, every
  // origin together; more wait in the account's own queue. 0 = no bound.
  uint32_t outbound_requests_per_account = 256;
  // Outbound fetch() may reach public addresses only; these CIDRs are
  // allowed as well (e.g. an internal API at 10.1.2.0/24).
  std::vector<std::string> allow_fetch_to;
  // Bearer token (file) that grants the sync API and KV writes only: what
  // PoPs use towards their origin or relay. "" = none.
  std::string sync_token_file;
  // False for an origin: no serving threads, the admin API only.
  bool serve_traffic = true;
  // The Cache API's store (bindings/cache/cache_store.h), in MiB: every
  // account's entries together, one account's, and one entry's body
  // (Workers: 512 MB). Over a cap, the least recently used entries go.
  uint64_t cache_max_mb = 10240;
  uint64_t cache_account_max_mb = 1024;
  uint64_t cache_entry_max_mb = 512;
  // R2 (bindings/r2/r2_store.h): bytes one account's buckets may hold, in
  // MiB, objects and uploads in progress together.
  uint64_t r2_account_max_mb = 10240;
  // Workflows (bindings/workflows/workflow_store.h): how many days finished
  // instances are kept (Workers' default: 7; at most 30).
  uint64_t workflow_retention_days = 7;
  // Whether this node fires the cron triggers of its workers. Unset: a
  // standalone node does, a replica does not (in a fleet exactly one PoP
  // should: docs/triggers.md).
  std::optional<bool> run_crons;
  // The operator's route policies, `[[host_policies]]` tables as a JSON
  // array ("" = none): checked first on every request to their hosts, and
  // no worker can remove them (gateway/policy, docs/operations.md).
  std::string host_policies_json;
  // Peers whose forwarding header names the client, for rate limits keyed
  // by IP: addresses or CIDR blocks, and the header they set.
  std::vector<std::string> trusted_proxies;
  std::string forwarded_header = "x-forwarded-for";
  // Slots of the rate limit table every serving thread shares (16 bytes
  // each; bindings/ratelimit/token_buckets.h): the most keys counted at once.
  size_t rate_limit_slots = size_t{1} << 18;
};

// Reads node.toml into `options` (keys as the field names above, plus
// [[tls]] tables and max_body_mb, header_timeout_ms, idle_timeout_ms).
// Relative paths are taken from the file's folder. Errors name the file,
// line and key.
Status LoadNodeConfig(const std::string& path, NodeOptions* options);

// "127.0.0.1:8080", "[::1]:8080", ":8080" (every address) -> host and port.
Status SplitHostPort(const std::string& address, std::string* host, int* port);

class NodeExtension;
// Runs the node until SIGINT/SIGTERM. Returns the process exit code.
int RunNode(const NodeOptions& options,
            std::vector<std::unique_ptr<NodeExtension>> extensions = {});

}  // namespace edge::gateway
