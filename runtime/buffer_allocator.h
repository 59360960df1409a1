// The allocator behind every ArrayBuffer of one isolate, and the memory
// budget it keeps: a worker's `memory_mb` is shared by its V8 heap and its
// ArrayBuffer memory.
//
// The rule: an ArrayBuffer of n bytes is granted only while
// heap used + ArrayBuffer bytes + WebAssembly memories + n <= memory_mb (the
// heap alone stays limited to memory_mb by V8). After a full GC the same sum
// is checked again, so a heap or a Wasm memory that grew after buffers were
// granted is caught too. A worker over the budget is stopped as at the heap
// limit: its request ends with the memory-limit failure and its isolate is
// discarded.
//
// JavaScript (`new ArrayBuffer(n)`, typed arrays) gets V8's RangeError when
// the allocator refuses; V8 first runs full GCs and asks again. Natives must
// not let V8 see a refusal: `v8::ArrayBuffer::New(isolate, n)` and
// `NewBackingStore(isolate, n)` abort the process when the allocator returns
// null. They allocate through the functions at the end of this file, which
// take the memory from the allocator themselves and fail with a RangeError
// instead.
//
// WebAssembly memories are reserved by V8's page allocator, not by this
// allocator, so making or growing one cannot be refused: it counts in the
// sum, and the next buffer or full GC (V8 runs one as its external memory
// grows) finds the worker over its budget.
#pragma once

#include <v8.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/status.h"

namespace edge::runtime {

class BufferAllocator : public v8::ArrayBuffer::Allocator {
 public:
  // Allocations this small are always granted (and counted): V8 aborts when
  // it cannot move a small typed array's elements out of the heap into an
  // ArrayBuffer (`typedArray.buffer`), and V8 keeps at most 64 bytes there.
  static constexpr size_t kAlwaysGranted = 64;

  explicit BufferAllocator(size_t budget_bytes) : budget_(budget_bytes) {}

  // Binds the allocator to its isolate, on the isolate's thread: the heap's
  // usage is read there. `on_exceeded(asked)` is called on that thread when
  // the worker is found over its budget (asked: the bytes a refused
  // allocation wanted, 0 after a GC); it stops the worker.
  void Attach(v8::Isolate* isolate, std::function<void(size_t asked)> on_exceeded);
  // Stops watching the isolate (before it is disposed).
  void Detach();

  void* Allocate(size_t length) override;
  void* AllocateUninitialized(size_t length) override;
  void Free(void* data, size_t length) override;
  void* Reallocate(void* data, size_t old_length, size_t new_length) override;
  // For natives (NewBackingStore below): as Allocate, but a refusal is left
  // to the caller to report.
  void* AllocateForNative(size_t length, bool zeroed);

  size_t budget() const { return budget_; }
  // ArrayBuffer bytes held now (allocated here or adopted through Charge).
  size_t buffer_bytes() const { return buffers_.load(std::memory_order_relaxed); }
  // What the budget counts: the V8 heap's used bytes, the ArrayBuffers
  // counted here, and WebAssembly memories (which V8 allocates itself; seen
  // through its external-memory count). Heap and Wasm are 0 off the
  // isolate's thread or before Attach.
  struct Usage {
    size_t heap = 0;
    size_t buffers = 0;
    size_t wasm = 0;
    size_t total() const { return heap + buffers + wasm; }
  };
  Usage Measure() const;
  size_t HeapUsed() const;
  // Whether `length` more bytes fit in the budget now: exact near the
  // budget; far from it, estimated from the heap's use at the last GC.
  bool Fits(size_t length) const;
  // Counts bytes the allocator did not allocate (a buffer adopted from
  // C++), and uncounts them when they are freed.
  void Charge(size_t length) { buffers_.fetch_add(length, std::memory_order_relaxed); }
  void Uncharge(size_t length) { buffers_.fetch_sub(length, std::memory_order_relaxed); }
  // The worker is over its budget: tells on_exceeded (once per call).
  void ReportExceeded(size_t asked);

 private:
  void* Grant(size_t length, bool zeroed, bool for_v8);
  void RequestCheck();
  static void CheckInterrupt(v8::Isolate* isolate, void* data);
  static void AfterGc(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                      void* data);

  const size_t budget_;
  std::atomic<size_t> buffers_{0};
  // Heap and Wasm use when last measured (Measure).
  mutable std::atomic<size_t> last_heap_and_wasm_{0};
  v8::Isolate* isolate_ = nullptr;
  std::thread::id owner_;
  std::function<void(size_t)> on_exceeded_;
  // The length of a refusal no later allocation of that length made good
  // (V8 asks again with the same length after a GC); 0: none.
  std::atomic<size_t> refused_length_{0};
  std::atomic<bool> check_requested_{false};
  bool checking_ = false;
};

// For natives. Each fails with a RangeError ("Memory limit exceeded ...")
// when the bytes do not fit in the isolate's budget (after a full GC), and
// stops the worker at its memory limit; none ever aborts the process.
//
// Whether `length` more bytes may be allocated: within what a typed array
// can hold, and within the budget (after a full GC if need be). For memory
// counted through BufferAllocator::Charge, checked before it is allocated.
Status CheckMemoryBudget(v8::Isolate* isolate, size_t length);
// A backing store of `length` zeroed bytes.
StatusOr<std::unique_ptr<v8::BackingStore>> NewBackingStore(v8::Isolate* isolate, size_t length);
// A Uint8Array holding a copy of `bytes`.
StatusOr<v8::Local<v8::Uint8Array>> NewUint8Array(v8::Isolate* isolate, std::string_view bytes);
// An ArrayBuffer that takes over `bytes` without copying them, counted
// against the budget while it lives.
StatusOr<v8::Local<v8::ArrayBuffer>> AdoptBytes(v8::Isolate* isolate, std::string&& bytes);

}  // namespace edge::runtime
