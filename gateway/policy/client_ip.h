// The client's IP address as the rate_limit policy keys it: the peer
// address of the connection, unless that peer is one of the node's
// `trusted_proxies` (node.toml), whose forwarding header then names the
// client (the right-most address in it that is not itself a trusted proxy).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/http/http_types.h"

namespace edge::gateway::policy {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // `proxies`: addresses or CIDR blocks ("10.0.0.1", "10.0.0.0/8",
  // "fd00::/8"); `header` the forwarding header ("x-forwarded-for").
  static StatusOr<TrustedProxies> Parse(const std::vector<std::string>& proxies, std::string header);

  // The client address of a request from `remote` ("1.2.3.4:5678",
  // "[::1]:5678") carrying `headers`, without its port.
  std::string ClientIp(std::string_view remote, const HeaderList& headers) const;
  bool empty() const { return blocks_.empty(); }

 private:
  struct Block {
    std::array<uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;
  };
  bool Trusted(std::string_view ip) const;

  std::vector<Block> blocks_;
  std::string header_ = "x-forwarded-for";
};

// `remote` without its port and brackets.
std::string_view PeerIp(std::string_view remote);

}  // namespace edge::gateway::policy
