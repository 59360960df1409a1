// Where a node keeps its deployments' code caches (runtime/worker_code_cache.h):
// `<data_dir>/code-cache/<bundle sha256>/`, one folder per bundle, so two
// workers deployed from the same bundle share it and a new version gets a
// folder of its own. The node makes every cache itself; nothing here is
// read from a bundle or a peer.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "runtime/worker_code_cache.h"

namespace edge::gateway {

// The code cache of the bundle `bundle_sha256` (lower-case hex) under
// `data_dir`.
std::shared_ptr<const runtime::WorkerCodeCache> CodeCacheFor(const std::string& data_dir,
                                                             const std::string& bundle_sha256);

// Removes the folders of bundles not in `keep` (versions replaced or
// deleted before the node started); errors are logged. Returns how many
// went.
size_t PruneCodeCaches(const std::string& data_dir, const std::set<std::string>& keep);

}  // namespace edge::gateway
