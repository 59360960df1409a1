#include "gateway/host/scheduled_trigger.h"

#include <fmt/core.h>

#include <cstdlib>

#include "base/ascii.h"

namespace edge::gateway {

std::string DecodeQueryValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < value.size() &&
               base::HexDigitValue(value[i + 1]) >= 0 && base::HexDigitValue(value[i + 2]) >= 0) {
      out += static_cast<char>(base::HexDigitValue(value[i + 1]) * 16 +
                               base::HexDigitValue(value[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<StatusOr<runtime::ScheduledEvent>> ScheduledTestRequest(std::string_view target,
                                                                      int64_t now_ms) {
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  if (path != "/__scheduled" && path != "/cdn-cgi/handler/scheduled") return std::nullopt;
  runtime::ScheduledEvent event;
  event.scheduled_time_ms = now_ms;
  std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string name = DecodeQueryValue(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : DecodeQueryValue(pair.substr(eq + 1));
    if (name == "cron") {
      event.cron = std::move(value);
    } else if (name == "time") {
      char* end = nullptr;
      long long time = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || time < 0) {
        return StatusOr<runtime::ScheduledEvent>(Status(
            ErrorCode::kInvalidInput,
            fmt::format("time must be a Unix time in milliseconds (got \"{}\")", value)));
      }
      event.scheduled_time_ms = time;
    }
  }
  return StatusOr<runtime::ScheduledEvent>(std::move(event));
}

}  // namespace edge::gateway
