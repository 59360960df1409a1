// One object per folder per process, shared while anyone holds it: LMDB
// forbids opening one environment twice in a process, so a store opened
// again for a folder it already has open is the same store. Header-only.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace edge::base {

// `Store` has `const std::string& path() const`, the key it was made for.
template <typename Store>
class PerPathRegistry {
 public:
  // The live store for `path`, else the one `make()` returns (a new
  // Store*), registered until its last holder lets go of it.
  template <typename Make>
  static std::shared_ptr<Store> Get(const std::string& path, Make make) {
    State& state = GetState();
    std::lock_guard lock(state.mutex);
    auto it = state.stores.find(path);
    if (it != state.stores.end()) {
      if (std::shared_ptr<Store> store = it->second.lock()) return store;
    }
    std::shared_ptr<Store> store(make(), [](Store* doomed) {
      // Deleted under the lock: a new store for the folder is not made
      // until this one has closed it.
      State& state = GetState();
      std::lock_guard guard(state.mutex);
      auto found = state.stores.find(doomed->path());
      if (found != state.stores.end() && found->second.expired()) state.stores.erase(found);
      delete doomed;
    });
    state.stores[path] = store;
    return store;
  }

 private:
  struct State {
    std::mutex mutex;
    std::map<std::string, std::weak_ptr<Store>> stores;
  };
  static State& GetState() {
    static State* state = new State;  // never destroyed: used by deleters at exit
    return *state;
  }
};

}  // namespace edge::base
