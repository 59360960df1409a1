// Which resolved addresses outbound fetch() may connect to.
//
// The check runs after DNS resolution, on the exact address about to be
// connected to, for every new connection (redirects included: each hop that
// needs a connection goes through it). Checking the address itself, not the
// host name, is what defeats DNS rebinding and names that resolve to private
// space.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edge::bindings::outbound {

// What kind of address a resolved IP is. Anything but kPublic is "private"
// for the purpose of the deny-private policy.
enum class AddressClass {
  kPublic,
  kUnspecified,  // 0.0.0.0/8 ("this network"), ::
  kLoopback,     // 127.0.0.0/8, ::1
  kPrivate,      // RFC 1918: 10/8, 172.16/12, 192.168/16; fec0::/10 (deprecated site-local)
  kSharedCgnat,  // 100.64.0.0/10 (RFC 6598)
  kLinkLocal,    // 169.254.0.0/16, fe80::/10
  kMetadata,     // 169.254.169.254 and fd00:ec2::254: cloud instance metadata services
  kUniqueLocal,  // fc00::/7
  kMulticast,    // 224.0.0.0/4, ff00::/8
  kReserved,     // 192.0.0.0/24, 198.18.0.0/15 (benchmarking), 240.0.0.0/4, 255.255.255.255
};

// A short English name ("loopback", "link-local"), for error messages.
std::string_view AddressClassName(AddressClass kind);

// An IPv4 or IPv6 address in network byte order (IPv4 uses the first 4 bytes).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  static bool Parse(std::string_view text, IpAddress* out);  // "10.0.0.1", "::1"
  static IpAddress FromSockaddr(const sockaddr* addr);
  std::string ToString() const;
};

// Classifies an address. IPv6 forms that embed an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16) are classified by the IPv4 address they lead to.
AddressClass Classify(const IpAddress& address);
AddressClass Classify(const sockaddr* addr);

// A CIDR block: "10.1.0.0/16", "fd12::/64", or a single address.
struct Cidr {
  IpAddress base;
  int prefix = 0;
  static bool Parse(std::string_view text, Cidr* out);
  bool Contains(const IpAddress& address) const;
};

class AddressPolicy {
 public:
  enum class Mode {
    kAllowAll,                  // `edge dev`: everything is reachable
    kDenyPrivateUnlessAllowed,  // PoP nodes: only public addresses, plus `allowed`
  };

  static AddressPolicy AllowAll() { return AddressPolicy(Mode::kAllowAll, {}); }
  static AddressPolicy DenyPrivate(std::vector<Cidr> allowed = {}) {
    return AddressPolicy(Mode::kDenyPrivateUnlessAllowed, std::move(allowed));
  }
  // Parses "allow-all" or "deny-private" plus CIDR texts (for config files).
  static StatusOr<AddressPolicy> FromConfig(std::string_view mode,
                                            const std::vector<std::string>& allowed);

  // Ok, or a TypeError saying which address of `host` was refused and why.
  Status Check(const sockaddr* addr, std::string_view host) const;
  bool Allows(const IpAddress& address) const;
  Mode mode() const { return mode_; }

 private:
  AddressPolicy(Mode mode, std::vector<Cidr> allowed) : mode_(mode), allowed_(std::move(allowed)) {}
  Mode mode_;
  std::vector<Cidr> allowed_;
};

// Helpers for the code that resolves and connects (fetch()'s connections,
// cloudflare:sockets).
//
// A host as in a URL ("[::1]") as getaddrinfo wants it ("::1").
std::string HostForDns(std::string_view host);
// Whether `host` (as HostForDns gives it) is an IPv4 or IPv6 address.
bool IsIpLiteral(std::string_view host);
// "10.0.0.1:80", "[::1]:443".
std::string FormatAddress(const sockaddr* addr);
// What getaddrinfo found for `host`, with `port` set, minus what `policy`
// refuses and duplicates, in the resolver's order. When nothing is left:
// the policy's refusal of the first address, or "found no address".
StatusOr<std::vector<sockaddr_storage>> AllowedAddresses(const addrinfo* result, uint16_t port,
                                                         std::string_view host,
                                                         const AddressPolicy& policy);

}  // namespace edge::bindings::outbound
