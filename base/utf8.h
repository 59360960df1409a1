// UTF-8 validation per the Encoding Standard's decoder (no overlongs, no
// surrogates, nothing above U+10FFFF): simdjson's validator, the one check
// every component uses (TextDecoder's fatal mode, bundles, log entries, the
// node's JSON output).
#pragma once

#include <string_view>

namespace edge::base {

bool IsValidUtf8(std::string_view bytes);

}  // namespace edge::base
