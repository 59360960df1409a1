// Configuration files: node.toml (gateway/node/node_config.cc,
// LoadNodeConfig) and a project's edge.toml (runtime/project.cc,
// LoadProject). An operator's or a developer's file, but a typo or a
// damaged file must give an error naming the file, never a crash. The same
// input is written as both files (in a temporary folder that also holds
// index.js, so that a `main = "index.js"` reaches the rest of edge.toml).
//
// Checked: every failure is kInvalidInput (a config error) or kNotFound (a
// file a key names, such as main), and names the file.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/log.h"
#include "fuzz/fuzz_check.h"
#include "gateway/node/node_extension.h"  // complete for NodeOptions under clang
#include "gateway/node/node_options.h"
#include "runtime/project.h"

namespace fs = std::filesystem;

namespace {

struct Folder {
  std::string path;
  Folder() {
    char name[] = "/tmp/edge-fuzz-config-XXXXXX";
    FUZZ_CHECK(mkdtemp(name) != nullptr, "cannot make a temporary folder");
    path = name;
    std::ofstream(path + "/index.js") << "export default { fetch() { return new Response('') } }\n";
  }
  ~Folder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

const Folder& TheFolder() {
  static Folder folder;  // removed at exit
  return folder;
}

void Write(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good(), "cannot write the input file");
}

void CheckError(const edge::Status& status, const std::string& file) {
  FUZZ_CHECK(status.code() == edge::ErrorCode::kInvalidInput ||
                 status.code() == edge::ErrorCode::kNotFound,
             "a config error with an unexpected code");
  FUZZ_CHECK(status.message().find(file) != std::string::npos, "a config error without its file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (edge::SetLogLevel(edge::LogLevel::kError), true);
  (void)quiet;
  const Folder& folder = TheFolder();
  std::string_view input(reinterpret_cast<const char*>(data), size);

  std::string node_toml = folder.path + "/node.toml";
  Write(node_toml, input);
  edge::gateway::NodeOptions options;
  edge::Status node = edge::gateway::LoadNodeConfig(node_toml, &options);
  FUZZ_NOTE("node.toml: %s", node.ok() ? "loaded" : node.message().c_str());
  if (!node.ok()) CheckError(node, node_toml);

  std::string edge_toml = folder.path + "/edge.toml";
  Write(edge_toml, input);
  edge::StatusOr<edge::runtime::Project> project = edge::runtime::LoadProject(folder.path);
  FUZZ_NOTE("edge.toml: %s", project.ok() ? "loaded" : project.status().message().c_str());
  if (!project.ok()) CheckError(project.status(), folder.path);
  return 0;
}
