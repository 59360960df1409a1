// The cipher work behind crypto.subtle's AES-GCM, AES-CBC, AES-CTR and AES-KW
// (https://w3c.github.io/webcrypto/#aes-gcm and following), and AES-OCB and
// ChaCha20-Poly1305 (https://wicg.github.io/webcrypto-modern-algos/), on
// OpenSSL's EVP_CIPHER. runtime/crypto/subtle.js has already checked the parameters'
// shapes (key, IV and tag lengths); any failure here is an OperationError.
#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/openssl_ptr.h"
#include "runtime/crypto/crypto_job.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

using CipherCtx = base::OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using Cipher = base::OpenSslPtr<EVP_CIPHER, EVP_CIPHER_free>;

const unsigned char* U(std::string_view bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

edge::Status Failed(std::string what) { return DomException("OperationError", std::move(what)); }

// Fetches "AES-<bits>-<mode>" for a 16, 24 or 32-byte key.
Cipher FetchAes(size_t key_bytes, const char* mode) {
  if (key_bytes != 16 && key_bytes != 24 && key_bytes != 32) return nullptr;
  std::string name = "AES-" + std::to_string(key_bytes * 8) + "-" + mode;
  return Cipher(EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr));
}

// Runs `input` through an initialized context, appending to `out`.
bool Update(EVP_CIPHER_CTX* ctx, std::string_view input, std::string& out) {
  if (input.empty()) return true;
  size_t start = out.size();
  out.resize(start + input.size() + EVP_MAX_BLOCK_LENGTH);
  int written = 0;
  if (EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data() + start), &written,
                       U(input), static_cast<int>(input.size())) != 1) {
    return false;
  }
  out.resize(start + written);
  return true;
}

bool Final(EVP_CIPHER_CTX* ctx, std::string& out) {
  size_t start = out.size();
  out.resize(start + EVP_MAX_BLOCK_LENGTH);
  int written = 0;
  if (EVP_CipherFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data() + start), &written) !=
      1) {
    return false;
  }
  out.resize(start + written);
  return true;
}

// An AEAD cipher (AES-GCM, AES-OCB, ChaCha20-Poly1305) over `input`:
// encryption appends the tag; decryption expects it at the end of `input`.
// OCB encodes the tag length into its nonce, so its tag length is set before
// the key and iv (`tag_length_first`); GCM and ChaCha20-Poly1305 only need it
// for the tag itself.
edge::Status AeadInto(const char* what, const EVP_CIPHER* cipher, bool tag_length_first,
                      bool encrypt, std::string_view key, std::string_view iv,
                      std::string_view input, std::string_view aad, size_t tag_length,
                      std::string& out) {
  std::string name(what);
  std::string_view tag;
  if (!encrypt) {
    if (input.size() < tag_length) return Failed("The data is shorter than the tag");
    tag = input.substr(input.size() - tag_length);
    input = input.substr(0, input.size() - tag_length);
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex2(ctx.get(), cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(iv.size()),
                          nullptr) != 1 ||
      (tag_length_first && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG,
                                               static_cast<int>(tag_length), nullptr) != 1) ||
      EVP_CipherInit_ex2(ctx.get(), nullptr, U(key), U(iv), encrypt ? 1 : 0, nullptr) != 1) {
    return Failed(name + " setup failed");
  }
  if (!aad.empty()) {
    int ignored = 0;
    if (EVP_CipherUpdate(ctx.get(), nullptr, &ignored, U(aad), static_cast<int>(aad.size())) !=
        1) {
      return Failed(name + " failed on the additional data");
    }
  }
  if (!Update(ctx.get(), input, out)) return Failed(name + " failed");
  if (!encrypt) {
    std::string tag_copy(tag);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag_length),
                            tag_copy.data()) != 1 ||
        !Final(ctx.get(), out)) {
      return Failed(
          ("The " + name + " tag does not match (wrong key, iv, data or additional data)"));
    }
    return edge::Status::Ok();
  }
  if (!Final(ctx.get(), out)) return Failed(name + " failed");
  std::string tag_out(tag_length, '\0');
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_length),
                          tag_out.data()) != 1) {
    return Failed(name + " could not produce the tag");
  }
  out += tag_out;
  return edge::Status::Ok();
}

// The arguments every AEAD native takes: (encrypt, key, iv, data,
// additionalData, tagBytes).
struct AeadArgs {
  bool encrypt = false;
  std::string_view key, iv, data, aad;
  size_t tag_length = 0;
};

edge::Status ReadAeadArgs(NativeCall& call, AeadArgs& args) {
  args.encrypt = call.BoolArg(0);
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto iv = call.BytesArg(2);
  if (!iv.ok()) return iv.status();
  auto data = call.BytesArg(3);
  if (!data.ok()) return data.status();
  auto aad = call.BytesArg(4);
  if (!aad.ok()) return aad.status();
  auto tag_bytes = call.NumberArg(5);
  if (!tag_bytes.ok()) return tag_bytes.status();
  // subtle.js checked the tag length; this keeps a bad call from reaching
  // OpenSSL with a size it would read past.
  if (!(*tag_bytes >= 1 && *tag_bytes <= 16)) return Failed("Bad tag length");
  args.key = *key;
  args.iv = *iv;
  args.data = *data;
  args.aad = *aad;
  args.tag_length = static_cast<size_t>(*tag_bytes);
  return edge::Status::Ok();
}

// Runs one AEAD cipher over the call's arguments, inline or as a job
// (crypto_job.h). `fetch` picks the cipher for a key size (null: wrong
// size); `iv_ok` says which iv sizes it takes.
NativeResult RunAead(NativeCall& call, const char* what, Cipher (*fetch)(size_t key_bytes),
                     bool (*iv_ok)(size_t iv_bytes), bool tag_length_first) {
  AeadArgs args;
  edge::Status status = ReadAeadArgs(call, args);
  if (!status.ok()) return status;
  std::string name(what);
  Cipher cipher = fetch(args.key.size());
  if (!cipher) return Failed(name + ": wrong key size");
  if (!iv_ok(args.iv.size())) return Failed(name + ": wrong iv size");
  bool encrypt = args.encrypt;
  size_t tag_length = args.tag_length;
  // The cipher is shared with the job (EVP_CIPHER_fetch results are
  // reference counted, and free to use from another thread).
  std::shared_ptr<EVP_CIPHER> shared(cipher.release(), EVP_CIPHER_free);
  return RunSizedCryptoBytesWork(
      call, {args.key, args.iv, args.data, args.aad},
      [what, shared, tag_length_first, encrypt, tag_length](
          const std::vector<std::string_view>& in, std::string& out) {
        return AeadInto(what, shared.get(), tag_length_first, encrypt, in[0], in[1], in[2], in[3],
                        tag_length, out);
      });
}

// cryptoAesGcm(encrypt, key, iv, data, additionalData, tagBytes) ->
// Uint8Array, or a promise of one for large data (crypto_job.h).
NativeResult CryptoAesGcm(NativeCall& call) {
  return RunAead(
      call, "AES-GCM", [](size_t key_bytes) { return FetchAes(key_bytes, "GCM"); },
      [](size_t iv_bytes) { return iv_bytes > 0; }, false);
}

// AES-OCB (RFC 7253; the WebCrypto "modern algorithms" proposal): an iv of
// 1 to 15 bytes, a tag of 8, 12 or 16 bytes (checked by subtle.js).
NativeResult CryptoAesOcb(NativeCall& call) {
  return RunAead(
      call, "AES-OCB", [](size_t key_bytes) { return FetchAes(key_bytes, "OCB"); },
      [](size_t iv_bytes) { return iv_bytes >= 1 && iv_bytes <= 15; }, true);
}

// ChaCha20-Poly1305 (RFC 8439): a 32-byte key, a 12-byte iv, a 16-byte tag.
NativeResult CryptoChaCha20Poly1305(NativeCall& call) {
  return RunAead(
      call, "ChaCha20-Poly1305",
      [](size_t key_bytes) {
        return key_bytes == 32 ? Cipher(EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr))
                               : Cipher(nullptr);
      },
      [](size_t iv_bytes) { return iv_bytes == 12; }, false);
}

// AES-CBC with PKCS#7 padding.
edge::Status AesCbcInto(bool encrypt, std::string_view key, std::string_view iv,
                        std::string_view data, std::string& out) {
  Cipher cipher = FetchAes(key.size(), "CBC");
  if (!cipher) return Failed("AES-CBC needs a 128, 192 or 256-bit key");
  if (iv.size() != 16) return Failed("AES-CBC needs a 16-byte iv");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex2(ctx.get(), cipher.get(), U(key), U(iv), encrypt ? 1 : 0, nullptr) != 1) {
    return Failed("AES-CBC setup failed");
  }
  if (!Update(ctx.get(), data, out) || !Final(ctx.get(), out)) {
    return Failed(encrypt ? "AES-CBC encryption failed"
                          : "AES-CBC decryption failed (bad padding)");
  }
  return edge::Status::Ok();
}

// cryptoAesCbc(encrypt, key, iv, data) -> Uint8Array, or a promise of one
// for large data (crypto_job.h).
NativeResult CryptoAesCbc(NativeCall& call) {
  bool encrypt = call.BoolArg(0);
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto iv = call.BytesArg(2);
  if (!iv.ok()) return iv.status();
  auto data = call.BytesArg(3);
  if (!data.ok()) return data.status();
  return RunSizedCryptoBytesWork(
      call, {*key, *iv, *data}, [encrypt](const std::vector<std::string_view>& in, std::string& out) {
        return AesCbcInto(encrypt, in[0], in[1], in[2], out);
      });
}

// Runs one AES-CTR pass from `counter` (which OpenSSL increments as a whole
// 128-bit number).
bool CtrPass(const EVP_CIPHER* cipher, std::string_view key, const unsigned char* counter,
             std::string_view input, std::string& out) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  return ctx && EVP_CipherInit_ex2(ctx.get(), cipher, U(key), counter, 1, nullptr) == 1 &&
         Update(ctx.get(), input, out) && Final(ctx.get(), out);
}

// Two AES-CTR passes for data whose counter wraps after its first `first`
// bytes: the first from `block`, the rest from `block` with its `bits`
// counter bits zeroed.
bool CtrPassesAroundWrap(const EVP_CIPHER* cipher, std::string_view key, unsigned char block[16],
                         int bits, std::string_view data, size_t first, std::string& out) {
  if (!CtrPass(cipher, key, block, data.substr(0, first), out)) return false;
  for (int bit = 0; bit < bits; bit++) block[15 - bit / 8] &= ~(1u << (bit % 8));
  return CtrPass(cipher, key, block, data.substr(first), out);
}

// AES-CTR. Only the rightmost `bits` bits of the counter block count, and
// they wrap around to zero, as the spec says; more blocks than that counter
// allows is an error.
edge::Status AesCtrInto(std::string_view key, std::string_view counter, int bits,
                        std::string_view data, std::string& out) {
  Cipher cipher = FetchAes(key.size(), "CTR");
  if (!cipher) return Failed("AES-CTR needs a 128, 192 or 256-bit key");
  if (counter.size() != 16 || bits < 1 || bits > 128) return Failed("Bad AES-CTR counter");
  unsigned char block[16];
  memcpy(block, counter.data(), 16);
  size_t blocks = (data.size() + 15) / 16;
  // How many blocks fit before the counter part wraps: 2^bits - value.
  // Only matters when bits < 64 (the data cannot have 2^64 blocks).
  if (bits < 64) {
    uint64_t value = 0;
    for (int i = 8; i < 16; i++) value = (value << 8) | block[i];
    uint64_t mask = (uint64_t{1} << bits) - 1;
    value &= mask;
    uint64_t total = uint64_t{1} << bits;
    if (blocks > total) return Failed("The data is too long for the AES-CTR counter length");
    uint64_t before_wrap = total - value;
    if (blocks > before_wrap) {
      size_t first = static_cast<size_t>(before_wrap) * 16;
      if (!CtrPassesAroundWrap(cipher.get(), key, block, bits, data, first, out)) {
        return Failed("AES-CTR failed");
      }
      return edge::Status::Ok();
    }
  } else if (bits < 128) {
    // The counter can only wrap if its bits above the low 64 are all ones and
    // the low 64 bits overflow; check the low 64 bits against the block count.
    uint64_t low = 0;
    for (int i = 8; i < 16; i++) low = (low << 8) | block[i];
    bool high_all_ones = true;
    for (int bit = 64; bit < bits; bit++) {
      if (!(block[15 - bit / 8] & (1u << (bit % 8)))) high_all_ones = false;
    }
    uint64_t remaining = ~low + 1;  // blocks until the low 64 bits wrap (0 means 2^64)
    if (high_all_ones && remaining != 0 && blocks > remaining) {
      size_t first = static_cast<size_t>(remaining) * 16;
      if (!CtrPassesAroundWrap(cipher.get(), key, block, bits, data, first, out)) {
        return Failed("AES-CTR failed");
      }
      return edge::Status::Ok();
    }
    // Otherwise a carry out of the low 64 bits stays inside the counter bits.
  }
  if (!CtrPass(cipher.get(), key, block, data, out)) return Failed("AES-CTR failed");
  return edge::Status::Ok();
}

// cryptoAesCtr(key, counter, lengthBits, data) -> Uint8Array, or a promise
// of one for large data (crypto_job.h).
NativeResult CryptoAesCtr(NativeCall& call) {
  auto key = call.BytesArg(0);
  if (!key.ok()) return key.status();
  auto counter = call.BytesArg(1);
  if (!counter.ok()) return counter.status();
  auto length_bits = call.NumberArg(2);
  if (!length_bits.ok()) return length_bits.status();
  auto data = call.BytesArg(3);
  if (!data.ok()) return data.status();
  int bits = static_cast<int>(*length_bits);
  return RunSizedCryptoBytesWork(
      call, {*key, *counter, *data}, [bits](const std::vector<std::string_view>& in, std::string& out) {
        return AesCtrInto(in[0], in[1], bits, in[2], out);
      });
}

// RFC 3394 key wrap. Unwrapping fails with an OperationError when the
// integrity check does not hold.
edge::Status AesKwInto(bool wrap, std::string_view key, std::string_view data, std::string& out) {
  Cipher cipher = FetchAes(key.size(), "WRAP");
  if (!cipher) return Failed("AES-KW needs a 128, 192 or 256-bit key");
  if (data.size() % 8 != 0 || data.size() < (wrap ? 16u : 24u)) {
    return Failed(wrap ? "AES-KW wraps a multiple of 8 bytes, at least 16"
                       : "AES-KW unwraps a multiple of 8 bytes, at least 24");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Failed("AES-KW setup failed");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher.get(), U(key), nullptr, wrap ? 1 : 0, nullptr) != 1) {
    return Failed("AES-KW setup failed");
  }
  if (!Update(ctx.get(), data, out) || !Final(ctx.get(), out)) {
    return Failed(wrap ? "AES-KW wrapping failed" : "AES-KW unwrapping failed (wrong key or data)");
  }
  return edge::Status::Ok();
}

// cryptoAesKw(wrap, key, data) -> Uint8Array, or a promise of one for large
// data (crypto_job.h).
NativeResult CryptoAesKw(NativeCall& call) {
  bool wrap = call.BoolArg(0);
  auto key = call.BytesArg(1);
  if (!key.ok()) return key.status();
  auto data = call.BytesArg(2);
  if (!data.ok()) return data.status();
  return RunSizedCryptoBytesWork(
      call, {*key, *data}, [wrap](const std::vector<std::string_view>& in, std::string& out) {
        return AesKwInto(wrap, in[0], in[1], out);
      });
}

}  // namespace

void RegisterCryptoCipherNatives(NativeRegistry& registry) {
  registry.Add({{"cryptoAesGcm", CryptoAesGcm},
                {"cryptoAesCbc", CryptoAesCbc},
                {"cryptoAesCtr", CryptoAesCtr},
                {"cryptoAesKw", CryptoAesKw},
                {"cryptoAesOcb", CryptoAesOcb},
                {"cryptoChaCha20Poly1305", CryptoChaCha20Poly1305}});
}

}  // namespace edge::runtime
