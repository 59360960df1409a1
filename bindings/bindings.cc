#include "bindings/bindings.h"

#include "runtime/web_apis.h"
#include "runtime/worker.h"

namespace edge::bindings {

void RegisterNatives(runtime::NativeRegistry& registry) {
  runtime::RegisterRuntimeNatives(registry);
  runtime::RegisterWebApiNatives(registry);
  RegisterServiceNatives(registry);
  RegisterKvNatives(registry);
  RegisterFetchNatives(registry);
  RegisterCacheNatives(registry);
  RegisterQueueNatives(registry);
  RegisterSocketNatives(registry);
  RegisterWebSocketClientNatives(registry);
  RegisterR2Natives(registry);
  RegisterRateLimitNatives(registry);
  RegisterWorkflowNatives(registry);
}

}  // namespace edge::bindings
