#include "base/json_text.h"


namespace edge::base {

namespace {

// Whether `c` is written as is in a JSON string literal.
constexpr bool Plain(unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; }

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Runs of characters that need no escape (nearly all of a URL, a
    // worker's name or a log line) are appended at once.
    size_t run = i;
    while (run < text.size() && Plain(static_cast<unsigned char>(text[run]))) ++run;
    out.append(text.data() + i, run - i);
    if (run == text.size()) break;
    char c = text[run];
    i = run + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        unsigned char byte = static_cast<unsigned char>(c);
        char escaped[6] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 0xF]};
        out.append(escaped, sizeof(escaped));
      }
    }
  }
  out.push_back('"');
}

void AppendJsonStringArray(std::string& out, const std::vector<std::string>& items) {
  AppendJsonArray(out, items, AppendJsonString);
}

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out;
  AppendJsonStringArray(out, items);
  return out;
}

}  // namespace edge::base
