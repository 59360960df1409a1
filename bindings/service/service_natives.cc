// serviceFetch: the native behind service bindings (bindings/service/service.js).
// The call is dispatched to the other worker from the loop, and its response
// comes back as events delivered from the loop too, so neither isolate is
// ever entered from inside the other's JavaScript.
#include <fmt/core.h>

#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "runtime/buffer_allocator.h"
#include "runtime/errors.h"
#include "runtime/html/structured_clone.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/websocket/websocket_pipe.h"
#include "runtime/websocket/websocket_table.h"
#include "base/log.h"

namespace edge::bindings {
namespace {
using runtime::CallbackScope;
using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;

// Reports one call's progress to internals.serviceEvent(id, event, ...) in
// the calling isolate, if it is still there.
class CallerEvents {
 public:
  CallerEvents(IsolateData& caller, uint32_t id) : caller_(caller.weak()), id_(id) {}

  // `make_args` builds the event's arguments inside the caller's context.
  void Send(std::function<std::vector<v8::Local<v8::Value>>(v8::Isolate*)> make_args) {
    auto alive = caller_.lock();
    if (!alive || *alive == nullptr) return;
    IsolateData* data = *alive;
    uint32_t id = id_;
    data->Defer([weak = caller_, id, make_args = std::move(make_args)] {
      auto still = weak.lock();
      if (!still || *still == nullptr) return;
      IsolateData* data = *still;
      CallbackScope scope(data);
      v8::Isolate* isolate = data->isolate();
      v8::Local<v8::Value> handler;
      if (!data->internals()
               ->Get(scope.context(), v8::String::NewFromUtf8Literal(isolate, "serviceEvent"))
               .ToLocal(&handler) ||
          !handler->IsFunction()) {
        return;
      }
      std::vector<v8::Local<v8::Value>> args = make_args(isolate);
      args.insert(args.begin(), v8::Integer::NewFromUnsigned(isolate, id));
      v8::TryCatch try_catch(isolate);
      v8::Local<v8::Value> ignored;
      if (!handler.As<v8::Function>()
               ->Call(scope.context(), v8::Undefined(isolate), static_cast<int>(args.size()),
                      args.data())
               .ToLocal(&ignored) &&
          try_catch.HasCaught() && !try_catch.HasTerminated()) {
        Log(LogLevel::kError, "[{}] {}", data->worker_name(),
            runtime::DescribeException(isolate, try_catch.Exception(), try_catch.Message()));
      }
    });
  }

 private:
  std::weak_ptr<IsolateData*> caller_;
  uint32_t id_;
};

// The called worker's response, turned into events for the caller.
class ServiceSink : public runtime::ResponseSink {
 public:
  // `max_bytes`: the most body bytes the caller takes (0: no bound); past
  // it the call fails instead.
  ServiceSink(IsolateData& caller, uint32_t id, size_t max_bytes, double invocation)
      : events_(caller, id),
        max_bytes_(max_bytes),
        tenant_(caller.tenant()),
        websocket_limit_(caller.websocket_limit()),
        invocation_(invocation) {}

  // The called worker answered with a WebSocket: the caller gets the other
  // end of a pipe (runtime/websocket/websocket_pipe.h), in its own table of
  // open sockets, held by the invocation that made the call. It counts as
  // one more of the caller's account's open WebSockets. Runs on the
  // caller's thread (a callee on another reaches it through the thread
  // hop).
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList headers) override {
    if (failed_) return Status(ErrorCode::kTypeError, "The service binding's call has ended");
    auto slot = runtime::TenantWebSockets::Take(tenant_, websocket_limit_);
    if (!slot.ok()) return slot.status();
    auto [mine, theirs] = runtime::NewWebSocketPipe();
    failed_ = true;  // the response is over: nothing more goes to the caller
    auto held = std::make_shared<std::unique_ptr<runtime::TenantWebSockets::Slot>>(
        std::move(slot).value());
    events_.Send([mine = mine, held, invocation = invocation_,
                  headers = std::move(headers)](v8::Isolate* isolate) {
      IsolateData* data = IsolateData::From(isolate);
      uint32_t id = data->websockets().Add(mine, std::move(*held), invocation, /*held=*/true);
      std::vector<v8::Local<v8::Value>> flat;
      flat.reserve(headers.size() * 2);
      for (const auto& [name, value] : headers) {
        flat.push_back(runtime::Latin1String(isolate, name));
        flat.push_back(runtime::Latin1String(isolate, value));
      }
      return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "websocket"),
                                               v8::Integer::NewFromUnsigned(isolate, id),
                                               v8::Array::New(isolate, flat.data(), flat.size())};
    });
    return theirs;
  }

  void Start(int status, std::string_view status_text, runtime::HeaderList headers,
             std::optional<uint64_t>) override {
    std::string text(status_text);
    events_.Send([status, text, headers = std::move(headers)](v8::Isolate* isolate) {
      std::vector<v8::Local<v8::Value>> flat;
      flat.reserve(headers.size() * 2);
      for (const auto& [name, value] : headers) {
        flat.push_back(runtime::Latin1String(isolate, name));
        flat.push_back(runtime::Latin1String(isolate, value));
      }
      return std::vector<v8::Local<v8::Value>>{
          runtime::Utf8String(isolate, "start"), v8::Integer::New(isolate, status), runtime::Utf8String(isolate, text),
          v8::Array::New(isolate, flat.data(), flat.size())};
    });
  }
  void Write(std::string_view chunk) override {
    if (failed_) return;
    written_ += chunk.size();
    if (max_bytes_ != 0 && written_ > max_bytes_) {
      Fail(fmt::format("the RPC result is over the limit of {} MiB", max_bytes_ >> 20),
           LimitKind::kNone);
      return;
    }
    events_.Send([chunk = std::string(chunk)](v8::Isolate* isolate) {
      // Over the caller's memory budget, the caller's worker is being
      // stopped (buffer_allocator.h): it gets the chunk as an error instead.
      StatusOr<v8::Local<v8::Uint8Array>> bytes = runtime::NewUint8Array(isolate, chunk);
      if (!bytes.ok()) {
        return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "error"),
                                                 runtime::Utf8String(isolate, bytes.status().message())};
      }
      return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "data"), *bytes};
    });
  }
  void Finish() override {
    if (failed_) return;
    events_.Send([](v8::Isolate* isolate) {
      return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "end")};
    });
  }
  void Fail(std::string_view public_reason, LimitKind /*limit*/) override {
    if (failed_) return;
    failed_ = true;
    events_.Send([reason = std::string(public_reason)](v8::Isolate* isolate) {
      return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "error"), runtime::Utf8String(isolate, reason)};
    });
  }
  bool Aborted() const override { return false; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }

 private:
  CallerEvents events_;
  size_t max_bytes_;
  std::string tenant_;
  size_t websocket_limit_;
  double invocation_;
  size_t written_ = 0;
  bool failed_ = false;
};

// What one RPC call's arguments, or its result, may take once serialized:
// Workers' limit for an RPC message (32 MiB).
constexpr size_t kMaxRpcMessageBytes = 32u << 20;

Status DepthLimitError() {
  return Status(ErrorCode::kInvalidInput,
                "Subrequest depth limit exceeded. This request recursed through Workers too "
                "many times. This can happen e.g. if you have a Worker or Durable Object that "
                "calls other Workers or objects recursively.");
}

// Sends `request` to the worker the service binding `binding` reaches, for
// the call `id` of the calling isolate: as a subrequest of the calling
// invocation and one more invocation of its top-level request, counted in
// C++ (never from a value JavaScript holds). Code running outside any
// invocation (module top level, a background event) starts a chain of its
// own. The outcome comes back as events (ServiceSink), bounded to
// `max_bytes` of body (0: unbounded).
NativeResult StartServiceCall(NativeCall& call, const runtime::EnvBinding& binding, uint32_t id,
                              runtime::FetchRequest request, size_t max_bytes) {
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->services == nullptr) {
    return runtime::TypeError("service bindings are not available in this process");
  }
  std::string name = binding.Option("service");
  request.entrypoint = binding.Option("entrypoint");
  double key = call.data().CurrentInvocationKey(call.context());
  if (call.data().InvocationEnded(key)) {
    return runtime::TypeError(fmt::format(
        "Service binding to \"{}\": the invocation that made this call has ended (its response "
        "was sent and its waitUntil work settled)",
        name));
  }
  if (IsolateData::Invocation* invocation = call.data().FindInvocation(key)) {
    std::shared_ptr<runtime::RequestChain> chain = invocation->chain;
    if (chain && chain->invocations.load() >= runtime::kMaxChainInvocations) {
      return DepthLimitError();
    }
    Status counted = runtime::CountInvocationSubrequest(*invocation);
    if (!counted.ok()) return counted;
    // Counted atomically: the chain's other invocations may be calling
    // from other threads at the same time.
    if (chain && !chain->AddInvocation()) return DepthLimitError();
    // The callee shares the chain's CPU budget (request_chain.h).
    request.chain = std::move(chain);
  }
  call.data().CountSubrequest();

  auto sink = std::make_shared<ServiceSink>(call.data(), id, max_bytes, key);
  ServiceDirectory* directory = services->services;
  // Dispatch from the loop: the other worker is never entered from inside
  // this one's JavaScript.
  call.data().Defer([directory, name, request = std::move(request), sink]() mutable {
    Status status = directory->Dispatch(name, std::move(request), sink);
    if (!status.ok()) sink->Fail(status.message(), LimitKind::kNone);
  });
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// The service binding `handle` names in this isolate's C++ binding table:
// the worker called is the one the deployment bound (scoped by its account
// on a node), never a name from JavaScript.
StatusOr<const runtime::EnvBinding*> ServiceBindingArg(NativeCall& call, int i) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(i), "service");
  if (binding == nullptr) return runtime::TypeError("not a service binding of this worker");
  return binding;
}

// serviceFetch(id, handle, method, url, headers, body: null | string | Uint8Array)
NativeResult ServiceFetch(NativeCall& call) {
  StatusOr<const runtime::EnvBinding*> binding = ServiceBindingArg(call, 1);
  if (!binding.ok()) return binding.status();
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  runtime::FetchRequest request;
  auto method = call.StringArg(2);
  if (!method.ok()) return method.status();
  auto url = call.StringArg(3);
  if (!url.ok()) return url.status();
  request.method = std::move(method).value();
  request.url = std::move(url).value();
  auto headers = call.HeaderListArg(4);
  if (!headers.ok()) return headers.status();
  request.headers = std::move(headers).value();
  v8::Local<v8::Value> body = call.arg(5);
  if (body->IsString()) {
    v8::String::Utf8Value utf8(call.isolate(), body);
    request.body.assign(*utf8, utf8.length());
    request.has_body = true;
  } else if (!body->IsNullOrUndefined()) {
    auto bytes = call.BytesArg(5);
    if (!bytes.ok()) return bytes.status();
    request.body.assign(*bytes);
    request.has_body = true;
  }
  return StartServiceCall(call, **binding, static_cast<uint32_t>(*id), std::move(request), 0);
}

// The longest RPC method name a call may carry (Workers sets none; a name
// is a property key, and this bounds what one call copies and logs).
constexpr size_t kMaxRpcMethodName = 1024;

// serviceCall(id, handle, kind: "call" | "get", method, args: Uint8Array | null)
//
// A JS RPC call: `args` is what rpcSerialize made of the argument list (a
// call) or null (a property read). The result comes back as the body of a
// response whose status is rpcReturned, rpcThrew or rpcNotCloned.
NativeResult ServiceCall(NativeCall& call) {
  StatusOr<const runtime::EnvBinding*> binding = ServiceBindingArg(call, 1);
  if (!binding.ok()) return binding.status();
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  auto kind = call.StringArg(2);
  if (!kind.ok()) return kind.status();
  auto method = call.StringArg(3);
  if (!method.ok()) return method.status();
  if (method->size() > kMaxRpcMethodName) {
    return runtime::RangeError(
        fmt::format("An RPC method name is limited to {} bytes", kMaxRpcMethodName));
  }
  runtime::FetchRequest request;
  request.rpc = *kind == "get" ? runtime::FetchRequest::Rpc::kGet : runtime::FetchRequest::Rpc::kCall;
  request.rpc_method = *method;
  request.method = "RPC";
  request.url = "rpc:" + *method;
  if (request.rpc == runtime::FetchRequest::Rpc::kCall) {
    auto bytes = call.BytesArg(4);
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() > kMaxRpcMessageBytes) {
      return runtime::RangeError(fmt::format("RPC arguments are limited to {} MiB once serialized",
                                             kMaxRpcMessageBytes >> 20));
    }
    request.body.assign(*bytes);
    request.has_body = true;
  }
  return StartServiceCall(call, **binding, static_cast<uint32_t>(*id), std::move(request),
                          kMaxRpcMessageBytes);
}

// rpcSerialize(value, what) -> Uint8Array: `value` in V8's serialization
// format, at most kMaxRpcMessageBytes of it, counted against the memory
// budget. `what` names the value in the error past the limit ("RPC
// arguments", "RPC results").
NativeResult RpcSerialize(NativeCall& call) {
  auto what = call.StringArg(1);
  if (!what.ok()) return what.status();
  StatusOr<std::string> bytes = runtime::SerializeValue(call.isolate(), call.context(), call.arg(0),
                                                        kMaxRpcMessageBytes, *what);
  if (!bytes.ok()) return bytes.status();
  size_t length = bytes->size();
  StatusOr<v8::Local<v8::ArrayBuffer>> buffer =
      runtime::AdoptBytes(call.isolate(), std::move(bytes).value());
  if (!buffer.ok()) return buffer.status();
  return v8::Uint8Array::New(*buffer, 0, length).As<v8::Value>();
}

// rpcDeserialize(chunks: Uint8Array[]) -> the value rpcSerialize wrote, in
// this isolate; its bytes are the chunks one after the other.
NativeResult RpcDeserialize(NativeCall& call) {
  if (!call.arg(0)->IsArray()) return runtime::TypeError("rpcDeserialize takes an array of chunks");
  auto chunks = call.arg(0).As<v8::Array>();
  std::string bytes;
  for (uint32_t i = 0; i < chunks->Length(); ++i) {
    v8::Local<v8::Value> chunk;
    if (!chunks->Get(call.context(), i).ToLocal(&chunk)) return runtime::PendingException();
    if (!chunk->IsUint8Array()) return runtime::TypeError("an RPC message chunk is not bytes");
    auto view = chunk.As<v8::Uint8Array>();
    if (bytes.size() + view->ByteLength() > kMaxRpcMessageBytes) {
      return runtime::RangeError(
          fmt::format("An RPC message is limited to {} MiB", kMaxRpcMessageBytes >> 20));
    }
    size_t at = bytes.size();
    bytes.resize(at + view->ByteLength());
    view->CopyContents(bytes.data() + at, view->ByteLength());
  }
  v8::Local<v8::Value> value;
  if (!runtime::DeserializeValue(call.isolate(), call.context(), bytes).ToLocal(&value)) {
    return runtime::PendingException();
  }
  return value;
}

}  // namespace

void RegisterServiceNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"serviceFetch", ServiceFetch},
                {"serviceCall", ServiceCall},
                {"rpcSerialize", RpcSerialize},
                {"rpcDeserialize", RpcDeserialize}});
  // The statuses of an RPC call's outcome (runtime/js/dispatch.js sends
  // them, service.js reads them): the body is the value returned, the
  // value thrown, or the text of the DataCloneError the result raised.
  registry.AddConstant("rpcReturned", 200);
  registry.AddConstant("rpcThrew", 500);
  registry.AddConstant("rpcNotCloned", 400);
}

}  // namespace edge::bindings
