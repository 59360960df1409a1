// Workers' secrets on their way through the fleet's log, sealed so that
// only nodes holding the fleet's secrets key can read them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::sync {

// What sealing adds to a value: the nonce (12 bytes) and the tag (16).
inline constexpr size_t kSealedOverheadBytes = 12 + 16;

// Secrets are sealed for the PoPs with the fleet's secrets key (32 random
// bytes in a file every node of the fleet has): AES-256-GCM, a random
// nonce, the worker and secret name as associated data, so a sealed value
// cannot be moved to another secret.
//
// The key file holds the 32 bytes as 64 hex digits or as base64 (44
// characters), surrounding white space ignored; anything else is refused
// with a message saying how to make one. Returns the 32 raw bytes.
StatusOr<std::string> ReadSecretsKey(const std::string& path);
// A node's optional secrets key (--secrets-key): ReadSecretsKey into `key`
// when `path` is set; `key` is left as it is (empty: secrets are refused)
// when `path` is empty.
Status ReadOptionalSecretsKey(const std::string& path, std::string& key);
// Returns nonce (12 bytes) || ciphertext || tag (16 bytes). `key` must be
// 32 bytes (ReadSecretsKey's result): another length is a bug, and aborts.
std::string SealSecret(std::string_view key, std::string_view worker, std::string_view name,
                       std::string_view value);
// kInvalidInput when the key is not 32 bytes, or when `sealed` is too short,
// was altered, or was sealed with another key or for another secret.
StatusOr<std::string> OpenSecret(std::string_view key, std::string_view worker,
                                 std::string_view name, std::string_view sealed);

}  // namespace edge::sync
