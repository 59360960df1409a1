// Accounts: hostname patterns, their overlap and route coverage (which must
// agree with RouteTable's matching), the token lookup, and the accounts and
// owners the deploy store keeps.
#include "gateway/deploy/accounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/sha256.h"
#include "base/testing/temp_dir.h"
#include "gateway/deploy/deploy_store.h"

namespace edge::gateway {
namespace {

using ::testing::HasSubstr;

HostPattern P(std::string_view text) {
  auto parsed = ParseHostPattern(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().message();
  return parsed.ok() ? *parsed : HostPattern{};
}

ParsedRoute R(std::string_view pattern) {
  auto parsed = ParseRoutePattern(pattern);
  EXPECT_TRUE(parsed.ok()) << pattern << ": " << parsed.status().message();
  return parsed.ok() ? *parsed : ParsedRoute{};
}

TEST(HostPatternTest, ParsesExactHostsAndSubdomainWildcards) {
  EXPECT_EQ(P("Shop.Example"), (HostPattern{false, "shop.example"}));
  EXPECT_EQ(P("*.shop.example"), (HostPattern{true, "shop.example"}));
  EXPECT_EQ(P("*.shop.example").Text(), "*.shop.example");
  for (std::string_view bad : {"", "*shop.example", "shop.example/*", "https://shop.example",
                               "shop.example:8080", "sh op.example", "*.com", "a..b", "*"}) {
    auto parsed = ParseHostPattern(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidInput);
    }
  }
  EXPECT_THAT(ParseHostPattern("*shop.example").status().message(), HasSubstr("*.shop.example"));
}

TEST(HostPatternTest, OverlapIsOneHostMatchingBoth) {
  auto overlap = [](std::string_view a, std::string_view b) {
    bool ab = HostPatternsOverlap(P(a), P(b)), ba = HostPatternsOverlap(P(b), P(a));
    EXPECT_EQ(ab, ba) << a << " " << b;
    return ab;
  };
  EXPECT_TRUE(overlap("shop.example", "shop.example"));
  EXPECT_TRUE(overlap("a.shop.example", "*.shop.example"));
  EXPECT_TRUE(overlap("x.a.shop.example", "*.shop.example"));
  EXPECT_TRUE(overlap("*.shop.example", "*.shop.example"));
  EXPECT_TRUE(overlap("*.eu.shop.example", "*.shop.example"));
  // The apex is not one of its subdomains (as `*.shop.example/*` does not
  // route shop.example).
  EXPECT_FALSE(overlap("shop.example", "*.shop.example"));
  EXPECT_FALSE(overlap("shop.example", "shop.example.org"));
  EXPECT_FALSE(overlap("myshop.example", "*.shop.example"));
  EXPECT_FALSE(overlap("*.myshop.example", "*.shop.example"));
  EXPECT_FALSE(overlap("a.shop.example", "b.shop.example"));
}

TEST(HostPatternTest, RouteCoverageAgreesWithRouteMatching) {
  std::vector<HostPattern> owned = {P("shop.example"), P("*.shop.example")};
  EXPECT_TRUE(HostsCoverRoute(owned, R("shop.example/*")));
  EXPECT_TRUE(HostsCoverRoute(owned, R("https://SHOP.example/api/*")));
  EXPECT_TRUE(HostsCoverRoute(owned, R("a.shop.example/*")));
  EXPECT_TRUE(HostsCoverRoute(owned, R("*.shop.example/*")));
  EXPECT_TRUE(HostsCoverRoute(owned, R("*.eu.shop.example/*")));
  EXPECT_TRUE(HostsCoverRoute(owned, R("*shop.example/*")));  // apex and subdomains: both owned
  EXPECT_FALSE(HostsCoverRoute(owned, R("other.example/*")));
  EXPECT_FALSE(HostsCoverRoute(owned, R("*example/*")));
  EXPECT_FALSE(HostsCoverRoute(owned, R("myshop.example/*")));

  std::vector<HostPattern> apex = {P("shop.example")};
  EXPECT_TRUE(HostsCoverRoute(apex, R("shop.example/x")));
  EXPECT_FALSE(HostsCoverRoute(apex, R("a.shop.example/*")));
  EXPECT_FALSE(HostsCoverRoute(apex, R("*shop.example/*")));  // the subdomains are not owned

  std::vector<HostPattern> subdomains = {P("*.shop.example")};
  EXPECT_FALSE(HostsCoverRoute(subdomains, R("shop.example/*")));
  EXPECT_FALSE(HostsCoverRoute(subdomains, R("*shop.example/*")));
  EXPECT_TRUE(HostsCoverRoute(subdomains, R("deep.a.shop.example/*")));

  // Whatever a covered route matches in a RouteTable is a host the
  // patterns match.
  auto table = RouteTable::Build({{"*.shop.example/*", "w"}});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->Match("shop.example", "/"), nullptr);
  EXPECT_NE(table->Match("a.shop.example", "/"), nullptr);
}

AccountRecord Account(std::string name, std::vector<std::string_view> hosts,
                      std::string token = "") {
  AccountRecord record;
  record.name = std::move(name);
  for (auto host : hosts) record.hosts.push_back(P(host));
  if (!token.empty()) record.token_sha256 = base::Sha256Hex(token);
  record.created_ms = 1;
  return record;
}

TEST(AccountTableTest, RoutesOnlyTheAccountsOwnHosts) {
  AccountTable table({Account("a", {"shop.example", "*.shop.example"}),
                      Account("b", {"blog.example"}), Account("default", {})});
  auto check = [&](std::string_view account, std::string_view pattern) {
    return table.CheckRoute(account, pattern, R(pattern));
  };
  EXPECT_TRUE(check("a", "shop.example/*").ok());
  EXPECT_TRUE(check("a", "*shop.example/*").ok());
  Status refused = check("a", "blog.example/*");
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("blog.example"));
  EXPECT_FALSE(check("a", "unowned.example/*").ok());
  EXPECT_FALSE(check("b", "a.shop.example/*").ok());
  // An account with no record owns nothing.
  EXPECT_FALSE(check("ghost", "shop.example/*").ok());
  // `default` routes any host no other account owns.
  EXPECT_TRUE(check("default", "unowned.example/*").ok());
  EXPECT_TRUE(check("default", "other.blog.example/*").ok());
  EXPECT_FALSE(check("default", "blog.example/*").ok());
  EXPECT_FALSE(check("default", "*.example/*").ok());  // holds a.shop.example
  EXPECT_FALSE(check("default", "x.shop.example/*").ok());
}

TEST(AccountTableTest, RefusesAHostThatOverlapsAnotherAccounts) {
  AccountTable table({Account("a", {"shop.example", "*.shop.example"}), Account("b", {})});
  Status refused = table.CheckNewHost("b", P("eu.shop.example"));
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("*.shop.example"));
  EXPECT_THAT(refused.message(), HasSubstr("account a"));
  EXPECT_FALSE(table.CheckNewHost("b", P("shop.example")).ok());
  EXPECT_TRUE(table.CheckNewHost("b", P("shop.example.org")).ok());
  // An account's own patterns may overlap each other.
  EXPECT_TRUE(table.CheckNewHost("a", P("eu.shop.example")).ok());
}

TEST(AccountTableTest, FindsAnAccountByItsTokenOnly) {
  AccountTable table(
      {Account("a", {}, "token-of-a"), Account("b", {}, "token-of-b"), Account("default", {})});
  ASSERT_NE(table.FindByToken("token-of-a"), nullptr);
  EXPECT_EQ(table.FindByToken("token-of-a")->name, "a");
  EXPECT_EQ(table.FindByToken("token-of-b")->name, "b");
  EXPECT_EQ(table.FindByToken("token-of-c"), nullptr);
  EXPECT_EQ(table.FindByToken(""), nullptr);  // `default` has no token
}

TEST(AccountTableTest, TokensAreLongAndFresh) {
  auto a = NewAccountToken(), b = NewAccountToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
}

TEST(AccountRecordTest, RoundTripsAndRefusesCorruptRecords) {
  AccountRecord record = Account("acme", {"shop.example", "*.shop.example"}, "t");
  auto parsed = AccountRecord::Parse("acme", record.Encode());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->hosts, record.hosts);
  EXPECT_EQ(parsed->token_sha256, record.token_sha256);
  EXPECT_EQ(record.PublicJson().find(record.token_sha256), std::string::npos);
  for (std::string_view bad :
       {"", "{}", "[]", "{\"hosts\":[1],\"token_sha256\":\"\",\"created_ms\":1}",
        "{\"hosts\":[],\"token_sha256\":\"xyz\",\"created_ms\":1}",
        "{\"hosts\":[\"a b\"],\"token_sha256\":\"\",\"created_ms\":1}"}) {
    auto corrupt = AccountRecord::Parse("acme", bad);
    EXPECT_FALSE(corrupt.ok()) << bad;
    if (!corrupt.ok()) {
      EXPECT_EQ(corrupt.status().code(), ErrorCode::kInternal);
    }
  }
}

TEST(AccountStoreTest, KeepsAccountsAndOwnersAndForgetsAnOwnerWithItsWorker) {
  base::testing::TempDir temp{"edge-accounts-test"};
  auto opened = DeployStore::Open(temp.path());
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  DeployStore& store = **opened;
  Status written = store.Write([](DeployStore::Writer& writer) -> Status {
    EDGE_RETURN_IF_ERROR(writer.PutAccount(Account("acme", {"shop.example"}, "t")));
    auto added = writer.AddVersion("api", "{}", std::nullopt);
    if (!added.ok()) return added.status();
    EDGE_RETURN_IF_ERROR(writer.AddVersion("old", "{}", std::nullopt).status());
    return writer.SetOwner("api", "acme");
  });
  ASSERT_TRUE(written.ok()) << written.message();
  auto accounts = store.Accounts();
  ASSERT_TRUE(accounts.ok());
  ASSERT_EQ(accounts->size(), 1u);
  EXPECT_EQ((*accounts)[0].name, "acme");
  EXPECT_EQ(*store.OwnerOf("api"), std::optional<std::string>("acme"));
  EXPECT_EQ(*store.OwnerOf("old"), std::nullopt);
  EXPECT_EQ((*store.LoadWorker("api"))->account, "acme");
  EXPECT_EQ((*store.LoadWorker("old"))->account, "default");  // predates accounts
  EXPECT_EQ(*store.WorkersOf("acme"), std::vector<std::string>{"api"});

  // A bad name never reaches the store.
  EXPECT_FALSE(store.Write([](DeployStore::Writer& w) { return w.SetOwner("api", "a/b"); }).ok());
  ASSERT_TRUE(store.Write([](DeployStore::Writer& w) { return w.DeleteWorker("api"); }).ok());
  EXPECT_EQ(*store.OwnerOf("api"), std::nullopt);
  EXPECT_TRUE(store.WorkersOf("acme")->empty());
  ASSERT_TRUE(store.Write([](DeployStore::Writer& w) { return w.DeleteAccount("acme"); }).ok());
  EXPECT_TRUE(store.Accounts()->empty());
  Status missing = store.Write([](DeployStore::Writer& w) { return w.DeleteAccount("acme"); });
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace edge::gateway
