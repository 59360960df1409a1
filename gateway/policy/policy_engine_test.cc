// ApplyPolicies on requests built in memory: each policy's admissions and
// refusals (status, problem body, headers), the fixed order, operator
// tables before the worker's, the body counted and buffered, and what a
// hostile client or tenant can send.
#include "gateway/policy/policy_engine.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <openssl/evp.h>

#include <algorithm>
#include <deque>

#include "base/ascii.h"
#include "base/base64.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "gateway/policy/testing/jwt_tokens.h"

namespace edge::gateway::policy {
namespace {

// A ResponseWriter that keeps what it was told.
class FakeWriter : public ResponseWriter {
 public:
  void Start(int status, std::string_view, const HeaderList& headers, std::optional<uint64_t>) override {
    status_ = status;
    headers_ = headers;
  }
  void Write(std::string_view chunk) override { body_ += chunk; }
  void Finish() override { finished_ = true; }
  void Abort() override {}
  bool Aborted() const override { return false; }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()>) override {}
  void OnAbort(std::function<void()>) override {}

  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers_) {
      if (base::EqualsIgnoreCase(key, name)) return value;
    }
    return "<none>";
  }
  int status_ = 0;
  HeaderList headers_;
  std::string body_;
  bool finished_ = false;
};

// A body arriving in pieces the test hands over.
class ManualBody : public runtime::RequestBodySource {
 public:
  void Read(Reader reader) override { reader_ = std::move(reader); }
  void Pause(bool paused) override { paused_ = paused; }
  void Send(std::string_view chunk) {
    if (reader_.on_data) reader_.on_data(chunk);
  }
  void End() {
    if (reader_.on_end) reader_.on_end();
  }
  Reader reader_;
  bool paused_ = false;
};

std::string Hex(std::string_view key) { return base::Sha256Hex(key); }

struct Result {
  bool admitted = false;
  HttpRequest request;               // as the worker got it
  std::shared_ptr<FakeWriter> raw;   // what the gateway wrote itself
  std::shared_ptr<ResponseWriter> writer;  // what the worker got
  std::vector<PolicyOutcome> outcomes;
};

class PolicyEngineTest : public ::testing::Test {
 protected:
  PolicyTables Tables(const std::string& json) {
    auto tables = ParseWorkerPolicies(json, "acct/api");
    EXPECT_TRUE(tables.ok()) << tables.status().message();
    return tables.ok() ? std::move(tables).value() : PolicyTables{};
  }

  std::shared_ptr<Result> Apply(const PolicyTables* host, const PolicyTables* worker, HttpRequest request,
                                std::string host_name = "api.example.com") {
    auto result = std::make_shared<Result>();
    result->raw = std::make_shared<FakeWriter>();
    std::string path = request.target;
    ApplyPolicies(
        host, worker, context_, host_name, path, std::move(request), result->raw,
        [result](HttpRequest admitted, std::shared_ptr<ResponseWriter> writer) {
          result->admitted = true;
          result->request = std::move(admitted);
          result->writer = std::move(writer);
        },
        [result](const PolicyOutcome& outcome) { result->outcomes.push_back(outcome); });
    return result;
  }

  static HttpRequest Request(std::string method, std::string target, HeaderList headers = {}) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.headers = std::move(headers);
    request.remote_address = "203.0.113.7:5555";
    return request;
  }

  // The problem body's fields.
  static void ExpectProblem(const FakeWriter& writer, int status, std::string_view type_suffix) {
    EXPECT_EQ(writer.status_, status);
    EXPECT_EQ(writer.Header("content-type"), "application/problem+json");
    EXPECT_TRUE(writer.finished_);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(writer.body_).get(doc), simdjson::SUCCESS) << writer.body_;
    std::string_view type, title, detail;
    int64_t code = 0;
    EXPECT_EQ(doc["type"].get(type), simdjson::SUCCESS);
    EXPECT_EQ(doc["title"].get(title), simdjson::SUCCESS);
    EXPECT_EQ(doc["detail"].get(detail), simdjson::SUCCESS);
    EXPECT_EQ(doc["status"].get(code), simdjson::SUCCESS);
    EXPECT_EQ(code, status);
    EXPECT_EQ(type, std::string("urn:edge:problem:") + std::string(type_suffix));
    EXPECT_FALSE(title.empty());
  }

  bindings::TokenBuckets buckets_{4096};
  PolicyContext context_{&buckets_, nullptr, true, nullptr};
};

TEST_F(PolicyEngineTest, NoApplicableTableGoesStraightThrough) {
  PolicyTables tables = Tables(R"([{"routes":["api.example.com/v1/*"],"validate":{"methods":["GET"]}}])");
  auto result = Apply(nullptr, &tables, Request("POST", "/other"));
  EXPECT_TRUE(result->admitted);
  EXPECT_EQ(result->writer, result->raw);  // nothing to add
  result = Apply(nullptr, &tables, Request("POST", "/v1/x"));
  EXPECT_FALSE(result->admitted);
  ExpectProblem(*result->raw, 405, "method-not-allowed");
  EXPECT_EQ(result->raw->Header("allow"), "GET");
  ASSERT_EQ(result->outcomes.size(), 1u);
  EXPECT_EQ(result->outcomes[0].policy, "validate");
}

TEST_F(PolicyEngineTest, ValidateHeadersContentTypesAndDeclaredSize) {
  PolicyTables tables = Tables(R"([{"validate":{"required_headers":["X-Request-Id"],
      "content_types":["application/json","text/*"],"max_body_bytes":10}}])");
  auto missing = Apply(nullptr, &tables, Request("GET", "/"));
  ExpectProblem(*missing->raw, 400, "missing-header");
  HttpRequest typed = Request("POST", "/", {{"x-request-id", "1"}, {"Content-Type", "application/xml"}});
  typed.body = "<a/>";
  ExpectProblem(*Apply(nullptr, &tables, std::move(typed))->raw, 415, "unsupported-media-type");
  HttpRequest json = Request("POST", "/", {{"x-request-id", "1"}, {"Content-Type", "Application/JSON; charset=utf-8"}});
  json.body = "{}";
  EXPECT_TRUE(Apply(nullptr, &tables, std::move(json))->admitted);
  HttpRequest text = Request("POST", "/", {{"x-request-id", "1"}, {"content-type", "text/plain"}});
  text.body = "hello";
  EXPECT_TRUE(Apply(nullptr, &tables, std::move(text))->admitted);
  // No body: no content type needed.
  EXPECT_TRUE(Apply(nullptr, &tables, Request("GET", "/", {{"x-request-id", "1"}}))->admitted);
  HttpRequest big = Request("POST", "/", {{"x-request-id", "1"}, {"content-type", "text/plain"},
                                          {"content-length", "11"}});
  big.body_stream = std::make_shared<ManualBody>();
  auto refused = Apply(nullptr, &tables, std::move(big));
  ExpectProblem(*refused->raw, 413, "body-too-large");
  EXPECT_EQ(refused->raw->Header("connection"), "close");
}

TEST_F(PolicyEngineTest, AStreamedBodyIsCountedAndBufferedForTheWorker) {
  PolicyTables tables = Tables(R"([{"validate":{"max_body_bytes":10}}])");
  auto body = std::make_shared<ManualBody>();
  HttpRequest chunked = Request("POST", "/", {{"transfer-encoding", "chunked"}});
  chunked.body_stream = body;
  auto result = Apply(nullptr, &tables, std::move(chunked));
  EXPECT_FALSE(result->admitted);
  body->Send("01234");
  body->Send("56789");
  EXPECT_FALSE(result->admitted);
  body->End();
  ASSERT_TRUE(result->admitted);
  EXPECT_EQ(result->request.body, "0123456789");
  EXPECT_EQ(result->request.body_stream, nullptr);

  auto over = std::make_shared<ManualBody>();
  HttpRequest big = Request("POST", "/", {{"transfer-encoding", "chunked"}});
  big.body_stream = over;
  auto refused = Apply(nullptr, &tables, std::move(big));
  over->Send("0123456789");
  over->Send("x");
  EXPECT_TRUE(over->paused_);
  EXPECT_FALSE(refused->admitted);
  ExpectProblem(*refused->raw, 413, "body-too-large");
  over->End();  // late: nothing more happens
  EXPECT_FALSE(refused->admitted);
}

TEST_F(PolicyEngineTest, JsonBodiesAreCheckedAgainstTheSchemaOnceWhole) {
  PolicyTables tables = Tables(R"([{"validate":{"max_body_bytes":200,"schema":{
      "type":"object","required":["id"],"additionalProperties":false,
      "properties":{"id":{"type":"integer","minimum":1},
                    "tags":{"type":"array","items":{"type":"string","maxLength":3}}}}}}])");
  auto json = [](std::string body) {
    HttpRequest request = Request("POST", "/", {{"content-type", "application/json"}});
    request.body = std::move(body);
    return request;
  };
  auto good = Apply(nullptr, &tables, json(R"({"id":7,"tags":["a"]})"));
  ASSERT_TRUE(good->admitted);
  EXPECT_EQ(good->request.body, R"({"id":7,"tags":["a"]})");  // the same bytes
  auto deep = Apply(nullptr, &tables, json(R"({"id":7,"tags":["a","long"]})"));
  EXPECT_FALSE(deep->admitted);
  ExpectProblem(*deep->raw, 400, "schema-violation");
  EXPECT_NE(deep->raw->body_.find("/tags/1"), std::string::npos) << deep->raw->body_;
  ExpectProblem(*Apply(nullptr, &tables, json(R"({"tags":[]})"))->raw, 400, "schema-violation");
  ExpectProblem(*Apply(nullptr, &tables, json("not json"))->raw, 400, "schema-violation");
  // A streamed body is buffered first, then checked.
  auto body = std::make_shared<ManualBody>();
  HttpRequest chunked = Request("POST", "/", {{"content-type", "application/vnd.api+json"},
                                              {"transfer-encoding", "chunked"}});
  chunked.body_stream = body;
  auto streamed = Apply(nullptr, &tables, std::move(chunked));
  body->Send(R"({"id":)");
  body->Send("0}");
  EXPECT_FALSE(streamed->admitted);
  body->End();
  EXPECT_FALSE(streamed->admitted);
  ExpectProblem(*streamed->raw, 400, "schema-violation");
  // Not JSON by its type: content_types decides, not the schema.
  HttpRequest text = Request("POST", "/", {{"content-type", "text/plain"}});
  text.body = "anything";
  EXPECT_TRUE(Apply(nullptr, &tables, std::move(text))->admitted);
  // A schema the validator cannot compile is a deploy error naming it.
  auto bad = ParseWorkerPolicies(R"([{"validate":{"schema":{"type":"object","oneOf":[]}}}])", "a/w");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("policies[0].validate.schema"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("oneOf"), std::string::npos) << bad.status().message();
}

TEST_F(PolicyEngineTest, ApiKeyInHeaderOrQueryHashedAndForwarded) {
  PolicyTables tables = Tables(R"([{"api_key":{"header":"X-Api-Key","forward_header":"x-key-name",
      "keys":{"alice":")" + Hex("secret-a") + R"(","bob":")" + Hex("secret-b") + R"("}}}])");
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/"))->raw, 401, "api-key-missing");
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", {{"x-api-key", "nope"}}))->raw, 403,
                "api-key-invalid");
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", {{"x-api-key", std::string(100000, 'k')}}))->raw,
                403, "api-key-invalid");
  // The client's own x-key-name never reaches the worker.
  auto ok = Apply(nullptr, &tables,
                  Request("GET", "/", {{"x-key-name", "admin"}, {"X-API-KEY", "secret-b"}}));
  ASSERT_TRUE(ok->admitted);
  int names = 0;
  for (const auto& [name, value] : ok->request.headers) {
    if (base::EqualsIgnoreCase(name, "x-key-name")) {
      ++names;
      EXPECT_EQ(value, "bob");
    }
  }
  EXPECT_EQ(names, 1);

  PolicyTables query = Tables(R"([{"api_key":{"query":"key","keys":{"k1":")" + Hex("a b&c") + R"("}}}])");
  EXPECT_TRUE(Apply(nullptr, &query, Request("GET", "/x?other=1&key=a+b%26c"))->admitted);
  ExpectProblem(*Apply(nullptr, &query, Request("GET", "/x?key="))->raw, 401, "api-key-missing");
  ExpectProblem(*Apply(nullptr, &query, Request("GET", "/x?key=a%20b"))->raw, 403, "api-key-invalid");
}

TEST_F(PolicyEngineTest, ApiKeysFromSecretsWithAPrefix) {
  std::vector<runtime::WorkerVar> secrets = {{"APIKEY_carol", Hex("c-key"), false},
                                             {"APIKEY_bad", "not-a-hash", false},
                                             {"OTHER", Hex("o-key"), false}};
  std::vector<std::string> warnings;
  auto tables = ParseWorkerPolicies(R"([{"api_key":{"header":"x-api-key","secret_prefix":"APIKEY_",
      "forward_header":"x-key"}}])", "acct/api", secrets, &warnings);
  ASSERT_TRUE(tables.ok()) << tables.status().message();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("APIKEY_bad"), std::string::npos);
  auto ok = Apply(nullptr, &*tables, Request("GET", "/", {{"x-api-key", "c-key"}}));
  ASSERT_TRUE(ok->admitted);
  EXPECT_EQ(ok->request.headers.back().second, "carol");
  EXPECT_FALSE(Apply(nullptr, &*tables, Request("GET", "/", {{"x-api-key", "o-key"}}))->admitted);
}

TEST_F(PolicyEngineTest, RateLimitRefusesWithRetryAfterAndRateLimitHeaders) {
  PolicyTables tables = Tables(R"([{"rate_limit":{"requests":2,"period_s":60,"key":"ip"}}])");
  auto first = Apply(nullptr, &tables, Request("GET", "/"));
  ASSERT_TRUE(first->admitted);
  // The worker's response gets the headers.
  first->writer->Start(200, "", {{"RateLimit-Limit", "999"}, {"x-own", "1"}}, 0);
  EXPECT_EQ(first->raw->Header("ratelimit-limit"), "2");
  EXPECT_EQ(first->raw->Header("ratelimit-remaining"), "1");
  EXPECT_EQ(first->raw->Header("x-own"), "1");
  EXPECT_TRUE(Apply(nullptr, &tables, Request("GET", "/"))->admitted);
  auto refused = Apply(nullptr, &tables, Request("GET", "/"));
  ExpectProblem(*refused->raw, 429, "rate-limited");
  EXPECT_EQ(refused->raw->Header("retry-after"), "30");
  EXPECT_EQ(refused->raw->Header("ratelimit-remaining"), "0");
  // Another client has its own bucket.
  HttpRequest other = Request("GET", "/");
  other.remote_address = "[2001:db8::1]:443";
  EXPECT_TRUE(Apply(nullptr, &tables, std::move(other))->admitted);
}

TEST_F(PolicyEngineTest, RateLimitByHeaderAndByApiKeyName) {
  PolicyTables by_header = Tables(R"([{"rate_limit":{"requests":1,"period_s":10,"key":"header:X-Tenant"}}])");
  EXPECT_TRUE(Apply(nullptr, &by_header, Request("GET", "/", {{"x-tenant", "a"}}))->admitted);
  EXPECT_FALSE(Apply(nullptr, &by_header, Request("GET", "/", {{"x-tenant", "a"}}))->admitted);
  EXPECT_TRUE(Apply(nullptr, &by_header, Request("GET", "/", {{"x-tenant", "b"}}))->admitted);
  PolicyTables by_key = Tables(R"([{"api_key":{"header":"x-api-key","keys":{"k1":")" + Hex("one") +
                               R"(","k2":")" + Hex("two") + R"("}},
      "rate_limit":{"requests":1,"period_s":10,"key":"api_key"}}])");
  EXPECT_TRUE(Apply(nullptr, &by_key, Request("GET", "/", {{"x-api-key", "one"}}))->admitted);
  EXPECT_FALSE(Apply(nullptr, &by_key, Request("GET", "/", {{"x-api-key", "one"}}))->admitted);
  EXPECT_TRUE(Apply(nullptr, &by_key, Request("GET", "/", {{"x-api-key", "two"}}))->admitted);
}

TEST_F(PolicyEngineTest, TheClientIpComesFromATrustedProxysHeader) {
  auto proxies = TrustedProxies::Parse({"10.0.0.0/8"}, "X-Forwarded-For");
  ASSERT_TRUE(proxies.ok());
  context_.proxies = &*proxies;
  PolicyTables tables = Tables(R"([{"rate_limit":{"requests":1,"period_s":10}}])");
  auto via = [&](std::string remote, std::string forwarded) {
    HttpRequest request = Request("GET", "/", {{"x-forwarded-for", std::move(forwarded)}});
    request.remote_address = std::move(remote);
    return Apply(nullptr, &tables, std::move(request))->admitted;
  };
  EXPECT_TRUE(via("10.1.1.1:1", "198.51.100.1, 10.2.2.2"));
  EXPECT_FALSE(via("10.9.9.9:1", "198.51.100.1"));  // the same client through another proxy
  EXPECT_TRUE(via("10.9.9.9:1", "198.51.100.2"));
  // An untrusted peer's header is ignored: it is the client.
  EXPECT_TRUE(via("198.51.100.9:1", "198.51.100.1"));
  EXPECT_FALSE(via("198.51.100.9:1", "198.51.100.3"));
}

TEST_F(PolicyEngineTest, CorsPreflightIsAnsweredAndActualResponsesGetHeaders) {
  PolicyTables tables = Tables(R"([{"cors":{"origins":["https://app.example"],"methods":["GET","PUT"],
      "headers":["content-type","x-token"],"credentials":true,"max_age":600,"expose_headers":["x-id"]}}])");
  auto preflight = Apply(nullptr, &tables,
                         Request("OPTIONS", "/r", {{"Origin", "https://app.example"},
                                                   {"Access-Control-Request-Method", "PUT"},
                                                   {"Access-Control-Request-Headers", "X-Token, content-type"}}));
  EXPECT_FALSE(preflight->admitted);
  EXPECT_EQ(preflight->raw->status_, 204);
  EXPECT_EQ(preflight->raw->Header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(preflight->raw->Header("access-control-allow-methods"), "GET, PUT");
  EXPECT_EQ(preflight->raw->Header("access-control-allow-headers"), "content-type, x-token");
  EXPECT_EQ(preflight->raw->Header("access-control-allow-credentials"), "true");
  EXPECT_EQ(preflight->raw->Header("access-control-max-age"), "600");
  ASSERT_EQ(preflight->outcomes.size(), 1u);
  EXPECT_TRUE(preflight->outcomes[0].preflight);

  ExpectProblem(*Apply(nullptr, &tables, Request("OPTIONS", "/r", {{"Origin", "https://evil.example"},
                                                                   {"Access-Control-Request-Method", "GET"}}))
                     ->raw,
                403, "cors-origin");
  ExpectProblem(*Apply(nullptr, &tables, Request("OPTIONS", "/r", {{"Origin", "https://app.example"},
                                                                   {"Access-Control-Request-Method", "DELETE"}}))
                     ->raw,
                403, "cors-method");
  ExpectProblem(*Apply(nullptr, &tables, Request("OPTIONS", "/r", {{"Origin", "https://app.example"},
                                                                   {"Access-Control-Request-Method", "GET"},
                                                                   {"Access-Control-Request-Headers", "x-evil"}}))
                     ->raw,
                403, "cors-headers");
  // An OPTIONS without Access-Control-Request-Method is the worker's.
  EXPECT_TRUE(Apply(nullptr, &tables, Request("OPTIONS", "/r", {{"Origin", "https://app.example"}}))->admitted);

  auto actual = Apply(nullptr, &tables, Request("GET", "/r", {{"Origin", "https://APP.example"}}));
  ASSERT_TRUE(actual->admitted);
  actual->writer->Start(200, "", {{"Access-Control-Allow-Origin", "*"}, {"Vary", "Accept"}}, 0);
  EXPECT_EQ(actual->raw->Header("access-control-allow-origin"), "https://APP.example");
  EXPECT_EQ(actual->raw->Header("access-control-expose-headers"), "x-id");
  int varies = 0, origins = 0;
  for (const auto& [name, value] : actual->raw->headers_) {
    varies += base::EqualsIgnoreCase(name, "vary");
    origins += base::EqualsIgnoreCase(name, "access-control-allow-origin");
  }
  EXPECT_EQ(varies, 2);
  EXPECT_EQ(origins, 1);
}

TEST_F(PolicyEngineTest, MalformedOriginsGetNoCorsHeaders) {
  PolicyTables tables = Tables(R"([{"cors":{"origins":"*"},"validate":{"methods":["GET"]}}])");
  for (HeaderList headers : std::vector<HeaderList>{
           {{"Origin", std::string(5000, 'a')}},
           {{"Origin", "https://a.example\x01"}},
           {{"Origin", "https://a.example"}, {"Origin", "https://b.example"}}}) {
    auto result = Apply(nullptr, &tables, Request("POST", "/", headers));
    ExpectProblem(*result->raw, 405, "method-not-allowed");
    EXPECT_EQ(result->raw->Header("access-control-allow-origin"), "<none>");
  }
  // A good origin: the refusal carries the header, so a browser can read it.
  auto readable = Apply(nullptr, &tables, Request("POST", "/", {{"Origin", "https://a.example"}}));
  ExpectProblem(*readable->raw, 405, "method-not-allowed");
  EXPECT_EQ(readable->raw->Header("access-control-allow-origin"), "*");
}

TEST_F(PolicyEngineTest, TheOrderIsFixedWhateverTheTableSays) {
  // Written in reverse; validate still runs before api_key, api_key before
  // rate_limit (a refused key takes no token).
  PolicyTables tables = Tables(R"([{"rate_limit":{"requests":1,"period_s":60,"key":"ip"},
      "api_key":{"header":"x-api-key","keys":{"k":")" + Hex("good") + R"("}},
      "validate":{"methods":["GET"]}}])");
  ExpectProblem(*Apply(nullptr, &tables, Request("POST", "/", {{"x-api-key", "bad"}}))->raw, 405,
                "method-not-allowed");
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", {{"x-api-key", "bad"}}))->raw, 403,
                "api-key-invalid");
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", {{"x-api-key", "bad"}}))->raw, 403,
                "api-key-invalid");
  EXPECT_TRUE(Apply(nullptr, &tables, Request("GET", "/", {{"x-api-key", "good"}}))->admitted);
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", {{"x-api-key", "good"}}))->raw, 429,
                "rate-limited");
}

TEST_F(PolicyEngineTest, OperatorTablesComeFirstAndCannotBeRemoved) {
  auto host = ParseHostPolicies(R"([{"hosts":["*.example.com"],"api_key":{"header":"x-op-key",
      "forward_header":"x-op-name","keys":{"op":")" + Hex("operator") + R"("}},
      "cors":{"origins":["https://ops.example"]}}])");
  ASSERT_TRUE(host.ok()) << host.status().message();
  // A worker that tries: a cors policy allowing everything, a route pattern
  // naming the host, and its own api_key that sets the operator's header.
  PolicyTables worker = Tables(R"([{"routes":["api.example.com/*"],"cors":{"origins":"*"},
      "api_key":{"header":"x-key","forward_header":"x-op-name","keys":{"op":")" + Hex("mine") + R"("}}}])");
  auto refused = Apply(&*host, &worker, Request("GET", "/", {{"x-key", "mine"}, {"Origin", "https://evil.example"}}));
  ExpectProblem(*refused->raw, 401, "api-key-missing");
  EXPECT_EQ(refused->raw->Header("access-control-allow-origin"), "<none>");  // the operator's cors rules
  auto admitted = Apply(&*host, &worker, Request("GET", "/", {{"x-key", "mine"}, {"x-op-key", "operator"}}));
  EXPECT_TRUE(admitted->admitted);
  // Another host: the operator's tables do not apply.
  EXPECT_TRUE(Apply(&*host, &worker, Request("GET", "/", {{"x-key", "mine"}}), "api.other.org")->admitted);
}

TEST_F(PolicyEngineTest, HugeHeaderCountsAreWalkedOnce) {
  PolicyTables tables = Tables(R"([{"validate":{"required_headers":["x-need"]},
      "cors":{"origins":"*","headers":["a"]}}])");
  HeaderList headers;
  for (int i = 0; i < 20000; ++i) headers.push_back({"x-h" + std::to_string(i), std::string(100, 'v')});
  headers.push_back({"Origin", "https://a.example"});
  headers.push_back({"Access-Control-Request-Method", "GET"});
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "a,";
  headers.push_back({"Access-Control-Request-Headers", many});
  auto result = Apply(nullptr, &tables, Request("OPTIONS", "/", headers));
  ExpectProblem(*result->raw, 403, "cors-headers");
  headers.pop_back();
  headers.pop_back();
  result = Apply(nullptr, &tables, Request("GET", "/", headers));
  ExpectProblem(*result->raw, 400, "missing-header");
}

// The jwt step: tokens made with the test helpers, keys inline or from a
// JWKS whose fetches the test completes by hand.
class PolicyJwtTest : public PolicyEngineTest {
 protected:
  PolicyJwtTest() : rsa_(testing::GenerateKey("RSA")), ed_(testing::GenerateKey("ED25519")) {}

  static std::string Claims(const std::string& extra = "") {
    return R"({"iss":"https://issuer.example","aud":"api","sub":"alice","exp":)" +
           std::to_string(SystemSeconds() + 300) + extra + "}";
  }
  std::string RsaToken(const std::string& claims) {
    return testing::SignedToken(R"({"alg":"RS256","typ":"JWT"})", claims, rsa_.get());
  }
  std::string EdToken(const std::string& claims, const std::string& kid) {
    return testing::SignedToken(R"({"alg":"EdDSA","kid":")" + kid + "\"}", claims, ed_.get());
  }
  // `"jwt":{...}` with the RSA key inline, and `extra` keys.
  std::string RsaJwt(const std::string& extra = "") {
    std::string pem = testing::PublicPem(rsa_.get());
    return R"("jwt":{"issuer":"https://issuer.example","audiences":["api"],"algorithms":["RS256"],"keys":[)" +
           std::string(base::JsonString(pem)) + "]" + extra + "}";
  }
  std::string RsaTable(const std::string& extra = "") { return "{" + RsaJwt(extra) + "}"; }
  std::string EdJwks(const std::string& kid) {
    unsigned char raw[32];
    size_t length = sizeof(raw);
    EVP_PKEY_get_raw_public_key(ed_.get(), raw, &length);
    return R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":")" + kid + R"(","x":")" +
           base::Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), length)) + "\"}]}";
  }
  static HeaderList Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  testing::Pkey rsa_;
  testing::Pkey ed_;
};

TEST_F(PolicyJwtTest, AValidTokenReachesTheWorkerWithItsClaims) {
  PolicyTables tables = Tables("[" + RsaTable(R"(,"claims_header":"X-Claims")") + "]");
  std::string claims = Claims(R"(,"name":"Zoë 😀")");
  HeaderList headers = Bearer(RsaToken(claims));
  headers.push_back({"x-claims", R"({"sub":"forged"})"});
  auto result = Apply(nullptr, &tables, Request("GET", "/", headers));
  ASSERT_TRUE(result->admitted) << result->raw->body_;
  EXPECT_EQ(result->request.auth_claims_json, claims);
  size_t count = 0;
  std::string forwarded;
  for (const auto& [name, value] : result->request.headers) {
    if (base::EqualsIgnoreCase(name, "x-claims")) {
      ++count;
      forwarded = value;
    }
  }
  EXPECT_EQ(count, 1u);  // the client's is gone
  // ASCII only, the same JSON value.
  EXPECT_NE(forwarded.find(R"("name":"Zo\u00eb \ud83d\ude00")"), std::string::npos) << forwarded;
  EXPECT_TRUE(std::all_of(forwarded.begin(), forwarded.end(),
                          [](char c) { return c >= 0x20 && c < 0x7f; }));
  // A forged claims header is removed on requests no jwt policy checks, too.
  PolicyTables routed =
      Tables(R"([{"routes":["api.example.com/private/*"],)" + RsaJwt(R"(,"claims_header":"x-claims")") + "}]");
  auto elsewhere = Apply(nullptr, &routed, Request("GET", "/public", {{"X-Claims", "{}"}}));
  ASSERT_TRUE(elsewhere->admitted);
  EXPECT_TRUE(elsewhere->request.headers.empty());
  EXPECT_TRUE(elsewhere->request.auth_claims_json.empty());
}

TEST_F(PolicyJwtTest, RefusalsAre401WithABearerChallenge) {
  PolicyTables tables = Tables("[" + RsaTable(R"(,"realm":"orders")") + "]");
  auto missing = Apply(nullptr, &tables, Request("GET", "/"));
  ExpectProblem(*missing->raw, 401, "jwt-missing");
  EXPECT_EQ(missing->raw->Header("www-authenticate"), R"(Bearer realm="orders")");
  ASSERT_EQ(missing->outcomes.size(), 1u);
  EXPECT_EQ(missing->outcomes[0].policy, "jwt");
  auto basic = Apply(nullptr, &tables, Request("GET", "/", {{"Authorization", "Basic YTpi"}}));
  ExpectProblem(*basic->raw, 401, "jwt-missing");

  struct Case {
    std::string token;
    std::string reason;
  };
  std::string now = std::to_string(SystemSeconds());
  std::vector<Case> cases = {
      {RsaToken(R"({"iss":"https://issuer.example","aud":"api","exp":)" + now + "0}").substr(0, 20), "malformed"},
      {RsaToken(R"({"iss":"https://issuer.example","aud":"api","exp":1000})"), "expired"},
      {RsaToken(Claims(R"(,"nbf":)" + std::to_string(SystemSeconds() + 3600))), "not_yet_valid"},
      {RsaToken(R"({"iss":"https://other.example","aud":"api","exp":)" + now + "0}"), "wrong_issuer"},
      {RsaToken(R"({"iss":"https://issuer.example","aud":"web","exp":)" + now + "0}"), "wrong_audience"},
      {RsaToken(R"({"iss":"https://issuer.example","aud":"api"})"), "missing_claim"},
      {testing::HmacToken(R"({"alg":"HS256"})", Claims(), testing::PublicPem(rsa_.get())), "alg_not_allowed"},
      {base::Base64UrlEncode(R"({"alg":"none"})") + "." + base::Base64UrlEncode(Claims()) + ".AAAA", "alg_none"},
      {RsaToken(Claims()).substr(0, RsaToken(Claims()).size() - 4) + "AAAA", "bad_signature"},
  };
  for (const Case& c : cases) {
    auto refused = Apply(nullptr, &tables, Request("GET", "/", Bearer(c.token)));
    ExpectProblem(*refused->raw, 401, "jwt-invalid");
    std::string challenge = refused->raw->Header("www-authenticate");
    EXPECT_TRUE(challenge.starts_with(R"(Bearer realm="orders", error="invalid_token", error_description=")"))
        << challenge;
    EXPECT_NE(refused->raw->body_.find("(" + c.reason + ")"), std::string::npos) << refused->raw->body_;
  }
  // Two Authorization headers: which one would the worker read?
  HeaderList twice = Bearer(RsaToken(Claims()));
  twice.push_back(twice[0]);
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", twice))->raw, 401, "jwt-invalid");
}

TEST_F(PolicyJwtTest, OrderApiKeyThenJwtThenRateLimitKeyedBySubject) {
  PolicyTables tables = Tables(R"([{"api_key":{"header":"x-key","keys":{"k":")" + Hex("secret-key") + R"("}},)" +
                               RsaJwt(R"(,"required_claims":[])") +
                               R"(,"rate_limit":{"requests":1,"period_s":60,"key":"jwt_sub"}}])");
  // No api key: refused before the token is looked at.
  ExpectProblem(*Apply(nullptr, &tables, Request("GET", "/", Bearer("x")))->raw, 401, "api-key-missing");
  auto with = [&](const std::string& token) {
    HeaderList headers = Bearer(token);
    headers.push_back({"x-key", "secret-key"});
    return Apply(nullptr, &tables, Request("GET", "/", headers));
  };
  // A bad token does not take a token of the bucket.
  ExpectProblem(*with("bad")->raw, 401, "jwt-invalid");
  EXPECT_TRUE(with(RsaToken(R"({"iss":"https://issuer.example","aud":"api","sub":"alice"})"))->admitted);
  ExpectProblem(*with(RsaToken(R"({"iss":"https://issuer.example","aud":"api","sub":"alice"})"))->raw, 429,
                "rate-limited");
  // Another subject has its own bucket.
  EXPECT_TRUE(with(RsaToken(R"({"iss":"https://issuer.example","aud":"api","sub":"bob"})"))->admitted);
}

TEST_F(PolicyJwtTest, AJwksFetchIsWaitedForWithoutBlockingAndGoesOnThroughPost) {
  std::deque<std::function<void(StatusOr<std::string>)>> fetches;
  JwksCaches caches([&](const std::string& url, std::function<void(StatusOr<std::string>)> done) {
    EXPECT_EQ(url, "https://issuer.example/jwks");
    fetches.push_back(std::move(done));
  });
  auto parsed = ParseWorkerPolicies(R"([{"jwt":{"algorithms":["EdDSA"],"jwks_url":"https://issuer.example/jwks",
      "rate_limit":{"requests":1,"period_s":60}}}])", "acct/api", {}, nullptr, &caches);
  ASSERT_FALSE(parsed.ok());  // rate_limit is a table key, not a jwt one
  EXPECT_NE(parsed.status().message().find("policies[0].jwt.rate_limit: unknown key"), std::string::npos);
  parsed = ParseWorkerPolicies(R"([{"jwt":{"algorithms":["EdDSA"],"jwks_url":"https://issuer.example/jwks"}}])",
                               "acct/api", {}, nullptr, &caches);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  std::vector<std::function<void()>> posted;
  context_.post = [&](std::function<void()> task) { posted.push_back(std::move(task)); };

  // The first request waits for the first fetch; a malformed token does not.
  auto waiting = Apply(nullptr, &*parsed, Request("GET", "/", Bearer(EdToken(Claims(), "k1"))));
  auto also = Apply(nullptr, &*parsed, Request("GET", "/", Bearer(EdToken(Claims(), "k1"))));
  ExpectProblem(*Apply(nullptr, &*parsed, Request("GET", "/", Bearer("a.b")))->raw, 401, "jwt-invalid");
  EXPECT_FALSE(waiting->admitted);
  EXPECT_TRUE(waiting->outcomes.empty());
  ASSERT_EQ(fetches.size(), 1u);  // one fetch serves both
  fetches.front()(EdJwks("k1"));
  fetches.pop_front();
  EXPECT_FALSE(waiting->admitted);  // goes on on the request's loop
  ASSERT_EQ(posted.size(), 2u);
  for (auto& task : posted) task();
  posted.clear();
  EXPECT_TRUE(waiting->admitted);
  EXPECT_TRUE(also->admitted);
  EXPECT_NE(waiting->request.auth_claims_json.find(R"("sub":"alice")"), std::string::npos);
  // Now cached: answered at once, nothing posted.
  EXPECT_TRUE(Apply(nullptr, &*parsed, Request("GET", "/", Bearer(EdToken(Claims(), "k1"))))->admitted);
  EXPECT_TRUE(posted.empty());
  // An unknown kid within the minute: no fetch, refused at once.
  ExpectProblem(*Apply(nullptr, &*parsed, Request("GET", "/", Bearer(EdToken(Claims(), "k2"))))->raw, 401,
                "jwt-invalid");
  EXPECT_TRUE(fetches.empty());
  // The same table name and URL in a redeploy shares the cache.
  auto again = ParseWorkerPolicies(R"([{"jwt":{"algorithms":["EdDSA"],"jwks_url":"https://issuer.example/jwks"}}])",
                                   "acct/api", {}, nullptr, &caches);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].jwt->jwks, (*parsed)[0].jwt->jwks);
}

TEST_F(PolicyJwtTest, AJwksNeverFetchedIs503) {
  std::deque<std::function<void(StatusOr<std::string>)>> fetches;
  JwksCaches caches([&](const std::string&, std::function<void(StatusOr<std::string>)> done) {
    fetches.push_back(std::move(done));
  });
  auto parsed = ParseWorkerPolicies(R"([{"jwt":{"algorithms":["EdDSA"],"jwks_url":"http://10.0.0.1/jwks"}}])",
                                    "acct/api", {}, nullptr, &caches);
  ASSERT_TRUE(parsed.ok());
  auto waiting = Apply(nullptr, &*parsed, Request("GET", "/", Bearer(EdToken(Claims(), "k1"))));
  ASSERT_EQ(fetches.size(), 1u);
  fetches.front()(Status(ErrorCode::kIo, "fetching http://10.0.0.1/jwks: 10.0.0.1 is a private address"));
  ExpectProblem(*waiting->raw, 503, "jwt-keys-unavailable");
  EXPECT_EQ(waiting->raw->Header("retry-after"), "60");
  EXPECT_NE(waiting->raw->body_.find("private address"), std::string::npos);
  // Within the minute: answered at once, no new fetch.
  ExpectProblem(*Apply(nullptr, &*parsed, Request("GET", "/", Bearer(EdToken(Claims(), "k1"))))->raw, 503,
                "jwt-keys-unavailable");
  EXPECT_EQ(fetches.size(), 1u);
}

}  // namespace
}  // namespace edge::gateway::policy
