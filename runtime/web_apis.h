// Registers the natives of the runtime's Web APIs (runtime/<api>/*.cc): the
// work those APIs need C++ for (OpenSSL, ICU, zlib, V8's serializer, the
// server log). One list, in web_apis.cc; each API keeps its natives in its
// own folder.
#pragma once

#include "runtime/native.h"

namespace edge::runtime {

void RegisterWebApiNatives(NativeRegistry& registry);

// Per API (called by RegisterWebApiNatives).
void RegisterConsoleNatives(NativeRegistry& registry);
void RegisterEncodingNatives(NativeRegistry& registry);
void RegisterLegacyEncodingNatives(NativeRegistry& registry);
void RegisterCompressionNatives(NativeRegistry& registry);
void RegisterIdnaNatives(NativeRegistry& registry);
void RegisterStructuredCloneNatives(NativeRegistry& registry);
// The structured serialization structuredClone uses (V8's serializer, with
// Blob and File), as bytes: what a queue message of content type "v8"
// holds. An error leaves a JS exception pending (kJsException).
StatusOr<std::string> SerializeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                     v8::Local<v8::Value> value);
// The value back from those bytes; empty with an exception pending.
v8::MaybeLocal<v8::Value> DeserializeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                           std::string_view bytes);
void RegisterPerformanceNatives(NativeRegistry& registry);
void RegisterCryptoNatives(NativeRegistry& registry);
void RegisterCryptoSubtleNatives(NativeRegistry& registry);
void RegisterCryptoCipherNatives(NativeRegistry& registry);
void RegisterCryptoKdfNatives(NativeRegistry& registry);
void RegisterCryptoPkeyNatives(NativeRegistry& registry);
void RegisterDigestStreamNatives(NativeRegistry& registry);
void RegisterCryptoNodeNatives(NativeRegistry& registry);
void RegisterWebSocketNatives(NativeRegistry& registry);

}  // namespace edge::runtime
