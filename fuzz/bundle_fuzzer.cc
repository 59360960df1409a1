// The bundle decoder (gateway/deploy/bundle.*): the body of the admin API's
// PUT /workers/{name} and of every version entry's blob a PoP applies.
//
// Checked: DecodeBundle refuses with kInvalidInput or returns a bundle that
// ValidateBundle accepts; its canonical encoding decodes again to the same
// bundle and encodes to the same bytes (so one content has one SHA-256); a
// node can build the worker's spec and module map from it.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "gateway/deploy/bundle.h"

using edge::ErrorCode;
using edge::StatusOr;
using edge::gateway::DecodeBundle;
using edge::gateway::EncodeBundle;
using edge::gateway::WorkerBundle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  StatusOr<WorkerBundle> bundle = DecodeBundle(json);
  if (!bundle.ok()) {
    FUZZ_NOTE("refused: %s", bundle.status().message().c_str());
    FUZZ_CHECK(bundle.status().code() == ErrorCode::kInvalidInput,
               "DecodeBundle failed with another code than kInvalidInput");
    FUZZ_CHECK(!bundle.status().message().empty(), "DecodeBundle refused without a message");
    return 0;
  }
  FUZZ_NOTE("decoded %s, %zu modules", bundle->name.c_str(), bundle->modules.size());
  FUZZ_CHECK(edge::gateway::ValidateBundle(*bundle).ok(),
             "DecodeBundle returned a bundle ValidateBundle refuses");
  std::string encoded = EncodeBundle(*bundle);
  StatusOr<WorkerBundle> again = DecodeBundle(encoded);
  FUZZ_CHECK(again.ok(), "the canonical encoding of a decoded bundle does not decode");
  FUZZ_CHECK(EncodeBundle(*again) == encoded, "the canonical encoding is not stable");
  FUZZ_CHECK(again->name == bundle->name && again->main_module == bundle->main_module &&
                 again->modules.size() == bundle->modules.size() &&
                 again->vars.size() == bundle->vars.size(),
             "decoding the canonical encoding changed the bundle");

  std::string root = "/workers/" + bundle->name + "/1";
  StatusOr<edge::runtime::WorkerSpec> spec = edge::gateway::SpecFromBundle(*bundle, root);
  FUZZ_CHECK(spec.ok(), "a node cannot build the spec of a valid bundle");
  auto files = edge::gateway::BundleFiles(*bundle, root);
  FUZZ_CHECK(files != nullptr && files->size() == bundle->modules.size(),
             "BundleFiles lost a module");
  FUZZ_CHECK(files->count(spec->entry_path) == 1, "the entry module is not among the files");
  return 0;
}
