// UTF-8 for TextEncoder/TextDecoder (https://encoding.spec.whatwg.org/).
// The spec algorithms (labels, BOM, streaming) are in runtime/encoding/encoding.js.
#include <cstring>

#include "runtime/buffer_allocator.h"
#include "runtime/web_apis.h"
#include "base/utf8.h"

namespace edge::runtime {
namespace {

NativeResult Utf8Encode(NativeCall& call) {
  v8::Local<v8::String> text;
  if (!call.arg(0)->ToString(call.context()).ToLocal(&text)) return PendingException();
  v8::Isolate* isolate = call.isolate();
  int length = text->Utf8Length(isolate);
  // Counted against the worker's memory budget: a RangeError, not an abort,
  // when the text's UTF-8 does not fit.
  StatusOr<std::unique_ptr<v8::BackingStore>> store = NewBackingStore(isolate, length);
  if (!store.ok()) return store.status();
  if (length > 0) {
    text->WriteUtf8(isolate, static_cast<char*>((*store)->Data()), length, nullptr,
                    v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  }
  auto buffer = v8::ArrayBuffer::New(isolate, std::move(*store));
  return v8::Uint8Array::New(buffer, 0, length).As<v8::Value>();
}

// utf8EncodeInto(string, Uint8Array) -> [read (UTF-16 units), written]
NativeResult Utf8EncodeInto(NativeCall& call) {
  v8::Local<v8::String> text;
  if (!call.arg(0)->ToString(call.context()).ToLocal(&text)) return PendingException();
  if (!call.arg(1)->IsUint8Array()) return TypeError("destination is not a Uint8Array");
  auto view = call.arg(1).As<v8::Uint8Array>();
  v8::Isolate* isolate = call.isolate();
  char* base = static_cast<char*>(view->Buffer()->Data()) + view->ByteOffset();
  int read = 0;
  int written = 0;
  if (view->ByteLength() > 0) {
    written = text->WriteUtf8(isolate, base, static_cast<int>(view->ByteLength()), &read,
                              v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  }
  v8::Local<v8::Value> items[] = {v8::Integer::New(isolate, read),
                                  v8::Integer::New(isolate, written)};
  return v8::Array::New(isolate, items, 2).As<v8::Value>();
}

// utf8Decode(bytes, fatal, ignoreBOM) -> string
NativeResult Utf8Decode(NativeCall& call) {
  auto bytes = call.BytesArg(0);
  if (!bytes.ok()) return bytes.status();
  std::string_view data = *bytes;
  bool fatal = call.BoolArg(1);
  bool ignore_bom = call.BoolArg(2);
  if (!ignore_bom && data.starts_with("\xEF\xBB\xBF")) data.remove_prefix(3);
  if (fatal && !base::IsValidUtf8(data)) return TypeError("The encoded data was not valid utf-8");
  // V8's decoder replaces each maximal invalid subpart with U+FFFD, as the
  // Encoding Standard requires.
  v8::Local<v8::String> text;
  if (!v8::String::NewFromUtf8(call.isolate(), data.data(), v8::NewStringType::kNormal,
                               static_cast<int>(data.size()))
           .ToLocal(&text)) {
    return RangeError("The decoded string is too long");
  }
  return text.As<v8::Value>();
}

}  // namespace

void RegisterEncodingNatives(NativeRegistry& registry) {
  registry.Add(
      {{"utf8Encode", Utf8Encode}, {"utf8EncodeInto", Utf8EncodeInto}, {"utf8Decode", Utf8Decode}});
}

}  // namespace edge::runtime
