// The natives behind Workers KV (bindings/kv/kv.js holds the API: argument
// conversion, limits, result shapes). Every call is asynchronous: the LMDB
// work runs on libuv's thread pool and the promise settles on the loop, so
// the loop never waits for the disk. A value is copied once on each side:
// into a std::string before the put (the pool then copies it into the map),
// and out of the map on a get, into memory that the returned ArrayBuffer
// adopts as is.
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <type_traits>

#include "bindings/binding_services.h"
#include "bindings/kv/kv_store.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"
#include "runtime/pending_promise.h"
#include "runtime/thread_pool_job.h"

namespace edge::bindings {
namespace {
using runtime::NativeCall;
using runtime::NativeResult;
using runtime::PendingPromise;

// How a value comes back to JavaScript. kv.js reads these numbers from the
// `kvType*` constants registered below.
enum class ValueType { kText = 0, kJson = 1, kArrayBuffer = 2, kBytes = 3 };

StatusOr<std::shared_ptr<KvStore>> StoreOf(NativeCall& call) {
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->kv == nullptr) {
    return Status(ErrorCode::kInvalidInput,
                  "KV is not available: this host was started without a KV store");
  }
  return services->kv;
}

// The store's own refusals (bad cursor, limits) read like Workers' errors;
// I/O failures already name the operation.
Status Failure(std::string_view method, int http_status, const Status& status) {
  if (status.code() == ErrorCode::kInvalidInput) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("KV {} failed: {} {}", method, http_status, status.message()));
  }
  return status;
}

// An ArrayBuffer that takes over `bytes` without copying them, counted
// against the worker's memory budget; empty (a RangeError pending) when
// they do not fit.
v8::Local<v8::ArrayBuffer> AdoptBytes(v8::Isolate* isolate, std::string&& bytes) {
  StatusOr<v8::Local<v8::ArrayBuffer>> buffer = runtime::AdoptBytes(isolate, std::move(bytes));
  if (buffer.ok()) return *buffer;
  runtime::ThrowStatus(isolate, buffer.status());
  return {};
}

// The value as `type` asks; empty (with an exception pending) when it cannot
// be made (text too long for a string, JSON that does not parse).
v8::Local<v8::Value> MakeValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                               std::string&& value, ValueType type) {
  switch (type) {
    case ValueType::kArrayBuffer:
      return AdoptBytes(isolate, std::move(value));
    case ValueType::kBytes: {
      size_t size = value.size();
      v8::Local<v8::ArrayBuffer> buffer = AdoptBytes(isolate, std::move(value));
      if (buffer.IsEmpty()) return {};
      return v8::Uint8Array::New(buffer, 0, size);
    }
    case ValueType::kText:
    case ValueType::kJson:
      break;
  }
  v8::Local<v8::String> text;
  if (!v8::String::NewFromUtf8(isolate, value.data(), v8::NewStringType::kNormal,
                               static_cast<int>(value.size()))
           .ToLocal(&text)) {
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8Literal(isolate, "The value is too long for a string")));
    return {};
  }
  if (type == ValueType::kText) return text;
  v8::Local<v8::Value> parsed;
  if (!v8::JSON::Parse(context, text).ToLocal(&parsed)) return {};
  return parsed;
}

// Metadata as stored (JSON text) turned back into a value; null when there
// is none, and the text itself should it not parse (it was not written by
// a worker: kv.js only stores JSON.stringify output).
v8::Local<v8::Value> MakeMetadata(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                  const std::string& metadata) {
  if (metadata.empty()) return v8::Null(isolate);
  v8::Local<v8::String> text = runtime::Utf8String(isolate, metadata);
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> parsed;
  if (v8::JSON::Parse(context, text).ToLocal(&parsed)) return parsed;
  return text;
}

// A value as kvGet and kvGetMany return it: alone, or [value, metadata].
// Empty (with an exception pending) when the value cannot be made.
v8::Local<v8::Value> MakeEntry(v8::Isolate* isolate, v8::Local<v8::Context> context, KvEntry& entry,
                               ValueType type, bool with_metadata) {
  v8::Local<v8::Value> value = MakeValue(isolate, context, std::move(entry.value), type);
  if (value.IsEmpty() || !with_metadata) return value;
  v8::Local<v8::Value> pair[] = {value, MakeMetadata(isolate, context, entry.metadata)};
  return v8::Array::New(isolate, pair, 2).As<v8::Value>();
}

StatusOr<ValueType> TypeArg(NativeCall& call, int i) {
  auto number = call.NumberArg(i);
  if (!number.ok()) return number.status();
  int type = static_cast<int>(*number);
  if (type < 0 || type > 3) return runtime::TypeError("unknown KV value type");
  return static_cast<ValueType>(type);
}

// The store and namespace every native starts with, and the key most of
// them take (argument 1). Argument 0 is the binding's handle: the namespace
// is what the isolate's C++ binding table says for it (the deployment's
// namespace id, scoped by its account on a node), never a string from
// JavaScript, so a worker reaches only the namespaces it is bound to.
struct Target {
  std::shared_ptr<KvStore> store;
  std::string ns;
  std::string key;
};

StatusOr<Target> TargetArgs(NativeCall& call, bool with_key) {
  // Every KV native starts here: none runs in the worker's global scope.
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(0), "kv");
  if (binding == nullptr) return runtime::TypeError("not a KV namespace binding of this worker");
  auto store = StoreOf(call);
  if (!store.ok()) return store.status();
  Target target{std::move(store).value(), binding->Option("namespace", binding->name), {}};
  if (with_key) {
    auto key = call.StringArg(1);
    if (!key.ok()) return key.status();
    target.key = std::move(key).value();
  }
  return target;
}

// Runs `work` (returning Status or StatusOr<T>) on the thread pool, and
// returns a promise settled on the loop by its result: a failure rejects it
// as `method` failing; else it resolves with make(isolate, context, result)
// (runtime/thread_pool_job.h).
template <typename Work, typename Make>
NativeResult RunKvJob(NativeCall& call, const char* method, Work work, Make make) {
  return runtime::RunJobForPromise(
      call, std::move(work),
      [method](const Status& status) { return Failure(method, 400, status); },
      [make = std::move(make)](v8::Isolate* isolate, v8::Local<v8::Context> context, double,
                               auto& result) { return make(isolate, context, result); });
}

v8::Local<v8::Value> MakeUndefined(v8::Isolate* isolate, v8::Local<v8::Context>, const Status&) {
  return v8::Undefined(isolate).As<v8::Value>();
}

// kvGet(handle, key, type, withMetadata) -> Promise<null | value |
// [value, metadata]>
NativeResult KvGet(NativeCall& call) {
  auto target = TargetArgs(call, true);
  if (!target.ok()) return target.status();
  auto type = TypeArg(call, 2);
  if (!type.ok()) return type.status();
  bool with_metadata = call.BoolArg(3);
  ValueType value_type = *type;
  return RunKvJob(
      call, "GET",
      [target = std::move(target).value()] { return target.store->Get(target.ns, target.key); },
      [value_type, with_metadata](v8::Isolate* isolate, v8::Local<v8::Context> context,
                                  StatusOr<std::optional<KvEntry>>& result) {
        std::optional<KvEntry>& entry = result.value();
        if (!entry) return v8::Null(isolate).As<v8::Value>();
        return MakeEntry(isolate, context, *entry, value_type, with_metadata);
      });
}

// kvGetMany(handle, keys, type, withMetadata) -> Promise<Array<null |
// value | [value, metadata]>>, in the order of `keys`.
NativeResult KvGetMany(NativeCall& call) {
  auto target = TargetArgs(call, false);
  if (!target.ok()) return target.status();
  if (!call.arg(1)->IsArray()) return runtime::TypeError("keys must be an array");
  auto array = call.arg(1).As<v8::Array>();
  // kv.js checks the count too; this holds whatever the worker did to the
  // built-ins kv.js runs on.
  if (array->Length() > kKvMaxBulkKeys) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("KV GET_BULK failed: 400 Too many keys: {} were requested, at most {} can "
                              "be read at once.",
                              array->Length(), kKvMaxBulkKeys));
  }
  std::vector<std::string> keys;
  keys.reserve(array->Length());
  for (uint32_t i = 0; i < array->Length(); ++i) {
    v8::Local<v8::Value> item;
    v8::Local<v8::String> text;
    if (!array->Get(call.context(), i).ToLocal(&item) ||
        !item->ToString(call.context()).ToLocal(&text)) {
      return runtime::PendingException();
    }
    v8::String::Utf8Value utf8(call.isolate(), text);
    keys.emplace_back(*utf8, utf8.length());
  }
  auto type = TypeArg(call, 2);
  if (!type.ok()) return type.status();
  bool with_metadata = call.BoolArg(3);

  ValueType value_type = *type;
  return RunKvJob(
      call, "GET_BULK",
      [target = std::move(target).value(), keys = std::move(keys)] {
        return target.store->GetMany(target.ns, keys);
      },
      [value_type, with_metadata](v8::Isolate* isolate, v8::Local<v8::Context> context,
                                  StatusOr<std::vector<std::optional<KvEntry>>>& result) {
        auto& entries = result.value();
        std::vector<v8::Local<v8::Value>> items;
        items.reserve(entries.size());
        for (auto& entry : entries) {
          v8::Local<v8::Value> item = v8::Null(isolate);
          if (entry) {
            item = MakeEntry(isolate, context, *entry, value_type, with_metadata);
            if (item.IsEmpty()) return item;
          }
          items.push_back(item);
        }
        v8::Local<v8::Array> results = runtime::NewArray(isolate, items);
        return results.As<v8::Value>();
      });
}

Status ValueTooLarge(size_t length) {
  return Status(ErrorCode::kInvalidInput,
                fmt::format("KV PUT failed: 413 Value length of {} exceeds limit of {}.", length,
                            kKvMaxValueBytes));
}

// The value to put, copied once: a string as UTF-8, a BufferSource, or an
// array of Uint8Array chunks (what kv.js read from a ReadableStream).
StatusOr<std::string> ValueArg(NativeCall& call, int i) {
  v8::Isolate* isolate = call.isolate();
  v8::Local<v8::Value> value = call.arg(i);
  std::string out;
  if (value->IsString()) {
    auto text = value.As<v8::String>();
    size_t length = static_cast<size_t>(text->Utf8Length(isolate));
    if (length > kKvMaxValueBytes) return ValueTooLarge(length);
    out.resize(length);
    if (length > 0) {
      text->WriteUtf8(isolate, out.data(), static_cast<int>(length), nullptr,
                      v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    }
    return out;
  }
  if (value->IsArray()) {
    auto chunks = value.As<v8::Array>();
    std::vector<v8::Local<v8::ArrayBufferView>> views;
    size_t total = 0;
    for (uint32_t c = 0; c < chunks->Length(); ++c) {
      v8::Local<v8::Value> chunk;
      if (!chunks->Get(call.context(), c).ToLocal(&chunk)) return runtime::PendingException();
      if (!chunk->IsArrayBufferView()) return runtime::TypeError("a value chunk is not bytes");
      views.push_back(chunk.As<v8::ArrayBufferView>());
      total += views.back()->ByteLength();
    }
    if (total > kKvMaxValueBytes) return ValueTooLarge(total);
    out.resize(total);
    size_t offset = 0;
    for (auto view : views) offset += view->CopyContents(out.data() + offset, view->ByteLength());
    return out;
  }
  auto bytes = call.BytesArg(i);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > kKvMaxValueBytes) return ValueTooLarge(bytes->size());
  out.assign(bytes->data(), bytes->size());
  return out;
}

// kvPut(handle, key, value, metadataJson | undefined, expiration) ->
// Promise<undefined>, settled once the write is on disk.
NativeResult KvPut(NativeCall& call) {
  auto target = TargetArgs(call, true);
  if (!target.ok()) return target.status();
  auto value = ValueArg(call, 2);
  if (!value.ok()) return value.status();
  std::string metadata;
  if (!call.arg(3)->IsUndefined() && !call.arg(3)->IsNull()) {
    auto text = call.StringArg(3);
    if (!text.ok()) return text.status();
    metadata = std::move(text).value();
    if (metadata.size() > kKvMaxMetadataBytes) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("KV PUT failed: 413 Metadata length of {} exceeds limit of {}.",
                                metadata.size(), kKvMaxMetadataBytes));
    }
  }
  auto expiration = call.NumberArg(4);
  if (!expiration.ok()) return expiration.status();
  uint64_t expires = *expiration > 0 ? static_cast<uint64_t>(*expiration) : 0;

  return RunKvJob(
      call, "PUT",
      [target = std::move(target).value(), value = std::move(value).value(),
       metadata = std::move(metadata), expires]() mutable {
        Status result = target.store->Put(target.ns, target.key, value, metadata, expires);
        // Free the copy on the pool, not on the loop.
        std::string().swap(value);
        return result;
      },
      MakeUndefined);
}

// kvDelete(handle, key) -> Promise<undefined>
NativeResult KvDelete(NativeCall& call) {
  auto target = TargetArgs(call, true);
  if (!target.ok()) return target.status();
  return RunKvJob(
      call, "DELETE",
      [target = std::move(target).value()] { return target.store->Delete(target.ns, target.key); },
      MakeUndefined);
}

// kvList(handle, prefix, limit, cursor) -> Promise<{keys, list_complete,
// cursor?, cacheStatus}>, the shape Workers returns.
NativeResult KvList(NativeCall& call) {
  auto target = TargetArgs(call, false);
  if (!target.ok()) return target.status();
  auto prefix = call.StringArg(1);
  if (!prefix.ok()) return prefix.status();
  auto limit = call.NumberArg(2);
  if (!limit.ok()) return limit.status();
  auto cursor = call.StringArg(3);
  if (!cursor.ok()) return cursor.status();
  size_t count = *limit >= 1 && *limit <= kKvMaxListLimit ? static_cast<size_t>(*limit)
                                                          : kKvMaxListLimit;
  return RunKvJob(
      call, "GET",
      [target = std::move(target).value(), prefix = std::move(prefix).value(),
       cursor = std::move(cursor).value(),
       count] { return target.store->List(target.ns, prefix, count, cursor); },
      [](v8::Isolate* isolate, v8::Local<v8::Context> context, StatusOr<KvListResult>& result) {
        // Own data properties (CreateDataProperty), so a setter a tenant put
        // on Object.prototype or Array.prototype neither runs nor swallows
        // a field.
        const KvListResult& list = result.value();
        auto name = v8::String::NewFromUtf8Literal(isolate, "name");
        auto expiration = v8::String::NewFromUtf8Literal(isolate, "expiration");
        auto metadata = v8::String::NewFromUtf8Literal(isolate, "metadata");
        std::vector<v8::Local<v8::Value>> items;
        items.reserve(list.keys.size());
        for (const KvListKey& key : list.keys) {
          v8::Local<v8::Object> item = v8::Object::New(isolate);
          if (!runtime::DefineData(context, item, name, runtime::Utf8String(isolate, key.name)) ||
              (key.expiration != 0 &&
               !runtime::DefineData(
                   context, item, expiration,
                   v8::Number::New(isolate, static_cast<double>(key.expiration)))) ||
              (!key.metadata.empty() &&
               !runtime::DefineData(context, item, metadata,
                                    MakeMetadata(isolate, context, key.metadata)))) {
            return v8::Local<v8::Value>();
          }
          items.push_back(item);
        }
        v8::Local<v8::Object> object = v8::Object::New(isolate);
        bool ok =
            runtime::DefineData(context, object, "keys", runtime::NewArray(isolate, items)) &&
            runtime::DefineData(context, object, "list_complete",
                                v8::Boolean::New(isolate, list.complete)) &&
            (list.complete || runtime::DefineData(context, object, "cursor",
                                                  runtime::Utf8String(isolate, list.cursor))) &&
            runtime::DefineData(context, object, "cacheStatus", v8::Null(isolate));
        if (!ok) return v8::Local<v8::Value>();
        return object.As<v8::Value>();
      });
}

}  // namespace

void RegisterKvNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"kvGet", KvGet},
                {"kvGetMany", KvGetMany},
                {"kvPut", KvPut},
                {"kvDelete", KvDelete},
                {"kvList", KvList}});
  // The contract kv.js checks arguments against: Workers' limits as the
  // store enforces them, and the value types above.
  registry.AddConstant("kvMaxKeyBytes", kKvMaxKeyBytes);
  registry.AddConstant("kvMaxValueBytes", kKvMaxValueBytes);
  registry.AddConstant("kvMaxMetadataBytes", kKvMaxMetadataBytes);
  registry.AddConstant("kvMaxListLimit", kKvMaxListLimit);
  registry.AddConstant("kvMaxBulkKeys", kKvMaxBulkKeys);
  registry.AddConstant("kvMinTtlSeconds", static_cast<double>(kKvMinTtlSeconds));
  registry.AddConstant("kvTypeText", static_cast<int>(ValueType::kText));
  registry.AddConstant("kvTypeJson", static_cast<int>(ValueType::kJson));
  registry.AddConstant("kvTypeArrayBuffer", static_cast<int>(ValueType::kArrayBuffer));
  registry.AddConstant("kvTypeStream", static_cast<int>(ValueType::kBytes));
}

}  // namespace edge::bindings
