// The JWT verifier's keys: PEM public keys, JWKs and JWKS documents
// (RFC 7517, RFC 7518 section 6, RFC 8037 section 2) made into OpenSSL
// EVP_PKEYs, each bound to the one algorithm its type can verify.
#include <fmt/core.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>

#include "base/base64.h"
#include "gateway/policy/jwt.h"

namespace edge::gateway {
namespace {

using Pkey = base::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = base::OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using Bn = base::OpenSslPtr<BIGNUM, BN_free>;
using ParamBld = base::OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using Params = base::OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using Bio = base::OpenSslPtr<BIO, BIO_free>;
using X509Ptr = base::OpenSslPtr<X509, X509_free>;

Status Invalid(std::string message) { return {ErrorCode::kInvalidInput, std::move(message)}; }

const unsigned char* U(std::string_view bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

std::shared_ptr<EVP_PKEY> Share(Pkey pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
}

// The algorithm a public key can verify, checking its size and curve: RSA
// of kMinRsaBits to kMaxRsaBits, EC on P-256 only, Ed25519.
StatusOr<JwtAlg> AlgOfKey(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      return Invalid(fmt::format("an RSA key of {} bits (RS256 needs {} to {})", bits, kMinRsaBits,
                                 kMaxRsaBits));
    }
    return JwtAlg::kRS256;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &length) != 1 ||
        std::string_view(group, length) != "prime256v1") {
      return Invalid(fmt::format("an EC key on curve {} (ES256 needs P-256)",
                                 length > 0 ? std::string(group, length) : "unknown"));
    }
    return JwtAlg::kES256;
  }
  if (EVP_PKEY_is_a(pkey, "ED25519")) return JwtAlg::kEdDSA;
  return Invalid(fmt::format("a {} key (RS256, ES256 and EdDSA need RSA, P-256 or Ed25519)",
                             EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey)
                                                           : "unknown"));
}

// Every "-----BEGIN LABEL-----" ... "-----END LABEL-----" block of `text`.
struct PemBlock {
  std::string label;
  std::string_view text;
};

StatusOr<std::vector<PemBlock>> SplitPem(std::string_view text) {
  std::vector<PemBlock> blocks;
  constexpr std::string_view kBegin = "-----BEGIN ";
  size_t at = 0;
  while ((at = text.find(kBegin, at)) != std::string_view::npos) {
    size_t label_end = text.find("-----", at + kBegin.size());
    if (label_end == std::string_view::npos) return Invalid("a PEM block has no end of its label");
    std::string label(text.substr(at + kBegin.size(), label_end - at - kBegin.size()));
    std::string end_line = "-----END " + label + "-----";
    size_t end = text.find(end_line, label_end);
    if (end == std::string_view::npos) return Invalid("the PEM block " + label + " has no END line");
    blocks.push_back({label, text.substr(at, end + end_line.size() - at)});
    at = end + end_line.size();
  }
  if (blocks.empty()) return Invalid("no PEM block found");
  return blocks;
}

// The public key of one PEM block: "PUBLIC KEY" (SubjectPublicKeyInfo),
// "RSA PUBLIC KEY" (PKCS #1) or "CERTIFICATE" (its subject's key; the
// certificate itself is not checked: it only carries the key).
StatusOr<Pkey> PemPublicKey(const PemBlock& block) {
  if (block.label.find("PRIVATE") != std::string::npos) {
    return Invalid("a private key (" + block.label + "): give its public key");
  }
  Bio bio(BIO_new_mem_buf(block.text.data(), static_cast<int>(block.text.size())));
  if (!bio) return Invalid("out of memory");
  if (block.label == "CERTIFICATE") {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) return Invalid("a CERTIFICATE block that does not parse");
    Pkey pkey(X509_get_pubkey(certificate.get()));
    if (!pkey) return Invalid("a certificate whose key OpenSSL cannot read");
    return pkey;
  }
  if (block.label != "PUBLIC KEY" && block.label != "RSA PUBLIC KEY") {
    return Invalid("a PEM block labelled " + block.label +
                   " (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)");
  }
  EVP_PKEY* pkey = nullptr;
  base::OpenSslPtr<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free> ctx(OSSL_DECODER_CTX_new_for_pkey(
      &pkey, "PEM", nullptr, block.label == "RSA PUBLIC KEY" ? "RSA" : nullptr,
      EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
  const unsigned char* cursor = U(block.text);
  size_t left = block.text.size();
  if (!ctx || OSSL_DECODER_from_data(ctx.get(), &cursor, &left) != 1 || pkey == nullptr) {
    EVP_PKEY_free(pkey);
    return Invalid("a " + block.label + " block that does not parse");
  }
  return Pkey(pkey);
}

// A JWK member that must be a string, or "" when absent.
StatusOr<std::string_view> StringMember(simdjson::dom::object object, std::string_view name) {
  simdjson::dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS) return std::string_view();
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return Invalid(fmt::format("\"{}\" is not a string", name));
  }
  return text;
}

// A base64url member of a JWK, decoded; `size` > 0 requires that length.
StatusOr<std::string> BytesMember(simdjson::dom::object object, std::string_view name,
                                  size_t size = 0) {
  auto text = StringMember(object, name);
  if (!text.ok()) return text.status();
  if (text->empty()) return Invalid(fmt::format("no \"{}\"", name));
  auto bytes = base::Base64UrlDecode(*text);
  if (!bytes.ok()) return Invalid(fmt::format("\"{}\": {}", name, bytes.status().message()));
  if (size != 0 && bytes->size() != size) {
    return Invalid(fmt::format("\"{}\" is {} bytes (expected {})", name, bytes->size(), size));
  }
  return std::move(bytes).value();
}

StatusOr<Pkey> PkeyFromParams(const char* type, OSSL_PARAM_BLD* bld, const char* what) {
  Params params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Invalid(std::string("invalid ") + what + " key data");
  }
  Pkey result(pkey);
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Invalid(std::string("invalid ") + what + " key data");
  }
  return result;
}

StatusOr<Pkey> RsaJwk(simdjson::dom::object jwk) {
  auto n = BytesMember(jwk, "n");
  if (!n.ok()) return n.status();
  auto e = BytesMember(jwk, "e");
  if (!e.ok()) return e.status();
  if (n->size() > kMaxRsaBits / 8 + 1) {
    return Invalid(fmt::format("an RSA key of more than {} bits", kMaxRsaBits));
  }
  if (e->size() > 8) return Invalid("an RSA public exponent of more than 64 bits");
  Bn modulus(BN_bin2bn(U(*n), static_cast<int>(n->size()), nullptr));
  Bn exponent(BN_bin2bn(U(*e), static_cast<int>(e->size()), nullptr));
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!modulus || !exponent || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return Invalid("out of memory");
  }
  if (BN_is_odd(exponent.get()) == 0 || BN_is_one(exponent.get())) {
    return Invalid("an RSA public exponent that is even or 1");
  }
  return PkeyFromParams("RSA", bld.get(), "RSA");
}

// The JWK's "crv" must be `expected`, the one curve `alg` verifies with.
Status CheckCurve(simdjson::dom::object jwk, std::string_view kty, std::string_view expected,
                  std::string_view alg) {
  auto crv = StringMember(jwk, "crv");
  if (!crv.ok()) return crv.status();
  if (*crv != expected) {
    return Invalid(fmt::format("an {} key on curve \"{}\" ({} needs {})", kty, *crv, alg, expected));
  }
  return Status::Ok();
}

StatusOr<Pkey> EcJwk(simdjson::dom::object jwk) {
  EDGE_RETURN_IF_ERROR(CheckCurve(jwk, "EC", "P-256", "ES256"));
  auto x = BytesMember(jwk, "x", 32);
  if (!x.ok()) return x.status();
  auto y = BytesMember(jwk, "y", 32);
  if (!y.ok()) return y.status();
  std::string point = "\x04" + *x + *y;
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Invalid("out of memory");
  }
  return PkeyFromParams("EC", bld.get(), "P-256");
}

StatusOr<Pkey> OkpJwk(simdjson::dom::object jwk) {
  EDGE_RETURN_IF_ERROR(CheckCurve(jwk, "OKP", "Ed25519", "EdDSA"));
  auto x = BytesMember(jwk, "x", 32);
  if (!x.ok()) return x.status();
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, U(*x), x->size()));
  if (!pkey) return Invalid("invalid Ed25519 key data");
  return pkey;
}

// One JWK: its type, "use" (sig when present), "alg" (when present, the
// key type's algorithm) and "kid".
StatusOr<JwtKey> ParseJwk(simdjson::dom::element element) {
  simdjson::dom::object jwk;
  if (element.get_object().get(jwk) != simdjson::SUCCESS) return Invalid("not a JSON object");
  auto kty = StringMember(jwk, "kty");
  if (!kty.ok()) return kty.status();
  auto use = StringMember(jwk, "use");
  if (!use.ok()) return use.status();
  if (!use->empty() && *use != "sig") {
    return Invalid(fmt::format("\"use\": \"{}\" (only \"sig\" keys verify tokens)", *use));
  }
  auto kid = StringMember(jwk, "kid");
  if (!kid.ok()) return kid.status();
  auto alg_name = StringMember(jwk, "alg");
  if (!alg_name.ok()) return alg_name.status();
  JwtKey key;
  key.kid = std::string(*kid);
  if (*kty == "oct") {
    auto k = BytesMember(jwk, "k");
    if (!k.ok()) return k.status();
    auto hmac = JwtHmacKey(*k, *kid);
    if (!hmac.ok()) return hmac.status();
    key = std::move(hmac).value();
  } else {
    StatusOr<Pkey> pkey = *kty == "RSA" ? RsaJwk(jwk)
                          : *kty == "EC" ? EcJwk(jwk)
                          : *kty == "OKP"
                              ? OkpJwk(jwk)
                              : StatusOr<Pkey>(Invalid(fmt::format(
                                    "\"kty\": \"{}\" (expected RSA, EC, OKP or oct)", *kty)));
    if (!pkey.ok()) return pkey.status();
    auto alg = AlgOfKey(pkey->get());
    if (!alg.ok()) return alg.status();
    key.alg = *alg;
    key.pkey = Share(std::move(pkey).value());
  }
  if (!alg_name->empty() && JwtAlgName(key.alg) != *alg_name) {
    return Invalid(fmt::format("\"alg\": \"{}\" on a key that verifies {} only", *alg_name,
                               JwtAlgName(key.alg)));
  }
  return key;
}

// A JSON document of keys: a JWKS ({"keys": [...]}) or one JWK. `strict`:
// a key that cannot be used is an error, else it is skipped.
StatusOr<JwtKeySet> ParseJwkDocument(std::string_view json, bool strict) {
  if (json.size() > kMaxJwksBytes) {
    return Invalid(fmt::format("the JWKS is {} bytes (at most {})", json.size(), kMaxJwksBytes));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.allocate(json.size() + 1, kMaxJwtJsonDepth) != simdjson::SUCCESS) {
    return Invalid("out of memory");
  }
  if (auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS) {
    return Invalid(std::string("the keys are not JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return Invalid("the keys are not a JSON object (a JWK or a JWKS)");
  }
  JwtKeySet set;
  simdjson::dom::element keys;
  if (object.at_key("keys").get(keys) != simdjson::SUCCESS) {
    auto key = ParseJwk(root);
    if (!key.ok()) return Invalid("the JWK: " + key.status().message());
    set.keys.push_back(std::move(key).value());
    return set;
  }
  simdjson::dom::array array;
  if (keys.get_array().get(array) != simdjson::SUCCESS) return Invalid("\"keys\" is not an array");
  if (array.size() > kMaxJwksKeys) {
    return Invalid(fmt::format("the JWKS has {} keys (at most {})", array.size(), kMaxJwksKeys));
  }
  size_t index = 0;
  for (simdjson::dom::element element : array) {
    auto key = ParseJwk(element);
    if (key.ok()) {
      set.keys.push_back(std::move(key).value());
    } else if (strict) {
      return Invalid(fmt::format("keys[{}]: {}", index, key.status().message()));
    } else {
      set.skipped.push_back(fmt::format("keys[{}]: {}", index, key.status().message()));
    }
    ++index;
  }
  if (set.keys.empty()) {
    return Invalid(set.skipped.empty() ? "the JWKS has no keys"
                                       : "the JWKS has no usable key; " + set.skipped.front());
  }
  return set;
}

}  // namespace

std::string_view JwtAlgName(JwtAlg alg) {
  switch (alg) {
    case JwtAlg::kRS256: return "RS256";
    case JwtAlg::kES256: return "ES256";
    case JwtAlg::kEdDSA: return "EdDSA";
    case JwtAlg::kHS256: return "HS256";
  }
  return "?";
}

std::optional<JwtAlg> JwtAlgNamed(std::string_view name) {
  for (JwtAlg alg : {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA, JwtAlg::kHS256}) {
    if (JwtAlgName(alg) == name) return alg;
  }
  return std::nullopt;
}

StatusOr<JwtKey> JwtHmacKey(std::string_view secret, std::string_view kid) {
  if (secret.size() < kMinHmacKeyBytes) {
    return Invalid(fmt::format("an HS256 secret of {} bytes (at least {})", secret.size(),
                               kMinHmacKeyBytes));
  }
  JwtKey key;
  key.alg = JwtAlg::kHS256;
  key.kid = std::string(kid);
  key.secret = std::string(secret);
  return key;
}

StatusOr<JwtKeySet> ParseJwtKeys(std::string_view text, std::string_view kid) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return Invalid("no keys given");
  if (text[start] == '{' || text[start] == '[') return ParseJwkDocument(text, /*strict=*/true);
  if (text.size() > kMaxJwksBytes) {
    return Invalid(fmt::format("the keys are {} bytes (at most {})", text.size(), kMaxJwksBytes));
  }
  auto blocks = SplitPem(text);
  if (!blocks.ok()) return Invalid("the keys are neither JSON (a JWK or JWKS) nor PEM: " +
                                   blocks.status().message());
  if (blocks->size() > kMaxJwksKeys) {
    return Invalid(fmt::format("{} PEM keys (at most {})", blocks->size(), kMaxJwksKeys));
  }
  JwtKeySet set;
  for (size_t i = 0; i < blocks->size(); ++i) {
    auto pkey = PemPublicKey((*blocks)[i]);
    if (!pkey.ok()) return Invalid(fmt::format("PEM key {}: {}", i + 1, pkey.status().message()));
    auto alg = AlgOfKey(pkey->get());
    if (!alg.ok()) return Invalid(fmt::format("PEM key {}: {}", i + 1, alg.status().message()));
    JwtKey key;
    key.alg = *alg;
    key.kid = std::string(kid);
    key.pkey = Share(std::move(pkey).value());
    set.keys.push_back(std::move(key));
  }
  return set;
}

StatusOr<JwtKeySet> ParseJwks(std::string_view json) {
  return ParseJwkDocument(json, /*strict=*/false);
}

int64_t SystemSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace edge::gateway
