#include "edge-sync/sealed_secrets.h"

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>

#include "base/base64.h"
#include "base/testing/temp_dir.h"

namespace edge::sync {
namespace {
using ::testing::HasSubstr;

class SecretsKeyTest : public ::testing::Test {
 protected:
  void WriteFile(const std::string& path, std::string_view bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }
  base::testing::TempDir temp_{"edge-sync-secrets-test"};
  const std::string& dir_ = temp_.path();
};

TEST_F(SecretsKeyTest, KeyFiles) {
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(i * 7 + 1));
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  std::string path = dir_ + "/secrets.key";

  WriteFile(path, hex + "\n");
  auto key = ReadSecretsKey(path);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, raw);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  WriteFile(path, upper);
  EXPECT_EQ(ReadSecretsKey(path).value(), raw);
  WriteFile(path, "  " + base::Base64Encode(raw) + "\r\n");
  EXPECT_EQ(ReadSecretsKey(path).value(), raw);

  for (std::string bad :
       {std::string(), hex.substr(1), hex + "00", base::Base64Encode(raw.substr(1)), raw,
        base::Base64Encode(raw + "x"), std::string("zz") + hex.substr(2)}) {
    WriteFile(path, bad);
    auto refused = ReadSecretsKey(path);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(refused.status().message(), HasSubstr("head -c 32 /dev/urandom | base64"));
  }
  auto missing = ReadSecretsKey(dir_ + "/none.key");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("head -c 32 /dev/urandom | base64"));
}

TEST(SecretTest, SealAndOpen) {
  std::string key(32, 'k');
  for (std::string value : {std::string("s3cr3t"), std::string(), std::string(5000, '\0')}) {
    std::string sealed = SealSecret(key, "shop", "API_KEY", value);
    EXPECT_EQ(sealed.size(), 12 + value.size() + 16);
    auto opened = OpenSecret(key, "shop", "API_KEY", sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_EQ(*opened, value);
  }
  // A fresh nonce every time.
  EXPECT_NE(SealSecret(key, "shop", "A", "v"), SealSecret(key, "shop", "A", "v"));
}

TEST(SecretTest, TamperingAndMovingAreCaught) {
  std::string key(32, 'k');
  std::string sealed = SealSecret(key, "shop", "API_KEY", "s3cr3t");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto opened = OpenSecret(key, "shop", "API_KEY", bad);
    ASSERT_FALSE(opened.ok()) << i;
    EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(opened.status().message(), HasSubstr("cannot open the secret \"API_KEY\""));
  }
  // Another secret's name or worker (the associated data), or a name and
  // worker that run together the same way.
  EXPECT_FALSE(OpenSecret(key, "shop", "OTHER", sealed).ok());
  EXPECT_FALSE(OpenSecret(key, "blog", "API_KEY", sealed).ok());
  std::string joined = SealSecret(key, "ab", "c", "v");
  EXPECT_FALSE(OpenSecret(key, "a", "bc", joined).ok());
  // Another key.
  EXPECT_FALSE(OpenSecret(std::string(32, 'K'), "shop", "API_KEY", sealed).ok());
  // Too short, or cut.
  EXPECT_THAT(OpenSecret(key, "shop", "API_KEY", sealed.substr(0, 27)).status().message(),
              HasSubstr("not a sealed secret"));
  EXPECT_FALSE(OpenSecret(key, "shop", "API_KEY", sealed.substr(0, sealed.size() - 1)).ok());
  EXPECT_FALSE(OpenSecret(key, "shop", "API_KEY", sealed + "x").ok());
  // A key of the wrong size.
  EXPECT_THAT(OpenSecret(std::string(31, 'k'), "shop", "API_KEY", sealed).status().message(),
              HasSubstr("must be 32 bytes"));
}

}  // namespace
}  // namespace edge::sync
