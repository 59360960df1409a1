// web-platform-tests suites (streams, encoding, compression, fetch/api,
// FileAPI, dom, html, WebCryptoAPI) run inside the runtime, one ctest entry
// per folder of ../shared/wpt/ (read at test time, never copied here).
//
// Each `*.any.js` file runs in a fresh worker, as WPT runs it in a dedicated
// worker: resources/testharness.js, test/conformance/wpt_runner.js (which
// collects every subtest's result), the file's `// META: script=` files in
// order, the file itself, then done(). A file that has not finished within
// its time (kFileTimeoutMs, longer for `// META: timeout=long`) has its
// unfinished subtests reported as TIMEOUT and the run goes on.
//
// test/conformance/wpt/<entry>.txt lists the subtests expected to fail, each
// with its reason. The test fails when an unlisted subtest fails and when a
// listed one passes or is no longer reported, so the lists stay true.
// `.tentative.` files (proposals not yet in the specs) run in entries of
// their own. Set EDGE_WPT_FILE=<substring> to run only the matching files and
// EDGE_WPT_WRITE_FAILURES=<path> to write the failures seen in the
// expectation file format (reasons to be filled in by hand).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "runtime/module_loader.h"
#include "runtime/testing/worker_fixture.h"
#include "test/conformance/lines.h"

namespace edge::runtime::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kFileTimeoutMs = 5000;
constexpr int kLongFileTimeoutMs = 20000;

struct WptEntry {
  const char* name;    // the ctest entry and its expectation file
  const char* folder;  // under ../shared/wpt/
  bool tentative;      // only `.tentative.` files, or none of them
  friend void PrintTo(const WptEntry& e, std::ostream* out) { *out << e.name; }
};

fs::path WptRoot() { return fs::path(EDGE_SOURCE_DIR) / ".." / "shared" / "wpt"; }

using conformance::SplitLines;

// The `// META: key=value` lines at the top of a test file.
std::vector<std::pair<std::string, std::string>> Meta(const std::string& source) {
  std::vector<std::pair<std::string, std::string>> meta;
  for (const std::string& line : SplitLines(source)) {
    if (!line.starts_with("// META:")) {
      if (line.empty() || line.starts_with("//")) continue;
      break;
    }
    std::string rest = line.substr(8);
    rest.erase(0, rest.find_first_not_of(' '));
    size_t eq = rest.find('=');
    if (eq == std::string::npos) continue;
    std::string value = rest.substr(eq + 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.pop_back();
    meta.emplace_back(rest.substr(0, eq), value);
  }
  return meta;
}

// Expected failures: "[<file>] <reason>" starts a file's group; each
// following line names one subtest (escaped as wpt_runner.js escapes it),
// optionally followed by "  # <reason>" when it differs from the group's.
// A line "*" stands for every subtest of the file (for `.tentative.`
// proposals not implemented, and files that need a WPT server throughout);
// it must go once none of them fails. Lines starting with '#' are comments.
struct Expectations {
  std::map<std::string, std::map<std::string, std::string>> failures;  // file -> name -> why
  std::string error;  // a malformed line
};

Expectations ReadExpectations(const std::string& entry) {
  Expectations out;
  fs::path path = fs::path(EDGE_SOURCE_DIR) / "test/conformance/wpt" / (entry + ".txt");
  auto text = ReadFile(path.string());
  if (!text.ok()) return out;
  std::string file, reason;
  for (const std::string& line : SplitLines(*text)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string::npos) {
        out.error = "no ']' in " + line;
        return out;
      }
      file = line.substr(1, close - 1);
      reason = line.substr(close + 1);
      reason.erase(0, reason.find_first_not_of(' '));
      continue;
    }
    if (file.empty()) {
      out.error = "a subtest outside a [file] group: " + line;
      return out;
    }
    std::string name = line;
    std::string why = reason;
    size_t hash = line.find("  # ");
    if (hash != std::string::npos) {
      name = line.substr(0, hash);
      why = line.substr(hash + 4);
    }
    if (why.empty()) {
      out.error = "no reason for " + file + ": " + name;
      return out;
    }
    out.failures[file][name] = why;
  }
  return out;
}

// Whether a test file's `// META: global=` list names a worker scope (no
// list: window and dedicated worker). Files only for `window` or
// `shadowrealm` are not run, as WPT would not run them in a worker.
bool RunsInWorkers(const std::string& source) {
  for (const auto& [key, value] : Meta(source)) {
    if (key != "global") continue;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string scope = value.substr(start, comma - start);
      if (scope == "worker" || scope == "dedicatedworker" || scope == "sharedworker" ||
          scope == "serviceworker") {
        return true;
      }
      start = comma + 1;
    }
    return false;
  }
  return true;
}

// Every `*.any.js` under `folder`, relative to it, sorted.
std::vector<std::string> TestFiles(const fs::path& folder, bool tentative) {
  std::vector<std::string> files;
  const char* only = std::getenv("EDGE_WPT_FILE");
  for (const auto& item : fs::recursive_directory_iterator(folder)) {
    std::string name = item.path().filename().string();
    if (!item.is_regular_file() || !name.ends_with(".any.js")) continue;
    if ((name.find(".tentative.") != std::string::npos) != tentative) continue;
    std::string relative = fs::relative(item.path(), folder).string();
    if (only && relative.find(only) == std::string::npos) continue;
    files.push_back(relative);
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct SubtestResult {
  std::string status;  // PASS, FAIL, TIMEOUT, NOTRUN, PRECONDITION_FAILED
  std::string name;
  std::string message;
};

class WptFixture : public WorkerFixture {
 protected:
  // Runs one test file in a fresh worker. Problems outside the subtests
  // (a script that throws, the harness reporting an error, a timeout) come
  // back as results of status ERROR named "(harness)", "(timeout)" or
  // "(script <path>)"; they are not counted as subtests.
  std::vector<SubtestResult> RunFile(const fs::path& test_path, const std::string& harness,
                                     const std::string& runner,
                                     int default_timeout_ms = kFileTimeoutMs) {
    std::vector<SubtestResult> results;
    auto source = ReadFile(test_path.string());
    if (!source.ok()) {
      results.push_back({"ERROR", "(script)", source.status().message()});
      return results;
    }
    auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
    if (!worker) {
      results.push_back({"ERROR", "(worker)", "the worker did not load"});
      return results;
    }
    auto run = [&](const std::string& label, const std::string& text) {
      auto result = Run(*worker, text);
      if (!result.ok()) results.push_back({"ERROR", "(script " + label + ")", result.status().message()});
      return result.ok();
    };
    if (!run("resources/testharness.js", harness) || !run("wpt_runner.js", runner)) {
      return results;
    }
    int timeout_ms = default_timeout_ms;
    for (const auto& [key, value] : Meta(*source)) {
      if (key == "timeout" && value == "long") timeout_ms = kLongFileTimeoutMs;
      if (key == "variant") {
        // `?1-1000` variants split one file into pages through
        // common/subset-tests.js, which reads `location.search`: workers
        // have no `location`, so an empty one runs every page at once.
        run("variant", "var location = { search: '' };");
      }
      if (key != "script") continue;
      fs::path script = value.starts_with("/") ? WptRoot() / value.substr(1)
                                               : test_path.parent_path() / value;
      auto text = ReadFile(script.string());
      if (!text.ok()) {
        results.push_back({"ERROR", "(script " + value + ")", text.status().message()});
        continue;
      }
      run(value, *text);
    }
    run(test_path.filename().string(), *source);
    auto report = Run(*worker, "__wptFinish(" + std::to_string(timeout_ms) + ")");
    if (!report.ok()) {
      results.push_back({"ERROR", "(harness)", report.status().message()});
      return results;
    }
    for (const std::string& line : SplitLines(*report)) {
      size_t tab1 = line.find('\t');
      size_t tab2 = line.find('\t', tab1 + 1);
      if (tab1 == std::string::npos || tab2 == std::string::npos) continue;
      SubtestResult r{line.substr(0, tab1), line.substr(tab1 + 1, tab2 - tab1 - 1),
                      line.substr(tab2 + 1)};
      if (r.status == "harness") {
        // The harness's status: OK, or why it stopped (an uncaught error
        // outside any subtest, or the file's time running out).
        if (r.name == "OK") continue;
        r = {"ERROR", r.name == "TIMEOUT" ? "(timeout)" : "(harness)", r.message};
      }
      results.push_back(std::move(r));
    }
    return results;
  }
};

class WptTest : public WptFixture, public ::testing::WithParamInterface<WptEntry> {};

// The runner itself: a file whose subtests never finish is reported (its
// unfinished subtests as TIMEOUT, the harness as timed out) and the run goes
// on; a file that throws is reported too.
TEST_F(WptFixture, HangingAndThrowingFilesAreReported) {
  auto harness = ReadFile((WptRoot() / "resources/testharness.js").string());
  ASSERT_TRUE(harness.ok()) << "the web-platform-tests suites are missing";
  auto runner = ReadFile((fs::path(EDGE_SOURCE_DIR) / "test/conformance/wpt_runner.js").string());
  ASSERT_TRUE(runner.ok());
  fs::path dir = fs::path(temp_.path()) / "wpt-self-test";
  fs::create_directories(dir);
  std::ofstream(dir / "hang.any.js") << "test(() => {}, 'quick');\n"
                                     << "promise_test(() => new Promise(() => {}), 'never settles');\n"
                                     << "setInterval(() => {}, 10);\n";
  std::ofstream(dir / "throws.any.js") << "test(() => {}, 'quick');\nthrow new Error('at top level');\n";
  auto start = std::chrono::steady_clock::now();
  std::vector<SubtestResult> hang = RunFile(dir / "hang.any.js", *harness, *runner, 300);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start).count();
  EXPECT_LT(ms, 5000);
  std::map<std::string, std::string> statuses;
  for (const SubtestResult& r : hang) statuses[r.name] = r.status;
  EXPECT_EQ(statuses["quick"], "PASS");
  EXPECT_EQ(statuses["never settles"], "TIMEOUT");
  EXPECT_EQ(statuses["(timeout)"], "ERROR");
  std::vector<SubtestResult> thrown = RunFile(dir / "throws.any.js", *harness, *runner, 300);
  statuses.clear();
  for (const SubtestResult& r : thrown) statuses[r.name] = r.status;
  EXPECT_EQ(statuses["quick"], "PASS");
  EXPECT_EQ(statuses["(script throws.any.js)"], "ERROR");
}

TEST_P(WptTest, SubtestsMatchExpectations) {
  const WptEntry& entry = GetParam();
  fs::path folder = WptRoot() / entry.folder;
  ASSERT_TRUE(fs::is_directory(folder)) << "the web-platform-tests suites are missing: " << folder;
  auto harness = ReadFile((WptRoot() / "resources/testharness.js").string());
  ASSERT_TRUE(harness.ok()) << harness.status().message();
  auto runner = ReadFile((fs::path(EDGE_SOURCE_DIR) / "test/conformance/wpt_runner.js").string());
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Expectations expected = ReadExpectations(entry.name);
  ASSERT_TRUE(expected.error.empty()) << "test/conformance/wpt/" << entry.name
                                      << ".txt: " << expected.error;

  std::vector<std::string> files = TestFiles(folder, entry.tentative);
  bool filtered = std::getenv("EDGE_WPT_FILE") != nullptr;
  size_t passed = 0, total = 0, unexpected = 0, skipped = 0;
  std::map<std::string, std::vector<SubtestResult>> failures;  // file -> failed subtests
  std::set<std::pair<std::string, std::string>> failed_names;
  for (const std::string& file : files) {
    auto source = ReadFile((folder / file).string());
    if (source.ok() && !RunsInWorkers(*source)) {
      ++skipped;
      std::cout << "  " << file << ": not run (its META global= names no worker scope)" << std::endl;
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    std::vector<SubtestResult> results = RunFile(folder / file, *harness, *runner);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start).count();
    size_t file_passed = 0;
    for (const SubtestResult& r : results) {
      if (r.status != "ERROR") ++total;  // not a problem outside the subtests
      if (r.status == "PASS") {
        ++passed;
        ++file_passed;
        continue;
      }
      failures[file].push_back(r);
      failed_names.insert({file, r.name});
      failed_names.insert({file, "*"});
      auto group = expected.failures.find(file);
      if (group != expected.failures.end() &&
          (group->second.count(r.name) || group->second.count("*"))) {
        continue;
      }
      ++unexpected;
      ADD_FAILURE() << file << ": " << r.status << " " << r.name << (r.message.empty() ? "" : ": ")
                    << r.message;
    }
    std::cout << "  " << file << ": " << file_passed << "/" << results.size() << " in " << ms
              << " ms" << std::endl;
  }
  for (const auto& [file, names] : expected.failures) {
    if (filtered && std::find(files.begin(), files.end(), file) == files.end()) continue;
    for (const auto& [name, why] : names) {
      if (failed_names.count({file, name})) continue;
      ADD_FAILURE() << file << ": " << name
                    << (name == "*" ? " (every subtest) passes now: remove the line "
                                    : " passes now (or is no longer reported): remove it ")
                    << "from test/conformance/wpt/" << entry.name << ".txt";
    }
  }
  // For docs/conformance.md.
  std::cout << entry.name << ": " << passed << " of " << total << " subtests passed in "
            << files.size() - skipped << " files (" << skipped << " for window or shadowrealm only, "
            << "not run); " << unexpected << " unexpected failures" << std::endl;

  if (const char* out = std::getenv("EDGE_WPT_WRITE_FAILURES")) {
    std::ofstream write(out, std::ios::trunc);
    for (const auto& [file, list] : failures) {
      write << "[" << file << "] " << "\n";
      for (const SubtestResult& r : list) {
        std::string message = r.message.substr(0, 160);
        std::replace(message.begin(), message.end(), '\n', ' ');
        write << r.name << "  # " << r.status << ": " << message << "\n";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Folders, WptTest,
    ::testing::Values(WptEntry{"streams", "streams", false},
                      WptEntry{"encoding", "encoding", false},
                      WptEntry{"compression", "compression", false},
                      WptEntry{"fetch_api", "fetch/api", false},
                      WptEntry{"FileAPI", "FileAPI", false}, WptEntry{"dom", "dom", false},
                      WptEntry{"html", "html", false},
                      WptEntry{"WebCryptoAPI", "WebCryptoAPI", false},
                      WptEntry{"WebCryptoAPI_tentative", "WebCryptoAPI", true}),
    [](const ::testing::TestParamInfo<WptEntry>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace edge::runtime::testing
