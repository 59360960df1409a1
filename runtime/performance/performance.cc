// performance.now() (https://w3c.github.io/hr-time/): milliseconds since the
// isolate's time origin on the monotonic clock.
#include <uv.h>

#include "runtime/web_apis.h"
#include "runtime/isolate_data.h"

namespace edge::runtime {
namespace {

NativeResult Now(NativeCall& call) {
  double ms = static_cast<double>(uv_hrtime() - call.data().time_origin_ns()) / 1e6;
  return v8::Number::New(call.isolate(), ms).As<v8::Value>();
}

}  // namespace

void RegisterPerformanceNatives(NativeRegistry& registry) {
  registry.Add("now", Now);
}

}  // namespace edge::runtime
