// Where a worker's response goes. The gateway implements it over a client
// connection; tests implement it in memory. Called on the worker's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::runtime {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // The status line and headers. Without a length the body is streamed.
  virtual void Start(int status, std::string_view status_text, HeaderList headers,
                     std::optional<uint64_t> content_length) = 0;
  virtual void Write(std::string_view chunk) = 0;
  virtual void Finish() = 0;
  // The invocation failed. Before Start this becomes a 500 page naming
  // `public_reason`; after Start the response is cut short.
  virtual void Fail(std::string_view public_reason) = 0;
  // The client went away: the worker may stop producing the body.
  virtual bool Aborted() const = 0;
  // Backpressure: true when the caller should wait for OnDrain before the
  // next Write. OnDrain's callback runs at most once.
  virtual bool NeedsDrain() const = 0;
  virtual void OnDrain(std::function<void()> callback) = 0;
};

// The request a worker sees, as the gateway parsed it.
struct FetchRequest {
  std::string method;
  std::string url;  // absolute: "http://host/path?query"
  HeaderList headers;
  std::string body;
  bool has_body = false;
};

}  // namespace edge::runtime
