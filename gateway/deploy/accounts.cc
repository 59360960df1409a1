#include "gateway/deploy/accounts.h"

#include <fmt/core.h>
#include <openssl/crypto.h>
#include <simdjson.h>

#include "base/random_hex.h"
#include "base/ascii.h"
#include "base/json_text.h"
#include "base/sha256.h"

namespace edge::gateway {
namespace {

Status Corrupt(std::string_view name) {
  return Status(ErrorCode::kInternal,
                fmt::format("deploy store: the record of account \"{}\" is corrupt", name));
}

// `host` is `under` or one of its subdomains.
bool AtOrUnder(std::string_view host, std::string_view under) {
  return host == under || (host.size() > under.size() && host.ends_with(under) &&
                           host[host.size() - under.size() - 1] == '.');
}

// Whether `pattern` matches every host `wanted` matches.
bool Covers(const HostPattern& pattern, const HostPattern& wanted) {
  if (!pattern.subdomains) return !wanted.subdomains && wanted.host == pattern.host;
  // `*.d` matches the strict subdomains of d: `*.e` with e at or under d,
  // or an exact host strictly under d.
  if (wanted.subdomains) return AtOrUnder(wanted.host, pattern.host);
  return wanted.host != pattern.host && AtOrUnder(wanted.host, pattern.host);
}

}  // namespace

StatusOr<HostPattern> ParseHostPattern(std::string_view text) {
  // The host rules are the routes' (route_table.cc): parse it as one.
  if (text.find('/') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("host \"{}\": a hostname pattern has no path", text));
  }
  auto parsed = ParseRoutePattern(std::string(text) + "/*");
  if (!parsed.ok()) {
    return Status(ErrorCode::kInvalidInput, fmt::format("host \"{}\" is not a hostname pattern: {}",
                                                        text, parsed.status().message()));
  }
  if (parsed->host_kind == ParsedRoute::HostKind::kDomainAndSubdomains) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("host \"{}\": an account owns a host (`{}`) or its subdomains "
                              "(`*.{}`); give both for both",
                              text, parsed->host, parsed->host));
  }
  if (parsed->host.find('.') == std::string::npos &&
      parsed->host_kind != ParsedRoute::HostKind::kExact) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("host \"{}\": a wildcard must be followed by a domain with at "
                              "least two labels",
                              text));
  }
  return HostPattern{parsed->host_kind == ParsedRoute::HostKind::kSubdomains, parsed->host};
}

bool HostPatternsOverlap(const HostPattern& a, const HostPattern& b) {
  if (!a.subdomains && !b.subdomains) return a.host == b.host;
  if (a.subdomains && b.subdomains) {
    return AtOrUnder(a.host, b.host) || AtOrUnder(b.host, a.host);
  }
  const HostPattern& exact = a.subdomains ? b : a;
  const HostPattern& wild = a.subdomains ? a : b;
  return exact.host != wild.host && AtOrUnder(exact.host, wild.host);
}

std::vector<HostPattern> RouteHostPatterns(const ParsedRoute& route) {
  switch (route.host_kind) {
    case ParsedRoute::HostKind::kExact:
      return {HostPattern{false, route.host}};
    case ParsedRoute::HostKind::kSubdomains:
      return {HostPattern{true, route.host}};
    case ParsedRoute::HostKind::kDomainAndSubdomains:
      return {HostPattern{false, route.host}, HostPattern{true, route.host}};
  }
  return {};
}

bool HostsCoverRoute(const std::vector<HostPattern>& owned, const ParsedRoute& route) {
  for (const HostPattern& wanted : RouteHostPatterns(route)) {
    bool covered = false;
    for (const HostPattern& pattern : owned) covered = covered || Covers(pattern, wanted);
    if (!covered) return false;
  }
  return true;
}

std::string AccountRecord::Encode() const {
  std::vector<std::string> texts;
  for (const HostPattern& host : hosts) texts.push_back(host.Text());
  std::string out = "{\"hosts\":";
  base::AppendJsonStringArray(out, texts);
  out += fmt::format(",\"token_sha256\":{},\"created_ms\":{}}}", base::JsonString(token_sha256),
                     created_ms);
  return out;
}

StatusOr<AccountRecord> AccountRecord::Parse(std::string_view name, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  simdjson::dom::array hosts;
  std::string_view token;
  uint64_t created = 0;
  if (parser.parse(json.data(), json.size()).get(object) != simdjson::SUCCESS ||
      object["hosts"].get_array().get(hosts) != simdjson::SUCCESS ||
      object["token_sha256"].get_string().get(token) != simdjson::SUCCESS ||
      object["created_ms"].get_uint64().get(created) != simdjson::SUCCESS ||
      !(token.empty() || base::IsSha256Hex(token))) {
    return Corrupt(name);
  }
  AccountRecord record;
  record.name = std::string(name);
  record.token_sha256 = std::string(token);
  record.created_ms = created;
  for (simdjson::dom::element item : hosts) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) return Corrupt(name);
    auto host = ParseHostPattern(text);
    if (!host.ok()) return Corrupt(name);
    record.hosts.push_back(std::move(host).value());
  }
  return record;
}

std::string AccountRecord::PublicJson() const {
  std::vector<std::string> texts;
  for (const HostPattern& host : hosts) texts.push_back(host.Text());
  std::string out = fmt::format("{{\"name\":{},\"hosts\":", base::JsonString(name));
  base::AppendJsonStringArray(out, texts);
  out += fmt::format(",\"has_token\":{},\"created_ms\":{}}}",
                     token_sha256.empty() ? "false" : "true", created_ms);
  return out;
}

StatusOr<std::string> NewAccountToken() { return base::RandomHex(32, "a token"); }

AccountTable::AccountTable(std::vector<AccountRecord> accounts) {
  for (AccountRecord& account : accounts) {
    std::string name = account.name;
    accounts_.emplace(std::move(name), std::move(account));
  }
}

const AccountRecord* AccountTable::Find(std::string_view name) const {
  auto it = accounts_.find(name);
  return it == accounts_.end() ? nullptr : &it->second;
}

const AccountRecord* AccountTable::FindByToken(std::string_view token) const {
  std::string given = base::Sha256Hex(token);
  const AccountRecord* found = nullptr;
  for (const auto& [name, account] : accounts_) {
    if (account.token_sha256.size() != given.size()) continue;  // no token: nothing to match
    bool same = CRYPTO_memcmp(account.token_sha256.data(), given.data(), given.size()) == 0;
    if (same) found = &account;
  }
  return found;
}

Status AccountTable::CheckRoute(std::string_view account, std::string_view pattern,
                                const ParsedRoute& route) const {
  if (account == kDefaultAccount) {
    for (const auto& [name, other] : accounts_) {
      if (name == kDefaultAccount) continue;
      for (const HostPattern& owned : other.hosts) {
        for (const HostPattern& wanted : RouteHostPatterns(route)) {
          if (HostPatternsOverlap(owned, wanted)) {
            return Status(ErrorCode::kInvalidInput,
                          fmt::format("route \"{}\": the host {} belongs to another account",
                                      pattern, wanted.Text()));
          }
        }
      }
    }
    return Status::Ok();
  }
  const AccountRecord* owner = Find(account);
  std::vector<HostPattern> owned = owner ? owner->hosts : std::vector<HostPattern>{};
  for (const HostPattern& wanted : RouteHostPatterns(route)) {
    if (!HostsCoverRoute(owned, ParsedRoute{wanted.subdomains ? ParsedRoute::HostKind::kSubdomains
                                                              : ParsedRoute::HostKind::kExact,
                                            wanted.host, "/", true})) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("route \"{}\": the host {} is not one of account {}'s hosts",
                                pattern, wanted.Text(), account));
    }
  }
  return Status::Ok();
}

Status AccountTable::CheckNewHost(std::string_view account, const HostPattern& pattern) const {
  for (const auto& [name, other] : accounts_) {
    if (name == account) continue;
    for (const HostPattern& owned : other.hosts) {
      if (HostPatternsOverlap(owned, pattern)) {
        return Status(ErrorCode::kInvalidInput,
                      fmt::format("host {} overlaps {}, which account {} owns", pattern.Text(),
                                  owned.Text(), name));
      }
    }
  }
  return Status::Ok();
}

}  // namespace edge::gateway
