// Base64 (RFC 4648, standard alphabet, with padding), as bundles carry
// module bytes in JSON; and base64url without padding (RFC 4648 section 5),
// as JOSE (JWS, JWK) writes bytes.
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

std::string Base64UrlEncode(std::string_view bytes);

// Strict base64url without padding, as RFC 7515 section 2 writes it: only
// the URL-safe alphabet, no '=', no whitespace, no length that no encoding
// has (a remainder of 1 character), and the unused low bits of the last
// character zero, so that every byte string has exactly one encoding.
// Errors (kInvalidInput) say what and where.
StatusOr<std::string> Base64UrlDecode(std::string_view text);

}  // namespace edge::base
