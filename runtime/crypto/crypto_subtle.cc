// The OpenSSL work behind crypto.subtle (runtime/crypto/subtle.js): digests,
// HMAC, and a constant-time comparison. The WebCrypto algorithms (argument
// normalization, key objects, usages) are in JavaScript.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// "SHA-1", "SHA-256", "SHA-384", "SHA-512" (already normalized by the JS).
const EVP_MD* DigestNamed(const std::string& name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  return nullptr;
}

// cryptoDigest(name, bytes) -> Uint8Array
NativeResult CryptoDigest(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  auto data = call.BytesArg(1);
  if (!data.ok()) return data.status();
  const EVP_MD* md = DigestNamed(*name);
  if (md == nullptr) return DomException("NotSupportedError", "unknown digest " + *name);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data->data(), data->size(), out, &length, md, nullptr) != 1) {
    return DomException("OperationError", "the digest failed");
  }
  return call.Bytes(std::string_view(reinterpret_cast<char*>(out), length)).As<v8::Value>();
}

// cryptoHmac(hash, key, bytes) -> Uint8Array
NativeResult CryptoHmac(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto data = call.BytesArg(2);
  if (!data.ok()) return data.status();
  const EVP_MD* md = DigestNamed(*name);
  if (md == nullptr) return DomException("NotSupportedError", "unknown hash " + *name);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // A zero-length key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const unsigned char kEmpty = 0;
  const void* key_bytes = key->empty() ? static_cast<const void*>(&kEmpty) : key->data();
  if (HMAC(md, key_bytes, static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(data->data()), data->size(), out,
           &length) == nullptr) {
    return DomException("OperationError", "HMAC failed");
  }
  return call.Bytes(std::string_view(reinterpret_cast<char*>(out), length)).As<v8::Value>();
}

// cryptoTimingSafeEqual(a, b) -> bool (lengths must match; the JS checks)
NativeResult CryptoTimingSafeEqual(NativeCall& call) {
  auto a = call.BytesArg(0);
  if (!a.ok()) return a.status();
  auto b = call.BytesArg(1);
  if (!b.ok()) return b.status();
  bool equal = a->size() == b->size() && CRYPTO_memcmp(a->data(), b->data(), a->size()) == 0;
  return v8::Boolean::New(call.isolate(), equal).As<v8::Value>();
}

}  // namespace

void RegisterCryptoSubtleNatives(NativeRegistry& registry) {
  registry.Add({{"cryptoDigest", CryptoDigest},
                {"cryptoHmac", CryptoHmac},
                {"cryptoTimingSafeEqual", CryptoTimingSafeEqual}});
}

}  // namespace edge::runtime
