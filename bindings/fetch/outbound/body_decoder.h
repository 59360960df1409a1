// Decodes a gzip or deflate response body (Content-Encoding) with zlib,
// incrementally and with bounded output per step, so a small compressed
// body cannot expand into a large allocation at once ("zip bombs" are read
// at the pace the worker reads them).
#pragma once

#include <zlib.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::bindings::outbound {

class BodyDecoder {
 public:
  // For a Content-Encoding value: a decoder for "gzip", "x-gzip" or
  // "deflate" (one coding only); null for anything else, which is passed
  // through as is.
  static std::unique_ptr<BodyDecoder> ForContentEncoding(std::string_view value);
  ~BodyDecoder();
  BodyDecoder(const BodyDecoder&) = delete;
  BodyDecoder& operator=(const BodyDecoder&) = delete;

  // Decodes from `input`, appending at most `max_output` bytes to `output`.
  // Sets `consumed` to the input bytes used; the caller passes the rest
  // again later. A TypeError on corrupt data.
  Status Decode(std::string_view input, size_t max_output, size_t* consumed, std::string* output);

 private:
  enum class Kind { kGzip, kDeflate };
  explicit BodyDecoder(Kind kind) : kind_(kind) {}
  Status Init(bool raw);

  Kind kind_;
  z_stream stream_{};
  bool initialized_ = false;
  bool finished_ = false;  // the (last) member ended; anything after it is ignored
};

}  // namespace edge::bindings::outbound
