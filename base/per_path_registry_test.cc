#include "base/per_path_registry.h"

#include <gtest/gtest.h>

namespace edge::base {
namespace {

struct Store {
  explicit Store(std::string p) : path_(std::move(p)) {}
  const std::string& path() const { return path_; }
  std::string path_;
};

TEST(PerPathRegistryTest, OneStorePerPathWhileHeld) {
  int made = 0;
  auto make = [&](const std::string& path) {
    return [&made, path] {
      ++made;
      return new Store(path);
    };
  };
  std::shared_ptr<Store> a = PerPathRegistry<Store>::Get("/state/a", make("/state/a"));
  std::shared_ptr<Store> again = PerPathRegistry<Store>::Get("/state/a", make("/state/a"));
  std::shared_ptr<Store> b = PerPathRegistry<Store>::Get("/state/b", make("/state/b"));
  EXPECT_EQ(a.get(), again.get());
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(made, 2);
  // Once its last holder lets go, the next Get makes a new one.
  a.reset();
  again.reset();
  std::shared_ptr<Store> fresh = PerPathRegistry<Store>::Get("/state/a", make("/state/a"));
  EXPECT_EQ(made, 3);
  EXPECT_EQ(fresh->path(), "/state/a");
}

}  // namespace
}  // namespace edge::base
