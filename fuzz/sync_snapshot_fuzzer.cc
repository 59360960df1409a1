// The snapshot reader (edge-sync/snapshot_reader.*): the lines of GET
// /sync/snapshot, with which a PoP replaces its whole state.
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
// Checked: the reader never takes a line after it refused or ended; when it
// ends, the compaction point is at most the head, the entries are in
// increasing seq order at or below the head, each decoded from its own
// line's bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>

#include "base/base64.h"
#include "base/sha256.h"
#include "edge-sync/entry.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot_reader.h"
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
    if (std::optional<ControlLine> control = AsControlLine(parser, line)) {
      if (control->type == "snapshot") {
        head = control->head;
        compacted_through = control->compacted_through;
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
  SnapshotReader reader(keys.verify);
  Signer signer;
  SnapshotReader::Result result = SnapshotReader::Result::kMore;
  while (!rest.empty() && result == SnapshotReader::Result::kMore) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    std::string fed = sign ? signer.Transform(*keys.signing, line) : std::string(line);
    result = reader.OnLine(fed);
  }
  if (result == SnapshotReader::Result::kRefused) {
    FUZZ_NOTE("refused: %s", reader.reason().c_str());
    FUZZ_CHECK(!reader.reason().empty(), "a refusal without a reason");
    FUZZ_CHECK(reader.OnLine("{\"type\":\"snapshot\",\"head\":1,\"compacted_through\":0}") ==
                   SnapshotReader::Result::kRefused,
               "the reader took a line after refusing");
    return 0;
  }
  if (result != SnapshotReader::Result::kEnded) {
    FUZZ_NOTE("cut short");
    return 0;  // the client retries
  }
  FUZZ_NOTE("ended: %zu entries, head %llu", reader.entries().size(),
            static_cast<unsigned long long>(reader.head()));
  FUZZ_CHECK(reader.compacted_through() <= reader.head(), "a compaction point past the head");
  uint64_t previous = 0;
  for (const auto& [signed_entry, entry] : reader.entries()) {
    FUZZ_CHECK(signed_entry.seq > previous, "entries out of order");
    FUZZ_CHECK(signed_entry.seq <= reader.head(), "an entry past the head");
    FUZZ_CHECK(entry.seq == signed_entry.seq, "an entry whose seq is not its line's");
    edge::StatusOr<Entry> decoded = DecodeEntry(signed_entry.bytes);
    FUZZ_CHECK(decoded.ok() && *decoded == entry, "an entry that is not its line's bytes");
    previous = signed_entry.seq;
  }
  FUZZ_CHECK(reader.OnLine("{\"type\":\"end\",\"count\":0,\"sig\":\"\"}") ==
                 SnapshotReader::Result::kRefused,
             "the reader took a line after its end");
  return 0;
}
