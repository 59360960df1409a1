#include "gateway/http/tls_context.h"

#include <fmt/core.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

#include "base/ascii.h"

namespace edge::gateway {

namespace {

// SSL_write is fed at most this much at a time, and its records are taken
// out after each slice, so the output BIO (whose buffer never shrinks) stays
// small however much a single write carries.
constexpr size_t kWriteSlice = 64 * 1024;

// Lower case, without the trailing dot of a fully qualified name.
std::string NormalizeHost(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return base::AsciiLower(name);
}

// The first (root) error on this thread's OpenSSL error queue, in OpenSSL's
// words, and empties the queue (it is per thread, and shared with every other
// OpenSSL user on the thread; the later entries only repeat the callers).
std::string TakeOpenSslErrors() {
  const char* data = nullptr;
  int flags = 0;
  unsigned long error = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
  std::string text;
  if (error == 0) {
    text = "unknown error";
  } else if (ERR_SYSTEM_ERROR(error)) {
    text = std::error_code(ERR_GET_REASON(error), std::generic_category()).message();
  } else if (const char* reason = ERR_reason_error_string(error); reason != nullptr) {
    text = reason;
  } else {
    text = fmt::format("error {:#x}", error);
  }
  if (data != nullptr && *data != '\0' && (flags & ERR_TXT_STRING) != 0) {
    text += fmt::format(" ({})", data);
  }
  ERR_clear_error();
  return text;
}

// Keys protected by a passphrase are not supported: without this OpenSSL
// would prompt on the terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

// ALPN: HTTP/1.1 is all this server speaks. Select it when offered (so a
// client offering h2 first still gets HTTP/1.1); otherwise go on without ALPN
// rather than fail, as a client that insists on h2 will hang up by itself.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  static constexpr std::string_view kHttp11 = "http/1.1";
  for (unsigned int i = 0; i < in_length;) {
    unsigned int length = in[i];
    if (length > in_length - i - 1) break;
    const unsigned char* name = in + i + 1;
    if (length == kHttp11.size() && std::memcmp(name, kHttp11.data(), length) == 0) {
      *out = name;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// A host pattern from the configuration: a name, or "*." and a name.
bool ValidHostPattern(std::string_view host) {
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.empty() || host.front() == '.') return false;
  for (char c : host) {
    if (c == '*' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// TlsContext

StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(
    const std::vector<TlsCertificate>& certificates) {
  if (certificates.empty()) {
    return Status(ErrorCode::kInvalidInput, "TLS needs at least one certificate");
  }
  std::shared_ptr<TlsContext> context(new TlsContext());
  for (const TlsCertificate& certificate : certificates) {
    EDGE_RETURN_IF_ERROR(context->Add(certificate));
  }
  return context;
}

TlsContext::~TlsContext() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

Status TlsContext::Add(const TlsCertificate& certificate) {
  const std::string& cert_path = certificate.cert_path;
  const std::string& key_path = certificate.key_path;
  if (certificate.hosts.empty()) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("the TLS certificate {} lists no hosts", cert_path));
  }
  for (const std::string& host : certificate.hosts) {
    if (!ValidHostPattern(host)) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("invalid TLS host \"{}\" for {}", host, cert_path));
    }
  }
  auto fail = [](std::string what) {
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", what, TakeOpenSslErrors()));
  };

  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return fail("cannot create a TLS context");
  contexts_.push_back(ctx);  // owned from here on, even if the rest fails
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation is an attack surface HTTP/1.1 does not need, and without
  // it writing never has to wait for the peer.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  // Idle keep-alive connections give their record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  // Set on every context: OpenSSL consults the one the connection has at
  // that moment, which is the first until the SNI name is known.
  SSL_CTX_set_tlsext_servername_callback(ctx, OnServerName);
  SSL_CTX_set_tlsext_servername_arg(ctx, this);

  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    return fail(fmt::format("cannot load the TLS certificate chain {}", cert_path));
  }
  BIO* key_file = BIO_new_file(key_path.c_str(), "r");
  EVP_PKEY* key = key_file != nullptr
                      ? PEM_read_bio_PrivateKey(key_file, nullptr, NoPassphrase, nullptr)
                      : nullptr;
  BIO_free(key_file);
  if (key == nullptr) {
    return fail(
        fmt::format("cannot load the TLS private key {} (unencrypted PEM expected)", key_path));
  }
  Status status;
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
    status = fail(fmt::format("the TLS private key {} does not match the certificate {}", key_path,
                              cert_path));
  } else if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    status = fail(fmt::format("cannot use the TLS private key {}", key_path));
  }
  EVP_PKEY_free(key);
  EDGE_RETURN_IF_ERROR(status);

  size_t index = contexts_.size() - 1;
  for (const std::string& host : certificate.hosts) {
    if (host.starts_with("*.")) {
      wildcard_.emplace(NormalizeHost(host.substr(2)), index);
    } else {
      exact_.emplace(NormalizeHost(host), index);
    }
  }
  return Status::Ok();
}

size_t TlsContext::Select(std::string_view server_name) const {
  std::string host = NormalizeHost(server_name);
  if (host.empty()) return 0;
  if (auto it = exact_.find(host); it != exact_.end()) return it->second;
  size_t dot = host.find('.');
  if (dot != std::string::npos && dot > 0) {
    if (auto it = wildcard_.find(host.substr(dot + 1)); it != wildcard_.end()) return it->second;
  }
  return 0;
}

// Runs during the handshake, once the client's hello is read: switches the
// connection to the certificate for the SNI name. No name, or no match: the
// connection keeps the first certificate.
int TlsContext::OnServerName(SSL* ssl, int* alert, void* arg) {
  auto* self = static_cast<TlsContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  size_t index = self->Select(name);
  if (index != 0 && SSL_set_SSL_CTX(ssl, self->contexts_[index]) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

StatusOr<std::unique_ptr<TlsSession>> TlsContext::NewSession() {
  ERR_clear_error();
  SSL* ssl = SSL_new(contexts_.front());
  BIO* input = BIO_new(BIO_s_mem());
  BIO* output = BIO_new(BIO_s_mem());
  if (ssl == nullptr || input == nullptr || output == nullptr) {
    SSL_free(ssl);
    BIO_free(input);
    BIO_free(output);
    return Status(ErrorCode::kInternal,
                  fmt::format("cannot create a TLS session: {}", TakeOpenSslErrors()));
  }
  // An empty memory BIO means "wait for more", not end of file: the end of
  // the connection is the socket's to tell.
  BIO_set_mem_eof_return(input, -1);
  BIO_set_mem_eof_return(output, -1);
  SSL_set_bio(ssl, input, output);
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsSession>(new TlsSession(shared_from_this(), ssl, input, output));
}

// ---------------------------------------------------------------------------
// TlsSession

TlsSession::TlsSession(std::shared_ptr<TlsContext> context, SSL* ssl, BIO* input, BIO* output)
    : context_(std::move(context)), ssl_(ssl), input_(input), output_(output) {}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Feed(const char* data, size_t length) {
  while (length > 0) {
    int n = BIO_write(input_, data, static_cast<int>(std::min<size_t>(length, INT_MAX)));
    if (n <= 0) return;  // out of memory: the handshake or the next read fails
    data += n;
    length -= static_cast<size_t>(n);
  }
}

TlsSession::Result TlsSession::Handshake() {
  if (handshake_done_) return Result::kOk;
  ERR_clear_error();
  int ret = SSL_do_handshake(ssl_);
  if (ret != 1) {
    Result result = Fail(ret);
    if (result != Result::kClosed) return result;
    error_ = "the client closed the connection";
    return Result::kError;
  }
  handshake_done_ = true;
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr) server_name_ = name;
  return Result::kOk;
}

TlsSession::Result TlsSession::Read(char* buffer, size_t capacity, size_t* length) {
  *length = 0;
  ERR_clear_error();
  if (SSL_read_ex(ssl_, buffer, capacity, length) == 1) return Result::kOk;
  *length = 0;
  return Fail(0);
}

bool TlsSession::Write(std::string_view plaintext, std::string* ciphertext) {
  while (!plaintext.empty()) {
    size_t written = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, plaintext.data(), std::min(plaintext.size(), kWriteSlice), &written) !=
        1) {
      Fail(0);
      if (error_.empty()) error_ = "the TLS connection cannot send";
      return false;
    }
    plaintext.remove_prefix(written);
    TakeOutput(ciphertext);
  }
  TakeOutput(ciphertext);
  return true;
}

void TlsSession::Shutdown() {
  if (!handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: our close_notify is queued; the peer's is not awaited
  ERR_clear_error();
}

void TlsSession::TakeOutput(std::string* out) {
  size_t pending = BIO_ctrl_pending(output_);
  if (pending == 0) return;
  size_t old_size = out->size();
  out->resize(old_size + pending);
  size_t read = 0;
  if (BIO_read_ex(output_, out->data() + old_size, pending, &read) != 1) read = 0;
  out->resize(old_size + read);
}

TlsSession::Result TlsSession::Fail(int ret) {
  int error = SSL_get_error(ssl_, ret);
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Result::kWantInput;
    case SSL_ERROR_ZERO_RETURN:
      return Result::kClosed;
    case SSL_ERROR_SSL:
      error_ = TakeOpenSslErrors();
      return Result::kError;
    default:
      error_ = fmt::format("TLS error {}", error);
      ERR_clear_error();
      return Result::kError;
  }
}

}  // namespace edge::gateway
