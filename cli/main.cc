// The `edge` command: parses the command line, then hands over to the
// component that does the work.
#include <CLI/CLI.hpp>

#include "cli/kv_command.h"
#include "cli/test_command.h"
#include "gateway/dev_server.h"
#include "runtime/log.h"

namespace {

void AddLogLevel(CLI::App* app, std::string* level) {
  app->add_option("--log-level", *level, "Lowest level logged: debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->default_val("info");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edge: a self-hostable runtime for JavaScript workers written for Cloudflare "
               "Workers.",
               "edge"};
  app.set_version_flag("--version", "edge 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Environment:\n  EDGE_V8_FLAGS  extra V8 flags for the operator, e.g. --perf-basic-prof for "
      "profiling");

  edge::gateway::DevOptions dev;
  std::string log_level = "info";
  double max_body_mib = 100;
  CLI::App* dev_command = app.add_subcommand(
      "dev", "Serve a worker locally, reloading it when its files change");
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
  AddLogLevel(test_command, &log_level);

  CLI11_PARSE(app, argc, argv);

  if (kv_command->parsed()) {
    kv.action = kv_command->get_subcommands().front()->get_name();
    if (kv_value_option->count() > 0) kv.value = kv_value;
    if (kv_ttl_option->count() > 0) kv.ttl = kv_ttl;
    if (kv_expiration_option->count() > 0) kv.expiration = kv_expiration;
    return edge::cli::RunKvCommand(kv);
  }

  edge::LogLevel level;
  if (edge::ParseLogLevel(log_level, &level)) edge::SetLogLevel(level);

  if (test_command->parsed()) return edge::cli::RunTestCommand(test);
  if (dev_command->parsed()) {
    dev.limits.max_body_bytes = static_cast<size_t>(max_body_mib * 1024 * 1024);
    return edge::gateway::RunDevServer(dev);
  }
  return 0;
}
