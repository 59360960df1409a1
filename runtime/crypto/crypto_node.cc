// The synchronous OpenSSL contexts behind node:crypto's Hash, Hmac, Cipheriv
// and Decipheriv (runtime/node/crypto.js): Node's API feeds them chunk by
// chunk and answers at once, so each lives in a handle
// (runtime/crypto/crypto_handle.h) that frees it when collected and is
// counted against the worker's memory budget. Each update costs time in
// proportion to bytes the worker already holds in its memory budget; none
// runs longer than hashing or encrypting that much (about 1 ms per MB).
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/openssl_ptr.h"
#include "runtime/crypto/crypto_handle.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

const unsigned char* U(std::string_view bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

Status Failed(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// A Hash (EVP_MD_CTX) or an Hmac (EVP_MAC_CTX); both null once digested.
struct HashState {
  static constexpr uint32_t kTag = 0x48415348;  // "HASH"
  EVP_MD_CTX* md = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  ~HashState() { Reset(); }
  void Reset() {
    EVP_MD_CTX_free(md);
    EVP_MAC_CTX_free(mac);
    md = nullptr;
    mac = nullptr;
  }
  bool done() const { return md == nullptr && mac == nullptr; }
};

// A digest by any name OpenSSL knows ("sha256", "SHA256", "RSA-SHA256",
// "sha512-256", ...), or null. Extendable-output functions (SHAKE) are left
// out: Node wants an output length for them, which node:crypto does not take.
const EVP_MD* NodeDigest(const std::string& name) {
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (md == nullptr || (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0) return nullptr;
  return md;
}

StatusOr<HashState*> HashArg(NativeCall& call) {
  auto* state = OwnedState<HashState>(call.arg(0));
  if (state == nullptr) return TypeError("not a hash handle");
  if (state->done()) return Failed("Digest already called");
  return state;
}

// nodeHashCreate(name, key?) -> a handle, or null for an unknown digest.
// With `key` (bytes) an HMAC.
NativeResult NodeHashCreate(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  const EVP_MD* md = NodeDigest(*name);
  if (md == nullptr) return v8::Null(call.isolate()).As<v8::Value>();
  auto state = std::make_unique<HashState>();
  if (call.arg(1)->IsUndefined()) {
    state->md = EVP_MD_CTX_new();
    if (state->md == nullptr || EVP_DigestInit_ex(state->md, md, nullptr) != 1) {
      return Failed("cannot start the digest");
    }
  } else {
    auto key = call.BytesArg(1);
    if (!key.ok()) return key.status();
    base::OpenSslPtr<EVP_MAC, EVP_MAC_free> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!mac) return Failed("HMAC is unavailable");
    state->mac = EVP_MAC_CTX_new(mac.get());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(EVP_MD_get0_name(md)), 0),
        OSSL_PARAM_construct_end(),
    };
    // A zero-length key is legal for HMAC; OpenSSL wants a non-null pointer.
    static const unsigned char kEmpty = 0;
    if (state->mac == nullptr ||
        EVP_MAC_init(state->mac, key->empty() ? &kEmpty : U(*key), key->size(), params) != 1) {
      return Failed("Invalid digest: " + *name);
    }
  }
  return NewOwningHandle(call.isolate(), std::move(state));
}

// nodeHashUpdate(handle, bytes)
NativeResult NodeHashUpdate(NativeCall& call) {
  auto state = HashArg(call);
  if (!state.ok()) return state.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  int ok = (*state)->md != nullptr ? EVP_DigestUpdate((*state)->md, bytes->data(), bytes->size())
                                   : EVP_MAC_update((*state)->mac, U(*bytes), bytes->size());
  if (ok != 1) return Failed("the digest failed");
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// nodeHashDigest(handle) -> Uint8Array; the context is freed.
NativeResult NodeHashDigest(NativeCall& call) {
  auto state = HashArg(call);
  if (!state.ok()) return state.status();
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t length = 0;
  int ok;
  if ((*state)->md != nullptr) {
    unsigned int md_length = 0;
    ok = EVP_DigestFinal_ex((*state)->md, out, &md_length);
    length = md_length;
  } else {
    ok = EVP_MAC_final((*state)->mac, out, &length, sizeof(out));
  }
  (*state)->Reset();
  if (ok != 1) return Failed("the digest failed");
  return call.Bytes(std::string_view(reinterpret_cast<char*>(out), length)).As<v8::Value>();
}

// nodeHashCopy(handle) -> a handle to a copy of the digest's state.
NativeResult NodeHashCopy(NativeCall& call) {
  auto state = HashArg(call);
  if (!state.ok()) return state.status();
  if ((*state)->md == nullptr) return TypeError("only a Hash can be copied");
  auto copy = std::make_unique<HashState>();
  copy->md = EVP_MD_CTX_new();
  if (copy->md == nullptr || EVP_MD_CTX_copy_ex(copy->md, (*state)->md) != 1) {
    return Failed("cannot copy the digest");
  }
  return NewOwningHandle(call.isolate(), std::move(copy));
}

// The ciphers node:crypto offers (getCiphers): AES in CBC, CTR, ECB and GCM
// modes, and Node's short names for CBC.
struct CipherName {
  const char* name;
  const char* openssl;
};
constexpr CipherName kCiphers[] = {
    {"aes-128-cbc", "AES-128-CBC"},   {"aes-192-cbc", "AES-192-CBC"},
    {"aes-256-cbc", "AES-256-CBC"},   {"aes-128-ctr", "AES-128-CTR"},
    {"aes-192-ctr", "AES-192-CTR"},   {"aes-256-ctr", "AES-256-CTR"},
    {"aes-128-ecb", "AES-128-ECB"},   {"aes-192-ecb", "AES-192-ECB"},
    {"aes-256-ecb", "AES-256-ECB"},   {"aes-128-gcm", "AES-128-GCM"},
    {"aes-192-gcm", "AES-192-GCM"},   {"aes-256-gcm", "AES-256-GCM"},
    {"aes128", "AES-128-CBC"},        {"aes192", "AES-192-CBC"},
    {"aes256", "AES-256-CBC"},        {"id-aes128-gcm", "AES-128-GCM"},
    {"id-aes192-gcm", "AES-192-GCM"}, {"id-aes256-gcm", "AES-256-GCM"},
};

using Cipher = base::OpenSslPtr<EVP_CIPHER, EVP_CIPHER_free>;

// The cipher named `name` (any ASCII case), or null.
Cipher FetchNodeCipher(const std::string& name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  for (const CipherName& known : kCiphers) {
    if (lower == known.name) return Cipher(EVP_CIPHER_fetch(nullptr, known.openssl, nullptr));
  }
  return nullptr;
}

// nodeCipherNames() -> [names]
NativeResult NodeCipherNames(NativeCall& call) {
  std::vector<v8::Local<v8::Value>> names;
  for (const CipherName& known : kCiphers) names.push_back(call.String(known.name));
  return NewArray(call.isolate(), names).As<v8::Value>();
}

// nodeCipherInfo(name) -> { keyLength, ivLength, blockSize, mode } or
// undefined for a cipher node:crypto does not offer.
NativeResult NodeCipherInfo(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  Cipher cipher = FetchNodeCipher(*name);
  if (!cipher) return v8::Undefined(call.isolate()).As<v8::Value>();
  const char* mode = "";
  switch (EVP_CIPHER_get_mode(cipher.get())) {
    case EVP_CIPH_CBC_MODE:
      mode = "cbc";
      break;
    case EVP_CIPH_CTR_MODE:
      mode = "ctr";
      break;
    case EVP_CIPH_ECB_MODE:
      mode = "ecb";
      break;
    case EVP_CIPH_GCM_MODE:
      mode = "gcm";
      break;
  }
  auto info = NewNullProtoObject(call.isolate());
  auto context = call.context();
  auto number = [&](int value) { return v8::Number::New(call.isolate(), value); };
  if (!DefineData(context, info, "keyLength", number(EVP_CIPHER_get_key_length(cipher.get()))) ||
      !DefineData(context, info, "ivLength", number(EVP_CIPHER_get_iv_length(cipher.get()))) ||
      !DefineData(context, info, "blockSize", number(EVP_CIPHER_get_block_size(cipher.get()))) ||
      !DefineData(context, info, "mode", call.String(mode))) {
    return PendingException();
  }
  return info.As<v8::Value>();
}

struct CipherState {
  static constexpr uint32_t kTag = 0x43495048;  // "CIPH"
  EVP_CIPHER_CTX* ctx = nullptr;
  bool encrypt = true;
  bool gcm = false;
  bool finished = false;
  int tag_length = 16;
  std::string tag;  // GCM: after an encryption's final
  ~CipherState() { EVP_CIPHER_CTX_free(ctx); }
};

StatusOr<CipherState*> CipherArg(NativeCall& call) {
  auto* state = OwnedState<CipherState>(call.arg(0));
  if (state == nullptr) return TypeError("not a cipher handle");
  return state;
}

// nodeCipherCreate(name, key, iv, encrypt, authTagLength) -> handle. The
// JS checked the name, the key and iv lengths (nodeCipherInfo) and the tag
// length; the context is made here.
NativeResult NodeCipherCreate(NativeCall& call) {
  auto name = call.StringArg(0);
  if (!name.ok()) return name.status();
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto iv = call.BytesArg(2);
  if (!iv.ok()) return iv.status();
  bool encrypt = call.BoolArg(3);
  auto tag_length = call.NumberArg(4);
  if (!tag_length.ok()) return tag_length.status();
  Cipher cipher = FetchNodeCipher(*name);
  if (!cipher) return Failed("Unknown cipher");
  if (static_cast<int>(key->size()) != EVP_CIPHER_get_key_length(cipher.get())) {
    return RangeError("Invalid key length");
  }
  auto state = std::make_unique<CipherState>();
  state->encrypt = encrypt;
  state->gcm = EVP_CIPHER_get_mode(cipher.get()) == EVP_CIPH_GCM_MODE;
  state->tag_length = static_cast<int>(*tag_length);
  if (state->gcm ? (iv->empty() || iv->size() > 1024)
                 : static_cast<int>(iv->size()) != EVP_CIPHER_get_iv_length(cipher.get())) {
    return TypeError("Invalid initialization vector");
  }
  if (state->gcm && !(state->tag_length >= 4 && state->tag_length <= 16)) {
    return TypeError("Invalid authentication tag length");
  }
  state->ctx = EVP_CIPHER_CTX_new();
  if (state->ctx == nullptr || EVP_CipherInit_ex2(state->ctx, cipher.get(), nullptr, nullptr,
                                                  encrypt ? 1 : 0, nullptr) != 1) {
    return Failed("cannot start the cipher");
  }
  if (state->gcm) {
    size_t iv_length = iv->size();
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_IVLEN, &iv_length),
                           OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(state->ctx, params) != 1) {
      return TypeError("Invalid initialization vector");
    }
  }
  if (EVP_CipherInit_ex2(state->ctx, nullptr, U(*key), iv->empty() ? nullptr : U(*iv),
                         encrypt ? 1 : 0, nullptr) != 1) {
    return Failed("cannot start the cipher");
  }
  return NewOwningHandle(call.isolate(), std::move(state));
}

// nodeCipherUpdate(handle, bytes) -> Uint8Array, or null once finished.
NativeResult NodeCipherUpdate(NativeCall& call) {
  auto state = CipherArg(call);
  if (!state.ok()) return state.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  if ((*state)->finished) return v8::Null(call.isolate()).As<v8::Value>();
  if (bytes->size() > static_cast<size_t>(INT32_MAX) - 32)
    return RangeError("the data is too long");
  // The output is as long as the input: the worker's budget must hold it
  // before it is made.
  EDGE_RETURN_IF_ERROR(CheckMemoryBudget(call.isolate(), bytes->size()));
  std::string out(bytes->size() + 32, '\0');
  int length = 0;
  if (EVP_CipherUpdate((*state)->ctx, reinterpret_cast<unsigned char*>(out.data()), &length,
                       U(*bytes), static_cast<int>(bytes->size())) != 1) {
    return Failed("Trying to add data in unsupported state");
  }
  out.resize(static_cast<size_t>(length));
  auto result = NewUint8Array(call.isolate(), out);
  OPENSSL_cleanse(out.data(), out.size());
  if (!result.ok()) return result.status();
  return result->As<v8::Value>();
}

// nodeCipherFinal(handle) -> Uint8Array, or a string saying why it failed:
// "finished", "auth" (a GCM tag that does not match, or none),
// "bad decrypt" (bad padding), "wrong final block length".
NativeResult NodeCipherFinal(NativeCall& call) {
  auto state = CipherArg(call);
  if (!state.ok()) return state.status();
  CipherState* s = *state;
  if (s->finished) return call.String("finished").As<v8::Value>();
  s->finished = true;
  unsigned char out[EVP_MAX_BLOCK_LENGTH];
  int length = 0;
  if (s->gcm && !s->encrypt && s->tag.empty()) return call.String("auth").As<v8::Value>();
  if (EVP_CipherFinal_ex(s->ctx, out, &length) != 1) {
    if (s->gcm) return call.String("auth").As<v8::Value>();
    // OpenSSL's reason decides between the two errors Node shows.
    const char* reason = ERR_reason_error_string(ERR_peek_last_error());
    ERR_clear_error();
    bool bad_length =
        reason != nullptr && std::strstr(reason, "wrong final block length") != nullptr;
    return call.String(bad_length || s->encrypt ? "wrong final block length" : "bad decrypt")
        .As<v8::Value>();
  }
  if (s->gcm && s->encrypt) {
    s->tag.assign(static_cast<size_t>(s->tag_length), '\0');
    if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, s->tag_length, s->tag.data()) != 1) {
      return Failed("cannot read the authentication tag");
    }
  }
  return call.Bytes(std::string_view(reinterpret_cast<char*>(out), length)).As<v8::Value>();
}

// nodeCipherSetAad(handle, bytes) -> false once data went through.
NativeResult NodeCipherSetAad(NativeCall& call) {
  auto state = CipherArg(call);
  if (!state.ok()) return state.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  int length = 0;
  bool ok = (*state)->gcm && !(*state)->finished && bytes->size() <= INT32_MAX &&
            EVP_CipherUpdate((*state)->ctx, nullptr, &length, U(*bytes),
                             static_cast<int>(bytes->size())) == 1;
  return v8::Boolean::New(call.isolate(), ok).As<v8::Value>();
}

// nodeCipherSetAuthTag(handle, bytes) -> false when the cipher cannot take it.
NativeResult NodeCipherSetAuthTag(NativeCall& call) {
  auto state = CipherArg(call);
  if (!state.ok()) return state.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  CipherState* s = *state;
  bool ok = s->gcm && !s->encrypt && !s->finished && s->tag.empty() && bytes->size() >= 4 &&
            bytes->size() <= 16 &&
            EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(bytes->size()),
                                const_cast<char*>(bytes->data())) == 1;
  if (ok) s->tag.assign(*bytes);
  return v8::Boolean::New(call.isolate(), ok).As<v8::Value>();
}

// nodeCipherGetAuthTag(handle) -> Uint8Array, or undefined before an
// encryption's final.
NativeResult NodeCipherGetAuthTag(NativeCall& call) {
  auto state = CipherArg(call);
  if (!state.ok()) return state.status();
  CipherState* s = *state;
  if (!s->gcm || !s->encrypt || s->tag.empty())
    return v8::Undefined(call.isolate()).As<v8::Value>();
  return call.Bytes(s->tag).As<v8::Value>();
}

// nodeCipherSetAutoPadding(handle, on) -> false once finished.
NativeResult NodeCipherSetAutoPadding(NativeCall& call) {
  auto state = CipherArg(call);
  if (!state.ok()) return state.status();
  bool ok = !(*state)->finished &&
            EVP_CIPHER_CTX_set_padding((*state)->ctx, call.BoolArg(1) ? 1 : 0) == 1;
  return v8::Boolean::New(call.isolate(), ok).As<v8::Value>();
}

}  // namespace

void RegisterCryptoNodeNatives(NativeRegistry& registry) {
  registry.Add({{"nodeHashCreate", NodeHashCreate},
                {"nodeHashUpdate", NodeHashUpdate},
                {"nodeHashDigest", NodeHashDigest},
                {"nodeHashCopy", NodeHashCopy},
                {"nodeCipherNames", NodeCipherNames},
                {"nodeCipherInfo", NodeCipherInfo},
                {"nodeCipherCreate", NodeCipherCreate},
                {"nodeCipherUpdate", NodeCipherUpdate},
                {"nodeCipherFinal", NodeCipherFinal},
                {"nodeCipherSetAad", NodeCipherSetAad},
                {"nodeCipherSetAuthTag", NodeCipherSetAuthTag},
                {"nodeCipherGetAuthTag", NodeCipherGetAuthTag},
                {"nodeCipherSetAutoPadding", NodeCipherSetAutoPadding}});
}

}  // namespace edge::runtime
