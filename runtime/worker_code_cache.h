// V8's compiled code of one deployment's modules, kept in files beside the
// deployment so a new isolate for the worker deserialises its code instead
// of parsing and compiling it again (ScriptCompiler::kConsumeCodeCache).
//
// V8 trusts a code cache's bytes: a cache is only ever made here, by this
// process's V8, from a module it compiled and evaluated itself, and read
// back from the node's own data folder. Nothing in a bundle, a request or
// a sync peer's data can become one.
//
// One file per module, `<folder>/<sha256 of the module's path>.v8cache`:
//
//   edge-code-cache 1
//   key <sha256 hex>        Key(): V8 version, V8 flags, bundle, module path
//   sum <sha256 hex>        of the payload
//   size <bytes>            of the payload
//   <payload>               ScriptCompiler::CreateCodeCache's bytes
//
// A file whose header does not match (another V8, other EDGE_V8_FLAGS,
// another bundle), whose payload is short or whose sum differs is removed
// and the module compiled from source; so is a cache V8 itself rejects
// (Worker::CompileModule). A cache is a speed-up, never a requirement:
// every failure to read or write one is logged and the worker loads
// without it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace edge::runtime {

class WorkerCodeCache {
 public:
  // `folder`: where this deployment's files go (created on the first
  // write); `bundle_sha256`: the deployment's bundle, by content.
  WorkerCodeCache(std::string folder, std::string bundle_sha256);

  // What a module's cache must have been made with: this process's V8
  // version and flags (platform.h's V8FlagsInUse), the bundle and the
  // module's path in it, as a sha256 hex digest. Needs InitializeV8.
  std::string Key(std::string_view module_path) const;
  // The same from its parts (tests change the version or the flags).
  static std::string KeyFor(std::string_view v8_version, std::string_view v8_flags,
                            std::string_view bundle_sha256, std::string_view module_path);
  // The cached code of `module_path`, when its file exists and is whole
  // and its key is Key(module_path); a file that is not is removed.
  std::optional<std::string> Read(std::string_view module_path) const;
  // Stores `code` as the module's cache (written to a temporary file and
  // renamed, so a concurrent reader sees the old file or the new one).
  // False (logged) when it could not be written.
  bool Write(std::string_view module_path, std::string_view code) const;
  // Removes the module's file (V8 rejected its cache).
  void Remove(std::string_view module_path) const;

  const std::string& folder() const { return folder_; }
  // Where `module_path`'s cache is stored.
  std::string FileFor(std::string_view module_path) const;

 private:
  std::string folder_;
  std::string bundle_sha256_;
};

}  // namespace edge::runtime
