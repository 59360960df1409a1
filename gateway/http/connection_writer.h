// The ResponseWriter of one request on an HttpConnection: the status line
// and headers (framing is the server's), the body as Content-Length,
// chunked or until the connection closes, backpressure and abort
// callbacks. Internal to the gateway.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "gateway/http/http_connection.h"
#include "gateway/http/http_types.h"

namespace edge::gateway {

class ConnectionWriter final : public ResponseWriter {
 public:
  ConnectionWriter(HttpConnection* connection, bool head, int http_major, int http_minor)
      : connection_(connection),
        head_(head),
        http_1_0_(http_major < 1 || (http_major == 1 && http_minor == 0)) {}

  ~ConnectionWriter() override;

  void Start(int status, std::string_view reason, const HeaderList& headers,
             std::optional<uint64_t> content_length) override;
  void Write(std::string_view chunk) override;
  void Finish() override;
  void Abort() override;
  bool Aborted() const override { return aborted_; }
  size_t BufferedBytes() const override {
    return connection_ != nullptr ? connection_->BufferedBytes() : 0;
  }
  void OnDrain(std::function<void()> callback) override;
  void OnAbort(std::function<void()> callback) override;
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      const HeaderList& headers) override;

  // Answers 500 when nothing was sent yet; otherwise ends the response as
  // broken, which closes the connection.
  void Fail();

 private:
  friend class HttpConnection;
  enum class BodyMode { kNone, kLength, kChunked, kUntilClose };

  void EndResponse();

  HttpConnection* connection_;  // null once finished or aborted
  const bool head_;
  const bool http_1_0_;
  bool started_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  bool overflow_logged_ = false;
  BodyMode mode_ = BodyMode::kNone;
  uint64_t remaining_ = 0;
  std::function<void()> on_drain_;
  std::function<void()> on_abort_;
};

}  // namespace edge::gateway
