#include "gateway/deploy/route_table.h"

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace edge::gateway {
namespace {

// Heterogeneous lookup: Match looks up string_views (a slice of the Host
// header, a prefix of the path) without building a std::string for each.
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <typename V>
using ViewMap = std::unordered_map<std::string, V, ViewHash, std::equal_to<>>;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = Lower(c);
  return out;
}

Status PatternError(std::string_view pattern, std::string_view what) {
  return Status(ErrorCode::kInvalidInput, fmt::format("route \"{}\": {}", pattern, what));
}

// Hostname labels as DNS (and Cloudflare) allow them, plus `_`, which some
// real hostnames carry.
Status CheckHost(std::string_view pattern, std::string_view host) {
  if (host.find(':') != std::string_view::npos) {
    return PatternError(pattern, "a route has no port (the port of a request is ignored)");
  }
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string_view::npos) {
    return PatternError(pattern, "the host has an empty label (a leading, trailing or double dot)");
  }
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) {
      return PatternError(pattern,
                          fmt::format("the host may not contain '{}' (letters, digits, '-', '_' "
                                      "and '.' only)",
                                      c));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ParsedRoute::Key() const {
  std::string key;
  if (host_kind == HostKind::kSubdomains) key = "*.";
  if (host_kind == HostKind::kDomainAndSubdomains) key = "*";
  key += host;
  key += path;
  if (path_prefix) key += '*';
  return key;
}

StatusOr<ParsedRoute> ParseRoutePattern(std::string_view pattern) {
  if (pattern.empty()) return Status(ErrorCode::kInvalidInput, "a route pattern cannot be empty");
  for (char c : pattern) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return PatternError(pattern, "a route may not contain spaces or control characters");
    }
    if (byte >= 0x80) {
      return PatternError(pattern,
                          "a route must be ASCII: write the host in punycode (xn--...) and "
                          "percent-encode the path");
    }
  }
  std::string_view rest = pattern;
  if (size_t scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    // Workers accepts a scheme and matches both anyway: so do we.
    std::string scheme = LowerAscii(rest.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") {
      return PatternError(pattern, "the scheme, if any, must be http:// or https://");
    }
    rest.remove_prefix(scheme_end + 3);
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return PatternError(pattern, fmt::format("a route needs a path: write \"{}/*\" to match every "
                                             "path of the host",
                                             pattern));
  }
  std::string host = LowerAscii(rest.substr(0, slash));
  std::string_view path = rest.substr(slash);
  if (host.empty()) return PatternError(pattern, "the host is empty");
  if (path.find_first_of("?#") != std::string_view::npos) {
    return PatternError(pattern, "a route cannot hold a query string or a fragment");
  }

  ParsedRoute route;
  size_t star = path.find('*');
  if (star != std::string_view::npos && star != path.size() - 1) {
    return PatternError(pattern, "'*' may only end the path");
  }
  route.path_prefix = star != std::string_view::npos;
  route.path = std::string(route.path_prefix ? path.substr(0, star) : path);

  if (host.front() == '*') {
    host.erase(0, 1);
    if (!host.empty() && host.front() == '.') {
      host.erase(0, 1);
      route.host_kind = ParsedRoute::HostKind::kSubdomains;
    } else {
      route.host_kind = ParsedRoute::HostKind::kDomainAndSubdomains;
    }
    if (host.empty()) return PatternError(pattern, "a wildcard host needs a domain after '*'");
  }
  if (host.find('*') != std::string::npos) {
    return PatternError(pattern, "the host may hold one '*', at its start only");
  }
  EDGE_RETURN_IF_ERROR(CheckHost(pattern, host));
  route.host = std::move(host);
  return route;
}

// The routes of one host pattern, by path.
struct PathRules {
  ViewMap<std::string> exact;          // path -> worker
  ViewMap<std::string> prefix;         // path without '*' -> worker
  std::vector<size_t> prefix_lengths;  // distinct, longest first

  const std::string* Match(std::string_view path) const {
    // An exact path that matches is as long as the request's path, so no
    // prefix can beat it (a prefix of equal length loses the tie).
    if (auto it = exact.find(path); it != exact.end()) return &it->second;
    for (size_t length : prefix_lengths) {
      if (length > path.size()) continue;
      if (auto it = prefix.find(path.substr(0, length)); it != prefix.end()) return &it->second;
    }
    return nullptr;
  }
};

struct RouteTable::Index {
  ViewMap<PathRules> exact_hosts;  // example.com
  ViewMap<PathRules> subdomains;   // *.example.com, by "example.com"
  ViewMap<PathRules> domains;      // *example.com, by "example.com"
  // Normalized pattern (ParsedRoute::Key) -> the index in routes_ of the
  // route that claimed it first.
  ViewMap<size_t> claims;
};

namespace {

Status ClaimedTwice(const Route& first, const Route& route) {
  std::string as =
      first.pattern == route.pattern ? std::string() : fmt::format(" (as \"{}\")", first.pattern);
  return Status(ErrorCode::kInvalidInput,
                fmt::format("route \"{}\" is claimed by two workers: \"{}\"{} and \"{}\"",
                            route.pattern, first.worker, as, route.worker));
}

StatusOr<ParsedRoute> ParseFor(const Route& route) {
  StatusOr<ParsedRoute> parsed = ParseRoutePattern(route.pattern);
  if (!parsed.ok()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("worker \"{}\": {}", route.worker, parsed.status().message()));
  }
  return parsed;
}

}  // namespace

RouteTable::RouteTable() : index_(std::make_unique<Index>()) {}
RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

StatusOr<RouteTable> RouteTable::Build(std::vector<Route> routes) {
  RouteTable table;
  ViewMap<size_t>& claimed = table.index_->claims;
  for (size_t i = 0; i < routes.size(); ++i) {
    const Route& route = routes[i];
    if (route.worker.empty()) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("route \"{}\" names no worker", route.pattern));
    }
    StatusOr<ParsedRoute> parsed = ParseFor(route);
    if (!parsed.ok()) return parsed.status();
    auto [it, inserted] = claimed.emplace(parsed->Key(), i);
    if (!inserted) {
      const Route& first = routes[it->second];
      if (first.worker == route.worker) continue;  // listed twice: harmless
      return ClaimedTwice(first, route);
    }
    ViewMap<PathRules>* hosts = &table.index_->exact_hosts;
    if (parsed->host_kind == ParsedRoute::HostKind::kSubdomains) hosts = &table.index_->subdomains;
    if (parsed->host_kind == ParsedRoute::HostKind::kDomainAndSubdomains) {
      hosts = &table.index_->domains;
    }
    PathRules& rules = (*hosts)[parsed->host];
    if (parsed->path_prefix) {
      rules.prefix.emplace(parsed->path, route.worker);
      auto& lengths = rules.prefix_lengths;
      if (std::find(lengths.begin(), lengths.end(), parsed->path.size()) == lengths.end()) {
        lengths.push_back(parsed->path.size());
        std::sort(lengths.begin(), lengths.end(), std::greater<>());
      }
    } else {
      rules.exact.emplace(parsed->path, route.worker);
    }
  }
  table.routes_ = std::move(routes);
  return table;
}

const std::string* RouteTable::Match(std::string_view host_header, std::string_view path) const {
  // The host: no port ("example.com:8080", "[::1]:8080"), no trailing dot,
  // lower case.
  std::string_view host = host_header;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return nullptr;
  std::string lower = LowerAscii(host);

  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) path = "/";

  if (auto it = index_->exact_hosts.find(lower); it != index_->exact_hosts.end()) {
    if (const std::string* worker = it->second.Match(path)) return worker;
  }
  // Wildcard hosts, longest pattern first: for each suffix of the host that
  // starts at a label (the whole host first), `*.suffix` (only for a proper
  // suffix) is longer than `*suffix`, which is longer than any pattern of
  // the next, shorter suffix.
  std::string_view suffix = lower;
  bool whole = true;
  for (;;) {
    if (!whole) {
      if (auto it = index_->subdomains.find(suffix); it != index_->subdomains.end()) {
        if (const std::string* worker = it->second.Match(path)) return worker;
      }
    }
    if (auto it = index_->domains.find(suffix); it != index_->domains.end()) {
      if (const std::string* worker = it->second.Match(path)) return worker;
    }
    size_t dot = suffix.find('.');
    if (dot == std::string_view::npos) break;
    suffix.remove_prefix(dot + 1);
    whole = false;
  }
  return nullptr;
}

Status RouteTable::CheckClaims(std::string_view worker,
                               const std::vector<std::string>& patterns) const {
  if (patterns.empty()) return Status::Ok();
  if (worker.empty()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("route \"{}\" names no worker", patterns.front()));
  }
  for (const std::string& pattern : patterns) {
    Route route{pattern, std::string(worker)};
    StatusOr<ParsedRoute> parsed = ParseFor(route);
    if (!parsed.ok()) return parsed.status();
    auto it = index_->claims.find(parsed->Key());
    // Its own routes are replaced; listed twice in `patterns` is harmless.
    if (it != index_->claims.end() && routes_[it->second].worker != worker) {
      return ClaimedTwice(routes_[it->second], route);
    }
  }
  return Status::Ok();
}

const std::vector<Route>& RouteTable::routes() const { return routes_; }

}  // namespace edge::gateway
