#include "gateway/deploy/route_table.h"

#include <gtest/gtest.h>

#include <fmt/core.h>

#include <string>
#include <utility>
#include <vector>

namespace edge::gateway {
namespace {

RouteTable MustBuild(std::vector<Route> routes) {
  StatusOr<RouteTable> table = RouteTable::Build(std::move(routes));
  EXPECT_TRUE(table.ok()) << table.status().message();
  return std::move(table).value();
}

std::string WorkerFor(const RouteTable& table, std::string_view host, std::string_view path) {
  const std::string* worker = table.Match(host, path);
  return worker ? *worker : "(none)";
}

TEST(RouteTableTest, ParsesAndNormalizes) {
  auto route = ParseRoutePattern("https://*.Example.COM/api/*");
  ASSERT_TRUE(route.ok()) << route.status().message();
  EXPECT_EQ(route->host_kind, ParsedRoute::HostKind::kSubdomains);
  EXPECT_EQ(route->host, "example.com");
  EXPECT_EQ(route->path, "/api/");
  EXPECT_TRUE(route->path_prefix);
  EXPECT_EQ(route->Key(), "*.example.com/api/*");

  route = ParseRoutePattern("*example.com/");
  ASSERT_TRUE(route.ok()) << route.status().message();
  EXPECT_EQ(route->host_kind, ParsedRoute::HostKind::kDomainAndSubdomains);
  EXPECT_EQ(route->host, "example.com");
  EXPECT_EQ(route->path, "/");
  EXPECT_FALSE(route->path_prefix);
}

TEST(RouteTableTest, RefusesInvalidPatterns) {
  struct Case {
    const char* pattern;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"example.com", "needs a path: write \"example.com/*\""},
      {"http://example.com", "needs a path"},
      {"exa mple.com/*", "spaces"},
      {"example.com/a b", "spaces"},
      {"/*", "host is empty"},
      {"https:///*", "host is empty"},
      {"**.example.com/*", "one '*'"},
      {"*.*.example.com/*", "one '*'"},
      {"a.*.example.com/*", "one '*'"},
      {"*/*", "a domain after '*'"},
      {"*./*", "a domain after '*'"},
      {"example.com/*/x", "'*' may only end the path"},
      {"example.com/**", "'*' may only end the path"},
      {"example.com:8080/*", "no port"},
      {"ftp://example.com/*", "http:// or https://"},
      {"example.com/*?a=1", "query string"},
      {"example..com/*", "empty label"},
      {".example.com/*", "empty label"},
      {"exa$mple.com/*", "may not contain '$'"},
      {"bücher.example/*", "punycode"},
  };
  for (const Case& c : cases) {
    auto route = ParseRoutePattern(c.pattern);
    ASSERT_FALSE(route.ok()) << c.pattern;
    EXPECT_EQ(route.status().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(route.status().message().find(c.says), std::string::npos)
        << c.pattern << ": " << route.status().message();
  }
}

// A route table and where it sends requests: each worker (or "(none)") with
// the requests routed to it, written "host/path" (the host ends before the
// first '/', the path is the rest, "" without one).
struct Routing {
  std::string name;
  std::vector<Route> routes;
  std::vector<std::pair<std::string, std::vector<std::string>>> routed;
};

const Routing kRoutings[] = {
    {"WildcardSemantics",
     {{"*.sub.com/*", "subdomains"}, {"*both.com/*", "both"}},
     {{"subdomains", {"a.sub.com/", "a.b.sub.com/x"}},
      {"both", {"both.com/", "x.both.com/", "x.y.both.com/"}},
      // A label boundary is required.
      {"(none)", {"sub.com/", "notboth.com/", "xsub.com/", "com/"}}}},
    {"PathSemantics",
     {{"example.com/api/*", "api"}, {"example.com/exact", "exact"}},
     {{"api", {"example.com/api/", "example.com/api/x/y"}},
      {"exact", {"example.com/exact", "example.com/exact?q=1", "example.com/exact#frag"}},
      // Paths are case-sensitive.
      {"(none)",
       {"example.com/api", "example.com/exact/", "example.com/Exact", "example.com/api?x"}}}},
    {"RootPathIsExact",
     {{"example.com/", "root"}, {"other.com/*", "all"}},
     {{"root", {"example.com/", "example.com", "example.com/?q"}},
      {"(none)", {"example.com/a"}},
      {"all", {"other.com"}}}},
    {"HostIsCaseInsensitiveWithoutPort",
     {{"Shop.Example.com/*", "shop"}, {"*.EXAMPLE.com/*", "wild"}},
     {{"shop",
       {"shop.example.com/", "SHOP.EXAMPLE.COM/", "shop.example.com:8080/", "shop.example.com./"}},
      {"wild", {"Other.Example.Com:443/x"}},
      {"(none)", {"/", ":80/", "[::1]:8080/"}}}},
    {"SchemeIsIgnored",
     {{"http://a.com/*", "a"}, {"HTTPS://b.com/*", "b"}},
     {{"a", {"a.com/"}}, {"b", {"b.com/"}}}},
    {"MostSpecificWins",
     {{"*example.com/*", "domain-wild"},
      {"*.example.com/*", "sub-wild"},
      {"*.api.example.com/*", "api-wild"},
      {"example.com/*", "exact-host"},
      {"example.com/api/*", "exact-api"},
      {"example.com/api/", "exact-api-root"},
      {"example.com/api/v1/*", "exact-api-v1"},
      {"*example.com/special", "domain-wild-special"}},
     // 1. A host without a wildcard beats a wildcard host, whatever the path.
     {{"exact-host", {"example.com/special", "example.com/x"}},
      // 2. Among wildcard hosts, the longer pattern wins, before any path is
      // compared.
      {"sub-wild", {"www.example.com/", "www.example.com/special"}},
      {"api-wild", {"v2.api.example.com/"}},
      // 3. The longer path wins; 4. an exact path beats a prefix of its length.
      {"exact-api", {"example.com/api/x", "example.com/api/v1"}},
      {"exact-api-root", {"example.com/api/"}},
      {"exact-api-v1", {"example.com/api/v1/users"}}}},
    // A more specific host whose paths do not match gives way to the next.
    {"MoreSpecificHostFallsThrough",
     {{"example.com/api/*", "api"}, {"*example.com/*", "wild"}},
     {{"wild", {"example.com/other"}}, {"api", {"example.com/api/x"}}}},
};

class RouteTableRoutingTest : public ::testing::TestWithParam<Routing> {};
INSTANTIATE_TEST_SUITE_P(Tables, RouteTableRoutingTest, ::testing::ValuesIn(kRoutings),
                         [](const auto& info) { return info.param.name; });

TEST_P(RouteTableRoutingTest, RoutesEachRequest) {
  RouteTable table = MustBuild(GetParam().routes);
  for (const auto& [worker, requests] : GetParam().routed) {
    for (const std::string& request : requests) {
      size_t slash = request.find('/');
      std::string host = request.substr(0, slash);
      std::string path = slash == std::string::npos ? "" : request.substr(slash);
      EXPECT_EQ(WorkerFor(table, host, path), worker) << "host " << host << ", path " << path;
    }
  }
}

TEST(RouteTableTest, RefusesAPatternClaimedTwice) {
  auto conflict = RouteTable::Build({{"example.com/*", "a"}, {"http://EXAMPLE.com/*", "b"}});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), ErrorCode::kInvalidInput);
  const std::string& message = conflict.status().message();
  EXPECT_NE(message.find("\"a\""), std::string::npos) << message;
  EXPECT_NE(message.find("\"b\""), std::string::npos) << message;
  EXPECT_NE(message.find("example.com/*"), std::string::npos) << message;

  // The same worker twice is fine; so are different paths of one host.
  auto same =
      RouteTable::Build({{"example.com/*", "a"}, {"example.com/*", "a"}, {"example.com/b/*", "b"}});
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_EQ(same->routes().size(), 3u);

  auto invalid = RouteTable::Build({{"example.com", "a"}});
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("worker \"a\""), std::string::npos);
}

// CheckClaims answers as Build would for the table's routes with one
// worker's replaced, without building.
TEST(RouteTableTest, ChecksAWorkersNewRoutesAsBuildWould) {
  RouteTable table = MustBuild({{"a.example.com/*", "a"}, {"b.example.com/*", "b"},
                                {"*.shop.example/*", "b"}, {"b.example.com/api/*", "b"}});
  // Its own routes, any spelling of them, and patterns nobody claims.
  EXPECT_TRUE(table.CheckClaims("b", {"http://B.example.com/*", "*.shop.example/*"}).ok());
  EXPECT_TRUE(table.CheckClaims("c", {"c.example.com/*", "c.example.com/*"}).ok());
  EXPECT_TRUE(table.CheckClaims("c", {"b.example.com/other/*", "shop.example/*"}).ok());
  EXPECT_TRUE(table.CheckClaims("c", {}).ok());
  // Another worker's: the same message as Build's.
  for (const std::vector<std::string>& patterns :
       std::vector<std::vector<std::string>>{{"c.example.com/*", "HTTPS://b.example.com/*"},
                                             {"*.shop.example/*"},
                                             {"a.example.com/*"}}) {
    Status claimed = table.CheckClaims("c", patterns);
    ASSERT_FALSE(claimed.ok()) << patterns.back();
    EXPECT_EQ(claimed.code(), ErrorCode::kInvalidInput);
    std::vector<Route> routes;
    for (const Route& route : table.routes()) routes.push_back(route);
    for (const std::string& pattern : patterns) routes.push_back({pattern, "c"});
    auto built = RouteTable::Build(std::move(routes));
    ASSERT_FALSE(built.ok());
    EXPECT_EQ(claimed.message(), built.status().message());
  }
  // An invalid pattern, as Build says it.
  Status invalid = table.CheckClaims("c", {"c.example.com"});
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.message().find("worker \"c\""), std::string::npos) << invalid.message();
}

TEST(RouteTableTest, ManyRoutes) {
  std::vector<Route> routes;
  for (int i = 0; i < 5000; ++i) {
    routes.push_back({fmt::format("w{}.example.com/*", i), fmt::format("worker{}", i)});
    routes.push_back({fmt::format("*.t{}.example.net/*", i), fmt::format("tenant{}", i)});
  }
  RouteTable table = MustBuild(std::move(routes));
  EXPECT_EQ(WorkerFor(table, "w4321.example.com", "/x"), "worker4321");
  EXPECT_EQ(WorkerFor(table, "app.t17.example.net", "/"), "tenant17");
  EXPECT_EQ(WorkerFor(table, "w5000.example.com", "/"), "(none)");
  EXPECT_EQ(table.routes().size(), 10000u);
}

TEST(RouteTableTest, MatchesStayValidAfterMove) {
  RouteTable table = MustBuild({{"a.com/*", "a"}});
  const std::string* before = table.Match("a.com", "/");
  RouteTable moved = std::move(table);
  EXPECT_EQ(moved.Match("a.com", "/"), before);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(*before, "a");
}

}  // namespace
}  // namespace edge::gateway
