#include "bindings/fetch/outbound/address_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace edge::bindings::outbound {
namespace {

// Expects each address of each class to be classified so.
void ExpectClasses(std::vector<std::pair<AddressClass, std::vector<const char*>>> classes) {
  for (const auto& [expected, texts] : classes) {
    for (const char* text : texts) {
      IpAddress address;
      ASSERT_TRUE(IpAddress::Parse(text, &address)) << text;
      EXPECT_EQ(Classify(address), expected) << text;
    }
  }
}

TEST(AddressPolicyTest, ClassifiesIpv4) {
  ExpectClasses({
      {AddressClass::kPublic, {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.0.1", "100.128.0.1"}},
      {AddressClass::kUnspecified, {"0.0.0.0", "0.1.2.3"}},
      {AddressClass::kLoopback, {"127.0.0.1", "127.255.0.9"}},
      {AddressClass::kPrivate, {"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1"}},
      {AddressClass::kSharedCgnat, {"100.64.0.1", "100.127.255.254"}},
      {AddressClass::kLinkLocal, {"169.254.1.1"}},
      {AddressClass::kMetadata, {"169.254.169.254"}},
      {AddressClass::kMulticast, {"224.0.0.1", "239.255.255.250"}},
      {AddressClass::kReserved, {"240.0.0.1", "255.255.255.255", "198.18.0.1"}},
  });
}

TEST(AddressPolicyTest, ClassifiesIpv6) {
  ExpectClasses({
      {AddressClass::kPublic, {"2606:4700:4700::1111"}},
      {AddressClass::kUnspecified, {"::"}},
      {AddressClass::kLoopback, {"::1", "[::1]"}},
      {AddressClass::kLinkLocal, {"fe80::1"}},
      {AddressClass::kUniqueLocal, {"fc00::1", "fd12:3456::1"}},
      {AddressClass::kMetadata, {"fd00:ec2::254"}},
      {AddressClass::kMulticast, {"ff02::1"}},
      {AddressClass::kPrivate, {"fec0::1"}},
  });
}

TEST(AddressPolicyTest, ClassifiesIpv6FormsThatEmbedIpv4ByTheirIpv4Address) {
  ExpectClasses({
      // "::127.0.0.1" is IPv4-compatible, 64:ff9b::/96 NAT64, 2002::/16 6to4
      // (2002:a9fe:a9fe:: holds 169.254.169.254).
      {AddressClass::kLoopback, {"::ffff:127.0.0.1", "::127.0.0.1"}},
      {AddressClass::kPrivate, {"::ffff:10.1.2.3", "64:ff9b::10.0.0.1"}},
      {AddressClass::kMetadata, {"::ffff:169.254.169.254", "2002:a9fe:a9fe::1"}},
      {AddressClass::kPublic, {"::ffff:8.8.8.8", "64:ff9b::8.8.8.8"}},
  });
}

TEST(AddressPolicyTest, ParsesCidrsAndMatches) {
  Cidr cidr;
  ASSERT_TRUE(Cidr::Parse("10.1.0.0/16", &cidr));
  IpAddress a;
  ASSERT_TRUE(IpAddress::Parse("10.1.200.3", &a));
  EXPECT_TRUE(cidr.Contains(a));
  ASSERT_TRUE(IpAddress::Parse("10.2.0.1", &a));
  EXPECT_FALSE(cidr.Contains(a));
  ASSERT_TRUE(IpAddress::Parse("::ffff:10.1.0.9", &a));
  EXPECT_TRUE(cidr.Contains(a));
  ASSERT_TRUE(Cidr::Parse("fd12::/16", &cidr));
  ASSERT_TRUE(IpAddress::Parse("fd12:1::1", &a));
  EXPECT_TRUE(cidr.Contains(a));
  ASSERT_TRUE(Cidr::Parse("127.0.0.1", &cidr));
  EXPECT_EQ(cidr.prefix, 32);
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33", &cidr));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/", &cidr));
  EXPECT_FALSE(Cidr::Parse("example.com/8", &cidr));
}

TEST(AddressPolicyTest, AllowAllAllowsEverything) {
  AddressPolicy policy = AddressPolicy::AllowAll();
  for (const char* text : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "8.8.8.8"}) {
    IpAddress a;
    ASSERT_TRUE(IpAddress::Parse(text, &a));
    EXPECT_TRUE(policy.Allows(a)) << text;
  }
}

TEST(AddressPolicyTest, DenyPrivateDeniesAllButPublicAndAllowedBlocks) {
  Cidr allowed;
  ASSERT_TRUE(Cidr::Parse("10.9.0.0/16", &allowed));
  AddressPolicy policy = AddressPolicy::DenyPrivate({allowed});
  for (const char* text : {"127.0.0.1", "10.0.0.1", "172.20.1.1", "192.168.0.1", "100.64.1.1",
                           "169.254.169.254", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1",
                           "fd00::1", "::ffff:127.0.0.1", "::ffff:192.168.1.1"}) {
    IpAddress a;
    ASSERT_TRUE(IpAddress::Parse(text, &a));
    EXPECT_FALSE(policy.Allows(a)) << text;
  }
  for (const char* text : {"8.8.8.8", "2606:4700::1", "10.9.3.4", "::ffff:10.9.0.1"}) {
    IpAddress a;
    ASSERT_TRUE(IpAddress::Parse(text, &a));
    EXPECT_TRUE(policy.Allows(a)) << text;
  }
}

TEST(AddressPolicyTest, CheckSaysWhichAddressAndWhy) {
  AddressPolicy policy = AddressPolicy::DenyPrivate();
  sockaddr_in in{};
  in.sin_family = AF_INET;
  inet_pton(AF_INET, "169.254.169.254", &in.sin_addr);
  Status status = policy.Check(reinterpret_cast<sockaddr*>(&in), "metadata.internal");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kTypeError);
  EXPECT_NE(status.message().find("metadata.internal"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("169.254.169.254"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("cloud metadata"), std::string::npos) << status.message();
  inet_pton(AF_INET, "93.184.216.34", &in.sin_addr);
  EXPECT_TRUE(policy.Check(reinterpret_cast<sockaddr*>(&in), "example.com").ok());
}

TEST(AddressPolicyTest, FromConfig) {
  auto policy = AddressPolicy::FromConfig("deny-private", {"10.0.0.0/8"});
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->mode(), AddressPolicy::Mode::kDenyPrivateUnlessAllowed);
  IpAddress a;
  ASSERT_TRUE(IpAddress::Parse("10.3.3.3", &a));
  EXPECT_TRUE(policy->Allows(a));
  EXPECT_TRUE(AddressPolicy::FromConfig("allow-all", {}).ok());
  EXPECT_FALSE(AddressPolicy::FromConfig("deny-private", {"nonsense"}).ok());
  EXPECT_FALSE(AddressPolicy::FromConfig("maybe", {}).ok());
}

}  // namespace
}  // namespace edge::bindings::outbound
