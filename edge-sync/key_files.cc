#include "edge-sync/key_files.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace edge::sync {
namespace {

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

}  // namespace

StatusOr<std::string> ReadKeyFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int error = errno;
    if (error == ENOENT) {
      return Status(ErrorCode::kNotFound, fmt::format("{} {} does not exist", what, path));
    }
    return Status(ErrorCode::kIo,
                  fmt::format("cannot read {} {}: {}", what, path, std::strerror(error)));
  }
  std::string bytes;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.append(buffer, static_cast<size_t>(in.gcount()));
    if (bytes.size() > kMaxKeyFileBytes) {
      OPENSSL_cleanse(bytes.data(), bytes.size());
      return Invalid(fmt::format("{} {} is too large to be a key file", what, path));
    }
  }
  if (in.bad()) return Status(ErrorCode::kIo, fmt::format("cannot read {} {}", what, path));
  return bytes;
}

Status WriteKeyFile(const std::string& path, std::string_view bytes, mode_t mode, bool exclusive) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC);
  int fd = open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Invalid(fmt::format(
          "{} exists already: remove it first to replace the key (every PoP pins the public "
          "key, so a new key must be deployed to all of them)",
          path));
    }
    return Status(ErrorCode::kIo, fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  Status result;
  // An existing file keeps its mode through O_TRUNC: set ours.
  if (fchmod(fd, mode) != 0) {
    result = Status(ErrorCode::kIo, fmt::format("cannot chmod {}: {}", path, std::strerror(errno)));
  }
  size_t done = 0;
  while (result.ok() && done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result =
          Status(ErrorCode::kIo, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (result.ok() && fsync(fd) != 0) {
    result = Status(ErrorCode::kIo, fmt::format("cannot sync {}: {}", path, std::strerror(errno)));
  }
  if (close(fd) != 0 && result.ok()) {
    result = Status(ErrorCode::kIo, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  if (!result.ok()) unlink(path.c_str());
  return result;
}

}  // namespace edge::sync
