#include "bindings/r2/r2_wire.h"

#include <fmt/core.h>

#include "base/base64.h"
#include "base/json_escape.h"
#include "base/json_text.h"

namespace edge::bindings {
namespace {

using simdjson::dom::element;

Status Bad(std::string_view what) {
  return Status(ErrorCode::kInvalidInput, fmt::format("R2 call: {} is missing or malformed", what));
}

void AppendOptionalString(std::string& out, std::string_view name,
                          const std::optional<std::string>& value) {
  if (!value) return;
  out += fmt::format(",\"{}\":", name);
  base::AppendJsonEscaped(out, *value);
}

// An optional string field: absent or null is nullopt.
StatusOr<std::optional<std::string>> OptionalString(element object, std::string_view name) {
  element value;
  if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) {
    return std::optional<std::string>();
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return Bad(name);
  return std::optional<std::string>(std::string(text));
}

StatusOr<std::optional<int64_t>> OptionalInt(element object, std::string_view name) {
  element value;
  if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) {
    return std::optional<int64_t>();
  }
  int64_t number = 0;
  if (value.get_int64().get(number) != simdjson::SUCCESS) return Bad(name);
  return std::optional<int64_t>(number);
}

StatusOr<std::optional<uint64_t>> OptionalUint(element object, std::string_view name) {
  element value;
  if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) {
    return std::optional<uint64_t>();
  }
  uint64_t number = 0;
  if (value.get_uint64().get(number) != simdjson::SUCCESS) return Bad(name);
  return std::optional<uint64_t>(number);
}

StatusOr<bool> BoolField(element object, std::string_view name) {
  bool value = false;
  if (object[name].get_bool().get(value) != simdjson::SUCCESS) return Bad(name);
  return value;
}

void AppendHttpJson(std::string& out, const R2HttpMetadata& http) {
  out += "{\"_\":0";
  AppendOptionalString(out, "content_type", http.content_type);
  AppendOptionalString(out, "content_language", http.content_language);
  AppendOptionalString(out, "content_disposition", http.content_disposition);
  AppendOptionalString(out, "content_encoding", http.content_encoding);
  AppendOptionalString(out, "cache_control", http.cache_control);
  if (http.cache_expiry_ms) out += fmt::format(",\"cache_expiry\":{}", *http.cache_expiry_ms);
  out += '}';
}

StatusOr<R2HttpMetadata> HttpFromJson(element object) {
  R2HttpMetadata http;
  std::pair<std::string_view, std::optional<std::string>*> fields[] = {
      {"content_type", &http.content_type},
      {"content_language", &http.content_language},
      {"content_disposition", &http.content_disposition},
      {"content_encoding", &http.content_encoding},
      {"cache_control", &http.cache_control}};
  for (auto& [name, field] : fields) {
    auto value = OptionalString(object, name);
    if (!value.ok()) return value.status();
    *field = std::move(value).value();
  }
  auto expiry = OptionalInt(object, "cache_expiry");
  if (!expiry.ok()) return expiry.status();
  http.cache_expiry_ms = *expiry;
  return http;
}

void AppendPairsJson(std::string& out, const std::vector<std::pair<std::string, std::string>>& pairs) {
  base::AppendJsonArray(out, pairs, [](std::string& to, const auto& pair) {
    to += '[';
    base::AppendJsonEscaped(to, pair.first);
    to += ',';
    base::AppendJsonEscaped(to, pair.second);
    to += ']';
  });
}

StatusOr<std::vector<std::pair<std::string, std::string>>> PairsFromJson(element object,
                                                                         std::string_view name) {
  simdjson::dom::array list;
  if (object[name].get_array().get(list) != simdjson::SUCCESS) return Bad(name);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (element item : list) {
    simdjson::dom::array pair;
    std::string_view k, v;
    if (item.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get_string().get(k) != simdjson::SUCCESS ||
        pair.at(1).get_string().get(v) != simdjson::SUCCESS) {
      return Bad(name);
    }
    pairs.emplace_back(std::string(k), std::string(v));
  }
  return pairs;
}

void AppendEtagsJson(std::string& out, const std::optional<std::vector<R2Etag>>& etags) {
  if (!etags) {
    out += "null";
    return;
  }
  base::AppendJsonArray(out, *etags, [](std::string& to, const R2Etag& etag) {
    to += fmt::format("[{},", static_cast<int>(etag.type));
    base::AppendJsonEscaped(to, etag.value);
    to += ']';
  });
}

StatusOr<std::optional<std::vector<R2Etag>>> EtagsFromJson(element object, std::string_view name) {
  element value;
  if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) {
    return std::optional<std::vector<R2Etag>>();
  }
  simdjson::dom::array list;
  if (value.get_array().get(list) != simdjson::SUCCESS) return Bad(name);
  std::vector<R2Etag> etags;
  for (element item : list) {
    simdjson::dom::array pair;
    int64_t type = 0;
    std::string_view text;
    if (item.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get_int64().get(type) != simdjson::SUCCESS || type < 0 || type > 2 ||
        pair.at(1).get_string().get(text) != simdjson::SUCCESS) {
      return Bad(name);
    }
    etags.push_back(R2Etag{static_cast<R2Etag::Type>(type), std::string(text)});
  }
  return std::optional<std::vector<R2Etag>>(std::move(etags));
}

}  // namespace

StatusOr<std::string> R2StringField(element object, std::string_view name) {
  std::string_view text;
  if (object[name].get_string().get(text) != simdjson::SUCCESS) return Bad(name);
  return std::string(text);
}

StatusOr<uint64_t> R2NumberField(element object, std::string_view name) {
  uint64_t number = 0;
  if (object[name].get_uint64().get(number) != simdjson::SUCCESS) return Bad(name);
  return number;
}

void AppendR2MetaJson(std::string& out, const R2ObjectMeta& meta) {
  out += "{\"key\":";
  base::AppendJsonEscaped(out, meta.key);
  out += ",\"version\":";
  base::AppendJsonEscaped(out, meta.version);
  out += fmt::format(",\"size\":{},\"etag\":", meta.size);
  base::AppendJsonEscaped(out, meta.etag);
  out += fmt::format(",\"uploaded\":{},\"http\":", meta.uploaded_ms);
  AppendHttpJson(out, meta.http);
  out += ",\"custom\":";
  AppendPairsJson(out, meta.custom);
  out += ",\"checksums\":{\"_\":0";
  std::pair<const char*, const std::string*> sums[] = {{"md5", &meta.checksums.md5},
                                                      {"sha1", &meta.checksums.sha1},
                                                      {"sha256", &meta.checksums.sha256},
                                                      {"sha384", &meta.checksums.sha384},
                                                      {"sha512", &meta.checksums.sha512}};
  for (const auto& [name, sum] : sums) {
    if (!sum->empty()) out += fmt::format(",\"{}\":\"{}\"", name, base::Base64Encode(*sum));
  }
  out += "},\"storage_class\":";
  base::AppendJsonEscaped(out, meta.storage_class);
  out += '}';
}

StatusOr<R2ObjectMeta> R2MetaFromJson(element object) {
  R2ObjectMeta meta;
  std::pair<std::string_view, std::string*> texts[] = {{"key", &meta.key},
                                                       {"version", &meta.version},
                                                       {"etag", &meta.etag},
                                                       {"storage_class", &meta.storage_class}};
  for (auto& [name, field] : texts) {
    auto text = R2StringField(object, name);
    if (!text.ok()) return text.status();
    *field = std::move(text).value();
  }
  auto size = R2NumberField(object, "size");
  if (!size.ok()) return size.status();
  meta.size = *size;
  if (object["uploaded"].get_int64().get(meta.uploaded_ms) != simdjson::SUCCESS) {
    return Bad("uploaded");
  }
  element http;
  if (object["http"].get(http) != simdjson::SUCCESS || !http.is_object()) return Bad("http");
  auto parsed_http = HttpFromJson(http);
  if (!parsed_http.ok()) return parsed_http.status();
  meta.http = std::move(parsed_http).value();
  auto custom = PairsFromJson(object, "custom");
  if (!custom.ok()) return custom.status();
  meta.custom = std::move(custom).value();
  element sums;
  if (object["checksums"].get(sums) != simdjson::SUCCESS || !sums.is_object()) {
    return Bad("checksums");
  }
  std::pair<std::string_view, std::string*> digests[] = {{"md5", &meta.checksums.md5},
                                                         {"sha1", &meta.checksums.sha1},
                                                         {"sha256", &meta.checksums.sha256},
                                                         {"sha384", &meta.checksums.sha384},
                                                         {"sha512", &meta.checksums.sha512}};
  for (auto& [name, field] : digests) {
    auto text = OptionalString(sums, name);
    if (!text.ok()) return text.status();
    if (!*text) continue;
    auto bytes = base::Base64Decode(**text);
    if (!bytes.ok()) return Bad(name);
    *field = std::move(bytes).value();
  }
  return meta;
}

void AppendR2ConditionalJson(std::string& out, const std::optional<R2Conditional>& only_if) {
  if (!only_if) {
    out += "null";
    return;
  }
  out += "{\"etag_matches\":";
  AppendEtagsJson(out, only_if->etag_matches);
  out += ",\"etag_does_not_match\":";
  AppendEtagsJson(out, only_if->etag_does_not_match);
  if (only_if->uploaded_before_ms) out += fmt::format(",\"uploaded_before\":{}", *only_if->uploaded_before_ms);
  if (only_if->uploaded_after_ms) out += fmt::format(",\"uploaded_after\":{}", *only_if->uploaded_after_ms);
  out += fmt::format(",\"seconds\":{}}}", only_if->seconds_granularity ? "true" : "false");
}

StatusOr<std::optional<R2Conditional>> R2ConditionalFromJson(element object) {
  if (object.is_null()) return std::optional<R2Conditional>();
  if (!object.is_object()) return Bad("only_if");
  R2Conditional only_if;
  auto matches = EtagsFromJson(object, "etag_matches");
  if (!matches.ok()) return matches.status();
  only_if.etag_matches = std::move(matches).value();
  auto not_matches = EtagsFromJson(object, "etag_does_not_match");
  if (!not_matches.ok()) return not_matches.status();
  only_if.etag_does_not_match = std::move(not_matches).value();
  auto before = OptionalInt(object, "uploaded_before");
  if (!before.ok()) return before.status();
  only_if.uploaded_before_ms = *before;
  auto after = OptionalInt(object, "uploaded_after");
  if (!after.ok()) return after.status();
  only_if.uploaded_after_ms = *after;
  auto seconds = BoolField(object, "seconds");
  if (!seconds.ok()) return seconds.status();
  only_if.seconds_granularity = *seconds;
  return std::optional<R2Conditional>(std::move(only_if));
}

void AppendR2PutOptionsJson(std::string& out, const R2PutOptions& options) {
  out += "{\"http\":";
  AppendHttpJson(out, options.http);
  out += ",\"custom\":";
  AppendPairsJson(out, options.custom);
  out += ",\"storage_class\":";
  base::AppendJsonEscaped(out, options.storage_class);
  out += ",\"only_if\":";
  AppendR2ConditionalJson(out, options.only_if);
  out += ",\"checksum_algorithm\":";
  base::AppendJsonEscaped(out, options.checksum_algorithm);
  out += fmt::format(",\"checksum\":\"{}\"}}", base::Base64Encode(options.checksum));
}

StatusOr<R2PutOptions> R2PutOptionsFromJson(element object) {
  if (!object.is_object()) return Bad("options");
  R2PutOptions options;
  element http;
  if (object["http"].get(http) != simdjson::SUCCESS || !http.is_object()) return Bad("http");
  auto parsed_http = HttpFromJson(http);
  if (!parsed_http.ok()) return parsed_http.status();
  options.http = std::move(parsed_http).value();
  auto custom = PairsFromJson(object, "custom");
  if (!custom.ok()) return custom.status();
  options.custom = std::move(custom).value();
  auto storage_class = R2StringField(object, "storage_class");
  if (!storage_class.ok()) return storage_class.status();
  options.storage_class = std::move(storage_class).value();
  element only_if;
  if (object["only_if"].get(only_if) != simdjson::SUCCESS) return Bad("only_if");
  auto conditional = R2ConditionalFromJson(only_if);
  if (!conditional.ok()) return conditional.status();
  options.only_if = std::move(conditional).value();
  auto algorithm = R2StringField(object, "checksum_algorithm");
  if (!algorithm.ok()) return algorithm.status();
  options.checksum_algorithm = std::move(algorithm).value();
  auto checksum = R2StringField(object, "checksum");
  if (!checksum.ok()) return checksum.status();
  auto digest = base::Base64Decode(*checksum);
  if (!digest.ok()) return Bad("checksum");
  options.checksum = std::move(digest).value();
  return options;
}

void AppendR2RangeJson(std::string& out, const std::optional<R2Range>& range) {
  if (!range) {
    out += "null";
    return;
  }
  out += "{\"_\":0";
  if (range->offset) out += fmt::format(",\"offset\":{}", *range->offset);
  if (range->length) out += fmt::format(",\"length\":{}", *range->length);
  if (range->suffix) out += fmt::format(",\"suffix\":{}", *range->suffix);
  out += '}';
}

StatusOr<std::optional<R2Range>> R2RangeFromJson(element object) {
  if (object.is_null()) return std::optional<R2Range>();
  if (!object.is_object()) return Bad("range");
  R2Range range;
  std::pair<std::string_view, std::optional<uint64_t>*> fields[] = {
      {"offset", &range.offset}, {"length", &range.length}, {"suffix", &range.suffix}};
  for (auto& [name, field] : fields) {
    auto value = OptionalUint(object, name);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  return std::optional<R2Range>(range);
}

void AppendR2ListResultJson(std::string& out, const R2ListResult& result) {
  out += "{\"objects\":";
  base::AppendJsonArray(out, result.objects,
                        [](std::string& to, const R2ObjectMeta& meta) { AppendR2MetaJson(to, meta); });
  out += ",\"delimited_prefixes\":";
  base::AppendJsonArray(out, result.delimited_prefixes,
                        [](std::string& to, const std::string& prefix) { base::AppendJsonEscaped(to, prefix); });
  out += fmt::format(",\"truncated\":{},\"cursor\":", result.truncated ? "true" : "false");
  base::AppendJsonEscaped(out, result.cursor);
  out += '}';
}

StatusOr<R2ListResult> R2ListResultFromJson(element object) {
  R2ListResult result;
  simdjson::dom::array objects, prefixes;
  if (object["objects"].get_array().get(objects) != simdjson::SUCCESS) return Bad("objects");
  for (element item : objects) {
    auto meta = R2MetaFromJson(item);
    if (!meta.ok()) return meta.status();
    result.objects.push_back(std::move(meta).value());
  }
  if (object["delimited_prefixes"].get_array().get(prefixes) != simdjson::SUCCESS) {
    return Bad("delimited_prefixes");
  }
  for (element item : prefixes) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) return Bad("delimited_prefixes");
    result.delimited_prefixes.emplace_back(text);
  }
  auto truncated = BoolField(object, "truncated");
  if (!truncated.ok()) return truncated.status();
  result.truncated = *truncated;
  auto cursor = R2StringField(object, "cursor");
  if (!cursor.ok()) return cursor.status();
  result.cursor = std::move(cursor).value();
  return result;
}

std::string R2ErrorJson(const Status& status) {
  std::string_view code = "invalid";
  switch (status.code()) {
    case ErrorCode::kTypeError: code = "type"; break;
    case ErrorCode::kRangeError: code = "range"; break;
    case ErrorCode::kSyntaxError: code = "syntax"; break;
    case ErrorCode::kNotFound: code = "not_found"; break;
    case ErrorCode::kIo: code = "io"; break;
    case ErrorCode::kInternal: code = "internal"; break;
    default: break;
  }
  std::string out = "{\"error\":";
  base::AppendJsonEscaped(out, status.message());
  out += fmt::format(",\"code\":\"{}\"}}", code);
  return out;
}

Status R2StatusFromError(std::string_view code, std::string message) {
  ErrorCode kind = code == "type"        ? ErrorCode::kTypeError
                   : code == "range"     ? ErrorCode::kRangeError
                   : code == "syntax"    ? ErrorCode::kSyntaxError
                   : code == "not_found" ? ErrorCode::kNotFound
                   : code == "io"        ? ErrorCode::kIo
                   : code == "internal"  ? ErrorCode::kInternal
                                         : ErrorCode::kInvalidInput;
  return Status(kind, std::move(message));
}

}  // namespace edge::bindings
