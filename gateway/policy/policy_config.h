// Route policies as configured: a worker's `[[policies]]` tables (edge.toml,
// carried in its bundle as JSON) and the operator's `[[host_policies]]`
// (node.toml). Each table says where it applies (`routes`, or `hosts` for
// the operator) and holds at most one policy of each kind. Parsing is the
// deploy check: anything unknown or out of range is refused with a message
// naming the table and the field ("policies[1].rate_limit.period_s ...").
// docs/gateway.md describes every key.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "gateway/deploy/route_table.h"
#include "gateway/policy/json_schema.h"
#include "gateway/policy/jwks_fetch.h"
#include "gateway/policy/jwt.h"
#include "gateway/policy/jwt_jwks.h"
#include "runtime/worker.h"

namespace edge::gateway::policy {

// `cors = { origins, methods, headers, credentials, max_age, expose_headers }`.
struct CorsPolicy {
  bool any_origin = false;           // origins = "*"
  std::vector<std::string> origins;  // lower-case serialized origins
  std::vector<std::string> methods;  // as written (methods are case-sensitive)
  bool any_header = false;           // headers = ["*"]
  std::vector<std::string> headers;  // lower-case
  bool credentials = false;
  std::optional<uint32_t> max_age;  // seconds
  std::vector<std::string> expose_headers;
};

// `validate = { methods, required_headers, content_types, max_body_bytes }`.
struct ValidatePolicy {
  std::vector<std::string> methods;           // empty: any
  std::vector<std::string> required_headers;  // lower-case
  std::vector<std::string> content_types;     // lower-case media types; "type/*" allowed
  std::optional<uint64_t> max_body_bytes;
  // `schema`: JSON bodies (a JSON Content-Type) must match it; compiled at
  // deploy. With a schema the body is buffered, up to max_body_bytes or
  // kSchemaDefaultMaxBodyBytes.
  std::shared_ptr<const JsonSchema> schema;
};
inline constexpr uint64_t kSchemaDefaultMaxBodyBytes = 1024 * 1024;

// `api_key = { header | query, keys, secret_prefix, forward_header }`.
struct ApiKeyPolicy {
  std::string header;  // lower-case header name, or
  std::string query;   // a query parameter name
  // The key's name goes to the worker in this request header ("": not
  // sent); an inbound header of that name is always removed.
  std::string forward_header;
  // A worker's secrets whose names start with this are keys: the rest of
  // the name is the key's name, the value its SHA-256 in hex.
  std::string secret_prefix;
  // name -> SHA-256 of the key (32 bytes), from `keys` and the secrets.
  std::vector<std::pair<std::string, std::string>> keys;
};

// `jwt = { issuer, audiences, algorithms, keys | secret | jwks_url,
// clock_skew_s, required_claims, claims_header, realm }`.
struct JwtPolicyConfig {
  std::shared_ptr<const JwtPolicy> policy;
  // The keys given inline (`keys`, or the worker's `secret` as an HS256
  // key); null with a jwks_url.
  std::shared_ptr<const JwtKeySet> keys;
  // With `jwks_url`: the cache of that URL, shared by the serving threads.
  std::string jwks_url;
  std::shared_ptr<JwksCache> jwks;
  // The verified claims go to the worker in this request header as JSON
  // ("": not sent); an inbound header of that name is always removed.
  std::string claims_header;
  // The realm of the WWW-Authenticate challenge.
  std::string realm = "edge";
};

// `rate_limit = { requests, period_s, key }`.
struct RateLimitPolicy {
  enum class Key { kIp, kHeader, kApiKey, kJwtSubject };
  uint32_t requests = 0;  // 1..1000000
  uint32_t period_s = 0;  // 1..86400
  Key key = Key::kIp;
  std::string header;  // lower-case, for kHeader
};

// One `[[policies]]` or `[[host_policies]]` table.
struct PolicyTable {
  // Where it applies: the worker's route patterns (empty: every request of
  // the worker), or the operator's host patterns (as "host/*").
  std::vector<ParsedRoute> where;
  std::shared_ptr<const RouteTable> where_table;  // the same, indexed; null when empty
  std::optional<CorsPolicy> cors;
  std::optional<ValidatePolicy> validate;
  std::optional<ApiKeyPolicy> api_key;
  std::optional<JwtPolicyConfig> jwt;
  std::optional<RateLimitPolicy> rate_limit;
  // Names the table's rate limit buckets ("" for tables without one).
  std::string bucket_space;
};

using PolicyTables = std::vector<PolicyTable>;

// A worker's tables from its bundle's `policies` JSON ("" is none).
// `bucket_owner` keeps its buckets apart from every other worker's
// ("<account>/<worker>"). `secrets` are the worker's: each api_key policy
// with a secret_prefix takes its keys from them (a value that is not 64
// hex digits is skipped and named in `warnings`), and a jwt policy's
// `secret` its HS256 key. A jwt policy with a jwks_url takes its cache
// from `jwks` (null: a cache whose fetches fail, for a check that serves
// nothing).
StatusOr<PolicyTables> ParseWorkerPolicies(std::string_view json, std::string_view bucket_owner,
                                           const std::vector<runtime::WorkerVar>& secrets = {},
                                           std::vector<std::string>* warnings = nullptr,
                                           JwksCaches* jwks = nullptr);

// The operator's tables (node.toml's `[[host_policies]]` as JSON, or the
// set the admin API takes and edge-sync replicates): `hosts` instead of
// `routes` (required), keys inline only, the JSON at most
// kMaxHostPoliciesJsonBytes (a set travels in one sync log entry).
inline constexpr size_t kMaxHostPoliciesJsonBytes = size_t{256} << 10;
StatusOr<PolicyTables> ParseHostPolicies(std::string_view json, JwksCaches* jwks = nullptr);

}  // namespace edge::gateway::policy
