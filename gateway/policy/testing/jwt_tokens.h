// Test and bench helpers (edge_policy_jwt_testing): key pairs and compact
// JWS tokens made with OpenSSL, for the JWT verifier's tests and
// bench/policy_cost.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "base/openssl_ptr.h"

namespace edge::gateway::testing {

using Pkey = base::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;

// A new key pair: "RSA" (2048 bits, or `rsa_bits`), "EC" with a curve
// ("P-256"), "ED25519", "X25519".
Pkey GenerateKey(const char* type, const char* curve = nullptr, size_t rsa_bits = 2048);

std::string PublicPem(EVP_PKEY* pkey);
std::string PrivatePem(EVP_PKEY* pkey);

// A signature over `input` as JWS writes it: PKCS #1 v1.5 with SHA-256 for
// RSA, r || s for P-256 (or OpenSSL's DER when `der`), Ed25519's own. ""
// when OpenSSL fails.
std::string JwsSignature(EVP_PKEY* pkey, std::string_view input, bool der = false);
std::string HmacSha256(std::string_view secret, std::string_view input);

// header.claims.signature, each part base64url.
std::string SignedToken(std::string_view header, std::string_view claims, EVP_PKEY* pkey);
std::string HmacToken(std::string_view header, std::string_view claims, std::string_view secret);

}  // namespace edge::gateway::testing
