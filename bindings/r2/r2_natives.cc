// The natives behind R2 bucket bindings (bindings/r2/r2.js holds the API:
// argument conversion, Workers' refusals, the R2Object shapes).
//
// Whose bucket: argument 0 of every native is the binding's handle; the
// bucket is what the isolate's C++ binding table says for it, and the
// owner is the isolate's account (empty under `edge dev` and `edge test`),
// never a value JavaScript hands over.
//
// Every disk access runs on libuv's thread pool through the isolate's fair
// queue (RunInThreadPool). A put's body file and an object body being read
// are InvocationResources: they end with the invocation that opened them,
// so a body stream that never ends holds nothing once its request is over,
// and nothing it wrote becomes visible.
#include <fmt/core.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/r2/r2_fleet.h"
#include "bindings/r2/r2_store.h"
#include "runtime/buffer_allocator.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"
#include "runtime/pending_promise.h"
#include "runtime/thread_pool_job.h"

namespace edge::bindings {
namespace {
using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;

// Bytes a put gathers before writing them out, and the most a read hands
// to JavaScript at once.
constexpr size_t kWriteBatchBytes = 256u << 10;
constexpr size_t kReadChunkBytes = 256u << 10;
// A body this small comes back with get(), not as a stream read later.
constexpr size_t kInlineBodyBytes = 64u << 10;
// The most items an argument array the runtime built may have.
constexpr uint32_t kMaxArrayItems = 4 * kR2MaxDeleteKeys;

// A body written to this node's store.
class LocalWriter : public R2BodyWriter {
 public:
  explicit LocalWriter(std::unique_ptr<R2Writer> writer) : writer_(std::move(writer)) {}
  Status Write(std::string_view bytes) override { return writer_->Write(bytes); }
  StatusOr<std::optional<R2ObjectMeta>> Commit() override { return writer_->Commit(); }
  void Abort() override { writer_->Abort(); }

 private:
  std::unique_ptr<R2Writer> writer_;
};

StatusOr<std::unique_ptr<R2BodyWriter>> Local(StatusOr<std::unique_ptr<R2Writer>> writer) {
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<R2BodyWriter>(std::make_unique<LocalWriter>(std::move(writer).value()));
}

// A body read from this node's store (its files stay open while read).
class LocalReader : public R2BodyReader {
 public:
  explicit LocalReader(R2Got got) : got_(std::move(got)) {}
  StatusOr<std::string> Read(uint64_t offset, size_t length) override {
    return got_.Read(offset, length);
  }

 private:
  R2Got got_;
};

struct WriteResource : runtime::InvocationResource {
  std::unique_ptr<R2BodyWriter> writer;
  std::string method;   // "put" or "uploadPart", for errors
  std::string pending;  // bytes not written out yet (loop thread)
  bool busy = false;
  bool finished = false;
};

struct ReadResource : runtime::InvocationResource {
  std::shared_ptr<R2BodyReader> body;
  uint64_t offset = 0;
  uint64_t remaining = 0;
  bool busy = false;
};

// Whose bucket, and where it lives: this node's store, or (on a PoP of a
// fleet) the origin, through `fleet`.
struct Target {
  std::shared_ptr<R2Store> store;
  std::shared_ptr<R2Fleet> fleet;
  std::string owner;
  std::string bucket;
};

// The R2 error of `method`: "<method>: <R2's message> (<code>)".
Status Failure(std::string_view method, const Status& status) {
  if (status.code() == ErrorCode::kInvalidInput || status.code() == ErrorCode::kIo) {
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: {}", method, status.message()));
  }
  return status;
}

StatusOr<Target> TargetOf(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(0), "r2");
  if (binding == nullptr) return runtime::TypeError("not an R2 bucket binding of this worker");
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->r2 == nullptr) {
    return runtime::TypeError("R2 is not available: this host was started without an R2 store");
  }
  double key = call.data().CurrentInvocationKey(call.context());
  if (call.data().InvocationEnded(key)) {
    return runtime::TypeError(
        "An R2 bucket was called by an invocation that has ended (its response was sent and its "
        "waitUntil work settled)");
  }
  return Target{services->r2, std::atomic_load(&services->r2_fleet), call.data().account(),
                binding->Option("bucket", binding->name)};
}

template <typename Work, typename Make>
NativeResult RunR2Job(NativeCall& call, std::string method, Work work, Make make) {
  return runtime::RunJobForPromise(
      call, std::move(work), [method](const Status& status) { return Failure(method, status); },
      std::move(make));
}

// The elements of the array argument `i` (one the runtime's JS built).
StatusOr<std::vector<v8::Local<v8::Value>>> ArrayArg(NativeCall& call, int i) {
  if (!call.arg(i)->IsArray()) return runtime::TypeError("expected an array");
  auto array = call.arg(i).As<v8::Array>();
  if (array->Length() > kMaxArrayItems) return runtime::RangeError("too many items");
  std::vector<v8::Local<v8::Value>> items;
  items.reserve(array->Length());
  for (uint32_t at = 0; at < array->Length(); ++at) {
    v8::Local<v8::Value> item;
    if (!array->Get(call.context(), at).ToLocal(&item)) return runtime::PendingException();
    items.push_back(item);
  }
  return items;
}

StatusOr<std::string> Utf8(NativeCall& call, v8::Local<v8::Value> value) {
  if (!value->IsString()) return runtime::TypeError("expected a string");
  v8::String::Utf8Value utf8(call.isolate(), value);
  return std::string(*utf8, utf8.length());
}

std::optional<double> NumberOf(v8::Local<v8::Value> value) {
  if (!value->IsNumber()) return std::nullopt;
  double number = value.As<v8::Number>()->Value();
  if (!std::isfinite(number)) return std::nullopt;
  return number;
}

// [contentType, contentLanguage, contentDisposition, contentEncoding,
//  cacheControl, cacheExpiry (ms)], each undefined when absent.
StatusOr<R2HttpMetadata> HttpArg(NativeCall& call, int i) {
  auto items = ArrayArg(call, i);
  if (!items.ok()) return items.status();
  if (items->size() != 6) return runtime::TypeError("bad httpMetadata");
  R2HttpMetadata http;
  std::optional<std::string>* fields[] = {&http.content_type, &http.content_language,
                                          &http.content_disposition, &http.content_encoding,
                                          &http.cache_control};
  for (int f = 0; f < 5; ++f) {
    if ((*items)[f]->IsUndefined()) continue;
    auto text = Utf8(call, (*items)[f]);
    if (!text.ok()) return text.status();
    *fields[f] = std::move(text).value();
  }
  if (auto expiry = NumberOf((*items)[5])) http.cache_expiry_ms = static_cast<int64_t>(*expiry);
  return http;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> PairsArg(NativeCall& call, int i) {
  auto items = ArrayArg(call, i);
  if (!items.ok()) return items.status();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t at = 0; at + 1 < items->size(); at += 2) {
    auto k = Utf8(call, (*items)[at]);
    if (!k.ok()) return k.status();
    auto v = Utf8(call, (*items)[at + 1]);
    if (!v.ok()) return v.status();
    pairs.emplace_back(std::move(k).value(), std::move(v).value());
  }
  return pairs;
}

StatusOr<std::optional<std::vector<R2Etag>>> EtagsOf(NativeCall& call, v8::Local<v8::Value> value) {
  if (value->IsNull() || value->IsUndefined()) return std::optional<std::vector<R2Etag>>();
  if (!value->IsArray()) return runtime::TypeError("bad etag list");
  auto array = value.As<v8::Array>();
  if (array->Length() > kMaxArrayItems) return runtime::RangeError("too many etags");
  std::vector<R2Etag> etags;
  for (uint32_t at = 0; at + 1 < array->Length(); at += 2) {
    v8::Local<v8::Value> type, text;
    if (!array->Get(call.context(), at).ToLocal(&type) ||
        !array->Get(call.context(), at + 1).ToLocal(&text)) {
      return runtime::PendingException();
    }
    auto etag_value = Utf8(call, text);
    if (!etag_value.ok()) return etag_value.status();
    R2Etag etag;
    double kind = NumberOf(type).value_or(0);
    etag.type = kind == 2 ? R2Etag::kWildcard : kind == 1 ? R2Etag::kWeak : R2Etag::kStrong;
    etag.value = std::move(etag_value).value();
    etags.push_back(std::move(etag));
  }
  return std::optional<std::vector<R2Etag>>(std::move(etags));
}

// null, or [etagMatches, etagDoesNotMatch, uploadedBefore, uploadedAfter,
// secondsGranularity], the etag lists flat [type, value, ...] or null, the
// dates in ms or undefined.
// What a put and a multipart upload both take from args i, i+1, i+2: the
// http[6] metadata, the custom metadata pairs and the storage class.
StatusOr<R2PutOptions> MetadataArgs(NativeCall& call, int i) {
  R2PutOptions options;
  auto http = HttpArg(call, i);
  if (!http.ok()) return http.status();
  options.http = std::move(http).value();
  auto custom = PairsArg(call, i + 1);
  if (!custom.ok()) return custom.status();
  options.custom = std::move(custom).value();
  auto storage_class = Utf8(call, call.arg(i + 2));
  if (!storage_class.ok()) return storage_class.status();
  options.storage_class = std::move(storage_class).value();
  return options;
}

StatusOr<std::optional<R2Conditional>> ConditionalArg(NativeCall& call, int i) {
  if (call.arg(i)->IsNull() || call.arg(i)->IsUndefined()) return std::optional<R2Conditional>();
  auto items = ArrayArg(call, i);
  if (!items.ok()) return items.status();
  if (items->size() != 5) return runtime::TypeError("bad onlyIf");
  R2Conditional conditional;
  auto matches = EtagsOf(call, (*items)[0]);
  if (!matches.ok()) return matches.status();
  conditional.etag_matches = std::move(matches).value();
  auto not_matches = EtagsOf(call, (*items)[1]);
  if (!not_matches.ok()) return not_matches.status();
  conditional.etag_does_not_match = std::move(not_matches).value();
  if (auto before = NumberOf((*items)[2])) conditional.uploaded_before_ms = static_cast<int64_t>(*before);
  if (auto after = NumberOf((*items)[3])) conditional.uploaded_after_ms = static_cast<int64_t>(*after);
  conditional.seconds_granularity = (*items)[4]->IsTrue();
  return std::optional<R2Conditional>(std::move(conditional));
}

std::optional<uint64_t> LengthArg(NativeCall& call, int i) {
  auto number = NumberOf(call.arg(i));
  if (!number || *number < 0 || *number > 9007199254740991.0) return std::nullopt;
  return static_cast<uint64_t>(*number);
}

v8::Local<v8::Value> OptionalString(v8::Isolate* isolate, const std::optional<std::string>& text) {
  if (!text) return v8::Undefined(isolate);
  return runtime::Utf8String(isolate, *text);
}

// An object's metadata as r2.js reads it: [key, version, size, etag,
// uploaded, http[6], custom (flat), checksums[5] (hex or undefined),
// storageClass].
v8::Local<v8::Value> MetaValue(v8::Isolate* isolate, const R2ObjectMeta& meta) {
  std::vector<v8::Local<v8::Value>> http = {
      OptionalString(isolate, meta.http.content_type),
      OptionalString(isolate, meta.http.content_language),
      OptionalString(isolate, meta.http.content_disposition),
      OptionalString(isolate, meta.http.content_encoding),
      OptionalString(isolate, meta.http.cache_control),
      meta.http.cache_expiry_ms
          ? v8::Number::New(isolate, static_cast<double>(*meta.http.cache_expiry_ms)).As<v8::Value>()
          : v8::Undefined(isolate).As<v8::Value>()};
  std::vector<v8::Local<v8::Value>> custom;
  for (const auto& [k, v] : meta.custom) {
    custom.push_back(runtime::Utf8String(isolate, k));
    custom.push_back(runtime::Utf8String(isolate, v));
  }
  std::vector<v8::Local<v8::Value>> sums;
  for (const std::string* sum : {&meta.checksums.md5, &meta.checksums.sha1, &meta.checksums.sha256,
                                 &meta.checksums.sha384, &meta.checksums.sha512}) {
    if (sum->empty()) {
      sums.push_back(v8::Undefined(isolate));
    } else {
      static const char* digits = "0123456789abcdef";
      std::string hex;
      for (unsigned char c : *sum) {
        hex.push_back(digits[c >> 4]);
        hex.push_back(digits[c & 15]);
      }
      sums.push_back(runtime::Latin1String(isolate, hex));
    }
  }
  std::vector<v8::Local<v8::Value>> items = {
      runtime::Utf8String(isolate, meta.key),
      runtime::Latin1String(isolate, meta.version),
      v8::Number::New(isolate, static_cast<double>(meta.size)),
      runtime::Latin1String(isolate, meta.etag),
      v8::Number::New(isolate, static_cast<double>(meta.uploaded_ms)),
      runtime::NewArray(isolate, http),
      runtime::NewArray(isolate, custom),
      runtime::NewArray(isolate, sums),
      runtime::Utf8String(isolate, meta.storage_class)};
  return runtime::NewArray(isolate, items);
}

v8::Local<v8::Value> BytesValue(v8::Isolate* isolate, std::string&& bytes) {
  size_t size = bytes.size();
  auto buffer = runtime::AdoptBytes(isolate, std::move(bytes));
  if (!buffer.ok()) {
    runtime::ThrowStatus(isolate, buffer.status());
    return {};
  }
  return v8::Uint8Array::New(*buffer, 0, size);
}

// get() from this node's store: a small body read at once, a larger one
// left to a LocalReader.
StatusOr<std::optional<R2Fetched>> GetLocal(R2Store& store, const std::string& owner,
                                            const std::string& bucket, const std::string& key,
                                            const R2Conditional& only_if,
                                            const std::optional<R2Range>& range) {
  auto got = store.Get(owner, bucket, key, only_if, range);
  if (!got.ok()) return got.status();
  if (!*got) return std::optional<R2Fetched>();
  R2Fetched fetched;
  fetched.meta = (*got)->meta;
  fetched.has_body = (*got)->has_body;
  fetched.ranged = (*got)->ranged;
  fetched.offset = (*got)->offset;
  fetched.length = (*got)->length;
  if (fetched.has_body && fetched.length <= kInlineBodyBytes) {
    auto bytes = (*got)->Read(fetched.offset, static_cast<size_t>(fetched.length));
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() != fetched.length) {
      return Status(ErrorCode::kIo, "The object's body was cut short on disk.");
    }
    fetched.inline_body = std::move(bytes).value();
  } else if (fetched.has_body) {
    fetched.reader = std::make_shared<LocalReader>(std::move(**got));
  }
  return std::optional<R2Fetched>(std::move(fetched));
}

std::shared_ptr<WriteResource> FindWrite(NativeCall& call, int i) {
  auto id = call.NumberArg(i);
  if (!id.ok() || !(*id >= 1 && *id <= 4294967295.0)) return nullptr;
  return std::dynamic_pointer_cast<WriteResource>(call.data().FindResource(static_cast<uint32_t>(*id)));
}

NativeResult WriterPromise(NativeCall& call, std::string method,
                           std::function<StatusOr<std::unique_ptr<R2BodyWriter>>()> begin) {
  return RunR2Job(
      call, method, std::move(begin),
      [&data = call.data(), method](v8::Isolate* isolate, v8::Local<v8::Context>, double invocation,
                                    StatusOr<std::unique_ptr<R2BodyWriter>>& writer) {
        auto resource = std::make_shared<WriteResource>();
        resource->writer = std::move(writer).value();
        resource->method = method;
        uint32_t id = data.AddResource(invocation, std::move(resource));
        return v8::Integer::NewFromUnsigned(isolate, id).As<v8::Value>();
      });
}

// r2PutBegin(handle, key, http[6], custom, storageClass, onlyIf,
// checksumAlgorithm, checksum (Uint8Array | undefined), length) -> promise
// of the write's id. `length`: the body's length (a string's, a buffer's, a
// Blob's, or a stream's known length).
NativeResult R2PutBegin(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  auto metadata = MetadataArgs(call, 2);
  if (!metadata.ok()) return metadata.status();
  R2PutOptions options = std::move(metadata).value();
  auto only_if = ConditionalArg(call, 5);
  if (!only_if.ok()) return only_if.status();
  options.only_if = std::move(only_if).value();
  if (call.arg(6)->IsString()) {
    auto algorithm = Utf8(call, call.arg(6));
    if (!algorithm.ok()) return algorithm.status();
    options.checksum_algorithm = std::move(algorithm).value();
    auto digest = call.BytesArg(7);
    if (!digest.ok()) return digest.status();
    options.checksum = std::string(*digest);
  }
  std::optional<uint64_t> length = LengthArg(call, 8);
  return WriterPromise(call, "put",
                       [target = std::move(target).value(), key = std::move(key).value(),
                        options = std::move(options),
                        length]() mutable -> StatusOr<std::unique_ptr<R2BodyWriter>> {
                         if (target.fleet) {
                           return target.fleet->BeginPut(target.owner, target.bucket, key,
                                                         std::move(options), length);
                         }
                         return Local(target.store->BeginPut(target.owner, target.bucket, key,
                                                             std::move(options), length));
                       });
}

// r2PartBegin(handle, key, uploadId, partNumber, length) -> promise of the
// write's id.
NativeResult R2PartBegin(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  auto upload_id = Utf8(call, call.arg(2));
  if (!upload_id.ok()) return upload_id.status();
  auto number = NumberOf(call.arg(3)).value_or(0);
  uint32_t part = number >= 1 && number <= kR2MaxParts ? static_cast<uint32_t>(number) : 0;
  std::optional<uint64_t> length = LengthArg(call, 4);
  return WriterPromise(call, "uploadPart",
                       [target = std::move(target).value(), key = std::move(key).value(),
                        upload_id = std::move(upload_id).value(), part,
                        length]() -> StatusOr<std::unique_ptr<R2BodyWriter>> {
                         if (target.fleet) {
                           return target.fleet->BeginPart(target.owner, target.bucket, key,
                                                          upload_id, part, length);
                         }
                         return Local(target.store->BeginPart(target.owner, target.bucket, key,
                                                              upload_id, part, length));
                       });
}

// Writes what the write gathered (and commits when `commit`), on the pool.
// Resolves with true while the write goes on; at the end, with the
// object's (or part's) metadata, or null when its onlyIf did not hold.
NativeResult FlushWrite(NativeCall& call, std::shared_ptr<WriteResource> write, bool commit) {
  write->busy = true;
  std::string bytes = std::move(write->pending);
  write->pending.clear();
  using Result = std::optional<std::optional<R2ObjectMeta>>;
  return RunR2Job(
      call, write->method,
      [write, bytes = std::move(bytes), commit]() mutable -> StatusOr<Result> {
        Status status = bytes.empty() ? Status::Ok() : write->writer->Write(bytes);
        std::string().swap(bytes);
        if (!status.ok()) return status;
        if (!commit) return Result();
        auto committed = write->writer->Commit();
        if (!committed.ok()) return committed.status();
        return Result(std::move(committed).value());
      },
      [write, commit](v8::Isolate* isolate, v8::Local<v8::Context>, double,
                      StatusOr<Result>& result) -> v8::Local<v8::Value> {
        write->busy = false;
        if (!commit) return v8::True(isolate);
        write->finished = true;
        const std::optional<R2ObjectMeta>& meta = **result;
        if (!meta) return v8::Null(isolate);
        return MetaValue(isolate, *meta);
      });
}

// r2Write(id, bytes | string) -> undefined (gathered), or a promise of true
// once the gathered bytes are written.
NativeResult R2Write(NativeCall& call) {
  std::shared_ptr<WriteResource> write = FindWrite(call, 0);
  if (write == nullptr || write->finished) return runtime::TypeError("this R2 upload has ended");
  if (write->busy) return runtime::TypeError("an R2 upload takes one chunk at a time");
  if (call.arg(1)->IsString()) {
    v8::Local<v8::String> text = call.arg(1).As<v8::String>();
    size_t length = static_cast<size_t>(text->Utf8Length(call.isolate()));
    size_t at = write->pending.size();
    write->pending.resize(at + length);
    if (length > 0) {
      text->WriteUtf8(call.isolate(), write->pending.data() + at, static_cast<int>(length), nullptr,
                      v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    }
  } else {
    auto bytes = call.BytesArg(1);
    if (!bytes.ok()) return bytes.status();
    write->pending.append(bytes->data(), bytes->size());
  }
  if (write->pending.size() < kWriteBatchBytes) return v8::Undefined(call.isolate()).As<v8::Value>();
  return FlushWrite(call, std::move(write), false);
}

// r2WriteEnd(id) -> promise of the metadata (or null: onlyIf did not hold).
NativeResult R2WriteEnd(NativeCall& call) {
  std::shared_ptr<WriteResource> write = FindWrite(call, 0);
  if (write == nullptr || write->finished) return runtime::TypeError("this R2 upload has ended");
  if (write->busy) return runtime::TypeError("an R2 upload takes one chunk at a time");
  return FlushWrite(call, std::move(write), true);
}

// r2WriteAbort(id): the body failed; nothing is stored.
NativeResult R2WriteAbort(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (id.ok() && *id >= 1 && *id <= 4294967295.0) {
    if (auto write = std::dynamic_pointer_cast<WriteResource>(
            call.data().FindResource(static_cast<uint32_t>(*id)))) {
      write->finished = true;
      // The writer is aborted when the last reference goes (a running job
      // may hold one).
      call.data().RemoveResource(static_cast<uint32_t>(*id));
    }
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// r2Head(handle, key) -> promise of null | metadata.
NativeResult R2Head(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  return RunR2Job(
      call, "head",
      [target = std::move(target).value(), key = std::move(key).value()] {
        return target.fleet ? target.fleet->Head(target.owner, target.bucket, key)
                            : target.store->Head(target.owner, target.bucket, key);
      },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double,
         StatusOr<std::optional<R2ObjectMeta>>& meta) -> v8::Local<v8::Value> {
        if (!*meta) return v8::Null(isolate);
        return MetaValue(isolate, **meta);
      });
}

// r2Get(handle, key, onlyIf, range: null | [offset, length, suffix]) ->
// promise of null | [metadata, hasBody, body (Uint8Array | null), reader id
// (0: none), offset, length, ranged].
NativeResult R2Get(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  auto only_if = ConditionalArg(call, 2);
  if (!only_if.ok()) return only_if.status();
  std::optional<R2Range> range;
  if (!call.arg(3)->IsNull() && !call.arg(3)->IsUndefined()) {
    auto items = ArrayArg(call, 3);
    if (!items.ok()) return items.status();
    if (items->size() != 3) return runtime::TypeError("bad range");
    range.emplace();
    std::optional<uint64_t>* fields[] = {&range->offset, &range->length, &range->suffix};
    for (int f = 0; f < 3; ++f) {
      if (auto number = NumberOf((*items)[f]); number && *number >= 0) {
        *fields[f] = static_cast<uint64_t>(std::min(*number, 18446744073709549568.0));
      }
    }
  }
  return RunR2Job(
      call, "get",
      [target = std::move(target).value(), key = std::move(key).value(),
       only_if = std::move(only_if).value().value_or(R2Conditional{}), range]() {
        if (target.fleet) {
          return target.fleet->Get(target.owner, target.bucket, key, only_if, range,
                                   kInlineBodyBytes);
        }
        return GetLocal(*target.store, target.owner, target.bucket, key, only_if, range);
      },
      [&data = call.data()](v8::Isolate* isolate, v8::Local<v8::Context>, double invocation,
                            StatusOr<std::optional<R2Fetched>>& result) -> v8::Local<v8::Value> {
        if (!*result) return v8::Null(isolate);
        R2Fetched& got = **result;
        v8::Local<v8::Value> body = v8::Null(isolate);
        uint32_t reader = 0;
        if (got.has_body && got.reader != nullptr) {
          auto read = std::make_shared<ReadResource>();
          read->offset = got.offset;
          read->remaining = got.length;
          read->body = std::move(got.reader);
          reader = data.AddResource(invocation, std::move(read));
        } else if (got.has_body) {
          body = BytesValue(isolate, std::move(got.inline_body));
          if (body.IsEmpty()) return {};
        }
        std::vector<v8::Local<v8::Value>> items = {
            MetaValue(isolate, got.meta), v8::Boolean::New(isolate, got.has_body), body,
            v8::Integer::NewFromUnsigned(isolate, reader),
            v8::Number::New(isolate, static_cast<double>(got.offset)),
            v8::Number::New(isolate, static_cast<double>(got.length)),
            v8::Boolean::New(isolate, got.ranged)};
        return runtime::NewArray(isolate, items);
      });
}

// r2Read(readerId) -> promise of the next chunk (Uint8Array), or null at
// the end (the reader is then released).
NativeResult R2Read(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  uint32_t reader_id = *id >= 1 && *id <= 4294967295.0 ? static_cast<uint32_t>(*id) : 0;
  auto read = std::dynamic_pointer_cast<ReadResource>(call.data().FindResource(reader_id));
  if (read == nullptr) {
    return runtime::TypeError(
        "This R2 object body can no longer be read: the invocation that got it has ended");
  }
  if (read->busy) return runtime::TypeError("an R2 object body is read one chunk at a time");
  if (read->remaining == 0) {
    call.data().RemoveResource(reader_id);
    return v8::Null(call.isolate()).As<v8::Value>();
  }
  read->busy = true;
  size_t length = static_cast<size_t>(std::min<uint64_t>(read->remaining, kReadChunkBytes));
  return RunR2Job(
      call, "get", [read, length]() { return read->body->Read(read->offset, length); },
      [read, length](v8::Isolate* isolate, v8::Local<v8::Context>, double,
                     StatusOr<std::string>& bytes) -> v8::Local<v8::Value> {
        read->busy = false;
        if (bytes->size() != length) {
          isolate->ThrowException(v8::Exception::Error(v8::String::NewFromUtf8Literal(
              isolate, "get: The object's body was cut short on disk.")));
          return {};
        }
        read->offset += length;
        read->remaining -= length;
        return BytesValue(isolate, std::move(bytes).value());
      });
}

// r2ReadCancel(readerId): the body stream was cancelled.
NativeResult R2ReadCancel(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (id.ok() && *id >= 1 && *id <= 4294967295.0) {
    uint32_t reader_id = static_cast<uint32_t>(*id);
    if (std::dynamic_pointer_cast<ReadResource>(call.data().FindResource(reader_id))) {
      call.data().RemoveResource(reader_id);
    }
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// r2Delete(handle, keys[]) -> promise of undefined.
NativeResult R2Delete(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto items = ArrayArg(call, 1);
  if (!items.ok()) return items.status();
  std::vector<std::string> keys;
  for (v8::Local<v8::Value> item : *items) {
    auto key = Utf8(call, item);
    if (!key.ok()) return key.status();
    keys.push_back(std::move(key).value());
  }
  return RunR2Job(
      call, "delete",
      [target = std::move(target).value(), keys = std::move(keys)] {
        return target.fleet ? target.fleet->Delete(target.owner, target.bucket, keys)
                            : target.store->Delete(target.owner, target.bucket, keys);
      },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const Status&) {
        return v8::Undefined(isolate).As<v8::Value>();
      });
}

// r2List(handle, prefix, delimiter, cursor, startAfter, limit, includeHttp,
// includeCustom) -> promise of [objects (metadata[]), delimitedPrefixes,
// truncated, cursor].
NativeResult R2List(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  R2ListOptions options;
  std::string* texts[] = {&options.prefix, &options.delimiter, &options.cursor, &options.start_after};
  for (int f = 0; f < 4; ++f) {
    auto text = Utf8(call, call.arg(1 + f));
    if (!text.ok()) return text.status();
    *texts[f] = std::move(text).value();
  }
  double limit = NumberOf(call.arg(5)).value_or(0);
  options.limit = limit >= 1 && limit <= kR2MaxListLimit ? static_cast<size_t>(limit) : 0;
  options.include_http = call.arg(6)->IsTrue();
  options.include_custom = call.arg(7)->IsTrue();
  return RunR2Job(
      call, "list",
      [target = std::move(target).value(), options = std::move(options)] {
        return target.fleet ? target.fleet->List(target.owner, target.bucket, options)
                            : target.store->List(target.owner, target.bucket, options);
      },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double,
         StatusOr<R2ListResult>& result) -> v8::Local<v8::Value> {
        std::vector<v8::Local<v8::Value>> objects, prefixes;
        for (const R2ObjectMeta& meta : result->objects) objects.push_back(MetaValue(isolate, meta));
        for (const std::string& prefix : result->delimited_prefixes) {
          prefixes.push_back(runtime::Utf8String(isolate, prefix));
        }
        std::vector<v8::Local<v8::Value>> items = {
            runtime::NewArray(isolate, objects), runtime::NewArray(isolate, prefixes),
            v8::Boolean::New(isolate, result->truncated),
            runtime::Latin1String(isolate, result->cursor)};
        return runtime::NewArray(isolate, items);
      });
}

// r2CreateMultipart(handle, key, http[6], custom, storageClass) -> promise
// of the upload id.
NativeResult R2CreateMultipart(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  auto metadata = MetadataArgs(call, 2);
  if (!metadata.ok()) return metadata.status();
  R2PutOptions options = std::move(metadata).value();
  return RunR2Job(
      call, "createMultipartUpload",
      [target = std::move(target).value(), key = std::move(key).value(),
       options = std::move(options)]() mutable {
        return target.fleet ? target.fleet->CreateMultipartUpload(target.owner, target.bucket, key,
                                                                  std::move(options))
                            : target.store->CreateMultipartUpload(target.owner, target.bucket, key,
                                                                  std::move(options));
      },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, StatusOr<std::string>& id) {
        return runtime::Latin1String(isolate, *id).As<v8::Value>();
      });
}

// r2CompleteMultipart(handle, key, uploadId, parts (flat [n, etag, ...]))
// -> promise of the object's metadata.
NativeResult R2CompleteMultipart(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  auto upload_id = Utf8(call, call.arg(2));
  if (!upload_id.ok()) return upload_id.status();
  if (call.arg(3)->IsArray() && call.arg(3).As<v8::Array>()->Length() > 2 * kR2MaxParts) {
    return Failure("completeMultipartUpload",
                   Status(ErrorCode::kInvalidInput,
                          "There was a problem with the multipart upload. (10048)"));
  }
  std::vector<std::pair<uint32_t, std::string>> parts;
  if (!call.arg(3)->IsArray()) return runtime::TypeError("expected an array");
  auto array = call.arg(3).As<v8::Array>();
  for (uint32_t at = 0; at + 1 < array->Length(); at += 2) {
    v8::Local<v8::Value> number, etag;
    if (!array->Get(call.context(), at).ToLocal(&number) ||
        !array->Get(call.context(), at + 1).ToLocal(&etag)) {
      return runtime::PendingException();
    }
    auto text = Utf8(call, etag);
    if (!text.ok()) return text.status();
    double n = NumberOf(number).value_or(0);
    parts.emplace_back(n >= 1 && n <= kR2MaxParts ? static_cast<uint32_t>(n) : 0,
                       std::move(text).value());
  }
  return RunR2Job(
      call, "completeMultipartUpload",
      [target = std::move(target).value(), key = std::move(key).value(),
       upload_id = std::move(upload_id).value(), parts = std::move(parts)] {
        return target.fleet ? target.fleet->CompleteMultipartUpload(target.owner, target.bucket,
                                                                    key, upload_id, parts)
                            : target.store->CompleteMultipartUpload(target.owner, target.bucket,
                                                                    key, upload_id, parts);
      },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, StatusOr<R2ObjectMeta>& meta) {
        return MetaValue(isolate, *meta);
      });
}

// r2AbortMultipart(handle, key, uploadId) -> promise of undefined.
NativeResult R2AbortMultipart(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto key = Utf8(call, call.arg(1));
  if (!key.ok()) return key.status();
  auto upload_id = Utf8(call, call.arg(2));
  if (!upload_id.ok()) return upload_id.status();
  return RunR2Job(
      call, "abortMultipartUpload",
      [target = std::move(target).value(), key = std::move(key).value(),
       upload_id = std::move(upload_id).value()] {
        return target.fleet ? target.fleet->AbortMultipartUpload(target.owner, target.bucket, key,
                                                                 upload_id)
                            : target.store->AbortMultipartUpload(target.owner, target.bucket, key,
                                                                 upload_id);
      },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const Status&) {
        return v8::Undefined(isolate).As<v8::Value>();
      });
}

}  // namespace

void RegisterR2Natives(runtime::NativeRegistry& registry) {
  registry.Add({{"r2PutBegin", R2PutBegin},
                {"r2PartBegin", R2PartBegin},
                {"r2Write", R2Write},
                {"r2WriteEnd", R2WriteEnd},
                {"r2WriteAbort", R2WriteAbort},
                {"r2Head", R2Head},
                {"r2Get", R2Get},
                {"r2Read", R2Read},
                {"r2ReadCancel", R2ReadCancel},
                {"r2Delete", R2Delete},
                {"r2List", R2List},
                {"r2CreateMultipart", R2CreateMultipart},
                {"r2CompleteMultipart", R2CompleteMultipart},
                {"r2AbortMultipart", R2AbortMultipart}});
  // The contract r2.js checks arguments against.
  registry.AddConstant("r2MaxKeyBytes", static_cast<double>(kR2MaxKeyBytes));
  registry.AddConstant("r2MaxListLimit", static_cast<double>(kR2MaxListLimit));
  registry.AddConstant("r2MaxDeleteKeys", static_cast<double>(kR2MaxDeleteKeys));
  registry.AddConstant("r2MaxParts", static_cast<double>(kR2MaxParts));
}

}  // namespace edge::bindings
