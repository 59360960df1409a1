// Workers routes: which worker serves a request, by Host and path.
//
// A pattern is `[scheme://]host/path`, as in Cloudflare Workers:
//   - `http://` and `https://` are accepted and ignored: a route matches
//     both schemes, as Workers does since a zone serves both (any other
//     scheme is refused).
//   - host: a hostname compared without regard to case. It may start with
//     one `*`:
//       `*.example.com`  any subdomain of example.com, not example.com itself
//       `*example.com`   example.com and any subdomain of it
//     (a label boundary is required: `*example.com` does not match
//     `fooexample.com`, which in Workers would be another zone anyway).
//     No port: the port of the request's Host header is ignored.
//   - path: starts with `/`; compared byte for byte (case matters). A
//     trailing `*` makes it a prefix (`/api/*` matches `/api/` and
//     `/api/x`, not `/api`); without it the path must be equal. A pattern
//     without a path (`example.com`) is refused: write `example.com/*`.
//   - The request's query string is ignored; patterns may not hold one.
//
// Precedence, when several patterns match one request, the most specific
// wins:
//   1. a host without a wildcard beats a wildcard host;
//   2. between hosts of the same kind, the longer host pattern wins
//      (`*.api.example.com` over `*.example.com`, and `*.example.com` over
//      `*example.com`);
//   3. then the longer path, without its `*` (`/api/v1/*` over `/api/*`);
//   4. an exact path beats a prefix path of the same length (`/api/` over
//      `/api/*`).
// Because of 1 and 2, a more specific host wins even with a shorter path:
// with `example.com/*` and `*example.com/api/*`, example.com/api/x goes to
// the first.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edge::gateway {

struct Route {
  std::string pattern;
  std::string worker;
};

// A pattern taken apart (and normalized: lower-case host, no scheme).
struct ParsedRoute {
  enum class HostKind {
    kExact,                // example.com
    kSubdomains,           // *.example.com
    kDomainAndSubdomains,  // *example.com
  };
  HostKind host_kind = HostKind::kExact;
  // Without the wildcard: "example.com" for all three examples above.
  std::string host;
  // Without the trailing `*` when path_prefix.
  std::string path;
  bool path_prefix = false;

  // The normalized pattern ("*.example.com/api/*"): two patterns that match
  // the same requests have the same key.
  std::string Key() const;
};

// Checks and normalizes one pattern. Errors (kInvalidInput) quote the
// pattern and say what is wrong with it.
StatusOr<ParsedRoute> ParseRoutePattern(std::string_view pattern);

// An immutable set of routes, indexed for lookup: exact hosts in a hash map,
// wildcard hosts by the domain after their `*`, so Match costs a few hash
// lookups per label of the request's host, whatever the number of routes.
// Safe to share across threads (swap a shared_ptr<const RouteTable> on
// deploy).
class RouteTable {
 public:
  RouteTable();
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Refuses an invalid pattern, and one pattern (after normalization, so
  // `http://Example.com/*` and `example.com/*` are the same) claimed by two
  // different workers; the message names the pattern and both workers. The
  // same pattern listed twice for the same worker is fine.
  static StatusOr<RouteTable> Build(std::vector<Route> routes);

  // Whether worker `worker` may take `patterns` in place of its own routes
  // here: the error Build would give for this table's routes with
  // `worker`'s replaced by `patterns` (an invalid pattern, or one another
  // worker claims), without building one. Costs O(patterns), whatever the
  // number of routes.
  Status CheckClaims(std::string_view worker, const std::vector<std::string>& patterns) const;

  // The worker for a request, or nullptr when no route matches.
  // `host_header` is the Host header as received (any case, maybe with a
  // port, maybe with a trailing dot); `path` is the request target in origin
  // form ("/a/b?q"), and what follows `?` or `#` is ignored. The pointer
  // stays valid as long as the table.
  const std::string* Match(std::string_view host_header, std::string_view path) const;

  // The routes Build was given, in their order.
  const std::vector<Route>& routes() const;

 private:
  struct Index;
  std::vector<Route> routes_;
  std::unique_ptr<Index> index_;
};

}  // namespace edge::gateway
