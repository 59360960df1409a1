// The HTTP rules of the Workers Cache API, apart from storage and V8:
// whether a response given to put() is stored and for how long, and what
// match() answers for a request (a 304 for a fresh validator, a 206 or 416
// for a Range). Workers' rules, as its docs state them
// (https://developers.cloudflare.com/workers/runtime-apis/cache/):
//
//   put: `Cache-Control: no-store`, `no-cache` or `private` (without field
//   names), and `Set-Cookie` unless `Cache-Control: private=Set-Cookie`,
//   leave the response unstored (put still resolves); with
//   `private=Set-Cookie` the Set-Cookie headers are dropped and the rest
//   stored. The TTL is `s-maxage`, else `max-age`, else `Expires` (against
//   the response's `Date`, else now); without any, Cloudflare's default
//   edge TTL by status: 200, 206 and 301 two hours, 302 and 303 twenty
//   minutes, 404 and 410 three minutes, anything else not stored.
//   A TTL of zero (or an Expires in the past) stores nothing.
//
//   match: `If-None-Match` against the stored `ETag` (weak comparison,
//   `*` matches any), else `If-Modified-Since` against `Last-Modified`:
//   304 with the stored headers and no body. Else a single `Range` of a
//   200 response: 206 with `Content-Range`, or 416 when unsatisfiable;
//   several ranges, or a Range of another status, get the whole response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bindings/cache/cache_store.h"

namespace edge::bindings {

struct CachePutPolicy {
  bool store = false;
  int64_t ttl_ms = 0;
  bool drop_set_cookie = false;
};

// What put() does with a response of `status` and `headers` at `now_ms`.
CachePutPolicy PutPolicy(int status, const CacheHeaders& headers, int64_t now_ms);

struct CacheAnswer {
  int status = 200;
  CacheHeaders headers;
  bool has_body = true;
  uint64_t offset = 0;  // the body bytes to send: [offset, offset + length)
  uint64_t length = 0;
};

// What match() answers for a stored response (`head`, a body of
// `body_size` bytes) to a request with `request_headers`. The answer's
// headers are the stored ones with Content-Length (and Content-Range) set
// and `CF-Cache-Status: HIT`.
CacheAnswer AnswerFor(const CacheHead& head, uint64_t body_size,
                      const CacheHeaders& request_headers);

// An HTTP-date (IMF-fixdate, RFC 850 or asctime) as Unix ms; nullopt when
// it is none of them.
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace edge::bindings
