// A few threads for long CPU work, at the lowest CPU priority.
//
// Work that takes tens of milliseconds to seconds of CPU and cannot be
// interrupted (WebCrypto's PBKDF2, key generation, signing, RSA-OAEP:
// runtime/crypto/crypto_job.h) runs here, not on a serving thread and not
// on libuv's pool, whose few threads KV needs. These threads run at nice
// 19: when they and the serving threads compete for a core, the scheduler
// gives the serving threads almost all of it, so one tenant's RSA key
// generations cost the other tenants on the node little latency
// (bench/isolation.sh, classes pbkdf2 and rsa), and still progress whenever
// a core has time to spare.
#pragma once

#include <functional>

namespace edge::runtime {

// Queues `task` for one of the threads and returns at once. Threads are
// started on first use, one per core (at most 4), and live until the
// process exits; tasks run in the order given.
void RunAtLowPriority(std::function<void()> task);

}  // namespace edge::runtime
