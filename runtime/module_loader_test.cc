#include "runtime/module_loader.h"

#include <gtest/gtest.h>

#include "base/testing/temp_dir.h"

namespace edge::runtime {
namespace {

class ModuleLoaderTest : public ::testing::Test {
 protected:
  ModuleLoaderTest() {
    for (const char* file : {"src/index.js", "src/lib/x.js", "y.mjs", "src/pkg/index.js",
                             "src/noext.js"}) {
      dir_.Write(file, "export {};");
    }
  }
  std::string Path(const std::string& relative) { return dir_.Path(relative); }
  base::testing::TempDir dir_{"edge-loader"};
};

TEST_F(ModuleLoaderTest, ResolvesRelativeToTheImporter) {
  auto x = ResolveModulePath(Path("src/index.js"), "./lib/x.js");
  ASSERT_TRUE(x.ok()) << x.status().message();
  EXPECT_EQ(*x, Path("src/lib/x.js"));
  auto y = ResolveModulePath(Path("src/lib/x.js"), "../../y.mjs");
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(*y, Path("y.mjs"));
}

TEST_F(ModuleLoaderTest, TriesExtensionsAndIndexLikeTheBundler) {
  EXPECT_EQ(*ResolveModulePath(Path("src/index.js"), "./noext"), Path("src/noext.js"));
  EXPECT_EQ(*ResolveModulePath(Path("src/index.js"), "./pkg"), Path("src/pkg/index.js"));
}

TEST_F(ModuleLoaderTest, RefusesBareSpecifiersAndMissingFiles) {
  auto bare = ResolveModulePath(Path("src/index.js"), "hono");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("only relative imports"), std::string::npos);
  auto missing = ResolveModulePath(Path("src/index.js"), "./nope.js");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("Cannot find module './nope.js'"), std::string::npos);
}

TEST_F(ModuleLoaderTest, DisplayPathIsRelativeInsideTheRoot) {
  EXPECT_EQ(DisplayPath(dir_.path(), Path("src/index.js")), "src/index.js");
  EXPECT_EQ(DisplayPath(dir_.path(), "/etc/hosts"), "/etc/hosts");
}

}  // namespace
}  // namespace edge::runtime
