// The ECMAScript built-ins the runtime adds to V8 10.2 (runtime/js/es_*.js)
// against their test262 tests, read at test time from ../shared/test262/
// next to the project. Each test file runs in a fresh worker, as a classic
// script after the harness files it includes (assert.js, sta.js and its
// `includes`), once in sloppy and once in strict mode unless its flags say
// otherwise; an async test passes when it calls $DONE() without an error.
// The host hooks test262 asks for ($262) are what a worker can offer:
// detachArrayBuffer (through structuredClone's transfer) and the global
// object; no second realm, no evalScript (a worker cannot compile strings).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

#include "runtime/module_loader.h"
#include "runtime/testing/worker_fixture.h"
#include "test/conformance/lines.h"

namespace edge::runtime::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kTest262 = fs::path(EDGE_SOURCE_DIR) / ".." / "shared" / "test262";

// What the test's front matter (/*--- ... ---*/) says.
struct Metadata {
  std::vector<std::string> includes;
  std::set<std::string> flags;
  std::string negative_type;  // the error a negative test expects, or ""
};

std::string Trim(std::string s) {
  size_t start = s.find_first_not_of(" \t\r");
  size_t end = s.find_last_not_of(" \t\r");
  return start == std::string::npos ? "" : s.substr(start, end - start + 1);
}

// The items of "key: [a, b]" or of "key:" followed by "  - a" lines.
std::vector<std::string> ListValue(const std::vector<std::string>& lines, size_t i) {
  std::vector<std::string> items;
  std::string rest = Trim(lines[i].substr(lines[i].find(':') + 1));
  if (!rest.empty() && rest.front() == '[') {
    rest =
        rest.substr(1, rest.find(']') == std::string::npos ? rest.size() - 1 : rest.find(']') - 1);
    size_t start = 0;
    while (start <= rest.size()) {
      size_t comma = rest.find(',', start);
      if (comma == std::string::npos) comma = rest.size();
      std::string item = Trim(rest.substr(start, comma - start));
      if (!item.empty()) items.push_back(item);
      start = comma + 1;
    }
    return items;
  }
  for (size_t j = i + 1; j < lines.size(); ++j) {
    std::string line = Trim(lines[j]);
    if (line.rfind("- ", 0) != 0) break;
    items.push_back(Trim(line.substr(2)));
  }
  return items;
}

Metadata ParseMetadata(const std::string& source) {
  Metadata meta;
  size_t start = source.find("/*---");
  size_t end = source.find("---*/");
  if (start == std::string::npos || end == std::string::npos) return meta;
  std::vector<std::string> lines =
      conformance::SplitLines(std::string_view(source).substr(start + 5, end - start - 5));
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind("includes:", 0) == 0) meta.includes = ListValue(lines, i);
    if (line.rfind("flags:", 0) == 0) {
      for (const std::string& flag : ListValue(lines, i)) meta.flags.insert(flag);
    }
    if (line.rfind("negative:", 0) == 0) {
      for (size_t j = i + 1; j < lines.size() && !lines[j].empty() && lines[j][0] == ' '; ++j) {
        std::string field = Trim(lines[j]);
        if (field.rfind("type:", 0) == 0) meta.negative_type = Trim(field.substr(5));
      }
    }
  }
  return meta;
}

// Defined before the harness: where $DONE's message goes, and the host
// hooks a worker can offer.
constexpr const char* kHostPrelude = R"JS(
var __test262Print;
var __test262Done = new Promise(function (resolve) { __test262Print = resolve; });
function print(message) { __test262Print(String(message)); }
var $262 = {
  global: globalThis,
  detachArrayBuffer: function (buffer) { structuredClone(buffer, { transfer: [buffer] }); },
  createRealm: function () { throw new Test262Error("edge: a worker has one realm"); },
  evalScript: function () { throw new Test262Error("edge: a worker cannot compile strings"); },
  agent: {},
};
)JS";

// The known failures: "<path under test/built-ins>: <why>" lines of
// test/conformance/known_failures/test262.txt ('#' starts a comment).
std::map<std::string, std::string> KnownFailures() {
  std::map<std::string, std::string> known;
  auto text = ReadFile(
      (fs::path(EDGE_SOURCE_DIR) / "test/conformance/known_failures/test262.txt").string());
  if (!text.ok()) return known;
  for (const std::string& line : conformance::SplitLines(*text)) {
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(": ");
    known[line.substr(0, colon)] = colon == std::string::npos ? "" : line.substr(colon + 2);
  }
  return known;
}

class Test262Test : public WorkerFixture, public ::testing::WithParamInterface<const char*> {
 protected:
  // Runs one test file in one mode; "" when it passes, otherwise why not.
  std::string RunOne(const std::string& source, const Metadata& meta, bool strict) {
    std::string script;
    if (!meta.flags.count("raw")) {
      script = kHostPrelude;
      std::vector<std::string> includes = {"assert.js", "sta.js"};
      if (meta.flags.count("async")) includes.push_back("doneprintHandle.js");
      includes.insert(includes.end(), meta.includes.begin(), meta.includes.end());
      for (const std::string& include : includes) {
        auto text = ReadFile((kTest262 / "harness" / include).string());
        if (!text.ok()) return "missing harness file " + include;
        script += *text + "\n";
      }
    }
    // The harness runs in the same script: "use strict" must come first.
    if (strict) script = "\"use strict\";\n" + script;
    script += source;
    auto worker = LoadOrDie("export default { fetch() { return new Response(''); } };");
    if (!worker) return "cannot load a worker";
    StatusOr<std::string> ran = Run(*worker, script + "\n;'ran'");
    if (!meta.negative_type.empty()) {
      if (ran.ok()) return "expected a " + meta.negative_type;
      return ran.status().message().find(meta.negative_type) != std::string::npos
                 ? ""
                 : ran.status().message();
    }
    if (!ran.ok()) return ran.status().message();
    if (!meta.flags.count("async")) return "";
    StatusOr<std::string> done = Run(*worker, "__test262Done");
    if (!done.ok()) return "never called $DONE: " + done.status().message();
    if (*done != "Test262:AsyncTestComplete") return *done;
    return "";
  }
};

TEST_P(Test262Test, EveryTestPasses) {
  fs::path folder = kTest262 / "test" / "built-ins" / GetParam();
  ASSERT_TRUE(fs::is_directory(folder)) << "the test262 tests are missing: " << folder;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".js" &&
        name.find("_FIXTURE") == std::string::npos) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> known = KnownFailures();
  fs::path built_ins = kTest262 / "test" / "built-ins";
  int passed = 0, failed = 0;
  std::string unexpected;
  for (const fs::path& file : files) {
    std::string name = fs::relative(file, built_ins).string();
    auto source = ReadFile(file.string());
    ASSERT_TRUE(source.ok()) << source.status().message();
    Metadata meta = ParseMetadata(*source);
    std::string failure;
    if (!meta.flags.count("onlyStrict")) failure = RunOne(*source, meta, false);
    if (failure.empty() && !meta.flags.count("noStrict") && !meta.flags.count("raw")) {
      failure = RunOne(*source, meta, true);
      if (!failure.empty()) failure = "(strict) " + failure;
    }
    auto listed = known.find(name);
    if (failure.empty()) {
      ++passed;
      if (listed != known.end()) {
        unexpected += "\n  " + name +
                      " passes now: remove it from test/conformance/known_failures/test262.txt";
      }
    } else {
      ++failed;
      if (listed == known.end()) unexpected += "\n  " + name + ": " + failure;
    }
  }
  // For docs/conformance.md: the pass counts of this folder.
  std::cout << "test262 built-ins/" << GetParam() << ": " << passed << " of " << files.size()
            << " pass, " << failed << " known failures" << std::endl;
  EXPECT_TRUE(unexpected.empty()) << "unexpected results:" << unexpected;
}

INSTANTIATE_TEST_SUITE_P(
    BuiltIns, Test262Test,
    ::testing::Values("Array/prototype/toReversed", "Array/prototype/toSorted",
                      "Array/prototype/toSpliced", "Array/prototype/with", "Array/fromAsync",
                      "TypedArray/prototype/toReversed", "TypedArray/prototype/toSorted",
                      "TypedArray/prototype/with", "Object/groupBy", "Map/groupBy",
                      "Promise/withResolvers", "Set/prototype/union", "Set/prototype/intersection",
                      "Set/prototype/difference", "Set/prototype/symmetricDifference",
                      "Set/prototype/isSubsetOf", "Set/prototype/isSupersetOf",
                      "Set/prototype/isDisjointFrom", "String/prototype/isWellFormed",
                      "String/prototype/toWellFormed", "ArrayBuffer/prototype/transfer",
                      "ArrayBuffer/prototype/transferToFixedLength",
                      "ArrayBuffer/prototype/detached"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string name = info.param;
      for (char& c : name) {
        if (c == '/') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace edge::runtime::testing
