// Per-thread scratch buffers for a loop's reads (what libuv reads into, or
// OpenSSL decrypts into, before it is parsed or copied), made on a thread's
// first use. Not thread_local arrays: static TLS is set aside for every
// thread of the process, and tens of KiB of it keep threads with small
// stacks from starting (V8's CPU profiler thread has 64 KiB: pthread_create
// fails with EINVAL, and DevTools' CPU profiles come back empty).
#pragma once

#include <cstddef>
#include <memory>

namespace edge::base {

inline constexpr size_t kThreadBufferBytes = 64 * 1024;

// One buffer per slot per thread: a slot's user must be done with it before
// its next use on the same thread.
enum class ThreadBufferSlot { kFetchRead, kFetchPlain, kSocketRead, kCount };

inline char* ThreadBuffer(ThreadBufferSlot slot) {
  thread_local std::unique_ptr<char[]> buffers[static_cast<size_t>(ThreadBufferSlot::kCount)];
  std::unique_ptr<char[]>& buffer = buffers[static_cast<size_t>(slot)];
  if (buffer == nullptr) buffer = std::make_unique<char[]>(kThreadBufferBytes);
  return buffer.get();
}

}  // namespace edge::base
