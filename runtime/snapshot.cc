#include "runtime/snapshot.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/sha256.h"
#include "runtime/js_sources.h"
#include "runtime/lazy_js.h"
#include "runtime/platform.h"
#include "runtime/static_source.h"

namespace edge::runtime {

// The generator links this library but cannot hold its own output: binaries
// that link the generated edge_snapshot_blob object get its strong
// definition instead of this one.
__attribute__((weak)) std::string_view EmbeddedStartupSnapshot() { return {}; }

namespace {

constexpr std::string_view kMagic = "edge-snapshot 1";
// V8's blob starts at a multiple of this in the file (the generated array is
// aligned to it too), as it would in a file of its own.
constexpr size_t kBlobAlignment = 64;
// A header longer than this is not one of ours.
constexpr size_t kMaxHeader = 4096;

// V8's blob (V8 10.2's src/snapshot/snapshot.cc) starts with three
// uint32s: the number of contexts, whether it can be rehashed, and the
// Adler-32 checksum of everything after the checksum (zlib's adler32 started
// from 0 rather than from adler32's initial 1, as V8 calls it). V8 verifies it for
// each new isolate unless --no-verify-snapshot-checksum (platform.cc sets
// it): Parse verifies it once per process instead.
constexpr size_t kV8ChecksumOffset = 8;
constexpr size_t kV8ChecksummedFrom = 12;

uint32_t V8Adler32(std::string_view bytes) {
  constexpr uint32_t kBase = 65521;
  // The most bytes summed before a and b must be reduced (zlib's NMAX).
  constexpr size_t kRun = 5552;
  uint32_t a = 0;
  uint32_t b = 0;
  while (!bytes.empty()) {
    size_t run = std::min(bytes.size(), kRun);
    for (size_t i = 0; i < run; ++i) {
      a += static_cast<unsigned char>(bytes[i]);
      b += a;
    }
    a %= kBase;
    b %= kBase;
    bytes.remove_prefix(run);
  }
  return (b << 16) | a;
}


std::string RuntimeJsDigest() {
  base::Sha256Stream digest;
  // The lazy files too: the snapshot's lazy properties name them.
  const std::pair<const JsSource*, size_t> lists[] = {{kRuntimeJs, kRuntimeJsCount},
                                                      {kLazyJs, kLazyJsCount}};
  for (const auto& [files, count] : lists) {
    for (size_t i = 0; i < count; ++i) {
      digest.Update(files[i].name);
      digest.Update(std::string_view("\0", 1));
      digest.Update(files[i].source);
      digest.Update(std::string_view("\0", 1));
    }
    digest.Update(std::string_view("\n", 1));
  }
  return digest.HexDigest();
}

// The header lines that describe this process, in file order (natives
// apart: they describe a registry).
std::vector<std::pair<std::string, std::string>> ProcessFields() {
  InitializeV8();
  return {{"v8", v8::V8::GetVersion()}, {"flags", V8FlagsInUse()}, {"js", RuntimeJsDigest()}};
}

bool SnapshotTurnedOff() {
  const char* value = std::getenv("EDGE_SNAPSHOT");
  return value != nullptr && (std::string_view(value) == "off" || std::string_view(value) == "0");
}

}  // namespace

const intptr_t* SnapshotExternalReferences() {
  // The natives' one entry point, the lazy properties' getter
  // (lazy_js.h), then the runtime's sources (V8 keeps a source string in the
  // snapshot as the index of its resource here: see static_source.h; the
  // lazy files' are never in a snapshot, but listing them keeps one that got
  // there by mistake from failing), then the end. Leaked: isolates use it
  // until exit.
  static const intptr_t* references = [] {
    auto* list = new std::vector<intptr_t>{reinterpret_cast<intptr_t>(&NativeTrampoline),
                                           reinterpret_cast<intptr_t>(&LazyPropertyGetter)};
    for (const auto& source : RuntimeJsSources()) list->push_back(source->resource_address());
    for (const auto& source : LazyJsSources()) list->push_back(source->resource_address());
    list->push_back(0);
    return list->data();
  }();
  return references;
}

std::string SnapshotHeader(const NativeRegistry& natives) {
  std::string header(kMagic);
  header.append("\n");
  for (const auto& [key, value] : ProcessFields()) header.append(key).append(" ").append(value).append("\n");
  header.append("natives ").append(base::Sha256Hex(natives.signature())).append("\n");
  // The closing all-space line: at least the newline, padded to alignment.
  size_t padding = (kBlobAlignment - (header.size() + 1) % kBlobAlignment) % kBlobAlignment;
  header.append(padding, ' ').append("\n");
  return header;
}

StatusOr<StartupSnapshot> StartupSnapshot::Parse(std::string_view file) {
  auto malformed = [](std::string_view why) {
    return Status(ErrorCode::kInvalidInput, fmt::format("not an edge snapshot: {}", why));
  };
  std::vector<std::pair<std::string, std::string>> fields;
  size_t pos = 0;
  bool first = true;
  while (true) {
    size_t end = file.find('\n', pos);
    if (end == std::string_view::npos || end >= kMaxHeader) return malformed("no end of header");
    std::string_view line = file.substr(pos, end - pos);
    pos = end + 1;
    if (first) {
      if (line != kMagic) return malformed("wrong first line");
      first = false;
      continue;
    }
    if (line.find_first_not_of(' ') == std::string_view::npos) break;
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return malformed("a header line without a value");
    fields.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  if (pos == file.size()) return malformed("no V8 blob");

  StartupSnapshot snapshot;
  std::vector<std::pair<std::string, std::string>> expected = ProcessFields();
  for (const auto& [key, want] : expected) {
    const std::string* have = nullptr;
    for (const auto& [name, value] : fields) {
      if (name == key) have = &value;
    }
    if (have == nullptr) return malformed(fmt::format("no '{}' line", key));
    if (*have != want) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("it was made with {} '{}', this process has '{}'", key, *have,
                                want));
    }
  }
  for (const auto& [name, value] : fields) {
    if (name == "natives") snapshot.natives_digest_ = value;
  }
  if (snapshot.natives_digest_.empty()) return malformed("no 'natives' line");
  std::string_view blob = file.substr(pos);
  if (blob.size() <= kV8ChecksummedFrom) return malformed("a V8 blob too short");
  uint32_t checksum = 0;
  std::memcpy(&checksum, blob.data() + kV8ChecksumOffset, sizeof checksum);
  if (V8Adler32(blob.substr(kV8ChecksummedFrom)) != checksum) {
    return malformed("its V8 blob does not match its checksum");
  }
  snapshot.blob_ = {blob.data(), static_cast<int>(blob.size())};
  return snapshot;
}

bool StartupSnapshot::Matches(const NativeRegistry& natives) const {
  return base::Sha256Hex(natives.signature()) == natives_digest_;
}

const StartupSnapshot* FindStartupSnapshot(const NativeRegistry& natives) {
  static std::once_flag once;
  static std::optional<StartupSnapshot> embedded;
  std::call_once(once, [] {
    std::string_view file = EmbeddedStartupSnapshot();
    if (file.empty()) return;  // a binary without one (the generator, fuzzers)
    if (SnapshotTurnedOff()) {
      Log(LogLevel::kInfo, "startup snapshot: off (EDGE_SNAPSHOT); isolates run the runtime's "
                           "JavaScript when they start");
      return;
    }
    StatusOr<StartupSnapshot> parsed = StartupSnapshot::Parse(file);
    if (!parsed.ok()) {
      Log(LogLevel::kWarn,
          "startup snapshot not used: {}; isolates run the runtime's JavaScript when they start "
          "(slower)",
          parsed.status().message());
      return;
    }
    embedded = std::move(parsed).value();
  });
  if (!embedded) return nullptr;
  if (!embedded->Matches(natives)) {
    static std::once_flag told;
    std::call_once(told, [] {
      Log(LogLevel::kInfo,
          "startup snapshot not used for a set of natives it was not made with; those isolates "
          "run the runtime's JavaScript when they start");
    });
    return nullptr;
  }
  return &*embedded;
}

}  // namespace edge::runtime
