#include "gateway/http/status_pages.h"

#include <fmt/core.h>

namespace edge::gateway {

std::string ErrorPage(int status, std::string_view detail) {
  std::string_view reason = ReasonPhrase(status);
  std::string page =
      reason.empty() ? fmt::format("{}\n", status) : fmt::format("{} {}\n", status, reason);
  if (!detail.empty()) {
    page.append(detail);
    page.push_back('\n');
  }
  return page;
}

void SendErrorPage(ResponseWriter& writer, int status, std::string_view detail) {
  std::string page = ErrorPage(status, detail);
  writer.Start(status, {}, {{"Content-Type", "text/plain; charset=utf-8"}}, page.size());
  writer.Write(page);
  writer.Finish();
}

}  // namespace edge::gateway
