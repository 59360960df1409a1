// Accounts through the admin API, against a node running in-process: what
// the operator does with them, and every right an account's token has (or
// lacks) over its own workers, another account's, KV and hostnames.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bindings/kv/kv_store.h"
#include "gateway/deploy/bundle.h"
#include "gateway/deploy/deploy_store.h"
#include "gateway/node/admin_api.h"
#include "gateway/node/testing/node_fixtures.h"
#include "gateway/node/testing/node_harness.h"

namespace edge::gateway {
namespace {

using ::testing::HasSubstr;
using testing::NodeHarness;
using ::testing::Not;
using testing::Response;

constexpr const char* kWorker = R"(
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/put") {
      await env.STORE.put("k", url.searchParams.get("v"));
      return new Response("stored");
    }
    if (url.pathname === "/call") {
      try {
        const answer = await env.OTHER.fetch("http://other/");
        return new Response("called: " + (await answer.text()));
      } catch (error) {
        return new Response("refused");
      }
    }
    return new Response((await env.STORE.get("k")) ?? "empty");
  },
};
)";

// A worker with KV namespace "shared" as STORE and service `other` as
// OTHER: every tenant names the same ones.
std::string Bundle(const std::string& name, const std::vector<std::string>& routes,
                   const std::string& other = "nobody") {
  auto bundle = DecodeBundle(testing::BundleJson(name, kWorker, routes));
  EXPECT_TRUE(bundle.ok());
  bundle->kv_namespaces = {{"STORE", "shared"}};
  bundle->services = {{"OTHER", other}};
  return EncodeBundle(*bundle);
}

// The value of "token" in an admin answer ("" when none).
std::string TokenOf(const std::string& body) {
  size_t at = body.find("\"token\":\"");
  return at == std::string::npos ? "" : body.substr(at + 9, 64);
}

class AccountRightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start()) << "exit code " << node_.exit_code();
    token_a_ = Create("a", R"(["a.test", "*.a.test"])");
    token_b_ = Create("b", R"(["b.test"])");
    ASSERT_EQ(token_a_.size(), 64u);
    ASSERT_EQ(token_b_.size(), 64u);
    ExpectStatus(As(token_b_, "PUT", "/workers/b-site", Bundle("b-site", {"b.test/*"})), 200);
    ASSERT_EQ(node_.Get("b.test", "/put?v=b-data")->body, "stored");
  }

  std::string Create(const std::string& name, const std::string& hosts) {
    std::string body =
        node_.AdminOk("POST", "/accounts", "{\"name\":\"" + name + "\",\"hosts\":" + hosts + "}");
    return TokenOf(body);
  }
  std::optional<Response> As(const std::string& token, std::string_view method,
                             std::string_view path, std::string_view body = "") {
    return node_.Admin(method, path, body, token);
  }
  static void ExpectStatus(const std::optional<Response>& response, int status,
                           std::string_view message = "") {
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, status) << response->body;
    EXPECT_THAT(response->body, HasSubstr(message));
  }

  NodeHarness node_;
  std::string token_a_, token_b_;
};

TEST_F(AccountRightsTest, TheOperatorCreatesAccountsThatOwnTheirHosts) {
  std::string list = node_.AdminOk("GET", "/accounts");
  EXPECT_THAT(list, HasSubstr("{\"name\":\"a\",\"hosts\":[\"a.test\",\"*.a.test\"],"
                              "\"has_token\":true"));
  EXPECT_THAT(list, HasSubstr("{\"name\":\"default\",\"hosts\":[],\"has_token\":false"));
  EXPECT_THAT(list, Not(HasSubstr(token_a_)));
  EXPECT_THAT(node_.AdminOk("GET", "/accounts/b"), HasSubstr("\"workers\":[\"b-site\"]"));
  // A name once; a host pattern in one account only.
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"a","hosts":[]})"), 409, "exists");
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"c","hosts":["x.a.test"]})"), 409,
               "host x.a.test overlaps *.a.test, which account a owns");
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"c","hosts":["*.eu.a.test"]})"), 409,
               "overlaps");
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"c","hosts":["*.test"]})"), 400,
               "at least two labels");
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"c","hosts":["*c.test"]})"), 400,
               "*.c.test");
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"c/d","hosts":[]})"), 400, "account");
  ExpectStatus(node_.Admin("POST", "/accounts", R"({"name":"c","hosts":"c.test"})"), 400,
               "the body must be");
  EXPECT_THAT(node_.AdminOk("GET", "/accounts"), Not(HasSubstr("\"c\"")));
  // An account's token reaches none of this, nor the node's own endpoints.
  for (auto [method, path] : {std::pair{"GET", "/accounts"}, std::pair{"POST", "/accounts"},
                              std::pair{"GET", "/accounts/a"}, std::pair{"DELETE", "/accounts/b"},
                              std::pair{"POST", "/accounts/a/token"}, std::pair{"GET", "/metrics"},
                              std::pair{"GET", "/status"}, std::pair{"GET", "/sync/log"}}) {
    ExpectStatus(As(token_a_, method, path, R"({"name":"x","hosts":[]})"), 403,
                 "needs the node's admin token");
  }
  EXPECT_THAT(node_.AdminOk("GET", "/accounts"), HasSubstr("\"name\":\"b\""));
}

TEST_F(AccountRightsTest, AnAccountRoutesOnlyHostsItOwnsAndARefusedDeployChangesNothing) {
  ExpectStatus(As(token_a_, "PUT", "/workers/a-site",
                  Bundle("a-site", {"a.test/*", "*.a.test/api/*", "*a.test/x"})),
               200);
  for (const char* route : {"b.test/*", "other.test/*", "*.test/*", "*b.test/*"}) {
    ExpectStatus(As(token_a_, "PUT", "/workers/a-site", Bundle("a-site", {"a.test/*", route})), 403,
                 "is not one of account a's hosts");
    ExpectStatus(As(token_a_, "PUT", "/workers/a-new", Bundle("a-new", {route})), 403, "host");
  }
  ExpectStatus(As(token_a_, "PUT", "/workers/a-site/routes", R"({"routes":["b.test/*"]})"), 403,
               "the host b.test");
  // Nothing changed: still version 1 on its routes, no a-new, b.test is b's.
  EXPECT_THAT(node_.AdminOk("GET", "/workers/a-site"), HasSubstr("\"version\":1,"));
  ExpectStatus(node_.Admin("GET", "/workers/a-new"), 404);
  EXPECT_EQ(node_.Get("b.test")->body, "b-data");
  // The operator deploys to `default`, which may route only unowned hosts.
  ExpectStatus(node_.Admin("PUT", "/workers/op", Bundle("op", {"b.test/admin/*"})), 403,
               "the host b.test belongs to another account");
  ExpectStatus(node_.Admin("PUT", "/workers/op", Bundle("op", {"free.test/*"})), 200);
  EXPECT_THAT(node_.AdminOk("GET", "/workers/op"), HasSubstr("\"account\":\"default\""));
  // ... or names the account, whose hosts then apply.
  ExpectStatus(node_.Admin("PUT", "/workers/op2?account=a", Bundle("op2", {"b.test/*"})), 403);
  ExpectStatus(node_.Admin("PUT", "/workers/op2?account=a", Bundle("op2", {"x.a.test/*"})), 200);
  EXPECT_THAT(As(token_a_, "GET", "/workers/op2")->body, HasSubstr("\"account\":\"a\""));
  ExpectStatus(node_.Admin("PUT", "/workers/op3?account=ghost", Bundle("op3", {})), 404,
               "no account named 'ghost'");
  // A host routed by another account's worker cannot be taken.
  ExpectStatus(node_.Admin("POST", "/accounts/b/hosts", R"({"add":["free.test"]})"), 409,
               "routed by worker 'op'");
}

TEST_F(AccountRightsTest, AnAccountReachesNothingOfAnotherAccountsWorkers) {
  // Every read and change of b's worker answers as if it did not exist...
  for (auto [method, path, body] :
       {std::tuple{"GET", "/workers/b-site", ""}, std::tuple{"GET", "/workers/b-site/versions", ""},
        std::tuple{"GET", "/workers/b-site/secrets", ""},
        std::tuple{"GET", "/workers/b-site/routes", ""},
        std::tuple{"GET", "/workers/b-site/tail", ""},
        std::tuple{"PUT", "/workers/b-site/routes", R"({"routes":[]})"},
        std::tuple{"POST", "/workers/b-site/rollback", R"({"version":1})"},
        std::tuple{"DELETE", "/workers/b-site/secrets/TOKEN", ""},
        std::tuple{"DELETE", "/workers/b-site", ""}}) {
    ExpectStatus(As(token_a_, method, path, body), 404, "no worker named 'b-site'");
  }
  // ... except that its name is taken.
  ExpectStatus(As(token_a_, "PUT", "/workers/b-site", Bundle("b-site", {"a.test/*"})), 409,
               "belongs to another account");
  ExpectStatus(As(token_a_, "PUT", "/workers/b-site/secrets/TOKEN", "x"), 409,
               "belongs to another account");
  // Lists show an account its own only.
  ExpectStatus(As(token_a_, "PUT", "/workers/a-site", Bundle("a-site", {"a.test/*"}, "b-site")),
               200);
  for (const char* path : {"/workers", "/routes", "/usage"}) {
    auto answer = As(token_a_, "GET", path);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    EXPECT_THAT(answer->body, Not(HasSubstr("b-site"))) << path;
  }
  EXPECT_THAT(As(token_a_, "GET", "/workers")->body, HasSubstr("a-site"));
  EXPECT_THAT(node_.AdminOk("GET", "/usage"), HasSubstr("b-site"));
  // KV: its own namespaces only.
  ExpectStatus(As(token_a_, "GET", "/kv/b/shared/k"), 403, "/kv/a/<namespace id>/<key>");
  ExpectStatus(As(token_a_, "GET", "/kv/b%2Fshared/k"), 403);
  ExpectStatus(As(token_a_, "PUT", "/kv/b/shared/k", "stolen"), 403);
  ExpectStatus(As(token_b_, "GET", "/kv/b/shared/k"), 200, "b-data");
  // Its worker naming the same KV id and b's worker gets neither.
  EXPECT_EQ(node_.Get("a.test")->body, "empty");
  EXPECT_EQ(node_.Get("a.test", "/call")->body, "refused");
  EXPECT_EQ(node_.Get("a.test", "/put?v=a-data")->body, "stored");
  EXPECT_EQ(node_.Get("b.test")->body, "b-data");
  ExpectStatus(As(token_a_, "GET", "/kv/a/shared/k"), 200, "a-data");
  // b's worker is untouched; the operator reaches it all.
  EXPECT_THAT(node_.AdminOk("GET", "/workers/b-site"), HasSubstr("\"account\":\"b\""));
  EXPECT_THAT(node_.AdminOk("GET", "/kv/b/shared/k"), "b-data");
  EXPECT_THAT(node_.AdminOk("PUT", "/workers/b-site/secrets/TOKEN", "s"), HasSubstr("TOKEN"));
  EXPECT_THAT(node_.AdminOk("POST", "/workers/b-site/rollback", R"({"version":1})"),
              HasSubstr("\"version\":1"));
  EXPECT_THAT(As(token_b_, "GET", "/workers/b-site/secrets")->body, HasSubstr("TOKEN"));
}

TEST_F(AccountRightsTest, HostsChangeTokensRotateAndRevoke) {
  ExpectStatus(node_.Admin("POST", "/accounts/b/hosts", R"({"add":["*.a.test"]})"), 409,
               "account a owns");
  // b's worker routes b.test: that host stays until the route goes.
  ExpectStatus(node_.Admin("POST", "/accounts/b/hosts", R"({"remove":["b.test"]})"), 409,
               "change its routes first");
  ExpectStatus(node_.Admin("POST", "/accounts/b/hosts", R"({"remove":["nope.test"]})"), 404);
  EXPECT_THAT(
      node_.AdminOk("POST", "/accounts/b/hosts", R"({"add":["*.b.test","blog.test"],"remove":[]})"),
      HasSubstr("\"hosts\":[\"b.test\",\"*.b.test\",\"blog.test\"]"));
  ExpectStatus(As(token_b_, "PUT", "/workers/b-site/routes",
                  R"({"routes":["b.test/*","x.b.test/*","blog.test/*"]})"),
               200);
  ExpectStatus(node_.Admin("POST", "/accounts/default/hosts", R"({"add":["d.test"]})"), 400);

  std::string rotated = TokenOf(node_.AdminOk("POST", "/accounts/b/token"));
  ASSERT_EQ(rotated.size(), 64u);
  ExpectStatus(As(token_b_, "GET", "/workers"), 403, "the token is not valid");
  ExpectStatus(As(rotated, "GET", "/workers"), 200, "b-site");
  EXPECT_THAT(node_.AdminOk("DELETE", "/accounts/b/token"), HasSubstr("\"has_token\":false"));
  ExpectStatus(As(rotated, "GET", "/workers"), 403);
  ExpectStatus(node_.Admin("POST", "/accounts/default/token"), 400, "only the operator");
  // Accounts and their tokens outlive a restart.
  ASSERT_TRUE(node_.Restart());
  ExpectStatus(As(token_a_, "GET", "/workers"), 200);
  ExpectStatus(As(rotated, "GET", "/workers"), 403);
  EXPECT_THAT(node_.AdminOk("GET", "/accounts/b"), HasSubstr("blog.test"));
}

TEST_F(AccountRightsTest, AnAccountTailsOnlyAWorkerItOwnsNow) {
  // Not a name nobody uses yet (another account could take it).
  ExpectStatus(As(token_a_, "GET", "/workers/future/tail"), 404, "no worker named 'future'");
  ExpectStatus(As(token_a_, "GET", "/workers/b-site/tail"), 404, "no worker named 'b-site'");
}

TEST_F(AccountRightsTest, DeletingAnAccountRemovesEverythingItOwns) {
  ExpectStatus(As(token_b_, "PUT", "/workers/b-site/secrets/TOKEN", "s"), 200);
  ExpectStatus(node_.Admin("DELETE", "/accounts/default"), 400);
  EXPECT_THAT(node_.AdminOk("DELETE", "/accounts/b"), HasSubstr("\"workers\":1"));
  ExpectStatus(node_.Admin("GET", "/workers/b-site"), 404);
  EXPECT_EQ(node_.Get("b.test")->status, 404);
  ExpectStatus(node_.Admin("GET", "/kv/b/shared/k"), 404, "no such key");
  ExpectStatus(As(token_b_, "GET", "/workers"), 403);
  ExpectStatus(node_.Admin("DELETE", "/accounts/b"), 404);
  // The name and the hosts are free again, and start empty.
  std::string again = Create("b", R"(["b.test"])");
  ExpectStatus(As(again, "PUT", "/workers/b-site", Bundle("b-site", {"b.test/*"})), 200);
  EXPECT_EQ(node_.Get("b.test")->body, "empty");
  EXPECT_THAT(node_.AdminOk("GET", "/workers/b-site/secrets"), Not(HasSubstr("TOKEN")));
}

// What a node deployed before accounts existed: workers with no owner,
// KV under "<the bundle's account, or the worker's name>/<id>".
TEST(AccountMigrationTest, OldDeploymentsMoveToDefaultWithTheirKvData) {
  NodeHarness node;
  {
    auto store = DeployStore::Open(node.options().data_dir);
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto bundle = DecodeBundle(Bundle("old", {"old.test/*"}));
    ASSERT_TRUE(bundle.ok());
    std::string json = EncodeBundle(*bundle);
    ASSERT_TRUE((*store)
                    ->Write([&](DeployStore::Writer& writer) {
                      return writer.AddVersion("old", json, std::vector<std::string>{"old.test/*"})
                          .status();
                    })
                    .ok());
    auto kv = bindings::KvStore::Open(node.options().data_dir);
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE((*kv)->Put("old/shared", "k", "kept", "", 0).ok());
  }
  ASSERT_TRUE(node.Start());
  EXPECT_EQ(node.Get("old.test")->body, "kept");
  EXPECT_THAT(node.AdminOk("GET", "/workers/old"), HasSubstr("\"account\":\"default\""));
  EXPECT_EQ(node.AdminOk("GET", "/kv/default/shared/k"), "kept");
  auto gone = node.Admin("GET", "/kv/old/shared/k");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  // No account token reaches `default`.
  std::string token = TokenOf(node.AdminOk("POST", "/accounts", R"({"name":"a","hosts":[]})"));
  auto refused = node.Admin("GET", "/workers/old", "", token);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 404);
  // Once: a restart moves nothing again.
  ASSERT_TRUE(node.Restart());
  EXPECT_EQ(node.Get("old.test")->body, "kept");
}

}  // namespace
}  // namespace edge::gateway
