// Adapts the gateway's ResponseWriter (one client connection) to the
// ResponseSink a worker writes its response into: drops hop-by-hop headers,
// turns a failure into a 500 page (or a cut connection once the status line
// is out), and passes backpressure through. The node derives from it to
// meter and limit each response.
#pragma once

#include <functional>
#include <memory>

#include "gateway/http/http_types.h"
#include "runtime/response_sink.h"

namespace edge::gateway {

class WriterSink : public runtime::ResponseSink {
 public:
  explicit WriterSink(std::shared_ptr<ResponseWriter> writer) : writer_(std::move(writer)) {}

  // Runs once the response ended (finished or failed).
  void SetOnEnd(std::function<void()> on_end) { on_end_ = std::move(on_end); }

  void Start(int status, std::string_view status_text, runtime::HeaderList headers,
             std::optional<uint64_t> content_length) override;
  void Write(std::string_view chunk) override { writer_->Write(chunk); }
  void Finish() override;
  void Fail(std::string_view public_reason, LimitKind limit) override;
  bool Aborted() const override { return writer_->Aborted(); }
  bool NeedsDrain() const override { return writer_->BufferedBytes() >= kWriterDrainThreshold; }
  void OnDrain(std::function<void()> callback) override { writer_->OnDrain(std::move(callback)); }
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList headers) override;

 protected:
  ResponseWriter& writer() { return *writer_; }
  bool started() const { return started_; }
  void Ended() {
    if (on_end_) on_end_();
  }

 private:
  std::shared_ptr<ResponseWriter> writer_;
  std::function<void()> on_end_;
  bool started_ = false;
};

// Headers that describe one hop's connection, not the response: the gateway
// sets its own, whatever the worker put in its Response.
bool IsHopByHop(std::string_view name);

}  // namespace edge::gateway
