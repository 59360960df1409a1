#include "cli/sync_commands.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>

#include "base/http_client/http_client.h"
#include "base/log.h"
#include "edge-sync/entry.h"
#include "edge-sync/origin.h"
#include "edge-sync/replica.h"
#include "edge-sync/signing_keys.h"
#include "gateway/node/node_extension.h"
#include "gateway/node/toml_file.h"

namespace edge::cli {
namespace {
namespace fs = std::filesystem;

// Keys of a config file that belong to edge-sync, read beside
// gateway::LoadNodeConfig (paths relative to the file).
struct SyncConfig {
  std::string sync_from, sync_key, sync_token_file, secrets_key, signing_key, listen, data_dir,
      token_file, cron_home;
  int64_t cron_home_grace_s = -1;
  bool sync_relay = false;
  int64_t compact_every_s = -1;
  int64_t sync_compact_every_s = -1;
  int64_t fleet_forget_after_s = -1;
  int64_t sync_snapshot_streams = -1;  // -1: not in the file
  bool has_host_policies = false;      // [[host_policies]] tables
};

StatusOr<SyncConfig> ReadSyncConfig(const std::string& path) {
  SyncConfig config;
  if (path.empty()) return config;
  StatusOr<toml::table> parsed = gateway::ParseTomlFile(path);
  if (!parsed.ok()) return parsed.status();
  toml::table& table = *parsed;
  auto resolve = [&](const std::string& value) {
    if (value.empty() || fs::path(value).is_absolute()) return value;
    return (fs::path(path).parent_path() / value).lexically_normal().string();
  };
  auto string = [&](const char* key, std::string* out, bool is_path) -> Status {
    const toml::node* node = table.get(key);
    if (node == nullptr) return Status::Ok();
    auto value = node->value<std::string>();
    if (!value) {
      return Status(ErrorCode::kInvalidInput, fmt::format("{}: {} must be a string", path, key));
    }
    *out = is_path ? resolve(*value) : *value;
    return Status::Ok();
  };
  EDGE_RETURN_IF_ERROR(string("sync_from", &config.sync_from, false));
  EDGE_RETURN_IF_ERROR(string("sync_key", &config.sync_key, true));
  EDGE_RETURN_IF_ERROR(string("sync_token_file", &config.sync_token_file, true));
  EDGE_RETURN_IF_ERROR(string("secrets_key", &config.secrets_key, true));
  EDGE_RETURN_IF_ERROR(string("signing_key", &config.signing_key, true));
  EDGE_RETURN_IF_ERROR(string("listen", &config.listen, false));
  EDGE_RETURN_IF_ERROR(string("data_dir", &config.data_dir, true));
  EDGE_RETURN_IF_ERROR(string("token_file", &config.token_file, true));
  EDGE_RETURN_IF_ERROR(string("cron_home", &config.cron_home, false));
  config.has_host_policies = table.contains("host_policies");
  if (const toml::node* relay = table.get("sync_relay")) {
    auto value = relay->value<bool>();
    if (!value) return Status(ErrorCode::kInvalidInput, fmt::format("{}: sync_relay must be true or false", path));
    config.sync_relay = *value;
  }
  if (const toml::node* every = table.get("compact_every_s")) {
    auto value = every->value<int64_t>();
    if (!value || *value < 0) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: compact_every_s must be a number of seconds", path));
    }
    config.compact_every_s = *value;
  }
  auto seconds = [&](const char* key, int64_t* out) -> Status {
    const toml::node* node = table.get(key);
    if (node == nullptr) return Status::Ok();
    auto value = node->value<int64_t>();
    if (!value || *value < 0) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: {} must be a number of seconds", path, key));
    }
    *out = *value;
    return Status::Ok();
  };
  EDGE_RETURN_IF_ERROR(seconds("sync_compact_every_s", &config.sync_compact_every_s));
  EDGE_RETURN_IF_ERROR(seconds("fleet_forget_after_s", &config.fleet_forget_after_s));
  EDGE_RETURN_IF_ERROR(seconds("cron_home_grace_s", &config.cron_home_grace_s));
  if (const toml::node* streams = table.get("sync_snapshot_streams")) {
    auto value = streams->value<int64_t>();
    if (!value || *value < 1 || *value > 1000) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("{}: sync_snapshot_streams must be a number from 1 to 1000", path));
    }
    config.sync_snapshot_streams = *value;
  }
  return config;
}

void AddLogLevelOption(CLI::App* command, std::string* level) {
  command->add_option("--log-level", *level, "Lowest level logged: debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->default_val("info");
}

void ApplyLogLevel(const std::string& name) {
  LogLevel level;
  if (ParseLogLevel(name, &level)) SetLogLevel(level);
}

// A field of the node's JSON, or `fallback` when it is missing.
template <typename T>
T Field(simdjson::dom::element object, std::string_view key, T fallback) {
  T value;
  return object[key].get(value) == simdjson::SUCCESS ? value : fallback;
}

std::string Ago(uint64_t then_ms, uint64_t now_ms) {
  if (then_ms == 0) return "never";
  double seconds = now_ms > then_ms ? static_cast<double>(now_ms - then_ms) / 1000.0 : 0;
  return fmt::format("{:.1f} s ago", seconds);
}

int PrintFleet(const std::string& body, bool json) {
  if (json) {
    printf("%s\n", body.c_str());
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) {
    fprintf(stderr, "edge status: the node's answer is not JSON\n");
    return 1;
  }
  uint64_t head = Field<uint64_t>(root, "head", 0);
  uint64_t compacted = Field<uint64_t>(root, "compacted_through", 0);
  uint64_t now = Field<uint64_t>(root, "now_ms", 0);
  std::string_view epoch = Field<std::string_view>(root, "epoch", "");
  printf("log head %llu, compacted through %llu, epoch %.*s\n",
         static_cast<unsigned long long>(head), static_cast<unsigned long long>(compacted),
         static_cast<int>(epoch.empty() ? 1 : epoch.size()), epoch.empty() ? "-" : epoch.data());
  printf("%-16s %10s %8s %16s %10s %8s %10s\n", "POP", "CURSOR", "LAG", "LAST CONTACT", "VIA",
         "REFUSED", "KV REFUSED");
  simdjson::dom::array pops;
  if (root["pops"].get_array().get(pops) != simdjson::SUCCESS) return 0;
  // KV writes the origin refused, below the table: the operator must see
  // them, with the key and the reason.
  std::vector<std::string> kv_refusals;
  for (simdjson::dom::element pop : pops) {
    std::string_view id = Field<std::string_view>(pop, "pop_id", "");
    std::string_view via = Field<std::string_view>(pop, "via", "");
    uint64_t cursor = Field<uint64_t>(pop, "cursor", 0);
    uint64_t lag = Field<uint64_t>(pop, "lag", 0);
    uint64_t contact = Field<uint64_t>(pop, "last_contact_ms", 0);
    uint64_t refused = Field<uint64_t>(pop, "refused", 0);
    uint64_t kv_refused = Field<uint64_t>(pop, "kv_refused", 0);
    std::string_view last = Field<std::string_view>(pop, "kv_last_refused", "");
    printf("%-16.*s %10llu %8llu %16s %10.*s %8llu %10llu\n", static_cast<int>(id.size()),
           id.data(), static_cast<unsigned long long>(cursor), static_cast<unsigned long long>(lag),
           Ago(contact, now).c_str(), static_cast<int>(via.empty() ? 1 : via.size()),
           via.empty() ? "-" : via.data(), static_cast<unsigned long long>(refused),
           static_cast<unsigned long long>(kv_refused));
    if (kv_refused > 0 && !last.empty()) {
      kv_refusals.push_back(fmt::format("{}: {} KV write(s) refused by the origin, the last: {}",
                                        id, kv_refused, last));
    }
  }
  for (const std::string& line : kv_refusals) printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

std::function<int()> AddSyncCommands(CLI::App& app) {
  struct Flags {
    std::string config, listen = "127.0.0.1:9000", data_dir = "edge-origin", token_file,
                        signing_key, secrets_key, sync_token_file, pop_id = "origin",
                        log_level = "info", cron_home;
    int64_t compact_every_s = 600;
    int64_t cron_home_grace_s = 10;
    int64_t fleet_forget_after_s = 86400;
    int64_t snapshot_streams = 4;
    uint64_t r2_account_max_mb = 0;
    std::string keygen_out;
    std::string status_from, status_token_file;
    bool status_json = false;
    bool new_epoch = false;
  };
  auto flags = std::make_shared<Flags>();

  CLI::App* origin = app.add_subcommand(
      "origin", "Run the fleet's origin: accept deploys, secrets and KV writes on the admin API, "
                "log each as a signed entry, and feed the log to PoPs and relays");
  origin->add_option("--config", flags->config, "origin.toml; its keys are the flags' names with "
                                                "underscores (flags win)");
  origin->add_option("--listen", flags->listen, "The admin and sync API: ADDRESS:PORT")
      ->default_str(flags->listen);
  origin->add_option("--data-dir", flags->data_dir, "Folder of the origin's LMDB stores")
      ->default_str(flags->data_dir);
  origin->add_option("--token-file", flags->token_file, "The admin API's bearer token (required)");
  origin->add_option("--signing-key", flags->signing_key,
                     "The Ed25519 private key entries are signed with (edge keygen)");
  origin->add_option("--secrets-key", flags->secrets_key,
                     "The fleet's secrets key (32 random bytes, base64 or hex): secrets are sealed "
                     "with it for the PoPs");
  origin->add_option("--sync-token-file", flags->sync_token_file,
                     "A token that grants the sync API and KV writes only, for PoPs");
  origin->add_option("--compact-every-s", flags->compact_every_s,
                     "Compact the log through its head this often (0: only POST /sync/compact)")
      ->default_str("600");
  origin
      ->add_option("--fleet-forget-after-s", flags->fleet_forget_after_s,
                   "Drop a PoP from the fleet view (edge status) when no check-in of it came "
                   "for this long (0: never)")
      ->default_str("86400");
  origin->add_option("--cron-home", flags->cron_home,
                     "The PoP (its --pop-id) that fires the fleet's cron triggers, always; by "
                     "default the origin names one of the PoPs that check in with it directly "
                     "and have no run_crons of their own, and another when it stops checking in");
  origin
      ->add_option("--cron-home-grace-s", flags->cron_home_grace_s,
                   "Name another cron home when the current one has not checked in for this long")
      ->default_str("10")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}));
  origin->add_flag("--new-epoch", flags->new_epoch,
                   "Start a new epoch of the log: every PoP takes a snapshot instead of tailing. "
                   "Needed after restoring a whole data folder (origin-epoch file included); a "
                   "restore of deploy/, kv/ and sync/ alone is noticed without it");
  origin->add_option("--r2-account-max-mb", flags->r2_account_max_mb,
                     "MiB of R2 objects each account's buckets may hold; the fleet's buckets live "
                     "here (default: 10240)");
  origin->add_option("--sync-snapshot-streams", flags->snapshot_streams,
                     "Snapshots served at once; beyond, 503 with Retry-After (PoPs back off)")
      ->default_str("4")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  AddLogLevelOption(origin, &flags->log_level);

  CLI::App* keygen = app.add_subcommand(
      "keygen", "Make the origin's Ed25519 signing key: FILE (private, mode 0600) and FILE.pub "
                "(for PoPs' --sync-key)");
  keygen->add_option("--out", flags->keygen_out, "Where to write the private key")->required();

  CLI::App* status = app.add_subcommand(
      "status",
      "Show the fleet as the origin (or a relay) sees it: every PoP, its cursor, its "
      "lag, when it was last heard from, and the KV writes the origin refused (with "
      "the last one's key and reason)");
  status->add_option("--from", flags->status_from, "The origin's (or a relay's) admin URL")
      ->required();
  status->add_option("--token-file", flags->status_token_file,
                     "File holding the admin or sync token (default: $EDGE_API_TOKEN)");
  status->add_flag("--json", flags->status_json, "Print the node's JSON as is");

  return [flags, origin, keygen, status]() -> int {
    if (keygen->parsed()) {
      auto key = sync::SigningKey::Generate();
      Status saved = key.ok() ? key->Save(flags->keygen_out) : key.status();
      if (!saved.ok()) {
        fprintf(stderr, "edge keygen: %s\n", saved.message().c_str());
        return 1;
      }
      printf("Wrote %s (private: keep it on the origin) and %s.pub (give it to every PoP)\n",
             flags->keygen_out.c_str(), flags->keygen_out.c_str());
      printf("For secrets, make the fleet's secrets key too: head -c 32 /dev/urandom | base64 > "
             "fleet-secrets.key\n");
      return 0;
    }
    if (status->parsed()) {
      auto token = base::ResolveToken(flags->status_token_file);
      if (!token.ok()) {
        fprintf(stderr, "edge status: %s\n", token.status().message().c_str());
        return 1;
      }
      base::HttpTarget target;
      target.url = flags->status_from;
      target.token = *token;
      auto response = base::Request(target, "GET", "/sync/fleet");
      if (!response.ok()) {
        fprintf(stderr, "edge status: %s\n", response.status().message().c_str());
        return 1;
      }
      if (response->status != 200) {
        fprintf(stderr, "edge status: %s\n", base::ResponseError(*response).message().c_str());
        return 1;
      }
      return PrintFleet(response->body, flags->status_json);
    }
    if (!origin->parsed()) return -1;

    ApplyLogLevel(flags->log_level);
    auto config = ReadSyncConfig(flags->config);
    if (!config.ok()) {
      fprintf(stderr, "edge origin: %s\n", config.status().message().c_str());
      return 1;
    }
    if (config->has_host_policies) {
      fprintf(stderr,
              "edge origin: %s: the fleet's [[host_policies]] are not read from origin.toml: set "
              "them with `edge host-policies put FILE --to <this origin>` (PUT /host-policies), "
              "which logs them for every PoP\n",
              flags->config.c_str());
      return 1;
    }
    auto given = [&](const char* name) { return origin->get_option(name)->count() > 0; };
    auto pick = [&](const char* flag, const std::string& from_flag, const std::string& from_file,
                    const std::string& fallback) {
      if (given(flag)) return from_flag;
      return from_file.empty() ? fallback : from_file;
    };
    gateway::NodeOptions options;
    options.serve_traffic = false;
    options.listen = "";
    options.pop_id = flags->pop_id;
    options.admin = pick("--listen", flags->listen, config->listen, flags->listen);
    options.data_dir = pick("--data-dir", flags->data_dir, config->data_dir, flags->data_dir);
    options.admin_token_file = pick("--token-file", flags->token_file, config->token_file, "");
    options.sync_token_file =
        pick("--sync-token-file", flags->sync_token_file, config->sync_token_file, "");
    if (given("--r2-account-max-mb")) options.r2_account_max_mb = flags->r2_account_max_mb;
    sync::OriginOptions origin_options;
    origin_options.signing_key_path =
        pick("--signing-key", flags->signing_key, config->signing_key, "");
    origin_options.secrets_key_path =
        pick("--secrets-key", flags->secrets_key, config->secrets_key, "");
    int64_t every = given("--compact-every-s") || config->compact_every_s < 0
                        ? flags->compact_every_s
                        : config->compact_every_s;
    origin_options.compact_every_ms = static_cast<uint64_t>(every) * 1000;
    origin_options.new_epoch = flags->new_epoch;
    int64_t forget = given("--fleet-forget-after-s") || config->fleet_forget_after_s < 0
                         ? flags->fleet_forget_after_s
                         : config->fleet_forget_after_s;
    if (forget < 0) {
      fprintf(stderr, "edge origin: --fleet-forget-after-s must be 0 or more\n");
      return 1;
    }
    origin_options.fleet_forget_after_ms = static_cast<uint64_t>(forget) * 1000;
    origin_options.cron_home = pick("--cron-home", flags->cron_home, config->cron_home, "");
    int64_t grace = given("--cron-home-grace-s") || config->cron_home_grace_s < 0
                        ? flags->cron_home_grace_s
                        : config->cron_home_grace_s;
    if (grace < 1) {
      fprintf(stderr, "edge origin: cron_home_grace_s must be 1 or more\n");
      return 1;
    }
    origin_options.cron_home_grace_ms = static_cast<uint64_t>(grace) * 1000;
    origin_options.max_snapshot_streams = static_cast<size_t>(
        given("--sync-snapshot-streams") || config->sync_snapshot_streams < 0
            ? flags->snapshot_streams
            : config->sync_snapshot_streams);
    if (origin_options.signing_key_path.empty()) {
      fprintf(stderr, "edge origin: --signing-key is required (make one with `edge keygen --out "
                      "origin.key`)\n");
      return 1;
    }
    std::vector<std::unique_ptr<gateway::NodeExtension>> extensions;
    extensions.push_back(std::make_unique<sync::OriginExtension>(origin_options));
    return gateway::RunNode(options, std::move(extensions));
  };
}

std::function<StatusOr<std::vector<std::unique_ptr<gateway::NodeExtension>>>(const std::string&)>
AddReplicaFlags(CLI::App& serve) {
  auto flags = std::make_shared<SyncConfig>();
  serve.add_option("--sync-from", flags->sync_from,
                   "Replicate from this origin's (or relay's) admin URL instead of taking deploys");
  serve.add_option("--sync-key", flags->sync_key,
                   "The origin's public key (FILE.pub of edge keygen): entries not signed with it "
                   "are refused");
  serve.add_option("--sync-token-file", flags->sync_token_file,
                   "The token the origin or relay gave PoPs (its --sync-token-file); also accepted "
                   "by this node's own sync API when relaying");
  serve.add_option("--secrets-key", flags->secrets_key,
                   "The fleet's secrets key, to open the secrets the origin sealed");
  serve.add_flag("--sync-relay", flags->sync_relay,
                 "Serve the sync API (/sync/...) on the admin listener to PoPs below this one");
  serve
      .add_option("--sync-compact-every-s", flags->sync_compact_every_s,
                  "Compact this replica's copy of the log through its head this often (0: "
                  "never); PoPs below a relay that fall behind it take a snapshot")
      ->default_str("600");
  auto snapshot_streams = std::make_shared<int64_t>(4);
  serve.add_option("--sync-snapshot-streams", *snapshot_streams,
                   "With --sync-relay: snapshots passed on at once; beyond, 503 with Retry-After")
      ->default_str("4")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  CLI::App* command = &serve;
  return [flags, command, snapshot_streams](const std::string& config_path)
             -> StatusOr<std::vector<std::unique_ptr<gateway::NodeExtension>>> {
    auto config = ReadSyncConfig(config_path);
    if (!config.ok()) return config.status();
    auto given = [&](const char* name) { return command->get_option(name)->count() > 0; };
    sync::ReplicaOptions options;
    options.from_url = given("--sync-from") ? flags->sync_from : config->sync_from;
    options.verify_key_path = given("--sync-key") ? flags->sync_key : config->sync_key;
    options.token_file =
        given("--sync-token-file") ? flags->sync_token_file : config->sync_token_file;
    options.secrets_key_path = given("--secrets-key") ? flags->secrets_key : config->secrets_key;
    options.relay = given("--sync-relay") ? flags->sync_relay : config->sync_relay;
    int64_t compact_every_s = given("--sync-compact-every-s")     ? flags->sync_compact_every_s
                              : config->sync_compact_every_s >= 0 ? config->sync_compact_every_s
                                                                  : 600;
    if (compact_every_s < 0) {
      return Status(ErrorCode::kInvalidInput, "--sync-compact-every-s must be 0 or more");
    }
    options.compact_every_ms = static_cast<uint64_t>(compact_every_s) * 1000;
    options.max_snapshot_streams = static_cast<size_t>(
        given("--sync-snapshot-streams") || config->sync_snapshot_streams < 0
            ? *snapshot_streams
            : config->sync_snapshot_streams);
    std::vector<std::unique_ptr<gateway::NodeExtension>> extensions;
    if (options.from_url.empty()) {
      if (options.relay) {
        return Status(ErrorCode::kInvalidInput, "--sync-relay needs --sync-from");
      }
      return extensions;
    }
    if (options.verify_key_path.empty()) {
      return Status(ErrorCode::kInvalidInput,
                    "--sync-from needs --sync-key: the origin's public key (FILE.pub)");
    }
    extensions.push_back(std::make_unique<sync::ReplicaExtension>(options));
    return extensions;
  };
}

}  // namespace edge::cli
