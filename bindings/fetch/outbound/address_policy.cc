#include "bindings/fetch/outbound/address_policy.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <uv.h>

#include <algorithm>
#include <cstring>

namespace edge::bindings::outbound {
namespace {

AddressClass ClassifyV4(const uint8_t* a) {
  const uint8_t b0 = a[0], b1 = a[1], b2 = a[2], b3 = a[3];
  if (b0 == 0) return AddressClass::kUnspecified;
  if (b0 == 127) return AddressClass::kLoopback;
  if (b0 == 10) return AddressClass::kPrivate;
  if (b0 == 172 && (b1 & 0xf0) == 16) return AddressClass::kPrivate;
  if (b0 == 192 && b1 == 168) return AddressClass::kPrivate;
  if (b0 == 100 && (b1 & 0xc0) == 64) return AddressClass::kSharedCgnat;
  if (b0 == 169 && b1 == 254) {
    return (b2 == 169 && b3 == 254) ? AddressClass::kMetadata : AddressClass::kLinkLocal;
  }
  if (b0 == 192 && b1 == 0 && b2 == 0) return AddressClass::kReserved;
  if (b0 == 198 && (b1 & 0xfe) == 18) return AddressClass::kReserved;
  if ((b0 & 0xf0) == 224) return AddressClass::kMulticast;
  if ((b0 & 0xf0) == 240) return AddressClass::kReserved;  // includes 255.255.255.255
  return AddressClass::kPublic;
}

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

std::string_view AddressClassName(AddressClass kind) {
  switch (kind) {
    case AddressClass::kPublic:
      return "public";
    case AddressClass::kUnspecified:
      return "unspecified";
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kPrivate:
      return "private (RFC 1918)";
    case AddressClass::kSharedCgnat:
      return "shared address space (CGNAT, RFC 6598)";
    case AddressClass::kLinkLocal:
      return "link-local";
    case AddressClass::kMetadata:
      return "link-local (cloud metadata service)";
    case AddressClass::kUniqueLocal:
      return "unique local (fc00::/7)";
    case AddressClass::kMulticast:
      return "multicast";
    case AddressClass::kReserved:
      return "reserved";
  }
  return "unknown";
}

bool IpAddress::Parse(std::string_view text, IpAddress* out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  std::string copy(text);
  IpAddress result;
  if (inet_pton(AF_INET, copy.c_str(), result.bytes.data()) == 1) {
    result.v6 = false;
    *out = result;
    return true;
  }
  if (inet_pton(AF_INET6, copy.c_str(), result.bytes.data()) == 1) {
    result.v6 = true;
    *out = result;
    return true;
  }
  return false;
}

IpAddress IpAddress::FromSockaddr(const sockaddr* addr) {
  IpAddress result;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    memcpy(result.bytes.data(), &in->sin_addr, 4);
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    result.v6 = true;
    memcpy(result.bytes.data(), &in6->sin6_addr, 16);
  }
  return result;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
  return text;
}

AddressClass Classify(const IpAddress& address) {
  const uint8_t* a = address.bytes.data();
  if (!address.v6) return ClassifyV4(a);
  // IPv4-mapped ::ffff:0:0/96.
  if (AllZero(a, 10) && a[10] == 0xff && a[11] == 0xff) return ClassifyV4(a + 12);
  if (AllZero(a, 15) && a[15] == 0) return AddressClass::kUnspecified;  // ::
  if (AllZero(a, 15) && a[15] == 1) return AddressClass::kLoopback;     // ::1
  // IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it).
  if (AllZero(a, 12)) return ClassifyV4(a + 12);
  // NAT64 well-known prefix 64:ff9b::/96 leads to the embedded IPv4 address.
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (memcmp(a, kNat64, 12) == 0) return ClassifyV4(a + 12);
  // 6to4 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
  if (a[0] == 0x20 && a[1] == 0x02) return ClassifyV4(a + 2);
  if (a[0] == 0xff) return AddressClass::kMulticast;
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return AddressClass::kLinkLocal;
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return AddressClass::kPrivate;  // site-local
  if ((a[0] & 0xfe) == 0xfc) {
    // AWS's IPv6 instance metadata endpoint, fd00:ec2::254.
    static constexpr uint8_t kEc2Metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                                 0,    0,    0,    0,    0, 0, 0x02, 0x54};
    if (memcmp(a, kEc2Metadata, 16) == 0) return AddressClass::kMetadata;
    return AddressClass::kUniqueLocal;
  }
  return AddressClass::kPublic;
}

AddressClass Classify(const sockaddr* addr) { return Classify(IpAddress::FromSockaddr(addr)); }

bool Cidr::Parse(std::string_view text, Cidr* out) {
  Cidr result;
  size_t slash = text.find('/');
  if (!IpAddress::Parse(text.substr(0, slash), &result.base)) return false;
  const int max = result.base.v6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    result.prefix = max;
  } else {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    int prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) return false;
    result.prefix = prefix;
  }
  *out = result;
  return true;
}

bool Cidr::Contains(const IpAddress& address) const {
  IpAddress candidate = address;
  // An IPv4-mapped address matches IPv4 blocks.
  if (candidate.v6 && !base.v6 && AllZero(candidate.bytes.data(), 10) &&
      candidate.bytes[10] == 0xff && candidate.bytes[11] == 0xff) {
    IpAddress v4;
    memcpy(v4.bytes.data(), candidate.bytes.data() + 12, 4);
    candidate = v4;
  }
  if (candidate.v6 != base.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (memcmp(candidate.bytes.data(), base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (candidate.bytes[full] & mask) == (base.bytes[full] & mask);
}

StatusOr<AddressPolicy> AddressPolicy::FromConfig(std::string_view mode,
                                                  const std::vector<std::string>& allowed) {
  std::vector<Cidr> blocks;
  for (const std::string& text : allowed) {
    Cidr cidr;
    if (!Cidr::Parse(text, &cidr)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("\"{}\" is not an IP address or CIDR block", text));
    }
    blocks.push_back(cidr);
  }
  if (mode == "allow-all") return AllowAll();
  if (mode == "deny-private") return DenyPrivate(std::move(blocks));
  return Status(
      ErrorCode::kInvalidInput,
      fmt::format("unknown outbound address policy \"{}\" (allow-all, deny-private)", mode));
}

bool AddressPolicy::Allows(const IpAddress& address) const {
  if (mode_ == Mode::kAllowAll) return true;
  if (Classify(address) == AddressClass::kPublic) return true;
  for (const Cidr& block : allowed_) {
    if (block.Contains(address)) return true;
  }
  return false;
}

Status AddressPolicy::Check(const sockaddr* addr, std::string_view host) const {
  IpAddress address = IpAddress::FromSockaddr(addr);
  if (Allows(address)) return Status::Ok();
  return Status(ErrorCode::kTypeError,
                fmt::format("fetch to {} refused: its address {} is {}, and this node does not "
                            "allow outbound connections to non-public addresses",
                            host, address.ToString(), AddressClassName(Classify(address))));
}

std::string HostForDns(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return std::string(host.substr(1, host.size() - 2));
  }
  return std::string(host);
}

bool IsIpLiteral(std::string_view host) {
  IpAddress ignored;
  return IpAddress::Parse(host, &ignored);
}

std::string FormatAddress(const sockaddr* addr) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    uv_ip4_name(a, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
  uv_ip6_name(a, ip, sizeof ip);
  return fmt::format("[{}]:{}", ip, ntohs(a->sin6_port));
}

StatusOr<std::vector<sockaddr_storage>> AllowedAddresses(const addrinfo* result, uint16_t port,
                                                         std::string_view host,
                                                         const AddressPolicy& policy) {
  std::vector<sockaddr_storage> addresses;
  Status denied;
  for (const addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage address{};
    memcpy(&address, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof address));
    if (ai->ai_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(port);
    } else {
      reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(port);
    }
    Status check = policy.Check(reinterpret_cast<const sockaddr*>(&address), host);
    if (!check.ok()) {
      if (denied.ok()) denied = check;
      continue;
    }
    bool duplicate = std::any_of(addresses.begin(), addresses.end(), [&](const auto& a) {
      return a.ss_family == address.ss_family && memcmp(&a, &address, sizeof a) == 0;
    });
    if (!duplicate) addresses.push_back(address);
  }
  if (addresses.empty()) {
    if (!denied.ok()) return denied;
    return Status(ErrorCode::kTypeError, fmt::format("DNS lookup for {} found no address.", host));
  }
  return addresses;
}

}  // namespace edge::bindings::outbound
