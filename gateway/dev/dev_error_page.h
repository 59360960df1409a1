// `edge dev`'s answer to an uncaught exception: a 500 page with the message
// and the source-mapped stack (runtime/source_map_registry.h), HTML for a
// browser (Accept: text/html) and plain text otherwise, as wrangler dev
// answers. `edge serve` never uses it: its clients get the plain 500 page,
// and the stack goes to the node's log and to `edge tail`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/host/writer_sink.h"
#include "gateway/http/http_types.h"

namespace edge::gateway {

// The page's body. `description` ("Name: message" then the stack) is the
// tenant's text: in HTML every character that means something is escaped.
std::string DevErrorPageHtml(std::string_view description);
std::string DevErrorPageText(std::string_view description);

// Whether the request's Accept header asks for text/html.
bool AcceptsHtml(const HttpRequest& request);

// A WriterSink that answers a failed invocation with the page above when the
// worker threw before starting its response; any other failure (a limit,
// an unload, a response already under way) ends as WriterSink's would.
class DevErrorSink : public WriterSink {
 public:
  DevErrorSink(std::shared_ptr<ResponseWriter> writer, bool html)
      : WriterSink(std::move(writer)), html_(html) {}

  void OnUncaughtException(std::string_view description) override {
    description_ = std::string(description);
  }
  void Fail(std::string_view public_reason, LimitKind limit) override;

 private:
  bool html_;
  std::optional<std::string> description_;
};

}  // namespace edge::gateway
