// zlib and brotli streams for CompressionStream and DecompressionStream
// (https://compression.spec.whatwg.org/) and for node:zlib
// (runtime/node/zlib.js). The stream classes are in
// runtime/compression/compression.js and runtime/node/zlib.js; each JS
// stream owns one zlib or brotli stream here ("brotli" uses Debian's
// libbrotli; the natives keep their zlib names). node:zlib's streams are
// opened with its options and Node's rules (a gzip stream may hold several
// members; what follows the end of the data is ignored; errors keep zlib's
// code and message, zlibErrorInfo).
//
// A zlib stream is held by an opaque handle: a one-byte ArrayBuffer whose
// backing store's deleter frees it. V8 runs that deleter when the handle is
// collected or the isolate is disposed; zlibFinish and zlibClose free the
// zlib state earlier, as soon as the JS stream is done with it.
//
// Output is made on demand: zlibWrite hands the stream its next input and
// each zlibPull returns at most kChunkSize bytes of output and reads at
// most kInputSlice bytes of input, so what a small input expands to is
// never held whole (compression.js pulls the next slice only when the
// reader wants it), and one call's work is bounded: a loop of pulls (the
// synchronous one-shots of node:zlib) returns to JavaScript between
// slices, where the CPU limit can stop it. zlib's own state and every slice count
// against the worker's memory budget (runtime/buffer_allocator.h), brotli's
// as zlib's (both take an allocator).
#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/buffer_allocator.h"
#include "runtime/isolate_data.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// Output is handed to JavaScript in slices of at most this many bytes
// (node:zlib may ask for slices of its chunkSize, up to kMaxChunkSize).
constexpr size_t kChunkSize = 64 * 1024;
constexpr size_t kMinChunkSize = 64;
constexpr size_t kMaxChunkSize = 1024 * 1024;
// One pull reads at most this much input.
constexpr size_t kInputSlice = 256 * 1024;
// A brotli metablock (what one encoder call may compress at once) is at
// most 2^18 bytes, the library's own choice at its highest qualities: a
// larger BROTLI_PARAM_LGBLOCK would let one call run for seconds.
constexpr uint32_t kMaxBrotliLgBlock = 18;
// zlibCrc32 reads at most this much per call.
constexpr size_t kMaxCrc32Slice = 4 * 1024 * 1024;
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
  // node:zlib's rules (see the top of this file).
  bool node = false;
  // node:zlib: a truncated stream is not an error (finishFlush other than
  // Z_FINISH).
  bool allow_truncated = false;
  // The flush mode of the pulls until the input is used up (node:zlib's
  // flush(); Z_NO_FLUSH otherwise).
  int flush = Z_NO_FLUSH;
  // The gzip header, read to tell a gzip stream (done == 1) from a zlib one
  // with "unzip".
  gz_header gzip_header{};
  // The input not yet given to zlib: z.next_in/avail_in are at most
  // kInputSlice of it during a pull.
  const Bytef* pending_in = nullptr;
  size_t pending_length = 0;
  // The input zlib is reading (pending_in points into it), kept alive even
  // if JavaScript detaches its buffer meanwhile.
  std::shared_ptr<v8::BackingStore> input;
  // node:zlib's dictionary option: set for raw streams at the start, for
  // zlib ones when inflate asks for it.
  std::string dictionary;
  // The last failure, for node:zlib (zlibErrorInfo): zlib's or brotli's
  // error number, Node's code for it, and the message.
  int error_number = 0;
  std::string error_code;
  std::string error_message;
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
    pending_in = nullptr;
    pending_length = 0;
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

// An allocation the budget cannot hold is refused (zlib and brotli then
// fail with an out-of-memory error): a brotli window of up to 1 GiB
// (BROTLI_PARAM_LARGE_WINDOW) is never taken first and found later.
voidpf ZlibAlloc(voidpf opaque, uInt items, uInt size) {
  size_t bytes = static_cast<size_t>(items) * size;
  auto* stream = static_cast<ZlibStream*>(opaque);
  if (stream->allocator && bytes > BufferAllocator::kAlwaysGranted && !stream->allocator->Fits(bytes)) {
    return Z_NULL;
  }
  auto* block = static_cast<char*>(std::malloc(bytes + kSizeHeader));
  if (block == nullptr) return Z_NULL;
  memcpy(block, &bytes, sizeof(bytes));
  if (stream->allocator) stream->allocator->Charge(bytes);
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

// Reads the Int32Array or Uint32Array `value` (the runtime's JS made it).
bool ReadInt32s(v8::Local<v8::Value> value, std::vector<int64_t>& out) {
  if (value->IsInt32Array()) {
    auto array = value.As<v8::Int32Array>();
    std::vector<int32_t> items(array->Length());
    array->CopyContents(items.data(), items.size() * sizeof(int32_t));
    out.assign(items.begin(), items.end());
    return true;
  }
  if (value->IsUint32Array()) {
    auto array = value.As<v8::Uint32Array>();
    std::vector<uint32_t> items(array->Length());
    array->CopyContents(items.data(), items.size() * sizeof(uint32_t));
    out.assign(items.begin(), items.end());
    return true;
  }
  return false;
}

// Makes `stream`'s brotli state with `params` ([key, value, ...]: the
// encoder's or decoder's parameters); an error for an out-of-memory or a
// parameter the library refuses.
Status OpenBrotli(ZlibStream& stream, const std::vector<int64_t>& params) {
  stream.brotli = true;
  if (!stream.compress) {
    stream.brotli_decoder = BrotliDecoderCreateInstance(BrotliAlloc, BrotliFree, &stream);
    if (stream.brotli_decoder == nullptr) return RangeError("Out of memory for a brotli stream");
    for (size_t i = 0; i + 1 < params.size(); i += 2) {
      if (!BrotliDecoderSetParameter(stream.brotli_decoder, static_cast<BrotliDecoderParameter>(params[i]),
                                     static_cast<uint32_t>(params[i + 1]))) {
        return RangeError("Initialization failed");
      }
    }
    return Status::Ok();
  }
  stream.brotli_encoder = BrotliEncoderCreateInstance(BrotliAlloc, BrotliFree, &stream);
  if (stream.brotli_encoder == nullptr) return RangeError("Out of memory for a brotli stream");
  BrotliEncoderSetParameter(stream.brotli_encoder, BROTLI_PARAM_QUALITY, kBrotliQuality);
  BrotliEncoderSetParameter(stream.brotli_encoder, BROTLI_PARAM_LGWIN, kBrotliWindowBits);
  for (size_t i = 0; i + 1 < params.size(); i += 2) {
    auto key = static_cast<BrotliEncoderParameter>(params[i]);
    auto value = static_cast<uint32_t>(params[i + 1]);
    if (key == BROTLI_PARAM_LGBLOCK && value > kMaxBrotliLgBlock) value = kMaxBrotliLgBlock;
    if (!BrotliEncoderSetParameter(stream.brotli_encoder, key, value)) return RangeError("Initialization failed");
  }
  return Status::Ok();
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
// "brotli" | "unzip", params?, node?, dictionary?) -> handle. params (node:zlib): for
// zlib an Int32Array [level, windowBits, memLevel, strategy] (windowBits
// as Node gives it: 8-15, 0 for "from the header" when decompressing), for
// brotli a Uint32Array of [parameter, value] pairs. node: Node's rules.
NativeResult ZlibOpen(NativeCall& call) {
  bool compress = call.BoolArg(0);
  auto format = call.StringArg(1);
  if (!format.ok()) return format.status();
  std::vector<int64_t> params;
  bool has_params = call.length() > 2 && !call.arg(2)->IsUndefined();
  if (has_params && !ReadInt32s(call.arg(2), params)) return TypeError("zlibOpen: params must be a typed array");
  bool node = call.length() > 3 && call.BoolArg(3);
  std::string dictionary;
  if (call.length() > 4 && !call.arg(4)->IsUndefined()) {
    auto bytes = call.BytesArg(4);
    if (!bytes.ok()) return bytes.status();
    dictionary.assign(bytes->data(), bytes->size());
  }
  if (*format == "brotli") {
    EDGE_RETURN_IF_ERROR(CheckMemoryBudget(
        call.isolate(), compress ? kBrotliEncoderBytes : kBrotliDecoderBytes));
    auto stream = std::make_unique<ZlibStream>();
    stream->compress = compress;
    stream->node = node;
    stream->allocator = call.data().shared_buffer_allocator();
    stream->open = true;  // End() frees what OpenBrotli made, if it fails
    EDGE_RETURN_IF_ERROR(OpenBrotli(*stream, params));
    return NewHandle(call, std::move(stream));
  }
  int level = Z_DEFAULT_COMPRESSION;
  int window = 15;
  int mem_level = 8;
  int strategy = Z_DEFAULT_STRATEGY;
  if (has_params) {
    if (params.size() != 4) return TypeError("zlibOpen: params must hold 4 numbers");
    level = static_cast<int>(params[0]);
    window = static_cast<int>(params[1]);
    mem_level = static_cast<int>(params[2]);
    strategy = static_cast<int>(params[3]);
    // The ranges zlib accepts (zlib.js checks them first, with Node's errors).
    if (level < -1 || level > 9 || mem_level < 1 || mem_level > 9 || strategy < 0 || strategy > 4 ||
        window < 0 || window > 15 || (window != 0 && window < 8) || (compress && window == 0)) {
      return RangeError("zlibOpen: a parameter is out of range");
    }
  }
  int window_bits;
  if (*format == "gzip") {
    if (window == 8) window = 9;  // zlib's gzip writer refuses 8
    window_bits = window + 16;
  } else if (*format == "deflate") {
    window_bits = window;
  } else if (*format == "deflate-raw") {
    if (window == 0) window = 15;
    if (compress && window == 8) window = 9;
    window_bits = -window;
  } else if (*format == "unzip" && !compress) {
    window_bits = window + 32;
  } else {
    return TypeError("Unsupported compression format: '" + *format + "'");
  }
  // zlib's own estimate (zconf.h) of what a stream allocates.
  size_t state_bytes = compress
      ? (size_t{1} << ((window == 0 ? 15 : window) + 2)) + (size_t{1} << (mem_level + 9)) + 8 * 1024
      : (size_t{1} << (window == 0 ? 15 : window)) + 8 * 1024;
  EDGE_RETURN_IF_ERROR(CheckMemoryBudget(call.isolate(), std::max(state_bytes, kZlibStateBytes)));
  auto stream = std::make_unique<ZlibStream>();
  stream->compress = compress;
  stream->node = node;
  stream->allocator = call.data().shared_buffer_allocator();
  stream->z.zalloc = ZlibAlloc;
  stream->z.zfree = ZlibFree;
  stream->z.opaque = stream.get();
  int result = compress ? deflateInit2(&stream->z, level, Z_DEFLATED, window_bits, mem_level, strategy)
                        : inflateInit2(&stream->z, window_bits);
  if (result != Z_OK) return RangeError("Out of memory for a zlib stream");
  stream->open = true;
  if (!compress && (*format == "gzip" || *format == "unzip")) inflateGetHeader(&stream->z, &stream->gzip_header);
  stream->dictionary = std::move(dictionary);
  if (!stream->dictionary.empty() && *format != "gzip") {
    const auto* bytes = reinterpret_cast<const Bytef*>(stream->dictionary.data());
    auto length = static_cast<uInt>(stream->dictionary.size());
    if (compress) result = deflateSetDictionary(&stream->z, bytes, length);
    else if (*format == "deflate-raw") result = inflateSetDictionary(&stream->z, bytes, length);
    if (result != Z_OK) return RangeError("Failed to set dictionary");
  }
  return NewHandle(call, std::move(stream));
}

// zlibWrite(handle, bytes): the stream's next input, read by the zlibPull
// calls that follow until they return undefined.
NativeResult ZlibWrite(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  if (!stream->open || stream->finishing) return TypeError("The stream is closed");
  if (stream->pending_length != 0) return TypeError("The previous input is not consumed yet");
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
  if (length == 0 || store->Data() == nullptr) return v8::Undefined(call.isolate()).As<v8::Value>();
  stream->input = std::move(store);
  stream->pending_in = static_cast<const Bytef*>(stream->input->Data()) + offset;
  stream->pending_length = length;
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// zlibFinish(handle, allowTruncated?): no more input; the zlibPull calls
// that follow return the rest of the output. allowTruncated (node:zlib's
// finishFlush other than Z_FINISH): compressed data that ends early is not
// an error.
NativeResult ZlibFinish(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  if (!stream->open) return TypeError("The stream is closed");
  stream->finishing = true;
  stream->allow_truncated = call.length() > 1 && call.BoolArg(1);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// zlibFlush(handle, mode): the pulls until the input given so far is used
// up flush with zlib's `mode` (Z_SYNC_FLUSH, Z_FULL_FLUSH, ...; brotli
// flushes for any mode), so that what was written can be decompressed
// without what follows.
NativeResult ZlibFlush(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  auto mode = call.NumberArg(1);
  if (!mode.ok()) return mode.status();
  if (*mode != Z_NO_FLUSH && *mode != Z_PARTIAL_FLUSH && *mode != Z_SYNC_FLUSH && *mode != Z_FULL_FLUSH &&
      *mode != Z_BLOCK) {
    return RangeError("zlibFlush: unknown flush mode");
  }
  stream->flush = static_cast<int>(*mode);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// Records a failure for zlibErrorInfo and ends the stream: a TypeError
// saying `thrown`, else "Compression failed" or "Decompression failed: "
// and the message.
Status Fail(ZlibStream& stream, int number, std::string code, std::string message, std::string thrown = "") {
  stream.error_number = number;
  stream.error_code = std::move(code);
  stream.error_message = message;
  stream.End();
  if (thrown.empty()) thrown = stream.compress ? "Compression failed" : "Decompression failed: " + message;
  return TypeError(thrown);
}

// zlib's name for one of its error numbers, as Node gives it in `code`.
std::string ZlibCodeName(int number) {
  switch (number) {
    case Z_NEED_DICT: return "Z_NEED_DICT";
    case Z_ERRNO: return "Z_ERRNO";
    case Z_STREAM_ERROR: return "Z_STREAM_ERROR";
    case Z_DATA_ERROR: return "Z_DATA_ERROR";
    case Z_MEM_ERROR: return "Z_MEM_ERROR";
    case Z_BUF_ERROR: return "Z_BUF_ERROR";
    case Z_VERSION_ERROR: return "Z_VERSION_ERROR";
    default: return "Z_UNKNOWN_ERROR";
  }
}

Status Truncated(ZlibStream& stream) {
  return Fail(stream, Z_BUF_ERROR, "Z_BUF_ERROR", "unexpected end of file",
              "The compressed data ended before the stream did");
}

// One brotli call of zlibPull: reads z.next_in/avail_in, writes to
// z.next_out/avail_out and answers as zlib would (Z_STREAM_END once the
// output is complete, Z_OK otherwise), or the failure. `last_slice`: the
// input read is the last of what was given (the end or a flush applies).
StatusOr<int> BrotliStep(ZlibStream& stream, bool last_slice) {
  z_stream& z = stream.z;
  size_t avail_in = z.avail_in;
  const uint8_t* next_in = z.next_in;
  size_t avail_out = z.avail_out;
  uint8_t* next_out = z.next_out;
  int result = Z_OK;
  if (stream.compress) {
    BrotliEncoderOperation op = !last_slice                  ? BROTLI_OPERATION_PROCESS
                                : stream.finishing           ? BROTLI_OPERATION_FINISH
                                : stream.flush != Z_NO_FLUSH ? BROTLI_OPERATION_FLUSH
                                                             : BROTLI_OPERATION_PROCESS;
    if (!BrotliEncoderCompressStream(stream.brotli_encoder, op, &avail_in, &next_in, &avail_out,
                                     &next_out, nullptr)) {
      return Fail(stream, -1, "ERR_BROTLI_COMPRESSION_FAILED", "Compression failed");
    }
    if (op == BROTLI_OPERATION_FINISH && BrotliEncoderIsFinished(stream.brotli_encoder)) result = Z_STREAM_END;
  } else if (stream.ended) {
    result = Z_STREAM_END;
  } else {
    BrotliDecoderResult decoded = BrotliDecoderDecompressStream(
        stream.brotli_decoder, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    if (decoded == BROTLI_DECODER_RESULT_ERROR) {
      BrotliDecoderErrorCode code = BrotliDecoderGetErrorCode(stream.brotli_decoder);
      std::string name = BrotliDecoderErrorString(code);
      if (stream.node) return Fail(stream, code, "ERR_" + name, "Decompression failed");
      return Fail(stream, code, "ERR_" + name, name);
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

// One zlib call of zlibPull, as BrotliStep. The end of the stream and a
// flush apply to the last slice of the input only.
StatusOr<int> ZlibStep(ZlibStream& stream, bool last_slice) {
  z_stream& z = stream.z;
  if (stream.compress) {
    int result = deflate(&z, !last_slice ? Z_NO_FLUSH : stream.finishing ? Z_FINISH : stream.flush);
    if (result == Z_STREAM_ERROR) return Fail(stream, result, ZlibCodeName(result), "Compression failed");
    return result;
  }
  if (stream.ended) return Z_STREAM_END;
  int flush = stream.flush == Z_NO_FLUSH ? Z_NO_FLUSH : Z_SYNC_FLUSH;
  int result = inflate(&z, flush);
  if (result == Z_NEED_DICT && !stream.dictionary.empty()) {
    result = inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(stream.dictionary.data()),
                                  static_cast<uInt>(stream.dictionary.size()));
    if (result != Z_OK) return Fail(stream, Z_DATA_ERROR, "Z_DATA_ERROR", "Bad dictionary");
    result = inflate(&z, flush);
  }
  if (result == Z_NEED_DICT || result == Z_DATA_ERROR || result == Z_STREAM_ERROR || result == Z_MEM_ERROR) {
    std::string message = z.msg != nullptr ? z.msg : result == Z_NEED_DICT ? "Missing dictionary" : "invalid data";
    return Fail(stream, result, ZlibCodeName(result), message);
  }
  if (result == Z_STREAM_END) stream.ended = true;
  return result;
}

// zlibPull(handle, size?) -> Uint8Array | undefined: the next slice of
// output (at most `size` bytes, 64 KiB by default; empty when the input
// read this time made none yet: pull again), or undefined when the input
// given so far is used up (after zlibFinish: when the output is complete;
// the zlib state is freed then). A TypeError for corrupt or truncated
// compressed data (details: zlibErrorInfo); any failure ends the stream.
NativeResult ZlibPull(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  v8::Local<v8::Value> none = v8::Undefined(call.isolate());
  if (!stream->open) return none;
  size_t size = kChunkSize;
  if (call.length() > 1 && call.arg(1)->IsNumber()) {
    double asked = call.arg(1).As<v8::Number>()->Value();
    size = asked >= static_cast<double>(kMaxChunkSize) ? kMaxChunkSize
           : asked <= static_cast<double>(kMinChunkSize) ? kMinChunkSize
                                                          : static_cast<size_t>(asked);
  }
  z_stream& z = stream->z;
  // Decompression after the end: Node starts a new gzip member on input
  // that does not begin with a zero byte (padding), and ignores the rest;
  // the Compression spec calls any of it an error.
  if (!stream->compress && stream->ended && stream->pending_length != 0) {
    bool gzip = !stream->brotli && stream->gzip_header.done == 1;
    if (!stream->node) {
      return Fail(*stream, Z_DATA_ERROR, "Z_DATA_ERROR", "trailing data",
                  "Junk found after the end of the compressed data");
    }
    if (gzip && stream->pending_in[0] != 0) {
      inflateReset(&z);
      stream->ended = false;
    } else {
      stream->pending_in = nullptr;
      stream->pending_length = 0;
      stream->input.reset();
    }
  }
  std::string buffer(size, '\0');
  z.next_out = reinterpret_cast<Bytef*>(buffer.data());
  z.avail_out = static_cast<uInt>(buffer.size());
  size_t given = std::min(stream->pending_length, kInputSlice);
  z.next_in = const_cast<Bytef*>(stream->pending_in);
  z.avail_in = static_cast<uInt>(given);
  bool last_slice = given == stream->pending_length;
  StatusOr<int> step = stream->brotli ? BrotliStep(*stream, last_slice) : ZlibStep(*stream, last_slice);
  if (!step.ok()) return step.status();
  int result = *step;
  size_t consumed = given - z.avail_in;
  stream->pending_in += consumed;
  stream->pending_length -= consumed;
  z.next_in = nullptr;
  z.avail_in = 0;
  size_t produced = buffer.size() - z.avail_out;
  if (stream->pending_length == 0) {
    stream->input.reset();
    stream->pending_in = nullptr;
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
  // Input was read but made no output yet: the caller pulls again.
  if (stream->pending_length != 0 && (consumed > 0 || (!stream->compress && stream->ended))) {
    StatusOr<v8::Local<v8::Uint8Array>> empty = NewUint8Array(call.isolate(), std::string_view());
    if (!empty.ok()) return empty.status();
    return empty->As<v8::Value>();
  }
  if (stream->pending_length != 0 && !stream->brotli && result == Z_BUF_ERROR) {
    // No progress is possible with input left: corrupt data zlib cannot
    // move past (it would otherwise be asked forever).
    return Fail(*stream, Z_DATA_ERROR, "Z_DATA_ERROR", "invalid data");
  }
  // Nothing more for now: zlib took all the input it was given (or, at the
  // end, has nothing left to write).
  stream->flush = Z_NO_FLUSH;
  if (stream->finishing) {
    bool truncated = !stream->compress && !stream->ended && !stream->allow_truncated;
    if (truncated) return Truncated(*stream);
    stream->End();
  }
  return none;
}

// zlibParams(handle, level, strategy) -> Uint8Array: changes a deflate
// stream's level and strategy (node:zlib's params(), after a flush): the
// output deflate makes for the data written so far, if any.
NativeResult ZlibParams(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  auto level = call.NumberArg(1);
  if (!level.ok()) return level.status();
  auto strategy = call.NumberArg(2);
  if (!strategy.ok()) return strategy.status();
  if (!stream->open || stream->brotli || !stream->compress || stream->pending_length != 0) {
    return TypeError("zlibParams: not an open deflate stream with its input used up");
  }
  if (*level < -1 || *level > 9 || *strategy < 0 || *strategy > 4) return RangeError("zlibParams: out of range");
  std::string buffer(kChunkSize, '\0');
  z_stream& z = stream->z;
  z.next_in = nullptr;
  z.avail_in = 0;
  z.next_out = reinterpret_cast<Bytef*>(buffer.data());
  z.avail_out = static_cast<uInt>(buffer.size());
  int result = deflateParams(&z, static_cast<int>(*level), static_cast<int>(*strategy));
  if (result != Z_OK) return Fail(*stream, result, ZlibCodeName(result), "Failed to set parameters");
  StatusOr<v8::Local<v8::Uint8Array>> made =
      NewUint8Array(call.isolate(), std::string_view(buffer.data(), buffer.size() - z.avail_out));
  if (!made.ok()) return made.status();
  return made->As<v8::Value>();
}

// zlibVersionNumber() -> ZLIB_VERNUM of the zlib edge was built with.
NativeResult ZlibVersionNumber(NativeCall& call) {
  return v8::Integer::New(call.isolate(), ZLIB_VERNUM).As<v8::Value>();
}

// zlibErrorInfo(handle) -> [errno, code, message] of the stream's failure.
NativeResult ZlibErrorInfo(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream == nullptr) return TypeError("Not a zlib stream handle");
  v8::Isolate* isolate = call.isolate();
  v8::Local<v8::Value> items[] = {v8::Integer::New(isolate, stream->error_number),
                                  call.String(stream->error_code), call.String(stream->error_message)};
  return v8::Array::New(isolate, items, 3).As<v8::Value>();
}

// zlibClose(handle): frees the zlib state now (an errored or cancelled stream).
NativeResult ZlibClose(NativeCall& call) {
  ZlibStream* stream = StreamFromHandle(call.arg(0));
  if (stream != nullptr) stream->End();
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// zlibCrc32(bytes, value) -> the CRC-32 of `bytes` continuing from `value`
// (node:zlib's crc32 hands it at most kMaxCrc32Slice bytes per call).
NativeResult ZlibCrc32(NativeCall& call) {
  auto bytes = call.BytesArg(0);
  if (!bytes.ok()) return bytes.status();
  auto initial = call.NumberArg(1);
  if (!initial.ok()) return initial.status();
  if (bytes->size() > kMaxCrc32Slice) return RangeError("zlibCrc32: at most 4 MiB per call");
  uLong crc = crc32(static_cast<uLong>(static_cast<uint32_t>(*initial)),
                    reinterpret_cast<const Bytef*>(bytes->data()), static_cast<uInt>(bytes->size()));
  return v8::Number::New(call.isolate(), static_cast<double>(static_cast<uint32_t>(crc))).As<v8::Value>();
}

}  // namespace

void RegisterCompressionNatives(NativeRegistry& registry) {
  registry.Add({{"zlibOpen", ZlibOpen},
                {"zlibWrite", ZlibWrite},
                {"zlibFinish", ZlibFinish},
                {"zlibFlush", ZlibFlush},
                {"zlibPull", ZlibPull},
                {"zlibErrorInfo", ZlibErrorInfo},
                {"zlibClose", ZlibClose},
                {"zlibParams", ZlibParams},
                {"zlibVersionNumber", ZlibVersionNumber},
                {"zlibCrc32", ZlibCrc32}});
}

}  // namespace edge::runtime
