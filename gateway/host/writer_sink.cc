#include "gateway/host/writer_sink.h"

#include <strings.h>

#include "gateway/http/status_pages.h"

namespace edge::gateway {

bool IsHopByHop(std::string_view name) {
  for (std::string_view hop : {"connection", "keep-alive", "transfer-encoding", "content-length",
                               "te", "trailer", "upgrade", "proxy-connection"}) {
    if (name.size() == hop.size() && strncasecmp(name.data(), hop.data(), hop.size()) == 0) {
      return true;
    }
  }
  return false;
}

void WriterSink::Start(int status, std::string_view status_text, runtime::HeaderList headers,
                       std::optional<uint64_t> content_length) {
  started_ = true;
  std::erase_if(headers, [](const auto& header) { return IsHopByHop(header.first); });
  std::string_view reason = status_text.empty() ? ReasonPhrase(status) : status_text;
  writer_->Start(status, reason, headers, content_length);
}

StatusOr<std::shared_ptr<runtime::WebSocketChannel>> WriterSink::AcceptWebSocket(
    runtime::HeaderList headers) {
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> channel = writer_->AcceptWebSocket(headers);
  if (channel.ok()) {
    // The 101 ended the response.
    started_ = true;
    Ended();
  }
  return channel;
}

void WriterSink::Finish() {
  writer_->Finish();
  Ended();
}

void WriterSink::Fail(std::string_view public_reason, LimitKind /*limit*/) {
  if (started_) {
    // The status line is gone already: cutting the connection is the only
    // way to tell the client the body is incomplete.
    writer_->Abort();
  } else {
    SendErrorPage(*writer_, 500, public_reason);
  }
  Ended();
}

}  // namespace edge::gateway
