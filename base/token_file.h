// Bearer tokens kept in files: the admin API's and the sync API's (read by
// the node) and the one the command line and a PoP send.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::base {

// The token stored in `path`: at most 64 KiB are read, white space around
// the token is dropped (so a file written by `echo` works), and what is left
// must be one line of printable ASCII without spaces (what an Authorization
// header can carry). `what` names the file in errors: "the <what> file
// <path> is empty". A missing file is kNotFound; the rest kInvalidInput or
// kIo.
StatusOr<std::string> ReadTokenFile(const std::string& path, std::string_view what = "token");

}  // namespace edge::base
