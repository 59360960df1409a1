// The `edge` command: parses the command line, then hands over to the
// component that does the work.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/account_command.h"
#include "cli/host_policies_command.h"
#include "cli/deploy_command.h"
#include "cli/kv_command.h"
#include "cli/queues_command.h"
#include "cli/workflows_command.h"
#include "cli/r2_command.h"
#include "cli/serve_command.h"
#include "cli/sync_commands.h"
#include "cli/secret_command.h"
#include "cli/tail_command.h"
#include "cli/test_command.h"
#include "gateway/dev/dev_server.h"
#include "base/log.h"

namespace {

void AddLogLevel(CLI::App* app, std::string* level) {
  app->add_option("--log-level", *level, "Lowest level logged: debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->default_val("info");
}

// The options every command that talks to a node's admin API has.
void AddNodeOptions(CLI::App* command, const std::string& url_flag, std::string* url,
                    std::string* token_file) {
  command->add_option(url_flag, *url,
                      "The node's admin API: http://HOST:PORT or https://HOST[:PORT], with an "
                      "optional path prefix")
      ->required();
  command->add_option("--token-file", *token_file,
                      "File holding the node's admin token or an account's token (default: the "
                      "EDGE_API_TOKEN environment variable)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edge: a self-hostable runtime for JavaScript workers written for Cloudflare "
               "Workers.",
               "edge"};
  app.set_version_flag("--version", "edge 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Environment:\n"
      "  EDGE_V8_FLAGS   extra V8 flags for the operator, e.g. --perf-basic-prof for profiling\n"
      "  EDGE_API_TOKEN  the token for deploy, secret, tail and account when no --token-file "
      "is given: the node's admin token, or an account's (its own workers only)");

  edge::gateway::DevOptions dev;
  std::string log_level = "info";
  double max_body_mib = 100;
  CLI::App* dev_command = app.add_subcommand(
      "dev",
      "Serve a worker locally, reloading it when its files change; an uncaught exception "
      "answers with a page showing the error and its source-mapped stack");
  dev_command->add_option("paths", dev.paths,
                          "Worker files (.js/.mjs) or folders with edge.toml or wrangler.toml. The "
                          "first serves the port; the others are reachable from it through "
                          "service bindings, by name")
      ->default_val(std::vector<std::string>{"."});
  dev_command->add_option("--port", dev.port, "TCP port to listen on (0 picks a free one)")
      ->check(CLI::Range(0, 65535))
      ->default_val(8787);
  dev_command->add_option("--ip", dev.ip, "Address to listen on")->default_val("127.0.0.1");
  dev_command->add_option("--max-body-size", max_body_mib,
                          "Largest request body accepted, in MiB; larger ones get 413")
      ->check(CLI::PositiveNumber)
      ->default_val(100);
  dev_command->add_option("--header-timeout", dev.limits.header_timeout_ms,
                          "Milliseconds a client may take to send a request's headers (408 after)")
      ->default_val(10000);
  dev_command->add_option("--idle-timeout", dev.limits.idle_timeout_ms,
                          "Milliseconds an idle keep-alive connection stays open")
      ->default_val(60000);
  dev_command->add_flag("!--no-watch", dev.watch, "Do not reload when the worker's files change");
  dev_command->add_option("--subrequest-limit", dev.subrequest_limit,
                          "fetch() calls (each redirect counts) one invocation may make")
      ->check(CLI::PositiveNumber)
      ->default_val(50);
  dev_command->add_option("--connections-per-origin", dev.connections_per_origin,
                          "Most outbound connections open to one origin; more requests queue")
      ->check(CLI::PositiveNumber)
      ->default_val(32);
  dev_command->add_option("--persist-to", dev.persist_to,
                          "Folder for local state: the KV store lives in <DIR>/kv (default: "
                          "<project>/.edge/state)");
  std::string inspect;
  CLI::Option* inspect_option =
      dev_command
          ->add_option("--inspect", inspect,
                       "Serve the Chrome DevTools Protocol on 127.0.0.1:PORT (default 9229) for "
                       "Chrome DevTools and VS Code: breakpoints, stepping, console, CPU profiles "
                       "and heap snapshots (write --inspect=PORT before the paths)")
          ->expected(0, 1)
          ->default_str("9229")
          ->check(CLI::Range(0, 65535));
  AddLogLevel(dev_command, &log_level);

  // edge kv get|put|delete|list --binding NAME
  edge::cli::KvCommandOptions kv;
  std::string kv_value;
  int64_t kv_ttl = 0, kv_expiration = 0;
  CLI::App* kv_command =
      app.add_subcommand("kv", "Read and seed the local KV store that `edge dev` uses");
  kv_command->require_subcommand(1);
  auto kv_common = [&](CLI::App* command) {
    command->add_option("--binding", kv.binding, "A [[kv_namespaces]] binding of the project")
        ->required();
    command->add_option("--config", kv.config,
                        "The project's edge.toml or wrangler.toml (default: the one in the "
                        "current folder)");
    command->add_option("--persist-to", kv.persist_to,
                        "The state folder `edge dev --persist-to` uses (default: "
                        "<project>/.edge/state)");
  };
  CLI::App* kv_get = kv_command->add_subcommand("get", "Print the value of KEY, as stored");
  kv_common(kv_get);
  kv_get->add_option("key", kv.key, "The key")->required();
  CLI::App* kv_put = kv_command->add_subcommand("put", "Store VALUE (or --path FILE) under KEY");
  kv_common(kv_put);
  kv_put->add_option("key", kv.key, "The key")->required();
  CLI::Option* kv_value_option = kv_put->add_option("value", kv_value, "The value");
  kv_put->add_option("--path", kv.path, "Store the bytes of FILE instead of VALUE");
  kv_put->add_option("--metadata", kv.metadata, "JSON metadata stored with the value");
  CLI::Option* kv_ttl_option =
      kv_put->add_option("--ttl", kv_ttl, "Seconds until the key expires (at least 60)");
  CLI::Option* kv_expiration_option = kv_put->add_option(
      "--expiration", kv_expiration, "When the key expires, in seconds since the UNIX epoch");
  CLI::App* kv_delete = kv_command->add_subcommand("delete", "Delete KEY");
  kv_common(kv_delete);
  kv_delete->add_option("key", kv.key, "The key")->required();
  CLI::App* kv_list = kv_command->add_subcommand("list", "Print the keys as a JSON array");
  kv_common(kv_list);
  kv_list->add_option("--prefix", kv.prefix, "Only keys that start with P");

  // edge queues list|create|delete|purge [NAME] [--to URL --token-file F]
  edge::cli::QueuesCommandOptions queues;
  CLI::App* queues_command = app.add_subcommand(
      "queues", "List, create, delete and purge queues: on a node with --to URL, else in the "
                "local state `edge dev` uses");
  queues_command->require_subcommand(1);
  auto queues_common = [&](CLI::App* command) {
    command->add_option("--to", queues.to, "A node's admin API URL (default: the local state)");
    command->add_option("--token-file", queues.token_file,
                        "File holding the admin or account token (or set EDGE_TOKEN)");
    command->add_option("--account", queues.account,
                        "With the node's admin token: the account whose queues (default: the "
                        "default account)");
    command->add_option("--config", queues.config,
                        "Without --to: the project's config (default: edge.toml, else "
                        "wrangler.toml, in the current folder)");
    command->add_option("--persist-to", queues.persist_to,
                        "Without --to: the local state folder (default: <project>/.edge/state)");
  };
  CLI::App* queues_list = queues_command->add_subcommand("list", "List the queues and their depth");
  queues_common(queues_list);
  CLI::App* queues_create = queues_command->add_subcommand("create", "Create queue NAME");
  queues_common(queues_create);
  queues_create->add_option("name", queues.name, "The queue (a-z, 0-9, '-'; up to 63)")->required();
  queues_create->add_option("--message-retention-period-secs", queues.retention_seconds,
                            "How long messages are kept (60 to 1209600; default 345600, 4 days)");
  CLI::App* queues_delete =
      queues_command->add_subcommand("delete", "Delete queue NAME and its messages");
  queues_common(queues_delete);
  queues_delete->add_option("name", queues.name, "The queue")->required();
  CLI::App* queues_purge =
      queues_command->add_subcommand("purge", "Delete every message of queue NAME");
  queues_common(queues_purge);
  queues_purge->add_option("name", queues.name, "The queue")->required();
  // edge workflows list | instances list|describe|terminate|pause|resume|restart NAME [ID]
  //   | trigger NAME [PARAMS_JSON] [--to URL --token-file F]
  edge::cli::WorkflowsCommandOptions workflows;
  CLI::App* workflows_command = app.add_subcommand(
      "workflows", "List workflows, inspect and control their instances: on a node with --to URL, else "
                   "in the local state `edge dev` uses");
  workflows_command->require_subcommand(1);
  auto workflows_common = [&](CLI::App* command) {
    command->add_option("--to", workflows.to, "A node's admin API URL (default: the local state)");
    command->add_option("--token-file", workflows.token_file,
                        "File holding the admin or account token (or set EDGE_TOKEN)");
    command->add_option("--account", workflows.account,
                        "With the node's admin token: the account whose workflows (default: the "
                        "default account)");
    command->add_option("--config", workflows.config,
                        "Without --to: the project's config (default: edge.toml, else wrangler.toml, "
                        "in the current folder)");
    command->add_option("--persist-to", workflows.persist_to,
                        "Without --to: the local state folder (default: <project>/.edge/state)");
    command->add_flag("--json", workflows.json, "Print the JSON as the node or the store gives it");
  };
  CLI::App* workflows_list = workflows_command->add_subcommand("list", "List the workflows and their instances");
  workflows_common(workflows_list);
  CLI::App* workflows_instances =
      workflows_command->add_subcommand("instances", "List, describe and control the instances of a workflow");
  workflows_instances->require_subcommand(1);
  for (const char* verb : {"list", "describe", "terminate", "pause", "resume", "restart"}) {
    std::string help = std::string(verb) == "list"       ? "List the instances of workflow NAME"
                       : std::string(verb) == "describe" ? "Show instance ID of NAME and its steps' timeline"
                                                         : std::string(verb) + " instance ID of workflow NAME";
    CLI::App* sub = workflows_instances->add_subcommand(verb, help);
    workflows_common(sub);
    sub->add_option("name", workflows.name, "The workflow")->required();
    if (std::string(verb) != "list") sub->add_option("id", workflows.id, "The instance")->required();
    sub->callback([&workflows, verb] { workflows.verb = verb; });
  }
  CLI::App* workflows_trigger =
      workflows_command->add_subcommand("trigger", "Create an instance of workflow NAME with PARAMS (JSON)");
  workflows_common(workflows_trigger);
  workflows_trigger->add_option("name", workflows.name, "The workflow")->required();
  workflows_trigger->add_option("params", workflows.params, "The instance's params, as JSON");
  workflows_trigger->add_option("--id", workflows.id, "The instance's id (default: a new UUID)");
  // edge r2 bucket|object ...
  edge::cli::R2CommandOptions r2;
  CLI::App* r2_command = edge::cli::AddR2Command(app, r2);

  // edge test [FILES...]
  edge::cli::TestCommandOptions test;
  CLI::App* test_command = app.add_subcommand(
      "test", "Run test modules inside the runtime: each exported function, each exported "
              "{ test() } object, and each function of an exported default object is a test");
  test_command->add_option("files", test.files, "Test modules (.js/.mjs)")->required();
  test_command->add_option("--config", test.config,
                           "edge.toml whose [vars], .dev.vars and bindings the tests' env gets "
                           "(KV starts empty for each run)");
  test_command->add_option("--filter", test.filter, "Only tests whose name contains TEXT");
  test_command->add_option("--compatibility-flag", test.compatibility_flags,
                           "A compatibility flag for the tests' workers (nodejs_compat: the "
                           "node: modules), added to the config's compatibility_flags; repeatable");
  AddLogLevel(test_command, &log_level);

  // edge deploy [DIR] --to URL
  edge::cli::DeployCommandOptions deploy;
  CLI::App* deploy_command = app.add_subcommand(
      "deploy", "Upload a worker project to a node as a new version: its modules, [vars], "
                "bindings, limits and routes (secrets are set with `edge secret put`)");
  deploy_command->add_option("dir", deploy.dir,
                             "The project folder (with edge.toml or wrangler.toml) or a lone "
                             "worker file")
      ->default_val(".");
  AddNodeOptions(deploy_command, "--to", &deploy.to, &deploy.token_file);
  deploy_command->add_option("--name", deploy.name,
                             "Deploy under this worker name instead of the config's `name`");
  deploy_command->add_option("--account", deploy.account,
                             "With the node's admin token: the account a new worker goes to "
                             "(default: `default`). With an account's token the worker is that "
                             "account's, and a config's `account_id` is ignored");

  // edge account create|list|delete|hosts|token
  edge::cli::AccountCommandOptions account;
  CLI::App* account_command = app.add_subcommand(
      "account", "Manage a node's accounts (with the node's admin token): tenants that own their "
                 "workers, KV data and hostnames, each with a token of its own for deploy, "
                 "secret, tail and KV");
  account_command->require_subcommand(1);
  auto account_common = [&](CLI::App* command, bool named) {
    if (named) command->add_option("name", account.name, "The account's name")->required();
    AddNodeOptions(command, "--to", &account.to, &account.token_file);
  };
  CLI::App* account_create = account_command->add_subcommand(
      "create", "Create account NAME owning the hostname patterns of --hosts; its token is "
                "written to --token-out");
  account_common(account_create, true);
  account_create->add_option("--hosts", account.hosts,
                             "Hostname patterns it owns, comma-separated: `shop.example` (that "
                             "host) or `*.shop.example` (its subdomains). A pattern that overlaps "
                             "another account's is refused")
      ->allow_extra_args(false);
  account_create->add_option("--token-out", account.token_out,
                             "File the account's token is written to (mode 0600)")
      ->required();
  CLI::App* account_list =
      account_command->add_subcommand("list", "Print every account with its hosts");
  account_common(account_list, false);
  CLI::App* account_delete = account_command->add_subcommand(
      "delete", "Delete account NAME and everything it owns: workers, routes, secrets, KV data");
  account_common(account_delete, true);
  account_delete->add_flag("--yes", account.yes, "Confirm: nothing of it can be recovered");
  CLI::App* account_hosts = account_command->add_subcommand(
      "hosts", "Print account NAME's hostname patterns, or change them with --add and --remove");
  account_common(account_hosts, true);
  account_hosts->add_option("--add", account.add,
                            "Hostname patterns to add (repeatable, or comma-separated)")
      ->allow_extra_args(false);
  account_hosts->add_option("--remove", account.remove,
                            "Hostname patterns to remove (refused while a route uses them)")
      ->allow_extra_args(false);
  CLI::App* account_token = account_command->add_subcommand(
      "token", "Give account NAME a new token (--rotate), or leave it with none (--revoke)");
  account_common(account_token, true);
  account_token->add_flag("--rotate", account.rotate, "A new token; the old one stops working");
  account_token->add_flag("--revoke", account.revoke, "No token works until the next --rotate");
  account_token->add_option("--token-out", account.token_out,
                            "With --rotate: the file the new token is written to (mode 0600)");

  // edge secret put|delete|list --to URL [--name WORKER]
  edge::cli::SecretCommandOptions secret;
  CLI::App* secret_command = app.add_subcommand(
      "secret", "Set, delete and list the secrets of a deployed worker (they reach env like vars)");
  secret_command->require_subcommand(1);
  auto secret_common = [&](CLI::App* command) {
    AddNodeOptions(command, "--to", &secret.to, &secret.token_file);
    command->add_option("--name", secret.worker,
                        "The worker (default: `name` in ./edge.toml or ./wrangler.toml)");
  };
  CLI::App* secret_put = secret_command->add_subcommand(
      "put", "Set secret NAME to the value read from stdin (without its one trailing newline); "
             "at a terminal, prompt for it without echo");
  secret_put->add_option("secret", secret.secret, "The secret's name (env.NAME)")->required();
  secret_common(secret_put);
  CLI::App* secret_delete = secret_command->add_subcommand("delete", "Delete secret NAME");
  secret_delete->add_option("secret", secret.secret, "The secret's name")->required();
  secret_common(secret_delete);
  CLI::App* secret_list =
      secret_command->add_subcommand("list", "Print the names of the worker's secrets, one a line");
  secret_common(secret_list);

  // edge tail [NAME] --from URL
  edge::cli::TailCommandOptions tail;
  double tail_sampling = 1;
  CLI::App* tail_command = app.add_subcommand(
      "tail", "Stream a deployed worker's requests and console output live (Ctrl-C to stop)");
  tail_command->add_option("name", tail.worker,
                           "The worker (default: `name` in ./edge.toml or ./wrangler.toml)");
  AddNodeOptions(tail_command, "--from", &tail.from, &tail.token_file);
  tail_command->add_option("--status", tail.status, "Only requests that succeeded, or failed")
      ->check(CLI::IsMember({"ok", "error"}));
  tail_command->add_option("--method", tail.method, "Only requests with this HTTP method");
  tail_command->add_option("--search", tail.search,
                           "Only requests whose URL or console output contains TEXT");
  CLI::Option* tail_sampling_option = tail_command->add_option(
      "--sampling", tail_sampling, "The share of matching requests to show, above 0 and up to 1");
  tail_sampling_option->check(CLI::Range(0.0, 1.0));
  tail_command->add_option("--format", tail.format,
                           "pretty: one line per request with its console output indented; "
                           "json: the node's NDJSON events as received")
      ->check(CLI::IsMember({"pretty", "json"}))
      ->default_val("pretty");

  // edge serve --config node.toml
  CLI::App* serve_command = nullptr;
  std::function<int()> run_serve = edge::cli::AddServeCommand(app, &serve_command);
  // edge origin | keygen | status
  std::function<int()> run_sync = edge::cli::AddSyncCommands(app);
  // edge host-policies get|put|delete
  edge::cli::HostPoliciesCommandOptions host_policies;
  CLI::App* host_policies_command = app.add_subcommand(
      "host-policies", "The operator's route policies per hostname (with the node's admin "
                       "token); sent to an origin, they reach every PoP of its fleet");
  host_policies_command->require_subcommand(1);
  CLI::App* host_policies_get = host_policies_command->add_subcommand(
      "get", "Print how many tables serve and where they come from (origin, admin, node.toml)");
  AddNodeOptions(host_policies_get, "--to", &host_policies.to, &host_policies.token_file);
  host_policies_get->add_flag("--json", host_policies.json,
                              "Print the node's answer, tables included, as it came");
  CLI::App* host_policies_put = host_policies_command->add_subcommand(
      "put", "Replace the whole set with FILE's: [[host_policies]] tables in TOML (node.toml's "
             "syntax), or a .json array of tables");
  host_policies_put->add_option("file", host_policies.file, "The file")->required();
  AddNodeOptions(host_policies_put, "--to", &host_policies.to, &host_policies.token_file);
  CLI::App* host_policies_delete = host_policies_command->add_subcommand(
      "delete", "Remove the set made with put: each node's node.toml [[host_policies]] apply "
                "again");
  AddNodeOptions(host_policies_delete, "--to", &host_policies.to, &host_policies.token_file);
  host_policies_delete->add_flag("--yes", host_policies.yes, "Confirm");


  CLI11_PARSE(app, argc, argv);

  if (serve_command->parsed()) return run_serve();
  if (int code = run_sync(); code >= 0) return code;

  if (deploy_command->parsed()) return edge::cli::RunDeployCommand(deploy);
  if (host_policies_command->parsed()) {
    host_policies.action = host_policies_command->get_subcommands().front()->get_name();
    return edge::cli::RunHostPoliciesCommand(host_policies);
  }
  if (account_command->parsed()) {
    account.action = account_command->get_subcommands().front()->get_name();
    return edge::cli::RunAccountCommand(account);
  }
  if (secret_command->parsed()) {
    secret.action = secret_command->get_subcommands().front()->get_name();
    return edge::cli::RunSecretCommand(secret);
  }
  if (tail_command->parsed()) {
    if (tail_sampling_option->count() > 0) tail.sampling = tail_sampling;
    return edge::cli::RunTailCommand(tail);
  }

  if (queues_command->parsed()) {
    queues.action = queues_command->get_subcommands().front()->get_name();
    return edge::cli::RunQueuesCommand(queues, std::cout, std::cerr);
  }

  if (workflows_command->parsed()) {
    for (CLI::App* sub : workflows_command->get_subcommands()) workflows.action = sub->get_name();
    return edge::cli::RunWorkflowsCommand(workflows, std::cout, std::cerr);
  }
  if (kv_command->parsed()) {
    kv.action = kv_command->get_subcommands().front()->get_name();
    if (kv_value_option->count() > 0) kv.value = kv_value;
    if (kv_ttl_option->count() > 0) kv.ttl = kv_ttl;
    if (kv_expiration_option->count() > 0) kv.expiration = kv_expiration;
    return edge::cli::RunKvCommand(kv);
  }

  if (r2_command->parsed()) return edge::cli::RunR2Command(r2_command, r2);

  edge::LogLevel level;
  if (edge::ParseLogLevel(log_level, &level)) edge::SetLogLevel(level);

  if (test_command->parsed()) return edge::cli::RunTestCommand(test);
  if (dev_command->parsed()) {
    dev.limits.max_body_bytes = static_cast<size_t>(max_body_mib * 1024 * 1024);
    if (inspect_option->count() > 0) dev.inspect_port = std::stoi(inspect);
    return edge::gateway::RunDevServer(dev);
  }
  return 0;
}
