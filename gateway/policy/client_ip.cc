#include "gateway/policy/client_ip.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <cstring>
#include <optional>

#include "base/ascii.h"

namespace edge::gateway::policy {
namespace {

// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped into ::ffff:0:0/96).
std::optional<std::array<uint8_t, 16>> ParseIp(std::string_view text, bool* v4 = nullptr) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::array<uint8_t, 16> out{};
  in_addr a4;
  if (inet_pton(AF_INET, buffer, &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    if (v4) *v4 = true;
    return out;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buffer, &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    if (v4) *v4 = false;
    return out;
  }
  return std::nullopt;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view PeerIp(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    size_t close = remote.find(']');
    return close == std::string_view::npos ? remote : remote.substr(1, close - 1);
  }
  size_t colon = remote.rfind(':');
  // One colon: IPv4 with a port; more: a bare IPv6 address.
  if (colon != std::string_view::npos && remote.find(':') == colon) return remote.substr(0, colon);
  return remote;
}

StatusOr<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& proxies, std::string header) {
  TrustedProxies out;
  if (!header.empty()) out.header_ = base::AsciiLower(header);
  for (const std::string& entry : proxies) {
    std::string_view text = entry;
    int prefix = -1;
    if (size_t slash = text.find('/'); slash != std::string_view::npos) {
      std::string_view bits = text.substr(slash + 1);
      prefix = 0;
      for (char c : bits) {
        if (c < '0' || c > '9' || prefix > 128) {
          prefix = 999;
          break;
        }
        prefix = prefix * 10 + (c - '0');
      }
      if (bits.empty()) prefix = 999;
      text = text.substr(0, slash);
    }
    bool v4 = false;
    auto address = ParseIp(text, &v4);
    if (!address || prefix > (v4 ? 32 : 128)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("trusted_proxies: \"{}\" is not an IP address or CIDR block", entry));
    }
    Block block;
    block.address = *address;
    block.prefix = prefix < 0 ? 128 : (v4 ? prefix + 96 : prefix);
    out.blocks_.push_back(block);
  }
  return out;
}

bool TrustedProxies::Trusted(std::string_view ip) const {
  auto address = ParseIp(ip);
  if (!address) return false;
  for (const Block& block : blocks_) {
    int whole = block.prefix / 8, rest = block.prefix % 8;
    if (std::memcmp(address->data(), block.address.data(), whole) != 0) continue;
    if (rest != 0) {
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((address->at(whole) & mask) != (block.address[whole] & mask)) continue;
    }
    return true;
  }
  return false;
}

std::string TrustedProxies::ClientIp(std::string_view remote, const HeaderList& headers) const {
  std::string_view peer = PeerIp(remote);
  if (blocks_.empty() || !Trusted(peer)) return std::string(peer);
  // Every field of the header, in order, as one list; read from the right.
  std::string_view client = peer;
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (!base::EqualsIgnoreCase(it->first, header_)) continue;
    std::string_view list = it->second;
    while (!list.empty()) {
      size_t comma = list.rfind(',');
      std::string_view item = Trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (!ParseIp(item)) return std::string(client);  // garbage: stop at the last good hop
      client = item;
      if (!Trusted(item)) return std::string(item);
    }
  }
  return std::string(client);
}

}  // namespace edge::gateway::policy
