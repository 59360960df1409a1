// What the process gives the bindings' natives: the concrete HostServices
// that `edge dev` (and later `edge serve`) puts in WorkerSpec::services.
// Natives reach it with ServicesOf(call.data().services()).
#pragma once

#include <memory>

#include "bindings/service/service_directory.h"
#include "runtime/host_services.h"

namespace edge::bindings {

class KvStore;     // bindings/kv/kv_store.h
class CacheStore;  // bindings/cache/cache_store.h
class QueueStore;  // bindings/queues/queue_store.h
class R2Store;     // bindings/r2/r2_store.h
class R2Fleet;     // bindings/r2/r2_fleet.h
class TokenBuckets;  // bindings/ratelimit/token_buckets.h
class WorkflowStore;  // bindings/workflows/workflow_store.h
class WorkflowFleet;  // bindings/workflows/workflow_fleet.h
namespace outbound {
class Client;  // bindings/fetch/outbound/client.h
}

struct BindingServices : runtime::HostServices {
  // The other workers of this process, for service bindings; not owned.
  ServiceDirectory* services = nullptr;
  // The store behind every `kv` binding (bindings/kv/kv_store.h); null when the
  // host has none, and then KV calls reject with an error saying so.
  std::shared_ptr<KvStore> kv;
  // The store behind `caches` (bindings/cache/cache_store.h), shared by
  // every worker; each reaches only its owner's entries. Null when the host
  // has none, and then Cache API calls reject with an error saying so.
  std::shared_ptr<CacheStore> cache;
  // The store behind every `queue` producer binding
  // (bindings/queues/queue_store.h); null when the host has none, and then
  // sends reject with an error saying so.
  std::shared_ptr<QueueStore> queues;
  // The store behind every `r2` binding (bindings/r2/r2_store.h); each
  // worker reaches its account's buckets that it is bound to. Null when
  // the host has none, and then R2 calls reject with an error saying so.
  std::shared_ptr<R2Store> r2;
  // Where R2 calls go on a PoP of a fleet, whose buckets live at the
  // origin (bindings/r2/r2_fleet.h); null: all in `r2`. Set once the
  // node's sync extension starts, while threads may already read it: read
  // and written with std::atomic_load / std::atomic_store.
  std::shared_ptr<R2Fleet> r2_fleet;
  // The token buckets behind every `ratelimit` binding and the gateway's
  // `rate_limit` policies (bindings/ratelimit/token_buckets.h), one table
  // per process; null when the host has none, and then limit() rejects
  // with an error saying so.
  std::shared_ptr<TokenBuckets> rate_limits;
  // The store behind every `workflow` binding
  // (bindings/workflows/workflow_store.h); null when the host has none,
  // and then the binding's calls reject with an error saying so.
  std::shared_ptr<WorkflowStore> workflows;
  // Where workflow calls go on a PoP of a fleet whose instances live on
  // another node (bindings/workflows/workflow_fleet.h); null: all local.
  // Set once the node's sync extension starts, while threads may already
  // read it: read and written with std::atomic_load / std::atomic_store.
  std::shared_ptr<WorkflowFleet> workflow_fleet;
  // The outbound HTTP client behind fetch(), one per process (shared by
  // every worker and thread); null when the host has none, and then fetch()
  // rejects with an error saying so.
  std::shared_ptr<outbound::Client> outbound;
};

// The services of the isolate a native runs in, or null when the worker was
// loaded without any. Every host passes a BindingServices (or nothing).
inline BindingServices* ServicesOf(runtime::HostServices* services) {
  return static_cast<BindingServices*>(services);
}

}  // namespace edge::bindings
