// Crypto work that takes long runs off the serving thread.
//
// PBKDF2 (up to 100,000 iterations), RSA key generation (up to 4,096 bits:
// seconds of CPU), and signing or decrypting with a private key (an imported
// RSA key may have 16,384 bits) cannot be interrupted by the CPU limit once
// OpenSSL runs them. On the serving thread they would hold up every tenant
// served by it. They run on low-priority threads instead
// (runtime/low_priority_threads.h), one job of an isolate at a time
// (IsolateData::cpu_jobs, runtime/thread_pool_queue.h), and their natives
// answer with a promise. The CPU time the work used is charged to the isolate as if it
// had run inside the request: a request that goes over its CPU limit this
// way is stopped at its next entry into JavaScript. A job belongs to the
// invocation that started it: when that ends, a job not started is dropped
// and a running one's result is discarded (its CPU still charged). None can
// start in the worker's global scope (runtime/global_scope.h).
//
// Digests, HMAC, KMAC, AES and ChaCha20-Poly1305 cost time in proportion to
// their input: small inputs (the common case) run inline, larger ones as
// jobs (RunSizedCryptoBytesWork).
#pragma once

#include <v8.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "runtime/native.h"

namespace edge::runtime {

// Makes the value the promise resolves with, on the loop, in the isolate.
using CryptoResultMaker = std::function<v8::Local<v8::Value>(v8::Isolate*, v8::Local<v8::Context>)>;

// Runs `work` on the thread pool (it must not touch V8, and owns copies of
// every input: the worker may change its buffers meanwhile); then resolves
// the returned promise with `make()`, or rejects it with `work`'s error.
NativeResult RunCryptoJob(NativeCall& call, std::function<Status()> work, CryptoResultMaker make);

// The common case: `work` fills `out`; the promise resolves with a
// Uint8Array of it.
NativeResult RunCryptoBytesJob(NativeCall& call, std::function<Status(std::string& out)> work);

// Inputs of digests, MACs and ciphers up to this many bytes (all inputs of one
// call together) are processed inline. 256 KiB takes OpenSSL about 0.1 to
// 1 ms (SHA-256 ~1.5 GB/s, AES-GCM several GB/s with AES-NI, SHA-1/HMAC in
// between): less than a thread hop costs the request in latency, and short
// enough that the serving thread is never held long. Above it the work runs
// off the serving thread, where a multi-megabyte input cannot stall the
// other tenants of the thread.
inline constexpr size_t kInlineCryptoBytes = 256 * 1024;

// Work over input bytes that fills `out`.
using CryptoBytesWork =
    std::function<Status(const std::vector<std::string_view>& inputs, std::string& out)>;

// Runs `work` on `inputs`: inline when they add up to at most
// kInlineCryptoBytes (the native answers with a Uint8Array), else on copies
// of them as a job (it answers with a promise of one; the worker may detach
// or change its buffers meanwhile). `output_bytes` counts too, for work
// whose output the caller sizes (KMAC's, up to 2 MiB from 4 bytes of input).
NativeResult RunSizedCryptoBytesWork(NativeCall& call, std::vector<std::string_view> inputs,
                                     CryptoBytesWork work, size_t output_bytes = 0);

}  // namespace edge::runtime
