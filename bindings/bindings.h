// Registers every native the bindings component provides. One list, in
// bindings.cc; each area keeps its natives in its own file.
#pragma once

#include "runtime/native.h"

namespace edge::bindings {

void RegisterNatives(runtime::NativeRegistry& registry);

// Per area (called by RegisterNatives).
void RegisterEncodingNatives(runtime::NativeRegistry& registry);
void RegisterLegacyEncodingNatives(runtime::NativeRegistry& registry);
void RegisterCompressionNatives(runtime::NativeRegistry& registry);
void RegisterConsoleNatives(runtime::NativeRegistry& registry);
void RegisterCryptoNatives(runtime::NativeRegistry& registry);
void RegisterCryptoSubtleNatives(runtime::NativeRegistry& registry);
void RegisterCryptoCipherNatives(runtime::NativeRegistry& registry);
void RegisterCryptoKdfNatives(runtime::NativeRegistry& registry);
void RegisterCryptoPkeyNatives(runtime::NativeRegistry& registry);
void RegisterPerformanceNatives(runtime::NativeRegistry& registry);
void RegisterStructuredCloneNatives(runtime::NativeRegistry& registry);
void RegisterIdnaNatives(runtime::NativeRegistry& registry);
void RegisterServiceNatives(runtime::NativeRegistry& registry);
void RegisterFetchNatives(runtime::NativeRegistry& registry);
void RegisterKvNatives(runtime::NativeRegistry& registry);

}  // namespace edge::bindings
