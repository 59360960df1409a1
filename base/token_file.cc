#include "base/token_file.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/ascii.h"

namespace edge::base {
namespace {

constexpr size_t kMaxTokenFileBytes = 64u << 10;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

}  // namespace

StatusOr<std::string> ReadTokenFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("cannot read the {} file {}: {}", what, path, std::strerror(errno)));
  }
  std::string text(kMaxTokenFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Status(ErrorCode::kIo, fmt::format("cannot read the {} file {}", what, path));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTokenFileBytes) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the {} file {} is larger than {} KiB: is it the right file?", what,
                              path, kMaxTokenFileBytes >> 10));
  }
  size_t end = text.size();
  while (end > 0 && IsSpace(text[end - 1])) --end;
  size_t start = 0;
  while (start < end && IsSpace(text[start])) ++start;
  std::string token = text.substr(start, end - start);
  if (token.empty()) {
    return Status(ErrorCode::kInvalidInput, fmt::format("the {} file {} is empty", what, path));
  }
  if (!IsVisibleAscii(token)) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the token from the {} file {} contains a space, a control "
                              "character or a non-ASCII byte; a token is one line of printable "
                              "ASCII",
                              what, path));
  }
  return token;
}

}  // namespace edge::base
