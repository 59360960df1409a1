// edge_make_snapshot OUT.cc: makes the startup snapshot (runtime/snapshot.h)
// at build time and writes it as the C++ source of edge_snapshot_blob, which
// `edge` and the tests link. It lives with the bindings because the snapshot
// holds every native's function, the bindings' included: it is made with the
// registry edge itself uses (bindings::RegisterNatives).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/sha256.h"
#include "bindings/bindings.h"
#include "runtime/snapshot.h"

namespace {

// The file as one string literal in pieces: printable characters as they
// are, the rest as three-digit octal escapes (which end by themselves, so a
// digit may follow).
std::string CSource(const std::string& file) {
  std::string out =
      "// Generated at build time by edge_make_snapshot (bindings/make_snapshot.cc). Do not edit.\n"
      "// sha256 " + edge::base::Sha256Hex(file) + "\n"
      "#include <string_view>\n\n"
      "namespace edge::runtime {\n\n"
      "// Declared in runtime/snapshot.h (not included: it would need V8's headers).\n"
      "std::string_view EmbeddedStartupSnapshot();\n\n"
      "namespace {\nalignas(64) const char kSnapshot[] =\n";
  size_t column = 0;
  out.append("\"");
  for (unsigned char c : file) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
      out.push_back(static_cast<char>(c));
      column += 1;
    } else {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\%03o", c);
      out.append(escape);
      column += 4;
    }
    if (column >= 96) {
      out.append("\"\n\"");
      column = 0;
    }
  }
  out.append("\";\n}  // namespace\n\n");
  out.append("std::string_view EmbeddedStartupSnapshot() {\n");
  out.append("  return std::string_view(kSnapshot, sizeof(kSnapshot) - 1);\n}\n\n");
  out.append("}  // namespace edge::runtime\n");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.cc\n", argv[0]);
    return 2;
  }
  // The snapshot is made for edge's own V8 flags; a process started with
  // EDGE_V8_FLAGS sees the difference and runs without it (snapshot.h).
  unsetenv("EDGE_V8_FLAGS");
  edge::runtime::NativeRegistry natives;
  edge::bindings::RegisterNatives(natives);
  edge::StatusOr<std::string> file = edge::runtime::MakeStartupSnapshot(natives);
  if (!file.ok()) {
    std::fprintf(stderr, "edge_make_snapshot: %s\n", file.status().message().c_str());
    return 1;
  }
  std::string path = argv[1];
  std::string source = CSource(*file);
  {
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    out << source;
    if (!out.good()) {
      std::fprintf(stderr, "edge_make_snapshot: cannot write %s.tmp\n", path.c_str());
      return 1;
    }
  }
  if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "edge_make_snapshot: cannot rename to %s\n", path.c_str());
    return 1;
  }
  std::printf("edge_make_snapshot: %zu bytes\n", file->size());
  return 0;
}
