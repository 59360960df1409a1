// The key derivation behind crypto.subtle's PBKDF2 and HKDF
// (https://w3c.github.io/webcrypto/#pbkdf2, #hkdf), on OpenSSL's EVP_KDF.
// runtime/crypto/subtle.js has already normalized the hash and checked the
// length; any failure here is an OperationError.
#include <fmt/core.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/openssl_ptr.h"
#include "runtime/buffer_allocator.h"
#include "runtime/crypto/crypto_job.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// OpenSSL's PBKDF2 loop cannot be interrupted, so the CPU limit cannot stop
// it: the iteration count is capped as on Workers (workerd's
// checkPbkdfLimits), with Workers' error, and so is the output, which
// multiplies the work (each hash-sized block runs every iteration). The
// derivation itself runs off the serving thread (crypto_job.h).
constexpr double kMaxPbkdf2Iterations = 100000;
constexpr double kMaxPbkdf2Bits = 8192;

// OSSL_PARAM octet strings want a non-null pointer even when empty.
void* Octets(std::string_view bytes) {
  static char empty = 0;
  return bytes.empty() ? &empty : const_cast<char*>(bytes.data());
}

// node:crypto's pbkdf2Sync runs on the serving thread: its work
// (iterations times hash-sized output blocks) is capped further, at twice
// Workers' iteration cap for one block (tens of milliseconds); pbkdf2() runs
// up to the caps above off the serving thread.
constexpr double kMaxSyncPbkdf2Work = 2 * kMaxPbkdf2Iterations;

// scrypt (node:crypto) holds 128 * N * r bytes while it runs, outside the
// worker's memory budget: at most Node's default maxmem, 32 MiB. Its work
// grows with N * r * p: at most 2^18 on the serving thread (scryptSync; Node's
// defaults N = 16384, r = 8, p = 1 are 2^17) and 2^21 off it (scrypt()).
constexpr double kMaxScryptMemory = 32 * 1024 * 1024;
constexpr double kMaxSyncScryptWork = 1 << 18;
constexpr double kMaxScryptWork = 1 << 21;
constexpr double kMaxScryptBytes = 1024 * 1024;

// OpenSSL's digest name for a WebCrypto hash name ("SHA-256" -> "SHA2-256"),
// or for a name node:crypto passes ("sha256", "sha512-256", "md5").
const char* DigestName(const std::string& name) {
  if (name == "SHA-1") return "SHA1";
  if (name == "SHA-256") return "SHA2-256";
  if (name == "SHA-384") return "SHA2-384";
  if (name == "SHA-512") return "SHA2-512";
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (md == nullptr || (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0) return nullptr;
  return EVP_MD_get0_name(md);
}

// Runs `kdf_name` over `params` into `out` (its size: the length wanted).
Status DeriveInto(const char* kdf_name, OSSL_PARAM* params, std::string& out) {
  if (out.empty()) return Status::Ok();
  base::OpenSslPtr<EVP_KDF, EVP_KDF_free> kdf(EVP_KDF_fetch(nullptr, kdf_name, nullptr));
  if (!kdf) return DomException("OperationError", std::string(kdf_name) + " is unavailable");
  base::OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx || EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                             params) != 1) {
    return DomException("OperationError", std::string(kdf_name) + " derivation failed");
  }
  return Status::Ok();
}

NativeResult Derive(NativeCall& call, const char* kdf_name, OSSL_PARAM* params, size_t length) {
  std::string out(length, '\0');
  Status derived = DeriveInto(kdf_name, params, out);
  if (!derived.ok()) return derived;
  return call.Bytes(out).As<v8::Value>();
}

// Runs `work` inline (`sync`: node:crypto's ...Sync forms, already held to
// their caps) or as a job answering with a promise.
NativeResult RunKdf(NativeCall& call, bool sync, std::function<Status(std::string& out)> work) {
  if (!sync) return RunCryptoBytesJob(call, std::move(work));
  std::string out;
  Status status = work(out);
  if (!status.ok()) return status;
  auto bytes = NewUint8Array(call.isolate(), out);
  OPENSSL_cleanse(out.data(), out.size());
  if (!bytes.ok()) return bytes.status();
  return bytes->As<v8::Value>();
}

// cryptoPbkdf2(hash, password, salt, iterations, lengthBytes, sync?) ->
// Promise<Uint8Array>, or with `sync` (node:crypto's pbkdf2Sync) the
// Uint8Array at once.
NativeResult CryptoPbkdf2(NativeCall& call) {
  auto hash = call.StringArg(0);
  if (!hash.ok()) return hash.status();
  auto password = call.BytesArg(1);
  if (!password.ok()) return password.status();
  auto salt = call.BytesArg(2);
  if (!salt.ok()) return salt.status();
  auto iterations = call.NumberArg(3);
  if (!iterations.ok()) return iterations.status();
  auto length = call.NumberArg(4);
  if (!length.ok()) return length.status();
  const char* digest = DigestName(*hash);
  if (digest == nullptr) return DomException("NotSupportedError", "unknown hash " + *hash);
  if (!(*iterations >= 1)) {
    return DomException("OperationError", "PBKDF2 requires a positive iteration count");
  }
  if (*iterations > kMaxPbkdf2Iterations) {
    return DomException("NotSupportedError",
                        fmt::format("Pbkdf2 failed: iteration counts above {} are not supported "
                                    "(requested {}).",
                                    kMaxPbkdf2Iterations, *iterations));
  }
  if (*length * 8 > kMaxPbkdf2Bits) {
    return DomException("NotSupportedError",
                        fmt::format("Pbkdf2 failed: derived lengths above {} bits are not "
                                    "supported (requested {}).",
                                    kMaxPbkdf2Bits, *length * 8));
  }
  unsigned int iter = static_cast<unsigned int>(*iterations);
  size_t bytes = static_cast<size_t>(*length);
  bool sync = call.BoolArg(5);
  if (sync) {
    const EVP_MD* md = EVP_get_digestbyname(digest);
    double block = md != nullptr ? EVP_MD_get_size(md) : 1;
    double work = *iterations * std::max(1.0, std::ceil(static_cast<double>(bytes) / block));
    if (work > kMaxSyncPbkdf2Work) {
      return RangeError(fmt::format(
          "pbkdf2Sync is limited to {} iterations times output blocks on the serving thread "
          "(requested {}); pbkdf2() runs up to {} iterations off it",
          kMaxSyncPbkdf2Work, work, kMaxPbkdf2Iterations));
    }
  }
  // The job owns its inputs: the worker may change its buffers meanwhile.
  return RunKdf(
      call, sync,
      [digest, iter, bytes, password = std::string(*password),
       salt = std::string(*salt)](std::string& out) mutable {
        // OpenSSL reads pkcs5=1 as "skip SP 800-132's lower bounds": WebCrypto
        // allows short salts, short keys and a single iteration.
        int pkcs5_checks = 1;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, Octets(password),
                                              password.size()),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Octets(salt), salt.size()),
            OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
            OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5_checks),
            OSSL_PARAM_construct_end(),
        };
        out.assign(bytes, '\0');
        Status derived = DeriveInto("PBKDF2", params, out);
        OPENSSL_cleanse(password.data(), password.size());
        return derived;
      });
}

// cryptoHkdf(hash, key, salt, info, lengthBytes) -> Uint8Array
NativeResult CryptoHkdf(NativeCall& call) {
  auto hash = call.StringArg(0);
  if (!hash.ok()) return hash.status();
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto salt = call.BytesArg(2);
  if (!salt.ok()) return salt.status();
  auto info = call.BytesArg(3);
  if (!info.ok()) return info.status();
  auto length = call.NumberArg(4);
  if (!length.ok()) return length.status();
  const char* digest = DigestName(*hash);
  if (digest == nullptr) return DomException("NotSupportedError", "unknown hash " + *hash);
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Octets(*key), key->size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Octets(*salt), salt->size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Octets(*info), info->size()),
      OSSL_PARAM_construct_end(),
  };
  return Derive(call, "HKDF", params, static_cast<size_t>(*length));
}

// cryptoScrypt(password, salt, N, r, p, lengthBytes, sync) -> the derived
// bytes (sync) or a promise of them. node:crypto checked the parameters as
// Node does (N a power of two above 1, r and p positive, maxmem); the caps
// above are checked here.
NativeResult CryptoScrypt(NativeCall& call) {
  auto password = call.BytesArg(0);
  if (!password.ok()) return password.status();
  auto salt = call.BytesArg(1);
  if (!salt.ok()) return salt.status();
  double numbers[4];
  for (int i = 0; i < 4; ++i) {
    auto number = call.NumberArg(2 + i);
    if (!number.ok()) return number.status();
    if (!(*number >= 0 && *number <= 9007199254740991.0))
      return RangeError("Invalid scrypt params");
    numbers[i] = *number;
  }
  auto [n, r, p, length] = numbers;
  bool sync = call.BoolArg(6);
  if (128 * n * r > kMaxScryptMemory) {
    return RangeError(fmt::format(
        "Invalid scrypt params: scrypt may use at most {} bytes of memory (128 * N * r = {})",
        kMaxScryptMemory, 128 * n * r));
  }
  double cap = sync ? kMaxSyncScryptWork : kMaxScryptWork;
  if (n * r * p > cap) {
    std::string where = sync ? fmt::format(
                                   " on the serving thread (scryptSync; scrypt() runs up "
                                   "to {} off it)",
                                   kMaxScryptWork)
                             : "";
    return RangeError(
        fmt::format("Invalid scrypt params: N * r * p is limited to {}{} (requested {})", cap,
                    where, n * r * p));
  }
  if (length > kMaxScryptBytes) {
    return RangeError(fmt::format("scrypt derives at most {} bytes", kMaxScryptBytes));
  }
  uint64_t cost = static_cast<uint64_t>(n);
  uint32_t block = static_cast<uint32_t>(r), parallel = static_cast<uint32_t>(p);
  uint64_t maxmem = static_cast<uint64_t>(kMaxScryptMemory) + 4096;
  size_t bytes = static_cast<size_t>(length);
  return RunKdf(
      call, sync,
      [cost, block, parallel, maxmem, bytes, password = std::string(*password),
       salt = std::string(*salt)](std::string& out) mutable {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, Octets(password),
                                              password.size()),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Octets(salt), salt.size()),
            OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &cost),
            OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &block),
            OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &parallel),
            OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
            OSSL_PARAM_construct_end(),
        };
        out.assign(bytes, '\0');
        Status derived = DeriveInto("SCRYPT", params, out);
        OPENSSL_cleanse(password.data(), password.size());
        if (!derived.ok()) return Status(ErrorCode::kRangeError, "Invalid scrypt params");
        return derived;
      });
}

}  // namespace

void RegisterCryptoKdfNatives(NativeRegistry& registry) {
  registry.Add(
      {{"cryptoPbkdf2", CryptoPbkdf2}, {"cryptoHkdf", CryptoHkdf}, {"cryptoScrypt", CryptoScrypt}});
  registry.AddConstant("cryptoMaxPbkdf2Iterations", kMaxPbkdf2Iterations);
}

}  // namespace edge::runtime
