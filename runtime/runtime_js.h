// Building a context's runtime: the `native` object, the `internals` object
// and the runtime's own JavaScript (js_sources.h) evaluated with them. Done
// once at build time into the startup snapshot (snapshot.h), and by an
// isolate made without a snapshot; both go through these functions, so the
// two paths hold the same runtime.
#pragma once

#include <v8.h>

#include <string>

#include "base/status.h"
#include "runtime/native.h"

namespace edge::runtime {

class IsolateData;

// What the runtime's JavaScript is given.
struct RuntimeObjects {
  v8::Local<v8::Object> native;
  v8::Local<v8::Object> internals;
};

// Makes `native` (from `natives`, with the values every isolate shares) and
// `internals` (empty), both without a prototype, so a name the runtime's
// JavaScript reads from them that is not there is undefined, whatever a
// tenant later puts on Object.prototype. Runs no JavaScript.
StatusOr<RuntimeObjects> MakeRuntimeObjects(v8::Local<v8::Context> context,
                                            const NativeRegistry& natives);

// Evaluates every runtime JavaScript file, in order, in `context`, then
// drains microtasks. `data` must hold the registry's table. An error here
// is a bug in edge, not in a worker.
Status RunRuntimeJs(IsolateData& data, v8::Local<v8::Context> context,
                    const RuntimeObjects& objects);

// Finishes a runtime restored from the startup snapshot: captures the
// built-ins V8 adds only when a context is deserialised (SharedArrayBuffer;
// internals.captureLateBuiltins in js/webidl.js). Before any tenant code.
Status FinishRestoredRuntime(v8::Local<v8::Context> context, v8::Local<v8::Object> internals);

// Defines on `native` the values that differ per isolate (the worker's name,
// performance.timeOrigin). The runtime's JavaScript reads them when called,
// never while it loads, so a snapshot holds none of them and each isolate
// made from it gets its own here.
[[nodiscard]] bool DefineIsolateNatives(v8::Local<v8::Context> context,
                                        v8::Local<v8::Object> native, const IsolateData& data);

}  // namespace edge::runtime
