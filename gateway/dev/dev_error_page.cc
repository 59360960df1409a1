#include "gateway/dev/dev_error_page.h"

#include <fmt/core.h>

#include "base/ascii.h"

namespace edge::gateway {
namespace {

void AppendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace

std::string DevErrorPageText(std::string_view description) {
  std::string page = "500 Internal Server Error\n\n";
  page.append(description);
  if (!page.ends_with('\n')) page += '\n';
  return page;
}

std::string DevErrorPageHtml(std::string_view description) {
  size_t newline = description.find('\n');
  std::string_view message = description.substr(0, newline);
  std::string_view stack =
      newline == std::string_view::npos ? std::string_view() : description.substr(newline + 1);
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>Error: ";
  AppendEscaped(page, message.substr(0, 200));
  page +=
      "</title>\n<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
      "h1{font-size:1.3rem;color:#b00020;white-space:pre-wrap;word-break:break-word}"
      "pre{background:#f6f6f6;padding:1rem;overflow:auto}"
      "footer{color:#777;font-size:.85rem}</style>\n</head>\n<body>\n<h1>";
  AppendEscaped(page, message);
  page += "</h1>\n<pre>";
  AppendEscaped(page, stack);
  page +=
      "</pre>\n<footer>The worker threw an uncaught exception. <code>edge dev</code> shows it; "
      "<code>edge serve</code> answers with a plain 500.</footer>\n</body>\n</html>\n";
  return page;
}

bool AcceptsHtml(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (base::EqualsIgnoreCase(name, "accept") &&
        base::AsciiLower(value).find("text/html") != std::string::npos) {
      return true;
    }
  }
  return false;
}

void DevErrorSink::Fail(std::string_view public_reason, LimitKind limit) {
  if (started() || !description_ || limit != LimitKind::kNone) {
    WriterSink::Fail(public_reason, limit);
    return;
  }
  std::string page = html_ ? DevErrorPageHtml(*description_) : DevErrorPageText(*description_);
  writer().Start(
      500, {},
      {{"Content-Type", html_ ? "text/html; charset=utf-8" : "text/plain; charset=utf-8"},
       {"Cache-Control", "no-store"}},
      page.size());
  writer().Write(page);
  writer().Finish();
  Ended();
}

}  // namespace edge::gateway
