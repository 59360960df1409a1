// Native state held by the runtime's JavaScript: an OpenSSL context (a
// node:crypto Hash, Hmac or Cipher) behind an opaque handle.
//
// A handle is a one-byte ArrayBuffer whose backing store owns the state
// and frees it when V8 collects the handle, so an object dropped half-used
// leaks nothing. While it lives, the state is counted against the worker's
// memory budget (runtime/buffer_allocator.h) at a fixed estimate of what
// OpenSSL keeps for it: a worker cannot hold more contexts than its
// `memory_mb` pays for, and one over its budget finds the dead ones
// collected first (CheckMemoryBudget runs a full GC before refusing).
// Only the runtime's JavaScript passes handles back; each kind has its
// own tag, checked before the state is used.
#pragma once

#include <v8.h>

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "base/status.h"
#include "runtime/buffer_allocator.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"

namespace edge::runtime {

// What a context is counted as: OpenSSL's EVP_MD_CTX, EVP_MAC_CTX and
// EVP_CIPHER_CTX with their algorithm state stay under 1 KiB.
inline constexpr size_t kCryptoContextCharge = 1024;

namespace crypto_handle_internal {

struct Holder {
  // First member: the handle's one byte of ArrayBuffer memory.
  char handle_byte = 0;
  uint32_t magic = kMagic;
  uint32_t tag = 0;
  void* state = nullptr;
  void (*destroy)(void*) = nullptr;
  std::shared_ptr<BufferAllocator> allocator;
  size_t charge = 0;

  static constexpr uint32_t kMagic = 0x4544474BU;  // "EDGK"

  ~Holder() {
    if (destroy != nullptr) destroy(state);
    if (allocator) allocator->Uncharge(charge);
    magic = 0;
  }
};
static_assert(std::is_standard_layout_v<Holder>);

}  // namespace crypto_handle_internal

// A handle owning `state` (T has `static constexpr uint32_t kTag`), counted
// as `charge` bytes. A RangeError (and the worker stopped at its memory
// limit) when the charge does not fit.
template <typename T>
StatusOr<v8::Local<v8::Value>> NewOwningHandle(v8::Isolate* isolate, std::unique_ptr<T> state,
                                               size_t charge = kCryptoContextCharge) {
  using crypto_handle_internal::Holder;
  EDGE_RETURN_IF_ERROR(CheckMemoryBudget(isolate, charge));
  auto* holder = new Holder();
  holder->tag = T::kTag;
  holder->state = state.release();
  holder->destroy = [](void* p) { delete static_cast<T*>(p); };
  IsolateData* data = IsolateData::From(isolate);
  if (data != nullptr) holder->allocator = data->shared_buffer_allocator();
  holder->charge = charge;
  if (holder->allocator) holder->allocator->Charge(charge);
  std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(
      holder, 1, [](void*, size_t, void* held) { delete static_cast<Holder*>(held); }, holder);
  return v8::ArrayBuffer::New(isolate, std::move(store)).As<v8::Value>();
}

// The state behind handle `value`, or null when it is not a live handle of
// kind T.
template <typename T>
T* OwnedState(v8::Local<v8::Value> value) {
  using crypto_handle_internal::Holder;
  if (!value->IsArrayBuffer()) return nullptr;
  std::shared_ptr<v8::BackingStore> store = value.As<v8::ArrayBuffer>()->GetBackingStore();
  if (store->ByteLength() != 1 || store->Data() == nullptr) return nullptr;
  auto* holder = static_cast<Holder*>(store->Data());
  if (holder->magic != Holder::kMagic || holder->tag != T::kTag) return nullptr;
  return static_cast<T*>(holder->state);
}

}  // namespace edge::runtime
