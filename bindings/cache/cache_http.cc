#include "bindings/cache/cache_http.h"

#include <fmt/core.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "base/ascii.h"

namespace edge::bindings {
namespace {

using base::AsciiLower;
using base::EqualsIgnoreCase;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Every value of header `name`, joined with ", " (nullopt: none).
std::optional<std::string> Joined(const CacheHeaders& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [header, value] : headers) {
    if (!EqualsIgnoreCase(header, name)) continue;
    if (out) {
      out->append(", ");
      out->append(value);
    } else {
      out = value;
    }
  }
  return out;
}

// The items of a comma-separated list, trimmed, empty ones left out; commas
// inside double quotes do not split.
std::vector<std::string_view> ListItems(std::string_view text) {
  std::vector<std::string_view> items;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '"') quoted = !quoted;
    if (i == text.size() || (text[i] == ',' && !quoted)) {
      std::string_view item = Trim(text.substr(start, i - start));
      if (!item.empty()) items.push_back(item);
      start = i + 1;
    }
  }
  return items;
}

struct Directive {
  std::string name;  // lower case
  std::string value;  // unquoted; empty when none
  bool has_value = false;
};

std::vector<Directive> CacheControl(const CacheHeaders& headers) {
  std::vector<Directive> directives;
  std::optional<std::string> text = Joined(headers, "cache-control");
  if (!text) return directives;
  for (std::string_view item : ListItems(*text)) {
    Directive directive;
    size_t eq = item.find('=');
    directive.name = AsciiLower(Trim(item.substr(0, eq)));
    if (eq != std::string_view::npos) {
      std::string_view value = Trim(item.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      directive.value = std::string(value);
      directive.has_value = true;
    }
    directives.push_back(std::move(directive));
  }
  return directives;
}

// delta-seconds: digits only; a value too large saturates.
std::optional<int64_t> DeltaSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (value < (int64_t{1} << 40)) value = value * 10 + (c - '0');
  }
  return value;
}

// Whether `field` names `wanted` among a directive's field names
// (`private="Set-Cookie, X"`).
bool NamesField(const Directive& directive, std::string_view wanted) {
  for (std::string_view field : ListItems(directive.value)) {
    if (EqualsIgnoreCase(field, wanted)) return true;
  }
  return false;
}

int64_t DefaultTtlSeconds(int status) {
  switch (status) {
    case 200:
    case 206:
    case 301:
      return 7200;
    case 302:
    case 303:
      return 1200;
    case 404:
    case 410:
      return 180;
    default:
      return 0;
  }
}

// An entity tag without its weakness marker (W/), for weak comparison.
std::string_view Opaque(std::string_view tag) {
  tag = Trim(tag);
  if (tag.size() >= 2 && (tag[0] == 'W' || tag[0] == 'w') && tag[1] == '/') tag.remove_prefix(2);
  return tag;
}

bool NoneMatchHits(std::string_view if_none_match, std::string_view etag) {
  for (std::string_view item : ListItems(if_none_match)) {
    if (item == "*") return true;
    if (Opaque(item) == Opaque(etag)) return true;
  }
  return false;
}

void SetHeader(CacheHeaders& headers, std::string_view name, std::string value) {
  std::erase_if(headers, [&](const auto& header) { return EqualsIgnoreCase(header.first, name); });
  headers.emplace_back(std::string(name), std::move(value));
}

// A single `bytes=` range of a body of `size` bytes: [first, last], or
// nullopt for a Range that is ignored (not bytes, several ranges, not
// parseable); `unsatisfiable` when it is well-formed but past the end.
std::optional<std::pair<uint64_t, uint64_t>> SingleRange(std::string_view range, uint64_t size,
                                                         bool* unsatisfiable) {
  *unsatisfiable = false;
  range = Trim(range);
  if (range.size() < 6 || !EqualsIgnoreCase(range.substr(0, 6), "bytes=")) return std::nullopt;
  range.remove_prefix(6);
  if (range.find(',') != std::string_view::npos) return std::nullopt;
  range = Trim(range);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view first_text = Trim(range.substr(0, dash));
  std::string_view last_text = Trim(range.substr(dash + 1));
  std::optional<int64_t> first = DeltaSeconds(first_text);
  std::optional<int64_t> last = DeltaSeconds(last_text);
  if (first_text.empty()) {
    // A suffix: the last N bytes.
    if (!last) return std::nullopt;
    if (*last == 0 || size == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(*last), size);
    return std::make_pair(size - n, size - 1);
  }
  if (!first || (!last_text.empty() && !last)) return std::nullopt;
  if (last && *last < *first) return std::nullopt;
  if (static_cast<uint64_t>(*first) >= size) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  uint64_t end = last ? std::min<uint64_t>(static_cast<uint64_t>(*last), size - 1) : size - 1;
  return std::make_pair(static_cast<uint64_t>(*first), end);
}

}  // namespace

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  std::string value(Trim(text));
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %e %H:%M:%S %Y",       // asctime
  };
  for (const char* format : kFormats) {
    struct tm tm {};
    const char* end = strptime(value.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    time_t seconds = timegm(&tm);
    if (seconds == static_cast<time_t>(-1)) continue;
    return static_cast<int64_t>(seconds) * 1000;
  }
  return std::nullopt;
}

CachePutPolicy PutPolicy(int status, const CacheHeaders& headers, int64_t now_ms) {
  CachePutPolicy policy;
  std::vector<Directive> directives = CacheControl(headers);
  const Directive* s_maxage = nullptr;
  const Directive* max_age = nullptr;
  for (const Directive& directive : directives) {
    if (directive.name == "no-store") return policy;
    if (directive.name == "no-cache" && !directive.has_value) return policy;
    if (directive.name == "private") {
      if (!directive.has_value) return policy;
      if (NamesField(directive, "set-cookie")) policy.drop_set_cookie = true;
    }
    if (directive.name == "s-maxage" && s_maxage == nullptr) s_maxage = &directive;
    if (directive.name == "max-age" && max_age == nullptr) max_age = &directive;
  }
  bool has_cookie = false;
  for (const auto& [name, value] : headers) has_cookie |= EqualsIgnoreCase(name, "set-cookie");
  if (has_cookie && !policy.drop_set_cookie) return policy;

  int64_t ttl_seconds = 0;
  if (s_maxage != nullptr || max_age != nullptr) {
    std::optional<int64_t> seconds = DeltaSeconds((s_maxage ? s_maxage : max_age)->value);
    if (!seconds) return policy;  // malformed: stale at once
    ttl_seconds = *seconds;
  } else if (std::optional<std::string> expires = Joined(headers, "expires")) {
    std::optional<int64_t> at = ParseHttpDate(*expires);
    if (!at) return policy;  // an invalid Expires means already expired (RFC 9111)
    int64_t base = now_ms;
    if (std::optional<std::string> date = Joined(headers, "date")) {
      if (std::optional<int64_t> parsed = ParseHttpDate(*date)) base = *parsed;
    }
    int64_t ttl_ms = *at - base;
    if (ttl_ms <= 0) return policy;
    policy.store = true;
    policy.ttl_ms = ttl_ms;
    return policy;
  } else {
    ttl_seconds = DefaultTtlSeconds(status);
  }
  if (ttl_seconds <= 0) return policy;
  policy.store = true;
  policy.ttl_ms = ttl_seconds * 1000;
  return policy;
}

CacheAnswer AnswerFor(const CacheHead& head, uint64_t body_size,
                      const CacheHeaders& request_headers) {
  CacheAnswer answer;
  answer.status = head.status;
  answer.headers = head.headers;
  SetHeader(answer.headers, "CF-Cache-Status", "HIT");

  std::optional<std::string> etag = Joined(head.headers, "etag");
  std::optional<std::string> if_none_match = Joined(request_headers, "if-none-match");
  bool not_modified = false;
  if (if_none_match) {
    not_modified = etag && NoneMatchHits(*if_none_match, *etag);
  } else if (std::optional<std::string> since = Joined(request_headers, "if-modified-since")) {
    std::optional<std::string> modified = Joined(head.headers, "last-modified");
    std::optional<int64_t> since_ms = ParseHttpDate(*since);
    std::optional<int64_t> modified_ms = modified ? ParseHttpDate(*modified) : std::nullopt;
    not_modified = since_ms && modified_ms && *modified_ms <= *since_ms;
  }
  if (not_modified && head.status == 200) {
    answer.status = 304;
    answer.has_body = false;
    std::erase_if(answer.headers,
                  [](const auto& header) { return EqualsIgnoreCase(header.first, "content-length"); });
    return answer;
  }

  answer.offset = 0;
  answer.length = body_size;
  std::optional<std::string> range = Joined(request_headers, "range");
  if (range && head.status == 200) {
    bool unsatisfiable = false;
    auto span = SingleRange(*range, body_size, &unsatisfiable);
    if (unsatisfiable) {
      answer.status = 416;
      answer.has_body = false;
      answer.length = 0;
      SetHeader(answer.headers, "Content-Range", fmt::format("bytes */{}", body_size));
      SetHeader(answer.headers, "Content-Length", "0");
      return answer;
    }
    if (span) {
      answer.status = 206;
      answer.offset = span->first;
      answer.length = span->second - span->first + 1;
      SetHeader(answer.headers, "Content-Range",
                fmt::format("bytes {}-{}/{}", span->first, span->second, body_size));
    }
  }
  SetHeader(answer.headers, "Content-Length", std::to_string(answer.length));
  return answer;
}

}  // namespace edge::bindings
