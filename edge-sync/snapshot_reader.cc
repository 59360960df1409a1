#include "edge-sync/snapshot_reader.h"

#include <fmt/core.h>

#include "base/base64.h"

namespace edge::sync {

std::optional<ControlLine> AsControlLine(simdjson::dom::parser& parser, std::string_view line) {
  simdjson::dom::object object;
  if (parser.parse(line.data(), line.size(), true).get_object().get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::string_view type;
  if (object["type"].get_string().get(type) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::element seq;
  if (object["seq"].get(seq) == simdjson::SUCCESS) return std::nullopt;
  ControlLine out;
  out.type = std::string(type);
  uint64_t value = 0;
  if (object["head"].get_uint64().get(value) == simdjson::SUCCESS) out.head = value;
  if (object["compacted_through"].get_uint64().get(value) == simdjson::SUCCESS) {
    out.compacted_through = value;
  }
  if (object["count"].get_uint64().get(value) == simdjson::SUCCESS) out.count = value;
  std::string_view sig;
  if (object["sig"].get_string().get(sig) == simdjson::SUCCESS) out.sig = std::string(sig);
  return out;
}

SnapshotReader::Result SnapshotReader::Refuse(uint64_t seq, std::string reason) {
  refused_ = true;
  refused_seq_ = seq;
  reason_ = std::move(reason);
  return Result::kRefused;
}

SnapshotReader::Result SnapshotReader::OnLine(std::string_view line) {
  if (refused_) return Result::kRefused;
  if (ended_) return Refuse(0, "a line after its end");
  if (line.empty()) return Result::kMore;
  if (std::optional<ControlLine> control = AsControlLine(parser_, line)) {
    if (control->type == "snapshot") {
      if (has_header_) return Refuse(0, "a second snapshot header");
      if (control->compacted_through > control->head) {
        return Refuse(0, "its compaction point is past its head");
      }
      has_header_ = true;
      head_ = control->head;
      compacted_through_ = control->compacted_through;
    } else if (control->type == "end") {
      if (!has_header_) return Refuse(0, "it ends before it starts");
      if (control->count != entries_.size()) {
        return Refuse(0, fmt::format("it ends after {} entries but says {}", entries_.size(),
                                     control->count));
      }
      // Its head, compaction point and every line must be the origin's:
      // a snapshot resets the replica.
      auto signature = base::Base64Decode(control->sig);
      if (!signature.ok() ||
          !key_.VerifyBytes(
              SnapshotManifest(head_, compacted_through_, entries_.size(), digest_.HexDigest()),
              *signature)) {
        return Refuse(0, "its manifest is not signed by the origin's key");
      }
      ended_ = true;
      return Result::kEnded;
    }
    return Result::kMore;
  }
  if (!has_header_) return Refuse(0, "an entry before the snapshot header");
  StatusOr<SignedEntry> signed_entry = ParseLine(line);
  if (!signed_entry.ok()) return Refuse(0, "malformed line: " + signed_entry.status().message());
  digest_.Update(signed_entry->Line());
  uint64_t seq = signed_entry->seq;
  if (!entries_.empty() && seq <= entries_.back().first.seq) {
    return Refuse(seq, fmt::format("entry {} after {}", seq, entries_.back().first.seq));
  }
  if (seq > head_) return Refuse(seq, fmt::format("entry {} is past its head {}", seq, head_));
  StatusOr<Entry> entry = key_.Verify(*signed_entry);
  if (!entry.ok()) return Refuse(seq, entry.status().message());
  entries_.emplace_back(std::move(signed_entry).value(), std::move(entry).value());
  return Result::kMore;
}

}  // namespace edge::sync
