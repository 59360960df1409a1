// One change of the fleet's state, as the origin logs it and every PoP
// applies it: a worker version, a route table, a rollback, a deleted worker,
// a secret (encrypted for the PoPs), a KV put or delete, an account, the
// operator's host policies.
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
  kVersion,       // worker, version, blob (EncodeBundle bytes), routes?, make_current, account?
  kRoutes,        // worker, routes
  kRollback,      // worker, version (makes it current)
  kDeleteWorker,  // worker: versions, routes, secrets
  kSecretPut,     // worker, name, sealed (SealSecret)
  kSecretDelete,  // worker, name
  kKvPut,         // ns, key, value (inline, base64) or blob, metadata, expiration
  kKvDelete,      // ns, key
  kAccount,       // account, record (gateway::AccountRecord::Encode: hosts, token digest)
  kAccountDelete,  // account (its workers go by their own kDeleteWorker entries first)
  // policies: the fleet's whole set of operator host policies (the JSON
  // array of `[[host_policies]]` tables that policy::ParseHostPolicies
  // reads), replacing the set before it; "[]" is a set with no tables.
  kHostPolicies,
  kHostPoliciesDelete,  // the fleet's set removed: each node's node.toml set applies again
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
  // kAccount, kAccountDelete: the account's name. kVersion: the account
  // that owns the worker ("" = not said: entries logged before accounts).
  std::string account;
  std::string record;  // kAccount: the account's record (JSON text)
  // kHostPolicies: the set as JSON text. Checked as text only (valid UTF-8,
  // not empty): a PoP that cannot read a set keeps the one it has, so the
  // entry must still decode there.
  std::string policies;

  // What the entry writes, for compaction: "v/<worker>/<version>",
  // "r/<worker>", "c/<worker>" (current version), "s/<worker>/<name>",
  // "k/<ns>/<key>" (in <ns>, '%' is written "%25" and '/' "%2F", so that
  // the key, which may hold anything, cannot be confused with another
  // namespace's), "a/<account>" (an account, made or deleted), "h" (the
  // fleet's host policies, set or removed). A version entry writes its "v/" key, "r/" when it carries routes and "c/" when it
  // is made current. A kDeleteWorker covers every
  // key of its worker: its only key is the marker "w/<worker>".
  std::vector<std::string> Keys() const;
  // True for entries that only remove (kDeleteWorker, kSecretDelete,
  // kKvDelete, kAccountDelete, kHostPoliciesDelete): compaction may drop
  // them once they are older than the compaction point (a PoP that far
  // behind bootstraps from a snapshot).
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
// lower-case hex SHA-256; account names (CheckAccountName) and an account's
// record (AccountRecord::Parse); host policies as text (valid UTF-8, not
// empty; their tables are read by the node that applies them); the encoded
// entry at most kMaxEntryBytes. Fields
// that do not belong to the type are ignored (EncodeEntry drops them).
Status ValidateEntry(const Entry& entry);

// An Ed25519 signature (signing_keys.h makes and checks them).
inline constexpr size_t kSignatureBytes = 64;

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
// kMaxLineBytes. The entry itself is decoded by VerifyKey::Verify
// (signing_keys.h), once its signature is checked.
StatusOr<SignedEntry> ParseLine(std::string_view line);

// What the origin signs for a snapshot, so that neither a relay nor anyone
// on the way can forge one, drop entries from one, or make a PoP jump its
// cursor: the head, the compaction point, the number of entries and the
// SHA-256 of their lines, concatenated in order.
std::string SnapshotManifest(uint64_t head, uint64_t compacted_through, uint64_t count,
                             std::string_view lines_sha256_hex);

}  // namespace edge::sync
