// Process-wide signal set-up shared by the server and the clients.
#pragma once

namespace edge::base {

// Writes to a socket whose peer has gone (libuv's write(2), OpenSSL's, a
// blocking client's) would kill the process with SIGPIPE. Ignores it, as
// Node.js does, unless the program installed its own handler. Once per
// process; any thread.
void IgnoreSigpipe();

}  // namespace edge::base
