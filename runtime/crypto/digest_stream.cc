// The incremental hashing behind crypto.DigestStream (digest_stream.js):
// an OpenSSL digest context fed chunk by chunk as the stream is written.
//
// The context lives in a handle only the runtime's JavaScript holds (a
// private field of the DigestStream; runtime/crypto/crypto_handle.h): it is
// freed when the stream is collected, so a stream abandoned half-written
// leaks nothing, and counted against the worker's memory budget meanwhile.
#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "runtime/crypto/crypto_handle.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

struct DigestState {
  static constexpr uint32_t kTag = 0x44494753;  // "DIGS"
  EVP_MD_CTX* context = nullptr;                // null once finished
  ~DigestState() { EVP_MD_CTX_free(context); }
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

StatusOr<DigestState*> StateArg(NativeCall& call) {
  auto* state = OwnedState<DigestState>(call.arg(0));
  if (state == nullptr) return TypeError("not a digest context");
  if (state->context == nullptr) return TypeError("the digest is already finished");
  return state;
}

// digestStreamCreate(name) -> the context's handle.
NativeResult DigestStreamCreate(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  const EVP_MD* md = StreamDigestNamed(*name);
  if (md == nullptr) return DomException("NotSupportedError", "unknown digest " + *name);
  auto state = std::make_unique<DigestState>();
  state->context = EVP_MD_CTX_new();
  if (state->context == nullptr || EVP_DigestInit_ex(state->context, md, nullptr) != 1) {
    return DomException("OperationError", "cannot start the digest");
  }
  return NewOwningHandle(call.isolate(), std::move(state));
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
