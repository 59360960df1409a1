#include "base/sha256.h"

#include <openssl/evp.h>

#include "base/ascii.h"
#include "base/openssl_error.h"

namespace edge::base {

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    OpenSslFatal("EVP_Digest");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

bool IsSha256Hex(std::string_view text) { return text.size() == 64 && IsLowerHex(text); }

Sha256Stream::Sha256Stream() : context_(EVP_MD_CTX_new()) {
  if (context_ == nullptr ||
      EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), EVP_sha256(), nullptr) != 1) {
    OpenSslFatal("EVP_DigestInit_ex");
  }
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Sha256Stream::Update(std::string_view data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data.data(), data.size()) != 1) {
    OpenSslFatal("EVP_DigestUpdate");
  }
}

std::string Sha256Stream::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), digest, &length) != 1) {
    OpenSslFatal("EVP_DigestFinal_ex");
  }
  return HexEncode(std::string_view(reinterpret_cast<char*>(digest), length));
}

}  // namespace edge::base
