#include "gateway/policy/policy_engine.h"

#include <fmt/core.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include "base/ascii.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "gateway/host/scheduled_trigger.h"
#include "gateway/policy/jwt.h"
#include "gateway/policy/jwt_jwks.h"

namespace edge::gateway::policy {
namespace {

// Bounds on what a request may make the policies walk.
constexpr size_t kMaxOriginBytes = 1024;
constexpr size_t kMaxRequestedHeaders = 64;
constexpr size_t kMaxRequestedHeadersBytes = 8192;
constexpr size_t kMaxApiKeyBytes = 4096;
constexpr size_t kMaxRateKeyBytes = 1024;

// The problem types of RFC 9457 answers, one per reason.
constexpr std::string_view kTypePrefix = "urn:edge:problem:";

const std::string* FindHeader(const HeaderList& headers, std::string_view lower_name, size_t* count = nullptr) {
  const std::string* found = nullptr;
  size_t seen = 0;
  for (const auto& [name, value] : headers) {
    if (base::EqualsIgnoreCase(name, lower_name)) {
      if (found == nullptr) found = &value;
      ++seen;
    }
  }
  if (count != nullptr) *count = seen;
  return found;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool PathMatches(const ParsedRoute& route, std::string_view path) {
  path = path.substr(0, path.find_first_of("?#"));
  return route.path_prefix ? path.starts_with(route.path) : path == route.path;
}

bool Applies(const PolicyTable& table, const PolicyContext& context, std::string_view host,
             std::string_view path) {
  if (table.where.empty()) return true;
  if (context.match_hosts) return table.where_table->Match(host, path) != nullptr;
  return std::any_of(table.where.begin(), table.where.end(),
                     [&](const ParsedRoute& route) { return PathMatches(route, path); });
}

// The media type of a Content-Type value, lower-case, without parameters.
std::string MediaType(std::string_view value) {
  return base::AsciiLower(Trim(value.substr(0, value.find(';'))));
}

bool MediaTypeAllowed(const std::vector<std::string>& allowed, const std::string& type) {
  size_t slash = type.find('/');
  for (const std::string& entry : allowed) {
    if (entry == type) return true;
    if (entry.ends_with("/*") && slash != std::string::npos &&
        type.compare(0, slash + 1, entry, 0, entry.size() - 1) == 0) {
      return true;
    }
  }
  return false;
}

// The value of query parameter `name` in `target`, decoded; nullopt when absent.
std::optional<std::string> QueryParameter(std::string_view target, std::string_view name) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t equals = pair.find('=');
    if (DecodeQueryValue(pair.substr(0, equals)) != name) continue;
    return equals == std::string_view::npos ? std::string() : DecodeQueryValue(pair.substr(equals + 1));
  }
  return std::nullopt;
}

// JSON text (valid UTF-8, as a verified token's claims are) as a header
// value: every non-ASCII character written as a \u escape (a surrogate
// pair above U+FFFF), and CR or LF, which JSON allows only as white space
// between tokens, as spaces. JSON.parse of the result gives the same value.
std::string JsonAsHeaderValue(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size();) {
    unsigned char c = static_cast<unsigned char>(json[i]);
    if (c < 0x80) {
      out += c == '\r' || c == '\n' ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t code = c & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F);
    for (size_t k = 1; k < length && i + k < json.size(); ++k) {
      code = (code << 6) | (static_cast<unsigned char>(json[i + k]) & 0x3F);
    }
    i += length;
    if (code > 0xFFFF) {
      code -= 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF));
    } else {
      out += fmt::format("\\u{:04x}", code);
    }
  }
  return out;
}

// Adds the policies' headers to the worker's response: the CORS and
// RateLimit ones replace any the worker set; Vary is added to.
class DecoratingWriter : public ResponseWriter {
 public:
  DecoratingWriter(std::shared_ptr<ResponseWriter> inner, HeaderList extra)
      : inner_(std::move(inner)), extra_(std::move(extra)) {}

  void Start(int status, std::string_view reason, const HeaderList& headers,
             std::optional<uint64_t> content_length) override {
    HeaderList merged;
    merged.reserve(headers.size() + extra_.size());
    for (const auto& header : headers) {
      bool replaced = false;
      for (const auto& [name, value] : extra_) {
        replaced |= !base::EqualsIgnoreCase(name, "vary") && base::EqualsIgnoreCase(name, header.first);
      }
      if (!replaced) merged.push_back(header);
    }
    merged.insert(merged.end(), extra_.begin(), extra_.end());
    inner_->Start(status, reason, merged, content_length);
  }
  void Write(std::string_view chunk) override { inner_->Write(chunk); }
  void Finish() override { inner_->Finish(); }
  void Abort() override { inner_->Abort(); }
  bool Aborted() const override { return inner_->Aborted(); }
  size_t BufferedBytes() const override { return inner_->BufferedBytes(); }
  void OnDrain(std::function<void()> callback) override { inner_->OnDrain(std::move(callback)); }
  void OnAbort(std::function<void()> callback) override { inner_->OnAbort(std::move(callback)); }
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(const HeaderList& headers) override {
    HeaderList merged = headers;
    merged.insert(merged.end(), extra_.begin(), extra_.end());
    return inner_->AcceptWebSocket(merged);
  }

 private:
  std::shared_ptr<ResponseWriter> inner_;
  HeaderList extra_;
};

// One request going through the steps.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(const PolicyContext& context, HttpRequest request, std::shared_ptr<ResponseWriter> writer, Admit admit,
      Answered answered)
      : context_(context),
        request_(std::move(request)),
        writer_(std::move(writer)),
        admit_(std::move(admit)),
        answered_(std::move(answered)) {}

  void Go(std::vector<const PolicyTable*> tables) {
    tables_ = std::move(tables);
    if (!Cors()) return;
    if (!Validate()) return;
    if (!ApiKey()) return;
    Jwt(0);
  }

 private:
  // Answers with a problem (RFC 9457) and the allowed CORS headers.
  void Refuse(int status, std::string_view policy, std::string_view slug, std::string_view title,
              std::string detail, HeaderList extra = {}) {
    PolicyOutcome outcome{status, std::string(policy), false, detail};
    answered_(outcome);
    std::string body = ProblemJson(std::string(kTypePrefix) + std::string(slug), title, status, detail);
    HeaderList headers = {{"Content-Type", "application/problem+json"}, {"Cache-Control", "no-store"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    headers.insert(headers.end(), cors_headers_.begin(), cors_headers_.end());
    writer_->Start(status, "", headers, body.size());
    writer_->Write(body);
    writer_->Finish();
  }

  // 1. CORS: the first applicable cors policy. A preflight is answered;
  // otherwise the request's allowed origin gets its headers on the answer.
  bool Cors() {
    for (const PolicyTable* table : tables_) {
      if (table->cors) {
        cors_ = &*table->cors;
        break;
      }
    }
    if (cors_ == nullptr) return true;
    size_t origins = 0;
    const std::string* origin = FindHeader(request_.headers, "origin", &origins);
    if (origin == nullptr) return true;
    // A malformed Origin (repeated, huge, control characters) is no origin
    // the policy allows: no CORS headers, and a preflight is refused.
    bool allowed = false;
    std::string lower;
    if (origins == 1 && origin->size() <= kMaxOriginBytes && base::IsVisibleAscii(*origin)) {
      lower = base::AsciiLower(*origin);
      allowed = cors_->any_origin ||
                std::find(cors_->origins.begin(), cors_->origins.end(), lower) != cors_->origins.end();
    }
    if (allowed) {
      bool echo = cors_->credentials || !cors_->any_origin;
      cors_headers_.push_back({"Access-Control-Allow-Origin", echo ? *origin : "*"});
      if (echo) cors_headers_.push_back({"Vary", "Origin"});
      if (cors_->credentials) cors_headers_.push_back({"Access-Control-Allow-Credentials", "true"});
    }
    const std::string* requested_method = FindHeader(request_.headers, "access-control-request-method");
    if (request_.method != "OPTIONS" || requested_method == nullptr) {
      if (allowed && !cors_->expose_headers.empty()) {
        cors_headers_.push_back({"Access-Control-Expose-Headers", Join(cors_->expose_headers)});
      }
      return true;
    }
    // A preflight: answered here, whatever the outcome.
    if (!allowed) {
      Refuse(403, "cors", "cors-origin", "CORS origin not allowed",
             "The request's Origin is not one this route allows");
      return false;
    }
    std::string method = *requested_method;
    bool safelisted = method == "GET" || method == "HEAD" || method == "POST";
    if (!safelisted && std::find(cors_->methods.begin(), cors_->methods.end(), method) == cors_->methods.end()) {
      cors_headers_.clear();
      Refuse(403, "cors", "cors-method", "CORS method not allowed",
             fmt::format("The method {} is not one this route allows across origins",
                         base::JsonString(method.substr(0, 64))));
      return false;
    }
    std::vector<std::string> requested;
    if (const std::string* list = FindHeader(request_.headers, "access-control-request-headers")) {
      std::string_view rest = *list;
      bool too_many = list->size() > kMaxRequestedHeadersBytes;
      while (!too_many && !rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view name = Trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (name.empty()) continue;
        requested.push_back(base::AsciiLower(name));
        too_many = requested.size() > kMaxRequestedHeaders;
      }
      for (const std::string& name : requested) {
        if (too_many) break;
        if (!cors_->any_header &&
            std::find(cors_->headers.begin(), cors_->headers.end(), name) == cors_->headers.end()) {
          cors_headers_.clear();
          Refuse(403, "cors", "cors-headers", "CORS header not allowed",
                 fmt::format("The header {} is not one this route allows across origins",
                             base::JsonString(name.substr(0, 64))));
          return false;
        }
      }
      if (too_many) {
        cors_headers_.clear();
        Refuse(403, "cors", "cors-headers", "CORS header not allowed",
               "Access-Control-Request-Headers names too many headers");
        return false;
      }
    }
    HeaderList headers = cors_headers_;
    headers.push_back({"Access-Control-Allow-Methods", Join(cors_->methods)});
    std::vector<std::string> allowed_headers = cors_->any_header ? requested : cors_->headers;
    if (!allowed_headers.empty()) headers.push_back({"Access-Control-Allow-Headers", Join(allowed_headers)});
    if (cors_->max_age) headers.push_back({"Access-Control-Max-Age", std::to_string(*cors_->max_age)});
    answered_({204, "cors", true, "preflight"});
    writer_->Start(204, "", headers, 0);
    writer_->Finish();
    return false;
  }

  bool HasBody() const { return !request_.body.empty() || request_.body_stream != nullptr; }

  // A body the JSON Schema check applies to: a JSON Content-Type
  // (application/json, or any type/subtype+json).
  bool IsJsonBody() const {
    const std::string* type = FindHeader(request_.headers, "content-type");
    if (type == nullptr) return false;
    std::string media = MediaType(*type);
    return media == "application/json" ||
           (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0);
  }

  // 2. validate, every applicable one.
  bool Validate() {
    for (const PolicyTable* table : tables_) {
      if (!table->validate) continue;
      const ValidatePolicy& validate = *table->validate;
      if (!validate.methods.empty() &&
          std::find(validate.methods.begin(), validate.methods.end(), request_.method) == validate.methods.end()) {
        Refuse(405, "validate", "method-not-allowed", "Method not allowed",
               fmt::format("This route accepts {}", Join(validate.methods)),
               {{"Allow", Join(validate.methods)}});
        return false;
      }
      for (const std::string& name : validate.required_headers) {
        if (FindHeader(request_.headers, name) == nullptr) {
          Refuse(400, "validate", "missing-header", "Missing required header",
                 fmt::format("The request needs the header {}", name));
          return false;
        }
      }
      if (!validate.content_types.empty() && HasBody()) {
        const std::string* type = FindHeader(request_.headers, "content-type");
        std::string media = type == nullptr ? std::string() : MediaType(*type);
        if (!MediaTypeAllowed(validate.content_types, media)) {
          Refuse(415, "validate", "unsupported-media-type", "Unsupported content type",
                 fmt::format("This route accepts bodies of type {}", Join(validate.content_types)));
          return false;
        }
      }
      if (validate.max_body_bytes) {
        body_limit_ = std::min(body_limit_.value_or(UINT64_MAX), *validate.max_body_bytes);
      }
      if (validate.schema && IsJsonBody()) {
        schemas_.push_back(validate.schema.get());
        if (!validate.max_body_bytes) {
          body_limit_ = std::min(body_limit_.value_or(UINT64_MAX), kSchemaDefaultMaxBodyBytes);
        }
      }
    }
    if (body_limit_) {
      uint64_t declared = request_.body.size();
      if (const std::string* length = FindHeader(request_.headers, "content-length")) {
        char* end = nullptr;
        unsigned long long value = strtoull(length->c_str(), &end, 10);
        if (end != length->c_str() && *end == '\0') declared = std::max<uint64_t>(declared, value);
      }
      if (declared > *body_limit_) {
        TooLarge();
        return false;
      }
    }
    return true;
  }

  void TooLarge() {
    Refuse(413, "validate", "body-too-large", "Request body too large",
           fmt::format("This route accepts bodies of at most {} bytes", *body_limit_),
           // The rest of the body is not read: the connection ends after this.
           {{"Connection", "close"}});
  }

  // 3. api_key, every applicable one; the key's name goes to the worker.
  bool ApiKey() {
    for (const PolicyTable* table : tables_) {
      if (!table->api_key) continue;
      const ApiKeyPolicy& policy = *table->api_key;
      std::optional<std::string> presented;
      if (!policy.header.empty()) {
        if (const std::string* value = FindHeader(request_.headers, policy.header)) presented = *value;
      } else {
        presented = QueryParameter(request_.target, policy.query);
      }
      std::string_view where = policy.header.empty() ? "query parameter" : "header";
      const std::string& where_name = policy.header.empty() ? policy.query : policy.header;
      if (!presented || presented->empty()) {
        Refuse(401, "api_key", "api-key-missing", "API key required",
               fmt::format("Send an API key in the {} {}", where, where_name));
        return false;
      }
      // Every stored hash is compared, in constant time each: the time taken
      // does not tell which key (or how much of one) matched.
      const std::string* matched = nullptr;
      if (presented->size() <= kMaxApiKeyBytes) {
        std::string hash = base::Sha256(*presented);
        for (const auto& [name, stored] : policy.keys) {
          bool equal = stored.size() == hash.size() && CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) == 0;
          if (equal && matched == nullptr) matched = &name;
        }
      }
      if (matched == nullptr) {
        Refuse(403, "api_key", "api-key-invalid", "Invalid API key",
               fmt::format("The API key in the {} {} is not valid for this route", where, where_name));
        return false;
      }
      api_key_name_ = *matched;
      if (!policy.forward_header.empty()) request_.headers.push_back({policy.forward_header, *matched});
    }
    return true;
  }

  // 4. jwt, every applicable one from tables_[from] on, then the steps
  // after it. A policy with a JWKS URL may have to wait for a fetch: the
  // run then goes on from the fetch's callback, on this loop.
  void Jwt(size_t from) {
    for (size_t i = from; i < tables_.size(); ++i) {
      if (!tables_[i]->jwt) continue;
      const JwtPolicyConfig& jwt = *tables_[i]->jwt;
      size_t count = 0;
      const std::string* authorization = FindHeader(request_.headers, "authorization", &count);
      std::string_view token = authorization != nullptr ? BearerToken(*authorization) : std::string_view();
      if (count > 1) {
        JwtResult refused;
        refused.failure = JwtFailure::kMalformed;
        refused.reason = "the request has more than one Authorization header";
        JwtChecked(jwt, std::move(refused));
        return;
      }
      if (token.empty()) {
        Refuse(401, "jwt", "jwt-missing", "Bearer token required",
               "Send a bearer token in the Authorization header",
               {{"WWW-Authenticate", BearerChallenge(jwt.realm, nullptr)}});
        return;
      }
      if (jwt.keys) {
        if (!JwtChecked(jwt, VerifyJwt(token, *jwt.policy, *jwt.keys))) return;
        continue;
      }
      // The cache answers at once (on this thread, before returning) when
      // it has the token's key, or after a fetch (on the thread that ran
      // it): `wait` tells the two apart.
      struct Wait {
        std::mutex mutex;
        bool returned = false;
        std::optional<JwtResult> result;
      };
      auto wait = std::make_shared<Wait>();
      auto self = shared_from_this();
      VerifyJwtWithJwks(token, jwt.policy, jwt.jwks, [self, wait, i](JwtResult result) {
        {
          std::lock_guard lock(wait->mutex);
          if (!wait->returned) {
            wait->result = std::move(result);
            return;
          }
        }
        auto resume = [self, i, result = std::move(result)]() mutable { self->JwtFetched(i, std::move(result)); };
        if (self->context_.post) {
          self->context_.post(std::move(resume));
        } else {
          resume();
        }
      });
      {
        std::lock_guard lock(wait->mutex);
        wait->returned = true;
        if (!wait->result) return;  // JwtFetched goes on
      }
      if (!JwtChecked(jwt, std::move(*wait->result))) return;
    }
    if (!RateLimit()) return;
    Body();
  }

  void JwtFetched(size_t index, JwtResult result) {
    if (writer_ == nullptr || writer_->Aborted()) return;  // the client went away meanwhile
    if (!JwtChecked(*tables_[index]->jwt, std::move(result))) return;
    Jwt(index + 1);
  }

  // A jwt policy's verdict: the claims go to the worker, or the request is
  // refused (401; 503 when the keys could not be had at all).
  bool JwtChecked(const JwtPolicyConfig& jwt, JwtResult result) {
    if (result.ok()) {
      jwt_subject_ = std::move(result.token.subject);
      if (!jwt.claims_header.empty()) {
        std::erase_if(request_.headers,
                      [&](const auto& header) { return base::EqualsIgnoreCase(header.first, jwt.claims_header); });
        request_.headers.push_back({jwt.claims_header, JsonAsHeaderValue(result.token.claims_json)});
      }
      request_.auth_claims_json = std::move(result.token.claims_json);
      return true;
    }
    if (result.failure == JwtFailure::kKeysUnavailable) {
      // Not the token's fault: the route cannot check any token now. The
      // cache tries the JWKS again a minute after its last fetch.
      Refuse(503, "jwt", "jwt-keys-unavailable", "Token signing keys unavailable", result.reason,
             {{"Retry-After", "60"}});
      return false;
    }
    std::string challenge = BearerChallenge(jwt.realm, &result);
    Refuse(401, "jwt", "jwt-invalid", "Invalid bearer token",
           fmt::format("{} ({})", result.reason, JwtFailureName(result.failure)),
           {{"WWW-Authenticate", std::move(challenge)}});
    return false;
  }

  // 5. rate_limit, every applicable one, on the process's token buckets.
  bool RateLimit() {
    std::optional<bindings::RateDecision> tightest;
    for (const PolicyTable* table : tables_) {
      if (!table->rate_limit || context_.buckets == nullptr) continue;
      const RateLimitPolicy& policy = *table->rate_limit;
      std::string key;
      switch (policy.key) {
        case RateLimitPolicy::Key::kIp:
          key = context_.proxies != nullptr ? context_.proxies->ClientIp(request_.remote_address, request_.headers)
                                            : std::string(PeerIp(request_.remote_address));
          break;
        case RateLimitPolicy::Key::kHeader:
          if (const std::string* value = FindHeader(request_.headers, policy.header)) {
            key = value->substr(0, kMaxRateKeyBytes);
          }
          break;
        case RateLimitPolicy::Key::kApiKey:
          key = api_key_name_;
          break;
        case RateLimitPolicy::Key::kJwtSubject:
          key = jwt_subject_.substr(0, kMaxRateKeyBytes);
          break;
      }
      bindings::RateDecision decision = context_.buckets->Take(table->bucket_space, key, policy.requests,
                                                               uint64_t{policy.period_s} * 1000);
      if (!decision.allowed) {
        uint64_t retry = std::max<uint64_t>(1, (decision.retry_after_ms + 999) / 1000);
        Refuse(429, "rate_limit", "rate-limited", "Too many requests",
               fmt::format("This route allows {} requests per {} s; retry in {} s", policy.requests,
                           policy.period_s, retry),
               {{"Retry-After", std::to_string(retry)},
                {"RateLimit-Limit", std::to_string(decision.limit)},
                {"RateLimit-Remaining", "0"},
                {"RateLimit-Reset", std::to_string(retry)}});
        return false;
      }
      if (!tightest || decision.remaining < tightest->remaining) tightest = decision;
    }
    if (tightest) {
      response_headers_.push_back({"RateLimit-Limit", std::to_string(tightest->limit)});
      response_headers_.push_back({"RateLimit-Remaining", std::to_string(tightest->remaining)});
      response_headers_.push_back({"RateLimit-Reset", std::to_string((tightest->reset_ms + 999) / 1000)});
    }
    return true;
  }

  // 6. A streamed body under a size limit is counted and buffered, then
  // admitted whole, after the JSON Schema check (7).
  void Body() {
    if (!body_limit_ || request_.body_stream == nullptr) {
      CheckSchemasThenPass();
      return;
    }
    stream_ = std::move(request_.body_stream);
    request_.body_stream = nullptr;
    auto self = shared_from_this();
    runtime::RequestBodySource::Reader reader;
    reader.on_data = [self](std::string_view chunk) {
      if (self->stream_ == nullptr) return;
      if (self->request_.body.size() + chunk.size() > *self->body_limit_) {
        self->stream_->Pause(true);
        self->stream_ = nullptr;
        self->TooLarge();
        return;
      }
      self->request_.body.append(chunk);
    };
    reader.on_end = [self] {
      if (self->stream_ == nullptr) return;
      self->stream_ = nullptr;
      self->CheckSchemasThenPass();
    };
    reader.on_error = [self](std::string_view) { self->stream_ = nullptr; };
    std::shared_ptr<runtime::RequestBodySource> stream = stream_;
    stream->Read(std::move(reader));
  }

  // 7. The JSON Schema of every applicable validate policy, on the whole
  // body (the worker then reads the same bytes).
  void CheckSchemasThenPass() {
    for (const JsonSchema* schema : schemas_) {
      std::optional<SchemaFailure> failure = schema->Validate(request_.body);
      if (failure) {
        Refuse(400, "validate", "schema-violation", "Request body does not match the schema",
               failure->Detail());
        return;
      }
    }
    Pass();
  }

  // Hands the request to the worker, with the response headers to add.
  void Pass() {
    HeaderList extra = cors_headers_;
    extra.insert(extra.end(), response_headers_.begin(), response_headers_.end());
    std::shared_ptr<ResponseWriter> writer = std::move(writer_);
    if (!extra.empty()) writer = std::make_shared<DecoratingWriter>(std::move(writer), std::move(extra));
    ::edge::gateway::policy::Admit admit = std::move(admit_);
    admit(std::move(request_), std::move(writer));
  }

  const PolicyContext context_;
  HttpRequest request_;
  std::shared_ptr<ResponseWriter> writer_;
  ::edge::gateway::policy::Admit admit_;
  Answered answered_;
  std::vector<const PolicyTable*> tables_;
  const CorsPolicy* cors_ = nullptr;
  HeaderList cors_headers_;      // on every answer, refusals included
  HeaderList response_headers_;  // on the worker's response
  std::optional<uint64_t> body_limit_;
  std::vector<const JsonSchema*> schemas_;  // the tables' (which outlive the run)
  std::string api_key_name_;
  std::string jwt_subject_;  // the verified token's "sub"
  std::shared_ptr<runtime::RequestBodySource> stream_;
};

}  // namespace

bool AnyApplies(const PolicyTables* tables, const PolicyContext& context, std::string_view host,
                std::string_view path) {
  if (tables == nullptr) return false;
  return std::any_of(tables->begin(), tables->end(),
                     [&](const PolicyTable& table) { return Applies(table, context, host, path); });
}

void ApplyPolicies(const PolicyTables* host_tables, const PolicyTables* worker_tables,
                   const PolicyContext& context, std::string_view host, std::string_view path,
                   HttpRequest request, std::shared_ptr<ResponseWriter> writer, Admit admit,
                   Answered answered) {
  // The headers that carry an API key's name and a token's claims are the
  // gateway's to set: whatever the client sent under those names goes, on
  // every route.
  for (const PolicyTables* tables : {host_tables, worker_tables}) {
    if (tables == nullptr) continue;
    for (const PolicyTable& table : *tables) {
      for (const std::string* name : {table.api_key ? &table.api_key->forward_header : nullptr,
                                      table.jwt ? &table.jwt->claims_header : nullptr}) {
        if (name == nullptr || name->empty()) continue;
        std::erase_if(request.headers,
                      [&](const auto& header) { return base::EqualsIgnoreCase(header.first, *name); });
      }
    }
  }
  request.auth_claims_json.clear();
  std::vector<const PolicyTable*> applicable;
  for (const PolicyTables* tables : {host_tables, worker_tables}) {
    if (tables == nullptr) continue;
    for (const PolicyTable& table : *tables) {
      if (Applies(table, context, host, path)) applicable.push_back(&table);
    }
  }
  if (applicable.empty()) {
    admit(std::move(request), std::move(writer));
    return;
  }
  auto run = std::make_shared<Run>(context, std::move(request), std::move(writer), std::move(admit),
                                   std::move(answered));
  run->Go(std::move(applicable));
}

std::string ProblemJson(std::string_view type, std::string_view title, int status, std::string_view detail) {
  std::string out = "{\"type\":";
  base::AppendJsonString(out, type);
  out += ",\"title\":";
  base::AppendJsonString(out, title);
  out += fmt::format(",\"status\":{},\"detail\":", status);
  base::AppendJsonString(out, detail);
  out += '}';
  return out;
}

}  // namespace edge::gateway::policy
