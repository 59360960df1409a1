
#include "gateway/deploy/bundle.h"

#include <gtest/gtest.h>

#include <fmt/core.h>

#include <filesystem>
#include <fstream>

#include "base/testing/temp_dir.h"
#include "runtime/project.h"
#include "runtime/testing/sample_project.h"

namespace edge::gateway {
namespace {
namespace fs = std::filesystem;

WorkerBundle SampleBundle() {
  WorkerBundle bundle;
  bundle.name = "api";
  bundle.main_module = "src/index.js";
  bundle.compatibility_date = "2024-01-01";
  bundle.modules = {{"src/index.js", "export default { fetch() { return new Response('hi'); } };"},
                    {"src/add.wasm", std::string("\0asm\x01\0\0\0", 8)}};
  bundle.vars = {{"GREETING", "hi \"there\"\n", false},
                 {"CONFIG", "{\"a\":1,\"b\":[true,null]}", true}};
  bundle.kv_namespaces = {{"KV", "abc123"}};
  bundle.services = {{"ADMIN", "auth", "Admin"}, {"AUTH", "auth", ""}};
  bundle.limits.cpu_ms = 75;
  bundle.limits.response_bytes = 4096;
  bundle.routes = std::vector<std::string>{"example.com/*", "*.example.com/api/*"};
  return bundle;
}

// A JSON bundle with `extra` spliced into its top-level object.
std::string Json(std::string_view extra = "", std::string_view modules = "") {
  std::string module_list = modules.empty()
                                ? fmt::format("[{{\"name\":\"index.js\",\"content\":\"{}\"}}]",
                                              base::Base64Encode("export default {};"))
                                : std::string(modules);
  return fmt::format("{{\"name\":\"w\",\"main\":\"index.js\",\"modules\":{}{}{}}}", module_list,
                     extra.empty() ? "" : ",", extra);
}

// Decoding `json` fails with a message that contains `says`.
void ExpectRefused(const std::string& json, std::string_view says) {
  StatusOr<WorkerBundle> bundle = DecodeBundle(json);
  ASSERT_FALSE(bundle.ok()) << "accepted: " << json.substr(0, 300);
  EXPECT_EQ(bundle.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(bundle.status().message().find(says), std::string::npos)
      << "message: " << bundle.status().message() << "\nexpected to contain: " << says;
}

TEST(Base64Test, RoundTripsEveryLength) {
  std::string bytes;
  for (int length = 0; length < 70; ++length) {
    std::string encoded = base::Base64Encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(base::Base64DecodedSize(encoded), bytes.size());
    StatusOr<std::string> decoded = base::Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>((length * 37 + 200) & 0xFF));
  }
}

TEST(Base64Test, KnownVectors) {
  // RFC 4648, section 10.
  EXPECT_EQ(base::Base64Encode(""), "");
  EXPECT_EQ(base::Base64Encode("f"), "Zg==");
  EXPECT_EQ(base::Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base::Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base::Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base::Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base::Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base::Base64Encode("\xff\xfe\xfd"), "//79");
  EXPECT_EQ(*base::Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(*base::Base64Decode("//79"), "\xff\xfe\xfd");
  EXPECT_EQ(*base::Base64Decode(""), "");
}

TEST(Base64Test, RefusesWhatIsNotBase64) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm 9", "Zm9-", "Zm9_",
                          "=Zm9", "Zm=v"}) {
    StatusOr<std::string> decoded = base::Base64Decode(bad);
    EXPECT_FALSE(decoded.ok()) << bad;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidInput);
    }
  }
  EXPECT_NE(base::Base64Decode("Zm9-").status().message().find("0x2d at offset 3"),
            std::string::npos);
}

TEST(BundleTest, RoundTrips) {
  WorkerBundle bundle = SampleBundle();
  std::string json = EncodeBundle(bundle);
  StatusOr<WorkerBundle> decoded = DecodeBundle(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->name, "api");
  EXPECT_EQ(decoded->main_module, "src/index.js");
  EXPECT_EQ(decoded->compatibility_date, "2024-01-01");
  ASSERT_EQ(decoded->modules.size(), 2u);
  EXPECT_EQ(decoded->modules[0].name, "src/add.wasm");  // sorted by name
  EXPECT_EQ(decoded->modules[0].content, bundle.modules[1].content);
  EXPECT_EQ(decoded->modules[1].content, bundle.modules[0].content);
  ASSERT_EQ(decoded->vars.size(), 2u);
  EXPECT_EQ(decoded->vars[0].name, "CONFIG");
  EXPECT_TRUE(decoded->vars[0].is_json);
  EXPECT_EQ(decoded->vars[0].value, "{\"a\":1,\"b\":[true,null]}");
  EXPECT_EQ(decoded->vars[1].value, "hi \"there\"\n");
  EXPECT_FALSE(decoded->vars[1].is_json);
  EXPECT_EQ(decoded->kv_namespaces, bundle.kv_namespaces);
  EXPECT_EQ(decoded->services, bundle.services);
  EXPECT_EQ(decoded->limits.cpu_ms, 75u);
  EXPECT_EQ(decoded->limits.memory_mb, 128u);
  EXPECT_EQ(decoded->limits.response_bytes, 4096u);
  EXPECT_EQ(decoded->routes, bundle.routes);
  EXPECT_EQ(EncodeBundle(*decoded), json);

  // Absent routes stay absent (keep the worker's routes); empty stays empty.
  bundle.routes.reset();
  decoded = DecodeBundle(EncodeBundle(bundle));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_FALSE(decoded->routes.has_value());
  bundle.routes = std::vector<std::string>();
  decoded = DecodeBundle(EncodeBundle(bundle));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_TRUE(decoded->routes.has_value());
  EXPECT_TRUE(decoded->routes->empty());
}

TEST(BundleTest, EncodingIsCanonical) {
  WorkerBundle a = SampleBundle();
  WorkerBundle b = SampleBundle();
  std::reverse(b.modules.begin(), b.modules.end());
  std::reverse(b.vars.begin(), b.vars.end());
  b.vars[0].value = "{ \"a\" : 1 ,\n \"b\" : [ true , null ] }";  // same JSON, other spacing
  EXPECT_EQ(EncodeBundle(a), EncodeBundle(b));

  // Key order and spacing of the upload do not matter either.
  std::string content = base::Base64Encode("export default {};");
  std::string one = fmt::format(
      "{{\"name\":\"w\",\"main\":\"index.js\",\"vars\":{{\"B\":2.5,\"A\":\"x\"}},"
      "\"modules\":[{{\"name\":\"index.js\",\"content\":\"{}\"}}],\"limits\":{{\"cpu_ms\":9}}}}",
      content);
  std::string two = fmt::format(
      " {{ \"limits\" : {{ \"cpu_ms\" : 9 }}, \"modules\" : [ {{ \"content\" : \"{}\", \"name\" : "
      "\"index.js\" }} ] , \"vars\" : {{ \"A\" : \"x\", \"B\" : 2.5 }}, \"main\" : \"index.js\", "
      "\"name\" : \"w\" }}",
      content);
  auto first = DecodeBundle(one);
  auto second = DecodeBundle(two);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(EncodeBundle(*first), EncodeBundle(*second));
  // Stable: what EncodeBundle wrote decodes to the same bytes again.
  EXPECT_EQ(EncodeBundle(*DecodeBundle(EncodeBundle(*first))), EncodeBundle(*first));
  EXPECT_TRUE(EncodeBundle(*first).starts_with(
      "{\"name\":\"w\",\"main\":\"index.js\",\"compatibility_date\":\"\",\"modules\":[{"));
}

TEST(BundleTest, DefaultsForOmittedKeys) {
  auto bundle = DecodeBundle(Json());
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ(bundle->compatibility_date, "");
  EXPECT_TRUE(bundle->vars.empty());
  EXPECT_FALSE(bundle->routes.has_value());
  EXPECT_EQ(bundle->limits.cpu_ms, 50u);
  EXPECT_EQ(bundle->limits.memory_mb, 128u);
  EXPECT_EQ(bundle->limits.startup_cpu_ms, 400u);
  EXPECT_EQ(bundle->limits.wall_ms, 30000u);
  EXPECT_EQ(bundle->limits.subrequests, 50u);
  EXPECT_EQ(bundle->limits.request_bytes, 100u << 20);
  EXPECT_EQ(bundle->limits.response_bytes, 0u);
}

TEST(BundleTest, AccountIsOptionalAndChecked) {
  auto plain = DecodeBundle(Json());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->account, "");
  // Absent when empty, so bundles without one keep their bytes and hash.
  EXPECT_EQ(EncodeBundle(*plain).find("account"), std::string::npos);
  auto tenant = DecodeBundle(Json("\"account\":\"acme-1\""));
  ASSERT_TRUE(tenant.ok()) << tenant.status().message();
  EXPECT_EQ(tenant->account, "acme-1");
  auto again = DecodeBundle(EncodeBundle(*tenant));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->account, "acme-1");
  ExpectRefused(Json("\"account\":\"a/b\""), "account \"a/b\" must be");
  ExpectRefused(Json("\"account\":\"-x\""), "must be 1 to 64 letters");
}

TEST(BundleTest, RefusesMalformedDocuments) {
  ExpectRefused("", "not valid JSON");
  ExpectRefused("{\"name\":", "not valid JSON");
  ExpectRefused("[1]", "must be a JSON object");
  ExpectRefused(Json("\"extra\":1"), "unknown key \"extra\"");
  ExpectRefused(Json("\"name\":\"again\""), "\"name\" appears twice");
  ExpectRefused("{\"main\":\"index.js\",\"modules\":[]}", "no \"name\"");
  ExpectRefused("{\"name\":\"w\",\"modules\":[]}", "no \"main\"");
  ExpectRefused("{\"name\":\"w\",\"main\":\"index.js\"}", "no \"modules\"");
  ExpectRefused("{\"name\":7,\"main\":\"index.js\",\"modules\":[]}", "\"name\" must be a string");
  ExpectRefused(Json("", "{}"), "\"modules\" must be an array");
  ExpectRefused(Json("", "[7]"), "modules[0] must be an object");
  ExpectRefused(Json("", "[{\"name\":\"index.js\"}]"), "modules[0]: \"content\" is missing");
  ExpectRefused(Json("", "[{\"name\":\"index.js\",\"content\":\"\",\"type\":\"esm\"}]"),
                "modules[0]: unknown key \"type\"");
  ExpectRefused(Json("", "[{\"name\":\"index.js\",\"content\":5}]"),
                "modules[0].content must be a base64 string");
  ExpectRefused(Json("\"vars\":[]"), "\"vars\" must be an object");
  ExpectRefused(Json("\"kv_namespaces\":[{\"binding\":\"KV\"}]"), "\"id\" is missing");
  ExpectRefused(Json("\"kv_namespaces\":[{\"binding\":\"KV\",\"id\":1}]"),
                "kv_namespaces[0].id must be a string");
  ExpectRefused(Json("\"services\":{}"), "\"services\" must be an array");
  ExpectRefused(Json("\"limits\":[]"), "\"limits\" must be an object");
  ExpectRefused(Json("\"limits\":{\"cpu\":5}"), "limits: unknown key \"cpu\"");
  ExpectRefused(Json("\"limits\":{\"cpu_ms\":\"5\"}"), "limits.cpu_ms must be an integer");
  ExpectRefused(Json("\"limits\":{\"cpu_ms\":5.5}"), "limits.cpu_ms must be an integer");
  ExpectRefused(Json("\"routes\":\"example.com/*\""), "\"routes\" must be an array");
  ExpectRefused(Json("\"routes\":[1]"), "each of \"routes\" must be a string");
  ExpectRefused(Json("\"routes\":null"), "\"routes\" must be an array");
}

TEST(BundleTest, RefusesBadModules) {
  auto modules = [](std::string_view name, std::string_view content = "") {
    return fmt::format(
        "[{{\"name\":\"index.js\",\"content\":\"\"}},{{\"name\":\"{}\",\"content\":"
        "\"{}\"}}]",
        name, content);
  };
  ExpectRefused(Json("", modules("")), "a module name cannot be empty");
  ExpectRefused(Json("", modules("/etc/passwd")), "must be a relative path, not absolute");
  ExpectRefused(Json("", modules("../up.js")), "may not contain '..' segments");
  ExpectRefused(Json("", modules("a/../../up.js")), "'..' segments");
  ExpectRefused(Json("", modules("a/./b.js")), "'.' segments");
  ExpectRefused(Json("", modules("a//b.js")), "empty segment");
  ExpectRefused(Json("", modules("a/")), "empty segment");
  ExpectRefused(Json("", modules("a\\\\b.js")), "not '\\'");
  ExpectRefused(Json("", modules("a\\u0000b.js")), "NUL");
  ExpectRefused(Json("", modules("index.js")), "module \"index.js\" is listed twice");
  ExpectRefused(Json("", modules("x.js", "not base64!")),
                "module \"x.js\": content: invalid base64");
  ExpectRefused(Json("", modules("x.js", "Zm9-")), "unexpected byte 0x2d at offset 3");
  ExpectRefused(Json("", modules("x.js", "Zg")), "not a multiple of 4");
  ExpectRefused(Json("", "[{\"name\":\"other.js\",\"content\":\"\"}]"),
                "main \"index.js\" is not one of the bundle's modules");
  ExpectRefused(Json("", "[]"), "at least one module");
}

TEST(BundleTest, RefusesTooManyModuleBytes) {
  std::string half = base::Base64Encode(std::string(kMaxModuleBytes / 2, 'a'));
  std::string fits = fmt::format(
      "[{{\"name\":\"index.js\",\"content\":\"{}\"}},{{\"name\":\"b.js\",\"content\":\"{}\"}}]",
      half, half);
  auto ok = DecodeBundle(Json("", fits));
  EXPECT_TRUE(ok.ok()) << ok.status().message();

  std::string over = fmt::format(
      "[{{\"name\":\"index.js\",\"content\":\"{}\"}},{{\"name\":\"b.js\",\"content\":\"{}\"}}]",
      half, base::Base64Encode(std::string(kMaxModuleBytes / 2 + 1, 'b')));
  ExpectRefused(Json("", over),
                fmt::format("the modules total {} bytes, over the limit of {} bytes (10 MiB)",
                            kMaxModuleBytes + 1, kMaxModuleBytes));
}

TEST(BundleTest, RefusesBadNames) {
  for (const std::string& name : std::vector<std::string>{
           "", "Api", "-api", "_api", "api.v2", "api v2", "\u00e9t\u00e9", std::string(64, 'a')}) {
    std::string json = Json();
    json.replace(json.find("\"w\""), 3, fmt::format("\"{}\"", name));
    ExpectRefused(json, "is not a valid worker name");
  }
  for (const std::string& name :
       std::vector<std::string>{"a", "0", "api-v2_x", std::string(63, 'a')}) {
    std::string json = Json();
    json.replace(json.find("\"w\""), 3, fmt::format("\"{}\"", name));
    EXPECT_TRUE(DecodeBundle(json).ok()) << name;
  }
  ExpectRefused(Json("\"services\":[{\"binding\":\"AUTH\",\"service\":\"Auth\"}]"),
                "services: the target of \"AUTH\": \"Auth\" is not a valid worker name");
  ExpectRefused(
      Json("\"services\":[{\"binding\":\"AUTH\",\"service\":\"auth\",\"entrypoint\":\"a-b\"}]"),
      "services: the entrypoint of \"AUTH\" must be the name of an export");
  ExpectRefused(
      Json("\"services\":[{\"binding\":\"AUTH\",\"service\":\"auth\",\"entrypoint\":1}]"),
      "services[0].entrypoint must be a string");
  ExpectRefused(Json("\"services\":[{\"binding\":\"AUTH\",\"service\":\"auth\",\"x\":\"y\"}]"),
                "services[0]: unknown key \"x\" (known: binding, service, entrypoint)");
  EXPECT_TRUE(
      DecodeBundle(Json("\"services\":[{\"binding\":\"AUTH\",\"service\":\"auth\",\"entrypoint\":\"Admin\"}]"))
          .ok());
  ExpectRefused(Json("\"compatibility_date\":\"2024-13-01\""), "YYYY-MM-DD");
  ExpectRefused(Json("\"compatibility_date\":\"yesterday\""), "YYYY-MM-DD");
  ExpectRefused(Json("\"compatibility_flags\":\"nodejs_compat\""),
                "compatibility_flags must be an array of strings");
  ExpectRefused(Json("\"compatibility_flags\":[1]"), "each of compatibility_flags must be a string");
  ExpectRefused(Json("\"compatibility_flags\":[\"Node Compat\"]"),
                "compatibility flag \"Node Compat\" must be 1 to 64 of a-z");
  ExpectRefused(Json("\"compatibility_flags\":[\"a\",\"a\"]"), "listed twice");
}

TEST(BundleTest, CompatibilityFlagsTravelWithTheBundle) {
  WorkerBundle bundle = SampleBundle();
  bundle.compatibility_flags = {"nodejs_compat", "streams_enable_constructors"};
  std::string json = EncodeBundle(bundle);
  EXPECT_NE(json.find("\"compatibility_flags\":[\"nodejs_compat\",\"streams_enable_constructors\"]"),
            std::string::npos);
  StatusOr<WorkerBundle> decoded = DecodeBundle(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->compatibility_flags, bundle.compatibility_flags);
  StatusOr<runtime::WorkerSpec> spec = SpecFromBundle(*decoded, "/workers/api/1");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->compatibility_flags, bundle.compatibility_flags);
  EXPECT_EQ(spec->compatibility_date, "2024-01-01");
  // Without flags the key is left out: older bundles keep their bytes.
  EXPECT_EQ(EncodeBundle(SampleBundle()).find("compatibility_flags"), std::string::npos);
}

TEST(BundleTest, RefusesBadBindings) {
  ExpectRefused(Json("\"vars\":{\"my-var\":\"x\"}"),
                "vars: \"my-var\" is not a valid binding name: it must be a JavaScript identifier");
  ExpectRefused(Json("\"vars\":{\"1st\":\"x\"}"), "not a valid binding name");
  ExpectRefused(Json("\"kv_namespaces\":[{\"binding\":\"\",\"id\":\"x\"}]"),
                "kv_namespaces: \"\" is not a valid binding name");
  ExpectRefused(Json("\"vars\":{\"A\":1,\"A\":2}"), "\"A\" is used twice (vars and vars)");
  ExpectRefused(
      Json("\"vars\":{\"KV\":\"x\"},\"kv_namespaces\":[{\"binding\":\"KV\",\"id\":\"x\"}]"),
      "\"KV\" is used twice (vars and kv_namespaces)");
  ExpectRefused(Json("\"kv_namespaces\":[{\"binding\":\"S\",\"id\":\"x\"}],"
                     "\"services\":[{\"binding\":\"S\",\"service\":\"s\"}]"),
                "\"S\" is used twice (kv_namespaces and services)");
  ExpectRefused(Json("\"kv_namespaces\":[{\"binding\":\"KV\",\"id\":\"\"}]"),
                "the id of \"KV\" must be 1 to 511 bytes");
  auto ok = DecodeBundle(Json("\"vars\":{\"$x\":\"1\",\"_y\":true}"));
  EXPECT_TRUE(ok.ok()) << ok.status().message();

  WorkerBundle bundle = SampleBundle();
  EXPECT_TRUE(CheckSecretName(bundle, "API_TOKEN").ok());
  Status clash = CheckSecretName(bundle, "KV");
  EXPECT_NE(clash.message().find("kv_namespaces"), std::string::npos) << clash.message();
  EXPECT_FALSE(CheckSecretName(bundle, "GREETING").ok());
  EXPECT_FALSE(CheckSecretName(bundle, "AUTH").ok());
  EXPECT_FALSE(CheckSecretName(bundle, "not-an-identifier").ok());
}

TEST(BundleTest, RefusesLimitsOutOfRange) {
  struct Case {
    const char* limits;
    const char* says;
  } cases[] = {
      {"\"cpu_ms\":0", "limits.cpu_ms must be an integer from 1 to 300000 (got 0)"},
      {"\"cpu_ms\":300001", "from 1 to 300000 (got 300001)"},
      {"\"memory_mb\":15", "limits.memory_mb must be an integer from 16 to 2048 (got 15)"},
      {"\"memory_mb\":2049", "limits.memory_mb must be an integer from 16 to 2048 (got 2049)"},
      {"\"startup_cpu_ms\":0", "limits.startup_cpu_ms must be an integer from 1 to 10000"},
      {"\"startup_cpu_ms\":10001", "limits.startup_cpu_ms"},
      {"\"wall_ms\":86400001", "limits.wall_ms must be an integer from 0 to 86400000"},
      {"\"subrequests\":10001", "limits.subrequests must be an integer from 0 to 10000"},
      {"\"subrequests\":4294967296", "limits.subrequests"},
      {"\"request_bytes\":-1", "limits.request_bytes cannot be negative (got -1)"},
      {"\"response_bytes\":-5", "limits.response_bytes cannot be negative"},
      {"\"cpu_ms\":1,\"cpu_ms\":2", "the key \"cpu_ms\" appears twice"},
  };
  for (const Case& c : cases)
    ExpectRefused(Json(fmt::format("\"limits\":{{{}}}", c.limits)), c.says);
  auto edges = DecodeBundle(
      Json("\"limits\":{\"cpu_ms\":300000,\"memory_mb\":16,\"startup_cpu_ms\":10000,\"wall_ms\":0,"
           "\"subrequests\":0,\"request_bytes\":18446744073709551615,\"response_bytes\":0}"));
  ASSERT_TRUE(edges.ok()) << edges.status().message();
  EXPECT_EQ(edges->limits.request_bytes, UINT64_MAX);
  auto largest = DecodeBundle(Json("\"limits\":{\"memory_mb\":2048}"));
  ASSERT_TRUE(largest.ok()) << largest.status().message();
  EXPECT_EQ(largest->limits.memory_mb, 2048u);
  auto largest_spec = SpecFromBundle(*largest, "/workers/w/1");
  ASSERT_TRUE(largest_spec.ok()) << largest_spec.status().message();
  EXPECT_EQ(largest_spec->heap_limit_bytes, size_t{2048} << 20);
}

// Without cpu_ms, the CPU per request follows memory_mb: 50 ms per 128 MiB,
// at least 10 ms; a cpu_ms given wins, whatever the memory.
TEST(BundleTest, DefaultCpuFollowsMemory) {
  EXPECT_EQ(DefaultCpuMs(16), 10u);
  EXPECT_EQ(DefaultCpuMs(32), 12u);
  EXPECT_EQ(DefaultCpuMs(128), 50u);
  EXPECT_EQ(DefaultCpuMs(200), 78u);
  EXPECT_EQ(DefaultCpuMs(256), 100u);
  EXPECT_EQ(DefaultCpuMs(2048), 800u);
  EXPECT_EQ(DefaultCpuMs(WorkerLimits{}.memory_mb), WorkerLimits{}.cpu_ms);
  struct Case {
    const char* limits;
    uint64_t cpu_ms;
  } cases[] = {
      {"\"memory_mb\":256", 100},
      {"\"memory_mb\":16", 10},
      {"\"memory_mb\":2048", 800},
      {"\"wall_ms\":100", 50},
      {"\"memory_mb\":256,\"cpu_ms\":20", 20},
      {"\"cpu_ms\":300000,\"memory_mb\":16", 300000},
  };
  for (const Case& c : cases) {
    auto bundle = DecodeBundle(Json(fmt::format("\"limits\":{{{}}}", c.limits)));
    ASSERT_TRUE(bundle.ok()) << c.limits << ": " << bundle.status().message();
    EXPECT_EQ(bundle->limits.cpu_ms, c.cpu_ms) << c.limits;
    auto spec = SpecFromBundle(*bundle, "/workers/w/1");
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    EXPECT_EQ(spec->cpu_limit_ms, c.cpu_ms) << c.limits;
    // Stored with the value it got: a node reading it back agrees.
    auto again = DecodeBundle(EncodeBundle(*bundle));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->limits.cpu_ms, c.cpu_ms) << c.limits;
  }
}

TEST(BundleTest, RefusesBadRoutes) {
  ExpectRefused(Json("\"routes\":[\"example.com\"]"),
                "routes: route \"example.com\": a route "
                "needs a path");
}

TEST(BundleTest, CronTriggersTravelAndAreChecked) {
  WorkerBundle bundle = SampleBundle();
  std::string without = EncodeBundle(bundle);
  // No triggers and the default background limit: the bytes older bundles had.
  EXPECT_EQ(without.find("triggers"), std::string::npos);
  EXPECT_EQ(without.find("background_cpu_ms"), std::string::npos);
  bundle.crons = {"*/5 * * * *", "0 3 * * MON-FRI"};
  bundle.limits.background_cpu_ms = 1000;
  std::string json = EncodeBundle(bundle);
  EXPECT_NE(json.find(",\"background_cpu_ms\":1000}"), std::string::npos) << json;
  EXPECT_TRUE(json.ends_with(",\"triggers\":{\"crons\":[\"*/5 * * * *\",\"0 3 * * MON-FRI\"]}}"))
      << json;
  StatusOr<WorkerBundle> decoded = DecodeBundle(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->crons, bundle.crons);
  EXPECT_EQ(decoded->limits.background_cpu_ms, 1000u);
  EXPECT_EQ(EncodeBundle(*decoded), json);
  StatusOr<runtime::WorkerSpec> spec = SpecFromBundle(*decoded, "/workers/api/1");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->crons, bundle.crons);
  EXPECT_EQ(spec->background_cpu_limit_ms, 1000u);

  ExpectRefused(Json("\"triggers\":{\"crons\":[\"61 * * * *\"]}"),
                "triggers.crons: invalid cron expression \"61 * * * *\": invalid minute field");
  ExpectRefused(Json("\"triggers\":{\"crons\":\"* * * * *\"}"), "must be an array");
  ExpectRefused(Json("\"triggers\":{\"crons\":[5]}"), "each of triggers.crons must be a string");
  ExpectRefused(Json("\"triggers\":{\"cron\":[]}"), "triggers: unknown key \"cron\"");
  ExpectRefused(Json("\"triggers\":[]"), "triggers must be an object");
  ExpectRefused(Json("\"limits\":{\"background_cpu_ms\":0}"), "limits.background_cpu_ms must be");
  std::string many = "\"triggers\":{\"crons\":[";
  for (int i = 0; i < 101; ++i) many += i == 0 ? "\"* * * * *\"" : ",\"* * * * *\"";
  ExpectRefused(Json(many + "]}"), "more than 100 cron triggers");
  bundle.crons.assign(101, "* * * * *");
  EXPECT_FALSE(ValidateBundle(bundle).ok());
}

TEST(BundleTest, RateLimitsAndPoliciesTravelAndAreChecked) {
  StatusOr<WorkerBundle> bundle = DecodeBundle(Json(
      R"("ratelimits":[{"name":"RL","namespace_id":"1001","simple":{"limit":10,"period":60}}],)"
      R"("policies":[ {"rate_limit": {"requests": 5, "period_s": 60}} ])"));
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  ASSERT_EQ(bundle->ratelimits.size(), 1u);
  EXPECT_EQ(bundle->ratelimits[0], (RateLimitEntry{"RL", "1001", 10, 60}));
  EXPECT_EQ(bundle->policies, R"([{"rate_limit":{"requests":5,"period_s":60}}])");
  std::string encoded = EncodeBundle(*bundle);
  StatusOr<WorkerBundle> again = DecodeBundle(encoded);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(EncodeBundle(*again), encoded);
  auto spec = SpecFromBundle(*again, "/workers/w/v1");
  ASSERT_TRUE(spec.ok());
  ASSERT_EQ(spec->bindings.size(), 1u);
  EXPECT_EQ(spec->bindings[0].kind, "ratelimit");
  EXPECT_EQ(spec->bindings[0].Option("period"), "60");

  ExpectRefused(Json(R"("ratelimits":[{"name":"RL","namespace_id":"1","simple":{"limit":1,"period":30}}])"),
                "simple.period of \"RL\" must be 10 or 60");
  ExpectRefused(Json(R"("ratelimits":[{"name":"RL","namespace_id":"x1","simple":{"limit":1,"period":10}}])"),
                "namespace_id of \"RL\" must be an integer");
  ExpectRefused(Json(R"("ratelimits":[{"name":"RL","namespace_id":"1","simple":{"limit":0,"period":10}}])"),
                "simple.limit of \"RL\" must be an integer from 1 to 1000000");
  ExpectRefused(Json(R"("ratelimits":[{"name":"RL","namespace_id":"1","simple":{"limit":1}}])"),
                "ratelimits[0].simple: \"period\" is missing");
  ExpectRefused(Json(R"("vars":{"RL":"x"},"ratelimits":[{"name":"RL","namespace_id":"1","simple":{"limit":1,"period":10}}])"),
                "the binding name \"RL\" is used twice");
  ExpectRefused(Json(R"("policies":{})"), "policies must be an array of objects");
  ExpectRefused(Json(R"("policies":[1])"), "policies must be an array of objects");
}

TEST(BundleTest, R2EventNotificationsTravelAndAreChecked) {
  WorkerBundle bundle = SampleBundle();
  EXPECT_EQ(EncodeBundle(bundle).find("r2_event_notifications"), std::string::npos);
  bundle.r2_event_notifications = {{"uploads", "events", {"object-create"}, "img/", ".png"}};
  std::string json = EncodeBundle(bundle);
  EXPECT_TRUE(json.ends_with(",\"r2_event_notifications\":[{\"bucket\":\"uploads\",\"queue\":\"events\","
                             "\"event_types\":[\"object-create\"],\"prefix\":\"img/\",\"suffix\":\".png\"}]}"))
      << json;
  StatusOr<WorkerBundle> decoded = DecodeBundle(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->r2_event_notifications, bundle.r2_event_notifications);
  EXPECT_EQ(EncodeBundle(*decoded), json);
  StatusOr<runtime::WorkerSpec> spec = SpecFromBundle(*decoded, "/workers/api/1");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->r2_event_notifications, bundle.r2_event_notifications);

  ExpectRefused(Json("\"r2_event_notifications\":[{\"bucket\":\"uploads\",\"queue\":\"q\","
                     "\"event_types\":[\"object-copy\"]}]"),
                "r2_event_notifications: unknown event type \"object-copy\"");
  ExpectRefused(Json("\"r2_event_notifications\":[{\"bucket\":\"uploads\",\"queue\":\"q\"}]"), "event_types");
  ExpectRefused(Json("\"r2_event_notifications\":[{\"bucket\":\"uploads\",\"queue\":\"q\","
                     "\"event_types\":[\"object-create\"],\"filter\":\"x\"}]"),
                "unknown key \"filter\"");
  ExpectRefused(Json("\"r2_event_notifications\":[{\"bucket\":\"uploads\",\"queue\":\"Bad Queue\","
                     "\"event_types\":[\"object-create\"]}]"),
                "r2_event_notifications:");
  ExpectRefused(Json("\"r2_event_notifications\":{}"), "must be an array");
  // A consumer without a dead-letter queue (the example's) travels too.
  bundle = SampleBundle();
  bundle.queue_consumers = {{.queue = "events"}};
  bundle.r2_event_notifications = {{"uploads", "events", {"object-create", "object-delete"}, "", ""}};
  decoded = DecodeBundle(EncodeBundle(bundle));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->queue_consumers, bundle.queue_consumers);
  bundle.r2_event_notifications.assign(101, {"uploads", "events", {"object-create"}, "", ""});
  EXPECT_FALSE(ValidateBundle(bundle).ok());
}

TEST(BundleTest, WorkflowsTravelAndAreChecked) {
  WorkerBundle bundle = SampleBundle();
  EXPECT_EQ(EncodeBundle(bundle).find("workflows"), std::string::npos);  // older bytes kept
  bundle.workflows = {{"ORDER_FLOW", "orders", "OrderFlow"}};
  std::string json = EncodeBundle(bundle);
  EXPECT_NE(json.find(R"("workflows":[{"binding":"ORDER_FLOW","name":"orders","class_name":"OrderFlow"}])"),
            std::string::npos)
      << json;
  StatusOr<WorkerBundle> decoded = DecodeBundle(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->workflows, bundle.workflows);
  EXPECT_EQ(EncodeBundle(*decoded), json);
  StatusOr<runtime::WorkerSpec> spec = SpecFromBundle(*decoded, "/workers/api/1");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  const runtime::EnvBinding& binding = spec->bindings.back();
  EXPECT_EQ(binding.name, "ORDER_FLOW");
  EXPECT_EQ(binding.kind, "workflow");
  EXPECT_EQ(binding.Option("workflow"), "orders");
  EXPECT_EQ(binding.Option("class_name"), "OrderFlow");

  ExpectRefused(Json(R"("workflows":[{"binding":"F","name":"bad name","class_name":"C"}])"),
                "is not a valid workflow name");
  ExpectRefused(Json(R"("workflows":[{"binding":"F","name":"w","class_name":"not-an-identifier"}])"),
                "must be the name of an exported class");
  ExpectRefused(Json(R"("workflows":[{"binding":"F","name":"w"}])"), "\"class_name\" is missing");
  ExpectRefused(Json(R"("workflows":[{"binding":"F","name":"w","class_name":"C","script_name":"x"}])"),
                "unknown key \"script_name\"");
  ExpectRefused(Json(R"("workflows":[{"binding":"F","name":"w","class_name":"C"},)"
                     R"({"binding":"G","name":"w","class_name":"C"}])"),
                "is named twice");
  ExpectRefused(Json(R"("vars":{"F":"x"},"workflows":[{"binding":"F","name":"w","class_name":"C"}])"),
                "the binding name \"F\" is used twice");
}

TEST(BundleTest, SpecAndFilesFromBundle) {
  WorkerBundle bundle = SampleBundle();
  bundle.limits.memory_mb = 64;
  StatusOr<runtime::WorkerSpec> spec = SpecFromBundle(bundle, "/workers/api/3/");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->name, "api");
  EXPECT_EQ(spec->root_dir, "/workers/api/3");
  EXPECT_EQ(spec->entry_path, "/workers/api/3/src/index.js");
  ASSERT_EQ(spec->vars.size(), 2u);
  ASSERT_EQ(spec->bindings.size(), 3u);
  EXPECT_EQ(spec->bindings[0].name, "KV");
  EXPECT_EQ(spec->bindings[0].kind, "kv");
  EXPECT_EQ(spec->bindings[0].options,
            (std::vector<std::pair<std::string, std::string>>{{"namespace", "abc123"}}));
  EXPECT_EQ(spec->bindings[1].name, "ADMIN");
  EXPECT_EQ(spec->bindings[1].kind, "service");
  EXPECT_EQ(spec->bindings[1].options,
            (std::vector<std::pair<std::string, std::string>>{{"service", "auth"},
                                                              {"entrypoint", "Admin"}}));
  EXPECT_EQ(spec->bindings[2].options,
            (std::vector<std::pair<std::string, std::string>>{{"service", "auth"}}));
  EXPECT_EQ(spec->heap_limit_bytes, size_t{64} << 20);
  EXPECT_EQ(spec->cpu_limit_ms, 75u);
  EXPECT_FALSE(SpecFromBundle(bundle, "relative/root").ok());
  EXPECT_FALSE(SpecFromBundle(bundle, "/").ok());

  auto files = BundleFiles(bundle, "/workers/api/3");
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ(files->at("/workers/api/3/src/index.js"), bundle.modules[0].content);
  EXPECT_EQ(files->at("/workers/api/3/src/add.wasm"), bundle.modules[1].content);
}

class BundleFromProjectTest : public ::testing::Test {
 protected:
  BundleFromProjectTest() {
    dir_.Write("src/index.js", "import { add } from './lib/add.js'; export default {};");
    dir_.Write("src/lib/add.js", "export const add = (a, b) => a + b;");
  }
  base::testing::TempDir dir_{"edge-bundle"};
};

TEST_F(BundleFromProjectTest, ReadsModulesAndConfig) {
  dir_.Write("edge.toml", runtime::testing::SampleEdgeToml("src/index.js", "2024-05-01", R"(
routes = ["shop.example.com/*", { pattern = "example.com/shop/*", zone_name = "example.com" }]
[limits]
cpu_ms = 120
)"));
  dir_.Write(".dev.vars", "TOKEN=secret\n");
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  StatusOr<WorkerBundle> bundle =
      BundleFromProject(*project, {dir_.Path("src/index.js"), dir_.Path("src/lib/add.js")});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ(bundle->name, "shop");
  EXPECT_EQ(bundle->main_module, "src/index.js");
  EXPECT_EQ(bundle->compatibility_date, "2024-05-01");
  ASSERT_EQ(bundle->modules.size(), 2u);
  EXPECT_EQ(bundle->modules[0].name, "src/index.js");
  EXPECT_EQ(bundle->modules[1].name, "src/lib/add.js");
  EXPECT_EQ(bundle->modules[1].content, "export const add = (a, b) => a + b;");
  ASSERT_EQ(bundle->vars.size(), 2u);
  EXPECT_EQ(bundle->vars[1].name, "LIMITS");
  EXPECT_TRUE(bundle->vars[1].is_json);
  EXPECT_EQ(bundle->vars[1].value, "{\"max\":3,\"names\":[\"a\",\"b\"]}");
  EXPECT_EQ(bundle->kv_namespaces,
            (std::vector<std::pair<std::string, std::string>>{{"CACHE", "abc123"}}));
  EXPECT_EQ(bundle->services,
            (std::vector<ServiceBindingEntry>{{"AUTH", "auth-worker", ""},
                                              {"ADMIN", "auth-worker", "Admin"}}));
  EXPECT_EQ(bundle->limits.cpu_ms, 120u);
  ASSERT_TRUE(bundle->routes.has_value());
  EXPECT_EQ(*bundle->routes,
            (std::vector<std::string>{"shop.example.com/*", "example.com/shop/*"}));

  // What the project gives survives the trip through JSON unchanged.
  std::string json = EncodeBundle(*bundle);
  StatusOr<WorkerBundle> decoded = DecodeBundle(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(EncodeBundle(*decoded), json);
}

TEST_F(BundleFromProjectTest, DefaultsWithoutLimitsOrRoutes) {
  dir_.Write("edge.toml", "name = \"shop\"\nmain = \"src/index.js\"\n");
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  // The entry is added when the list lacks it.
  StatusOr<WorkerBundle> bundle = BundleFromProject(*project, {dir_.Path("src/lib/add.js")});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ(bundle->modules.size(), 2u);
  EXPECT_EQ(bundle->limits.cpu_ms, WorkerLimits{}.cpu_ms);
  EXPECT_FALSE(bundle->routes.has_value());
}

TEST_F(BundleFromProjectTest, TakesEveryLimitFromTheConfig) {
  dir_.Write("edge.toml",
             runtime::testing::EdgeTomlWithLimits(
                 "src/index.js", "wall_ms = 300\n" + std::string(runtime::testing::kSampleLimits)));
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  StatusOr<WorkerBundle> bundle = BundleFromProject(*project, {dir_.Path("src/index.js")});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ(bundle->limits.cpu_ms, DefaultCpuMs(32));  // not set: follows memory_mb
  EXPECT_EQ(bundle->limits.memory_mb, 32u);
  EXPECT_EQ(bundle->limits.startup_cpu_ms, 200u);
  EXPECT_EQ(bundle->limits.wall_ms, 300u);
  EXPECT_EQ(bundle->limits.subrequests, 2u);
  EXPECT_EQ(bundle->limits.request_bytes, 1000u);
  EXPECT_EQ(bundle->limits.response_bytes, 5000u);

  // Out of the bundle's range: refused, naming the config file and the key.
  dir_.Write("edge.toml", runtime::testing::EdgeTomlWithLimits("src/index.js", "cpu_ms = 300001\n"));
  project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  bundle = BundleFromProject(*project, {dir_.Path("src/index.js")});
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.status().message().find("edge.toml: limits.cpu_ms must be an integer from "
                                           "1 to 300000 (got 300001)"),
            std::string::npos)
      << bundle.status().message();
  // memory_mb's range is the config's own (edge dev refuses it too).
  dir_.Write("edge.toml", runtime::testing::EdgeTomlWithLimits("src/index.js", "memory_mb = 8\n"));
  project = runtime::LoadProject(dir_.path());
  ASSERT_FALSE(project.ok());
  EXPECT_NE(project.status().message().find("memory_mb must be an integer from 16 to 2048 (got 8)"),
            std::string::npos)
      << project.status().message();
  // A sized worker without cpu_ms gets the CPU that follows its memory.
  dir_.Write("edge.toml", runtime::testing::EdgeTomlWithLimits("src/index.js", "memory_mb = 2048\n"));
  project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  bundle = BundleFromProject(*project, {dir_.Path("src/index.js")});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ(bundle->limits.memory_mb, 2048u);
  EXPECT_EQ(bundle->limits.cpu_ms, 800u);
}

TEST_F(BundleFromProjectTest, RefusesModulesOutsideTheProject) {
  dir_.Write("edge.toml", "name = \"shop\"\nmain = \"src/index.js\"\n");
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  std::string outside = fs::path(dir_.path()).parent_path() / "elsewhere.js";
  StatusOr<WorkerBundle> bundle = BundleFromProject(*project, {dir_.Path("src/index.js"), outside});
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.status().message().find(outside), std::string::npos)
      << bundle.status().message();
  EXPECT_NE(bundle.status().message().find("outside the project folder"), std::string::npos);
}

TEST_F(BundleFromProjectTest, RefusesWhatABundleCannotHold) {
  dir_.Write("edge.toml", "name = \"My Shop\"\nmain = \"src/index.js\"\n");
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  StatusOr<WorkerBundle> bundle = BundleFromProject(*project, {dir_.Path("src/index.js")});
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.status().message().find("edge.toml: \"My Shop\" is not a valid worker name"),
            std::string::npos)
      << bundle.status().message();

  dir_.Write("edge.toml", "name = \"shop\"\nmain = \"src/index.js\"\nroute = \"example.com\"\n");
  project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  bundle = BundleFromProject(*project, {dir_.Path("src/index.js")});
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.status().message().find("needs a path"), std::string::npos)
      << bundle.status().message();
}

TEST_F(BundleFromProjectTest, WorkflowsFromTheConfig) {
  dir_.Write("wrangler.toml", R"(name = "shop"
main = "src/index.js"
[[workflows]]
name = "orders"
binding = "ORDER_FLOW"
class_name = "OrderFlow"
)");
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  StatusOr<WorkerBundle> bundle =
      BundleFromProject(*project, {dir_.Path("src/index.js"), dir_.Path("src/lib/add.js")});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  ASSERT_EQ(bundle->workflows.size(), 1u);
  EXPECT_EQ(bundle->workflows[0], (WorkflowBindingEntry{"ORDER_FLOW", "orders", "OrderFlow"}));
  for (const auto& [config, error] : std::vector<std::pair<std::string, std::string>>{
           {"[[workflows]]\nname = \"o\"\nbinding = \"F\"\nclass_name = \"C\"\nscript_name = \"x\"\n",
            "script_name is not supported"},
           {"[[workflows]]\nname = \"o\"\nbinding = \"F\"\n", "needs a class_name"},
           {"[[workflows]]\nname = \"o o\"\nbinding = \"F\"\nclass_name = \"C\"\n", "not a valid workflow name"},
           {"[[workflows]]\nname = \"o\"\nbinding = \"F\"\nclass_name = \"C\"\nretries = 1\n",
            "has no key 'retries'"},
           {"workflows = 5\n", "must be an array of tables"}}) {
    dir_.Write("wrangler.toml", std::string("name = \"c\"\nmain = \"src/index.js\"\n") + config);
    StatusOr<runtime::Project> bad = runtime::LoadProject(dir_.path());
    ASSERT_FALSE(bad.ok()) << config;
    EXPECT_NE(bad.status().message().find(error), std::string::npos) << bad.status().message();
  }
}

TEST_F(BundleFromProjectTest, CronTriggersFromTheConfig) {
  dir_.Write("wrangler.toml", R"(name = "cleanup"
main = "src/index.js"
[triggers]
crons = ["*/5 * * * *", "0 3 * * MON-FRI"]
[limits]
background_cpu_ms = 2000
)");
  StatusOr<runtime::Project> project = runtime::LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->spec.crons, (std::vector<std::string>{"*/5 * * * *", "0 3 * * MON-FRI"}));
  EXPECT_EQ(project->spec.background_cpu_limit_ms, 2000u);
  StatusOr<WorkerBundle> bundle =
      BundleFromProject(*project, {dir_.Path("src/index.js"), dir_.Path("src/lib/add.js")});
  ASSERT_TRUE(bundle.ok()) << bundle.status().message();
  EXPECT_EQ(bundle->crons, project->spec.crons);
  EXPECT_EQ(bundle->limits.background_cpu_ms, 2000u);

  // A bad expression is an error naming the file and the expression.
  dir_.Write("wrangler.toml", R"(name = "cleanup"
main = "src/index.js"
[triggers]
crons = ["0 3 * * MON-FRI", "0 25 * * *"]
)");
  StatusOr<runtime::Project> bad = runtime::LoadProject(dir_.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("wrangler.toml"), std::string::npos);
  EXPECT_NE(bad.status().message().find("\"0 25 * * *\""), std::string::npos)
      << bad.status().message();
  for (const char* config : {"[triggers]\ncrons = \"* * * * *\"\n", "[triggers]\ncrons = [1]\n",
                             "[triggers]\ncron = []\n", "triggers = 5\n"}) {
    dir_.Write("wrangler.toml", std::string("name = \"c\"\nmain = \"src/index.js\"\n") + config);
    EXPECT_FALSE(runtime::LoadProject(dir_.path()).ok()) << config;
  }
}

}  // namespace
}  // namespace edge::gateway
