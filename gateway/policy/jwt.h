// The gateway's JWT verifier: a compact JWS (RFC 7515) signed with RS256,
// ES256, EdDSA (Ed25519) or HS256 (RFC 7518, RFC 8037), checked against a
// route's `jwt` policy (issuer, audiences, algorithms, keys, clock skew,
// required claims) before any isolate is entered. Keys come inline (PEM, a
// JWK or a JWKS) or from a JWKS URL through `JwksCache` (jwt_jwks.h).
//
// Use:
//   auto keys = ParseJwtKeys(config_text);          // at deploy: errors name the key
//   JwtPolicy policy{.issuer = ..., .audiences = {...}, .algorithms = {...}};
//   EDGE_RETURN_IF_ERROR(ValidateJwtPolicy(policy, &*keys));
//   JwtResult result = VerifyJwt(token, policy, *keys);
//   if (!result.ok()) -> 401, BearerChallenge(result), result.reason
//   else              -> result.token.claims_json to the worker
//
// Everything here is synchronous, allocation-bounded (a token is at most
// 16 KiB) and safe to call from any thread: a JwtKeySet is immutable once
// built.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/openssl_ptr.h"
#include "base/status.h"

namespace edge::gateway {

// The signature algorithms a policy may allow ("alg" of RFC 7518 and 8037).
enum class JwtAlg { kRS256, kES256, kEdDSA, kHS256 };

// "RS256", "ES256", "EdDSA", "HS256".
std::string_view JwtAlgName(JwtAlg alg);
// The algorithm named `name` (case-sensitive, as JOSE's names are), or
// nothing: "none" and every other algorithm are not supported.
std::optional<JwtAlg> JwtAlgNamed(std::string_view name);

// The caps (docs/security.md).
inline constexpr size_t kMaxJwtBytes = 16 * 1024;       // the whole compact token
inline constexpr size_t kMaxJwtJsonDepth = 32;          // header and claims nesting
inline constexpr int kMinRsaBits = 2048;                // RS256 keys
inline constexpr int kMaxRsaBits = 8192;                // verify cost grows with the modulus
inline constexpr size_t kMinHmacKeyBytes = 32;          // HS256 secrets (RFC 7518 3.2)
inline constexpr size_t kMaxKeysTriedWithoutKid = 8;    // a token without "kid"

// A verification key: its type fixes the one algorithm it can verify, so an
// RSA public key is never used as an HMAC secret (algorithm confusion).
struct JwtKey {
  JwtAlg alg = JwtAlg::kRS256;  // RSA -> RS256, P-256 -> ES256, Ed25519 -> EdDSA, oct -> HS256
  std::string kid;              // "" when the key has none
  std::shared_ptr<EVP_PKEY> pkey;  // the public key (RS256, ES256, EdDSA)
  std::string secret;              // the HMAC secret (HS256)
};

// An immutable set of keys (a policy's inline keys, or one fetch of a JWKS).
struct JwtKeySet {
  std::vector<JwtKey> keys;
  // Keys of a JWKS left out because edge cannot use them (another kty or
  // curve, "use": "enc", an algorithm not listed above), with the reason:
  // shown by the caller's diagnostics, never an error by themselves.
  std::vector<std::string> skipped;
};

// The caps on a JWKS (docs/security.md).
inline constexpr size_t kMaxJwksBytes = 256 * 1024;
inline constexpr size_t kMaxJwksKeys = 100;

// Parses keys given inline in a policy: one or more PEM public keys
// (SubjectPublicKeyInfo "PUBLIC KEY", or PKCS #1 "RSA PUBLIC KEY"), a JWK
// (an object with "kty") or a JWKS (an object with "keys"). Inline keys are
// strict: a key edge cannot use is an error naming it (keys[2]: ...), as is
// a private key (give the public key). `kid` names PEM keys, which carry
// none.
StatusOr<JwtKeySet> ParseJwtKeys(std::string_view text, std::string_view kid = {});

// Parses a JWKS document fetched from a URL: at most kMaxJwksBytes and
// kMaxJwksKeys; keys edge cannot use are skipped (JwtKeySet::skipped), and a
// set with no usable key is an error.
StatusOr<JwtKeySet> ParseJwks(std::string_view json);

// An HS256 key from raw secret bytes (a worker's secret, say): at least
// kMinHmacKeyBytes.
StatusOr<JwtKey> JwtHmacKey(std::string_view secret, std::string_view kid = {});

// The seconds since the Unix epoch, now; tests pass their own.
using JwtClock = std::function<int64_t()>;
int64_t SystemSeconds();

// A route's `jwt` policy, as the framework reads it from the config.
struct JwtPolicy {
  // The "iss" the token must carry, compared exactly; "" accepts any.
  std::string issuer;
  // The token's "aud" (a string or an array of strings) must name at least
  // one of these; empty accepts any.
  std::vector<std::string> audiences;
  // The algorithms accepted; a token whose "alg" is not listed is refused
  // before any key is looked at.
  std::vector<JwtAlg> algorithms;
  // Leeway for "exp", "nbf" and "iat", in seconds (at most kMaxClockSkew).
  int64_t clock_skew_s = 60;
  // Claims that must be present (any JSON value). "exp" by default: a token
  // that never expires is refused unless the policy clears this list.
  std::vector<std::string> required_claims = {"exp"};
  JwtClock clock = SystemSeconds;
};

inline constexpr int64_t kMaxClockSkew = 600;

// Checks a policy at deploy: at least one algorithm, a skew from 0 to
// kMaxClockSkew, required claim names non-empty; with inline `keys`, every
// key's algorithm is among the policy's and at least one key is usable.
// Errors name the field ("jwt.algorithms: ...").
Status ValidateJwtPolicy(const JwtPolicy& policy, const JwtKeySet* keys);

// Why a token was refused; each has a reason string in JwtResult.
enum class JwtFailure {
  kNone = 0,
  kMalformed,          // not three base64url parts of JSON objects, duplicate members, ...
  kTooLarge,           // over kMaxJwtBytes
  kAlgNone,            // "alg": "none" (never accepted)
  kAlgNotAllowed,      // an algorithm the policy does not list, or edge does not support
  kUnknownKey,         // no key with the token's "kid" (a JWKS is refreshed once on this)
  kBadSignature,       // no key verified the signature
  kExpired,            // now > exp + skew
  kNotYetValid,        // now < nbf - skew
  kIssuedInFuture,     // iat > now + skew
  kWrongIssuer,        // iss missing or not the policy's
  kWrongAudience,      // aud missing or naming none of the policy's
  kMissingClaim,       // a required claim is absent
  kBadClaim,           // exp/nbf/iat not a number, iss not a string, aud not strings
  kKeysUnavailable,    // the JWKS could not be fetched (JwksCache)
};

// A short name for metrics and logs ("expired", "bad_signature", ...).
std::string_view JwtFailureName(JwtFailure failure);

struct VerifiedJwt {
  // The token's claims as signed: a JSON object in UTF-8, for the worker.
  std::string claims_json;
  std::string subject;  // "sub" when it is a string, else ""
  std::string kid;      // the header's "kid", or ""
  JwtAlg alg = JwtAlg::kRS256;
};

struct JwtResult {
  JwtFailure failure = JwtFailure::kNone;
  // For a person, in ASCII without quotes or backslashes, so it can go in a
  // problem+json "detail" and a WWW-Authenticate error_description as is:
  // "the token expired at 1700000000 (now 1700000100, skew 60 s)".
  std::string reason;
  VerifiedJwt token;  // when ok()

  bool ok() const { return failure == JwtFailure::kNone; }
};

// Parsed but unverified: what the caller needs to pick keys (a JWKS's kid)
// before verifying. Produced by ParseJwt; VerifyJwt does it itself.
struct ParsedJwt {
  JwtAlg alg = JwtAlg::kRS256;
  std::string kid;
  std::string signing_input;  // header.payload
  std::string signature;
  std::string header_json;
  std::string claims_json;
};

// Splits, decodes and checks the shape of `token` (sizes, base64url, JSON
// objects without duplicate members, "alg" allowed by `policy`, "crit"
// refused, "typ" JWT when present). On failure, `result` says why.
bool ParseJwt(std::string_view token, const JwtPolicy& policy, ParsedJwt& parsed,
              JwtResult& result);

// Verifies `token` with `keys` under `policy`: the shape (ParseJwt), the
// signature with the key named by "kid" (or, without a kid, each key of the
// token's algorithm, at most kMaxKeysTriedWithoutKid), then the claims.
JwtResult VerifyJwt(std::string_view token, const JwtPolicy& policy, const JwtKeySet& keys);
// The same, from a ParseJwt result.
JwtResult VerifyParsedJwt(const ParsedJwt& parsed, const JwtPolicy& policy, const JwtKeySet& keys);

// The token of an "Authorization: Bearer <token>" value (the scheme's case
// ignored, RFC 6750 2.1), or "" when the value is not one.
std::string_view BearerToken(std::string_view authorization);

// The WWW-Authenticate value for a refusal (RFC 6750 3): `Bearer
// realm="<realm>"` alone when there was no token (`result` null), with
// error="invalid_token" and error_description="<reason>" otherwise.
std::string BearerChallenge(std::string_view realm, const JwtResult* result);

}  // namespace edge::gateway
