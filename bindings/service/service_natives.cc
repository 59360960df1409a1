// serviceFetch: the native behind service bindings (bindings/service/service.js).
// The call is dispatched to the other worker from the loop, and its response
// comes back as events delivered from the loop too, so neither isolate is
// ever entered from inside the other's JavaScript.
#include <fmt/core.h>

#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "runtime/errors.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
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
  ServiceSink(IsolateData& caller, uint32_t id) : events_(caller, id) {}

  // The caller would need a WebSocket of its own joined to this one.
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList) override {
    return Status(ErrorCode::kTypeError,
                  "A WebSocket cannot be returned to a service binding's caller in this runtime "
                  "(only to a client's WebSocket handshake)");
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
    events_.Send([](v8::Isolate* isolate) {
      return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "end")};
    });
  }
  void Fail(std::string_view public_reason, LimitKind /*limit*/) override {
    events_.Send([reason = std::string(public_reason)](v8::Isolate* isolate) {
      return std::vector<v8::Local<v8::Value>>{runtime::Utf8String(isolate, "error"), runtime::Utf8String(isolate, reason)};
    });
  }
  bool Aborted() const override { return false; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }

 private:
  CallerEvents events_;
};

Status DepthLimitError() {
  return Status(ErrorCode::kInvalidInput,
                "Subrequest depth limit exceeded. This request recursed through Workers too "
                "many times. This can happen e.g. if you have a Worker or Durable Object that "
                "calls other Workers or objects recursively.");
}

// serviceFetch(id, handle, method, url, headers, body: null | string | Uint8Array)
//
// `handle` is the binding's index in the isolate's C++ binding table: the
// worker called is the one the deployment bound (scoped by its account on a
// node), never a name from JavaScript.
NativeResult ServiceFetch(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->services == nullptr) {
    return runtime::TypeError("service bindings are not available in this process");
  }
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(1), "service");
  if (binding == nullptr) return runtime::TypeError("not a service binding of this worker");
  std::string name = binding->Option("service");
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

  // Each call is a subrequest of the calling invocation and one more worker
  // invocation of its top-level request, counted in C++ (never from a value
  // JavaScript holds). Code running outside any invocation (module top
  // level, a background event) starts a chain of its own.
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

  auto sink = std::make_shared<ServiceSink>(call.data(), static_cast<uint32_t>(*id));
  ServiceDirectory* directory = services->services;
  // Dispatch from the loop: the other worker is never entered from inside
  // this one's JavaScript.
  call.data().Defer([directory, name, request = std::move(request), sink]() mutable {
    Status status = directory->Dispatch(name, std::move(request), sink);
    if (!status.ok()) sink->Fail(status.message(), LimitKind::kNone);
  });
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

void RegisterServiceNatives(runtime::NativeRegistry& registry) {
  registry.Add("serviceFetch", ServiceFetch);
}

}  // namespace edge::bindings
