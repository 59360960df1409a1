// V8 is initialized once per process, before any isolate is created.
#pragma once

namespace edge::runtime {

// Idempotent and thread-safe. Sets the V8 flags edge relies on.
void InitializeV8();

}  // namespace edge::runtime
