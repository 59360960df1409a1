// The threads long crypto work runs on: few, and at the lowest CPU priority.
//
// A crypto job (crypto_job.h) waits for one of these threads from the libuv
// thread-pool thread that took it, which sleeps meanwhile. The work itself
// runs at nice 19, so when the serving threads and crypto compete for a
// core, the scheduler gives the serving threads almost all of it: one
// tenant's RSA key generations or PBKDF2 at its cap cost the other tenants
// on the node little latency (bench/isolation.sh, classes pbkdf2 and rsa),
// and still progress whenever a core has time to spare.
#pragma once

#include <functional>

namespace edge::runtime {

// Runs `work` on a crypto thread and returns once it ran. From any thread
// but a crypto thread. Threads are started on first use, one per core (at
// most 4), and live until the process exits.
void RunOnCryptoThread(const std::function<void()>& work);

}  // namespace edge::runtime
