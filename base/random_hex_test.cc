#include "base/random_hex.h"

#include <gtest/gtest.h>

namespace edge::base {
namespace {

TEST(RandomHexTest, GivesTwoLowerCaseHexDigitsPerByteAndNeverTheSameTwice) {
  StatusOr<std::string> first = RandomHex(16, "an id");
  StatusOr<std::string> second = RandomHex(16, "an id");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->size(), 32u);
  EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(RandomHex(32, "a token")->size(), 64u);
}

}  // namespace
}  // namespace edge::base
