// Random identifiers: `bytes` bytes from OpenSSL's RAND_bytes as lower-case
// hex (queue message ids, lease ids, account tokens).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::base {

// kInternal, naming `what` ("a message id"), when RAND_bytes fails.
StatusOr<std::string> RandomHex(size_t bytes, std::string_view what);

}  // namespace edge::base
