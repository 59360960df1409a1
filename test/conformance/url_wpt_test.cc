// URL conformance against web-platform-tests data, read at test time from
// ../shared/wpt/url/ next to the project. The harness
// (test/conformance/url_wpt.js) runs inside the runtime and returns the
// failing cases.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/module_loader.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {
namespace fs = std::filesystem;

struct WptCase {
  const char* kind;  // what runUrlWpt() calls it
  const char* file;  // under ../shared/wpt/url/
  friend void PrintTo(const WptCase& c, std::ostream* out) { *out << c.file; }
};

// Cases that fail for a reason outside edge's code, each listed with the
// reason in docs/conformance.md. A failure not listed here fails the test;
// so does a listed case that passes (the list must stay true).
//
// ICU 72 (Debian 12) implements UTS #46 with Unicode 15.0's IDNA mapping
// table; these toascii.json cases expect the mappings of Unicode 15.1/16.0.
const char* const kKnownToasciiFailures[] = {
    "\"look\u180Eout.net\"", "\"look\u206Bout.net\"", "\"\u04C0.com\"",
    "\"\U0002F868.com\"",    "\"\u2183.com\"",        "\"\u1E9E.com\"",
    "\"\u1E9E.foo.com\"",
};

std::vector<std::string> KnownFailures(const std::string& kind) {
  if (kind != "toascii") return {};
  return {std::begin(kKnownToasciiFailures), std::end(kKnownToasciiFailures)};
}

class UrlWptTest : public WorkerFixture, public ::testing::WithParamInterface<WptCase> {};

TEST_P(UrlWptTest, EveryCasePasses) {
  fs::path data = fs::path(EDGE_SOURCE_DIR) / ".." / "shared" / "wpt" / "url" / GetParam().file;
  auto json = ReadFile(data.string());
  ASSERT_TRUE(json.ok()) << "the web-platform-tests data is missing: " << json.status().message();
  auto harness = ReadFile((fs::path(EDGE_SOURCE_DIR) / "test/conformance/url_wpt.js").string());
  ASSERT_TRUE(harness.ok()) << harness.status().message();

  auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
  ASSERT_TRUE(worker);
  auto loaded = Run(*worker, *harness + "\n'loaded'");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  // JSON text is a JavaScript expression: hand it over as the data's text.
  // Each failure comes back on its own line.
  std::string script = std::string("runUrlWpt('") + GetParam().kind + "', JSON.stringify(" +
                       *json + ")).join('\\n')";
  auto result = Run(*worker, script);
  ASSERT_TRUE(result.ok()) << result.status().message();

  std::vector<std::string> known = KnownFailures(GetParam().kind);
  std::vector<bool> seen(known.size(), false);
  std::string unexpected;
  size_t start = 0;
  while (start < result->size()) {
    size_t end = result->find('\n', start);
    if (end == std::string::npos) end = result->size();
    std::string line = result->substr(start, end - start);
    start = end + 1;
    bool listed = false;
    for (size_t i = 0; i < known.size(); ++i) {
      if (line.starts_with(known[i] + " (using")) listed = seen[i] = true;
    }
    if (!listed) unexpected += "\n  " + line;
  }
  EXPECT_TRUE(unexpected.empty()) << "failing cases:" << unexpected;
  for (size_t i = 0; i < known.size(); ++i) {
    EXPECT_TRUE(seen[i]) << known[i] << " passes now: remove it from the known failures here "
                         << "and in docs/conformance.md";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Data, UrlWptTest,
    ::testing::Values(WptCase{"urltestdata", "urltestdata.json"},
                      WptCase{"setters", "setters_tests.json"},
                      WptCase{"toascii", "toascii.json"},
                      WptCase{"percent-encoding", "percent-encoding.json"}),
    [](const ::testing::TestParamInfo<WptCase>& info) {
      std::string name = info.param.kind;
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace edge::runtime::testing
