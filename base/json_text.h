// Writing JSON text by hand, for the small documents the gateway stores and
// sends (bundles, deploy records). Parsing is simdjson's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edge::base {

// Appends `text` as a JSON string literal: quotes, backslashes and control
// characters escaped, everything else (UTF-8 included) as is. `text` must
// be valid UTF-8 for the result to be valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

std::string JsonString(std::string_view text);

// Appends `items` as a JSON array, the text of each written by
// `write(out, item)`.
template <typename Items, typename Write>
void AppendJsonArray(std::string& out, const Items& items, Write&& write) {
  out.push_back('[');
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    write(out, item);
  }
  out.push_back(']');
}

// Appends `items` as a JSON array of string literals (AppendJsonString each).
void AppendJsonStringArray(std::string& out, const std::vector<std::string>& items);
std::string JsonStringArray(const std::vector<std::string>& items);

}  // namespace edge::base
