#include "base/random_hex.h"

#include <fmt/core.h>
#include <openssl/rand.h>

#include "base/ascii.h"

namespace edge::base {

StatusOr<std::string> RandomHex(size_t bytes, std::string_view what) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return Status(ErrorCode::kInternal,
                  fmt::format("cannot make {}: OpenSSL's RAND_bytes failed", what));
  }
  return HexEncode(raw);
}

}  // namespace edge::base
