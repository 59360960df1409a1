#include "base/openssl_error.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>

namespace edge::base {

std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

void OpenSslFatal(const char* what) {
  unsigned long code = ERR_get_error();
  char reason[256] = "no OpenSSL error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  std::fprintf(stderr, "edge: fatal: %s (%s)\n", what, reason);
  std::abort();
}

}  // namespace edge::base
