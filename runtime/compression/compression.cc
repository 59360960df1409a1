// zlib and brotli streams for CompressionStream and DecompressionStream
// (https://compression.spec.whatwg.org/). The stream classes are in
// runtime/compression/compression.js; each JS stream owns one zlib or brotli
// stream here ("brotli" uses Debian's libbrotli; the natives keep their
// zlib names).
//
// A zlib stream is held by an opaque handle: a one-byte ArrayBuffer whose
// backing store's deleter frees it. V8 runs that deleter when the handle is
// collected or the isolate is disposed; zlibFinish and zlibClose free the
// zlib state earlier, as soon as the JS stream is done with it.
//
// Output is made on demand: zlibWrite hands the stream its next input and
// each zlibPull returns at most kChunkSize bytes of output, so what a small
// input expands to is never held whole (compression.js pulls the next slice
// only when the reader wants it). zlib's own state and every slice count
// against the worker's memory budget (runtime/buffer_allocator.h), brotli's
// as zlib's (both take an allocator).
#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "runtime/buffer_allocator.h"
#include "runtime/isolate_data.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// Output is handed to JavaScript in slices of at most this many bytes.
constexpr size_t kChunkSize = 64 * 1024;
// What zlib allocates for one stream at most, with the window and memory
// level used here (zconf.h: deflate (1 << (15 + 2)) + (1 << (8 + 9)) plus
// its structures; inflate needs far less): checked against the budget
// before the stream is made.
constexpr size_t kZlibStateBytes = 280 * 1024;
// Brotli's compression quality (0-11) and window (2^22 bytes, its default).
// 11, the library's default, is meant for static files and costs tens of
// times the CPU of 5 per byte; 5 is what servers commonly use on the fly.
constexpr int kBrotliQuality = 5;
constexpr int kBrotliWindowBits = 22;
// Checked against the budget before a brotli stream is made: the encoder's
// ring buffer and hash tables at this quality and window (some 5 MiB). The
// decoder allocates its window (up to 16 MiB) as the stream's header asks,
// through the counting allocator, so a worker that cannot afford it is
// stopped at its memory limit.
constexpr size_t kBrotliEncoderBytes = 6 * 1024 * 1024;
constexpr size_t kBrotliDecoderBytes = 64 * 1024;

struct ZlibStream {
  // First member: the handle's one byte of ArrayBuffer memory, so the
  // handle's data pointer is this object's address.
  char handle_byte = 0;
  uint32_t magic = kMagic;
  // The input being read is z.next_in/z.avail_in for both libraries.
  z_stream z{};
  BrotliEncoderState* brotli_encoder = nullptr;  // brotli, compress
  BrotliDecoderState* brotli_decoder = nullptr;  // brotli, decompress
  bool brotli = false;
  bool compress = false;
  bool open = false;       // z (or the brotli state) must be ended.
  bool ended = false;      // decompression: the compressed stream is complete.
  bool finishing = false;  // zlibFinish was called: no more input comes.
  // The input zlib is reading (z.next_in points into it), kept alive even
  // if JavaScript detaches its buffer meanwhile.
  std::shared_ptr<v8::BackingStore> input;
  // Counts zlib's allocations against the worker's budget.
  std::shared_ptr<BufferAllocator> allocator;

  static constexpr uint32_t kMagic = 0x455A4C42;  // "EZLB"

  void End() {
    if (!open) return;
    if (brotli) {
      if (brotli_encoder != nullptr) BrotliEncoderDestroyInstance(brotli_encoder);
      if (brotli_decoder != nullptr) BrotliDecoderDestroyInstance(brotli_decoder);
      brotli_encoder = nullptr;
      brotli_decoder = nullptr;
    } else if (compress) {
      deflateEnd(&z);
    } else {
      inflateEnd(&z);
    }
    open = false;
    input.reset();
    z.next_in = nullptr;
    z.avail_in = 0;
  }

  ~ZlibStream() {
    End();
    magic = 0;
  }
};
static_assert(std::is_standard_layout_v<ZlibStream>);

// zlib's allocations, each with its size in front so that it can be
// uncounted when freed.
constexpr size_t kSizeHeader = alignof(std::max_align_t);

voidpf ZlibAlloc(voidpf opaque, uInt items, uInt size) {
  size_t bytes = static_cast<size_t>(items) * size;
  auto* block = static_cast<char*>(std::malloc(bytes + kSizeHeader));
  if (block == nullptr) return Z_NULL;
  memcpy(block, &bytes, sizeof(bytes));
  if (auto* stream = static_cast<ZlibStream*>(opaque); stream->allocator) {
    stream->allocator->Charge(bytes);
  }
  return block + kSizeHeader;
}

void ZlibFree(voidpf opaque, voidpf address) {
  if (address == Z_NULL) return;
  char* block = static_cast<char*>(address) - kSizeHeader;
  size_t bytes;
  memcpy(&bytes, block, sizeof(bytes));
  if (auto* stream = static_cast<ZlibStream*>(opaque); stream->allocator) {
    stream->allocator->Uncharge(bytes);
  }
  std::free(block);
}

// Brotli's allocator interface, counted the same way.
void* BrotliAlloc(void* opaque, size_t size) {
  if (size > UINT32_MAX) return nullptr;
  return ZlibAlloc(opaque, static_cast<uInt>(size), 1);
}

void BrotliFree(void* opaque, void* address) { ZlibFree(opaque, address); }

ZlibStream* StreamFromHandle(v8::Local<v8::Value> value) {
  if (!value->IsArrayBuffer()) return nullptr;
  auto store = value.As<v8::ArrayBuffer>()->GetBackingStore();
  if (store->ByteLength() != 1 || store->Data() == nullptr) return nullptr;
  auto* stream = reinterpret_cast<ZlibStream*>(store->Data());
  return stream->magic == ZlibStream::kMagic ? stream : nullptr;
}

// Makes `stream`'s brotli state; false when out of memory.
bool OpenBrotli(ZlibStream& stream) {
  stream.brotli = true;
  if (!stream.compress) {
    stream.brotli_decoder = BrotliDecoderCreateInstance(BrotliAlloc, BrotliFree, &stream);
    return stream.brotli_decoder != nullptr;
  }
  stream.brotli_encoder = BrotliEncoderCreateInstance(BrotliAlloc, BrotliFree, &stream);
  if (stream.brotli_encoder == nullptr) return false;
  BrotliEncoderSetParameter(stream.brotli_encoder, BROTLI_PARAM_QUALITY, kBrotliQuality);
  BrotliEncoderSetParameter(stream.brotli_encoder, BROTLI_PARAM_LGWIN, kBrotliWindowBits);
  return true;
}

// The opaque handle that owns `stream`.
NativeResult NewHandle(NativeCall& call, std::unique_ptr<ZlibStream> stream) {
  ZlibStream* raw = stream.release();
  auto store = v8::ArrayBuffer::NewBackingStore(
      raw, 1,
      [](void*, size_t, void* deleter_data) { delete static_cast<ZlibStream*>(deleter_data); },
      raw);
  return v8::ArrayBuffer::New(call.isolate(), std::move(store)).As<v8::Value>();
}

// zlibOpen(compress: boolean, format: "gzip" | "deflate" | "deflate-raw" |
// "brotli") -> handle
NativeResult ZlibOpen(NativeCall& call) {
  bool compress = call.BoolArg(0);
  auto format = call.StringArg(1);
  if (!format.ok()) return format.status();
  if (*format == "brotli") {
    EDGE_RETURN_IF_ERROR(CheckMemoryBudget(
        call.isolate(), compress ? kBrotliEncoderBytes : kBrotliDecoderBytes));
    auto stream = std::make_unique<ZlibStream>();
    stream->compress = compress;
    stream->allocator = call.data().shared_buffer_allocator();
    if (!OpenBrotli(*stream)) return RangeError("Out of memory for a brotli stream");
    stream->open = true;
    return NewHandle(call, std::move(stream));
  }
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
  EDGE_RETURN_IF_ERROR(CheckMemoryBudget(call.isolate(), kZlibStateBytes));
  auto stream = std::make_unique<ZlibStream>();
  stream->compress = compress;
  stream->allocator = call.data().shared_buffer_allocator();
  stream->z.zalloc = ZlibAlloc;
  stream->z.zfree = ZlibFree;
  stream->z.opaque = stream.get();
  int result = compress ? deflateInit2(&stream->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits,
                                       8, Z_DEFAULT_STRATEGY)
                        : inflateInit2(&stream->z, window_bits);
  if (result != Z_OK) return RangeError("Out of memory for a zlib stream");
  stream->open = true;
  return NewHandle(call, std::move(stream));
}

// zlibWrite(handle, bytes): the stream's next input, read by the zlibPull
// calls that follow until they return undefined.
NativeResult ZlibWrite(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  if (!stream->open || stream->finishing) return TypeError("The stream is closed");
  if (stream->z.avail_in != 0) return TypeError("The previous input is not consumed yet");
  v8::Local<v8::Value> value = call.arg(1);
  std::shared_ptr<v8::BackingStore> store;
  size_t offset = 0;
  size_t length = 0;
  if (value->IsArrayBufferView()) {
    auto view = value.As<v8::ArrayBufferView>();
    store = view->Buffer()->GetBackingStore();
    offset = view->ByteOffset();
    length = view->ByteLength();
  } else if (value->IsArrayBuffer()) {
    store = value.As<v8::ArrayBuffer>()->GetBackingStore();
    length = store->ByteLength();
  } else {
    return TypeError("argument 2 is not an ArrayBuffer or ArrayBufferView");
  }
  if (length > UINT32_MAX) return RangeError("A compression stream's chunk is at most 4 GiB");
  if (length == 0 || store->Data() == nullptr) return v8::Undefined(call.isolate()).As<v8::Value>();
  stream->input = std::move(store);
  stream->z.next_in = static_cast<Bytef*>(stream->input->Data()) + offset;
  stream->z.avail_in = static_cast<uInt>(length);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// zlibFinish(handle): no more input; the zlibPull calls that follow return
// the rest of the output.
NativeResult ZlibFinish(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  if (!stream->open) return TypeError("The stream is closed");
  stream->finishing = true;
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// One brotli call of zlibPull: reads z.next_in/avail_in, writes to
// z.next_out/avail_out and answers as zlib would (Z_STREAM_END once the
// output is complete, Z_OK otherwise), or a TypeError.
StatusOr<int> BrotliStep(ZlibStream& stream) {
  z_stream& z = stream.z;
  size_t avail_in = z.avail_in;
  const uint8_t* next_in = z.next_in;
  size_t avail_out = z.avail_out;
  uint8_t* next_out = z.next_out;
  int result = Z_OK;
  if (stream.compress) {
    BrotliEncoderOperation op = stream.finishing ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
    if (!BrotliEncoderCompressStream(stream.brotli_encoder, op, &avail_in, &next_in, &avail_out,
                                     &next_out, nullptr)) {
      return TypeError("Compression failed");
    }
    if (stream.finishing && BrotliEncoderIsFinished(stream.brotli_encoder)) result = Z_STREAM_END;
  } else if (stream.ended) {
    if (avail_in != 0) return TypeError("Junk found after the end of the compressed data");
    result = Z_STREAM_END;
  } else {
    BrotliDecoderResult decoded = BrotliDecoderDecompressStream(
        stream.brotli_decoder, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    if (decoded == BROTLI_DECODER_RESULT_ERROR) {
      return TypeError(std::string("Decompression failed: ") +
                       BrotliDecoderErrorString(BrotliDecoderGetErrorCode(stream.brotli_decoder)));
    }
    if (decoded == BROTLI_DECODER_RESULT_SUCCESS) {
      stream.ended = true;  // input after the end is an error once the output is out
      result = Z_STREAM_END;
    }
  }
  z.avail_in = static_cast<uInt>(avail_in);
  z.next_in = const_cast<Bytef*>(next_in);
  z.avail_out = static_cast<uInt>(avail_out);
  z.next_out = next_out;
  return result;
}

// zlibPull(handle) -> Uint8Array | undefined: the next slice of output, or
// undefined when the input given so far is used up (after zlibFinish: when
// the output is complete; the zlib state is freed then). A TypeError for
// corrupt or truncated compressed data; any failure ends the stream.
NativeResult ZlibPull(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  v8::Local<v8::Value> none = v8::Undefined(call.isolate());
  if (!stream->open) return none;
  z_stream& z = stream->z;
  std::string buffer(kChunkSize, '\0');
  z.next_out = reinterpret_cast<Bytef*>(buffer.data());
  z.avail_out = static_cast<uInt>(buffer.size());
  int result;
  if (stream->brotli) {
    StatusOr<int> brotli = BrotliStep(*stream);
    if (!brotli.ok()) {
      stream->End();
      return brotli.status();
    }
    result = *brotli;
  } else if (stream->compress) {
    result = deflate(&z, stream->finishing ? Z_FINISH : Z_NO_FLUSH);
    if (result == Z_STREAM_ERROR) {
      stream->End();
      return TypeError("Compression failed");
    }
  } else if (stream->ended) {
    if (z.avail_in != 0) {
      stream->End();
      return TypeError("Junk found after the end of the compressed data");
    }
    result = Z_STREAM_END;
  } else {
    result = inflate(&z, Z_NO_FLUSH);
    if (result == Z_NEED_DICT || result == Z_DATA_ERROR || result == Z_STREAM_ERROR ||
        result == Z_MEM_ERROR) {
      std::string message = z.msg != nullptr ? z.msg : "invalid data";
      stream->End();
      return TypeError("Decompression failed: " + message);
    }
    if (result == Z_STREAM_END) stream->ended = true;
  }
  size_t produced = buffer.size() - z.avail_out;
  // Input after the end of the compressed data is an error, reported after
  // the output made before it (the spec enqueues, then throws): this pull
  // returns that output and the next one, with nothing left to make, fails.
  if (!stream->compress && stream->ended && z.avail_in != 0 && produced == 0) {
    stream->End();
    return TypeError("Junk found after the end of the compressed data");
  }
  if (z.avail_in == 0) {
    stream->input.reset();
    z.next_in = nullptr;
  }
  if (produced > 0) {
    StatusOr<v8::Local<v8::Uint8Array>> slice =
        NewUint8Array(call.isolate(), std::string_view(buffer.data(), produced));
    if (!slice.ok()) {
      stream->End();
      return slice.status();
    }
    if (stream->compress && result == Z_STREAM_END) stream->End();
    return slice->As<v8::Value>();
  }
  // Nothing more for now: zlib took all the input it was given (or, at the
  // end, has nothing left to write).
  if (stream->finishing) {
    bool truncated = !stream->compress && !stream->ended;
    stream->End();
    if (truncated) return TypeError("The compressed data ended before the stream did");
  }
  return none;
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
                {"zlibPull", ZlibPull},
                {"zlibClose", ZlibClose}});
}

}  // namespace edge::runtime
