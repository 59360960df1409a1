// For tests: a fresh folder under /tmp, removed with everything in it when
// the TempDir goes away.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace edge::base::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "edge-test") {
    std::string pattern = "/tmp/" + std::string(prefix) + "-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty when the folder could not be made.
  const std::string& path() const { return path_; }

  // The path of `name` (which may hold '/') inside the folder.
  std::string Path(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Writes `content` to `name` inside the folder (replacing it, making the
  // folders on its way); returns its path.
  std::string Write(std::string_view name, std::string_view content) const {
    std::string file = Path(name);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    return file;
  }

 private:
  std::string path_;
};

}  // namespace edge::base::testing
