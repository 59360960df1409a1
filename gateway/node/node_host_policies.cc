// Node: the operator's host policies (gateway/policy/policy_config.h) —
// node.toml's `[[host_policies]]`, replaced by a set stored through the
// admin API or received from the fleet's origin, swapped in while serving.
#include <fmt/core.h>

#include "base/json_text.h"
#include "base/log.h"
#include "gateway/node/node.h"

namespace edge::gateway {
namespace {

size_t TableCount(const std::shared_ptr<const policy::PolicyTables>& tables) {
  return tables ? tables->size() : 0;
}

// Null for a set without tables: the request path skips policies then.
std::shared_ptr<const policy::PolicyTables> Served(policy::PolicyTables tables) {
  if (tables.empty()) return nullptr;
  return std::make_shared<const policy::PolicyTables>(std::move(tables));
}

}  // namespace

bool Node::Replicates() const {
  for (const auto& extension : extensions_) {
    if (extension->RefuseChanges()) return true;
  }
  return false;
}

StatusOr<Node::HostPolicySet> Node::ReadHostPolicies() const {
  auto stored = store_->GetMeta(kHostPoliciesMetaKey);
  if (!stored.ok()) return stored.status();
  HostPolicySet set;
  if (!*stored || (*stored)->empty()) {
    set.tables = file_host_policies_ && !file_host_policies_->empty() ? file_host_policies_ : nullptr;
    set.json = options_.host_policies_json;
    set.source = file_host_policies_ ? "node.toml" : "none";
    return set;
  }
  auto tables = policy::ParseHostPolicies(**stored, jwks_caches_.get());
  if (!tables.ok()) return tables.status();
  set.tables = Served(std::move(tables).value());
  set.json = **stored;
  set.source = Replicates() ? "origin" : "admin";
  return set;
}

std::shared_ptr<const policy::PolicyTables> Node::StartingHostPolicies() {
  auto set = ReadHostPolicies();
  if (!set.ok()) {
    Log(LogLevel::kError,
        "host policies: the stored set cannot be read ({}); node.toml's [[host_policies]] ({} "
        "tables) serve until a new set arrives",
        set.status().message(), TableCount(file_host_policies_));
    host_policy_source_ = file_host_policies_ ? "node.toml" : "none";
    host_policy_json_ = options_.host_policies_json;
    return file_host_policies_ && !file_host_policies_->empty() ? file_host_policies_ : nullptr;
  }
  bool stored = set->source == "origin" || set->source == "admin";
  std::string_view whose = set->source == "origin" ? "the origin's" : "the admin API's";
  if (stored && file_host_policies_) {
    Log(LogLevel::kWarn,
        "host policies: {} set ({} tables) replaces node.toml's [[host_policies]] ({} tables)",
        whose, TableCount(set->tables), file_host_policies_->size());
  } else if (stored) {
    Log(LogLevel::kInfo, "host policies: {} set ({} tables)", whose, TableCount(set->tables));
  } else if (file_host_policies_ && Replicates()) {
    Log(LogLevel::kInfo,
        "host policies: node.toml's [[host_policies]] ({} tables), until the origin sends a "
        "set, which replaces them",
        file_host_policies_->size());
  }
  host_policy_source_ = set->source;
  host_policy_json_ = set->json;
  return set->tables;
}

void Node::PublishHostPolicies(HostPolicySet set, std::function<void()> done) {
  std::shared_ptr<const NodeState> current = state_.Load();
  auto state = std::make_shared<NodeState>();
  state->workers = current->workers;
  auto routes = RouteTable::Build(current->routes.routes());
  if (!routes.ok()) {
    // The current routes built once already: they build again.
    Log(LogLevel::kError, "host policies: the routes cannot be rebuilt: {}",
        routes.status().message());
    return done();
  }
  state->routes = std::move(routes).value();
  state->host_policies = set.tables;
  state->generation = current->generation + 1;
  host_policy_source_ = std::move(set.source);
  host_policy_json_ = std::move(set.json);
  if (host_policy_source_ == "origin" || host_policy_source_ == "admin") {
    Log(LogLevel::kInfo, "host policies: {} tables from the {} now serve{}",
        TableCount(state->host_policies), host_policy_source_ == "origin" ? "origin" : "admin API",
        file_host_policies_ ? " (they replace node.toml's [[host_policies]])" : "");
  } else {
    Log(LogLevel::kInfo, "host policies: no stored set; {} apply",
        file_host_policies_ ? fmt::format("node.toml's {} tables", file_host_policies_->size())
                            : std::string("none"));
  }
  Switch(std::move(state), nullptr, std::move(done));
}

void Node::ReloadHostPolicies() {
  PostToControl([this] {
    Enqueue([this](std::function<void()> finished) {
      auto set = ReadHostPolicies();
      if (!set.ok()) {
        Log(LogLevel::kError, "host policies: the stored set cannot be read ({}); the current {} "
                              "tables keep serving",
            set.status().message(), TableCount(state_.Load()->host_policies));
        return finished();
      }
      PublishHostPolicies(std::move(set).value(), std::move(finished));
    });
  });
}

void Node::SetHostPolicies(std::string json, Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, json = std::move(json), done = std::move(done)](std::function<void()> finished) {
    if (json.find_first_not_of(" \t\r\n") == std::string::npos) {
      done(AdminResult::Error(
          400, "the body must be the host policies: a JSON array of [[host_policies]] tables "
               "([] for none)"));
      return finished();
    }
    auto tables = policy::ParseHostPolicies(json, jwks_caches_.get());
    if (!tables.ok()) {
      done(AdminResult::Error(400, tables.status().message()));
      return finished();
    }
    size_t count = tables->size();
    Status written = store_->Write([&](DeployStore::Writer& writer) {
      return writer.PutMeta(kHostPoliciesMetaKey, json);
    });
    if (!written.ok()) {
      done(AdminResult::Error(500, written.message()));
      return finished();
    }
    NodeChange change;
    change.kind = NodeChange::Kind::kHostPolicies;
    change.host_policies = json;
    Status told = Notify(change);
    HostPolicySet set{Served(std::move(tables).value()), json, "admin"};
    PublishHostPolicies(std::move(set), [done, finished, told, count] {
      done(told.ok() ? AdminResult{200, fmt::format("{{\"source\":\"admin\",\"tables\":{}}}", count)}
                     : AdminResult::Error(500, told.message()));
      finished();
    });
  });
}

void Node::DeleteHostPolicies(Done done) {
  if (RefuseAdmin(done)) return;
  Enqueue([this, done = std::move(done)](std::function<void()> finished) {
    auto stored = store_->GetMeta(kHostPoliciesMetaKey);
    if (!stored.ok()) {
      done(AdminResult::Error(500, stored.status().message()));
      return finished();
    }
    if (!*stored || (*stored)->empty()) {
      done(AdminResult::Error(404, "no host policies were set through the admin API"));
      return finished();
    }
    Status written = store_->Write([&](DeployStore::Writer& writer) {
      return writer.PutMeta(kHostPoliciesMetaKey, "");
    });
    if (!written.ok()) {
      done(AdminResult::Error(500, written.message()));
      return finished();
    }
    NodeChange change;
    change.kind = NodeChange::Kind::kHostPoliciesDelete;
    Status told = Notify(change);
    auto set = ReadHostPolicies();
    if (!set.ok()) {
      done(AdminResult::Error(500, set.status().message()));
      return finished();
    }
    std::string source = set->source;
    size_t count = TableCount(set->tables);
    PublishHostPolicies(std::move(set).value(), [done, finished, told, source, count] {
      done(told.ok() ? AdminResult{200, fmt::format("{{\"source\":{},\"tables\":{}}}",
                                                    base::JsonString(source), count)}
                     : AdminResult::Error(500, told.message()));
      finished();
    });
  });
}

AdminResult Node::HostPoliciesAnswer() const {
  std::string json = host_policy_json_.empty() ? "[]" : host_policy_json_;
  return {200, fmt::format("{{\"source\":{},\"tables\":{},\"host_policies\":{}}}",
                           base::JsonString(host_policy_source_),
                           TableCount(state_.Load()->host_policies), json)};
}

}  // namespace edge::gateway
