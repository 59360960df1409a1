// structuredClone (https://html.spec.whatwg.org/#dom-structuredclone) over
// V8's serializer, which implements the HTML structured serialization, and
// the transfer of ArrayBuffers it and the Streams standard need.
//
// Blob and File are JavaScript classes whose instances are made from a
// template with an embedder field (newHostObject, runtime/blob/blob.js), so
// V8's serializer hands them to WriteHostObject: their kind, bytes and
// fields come from internals.hostObjectRecord and the copy is made by
// internals.hostObjectFromRecord (both in blob.js).
#include <v8.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/buffer_allocator.h"
#include "runtime/errors.h"
#include "runtime/isolate_data.h"
#include "runtime/web_apis.h"

namespace edge::runtime {
namespace {

// internals[name], a function of the runtime's JavaScript.
v8::MaybeLocal<v8::Function> InternalFunction(v8::Isolate* isolate, const char* name) {
  IsolateData* data = IsolateData::From(isolate);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Value> value;
  if (data == nullptr || context.IsEmpty() ||
      !data->internals()->Get(context, Utf8String(isolate, name)).ToLocal(&value) ||
      !value->IsFunction()) {
    return {};
  }
  return value.As<v8::Function>();
}

class CloneDelegate : public v8::ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(v8::Isolate* isolate) : isolate_(isolate) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    ThrowStatus(isolate_, DomException("DataCloneError",
                                                         ToStdString(isolate_, message)));
  }

  // A Blob or File: [kind, bytes, type, name, lastModified] from
  // internals.hostObjectRecord, written as kind, type, bytes and, for a
  // File, name and lastModified.
  v8::Maybe<bool> WriteHostObject(v8::Isolate* isolate, v8::Local<v8::Object> object) override {
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    v8::Local<v8::Function> record_of;
    v8::Local<v8::Value> record;
    v8::Local<v8::Value> args[] = {object};
    if (!InternalFunction(isolate, "hostObjectRecord").ToLocal(&record_of) ||
        !record_of->Call(context, v8::Undefined(isolate), 1, args).ToLocal(&record)) {
      return v8::Nothing<bool>();
    }
    if (!record->IsArray()) {
      ThrowStatus(isolate, DomException("DataCloneError", "This object cannot be cloned."));
      return v8::Nothing<bool>();
    }
    auto fields = record.As<v8::Array>();
    v8::Local<v8::Value> kind, bytes, type, name, last_modified;
    if (!fields->Get(context, 0).ToLocal(&kind) || !fields->Get(context, 1).ToLocal(&bytes) ||
        !fields->Get(context, 2).ToLocal(&type) || !fields->Get(context, 3).ToLocal(&name) ||
        !fields->Get(context, 4).ToLocal(&last_modified)) {
      return v8::Nothing<bool>();
    }
    if (!kind->IsUint32() || !bytes->IsUint8Array() || !type->IsString()) {
      ThrowStatus(isolate, DomException("DataCloneError", "This object cannot be cloned."));
      return v8::Nothing<bool>();
    }
    uint32_t kind_value = kind.As<v8::Uint32>()->Value();
    serializer->WriteUint32(kind_value);
    WriteString(ToStdString(isolate, type));
    auto view = bytes.As<v8::Uint8Array>();
    std::string content(view->ByteLength(), '\0');
    view->CopyContents(content.data(), content.size());
    WriteString(content);
    if (kind_value == 2) {
      if (!name->IsString() || !last_modified->IsNumber()) {
        ThrowStatus(isolate, DomException("DataCloneError", "This object cannot be cloned."));
        return v8::Nothing<bool>();
      }
      WriteString(ToStdString(isolate, name));
      serializer->WriteDouble(last_modified.As<v8::Number>()->Value());
    }
    return v8::Just(true);
  }

  v8::ValueSerializer* serializer = nullptr;

 private:
  void WriteString(const std::string& text) {
    serializer->WriteUint64(text.size());
    serializer->WriteRawBytes(text.data(), text.size());
  }

  v8::Isolate* isolate_;
};

// Reads what CloneDelegate::WriteHostObject wrote. No JavaScript may run
// while V8 deserializes, so each Blob or File is an empty host object
// (placeholder) then, made into the copy by Finish once reading is done.
class ReadDelegate : public v8::ValueDeserializer::Delegate {
 public:
  v8::MaybeLocal<v8::Object> ReadHostObject(v8::Isolate* isolate) override {
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    Pending item;
    if (!deserializer->ReadUint32(&item.kind) || !ReadString(&item.type) ||
        !ReadString(&item.bytes) ||
        (item.kind == 2 &&
         (!ReadString(&item.name) || !deserializer->ReadDouble(&item.last_modified)))) {
      ThrowStatus(isolate, DomException("DataCloneError", "Unable to deserialize cloned data."));
      return {};
    }
    v8::Local<v8::Object> placeholder;
    if (!IsolateData::From(isolate)->HostObjectTemplate()->NewInstance(context).ToLocal(
            &placeholder)) {
      return {};
    }
    item.placeholder.Reset(isolate, placeholder);
    pending_.push_back(std::move(item));
    return placeholder;
  }

  // Makes each placeholder its Blob or File (internals.hostObjectFromRecord);
  // false with a pending exception when one cannot be made.
  bool Finish(v8::Isolate* isolate, v8::Local<v8::Context> context) {
    for (Pending& item : pending_) {
      StatusOr<v8::Local<v8::Uint8Array>> content = NewUint8Array(isolate, item.bytes);
      if (!content.ok()) {
        ThrowStatus(isolate, content.status());
        return false;
      }
      v8::Local<v8::Function> from_record;
      v8::Local<v8::Value> made;
      v8::Local<v8::Value> args[] = {v8::Integer::NewFromUnsigned(isolate, item.kind), *content,
                                     Utf8String(isolate, item.type), Utf8String(isolate, item.name),
                                     v8::Number::New(isolate, item.last_modified),
                                     item.placeholder.Get(isolate)};
      if (!InternalFunction(isolate, "hostObjectFromRecord").ToLocal(&from_record) ||
          !from_record->Call(context, v8::Undefined(isolate), 6, args).ToLocal(&made)) {
        return false;
      }
    }
    return true;
  }

  v8::ValueDeserializer* deserializer = nullptr;

 private:
  bool ReadString(std::string* out) {
    uint64_t length = 0;
    const void* data = nullptr;
    if (!deserializer->ReadUint64(&length) || !deserializer->ReadRawBytes(length, &data)) {
      return false;
    }
    out->assign(static_cast<const char*>(data), length);
    return true;
  }

  struct Pending {
    uint32_t kind = 0;
    std::string type, bytes, name;
    double last_modified = 0;
    v8::Global<v8::Object> placeholder;
  };
  std::vector<Pending> pending_;
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
  delegate.serializer = &serializer;
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
    ReadDelegate read_delegate;
    v8::ValueDeserializer deserializer(isolate, buffer.first, buffer.second, &read_delegate);
    read_delegate.deserializer = &deserializer;
    for (uint32_t i = 0; i < stores.size(); ++i) {
      deserializer.TransferArrayBuffer(i, v8::ArrayBuffer::New(isolate, stores[i]));
    }
    ok = deserializer.ReadHeader(context).FromMaybe(false) &&
         deserializer.ReadValue(context).ToLocal(&result) && read_delegate.Finish(isolate, context);
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

// newHostObject() -> an empty object with one embedder field, for Blob and
// File (runtime/blob/blob.js) to be made from.
NativeResult NewHostObject(NativeCall& call) {
  v8::Local<v8::Object> object;
  if (!call.data().HostObjectTemplate()->NewInstance(call.context()).ToLocal(&object)) {
    return PendingException();
  }
  return object.As<v8::Value>();
}

}  // namespace

StatusOr<std::string> SerializeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                     v8::Local<v8::Value> value) {
  CloneDelegate delegate(isolate);
  v8::ValueSerializer serializer(isolate, &delegate);
  delegate.serializer = &serializer;
  serializer.WriteHeader();
  if (!serializer.WriteValue(context, value).FromMaybe(false)) return PendingException();
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  std::string out(reinterpret_cast<const char*>(buffer.first), buffer.second);
  free(buffer.first);
  return out;
}

v8::MaybeLocal<v8::Value> DeserializeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                           std::string_view bytes) {
  ReadDelegate read_delegate;
  v8::ValueDeserializer deserializer(isolate, reinterpret_cast<const uint8_t*>(bytes.data()),
                                     bytes.size(), &read_delegate);
  read_delegate.deserializer = &deserializer;
  v8::Local<v8::Value> result;
  if (!deserializer.ReadHeader(context).FromMaybe(false) ||
      !deserializer.ReadValue(context).ToLocal(&result) || !read_delegate.Finish(isolate, context)) {
    return {};
  }
  return result;
}

void RegisterStructuredCloneNatives(NativeRegistry& registry) {
  registry.Add({{"structuredClone", StructuredClone},
                {"transferArrayBuffer", TransferArrayBuffer},
                {"newHostObject", NewHostObject}});
}

}  // namespace edge::runtime
