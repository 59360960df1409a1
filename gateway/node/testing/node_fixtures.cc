#include "gateway/node/testing/node_fixtures.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

namespace edge::gateway::testing {
namespace {

WorkerBundle OneModuleBundle(const std::string& name, const std::string& source,
                             std::vector<runtime::WorkerVar> vars, const WorkerLimits& limits) {
  WorkerBundle bundle;
  bundle.name = name;
  bundle.main_module = "index.js";
  bundle.modules = {{"index.js", source}};
  bundle.vars = std::move(vars);
  bundle.limits = limits;
  return bundle;
}

}  // namespace

std::shared_ptr<const ServedWorker> MakeServed(const std::string& name, uint64_t instance,
                                               const std::string& source,
                                               const WorkerLimits& limits) {
  WorkerBundle bundle = OneModuleBundle(name, source, {}, limits);
  std::string root = fmt::format("/workers/{}/i{}", name, instance);
  auto spec = SpecFromBundle(bundle, root);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  auto served = std::make_shared<ServedWorker>();
  served->name = name;
  served->version = instance;
  served->instance = instance;
  served->limits = limits;
  served->account = name;
  if (spec.ok()) served->spec = std::move(spec).value();
  served->spec.files = BundleFiles(bundle, root);
  served->spec.startup_cpu_limit_ms = limits.startup_cpu_ms;
  return served;
}

std::string BundleJson(const std::string& name, const std::string& source,
                       const std::vector<std::string>& routes, std::vector<runtime::WorkerVar> vars,
                       const WorkerLimits& limits,
                       std::vector<std::pair<std::string, std::string>> services) {
  WorkerBundle bundle = OneModuleBundle(name, source, std::move(vars), limits);
  bundle.routes = routes;
  for (auto& [binding, service] : services) bundle.services.push_back({binding, service, ""});
  return EncodeBundle(bundle);
}

}  // namespace edge::gateway::testing
