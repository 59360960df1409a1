// structuredClone (https://html.spec.whatwg.org/#dom-structuredclone) over
// V8's serializer, which implements the HTML structured serialization.
#include <v8.h>

#include "bindings/bindings.h"
#include "runtime/errors.h"

namespace edge::bindings {
namespace {
using runtime::NativeCall;
using runtime::NativeResult;

class CloneDelegate : public v8::ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(v8::Isolate* isolate) : isolate_(isolate) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    runtime::ThrowStatus(isolate_, runtime::DomException("DataCloneError",
                                                         runtime::ToStdString(isolate_, message)));
  }

 private:
  v8::Isolate* isolate_;
};

NativeResult StructuredClone(NativeCall& call) {
  v8::Isolate* isolate = call.isolate();
  v8::Local<v8::Context> context = call.context();
  CloneDelegate delegate(isolate);
  v8::ValueSerializer serializer(isolate, &delegate);
  serializer.WriteHeader();
  if (!serializer.WriteValue(context, call.arg(0)).FromMaybe(false)) {
    return runtime::PendingException();
  }
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  v8::Local<v8::Value> result;
  bool ok;
  {
    v8::ValueDeserializer deserializer(isolate, buffer.first, buffer.second);
    ok = deserializer.ReadHeader(context).FromMaybe(false) &&
         deserializer.ReadValue(context).ToLocal(&result);
  }
  free(buffer.first);
  if (!ok) return runtime::PendingException();
  return result;
}

}  // namespace

void RegisterStructuredCloneNatives(runtime::NativeRegistry& registry) {
  registry.Add("structuredClone", StructuredClone);
}

}  // namespace edge::bindings
