// TrustedProxies: which address a rate limit keys a request by.
#include "gateway/policy/client_ip.h"

#include <gtest/gtest.h>

namespace edge::gateway::policy {
namespace {

TEST(ClientIpTest, PeerAddressWithoutItsPort) {
  EXPECT_EQ(PeerIp("203.0.113.5:1234"), "203.0.113.5");
  EXPECT_EQ(PeerIp("[2001:db8::5]:443"), "2001:db8::5");
  EXPECT_EQ(PeerIp("2001:db8::5"), "2001:db8::5");
  TrustedProxies none;
  EXPECT_EQ(none.ClientIp("203.0.113.5:1", {{"X-Forwarded-For", "1.2.3.4"}}), "203.0.113.5");
}

TEST(ClientIpTest, TrustedProxiesNameTheClient) {
  auto proxies = TrustedProxies::Parse({"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}, "X-Real-Chain");
  ASSERT_TRUE(proxies.ok()) << proxies.status().message();
  EXPECT_EQ(proxies->ClientIp("10.0.0.1:5", {{"x-real-chain", "198.51.100.1"}}), "198.51.100.1");
  // The right-most untrusted hop: a client cannot choose what it is keyed by
  // by writing addresses in front.
  EXPECT_EQ(proxies->ClientIp("10.0.0.1:5", {{"x-real-chain", "1.1.1.1, 198.51.100.1, 10.3.3.3"}}), "198.51.100.1");
  EXPECT_EQ(proxies->ClientIp("[2001:db8::9]:5", {{"x-real-chain", "2001:db9::1"}}), "2001:db9::1");
  EXPECT_EQ(proxies->ClientIp("192.0.2.1:5", {{"x-real-chain", "a"}, {"x-real-chain", "198.51.100.2"}}),
            "198.51.100.2");
  // Garbage stops the walk at the last good hop.
  EXPECT_EQ(proxies->ClientIp("10.0.0.1:5", {{"x-real-chain", "not-an-ip"}}), "10.0.0.1");
  EXPECT_EQ(proxies->ClientIp("10.0.0.1:5", {}), "10.0.0.1");
  // Not a proxy: its header means nothing.
  EXPECT_EQ(proxies->ClientIp("192.0.2.2:5", {{"x-real-chain", "198.51.100.1"}}), "192.0.2.2");
  EXPECT_EQ(proxies->ClientIp("11.0.0.1:5", {{"x-real-chain", "198.51.100.1"}}), "11.0.0.1");
}

TEST(ClientIpTest, BadEntriesAreRefused) {
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/33"}, "").ok());
  EXPECT_FALSE(TrustedProxies::Parse({"nope"}, "").ok());
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/"}, "").ok());
  EXPECT_TRUE(TrustedProxies::Parse({"::1/128", "0.0.0.0/0"}, "").ok());
}

}  // namespace
}  // namespace edge::gateway::policy
