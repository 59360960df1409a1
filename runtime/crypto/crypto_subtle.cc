// The OpenSSL work behind crypto.subtle (runtime/crypto/subtle.js): digests,
// HMAC, and a constant-time comparison. The WebCrypto algorithms (argument
// normalization, key objects, usages) are in JavaScript.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/crypto/crypto_job.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// "SHA-1", "SHA-256", "SHA-384", "SHA-512", and for digest() "SHA3-256",
// "SHA3-384", "SHA3-512" (already normalized by the JS).
const EVP_MD* DigestNamed(const std::string& name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  if (name == "SHA3-256") return EVP_sha3_256();
  if (name == "SHA3-384") return EVP_sha3_384();
  if (name == "SHA3-512") return EVP_sha3_512();
  return nullptr;
}

// cryptoDigest(name, bytes) -> Uint8Array, or a promise of one for large
// data (crypto_job.h).
NativeResult CryptoDigest(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  auto data = call.BytesArg(1);
  if (!data.ok()) return data.status();
  const EVP_MD* md = DigestNamed(*name);
  if (md == nullptr) return DomException("NotSupportedError", "unknown digest " + *name);
  return RunSizedCryptoBytesWork(
      call, {*data}, [md](const std::vector<std::string_view>& in, std::string& out) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (EVP_Digest(in[0].data(), in[0].size(), digest, &length, md, nullptr) != 1) {
          return DomException("OperationError", "the digest failed");
        }
        out.assign(reinterpret_cast<char*>(digest), length);
        return Status::Ok();
      });
}

// cryptoHmac(hash, key, bytes) -> Uint8Array, or a promise of one for large
// data (crypto_job.h).
NativeResult CryptoHmac(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto data = call.BytesArg(2);
  if (!data.ok()) return data.status();
  const EVP_MD* md = DigestNamed(*name);
  if (md == nullptr) return DomException("NotSupportedError", "unknown hash " + *name);
  return RunSizedCryptoBytesWork(
      call, {*key, *data}, [md](const std::vector<std::string_view>& in, std::string& out) {
        std::string_view key = in[0];
        std::string_view data = in[1];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        // A zero-length key is legal for HMAC; OpenSSL wants a non-null pointer.
        static const unsigned char kEmpty = 0;
        const void* key_bytes = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
        if (HMAC(md, key_bytes, static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                 &length) == nullptr) {
          return DomException("OperationError", "HMAC failed");
        }
        out.assign(reinterpret_cast<char*>(mac), length);
        return Status::Ok();
      });
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
