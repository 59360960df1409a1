// The runtime's own JavaScript (runtime/js, each runtime/<api>/ and
// bindings/<kind>/ folder), compiled into the binary by cmake/EmbedJs.cmake in
// the order the files are evaluated (cmake/EdgeJs.cmake). `name` is the
// file's path in the source tree.
#pragma once

#include <cstddef>
#include <string_view>

namespace edge::runtime {

struct JsSource {
  const char* name;
  std::string_view source;
};

extern const JsSource kRuntimeJs[];
extern const size_t kRuntimeJsCount;

// The runtime's files evaluated in an isolate the first time it reads one
// of their names (runtime/lazy_js.h), not in the startup snapshot.
extern const JsSource kLazyJs[];
extern const size_t kLazyJsCount;

// The node: modules (runtime/node), evaluated by a worker with the
// nodejs_compat flag when it imports one (runtime/node/node_modules.h); no
// isolate without the flag evaluates or compiles them.
extern const JsSource kNodeJs[];
extern const size_t kNodeJsCount;

}  // namespace edge::runtime
