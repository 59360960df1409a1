// OpenSSL's error queue, in words (libcrypto).
#pragma once

#include <string>

namespace edge::base {

// The first error on this thread's OpenSSL error queue, in OpenSSL's words
// ("error:0A000086:SSL routines::certificate verify failed"), or "" when
// there is none. The queue is cleared.
std::string TakeOpenSslError();

// For a broken invariant inside OpenSSL (out of memory): there is nothing
// sensible to return, as in CHECK. Writes `what` and the first queued error
// to stderr, then aborts.
[[noreturn]] void OpenSslFatal(const char* what);

}  // namespace edge::base
