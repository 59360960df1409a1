// The snapshot verifier (SnapshotVerifier, edge-sync/snapshot.*): the lines
// of GET /sync/snapshot, with which a PoP replaces its whole state.
//
// Byte 0 of the input picks the mode; the rest is lines.
//  - bit 0 clear: every line is fed as it is. Seeds signed with the fixed
//    key below pass; mutations test the refusals (forged or damaged
//    signatures, order, counts, malformed JSON).
//  - bit 0 set: the harness signs, so that mutations reach what lies behind
//    a valid signature. A line "E <json>" becomes a signed log line of
//    those entry bytes (its seq taken from the JSON, else the next one); a
//    line "END" becomes the end line, with the count of entry lines fed and
//    the manifest signed over them and the last header fed. Other lines
//    are fed as they are.
//
// Checked: refusals are kInvalidInput with a reason; nothing is taken after
// the end; when it ends, the compaction point is at most the head, the
// entries are in increasing seq order at or below the head, each decoded
// from its own line's bytes, and the count is theirs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>

#include <simdjson.h>
#include <vector>

#include "base/base64.h"
#include "base/sha256.h"
#include "edge-sync/entry.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot.h"
#include "fuzz/fuzz_check.h"

using namespace edge::sync;

namespace {

// A fixed test key: the seeds in fuzz/corpus/sync_snapshot were signed with
// it (fuzz/README.md says how to make more). It signs nothing else.
constexpr char kTestKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIF3TsU4wcmJ8H/luZkVqUfQ99TQoX922Gm/QuHwN03PX\n"
    "-----END PRIVATE KEY-----\n";

struct Keys {
  std::unique_ptr<SigningKey> signing;
  VerifyKey verify;
};

const Keys& TheKeys() {
  static Keys* keys = [] {
    char path[] = "/tmp/edge-fuzz-key-XXXXXX";
    int fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0, "cannot make a temporary file");
    FUZZ_CHECK(write(fd, kTestKeyPem, sizeof kTestKeyPem - 1) ==
                   static_cast<ssize_t>(sizeof kTestKeyPem - 1),
               "cannot write the test key");
    close(fd);
    edge::StatusOr<SigningKey> signing = SigningKey::LoadPrivate(path);
    unlink(path);
    FUZZ_CHECK(signing.ok(), "cannot load the test key");
    edge::StatusOr<VerifyKey> verify = VerifyKey::FromPem(signing->PublicPem());
    FUZZ_CHECK(verify.ok(), "cannot load the test key's public half");
    auto* made = new Keys{std::make_unique<SigningKey>(std::move(signing).value()),
                          std::move(verify).value()};
    return made;
  }();
  return *keys;
}

// What the signing mode tracks to make a valid end line.
struct Signer {
  uint64_t next_seq = 1;
  uint64_t count = 0;
  uint64_t head = 0, compacted_through = 0;
  std::unique_ptr<edge::base::Sha256Stream> digest = std::make_unique<edge::base::Sha256Stream>();
  simdjson::dom::parser parser;

  std::string Transform(const SigningKey& key, std::string_view line) {
    if (line.starts_with("E ")) {
      std::string bytes(line.substr(2));
      edge::StatusOr<Entry> entry = DecodeEntry(bytes);
      SignedEntry signed_entry;
      signed_entry.seq = entry.ok() ? entry->seq : next_seq;
      next_seq = signed_entry.seq + 1;
      signed_entry.bytes = std::move(bytes);
      signed_entry.signature = key.SignBytes(signed_entry.bytes);
      std::string text = signed_entry.Line();
      digest->Update(text);
      ++count;
      text.pop_back();
      return text;
    }
    if (line == "END") {
      std::string manifest = SnapshotManifest(head, compacted_through, count, digest->HexDigest());
      digest = std::make_unique<edge::base::Sha256Stream>();
      return "{\"type\":\"end\",\"count\":" + std::to_string(count) + ",\"sig\":\"" +
             edge::base::Base64Encode(key.SignBytes(manifest)) + "\"}";
    }
    simdjson::dom::object object;
    std::string_view type;
    if (parser.parse(line.data(), line.size(), true).get_object().get(object) == simdjson::SUCCESS &&
        object["type"].get_string().get(type) == simdjson::SUCCESS && type == "snapshot") {
      uint64_t value = 0;
      if (object["head"].get_uint64().get(value) == simdjson::SUCCESS) head = value;
      if (object["compacted_through"].get_uint64().get(value) == simdjson::SUCCESS) {
        compacted_through = value;
      }
    }
    return std::string(line);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Keys& keys = TheKeys();
  bool sign = (data[0] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  SnapshotVerifier verifier(keys.verify);
  Signer signer;
  std::vector<VerifiedEntry> entries;
  while (!rest.empty() && !verifier.ended()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    std::string fed = sign ? signer.Transform(*keys.signing, line) : std::string(line);
    VerifiedEntry entry;
    edge::StatusOr<bool> taken = verifier.Feed(fed, &entry);
    if (!taken.ok()) {
      FUZZ_NOTE("refused: %s", taken.status().message().c_str());
      FUZZ_CHECK(taken.status().code() == edge::ErrorCode::kInvalidInput,
                 "a refusal with another code than kInvalidInput");
      FUZZ_CHECK(!taken.status().message().empty(), "a refusal without a reason");
      return 0;
    }
    if (*taken) entries.push_back(std::move(entry));
  }
  if (!verifier.ended()) {
    FUZZ_NOTE("cut short");
    return 0;  // the client retries
  }
  const SnapshotInfo& info = verifier.info();
  FUZZ_NOTE("ended: %zu entries, head %llu", entries.size(),
            static_cast<unsigned long long>(info.head));
  FUZZ_CHECK(info.compacted_through <= info.head, "a compaction point past the head");
  FUZZ_CHECK(info.count == entries.size(), "a count that is not the entries'");
  uint64_t previous = 0;
  for (const VerifiedEntry& verified : entries) {
    FUZZ_CHECK(verified.line.seq > previous, "entries out of order");
    FUZZ_CHECK(verified.line.seq <= info.head, "an entry past the head");
    FUZZ_CHECK(verified.entry.seq == verified.line.seq, "an entry whose seq is not its line's");
    edge::StatusOr<Entry> decoded = DecodeEntry(verified.line.bytes);
    FUZZ_CHECK(decoded.ok() && *decoded == verified.entry, "an entry that is not its line's bytes");
    previous = verified.line.seq;
  }
  VerifiedEntry after;
  FUZZ_CHECK(!verifier.Feed("{\"type\":\"end\",\"count\":0,\"sig\":\"\"}", &after).ok(),
             "the verifier took a line after its end");
  return 0;
}
