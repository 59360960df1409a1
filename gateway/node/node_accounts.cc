// Node: accounts (gateway/deploy/accounts.h) — who owns a worker, which
// routes an account may have, the account changes the operator makes, and
// the move of what was deployed before accounts existed into `default`.
#include <fmt/core.h>

#include <set>

#include "base/json_text.h"
#include "base/log.h"
#include "base/sha256.h"
#include "gateway/node/node.h"
#include "bindings/r2/r2_store.h"
#include "bindings/cache/cache_store.h"


namespace edge::gateway {
namespace {

// The meta key that says MigrateToAccounts ran on this store.
constexpr const char* kAccountsMeta = "accounts";
// The KV store's replica key the migration's writes go with (KvStore::Apply
// needs one; nothing reads it).
constexpr const char* kKvMigrationMeta = "accounts-migration";

// Moves every key of KV namespace `from` to `to`. A key `to` already holds
// is left as it is (logged): the first namespace moved there wins.
Status MoveNamespace(bindings::KvStore& kv, const std::string& from, const std::string& to) {
  std::string cursor;
  size_t moved = 0, kept = 0;
  while (true) {
    auto page = kv.List(from, "", bindings::kKvMaxListLimit, cursor);
    if (!page.ok()) return page.status();
    for (const bindings::KvListKey& listed : page->keys) {
      auto entry = kv.Get(from, listed.name);
      if (!entry.ok()) return entry.status();
      if (!*entry) continue;  // expired meanwhile
      auto there = kv.Get(to, listed.name);
      if (!there.ok()) return there.status();
      if (*there) {
        ++kept;
      } else {
        bindings::KvWrite put;
        put.ns = to;
        put.key = listed.name;
        put.value = (*entry)->value;
        put.metadata = (*entry)->metadata;
        put.expiration = (*entry)->expiration;
        EDGE_RETURN_IF_ERROR(kv.Apply(put, kKvMigrationMeta, from));
        ++moved;
      }
      bindings::KvWrite remove;
      remove.is_delete = true;
      remove.ns = from;
      remove.key = listed.name;
      EDGE_RETURN_IF_ERROR(kv.Apply(remove, kKvMigrationMeta, from));
    }
    if (page->complete) break;
    cursor = page->cursor;
  }
  if (moved + kept > 0) {
    Log(LogLevel::kInfo, "accounts: KV namespace {} moved to {} ({} keys{})", from, to, moved,
        kept == 0 ? "" : fmt::format("; {} keys {} already held were dropped", kept, to));
  }
  return Status::Ok();
}

}  // namespace

Status DropAccountCache(bindings::CacheStore* cache, const std::string& account) {
  if (cache == nullptr) return Status::Ok();
  auto dropped = cache->DropOwner(bindings::CacheOwner(account, ""));
  return dropped.ok() ? Status::Ok() : dropped.status();
}

Status DropAccountNamespaces(bindings::KvStore& kv, const std::string& account) {
  auto namespaces = kv.Namespaces(account + "/");
  if (!namespaces.ok()) return namespaces.status();
  for (const std::string& ns : *namespaces) {
    while (true) {
      auto page = kv.List(ns, "", bindings::kKvMaxListLimit, "");
      if (!page.ok()) return page.status();
      if (page->keys.empty()) break;
      for (const bindings::KvListKey& listed : page->keys) {
        bindings::KvWrite remove;
        remove.is_delete = true;
        remove.ns = ns;
        remove.key = listed.name;
        EDGE_RETURN_IF_ERROR(kv.Apply(remove, kKvMigrationMeta, ns));
      }
    }
  }
  return Status::Ok();
}

namespace {

// Parses and checks hostname patterns, in order, without duplicates.
StatusOr<std::vector<HostPattern>> ParseHosts(const std::vector<std::string>& texts) {
  std::vector<HostPattern> hosts;
  for (const std::string& text : texts) {
    auto host = ParseHostPattern(text);
    if (!host.ok()) return host.status();
    if (std::find(hosts.begin(), hosts.end(), *host) == hosts.end()) hosts.push_back(*host);
  }
  return hosts;
}

AdminResult TokenResult(const std::string& token, const AccountRecord& record) {
  std::string body = record.PublicJson();
  body.pop_back();  // the closing brace: the token goes inside
  body += fmt::format(",\"token\":{}}}", base::JsonString(token));
  return {200, body};
}

// A refusal (409) when a worker outside `account` routes a host `host`
// matches: that host is in use by another account (`default` included).
std::optional<AdminResult> RoutedByOthers(const NodeState& state, const std::string& account,
                                          const HostPattern& host) {
  for (const Route& route : state.routes.routes()) {
    const std::shared_ptr<const ServedWorker>* served = state.Find(route.worker);
    auto parsed = ParseRoutePattern(route.pattern);
    if (served == nullptr || !parsed.ok() || (*served)->account == account) continue;
    for (const HostPattern& routed : RouteHostPatterns(*parsed)) {
      if (HostPatternsOverlap(routed, host)) {
        return AdminResult::Error(
            409, fmt::format("host {} is routed by worker '{}' of account '{}': change its "
                             "routes first",
                             host.Text(), route.worker, (*served)->account));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Status Node::LoadAccounts() {
  auto accounts = store_->Accounts();
  if (!accounts.ok()) return accounts.status();
  accounts_ = std::make_shared<const AccountTable>(std::move(accounts).value());
  return Status::Ok();
}

Status Node::MigrateToAccounts() {
  auto done = store_->GetMeta(kAccountsMeta);
  if (!done.ok()) return done.status();
  if (*done) return Status::Ok();
  auto names = store_->WorkerNames();
  if (!names.ok()) return names.status();
  std::vector<std::string> moved;
  for (const std::string& name : *names) {
    auto owner = store_->OwnerOf(name);
    if (!owner.ok()) return owner.status();
    if (*owner) continue;
    auto deployed = store_->LoadWorker(name);
    if (!deployed.ok()) return deployed.status();
    if (*deployed) {
      // Its KV data: the namespaces its bundle names, under its old account.
      auto bundle = DecodeBundle((*deployed)->bundle_json);
      if (bundle.ok()) {
        std::string old_account = bundle->account.empty() ? name : bundle->account;
        for (const auto& [binding, id] : bundle->kv_namespaces) {
          EDGE_RETURN_IF_ERROR(MoveNamespace(*services_->kv, ScopedName(old_account, id),
                                             ScopedName(kDefaultAccount, id)));
        }
      }
    }
    moved.push_back(name);
  }
  Status written = store_->Write([&](DeployStore::Writer& writer) -> Status {
    for (const std::string& name : moved) {
      EDGE_RETURN_IF_ERROR(writer.SetOwner(name, std::string(kDefaultAccount)));
    }
    AccountRecord fallback;
    fallback.name = kDefaultAccount;
    fallback.created_ms = UnixMs();
    EDGE_RETURN_IF_ERROR(writer.PutAccount(fallback));
    return writer.PutMeta(kAccountsMeta, "1");
  });
  if (!written.ok()) return written;
  if (!moved.empty()) {
    Log(LogLevel::kInfo,
        "accounts: {} worker(s) deployed before accounts now belong to account "
        "'default', which only the operator token reaches",
        moved.size());
  }
  return Status::Ok();
}

StatusOr<std::optional<std::string>> Node::OwnerOf(const std::string& name) const {
  auto owner = store_->OwnerOf(name);
  if (!owner.ok() || *owner) return owner;
  auto exists = store_->HasWorker(name);
  if (!exists.ok()) return exists.status();
  if (*exists) return std::optional<std::string>(std::string(kDefaultAccount));
  return std::optional<std::string>();
}

std::optional<AdminResult> Node::RefuseWorker(const std::string& name,
                                              const std::string& account) const {
  if (account.empty()) return std::nullopt;
  auto owner = OwnerOf(name);
  if (!owner.ok()) return AdminResult::Error(500, owner.status().message());
  if (*owner && **owner != account) {
    // As for a worker that does not exist: another account's names do not
    // show.
    return AdminResult::Error(404, fmt::format("no worker named '{}'", name));
  }
  return std::nullopt;
}

std::optional<AdminResult> Node::RefuseRoutes(const std::string& account,
                                              const std::vector<std::string>& routes) const {
  for (const std::string& pattern : routes) {
    auto parsed = ParseRoutePattern(pattern);
    if (!parsed.ok()) return AdminResult::Error(400, parsed.status().message());
    Status allowed = accounts_->CheckRoute(account, pattern, *parsed);
    if (!allowed.ok()) return AdminResult::Error(403, allowed.message());
  }
  return std::nullopt;
}

void Node::EnqueueAccountChange(std::string name,
                                std::function<StatusOr<AdminResult>(DeployStore::Writer&)> write,
                                Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, name = std::move(name), write = std::move(write),
           done = std::move(done)](std::function<void()> finished) {
    std::optional<AdminResult> result;
    Status written = store_->Write([&](DeployStore::Writer& writer) -> Status {
      auto answer = write(writer);
      if (!answer.ok()) return answer.status();
      result = *answer;
      // A refusal (4xx) changes nothing.
      return result->status == 200 ? Status::Ok() : Status(ErrorCode::kInvalidInput, "refused");
    });
    if (result && result->status != 200) {
      done(*result);
      return finished();
    }
    if (!written.ok()) {
      done(AdminResult::Error(written.code() == ErrorCode::kNotFound ? 404 : 500,
                              written.message()));
      return finished();
    }
    Status loaded = LoadAccounts();
    if (loaded.ok()) {
      // Tell the fleet: the account as it now is.
      NodeChange change;
      change.kind = NodeChange::Kind::kAccount;
      change.account = name;
      const AccountRecord* record = accounts_->Find(name);
      if (record != nullptr) change.account_record = record->Encode();
      loaded = record != nullptr ? Notify(change)
                                 : Status(ErrorCode::kInternal, "the account went missing");
    }
    done(loaded.ok() ? *result : AdminResult::Error(500, loaded.message()));
    finished();
  });
}

void Node::ReloadAccounts() {
  PostToControl([this] {
    Status loaded = LoadAccounts();
    if (!loaded.ok()) Log(LogLevel::kError, "cannot read the accounts: {}", loaded.message());
  });
}

void Node::CreateAccount(std::string name, std::vector<std::string> hosts, Done done) {
  EnqueueAccountChange(
      name,
      [this, name, hosts = std::move(hosts)](DeployStore::Writer& writer) -> StatusOr<AdminResult> {
        Status valid = CheckAccountName(name);
        if (!valid.ok()) return AdminResult::Error(400, valid.message());
        if (accounts_->Find(name) != nullptr) {
          return AdminResult::Error(409, fmt::format("account '{}' exists already", name));
        }
        auto parsed = ParseHosts(hosts);
        if (!parsed.ok()) return AdminResult::Error(400, parsed.status().message());
        if (parsed->size() > kMaxAccountHosts) {
          return AdminResult::Error(400, fmt::format("an account owns at most {} hostname "
                                                     "patterns",
                                                     kMaxAccountHosts));
        }
        std::shared_ptr<const NodeState> state = state_.Load();
        for (const HostPattern& host : *parsed) {
          Status free = accounts_->CheckNewHost(name, host);
          if (!free.ok()) return AdminResult::Error(409, free.message());
          // A host another account's workers route already is theirs.
          if (auto taken = RoutedByOthers(*state, name, host)) return *taken;
        }
        auto token = NewAccountToken();
        if (!token.ok()) return token.status();
        AccountRecord record;
        record.name = name;
        record.hosts = std::move(parsed).value();
        record.token_sha256 = base::Sha256Hex(*token);
        record.created_ms = UnixMs();
        EDGE_RETURN_IF_ERROR(writer.PutAccount(record));
        Log(LogLevel::kInfo, "account '{}' created with {} host pattern(s)", name,
            record.hosts.size());
        return TokenResult(*token, record);
      },
      std::move(done));
}

void Node::ChangeAccountHosts(std::string name, std::vector<std::string> add,
                              std::vector<std::string> remove, Done done) {
  EnqueueAccountChange(
      name,
      [this, name, add = std::move(add),
       remove = std::move(remove)](DeployStore::Writer& writer) -> StatusOr<AdminResult> {
        const AccountRecord* found = accounts_->Find(name);
        if (found == nullptr)
          return AdminResult::Error(404, fmt::format("no account named '{}'", name));
        if (name == kDefaultAccount) {
          return AdminResult::Error(400,
                                    "account 'default' owns no hosts: its workers route "
                                    "the hosts no other account owns");
        }
        auto adding = ParseHosts(add);
        if (!adding.ok()) return AdminResult::Error(400, adding.status().message());
        auto removing = ParseHosts(remove);
        if (!removing.ok()) return AdminResult::Error(400, removing.status().message());
        AccountRecord record = *found;
        std::shared_ptr<const NodeState> state = state_.Load();
        for (const HostPattern& host : *removing) {
          auto at = std::find(record.hosts.begin(), record.hosts.end(), host);
          if (at == record.hosts.end()) {
            return AdminResult::Error(
                404, fmt::format("account '{}' does not own {}", name, host.Text()));
          }
          record.hosts.erase(at);
        }
        for (const HostPattern& host : *adding) {
          if (std::find(record.hosts.begin(), record.hosts.end(), host) != record.hosts.end()) {
            continue;
          }
          Status free = accounts_->CheckNewHost(name, host);
          if (!free.ok()) return AdminResult::Error(409, free.message());
          if (auto taken = RoutedByOthers(*state, name, host)) return *taken;
          record.hosts.push_back(host);
        }
        if (record.hosts.size() > kMaxAccountHosts) {
          return AdminResult::Error(400, fmt::format("an account owns at most {} hostname "
                                                     "patterns",
                                                     kMaxAccountHosts));
        }
        // The account's own routes must stay within what it owns.
        for (const Route& route : state->routes.routes()) {
          const std::shared_ptr<const ServedWorker>* served = state->Find(route.worker);
          auto parsed = ParseRoutePattern(route.pattern);
          if (served == nullptr || !parsed.ok() || (*served)->account != name) continue;
          if (!HostsCoverRoute(record.hosts, *parsed)) {
            return AdminResult::Error(
                409, fmt::format("worker '{}' routes {}, which needs the hosts removed: change "
                                 "its routes first",
                                 route.worker, route.pattern));
          }
        }
        EDGE_RETURN_IF_ERROR(writer.PutAccount(record));
        Log(LogLevel::kInfo, "account '{}' now owns {} host pattern(s)", name, record.hosts.size());
        return AdminResult{200, record.PublicJson()};
      },
      std::move(done));
}

void Node::RotateAccountToken(std::string name, Done done) {
  EnqueueAccountChange(
      name,
      [this, name](DeployStore::Writer& writer) -> StatusOr<AdminResult> {
        const AccountRecord* found = accounts_->Find(name);
        if (found == nullptr)
          return AdminResult::Error(404, fmt::format("no account named '{}'", name));
        if (name == kDefaultAccount) {
          return AdminResult::Error(400,
                                    "account 'default' has no token: only the operator's "
                                    "token reaches it");
        }
        auto token = NewAccountToken();
        if (!token.ok()) return token.status();
        AccountRecord record = *found;
        record.token_sha256 = base::Sha256Hex(*token);
        EDGE_RETURN_IF_ERROR(writer.PutAccount(record));
        Log(LogLevel::kInfo, "account '{}': new token (the old one no longer works)", name);
        return TokenResult(*token, record);
      },
      std::move(done));
}

void Node::RevokeAccountToken(std::string name, Done done) {
  EnqueueAccountChange(
      name,
      [this, name](DeployStore::Writer& writer) -> StatusOr<AdminResult> {
        const AccountRecord* found = accounts_->Find(name);
        if (found == nullptr)
          return AdminResult::Error(404, fmt::format("no account named '{}'", name));
        AccountRecord record = *found;
        record.token_sha256.clear();
        EDGE_RETURN_IF_ERROR(writer.PutAccount(record));
        Log(LogLevel::kInfo, "account '{}': token revoked", name);
        return AdminResult{200, record.PublicJson()};
      },
      std::move(done));
}

void Node::DeleteAccount(std::string name, Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, name = std::move(name), done = std::move(done)](std::function<void()> finished) {
    if (name == kDefaultAccount) {
      done(AdminResult::Error(400,
                              "account 'default' cannot be deleted (delete its workers "
                              "one by one)"));
      return finished();
    }
    if (accounts_->Find(name) == nullptr) {
      done(AdminResult::Error(404, fmt::format("no account named '{}'", name)));
      return finished();
    }
    auto workers = store_->WorkersOf(name);
    if (!workers.ok()) {
      done(AdminResult::Error(500, workers.status().message()));
      return finished();
    }
    Status written = store_->Write([&](DeployStore::Writer& writer) -> Status {
      for (const std::string& worker : *workers) {
        Status deleted = writer.DeleteWorker(worker);
        if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound) return deleted;
      }
      return writer.DeleteAccount(name);
    });
    if (written.ok()) written = DropAccountNamespaces(*services_->kv, name);
    if (written.ok()) written = DropAccountCache(services_->cache.get(), name);
    // Its R2 buckets and all they hold.
    if (written.ok() && services_->r2 != nullptr) written = services_->r2->DropOwner(name);
    if (written.ok() && r2_events_ != nullptr) written = r2_events_->DropOwner(name);
    // The fleet deletes the workers, then the account (and its KV data).
    for (const std::string& worker : *workers) {
      meter_.Forget(worker);
      if (!written.ok()) break;
      NodeChange change;
      change.kind = NodeChange::Kind::kDeleteWorker;
      change.worker = worker;
      written = Notify(change);
    }
    if (written.ok()) {
      NodeChange change;
      change.kind = NodeChange::Kind::kAccountDelete;
      change.account = name;
      written = Notify(change);
    }
    Status loaded = LoadAccounts();
    if (!written.ok() || !loaded.ok()) {
      done(AdminResult::Error(500, !written.ok() ? written.message() : loaded.message()));
      return finished();
    }
    // Serve what the store now holds: none of the account's workers.
    std::shared_ptr<const NodeState> current = state_.Load();
    auto state = std::make_shared<NodeState>();
    state->workers = current->workers;
    state->host_policies = current->host_policies;
    for (const std::string& worker : *workers) state->workers.erase(worker);
    std::vector<Route> routes;
    for (const Route& route : current->routes.routes()) {
      if (state->workers.count(route.worker) != 0) routes.push_back(route);
    }
    auto table = RouteTable::Build(std::move(routes));
    if (!table.ok()) {
      done(AdminResult::Error(500, table.status().message()));
      return finished();
    }
    state->routes = std::move(table).value();
    state->generation = current->generation + 1;
    size_t count = workers->size();
    Switch(std::move(state), nullptr, [name, count, done, finished] {
      Log(LogLevel::kInfo, "account '{}' deleted with its {} worker(s) and its KV data", name,
          count);
      done({200, fmt::format("{{\"deleted\":{},\"workers\":{}}}", base::JsonString(name), count)});
      finished();
    });
  });
}

}  // namespace edge::gateway
