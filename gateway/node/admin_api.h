// The admin API of a PoP node (docs/admin-api.md): deploys, versions,
// routes, secrets, usage, metrics, live logs and accounts, over HTTP on a
// listener of its own, every call behind `Authorization: Bearer <token>`.
// The node's admin token is the operator's and has every right; an
// account's token (gateway/deploy/accounts.h) reaches that account's
// workers and KV only, and another account's worker answers as one that
// does not exist (404). Runs on the node's control loop; changes go through
// Node, which applies them one at a time.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "gateway/http/http_types.h"
#include "base/status.h"

namespace edge::gateway {

class Node;
struct AdminResult;

// The admin token from its file (surrounding whitespace trimmed). Errors say
// what to do.
StatusOr<std::string> ReadAdminToken(const std::string& path);

// Whether `authorization` (the header's value) carries `token`: 401 when it
// is missing or not a Bearer credential, 403 when the token is wrong, 0 when
// it is right. The comparison takes the same time whatever the tokens.
int CheckBearer(std::string_view authorization, std::string_view token);

// The largest body the admin API reads whole (a bundle of 10 MiB, base64
// and JSON around it); R2 object uploads stream to disk instead.
inline constexpr size_t kAdminMaxBodyBytes = 32u << 20;

// Whether `path` is an R2 object's (/r2/buckets/<bucket>/objects/<key>).
bool IsR2ObjectPath(std::string_view path);

class AdminApi {
 public:
  // `sync_token` ("" = none) grants the sync API (/sync/...) and KV writes
  // only: what a PoP holds towards its origin or relay.
  AdminApi(Node& node, std::string token, std::string sync_token = "");
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer);
  // Ends every live tail (shutdown), so the listener can drain.
  void Close();

 private:
  class TailStream;
  // `account`: the caller's account, "" for the operator.
  void Answer(const HttpRequest& request, std::string_view path, std::string_view query,
              const std::string& account, std::shared_ptr<ResponseWriter> writer);
  // /accounts/...: operator only.
  void Accounts(const HttpRequest& request, const std::vector<std::string_view>& parts,
                std::shared_ptr<ResponseWriter> writer);
  // `account` ("" = the operator): the stream ends once `worker` is no
  // longer that account's (deleted, then made again by another).
  void Tail(const std::string& worker, std::string_view query, const std::string& account,
            std::shared_ptr<ResponseWriter> writer);
  // /queues[/<name>[/purge]]: an account's queues (wrangler's `queues
  // list|create|delete|purge`).
  // /workflows: the account's workflows and their instances
  // (bindings/workflows/workflow_admin.h), docs/admin-api.md.
  void Workflows(const HttpRequest& request, const std::vector<std::string_view>& parts,
                 std::string_view query, const std::string& account,
                 std::shared_ptr<ResponseWriter> writer);
  void Queues(const HttpRequest& request, const std::vector<std::string_view>& parts,
              std::string_view query, const std::string& account,
              std::shared_ptr<ResponseWriter> writer);
  // /r2/buckets[/<bucket>[/objects[/<key>] | /notifications]]: an
  // account's R2 buckets, objects (streamed both ways) and event
  // notification rules (wrangler's `r2 bucket|object|bucket notification`).
  void R2(const HttpRequest& request, const std::vector<std::string_view>& parts,
          std::string_view query, const std::string& account,
          std::shared_ptr<ResponseWriter> writer);
  void R2Object(const HttpRequest& request, const std::string& owner, const std::string& bucket,
                const std::string& key, std::shared_ptr<ResponseWriter> writer);
  void R2Notifications(const HttpRequest& request, std::string_view query, const std::string& owner,
                       const std::string& bucket, std::shared_ptr<ResponseWriter> writer);
  // Reads a streamed body whole (at most kAdminMaxBodyBytes), then handles
  // the request.
  void BufferBody(HttpRequest request, std::shared_ptr<ResponseWriter> writer);
  void Kv(const HttpRequest& request, const std::vector<std::string_view>& parts,
          std::string_view query, const std::string& account,
          std::shared_ptr<ResponseWriter> writer);

  Node& node_;
  std::string token_;
  std::string sync_token_;
  std::set<std::shared_ptr<TailStream>> tails_;
};

}  // namespace edge::gateway
