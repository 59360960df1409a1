// The origin's Ed25519 keys (OpenSSL): it signs every entry of the fleet's
// log (and each snapshot's manifest) and every PoP checks with the public
// key it pins.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "edge-sync/entry.h"

namespace edge::sync {

// Ed25519 keys (OpenSSL). Files are PEM: PKCS#8 private, SubjectPublicKeyInfo public.
class SigningKey {
 public:
  static StatusOr<SigningKey> Generate();
  // The key must be an unencrypted Ed25519 key (there is no passphrase
  // prompt).
  static StatusOr<SigningKey> LoadPrivate(const std::string& path);
  // Writes the private key to `path` (mode 0600) and the public key to
  // `path + ".pub"` (0644). Refuses (kInvalidInput) to replace an existing
  // private key file: losing the fleet's key locks every PoP out.
  Status Save(const std::string& path) const;
  // Signs EncodeEntry(entry); the caller has checked it (ValidateEntry).
  SignedEntry Sign(const Entry& entry) const;
  // Signs other bytes the origin vouches for (a snapshot's manifest).
  std::string SignBytes(std::string_view bytes) const;
  std::string PublicPem() const;

  SigningKey(const SigningKey&) = default;
  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  SigningKey& operator=(SigningKey&&) = default;
  ~SigningKey();  // wipes the private key bytes

 private:
  SigningKey(std::string private_key, std::string public_key)
      : private_key_(std::move(private_key)), public_key_(std::move(public_key)) {}

  std::string private_key_;  // 32 bytes (RFC 8032's private key)
  std::string public_key_;   // 32 bytes
};
class VerifyKey {
 public:
  // No key: every Verify fails. (Options structs hold one before a key is
  // loaded into them.)
  VerifyKey() = default;
  static StatusOr<VerifyKey> LoadPublic(const std::string& path);
  static StatusOr<VerifyKey> FromPem(std::string_view pem);
  // Checks the signature, decodes the entry and checks that its seq is the
  // line's. Each failure is kInvalidInput with its own message ("bad
  // signature", "entry seq 5 in a line for seq 6", the decoding error).
  StatusOr<Entry> Verify(const SignedEntry& signed_entry) const;
  // Whether `signature` is the origin's over `bytes`.
  bool VerifyBytes(std::string_view bytes, std::string_view signature) const;

 private:
  explicit VerifyKey(std::string public_key) : public_key_(std::move(public_key)) {}

  std::string public_key_;  // 32 bytes
};

}  // namespace edge::sync
