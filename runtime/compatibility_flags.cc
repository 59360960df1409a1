#include "runtime/compatibility_flags.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace edge::runtime {

Status CheckCompatibilityFlag(std::string_view flag) {
  bool valid = !flag.empty() && flag.size() <= 64 && flag[0] >= 'a' && flag[0] <= 'z' &&
               std::all_of(flag.begin(), flag.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
               });
  if (!valid) {
    // The name is printed only when it is short and plain: it comes from an
    // upload and ends up in a log line.
    bool printable = flag.size() <= 64 && std::all_of(flag.begin(), flag.end(), [](char c) {
                       return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
                     });
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("compatibility flag {} must be 1 to 64 of a-z, 0-9 and '_', "
                              "starting with a letter",
                              printable ? "\"" + std::string(flag) + "\"" : "(unprintable)"));
  }
  return Status::Ok();
}

Status CheckCompatibilityFlags(const std::vector<std::string>& flags) {
  if (flags.size() > kMaxCompatibilityFlags) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("{} compatibility flags, over the limit of {}", flags.size(),
                              kMaxCompatibilityFlags));
  }
  std::set<std::string_view> seen;
  for (const std::string& flag : flags) {
    EDGE_RETURN_IF_ERROR(CheckCompatibilityFlag(flag));
    if (!seen.insert(flag).second) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("compatibility flag \"{}\" is listed twice", flag));
    }
  }
  return Status::Ok();
}

namespace {
bool Has(const std::vector<std::string>& flags, std::string_view flag) {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}
// Dates are YYYY-MM-DD, so they compare as strings.
bool OnOrAfter(std::string_view date, std::string_view since) {
  return !date.empty() && date >= since;
}
}  // namespace

// Each flag has its own default, as in workerd: nodejs_compat from
// 2026-08-04; nodejs_compat_v2 from 2026-08-04, or from 2024-09-23 when
// nodejs_compat is on. Either one turns the node: modules on, so turning
// them off on a recent date takes both no_ flags (Workers' rule).
namespace {
bool NodejsCompatV1(const std::vector<std::string>& flags, std::string_view date) {
  if (Has(flags, kNodejsCompatFlag)) return true;
  return OnOrAfter(date, kNodejsCompatDefaultDate) && !Has(flags, kNoNodejsCompatFlag);
}
}  // namespace

bool NodejsCompatV2Enabled(const std::vector<std::string>& flags, std::string_view date) {
  if (Has(flags, kNodejsCompatV2Flag)) return true;
  if (Has(flags, kNoNodejsCompatV2Flag)) return false;
  return OnOrAfter(date, kNodejsCompatDefaultDate) ||
         (NodejsCompatV1(flags, date) && OnOrAfter(date, kNodejsCompatV2Date));
}

bool NodejsCompatEnabled(const std::vector<std::string>& flags, std::string_view date) {
  return NodejsCompatV1(flags, date) || NodejsCompatV2Enabled(flags, date);
}

bool PopulateProcessEnv(const std::vector<std::string>& flags, std::string_view date) {
  if (!NodejsCompatEnabled(flags, date)) return false;
  if (Has(flags, kPopulateProcessEnvFlag)) return true;
  return OnOrAfter(date, kPopulateProcessEnvDate) && !Has(flags, kDoNotPopulateProcessEnvFlag);
}

}  // namespace edge::runtime
