#include "runtime/project.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/testing/temp_dir.h"
#include "runtime/testing/sample_project.h"

namespace edge::runtime {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ProjectTest : public ::testing::Test {
 protected:
  ProjectTest() { dir_.Write("index.js", "export default { fetch() {} };"); }
  // Writes `toml` as edge.toml and loads the project.
  StatusOr<Project> Load(std::string_view toml) {
    dir_.Write("edge.toml", toml);
    return LoadProject(dir_.path());
  }
  // Why loading edge.toml `toml` fails ("(loaded)" when it does not).
  std::string RefusalOf(std::string_view toml) {
    StatusOr<Project> project = Load(toml);
    return project.ok() ? "(loaded)" : project.status().message();
  }
  base::testing::TempDir dir_{"edge-project"};
};

TEST_F(ProjectTest, ReadsCompatibilityFlags) {
  dir_.Write("index.js", "export default {};");
  dir_.Write("edge.toml", "name = \"shop\"\nmain = \"index.js\"\n"
                          "compatibility_flags = [\"nodejs_compat\", \"streams_enable_constructors\"]\n");
  auto project = LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->spec.compatibility_flags,
            (std::vector<std::string>{"nodejs_compat", "streams_enable_constructors"}));
  EXPECT_THAT(RefusalOf("name = \"shop\"\nmain = \"index.js\"\ncompatibility_flags = \"nodejs_compat\"\n"),
              HasSubstr("compatibility_flags must be an array of strings"));
  EXPECT_THAT(RefusalOf("name = \"shop\"\nmain = \"index.js\"\ncompatibility_flags = [\"nodejs compat\"]\n"),
              HasSubstr("compatibility flag \"nodejs compat\" must be"));
}

TEST_F(ProjectTest, ReadsWranglerKeys) {
  dir_.Write("edge.toml",
             testing::SampleEdgeToml("index.js", "2026-11-01", "[limits]\ncpu_ms = 250\n"));
  auto project = LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->spec.name, "shop");
  EXPECT_EQ(project->spec.entry_path, (fs::path(dir_.path()) / "index.js").string());
  EXPECT_EQ(project->compatibility_date, "2026-11-01");
  EXPECT_EQ(project->spec.compatibility_date, "2026-11-01");
  EXPECT_TRUE(project->spec.compatibility_flags.empty());
  EXPECT_EQ(project->spec.cpu_limit_ms, 250u);
  EXPECT_EQ(project->cpu_ms, std::optional<uint64_t>(250));
  EXPECT_FALSE(project->routes.has_value());
  ASSERT_EQ(project->spec.vars.size(), 2u);
  EXPECT_EQ(project->spec.vars[0].value, "hi");
  EXPECT_FALSE(project->spec.vars[0].is_json);
  EXPECT_TRUE(project->spec.vars[1].is_json);
  ASSERT_EQ(project->spec.bindings.size(), 3u);
  EXPECT_EQ(project->spec.bindings[0].name, "CACHE");
  EXPECT_EQ(project->spec.bindings[0].kind, "kv");
  EXPECT_EQ(project->spec.bindings[0].options[0].second, "abc123");
  EXPECT_EQ(project->spec.bindings[1].kind, "service");
  EXPECT_EQ(project->spec.bindings[1].options[0].second, "auth-worker");
  EXPECT_EQ(project->spec.bindings[1].Option("entrypoint"), "");
  EXPECT_EQ(project->spec.bindings[2].name, "ADMIN");
  EXPECT_EQ(project->spec.bindings[2].Option("service"), "auth-worker");
  EXPECT_EQ(project->spec.bindings[2].Option("entrypoint"), "Admin");
  EXPECT_THAT(RefusalOf("name = \"shop\"\nmain = \"index.js\"\n[[services]]\nbinding = \"A\"\n"
                        "service = \"a\"\nentrypoint = 3\n"),
              HasSubstr("[[services]] A: entrypoint must be the name of an export"));
}

TEST_F(ProjectTest, ReadsTheAccountId) {
  dir_.Write("index.js", "export default {};");
  auto project = Load("name = \"shop\"\nmain = \"index.js\"\naccount_id = \"acme\"\n");
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->account_id, "acme");
  EXPECT_THAT(RefusalOf("name = \"shop\"\nmain = \"index.js\"\naccount_id = 5\n"),
              HasSubstr("account_id must be a string"));
}

TEST_F(ProjectTest, ReadsEveryLimit) {
  auto project = Load(testing::EdgeTomlWithLimits(
      "index.js", "cpu_ms = 50\nwall_ms = 0\n" + std::string(testing::kSampleLimits)));
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->cpu_ms, std::optional<uint64_t>(50));
  EXPECT_EQ(project->memory_mb, std::optional<uint64_t>(32));
  EXPECT_EQ(project->startup_cpu_ms, std::optional<uint64_t>(200));
  EXPECT_EQ(project->wall_ms, std::optional<uint64_t>(0));
  EXPECT_EQ(project->subrequests, std::optional<uint64_t>(2));
  EXPECT_EQ(project->request_bytes, std::optional<uint64_t>(1000));
  EXPECT_EQ(project->response_bytes, std::optional<uint64_t>(5000));
  // The runtime's own limits follow the config.
  EXPECT_EQ(project->spec.cpu_limit_ms, 50u);
  EXPECT_EQ(project->spec.heap_limit_bytes, size_t{32} << 20);
  EXPECT_EQ(project->spec.startup_cpu_limit_ms, 200u);

  // Unset keys stay unset, and the spec keeps its defaults.
  project = Load(testing::EdgeTomlWithLimits("index.js", "wall_ms = 300\n"));
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->wall_ms, std::optional<uint64_t>(300));
  EXPECT_FALSE(project->cpu_ms.has_value());
  EXPECT_FALSE(project->memory_mb.has_value());
  EXPECT_FALSE(project->startup_cpu_ms.has_value());
  EXPECT_FALSE(project->subrequests.has_value());
  EXPECT_FALSE(project->request_bytes.has_value());
  EXPECT_FALSE(project->response_bytes.has_value());
  EXPECT_EQ(project->spec.heap_limit_bytes, WorkerSpec{}.heap_limit_bytes);
  EXPECT_EQ(project->spec.startup_cpu_limit_ms, WorkerSpec{}.startup_cpu_limit_ms);

  struct Bad {
    const char* line;
    const char* message;
  };
  for (const Bad& bad : {
           Bad{"cpu_ms = 0", "[limits] cpu_ms must be a positive integer"},
           Bad{"memory_mb = 0", "[limits] memory_mb must be an integer from 16 to 2048 (got 0)"},
           Bad{"memory_mb = 15", "[limits] memory_mb must be an integer from 16 to 2048 (got 15)"},
           Bad{"memory_mb = 2049", "[limits] memory_mb must be an integer from 16 to 2048 (got 2049)"},
           Bad{"memory_mb = \"1G\"", "[limits] memory_mb must be an integer from 16 to 2048"},
           Bad{"startup_cpu_ms = -1", "[limits] startup_cpu_ms must be a positive integer"},
           Bad{"wall_ms = -1", "[limits] wall_ms must be a non-negative integer"},
           Bad{"subrequests = 1.5", "[limits] subrequests must be a non-negative integer"},
           Bad{"subrequests = 4294967296", "[limits] subrequests must be at most 4294967295"},
           Bad{"request_bytes = \"1k\"", "[limits] request_bytes must be a non-negative integer"},
           Bad{"response_bytes = -5", "[limits] response_bytes must be a non-negative integer"},
           Bad{"cpu_msec = 5", "[limits] has no key 'cpu_msec'"},
       }) {
    std::string refusal =
        RefusalOf(testing::EdgeTomlWithLimits("index.js", std::string(bad.line) + "\n"));
    EXPECT_THAT(refusal, HasSubstr(bad.message)) << bad.line;
    EXPECT_THAT(refusal, HasSubstr("edge.toml")) << bad.line;
  }
}

TEST_F(ProjectTest, ReadsRoutesAsWranglerDoes) {
  using Routes = std::vector<std::string>;
  auto project = Load(R"(
name = "shop"
main = "index.js"
routes = [
  "shop.example.com/*",
  { pattern = "example.com/shop/*", zone_name = "example.com" },
  { pattern = "api.example.com", custom_domain = true },
]
)");
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->routes,
            (Routes{"shop.example.com/*", "example.com/shop/*", "api.example.com/*"}));
  EXPECT_FALSE(project->cpu_ms.has_value());

  project = Load("name = \"shop\"\nmain = \"index.js\"\nroute = \"example.com/*\"\n");
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->routes, Routes{"example.com/*"});

  project = Load(
      "name = \"shop\"\nmain = \"index.js\"\nroute = { pattern = \"a.com/*\", zone_id = \"z\" }\n");
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->routes, Routes{"a.com/*"});

  project = Load("name = \"shop\"\nmain = \"index.js\"\nroutes = []\n");
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->routes, Routes{});

  EXPECT_THAT(RefusalOf("main = \"index.js\"\nroute = \"a.com/*\"\nroutes = [\"b.com/*\"]\n"),
              HasSubstr("`route` or `routes`, not both"));

  EXPECT_THAT(RefusalOf("main = \"index.js\"\nroutes = [{ zone_name = \"a.com\" }]\n"),
              HasSubstr("`pattern`"));

  EXPECT_FALSE(Load("main = \"index.js\"\nroutes = \"a.com/*\"\n").ok());
}

TEST_F(ProjectTest, FallsBackToWranglerToml) {
  dir_.Write("wrangler.toml", "name = \"w\"\nmain = \"index.js\"\n");
  auto project = LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->spec.name, "w");
}

TEST_F(ProjectTest, ErrorsSayWhereAndWhat) {
  EXPECT_THAT(RefusalOf("name = \"x\"\nmain = [\n"), HasSubstr("edge.toml:"));

  EXPECT_THAT(RefusalOf("name = \"x\"\n"), HasSubstr("`main`"));

  EXPECT_THAT(RefusalOf("name = \"x\"\nmain = \"gone.js\"\n"), HasSubstr("gone.js"));

  fs::remove(fs::path(dir_.path()) / "edge.toml");
  auto none = LoadProject(dir_.path());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no edge.toml or wrangler.toml"), std::string::npos);
}

TEST_F(ProjectTest, R2EventNotificationsAreReadAndChecked) {
  constexpr std::string_view kHead = "name = \"x\"\nmain = \"index.js\"\n[[r2_event_notifications]]\n";
  auto project = Load(std::string(kHead) +
                      "bucket = \"uploads\"\nqueue = \"events\"\n"
                      "event_types = [\"object-create\", \"object-delete\", \"object-create\"]\n"
                      "prefix = \"img/\"\nsuffix = \".png\"\n");
  ASSERT_TRUE(project.ok()) << project.status().message();
  ASSERT_EQ(project->spec.r2_event_notifications.size(), 1u);
  const R2EventNotificationSpec& rule = project->spec.r2_event_notifications[0];
  EXPECT_EQ(rule.bucket, "uploads");
  EXPECT_EQ(rule.queue, "events");
  EXPECT_EQ(rule.event_types, (std::vector<std::string>{"object-create", "object-delete"}));
  EXPECT_EQ(rule.prefix, "img/");
  EXPECT_EQ(rule.suffix, ".png");

  EXPECT_THAT(RefusalOf(std::string(kHead) + "bucket = \"uploads\"\nqueue = \"q\"\nevent_types = [\"object-copy\"]\n"),
              HasSubstr("unknown event type \"object-copy\""));
  EXPECT_THAT(RefusalOf(std::string(kHead) + "bucket = \"uploads\"\nqueue = \"q\"\nevent_types = []\n"),
              HasSubstr("event_types must be a non-empty array"));
  EXPECT_THAT(RefusalOf(std::string(kHead) + "bucket = \"uploads\"\nqueue = \"q\"\nevent_types = [\"object-create\"]\n"
                        "rules = 1\n"),
              HasSubstr("has no key 'rules'"));
  EXPECT_THAT(RefusalOf(std::string(kHead) + "bucket = \"Up\"\nqueue = \"q\"\nevent_types = [\"object-create\"]\n"),
              HasSubstr("bucket \"Up\" is not a valid R2 bucket name"));
  EXPECT_THAT(RefusalOf(std::string(kHead) + "bucket = \"uploads\"\nevent_types = [\"object-create\"]\n"),
              HasSubstr("needs bucket, queue and event_types"));
  EXPECT_THAT(RefusalOf(std::string(kHead) + "bucket = \"uploads\"\nqueue = \"q\"\nevent_types = [\"object-create\"]\n"
                        "prefix = \"" + std::string(1025, 'p') + "\"\n"),
              HasSubstr("prefix must be a string of at most 1024 bytes"));
  EXPECT_THAT(RefusalOf("name = \"x\"\nmain = \"index.js\"\nr2_event_notifications = 5\n"),
              HasSubstr("r2_event_notifications must be an array of tables"));
}

TEST_F(ProjectTest, ALoneFileIsAWorker) {
  auto project = LoadProject((fs::path(dir_.path()) / "index.js").string());
  ASSERT_TRUE(project.ok()) << project.status().message();
  EXPECT_EQ(project->spec.name, "index");
  EXPECT_FALSE(LoadProject((fs::path(dir_.path()) / "nope.txt").string()).ok());
}

TEST_F(ProjectTest, DevVarsAreSecrets) {
  dir_.Write("edge.toml", "name = \"x\"\nmain = \"index.js\"\n");
  dir_.Write(".dev.vars",
             "# comment\n"
             "API_KEY=abc123\n"
             "export QUOTED=\"line\\none\"\n"
             "SINGLE='kept \\n as is'\n"
             "SPACED = value with spaces # trailing comment\n"
             "EMPTY=\n");
  auto project = LoadProject(dir_.path());
  ASSERT_TRUE(project.ok()) << project.status().message();
  const auto& secrets = project->spec.secrets;
  ASSERT_EQ(secrets.size(), 5u);
  EXPECT_EQ(secrets[0].name, "API_KEY");
  EXPECT_EQ(secrets[0].value, "abc123");
  EXPECT_EQ(secrets[1].value, "line\none");
  EXPECT_EQ(secrets[2].value, "kept \\n as is");
  EXPECT_EQ(secrets[3].name, "SPACED");
  EXPECT_EQ(secrets[3].value, "value with spaces");
  EXPECT_EQ(secrets[4].value, "");
}

TEST_F(ProjectTest, ABadDevVarsLineIsNamedButNotShown) {
  dir_.Write("edge.toml", "name = \"x\"\nmain = \"index.js\"\n");
  dir_.Write(".dev.vars", "GOOD=1\nsupersecretvalue\n");
  auto project = LoadProject(dir_.path());
  ASSERT_FALSE(project.ok());
  EXPECT_NE(project.status().message().find(".dev.vars:2"), std::string::npos);
  EXPECT_EQ(project.status().message().find("supersecret"), std::string::npos);
}

}  // namespace
}  // namespace edge::runtime
