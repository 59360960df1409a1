// For fetch's tests: bodies compressed with zlib, as servers send them with
// a Content-Encoding.
#pragma once

#include <zlib.h>

#include <string>
#include <string_view>

namespace edge::bindings::testing {

// `input` compressed in one go. window_bits: 15 + 16 gzip, 15 zlib, -15 raw
// deflate.
inline std::string Compress(std::string_view input, int window_bits = 15 + 16) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, input.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

}  // namespace edge::bindings::testing
