#include "runtime/web_apis.h"

namespace edge::runtime {

void RegisterWebApiNatives(NativeRegistry& registry) {
  RegisterEncodingNatives(registry);
  RegisterLegacyEncodingNatives(registry);
  RegisterCompressionNatives(registry);
  RegisterConsoleNatives(registry);
  RegisterCryptoNatives(registry);
  RegisterCryptoSubtleNatives(registry);
  RegisterCryptoCipherNatives(registry);
  RegisterCryptoKdfNatives(registry);
  RegisterCryptoPkeyNatives(registry);
  RegisterDigestStreamNatives(registry);
  RegisterCryptoNodeNatives(registry);
  RegisterPerformanceNatives(registry);
  RegisterStructuredCloneNatives(registry);
  RegisterIdnaNatives(registry);
  RegisterWebSocketNatives(registry);
}

}  // namespace edge::runtime
