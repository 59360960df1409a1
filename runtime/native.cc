#include "runtime/native.h"

#include "runtime/buffer_allocator.h"
#include "runtime/errors.h"
#include "runtime/isolate_data.h"
#include "base/log.h"

namespace edge::runtime {

// The one trampoline every native goes through.
void NativeTrampoline(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateData* data = IsolateData::From(isolate);
  NativeFunction function = nullptr;
  if (data != nullptr && info.Data()->IsUint32()) {
    uint32_t index = info.Data().As<v8::Uint32>()->Value();
    const NativeTable* table = data->natives();
    if (table != nullptr && index < table->size()) function = (*table)[index];
  }
  if (function == nullptr) {
    // An isolate made with another registry than its `native` object (a
    // snapshot check that should have refused it): a bug, reported as an
    // error rather than a call to the wrong function.
    ThrowStatus(isolate, {ErrorCode::kInternal, "internal error: unknown native"});
    return;
  }
  try {
    NativeCall call(info, data);
    NativeResult result = function(call);
    if (result.ok()) {
      info.GetReturnValue().Set(result.value());
    } else if (result.status().code() != ErrorCode::kJsException) {
      ThrowStatus(isolate, result.status());
    }
  } catch (const std::exception& e) {
    // A C++ exception from a library (allocation failure, fmt) must not
    // unwind through V8 frames.
    ThrowStatus(isolate, {ErrorCode::kInternal, std::string("internal error: ") + e.what()});
  } catch (...) {
    ThrowStatus(isolate, {ErrorCode::kInternal, "internal error"});
  }
}

v8::Local<v8::String> Utf8String(v8::Isolate* isolate, std::string_view text) {
  v8::Local<v8::String> result;
  if (!v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                               static_cast<int>(text.size()))
           .ToLocal(&result)) {
    return v8::String::Empty(isolate);
  }
  return result;
}

v8::Local<v8::String> Latin1String(v8::Isolate* isolate, std::string_view bytes) {
  v8::Local<v8::String> result;
  if (!v8::String::NewFromOneByte(isolate, reinterpret_cast<const uint8_t*>(bytes.data()),
                                  v8::NewStringType::kNormal, static_cast<int>(bytes.size()))
           .ToLocal(&result)) {
    return v8::String::Empty(isolate);
  }
  return result;
}

v8::Local<v8::Array> NewArray(v8::Isolate* isolate,
                              const std::vector<v8::Local<v8::Value>>& values) {
  // Array::New with elements stores them directly: no setter runs.
  return v8::Array::New(isolate, const_cast<v8::Local<v8::Value>*>(values.data()), values.size());
}

v8::Local<v8::Object> NewNullProtoObject(v8::Isolate* isolate) {
  return v8::Object::New(isolate, v8::Null(isolate), nullptr, nullptr, 0);
}

bool DefineData(v8::Local<v8::Context> context, v8::Local<v8::Object> object,
                v8::Local<v8::Name> name, v8::Local<v8::Value> value) {
  return object->CreateDataProperty(context, name, value).FromMaybe(false);
}

bool DefineData(v8::Local<v8::Context> context, v8::Local<v8::Object> object, std::string_view name,
                v8::Local<v8::Value> value) {
  return DefineData(context, object, Utf8String(context->GetIsolate(), name), value);
}

StatusOr<std::string> NativeCall::ByteString(v8::Local<v8::Value> value) const {
  v8::Local<v8::String> text;
  if (!value->ToString(context()).ToLocal(&text)) return PendingException();
  std::string bytes(text->Length(), '\0');
  text->WriteOneByte(isolate(), reinterpret_cast<uint8_t*>(bytes.data()), 0,
                     static_cast<int>(bytes.size()), v8::String::NO_NULL_TERMINATION);
  return bytes;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> NativeCall::HeaderListArg(int i) const {
  if (!arg(i)->IsArray()) return TypeError("headers must be an array");
  auto array = arg(i).As<v8::Array>();
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(array->Length() / 2);
  for (uint32_t k = 0; k + 1 < array->Length(); k += 2) {
    v8::Local<v8::Value> name, value;
    if (!array->Get(context(), k).ToLocal(&name) || !array->Get(context(), k + 1).ToLocal(&value)) {
      return PendingException();
    }
    auto name_bytes = ByteString(name);
    if (!name_bytes.ok()) return name_bytes.status();
    auto value_bytes = ByteString(value);
    if (!value_bytes.ok()) return value_bytes.status();
    headers.emplace_back(std::move(name_bytes).value(), std::move(value_bytes).value());
  }
  return headers;
}

StatusOr<std::string> NativeCall::StringArg(int i) const {
  v8::Local<v8::String> text;
  if (!arg(i)->ToString(context()).ToLocal(&text)) return PendingException();
  v8::String::Utf8Value utf8(isolate(), text);
  return std::string(*utf8, utf8.length());
}

StatusOr<double> NativeCall::NumberArg(int i) const {
  double value;
  if (!arg(i)->NumberValue(context()).To(&value)) return PendingException();
  return value;
}

bool NativeCall::BoolArg(int i) const { return arg(i)->BooleanValue(isolate()); }

StatusOr<v8::Local<v8::Function>> NativeCall::FunctionArg(int i) const {
  if (!arg(i)->IsFunction()) return TypeError(fmt::format("argument {} is not a function", i + 1));
  return arg(i).As<v8::Function>();
}

StatusOr<std::string_view> NativeCall::BytesArg(int i) const {
  v8::Local<v8::Value> value = arg(i);
  if (value->IsArrayBufferView()) {
    auto view = value.As<v8::ArrayBufferView>();
    auto* base = static_cast<const char*>(view->Buffer()->Data());
    if (base == nullptr) return std::string_view();
    return std::string_view(base + view->ByteOffset(), view->ByteLength());
  }
  if (value->IsArrayBuffer() || value->IsSharedArrayBuffer()) {
    auto store = value->IsArrayBuffer() ? value.As<v8::ArrayBuffer>()->GetBackingStore()
                                        : value.As<v8::SharedArrayBuffer>()->GetBackingStore();
    return std::string_view(static_cast<const char*>(store->Data()), store->ByteLength());
  }
  return TypeError(fmt::format("argument {} is not an ArrayBuffer or ArrayBufferView", i + 1));
}

v8::Local<v8::String> NativeCall::String(std::string_view text) const {
  return Utf8String(isolate(), text);
}

v8::Local<v8::Uint8Array> NativeCall::Bytes(std::string_view bytes) const {
  StatusOr<v8::Local<v8::Uint8Array>> array = NewUint8Array(isolate(), bytes);
  if (array.ok()) return *array;
  // Over the memory budget: the worker is being stopped. The caller still
  // gets a usable value; the exception ends the native call.
  ThrowStatus(isolate(), array.status());
  return v8::Uint8Array::New(v8::ArrayBuffer::New(isolate(), 0), 0, 0);
}

void NativeRegistry::AddToTable(const Entry& entry) {
  // A fresh table: isolates already made keep the one they were given.
  auto table = std::make_shared<NativeTable>(*table_);
  table->push_back(entry.function);
  table_ = std::move(table);
  signature_.append(entry.name).append("\n");
}

void NativeRegistry::Add(std::string name, NativeFunction function) {
  entries_.push_back({std::move(name), function});
  AddToTable(entries_.back());
}

void NativeRegistry::Add(std::initializer_list<Entry> entries) {
  for (const Entry& entry : entries) {
    entries_.push_back(entry);
    AddToTable(entry);
  }
}

void NativeRegistry::AddConstant(std::string name, double value) {
  signature_.append(fmt::format("{}={}\n", name, value));
  constants_.emplace_back(std::move(name), value);
}

v8::MaybeLocal<v8::Object> NativeRegistry::Instantiate(v8::Isolate* isolate,
                                                       v8::Local<v8::Context> context) const {
  v8::EscapableHandleScope scope(isolate);
  // No prototype: a name the runtime's JavaScript reads that is not a native
  // must be undefined, not whatever Object.prototype has by then.
  v8::Local<v8::Object> object = NewNullProtoObject(isolate);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    v8::Local<v8::Function> function;
    if (!v8::Function::New(context, NativeTrampoline, v8::Integer::NewFromUnsigned(isolate, i), 0,
                           v8::ConstructorBehavior::kThrow)
             .ToLocal(&function)) {
      return {};
    }
    v8::Local<v8::String> name = Utf8String(isolate, entry.name);
    function->SetName(name);
    if (!DefineData(context, object, name, function)) return {};
  }
  for (const auto& [name, value] : constants_) {
    if (!DefineData(context, object, name, v8::Number::New(isolate, value))) return {};
  }
  return scope.Escape(object);
}

void ThrowStatus(v8::Isolate* isolate, const Status& status) {
  v8::HandleScope scope(isolate);
  v8::Local<v8::String> message = Utf8String(isolate, status.message());
  v8::Local<v8::Value> error;
  switch (status.code()) {
    case ErrorCode::kRangeError:
      error = v8::Exception::RangeError(message);
      break;
    case ErrorCode::kSyntaxError:
      error = v8::Exception::SyntaxError(message);
      break;
    case ErrorCode::kDomException: {
      IsolateData* data = IsolateData::From(isolate);
      v8::Local<v8::Context> context = isolate->GetCurrentContext();
      v8::Local<v8::Value> constructor;
      if (data != nullptr &&
          data->internals()
              ->Get(context, v8::String::NewFromUtf8Literal(isolate, "DOMException"))
              .ToLocal(&constructor) &&
          constructor->IsFunction()) {
        v8::Local<v8::Value> args[] = {message, Utf8String(isolate, status.name())};
        v8::Local<v8::Object> instance;
        if (constructor.As<v8::Function>()->NewInstance(context, 2, args).ToLocal(&instance)) {
          error = instance;
        }
      }
      if (error.IsEmpty()) error = v8::Exception::Error(message);
      break;
    }
    case ErrorCode::kTypeError:
      error = v8::Exception::TypeError(message);
      break;
    default:
      error = v8::Exception::Error(message);
      break;
  }
  isolate->ThrowException(error);
}

}  // namespace edge::runtime
