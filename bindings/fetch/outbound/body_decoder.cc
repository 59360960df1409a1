#include "bindings/fetch/outbound/body_decoder.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/http_text.h"

namespace edge::bindings::outbound {

std::unique_ptr<BodyDecoder> BodyDecoder::ForContentEncoding(std::string_view value) {
  value = base::TrimOws(value);
  if (base::EqualsIgnoreCase(value, "gzip") || base::EqualsIgnoreCase(value, "x-gzip")) {
    return std::unique_ptr<BodyDecoder>(new BodyDecoder(Kind::kGzip));
  }
  if (base::EqualsIgnoreCase(value, "deflate")) {
    return std::unique_ptr<BodyDecoder>(new BodyDecoder(Kind::kDeflate));
  }
  return nullptr;
}

BodyDecoder::~BodyDecoder() {
  if (initialized_) inflateEnd(&stream_);
}

Status BodyDecoder::Init(bool raw) {
  // 15 + 16: gzip only; 15: zlib; -15: raw deflate.
  int window_bits = kind_ == Kind::kGzip ? 15 + 16 : (raw ? -15 : 15);
  if (inflateInit2(&stream_, window_bits) != Z_OK) {
    return Status(ErrorCode::kTypeError, "cannot decode the response body: out of memory");
  }
  initialized_ = true;
  return Status::Ok();
}

Status BodyDecoder::Decode(std::string_view input, size_t max_output, size_t* consumed,
                           std::string* output) {
  *consumed = 0;
  if (finished_) {
    *consumed = input.size();  // trailing bytes after the end are ignored, as browsers do
    return Status::Ok();
  }
  if (!initialized_) {
    if (input.empty()) return Status::Ok();
    // "deflate" is meant to be zlib-wrapped, but some servers send raw
    // deflate: look at the header, as browsers do.
    bool raw = false;
    if (kind_ == Kind::kDeflate) {
      if (input.size() < 2) return Status::Ok();  // wait for two bytes
      unsigned cmf = static_cast<unsigned char>(input[0]);
      unsigned flg = static_cast<unsigned char>(input[1]);
      raw = (cmf & 0x0f) != 8 || ((cmf << 8) | flg) % 31 != 0;
    }
    EDGE_RETURN_IF_ERROR(Init(raw));
  }
  size_t start = output->size();
  output->resize(start + max_output);
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream_.avail_in = static_cast<uInt>(std::min<size_t>(input.size(), UINT32_MAX));
  stream_.next_out = reinterpret_cast<Bytef*>(output->data() + start);
  stream_.avail_out = static_cast<uInt>(max_output);
  int r = Z_OK;
  while (stream_.avail_out > 0) {
    r = inflate(&stream_, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      // Concatenated gzip members are one body.
      if (kind_ == Kind::kGzip && stream_.avail_in > 0 && stream_.next_in[0] == 0x1f) {
        inflateReset(&stream_);
        continue;
      }
      finished_ = true;
      break;
    }
    if (r == Z_BUF_ERROR) break;  // needs more input (or output space)
    if (r != Z_OK) {
      output->resize(start);
      const char* why = stream_.msg != nullptr ? stream_.msg : "corrupt data";
      return Status(ErrorCode::kTypeError,
                    fmt::format("cannot decode the response body ({}): {}",
                                kind_ == Kind::kGzip ? "gzip" : "deflate", why));
    }
    if (stream_.avail_in == 0) break;
  }
  *consumed = input.size() - stream_.avail_in;
  if (finished_) *consumed = input.size();
  output->resize(start + (max_output - stream_.avail_out));
  return Status::Ok();
}

}  // namespace edge::bindings::outbound
