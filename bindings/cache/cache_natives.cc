// The natives behind the Workers Cache API (bindings/cache/cache.js holds
// the API: argument conversion, Workers' refusals, Response shapes).
//
// Whose cache: the owner is decided here from the isolate, never from a
// value JavaScript hands over: a node's worker reaches its account's
// caches ("account:<name>"), a worker without an account (edge dev, edge
// test) its own ("worker:<name>"). The cache name and the URL come from
// the worker: they only pick among its owner's entries.
//
// Every disk access runs on libuv's thread pool through the isolate's
// fair queue (RunInThreadPool); the loop never waits for the disk. A put's
// body file and a cached body being read are InvocationResources: they end
// with the invocation that opened them, so a body stream that never ends
// holds nothing once its request is over.
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "base/ascii.h"
#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/cache/cache_http.h"
#include "bindings/cache/cache_store.h"
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
using runtime::PendingPromise;

// Bytes a put gathers before writing them out, and the most a read hands
// to JavaScript at once.
constexpr size_t kWriteBatchBytes = 64u << 10;
constexpr size_t kReadChunkBytes = 256u << 10;
// A cached body this small comes back with the match, not as a stream.
constexpr size_t kInlineBodyBytes = 256u << 10;

// A put in progress, held for its invocation.
struct PutResource : runtime::InvocationResource {
  std::unique_ptr<CacheWriter> writer;
  std::string pending;   // bytes not written out yet (loop thread)
  bool busy = false;     // a job uses the writer (loop thread)
  bool finished = false;  // committed or given up
};

// A cached body being read, held for its invocation.
struct ReadResource : runtime::InvocationResource {
  CacheFile file;
  uint64_t offset = 0;
  uint64_t remaining = 0;
  bool busy = false;
};

std::string OwnerOf(const IsolateData& data) {
  return CacheOwner(data.account(), data.worker_name());
}

StatusOr<std::shared_ptr<CacheStore>> StoreOf(NativeCall& call) {
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->cache == nullptr) {
    return runtime::TypeError("The Cache API is not available: this host was started without a cache store");
  }
  return services->cache;
}

// Each put, match and delete counts as one subrequest of the calling
// invocation, against the same limit as fetch() (Workers: "using the same
// quota as fetch()"), and none runs for an invocation that ended.
Status CountCall(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  double key = call.data().CurrentInvocationKey(call.context());
  if (call.data().InvocationEnded(key)) {
    return runtime::TypeError(
        "The Cache API was called by an invocation that has ended (its response was sent and "
        "its waitUntil work settled)");
  }
  if (IsolateData::Invocation* invocation = call.data().FindInvocation(key)) {
    EDGE_RETURN_IF_ERROR(runtime::CountInvocationSubrequest(*invocation));
  }
  return Status::Ok();
}

// (isDefault, name, url) at `first` -> the key, its owner from the isolate.
StatusOr<CacheKey> KeyArgs(NativeCall& call, int first) {
  CacheKey key;
  key.owner = OwnerOf(call.data());
  key.is_default = call.BoolArg(first);
  if (!key.is_default) {
    auto name = call.StringArg(first + 1);
    if (!name.ok()) return name.status();
    key.name = std::move(name).value();
    if (key.name.size() > kCacheMaxNameBytes) return runtime::TypeError("Cache name is too long.");
  }
  if (!call.arg(first + 2)->IsString()) return runtime::TypeError("a cache key URL must be a string");
  auto url = call.StringArg(first + 2);
  if (!url.ok()) return url.status();
  key.url = std::move(url).value();
  return key;
}

// Runs `work` on the thread pool and settles a promise with its result on
// the loop: a failure rejects, else make(isolate, context, invocation,
// result) resolves (runtime/thread_pool_job.h).
template <typename Work, typename Make>
NativeResult RunCacheJob(NativeCall& call, Work work, Make make) {
  return runtime::RunJobForPromise(
      call, std::move(work), [](const Status& status) { return status; }, std::move(make));
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

// cachePutBegin(isDefault, name, url, status, statusText, headers) -> 0
// when the response is not to be stored (Cache-Control, Set-Cookie, no
// TTL: put still resolves), else a promise of the put's id.
NativeResult CachePutBegin(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CountCall(call));
  auto key = KeyArgs(call, 0);
  if (!key.ok()) return key.status();
  auto store = StoreOf(call);
  if (!store.ok()) return store.status();
  auto status = call.NumberArg(3);
  if (!status.ok()) return status.status();
  auto status_text = call.StringArg(4);
  if (!status_text.ok()) return status_text.status();
  auto headers = call.HeaderListArg(5);
  if (!headers.ok()) return headers.status();
  if (!(*status >= 200 && *status <= 599)) return runtime::TypeError("bad response status");
  CacheHead head;
  head.status = static_cast<int>(*status);
  head.status_text = std::move(status_text).value();
  head.headers = std::move(headers).value();
  int64_t now = (*store)->Now();
  CachePutPolicy policy = PutPolicy(head.status, head.headers, now);
  if (!policy.store || key->url.size() > kCacheMaxUrlBytes) {
    return v8::Integer::New(call.isolate(), 0).As<v8::Value>();
  }
  if (policy.drop_set_cookie) {
    std::erase_if(head.headers, [](const auto& header) {
      return header.first.size() == 10 && base::EqualsIgnoreCase(header.first, "set-cookie");
    });
  }
  head.expires_ms = now + policy.ttl_ms;
  return RunCacheJob(
      call,
      [store = std::move(store).value(), key = std::move(key).value(), head = std::move(head)]() mutable {
        return store->BeginPut(std::move(key), std::move(head));
      },
      [&data = call.data()](v8::Isolate* isolate, v8::Local<v8::Context>, double invocation,
                            StatusOr<std::unique_ptr<CacheWriter>>& writer) {
        auto resource = std::make_shared<PutResource>();
        resource->writer = std::move(writer).value();
        uint32_t id = data.AddResource(invocation, std::move(resource));
        return v8::Integer::NewFromUnsigned(isolate, id).As<v8::Value>();
      });
}

std::shared_ptr<PutResource> FindPut(NativeCall& call, int i) {
  auto id = call.NumberArg(i);
  if (!id.ok() || !(*id >= 1 && *id <= 4294967295.0)) return nullptr;
  return std::dynamic_pointer_cast<PutResource>(call.data().FindResource(static_cast<uint32_t>(*id)));
}

// Writes what `put` gathered (and commits when `commit`), on the pool.
// Resolves with true while the put goes on, false once it was given up (the
// body passed the per-entry limit, or the entry cannot fit the caps):
// nothing is stored then.
NativeResult FlushPut(NativeCall& call, std::shared_ptr<PutResource> put, bool commit) {
  put->busy = true;
  std::string bytes = std::move(put->pending);
  put->pending.clear();
  return RunCacheJob(
      call,
      [put, bytes = std::move(bytes), commit]() mutable -> StatusOr<bool> {
        Status status = bytes.empty() ? Status::Ok() : put->writer->Write(bytes);
        std::string().swap(bytes);
        if (status.ok() && commit) status = put->writer->Commit();
        if (status.code() == ErrorCode::kRangeError) return false;
        if (!status.ok()) return status;
        return true;
      },
      [put, commit](v8::Isolate* isolate, v8::Local<v8::Context>, double, StatusOr<bool>& going) {
        put->busy = false;
        if (commit || !*going) put->finished = true;
        return v8::Boolean::New(isolate, *going).As<v8::Value>();
      });
}

// cachePutWrite(id, bytes) -> undefined (gathered), or a promise of
// whether the put goes on once the gathered bytes are written.
NativeResult CachePutWrite(NativeCall& call) {
  std::shared_ptr<PutResource> put = FindPut(call, 0);
  if (put == nullptr || put->finished) return runtime::TypeError("this cache put has ended");
  if (put->busy) return runtime::TypeError("a cache put takes one chunk at a time");
  auto store = StoreOf(call);
  if (!store.ok()) return store.status();
  const uint64_t max = (*store)->limits().max_entry_bytes;
  const uint64_t room = max - std::min(put->writer->written() + put->pending.size(), max);
  // A chunk that takes the body past the per-entry limit is not copied:
  // the put is given up (nothing is stored) and put() resolves, as on
  // Workers, where the cache answers 413 and put() ignores it.
  auto give_up = [&] {
    put->finished = true;
    put->pending.clear();
    put->writer->Abort();
    return v8::False(call.isolate()).As<v8::Value>();
  };
  if (call.arg(1)->IsString()) {
    // A string body's text, as UTF-8 (measured before it is copied).
    v8::Local<v8::String> text = call.arg(1).As<v8::String>();
    size_t length = static_cast<size_t>(text->Utf8Length(call.isolate()));
    if (length > room) return give_up();
    size_t at = put->pending.size();
    put->pending.resize(at + length);
    if (length > 0) {
      text->WriteUtf8(call.isolate(), put->pending.data() + at, static_cast<int>(length), nullptr,
                      v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    }
  } else {
    auto bytes = call.BytesArg(1);
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() > room) return give_up();
    put->pending.append(bytes->data(), bytes->size());
  }
  if (put->pending.size() < kWriteBatchBytes) return v8::Undefined(call.isolate()).As<v8::Value>();
  return FlushPut(call, std::move(put), false);
}

// cachePutEnd(id) -> promise of whether the entry was stored.
NativeResult CachePutEnd(NativeCall& call) {
  std::shared_ptr<PutResource> put = FindPut(call, 0);
  if (put == nullptr || put->finished) return runtime::TypeError("this cache put has ended");
  if (put->busy) return runtime::TypeError("a cache put takes one chunk at a time");
  return FlushPut(call, std::move(put), true);
}

// cachePutAbort(id): the put is given up (its body failed, or was not
// bytes); nothing is stored.
NativeResult CachePutAbort(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (id.ok() && *id >= 1 && *id <= 4294967295.0) {
    auto resource = call.data().FindResource(static_cast<uint32_t>(*id));
    if (auto put = std::dynamic_pointer_cast<PutResource>(resource)) {
      put->finished = true;
      call.data().RemoveResource(static_cast<uint32_t>(*id));
    }
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// What a match job hands to the loop.
struct Matched {
  std::optional<CacheAnswer> answer;
  std::string status_text;
  std::string inline_body;  // the whole body when it is small
  bool streamed = false;    // else `file` holds it from answer.offset
  CacheFile file;
};

// cacheMatch(isDefault, name, url, requestHeaders) -> promise of null (a
// miss) or [status, statusText, headers, body: Uint8Array | null,
// readerId (0: none), length].
NativeResult CacheMatch(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CountCall(call));
  auto key = KeyArgs(call, 0);
  if (!key.ok()) return key.status();
  auto store = StoreOf(call);
  if (!store.ok()) return store.status();
  auto request_headers = call.HeaderListArg(3);
  if (!request_headers.ok()) return request_headers.status();
  return RunCacheJob(
      call,
      [store = std::move(store).value(), key = std::move(key).value(),
       request_headers = std::move(request_headers).value()]() -> StatusOr<Matched> {
        Matched matched;
        auto hit = store->Match(key);
        if (!hit.ok()) return hit.status();
        if (!*hit) return matched;
        CacheAnswer answer = AnswerFor((*hit)->head, (*hit)->body_size, request_headers);
        matched.status_text = (*hit)->head.status_text;
        if (answer.has_body && answer.length > 0) {
          if (answer.length <= kInlineBodyBytes) {
            auto bytes = (*hit)->body.Read(answer.offset, static_cast<size_t>(answer.length));
            // A body that reads short was cut (a crash, a disk error): a miss.
            if (!bytes.ok() || bytes->size() != answer.length) return Matched{};
            matched.inline_body = std::move(bytes).value();
          } else {
            matched.streamed = true;
            matched.file = std::move((*hit)->body);
          }
        }
        matched.answer = std::move(answer);
        return matched;
      },
      [&data = call.data()](v8::Isolate* isolate, v8::Local<v8::Context> context, double invocation,
                            StatusOr<Matched>& result) -> v8::Local<v8::Value> {
        Matched& matched = result.value();
        if (!matched.answer) return v8::Null(isolate);
        CacheAnswer& answer = *matched.answer;
        std::vector<v8::Local<v8::Value>> flat;
        flat.reserve(answer.headers.size() * 2);
        for (const auto& [name, value] : answer.headers) {
          flat.push_back(runtime::Latin1String(isolate, name));
          flat.push_back(runtime::Latin1String(isolate, value));
        }
        v8::Local<v8::Value> body = v8::Null(isolate);
        uint32_t reader = 0;
        if (matched.streamed) {
          auto read = std::make_shared<ReadResource>();
          read->file = std::move(matched.file);
          read->offset = answer.offset;
          read->remaining = answer.length;
          reader = data.AddResource(invocation, std::move(read));
        } else if (answer.has_body) {
          body = BytesValue(isolate, std::move(matched.inline_body));
          if (body.IsEmpty()) return {};
        }
        v8::Local<v8::Value> items[] = {
            v8::Integer::New(isolate, answer.status),
            runtime::Latin1String(isolate, matched.status_text),
            runtime::NewArray(isolate, flat),
            body,
            v8::Integer::NewFromUnsigned(isolate, reader),
            v8::Number::New(isolate, static_cast<double>(answer.has_body ? answer.length : 0))};
        (void)context;
        return runtime::NewArray(isolate, {std::begin(items), std::end(items)}).As<v8::Value>();
      });
}

// cacheRead(readerId) -> promise of the next chunk (Uint8Array), or null
// at the end (the reader is then released).
NativeResult CacheRead(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  uint32_t reader_id = *id >= 1 && *id <= 4294967295.0 ? static_cast<uint32_t>(*id) : 0;
  auto read = std::dynamic_pointer_cast<ReadResource>(call.data().FindResource(reader_id));
  if (read == nullptr) {
    return runtime::TypeError(
        "This cached response body can no longer be read: the invocation that matched it has ended");
  }
  if (read->busy) return runtime::TypeError("a cached body is read one chunk at a time");
  if (read->remaining == 0) {
    call.data().RemoveResource(reader_id);
    return v8::Null(call.isolate()).As<v8::Value>();
  }
  read->busy = true;
  size_t length = static_cast<size_t>(std::min<uint64_t>(read->remaining, kReadChunkBytes));
  return RunCacheJob(
      call, [read, length]() { return read->file.Read(read->offset, length); },
      [read, length](v8::Isolate* isolate, v8::Local<v8::Context>, double,
                     StatusOr<std::string>& bytes) -> v8::Local<v8::Value> {
        read->busy = false;
        if (bytes->size() != length) {
          isolate->ThrowException(v8::Exception::TypeError(v8::String::NewFromUtf8Literal(
              isolate, "The cached response body was cut short on disk")));
          return {};
        }
        read->offset += length;
        read->remaining -= length;
        return BytesValue(isolate, std::move(bytes).value());
      });
}

// cacheReadCancel(readerId): the body stream was cancelled.
NativeResult CacheReadCancel(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (id.ok() && *id >= 1 && *id <= 4294967295.0) {
    uint32_t reader_id = static_cast<uint32_t>(*id);
    if (std::dynamic_pointer_cast<ReadResource>(call.data().FindResource(reader_id))) {
      call.data().RemoveResource(reader_id);
    }
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// cacheDelete(isDefault, name, url) -> promise of whether an entry went.
NativeResult CacheDelete(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CountCall(call));
  auto key = KeyArgs(call, 0);
  if (!key.ok()) return key.status();
  auto store = StoreOf(call);
  if (!store.ok()) return store.status();
  return RunCacheJob(
      call,
      [store = std::move(store).value(), key = std::move(key).value()] { return store->Delete(key); },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, StatusOr<bool>& deleted) {
        return v8::Boolean::New(isolate, *deleted).As<v8::Value>();
      });
}

}  // namespace

void RegisterCacheNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"cachePutBegin", CachePutBegin},
                {"cachePutWrite", CachePutWrite},
                {"cachePutEnd", CachePutEnd},
                {"cachePutAbort", CachePutAbort},
                {"cacheMatch", CacheMatch},
                {"cacheRead", CacheRead},
                {"cacheReadCancel", CacheReadCancel},
                {"cacheDelete", CacheDelete}});
  // The contract cache.js checks arguments against.
  registry.AddConstant("cacheMaxNameBytes", static_cast<double>(kCacheMaxNameBytes));
  registry.AddConstant("cacheMaxUrlBytes", static_cast<double>(kCacheMaxUrlBytes));
}

}  // namespace edge::bindings
