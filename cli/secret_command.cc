#include "cli/secret_command.h"

#include <fmt/core.h>
#include <signal.h>
#include <simdjson.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/worker_name.h"
#include "gateway/deploy/bundle.h"

namespace edge::cli {
namespace {

// Workers allows secrets of a few KiB; anything near this is a mistake
// (a binary file, an endless pipe).
constexpr size_t kMaxSecretBytes = 1u << 20;

// The terminal's settings while echo is off, so a signal can restore them.
termios saved_terminal;
volatile sig_atomic_t terminal_changed = 0;

void RestoreTerminalAndDie(int signal_number) {
  if (terminal_changed) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  ::signal(signal_number, SIG_DFL);
  raise(signal_number);
}

// One line typed at the terminal, not echoed.
StatusOr<std::string> PromptForValue() {
  std::cerr << "Enter a secret value: " << std::flush;
  struct sigaction previous_int {
  }, previous_term{}, restore{};
  bool quiet = tcgetattr(STDIN_FILENO, &saved_terminal) == 0;
  if (quiet) {
    restore.sa_handler = RestoreTerminalAndDie;
    sigemptyset(&restore.sa_mask);
    sigaction(SIGINT, &restore, &previous_int);
    sigaction(SIGTERM, &restore, &previous_term);
    termios silent = saved_terminal;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    silent.c_lflag |= ECHONL;
    terminal_changed = tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent) == 0;
  }
  std::string line;
  bool got_line = static_cast<bool>(std::getline(std::cin, line));
  if (quiet) {
    if (terminal_changed) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
    terminal_changed = 0;
    sigaction(SIGINT, &previous_int, nullptr);
    sigaction(SIGTERM, &previous_term, nullptr);
  }
  if (!got_line) return Status(ErrorCode::kInvalidInput, "no secret value was entered");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Everything on stdin.
StatusOr<std::string> ReadStdin() {
  std::string value;
  char buffer[8192];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(ErrorCode::kIo, fmt::format("cannot read the secret value from stdin: {}",
                                                std::strerror(errno)));
    }
    value.append(buffer, static_cast<size_t>(n));
    if (value.size() > kMaxSecretBytes) {
      return Status(
          ErrorCode::kInvalidInput,
          fmt::format("the secret value on stdin is larger than {} MiB", kMaxSecretBytes >> 20));
    }
  }
  return StripOneNewline(std::move(value));
}

StatusOr<std::string> ReadValue() {
  StatusOr<std::string> value = isatty(STDIN_FILENO) ? PromptForValue() : ReadStdin();
  if (!value.ok()) return value.status();
  if (value->empty()) {
    return Status(ErrorCode::kInvalidInput,
                  "the secret value is empty: type it when asked, or pipe it in (echo \"$VALUE\" | "
                  "edge secret put NAME ...)");
  }
  return value;
}

std::vector<std::string> SecretNames(std::string_view body) {
  std::vector<std::string> names;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS ||
      root["secrets"].get_array().get(list) != simdjson::SUCCESS) {
    return names;
  }
  for (simdjson::dom::element entry : list) {
    std::string_view name;
    // Plain names, or {"name": ...} objects as Cloudflare's API lists them.
    if (entry.get_string().get(name) == simdjson::SUCCESS ||
        entry["name"].get_string().get(name) == simdjson::SUCCESS) {
      names.emplace_back(name);
    }
  }
  return names;
}

Status Run(const SecretCommandOptions& options) {
  const std::string& action = options.action;
  if (action != "put" && action != "delete" && action != "list") {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("unknown action \"{}\": use put, delete or list", action));
  }
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
  StatusOr<std::string> worker = ResolveWorkerName(options.worker, "--name WORKER");
  if (!worker.ok()) return worker.status();
  std::string base = "/workers/" + PercentEncode(*worker) + "/secrets";

  if (action == "list") {
    StatusOr<AdminResponse> response = Request(target, "GET", base);
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    std::vector<std::string> names = SecretNames(response->body);
    for (const std::string& name : names) std::cout << name << "\n";
    if (names.empty()) std::cerr << fmt::format("Worker {} has no secrets.\n", *worker);
    return Status::Ok();
  }

  EDGE_RETURN_IF_ERROR(gateway::CheckBindingName(options.secret));
  std::string path = base + "/" + PercentEncode(options.secret);
  if (action == "put") {
    StatusOr<std::string> value = ReadValue();
    if (!value.ok()) return value.status();
    StatusOr<AdminResponse> response =
        Request(target, "PUT", path, *value, "application/octet-stream");
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    std::cout << fmt::format("Set secret {} on worker {}.\n", options.secret, *worker);
    return Status::Ok();
  }
  StatusOr<AdminResponse> response = Request(target, "DELETE", path);
  if (!response.ok()) return response.status();
  EDGE_RETURN_IF_ERROR(ResponseError(*response));
  std::cout << fmt::format("Deleted secret {} from worker {}.\n", options.secret, *worker);
  return Status::Ok();
}

}  // namespace

std::string StripOneNewline(std::string value) {
  if (!value.empty() && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  return value;
}

int RunSecretCommand(const SecretCommandOptions& options) {
  Status status = Run(options);
  if (status.ok()) return 0;
  std::cerr << "edge secret: " << status.message() << "\n";
  return 1;
}

}  // namespace edge::cli
