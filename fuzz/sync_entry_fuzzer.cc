// Sync entries (edge-sync/entry.*): what a PoP reads from its upstream's log
// and from its own LMDB log, both hostile (the network, a damaged disk).
// The input is given to DecodeEntry (an entry's JSON, as a signed line
// carries it) and to ParseLine (one NDJSON line of the log).
//
// Checked: refusals are kInvalidInput with a message; a decoded entry
// passes ValidateEntry, encodes to JSON that decodes to an equal entry and
// re-encodes to the same bytes (what is signed is canonical), has at least
// one compaction key; a parsed line's own Line() parses back to the same
// seq, entry bytes and signature.
#include <cstdint>
#include <string>
#include <string_view>

#include "edge-sync/entry.h"
#include "fuzz/fuzz_check.h"

using edge::ErrorCode;
using edge::Status;
using edge::StatusOr;
using namespace edge::sync;

namespace {

void CheckRefusal(const Status& status, const char* what) {
  FUZZ_CHECK(status.code() == ErrorCode::kInvalidInput, what);
  FUZZ_CHECK(!status.message().empty(), "a refusal without a message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  StatusOr<Entry> entry = DecodeEntry(input);
  if (entry.ok()) {
    FUZZ_NOTE("entry %s, seq %llu", std::string(EntryTypeName(entry->type)).c_str(),
              static_cast<unsigned long long>(entry->seq));
    FUZZ_CHECK(ValidateEntry(*entry).ok(), "DecodeEntry returned an entry ValidateEntry refuses");
    std::string encoded = EncodeEntry(*entry);
    StatusOr<Entry> again = DecodeEntry(encoded);
    FUZZ_CHECK(again.ok(), "the canonical JSON of a decoded entry does not decode");
    FUZZ_CHECK(*again == *entry, "decoding the canonical JSON changed the entry");
    FUZZ_CHECK(EncodeEntry(*again) == encoded, "the canonical JSON is not stable");
    FUZZ_CHECK(!entry->Keys().empty(), "an entry that writes no key");
  } else {
    FUZZ_NOTE("not an entry: %s", entry.status().message().c_str());
    CheckRefusal(entry.status(), "DecodeEntry failed with another code than kInvalidInput");
  }

  StatusOr<SignedEntry> line = ParseLine(input);
  if (line.ok()) {
    FUZZ_NOTE("a line, seq %llu", static_cast<unsigned long long>(line->seq));
    FUZZ_CHECK(line->seq > 0 && !line->bytes.empty() && line->signature.size() == kSignatureBytes,
               "ParseLine accepted a line without seq, entry or a 64-byte signature");
    std::string text = line->Line();
    FUZZ_CHECK(!text.empty() && text.back() == '\n', "a line that does not end in \\n");
    text.pop_back();
    StatusOr<SignedEntry> again = ParseLine(text);
    FUZZ_CHECK(again.ok(), "the Line() of a parsed line does not parse");
    FUZZ_CHECK(again->seq == line->seq && again->bytes == line->bytes &&
                   again->signature == line->signature,
               "re-parsing a line changed it");
  } else {
    FUZZ_NOTE("not a line: %s", line.status().message().c_str());
    CheckRefusal(line.status(), "ParseLine failed with another code than kInvalidInput");
  }
  return 0;
}
