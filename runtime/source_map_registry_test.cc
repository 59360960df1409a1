#include "runtime/source_map_registry.h"

#include <gtest/gtest.h>

#include "base/base64.h"
#include "runtime/module_loader.h"

namespace edge::runtime {
namespace {

constexpr char kMap[] =
    R"({"version":3,"sources":["../src/app.ts"],"mappings":";;AAEA,IAAI;AACA"})";

std::shared_ptr<ModuleFiles> Files() {
  auto files = std::make_shared<ModuleFiles>();
  (*files)["/w/dist/app.js"] = "// bundle";
  (*files)["/w/dist/app.js.map"] = kMap;
  (*files)["/w/dist/bad.js.map"] = "{\"version\":3,\"sources\":[],\"mappings\":\"AAAA\"}";
  return files;
}

// Line 3 of the bundle (1-based) maps from column 1 to src/app.ts:3:1 and
// from column 5 to 3:5; line 4 to 4:5.
TEST(SourceMapRegistryTest, RewritesFramesOfMappedScriptsAndDropsInternalOnes) {
  SourceMapRegistry registry("w", "/w", Files());
  registry.AddScript("dist/app.js", "/w/dist/app.js", "app.js.map");
  std::string stack =
      "Error: <b>no</b>\n"
      "    at greet (dist/app.js:3:7)\n"
      "    at dist/app.js:4:2\n"
      "    at async Object.fetch (dist/app.js:3:2)\n"
      "    at dispatch (edge:internal/dispatch.js:120:5)\n"
      "    at edge:internal/dispatch.js:7:1\n"
      "    at other (lib.js:1:1)\n"
      "    at async Promise.all (index 0)\n"
      "    at dist/app.js:1:1";
  EXPECT_EQ(registry.MapStack(stack),
            "Error: <b>no</b>\n"
            "    at greet (src/app.ts:3:5)\n"
            "    at src/app.ts:4:5\n"
            "    at async Object.fetch (src/app.ts:3:1)\n"
            "    at other (lib.js:1:1)\n"
            "    at async Promise.all (index 0)\n"
            "    at dist/app.js:1:1");
  EXPECT_EQ(registry.MapStack("just text\n"), "just text\n");
  EXPECT_EQ(registry.MapStack(""), "");
}

TEST(SourceMapRegistryTest, InlineDataUrlMaps) {
  SourceMapRegistry registry("w", "/w", Files());
  registry.AddScript("dist/app.js", "/w/dist/app.js",
                     "data:application/json;charset=utf-8;base64," + base::Base64Encode(kMap));
  EXPECT_EQ(registry.MapStack("    at f (dist/app.js:4:9)"), "    at f (src/app.ts:4:5)");
}

TEST(SourceMapRegistryTest, UnusableMapsLeaveFramesAsTheyAre) {
  auto files = Files();
  SourceMapRegistry registry("w", "/w", files);
  registry.AddScript("a.js", "/w/dist/a.js", "bad.js.map");        // names source 0 of 0
  registry.AddScript("b.js", "/w/dist/b.js", "missing.js.map");    // no such file
  registry.AddScript("c.js", "/w/dist/c.js", "../../etc/passwd");  // outside the folder
  registry.AddScript("d.js", "/w/dist/d.js", "https://example.com/x.map");
  registry.AddScript("e.js", "/w/dist/e.js", "data:text/plain,hello");
  registry.AddScript("f.js", "/w/dist/f.js", "data:application/json;base64,!!!");
  for (std::string name : {"a.js", "b.js", "c.js", "d.js", "e.js", "f.js"}) {
    std::string frame = "    at x (" + name + ":3:7)";
    EXPECT_EQ(registry.MapStack(frame), frame);
    EXPECT_EQ(registry.MapStack(frame), frame);  // tried once, remembered
  }
  // Line and column that are not numbers, or absurd ones.
  registry.AddScript("dist/app.js", "/w/dist/app.js", "app.js.map");
  for (std::string frame : {"    at x (dist/app.js:a:7)", "    at x (dist/app.js:3)",
                            "    at x (dist/app.js:99999999999:1)", "    at x (dist/app.js:0:0)",
                            "    at x (dist/app.js:4294967295:4294967295)", "    at (:)"}) {
    EXPECT_EQ(registry.MapStack(frame), frame);
  }
}

TEST(SourceMapRegistryTest, MapFilesAreTheRelativeMapsThatExist) {
  SourceMapRegistry registry("w", "/w", Files());
  registry.AddScript("dist/app.js", "/w/dist/app.js", "app.js.map");
  registry.AddScript("b.js", "/w/dist/b.js", "missing.js.map");
  registry.AddScript("c.js", "/w/dist/c.js", "data:application/json;base64,e30=");
  registry.AddScript("d.js", "/w/dist/d.js", "../../outside.map");
  EXPECT_EQ(registry.MapFiles(), std::vector<std::string>{"/w/dist/app.js.map"});
}

// A tenant can log a string of many fake frames: only the first
// kMaxFramesPerStack are looked up, the rest are kept as written.
TEST(SourceMapRegistryTest, MapsABoundedNumberOfFramesPerText) {
  SourceMapRegistry registry("w", "/w", Files());
  registry.AddScript("dist/app.js", "/w/dist/app.js", "app.js.map");
  std::string text = "Error: many";
  for (int i = 0; i < 10000; ++i) text += "\n    at f (dist/app.js:3:7)";
  std::string mapped = registry.MapStack(text);
  size_t original = 0, bundle = 0;
  for (size_t at = 0; (at = mapped.find("src/app.ts:3:5", at)) != std::string::npos; ++at)
    ++original;
  for (size_t at = 0; (at = mapped.find("dist/app.js:3:7", at)) != std::string::npos; ++at)
    ++bundle;
  EXPECT_EQ(original, SourceMapRegistry::kMaxFramesPerStack);
  EXPECT_EQ(bundle, 10000 - SourceMapRegistry::kMaxFramesPerStack);
}

TEST(SourceMapRegistryTest, FindsTheLastMagicCommentThatStartsALine) {
  EXPECT_EQ(FindSourceMappingUrl("x();\n//# sourceMappingURL=index.js.map\n"), "index.js.map");
  EXPECT_EQ(FindSourceMappingUrl("x();\n  //@ sourceMappingURL=old.map"), "old.map");
  EXPECT_EQ(FindSourceMappingUrl("//# sourceMappingURL=a.map\n//# sourceMappingURL=b.map"),
            "b.map");
  // Inside a string or after code on the line: not a magic comment.
  EXPECT_EQ(FindSourceMappingUrl("//# sourceMappingURL=a.map\nconst s = '//# sourceMappingURL=b';"),
            "a.map");
  EXPECT_EQ(FindSourceMappingUrl("x(); //# sourceMappingURL=a.map"), "");
  EXPECT_EQ(FindSourceMappingUrl("sourceMappingURL=a.map"), "");
  EXPECT_EQ(FindSourceMappingUrl(""), "");
}

}  // namespace
}  // namespace edge::runtime
