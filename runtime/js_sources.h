// The runtime's own JavaScript (runtime/js/*.js), compiled into the binary by
// cmake/EmbedJs.cmake, in the order the files are evaluated.
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

}  // namespace edge::runtime
