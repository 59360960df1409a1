// The public-key work behind crypto.subtle's ECDSA, ECDH, Ed25519, X25519,
// RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP
// (https://w3c.github.io/webcrypto/#ecdsa and following), on OpenSSL
// 3's EVP_PKEY. runtime/crypto/subtle.js keeps the WebCrypto rules (usages, key
// types, formats per algorithm); these natives hold and use the keys.
//
// An asymmetric CryptoKey's material (and a node:crypto KeyObject's) is an
// opaque handle (runtime/crypto/crypto_handle.h) owning one EVP_PKEY, freed
// when V8 collects the handle and counted against the worker's memory
// budget while it lives. A key is parsed once, when it is imported or
// generated.
#include <fmt/core.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/openssl_ptr.h"
#include "runtime/buffer_allocator.h"
#include "runtime/crypto/crypto_handle.h"
#include "runtime/crypto/crypto_job.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// The RSA modulus lengths generateKey accepts (see CryptoPkeyGenerate).
constexpr double kMinRsaModulusBits = 1024;
constexpr double kMaxRsaModulusBits = 4096;
// node:crypto's synchronous forms run on the serving thread, where OpenSSL
// cannot be interrupted: generateKeyPairSync makes RSA keys of at most 2,048
// bits (tens to hundreds of milliseconds; generateKeyPair up to 4,096 off the
// serving thread), and sign() without a callback, Sign.sign() and
// privateKey operations take RSA keys of at most 8,192 bits (a 16,384-bit
// key, which an import accepts, signs in about a second: the callback form of
// sign() takes it off the serving thread).
constexpr double kMaxSyncRsaModulusBits = 2048;
constexpr double kMaxSyncRsaSignBits = 8192;

struct PkeyHandle {
  static constexpr uint32_t kTag = 0x45504B59;  // "EPKY"
  EVP_PKEY* pkey = nullptr;
  bool is_private = false;

  ~PkeyHandle() { EVP_PKEY_free(pkey); }
};

using Pkey = base::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = base::OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtx = base::OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using Bn = base::OpenSslPtr<BIGNUM, BN_free>;
using Sig = base::OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using ParamBld = base::OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using Params = base::OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;

const unsigned char* U(std::string_view bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

edge::Status Data(std::string message) {
  return DomException("DataError", std::move(message));
}
edge::Status Failed(std::string message) { return {ErrorCode::kInvalidInput, std::move(message)}; }
edge::Status Operation(std::string message) {
  return DomException("OperationError", std::move(message));
}

StatusOr<PkeyHandle*> HandleArg(NativeCall& call, int i) {
  PkeyHandle* handle = OwnedState<PkeyHandle>(call.arg(i));
  if (handle == nullptr || handle->pkey == nullptr) return TypeError("not a key handle");
  return handle;
}

// A key's handle (runtime/crypto/crypto_handle.h), counted against the
// worker's memory budget at what OpenSSL keeps for it: about four times
// the key's size in bytes for an RSA key (its CRT parts and Montgomery
// contexts), less than the context charge for the others.
NativeResult NewHandle(v8::Isolate* isolate, Pkey pkey, bool is_private) {
  size_t bits = static_cast<size_t>(std::max(0, EVP_PKEY_get_bits(pkey.get())));
  size_t charge = std::max(kCryptoContextCharge, EVP_PKEY_is_a(pkey.get(), "RSA") ? bits / 2 : 0);
  auto handle = std::make_unique<PkeyHandle>();
  handle->pkey = pkey.release();
  handle->is_private = is_private;
  return NewOwningHandle(isolate, std::move(handle), charge);
}

NativeResult NewHandle(NativeCall& call, Pkey pkey, bool is_private) {
  return NewHandle(call.isolate(), std::move(pkey), is_private);
}

// Another reference to `pkey`, for work that runs off the serving thread
// while the worker may drop its CryptoKey.
Pkey SharedRef(EVP_PKEY* pkey) {
  EVP_PKEY_up_ref(pkey);
  return Pkey(pkey);
}

// WebCrypto's curve names and OpenSSL's.
const char* GroupOf(std::string_view curve) {
  if (curve == "P-256") return "prime256v1";
  if (curve == "P-384") return "secp384r1";
  if (curve == "P-521") return "secp521r1";
  return nullptr;
}

std::string CurveOf(EVP_PKEY* pkey) {
  char group[64] = {0};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &length) != 1) {
    return "";
  }
  std::string_view name(group, length);
  if (name == "prime256v1" || name == "P-256") return "P-256";
  if (name == "secp384r1" || name == "P-384") return "P-384";
  if (name == "secp521r1" || name == "P-521") return "P-521";
  return "";
}

// "EC", "ED25519", "X25519", "ED448", "X448", "RSA" or "" for any other key.
std::string KindOf(EVP_PKEY* pkey) {
  for (const char* kind : {"EC", "ED25519", "X25519", "ED448", "X448", "RSA"}) {
    if (EVP_PKEY_is_a(pkey, kind)) return kind;
  }
  return "";
}

size_t FieldBytes(EVP_PKEY* pkey) { return (static_cast<size_t>(EVP_PKEY_get_bits(pkey)) + 7) / 8; }

const EVP_MD* DigestNamed(std::string_view name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  return nullptr;
}

// A public-only copy of `pkey`, through its SubjectPublicKeyInfo.
Pkey PublicCopy(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(pkey, &der);
  if (length <= 0) return nullptr;
  const unsigned char* cursor = der;
  Pkey copy(d2i_PUBKEY(nullptr, &cursor, length));
  OPENSSL_free(der);
  return copy;
}

// cryptoPkeyGenerate(kind, curve) -> Promise<private key handle>. kind is
// "EC" (with a WebCrypto curve name), "ED25519" or "X25519"; or
// cryptoPkeyGenerate("RSA", modulusBits, publicExponentBytes). The key is
// generated off the serving thread (crypto_job.h), or with a fourth argument
// `true` (node:crypto's generateKeyPairSync) at once, within
// kMaxSyncRsaModulusBits.
NativeResult CryptoPkeyGenerate(NativeCall& call) {
  auto kind = call.StringArg(0);
  if (!kind.ok()) return kind.status();
  std::function<EVP_PKEY*()> generate;
  if (*kind == "EC") {
    auto curve = call.StringArg(1);
    if (!curve.ok()) return curve.status();
    const char* group = GroupOf(*curve);
    if (group == nullptr)
      return DomException("NotSupportedError", "unsupported curve " + *curve);
    generate = [group] { return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group); };
  } else if (*kind == "ED25519" || *kind == "X25519" || *kind == "ED448" || *kind == "X448") {
    generate = [name = *kind] { return EVP_PKEY_Q_keygen(nullptr, nullptr, name.c_str()); };
  } else if (*kind == "RSA") {
    auto bits = call.NumberArg(1);
    if (!bits.ok()) return bits.status();
    auto exponent = call.BytesArg(2);
    if (!exponent.ok()) return exponent.status();
    auto e = std::make_shared<Bn>(
        BN_bin2bn(U(*exponent), static_cast<int>(exponent->size()), nullptr));
    // OpenSSL wants an odd exponent above 1; WebCrypto leaves the rest to it.
    if (!*e || !BN_is_odd(e->get()) || BN_is_one(e->get()) || BN_num_bits(e->get()) > 64) {
      return Operation("unsupported RSA public exponent");
    }
    // Generating a key costs about the cube of its size and cannot be
    // interrupted by the CPU limit: 4096 bits is the largest a worker may
    // ask for (a 16384-bit key takes OpenSSL seconds to minutes).
    if (!(*bits >= kMinRsaModulusBits && *bits <= kMaxRsaModulusBits) ||
        static_cast<int>(*bits) % 8 != 0) {
      return Operation(
          fmt::format("The modulus length must be a multiple of 8 and between {} "
                      "and {}, but {} was requested.",
                      kMinRsaModulusBits, kMaxRsaModulusBits, *bits));
    }
    generate = [e, modulus = static_cast<int>(*bits)]() -> EVP_PKEY* {
      EVP_PKEY* generated = nullptr;
      PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
          EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), modulus) != 1 ||
          EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e->get()) != 1 ||
          EVP_PKEY_generate(ctx.get(), &generated) != 1) {
        EVP_PKEY_free(generated);
        return nullptr;
      }
      return generated;
    };
  } else {
    return DomException("NotSupportedError", "cannot generate a " + *kind + " key");
  }
  if (call.BoolArg(3)) {
    if (*kind == "RSA" && *call.NumberArg(1) > kMaxSyncRsaModulusBits) {
      return RangeError(fmt::format(
          "generateKeyPairSync makes RSA keys of at most {} bits on the serving thread; "
          "generateKeyPair() makes them up to {} bits off it",
          kMaxSyncRsaModulusBits, kMaxRsaModulusBits));
    }
    Pkey generated(generate());
    if (!generated) return Operation("key generation failed");
    return NewHandle(call, std::move(generated), true);
  }
  auto key = std::make_shared<Pkey>();
  return RunCryptoJob(
      call,
      [key, generate = std::move(generate), kind = *kind] {
        key->reset(generate());
        if (!*key)
          return Operation(kind == "RSA" ? "RSA key generation failed" : "key generation failed");
        return Status::Ok();
      },
      [key](v8::Isolate* isolate, v8::Local<v8::Context>) {
        NativeResult handle = NewHandle(isolate, std::move(*key), true);
        if (!handle.ok()) {
          ThrowStatus(isolate, handle.status());
          return v8::Local<v8::Value>();
        }
        return *handle;
      });
}

// cryptoPkeyPublic(handle) -> a handle to the public half.
NativeResult CryptoPkeyPublic(NativeCall& call) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  Pkey copy = PublicCopy((*handle)->pkey);
  if (!copy) return Operation("cannot take the public key");
  return NewHandle(call, std::move(copy), false);
}

// cryptoPkeyInfo(handle) -> { kind, curve, private, bits, e (RSA) }
NativeResult CryptoPkeyInfo(NativeCall& call) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  EVP_PKEY* pkey = (*handle)->pkey;
  auto context = call.context();
  // A record only subtle.js reads: no prototype, own data properties.
  auto info = NewNullProtoObject(call.isolate());
  std::string kind = KindOf(pkey);
  bool ok =
      DefineData(context, info, "kind", call.String(kind)) &&
      DefineData(context, info, "curve", call.String(kind == "EC" ? CurveOf(pkey) : "")) &&
      DefineData(context, info, "private",
                 v8::Boolean::New(call.isolate(), (*handle)->is_private)) &&
      DefineData(context, info, "bits", v8::Number::New(call.isolate(), EVP_PKEY_get_bits(pkey)));
  if (ok && kind == "RSA") {
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      return Operation("cannot read the RSA exponent");
    }
    std::string bytes(static_cast<size_t>(BN_num_bytes(e)), '\0');
    BN_bn2bin(e, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(e);
    ok = DefineData(context, info, "e", call.Bytes(bytes));
  }
  if (!ok) return PendingException();
  return info.As<v8::Value>();
}

// An EC key from its public point (uncompressed or compressed) and optional
// private scalar.
StatusOr<Pkey> EcFromParts(const std::string& curve, std::string_view point,
                           std::string_view scalar) {
  const char* group = GroupOf(curve);
  if (group == nullptr)
    return DomException("NotSupportedError", "unsupported curve " + curve);
  ParamBld bld(OSSL_PARAM_BLD_new());
  Bn priv;
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Operation("out of memory");
  }
  if (!scalar.empty()) {
    priv.reset(BN_bin2bn(U(scalar), static_cast<int>(scalar.size()), nullptr));
    if (!priv || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1) {
      return Operation("out of memory");
    }
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, scalar.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR,
                        params.get()) != 1) {
    return Data("invalid EC key data");
  }
  Pkey result(pkey);
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  int valid = scalar.empty() ? EVP_PKEY_public_check(check.get()) : EVP_PKEY_check(check.get());
  if (!check || valid != 1) return Data("invalid EC key data");
  return result;
}

// An RSA key from its JWK parts: n and e, and d, p, q, dp, dq, qi for a
// private key.
StatusOr<Pkey> RsaFromParts(const std::function<std::string(const char*)>& part, bool is_private) {
  static constexpr const char* kJwk[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
  static constexpr const char* kParams[] = {
      OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,           OSSL_PKEY_PARAM_RSA_D,
      OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,     OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld) return Operation("out of memory");
  std::vector<Bn> numbers;
  // A private JWK may leave out all of the CRT parameters (RFC 7518 6.3.2).
  size_t count = !is_private ? 2 : part("p").empty() && part("q").empty() ? 3 : 8;
  for (size_t i = 0; i < count; i++) {
    std::string bytes = part(kJwk[i]);
    if (bytes.empty()) return Data(std::string("the JWK has no ") + kJwk[i]);
    numbers.emplace_back(BN_bin2bn(U(bytes), static_cast<int>(bytes.size()), nullptr));
    if (!numbers.back() ||
        OSSL_PARAM_BLD_push_BN(bld.get(), kParams[i], numbers.back().get()) != 1) {
      return Operation("out of memory");
    }
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return Data("invalid RSA key data");
  }
  return Pkey(pkey);
}

// cryptoPkeyImport(format, data, kind, curve) -> handle
//   format "spki" | "pkcs8": DER; "raw": an EC point or an OKP public key;
//   "jwk": `data` is { x, y, d } (EC), { x, d } (OKP) or
//   { n, e, d, p, q, dp, dq, qi } (RSA) as bytes.
// The key must be of `kind` ("EC", "ED25519", "X25519") and, for EC, `curve`.
NativeResult CryptoPkeyImport(NativeCall& call) {
  auto format = call.StringArg(0);
  if (!format.ok()) return format.status();
  auto kind = call.StringArg(2);
  if (!kind.ok()) return kind.status();
  std::string curve;
  if (*kind == "EC") {
    auto name = call.StringArg(3);
    if (!name.ok()) return name.status();
    curve = *name;
  }
  Pkey pkey;
  bool is_private = false;
  if (*format == "jwk") {
    if (!call.arg(1)->IsObject()) return TypeError("jwk parts are not an object");
    auto parts = call.arg(1).As<v8::Object>();
    auto part = [&](const char* name) -> std::string {
      v8::Local<v8::Value> value;
      if (!parts->Get(call.context(), call.String(name)).ToLocal(&value) ||
          !value->IsArrayBufferView()) {
        return "";
      }
      auto view = value.As<v8::ArrayBufferView>();
      std::string bytes(view->ByteLength(), '\0');
      view->CopyContents(bytes.data(), bytes.size());
      return bytes;
    };
    std::string x = part("x"), y = part("y"), d = part("d");
    is_private = !d.empty();
    if (*kind == "RSA") {
      auto made = RsaFromParts(part, is_private);
      if (!made.ok()) return made.status();
      pkey = std::move(*made);
    } else if (*kind == "EC") {
      const char* group = GroupOf(curve);
      if (group == nullptr) return DomException("NotSupportedError", "unsupported curve");
      size_t field = curve == "P-256" ? 32 : curve == "P-384" ? 48 : 66;
      if (x.size() != field || y.size() != field || (is_private && d.size() != field)) {
        return Data("the JWK's coordinates have the wrong length for " + curve);
      }
      auto made = EcFromParts(curve, "\x04" + x + y, d);
      if (!made.ok()) return made.status();
      pkey = std::move(*made);
    } else {
      if (is_private) {
        pkey.reset(
            EVP_PKEY_new_raw_private_key_ex(nullptr, kind->c_str(), nullptr, U(d), d.size()));
        if (!pkey) return Data("invalid " + *kind + " private key");
        unsigned char pub[64];
        size_t length = sizeof(pub);
        if (EVP_PKEY_get_raw_public_key(pkey.get(), pub, &length) != 1 || length != x.size() ||
            memcmp(pub, x.data(), length) != 0) {
          return Data("the JWK's x does not match its d");
        }
      } else {
        pkey.reset(EVP_PKEY_new_raw_public_key_ex(nullptr, kind->c_str(), nullptr, U(x), x.size()));
        if (!pkey) return Data("invalid " + *kind + " public key");
      }
    }
  } else {
    auto data = call.BytesArg(1);
    if (!data.ok()) return data.status();
    const unsigned char* cursor = U(*data);
    if (*format == "spki") {
      pkey.reset(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(data->size())));
      if (!pkey || cursor != U(*data) + data->size()) return Data("invalid SubjectPublicKeyInfo");
    } else if (*format == "pkcs8") {
      PKCS8_PRIV_KEY_INFO* info =
          d2i_PKCS8_PRIV_KEY_INFO(nullptr, &cursor, static_cast<long>(data->size()));
      if (info == nullptr || cursor != U(*data) + data->size()) {
        PKCS8_PRIV_KEY_INFO_free(info);
        return Data("invalid PKCS #8 PrivateKeyInfo");
      }
      pkey.reset(EVP_PKCS82PKEY(info));
      PKCS8_PRIV_KEY_INFO_free(info);
      if (!pkey) return Data("invalid PKCS #8 private key");
      is_private = true;
    } else if (*format == "raw") {
      if (*kind == "EC") {
        auto made = EcFromParts(curve, *data, {});
        if (!made.ok()) return made.status();
        pkey = std::move(*made);
      } else {
        pkey.reset(EVP_PKEY_new_raw_public_key_ex(nullptr, kind->c_str(), nullptr, U(*data),
                                                  data->size()));
        if (!pkey) return Data("invalid " + *kind + " public key");
      }
    } else {
      return DomException("NotSupportedError", "unsupported key format " + *format);
    }
  }
  if (KindOf(pkey.get()) != *kind) return Data("the key is not a " + *kind + " key");
  if (*kind == "EC" && CurveOf(pkey.get()) != curve) {
    return Data("the key is not on " + curve);
  }
  if (*kind == "EC") {
    // A key imported from a compressed point exports its point
    // uncompressed (spki and raw), as WebCrypto's export steps say.
    char uncompressed[] = OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED;
    if (EVP_PKEY_set_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       uncompressed) != 1) {
      return Data("cannot use the EC key's point");
    }
  }
  if (*kind == "EC" && is_private && (*format == "pkcs8")) {
    PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!check || EVP_PKEY_check(check.get()) != 1) return Data("invalid EC private key");
  }
  return NewHandle(call, std::move(pkey), is_private);
}

// cryptoPkeyExport(handle, format) -> Uint8Array; format is "spki",
// "pkcs8" or "raw" (the uncompressed EC point or the OKP public key).
NativeResult CryptoPkeyExport(NativeCall& call) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  auto format = call.StringArg(1);
  if (!format.ok()) return format.status();
  EVP_PKEY* pkey = (*handle)->pkey;
  std::string out;
  if (*format == "spki" || *format == "pkcs8") {
    unsigned char* der = nullptr;
    int length = -1;
    if (*format == "spki") {
      length = i2d_PUBKEY(pkey, &der);
    } else if ((*handle)->is_private) {
      PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(pkey);
      if (info != nullptr) length = i2d_PKCS8_PRIV_KEY_INFO(info, &der);
      PKCS8_PRIV_KEY_INFO_free(info);
    }
    if (length <= 0) return Operation("cannot encode the key");
    out.assign(reinterpret_cast<char*>(der), length);
    OPENSSL_free(der);
  } else if (*format == "raw") {
    if (EVP_PKEY_is_a(pkey, "EC")) {
      size_t length = 0;
      if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0,
                                          &length) != 1) {
        return Operation("cannot encode the key");
      }
      out.resize(length);
      if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                          reinterpret_cast<unsigned char*>(out.data()), length,
                                          &length) != 1) {
        return Operation("cannot encode the key");
      }
      out.resize(length);
    } else {
      size_t length = 0;
      if (EVP_PKEY_get_raw_public_key(pkey, nullptr, &length) != 1) return Operation("no raw form");
      out.resize(length);
      if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(out.data()),
                                      &length) != 1) {
        return Operation("cannot encode the key");
      }
    }
  } else {
    return DomException("NotSupportedError", "unsupported key format " + *format);
  }
  return call.Bytes(out).As<v8::Value>();
}

std::string BnBytes(EVP_PKEY* pkey, const char* name, size_t width) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return "";
  std::string out(width, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(width));
  BN_clear_free(bn);
  return out;
}

// cryptoPkeyJwk(handle) -> { x, y?, d? } (EC, OKP) or
// { n, e, d?, p?, q?, dp?, dq?, qi? } (RSA) as Uint8Arrays.
NativeResult CryptoPkeyJwk(NativeCall& call) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  EVP_PKEY* pkey = (*handle)->pkey;
  auto context = call.context();
  // Own data properties of an object with no prototype: a setter a tenant
  // put on Object.prototype never sees the key's parts.
  auto parts = NewNullProtoObject(call.isolate());
  auto set = [&](const char* name, const std::string& bytes) {
    return DefineData(context, parts, name, call.Bytes(bytes));
  };
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    static constexpr const char* kJwk[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static constexpr const char* kParams[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    size_t count = (*handle)->is_private ? 8 : 2;
    for (size_t i = 0; i < count; i++) {
      BIGNUM* bn = nullptr;
      if (EVP_PKEY_get_bn_param(pkey, kParams[i], &bn) != 1)
        return Operation("cannot export the key");
      std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
      BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
      BN_clear_free(bn);
      bool stored = set(kJwk[i], bytes);
      OPENSSL_cleanse(bytes.data(), bytes.size());
      if (!stored) return PendingException();
    }
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    size_t field = FieldBytes(pkey);
    std::string x = BnBytes(pkey, OSSL_PKEY_PARAM_EC_PUB_X, field);
    std::string y = BnBytes(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, field);
    if (x.empty() || y.empty() || !set("x", x) || !set("y", y))
      return Operation("cannot export the key");
    if ((*handle)->is_private) {
      std::string d = BnBytes(pkey, OSSL_PKEY_PARAM_PRIV_KEY, field);
      if (d.empty() || !set("d", d)) return Operation("cannot export the key");
    }
  } else {
    unsigned char buffer[64];
    size_t length = sizeof(buffer);
    if (EVP_PKEY_get_raw_public_key(pkey, buffer, &length) != 1 ||
        !set("x", std::string(reinterpret_cast<char*>(buffer), length))) {
      return Operation("cannot export the key");
    }
    if ((*handle)->is_private) {
      length = sizeof(buffer);
      if (EVP_PKEY_get_raw_private_key(pkey, buffer, &length) != 1 ||
          !set("d", std::string(reinterpret_cast<char*>(buffer), length))) {
        return Operation("cannot export the key");
      }
      OPENSSL_cleanse(buffer, sizeof(buffer));
    }
  }
  return parts.As<v8::Value>();
}

// Sets an RSA signature context's padding: "pss" (with `salt_length`) or
// PKCS #1 v1.5.
bool SetRsaPadding(EVP_PKEY_CTX* pctx, const std::string& padding, int salt_length) {
  if (padding != "pss") return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_length) == 1;
}

// The arguments of cryptoPkeySign and cryptoPkeyVerify: the key, its hash,
// the byte strings (data; signature and data), and for an RSA key its
// padding and salt length.
struct SignatureParams {
  EVP_PKEY* pkey;
  bool ec, rsa;
  const EVP_MD* md;  // null for Ed25519
  std::vector<std::string_view> bytes;  // into the worker's buffers: use at once
  std::string padding;
  int salt_length = 0;
};

// Reads handle (argument 0), hash (1), `byte_args` byte strings, then for an
// RSA key padding and salt length.
StatusOr<SignatureParams> SignatureArgs(NativeCall& call, int byte_args) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  auto hash = call.StringArg(1);
  if (!hash.ok()) return hash.status();
  SignatureParams params;
  for (int i = 0; i < byte_args; ++i) {
    auto bytes = call.BytesArg(2 + i);
    if (!bytes.ok()) return bytes.status();
    params.bytes.push_back(*bytes);
  }
  params.pkey = (*handle)->pkey;
  params.ec = EVP_PKEY_is_a(params.pkey, "EC");
  params.rsa = EVP_PKEY_is_a(params.pkey, "RSA");
  params.md = params.ec || params.rsa ? DigestNamed(*hash) : nullptr;
  if ((params.ec || params.rsa) && params.md == nullptr) {
    return DomException("NotSupportedError", "unknown hash " + *hash);
  }
  if (params.rsa) {
    auto name = call.StringArg(2 + byte_args);
    if (!name.ok()) return name.status();
    params.padding = *name;
    auto salt = call.NumberArg(3 + byte_args);
    if (!salt.ok()) return salt.status();
    params.salt_length = static_cast<int>(*salt);
  }
  return params;
}

// A DER ECDSA-Sig-Value as r || s, each as wide as the curve's order
// (WebCrypto's form, and node:crypto's dsaEncoding "ieee-p1363").
Status DerToP1363(EVP_PKEY* pkey, std::string_view der, std::string& out) {
  const unsigned char* cursor = U(der);
  Sig sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (!sig) return Operation("signing failed");
  size_t field = FieldBytes(pkey);
  out.assign(2 * field, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), bytes, static_cast<int>(field)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), bytes + field, static_cast<int>(field)) < 0) {
    return Operation("signing failed");
  }
  return Status::Ok();
}

// r || s as a DER ECDSA-Sig-Value; false when `signature` has the wrong
// length for the key's curve (it then cannot verify).
StatusOr<bool> P1363ToDer(EVP_PKEY* pkey, std::string_view signature, std::string& der) {
  size_t field = FieldBytes(pkey);
  if (signature.size() != 2 * field) return false;
  Sig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(U(signature), static_cast<int>(field), nullptr);
  BIGNUM* s = BN_bin2bn(U(signature) + field, static_cast<int>(field), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return Operation("out of memory");
  }
  unsigned char* encoded = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &encoded);
  if (length <= 0) return Operation("out of memory");
  der.assign(reinterpret_cast<char*>(encoded), length);
  OPENSSL_free(encoded);
  return true;
}

// Signs `data` with `pkey` into `out`. An EC key signs with ECDSA and gives
// WebCrypto's r || s; an Ed25519 key ignores `md`; an RSA key uses
// `padding` ("pkcs1" or "pss").
Status SignInto(EVP_PKEY* pkey, bool ec, bool rsa, const EVP_MD* md, const std::string& padding,
                int salt_length, std::string_view data, std::string& out) {
  MdCtx ctx(EVP_MD_CTX_new());
  size_t length = 0;
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey) != 1 ||
      (rsa && !SetRsaPadding(pctx, padding, salt_length)) ||
      EVP_DigestSign(ctx.get(), nullptr, &length, U(data), data.size()) != 1) {
    return Operation("signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     U(data), data.size()) != 1) {
    return Operation("signing failed");
  }
  signature.resize(length);
  if (!ec) {
    out = std::move(signature);
    return Status::Ok();
  }
  return DerToP1363(pkey, signature, out);
}

// cryptoPkeySign(handle, hash, data, padding?, saltLength?) ->
// Promise<Uint8Array>, signed off the serving thread (an RSA key may have
// 16,384 bits).
NativeResult CryptoPkeySign(NativeCall& call) {
  auto params = SignatureArgs(call, 1);
  if (!params.ok()) return params.status();
  return RunCryptoBytesJob(
      call, [pkey = std::make_shared<Pkey>(SharedRef(params->pkey)), ec = params->ec,
             rsa = params->rsa, md = params->md, padding = params->padding,
             salt_length = params->salt_length,
             data = std::string(params->bytes[0])](std::string& out) {
        return SignInto(pkey->get(), ec, rsa, md, padding, salt_length, data, out);
      });
}

// Whether a 32-byte Ed25519 point encoding is one of the eight points of
// small order (or a non-canonical encoding of one): the encodings libsodium
// refuses, compared without the sign bit. Each was checked to decode to a
// point of order 1, 2, 4 or 8.
bool Ed25519SmallOrder(const unsigned char* point) {
  static const unsigned char kSmallOrder[7][32] = {
      // y = 0 (order 4)
      {0},
      // y = 1 (order 1, the identity)
      {1},
      // the order-8 points
      {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
       0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
      {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
       0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
      // y = p - 1 (order 2)
      {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
      // y = p and y = p + 1: 0 and 1 again, not in canonical form
      {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
      {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
  };
  for (const auto& known : kSmallOrder) {
    unsigned char diff = (point[31] & 0x7f) ^ known[31];
    for (int i = 0; i < 31; ++i) diff |= point[i] ^ known[i];
    if (diff == 0) return true;
  }
  return false;
}

// cryptoPkeyVerify(handle, hash, signature, data, padding?, saltLength?) -> boolean
NativeResult CryptoPkeyVerify(NativeCall& call) {
  auto params = SignatureArgs(call, 2);
  if (!params.ok()) return params.status();
  EVP_PKEY* pkey = params->pkey;
  std::string_view signature = params->bytes[0];
  std::string_view data = params->bytes[1];
  auto result = [&](bool value) { return v8::Boolean::New(call.isolate(), value).As<v8::Value>(); };
  if (EVP_PKEY_is_a(pkey, "ED25519")) {
    // WebCrypto's Ed25519 verify: false when the public key or the
    // signature's R is a small-order point (OpenSSL accepts them).
    unsigned char key[32];
    size_t key_length = sizeof(key);
    if (signature.size() != 64) return result(false);
    if (EVP_PKEY_get_raw_public_key(pkey, key, &key_length) != 1 || key_length != 32) {
      return Operation("verification failed");
    }
    if (Ed25519SmallOrder(key) || Ed25519SmallOrder(U(signature))) return result(false);
  }
  std::string der(signature);
  if (params->ec) {
    auto converted = P1363ToDer(pkey, signature, der);
    if (!converted.ok()) return converted.status();
    if (!*converted) return result(false);
  }
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, params->md, nullptr, pkey) != 1 ||
      (params->rsa && !SetRsaPadding(pctx, params->padding, params->salt_length))) {
    return Operation("verification failed");
  }
  return result(EVP_DigestVerify(ctx.get(), U(der), der.size(), U(data), data.size()) == 1);
}

// cryptoPkeyDerive(privateHandle, publicHandle) -> the shared secret (ECDH or
// X25519).
NativeResult CryptoPkeyDerive(NativeCall& call) {
  auto mine = HandleArg(call, 0);
  if (!mine.ok()) return mine.status();
  auto peer = HandleArg(call, 1);
  if (!peer.ok()) return peer.status();
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, (*mine)->pkey, nullptr));
  size_t length = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), (*peer)->pkey) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1) {
    return Operation("key agreement failed");
  }
  std::string secret(length, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) != 1) {
    return Operation("key agreement failed");
  }
  secret.resize(length);
  auto bytes = call.Bytes(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  return bytes.As<v8::Value>();
}

// RSA-OAEP with MGF1 over `md`, of `data` into `out`.
Status RsaOaepInto(bool encrypt, EVP_PKEY* pkey, const EVP_MD* md, std::string_view label,
                   std::string_view data, std::string& out) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx ||
      (encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get())) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
    return Operation("RSA-OAEP setup failed");
  }
  if (!label.empty()) {
    // OpenSSL takes ownership of the label.
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(label.data(), label.size()));
    if (copy == nullptr ||
        EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, static_cast<int>(label.size())) != 1) {
      OPENSSL_free(copy);
      return Operation("RSA-OAEP setup failed");
    }
  }
  auto run = [&](unsigned char* bytes, size_t* length) {
    return encrypt ? EVP_PKEY_encrypt(ctx.get(), bytes, length, U(data), data.size())
                   : EVP_PKEY_decrypt(ctx.get(), bytes, length, U(data), data.size());
  };
  size_t length = 0;
  if (run(nullptr, &length) != 1) return Operation("RSA-OAEP failed");
  out.assign(length, '\0');
  if (run(reinterpret_cast<unsigned char*>(out.data()), &length) != 1) {
    return Operation(encrypt ? "RSA-OAEP encryption failed (the data is too long?)"
                             : "RSA-OAEP decryption failed");
  }
  out.resize(length);
  return Status::Ok();
}

// cryptoRsaOaep(encrypt, handle, hash, label, data) -> Promise<Uint8Array>,
// off the serving thread (decrypting with a 16,384-bit key is slow).
NativeResult CryptoRsaOaep(NativeCall& call) {
  bool encrypt = call.BoolArg(0);
  auto handle = HandleArg(call, 1);
  if (!handle.ok()) return handle.status();
  auto hash = call.StringArg(2);
  if (!hash.ok()) return hash.status();
  auto label = call.BytesArg(3);
  if (!label.ok()) return label.status();
  auto data = call.BytesArg(4);
  if (!data.ok()) return data.status();
  const EVP_MD* md = DigestNamed(*hash);
  if (md == nullptr) return DomException("NotSupportedError", "unknown hash " + *hash);
  return RunCryptoBytesJob(
      call, [encrypt, md, pkey = std::make_shared<Pkey>(SharedRef((*handle)->pkey)),
             label = std::string(*label), data = std::string(*data)](std::string& out) {
        return RsaOaepInto(encrypt, pkey->get(), md, label, data, out);
      });
}

// node:crypto's key formats: PEM or DER in the structures Node names.
// Returns OpenSSL's input structure for `type` ("" lets the decoder find it).
const char* StructureOf(std::string_view type) {
  if (type == "spki") return "SubjectPublicKeyInfo";
  if (type == "pkcs8") return "PrivateKeyInfo";
  if (type == "pkcs1" || type == "sec1") return "type-specific";
  return nullptr;
}

// A passphrase callback that gives none: an encrypted key fails to decode
// instead of OpenSSL asking a terminal (and an encrypted PKCS #8 key's own
// iteration count, which the worker chooses, never runs).
int NoPassphrase(char*, size_t, size_t*, const OSSL_PARAM[], void*) { return 0; }

Pkey DecodeKey(std::string_view data, const char* input, const char* structure,
               const char* key_type, int selection) {
  EVP_PKEY* pkey = nullptr;
  base::OpenSslPtr<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free> ctx(OSSL_DECODER_CTX_new_for_pkey(
      &pkey, input, structure, key_type, selection, nullptr, nullptr));
  if (!ctx || OSSL_DECODER_CTX_set_passphrase_cb(ctx.get(), NoPassphrase, nullptr) != 1) {
    return nullptr;
  }
  const unsigned char* cursor = U(data);
  size_t left = data.size();
  if (OSSL_DECODER_from_data(ctx.get(), &cursor, &left) != 1) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return Pkey(pkey);
}

// cryptoPkeyParse(data, format, type, private) -> handle, or a string saying
// why not: format "pem" or "der"; type "spki", "pkcs8", "pkcs1", "sec1" or
// "" (PEM: any); private: a private key is wanted, else a public key (from
// a private key's material too, as Node's createPublicKey does).
NativeResult CryptoPkeyParse(NativeCall& call) {
  auto data = call.BytesArg(0);
  if (!data.ok()) return data.status();
  auto format = call.StringArg(1);
  if (!format.ok()) return format.status();
  auto type = call.StringArg(2);
  if (!type.ok()) return type.status();
  bool want_private = call.BoolArg(3);
  const char* input = *format == "pem" ? "PEM" : "DER";
  const char* structure = StructureOf(*type);
  const char* key_type = *type == "pkcs1" ? "RSA" : *type == "sec1" ? "EC" : nullptr;
  Pkey pkey;
  bool is_private = true;
  if (*type != "spki") {
    pkey = DecodeKey(*data, input, structure, key_type, EVP_PKEY_KEYPAIR);
  }
  if (!pkey && !want_private && *type != "pkcs8" && *type != "sec1") {
    pkey = DecodeKey(*data, input, structure, key_type, EVP_PKEY_PUBLIC_KEY);
    is_private = false;
  }
  ERR_clear_error();
  if (!pkey) return call.String("unsupported").As<v8::Value>();
  if (KindOf(pkey.get()).empty()) return call.String("key type").As<v8::Value>();
  if (is_private && !want_private) {
    Pkey copy = PublicCopy(pkey.get());
    if (!copy) return call.String("unsupported").As<v8::Value>();
    return NewHandle(call, std::move(copy), false);
  }
  return NewHandle(call, std::move(pkey), is_private);
}

// cryptoPkeyEncode(handle, format, type) -> Uint8Array: the key as PEM text
// or DER, in Node's structure `type` ("spki", "pkcs8", "pkcs1", "sec1").
NativeResult CryptoPkeyEncode(NativeCall& call) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  auto format = call.StringArg(1);
  if (!format.ok()) return format.status();
  auto type = call.StringArg(2);
  if (!type.ok()) return type.status();
  const char* structure = StructureOf(*type);
  if (structure == nullptr) return TypeError("unknown key encoding " + *type);
  bool private_part =
      *type == "pkcs8" || *type == "sec1" || (*type == "pkcs1" && (*handle)->is_private);
  if (private_part && !(*handle)->is_private) return TypeError("not a private key");
  base::OpenSslPtr<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free> ctx(OSSL_ENCODER_CTX_new_for_pkey(
      (*handle)->pkey, private_part ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
      *format == "pem" ? "PEM" : "DER", structure, nullptr));
  unsigned char* bytes = nullptr;
  size_t length = 0;
  if (!ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx.get()) == 0 ||
      OSSL_ENCODER_to_data(ctx.get(), &bytes, &length) != 1) {
    ERR_clear_error();
    return Failed("the key cannot be encoded as " + *type);
  }
  std::string out(reinterpret_cast<char*>(bytes), length);
  OPENSSL_clear_free(bytes, length);
  auto result = NewUint8Array(call.isolate(), out);
  OPENSSL_cleanse(out.data(), out.size());
  if (!result.ok()) return result.status();
  return result->As<v8::Value>();
}

// What node:crypto's sign and verify take: the key (argument 0), a digest
// by OpenSSL's name ("" for none: Ed25519, Ed448), whether `data`
// (argument 3) is already that digest's output (Sign/Verify objects hash as
// they are fed), the RSA padding (RSA_PKCS1_PADDING or
// RSA_PKCS1_PSS_PADDING) and PSS salt length, and the ECDSA signature form
// ("der" or "ieee-p1363").
struct NodeSignatureArgs {
  EVP_PKEY* pkey;
  const EVP_MD* md;
  bool prehashed;
  std::string_view data;  // into the worker's buffer: use at once
  int padding;
  int salt_length;
  bool p1363;
};

StatusOr<NodeSignatureArgs> ReadNodeSignatureArgs(NativeCall& call) {
  auto handle = HandleArg(call, 0);
  if (!handle.ok()) return handle.status();
  auto hash = call.StringArg(1);
  if (!hash.ok()) return hash.status();
  auto data = call.BytesArg(3);
  if (!data.ok()) return data.status();
  auto padding = call.NumberArg(4);
  if (!padding.ok()) return padding.status();
  auto salt = call.NumberArg(5);
  if (!salt.ok()) return salt.status();
  auto encoding = call.StringArg(6);
  if (!encoding.ok()) return encoding.status();
  NodeSignatureArgs args{(*handle)->pkey,
                         nullptr,
                         call.BoolArg(2),
                         *data,
                         static_cast<int>(*padding),
                         static_cast<int>(*salt),
                         *encoding == "ieee-p1363"};
  bool one_shot_kind = EVP_PKEY_is_a(args.pkey, "ED25519") || EVP_PKEY_is_a(args.pkey, "ED448");
  if (!hash->empty() && !one_shot_kind) {
    args.md = EVP_get_digestbyname(hash->c_str());
    if (args.md == nullptr) return TypeError("Invalid digest");
  } else if (!one_shot_kind) {
    args.md = EVP_sha256();  // OpenSSL 3's default, as Node gets it
  }
  if (one_shot_kind && args.prehashed) return TypeError("Ed25519 and Ed448 sign whole messages");
  if (!EVP_PKEY_is_a(args.pkey, "RSA") && !EVP_PKEY_is_a(args.pkey, "EC") && !one_shot_kind) {
    return TypeError("the key cannot sign");
  }
  return args;
}

// Sets up `pctx` for a signature over a digest or a message.
bool SetNodeSignatureParams(EVP_PKEY_CTX* pctx, const NodeSignatureArgs& args) {
  if (!EVP_PKEY_is_a(args.pkey, "RSA")) return true;
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, args.padding) != 1) return false;
  return args.padding != RSA_PKCS1_PSS_PADDING ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, args.salt_length) == 1;
}

Status NodeSignInto(EVP_PKEY* pkey, const NodeSignatureArgs& args, std::string_view data,
                    std::string& out) {
  // A signature over the digest (EVP_PKEY_sign) or over the message
  // (EVP_DigestSign), each asked first for its length, then made.
  PkeyCtx pkey_ctx;
  MdCtx md_ctx;
  bool ready;
  if (args.prehashed) {
    pkey_ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    ready = pkey_ctx && EVP_PKEY_sign_init(pkey_ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_signature_md(pkey_ctx.get(), args.md) == 1 &&
            SetNodeSignatureParams(pkey_ctx.get(), args);
  } else {
    md_ctx.reset(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    ready = md_ctx && EVP_DigestSignInit(md_ctx.get(), &pctx, args.md, nullptr, pkey) == 1 &&
            SetNodeSignatureParams(pctx, args);
  }
  auto run = [&](unsigned char* bytes, size_t* length) {
    return args.prehashed ? EVP_PKEY_sign(pkey_ctx.get(), bytes, length, U(data), data.size())
                          : EVP_DigestSign(md_ctx.get(), bytes, length, U(data), data.size());
  };
  size_t length = 0;
  std::string signature;
  if (ready && run(nullptr, &length) == 1) {
    signature.assign(length, '\0');
    ready = run(reinterpret_cast<unsigned char*>(signature.data()), &length) == 1;
  } else {
    ready = false;
  }
  ERR_clear_error();
  if (!ready) return Failed("signing failed");
  signature.resize(length);
  if (args.p1363 && EVP_PKEY_is_a(pkey, "EC")) return DerToP1363(pkey, signature, out);
  out = std::move(signature);
  return Status::Ok();
}

// cryptoNodeSign(handle, hash, prehashed, data, padding, saltLength,
// dsaEncoding, async) -> Uint8Array, or with `async` a promise of one
// (signed off the serving thread). Inline, an RSA key has at most
// kMaxSyncRsaSignBits.
NativeResult CryptoNodeSign(NativeCall& call) {
  auto args = ReadNodeSignatureArgs(call);
  if (!args.ok()) return args.status();
  auto handle = HandleArg(call, 0);
  if (!(*handle)->is_private) return TypeError("a private key is needed to sign");
  if (call.BoolArg(7)) {
    return RunCryptoBytesJob(call,
                             [args = *args, pkey = std::make_shared<Pkey>(SharedRef(args->pkey)),
                              data = std::string(args->data)](std::string& out) {
                               return NodeSignInto(pkey->get(), args, data, out);
                             });
  }
  if (EVP_PKEY_is_a(args->pkey, "RSA") && EVP_PKEY_get_bits(args->pkey) > kMaxSyncRsaSignBits) {
    return RangeError(fmt::format(
        "RSA keys over {} bits sign only off the serving thread: pass a callback to sign()",
        kMaxSyncRsaSignBits));
  }
  std::string out;
  EDGE_RETURN_IF_ERROR(NodeSignInto(args->pkey, *args, args->data, out));
  return call.Bytes(out).As<v8::Value>();
}

// cryptoNodeVerify(handle, hash, prehashed, data, padding, saltLength,
// dsaEncoding, signature) -> boolean.
NativeResult CryptoNodeVerify(NativeCall& call) {
  auto args = ReadNodeSignatureArgs(call);
  if (!args.ok()) return args.status();
  auto signature = call.BytesArg(7);
  if (!signature.ok()) return signature.status();
  EVP_PKEY* pkey = args->pkey;
  auto result = [&](bool value) { return v8::Boolean::New(call.isolate(), value).As<v8::Value>(); };
  std::string der(*signature);
  if (args->p1363 && EVP_PKEY_is_a(pkey, "EC")) {
    auto converted = P1363ToDer(pkey, *signature, der);
    if (!converted.ok()) return converted.status();
    if (!*converted) return result(false);
  }
  int verified;
  if (args->prehashed) {
    PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), args->md) != 1 ||
        !SetNodeSignatureParams(ctx.get(), *args)) {
      ERR_clear_error();
      return Failed("verification failed");
    }
    verified = EVP_PKEY_verify(ctx.get(), U(der), der.size(), U(args->data), args->data.size());
  } else {
    MdCtx ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, args->md, nullptr, pkey) != 1 ||
        !SetNodeSignatureParams(pctx, *args)) {
      ERR_clear_error();
      return Failed("verification failed");
    }
    verified = EVP_DigestVerify(ctx.get(), U(der), der.size(), U(args->data), args->data.size());
  }
  ERR_clear_error();
  return result(verified == 1);
}

}  // namespace

void RegisterCryptoPkeyNatives(NativeRegistry& registry) {
  registry.Add({{"cryptoPkeyGenerate", CryptoPkeyGenerate},
                {"cryptoPkeyPublic", CryptoPkeyPublic},
                {"cryptoPkeyInfo", CryptoPkeyInfo},
                {"cryptoPkeyImport", CryptoPkeyImport},
                {"cryptoPkeyExport", CryptoPkeyExport},
                {"cryptoPkeyJwk", CryptoPkeyJwk},
                {"cryptoPkeySign", CryptoPkeySign},
                {"cryptoPkeyVerify", CryptoPkeyVerify},
                {"cryptoPkeyDerive", CryptoPkeyDerive},
                {"cryptoRsaOaep", CryptoRsaOaep},
                {"cryptoPkeyParse", CryptoPkeyParse},
                {"cryptoPkeyEncode", CryptoPkeyEncode},
                {"cryptoNodeSign", CryptoNodeSign},
                {"cryptoNodeVerify", CryptoNodeVerify}});
  registry.AddConstant("cryptoMaxRsaModulusBits", kMaxRsaModulusBits);
}

}  // namespace edge::runtime
