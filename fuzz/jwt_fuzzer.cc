// The JWT verifier (gateway/policy/jwt.h): a bearer token from anyone on
// the network, and the keys a JWKS URL serves.
//
// Byte 0: 0-127, the rest is a token verified against a policy allowing
// every algorithm, with a fixed HS256 secret ("edge-fuzz-secret-of-32-bytes!!!!"
// under kid "h") and a fixed Ed25519 key (kid "e"); 128-191, the rest is a
// fetched JWKS (ParseJwks); 192-255, inline keys (ParseJwtKeys).
//
// Checked: a refusal has a failure and a reason in printable ASCII without
// double quotes or backslashes (it goes into WWW-Authenticate as is), and
// its challenge is one header value; a token over 16 KiB is refused as
// too large; a verified token's claims are the JSON it signed and its alg
// one the policy allows; key sets hold at most 100 keys, each with the key
// material of its algorithm.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "gateway/policy/jwt.h"

using namespace edge::gateway;

namespace {

const JwtKeySet& Keys() {
  static const JwtKeySet keys = [] {
    JwtKeySet set;
    set.keys.push_back(*JwtHmacKey("edge-fuzz-secret-of-32-bytes!!!!", "h"));
    auto ed = ParseJwtKeys(
        R"({"kty":"OKP","crv":"Ed25519","kid":"e","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})");
    FUZZ_CHECK(ed.ok(), "the fixed Ed25519 key does not parse");
    set.keys.push_back(ed->keys[0]);
    return set;
  }();
  return keys;
}

void CheckKeys(edge::StatusOr<JwtKeySet> keys) {
  if (!keys.ok()) {
    FUZZ_CHECK(!keys.status().message().empty(), "a key error without a message");
    FUZZ_NOTE("refused: %s", keys.status().message().c_str());
    return;
  }
  FUZZ_CHECK(!keys->keys.empty() && keys->keys.size() <= kMaxJwksKeys, "a key set out of bounds");
  for (const JwtKey& key : keys->keys) {
    FUZZ_CHECK((key.alg == JwtAlg::kHS256) == (key.pkey == nullptr), "a key without its material");
    FUZZ_CHECK(key.alg != JwtAlg::kHS256 || key.secret.size() >= kMinHmacKeyBytes, "a short HMAC key");
  }
  FUZZ_NOTE("accepted %zu keys, skipped %zu", keys->keys.size(), keys->skipped.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] >= 192) {
    CheckKeys(ParseJwtKeys(rest));
    return 0;
  }
  if (data[0] >= 128) {
    CheckKeys(ParseJwks(rest));
    return 0;
  }
  JwtPolicy policy;
  policy.algorithms = {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA, JwtAlg::kHS256};
  policy.required_claims.clear();
  policy.clock = [] { return int64_t{1700000000}; };
  JwtResult result = VerifyJwt(rest, policy, Keys());
  if (result.ok()) {
    FUZZ_CHECK(result.reason.empty(), "a verified token with a reason");
    FUZZ_CHECK(!result.token.claims_json.empty() && result.token.claims_json.find('{') != std::string::npos,
               "verified claims that are not an object");
    FUZZ_NOTE("verified, alg %s", std::string(JwtAlgName(result.token.alg)).c_str());
    return 0;
  }
  FUZZ_CHECK(!result.reason.empty(), "a refusal without a reason");
  for (char c : result.reason) {
    FUZZ_CHECK(c >= 0x20 && c < 0x7f && c != '"' && c != '\\', "a reason that cannot be quoted as is");
  }
  if (rest.size() > kMaxJwtBytes) FUZZ_CHECK(result.failure == JwtFailure::kTooLarge, "a large token was read");
  std::string challenge = BearerChallenge("api", &result);
  FUZZ_CHECK(challenge.find_first_of("\r\n") == std::string::npos, "a challenge with a line break");
  FUZZ_NOTE("refused (%s): %s", std::string(JwtFailureName(result.failure)).c_str(), result.reason.c_str());
  return 0;
}
