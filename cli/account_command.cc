#include "cli/account_command.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <iostream>

#include "base/json_text.h"
#include "cli/admin_client.h"
#include "edge-sync/key_files.h"

namespace edge::cli {
namespace {

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// Items given as repeated flags, each possibly comma-separated, trimmed.
std::vector<std::string> SplitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t end = item.find(',', start);
      if (end == std::string::npos) end = item.size();
      std::string part = item.substr(start, end - start);
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(part);
      start = end + 1;
    }
  }
  return out;
}

struct Account {
  std::string name;
  std::vector<std::string> hosts;
  bool has_token = false;
  std::vector<std::string> workers;
  std::string token;
};

Account ParseAccount(simdjson::dom::element root) {
  Account account;
  std::string_view text;
  if (root["name"].get_string().get(text) == simdjson::SUCCESS) account.name = text;
  if (root["token"].get_string().get(text) == simdjson::SUCCESS) account.token = text;
  bool has_token = false;
  if (root["has_token"].get_bool().get(has_token) == simdjson::SUCCESS) {
    account.has_token = has_token;
  }
  for (auto [key, list] :
       {std::pair{"hosts", &account.hosts}, std::pair{"workers", &account.workers}}) {
    simdjson::dom::array items;
    if (root[key].get_array().get(items) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element item : items) {
      if (item.get_string().get(text) == simdjson::SUCCESS) list->emplace_back(text);
    }
  }
  return account;
}

StatusOr<Account> ParseAccountBody(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "the node's answer is not JSON");
  }
  return ParseAccount(root);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "(none)" : out;
}

Status SaveToken(const std::string& path, const Account& account) {
  if (account.token.size() != 64) {
    return Status(ErrorCode::kInvalidInput, "the node's answer holds no token");
  }
  return sync::WriteKeyFile(path, account.token + "\n", 0600, /*exclusive=*/false);
}

StatusOr<std::string> Run(const AccountCommandOptions& options) {
  const std::string& action = options.action;
  if (action == "token" && options.rotate == options.revoke) {
    return Invalid(
        "give --rotate (a new token; the old one stops working) or --revoke (no token "
        "works until the next --rotate)");
  }
  if ((action == "create" || (action == "token" && options.rotate)) && options.token_out.empty()) {
    return Invalid(
        "give --token-out FILE: the account's token is written there (mode 0600), "
        "never printed");
  }
  if (action == "delete" && !options.yes) {
    return Invalid(
        fmt::format("deleting account {} removes its workers, routes, secrets, KV "
                    "data and Cache API entries: add --yes to do it",
                    options.name));
  }
  StatusOr<std::string> token = ResolveToken(options.token_file);
  if (!token.ok()) return token.status();
  AdminTarget target{options.to, std::move(token).value()};
  EDGE_RETURN_IF_ERROR(ParseAdminUrl(target.url).status());
  std::string path = "/accounts/" + PercentEncode(options.name);

  auto call = [&](std::string_view method, const std::string& at,
                  const std::string& body) -> StatusOr<std::string> {
    StatusOr<AdminResponse> response =
        Request(target, method, at, body, body.empty() ? "" : "application/json");
    if (!response.ok()) return response.status();
    EDGE_RETURN_IF_ERROR(ResponseError(*response));
    return response->body;
  };

  if (action == "create") {
    std::string body = fmt::format("{{\"name\":{},\"hosts\":{}}}", base::JsonString(options.name),
                                   base::JsonStringArray(SplitList(options.hosts)));
    auto answer = call("POST", "/accounts", body);
    if (!answer.ok()) return answer.status();
    auto account = ParseAccountBody(*answer);
    if (!account.ok()) return account.status();
    EDGE_RETURN_IF_ERROR(SaveToken(options.token_out, *account));
    return fmt::format("Created account {} (hosts: {}); its token is in {}", account->name,
                       Join(account->hosts), options.token_out);
  }
  if (action == "list") {
    auto answer = call("GET", "/accounts", "");
    if (!answer.ok()) return answer.status();
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array list;
    if (parser.parse(*answer).get(root) != simdjson::SUCCESS ||
        root["accounts"].get_array().get(list) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidInput, "the node's answer is not an account list");
    }
    std::string out;
    for (simdjson::dom::element item : list) {
      Account account = ParseAccount(item);
      if (!out.empty()) out += "\n";
      out += fmt::format("{}\thosts: {}\ttoken: {}", account.name, Join(account.hosts),
                         account.has_token ? "yes" : "none");
    }
    return out;
  }
  if (action == "delete") {
    auto answer = call("DELETE", path, "");
    if (!answer.ok()) return answer.status();
    return fmt::format("Deleted account {} and everything it owned", options.name);
  }
  if (action == "hosts") {
    std::vector<std::string> add = SplitList(options.add), remove = SplitList(options.remove);
    auto answer = add.empty() && remove.empty()
                      ? call("GET", path, "")
                      : call("POST", path + "/hosts",
                             fmt::format("{{\"add\":{},\"remove\":{}}}", base::JsonStringArray(add),
                                         base::JsonStringArray(remove)));
    if (!answer.ok()) return answer.status();
    auto account = ParseAccountBody(*answer);
    if (!account.ok()) return account.status();
    return fmt::format("Account {} owns: {}", options.name, Join(account->hosts));
  }
  if (action == "token") {
    auto answer = call(options.rotate ? "POST" : "DELETE", path + "/token", "");
    if (!answer.ok()) return answer.status();
    if (options.revoke) return fmt::format("Account {} has no token now", options.name);
    auto account = ParseAccountBody(*answer);
    if (!account.ok()) return account.status();
    EDGE_RETURN_IF_ERROR(SaveToken(options.token_out, *account));
    return fmt::format("New token for account {} in {}; the old one no longer works", options.name,
                       options.token_out);
  }
  return Invalid(fmt::format("unknown action '{}'", action));
}

}  // namespace

int RunAccountCommand(const AccountCommandOptions& options, std::ostream& out, std::ostream& err) {
  StatusOr<std::string> line = Run(options);
  if (!line.ok()) {
    err << "edge account: " << line.status().message() << "\n";
    return 1;
  }
  if (!line->empty()) out << *line << "\n";
  return 0;
}

int RunAccountCommand(const AccountCommandOptions& options) {
  return RunAccountCommand(options, std::cout, std::cerr);
}

}  // namespace edge::cli
