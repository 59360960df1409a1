#include "gateway/policy/policy_config.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <set>

#include "base/ascii.h"
#include "base/json_text.h"
#include "base/http_client/http_client.h"
#include "base/sha256.h"
#include "bindings/ratelimit/token_buckets.h"

namespace edge::gateway::policy {
namespace {

using simdjson::dom::element;

// Bounds on what a table may list: every list is walked per request.
constexpr size_t kMaxListItems = 64;
constexpr size_t kMaxKeys = 1024;
constexpr size_t kMaxNameBytes = 256;

Status Invalid(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

std::string Lower(std::string_view text) { return base::AsciiLower(text); }

// An HTTP token (RFC 9110 5.6.2): header names and methods.
bool IsToken(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameBytes) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Hex SHA-256 -> its 32 bytes; nullopt when it is not 64 hex digits.
std::optional<std::string> HashBytes(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  return base::HexDecode(hex);
}

class Reader {
 public:
  Reader(bool host_policies, std::string_view owner, const std::vector<runtime::WorkerVar>& secrets,
         std::vector<std::string>* warnings, JwksCaches* jwks)
      : host_policies_(host_policies), owner_(owner), secrets_(secrets), warnings_(warnings), jwks_(jwks) {}

  StatusOr<PolicyTables> Read(std::string_view json) {
    PolicyTables tables;
    if (json.empty()) return tables;
    element root;
    if (parser_.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
      return Invalid(fmt::format("{}: not valid JSON", Root()));
    }
    simdjson::dom::array list;
    if (root.get_array().get(list) != simdjson::SUCCESS) {
      return Invalid(fmt::format("{} must be an array of tables", Root()));
    }
    size_t index = 0;
    for (element item : list) {
      if (index >= 32) return Invalid(fmt::format("{}: more than 32 tables", Root()));
      std::string what = fmt::format("{}[{}]", Root(), index);
      auto table = Table(item, what, index);
      if (!table.ok()) return table.status();
      tables.push_back(std::move(table).value());
      ++index;
    }
    return tables;
  }

 private:
  std::string_view Root() const { return host_policies_ ? "host_policies" : "policies"; }

  StatusOr<PolicyTable> Table(element value, const std::string& what, size_t index) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return Invalid(what + " must be a table");
    PolicyTable table;
    std::string_view where_key = host_policies_ ? "hosts" : "routes";
    bool has_where = false;
    for (simdjson::dom::key_value_pair field : object) {
      std::string_view key = field.key;
      std::string path = fmt::format("{}.{}", what, key);
      if (key == where_key) {
        has_where = true;
        EDGE_RETURN_IF_ERROR(Where(field.value, path, table));
      } else if (key == "cors") {
        EDGE_RETURN_IF_ERROR(Cors(field.value, path, table.cors.emplace()));
      } else if (key == "validate") {
        EDGE_RETURN_IF_ERROR(Validate(field.value, path, table.validate.emplace()));
      } else if (key == "api_key") {
        EDGE_RETURN_IF_ERROR(ApiKey(field.value, path, table.api_key.emplace()));
      } else if (key == "rate_limit") {
        EDGE_RETURN_IF_ERROR(RateLimit(field.value, path, table.rate_limit.emplace()));
      } else if (key == "jwt") {
        EDGE_RETURN_IF_ERROR(Jwt(field.value, path, index, table.jwt.emplace()));
      } else {
        return Invalid(fmt::format("{}: unknown key (known: {}, cors, validate, api_key, jwt, rate_limit)",
                                   path, where_key));
      }
    }
    if (host_policies_ && !has_where) return Invalid(fmt::format("{}.hosts is required", what));
    if (table.rate_limit && table.rate_limit->key == RateLimitPolicy::Key::kApiKey && !table.api_key) {
      return Invalid(fmt::format("{}.rate_limit.key = \"api_key\" needs an api_key policy in the same table", what));
    }
    if (table.rate_limit && table.rate_limit->key == RateLimitPolicy::Key::kJwtSubject && !table.jwt) {
      return Invalid(fmt::format("{}.rate_limit.key = \"jwt_sub\" needs a jwt policy in the same table", what));
    }
    if (table.rate_limit) {
      table.bucket_space = host_policies_ ? fmt::format("host-policy\n{}", index)
                                          : fmt::format("policy\n{}\n{}", owner_, index);
    }
    return table;
  }

  Status Where(element value, const std::string& what, PolicyTable& table) {
    std::vector<std::string> patterns;
    EDGE_RETURN_IF_ERROR(Strings(value, what, patterns, false));
    if (patterns.empty()) return Invalid(fmt::format("{} must not be empty", what));
    std::vector<Route> routes;
    for (const std::string& text : patterns) {
      std::string pattern = host_policies_ ? text + "/*" : text;
      if (host_policies_ && text.find('/') != std::string::npos) {
        return Invalid(fmt::format("{}: \"{}\" must be a host name or pattern, without a path", what, text));
      }
      StatusOr<ParsedRoute> parsed = ParseRoutePattern(pattern);
      if (!parsed.ok()) return Invalid(fmt::format("{}: {}", what, parsed.status().message()));
      table.where.push_back(std::move(parsed).value());
      routes.push_back({pattern, "policy"});
    }
    StatusOr<RouteTable> built = RouteTable::Build(std::move(routes));
    if (!built.ok()) return Invalid(fmt::format("{}: {}", what, built.status().message()));
    table.where_table = std::make_shared<const RouteTable>(std::move(built).value());
    return Status::Ok();
  }

  // An array of strings (at most kMaxListItems), each checked by `check`.
  template <typename Check>
  Status StringList(element value, const std::string& what, std::vector<std::string>& out, Check check) {
    simdjson::dom::array list;
    if (value.get_array().get(list) != simdjson::SUCCESS) {
      return Invalid(fmt::format("{} must be an array of strings", what));
    }
    for (element item : list) {
      std::string_view text;
      if (item.get_string().get(text) != simdjson::SUCCESS) {
        return Invalid(fmt::format("{} must be an array of strings", what));
      }
      if (out.size() >= kMaxListItems) return Invalid(fmt::format("{}: more than {} items", what, kMaxListItems));
      EDGE_RETURN_IF_ERROR(check(text));
      out.emplace_back(text);
    }
    return Status::Ok();
  }

  Status Strings(element value, const std::string& what, std::vector<std::string>& out, bool lower) {
    EDGE_RETURN_IF_ERROR(StringList(value, what, out, [&](std::string_view text) -> Status {
      if (text.empty() || text.size() > 1024) return Invalid(fmt::format("{}: an item is empty or too long", what));
      return Status::Ok();
    }));
    if (lower) {
      for (std::string& item : out) item = Lower(item);
    }
    return Status::Ok();
  }

  Status Tokens(element value, const std::string& what, std::vector<std::string>& out, bool lower) {
    EDGE_RETURN_IF_ERROR(StringList(value, what, out, [&](std::string_view text) -> Status {
      if (!IsToken(text)) {
        return Invalid(fmt::format("{}: {} is not a valid HTTP token", what, base::JsonString(text)));
      }
      return Status::Ok();
    }));
    if (lower) {
      for (std::string& item : out) item = Lower(item);
    }
    return Status::Ok();
  }

  static Status Integer(element value, const std::string& what, uint64_t min, uint64_t max, uint64_t& out) {
    uint64_t number = 0;
    if (value.get_uint64().get(number) != simdjson::SUCCESS || number < min || number > max) {
      return Invalid(fmt::format("{} must be an integer from {} to {}", what, min, max));
    }
    out = number;
    return Status::Ok();
  }

  static Status Bool(element value, const std::string& what, bool& out) {
    if (value.get_bool().get(out) != simdjson::SUCCESS) return Invalid(what + " must be true or false");
    return Status::Ok();
  }

  static Status Text(element value, const std::string& what, std::string& out) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) return Invalid(what + " must be a string");
    out = std::string(text);
    return Status::Ok();
  }

  // Each field of an object, read by `read`; a key it does not know is an error.
  template <typename Read>
  static Status Fields(element value, const std::string& what, std::string_view known, Read read) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return Invalid(what + " must be a table");
    for (simdjson::dom::key_value_pair field : object) {
      std::string path = fmt::format("{}.{}", what, field.key);
      StatusOr<bool> handled = read(field.key, field.value, path);
      if (!handled.ok()) return handled.status();
      if (!*handled) return Invalid(fmt::format("{}: unknown key (known: {})", path, known));
    }
    return Status::Ok();
  }

  Status Cors(element value, const std::string& what, CorsPolicy& cors) {
    bool has_origins = false;
    EDGE_RETURN_IF_ERROR(Fields(value, what, "origins, methods, headers, credentials, max_age, expose_headers",
        [&](std::string_view key, element field, const std::string& path) -> StatusOr<bool> {
          if (key == "origins") {
            has_origins = true;
            std::string_view star;
            if (field.get_string().get(star) == simdjson::SUCCESS) {
              if (star != "*") return Invalid(path + " must be \"*\" or an array of origins");
              cors.any_origin = true;
              return true;
            }
            EDGE_RETURN_IF_ERROR(StringList(field, path, cors.origins, [&](std::string_view origin) -> Status {
              if (origin == "*") {
                cors.any_origin = true;
                return Status::Ok();
              }
              size_t scheme = origin.find("://");
              if (scheme == std::string_view::npos || scheme == 0 || origin.size() > 1024 ||
                  origin.find('/', scheme + 3) != std::string_view::npos || scheme + 3 == origin.size()) {
                return Invalid(fmt::format("{}: {} is not an origin (scheme://host[:port])", path,
                                           base::JsonString(origin)));
              }
              return Status::Ok();
            }));
            for (std::string& origin : cors.origins) origin = Lower(origin);
            std::erase(cors.origins, "*");
            return true;
          }
          if (key == "methods") {
            EDGE_RETURN_IF_ERROR(Tokens(field, path, cors.methods, false));
            return true;
          }
          if (key == "headers") {
            std::vector<std::string> headers;
            EDGE_RETURN_IF_ERROR(StringList(field, path, headers, [&](std::string_view name) -> Status {
              if (name != "*" && !IsToken(name)) {
                return Invalid(fmt::format("{}: {} is not a header name", path, base::JsonString(name)));
              }
              return Status::Ok();
            }));
            for (std::string& name : headers) {
              if (name == "*") {
                cors.any_header = true;
              } else {
                cors.headers.push_back(Lower(name));
              }
            }
            return true;
          }
          if (key == "credentials") {
            EDGE_RETURN_IF_ERROR(Bool(field, path, cors.credentials));
            return true;
          }
          if (key == "max_age") {
            uint64_t seconds = 0;
            EDGE_RETURN_IF_ERROR(Integer(field, path, 0, 86400, seconds));
            cors.max_age = static_cast<uint32_t>(seconds);
            return true;
          }
          if (key == "expose_headers") {
            EDGE_RETURN_IF_ERROR(Tokens(field, path, cors.expose_headers, false));
            return true;
          }
          return false;
        }));
    if (!has_origins) return Invalid(what + ".origins is required");
    if (cors.credentials && cors.any_origin) {
      return Invalid(what + ": credentials = true needs a list of origins, not \"*\" (browsers refuse both together)");
    }
    if (cors.methods.empty()) cors.methods = {"GET", "HEAD", "POST"};
    return Status::Ok();
  }

  Status Validate(element value, const std::string& what, ValidatePolicy& validate) {
    return Fields(value, what, "methods, required_headers, content_types, max_body_bytes",
        [&](std::string_view key, element field, const std::string& path) -> StatusOr<bool> {
          if (key == "methods") {
            EDGE_RETURN_IF_ERROR(Tokens(field, path, validate.methods, false));
            return true;
          }
          if (key == "required_headers") {
            EDGE_RETURN_IF_ERROR(Tokens(field, path, validate.required_headers, true));
            return true;
          }
          if (key == "content_types") {
            EDGE_RETURN_IF_ERROR(StringList(field, path, validate.content_types, [&](std::string_view type) -> Status {
              size_t slash = type.find('/');
              if (slash == std::string_view::npos || !IsToken(type.substr(0, slash)) ||
                  !IsToken(type.substr(slash + 1))) {
                return Invalid(fmt::format("{}: {} is not a media type (type/subtype or type/*)", path,
                                           base::JsonString(type)));
              }
              return Status::Ok();
            }));
            for (std::string& type : validate.content_types) type = Lower(type);
            return true;
          }
          if (key == "max_body_bytes") {
            uint64_t bytes = 0;
            EDGE_RETURN_IF_ERROR(Integer(field, path, 0, uint64_t{1} << 40, bytes));
            validate.max_body_bytes = bytes;
            return true;
          }
          if (key == "schema") {
            // An object (a TOML table in edge.toml) or a string of JSON text.
            std::string text;
            std::string_view given;
            if (field.get_string().get(given) == simdjson::SUCCESS) {
              text = std::string(given);
            } else if (field.is_object()) {
              text = simdjson::minify(field);
            } else {
              return Invalid(path + " must be a JSON Schema: a table, or a string of JSON text");
            }
            auto schema = JsonSchema::Compile(text);
            if (!schema.ok()) return Invalid(fmt::format("{}: {}", path, schema.status().message()));
            validate.schema = std::move(schema).value();
            return true;
          }
          return false;
        });
  }

  Status ApiKey(element value, const std::string& what, ApiKeyPolicy& api_key) {
    EDGE_RETURN_IF_ERROR(Fields(value, what,
        host_policies_ ? "header, query, keys, forward_header" : "header, query, keys, secret_prefix, forward_header",
        [&](std::string_view key, element field, const std::string& path) -> StatusOr<bool> {
          if (key == "header" || key == "forward_header") {
            std::string name;
            EDGE_RETURN_IF_ERROR(Text(field, path, name));
            if (!IsToken(name)) return Invalid(fmt::format("{}: {} is not a header name", path, base::JsonString(name)));
            (key == "header" ? api_key.header : api_key.forward_header) = Lower(name);
            return true;
          }
          if (key == "query") {
            EDGE_RETURN_IF_ERROR(Text(field, path, api_key.query));
            if (api_key.query.empty() || api_key.query.size() > kMaxNameBytes) {
              return Invalid(path + " must be a parameter name of 1 to 256 bytes");
            }
            return true;
          }
          if (key == "secret_prefix" && !host_policies_) {
            EDGE_RETURN_IF_ERROR(Text(field, path, api_key.secret_prefix));
            if (api_key.secret_prefix.empty()) return Invalid(path + " must not be empty");
            return true;
          }
          if (key == "keys") {
            simdjson::dom::object keys;
            if (field.get_object().get(keys) != simdjson::SUCCESS) {
              return Invalid(path + " must be a table of name = \"<SHA-256 of the key, in hex>\"");
            }
            for (simdjson::dom::key_value_pair entry : keys) {
              std::string_view hex;
              std::optional<std::string> bytes;
              if (entry.value.get_string().get(hex) == simdjson::SUCCESS) bytes = HashBytes(hex);
              if (!bytes) {
                return Invalid(fmt::format("{}.{} must be the SHA-256 of the key in hex (64 digits)", path, entry.key));
              }
              if (entry.key.empty() || entry.key.size() > kMaxNameBytes || !IsToken(entry.key)) {
                return Invalid(fmt::format("{}: {} is not a valid key name (an HTTP token)", path,
                                           base::JsonString(entry.key)));
              }
              if (api_key.keys.size() >= kMaxKeys) return Invalid(fmt::format("{}: more than {} keys", path, kMaxKeys));
              api_key.keys.emplace_back(std::string(entry.key), std::move(*bytes));
            }
            return true;
          }
          return false;
        }));
    if (api_key.header.empty() == api_key.query.empty()) {
      return Invalid(what + " needs exactly one of header and query");
    }
    if (!api_key.secret_prefix.empty()) {
      for (const runtime::WorkerVar& secret : secrets_) {
        if (!secret.name.starts_with(api_key.secret_prefix) || secret.name == api_key.secret_prefix) continue;
        std::string name = secret.name.substr(api_key.secret_prefix.size());
        std::optional<std::string> bytes = HashBytes(secret.value);
        if (!bytes) {
          if (warnings_ != nullptr) {
            warnings_->push_back(fmt::format("{}: the secret {} is not a SHA-256 in hex and is not a key",
                                             what, secret.name));
          }
          continue;
        }
        if (api_key.keys.size() >= kMaxKeys) break;
        api_key.keys.emplace_back(std::move(name), std::move(*bytes));
      }
    }
    return Status::Ok();
  }

  Status RateLimit(element value, const std::string& what, RateLimitPolicy& limit) {
    bool has_requests = false, has_period = false;
    EDGE_RETURN_IF_ERROR(Fields(value, what, "requests, period_s, key",
        [&](std::string_view key, element field, const std::string& path) -> StatusOr<bool> {
          uint64_t number = 0;
          if (key == "requests") {
            EDGE_RETURN_IF_ERROR(Integer(field, path, 1, bindings::TokenBuckets::kMaxLimit, number));
            limit.requests = static_cast<uint32_t>(number);
            has_requests = true;
            return true;
          }
          if (key == "period_s") {
            EDGE_RETURN_IF_ERROR(Integer(field, path, 1, bindings::TokenBuckets::kMaxPeriodMs / 1000, number));
            limit.period_s = static_cast<uint32_t>(number);
            has_period = true;
            return true;
          }
          if (key == "key") {
            std::string text;
            EDGE_RETURN_IF_ERROR(Text(field, path, text));
            if (text == "ip") {
              limit.key = RateLimitPolicy::Key::kIp;
            } else if (text == "api_key") {
              limit.key = RateLimitPolicy::Key::kApiKey;
            } else if (text == "jwt_sub") {
              limit.key = RateLimitPolicy::Key::kJwtSubject;
            } else if (text.starts_with("header:") && IsToken(text.substr(7))) {
              limit.key = RateLimitPolicy::Key::kHeader;
              limit.header = Lower(text.substr(7));
            } else {
              return Invalid(fmt::format("{} must be \"ip\", \"api_key\", \"jwt_sub\" or \"header:<name>\" (got {})", path,
                                         base::JsonString(text)));
            }
            return true;
          }
          return false;
        }));
    if (!has_requests) return Invalid(what + ".requests is required");
    if (!has_period) return Invalid(what + ".period_s is required");
    return Status::Ok();
  }

  Status Jwt(element value, const std::string& what, size_t index, JwtPolicyConfig& jwt) {
    JwtPolicy policy;
    bool has_algorithms = false, has_keys = false, has_secret = false;
    auto keys = std::make_shared<JwtKeySet>();
    std::string secret_name;
    EDGE_RETURN_IF_ERROR(Fields(value, what,
        host_policies_ ? "issuer, audiences, algorithms, keys, jwks_url, clock_skew_s, required_claims, "
                         "claims_header, realm"
                       : "issuer, audiences, algorithms, keys, secret, jwks_url, clock_skew_s, required_claims, "
                         "claims_header, realm",
        [&](std::string_view key, element field, const std::string& path) -> StatusOr<bool> {
          if (key == "issuer") {
            EDGE_RETURN_IF_ERROR(Text(field, path, policy.issuer));
            if (policy.issuer.size() > 1024) return Invalid(path + " is longer than 1024 bytes");
            return true;
          }
          if (key == "audiences") {
            EDGE_RETURN_IF_ERROR(Strings(field, path, policy.audiences, false));
            return true;
          }
          if (key == "algorithms") {
            has_algorithms = true;
            std::vector<std::string> names;
            EDGE_RETURN_IF_ERROR(StringList(field, path, names, [&](std::string_view name) -> Status {
              std::optional<JwtAlg> alg = JwtAlgNamed(name);
              if (!alg) {
                return Invalid(fmt::format("{}: {} is not one of RS256, ES256, EdDSA, HS256", path,
                                           base::JsonString(name.substr(0, 64))));
              }
              if (std::find(policy.algorithms.begin(), policy.algorithms.end(), *alg) == policy.algorithms.end()) {
                policy.algorithms.push_back(*alg);
              }
              return Status::Ok();
            }));
            return true;
          }
          if (key == "keys") {
            has_keys = true;
            simdjson::dom::array list;
            if (field.get_array().get(list) != simdjson::SUCCESS) {
              return Invalid(path + " must be an array of keys: PEM text, or JWKs (tables or JSON text)");
            }
            size_t item_index = 0;
            for (element item : list) {
              std::string item_path = fmt::format("{}[{}]", path, item_index++);
              if (item_index > kMaxListItems) return Invalid(fmt::format("{}: more than {} items", path, kMaxListItems));
              std::string text;
              std::string_view given;
              if (item.get_string().get(given) == simdjson::SUCCESS) {
                text = std::string(given);
              } else if (item.is_object()) {
                text = simdjson::minify(item);
              } else {
                return Invalid(item_path + " must be PEM text, a JWK or a JWKS (a table or JSON text)");
              }
              StatusOr<JwtKeySet> parsed = ParseJwtKeys(text);
              if (!parsed.ok()) return Invalid(fmt::format("{}: {}", item_path, parsed.status().message()));
              for (JwtKey& parsed_key : parsed->keys) keys->keys.push_back(std::move(parsed_key));
            }
            return true;
          }
          if (key == "secret" && !host_policies_) {
            has_secret = true;
            EDGE_RETURN_IF_ERROR(Text(field, path, secret_name));
            if (secret_name.empty() || secret_name.size() > kMaxNameBytes) {
              return Invalid(path + " must name one of the worker's secrets");
            }
            return true;
          }
          if (key == "jwks_url") {
            EDGE_RETURN_IF_ERROR(Text(field, path, jwt.jwks_url));
            StatusOr<base::HttpUrl> url = base::ParseHttpUrl(jwt.jwks_url);
            if (!url.ok() || jwt.jwks_url.size() > 2048) {
              return Invalid(fmt::format("{}: {} is not an http(s) URL without query or fragment{}", path,
                                         base::JsonString(jwt.jwks_url.substr(0, 256)),
                                         url.ok() ? "" : " (" + url.status().message() + ")"));
            }
            return true;
          }
          if (key == "clock_skew_s") {
            uint64_t seconds = 0;
            EDGE_RETURN_IF_ERROR(Integer(field, path, 0, kMaxClockSkew, seconds));
            policy.clock_skew_s = static_cast<int64_t>(seconds);
            return true;
          }
          if (key == "required_claims") {
            policy.required_claims.clear();
            EDGE_RETURN_IF_ERROR(Strings(field, path, policy.required_claims, false));
            return true;
          }
          if (key == "claims_header") {
            std::string name;
            EDGE_RETURN_IF_ERROR(Text(field, path, name));
            name = Lower(name);
            if (!IsToken(name)) return Invalid(fmt::format("{}: {} is not a header name", path, base::JsonString(name)));
            for (std::string_view reserved : {"authorization", "host", "content-length", "content-type",
                                              "transfer-encoding", "connection", "cookie", "upgrade"}) {
              if (name == reserved) return Invalid(fmt::format("{}: {} is not a header the gateway may set", path, name));
            }
            jwt.claims_header = std::move(name);
            return true;
          }
          if (key == "realm") {
            EDGE_RETURN_IF_ERROR(Text(field, path, jwt.realm));
            bool plain = !jwt.realm.empty() && jwt.realm.size() <= 256 && base::IsVisibleAscii(jwt.realm) &&
                         jwt.realm.find_first_of("\"\\") == std::string::npos;
            if (!plain) return Invalid(path + " must be 1 to 256 printable ASCII characters without quotes or backslashes");
            return true;
          }
          return false;
        }));
    if (!has_algorithms) return Invalid(what + ".algorithms is required (RS256, ES256, EdDSA, HS256)");
    int sources = int{has_keys} + int{has_secret} + int{!jwt.jwks_url.empty()};
    if (sources != 1) {
      return Invalid(fmt::format("{} needs exactly one of keys, {}jwks_url", what, host_policies_ ? "" : "secret, "));
    }
    bool missing_secret = false;
    if (has_secret) {
      const runtime::WorkerVar* found = nullptr;
      for (const runtime::WorkerVar& secret : secrets_) {
        if (secret.name == secret_name) found = &secret;
      }
      if (found == nullptr) {
        // Refused closed: no token passes until the secret is there.
        missing_secret = true;
        if (warnings_ != nullptr) {
          warnings_->push_back(fmt::format("{}.secret: the worker has no secret {}; every token is refused until "
                                           "it has", what, secret_name));
        }
      } else {
        StatusOr<JwtKey> key = JwtHmacKey(found->value);
        if (!key.ok()) return Invalid(fmt::format("{}.secret: the secret {} is {}", what, secret_name,
                                                  key.status().message()));
        keys->keys.push_back(std::move(key).value());
      }
    }
    bool inline_keys = has_keys || has_secret;
    Status valid = ValidateJwtPolicy(policy, inline_keys && !missing_secret ? keys.get() : nullptr);
    if (!valid.ok()) {
      std::string message = valid.message();
      if (message.starts_with("jwt")) message = message.substr(3);
      return Invalid(what + message);
    }
    jwt.policy = std::make_shared<const JwtPolicy>(std::move(policy));
    if (inline_keys) {
      jwt.keys = std::move(keys);
    } else {
      std::string owner = host_policies_ ? fmt::format("host-policy\n{}", index)
                                         : fmt::format("policy\n{}\n{}", owner_, index);
      jwt.jwks = jwks_ != nullptr ? jwks_->Get(owner, jwt.jwks_url) : NoJwksFetches(jwt.jwks_url);
    }
    return Status::Ok();
  }

  // A cache for a parse that serves nothing (a config check): its fetches fail.
  static std::shared_ptr<JwksCache> NoJwksFetches(const std::string& url) {
    return JwksCache::Create({.url = url, .fetch = [](const std::string&, auto done) {
                                done(Status(ErrorCode::kIo, "JWKS fetches are not available here"));
                              }});
  }

  bool host_policies_;
  std::string owner_;
  const std::vector<runtime::WorkerVar>& secrets_;
  std::vector<std::string>* warnings_;
  JwksCaches* jwks_;
  simdjson::dom::parser parser_;
};

}  // namespace

StatusOr<PolicyTables> ParseWorkerPolicies(std::string_view json, std::string_view bucket_owner,
                                           const std::vector<runtime::WorkerVar>& secrets,
                                           std::vector<std::string>* warnings, JwksCaches* jwks) {
  return Reader(false, bucket_owner, secrets, warnings, jwks).Read(json);
}

StatusOr<PolicyTables> ParseHostPolicies(std::string_view json, JwksCaches* jwks) {
  if (json.size() > kMaxHostPoliciesJsonBytes) {
    return Invalid(fmt::format("host_policies: {} bytes of JSON, over the limit of {}", json.size(),
                               kMaxHostPoliciesJsonBytes));
  }
  static const std::vector<runtime::WorkerVar> kNoSecrets;
  return Reader(true, "", kNoSecrets, nullptr, jwks).Read(json);
}

}  // namespace edge::gateway::policy
