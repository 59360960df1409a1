// V8 is initialized once per process, before any isolate is created.
#pragma once

#include <string>

namespace edge::runtime {

// Idempotent and thread-safe. Sets the V8 flags edge relies on.
void InitializeV8();

// The flags InitializeV8 gave V8 (edge's own, then EDGE_V8_FLAGS), as one
// string: a startup snapshot is only used with the flags it was made with
// (snapshot.h). Valid once InitializeV8 has run.
const std::string& V8FlagsInUse();

}  // namespace edge::runtime
