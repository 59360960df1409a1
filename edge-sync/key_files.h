// Key files of the fleet (the origin's Ed25519 keys, the secrets key):
// small, read whole and bounded, written durably with a mode of their own.
// Internal to edge-sync.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::sync {

// Key files are small: a PEM key is a few hundred bytes.
inline constexpr size_t kMaxKeyFileBytes = 64 << 10;

// Reads a key file whole (at most kMaxKeyFileBytes: kInvalidInput past it,
// the bytes read wiped). `what` names it in errors ("the signing key").
// kNotFound when it is not there.
StatusOr<std::string> ReadKeyFile(const std::string& path, std::string_view what);

// Writes `bytes` to a new file (or replaces it, unless `exclusive`: then an
// existing file is kInvalidInput) with `mode`, and syncs it. A failed write
// leaves no file.
Status WriteKeyFile(const std::string& path, std::string_view bytes, mode_t mode, bool exclusive);

}  // namespace edge::sync
