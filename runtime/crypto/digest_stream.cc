// The incremental hashing behind crypto.DigestStream (digest_stream.js):
// an OpenSSL digest context fed chunk by chunk as the stream is written.
//
// A context lives in the backing store of a small ArrayBuffer that only the
// runtime's JavaScript holds (a private field of the DigestStream): the
// store's deleter frees the context when the stream is collected, so a
// stream abandoned half-written leaks nothing. The store starts with a
// magic number, checked before the context is used.
#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

constexpr uint64_t kMagic = 0x6564676544696753ULL;  // "edgeDigS"

struct DigestState {
  uint64_t magic = kMagic;
  EVP_MD_CTX* context = nullptr;  // null once finished
};

// "SHA-1", "SHA-256", "SHA-384", "SHA-512", "MD5" (normalized by the JS).
const EVP_MD* StreamDigestNamed(const std::string& name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  if (name == "MD5") return EVP_md5();
  return nullptr;
}

void FreeState(void* data, size_t, void*) {
  auto* state = static_cast<DigestState*>(data);
  if (state->context != nullptr) EVP_MD_CTX_free(state->context);
  delete state;
}

StatusOr<DigestState*> StateArg(NativeCall& call) {
  v8::Local<v8::Value> value = call.arg(0);
  if (!value->IsArrayBuffer()) return TypeError("not a digest context");
  std::shared_ptr<v8::BackingStore> store = value.As<v8::ArrayBuffer>()->GetBackingStore();
  if (store->ByteLength() != sizeof(DigestState) || store->Data() == nullptr) {
    return TypeError("not a digest context");
  }
  auto* state = static_cast<DigestState*>(store->Data());
  if (state->magic != kMagic) return TypeError("not a digest context");
  if (state->context == nullptr) return TypeError("the digest is already finished");
  return state;
}

// digestStreamCreate(name) -> the context's ArrayBuffer.
NativeResult DigestStreamCreate(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  const EVP_MD* md = StreamDigestNamed(*name);
  if (md == nullptr) return DomException("NotSupportedError", "unknown digest " + *name);
  auto* state = new DigestState;
  state->context = EVP_MD_CTX_new();
  if (state->context == nullptr || EVP_DigestInit_ex(state->context, md, nullptr) != 1) {
    FreeState(state, 0, nullptr);
    return DomException("OperationError", "cannot start the digest");
  }
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(state, sizeof(DigestState), FreeState, nullptr);
  return v8::ArrayBuffer::New(call.isolate(), std::move(store)).As<v8::Value>();
}

// digestStreamUpdate(context, bytes) -> the number of bytes hashed (the JS
// checked the chunk is a BufferSource; its bytes are read here and now).
NativeResult DigestStreamUpdate(NativeCall& call) {
  auto state = StateArg(call);
  if (!state.ok()) return state.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  if (EVP_DigestUpdate((*state)->context, bytes->data(), bytes->size()) != 1) {
    return DomException("OperationError", "the digest failed");
  }
  return v8::Number::New(call.isolate(), static_cast<double>(bytes->size())).As<v8::Value>();
}

// digestStreamFinish(context) -> Uint8Array; the context is freed.
NativeResult DigestStreamFinish(NativeCall& call) {
  auto state = StateArg(call);
  if (!state.ok()) return state.status();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  int ok = EVP_DigestFinal_ex((*state)->context, digest, &length);
  EVP_MD_CTX_free((*state)->context);
  (*state)->context = nullptr;
  if (ok != 1) return DomException("OperationError", "the digest failed");
  return call.Bytes(std::string_view(reinterpret_cast<char*>(digest), length)).As<v8::Value>();
}

}  // namespace

void RegisterDigestStreamNatives(NativeRegistry& registry) {
  registry.Add({{"digestStreamCreate", DigestStreamCreate},
                {"digestStreamUpdate", DigestStreamUpdate},
                {"digestStreamFinish", DigestStreamFinish}});
}

}  // namespace edge::runtime
