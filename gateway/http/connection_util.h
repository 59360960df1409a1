// What the files of one connection share (internal to the gateway): sizes,
// the guard around callbacks into handlers, and text for logs and
// responses.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "base/log.h"
#include "gateway/http/http_types.h"

namespace edge::gateway {

// One read from a socket (and the size of the server's shared read buffer).
inline constexpr size_t kReadBufferSize = 64 * 1024;
// Input kept while a request is with the handler, before reading stops.
inline constexpr size_t kMaxPendingInput = 64 * 1024;
inline constexpr size_t kDrainThreshold = kWriterDrainThreshold;
// Buffers above this capacity are freed rather than kept for reuse.
inline constexpr size_t kMaxKeptCapacity = 256 * 1024;

// Calls `fn` (a handler's callback); what it throws is logged, never passed on.
template <typename F>
void SafeCall(F& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "gateway: {} threw: {}", what, e.what());
  } catch (...) {
    Log(LogLevel::kError, "gateway: {} threw a non-standard exception", what);
  }
}

// Printable form of untrusted text for a log line.
std::string EscapeForLog(std::string_view s);

void AppendDecimal(std::string& out, uint64_t value);

// "1.2.3.4:56" or "[::1]:56"; "unknown" for other families.
std::string FormatAddress(const sockaddr_storage& addr);

}  // namespace edge::gateway
