// `edge account create|list|delete|hosts|token`: the operator manages the
// accounts of a node (the tenants that own workers, data and hostnames)
// through its admin API (/accounts, docs/admin-api.md), with the node's
// admin token.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace edge::cli {

struct AccountCommandOptions {
  std::string action;      // create, list, delete, hosts or token
  std::string name;        // NAME (every action but list)
  std::string to;          // --to URL: the node's admin API
  std::string token_file;  // --token-file FILE; empty: the EDGE_API_TOKEN variable
  // create: --hosts 'shop.example,*.shop.example'; hosts: --add H, --remove H
  // (each repeatable, each also comma-separated).
  std::vector<std::string> hosts, add, remove;
  // create and token --rotate: where the account's new token is written
  // (mode 0600, replacing the file).
  std::string token_out;
  bool rotate = false;  // token --rotate
  bool revoke = false;  // token --revoke
  bool yes = false;     // delete --yes
};

// Runs the action; prints what happened to `out` and returns 0, or prints
// "edge account: <why>" to `err` and returns 1. A token is never printed:
// it goes to --token-out.
int RunAccountCommand(const AccountCommandOptions& options, std::ostream& out, std::ostream& err);
int RunAccountCommand(const AccountCommandOptions& options);

}  // namespace edge::cli
