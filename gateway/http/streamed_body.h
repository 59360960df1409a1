// The body of a request handed to its handler before all of it has arrived
// (ServerLimits::stream_request_bodies). Internal to the gateway: the
// connection feeds it as the parser reads; the handler reads it.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "gateway/http/http_connection.h"

namespace edge::gateway {

// A request body handed to the handler before it has all arrived.
class StreamedBody : public runtime::RequestBodySource {
 public:
  explicit StreamedBody(HttpConnection* connection) : connection_(connection) {}

  void Read(Reader reader) override {
    reader_ = std::move(reader);
    has_reader_ = true;
    if (!buffered_.empty()) {
      std::string chunk = std::move(buffered_);
      buffered_.clear();
      if (reader_.on_data) reader_.on_data(chunk);
    }
    if (!error_.empty()) {
      if (reader_.on_error) reader_.on_error(error_);
    } else if (ended_ && reader_.on_end) {
      reader_.on_end();
    }
  }
  void Pause(bool paused) override {
    paused_ = paused;
    if (connection_ != nullptr) connection_->UpdateReading();
  }

  void Deliver(std::string_view chunk) {
    if (ended_ || !error_.empty()) return;
    if (has_reader_) {
      if (reader_.on_data) reader_.on_data(chunk);
    } else {
      buffered_.append(chunk);
    }
  }
  void End() {
    if (ended_ || !error_.empty()) return;
    ended_ = true;
    if (has_reader_ && reader_.on_end) reader_.on_end();
  }
  void Error(std::string_view reason) {
    if (ended_ || !error_.empty()) return;
    error_ = reason.empty() ? "the request body was cut short" : std::string(reason);
    if (has_reader_ && reader_.on_error) reader_.on_error(error_);
  }
  void Detach() { connection_ = nullptr; }
  bool paused() const { return paused_; }
  // Unread input the handler has not taken yet, for backpressure.
  size_t buffered() const { return buffered_.size(); }

 private:
  HttpConnection* connection_;
  Reader reader_;
  bool has_reader_ = false;
  std::string buffered_;
  bool ended_ = false;
  bool paused_ = false;
  std::string error_;
};

}  // namespace edge::gateway
