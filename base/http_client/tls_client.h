// OpenSSL setup for HTTP clients: the client context that fetch()'s outbound
// client and the blocking client share, and their error messages.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::base {

// A client context: TLS 1.2+, peer verification against the system CA store
// (SSL_CTX_set_default_verify_paths, so SSL_CERT_FILE and SSL_CERT_DIR
// override it), ALPN "http/1.1". The caller owns the result (SSL_CTX_free).
StatusOr<SSL_CTX*> NewClientTlsContext();

// Why verification of `host`'s certificate failed, for a person.
std::string VerifyErrorMessage(long verify_result, std::string_view host);

}  // namespace edge::base
