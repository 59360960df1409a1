#include "base/utf8.h"

#include <simdjson.h>

namespace edge::base {

bool IsValidUtf8(std::string_view bytes) {
  return simdjson::validate_utf8(bytes.data(), bytes.size());
}

std::u16string Utf8ToUtf16(std::string_view text) {
  std::u16string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    char32_t code = 0xFFFD;
    size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3
                                   : (byte >> 3) == 0x1E ? 4 : 0;
    if (length == 1) {
      code = byte;
    } else if (length > 1 && i + length <= text.size()) {
      code = byte & (0x7F >> length);
      for (size_t k = 1; k < length; ++k) {
        auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xC0) != 0x80) {
          code = 0xFFFD;
          length = k;
          break;
        }
        code = (code << 6) | (next & 0x3F);
      }
    } else {
      length = 1;
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (code >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (code & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(code));
    }
    i += length;
  }
  return out;
}

}  // namespace edge::base
