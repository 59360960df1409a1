// ParseWorkerPolicies and ParseHostPolicies: what a deploy accepts, and
// every refusal naming its table and field.
#include "gateway/policy/policy_config.h"

#include <gtest/gtest.h>

#include "base/json_text.h"
#include "base/sha256.h"

namespace edge::gateway::policy {
namespace {

std::string Error(std::string_view json, bool host = false) {
  auto tables = host ? ParseHostPolicies(json) : ParseWorkerPolicies(json, "acct/w");
  return tables.ok() ? "<ok>" : tables.status().message();
}

TEST(PolicyConfigTest, ReadsEveryPolicy) {
  std::string hash = base::Sha256Hex("k");
  auto tables = ParseWorkerPolicies(R"([{"routes":["example.com/api/*"],
      "cors":{"origins":["https://A.example"],"methods":["GET"],"headers":["X-A"],"credentials":true,
              "max_age":60,"expose_headers":["x-id"]},
      "validate":{"methods":["GET","POST"],"required_headers":["X-Req"],"content_types":["application/json"],
                  "max_body_bytes":1024},
      "api_key":{"query":"key","keys":{"alice":")" + hash + R"("},"forward_header":"x-key-name"},
      "rate_limit":{"requests":100,"period_s":60,"key":"api_key"}},
      {"rate_limit":{"requests":5,"period_s":1,"key":"header:X-Tenant"}}])",
                                    "acct/w");
  ASSERT_TRUE(tables.ok()) << tables.status().message();
  ASSERT_EQ(tables->size(), 2u);
  const PolicyTable& first = (*tables)[0];
  ASSERT_EQ(first.where.size(), 1u);
  EXPECT_EQ(first.cors->origins, std::vector<std::string>{"https://a.example"});
  EXPECT_EQ(first.cors->headers, std::vector<std::string>{"x-a"});
  EXPECT_EQ(*first.cors->max_age, 60u);
  EXPECT_EQ(first.validate->required_headers, std::vector<std::string>{"x-req"});
  EXPECT_EQ(*first.validate->max_body_bytes, 1024u);
  EXPECT_EQ(first.api_key->query, "key");
  ASSERT_EQ(first.api_key->keys.size(), 1u);
  EXPECT_EQ(first.api_key->keys[0].second, base::Sha256("k"));
  EXPECT_EQ(first.rate_limit->key, RateLimitPolicy::Key::kApiKey);
  EXPECT_EQ((*tables)[1].rate_limit->header, "x-tenant");
  EXPECT_NE(first.bucket_space, (*tables)[1].bucket_space);
  // Two workers never share a bucket space.
  auto other = ParseWorkerPolicies(R"([{"rate_limit":{"requests":1,"period_s":1}}])", "acct/other");
  auto mine = ParseWorkerPolicies(R"([{"rate_limit":{"requests":1,"period_s":1}}])", "acct/w");
  EXPECT_NE((*other)[0].bucket_space, (*mine)[0].bucket_space);
  EXPECT_EQ(Error(""), "<ok>");
}

TEST(PolicyConfigTest, RefusalsNameTheField) {
  EXPECT_EQ(Error(R"({})"), "policies must be an array of tables");
  EXPECT_EQ(Error(R"([1])"), "policies[0] must be a table");
  EXPECT_EQ(Error(R"([{"ratelimit":{}}])"),
            "policies[0].ratelimit: unknown key (known: routes, cors, validate, api_key, jwt, rate_limit)");
  EXPECT_EQ(Error(R"([{},{"rate_limit":{"requests":0,"period_s":1}}])"),
            "policies[1].rate_limit.requests must be an integer from 1 to 1000000");
  EXPECT_EQ(Error(R"([{"rate_limit":{"requests":1,"period_s":100000}}])"),
            "policies[0].rate_limit.period_s must be an integer from 1 to 86400");
  EXPECT_EQ(Error(R"([{"rate_limit":{"requests":1}}])"), "policies[0].rate_limit.period_s is required");
  EXPECT_EQ(Error(R"([{"rate_limit":{"requests":1,"period_s":1,"key":"cookie"}}])"),
            "policies[0].rate_limit.key must be \"ip\", \"api_key\", \"jwt_sub\" or \"header:<name>\" (got \"cookie\")");
  EXPECT_EQ(Error(R"([{"rate_limit":{"requests":1,"period_s":1,"key":"api_key"}}])"),
            "policies[0].rate_limit.key = \"api_key\" needs an api_key policy in the same table");
  EXPECT_EQ(Error(R"([{"api_key":{"keys":{}}}])"), "policies[0].api_key needs exactly one of header and query");
  EXPECT_EQ(Error(R"([{"api_key":{"header":"x","keys":{"a":"short"}}}])"),
            "policies[0].api_key.keys.a must be the SHA-256 of the key in hex (64 digits)");
  EXPECT_EQ(Error(R"([{"cors":{"methods":["GET"]}}])"), "policies[0].cors.origins is required");
  EXPECT_EQ(Error(R"([{"cors":{"origins":"*","credentials":true}}])"),
            "policies[0].cors: credentials = true needs a list of origins, not \"*\" (browsers refuse both together)");
  EXPECT_EQ(Error(R"([{"cors":{"origins":["app.example"]}}])"),
            "policies[0].cors.origins: \"app.example\" is not an origin (scheme://host[:port])");
  EXPECT_EQ(Error(R"([{"validate":{"methods":["G T"]}}])"),
            "policies[0].validate.methods: \"G T\" is not a valid HTTP token");
  EXPECT_EQ(Error(R"([{"validate":{"content_types":["json"]}}])"),
            "policies[0].validate.content_types: \"json\" is not a media type (type/subtype or type/*)");
  EXPECT_EQ(Error(R"([{"validate":{"max_body_bytes":-1}}])"),
            "policies[0].validate.max_body_bytes must be an integer from 0 to 1099511627776");
  EXPECT_EQ(Error(R"([{"routes":["example.com"]}])").substr(0, 18), "policies[0].routes");
  EXPECT_EQ(Error(R"([{"routes":[]}])"), "policies[0].routes must not be empty");
  EXPECT_EQ(Error(R"([{"jwt":{"issuer":"x"}}])"), "policies[0].jwt.algorithms is required (RS256, ES256, EdDSA, HS256)");
  // A schema is compiled at deploy: what it cannot compile is named.
  EXPECT_EQ(Error(R"([{"validate":{"schema":{"type":"object","properties":{"a":{"minimum":"x"}}}}}])").substr(0, 27),
            "policies[0].validate.schema");
  EXPECT_EQ(Error(R"([{"validate":{"schema":7}}])"),
            "policies[0].validate.schema must be a JSON Schema: a table, or a string of JSON text");
  std::string many = "[";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + "{}";
  EXPECT_EQ(Error(many + "]"), "policies: more than 32 tables");
  std::string methods = R"([{"validate":{"methods":[)";
  for (int i = 0; i < 65; ++i) methods += std::string(i ? "," : "") + "\"M" + std::to_string(i) + "\"";
  EXPECT_EQ(Error(methods + "]}}]"), "policies[0].validate.methods: more than 64 items");
}

TEST(PolicyConfigTest, HostPoliciesNeedHostsAndInlineKeys) {
  EXPECT_EQ(Error(R"([{"rate_limit":{"requests":1,"period_s":1}}])", true), "host_policies[0].hosts is required");
  EXPECT_EQ(Error(R"([{"hosts":["a.example/api"]}])", true),
            "host_policies[0].hosts: \"a.example/api\" must be a host name or pattern, without a path");
  EXPECT_EQ(Error(R"([{"hosts":["a.example"],"api_key":{"header":"x","secret_prefix":"K_"}}])", true),
            "host_policies[0].api_key.secret_prefix: unknown key (known: header, query, keys, forward_header)");
  EXPECT_EQ(Error(R"([{"hosts":["*.a.example","b.example"],"validate":{"methods":["GET"]}}])", true), "<ok>");
  EXPECT_EQ(Error(R"([{"routes":["a.example/*"]}])", true),
            "host_policies[0].routes: unknown key (known: hosts, cors, validate, api_key, jwt, rate_limit)");
  EXPECT_EQ(Error(R"([{"hosts":["a.example"],"jwt":{"algorithms":["HS256"],"secret":"S"}}])", true),
            "host_policies[0].jwt.secret: unknown key (known: issuer, audiences, algorithms, keys, jwks_url, "
            "clock_skew_s, required_claims, claims_header, realm)");
  EXPECT_EQ(Error(R"([{"hosts":["a.example"],"jwt":{"algorithms":["ES256"],"jwks_url":"https://idp.example/jwks"}}])",
                  true),
            "<ok>");
}

TEST(PolicyConfigTest, JwtFieldsAreCheckedAtDeploy) {
  const std::string jwk = R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
  auto jwt = [](const std::string& fields) { return Error(R"([{"jwt":{)" + fields + "}}]"); };
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"keys":[)" + jwk + "]"), "<ok>");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"keys":[)" + base::JsonString(jwk) + "]"), "<ok>");
  EXPECT_EQ(jwt(R"("algorithms":["none"],"keys":[)" + jwk + "]"),
            "policies[0].jwt.algorithms: \"none\" is not one of RS256, ES256, EdDSA, HS256");
  EXPECT_EQ(jwt(R"("algorithms":[],"keys":[)" + jwk + "]"),
            "policies[0].jwt.algorithms: list at least one of RS256, ES256, EdDSA, HS256");
  EXPECT_EQ(jwt(R"("algorithms":["RS256"],"keys":[)" + jwk + "]"),
            "policies[0].jwt.keys: key 1 verifies EdDSA, which jwt.algorithms does not list");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"])"), "policies[0].jwt needs exactly one of keys, secret, jwks_url");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"keys":[)" + jwk + R"(],"jwks_url":"https://idp.example/jwks")"),
            "policies[0].jwt needs exactly one of keys, secret, jwks_url");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"keys":["-----BEGIN PRIVATE KEY-----"])").substr(0, 25),
            "policies[0].jwt.keys[0]: ");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"keys":[7])"),
            "policies[0].jwt.keys[0] must be PEM text, a JWK or a JWKS (a table or JSON text)");
  EXPECT_TRUE(jwt(R"("algorithms":["EdDSA"],"jwks_url":"ftp://idp.example/jwks")")
                  .starts_with("policies[0].jwt.jwks_url: \"ftp://idp.example/jwks\" is not an http(s) URL"));
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"jwks_url":"https://idp.example/jwks","clock_skew_s":601)"),
            "policies[0].jwt.clock_skew_s must be an integer from 0 to 600");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"jwks_url":"https://idp.example/jwks","claims_header":"Authorization")"),
            "policies[0].jwt.claims_header: authorization is not a header the gateway may set");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"jwks_url":"https://idp.example/jwks","realm":"a\"b")"),
            "policies[0].jwt.realm must be 1 to 256 printable ASCII characters without quotes or backslashes");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"jwks_url":"https://idp.example/jwks","required_claims":[""])"),
            "policies[0].jwt.required_claims: an item is empty or too long");
  EXPECT_EQ(jwt(R"("algorithms":["EdDSA"],"jwks_url":"https://idp.example/jwks","lifetime":1)").substr(0, 44),
            "policies[0].jwt.lifetime: unknown key (known");
  EXPECT_EQ(Error(R"([{"rate_limit":{"requests":1,"period_s":1,"key":"jwt_sub"}}])"),
            "policies[0].rate_limit.key = \"jwt_sub\" needs a jwt policy in the same table");
  // HS256 from a worker's secret: too short is an error, missing a warning
  // (every token is refused until the secret is put).
  std::vector<runtime::WorkerVar> secrets = {{"SHORT", "abc"}, {"GOOD", std::string(32, 'k')}};
  std::vector<std::string> warnings;
  auto parse = [&](const std::string& name) {
    return ParseWorkerPolicies(R"([{"jwt":{"algorithms":["HS256"],"secret":")" + name + "\"}}]", "a/w", secrets,
                               &warnings);
  };
  EXPECT_EQ(parse("SHORT").status().message(),
            "policies[0].jwt.secret: the secret SHORT is an HS256 secret of 3 bytes (at least 32)");
  auto good = parse("GOOD");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ((*good)[0].jwt->keys->keys.size(), 1u);
  auto missing = parse("ABSENT");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE((*missing)[0].jwt->keys->keys.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("the worker has no secret ABSENT"), std::string::npos);
}

}  // namespace
}  // namespace edge::gateway::policy
