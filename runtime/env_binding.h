// The bindings of a worker's `env` that are objects, not plain values (a KV
// namespace, a service), as the stored deployment (or edge.toml in dev)
// describes them. They are the privileges of the worker: what it may touch
// besides its own isolate.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::runtime {

// `kind` names the factory registered with internals.registerBindingKind
// ("kv", "service"); `options` say what the binding reaches (a KV namespace
// id, a service name). The options never go to JavaScript as anything the
// natives trust: a binding object holds a handle into its isolate's table of
// EnvBindings (IsolateData::FindBinding), and the natives read the options
// from there.
struct EnvBinding {
  std::string name;  // env.<name>
  std::string kind;
  std::vector<std::pair<std::string, std::string>> options;

  // The value of option `key`, or `fallback` when there is none.
  std::string Option(std::string_view key, std::string_view fallback = {}) const {
    for (const auto& [k, v] : options) {
      if (k == key) return v;
    }
    return std::string(fallback);
  }
};

}  // namespace edge::runtime
