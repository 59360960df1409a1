#include "runtime/worker_code_cache.h"

#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <v8.h>

#include "base/log.h"
#include "base/sha256.h"
#include "runtime/platform.h"

namespace edge::runtime {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "edge-code-cache 1\n";

// Reads one "<name> <value>\n" line of the header at `*pos`.
bool ReadField(std::string_view text, size_t* pos, std::string_view name, std::string_view* value) {
  size_t end = text.find('\n', *pos);
  if (end == std::string_view::npos) return false;
  std::string_view line = text.substr(*pos, end - *pos);
  if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ' ') {
    return false;
  }
  *value = line.substr(name.size() + 1);
  *pos = end + 1;
  return true;
}

}  // namespace

WorkerCodeCache::WorkerCodeCache(std::string folder, std::string bundle_sha256)
    : folder_(std::move(folder)), bundle_sha256_(std::move(bundle_sha256)) {}

std::string WorkerCodeCache::Key(std::string_view module_path) const {
  return KeyFor(v8::V8::GetVersion(), V8FlagsInUse(), bundle_sha256_, module_path);
}

std::string WorkerCodeCache::KeyFor(std::string_view v8_version, std::string_view v8_flags,
                                    std::string_view bundle_sha256, std::string_view module_path) {
  // Each part on a line of its own after its length, so no two different
  // sets of parts hash alike.
  std::string text;
  for (std::string_view part : {v8_version, v8_flags, bundle_sha256, module_path}) {
    text += fmt::format("{} ", part.size());
    text.append(part);
    text += '\n';
  }
  return base::Sha256Hex(text);
}

std::string WorkerCodeCache::FileFor(std::string_view module_path) const {
  return (fs::path(folder_) / (base::Sha256Hex(module_path) + ".v8cache")).string();
}

std::optional<std::string> WorkerCodeCache::Read(std::string_view module_path) const {
  std::string path = FileFor(module_path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;  // none made yet
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  std::string_view text = file;
  std::string_view key, sum, size;
  size_t pos = kMagic.size();
  uint64_t payload_size = 0;
  bool whole = text.starts_with(kMagic) && ReadField(text, &pos, "key", &key) &&
               ReadField(text, &pos, "sum", &sum) && ReadField(text, &pos, "size", &size);
  if (whole) {
    auto [end, error] = std::from_chars(size.data(), size.data() + size.size(), payload_size);
    whole = error == std::errc() && end == size.data() + size.size() &&
            text.size() - pos == payload_size;
  }
  if (!whole) {
    Log(LogLevel::kWarn, "code cache {} is damaged: removed, the module is compiled again", path);
    Remove(module_path);
    return std::nullopt;
  }
  if (key != Key(module_path)) {
    // Made by another V8, with other flags, or for another bundle.
    Log(LogLevel::kDebug, "code cache {} is stale: removed", path);
    Remove(module_path);
    return std::nullopt;
  }
  std::string_view payload = text.substr(pos);
  if (sum != base::Sha256Hex(payload)) {
    Log(LogLevel::kWarn, "code cache {} is damaged: removed, the module is compiled again", path);
    Remove(module_path);
    return std::nullopt;
  }
  return std::string(payload);
}

bool WorkerCodeCache::Write(std::string_view module_path, std::string_view code) const {
  std::error_code ec;
  fs::create_directories(folder_, ec);
  if (ec) {
    Log(LogLevel::kWarn, "cannot create the code cache folder {}: {}", folder_, ec.message());
    return false;
  }
  // The tenant's compiled code is for this node's user alone.
  fs::permissions(folder_, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::string path = FileFor(module_path);
  // Unique per process and thread: two serving threads may warm the same
  // worker at once.
  static std::atomic<uint64_t> counter{0};
  std::string temporary = fmt::format("{}.{}.{}.tmp", path, getpid(), counter.fetch_add(1));
  std::string header = fmt::format("{}key {}\nsum {}\nsize {}\n", kMagic, Key(module_path),
                                   base::Sha256Hex(code), code.size());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(code.data(), static_cast<std::streamsize>(code.size()));
    out.close();
    if (!out) {
      Log(LogLevel::kWarn, "cannot write the code cache {}: {}", temporary, strerror(errno));
      fs::remove(temporary, ec);
      return false;
    }
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    Log(LogLevel::kWarn, "cannot store the code cache {}: {}", path, ec.message());
    fs::remove(temporary, ec);
    return false;
  }
  return true;
}

void WorkerCodeCache::Remove(std::string_view module_path) const {
  std::error_code ec;
  fs::remove(FileFor(module_path), ec);
}

}  // namespace edge::runtime
