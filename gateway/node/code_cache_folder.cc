#include "gateway/node/code_cache_folder.h"

#include <filesystem>

#include "base/log.h"
#include "base/sha256.h"

namespace edge::gateway {
namespace fs = std::filesystem;

std::shared_ptr<const runtime::WorkerCodeCache> CodeCacheFor(const std::string& data_dir,
                                                             const std::string& bundle_sha256) {
  return std::make_shared<const runtime::WorkerCodeCache>(
      (fs::path(data_dir) / "code-cache" / bundle_sha256).string(), bundle_sha256);
}

size_t PruneCodeCaches(const std::string& data_dir, const std::set<std::string>& keep) {
  fs::path root = fs::path(data_dir) / "code-cache";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  size_t removed = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (keep.contains(name)) continue;
    std::error_code removing;
    fs::remove_all(entry.path(), removing);
    if (removing) {
      Log(LogLevel::kWarn, "cannot remove the stale code cache {}: {}", entry.path().string(),
          removing.message());
    } else {
      ++removed;
    }
  }
  if (ec) Log(LogLevel::kWarn, "cannot list {}: {}", root.string(), ec.message());
  return removed;
}

}  // namespace edge::gateway
