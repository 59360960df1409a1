// The JWT verifier: every refusal reason, keys in each form, the JWKS
// cache's refresh rules on an injected clock, and tokens made by Node.js's
// crypto (fixed vectors) as well as by OpenSSL here.
#include "gateway/policy/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "base/base64.h"
#include "gateway/policy/jwt_jwks.h"
#include "gateway/policy/testing/jwt_tokens.h"

namespace edge::gateway {
namespace {

using base::Base64UrlEncode;

// Tokens signed by Node.js 20's crypto (RSA-2048 PKCS #1 v1.5, P-256 in
// IEEE P1363 form, Ed25519, HMAC-SHA256) with the public JWKs Node
// exported: iss https://issuer.example, aud api, sub user-1, exp 2100-01-01.
struct Vector {
  const char* name;
  const char* jwk;
  const char* token;
};
const Vector kNodeVectors[] = {
    {"rs", R"({"kty":"RSA","n":"oUMThEPDYFZ820rA1GPnR23Uezwui8w2gI7spz11gZYjt3rvmYsO9cOz8O91uQx08FPjFJQS4H-MYWU6dg5CUNPJkBoYME87MGi3zs1HsZt2DyQaPRjiamNAQOZhiHLnSd8H9H1UOglXiVSgcNAwe15QBCPI23_c1ZTKD-DuE2agO13ys8nDTsfgqs65YT577V1Dnh5CobXrcjHpF7WmzB6OjL9RHjCR5GT7XE_NCH2-gqxGqBD05MY_zqdATeOuMqP0Rge5NOXsdLikkxaVBPjexD701ALKeSYADtt1nUpPn4-fwPirOL_wIMS8bYmMNFLGi9cn-ZniAuSqustDdQ","e":"AQAB","kid":"r1"})",
     "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InIxIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiYXBpIiwic3ViIjoidXNlci0xIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDB9.K1BPokz3EXo-OSaDSQFJ6LFOelgIFw7kSXoywvLMnPHYapGObtmefx4VdDeOYuVDwKHW5z-9RhV4igtZFWMTdf2xUj8ASrSQk0I6Hh_jz7_62NQjPfESsZZxkOQ1wj2jllk0kLsSFy6_gQq3oam7mdXVkJjNQ8GaX0GWyiVWJeP0aepC4Xa1jEEYtOOMJuJK1UTe7zs0bFv1dIT4z-wiuT7EeQC0HmaQWrwSaqeOmfZM7G-0HiYCfAJtLDPGoP0gNipbncWpoqNZgTL0-_6FvlLqzR2c8UAowlJ0LvAYDr75_D-LOX9onKOD6_It5O7OOxaEJcQElF4Qmg2Mzs8tow"},
    {"es", R"({"kty":"EC","x":"n-_d91sUZn3nxrRxBFh50Lk1Gsn1NYgfLyirAge3FhA","y":"ufZNQIqWhegfwi-WHtD_t8mE4yQd9pVP_DoX4iUi88w","crv":"P-256","kid":"e1"})",
     "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImUxIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiYXBpIiwic3ViIjoidXNlci0xIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDB9.8f90h7DXwX6MJtgr5RB6bOYFeWr30_VohO-WPTxk23Zsc1nlVJiQq4hZAS5P8nmNhJmSNygGRPVcyiebdkECLg"},
    {"ed", R"({"crv":"Ed25519","x":"Do3qxh_vjICBu2dExuiEcxudMxWQC0gu7rtD2a_NucY","kty":"OKP","kid":"d1"})",
     "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImQxIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiYXBpIiwic3ViIjoidXNlci0xIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDB9.8KCDNUUB0VzUkO_5QuQbt7Kv1f9i14ttmOjKItuWBn6IiXw6Idv-lfrd2EXEosL5YGgzNGyN2sJijA2UGxWhCA"},
    {"hs", R"({"kty":"oct","k":"uS5gGUt-H1uOj18Pcv5vfB4JZVRflldOH-MvNWfAh54","kid":"h1"})",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImgxIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiYXBpIiwic3ViIjoidXNlci0xIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDB9.u-v-GH1wCT2VuGxCNc2vqYtYKGCikqLQ_-gB8qe-J8c"},
};

constexpr int64_t kNow = 1700000100;

JwtPolicy Policy(std::vector<JwtAlg> algorithms = {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA,
                                                   JwtAlg::kHS256}) {
  JwtPolicy policy;
  policy.issuer = "https://issuer.example";
  policy.audiences = {"api", "other"};
  policy.algorithms = std::move(algorithms);
  policy.clock = [] { return kNow; };
  return policy;
}

using testing::GenerateKey;
using testing::HmacToken;
using testing::Pkey;
using testing::PrivatePem;
using testing::PublicPem;

Pkey Generate(const char* type, const char* curve = nullptr) { return GenerateKey(type, curve); }

std::string Sign(EVP_PKEY* pkey, std::string_view input, bool der = false) {
  std::string signature = testing::JwsSignature(pkey, input, der);
  EXPECT_FALSE(signature.empty());
  return signature;
}

std::string Token(std::string_view header, std::string_view claims, EVP_PKEY* pkey) {
  return testing::SignedToken(header, claims, pkey);
}

const char kClaims[] =
    R"({"iss":"https://issuer.example","aud":"api","sub":"user-1","exp":1700000200,"iat":1700000000})";

JwtKeySet KeysOf(EVP_PKEY* pkey, std::string_view kid = "k1") {
  auto keys = ParseJwtKeys(PublicPem(pkey), kid);
  EXPECT_TRUE(keys.ok()) << keys.status().message();
  return keys.ok() ? std::move(keys).value() : JwtKeySet{};
}

// A key pair of each signing type, made once for the whole suite.
struct Keys {
  Pkey rsa = Generate("RSA");
  Pkey ec = Generate("EC", "P-256");
  Pkey ed = Generate("ED25519");
};
const Keys& TestKeys() {
  static const Keys keys;
  return keys;
}

TEST(Jwt, VerifiesNodeSignedTokensOfEveryAlgorithm) {
  JwtPolicy policy = Policy();
  policy.clock = [] { return int64_t{1700000100}; };
  for (const Vector& vector : kNodeVectors) {
    SCOPED_TRACE(vector.name);
    auto keys = ParseJwtKeys(vector.jwk);
    ASSERT_TRUE(keys.ok()) << keys.status().message();
    JwtResult result = VerifyJwt(vector.token, policy, *keys);
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_EQ(result.token.subject, "user-1");
    EXPECT_NE(result.token.claims_json.find("\"sub\":\"user-1\""), std::string::npos);
    // One flipped bit of the signature.
    std::string token = vector.token;
    char& last = token[token.size() - 2];
    last = last == 'A' ? 'B' : 'A';
    EXPECT_EQ(VerifyJwt(token, policy, *keys).failure, JwtFailure::kBadSignature);
  }
}

TEST(Jwt, VerifiesOpenSslSignedTokens) {
  JwtPolicy policy = Policy();
  for (EVP_PKEY* pkey : {TestKeys().rsa.get(), TestKeys().ec.get(), TestKeys().ed.get()}) {
    const char* alg = EVP_PKEY_is_a(pkey, "RSA") ? "RS256" : EVP_PKEY_is_a(pkey, "EC") ? "ES256" : "EdDSA";
    SCOPED_TRACE(alg);
    std::string header = std::string(R"({"alg":")") + alg + R"(","kid":"k1","typ":"JWT"})";
    JwtResult result = VerifyJwt(Token(header, kClaims, pkey), policy, KeysOf(pkey));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_EQ(result.token.claims_json, kClaims);
    EXPECT_EQ(result.token.kid, "k1");
    EXPECT_EQ(JwtAlgName(result.token.alg), alg);
  }
  std::string secret(32, 's');
  JwtKeySet keys;
  keys.keys.push_back(*JwtHmacKey(secret, "h"));
  JwtResult result = VerifyJwt(HmacToken(R"({"alg":"HS256"})", kClaims, secret), policy, keys);
  EXPECT_TRUE(result.ok()) << result.reason;
}

struct Refusal {
  const char* claims;
  JwtFailure failure;
  const char* reason_part;
};

TEST(Jwt, RefusesEachClaimFailureWithItsReason) {
  const Refusal refusals[] = {
      {R"({"iss":"https://issuer.example","aud":"api","exp":1700000000})", JwtFailure::kExpired,
       "the token expired at 1700000000 (now 1700000100, clock skew 60 s)"},
      {R"({"iss":"https://issuer.example","aud":"api","exp":1700000040})", JwtFailure::kExpired,
       "expired at 1700000040"},
      {R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"nbf":1700000161})",
       JwtFailure::kNotYetValid, "not valid before 1700000161"},
      {R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"iat":1700000161})",
       JwtFailure::kIssuedInFuture, "issued in the future"},
      {R"({"iss":"https://evil.example","aud":"api","exp":1700000200})", JwtFailure::kWrongIssuer,
       "issuer https://evil.example is not the expected https://issuer.example"},
      {R"({"aud":"api","exp":1700000200})", JwtFailure::kWrongIssuer, "no 'iss' claim"},
      {R"({"iss":7,"aud":"api","exp":1700000200})", JwtFailure::kBadClaim, "'iss' claim is not a string"},
      {R"({"iss":"https://issuer.example","aud":"web","exp":1700000200})", JwtFailure::kWrongAudience,
       "audience web names none"},
      {R"({"iss":"https://issuer.example","aud":["web","mobile"],"exp":1700000200})",
       JwtFailure::kWrongAudience, "names none"},
      {R"({"iss":"https://issuer.example","aud":[],"exp":1700000200})", JwtFailure::kWrongAudience,
       "audience [] names none"},
      {R"({"iss":"https://issuer.example","exp":1700000200})", JwtFailure::kWrongAudience,
       "no 'aud' claim"},
      {R"({"iss":"https://issuer.example","aud":["api",1],"exp":1700000200})", JwtFailure::kBadClaim,
       "non-string item"},
      {R"({"iss":"https://issuer.example","aud":"api"})", JwtFailure::kMissingClaim,
       "no 'exp' claim, which is required"},
      {R"({"iss":"https://issuer.example","aud":"api","exp":"tomorrow"})", JwtFailure::kBadClaim,
       "'exp' claim is not a number"},
      {R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"nbf":null})",
       JwtFailure::kBadClaim, "'nbf' claim is not a number"},
      {R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"exp":1})", JwtFailure::kMalformed,
       "the payload has 'exp' twice"},
      {R"(["iss"])", JwtFailure::kMalformed, "the payload is not a JSON object"},
      {R"({"iss":)", JwtFailure::kMalformed, "the payload is not JSON"},
  };
  JwtPolicy policy = Policy();
  JwtKeySet keys = KeysOf(TestKeys().ec.get());
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.claims);
    JwtResult result = VerifyJwt(Token(R"({"alg":"ES256","kid":"k1"})", refusal.claims,
                                       TestKeys().ec.get()),
                                 policy, keys);
    EXPECT_EQ(result.failure, refusal.failure) << result.reason;
    EXPECT_NE(result.reason.find(refusal.reason_part), std::string::npos) << result.reason;
    EXPECT_EQ(result.reason.find('"'), std::string::npos) << result.reason;
  }
}

TEST(Jwt, ClockSkewIsAppliedToEachTimeClaim) {
  JwtPolicy policy = Policy();
  JwtKeySet keys = KeysOf(TestKeys().ec.get());
  auto verify = [&](const std::string& claims) {
    return VerifyJwt(Token(R"({"alg":"ES256","kid":"k1"})", claims, TestKeys().ec.get()), policy, keys);
  };
  // now 1700000100, skew 60: exp must be after 1700000040, nbf at most 1700000160.
  EXPECT_TRUE(verify(R"({"iss":"https://issuer.example","aud":"api","exp":1700000040.5})").ok());
  EXPECT_TRUE(verify(R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"nbf":1700000160})").ok());
  EXPECT_TRUE(verify(R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"iat":1700000160})").ok());
  policy.clock_skew_s = 0;
  EXPECT_EQ(verify(R"({"iss":"https://issuer.example","aud":"api","exp":1700000100})").failure,
            JwtFailure::kExpired);
  EXPECT_EQ(verify(R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"nbf":1700000101})").failure,
            JwtFailure::kNotYetValid);
  // The clock is the policy's: a later one expires the same token.
  policy.clock_skew_s = 60;
  policy.clock = [] { return kNow + 1000; };
  EXPECT_EQ(verify(kClaims).failure, JwtFailure::kExpired);
  // Without issuer, audiences and required claims, only the signature and
  // the times present are checked.
  policy = Policy();
  policy.issuer.clear();
  policy.audiences.clear();
  policy.required_claims.clear();
  EXPECT_TRUE(verify(R"({"sub":"x"})").ok());
  policy.required_claims = {"sub", "scope"};
  EXPECT_EQ(verify(R"({"sub":"x"})").failure, JwtFailure::kMissingClaim);
}

TEST(Jwt, RefusesAlgorithmsThePolicyDoesNotList) {
  JwtPolicy policy = Policy({JwtAlg::kRS256});
  JwtKeySet keys = KeysOf(TestKeys().ec.get());
  JwtResult result =
      VerifyJwt(Token(R"({"alg":"ES256","kid":"k1"})", kClaims, TestKeys().ec.get()), policy, keys);
  EXPECT_EQ(result.failure, JwtFailure::kAlgNotAllowed);
  EXPECT_EQ(result.reason, "the algorithm ES256 is not allowed");
  for (const char* alg : {"RS512", "PS256", "ES384", "HS512", "rs256", ""}) {
    std::string header = std::string(R"({"alg":")") + alg + R"("})";
    EXPECT_EQ(VerifyJwt(Token(header, kClaims, TestKeys().rsa.get()), Policy(), keys).failure,
              JwtFailure::kAlgNotAllowed)
        << alg;
  }
}

TEST(Jwt, RefusesAlgNoneInEveryCase) {
  JwtKeySet keys = KeysOf(TestKeys().rsa.get());
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    std::string input = Base64UrlEncode(std::string(R"({"alg":")") + alg + R"("})") + "." +
                        Base64UrlEncode(kClaims);
    for (const std::string& token : {input + ".", input + "." + Base64UrlEncode("x")}) {
      JwtResult result = VerifyJwt(token, Policy(), keys);
      EXPECT_TRUE(result.failure == JwtFailure::kAlgNone ||
                  (token.back() == '.' && result.failure == JwtFailure::kMalformed))
          << alg << ": " << result.reason;
    }
    EXPECT_EQ(VerifyJwt(input + "." + Base64UrlEncode("x"), Policy(), keys).failure,
              JwtFailure::kAlgNone);
  }
  JwtPolicy policy = Policy();
  EXPECT_FALSE(JwtAlgNamed("none").has_value());
}

TEST(Jwt, NeverUsesAnRsaPublicKeyAsAnHmacSecret) {
  // The classic confusion: an HS256 token whose secret is the RSA public
  // key's PEM (or DER) text, against a policy allowing both algorithms.
  std::string pem = PublicPem(TestKeys().rsa.get());
  JwtKeySet keys = KeysOf(TestKeys().rsa.get());
  JwtPolicy policy = Policy({JwtAlg::kRS256, JwtAlg::kHS256});
  for (const char* header : {R"({"alg":"HS256","kid":"k1"})", R"({"alg":"HS256"})"}) {
    JwtResult result = VerifyJwt(HmacToken(header, kClaims, pem), policy, keys);
    EXPECT_EQ(result.failure, JwtFailure::kUnknownKey) << result.reason;
  }
  // An RSA JWK carrying "alg":"HS256" is refused when it is read.
  auto jwk = ParseJwtKeys(std::string(kNodeVectors[0].jwk).insert(1, R"("alg":"HS256",)"));
  ASSERT_FALSE(jwk.ok());
  EXPECT_NE(jwk.status().message().find("verifies RS256 only"), std::string::npos)
      << jwk.status().message();
  // ES256 with an Ed25519 key of the same kid: no key of that type.
  JwtKeySet ed = KeysOf(TestKeys().ed.get());
  EXPECT_EQ(VerifyJwt(Token(R"({"alg":"ES256","kid":"k1"})", kClaims, TestKeys().ec.get()),
                      Policy(), ed)
                .failure,
            JwtFailure::kUnknownKey);
}

TEST(Jwt, RefusesBadSignatures) {
  JwtKeySet keys = KeysOf(TestKeys().rsa.get());
  std::string token = Token(R"({"alg":"RS256","kid":"k1"})", kClaims, TestKeys().rsa.get());
  // Another key's signature.
  Pkey other = Generate("RSA");
  EXPECT_EQ(VerifyJwt(Token(R"({"alg":"RS256","kid":"k1"})", kClaims, other.get()), Policy(), keys)
                .failure,
            JwtFailure::kBadSignature);
  // Claims changed after signing.
  size_t dot = token.find('.');
  size_t dot2 = token.find('.', dot + 1);
  std::string forged = token.substr(0, dot + 1) +
                       Base64UrlEncode(R"({"iss":"https://issuer.example","aud":"api","exp":9999999999})") +
                       token.substr(dot2);
  JwtResult result = VerifyJwt(forged, Policy(), keys);
  EXPECT_EQ(result.failure, JwtFailure::kBadSignature);
  EXPECT_EQ(result.reason, "the signature does not verify");
  // ES256 needs r || s: the DER form OpenSSL makes is refused.
  std::string input = Base64UrlEncode(R"({"alg":"ES256","kid":"k1"})") + "." + Base64UrlEncode(kClaims);
  EXPECT_EQ(VerifyJwt(input + "." + Base64UrlEncode(Sign(TestKeys().ec.get(), input, /*der=*/true)),
                      Policy(), KeysOf(TestKeys().ec.get()))
                .failure,
            JwtFailure::kBadSignature);
  // r || s of the wrong length, and an empty HMAC.
  EXPECT_EQ(VerifyJwt(input + "." + Base64UrlEncode(std::string(63, 'x')), Policy(),
                      KeysOf(TestKeys().ec.get()))
                .failure,
            JwtFailure::kBadSignature);
  JwtKeySet hs;
  hs.keys.push_back(*JwtHmacKey(std::string(40, 'k')));
  std::string hs_token = HmacToken(R"({"alg":"HS256"})", kClaims, std::string(40, 'k'));
  EXPECT_TRUE(VerifyJwt(hs_token, Policy(), hs).ok());
  std::string truncated_mac = hs_token.substr(0, hs_token.rfind('.') + 1) +
                              Base64UrlEncode(std::string(16, 'm'));
  EXPECT_EQ(VerifyJwt(truncated_mac, Policy(), hs).failure, JwtFailure::kBadSignature);
}

TEST(Jwt, RefusesTruncatedAndMalformedTokens) {
  JwtKeySet keys = KeysOf(TestKeys().ec.get());
  std::string token = Token(R"({"alg":"ES256","kid":"k1"})", kClaims, TestKeys().ec.get());
  size_t dot = token.find('.');
  size_t dot2 = token.find('.', dot + 1);
  const std::pair<std::string, const char*> cases[] = {
      {"", "not three base64url parts"},
      {token.substr(0, dot), "not three base64url parts"},
      {token.substr(0, dot2), "not three base64url parts"},
      {token.substr(0, dot2 + 1), "no signature"},
      {token + ".", "not three base64url parts"},
      {token + "." + token, "not three base64url parts"},
      {"." + token.substr(dot + 1), "the header is empty"},
      {token.substr(0, dot + 1) + token.substr(dot2), "the payload is empty"},
      {token + "=", "the signature is not base64url"},
      {token.substr(0, dot) + "=" + token.substr(dot), "the header is not base64url"},
      {token.substr(0, dot2 + 2), "no encoding is 1 characters long"},
      {token.substr(0, 10) + "+" + token.substr(11), "not base64url"},
      {token.substr(0, dot2 + 1) + " " + token.substr(dot2 + 1), "not base64url"},
      {Base64UrlEncode("{}") + "." + token.substr(dot + 1), "no 'alg' string"},
      {Base64UrlEncode(R"({"alg":"ES256","alg":"none"})") + token.substr(dot), "'alg' twice"},
      {Base64UrlEncode(R"({"alg":"ES256","crit":["exp"]})") + token.substr(dot), "'crit'"},
      {Base64UrlEncode(R"({"alg":"ES256","typ":"JOSE+JSON"})") + token.substr(dot), "'typ' is not JWT"},
      {Base64UrlEncode(R"({"alg":"ES256","kid":7})") + token.substr(dot), "'kid' is not a string"},
      {Base64UrlEncode(std::string(40, '[')) + token.substr(dot), "the header is not JSON"},
  };
  for (const auto& [text, reason] : cases) {
    JwtResult result = VerifyJwt(text, Policy(), keys);
    EXPECT_EQ(result.failure, JwtFailure::kMalformed) << text << ": " << result.reason;
    EXPECT_NE(result.reason.find(reason), std::string::npos) << text << ": " << result.reason;
  }
  // Base64url whose last character carries bits that encode nothing: two
  // spellings of one signature are not both accepted.
  std::string signature = token.substr(dot2 + 1);  // 64 bytes: 86 characters, 4 spare bits
  ASSERT_EQ(signature.size(), 86u);
  std::string respelled = token;
  char& last = respelled.back();
  last = last == 'A' ? 'B' : static_cast<char>(last ^ 1);
  EXPECT_EQ(VerifyJwt(respelled, Policy(), keys).failure, JwtFailure::kMalformed);
  // A header nested deeper than the cap.
  std::string deep = R"({"alg":"ES256","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(VerifyJwt(Base64UrlEncode(deep) + token.substr(dot), Policy(), keys).failure,
            JwtFailure::kMalformed);
}

TEST(Jwt, RefusesOversizedTokensBeforeDecoding) {
  JwtKeySet keys = KeysOf(TestKeys().ec.get());
  std::string claims = R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"pad":")" +
                       std::string(13000, 'p') + "\"}";
  std::string token = Token(R"({"alg":"ES256","kid":"k1"})", claims, TestKeys().ec.get());
  ASSERT_GT(token.size(), kMaxJwtBytes);
  JwtResult result = VerifyJwt(token, Policy(), keys);
  EXPECT_EQ(result.failure, JwtFailure::kTooLarge);
  EXPECT_NE(result.reason.find("(at most 16384)"), std::string::npos) << result.reason;
  EXPECT_EQ(VerifyJwt(std::string(100 * 1024 * 1024, 'a'), Policy(), keys).failure,
            JwtFailure::kTooLarge);
  // Just under the cap is fine.
  claims = R"({"iss":"https://issuer.example","aud":"api","exp":1700000200,"pad":")" +
           std::string(11000, 'p') + "\"}";
  token = Token(R"({"alg":"ES256","kid":"k1"})", claims, TestKeys().ec.get());
  ASSERT_LE(token.size(), kMaxJwtBytes);
  EXPECT_TRUE(VerifyJwt(token, Policy(), keys).ok());
}

TEST(Jwt, PicksTheKeyByKidOrTriesTheKeysOfItsAlgorithm) {
  JwtKeySet keys;
  Pkey second = Generate("EC", "P-256");
  for (auto [pkey, kid] : {std::pair{TestKeys().ec.get(), "a"}, std::pair{second.get(), "b"}}) {
    JwtKeySet one = KeysOf(pkey, kid);
    keys.keys.push_back(one.keys[0]);
  }
  EXPECT_TRUE(VerifyJwt(Token(R"({"alg":"ES256","kid":"b"})", kClaims, second.get()), Policy(), keys).ok());
  // The kid picks the key: "a" does not verify b's signature.
  EXPECT_EQ(VerifyJwt(Token(R"({"alg":"ES256","kid":"a"})", kClaims, second.get()), Policy(), keys).failure,
            JwtFailure::kBadSignature);
  JwtResult unknown = VerifyJwt(Token(R"({"alg":"ES256","kid":"c"})", kClaims, second.get()), Policy(), keys);
  EXPECT_EQ(unknown.failure, JwtFailure::kUnknownKey);
  EXPECT_EQ(unknown.reason, "no ES256 key has the token's kid c");
  // Without a kid, each ES256 key is tried.
  EXPECT_TRUE(VerifyJwt(Token(R"({"alg":"ES256"})", kClaims, second.get()), Policy(), keys).ok());
  // ... but not more than kMaxKeysTriedWithoutKid of them.
  JwtKeySet many;
  for (size_t i = 0; i <= kMaxKeysTriedWithoutKid; ++i) many.keys.push_back(keys.keys[0]);
  EXPECT_EQ(VerifyJwt(Token(R"({"alg":"ES256"})", kClaims, TestKeys().ec.get()), Policy(), many).failure,
            JwtFailure::kUnknownKey);
}

TEST(JwtKeys, ParsesPemKeysAndRefusesWhatCannotVerify) {
  std::string pems = PublicPem(TestKeys().rsa.get()) + PublicPem(TestKeys().ec.get()) +
                     PublicPem(TestKeys().ed.get());
  auto keys = ParseJwtKeys(pems, "kid");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->keys.size(), 3u);
  EXPECT_EQ(keys->keys[0].alg, JwtAlg::kRS256);
  EXPECT_EQ(keys->keys[1].alg, JwtAlg::kES256);
  EXPECT_EQ(keys->keys[2].alg, JwtAlg::kEdDSA);
  EXPECT_EQ(keys->keys[2].kid, "kid");

  Pkey small = GenerateKey("RSA", nullptr, 1024);
  Pkey p384 = Generate("EC", "P-384");
  Pkey x25519 = Generate("X25519");
  const std::pair<std::string, const char*> bad[] = {
      {PublicPem(small.get()), "an RSA key of 1024 bits (RS256 needs 2048 to 8192)"},
      {PublicPem(p384.get()), "an EC key on curve secp384r1 (ES256 needs P-256)"},
      {PublicPem(x25519.get()), "a X25519 key"},
      {PrivatePem(TestKeys().ec.get()), "a private key (PRIVATE KEY): give its public key"},
      {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "does not parse"},
      {"-----BEGIN PUBLIC KEY-----\nAAAA\n", "has no END line"},
      {"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", "labelled FOO"},
      {"secret", "neither JSON (a JWK or JWKS) nor PEM"},
      {"", "no keys given"},
  };
  for (const auto& [text, message] : bad) {
    auto parsed = ParseJwtKeys(text);
    ASSERT_FALSE(parsed.ok()) << message;
    EXPECT_NE(parsed.status().message().find(message), std::string::npos) << parsed.status().message();
  }
}

TEST(JwtKeys, ParsesJwksStrictlyInlineAndLenientlyWhenFetched) {
  std::string jwks = std::string(R"({"keys":[)") + kNodeVectors[0].jwk + "," + kNodeVectors[1].jwk +
                     "," + kNodeVectors[2].jwk + "," + kNodeVectors[3].jwk +
                     R"(,{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]})";
  auto fetched = ParseJwks(jwks);
  ASSERT_TRUE(fetched.ok()) << fetched.status().message();
  EXPECT_EQ(fetched->keys.size(), 4u);
  ASSERT_EQ(fetched->skipped.size(), 2u);
  EXPECT_EQ(fetched->skipped[0], R"(keys[4]: an EC key on curve "P-384" (ES256 needs P-256))");
  EXPECT_EQ(fetched->skipped[1], R"(keys[5]: "use": "enc" (only "sig" keys verify tokens))");
  auto inline_keys = ParseJwtKeys(jwks);
  ASSERT_FALSE(inline_keys.ok());
  EXPECT_EQ(inline_keys.status().message(), R"(keys[4]: an EC key on curve "P-384" (ES256 needs P-256))");

  const std::pair<const char*, const char*> bad[] = {
      {R"({"kty":"oct","k":"c2VjcmV0"})", "an HS256 secret of 6 bytes (at least 32)"},
      {R"({"kty":"RSA","n":"AQAB","e":"AQAB"})", "invalid RSA key data"},
      {R"({"kty":"RSA","e":"AQAB"})", R"(no "n")"},
      {R"({"kty":"RSA","n":"AQAB=","e":"AQAB"})", "invalid base64url"},
      {R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})", R"("x" is 3 bytes (expected 32))"},
      {R"({"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})",
       "invalid P-256 key data"},
      {R"({"kty":"OKP","crv":"X25519","x":"AA"})", "EdDSA needs Ed25519"},
      {R"({"kty":"DSA"})", R"("kty": "DSA")"},
      {R"({"kty":7})", R"("kty" is not a string)"},
      {R"({"keys":{}})", R"("keys" is not an array)"},
      {R"({"keys":[]})", "the JWKS has no keys"},
      {R"([])", "not a JSON object"},
      {R"({"keys":)", "the keys are not JSON"},
  };
  for (const auto& [text, message] : bad) {
    auto parsed = ParseJwtKeys(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find(message), std::string::npos)
        << text << ": " << parsed.status().message();
  }
  // The caps: bytes and keys.
  std::string big = R"({"keys":[],"pad":")" + std::string(kMaxJwksBytes, ' ') + "\"}";
  EXPECT_NE(ParseJwks(big).status().message().find("at most 262144"), std::string::npos);
  std::string many = R"({"keys":[)";
  for (size_t i = 0; i <= kMaxJwksKeys; ++i) many += std::string(i ? "," : "") + kNodeVectors[3].jwk;
  many += "]}";
  EXPECT_EQ(ParseJwks(many).status().message(), "the JWKS has 101 keys (at most 100)");
  // Deep nesting stops at the parser's depth cap.
  std::string deep = R"({"keys":[],"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(ParseJwks(deep).ok());
}

TEST(JwtPolicy, ValidatesAtDeployNamingTheField) {
  EXPECT_TRUE(ValidateJwtPolicy(Policy(), nullptr).ok());
  JwtPolicy policy = Policy();
  policy.algorithms.clear();
  EXPECT_EQ(ValidateJwtPolicy(policy, nullptr).message(),
            "jwt.algorithms: list at least one of RS256, ES256, EdDSA, HS256");
  policy = Policy();
  policy.clock_skew_s = 601;
  EXPECT_EQ(ValidateJwtPolicy(policy, nullptr).message(), "jwt.clock_skew: 601 s is outside 0 to 600 s");
  policy = Policy({JwtAlg::kES256});
  JwtKeySet keys = KeysOf(TestKeys().rsa.get());
  EXPECT_EQ(ValidateJwtPolicy(policy, &keys).message(),
            "jwt.keys: key 1 verifies RS256, which jwt.algorithms does not list");
  policy.required_claims = {""};
  EXPECT_EQ(ValidateJwtPolicy(policy, nullptr).message(), "jwt.required_claims: an empty claim name");
}

TEST(JwtBearer, ReadsTheTokenAndWritesTheChallenge) {
  EXPECT_EQ(BearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(BearerToken("bearer   abc.def.ghi  "), "abc.def.ghi");
  EXPECT_EQ(BearerToken("BEARER\tx"), "x");
  EXPECT_EQ(BearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken("Bearerx abc"), "");
  EXPECT_EQ(BearerToken("Bearer a b"), "");
  EXPECT_EQ(BearerChallenge("api", nullptr), "Bearer realm=\"api\"");
  JwtResult result;
  result.failure = JwtFailure::kExpired;
  result.reason = "the token expired at 1 (now 2, clock skew 0 s)";
  EXPECT_EQ(BearerChallenge("a\"pi", &result),
            "Bearer realm=\"a?pi\", error=\"invalid_token\", error_description=\"the token expired at 1 "
            "(now 2, clock skew 0 s)\"");
  EXPECT_EQ(JwtFailureName(JwtFailure::kExpired), "expired");
}

TEST(Base64Url, IsStrict) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base::Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*base::Base64UrlDecode("YQ"), "a");
  EXPECT_FALSE(base::Base64UrlDecode("YR").ok());   // bits that encode nothing
  EXPECT_FALSE(base::Base64UrlDecode("YQ==").ok());  // padding
  EXPECT_FALSE(base::Base64UrlDecode("Y").ok());
  EXPECT_FALSE(base::Base64UrlDecode("+/8").ok());
  EXPECT_EQ(base::Base64Encode("\xfb\xff"), "+/8=");
}

// A JWKS server that answers when the test says so.
struct FakeJwks {
  std::string body;
  int fetches = 0;
  bool hold = false;
  std::vector<std::function<void(StatusOr<std::string>)>> held;
  JwksFetch Fetch() {
    return [this](const std::string& url, std::function<void(StatusOr<std::string>)> done) {
      ++fetches;
      EXPECT_EQ(url, "https://issuer.example/jwks");
      if (hold) {
        held.push_back(std::move(done));
      } else if (body.empty()) {
        done(Status(ErrorCode::kIo, "connection refused"));
      } else {
        done(body);
      }
    };
  }
};

std::string JwksOf(const std::vector<std::pair<EVP_PKEY*, std::string>>& keys) {
  // Ed25519 JWKs from the raw public key.
  std::string out = R"({"keys":[)";
  for (size_t i = 0; i < keys.size(); ++i) {
    unsigned char raw[32];
    size_t length = sizeof(raw);
    EVP_PKEY_get_raw_public_key(keys[i].first, raw, &length);
    out += std::string(i ? "," : "") + R"({"kty":"OKP","crv":"Ed25519","use":"sig","alg":"EdDSA","kid":")" +
           keys[i].second + R"(","x":")" + Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), length)) +
           "\"}";
  }
  return out + "]}";
}

JwtResult VerifyNow(const std::string& token, std::shared_ptr<const JwtPolicy> policy,
                    const std::shared_ptr<JwksCache>& cache) {
  std::optional<JwtResult> out;
  VerifyJwtWithJwks(token, std::move(policy), cache, [&](JwtResult result) { out = std::move(result); });
  EXPECT_TRUE(out.has_value()) << "the callback did not run at once";
  return out.value_or(JwtResult{});
}

TEST(JwksCache, RefreshesOnAnUnknownKidAtMostOnceAMinute) {
  int64_t now = kNow;
  auto policy = std::make_shared<JwtPolicy>(Policy({JwtAlg::kEdDSA}));
  policy->clock = [&now] { return now; };
  policy->required_claims.clear();
  Pkey old_key = Generate("ED25519");
  Pkey new_key = Generate("ED25519");
  FakeJwks server;
  server.body = JwksOf({{old_key.get(), "2023"}});
  auto cache = JwksCache::Create(
      {.url = "https://issuer.example/jwks", .fetch = server.Fetch(), .clock = [&now] { return now; }});
  const char* claims = R"({"iss":"https://issuer.example","aud":"api","exp":1700009999})";
  std::string old_token = Token(R"({"alg":"EdDSA","kid":"2023"})", claims, old_key.get());
  std::string new_token = Token(R"({"alg":"EdDSA","kid":"2024"})", claims, new_key.get());

  // The first token fetches the set; the next ones use the cache.
  EXPECT_TRUE(VerifyNow(old_token, policy, cache).ok());
  EXPECT_TRUE(VerifyNow(old_token, policy, cache).ok());
  EXPECT_EQ(server.fetches, 1);

  // The issuer rotates: a token with the new kid fetches the set again
  // (the last fetch was over a minute ago).
  now += 61;
  server.body = JwksOf({{old_key.get(), "2023"}, {new_key.get(), "2024"}});
  JwtResult rotated = VerifyNow(new_token, policy, cache);
  EXPECT_TRUE(rotated.ok()) << rotated.reason;
  EXPECT_EQ(server.fetches, 2);

  // Unknown kids within the minute cost no fetch: refused at once.
  std::string forged = Token(R"({"alg":"EdDSA","kid":"2025"})", claims, old_key.get());
  for (int i = 0; i < 100; ++i) {
    now += i % 2;
    EXPECT_EQ(VerifyNow(forged, policy, cache).failure, JwtFailure::kUnknownKey);
  }
  EXPECT_LT(now, kNow + 61 + 60);
  EXPECT_EQ(server.fetches, 2);
  // A minute after the last fetch, the next unknown kid fetches again.
  now = kNow + 61 + 60;
  EXPECT_EQ(VerifyNow(forged, policy, cache).failure, JwtFailure::kUnknownKey);
  EXPECT_EQ(server.fetches, 3);
  EXPECT_EQ(VerifyNow(forged, policy, cache).failure, JwtFailure::kUnknownKey);
  EXPECT_EQ(server.fetches, 3);
  // Malformed tokens and refused algorithms never fetch.
  now += 600;
  EXPECT_EQ(VerifyNow("a.b", policy, cache).failure, JwtFailure::kMalformed);
  EXPECT_EQ(VerifyNow(Token(R"({"alg":"ES256","kid":"x"})", claims, TestKeys().ec.get()), policy, cache).failure,
            JwtFailure::kAlgNotAllowed);
  EXPECT_EQ(server.fetches, 3);
}

TEST(JwksCache, OneFetchServesEveryWaiterAndFailuresKeepTheOldSet) {
  int64_t now = kNow;
  auto policy = std::make_shared<JwtPolicy>(Policy({JwtAlg::kEdDSA}));
  policy->required_claims.clear();
  Pkey key = Generate("ED25519");
  FakeJwks server;
  server.hold = true;
  auto cache = JwksCache::Create({.url = "https://issuer.example/jwks",
                                  .fetch = server.Fetch(),
                                  .clock = [&now] { return now; },
                                  .max_waiters = 3});
  const char* claims = R"({"iss":"https://issuer.example","aud":"api","exp":1700009999})";
  std::string token = Token(R"({"alg":"EdDSA","kid":"k"})", claims, key.get());
  std::vector<JwtResult> results;
  for (int i = 0; i < 5; ++i) {
    VerifyJwtWithJwks(token, policy, cache, [&](JwtResult result) { results.push_back(std::move(result)); });
  }
  // Three wait for the one fetch; the two over max_waiters are answered
  // at once, without keys.
  EXPECT_EQ(server.fetches, 1);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].failure, JwtFailure::kKeysUnavailable);
  EXPECT_EQ(results[0].reason, "the signing keys are unavailable: the JWKS is being fetched");
  ASSERT_EQ(server.held.size(), 1u);
  server.held[0](JwksOf({{key.get(), "k"}}));
  ASSERT_EQ(results.size(), 5u);
  for (int i = 2; i < 5; ++i) EXPECT_TRUE(results[i].ok()) << results[i].reason;

  // A failed or unparsable refresh keeps the set it had.
  server.hold = false;
  server.body = "not json";
  now += 3600;  // stale: refetched behind the caller's back, served meanwhile
  EXPECT_TRUE(VerifyNow(token, policy, cache).ok());
  EXPECT_EQ(server.fetches, 2);
  EXPECT_EQ(cache->GetStats().failures, 1u);
  EXPECT_NE(cache->GetStats().last_error.find("could not be used: the keys are not JSON"), std::string::npos)
      << cache->GetStats().last_error;
  EXPECT_TRUE(VerifyNow(token, policy, cache).ok());
  ASSERT_TRUE(cache->Current());
}

TEST(JwksCache, ANodeThatNeverGotKeysRefusesWithTheReason) {
  int64_t now = kNow;
  auto policy = std::make_shared<JwtPolicy>(Policy({JwtAlg::kEdDSA}));
  FakeJwks server;  // refuses connections
  auto cache = JwksCache::Create(
      {.url = "https://issuer.example/jwks", .fetch = server.Fetch(), .clock = [&now] { return now; }});
  std::string token = Token(R"({"alg":"EdDSA","kid":"k"})", kClaims, TestKeys().ed.get());
  JwtResult result = VerifyNow(token, policy, cache);
  EXPECT_EQ(result.failure, JwtFailure::kKeysUnavailable);
  EXPECT_EQ(result.reason,
            "the signing keys are unavailable: the JWKS at https://issuer.example/jwks could not be used: "
            "connection refused");
  // Within the minute: the same answer, no new fetch.
  EXPECT_EQ(VerifyNow(token, policy, cache).failure, JwtFailure::kKeysUnavailable);
  EXPECT_EQ(server.fetches, 1);
  // An oversized body is refused as a JWKS.
  now += 60;
  server.body = std::string(kMaxJwksBytes + 1, ' ');
  EXPECT_NE(VerifyNow(token, policy, cache).reason.find("(at most 262144)"), std::string::npos);
  EXPECT_EQ(server.fetches, 2);
}

}  // namespace
}  // namespace edge::gateway
