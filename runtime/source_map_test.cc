#include "runtime/source_map.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace edge::runtime {
namespace {

std::string MapJson(std::string_view mappings, std::string_view sources = R"(["a.js","b.js"])",
                    std::string_view names = R"(["foo"])") {
  return std::string(R"({"version":3,"sources":)") + std::string(sources) + R"(,"names":)" +
         std::string(names) + R"(,"mappings":")" + std::string(mappings) + "\"}";
}

std::shared_ptr<const SourceMap> MustParse(std::string_view json) {
  auto map = SourceMap::Parse(json);
  EXPECT_TRUE(map.ok()) << map.status().message();
  return map.ok() ? *map : nullptr;
}

std::string Describe(const std::optional<OriginalPosition>& position) {
  if (!position) return "none";
  std::string text = position->source + ":" + std::to_string(position->line) + ":" +
                     std::to_string(position->column);
  if (!position->name.empty()) text += " " + position->name;
  return text;
}

std::string ErrorOf(std::string_view json, const SourceMapLimits& limits = {}) {
  auto map = SourceMap::Parse(json, limits);
  return map.ok() ? "parsed" : map.status().message();
}

// Line 0: "AAAA" (column 0 -> a.js 0:0), "UCCCA" (column +10 -> source +1,
// line +1, column +1, name 0 -> b.js 1:1 foo). Line 1 empty. Line 2: "EADC"
// (column 2 -> b.js, line -1, column +1 -> b.js 0:2), "G" (column +3 = 5,
// one field: maps to nothing).
TEST(SourceMapTest, DecodesSegmentsRelativeAcrossLines) {
  auto map = MustParse(MapJson("AAAA,UCCCA;;EADC,G"));
  ASSERT_TRUE(map);
  EXPECT_EQ(Describe(map->Lookup(0, 0)), "a.js:0:0");
  EXPECT_EQ(Describe(map->Lookup(0, 9)), "a.js:0:0");
  EXPECT_EQ(Describe(map->Lookup(0, 10)), "b.js:1:1 foo");
  EXPECT_EQ(Describe(map->Lookup(0, 5000)), "b.js:1:1 foo");
  EXPECT_EQ(Describe(map->Lookup(1, 0)), "none");
  EXPECT_EQ(Describe(map->Lookup(2, 1)), "none");
  EXPECT_EQ(Describe(map->Lookup(2, 2)), "b.js:0:2");
  EXPECT_EQ(Describe(map->Lookup(2, 4)), "b.js:0:2");
  EXPECT_EQ(Describe(map->Lookup(2, 5)), "none");
  EXPECT_EQ(Describe(map->Lookup(3, 0)), "none");
  EXPECT_EQ(Describe(map->Lookup(4000000000u, 4000000000u)), "none");
}

// Multi-digit VLQs: "2H" is 123 and "+/////D" 2^31 - 1, the largest value.
TEST(SourceMapTest, DecodesMultiDigitValues) {
  auto map = MustParse(MapJson("2HAAA;+/////DAAA", R"(["a.js"])"));
  ASSERT_TRUE(map);
  EXPECT_EQ(Describe(map->Lookup(0, 122)), "none");
  EXPECT_EQ(Describe(map->Lookup(0, 123)), "a.js:0:0");
  EXPECT_EQ(Describe(map->Lookup(1, 2147483646u)), "none");
  EXPECT_EQ(Describe(map->Lookup(1, 2147483647u)), "a.js:0:0");
  auto far = MustParse(MapJson("AA2HgB", R"(["a.js"])"));
  ASSERT_TRUE(far);
  EXPECT_EQ(Describe(far->Lookup(0, 0)), "a.js:123:16");
}

TEST(SourceMapTest, SourceRootPrefixesSourcesAndNullSourcesAreKept) {
  auto map = MustParse(
      R"({"version":3,"sourceRoot":"/app/src","sources":[null,"x.ts"],"mappings":"AAAA,ECAA"})");
  ASSERT_TRUE(map);
  EXPECT_EQ(Describe(map->Lookup(0, 0)), ":0:0");
  EXPECT_EQ(Describe(map->Lookup(0, 2)), "/app/src/x.ts:0:0");
}

TEST(SourceMapTest, SegmentsOutOfColumnOrderStillFindTheClosest) {
  // Column 10, then 10 - 11 = -1: refused.
  EXPECT_EQ(ErrorOf(MapJson("UAAA,XCAA", R"(["a.js","b.js"])")),
            "invalid source map: a generated column before offset 9 is out of range");
  auto unordered = MustParse(MapJson("UAAA,NCAA", R"(["a.js","b.js"])"));  // 10, then 4
  ASSERT_TRUE(unordered);
  EXPECT_EQ(Describe(unordered->Lookup(0, 5)), "b.js:0:0");
  EXPECT_EQ(Describe(unordered->Lookup(0, 12)), "a.js:0:0");
}

TEST(SourceMapTest, IndexMapsLookInTheSectionThatCoversThePosition) {
  auto map = MustParse(R"({"version":3,"sections":[
    {"offset":{"line":0,"column":0},"map":{"version":3,"sources":["first.js"],"mappings":"AAAA"}},
    {"offset":{"line":2,"column":4},"map":{"version":3,"sources":["second.js"],"mappings":"AACA"}}]})");
  ASSERT_TRUE(map);
  EXPECT_EQ(Describe(map->Lookup(1, 7)), "none");  // first.js has one line
  EXPECT_EQ(Describe(map->Lookup(0, 7)), "first.js:0:0");
  EXPECT_EQ(Describe(map->Lookup(2, 3)), "none");
  EXPECT_EQ(Describe(map->Lookup(2, 4)), "second.js:1:0");
}

// The esbuild fixture: dist/index.js line 4 is `throw new Error(...)` of
// src/greet.ts line 8, and line 22 `return new Response(greet(greeting))` of
// src/index.ts line 15 (1-based lines; the map's are 0-based).
TEST(SourceMapTest, EsbuildOutput) {
  std::ifstream file(std::string(EDGE_SOURCE_DIR) +
                     "/test/e2e/fixtures/source_maps/dist/index.js.map");
  std::stringstream text;
  text << file.rdbuf();
  auto map = MustParse(text.str());
  ASSERT_TRUE(map);
  EXPECT_EQ(Describe(map->Lookup(3, 10)), "../src/greet.ts:7:10");
  EXPECT_EQ(Describe(map->Lookup(21, 11)), "../src/index.ts:14:11");
  EXPECT_EQ(Describe(map->Lookup(0, 0)), "none");  // the "// src/greet.ts" comment
}

TEST(SourceMapTest, RefusesMalformedMapsWithTheReason) {
  EXPECT_EQ(ErrorOf(""), "invalid source map: empty");
  EXPECT_TRUE(ErrorOf("{").starts_with("invalid source map: not valid JSON: ")) << ErrorOf("{");
  EXPECT_EQ(ErrorOf("[]"), "invalid source map: not a JSON object");
  EXPECT_EQ(ErrorOf(R"({"version":2,"sources":[],"mappings":""})"),
            "invalid source map: `version` must be 3");
  EXPECT_EQ(ErrorOf(R"({"version":3,"mappings":""})"), "invalid source map: `sources` is missing");
  EXPECT_EQ(ErrorOf(R"({"version":3,"sources":[1],"mappings":""})"),
            "invalid source map: `sources` must hold strings");
  EXPECT_EQ(ErrorOf(R"({"version":3,"sources":[],"mappings":7})"),
            "invalid source map: `mappings` must be a string");
  EXPECT_EQ(ErrorOf(MapJson("AA!A")),
            "invalid source map: `mappings` has a character that is not base64 at offset 2");
  EXPECT_EQ(ErrorOf(MapJson("AAAg")),
            "invalid source map: `mappings` ends inside a VLQ value (offset 3)");
  EXPECT_EQ(ErrorOf(MapJson("AA")),
            "invalid source map: a segment of `mappings` before offset 2 has 2 fields (1, 4 or 5)");
  EXPECT_EQ(ErrorOf(MapJson("AAAAAA")),
            "invalid source map: a segment of `mappings` at offset 5 has more than 5 fields");
  EXPECT_EQ(ErrorOf(MapJson("AEAA")),
            "invalid source map: a segment before offset 4 names source 2 of 2");
  EXPECT_EQ(ErrorOf(MapJson("ADAA")),
            "invalid source map: a segment before offset 4 names source -1 of 2");
  EXPECT_EQ(ErrorOf(MapJson("AAAAC")),
            "invalid source map: a segment before offset 5 names name 1 of 1");
  EXPECT_EQ(ErrorOf(MapJson("AADA")),
            "invalid source map: an original position before offset 4 is out of range");
}

TEST(SourceMapTest, RefusesAbsurdVlqValues) {
  // Eight digits, or a seventh digit that overflows 32 bits.
  EXPECT_EQ(ErrorOf(MapJson("gggggggBAAA")),
            "invalid source map: a VLQ value of `mappings` at offset 0 exceeds 32 bits");
  EXPECT_EQ(ErrorOf(MapJson("//////HAAA")),
            "invalid source map: a VLQ value of `mappings` at offset 0 exceeds 32 bits");
  // Each value fits, their sum does not.
  EXPECT_EQ(ErrorOf(MapJson("+/////D,+/////D")),
            "invalid source map: a generated column before offset 15 is out of range");
  EXPECT_EQ(ErrorOf(MapJson("AA+/////DA;AA+/////DA")),
            "invalid source map: an original position before offset 21 is out of range");
}

TEST(SourceMapTest, BoundsWhatAMapMayCost) {
  SourceMapLimits limits;
  limits.max_json_bytes = 64;
  EXPECT_EQ(ErrorOf(MapJson(std::string(100, 'A')), limits),
            "invalid source map: 169 bytes, more than the 64 a map may have");
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ErrorOf(deep), "invalid source map: JSON nested deeper than 16 levels");
  limits = {};
  limits.max_lines = 3;
  EXPECT_EQ(ErrorOf(MapJson(";;;"), limits),
            "invalid source map: `mappings` has more than 3 lines");
  limits = {};
  limits.max_sources = 1;
  EXPECT_EQ(ErrorOf(MapJson(""), limits), "invalid source map: `sources` has more than 1 entries");
  std::string sections = R"({"version":3,"sections":[{"offset":{"line":0,"column":0},"map":)"
                         R"({"version":3,"sections":[]}}]})";
  EXPECT_EQ(ErrorOf(sections), "invalid source map: a section's map may not have sections itself");
  EXPECT_EQ(ErrorOf(R"({"version":3,"sections":[{"offset":{"line":0,"column":0},"url":"x.map"}]})"),
            "invalid source map: sections that name a `url` are not supported; inline their `map`");
  EXPECT_EQ(ErrorOf(R"({"version":3,"sections":[
    {"offset":{"line":5,"column":0},"map":{"version":3,"sources":[],"mappings":""}},
    {"offset":{"line":1,"column":0},"map":{"version":3,"sources":[],"mappings":""}}]})"),
            "invalid source map: `sections` must be in order of their offsets");
}

TEST(SourceMapTest, AcceptsTheCrossSiteInclusionPrefix) {
  auto map = MustParse(")]}'\n" + MapJson("AAAA"));
  ASSERT_TRUE(map);
  EXPECT_EQ(Describe(map->Lookup(0, 0)), "a.js:0:0");
}

}  // namespace
}  // namespace edge::runtime
