// One change of the fleet's state, as the origin logs it and every PoP
// applies it: a worker version, a route table, a rollback, a deleted worker,
// a secret (encrypted for the PoPs), a KV put or delete.
//
// On the wire and in every log (origin's and replicas'), an entry is one
// line of NDJSON:
//   {"seq":42,"entry":"<base64 of the entry's canonical JSON>","sig":"<base64 Ed25519>"}
// The signature is the origin's, over the decoded entry bytes, so a relay
// or a proxy can pass entries on but not make or change one. The entry's
// JSON repeats its seq, so a signed entry cannot be replayed at another
// place in the log. Bodies too large to sit in a line (bundles, large KV
// values) are blobs: the entry names their SHA-256 and the PoP fetches and
// checks them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace edge::sync {

enum class EntryType {
  kVersion,       // worker, version, blob (EncodeBundle bytes), routes?, make_current
  kRoutes,        // worker, routes
  kRollback,      // worker, version (makes it current)
  kDeleteWorker,  // worker: versions, routes, secrets
  kSecretPut,     // worker, name, sealed (SealSecret)
  kSecretDelete,  // worker, name
  kKvPut,         // ns, key, value (inline, base64) or blob, metadata, expiration
  kKvDelete,      // ns, key
};

std::string_view EntryTypeName(EntryType type);  // "version", "routes", ...

struct Entry {
  uint64_t seq = 0;
  uint64_t time_ms = 0;  // when the origin logged it
  EntryType type = EntryType::kVersion;
  std::string worker;  // worker entries
  uint64_t version = 0;
  std::optional<std::vector<std::string>> routes;
  bool make_current = true;
  std::string name;         // secret name
  std::string sealed;       // secret value, encrypted (binary)
  std::string ns, key;      // KV
  std::string value;        // KV value when inline (binary)
  std::string metadata;     // KV metadata JSON text ("" = none)
  uint64_t expiration = 0;  // KV, seconds since the epoch (0 = none)
  std::string blob;         // lower-case hex SHA-256 of the body held as a blob ("" = none)

  // What the entry writes, for compaction: "v/<worker>/<version>",
  // "r/<worker>", "c/<worker>" (current version), "s/<worker>/<name>",
  // "k/<ns>/<key>" (in <ns>, '%' is written "%25" and '/' "%2F", so that
  // the key, which may hold anything, cannot be confused with another
  // namespace's). A version entry writes its "v/" key, "r/" when it carries
  // routes and "c/" when it is made current. A kDeleteWorker covers every
  // key of its worker: its only key is the marker "w/<worker>".
  std::vector<std::string> Keys() const;
  // True for entries that only remove (kDeleteWorker, kSecretDelete,
  // kKvDelete): compaction may drop them once they are older than the
  // compaction point (a PoP that far behind bootstraps from a snapshot).
  bool IsTombstone() const;

  bool operator==(const Entry&) const = default;
};

// KV values above this travel as blobs.
inline constexpr size_t kInlineValueBytes = 4096;
// The largest entry (its canonical JSON) and the longest line (its "\n"
// not counted): a reader of the log never buffers more than this for one
// entry. Bodies that could be larger are blobs.
inline constexpr size_t kMaxEntryBytes = size_t{512} << 10;
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;

// The canonical JSON of an entry (fixed key order, binary fields base64):
// what is signed. Keys, in this order: seq, time_ms, type, then the type's
// own fields in the order of EntryType's comments (KV: value or blob,
// metadata only when not empty, expiration only when not 0). Fields that do
// not belong to the type are not written. Text fields are written as they
// are (escaped): they must be valid UTF-8 for the result to decode (see
// ValidateEntry).
std::string EncodeEntry(const Entry& entry);
// Parses an entry; the input is hostile (from the network or a disk that
// may be damaged): anything malformed is kInvalidInput. Unknown keys,
// repeated keys and keys that do not belong to the entry's type are
// refused, and the result passes ValidateEntry.
StatusOr<Entry> DecodeEntry(std::string_view json);
// The checks DecodeEntry makes on the values, for entries built in C++ (the
// origin checks an entry before signing it, so that every signed entry
// decodes): seq > 0; worker names (CheckWorkerName) and secret names
// (CheckBindingName); version > 0 for versions and rollbacks; a version's
// blob; KV namespace (1 to 511 bytes) and key (1 to 512 bytes); a KV put
// holds its value inline (at most kInlineValueBytes) or names a blob;
// metadata at most 1024 bytes; every text field valid UTF-8; blob names
// lower-case hex SHA-256; the encoded entry at most kMaxEntryBytes. Fields
// that do not belong to the type are ignored (EncodeEntry drops them).
Status ValidateEntry(const Entry& entry);

// An entry as signed by the origin: its bytes and their signature.
struct SignedEntry {
  uint64_t seq = 0;
  std::string bytes;      // EncodeEntry output
  std::string signature;  // 64 bytes, Ed25519
  // The NDJSON line (with its trailing "\n").
  std::string Line() const;
};
// Parses one NDJSON line (without its "\n"): exactly the keys seq (> 0),
// entry (base64, not empty) and sig (base64 of 64 bytes), at most
// kMaxLineBytes. The entry itself is decoded by VerifyKey::Verify, once its
// signature is checked.
StatusOr<SignedEntry> ParseLine(std::string_view line);

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

// Secrets are sealed for the PoPs with the fleet's secrets key (32 random
// bytes in a file every node of the fleet has): AES-256-GCM, a random
// nonce, the worker and secret name as associated data, so a sealed value
// cannot be moved to another secret.
//
// The key file holds the 32 bytes as 64 hex digits or as base64 (44
// characters), surrounding white space ignored; anything else is refused
// with a message saying how to make one. Returns the 32 raw bytes.
StatusOr<std::string> ReadSecretsKey(const std::string& path);
// Returns nonce (12 bytes) || ciphertext || tag (16 bytes). `key` must be
// 32 bytes (ReadSecretsKey's result): another length is a bug, and aborts.
std::string SealSecret(std::string_view key, std::string_view worker, std::string_view name,
                       std::string_view value);
// kInvalidInput when the key is not 32 bytes, or when `sealed` is too short,
// was altered, or was sealed with another key or for another secret.
StatusOr<std::string> OpenSecret(std::string_view key, std::string_view worker,
                                 std::string_view name, std::string_view sealed);

// What the origin signs for a snapshot, so that neither a relay nor anyone
// on the way can forge one, drop entries from one, or make a PoP jump its
// cursor: the head, the compaction point, the number of entries and the
// SHA-256 of their lines, concatenated in order.
std::string SnapshotManifest(uint64_t head, uint64_t compacted_through, uint64_t count,
                             std::string_view lines_sha256_hex);

}  // namespace edge::sync
