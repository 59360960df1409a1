// The admin API: the bearer check, the token file, and what every endpoint
// answers to input it refuses (status and message), against a node running
// in-process.
#include "gateway/node/admin_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/testing/temp_dir.h"
#include "gateway/node/testing/node_fixtures.h"
#include "gateway/node/testing/node_harness.h"

namespace edge::gateway {
namespace {

using ::testing::HasSubstr;
using testing::NodeHarness;
using testing::Response;

TEST(CheckBearerTest, AcceptsOnlyTheRightTokenAsABearerCredential) {
  const std::string token = "s3cret-token-value";
  EXPECT_EQ(CheckBearer("Bearer s3cret-token-value", token), 0);
  EXPECT_EQ(CheckBearer("bearer s3cret-token-value", token), 0);  // the scheme ignores case
  EXPECT_EQ(CheckBearer("Bearer   s3cret-token-value", token), 0);
  // Missing, or not a Bearer credential: 401.
  EXPECT_EQ(CheckBearer("", token), 401);
  EXPECT_EQ(CheckBearer("Bearer ", token), 401);
  EXPECT_EQ(CheckBearer("Bearer", token), 401);
  EXPECT_EQ(CheckBearer("Basic czNjcmV0LXRva2VuLXZhbHVl", token), 401);
  EXPECT_EQ(CheckBearer("s3cret-token-value", token), 401);
  // A wrong token: 403, however close to the right one.
  EXPECT_EQ(CheckBearer("Bearer s3cret-token-valuf", token), 403);
  EXPECT_EQ(CheckBearer("Bearer s3cret-token-valu", token), 403);
  // White space around the credential is not part of it (RFC 9110 5.5: the
  // server strips it from field values too); inside, it is no b64token.
  EXPECT_EQ(CheckBearer("Bearer s3cret-token-value ", token), 0);
  EXPECT_EQ(CheckBearer("Bearer s3cret token-value", token), 401);
  EXPECT_EQ(CheckBearer("Bearer s3cret-token-valuex", token), 403);
  EXPECT_EQ(CheckBearer("Bearer S3CRET-TOKEN-VALUE", token), 403);
  EXPECT_EQ(CheckBearer(std::string("Bearer s3cret-token-value\0x", 27), token), 403);
}

class ReadAdminTokenTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    return temp_.Write(name, content);
  }
  base::testing::TempDir temp_{"edge-token-test"};
  std::string dir_ = temp_.path();
};

TEST_F(ReadAdminTokenTest, TrimsWhitespaceAroundTheToken) {
  auto token = ReadAdminToken(Write("token", "  \tlong-random-token-0123\r\n\n"));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(*token, "long-random-token-0123");
  // A short token is accepted (with a warning in the log).
  auto short_token = ReadAdminToken(Write("short", "abc\n"));
  ASSERT_TRUE(short_token.ok());
  EXPECT_EQ(*short_token, "abc");
}

TEST_F(ReadAdminTokenTest, SaysWhatToDoWhenThereIsNone) {
  auto unset = ReadAdminToken("");
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(unset.status().message(), HasSubstr("--admin-token-file"));
  auto missing = ReadAdminToken(dir_ + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir_ + "/nope"));
  std::string blank = Write("blank", " \n\t\n");
  auto empty = ReadAdminToken(blank);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(empty.status().message(), "the admin token file " + blank + " is empty");
}

// One node for every endpoint test (they change nothing but KV), with a
// sync token besides the admin token and one worker deployed.
class AdminApiTest : public ::testing::Test {
 protected:
  static constexpr const char* kSyncToken = "sync-token-abcdefghijklmnop";

  static void SetUpTestSuite() {
    node_ = new NodeHarness();
    std::ofstream(node_->dir() + "/sync-token") << kSyncToken;
    node_->options().sync_token_file = node_->dir() + "/sync-token";
    ASSERT_TRUE(node_->Start()) << "exit code " << node_->exit_code();
    std::string deployed = node_->AdminOk(
        "PUT", "/workers/site",
        testing::BundleJson("site", "export default { fetch() { return new Response('hi'); } };",
                            {"site.test/*"}));
    ASSERT_THAT(deployed, HasSubstr("\"version\":1"));
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }

  // Expects `method path` to be answered `status` with a JSON error holding
  // `message`.
  static void ExpectRefused(std::string_view method, std::string_view path, std::string_view body,
                            int status, std::string_view message) {
    std::optional<Response> response = node_->Admin(method, path, body);
    ASSERT_TRUE(response) << method << " " << path;
    EXPECT_EQ(response->status, status) << method << " " << path << ": " << response->body;
    EXPECT_EQ(response->Header("Content-Type"), "application/json") << method << " " << path;
    EXPECT_THAT(response->body, HasSubstr("{\"error\":")) << method << " " << path;
    EXPECT_THAT(response->body, HasSubstr(message)) << method << " " << path;
  }

  static NodeHarness* node_;
};

NodeHarness* AdminApiTest::node_ = nullptr;

TEST_F(AdminApiTest, EveryCallNeedsTheBearerToken) {
  for (auto [method, path] :
       {std::pair{"GET", "/workers"}, std::pair{"GET", "/metrics"},
        std::pair{"PUT", "/workers/site"}, std::pair{"GET", "/status"},
        std::pair{"DELETE", "/workers/site/secrets/A"}, std::pair{"GET", "/workers/site/tail"},
        std::pair{"GET", "/nowhere"}}) {
    std::optional<Response> missing = node_->Admin(method, path, "", "");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 401) << method << " " << path;
    EXPECT_EQ(missing->Header("WWW-Authenticate"), "Bearer");
    EXPECT_THAT(missing->body, HasSubstr("this API needs Authorization: Bearer <token>"));
    std::optional<Response> wrong =
        node_->Admin(method, path, "", std::string(NodeHarness::kToken) + "x");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 403) << method << " " << path;
    EXPECT_FALSE(wrong->Has("WWW-Authenticate"));
    EXPECT_THAT(wrong->body, HasSubstr("the token is not valid"));
  }
  // The site is still there: nothing refused got through.
  EXPECT_EQ(node_->Get("site.test")->body, "hi");
}

TEST_F(AdminApiTest, TheSyncTokenOpensTheSyncAndKvPathsOnly) {
  std::optional<Response> workers = node_->Admin("GET", "/workers", "", kSyncToken);
  ASSERT_TRUE(workers);
  EXPECT_EQ(workers->status, 403);
  std::optional<Response> put = node_->Admin("PUT", "/kv/acct/ns/key", "value", kSyncToken);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  std::optional<Response> get = node_->Admin("GET", "/kv/acct/ns/key", "", kSyncToken);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "value");
  // The admin token opens them too.
  EXPECT_EQ(node_->AdminOk("GET", "/kv/acct/ns/key"), "value");
}

TEST_F(AdminApiTest, UnknownPathsAndMethodsAreRefused) {
  ExpectRefused("GET", "/nope", "", 404, "no such endpoint: /nope");
  ExpectRefused("GET", "/workers/site/unknown", "", 404, "no such endpoint: /workers/site/unknown");
  ExpectRefused("GET", "/workers/site/secrets/A/B", "", 404, "no such endpoint");
  for (const char* path :
       {"/metrics", "/usage", "/status", "/routes", "/workers", "/workers/site/versions",
        "/workers/site/secrets", "/workers/site/tail"}) {
    std::optional<Response> response = node_->Admin("POST", path, "{}");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 405) << path;
    EXPECT_EQ(response->Header("Allow"), "GET") << path;
    EXPECT_THAT(response->body, HasSubstr("method not allowed: use GET")) << path;
  }
  for (auto [method, path, allowed] : {std::tuple{"PATCH", "/workers/site", "GET, PUT, DELETE"},
                                       std::tuple{"GET", "/workers/site/rollback", "POST"},
                                       std::tuple{"DELETE", "/workers/site/routes", "GET, PUT"},
                                       std::tuple{"GET", "/workers/site/secrets/A", "PUT, DELETE"},
                                       std::tuple{"POST", "/kv/acct/ns/key", "GET, PUT, DELETE"}}) {
    std::optional<Response> response = node_->Admin(method, path, "{}");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 405) << method << " " << path;
    EXPECT_EQ(response->Header("Allow"), allowed) << method << " " << path;
  }
}

TEST_F(AdminApiTest, BadWorkerNamesAndMissingWorkersAreRefused) {
  ExpectRefused("GET", "/workers/Bad_Name", "", 400, "is not a valid worker name");
  ExpectRefused("PUT", "/workers/-dash", "{}", 400, "is not a valid worker name");
  ExpectRefused("GET", "/workers/ghost", "", 404, "no worker named 'ghost'");
  ExpectRefused("GET", "/workers/ghost/routes", "", 404, "no worker named 'ghost'");
  ExpectRefused("DELETE", "/workers/ghost", "", 404, "ghost");
}

TEST_F(AdminApiTest, BadBodiesAndQueriesAreRefused) {
  ExpectRefused("GET", "/usage?since=yesterday", "", 400, "since must be a Unix time in seconds");
  ExpectRefused("GET", "/usage?since=12x", "", 400, "since must be a Unix time in seconds");
  EXPECT_THAT(node_->AdminOk("GET", "/usage?since=0"), HasSubstr("{"));
  for (const char* body :
       {"", "not json", "{}", R"({"version": 0})", R"({"version": "1"})", R"({"version": -1})"}) {
    ExpectRefused("POST", "/workers/site/rollback", body, 400,
                  "the body must be {\\\"version\\\": <a version id>}");
  }
  for (const char* body : {"", "[]", "{}", R"({"routes": "site.test/*"})"}) {
    ExpectRefused("PUT", "/workers/site/routes", body, 400,
                  "the body must be {\\\"routes\\\": [\\\"host/path*\\\", ...]}");
  }
  ExpectRefused("PUT", "/workers/site/routes", R"({"routes": ["site.test/*", 1]})", 400,
                "every route must be a string");
  ExpectRefused("PUT", "/workers/site/secrets/%zz", "x", 400,
                "the secret's name is not percent-encoded properly");
  ExpectRefused("PUT", "/workers/site/secrets/%4", "x", 400, "not percent-encoded properly");
  ExpectRefused("GET", "/workers/site/tail?status=maybe", "", 400,
                "invalid tail parameter \\\"status\\\"");
  ExpectRefused("GET", "/workers/site/tail?sampling=2", "", 400,
                "must be a number greater than 0 and at most 1");
  ExpectRefused("GET", "/workers/site/tail?method=G%20T", "", 400, "not an HTTP method");
  // The worker still serves, on its one version.
  EXPECT_EQ(node_->Get("site.test")->body, "hi");
  EXPECT_THAT(node_->AdminOk("GET", "/workers/site"), HasSubstr("\"version\":1,"));
}

TEST_F(AdminApiTest, BadKvPathsAndParametersAreRefused) {
  ExpectRefused("GET", "/kv/acct", "", 404, "KV paths are /kv/<account>/<namespace id>/<key>");
  ExpectRefused("GET", "/kv/a/b/c/d", "", 404, "KV paths are");
  ExpectRefused("GET", "/kv/acct/%zz/key", "", 400,
                "the namespace and key must be non-empty and percent-encoded");
  ExpectRefused("GET", "/kv/acct/ns/%", "", 400, "percent-encoded");
  ExpectRefused("PUT", "/kv/acct/ns/key?expiration=soon", "v", 400,
                "expiration must be a Unix time in seconds");
  ExpectRefused("PUT", "/kv/acct/ns/key?metadata=%7B%zz", "v", 400,
                "metadata is not percent-encoded properly");
  ExpectRefused("GET", "/kv/acct/ns/never-written", "", 404, "no such key");
  // What is refused wrote nothing.
  ExpectRefused("GET", "/kv/acct/ns/key2", "", 404, "no such key");
  EXPECT_THAT(node_->AdminOk("PUT", "/kv/acct%2Fns/key2", "two"), HasSubstr("\"key\":\"key2\""));
  EXPECT_EQ(node_->AdminOk("GET", "/kv/acct/ns/key2"), "two");
}

}  // namespace
}  // namespace edge::gateway
