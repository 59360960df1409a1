#include "bindings/bindings.h"

#include "runtime/worker.h"

namespace edge::bindings {

void RegisterNatives(runtime::NativeRegistry& registry) {
  runtime::RegisterRuntimeNatives(registry);
  RegisterEncodingNatives(registry);
  RegisterLegacyEncodingNatives(registry);
  RegisterCompressionNatives(registry);
  RegisterConsoleNatives(registry);
  RegisterCryptoNatives(registry);
  RegisterCryptoSubtleNatives(registry);
  RegisterCryptoCipherNatives(registry);
  RegisterCryptoKdfNatives(registry);
  RegisterCryptoPkeyNatives(registry);
  RegisterPerformanceNatives(registry);
  RegisterStructuredCloneNatives(registry);
  RegisterIdnaNatives(registry);
  RegisterServiceNatives(registry);
  RegisterKvNatives(registry);
  RegisterFetchNatives(registry);
}

}  // namespace edge::bindings
