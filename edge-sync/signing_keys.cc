// The origin's Ed25519 keys (OpenSSL): PEM files, signatures over entries
// and snapshot manifests, and their checks.
#include "edge-sync/signing_keys.h"

#include <fmt/core.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "base/openssl_error.h"
#include "base/openssl_ptr.h"
#include "edge-sync/key_files.h"

namespace edge::sync {
namespace {

constexpr size_t kEd25519KeyBytes = 32;

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// The first error OpenSSL queued (the queue is cleared).
std::string OpenSslError() {
  std::string error = base::TakeOpenSslError();
  return error.empty() ? "unknown OpenSSL error" : error;
}

using Pkey = base::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using MdCtx = base::OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using Bio = base::OpenSslPtr<BIO, BIO_free>;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

// pem_password_cb that refuses: an encrypted key is an error, never a prompt.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The PEM's key, checked to be an Ed25519 one.
StatusOr<Pkey> ReadPem(std::string_view pem, bool is_private, std::string_view where) {
  if (pem.size() > kMaxKeyFileBytes) {
    return Invalid(fmt::format("{}: too large to be a PEM key", where));
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) base::OpenSslFatal("BIO_new_mem_buf");
  Pkey pkey(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
                       : PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!pkey) {
    return Invalid(
        fmt::format("{}: not {} ({})", where,
                    is_private ? "an unencrypted PEM private key (PKCS#8, \"BEGIN PRIVATE KEY\")"
                               : "a PEM public key (SubjectPublicKeyInfo, \"BEGIN PUBLIC KEY\")",
                    OpenSslError()));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(pkey.get());
    return Invalid(fmt::format("{}: not an Ed25519 key (its type is {})", where,
                               type != nullptr ? type : "unknown"));
  }
  return pkey;
}

std::string RawKey(EVP_PKEY* pkey, bool is_private) {
  unsigned char raw[kEd25519KeyBytes];
  size_t length = sizeof raw;
  int ok = is_private ? EVP_PKEY_get_raw_private_key(pkey, raw, &length)
                      : EVP_PKEY_get_raw_public_key(pkey, raw, &length);
  if (ok != 1 || length != kEd25519KeyBytes) base::OpenSslFatal("EVP_PKEY_get_raw_*_key");
  std::string out(reinterpret_cast<char*>(raw), length);
  OPENSSL_cleanse(raw, sizeof raw);
  return out;
}

Pkey PublicPkey(const std::string& raw) {
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw), raw.size()));
  if (!pkey) base::OpenSslFatal("EVP_PKEY_new_raw_public_key");
  return pkey;
}

Pkey PrivatePkey(const std::string& raw) {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(raw), raw.size()));
  if (!pkey) base::OpenSslFatal("EVP_PKEY_new_raw_private_key");
  return pkey;
}

std::string PublicPemOf(EVP_PKEY* pkey) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1)
    base::OpenSslFatal("PEM_write_bio_PUBKEY");
  return BioText(bio.get());
}

}  // namespace

SigningKey::~SigningKey() { OPENSSL_cleanse(private_key_.data(), private_key_.size()); }

StatusOr<SigningKey> SigningKey::Generate() {
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) {
    return Status(ErrorCode::kInternal,
                  fmt::format("cannot generate an Ed25519 key: {}", OpenSslError()));
  }
  return SigningKey(RawKey(pkey.get(), true), RawKey(pkey.get(), false));
}

StatusOr<SigningKey> SigningKey::LoadPrivate(const std::string& path) {
  StatusOr<std::string> pem = ReadKeyFile(path, "the signing key");
  if (!pem.ok()) return pem.status();
  StatusOr<Pkey> pkey = ReadPem(*pem, true, path);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!pkey.ok()) return pkey.status();
  return SigningKey(RawKey(pkey->get(), true), RawKey(pkey->get(), false));
}

Status SigningKey::Save(const std::string& path) const {
  Pkey pkey = PrivatePkey(private_key_);
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    base::OpenSslFatal("PEM_write_bio_PrivateKey");
  }
  std::string pem = BioText(bio.get());
  Status saved = WriteKeyFile(path, pem, 0600, true);
  OPENSSL_cleanse(pem.data(), pem.size());
  EDGE_RETURN_IF_ERROR(saved);
  return WriteKeyFile(path + ".pub", PublicPem(), 0644, false);
}

SignedEntry SigningKey::Sign(const Entry& entry) const {
  SignedEntry signed_entry;
  signed_entry.seq = entry.seq;
  signed_entry.bytes = EncodeEntry(entry);
  signed_entry.signature = SignBytes(signed_entry.bytes);
  return signed_entry;
}

std::string SigningKey::SignBytes(std::string_view bytes) const {
  Pkey pkey = PrivatePkey(private_key_);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    base::OpenSslFatal("EVP_DigestSignInit");
  }
  unsigned char signature[kSignatureBytes];
  size_t length = sizeof signature;
  if (EVP_DigestSign(ctx.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) != 1 ||
      length != kSignatureBytes) {
    base::OpenSslFatal("EVP_DigestSign");
  }
  return std::string(reinterpret_cast<char*>(signature), length);
}

bool VerifyKey::VerifyBytes(std::string_view bytes, std::string_view signature) const {
  if (public_key_.size() != kEd25519KeyBytes || signature.size() != kSignatureBytes) return false;
  Pkey pkey = PublicPkey(public_key_);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    base::OpenSslFatal("EVP_DigestVerifyInit");
  }
  int verified = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  if (verified != 1) ERR_clear_error();
  return verified == 1;
}

std::string SigningKey::PublicPem() const { return PublicPemOf(PublicPkey(public_key_).get()); }

StatusOr<VerifyKey> VerifyKey::LoadPublic(const std::string& path) {
  StatusOr<std::string> pem = ReadKeyFile(path, "the origin's public key");
  if (!pem.ok()) return pem.status();
  StatusOr<Pkey> pkey = ReadPem(*pem, false, path);
  if (!pkey.ok()) return pkey.status();
  return VerifyKey(RawKey(pkey->get(), false));
}

StatusOr<VerifyKey> VerifyKey::FromPem(std::string_view pem) {
  StatusOr<Pkey> pkey = ReadPem(pem, false, "the origin's public key");
  if (!pkey.ok()) return pkey.status();
  return VerifyKey(RawKey(pkey->get(), false));
}

StatusOr<Entry> VerifyKey::Verify(const SignedEntry& signed_entry) const {
  if (public_key_.size() != kEd25519KeyBytes) {
    return Invalid(
        fmt::format("cannot check the entry at seq {}: no public key of the origin was loaded",
                    signed_entry.seq));
  }
  if (signed_entry.signature.size() != kSignatureBytes) {
    return Invalid(fmt::format("bad signature on the entry at seq {}: {} bytes, not {}",
                               signed_entry.seq, signed_entry.signature.size(), kSignatureBytes));
  }
  if (!VerifyBytes(signed_entry.bytes, signed_entry.signature)) {
    return Invalid(fmt::format(
        "bad signature on the entry at seq {}: it was altered, or not signed by the origin's "
        "key",
        signed_entry.seq));
  }
  StatusOr<Entry> entry = DecodeEntry(signed_entry.bytes);
  if (!entry.ok()) {
    return Invalid(fmt::format("entry at seq {}: {}", signed_entry.seq, entry.status().message()));
  }
  if (entry->seq != signed_entry.seq) {
    return Invalid(fmt::format("entry seq {} in a line for seq {}", entry->seq, signed_entry.seq));
  }
  return entry;
}

}  // namespace edge::sync
