// Runs requests through the runtime while the startup snapshot is made, so
// that the snapshot holds the bytecode of the request path.
//
// V8 compiles a function on its first call. The runtime's JavaScript is
// evaluated into the snapshot, but the functions a request calls (dispatch,
// Request, Response, Headers, URL, body reading, the response writer) did
// not run then, so every isolate made from it compiled them again on its
// first request: a first request cost several milliseconds more than a
// warm one (bench/isolate_startup.sh, "1st req"). The snapshot keeps
// bytecode (FunctionCodeHandling::kKeep), so running a few requests of the
// usual shapes before the heap is written compiles them once, at build time.
//
// Nothing of them stays in the heap: they answer into a sink of this file,
// their objects are garbage by the time the heap is written, and the
// invocation bookkeeping they touch is C++ state of the IsolateData that
// makes the snapshot, which is not serialised.
#pragma once

#include <v8.h>

#include "base/status.h"
#include "runtime/isolate_data.h"

namespace edge::runtime {

// Runs the warm-up requests in `context`, whose runtime JavaScript has been
// evaluated (`internals` is its internals object). Error: a request did not
// answer as expected (a runtime bug, which fails the build).
Status WarmRequestPath(IsolateData& data, v8::Local<v8::Context> context,
                       v8::Local<v8::Object> internals);

}  // namespace edge::runtime
