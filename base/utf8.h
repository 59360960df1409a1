// UTF-8 validation per the Encoding Standard's decoder (no overlongs, no
// surrogates, nothing above U+10FFFF): simdjson's validator, the one check
// every component uses (TextDecoder's fatal mode, bundles, log entries, the
// node's JSON output).
#pragma once

#include <string>
#include <string_view>

namespace edge::base {

bool IsValidUtf8(std::string_view bytes);

// UTF-8 as UTF-16 (surrogate pairs above U+FFFF); a broken or truncated
// sequence becomes U+FFFD, one per byte that cannot start or continue one.
std::u16string Utf8ToUtf16(std::string_view utf8);

}  // namespace edge::base
