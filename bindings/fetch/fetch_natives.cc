// The natives behind fetch() (bindings/fetch/fetch.js): they start requests on
// the process's outbound client (bindings/fetch/outbound) and turn its events into
// promise settlements on the isolate's own loop.
//
//   fetchStart(method, https, host, port, path, headers, body, anchor) -> id
//       body: null (none), true (a stream, written with fetchWrite), or a
//       string / BufferSource (sent with a Content-Length). `anchor` is an
//       object the JS side keeps while it still cares about the response:
//       once it is garbage, the request is cancelled.
//   fetchResponse(id) -> Promise<[status, statusText, headers, hasBody]>
//   fetchRead(id) -> Uint8Array | null (end) | Promise of either
//   fetchWrite(id, bytes) -> 0 (go on) | 1 (wait for fetchDrain) | 2 (stop: the
//       request no longer takes a body)
//   fetchDrain(id) -> Promise<undefined>
//   fetchEnd(id), fetchCancel(id)
//   fetchSubrequestLimit() -> number (invocations begun without a limit get
//       it; runtime/js/invocation.js)
#include <algorithm>
#include <fmt/core.h>

#include <memory>
#include <unordered_map>

#include "bindings/binding_services.h"
#include "bindings/fetch/outbound/client.h"
#include "bindings/fetch/outbound/internal.h"
#include "bindings/bindings.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/pending_promise.h"

namespace edge::bindings {
namespace {

using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;
using runtime::PendingPromise;

// How often isolates with open fetches are checked for having gone away.
constexpr uint64_t kWatchIntervalMs = 500;

class IsolateFetches;

// One fetch() hop as the natives see it.
struct FetchCall {
  uint32_t id = 0;
  std::shared_ptr<outbound::Call> call;
  std::shared_ptr<PendingPromise> head;
  std::shared_ptr<PendingPromise> read;
  std::shared_ptr<PendingPromise> drain;
  // The head (or failure) when it arrived before fetchResponse asked.
  std::unique_ptr<StatusOr<outbound::ResponseHead>> early_head;
  struct Anchor {
    IsolateFetches* owner;
    uint32_t id;
    v8::Global<v8::Object> handle;
  };
  Anchor* anchor = nullptr;  // weak; owned here
};

// The fetches of one isolate. Found by IsolateData address, and only while
// that isolate lives (its weak token): when it goes away nothing tells us,
// so a timer looks while fetches are open.
class IsolateFetches {
 public:
  IsolateFetches(IsolateData* data) : data_(data), alive_(data->weak()) {}

  ~IsolateFetches() {
    bool alive = Alive();
    for (auto& [id, fetch] : calls_) Drop(*fetch, alive);
  }

  bool Alive() const {
    auto token = alive_.lock();
    return token && *token == data_;
  }
  IsolateData* data() const { return data_; }

  FetchCall* Find(uint32_t id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }

  FetchCall* Add(std::shared_ptr<outbound::Call> call) {
    auto fetch = std::make_unique<FetchCall>();
    fetch->id = next_id_++;
    if (next_id_ == 0) next_id_ = 1;
    fetch->call = std::move(call);
    FetchCall* raw = fetch.get();
    calls_.emplace(raw->id, std::move(fetch));
    Watch();
    return raw;
  }

  // The fetch is over for JavaScript (body read, failed or cancelled).
  void Remove(uint32_t id) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    std::unique_ptr<FetchCall> fetch = std::move(it->second);
    calls_.erase(it);
    Drop(*fetch, Alive());
    if (calls_.empty() && !in_watch_) watch_.reset();
  }

  // From a weak callback (inside GC): only plain C++ and libuv here.
  void ScheduleReap(uint32_t id) {
    reap_.push_back(id);
    if (watch_)
      watch_->Start(
          0, [this] { OnWatch(); }, kWatchIntervalMs);
  }

  void SetAnchor(FetchCall* fetch, v8::Isolate* isolate, v8::Local<v8::Object> object) {
    auto* anchor = new FetchCall::Anchor{this, fetch->id, {}};
    anchor->handle.Reset(isolate, object);
    anchor->handle.SetWeak(
        anchor,
        [](const v8::WeakCallbackInfo<FetchCall::Anchor>& info) {
          FetchCall::Anchor* a = info.GetParameter();
          a->handle.Reset();
          a->owner->ScheduleReap(a->id);
        },
        v8::WeakCallbackType::kParameter);
    fetch->anchor = anchor;
  }

 private:
  // The timer exists only while fetches are open, so an isolate without
  // any holds no handle on its loop.
  void Watch() {
    if (watch_) return;
    watch_ = std::make_unique<outbound::UvTimer>(data_->loop());
    watch_->Start(
        kWatchIntervalMs, [this] { OnWatch(); }, kWatchIntervalMs);
  }

  void OnWatch();

  static void Drop(FetchCall& fetch, bool isolate_alive) {
    if (fetch.call) {
      fetch.call->Cancel();
      fetch.call.reset();
    }
    if (fetch.anchor != nullptr) {
      // A handle of a disposed isolate must not be touched: leak it.
      if (isolate_alive) delete fetch.anchor;
      fetch.anchor = nullptr;
    }
    fetch.head.reset();
    fetch.read.reset();
    fetch.drain.reset();
  }

  IsolateData* data_;
  std::weak_ptr<IsolateData*> alive_;
  std::unordered_map<uint32_t, std::unique_ptr<FetchCall>> calls_;
  uint32_t next_id_ = 1;
  std::unique_ptr<outbound::UvTimer> watch_;
  bool in_watch_ = false;
  std::vector<uint32_t> reap_;
};

// Per loop thread; never destroyed (thread exit must not touch loops).
std::unordered_map<IsolateData*, std::unique_ptr<IsolateFetches>>& Registry() {
  thread_local auto* registry =
      new std::unordered_map<IsolateData*, std::unique_ptr<IsolateFetches>>;
  return *registry;
}

void IsolateFetches::OnWatch() {
  if (!Alive()) {
    // The isolate went away: its requests go too, and so does this.
    Registry().erase(data_);  // destroys `this` (and the timer, safely)
    return;
  }
  auto reap = std::move(reap_);
  reap_.clear();
  in_watch_ = true;
  for (uint32_t id : reap) Remove(id);
  in_watch_ = false;
  if (calls_.empty()) watch_.reset();  // safe inside its own callback
}

IsolateFetches& FetchesOf(IsolateData& data) {
  auto& registry = Registry();
  auto it = registry.find(&data);
  if (it != registry.end() && !it->second->Alive()) {
    registry.erase(it);  // a previous isolate at the same address
    it = registry.end();
  }
  if (it == registry.end()) {
    it = registry.emplace(&data, std::make_unique<IsolateFetches>(&data)).first;
  }
  return *it->second;
}

outbound::Client* ClientOf(NativeCall& call) {
  BindingServices* services = ServicesOf(call.data().services());
  return services != nullptr ? services->outbound.get() : nullptr;
}

v8::Local<v8::Value> Undefined(NativeCall& call) { return v8::Undefined(call.isolate()); }

// A Uint8Array over `bytes` without copying them, counted against the
// worker's memory budget (a RangeError when they do not fit).
StatusOr<v8::Local<v8::Value>> BytesValue(v8::Isolate* isolate, std::string bytes) {
  size_t length = bytes.size();
  StatusOr<v8::Local<v8::ArrayBuffer>> buffer = runtime::AdoptBytes(isolate, std::move(bytes));
  if (!buffer.ok()) return buffer.status();
  return v8::Uint8Array::New(*buffer, 0, length).As<v8::Value>();
}

// [status, statusText, [name, value, ...], hasBody]. The arrays are made
// with their elements (runtime::NewArray), so no setter a tenant put on
// Array.prototype runs or can throw.
v8::Local<v8::Value> HeadValue(v8::Isolate* isolate, const outbound::ResponseHead& head) {
  std::vector<v8::Local<v8::Value>> flat;
  flat.reserve(head.headers.size() * 2);
  for (const auto& [name, value] : head.headers) {
    flat.push_back(runtime::Latin1String(isolate, name));
    flat.push_back(runtime::Latin1String(isolate, value));
  }
  v8::Local<v8::Array> headers = runtime::NewArray(isolate, flat);
  v8::Local<v8::Value> items[] = {
      v8::Integer::New(isolate, head.status),
      runtime::Latin1String(isolate, head.status_text),
      headers,
      v8::Boolean::New(isolate, head.has_body),
  };
  return v8::Array::New(isolate, items, 4);
}

// A promise settled now, from inside a native (no CallbackScope: the
// caller's microtask checkpoint runs its reactions).
NativeResult ResolvedPromise(NativeCall& call, v8::Local<v8::Value> value) {
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(call.context()).ToLocal(&resolver)) {
    return runtime::PendingException();
  }
  (void)resolver->Resolve(call.context(), value).FromMaybe(false);
  return resolver->GetPromise().As<v8::Value>();
}

NativeResult ThrowOrReject(const Status& status) { return status; }

StatusOr<uint32_t> IdArg(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  return static_cast<uint32_t>(*id);
}

// Settles a pending read with what the call has now; true when it did.
bool SettleRead(IsolateFetches& fetches, FetchCall& fetch) {
  if (!fetch.read) return false;
  outbound::Call::ReadResult result = fetch.call->Read();
  if (result.kind == outbound::Call::ReadResult::kPending) return false;
  std::shared_ptr<PendingPromise> read = std::move(fetch.read);
  uint32_t id = fetch.id;
  switch (result.kind) {
    case outbound::Call::ReadResult::kData: {
      auto data = std::make_shared<std::string>(std::move(result.data));
      read->Resolve([data](v8::Isolate* isolate, v8::Local<v8::Context>) -> v8::Local<v8::Value> {
        StatusOr<v8::Local<v8::Value>> bytes = BytesValue(isolate, std::move(*data));
        if (bytes.ok()) return *bytes;
        runtime::ThrowStatus(isolate, bytes.status());  // the read rejects with it
        return {};
      });
      break;
    }
    case outbound::Call::ReadResult::kEnd:
      fetches.Remove(id);
      read->Resolve([](v8::Isolate* isolate, v8::Local<v8::Context>) -> v8::Local<v8::Value> {
        return v8::Null(isolate);
      });
      break;
    case outbound::Call::ReadResult::kError:
      fetches.Remove(id);
      read->Reject(result.error);
      break;
    case outbound::Call::ReadResult::kPending:
      break;
  }
  return true;
}

// An RFC 9110 token other than CONNECT, TRACE and TRACK (any case).
bool IsSendableMethod(std::string_view method) {
  if (method.empty() || method.size() > 64) return false;
  for (char c : method) {
    bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return false;
  }
  for (std::string_view forbidden : {"CONNECT", "TRACE", "TRACK"}) {
    if (method.size() == forbidden.size() &&
        std::equal(method.begin(), method.end(), forbidden.begin(),
                   [](char a, char b) { return (a & ~0x20) == b; })) {
      return false;
    }
  }
  return true;
}

// fetchStart(method, https, host, port, path, headers, body, anchor) -> id
NativeResult FetchStart(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  outbound::Client* client = ClientOf(call);
  if (client == nullptr) {
    return runtime::TypeError(
        "fetch() is not available: this process was started without an outbound client.");
  }
  call.data().CountSubrequest();
  outbound::RequestHead head;
  head.tenant = call.data().tenant();
  auto method = call.StringArg(0);
  if (!method.ok()) return method.status();
  // Request checks the method in JavaScript; what goes on the wire is
  // checked here again, so no patched built-in can put a space or CRLF in a
  // request line (RFC 9110 token), or send a method Workers forbids.
  if (!IsSendableMethod(*method)) {
    return runtime::TypeError(fmt::format("Invalid or forbidden request method: \"{}\"",
                                          method->substr(0, 64)));
  }
  head.method = std::move(method).value();
  head.target.tls = call.BoolArg(1);
  auto host = call.StringArg(2);
  if (!host.ok()) return host.status();
  head.target.host = std::move(host).value();
  auto port = call.NumberArg(3);
  if (!port.ok()) return port.status();
  if (!(*port >= 1 && *port <= 65535)) return runtime::TypeError("Invalid port.");
  head.target.port = static_cast<uint16_t>(*port);
  auto path = call.StringArg(4);
  if (!path.ok()) return path.status();
  head.target.path = std::move(path).value();

  // Headers holds ByteStrings: one byte per code unit, as on the wire.
  auto headers = call.HeaderListArg(5);
  if (!headers.ok()) return headers.status();
  for (auto& header : *headers) head.headers.emplace_back(std::move(header));
  v8::Isolate* isolate = call.isolate();

  outbound::BodyKind kind = outbound::BodyKind::kNone;
  std::string bytes;
  v8::Local<v8::Value> body = call.arg(6);
  if (body->IsTrue()) {
    kind = outbound::BodyKind::kStream;
  } else if (body->IsString()) {
    kind = outbound::BodyKind::kBytes;
    auto text = body.As<v8::String>();
    bytes.resize(text->Utf8Length(isolate));
    text->WriteUtf8(isolate, bytes.data(), static_cast<int>(bytes.size()), nullptr,
                    v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  } else if (!body->IsNullOrUndefined()) {
    auto view = call.BytesArg(6);
    if (!view.ok()) return view.status();
    kind = outbound::BodyKind::kBytes;
    bytes.assign(view->data(), view->size());
  }

  auto started = client->Start(call.data().loop(), std::move(head), kind, std::move(bytes));
  if (!started.ok()) return started.status();
  IsolateFetches& fetches = FetchesOf(call.data());
  FetchCall* fetch = fetches.Add(std::move(started).value());
  if (call.arg(7)->IsObject()) fetches.SetAnchor(fetch, isolate, call.arg(7).As<v8::Object>());

  const uint32_t id = fetch->id;
  IsolateFetches* owner = &fetches;
  outbound::Call* raw = fetch->call.get();
  // The callbacks run from the loop; `owner` outlives every call it holds
  // (they are cancelled, callbacks cleared, before it goes).
  raw->on_response = [owner, id](StatusOr<outbound::ResponseHead> result) {
    FetchCall* f = owner->Find(id);
    if (f == nullptr) return;
    if (!f->head) {
      f->early_head = std::make_unique<StatusOr<outbound::ResponseHead>>(std::move(result));
      if (!f->early_head->ok()) f->call.reset();
      return;
    }
    std::shared_ptr<PendingPromise> promise = std::move(f->head);
    if (!result.ok()) {
      owner->Remove(id);
      promise->Reject(result.status());
      return;
    }
    auto head = std::make_shared<outbound::ResponseHead>(std::move(result).value());
    if (!head->has_body) owner->Remove(id);
    promise->Resolve([head](v8::Isolate* isolate, v8::Local<v8::Context> context) {
      return HeadValue(isolate, *head);
    });
  };
  raw->on_readable = [owner, id] {
    FetchCall* f = owner->Find(id);
    if (f != nullptr) SettleRead(*owner, *f);
  };
  raw->on_drain = [owner, id] {
    FetchCall* f = owner->Find(id);
    if (f == nullptr || !f->drain) return;
    std::shared_ptr<PendingPromise> drain = std::move(f->drain);
    drain->ResolveUndefined();
  };
  return v8::Integer::NewFromUnsigned(isolate, id).As<v8::Value>();
}

// fetchResponse(id) -> Promise<[status, statusText, headers, hasBody]>
NativeResult FetchResponse(NativeCall& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.status();
  IsolateFetches& fetches = FetchesOf(call.data());
  FetchCall* fetch = fetches.Find(*id);
  if (fetch == nullptr) return runtime::TypeError("The request was cancelled.");
  if (fetch->early_head) {
    std::unique_ptr<StatusOr<outbound::ResponseHead>> head = std::move(fetch->early_head);
    if (!head->ok()) {
      Status status = head->status();
      fetches.Remove(*id);
      return ThrowOrReject(status);
    }
    v8::Local<v8::Value> value = HeadValue(call.isolate(), head->value());
    if (!head->value().has_body) fetches.Remove(*id);
    return ResolvedPromise(call, value);
  }
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  fetch->head = std::move(created->pending);
  return created->promise;
}

// fetchRead(id) -> Uint8Array | null | Promise
NativeResult FetchRead(NativeCall& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.status();
  IsolateFetches& fetches = FetchesOf(call.data());
  FetchCall* fetch = fetches.Find(*id);
  if (fetch == nullptr || !fetch->call) {
    return v8::Null(call.isolate()).As<v8::Value>();
  }
  if (fetch->read) return runtime::TypeError("A read of this body is already pending.");
  outbound::Call::ReadResult result = fetch->call->Read();
  switch (result.kind) {
    case outbound::Call::ReadResult::kData:
      return BytesValue(call.isolate(), std::move(result.data));
    case outbound::Call::ReadResult::kEnd:
      fetches.Remove(*id);
      return v8::Null(call.isolate()).As<v8::Value>();
    case outbound::Call::ReadResult::kError:
      fetches.Remove(*id);
      return result.error;
    case outbound::Call::ReadResult::kPending:
      break;
  }
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  fetch->read = std::move(created->pending);
  return created->promise;
}

// fetchWrite(id, bytes) -> 0 | 1 | 2
NativeResult FetchWrite(NativeCall& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  FetchCall* fetch = FetchesOf(call.data()).Find(*id);
  int result = 2;
  if (fetch != nullptr && fetch->call && !fetch->call->upload_closed()) {
    result = fetch->call->Write(*bytes) ? 1 : 0;
  }
  return v8::Integer::New(call.isolate(), result).As<v8::Value>();
}

// fetchDrain(id) -> Promise<undefined>, settled once fetchWrite may go on.
NativeResult FetchDrain(NativeCall& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.status();
  FetchCall* fetch = FetchesOf(call.data()).Find(*id);
  if (fetch == nullptr || !fetch->call || fetch->call->upload_closed()) {
    return ResolvedPromise(call, Undefined(call));
  }
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  fetch->drain = std::move(created->pending);
  return created->promise;
}

NativeResult FetchEnd(NativeCall& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.status();
  FetchCall* fetch = FetchesOf(call.data()).Find(*id);
  if (fetch != nullptr && fetch->call) fetch->call->EndBody();
  return Undefined(call);
}

// fetchCancel(id): the request and its connection (if mid-exchange) go;
// promises of this fetch never settle after it.
NativeResult FetchCancel(NativeCall& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.status();
  FetchesOf(call.data()).Remove(*id);
  return Undefined(call);
}

NativeResult FetchSubrequestLimit(NativeCall& call) {
  if (call.data().subrequest_limit()) {
    return v8::Integer::NewFromUnsigned(call.isolate(), *call.data().subrequest_limit())
        .As<v8::Value>();
  }
  outbound::Client* client = ClientOf(call);
  uint32_t limit = client != nullptr ? client->options().subrequest_limit
                                     : outbound::ClientOptions{}.subrequest_limit;
  return v8::Integer::NewFromUnsigned(call.isolate(), limit).As<v8::Value>();
}

}  // namespace

void RegisterFetchNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"fetchStart", FetchStart},
                {"fetchResponse", FetchResponse},
                {"fetchRead", FetchRead},
                {"fetchWrite", FetchWrite},
                {"fetchDrain", FetchDrain},
                {"fetchEnd", FetchEnd},
                {"fetchCancel", FetchCancel},
                {"fetchSubrequestLimit", FetchSubrequestLimit}});
}

}  // namespace edge::bindings
