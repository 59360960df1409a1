// Accounts: the tenants of a node. An account owns workers, their data
// (KV namespaces, secrets) and a set of hostname patterns its workers may
// route; it reaches the admin API with a token of its own, of which the
// node keeps only the SHA-256.
//
// Hostname patterns (docs/security.md, "Accounts"):
//   `shop.example`     that host only
//   `*.shop.example`   every subdomain of shop.example, not shop.example
//                      itself (as in route patterns: see route_table.h)
// Two patterns overlap when one host matches both: equal exact hosts, an
// exact host under a wildcard (`a.shop.example` and `*.shop.example`), or
// two wildcards one of which is under the other (`*.shop.example` and
// `*.eu.shop.example`). `shop.example` and `*.shop.example` do not overlap,
// so two accounts may own them. A route's host is owned by an account when
// every host the route can match is matched by one of its patterns; the
// `*shop.example` form of a route needs both `shop.example` and
// `*.shop.example`.
//
// The account named `default` holds what was deployed before accounts
// existed and whatever the operator deploys without naming an account. It
// has no token (only the operator's reaches it) and no patterns: its
// workers may route any host that no other account's pattern overlaps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/deploy/route_table.h"

namespace edge::gateway {

inline constexpr std::string_view kDefaultAccount = "default";
// Hostname patterns per account, at most.
inline constexpr size_t kMaxAccountHosts = 1000;

// One hostname pattern, normalized (lower case, no trailing dot).
struct HostPattern {
  bool subdomains = false;  // `*.host`
  std::string host;         // without the `*.`

  std::string Text() const { return subdomains ? "*." + host : host; }
  bool operator==(const HostPattern&) const = default;
};

// Checks and normalizes `shop.example` or `*.shop.example`. Errors
// (kInvalidInput) quote the pattern and say what is wrong.
StatusOr<HostPattern> ParseHostPattern(std::string_view text);

// Whether one host matches both patterns (see above).
bool HostPatternsOverlap(const HostPattern& a, const HostPattern& b);

// The hosts a route's host part can match, as patterns: one for `host` and
// `*.host`, two for `*host`.
std::vector<HostPattern> RouteHostPatterns(const ParsedRoute& route);

// Whether every host `route` can match is matched by one of `owned`.
bool HostsCoverRoute(const std::vector<HostPattern>& owned, const ParsedRoute& route);

// An account as the store keeps it.
struct AccountRecord {
  std::string name;
  std::vector<HostPattern> hosts;
  std::string token_sha256;  // lower-case hex; empty: no token (revoked, or `default`)
  uint64_t created_ms = 0;

  std::string Encode() const;  // the stored JSON (without the name: it is the key)
  static StatusOr<AccountRecord> Parse(std::string_view name, std::string_view json);
  // {"name":..,"hosts":[..],"has_token":bool,"created_ms":N}: what the admin
  // API shows (never the hash).
  std::string PublicJson() const;
};

// A new account token: 32 random bytes (OpenSSL's RAND_bytes), hex.
StatusOr<std::string> NewAccountToken();

// Every account of a node, immutable once built: the admin API's view
// (token lookup) and the deploy checks (route ownership). Rebuilt after
// each change to the accounts.
class AccountTable {
 public:
  AccountTable() = default;
  explicit AccountTable(std::vector<AccountRecord> accounts);

  const AccountRecord* Find(std::string_view name) const;
  const std::map<std::string, AccountRecord, std::less<>>& all() const { return accounts_; }

  // The account whose token is `token`, or nullptr. Compares the token's
  // SHA-256 with every account's in constant time, without stopping at a
  // match, so the time taken tells nothing about which tokens exist.
  const AccountRecord* FindByToken(std::string_view token) const;

  // Whether `account` may route `route` (a parsed `pattern`): Ok, or an
  // error naming the host, which callers answer with 403 (`default`:
  // refused when another account's pattern overlaps the route's host; any
  // other account: refused unless its own patterns cover it).
  Status CheckRoute(std::string_view account, std::string_view pattern,
                    const ParsedRoute& route) const;

  // Whether `account` may add `pattern`: an error naming the other account
  // that owns an overlapping one (callers answer 409).
  Status CheckNewHost(std::string_view account, const HostPattern& pattern) const;

 private:
  std::map<std::string, AccountRecord, std::less<>> accounts_;
};

}  // namespace edge::gateway
