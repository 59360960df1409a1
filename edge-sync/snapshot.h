// A snapshot of the fleet's log: what a PoP takes when it cannot tail (new,
// or behind the origin's compaction point), and the whole state of every
// store it replicates. On the wire (GET /sync/snapshot) and in the file a
// PoP spools it to, it is NDJSON:
//
//   {"type":"snapshot","head":H,"compacted_through":C}
//   <every surviving entry line up to H, in seq order (SignedEntry::Line)>
//   {"type":"end","count":N,"sig":"<base64 Ed25519 over SnapshotManifest>"}
//
// Each entry is signed by the origin as in the log, and the end line's
// signature covers the head, the compaction point, the count and the
// SHA-256 of the entry lines in order: nothing can be added, dropped,
// reordered or replayed at another head. Entries of every type travel the
// same way (nothing here looks inside one), so a new entry type needs no
// change to snapshots. Blobs travel apart (GET /sync/blobs/<sha256>).
//
// Everything here works one line at a time: producing, checking, spooling
// to disk and reading back cost memory bounded by the longest line
// (kMaxLineBytes), whatever the size of the snapshot.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/sha256.h"
#include "base/status.h"
#include "edge-sync/entry.h"
#include "edge-sync/signing_keys.h"

namespace edge::sync {

struct SnapshotInfo {
  uint64_t head = 0;
  uint64_t compacted_through = 0;
  uint64_t count = 0;  // entry lines
};

// The lines of a snapshot, as a server writes them: Header(), then Add for
// each entry line (with its "\n"), then End with the origin's signer.
class SnapshotLines {
 public:
  SnapshotLines(uint64_t head, uint64_t compacted_through)
      : head_(head), compacted_through_(compacted_through) {}
  // `members`: more of the header object (",\"epoch\":\"...\""), or "".
  std::string Header(std::string_view members = "") const;
  void Add(std::string_view line);
  std::string End(const std::function<std::string(std::string_view manifest)>& sign);
  uint64_t count() const { return count_; }

 private:
  uint64_t head_, compacted_through_;
  uint64_t count_ = 0;
  base::Sha256Stream digest_;
};

// An entry of a snapshot whose signature held.
struct VerifiedEntry {
  SignedEntry line;
  Entry entry;
};

// Checks the lines of a snapshot in order, as they arrive or as they are
// read back. Every failure is kInvalidInput with the reason: a header that
// is missing, repeated or inconsistent; an entry out of order, past the
// head, malformed or not signed by `key`; an end line whose count or
// manifest signature does not hold; anything after the end. Control lines
// of other types are skipped (as in the log stream); empty lines too.
class SnapshotVerifier {
 public:
  explicit SnapshotVerifier(const VerifyKey& key) : key_(key) {}
  // Returns true when `line` was an entry, which is then in `*entry`.
  StatusOr<bool> Feed(std::string_view line, VerifiedEntry* entry);
  bool started() const { return started_; }
  bool ended() const { return ended_; }
  // The header's head and compaction point, and the entries seen so far.
  const SnapshotInfo& info() const { return info_; }

 private:
  const VerifyKey& key_;
  bool started_ = false, ended_ = false;
  SnapshotInfo info_;
  uint64_t last_seq_ = 0;
  base::Sha256Stream digest_;
};

// A snapshot spooled to disk, checked whole.
struct SnapshotFile {
  std::string path;
  SnapshotInfo info;
};

// Writes a snapshot to `<dir>/snapshot.ndjson` as it arrives, checking each
// line (SnapshotVerifier) before it is written: a forged or damaged stream
// stops at the first bad line. Only the header, the entries and the end
// line are written (other control lines are skipped), so the file is at
// most the origin's surviving log. The lines go to `snapshot.ndjson.partial`
// first; Finish, once the end line was checked, syncs the file and renames
// it. A spool dropped before Finish removes its partial file.
class SnapshotSpool {
 public:
  // Creates `dir` (0700: it holds sealed secrets and KV data) if needed.
  static StatusOr<std::unique_ptr<SnapshotSpool>> Create(const std::string& dir,
                                                         const VerifyKey& key);
  ~SnapshotSpool();
  SnapshotSpool(const SnapshotSpool&) = delete;
  SnapshotSpool& operator=(const SnapshotSpool&) = delete;

  // kInvalidInput: the line was refused (see SnapshotVerifier); kIo: the
  // disk failed.
  Status Add(std::string_view line);
  bool ended() const { return verifier_.ended(); }
  // kIo when the end line never came (the stream was cut short).
  StatusOr<SnapshotFile> Finish();

 private:
  SnapshotSpool(std::string dir, const VerifyKey& key, FILE* file)
      : dir_(std::move(dir)), verifier_(key), file_(file) {}

  std::string dir_;
  SnapshotVerifier verifier_;
  FILE* file_;
  bool finished_ = false;
};

// Checks a whole snapshot file (every line, the end line last, nothing
// after it) without changing anything: what to call before applying one.
StatusOr<SnapshotInfo> VerifySnapshotFile(const std::string& path, const VerifyKey& key);

// Reads a snapshot file back, checking it again line by line, and calls
// `on_entry` for each entry in order; stops at the first error (its own or
// on_entry's). The manifest is checked only at the end: call
// VerifySnapshotFile first when nothing may change unless all of it holds.
// `info`, when given, receives the header's head and compaction point and
// the count once the whole file held.
Status ForEachSnapshotEntry(const std::string& path, const VerifyKey& key,
                            const std::function<Status(const VerifiedEntry&)>& on_entry,
                            SnapshotInfo* info = nullptr);

}  // namespace edge::sync
