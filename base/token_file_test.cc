#include "base/token_file.h"

#include <gtest/gtest.h>

#include <string>

#include "base/testing/temp_dir.h"

namespace edge::base {
namespace {

class TokenFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    return dir_.Write(name, content);
  }
  testing::TempDir dir_{"edge-token"};
};

TEST_F(TokenFileTest, WhiteSpaceAroundIsDropped) {
  StatusOr<std::string> token = ReadTokenFile(Write("token", "s3cr3t-token\r\n \n"));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(*token, "s3cr3t-token");
  token = ReadTokenFile(Write("lead", " \tlead-token\n"));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(*token, "lead-token");
}

TEST_F(TokenFileTest, EmptyMissingLargeAndBadFiles) {
  StatusOr<std::string> empty = ReadTokenFile(Write("empty", " \n\n"), "admin token");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("the admin token file"), std::string::npos);
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos);

  StatusOr<std::string> missing = ReadTokenFile(dir_.path() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir_.path() + "/nope"), std::string::npos);
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);

  StatusOr<std::string> two_lines = ReadTokenFile(Write("two", "abc\ndef\n"));
  ASSERT_FALSE(two_lines.ok());
  EXPECT_NE(two_lines.status().message().find("printable ASCII"), std::string::npos);

  StatusOr<std::string> large = ReadTokenFile(Write("large", std::string(70000, 'a')));
  ASSERT_FALSE(large.ok());
  EXPECT_NE(large.status().message().find("larger than 64 KiB"), std::string::npos);
}

}  // namespace
}  // namespace edge::base
