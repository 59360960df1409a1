#include "gateway/deploy/route_table.h"

#include <gtest/gtest.h>

#include <fmt/core.h>

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

TEST(RouteTableTest, WildcardSemantics) {
  RouteTable table = MustBuild({{"*.sub.com/*", "subdomains"}, {"*both.com/*", "both"}});
  EXPECT_EQ(WorkerFor(table, "a.sub.com", "/"), "subdomains");
  EXPECT_EQ(WorkerFor(table, "a.b.sub.com", "/x"), "subdomains");
  EXPECT_EQ(WorkerFor(table, "sub.com", "/"), "(none)");
  EXPECT_EQ(WorkerFor(table, "both.com", "/"), "both");
  EXPECT_EQ(WorkerFor(table, "x.both.com", "/"), "both");
  EXPECT_EQ(WorkerFor(table, "x.y.both.com", "/"), "both");
  // A label boundary is required.
  EXPECT_EQ(WorkerFor(table, "notboth.com", "/"), "(none)");
  EXPECT_EQ(WorkerFor(table, "xsub.com", "/"), "(none)");
  EXPECT_EQ(WorkerFor(table, "com", "/"), "(none)");
}

TEST(RouteTableTest, PathSemantics) {
  RouteTable table = MustBuild({{"example.com/api/*", "api"}, {"example.com/exact", "exact"}});
  EXPECT_EQ(WorkerFor(table, "example.com", "/api/"), "api");
  EXPECT_EQ(WorkerFor(table, "example.com", "/api/x/y"), "api");
  EXPECT_EQ(WorkerFor(table, "example.com", "/api"), "(none)");
  EXPECT_EQ(WorkerFor(table, "example.com", "/exact"), "exact");
  EXPECT_EQ(WorkerFor(table, "example.com", "/exact?q=1"), "exact");
  EXPECT_EQ(WorkerFor(table, "example.com", "/exact#frag"), "exact");
  EXPECT_EQ(WorkerFor(table, "example.com", "/exact/"), "(none)");
  EXPECT_EQ(WorkerFor(table, "example.com", "/Exact"), "(none)");  // paths are case-sensitive
  EXPECT_EQ(WorkerFor(table, "example.com", "/api?x"), "(none)");

  RouteTable root = MustBuild({{"example.com/", "root"}, {"other.com/*", "all"}});
  EXPECT_EQ(WorkerFor(root, "example.com", "/"), "root");
  EXPECT_EQ(WorkerFor(root, "example.com", ""), "root");
  EXPECT_EQ(WorkerFor(root, "example.com", "/?q"), "root");
  EXPECT_EQ(WorkerFor(root, "example.com", "/a"), "(none)");
  EXPECT_EQ(WorkerFor(root, "other.com", ""), "all");
}

TEST(RouteTableTest, HostIsCaseInsensitiveWithoutPort) {
  RouteTable table = MustBuild({{"Shop.Example.com/*", "shop"}, {"*.EXAMPLE.com/*", "wild"}});
  EXPECT_EQ(WorkerFor(table, "shop.example.com", "/"), "shop");
  EXPECT_EQ(WorkerFor(table, "SHOP.EXAMPLE.COM", "/"), "shop");
  EXPECT_EQ(WorkerFor(table, "shop.example.com:8080", "/"), "shop");
  EXPECT_EQ(WorkerFor(table, "shop.example.com.", "/"), "shop");
  EXPECT_EQ(WorkerFor(table, "Other.Example.Com:443", "/x"), "wild");
  EXPECT_EQ(WorkerFor(table, "", "/"), "(none)");
  EXPECT_EQ(WorkerFor(table, ":80", "/"), "(none)");
  EXPECT_EQ(WorkerFor(table, "[::1]:8080", "/"), "(none)");
}

TEST(RouteTableTest, SchemeIsIgnored) {
  RouteTable table = MustBuild({{"http://a.com/*", "a"}, {"HTTPS://b.com/*", "b"}});
  EXPECT_EQ(WorkerFor(table, "a.com", "/"), "a");
  EXPECT_EQ(WorkerFor(table, "b.com", "/"), "b");
}

TEST(RouteTableTest, MostSpecificWins) {
  RouteTable table = MustBuild({
      {"*example.com/*", "domain-wild"},
      {"*.example.com/*", "sub-wild"},
      {"*.api.example.com/*", "api-wild"},
      {"example.com/*", "exact-host"},
      {"example.com/api/*", "exact-api"},
      {"example.com/api/", "exact-api-root"},
      {"example.com/api/v1/*", "exact-api-v1"},
      {"*example.com/special", "domain-wild-special"},
  });
  // 1. A host without a wildcard beats a wildcard host, whatever the path.
  EXPECT_EQ(WorkerFor(table, "example.com", "/special"), "exact-host");
  EXPECT_EQ(WorkerFor(table, "example.com", "/x"), "exact-host");
  // 2. Among wildcard hosts, the longer pattern wins.
  EXPECT_EQ(WorkerFor(table, "www.example.com", "/"), "sub-wild");
  EXPECT_EQ(WorkerFor(table, "v2.api.example.com", "/"), "api-wild");
  // ... before any path is compared.
  EXPECT_EQ(WorkerFor(table, "www.example.com", "/special"), "sub-wild");
  // 3. The longer path wins; 4. an exact path beats a prefix of its length.
  EXPECT_EQ(WorkerFor(table, "example.com", "/api/x"), "exact-api");
  EXPECT_EQ(WorkerFor(table, "example.com", "/api/"), "exact-api-root");
  EXPECT_EQ(WorkerFor(table, "example.com", "/api/v1/users"), "exact-api-v1");
  EXPECT_EQ(WorkerFor(table, "example.com", "/api/v1"), "exact-api");
  // A more specific host whose paths do not match gives way to the next.
  RouteTable fallthrough = MustBuild({{"example.com/api/*", "api"}, {"*example.com/*", "wild"}});
  EXPECT_EQ(WorkerFor(fallthrough, "example.com", "/other"), "wild");
  EXPECT_EQ(WorkerFor(fallthrough, "example.com", "/api/x"), "api");
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
