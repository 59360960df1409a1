#include "gateway/policy/testing/jwt_tokens.h"

#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "base/base64.h"

namespace edge::gateway::testing {
namespace {

using Bio = base::OpenSslPtr<BIO, BIO_free>;

std::string Contents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

}  // namespace

Pkey GenerateKey(const char* type, const char* curve, size_t rsa_bits) {
  std::string_view name(type);
  if (name == "RSA") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", rsa_bits));
  if (name == "EC") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
}

std::string PublicPem(EVP_PKEY* pkey) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) return {};
  return Contents(bio.get());
}

std::string PrivatePem(EVP_PKEY* pkey) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return Contents(bio.get());
}

std::string JwsSignature(EVP_PKEY* pkey, std::string_view input, bool der) {
  base::OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = EVP_PKEY_is_a(pkey, "ED25519") ? nullptr : EVP_sha256();
  size_t length = 0;
  auto data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
    return {};
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     input.size()) != 1) {
    return {};
  }
  signature.resize(length);
  if (!EVP_PKEY_is_a(pkey, "EC") || der) return signature;
  const unsigned char* cursor = reinterpret_cast<const unsigned char*>(signature.data());
  base::OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free> sig(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())));
  if (!sig) return {};
  std::string raw(64, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), bytes, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), bytes + 32, 32) != 32) {
    return {};
  }
  return raw;
}

std::string HmacSha256(std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(mac), length);
}

std::string SignedToken(std::string_view header, std::string_view claims, EVP_PKEY* pkey) {
  std::string input = base::Base64UrlEncode(header) + "." + base::Base64UrlEncode(claims);
  return input + "." + base::Base64UrlEncode(JwsSignature(pkey, input));
}

std::string HmacToken(std::string_view header, std::string_view claims, std::string_view secret) {
  std::string input = base::Base64UrlEncode(header) + "." + base::Base64UrlEncode(claims);
  return input + "." + base::Base64UrlEncode(HmacSha256(secret, input));
}

}  // namespace edge::gateway::testing
