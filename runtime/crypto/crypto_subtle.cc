// The OpenSSL work behind crypto.subtle (runtime/crypto/subtle.js): digests,
// HMAC, KMAC, and a constant-time comparison. The WebCrypto algorithms (argument
// normalization, key objects, usages) are in JavaScript.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <memory>
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

// KMAC128 and KMAC256 (NIST SP 800-185; the WebCrypto "modern algorithms"
// proposal) on OpenSSL 3.0's EVP_MAC "KMAC-128"/"KMAC-256". OpenSSL takes a
// key of 4 to 512 bytes, a customization of at most 512 bytes and an output
// of at most kKmacMaxOutputBytes; what the proposal allows beyond those is an
// OperationError saying so (subtle.js checks the same bounds first).
constexpr size_t kKmacMinKeyBytes = 4;
constexpr size_t kKmacMaxKeyBytes = 512;
constexpr size_t kKmacMaxCustomBytes = 512;
constexpr size_t kKmacMaxOutputBytes = 0xFFFFFF / 8;

using Mac = std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;

Status KmacInto(const char* mac_name, std::string_view key, std::string_view custom,
                std::string_view data, size_t out_bytes, std::string& out) {
  Mac mac(EVP_MAC_fetch(nullptr, mac_name, nullptr), EVP_MAC_free);
  if (!mac) return DomException("OperationError", "KMAC is not available");
  MacCtx ctx(EVP_MAC_CTX_new(mac.get()), EVP_MAC_CTX_free);
  if (!ctx) return DomException("OperationError", "KMAC setup failed");
  // "custom" and "size" go in before the key: EVP_MAC_init starts the
  // computation with them.
  // An empty customization is OpenSSL's default: left out.
  OSSL_PARAM params[3];
  size_t count = 0;
  size_t size = out_bytes;
  params[count++] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
  if (!custom.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_MAC_PARAM_CUSTOM, const_cast<char*>(custom.data()), custom.size());
  }
  params[count] = OSSL_PARAM_construct_end();
  if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1 ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return DomException("OperationError", "KMAC failed");
  }
  out.resize(out_bytes);
  size_t written = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                    out.size()) != 1 ||
      written != out_bytes) {
    return DomException("OperationError", "KMAC failed");
  }
  return Status::Ok();
}

// cryptoKmac(variant, key, customization, bytes, outputBytes) -> Uint8Array,
// or a promise of one for large data (crypto_job.h); variant is "KMAC128"
// or "KMAC256".
NativeResult CryptoKmac(NativeCall& call) {
  auto variant = call.StringArg(0);
  if (!variant.ok()) return variant.status();
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto custom = call.BytesArg(2);
  if (!custom.ok()) return custom.status();
  auto data = call.BytesArg(3);
  if (!data.ok()) return data.status();
  auto out_bytes = call.NumberArg(4);
  if (!out_bytes.ok()) return out_bytes.status();
  const char* mac_name = *variant == "KMAC128"   ? "KMAC-128"
                         : *variant == "KMAC256" ? "KMAC-256"
                                                 : nullptr;
  if (mac_name == nullptr) return DomException("NotSupportedError", "unknown KMAC " + *variant);
  if (key->size() < kKmacMinKeyBytes || key->size() > kKmacMaxKeyBytes) {
    return DomException("OperationError", "OpenSSL's KMAC takes a key of 4 to 512 bytes");
  }
  if (custom->size() > kKmacMaxCustomBytes) {
    return DomException("OperationError",
                        "OpenSSL's KMAC takes a customization of at most 512 bytes");
  }
  if (!(*out_bytes >= 1 && *out_bytes <= static_cast<double>(kKmacMaxOutputBytes))) {
    return DomException("OperationError", "KMAC output length out of range");
  }
  size_t size = static_cast<size_t>(*out_bytes);
  return RunSizedCryptoBytesWork(
      call, {*key, *custom, *data},
      [mac_name, size](const std::vector<std::string_view>& in, std::string& out) {
        return KmacInto(mac_name, in[0], in[1], in[2], size, out);
      },
      size);
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
                {"cryptoKmac", CryptoKmac},
                {"cryptoTimingSafeEqual", CryptoTimingSafeEqual}});
}

}  // namespace edge::runtime
