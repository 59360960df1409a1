// The lines of a text file read by the conformance tests (expectation
// lists, WPT and test262 sources, runner reports).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edge::conformance {

// The lines of `text`, without their "\n" (a last "\n" ends the last line,
// it starts none).
inline std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace edge::conformance
