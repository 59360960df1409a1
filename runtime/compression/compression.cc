// zlib streams for CompressionStream and DecompressionStream
// (https://compression.spec.whatwg.org/). The stream classes are in
// runtime/compression/compression.js; each JS stream owns one zlib stream here.
//
// A zlib stream is held by an opaque handle: a one-byte ArrayBuffer whose
// backing store's deleter frees it. V8 runs that deleter when the handle is
// collected or the isolate is disposed; zlibFinish and zlibClose free the
// zlib state earlier, as soon as the JS stream is done with it.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// Output is handed to JavaScript in chunks of at most this many bytes.
constexpr size_t kChunkSize = 64 * 1024;

struct ZlibStream {
  // First member: the handle's one byte of ArrayBuffer memory, so the
  // handle's data pointer is this object's address.
  char handle_byte = 0;
  uint32_t magic = kMagic;
  z_stream z{};
  bool compress = false;
  bool open = false;   // z holds zlib state that must be ended.
  bool ended = false;  // decompression: the compressed stream is complete.

  static constexpr uint32_t kMagic = 0x455A4C42;  // "EZLB"

  void End() {
    if (!open) return;
    if (compress) {
      deflateEnd(&z);
    } else {
      inflateEnd(&z);
    }
    open = false;
  }

  ~ZlibStream() {
    End();
    magic = 0;
  }
};
static_assert(std::is_standard_layout_v<ZlibStream>);

ZlibStream* StreamFromHandle(v8::Local<v8::Value> value) {
  if (!value->IsArrayBuffer()) return nullptr;
  auto store = value.As<v8::ArrayBuffer>()->GetBackingStore();
  if (store->ByteLength() != 1 || store->Data() == nullptr) return nullptr;
  auto* stream = reinterpret_cast<ZlibStream*>(store->Data());
  return stream->magic == ZlibStream::kMagic ? stream : nullptr;
}

// zlibOpen(compress: boolean, format: "gzip" | "deflate" | "deflate-raw") -> handle
NativeResult ZlibOpen(NativeCall& call) {
  bool compress = call.BoolArg(0);
  auto format = call.StringArg(1);
  if (!format.ok()) return format.status();
  int window_bits;
  if (*format == "gzip") {
    window_bits = 15 + 16;
  } else if (*format == "deflate") {
    window_bits = 15;
  } else if (*format == "deflate-raw") {
    window_bits = -15;
  } else {
    return TypeError("Unsupported compression format: '" + *format + "'");
  }
  auto stream = std::make_unique<ZlibStream>();
  stream->compress = compress;
  int result = compress ? deflateInit2(&stream->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits,
                                       8, Z_DEFAULT_STRATEGY)
                        : inflateInit2(&stream->z, window_bits);
  if (result != Z_OK) return RangeError("Out of memory for a zlib stream");
  stream->open = true;
  ZlibStream* raw = stream.release();
  auto store = v8::ArrayBuffer::NewBackingStore(
      raw, 1,
      [](void*, size_t, void* deleter_data) { delete static_cast<ZlibStream*>(deleter_data); },
      raw);
  return v8::ArrayBuffer::New(call.isolate(), std::move(store)).As<v8::Value>();
}

// Runs `input` through the stream (Z_FINISH when `finish`) and returns the
// output as an array of Uint8Arrays. Any failure ends the zlib stream.
NativeResult Run(NativeCall& call, ZlibStream& stream, std::string_view input, bool finish) {
  if (!stream.open) return TypeError("The stream is closed");
  std::vector<std::string> chunks;
  z_stream& z = stream.z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  std::string buffer(kChunkSize, '\0');
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    int result;
    if (stream.compress) {
      result = deflate(&z, finish ? Z_FINISH : Z_NO_FLUSH);
    } else if (stream.ended) {
      result = Z_STREAM_END;
    } else {
      result = inflate(&z, Z_NO_FLUSH);
    }
    size_t produced = buffer.size() - z.avail_out;
    if (produced > 0) chunks.emplace_back(buffer.data(), produced);
    if (stream.compress) {
      if (result == Z_STREAM_ERROR) {
        stream.End();
        return TypeError("Compression failed");
      }
      if (finish ? result == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0)) break;
      continue;
    }
    if (result == Z_STREAM_END) {
      stream.ended = true;
      if (z.avail_in != 0) {
        stream.End();
        return TypeError("Junk found after the end of the compressed data");
      }
      break;
    }
    if (result == Z_NEED_DICT || result == Z_DATA_ERROR || result == Z_STREAM_ERROR ||
        result == Z_MEM_ERROR) {
      std::string message = z.msg != nullptr ? z.msg : "invalid data";
      stream.End();
      return TypeError("Decompression failed: " + message);
    }
    // Z_OK or Z_BUF_ERROR (no progress possible): done when all input is
    // consumed and the output buffer was not filled.
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  z.next_in = nullptr;
  z.avail_in = 0;
  if (finish) {
    bool truncated = !stream.compress && !stream.ended;
    stream.End();
    if (truncated) return TypeError("The compressed data ended before the stream did");
  }
  v8::Isolate* isolate = call.isolate();
  std::vector<v8::Local<v8::Value>> items;
  items.reserve(chunks.size());
  for (const auto& chunk : chunks) items.push_back(call.Bytes(chunk));
  return v8::Array::New(isolate, items.data(), items.size()).As<v8::Value>();
}

// zlibWrite(handle, bytes) -> Uint8Array[]
NativeResult ZlibWrite(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  return Run(call, *stream, *bytes, false);
}

// zlibFinish(handle) -> Uint8Array[]: the rest of the output; a TypeError if
// compressed input ended early. The zlib state is freed either way.
NativeResult ZlibFinish(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  return Run(call, *stream, {}, true);
}

// zlibClose(handle): frees the zlib state now (an errored or cancelled stream).
NativeResult ZlibClose(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream != nullptr) stream->End();
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

void RegisterCompressionNatives(NativeRegistry& registry) {
  registry.Add({{"zlibOpen", ZlibOpen},
                {"zlibWrite", ZlibWrite},
                {"zlibFinish", ZlibFinish},
                {"zlibClose", ZlibClose}});
}

}  // namespace edge::runtime
