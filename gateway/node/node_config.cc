// node.toml: the configuration of `edge serve`.
#include <fmt/core.h>

#include <filesystem>
#include <sstream>
#include <toml++/toml.h>

#include "gateway/node/node.h"
#include "gateway/node/node_options.h"
#include "gateway/node/toml_file.h"
#include "gateway/policy/client_ip.h"
#include "gateway/policy/policy_config.h"

namespace edge::gateway {

StatusOr<toml::table> ParseTomlFile(const std::string& path) {
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("{}:{}:{}: {}", path, error.source().begin.line,
                              error.source().begin.column, error.description()));
  }
}

namespace {
namespace fs = std::filesystem;

std::string Where(const std::string& file, const toml::node& node) {
  return fmt::format("{}:{}", file, node.source().begin.line);
}

Status WrongType(const std::string& file, const toml::node& node, std::string_view key,
                 std::string_view expected) {
  return Status(ErrorCode::kInvalidInput,
                fmt::format("{}: {} must be {}", Where(file, node), key, expected));
}

// A path from the file, taken relative to the file's folder.
std::string Resolve(const std::string& file, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(file).parent_path() / path).lexically_normal().string();
}

Status ReadString(const std::string& file, const toml::table& table, std::string_view key,
                  std::string* out, bool is_path = false) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<std::string>();
  if (!value) return WrongType(file, *node, key, "a string");
  *out = is_path ? Resolve(file, *value) : *value;
  return Status::Ok();
}

template <typename T>
Status ReadNumber(const std::string& file, const toml::table& table, std::string_view key,
                  T* out, int64_t min, int64_t max) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<int64_t>();
  if (!value || *value < min || *value > max) {
    return WrongType(file, *node, key, fmt::format("an integer from {} to {}", min, max));
  }
  *out = static_cast<T>(*value);
  return Status::Ok();
}

Status ReadStringList(const std::string& file, const toml::table& table, std::string_view key,
                      std::vector<std::string>* out, bool is_path = false) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::Ok();
  const toml::array* list = node->as_array();
  if (list == nullptr) return WrongType(file, *node, key, "an array of strings");
  out->clear();
  for (const toml::node& item : *list) {
    auto value = item.value<std::string>();
    if (!value) return WrongType(file, item, key, "an array of strings");
    out->push_back(is_path ? Resolve(file, *value) : *value);
  }
  return Status::Ok();
}

}  // namespace

Status HostPoliciesFromToml(const std::string& path, const toml::table& table, std::string* json) {
  const toml::node* host_policies = table.get("host_policies");
  if (host_policies == nullptr) return Status::Ok();
  const toml::array* list = host_policies->as_array();
  if (list == nullptr || !(list->empty() || list->is_array_of_tables())) {
    return WrongType(path, *host_policies, "host_policies", "an array of tables ([[host_policies]])");
  }
  std::ostringstream text;
  text << toml::json_formatter(*list);
  auto parsed = policy::ParseHostPolicies(text.str());
  if (!parsed.ok()) {
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", path, parsed.status().message()));
  }
  *json = text.str();
  return Status::Ok();
}

Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("'{}' is not ADDRESS:PORT (e.g. 0.0.0.0:8080 or [::]:8080)", address));
  }
  std::string name = address.substr(0, colon);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  std::string digits = address.substr(colon + 1);
  char* end = nullptr;
  long value = strtol(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || value < 0 || value > 65535) {
    return Status(ErrorCode::kInvalidInput, fmt::format("'{}' has no valid port", address));
  }
  *host = name;
  *port = static_cast<int>(value);
  return Status::Ok();
}

Status LoadNodeConfig(const std::string& path, NodeOptions* options) {
  StatusOr<toml::table> parsed = ParseTomlFile(path);
  if (!parsed.ok()) return parsed.status();
  toml::table& table = *parsed;
  static const std::vector<std::string_view> kKnown = {
      "listen", "https", "tls", "admin", "admin_token_file", "data_dir", "threads", "heavy_cpu_us",
      "memory_budget_mb", "access_log", "pop_id", "max_body_mb", "header_timeout_ms",
      "idle_timeout_ms", "connections_per_origin", "outbound_connections",
      "outbound_requests_per_account", "allow_fetch_to", "sync_token_file",
      "sync_from", "sync_key", "sync_relay", "sync_snapshot_streams", "secrets_key",
      "signing_key", "sync_compact_every_s", "run_crons", "spare_isolates",
      "websockets_per_account", "cache_max_mb", "cache_account_max_mb", "cache_entry_max_mb",
      "r2_account_max_mb", "host_policies", "trusted_proxies", "forwarded_header", "rate_limit_slots",
      "workflow_retention_days"};
  for (const auto& [key, node] : table) {
    if (std::find(kKnown.begin(), kKnown.end(), key.str()) == kKnown.end()) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: unknown key '{}'", Where(path, node), key.str()));
    }
  }
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "listen", &options->listen));
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "https", &options->https));
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "admin", &options->admin));
  EDGE_RETURN_IF_ERROR(
      ReadString(path, table, "admin_token_file", &options->admin_token_file, true));
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "data_dir", &options->data_dir, true));
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "access_log", &options->access_log));
  if (options->access_log != "-") options->access_log = Resolve(path, options->access_log);
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "pop_id", &options->pop_id));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "threads", &options->threads, 0, 1024));
  EDGE_RETURN_IF_ERROR(
      ReadNumber(path, table, "heavy_cpu_us", &options->heavy_cpu_us, 0, 60000000));
  EDGE_RETURN_IF_ERROR(
      ReadNumber(path, table, "memory_budget_mb", &options->memory_budget_mb, 0, 1 << 24));
  EDGE_RETURN_IF_ERROR(
      ReadNumber(path, table, "spare_isolates", &options->spare_isolates, 0, 64));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "websockets_per_account",
                                  &options->websockets_per_account, 0, 10000000));
  size_t max_body_mb = options->limits.max_body_bytes >> 20;
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "max_body_mb", &max_body_mb, 1, 1 << 20));
  options->limits.max_body_bytes = max_body_mb << 20;
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "header_timeout_ms",
                                  &options->limits.header_timeout_ms, 0, 3600000));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "idle_timeout_ms", &options->limits.idle_timeout_ms,
                                  0, 86400000));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "connections_per_origin",
                                  &options->connections_per_origin, 1, 100000));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "outbound_connections",
                                  &options->outbound_connections, 1, 1000000));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "outbound_requests_per_account",
                                  &options->outbound_requests_per_account, 0, 1000000));
  EDGE_RETURN_IF_ERROR(
      ReadNumber(path, table, "cache_max_mb", &options->cache_max_mb, 1, uint64_t{1} << 30));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "cache_account_max_mb",
                                  &options->cache_account_max_mb, 1, uint64_t{1} << 30));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "cache_entry_max_mb", &options->cache_entry_max_mb,
                                  1, uint64_t{1} << 20));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "r2_account_max_mb", &options->r2_account_max_mb, 1,
                                  uint64_t{1} << 30));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "workflow_retention_days",
                                  &options->workflow_retention_days, 1, 30));
  EDGE_RETURN_IF_ERROR(ReadStringList(path, table, "allow_fetch_to", &options->allow_fetch_to));
  EDGE_RETURN_IF_ERROR(
      ReadString(path, table, "sync_token_file", &options->sync_token_file, true));
  EDGE_RETURN_IF_ERROR(ReadStringList(path, table, "trusted_proxies", &options->trusted_proxies));
  EDGE_RETURN_IF_ERROR(ReadString(path, table, "forwarded_header", &options->forwarded_header));
  EDGE_RETURN_IF_ERROR(ReadNumber(path, table, "rate_limit_slots", &options->rate_limit_slots, 64,
                                  size_t{1} << 28));
  {
    auto proxies = policy::TrustedProxies::Parse(options->trusted_proxies, options->forwarded_header);
    if (!proxies.ok()) return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", path, proxies.status().message()));
  }
  EDGE_RETURN_IF_ERROR(HostPoliciesFromToml(path, table, &options->host_policies_json));
  if (const toml::node* run_crons = table.get("run_crons")) {
    std::optional<bool> value = run_crons->value_exact<bool>();
    if (!value) return WrongType(path, *run_crons, "run_crons", "true or false");
    options->run_crons = *value;
  }
  if (const toml::node* tls = table.get("tls")) {
    const toml::array* list = tls->as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      return WrongType(path, *tls, "tls", "an array of tables ([[tls]])");
    }
    options->tls.clear();
    for (const toml::node& item : *list) {
      const toml::table& entry = *item.as_table();
      TlsCertificate certificate;
      EDGE_RETURN_IF_ERROR(ReadStringList(path, entry, "hosts", &certificate.hosts));
      EDGE_RETURN_IF_ERROR(ReadString(path, entry, "cert", &certificate.cert_path, true));
      EDGE_RETURN_IF_ERROR(ReadString(path, entry, "key", &certificate.key_path, true));
      if (certificate.hosts.empty() || certificate.cert_path.empty() ||
          certificate.key_path.empty()) {
        return Status(ErrorCode::kInvalidInput,
                      fmt::format("{}: each [[tls]] needs hosts, cert and key", Where(path, item)));
      }
      options->tls.push_back(std::move(certificate));
    }
  }
  return Status::Ok();
}

int RunNode(const NodeOptions& options, std::vector<std::unique_ptr<NodeExtension>> extensions) {
  Node node(options, std::move(extensions));
  return node.Run();
}

}  // namespace edge::gateway
