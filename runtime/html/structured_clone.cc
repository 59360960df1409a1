// structuredClone (https://html.spec.whatwg.org/#dom-structuredclone) over
// V8's serializer, which implements the HTML structured serialization, and
// the transfer of ArrayBuffers it and the Streams standard need.
#include <v8.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "runtime/web_apis.h"
#include "runtime/errors.h"

namespace edge::runtime {
namespace {

class CloneDelegate : public v8::ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(v8::Isolate* isolate) : isolate_(isolate) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    ThrowStatus(isolate_, DomException("DataCloneError",
                                                         ToStdString(isolate_, message)));
  }

 private:
  v8::Isolate* isolate_;
};

// Checks that `value` is an ArrayBuffer that can be detached (not shared,
// not already detached, not a WebAssembly.Memory's).
Status CheckTransferable(v8::Local<v8::Value> value) {
  if (!value->IsArrayBuffer()) return TypeError("not an ArrayBuffer");
  auto buffer = value.As<v8::ArrayBuffer>();
  if (buffer->WasDetached()) return TypeError("the ArrayBuffer is detached");
  if (!buffer->IsDetachable()) return TypeError("the ArrayBuffer cannot be detached");
  return Status::Ok();
}

// structuredClone(value, transfer?): transfer is an array of distinct
// ArrayBuffers (runtime/html/structured_clone.js checks the list); they are moved, not
// copied, and detached in the caller's hands.
NativeResult StructuredClone(NativeCall& call) {
  v8::Isolate* isolate = call.isolate();
  v8::Local<v8::Context> context = call.context();
  std::vector<v8::Local<v8::ArrayBuffer>> transfer;
  if (call.length() > 1 && call.arg(1)->IsArray()) {
    auto list = call.arg(1).As<v8::Array>();
    for (uint32_t i = 0; i < list->Length(); ++i) {
      v8::Local<v8::Value> item;
      if (!list->Get(context, i).ToLocal(&item)) return PendingException();
      Status ok = CheckTransferable(item);
      if (!ok.ok()) return DomException("DataCloneError", "cannot transfer: " + ok.message());
      transfer.push_back(item.As<v8::ArrayBuffer>());
    }
    // structured_clone.js refuses duplicates too; this holds whatever the
    // worker did to the built-ins it runs on. Buffers are grouped by their
    // identity hash, so the check stays linear however long the list.
    std::unordered_multimap<int, size_t> seen;
    for (size_t i = 0; i < transfer.size(); ++i) {
      int hash = transfer[i]->GetIdentityHash();
      auto range = seen.equal_range(hash);
      for (auto it = range.first; it != range.second; ++it) {
        if (transfer[it->second]->StrictEquals(transfer[i])) {
          return DomException("DataCloneError", "cannot transfer: an ArrayBuffer is listed twice");
        }
      }
      seen.emplace(hash, i);
    }
  }
  CloneDelegate delegate(isolate);
  v8::ValueSerializer serializer(isolate, &delegate);
  serializer.WriteHeader();
  for (uint32_t i = 0; i < transfer.size(); ++i) serializer.TransferArrayBuffer(i, transfer[i]);
  if (!serializer.WriteValue(context, call.arg(0)).FromMaybe(false)) {
    return PendingException();
  }
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  // Serialization succeeded: now the transferred buffers move.
  std::vector<std::shared_ptr<v8::BackingStore>> stores;
  for (v8::Local<v8::ArrayBuffer> moved : transfer) {
    stores.push_back(moved->GetBackingStore());
    moved->Detach();
  }
  v8::Local<v8::Value> result;
  bool ok;
  {
    v8::ValueDeserializer deserializer(isolate, buffer.first, buffer.second);
    for (uint32_t i = 0; i < stores.size(); ++i) {
      deserializer.TransferArrayBuffer(i, v8::ArrayBuffer::New(isolate, stores[i]));
    }
    ok = deserializer.ReadHeader(context).FromMaybe(false) &&
         deserializer.ReadValue(context).ToLocal(&result);
  }
  free(buffer.first);
  if (!ok) return PendingException();
  return result;
}

// transferArrayBuffer(buffer) -> a new ArrayBuffer over the same memory; the
// argument is detached (the Streams standard's "transfer" of a chunk).
NativeResult TransferArrayBuffer(NativeCall& call) {
  Status ok = CheckTransferable(call.arg(0));
  if (!ok.ok()) return ok;
  auto buffer = call.arg(0).As<v8::ArrayBuffer>();
  std::shared_ptr<v8::BackingStore> store = buffer->GetBackingStore();
  buffer->Detach();
  return v8::ArrayBuffer::New(call.isolate(), std::move(store)).As<v8::Value>();
}

}  // namespace

void RegisterStructuredCloneNatives(NativeRegistry& registry) {
  registry.Add(
      {{"structuredClone", StructuredClone}, {"transferArrayBuffer", TransferArrayBuffer}});
}

}  // namespace edge::runtime
