// code_range_hint.cc diverts V8's scan of /proc/self/maps only: anything
// else in the process reads the real file, and other files open as usual.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "runtime/platform.h"

namespace edge::runtime {
namespace {

TEST(CodeRangeHintTest, TheProcessStillReadsItsOwnMaps) {
  InitializeV8();
  FILE* maps = std::fopen("/proc/self/maps", "r");
  ASSERT_NE(maps, nullptr);
  char line[512];
  ASSERT_NE(std::fgets(line, sizeof line, maps), nullptr);
  EXPECT_NE(std::strchr(line, '-'), nullptr) << line;
  std::fclose(maps);
  FILE* status = std::fopen("/proc/self/status", "r");
  ASSERT_NE(status, nullptr);
  ASSERT_NE(std::fgets(line, sizeof line, status), nullptr);
  EXPECT_EQ(std::string(line).rfind("Name:", 0), 0u) << line;
  std::fclose(status);
  EXPECT_EQ(std::fopen("/nonexistent/file", "r"), nullptr);
}

}  // namespace
}  // namespace edge::runtime
