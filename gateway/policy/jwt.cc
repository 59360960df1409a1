// Verifying a compact JWS (RFC 7515 section 7.1) and its JWT claims
// (RFC 7519 section 4.1) for the gateway's `jwt` policy.
#include "gateway/policy/jwt.h"

#include <fmt/core.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "base/ascii.h"
#include "base/base64.h"

namespace edge::gateway {
namespace {

using MdCtx = base::OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EcdsaSig = base::OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free>;

const unsigned char* U(std::string_view bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

bool Refuse(JwtResult& result, JwtFailure failure, std::string reason) {
  result.failure = failure;
  result.reason = std::move(reason);
  return false;
}

JwtResult Refused(JwtFailure failure, std::string reason) {
  JwtResult result;
  Refuse(result, failure, std::move(reason));
  return result;
}

// `text` as it may be quoted in a reason: printable ASCII without double
// quotes or backslashes (RFC 6750's error_description characters), at most
// `limit` characters.
std::string Quote(std::string_view text, size_t limit = 64) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    out.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '?');
  }
  if (text.size() > limit) out += "...";
  return out;
}

// One part of the token, base64url-decoded; `what` names it in the reason.
bool DecodePart(std::string_view part, const char* what, std::string& out, JwtResult& result) {
  if (part.empty()) return Refuse(result, JwtFailure::kMalformed, fmt::format("the {} is empty", what));
  auto decoded = base::Base64UrlDecode(part);
  if (!decoded.ok()) {
    return Refuse(result, JwtFailure::kMalformed,
                  fmt::format("the {} is not base64url ({})", what,
                              Quote(decoded.status().message())));
  }
  out = std::move(decoded).value();
  return true;
}

// Parses `json` as a JSON object whose members are all distinct (RFC 7515
// 5.2: a parser must refuse duplicate header parameters, and the claims'
// first and last duplicates would differ between the gateway and the
// worker's JSON.parse).
bool ParseObject(simdjson::dom::parser& parser, const std::string& json, const char* what,
                 simdjson::dom::object& object, JwtResult& result) {
  simdjson::dom::element root;
  if (auto error = parser.parse(json).get(root); error != simdjson::SUCCESS) {
    return Refuse(result, JwtFailure::kMalformed,
                  fmt::format("the {} is not JSON ({})", what, simdjson::error_message(error)));
  }
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return Refuse(result, JwtFailure::kMalformed, fmt::format("the {} is not a JSON object", what));
  }
  std::set<std::string_view> names;
  for (auto field : object) {
    if (!names.insert(field.key).second) {
      return Refuse(result, JwtFailure::kMalformed,
                    fmt::format("the {} has '{}' twice", what, Quote(field.key)));
    }
  }
  return true;
}

// This thread's parser, sized once for the largest token: a header and
// claims fit in it without a new allocation.
simdjson::dom::parser* ThreadParser() {
  thread_local simdjson::dom::parser parser;
  thread_local bool ready = parser.allocate(kMaxJwtBytes, kMaxJwtJsonDepth) == simdjson::SUCCESS;
  return ready ? &parser : nullptr;
}

bool AlgAllowed(const JwtPolicy& policy, JwtAlg alg) {
  return std::find(policy.algorithms.begin(), policy.algorithms.end(), alg) !=
         policy.algorithms.end();
}

// r || s (32 bytes each) as the DER ECDSA-Sig-Value OpenSSL verifies; ""
// when the signature is not 64 bytes.
std::string EcdsaDer(std::string_view raw) {
  if (raw.size() != 64) return {};
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(U(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(U(raw) + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

// Whether `signature` is `key`'s over `input`. The key's type decides the
// algorithm: the caller matched it to the token's "alg".
bool SignatureValid(const JwtKey& key, std::string_view input, std::string_view signature) {
  if (key.alg == JwtAlg::kHS256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()), U(input),
             input.size(), mac, &length) == nullptr) {
      return false;
    }
    return signature.size() == length && CRYPTO_memcmp(mac, signature.data(), length) == 0;
  }
  std::string der;
  if (key.alg == JwtAlg::kES256) {
    der = EcdsaDer(signature);
    if (der.empty()) return false;
    signature = der;
  }
  MdCtx ctx(EVP_MD_CTX_new());
  const EVP_MD* md = key.alg == JwtAlg::kEdDSA ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.pkey.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  bool valid = EVP_DigestVerify(ctx.get(), U(signature), signature.size(), U(input), input.size()) == 1;
  ERR_clear_error();
  return valid;
}

// A NumericDate claim (RFC 7519 2): a JSON number, possibly with a
// fraction.
std::optional<double> NumericDate(simdjson::dom::element value) {
  double number = 0;
  if (!value.is_number() || value.get_double().get(number) != simdjson::SUCCESS ||
      !std::isfinite(number)) {
    return std::nullopt;
  }
  return number;
}

std::string Seconds(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);
}

bool CheckClaims(simdjson::dom::object claims, const JwtPolicy& policy, JwtResult& result) {
  for (const std::string& name : policy.required_claims) {
    simdjson::dom::element ignored;
    if (claims.at_key(name).get(ignored) != simdjson::SUCCESS) {
      return Refuse(result, JwtFailure::kMissingClaim,
                    fmt::format("the token has no '{}' claim, which is required", Quote(name)));
    }
  }
  int64_t now = policy.clock ? policy.clock() : SystemSeconds();
  double skew = static_cast<double>(policy.clock_skew_s);
  double at = static_cast<double>(now);
  simdjson::dom::element value;
  if (claims.at_key("exp").get(value) == simdjson::SUCCESS) {
    auto exp = NumericDate(value);
    if (!exp) return Refuse(result, JwtFailure::kBadClaim, "the 'exp' claim is not a number");
    if (at >= *exp + skew) {
      return Refuse(result, JwtFailure::kExpired,
                    fmt::format("the token expired at {} (now {}, clock skew {} s)", Seconds(*exp),
                                now, policy.clock_skew_s));
    }
  }
  if (claims.at_key("nbf").get(value) == simdjson::SUCCESS) {
    auto nbf = NumericDate(value);
    if (!nbf) return Refuse(result, JwtFailure::kBadClaim, "the 'nbf' claim is not a number");
    if (at + skew < *nbf) {
      return Refuse(result, JwtFailure::kNotYetValid,
                    fmt::format("the token is not valid before {} (now {}, clock skew {} s)",
                                Seconds(*nbf), now, policy.clock_skew_s));
    }
  }
  if (claims.at_key("iat").get(value) == simdjson::SUCCESS) {
    auto iat = NumericDate(value);
    if (!iat) return Refuse(result, JwtFailure::kBadClaim, "the 'iat' claim is not a number");
    if (*iat > at + skew) {
      return Refuse(result, JwtFailure::kIssuedInFuture,
                    fmt::format("the token was issued in the future, at {} (now {}, clock skew {} s)",
                                Seconds(*iat), now, policy.clock_skew_s));
    }
  }
  if (!policy.issuer.empty()) {
    std::string_view iss;
    if (claims.at_key("iss").get(value) != simdjson::SUCCESS) {
      return Refuse(result, JwtFailure::kWrongIssuer, "the token has no 'iss' claim");
    }
    if (value.get_string().get(iss) != simdjson::SUCCESS) {
      return Refuse(result, JwtFailure::kBadClaim, "the 'iss' claim is not a string");
    }
    if (iss != policy.issuer) {
      return Refuse(result, JwtFailure::kWrongIssuer,
                    fmt::format("the token's issuer {} is not the expected {}", Quote(iss),
                                Quote(policy.issuer)));
    }
  }
  if (!policy.audiences.empty()) {
    if (claims.at_key("aud").get(value) != simdjson::SUCCESS) {
      return Refuse(result, JwtFailure::kWrongAudience, "the token has no 'aud' claim");
    }
    std::vector<std::string_view> audiences;
    std::string_view single;
    simdjson::dom::array array;
    if (value.get_string().get(single) == simdjson::SUCCESS) {
      audiences.push_back(single);
    } else if (value.get_array().get(array) == simdjson::SUCCESS) {
      for (simdjson::dom::element item : array) {
        if (item.get_string().get(single) != simdjson::SUCCESS) {
          return Refuse(result, JwtFailure::kBadClaim, "the 'aud' claim has a non-string item");
        }
        audiences.push_back(single);
      }
    } else {
      return Refuse(result, JwtFailure::kBadClaim,
                    "the 'aud' claim is neither a string nor an array of strings");
    }
    bool found = false;
    for (std::string_view audience : audiences) {
      found = found || std::find(policy.audiences.begin(), policy.audiences.end(), audience) !=
                           policy.audiences.end();
    }
    if (!found) {
      return Refuse(result, JwtFailure::kWrongAudience,
                    fmt::format("the token's audience {} names none of the expected ones",
                                audiences.empty() ? std::string("[]") : Quote(audiences.front())));
    }
  }
  std::string_view subject;
  if (claims.at_key("sub").get(value) == simdjson::SUCCESS &&
      value.get_string().get(subject) == simdjson::SUCCESS) {
    result.token.subject = std::string(subject);
  }
  return true;
}

}  // namespace

std::string_view JwtFailureName(JwtFailure failure) {
  switch (failure) {
    case JwtFailure::kNone: return "none";
    case JwtFailure::kMalformed: return "malformed";
    case JwtFailure::kTooLarge: return "too_large";
    case JwtFailure::kAlgNone: return "alg_none";
    case JwtFailure::kAlgNotAllowed: return "alg_not_allowed";
    case JwtFailure::kUnknownKey: return "unknown_key";
    case JwtFailure::kBadSignature: return "bad_signature";
    case JwtFailure::kExpired: return "expired";
    case JwtFailure::kNotYetValid: return "not_yet_valid";
    case JwtFailure::kIssuedInFuture: return "issued_in_future";
    case JwtFailure::kWrongIssuer: return "wrong_issuer";
    case JwtFailure::kWrongAudience: return "wrong_audience";
    case JwtFailure::kMissingClaim: return "missing_claim";
    case JwtFailure::kBadClaim: return "bad_claim";
    case JwtFailure::kKeysUnavailable: return "keys_unavailable";
  }
  return "unknown";
}

Status ValidateJwtPolicy(const JwtPolicy& policy, const JwtKeySet* keys) {
  auto invalid = [](std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); };
  if (policy.algorithms.empty()) {
    return invalid("jwt.algorithms: list at least one of RS256, ES256, EdDSA, HS256");
  }
  if (policy.clock_skew_s < 0 || policy.clock_skew_s > kMaxClockSkew) {
    return invalid(fmt::format("jwt.clock_skew: {} s is outside 0 to {} s", policy.clock_skew_s,
                               kMaxClockSkew));
  }
  for (const std::string& claim : policy.required_claims) {
    if (claim.empty()) return invalid("jwt.required_claims: an empty claim name");
  }
  for (const std::string& audience : policy.audiences) {
    if (audience.empty()) return invalid("jwt.audiences: an empty audience");
  }
  if (keys == nullptr) return Status::Ok();
  if (keys->keys.empty()) return invalid("jwt.keys: no key");
  for (size_t i = 0; i < keys->keys.size(); ++i) {
    if (!AlgAllowed(policy, keys->keys[i].alg)) {
      return invalid(fmt::format("jwt.keys: key {} verifies {}, which jwt.algorithms does not list",
                                 i + 1, JwtAlgName(keys->keys[i].alg)));
    }
  }
  return Status::Ok();
}

bool ParseJwt(std::string_view token, const JwtPolicy& policy, ParsedJwt& parsed,
              JwtResult& result) {
  if (token.size() > kMaxJwtBytes) {
    return Refuse(result, JwtFailure::kTooLarge,
                  fmt::format("the token is {} bytes (at most {})", token.size(), kMaxJwtBytes));
  }
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Refuse(result, JwtFailure::kMalformed,
                  "the token is not three base64url parts joined by dots (a compact JWS)");
  }
  std::string_view header_part = token.substr(0, first);
  std::string_view payload_part = token.substr(first + 1, second - first - 1);
  std::string_view signature_part = token.substr(second + 1);
  if (!DecodePart(header_part, "header", parsed.header_json, result) ||
      !DecodePart(payload_part, "payload", parsed.claims_json, result)) {
    return false;
  }
  if (signature_part.empty()) {
    return Refuse(result, JwtFailure::kMalformed, "the token has no signature");
  }
  if (!DecodePart(signature_part, "signature", parsed.signature, result)) return false;
  simdjson::dom::parser* parser = ThreadParser();
  if (parser == nullptr) return Refuse(result, JwtFailure::kMalformed, "out of memory");
  simdjson::dom::object header;
  if (!ParseObject(*parser, parsed.header_json, "header", header, result)) return false;
  simdjson::dom::element value;
  std::string_view alg_name;
  if (header.at_key("alg").get(value) != simdjson::SUCCESS ||
      value.get_string().get(alg_name) != simdjson::SUCCESS) {
    return Refuse(result, JwtFailure::kMalformed, "the header has no 'alg' string");
  }
  if (base::EqualsIgnoreCase(alg_name, "none")) {
    return Refuse(result, JwtFailure::kAlgNone, "unsigned tokens ('alg': 'none') are refused");
  }
  auto alg = JwtAlgNamed(alg_name);
  if (!alg || !AlgAllowed(policy, *alg)) {
    return Refuse(result, JwtFailure::kAlgNotAllowed,
                  fmt::format("the algorithm {} is not allowed", Quote(alg_name)));
  }
  parsed.alg = *alg;
  if (header.at_key("crit").get(value) == simdjson::SUCCESS) {
    return Refuse(result, JwtFailure::kMalformed,
                  "the header has 'crit' extensions, which edge does not understand");
  }
  std::string_view text;
  if (header.at_key("typ").get(value) == simdjson::SUCCESS) {
    if (value.get_string().get(text) != simdjson::SUCCESS ||
        !(base::EqualsIgnoreCase(text, "JWT") || base::EqualsIgnoreCase(text, "at+jwt") ||
          base::EqualsIgnoreCase(text, "application/at+jwt"))) {
      return Refuse(result, JwtFailure::kMalformed, "the header's 'typ' is not JWT");
    }
  }
  parsed.kid.clear();
  if (header.at_key("kid").get(value) == simdjson::SUCCESS) {
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      return Refuse(result, JwtFailure::kMalformed, "the header's 'kid' is not a string");
    }
    parsed.kid = std::string(text);
  }
  simdjson::dom::object claims;
  if (!ParseObject(*parser, parsed.claims_json, "payload", claims, result)) return false;
  parsed.signing_input = std::string(token.substr(0, second));
  return true;
}

JwtResult VerifyParsedJwt(const ParsedJwt& parsed, const JwtPolicy& policy,
                          const JwtKeySet& keys) {
  std::vector<const JwtKey*> candidates;
  for (const JwtKey& key : keys.keys) {
    if (key.alg != parsed.alg) continue;
    if (!parsed.kid.empty() && key.kid != parsed.kid) continue;
    candidates.push_back(&key);
  }
  if (candidates.empty()) {
    return Refused(JwtFailure::kUnknownKey,
                   parsed.kid.empty()
                       ? fmt::format("no {} key is configured", JwtAlgName(parsed.alg))
                       : fmt::format("no {} key has the token's kid {}", JwtAlgName(parsed.alg),
                                     Quote(parsed.kid)));
  }
  if (parsed.kid.empty() && candidates.size() > kMaxKeysTriedWithoutKid) {
    return Refused(JwtFailure::kUnknownKey,
                   fmt::format("the token has no kid and {} keys could verify it (at most {} are "
                               "tried)",
                               candidates.size(), kMaxKeysTriedWithoutKid));
  }
  bool valid = false;
  for (const JwtKey* key : candidates) {
    if (SignatureValid(*key, parsed.signing_input, parsed.signature)) {
      valid = true;
      break;
    }
  }
  if (!valid) return Refused(JwtFailure::kBadSignature, "the signature does not verify");
  // Parsed again: ParseJwt's DOM does not outlive it (the thread's parser
  // may have served another token since, on a JWKS fetch's thread).
  simdjson::dom::parser* parser = ThreadParser();
  simdjson::dom::object claims;
  JwtResult result;
  if (parser == nullptr) return Refused(JwtFailure::kMalformed, "out of memory");
  if (!ParseObject(*parser, parsed.claims_json, "payload", claims, result) ||
      !CheckClaims(claims, policy, result)) {
    return result;
  }
  result.token.claims_json = parsed.claims_json;
  result.token.kid = parsed.kid;
  result.token.alg = parsed.alg;
  return result;
}

JwtResult VerifyJwt(std::string_view token, const JwtPolicy& policy, const JwtKeySet& keys) {
  ParsedJwt parsed;
  JwtResult result;
  if (!ParseJwt(token, policy, parsed, result)) return result;
  return VerifyParsedJwt(parsed, policy, keys);
}

std::string_view BearerToken(std::string_view authorization) {
  authorization = authorization.substr(std::min(authorization.find_first_not_of(" \t"),
                                                authorization.size()));
  if (authorization.size() < 7 || !base::EqualsIgnoreCase(authorization.substr(0, 6), "bearer") ||
      (authorization[6] != ' ' && authorization[6] != '\t')) {
    return {};
  }
  std::string_view token = authorization.substr(7);
  size_t begin = token.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  token = token.substr(begin);
  size_t end = token.find_last_not_of(" \t");
  token = token.substr(0, end + 1);
  // b64token (RFC 6750 2.1): no spaces inside.
  if (token.find_first_of(" \t,") != std::string_view::npos) return {};
  return token;
}

std::string BearerChallenge(std::string_view realm, const JwtResult* result) {
  std::string out = "Bearer realm=\"" + Quote(realm, 256) + "\"";
  if (result != nullptr && !result->ok()) {
    out += ", error=\"invalid_token\", error_description=\"" + Quote(result->reason, 512) + "\"";
  }
  return out;
}

}  // namespace edge::gateway
