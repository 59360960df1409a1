// Domain to ASCII / to Unicode for the URL parser's host processing
// (https://url.spec.whatwg.org/#concept-domain-to-ascii), through ICU's
// UTS #46 implementation. The URL-specific checks stay in runtime/url/url.js.
#include <unicode/uidna.h>

#include <memory>
#include <string>

#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

struct UidnaCloser {
  void operator()(UIDNA* idna) const { uidna_close(idna); }
};
using UidnaPtr = std::unique_ptr<UIDNA, UidnaCloser>;

// One ICU converter per thread and flavour: opening one costs more than a
// conversion.
UIDNA* Converter(bool strict) {
  thread_local UidnaPtr lax, std3;
  UidnaPtr& slot = strict ? std3 : lax;
  if (!slot) {
    uint32_t options = UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ | UIDNA_NONTRANSITIONAL_TO_ASCII |
                       UIDNA_NONTRANSITIONAL_TO_UNICODE;
    if (strict) options |= UIDNA_USE_STD3_RULES;
    UErrorCode status = U_ZERO_ERROR;
    slot.reset(uidna_openUTS46(options, &status));
    if (U_FAILURE(status)) slot.reset();
  }
  return slot.get();
}

// The URL Standard runs UTS #46 with CheckHyphens=false, and with
// VerifyDnsLength only when beStrict: those errors are not failures.
uint32_t IgnoredErrors(bool strict) {
  uint32_t ignored = UIDNA_ERROR_LEADING_HYPHEN | UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4;
  if (!strict) {
    ignored |= UIDNA_ERROR_EMPTY_LABEL | UIDNA_ERROR_LABEL_TOO_LONG | UIDNA_ERROR_DOMAIN_NAME_TOO_LONG;
  }
  return ignored;
}

// Runs `convert` (nameToASCII or nameToUnicode) into a growing buffer.
template <typename Convert>
bool RunIdna(bool strict, const std::string& input, std::string* output, Convert convert) {
  UIDNA* idna = Converter(strict);
  if (idna == nullptr) return false;
  output->resize(input.size() * 4 + 64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    int32_t length = convert(idna, input.data(), static_cast<int32_t>(input.size()), output->data(),
                             static_cast<int32_t>(output->size()), &info, &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      output->resize(length);
      continue;
    }
    if (U_FAILURE(status)) return false;
    output->resize(length);
    return (info.errors & ~IgnoredErrors(strict)) == 0;
  }
  return false;
}

// domainToASCII(domain, beStrict) -> string, or null on failure.
NativeResult DomainToAscii(NativeCall& call) {
  auto domain = call.StringArg(0);
  if (!domain.ok()) return domain.status();
  std::string output;
  if (!RunIdna(call.BoolArg(1), *domain, &output, uidna_nameToASCII_UTF8)) {
    return v8::Null(call.isolate()).As<v8::Value>();
  }
  return call.String(output).As<v8::Value>();
}

// domainToUnicode(domain) -> string (errors are left in place, as URL's
// "domain to Unicode" does).
NativeResult DomainToUnicode(NativeCall& call) {
  auto domain = call.StringArg(0);
  if (!domain.ok()) return domain.status();
  std::string output;
  UIDNA* idna = Converter(false);
  if (idna == nullptr) return call.String(*domain).As<v8::Value>();
  output.resize(domain->size() * 4 + 64);
  UErrorCode status = U_ZERO_ERROR;
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  int32_t length =
      uidna_nameToUnicodeUTF8(idna, domain->data(), static_cast<int32_t>(domain->size()),
                              output.data(), static_cast<int32_t>(output.size()), &info, &status);
  if (U_FAILURE(status)) return call.String(*domain).As<v8::Value>();
  output.resize(length);
  return call.String(output).As<v8::Value>();
}

}  // namespace

void RegisterIdnaNatives(NativeRegistry& registry) {
  registry.Add({{"domainToASCII", DomainToAscii}, {"domainToUnicode", DomainToUnicode}});
}

}  // namespace edge::runtime
