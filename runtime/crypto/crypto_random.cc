// crypto.getRandomValues and crypto.randomUUID
// (https://w3c.github.io/webcrypto/#Crypto-method-getRandomValues), from
// OpenSSL's CSPRNG. Type and quota checks are in runtime/crypto/crypto.js.
#include <fmt/core.h>
#include <openssl/rand.h>

#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

NativeResult RandomFill(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CheckNotGlobalScope(call.data()));
  if (!call.arg(0)->IsArrayBufferView()) return TypeError("not an ArrayBufferView");
  auto view = call.arg(0).As<v8::ArrayBufferView>();
  auto* base = static_cast<unsigned char*>(view->Buffer()->Data()) + view->ByteOffset();
  if (view->ByteLength() > 0 && RAND_bytes(base, static_cast<int>(view->ByteLength())) != 1) {
    return DomException("OperationError", "the random number generator failed");
  }
  return call.arg(0);
}

NativeResult RandomUuid(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CheckNotGlobalScope(call.data()));
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    return DomException("OperationError", "the random number generator failed");
  }
  b[6] = (b[6] & 0x0F) | 0x40;  // version 4
  b[8] = (b[8] & 0x3F) | 0x80;  // variant 10
  std::string text = fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:"
      "02x}{:02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
      b[14], b[15]);
  return call.String(text).As<v8::Value>();
}

}  // namespace

void RegisterCryptoNatives(NativeRegistry& registry) {
  registry.Add({{"randomFill", RandomFill}, {"randomUUID", RandomUuid}});
}

}  // namespace edge::runtime
