#include "bindings/cache/cache_http.h"

#include <gtest/gtest.h>

namespace edge::bindings {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

CachePutPolicy Policy(int status, CacheHeaders headers) { return PutPolicy(status, headers, kNow); }

std::string Header(const CacheHeaders& headers, std::string_view name) {
  for (const auto& [header, value] : headers) {
    if (header == name) return value;
  }
  return "(none)";
}

TEST(CacheHttpTest, TtlComesFromSMaxAgeThenMaxAgeThenExpires) {
  EXPECT_EQ(Policy(200, {{"cache-control", "max-age=60, s-maxage=10"}}).ttl_ms, 10'000);
  EXPECT_EQ(Policy(200, {{"Cache-Control", "public, max-age=60"}}).ttl_ms, 60'000);
  // Expires against Date.
  auto expires = Policy(200, {{"date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                              {"expires", "Tue, 14 Nov 2023 22:14:20 GMT"}});
  EXPECT_TRUE(expires.store);
  EXPECT_EQ(expires.ttl_ms, 60'000);
  // Expires against now when there is no Date.
  EXPECT_EQ(Policy(200, {{"expires", "Tue, 14 Nov 2023 22:13:50 GMT"}}).ttl_ms, 30'000);
  EXPECT_FALSE(Policy(200, {{"expires", "Tue, 14 Nov 2023 22:00:00 GMT"}}).store);
  EXPECT_FALSE(Policy(200, {{"expires", "0"}}).store);
  EXPECT_FALSE(Policy(200, {{"cache-control", "max-age=0"}}).store);
  EXPECT_FALSE(Policy(200, {{"cache-control", "max-age=soon"}}).store);
}

TEST(CacheHttpTest, WithoutDirectivesTheDefaultEdgeTtlByStatus) {
  EXPECT_EQ(Policy(200, {}).ttl_ms, 7'200'000);
  EXPECT_EQ(Policy(301, {}).ttl_ms, 7'200'000);
  EXPECT_EQ(Policy(302, {}).ttl_ms, 1'200'000);
  EXPECT_EQ(Policy(404, {}).ttl_ms, 180'000);
  EXPECT_FALSE(Policy(500, {}).store);
  EXPECT_FALSE(Policy(201, {}).store);
  // With a TTL of its own, any status is kept.
  EXPECT_TRUE(Policy(500, {{"cache-control", "max-age=5"}}).store);
}

TEST(CacheHttpTest, NoStorePrivateNoCacheAndCookiesAreNotStored) {
  EXPECT_FALSE(Policy(200, {{"cache-control", "no-store, max-age=60"}}).store);
  EXPECT_FALSE(Policy(200, {{"cache-control", "private, max-age=60"}}).store);
  EXPECT_FALSE(Policy(200, {{"cache-control", "no-cache"}}).store);
  EXPECT_FALSE(Policy(200, {{"set-cookie", "a=1"}, {"cache-control", "max-age=60"}}).store);
  auto cookie = Policy(200, {{"set-cookie", "a=1"},
                             {"cache-control", "private=\"Set-Cookie\", max-age=60"}});
  EXPECT_TRUE(cookie.store);
  EXPECT_TRUE(cookie.drop_set_cookie);
  EXPECT_TRUE(Policy(200, {{"cache-control", "private=set-cookie"}, {"set-cookie", "b=2"}}).store);
}

TEST(CacheHttpTest, HttpDates) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), int64_t{784111777} * 1000);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), int64_t{784111777} * 1000);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), int64_t{784111777} * 1000);
  EXPECT_EQ(ParseHttpDate("yesterday"), std::nullopt);
  EXPECT_EQ(ParseHttpDate(""), std::nullopt);
}

CacheHead Stored(CacheHeaders headers, int status = 200) {
  CacheHead head;
  head.status = status;
  head.headers = std::move(headers);
  return head;
}

TEST(CacheHttpTest, AHitCarriesCfCacheStatusAndItsLength) {
  CacheAnswer answer = AnswerFor(Stored({{"content-length", "99"}}), 10, {});
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(Header(answer.headers, "CF-Cache-Status"), "HIT");
  EXPECT_EQ(Header(answer.headers, "Content-Length"), "10");
  EXPECT_EQ(Header(answer.headers, "content-length"), "(none)");
  EXPECT_EQ(answer.length, 10u);
}

TEST(CacheHttpTest, IfNoneMatchGives304) {
  CacheHead head = Stored({{"etag", "\"abc\""}});
  EXPECT_EQ(AnswerFor(head, 10, {{"if-none-match", "\"abc\""}}).status, 304);
  EXPECT_FALSE(AnswerFor(head, 10, {{"if-none-match", "\"abc\""}}).has_body);
  EXPECT_EQ(AnswerFor(head, 10, {{"if-none-match", "\"x\", W/\"abc\""}}).status, 304);
  EXPECT_EQ(AnswerFor(head, 10, {{"if-none-match", "*"}}).status, 304);
  EXPECT_EQ(AnswerFor(head, 10, {{"if-none-match", "\"other\""}}).status, 200);
  EXPECT_EQ(AnswerFor(Stored({}), 10, {{"if-none-match", "\"abc\""}}).status, 200);
  // If-None-Match wins over If-Modified-Since.
  CacheHead both = Stored({{"etag", "\"abc\""}, {"last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EXPECT_EQ(AnswerFor(both, 10, {{"if-none-match", "\"zzz\""},
                                 {"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}})
                .status,
            200);
}

TEST(CacheHttpTest, IfModifiedSinceGives304WhenNotModified) {
  CacheHead head = Stored({{"last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EXPECT_EQ(AnswerFor(head, 1, {{"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status, 304);
  EXPECT_EQ(AnswerFor(head, 1, {{"if-modified-since", "Mon, 07 Nov 1994 08:49:37 GMT"}}).status, 304);
  EXPECT_EQ(AnswerFor(head, 1, {{"if-modified-since", "Sat, 05 Nov 1994 08:49:37 GMT"}}).status, 200);
  EXPECT_EQ(AnswerFor(head, 1, {{"if-modified-since", "garbage"}}).status, 200);
}

TEST(CacheHttpTest, RangesGive206Or416) {
  CacheHead head = Stored({});
  CacheAnswer first = AnswerFor(head, 10, {{"range", "bytes=2-5"}});
  EXPECT_EQ(first.status, 206);
  EXPECT_EQ(first.offset, 2u);
  EXPECT_EQ(first.length, 4u);
  EXPECT_EQ(Header(first.headers, "Content-Range"), "bytes 2-5/10");
  EXPECT_EQ(Header(first.headers, "Content-Length"), "4");
  CacheAnswer open = AnswerFor(head, 10, {{"range", "bytes=7-"}});
  EXPECT_EQ(open.offset, 7u);
  EXPECT_EQ(open.length, 3u);
  CacheAnswer suffix = AnswerFor(head, 10, {{"range", "bytes=-4"}});
  EXPECT_EQ(suffix.offset, 6u);
  EXPECT_EQ(suffix.length, 4u);
  CacheAnswer clipped = AnswerFor(head, 10, {{"range", "bytes=8-100"}});
  EXPECT_EQ(Header(clipped.headers, "Content-Range"), "bytes 8-9/10");
  CacheAnswer past = AnswerFor(head, 10, {{"range", "bytes=10-20"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_FALSE(past.has_body);
  EXPECT_EQ(Header(past.headers, "Content-Range"), "bytes */10");
  // Ignored: several ranges, other units, nonsense; and ranges of a non-200.
  EXPECT_EQ(AnswerFor(head, 10, {{"range", "bytes=0-1,3-4"}}).status, 200);
  EXPECT_EQ(AnswerFor(head, 10, {{"range", "items=0-1"}}).status, 200);
  EXPECT_EQ(AnswerFor(head, 10, {{"range", "bytes=5-2"}}).status, 200);
  EXPECT_EQ(AnswerFor(Stored({}, 404), 10, {{"range", "bytes=0-1"}}).status, 404);
}

}  // namespace
}  // namespace edge::bindings
