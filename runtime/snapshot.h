// The startup snapshot: a V8 heap in which the runtime's JavaScript (every
// Web API and binding, js_sources.h) has already been evaluated, made once at
// build time (bindings/make_snapshot.cc) and built into the binary, so a new
// isolate deserialises its runtime instead of running it (runtime_js.h).
//
// A snapshot file is edge's text header, then V8's blob:
//
//   edge-snapshot 1
//   v8 <V8 version>           what V8 refuses (with a crash) to load otherwise
//   flags <V8 flags>          platform.h's V8FlagsInUse() when it was made
//   js <sha256>               of the runtime's JavaScript it evaluated
//   natives <sha256>          of the NativeRegistry's signature() it used
//   <spaces>                  an all-space line pads V8's blob to 64 bytes
//
// Before V8 sees the blob the header is checked against the process and the
// registry, and the blob against its own checksum (once per process: V8's
// check of it for every new isolate is turned off); any difference is logged
// once and isolates are built by running the runtime's JavaScript, as
// without a snapshot. EDGE_SNAPSHOT=off turns it
// off for the process, WorkerSpec::use_snapshot for one worker.
//
// Nothing per isolate is in the snapshot: the natives carry their index in
// the registry (native.h), found through the isolate's IsolateData; the
// worker's name, performance.timeOrigin, env and bindings are defined after
// deserialisation (runtime_js.h, worker.cc); V8 resets Math.random's state
// when it serialises a context. Requests run through the runtime before the
// heap is written (snapshot_warmup.h), so the runtime's JavaScript must not
// keep what a native told it during a request in a module-level variable.
#pragma once

#include <v8.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "runtime/native.h"

namespace edge::runtime {

// Where the runtime's context and objects are in a snapshot made here.
inline constexpr size_t kSnapshotRuntimeContext = 0;
inline constexpr size_t kSnapshotInternals = 0;
inline constexpr size_t kSnapshotNative = 1;

// The one registry of C++ functions the runtime's JavaScript can reach (the
// functions V8 writes into a snapshot as references), null-terminated. A
// callback missing here makes V8 stop the generator with "Unknown external
// reference", so the build fails rather than a worker.
const intptr_t* SnapshotExternalReferences();

// The header (see above) of a snapshot this process makes with `natives`.
std::string SnapshotHeader(const NativeRegistry& natives);

// Makes a snapshot file holding a context in which the runtime's JavaScript
// was evaluated with `natives` (its header included). Error: that
// JavaScript failed.
StatusOr<std::string> MakeStartupSnapshot(const NativeRegistry& natives);

// A snapshot file whose header was checked against this process.
class StartupSnapshot {
 public:
  // `file` must outlive the result (and every isolate made from it). The
  // error names what differs (version, flags, JavaScript) or what is
  // malformed.
  static StatusOr<StartupSnapshot> Parse(std::string_view file);

  // Whether it was made with a registry of this signature; the natives' V8
  // functions carry an index into the registry they were made with.
  bool Matches(const NativeRegistry& natives) const;
  // For Isolate::CreateParams::snapshot_blob.
  v8::StartupData* blob() const { return &blob_; }

 private:
  std::string natives_digest_;
  mutable v8::StartupData blob_{nullptr, 0};
};

// The snapshot built into this binary if it fits this process and was made
// with `natives`; null otherwise. The process-wide check runs once and a
// reason not to use the snapshot is logged once. Thread-safe.
const StartupSnapshot* FindStartupSnapshot(const NativeRegistry& natives);

// The snapshot file built into the binary: the generated object
// edge_snapshot_blob defines it. The generator itself links the runtime but
// cannot hold what it makes, so the runtime carries a weak, empty default.
std::string_view EmbeddedStartupSnapshot();

}  // namespace edge::runtime
