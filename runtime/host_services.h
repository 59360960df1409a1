// What the process provides to the natives of every worker it loads (the
// KV store, the outbound connection pool, the other loaded workers). The
// component that registers a native defines the concrete type and casts
// back to it; the runtime only carries the pointer.
#pragma once

namespace edge::runtime {

class HostServices {
 public:
  virtual ~HostServices() = default;
};

}  // namespace edge::runtime
