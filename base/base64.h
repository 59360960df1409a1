// Base64 (RFC 4648, standard alphabet, with padding), as bundles carry
// module bytes in JSON.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::base {

std::string Base64Encode(std::string_view bytes);

// Strict: the length must be a multiple of 4, `=` may only pad the end (at
// most two), and nothing else (no whitespace, no line breaks, no base64url
// letters) is accepted. Unused low bits of the last character are ignored,
// as most decoders do. Errors (kInvalidInput) say what and where.
StatusOr<std::string> Base64Decode(std::string_view text);

// The length Base64Decode returns for `text`, computed without decoding;
// exact when `text` is valid (then decoding cannot fail on length alone).
size_t Base64DecodedSize(std::string_view text);

}  // namespace edge::base
