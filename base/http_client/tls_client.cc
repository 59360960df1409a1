#include "base/http_client/tls_client.h"

#include <fmt/core.h>
#include <openssl/x509_vfy.h>

#include "base/openssl_error.h"

namespace edge::base {

StatusOr<SSL_CTX*> NewClientTlsContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    return Status(ErrorCode::kInternal, "cannot create a TLS context: " + TakeOpenSslError());
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // The system store, or SSL_CERT_FILE / SSL_CERT_DIR when set.
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    std::string error = TakeOpenSslError();
    SSL_CTX_free(ctx);
    return Status(ErrorCode::kInternal, "cannot load the system CA certificates: " + error);
  }
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

std::string VerifyErrorMessage(long verify_result, std::string_view host) {
  const char* detail = X509_verify_cert_error_string(verify_result);
  std::string why;
  switch (verify_result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      why = "the certificate has expired";
      break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      why = "the certificate is not yet valid";
      break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      why = fmt::format("the certificate is not valid for {} (wrong host)", host);
      break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      why =
          fmt::format("the certificate is signed by an unknown certificate authority ({})", detail);
      break;
    default:
      why = detail;
      break;
  }
  return fmt::format("TLS certificate verification failed for {}: {}", host, why);
}

}  // namespace edge::base
