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
