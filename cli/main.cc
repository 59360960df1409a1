// The `edge` command: parses the command line, then hands over to the
// component that does the work.
#include <CLI/CLI.hpp>

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
  AddLogLevel(dev_command, &log_level);

  CLI11_PARSE(app, argc, argv);

  edge::LogLevel level;
  if (edge::ParseLogLevel(log_level, &level)) edge::SetLogLevel(level);

  if (dev_command->parsed()) {
    dev.limits.max_body_bytes = static_cast<size_t>(max_body_mib * 1024 * 1024);
    return edge::gateway::RunDevServer(dev);
  }
  return 0;
}
