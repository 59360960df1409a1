// Registers every native a worker's context gets: the runtime's own, the Web
// APIs' (runtime/web_apis.h) and the bindings' (fetch, KV, service, cache, queues). One
// list, in bindings.cc; each binding keeps its natives in its own folder.
#pragma once

#include "runtime/native.h"

namespace edge::bindings {

void RegisterNatives(runtime::NativeRegistry& registry);

// Per binding (called by RegisterNatives).
void RegisterServiceNatives(runtime::NativeRegistry& registry);
void RegisterFetchNatives(runtime::NativeRegistry& registry);
void RegisterKvNatives(runtime::NativeRegistry& registry);
void RegisterCacheNatives(runtime::NativeRegistry& registry);
void RegisterQueueNatives(runtime::NativeRegistry& registry);
void RegisterSocketNatives(runtime::NativeRegistry& registry);
void RegisterWebSocketClientNatives(runtime::NativeRegistry& registry);
void RegisterR2Natives(runtime::NativeRegistry& registry);
void RegisterRateLimitNatives(runtime::NativeRegistry& registry);
void RegisterWorkflowNatives(runtime::NativeRegistry& registry);

}  // namespace edge::bindings
