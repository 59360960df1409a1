#include "runtime/buffer_allocator.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "runtime/isolate_data.h"

namespace edge::runtime {

void BufferAllocator::Attach(v8::Isolate* isolate, std::function<void(size_t)> on_exceeded) {
  isolate_ = isolate;
  owner_ = std::this_thread::get_id();
  on_exceeded_ = std::move(on_exceeded);
  isolate->AddGCEpilogueCallback(AfterGc, this, v8::kGCTypeAll);
}

void BufferAllocator::Detach() {
  if (isolate_ == nullptr) return;
  isolate_->RemoveGCEpilogueCallback(AfterGc, this);
  isolate_ = nullptr;
  on_exceeded_ = nullptr;
}

BufferAllocator::Usage BufferAllocator::Measure() const {
  Usage usage;
  usage.buffers = buffer_bytes();
  // V8 may free (and, in principle, allocate) buffers on other threads; the
  // heap can only be read on the isolate's own.
  if (isolate_ == nullptr || std::this_thread::get_id() != owner_) {
    usage.heap = last_heap_and_wasm_.load(std::memory_order_relaxed);
    return usage;
  }
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  usage.heap = stats.used_heap_size();
  // V8's external memory is the length of every ArrayBuffer it knows,
  // WebAssembly memories included; the part this allocator did not count
  // is theirs (less zlib's state, counted here but not there: an estimate
  // that errs towards the worker).
  if (stats.external_memory() > usage.buffers) usage.wasm = stats.external_memory() - usage.buffers;
  last_heap_and_wasm_.store(usage.heap + usage.wasm, std::memory_order_relaxed);
  return usage;
}

size_t BufferAllocator::HeapUsed() const { return Measure().heap; }

bool BufferAllocator::Fits(size_t length) const {
  // Reading the heap's statistics costs about as much as a small buffer
  // itself: far from the budget, the heap and Wasm use measured last (at
  // the last GC or near the budget) stand in for them. The margin covers
  // what the heap may have grown since; a full GC checks the exact sum.
  size_t margin = std::max(budget_ / 8, size_t{4} << 20);
  size_t estimate = last_heap_and_wasm_.load(std::memory_order_relaxed) + buffer_bytes();
  if (estimate <= budget_ && margin <= budget_ - estimate && length <= budget_ - estimate - margin) {
    return true;
  }
  size_t used = Measure().total();
  return used <= budget_ && length <= budget_ - used;
}

void* BufferAllocator::Grant(size_t length, bool zeroed, bool for_v8) {
  if (length > kAlwaysGranted && !Fits(length)) {
    if (!for_v8) return nullptr;  // the native says so itself
    // V8 runs a GC and asks again with the same length; if the last answer
    // stays no, the worker is over its budget (checked from an interrupt,
    // once V8 has given up and thrown its RangeError).
    refused_length_.store(length, std::memory_order_relaxed);
    RequestCheck();
    return nullptr;
  }
  void* data = zeroed ? std::calloc(length == 0 ? 1 : length, 1) : std::malloc(length == 0 ? 1 : length);
  if (data == nullptr) return nullptr;
  buffers_.fetch_add(length, std::memory_order_relaxed);
  size_t refused = length;
  refused_length_.compare_exchange_strong(refused, 0, std::memory_order_relaxed);
  return data;
}

void* BufferAllocator::Allocate(size_t length) { return Grant(length, true, true); }

void* BufferAllocator::AllocateUninitialized(size_t length) { return Grant(length, false, true); }

void* BufferAllocator::AllocateForNative(size_t length, bool zeroed) {
  return Grant(length, zeroed, false);
}

void BufferAllocator::Free(void* data, size_t length) {
  std::free(data);
  buffers_.fetch_sub(length, std::memory_order_relaxed);
}

void* BufferAllocator::Reallocate(void* data, size_t old_length, size_t new_length) {
  if (new_length > old_length && new_length > kAlwaysGranted && !Fits(new_length - old_length)) {
    return nullptr;
  }
  void* moved = std::realloc(data, new_length == 0 ? 1 : new_length);
  if (moved == nullptr) return nullptr;
  if (new_length > old_length) {
    memset(static_cast<char*>(moved) + old_length, 0, new_length - old_length);
    buffers_.fetch_add(new_length - old_length, std::memory_order_relaxed);
  } else {
    buffers_.fetch_sub(old_length - new_length, std::memory_order_relaxed);
  }
  return moved;
}

void BufferAllocator::ReportExceeded(size_t asked) {
  if (on_exceeded_) on_exceeded_(asked);
}

void BufferAllocator::RequestCheck() {
  if (isolate_ == nullptr || check_requested_.exchange(true)) return;
  isolate_->RequestInterrupt(CheckInterrupt, this);
}

// Runs between two JavaScript operations, after the allocation that was
// refused has either been made good (V8's GC freed enough) or thrown.
void BufferAllocator::CheckInterrupt(v8::Isolate* isolate, void* data) {
  auto* self = static_cast<BufferAllocator*>(data);
  self->check_requested_.store(false);
  if (self->isolate_ != isolate || self->checking_) return;
  size_t refused = self->refused_length_.exchange(0, std::memory_order_relaxed);
  if (refused != 0) {
    self->ReportExceeded(refused);
    return;
  }
  if (self->Fits(0)) return;
  // Over after a full GC: buffers that died with it may not all be freed
  // yet. Collect everything once more before deciding.
  self->checking_ = true;
  isolate->LowMemoryNotification();
  self->checking_ = false;
  if (!self->Fits(0)) self->ReportExceeded(0);
}

void BufferAllocator::AfterGc(v8::Isolate*, v8::GCType type, v8::GCCallbackFlags, void* data) {
  auto* self = static_cast<BufferAllocator*>(data);
  Usage usage = self->Measure();  // also what Fits estimates from until the next
  if (type == v8::kGCTypeMarkSweepCompact && !self->checking_ && usage.total() > self->budget_) {
    self->RequestCheck();
  }
}

namespace {

BufferAllocator* AllocatorOf(v8::Isolate* isolate) {
  IsolateData* data = IsolateData::From(isolate);
  return data != nullptr ? data->buffer_allocator() : nullptr;
}

}  // namespace

Status CheckMemoryBudget(v8::Isolate* isolate, size_t length) {
  if (length > v8::TypedArray::kMaxLength) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("Array buffer allocation failed: {} bytes is more than an "
                              "ArrayBuffer can hold",
                              length));
  }
  BufferAllocator* allocator = AllocatorOf(isolate);
  if (allocator == nullptr || length <= BufferAllocator::kAlwaysGranted ||
      allocator->Fits(length)) {
    return Status::Ok();
  }
  // Dead buffers are freed only when the GC finds them.
  isolate->LowMemoryNotification();
  if (allocator->Fits(length)) return Status::Ok();
  allocator->ReportExceeded(length);
  return Status(ErrorCode::kRangeError,
                fmt::format("Memory limit exceeded: {} more bytes do not fit in the worker's "
                            "memory limit of {} MiB",
                            length, allocator->budget() >> 20));
}

namespace {

// Memory from `allocator` as a backing store: freed to it when the store
// goes, and keeping it alive until then (a store may outlive its isolate).
std::unique_ptr<v8::BackingStore> WrapAllocation(const std::shared_ptr<BufferAllocator>& allocator,
                                                 void* data, size_t length) {
  auto* owner = new std::shared_ptr<BufferAllocator>(allocator);
  return v8::ArrayBuffer::NewBackingStore(
      data, length,
      [](void* data, size_t length, void* owner) {
        auto* held = static_cast<std::shared_ptr<BufferAllocator>*>(owner);
        (*held)->Free(data, length);
        delete held;
      },
      owner);
}

// A backing store of `length` bytes (zeroed or not), allocated here rather
// than by V8: V8 aborts when the allocator refuses a store it makes for the
// embedder, while a refusal seen here becomes a RangeError.
StatusOr<std::unique_ptr<v8::BackingStore>> Allocate(v8::Isolate* isolate, size_t length,
                                                     bool zeroed) {
  if (length > v8::TypedArray::kMaxLength) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("Array buffer allocation failed: {} bytes is more than an "
                              "ArrayBuffer can hold",
                              length));
  }
  IsolateData* data = IsolateData::From(isolate);
  if (data == nullptr || !data->shared_buffer_allocator()) {
    return v8::ArrayBuffer::NewBackingStore(isolate, length);
  }
  const std::shared_ptr<BufferAllocator>& allocator = data->shared_buffer_allocator();
  void* memory = allocator->AllocateForNative(length, zeroed);
  if (memory == nullptr) {
    // Dead buffers are freed only when the GC finds them.
    isolate->LowMemoryNotification();
    memory = allocator->AllocateForNative(length, zeroed);
  }
  if (memory == nullptr) {
    allocator->ReportExceeded(length);
    return Status(ErrorCode::kRangeError,
                  fmt::format("Memory limit exceeded: {} more bytes do not fit in the worker's "
                              "memory limit of {} MiB",
                              length, allocator->budget() >> 20));
  }
  return WrapAllocation(allocator, memory, length);
}

}  // namespace

StatusOr<std::unique_ptr<v8::BackingStore>> NewBackingStore(v8::Isolate* isolate, size_t length) {
  return Allocate(isolate, length, true);
}

StatusOr<v8::Local<v8::Uint8Array>> NewUint8Array(v8::Isolate* isolate, std::string_view bytes) {
  StatusOr<std::unique_ptr<v8::BackingStore>> store = Allocate(isolate, bytes.size(), false);
  if (!store.ok()) return store.status();
  if (!bytes.empty()) memcpy((*store)->Data(), bytes.data(), bytes.size());
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(*store));
  return v8::Uint8Array::New(buffer, 0, bytes.size());
}

StatusOr<v8::Local<v8::ArrayBuffer>> AdoptBytes(v8::Isolate* isolate, std::string&& bytes) {
  EDGE_RETURN_IF_ERROR(CheckMemoryBudget(isolate, bytes.size()));
  // The allocator outlives every backing store V8 made with it, but not
  // one made from C++ memory: the deleter holds it alive.
  struct Owned {
    std::string bytes;
    std::shared_ptr<BufferAllocator> allocator;
  };
  IsolateData* data = IsolateData::From(isolate);
  auto* owned = new Owned{std::move(bytes),
                          data != nullptr ? data->shared_buffer_allocator() : nullptr};
  if (owned->allocator) owned->allocator->Charge(owned->bytes.size());
  std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(
      owned->bytes.data(), owned->bytes.size(),
      [](void*, size_t, void* deleter_data) {
        auto* held = static_cast<Owned*>(deleter_data);
        if (held->allocator) held->allocator->Uncharge(held->bytes.size());
        delete held;
      },
      owned);
  return v8::ArrayBuffer::New(isolate, std::move(store));
}

}  // namespace edge::runtime
