// Runs every test/js/*_test.js inside the runtime. Each file is an ES module
// whose default export maps test names to (async) functions that throw on
// failure; one GoogleTest case per file reports every failing test by name.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> TestFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(fs::path(EDGE_SOURCE_DIR) / "test/js")) {
    std::string name = entry.path().filename().string();
    if (name.ends_with("_test.js")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The entry module that runs one test file's tests and reports them as JSON.
std::string Runner(const std::string& test_file) {
  return "import tests from '" + test_file + R"(';
    export default {
      async fetch() {
        const results = [];
        for (const [name, test] of Object.entries(tests)) {
          try {
            await test();
            results.push({ name, ok: true });
          } catch (error) {
            results.push({ name, ok: false, error: String(error && error.stack || error) });
          }
        }
        return Response.json(results);
      },
    };)";
}

class JsBehaviourTest : public WorkerFixture, public ::testing::WithParamInterface<std::string> {};

TEST_P(JsBehaviourTest, AllPass) {
  auto worker = LoadFiles({{"runner.js", Runner(GetParam())}}, "runner.js");
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  auto response = Fetch(**worker);
  ASSERT_TRUE(response->finished) << response->failure;
  // Count results in the JSON body with the runtime itself.
  std::string script = "(() => { const r = " + response->body +
                       "; const bad = r.filter((t) => !t.ok); "
                       "return r.length + ' tests' + bad.map((t) => '\\nFAIL ' + t.name + ': ' + "
                       "t.error).join(''); })()";
  auto report = Run(**worker, script);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->find("FAIL"), std::string::npos) << *report;
  EXPECT_NE(report->rfind("0 tests", 0), 0u) << "no tests in " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Files, JsBehaviourTest, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace edge::runtime::testing
