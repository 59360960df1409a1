// URL conformance against web-platform-tests data, read at test time from
// ../shared/wpt/url/ next to the project. The harness
// (test/conformance/url_wpt.js) runs inside the runtime and returns the
// failing cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "runtime/module_loader.h"
#include "runtime/testing/worker_fixture.h"
#include "test/conformance/lines.h"

namespace edge::runtime::testing {
namespace {
namespace fs = std::filesystem;

struct WptCase {
  const char* kind;  // what runUrlWpt() calls it
  const char* file;  // under ../shared/wpt/url/
  friend void PrintTo(const WptCase& c, std::ostream* out) { *out << c.file; }
};

// Cases that fail for a reason outside edge's code, one test name per line
// in test/conformance/known_failures/<kind>.txt (with the reason at the top
// of the file, and in docs/conformance.md). A failure not listed fails the
// test; so does a listed case that passes (the lists must stay true).

std::vector<std::string> KnownFailures(const std::string& kind) {
  std::vector<std::string> names;
  fs::path file = fs::path(EDGE_SOURCE_DIR) / "test/conformance/known_failures" / (kind + ".txt");
  auto text = ReadFile(file.string());
  if (!text.ok()) return names;
  for (const std::string& line : conformance::SplitLines(*text)) {
    if (!line.empty() && line[0] != '#') names.push_back(line);
  }
  return names;
}

// A failure line is "<test name>: <what went wrong>" or "<test name> <more>".
bool NamesTest(const std::string& line, const std::string& name) {
  return line.starts_with(name) && line.size() > name.size() &&
         (line[name.size()] == ':' || line[name.size()] == ' ');
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
  // The first line counts the checks: "<passed> <failed> <skipped>".
  std::string script = std::string("(() => { const r = runUrlWpt('") + GetParam().kind +
                       "', JSON.stringify(" + *json +
                       ")); return [r.passed + ' ' + r.failed + ' ' + r.skipped, ...r].join('\\n'); })()";
  auto result = Run(*worker, script);
  ASSERT_TRUE(result.ok()) << result.status().message();
  size_t first = result->find('\n');
  std::string counts = result->substr(0, first);
  result->erase(0, first == std::string::npos ? result->size() : first + 1);
  // For docs/conformance.md: the pass counts of this data file.
  std::cout << GetParam().file << ": passed, failed, skipped = " << counts << std::endl;

  std::vector<std::string> known = KnownFailures(GetParam().kind);
  std::vector<bool> seen(known.size(), false);
  std::string unexpected;
  for (const std::string& line : conformance::SplitLines(*result)) {
    bool listed = false;
    for (size_t i = 0; i < known.size(); ++i) {
      if (NamesTest(line, known[i])) listed = seen[i] = true;
    }
    if (!listed) unexpected += "\n  " + line;
  }
  EXPECT_TRUE(unexpected.empty()) << "failing cases:" << unexpected;
  for (size_t i = 0; i < known.size(); ++i) {
    EXPECT_TRUE(seen[i]) << known[i] << " passes now: remove it from the known failures here "
                         << "(test/conformance/known_failures) and in docs/conformance.md";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Data, UrlWptTest,
    ::testing::Values(WptCase{"urltestdata", "urltestdata.json"},
                      WptCase{"setters", "setters_tests.json"},
                      WptCase{"toascii", "toascii.json"},
                      WptCase{"percent-encoding", "percent-encoding.json"},
                      WptCase{"idna", "IdnaTestV2.json"},
                      WptCase{"urlpattern", "urlpatterntestdata.json"}),
    [](const ::testing::TestParamInfo<WptCase>& info) {
      std::string name = info.param.kind;
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace edge::runtime::testing
