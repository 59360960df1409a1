// V8's serialization (the HTML structured serialization structuredClone
// copies through) for natives that move a value to another isolate or to
// disk: the arguments and results of JS RPC over service bindings
// (bindings/service/) and the bodies of queue messages of content type
// "v8" (bindings/queues/). Blob and File travel as structuredClone copies
// them.
#pragma once

#include <v8.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::runtime {

// The bytes of `value`, at most `max_bytes` of them. A value that cannot be
// cloned (a function, a Symbol, a Proxy, a WebAssembly.Module) fails with a
// DataCloneError, a getter's exception propagates (both pending, as
// PendingException()); a value larger than `max_bytes` fails with a
// RangeError saying that `what` ("RPC arguments ...") are limited to it.
StatusOr<std::string> SerializeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                     v8::Local<v8::Value> value, size_t max_bytes,
                                     std::string_view what);

// The value SerializeValue wrote, made in `context`; empty with an exception
// pending when the bytes are not such a value.
v8::MaybeLocal<v8::Value> DeserializeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                           std::string_view bytes);

}  // namespace edge::runtime
