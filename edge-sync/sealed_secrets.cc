// Secrets sealed for the PoPs with the fleet's secrets key: AES-256-GCM
// (OpenSSL), the worker and the secret's name as associated data.
#include "edge-sync/sealed_secrets.h"

#include <fmt/core.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>

#include "base/ascii.h"
#include "base/base64.h"
#include "base/openssl_error.h"
#include "base/openssl_ptr.h"
#include "edge-sync/key_files.h"

namespace edge::sync {
namespace {

constexpr size_t kSecretsKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
static_assert(kNonceBytes + kTagBytes == kSealedOverheadBytes);

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

using CipherCtx = base::OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// An AES-256-GCM context set up to seal (`encrypt`) or open a secret of
// `worker` named `name`: keyed, its nonce set, the associated data fed.
CipherCtx NewSecretCipher(bool encrypt, std::string_view key, const unsigned char* nonce,
                          std::string_view worker, std::string_view name) {
  std::string aad = std::string(worker) + '\0' + std::string(name);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), nonce,
                        encrypt ? 1 : 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    base::OpenSslFatal("AES-256-GCM setup");
  }
  return ctx;
}

}  // namespace

StatusOr<std::string> ReadSecretsKey(const std::string& path) {
  std::string how = fmt::format(
      "{}: the secrets key file must hold 32 random bytes, as 64 hex digits or in base64; make "
      "one with: head -c 32 /dev/urandom | base64 > {}",
      path, path);
  StatusOr<std::string> read = ReadKeyFile(path, "the secrets key");
  if (!read.ok()) {
    if (read.status().code() == ErrorCode::kInvalidInput) return Invalid(how);
    return Status(read.status().code(), fmt::format("{} ({})", read.status().message(), how));
  }
  std::string& file = *read;
  std::string_view text = file;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  std::string key;
  std::optional<std::string> hex;
  if (text.size() == 2 * kSecretsKeyBytes) hex = base::HexDecode(text);
  if (hex) {
    key = std::move(*hex);
  } else if (StatusOr<std::string> decoded = base::Base64Decode(text);
             decoded.ok() && decoded->size() == kSecretsKeyBytes) {
    key = std::move(decoded).value();
  }
  OPENSSL_cleanse(file.data(), file.size());
  if (key.size() != kSecretsKeyBytes) return Invalid(how);
  return key;
}

Status ReadOptionalSecretsKey(const std::string& path, std::string& key) {
  if (path.empty()) return Status::Ok();
  StatusOr<std::string> read = ReadSecretsKey(path);
  if (!read.ok()) return read.status();
  key = std::move(read).value();
  return Status::Ok();
}

std::string SealSecret(std::string_view key, std::string_view worker, std::string_view name,
                       std::string_view value) {
  if (key.size() != kSecretsKeyBytes)
    base::OpenSslFatal("SealSecret: the secrets key is not 32 bytes");
  if (value.size() > INT_MAX / 2) base::OpenSslFatal("SealSecret: the value is too large");
  std::string out(kNonceBytes + value.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) base::OpenSslFatal("RAND_bytes");
  CipherCtx ctx = NewSecretCipher(/*encrypt=*/true, key, nonce, worker, name);
  int length = 0;
  auto* ciphertext = nonce + kNonceBytes;
  int written = 0;
  if (!value.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), ciphertext, &length, Bytes(value),
                          static_cast<int>(value.size())) != 1) {
      base::OpenSslFatal("AES-256-GCM encrypt");
    }
    written = length;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ciphertext + written, &length) != 1) {
    base::OpenSslFatal("AES-256-GCM final");
  }
  written += length;
  if (static_cast<size_t>(written) != value.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ciphertext + written) != 1) {
    base::OpenSslFatal("AES-256-GCM tag");
  }
  return out;
}

StatusOr<std::string> OpenSecret(std::string_view key, std::string_view worker,
                                 std::string_view name, std::string_view sealed) {
  if (key.size() != kSecretsKeyBytes) {
    return Invalid(
        fmt::format("the secrets key must be {} bytes (got {})", kSecretsKeyBytes, key.size()));
  }
  if (sealed.size() < kNonceBytes + kTagBytes || sealed.size() > INT_MAX / 2) {
    return Invalid(
        fmt::format("the sealed secret \"{}\" of worker \"{}\" is {} bytes: not a "
                    "sealed secret",
                    name, worker, sealed.size()));
  }
  const unsigned char* nonce = Bytes(sealed);
  const unsigned char* ciphertext = nonce + kNonceBytes;
  size_t ciphertext_size = sealed.size() - kNonceBytes - kTagBytes;
  std::array<unsigned char, kTagBytes> tag;
  std::memcpy(tag.data(), ciphertext + ciphertext_size, kTagBytes);
  std::string value(ciphertext_size, '\0');
  auto* plain = reinterpret_cast<unsigned char*>(value.data());

  CipherCtx ctx = NewSecretCipher(/*encrypt=*/false, key, nonce, worker, name);
  int length = 0;
  int written = 0;
  bool ok = true;
  if (ciphertext_size > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), plain, &length, ciphertext,
                           static_cast<int>(ciphertext_size)) == 1;
    written = length;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), plain + written, &length) == 1;
  if (!ok) {
    ERR_clear_error();
    OPENSSL_cleanse(value.data(), value.size());
    return Invalid(fmt::format(
        "cannot open the secret \"{}\" of worker \"{}\": the secrets key is not the one it was "
        "sealed with, or the sealed value was altered or belongs to another secret",
        name, worker));
  }
  return value;
}

}  // namespace edge::sync
