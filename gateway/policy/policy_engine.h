// Route policies applied to one request on the serving thread, before any
// isolate is entered. The order is fixed:
//
//   1. CORS preflight (an OPTIONS request with Origin and
//      Access-Control-Request-Method is answered here, never by the worker)
//   2. validate: method (405), required headers (400), content type (415),
//      declared body size (413)
//   3. api_key (401 missing, 403 wrong)
//   4. jwt (401 missing or invalid, 503 when a JWKS has never been
//      fetched); with a JWKS URL whose cache must fetch first, the request
//      waits for the fetch without blocking the thread
//   5. rate_limit (429)
//   6. the body: a streamed body is counted and buffered up to the smallest
//      max_body_bytes (413 past it), so the worker reads the same bytes;
//      then the JSON Schema check (400)
//
// Within each step the operator's host tables come first, then the
// worker's, each in the order written; every applicable policy of a step
// must pass. Only one cors policy applies: the first applicable one
// (an operator's when there is one). A refusal is an RFC 9457
// application/problem+json answer carrying the CORS headers the request's
// origin is allowed; an admitted request's response gets them added.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bindings/ratelimit/token_buckets.h"
#include "gateway/http/http_types.h"
#include "gateway/policy/client_ip.h"
#include "gateway/policy/policy_config.h"

namespace edge::gateway::policy {

// What the gateway answered by itself.
struct PolicyOutcome {
  int status = 0;
  // The policy that answered: "cors", "validate", "api_key", "jwt", "rate_limit".
  std::string policy;
  // A CORS preflight answered (204) rather than a refusal.
  bool preflight = false;
  std::string detail;
};

// Everything ApplyPolicies needs besides the request.
struct PolicyContext {
  bindings::TokenBuckets* buckets = nullptr;  // required when a rate_limit applies
  const TrustedProxies* proxies = nullptr;    // null: the peer is the client
  // `edge dev` serves one worker on localhost: its tables' routes are
  // matched by path only.
  bool match_hosts = true;
  // Runs a task on the loop that applies the policies, from any thread: a
  // jwt policy's JWKS fetch may end on another thread. Null: the fetch
  // ends on this loop (`edge dev`), and the request goes on from there.
  std::function<void(std::function<void()>)> post;
};

using Admit = std::function<void(HttpRequest request, std::shared_ptr<ResponseWriter> writer)>;
// Told once, before the answer goes out (so a client that reads it and
// then asks for metrics finds it counted).
using Answered = std::function<void(const PolicyOutcome& outcome)>;

// Applies `host_tables` (may be null) then `worker_tables` (may be null) to
// `request` for `host` and `path` (its Host and origin-form target). Calls
// `admit` with the request (headers maybe changed, body maybe buffered)
// and a writer that adds the policies' response headers, or answers the
// request itself after `answered`. Either may happen later (a body being
// counted), or never (the client went away meanwhile). The tables are
// read before ApplyPolicies returns, never after: a reload may free them
// while a body is still being counted. Runs on the connection's loop
// thread.
void ApplyPolicies(const PolicyTables* host_tables, const PolicyTables* worker_tables,
                   const PolicyContext& context, std::string_view host, std::string_view path,
                   HttpRequest request, std::shared_ptr<ResponseWriter> writer, Admit admit,
                   Answered answered);

// Whether any table applies to a request of `host` and `path` (no table:
// the request goes straight through).
bool AnyApplies(const PolicyTables* tables, const PolicyContext& context, std::string_view host,
                std::string_view path);

// The RFC 9457 body of a refusal.
std::string ProblemJson(std::string_view type, std::string_view title, int status,
                        std::string_view detail);

}  // namespace edge::gateway::policy
