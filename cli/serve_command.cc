#include "cli/serve_command.h"

#include <cstdio>
#include <memory>

#include "cli/sync_commands.h"
#include "gateway/node/node_options.h"
#include "base/log.h"

namespace edge::cli {

std::function<int()> AddServeCommand(CLI::App& app, CLI::App** out) {
  struct Flags {
    std::string config, log_level = "info";
    gateway::NodeOptions options;
    double max_body_mb = 100;
    bool run_crons = false;
  };
  auto flags = std::make_shared<Flags>();
  gateway::NodeOptions& o = flags->options;
  CLI::App* command = app.add_subcommand(
      "serve", "Run a PoP node: serve every deployed worker of every tenant from the local store; "
               "take deploys on the admin API, or replicate them from an origin (--sync-from)");
  *out = command;
  command->add_option("--config", flags->config,
                      "node.toml; every key below is also a key there (flags win)");
  std::vector<std::pair<CLI::Option*, std::function<void()>>> given;
  auto option = [&](const std::string& name, auto* target, const std::string& help) {
    return command->add_option(name, *target, help);
  };
  option("--listen", &o.listen, "Worker traffic, plain HTTP: ADDRESS:PORT (\"\" for none)")
      ->default_str(o.listen);
  option("--https", &o.https, "Worker traffic over TLS: ADDRESS:PORT (certificates: [[tls]] in "
                              "node.toml)");
  option("--admin", &o.admin, "The admin API: ADDRESS:PORT")->default_str(o.admin);
  option("--admin-token-file", &o.admin_token_file,
         "File holding the admin API's bearer token (required)");
  option("--data-dir", &o.data_dir, "Folder of the node's LMDB stores (deployments, KV)")
      ->default_str(o.data_dir);
  option("--threads", &o.threads, "Serving threads (0: one per core)")
      ->check(CLI::Range(0, 1024))
      ->default_str("0");
  option("--heavy-cpu-us", &o.heavy_cpu_us,
         "A worker whose requests (or background tasks) use more CPU than this, 4 times in "
         "its last 8, runs on the thread's heavy lane (0: never)")
      ->default_str(std::to_string(o.heavy_cpu_us));
  option("--memory-budget-mb", &o.memory_budget_mb,
         "Memory for all isolates; idle ones are evicted past it (0: no budget)")
      ->default_str(std::to_string(o.memory_budget_mb));
  option("--spare-isolates", &o.spare_isolates,
         "Isolates each serving thread keeps ready (made from the startup snapshot when idle) "
         "for workers whose isolate was evicted; they count against the memory budget (0: none)")
      ->check(CLI::Range(0, 64))
      ->default_str(std::to_string(o.spare_isolates));
  option("--websockets-per-account", &o.websockets_per_account,
         "WebSockets one account's workers may hold open at once on this node")
      ->check(CLI::Range(0, 10000000))
      ->default_str(std::to_string(o.websockets_per_account));
  option("--access-log", &o.access_log, "Where JSON access-log lines go (\"-\": stdout)")
      ->default_str("-");
  option("--pop-id", &o.pop_id, "This node's name: request.cf.colo for workers, request ids, the "
                                "fleet view")
      ->default_str(o.pop_id);
  option("--max-body-mb", &flags->max_body_mb, "Largest request body read, in MiB (413 past it)")
      ->check(CLI::PositiveNumber)
      ->default_str("100");
  option("--header-timeout-ms", &o.limits.header_timeout_ms,
         "Milliseconds a client may take to send a request's headers (408 after)")
      ->default_str("10000");
  option("--idle-timeout-ms", &o.limits.idle_timeout_ms,
         "Milliseconds an idle keep-alive connection stays open")
      ->default_str("60000");
  option("--connections-per-origin", &o.connections_per_origin,
         "Most outbound connections open to one origin")
      ->default_str("32");
  option("--outbound-connections", &o.outbound_connections,
         "Most outbound connections open at once, every origin together (the least recently "
         "used idle one is closed to make room)")
      ->check(CLI::Range(1, 1000000))
      ->default_str("4096");
  option("--cache-max-mb", &o.cache_max_mb,
         "MiB the Cache API's entries of every account may take on disk together (the least "
         "recently used go first)")
      ->check(CLI::Range(1, 1 << 30))
      ->default_str("10240");
  option("--cache-account-max-mb", &o.cache_account_max_mb,
         "MiB one account's Cache API entries may take on disk")
      ->check(CLI::Range(1, 1 << 30))
      ->default_str("1024");
  option("--cache-entry-max-mb", &o.cache_entry_max_mb,
         "MiB one Cache API entry's body may take (a larger body is not stored)")
      ->check(CLI::Range(1, 1 << 20))
      ->default_str("512");
  option("--r2-account-max-mb", &o.r2_account_max_mb,
         "MiB one account's R2 buckets may hold on disk together (objects and multipart uploads "
         "in progress); a put that does not fit fails")
      ->check(CLI::Range(1, 1 << 30))
      ->default_str("10240");
  option("--outbound-requests-per-account", &o.outbound_requests_per_account,
         "Most fetch() requests of one account in the outbound pools at once, every origin "
         "together (more wait in the account's queue); 0: no bound")
      ->check(CLI::Range(0, 1000000))
      ->default_str("256");
  option("--allow-fetch-to", &o.allow_fetch_to,
         "Private address ranges (CIDR) workers' fetch() may reach; public ones always can");
  command->add_option("--run-crons", flags->run_crons,
                      "Fire the workers' cron triggers here: true (without asking the origin) "
                      "or false (never); unset, a standalone node fires and a replica fires "
                      "when its origin names it the fleet's cron home");
  command->add_option("--log-level", flags->log_level,
                      "Lowest level logged: debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->default_val("info");

  auto replica = AddReplicaFlags(*command);

  return [flags, command, replica]() -> int {
    LogLevel level;
    if (ParseLogLevel(flags->log_level, &level)) SetLogLevel(level);
    gateway::NodeOptions options;
    if (!flags->config.empty()) {
      Status loaded = gateway::LoadNodeConfig(flags->config, &options);
      if (!loaded.ok()) {
        fprintf(stderr, "edge serve: %s\n", loaded.message().c_str());
        return 1;
      }
    }
    // Flags given on the command line win over the file.
    const gateway::NodeOptions& f = flags->options;
    auto given = [&](const char* name) { return command->get_option(name)->count() > 0; };
    if (given("--listen")) options.listen = f.listen;
    if (given("--https")) options.https = f.https;
    if (given("--admin")) options.admin = f.admin;
    if (given("--admin-token-file")) options.admin_token_file = f.admin_token_file;
    if (given("--data-dir")) options.data_dir = f.data_dir;
    if (given("--threads")) options.threads = f.threads;
    if (given("--memory-budget-mb")) options.memory_budget_mb = f.memory_budget_mb;
    if (given("--spare-isolates")) options.spare_isolates = f.spare_isolates;
    if (given("--websockets-per-account")) {
      options.websockets_per_account = f.websockets_per_account;
    }
    if (given("--heavy-cpu-us")) options.heavy_cpu_us = f.heavy_cpu_us;
    if (given("--access-log")) options.access_log = f.access_log;
    if (given("--pop-id")) options.pop_id = f.pop_id;
    if (given("--max-body-mb")) {
      options.limits.max_body_bytes = static_cast<size_t>(flags->max_body_mb * 1024 * 1024);
    }
    if (given("--header-timeout-ms")) options.limits.header_timeout_ms = f.limits.header_timeout_ms;
    if (given("--idle-timeout-ms")) options.limits.idle_timeout_ms = f.limits.idle_timeout_ms;
    if (given("--connections-per-origin")) options.connections_per_origin = f.connections_per_origin;
    if (given("--outbound-connections")) options.outbound_connections = f.outbound_connections;
    if (given("--outbound-requests-per-account")) {
      options.outbound_requests_per_account = f.outbound_requests_per_account;
    }
    if (given("--cache-max-mb")) options.cache_max_mb = f.cache_max_mb;
    if (given("--cache-account-max-mb")) options.cache_account_max_mb = f.cache_account_max_mb;
    if (given("--cache-entry-max-mb")) options.cache_entry_max_mb = f.cache_entry_max_mb;
    if (given("--r2-account-max-mb")) options.r2_account_max_mb = f.r2_account_max_mb;
    if (given("--allow-fetch-to")) options.allow_fetch_to = f.allow_fetch_to;
    if (given("--run-crons")) options.run_crons = flags->run_crons;
    auto extensions = replica(flags->config);
    if (!extensions.ok()) {
      fprintf(stderr, "edge serve: %s\n", extensions.status().message().c_str());
      return 1;
    }
    // A relay accepts the sync token it was given from the PoPs below it.
    if (options.sync_token_file.empty() && given("--sync-token-file")) {
      options.sync_token_file = command->get_option("--sync-token-file")->as<std::string>();
    }
    return gateway::RunNode(options, std::move(extensions).value());
  };
}

}  // namespace edge::cli
