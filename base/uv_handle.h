// Ownership of heap-allocated libuv handles. A handle may only be freed once
// libuv is done with it, in the callback of uv_close; this is that pair,
// written once. Header-only: the code that includes it links libuv.
#pragma once

#include <uv.h>

namespace edge::base {

// Closes `handle` and deletes it in the close callback. `Handle` is a libuv
// handle type (uv_timer_t, uv_async_t, ...), or a struct whose first member
// is one, allocated with `new`. The handle's data and callbacks must not be
// used after this call.
template <typename Handle>
void CloseAndDelete(Handle* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
}

}  // namespace edge::base
