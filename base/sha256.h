// SHA-256 (OpenSSL's libcrypto): content addresses of bundles and blobs,
// digests for constant-time comparisons and for snapshots.
#pragma once

#include <string>
#include <string_view>

namespace edge::base {

// The 32-byte digest.
std::string Sha256(std::string_view data);

// The digest in lower-case hex (64 characters).
std::string Sha256Hex(std::string_view data);

// True when `text` is what Sha256Hex returns: 64 lower-case hex digits.
bool IsSha256Hex(std::string_view text);

// SHA-256 over data given in pieces (a snapshot's lines as they stream).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // once

 private:
  void* context_;  // EVP_MD_CTX
};

}  // namespace edge::base
