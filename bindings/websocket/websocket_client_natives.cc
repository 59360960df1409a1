// The native behind the WebSockets a worker opens (runtime/websocket/
// websocket.js: `new WebSocket(url)`; bindings/fetch/fetch.js: fetch() with
// `Upgrade: websocket`), and the splice of two open sockets:
//
//   webSocketConnect(tls, hostname, port, hostHeader, path, headers, protocols)
//       -> Promise<[id, status, statusText, headers, body, protocol]>
//       One subrequest of the invocation, and one of the tenant's open
//       WebSockets (runtime/websocket/websocket_table.h) from the start.
//       A 101 gives the socket's id in the isolate's WebSocketTable (held by
//       the invocation, as an accepted socket is; its events held until
//       webSocketRelease); another status gives id
//       0, the response and its body (bytes, or null).
//   webSocketJoin(a, b) -> whether both were open: see WebSocketTable::Join.
//
// While the handshake runs, the connection is a resource of its invocation
// (closed if the invocation ends first).
#include <fmt/core.h>

#include "base/http_text.h"
#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/websocket/websocket_client.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/pending_promise.h"
#include "runtime/websocket/websocket_table.h"

namespace edge::bindings {
namespace {

using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;

// The most subprotocols one handshake offers, and the most bytes of
// headers a caller adds to it.
constexpr size_t kMaxProtocols = 64;
constexpr size_t kMaxHeaderBytes = 64 * 1024;

// A handshake in progress, owned by its invocation.
class Connecting : public runtime::InvocationResource {
 public:
  Connecting(std::unique_ptr<runtime::TenantWebSockets::Slot> slot) : slot(std::move(slot)) {}
  ~Connecting() override {
    if (socket) socket->Abort();
  }
  std::shared_ptr<ClientWebSocket> socket;
  std::unique_ptr<runtime::TenantWebSockets::Slot> slot;
};

// Printable ASCII without spaces: what a serialized URL's path and host
// hold (anything else was percent-encoded).
bool IsRequestTarget(std::string_view text) {
  if (text.empty() || text.size() > 16 * 1024) return false;
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

v8::Local<v8::Value> AnswerValue(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                 uint32_t id, const ClientWebSocket::Answer& answer) {
  std::vector<v8::Local<v8::Value>> flat;
  flat.reserve(answer.headers.size() * 2);
  for (const auto& [name, value] : answer.headers) {
    flat.push_back(runtime::Latin1String(isolate, name));
    flat.push_back(runtime::Latin1String(isolate, value));
  }
  v8::Local<v8::Value> body = v8::Null(isolate);
  if (id == 0 && !answer.body.empty()) {
    StatusOr<v8::Local<v8::Uint8Array>> bytes = runtime::NewUint8Array(isolate, answer.body);
    if (bytes.ok()) body = *bytes;
  }
  v8::Local<v8::Value> items[] = {
      v8::Integer::NewFromUnsigned(isolate, id),
      v8::Integer::New(isolate, answer.status),
      runtime::Latin1String(isolate, answer.status_text),
      v8::Array::New(isolate, flat.data(), flat.size()),
      body,
      runtime::Latin1String(isolate, answer.protocol),
  };
  (void)context;
  return v8::Array::New(isolate, items, 6);
}

NativeResult WebSocketConnect(NativeCall& call) {
  IsolateData& data = call.data();
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(data));
  BindingServices* services = ServicesOf(data.services());
  if (services == nullptr || !services->outbound) {
    return runtime::TypeError(
        "WebSockets to other servers are not available: this process was started without an "
        "outbound client.");
  }
  double invocation = data.CurrentInvocationKey(call.context());
  if (data.InvocationEnded(invocation)) {
    return runtime::TypeError(
        "A WebSocket was opened by an invocation that has ended (its response was sent and its "
        "waitUntil work settled).");
  }
  bool tls = call.BoolArg(0);
  auto host = call.StringArg(1);
  if (!host.ok()) return host.status();
  if (!IsValidSocketHost(*host)) return runtime::TypeError("The WebSocket URL's host is invalid.");
  auto port = call.NumberArg(2);
  if (!port.ok()) return port.status();
  if (!(*port >= 1 && *port <= 65535) || *port != static_cast<double>(static_cast<int>(*port))) {
    return runtime::TypeError("The WebSocket URL's port is invalid.");
  }
  auto host_header = call.StringArg(3);
  if (!host_header.ok()) return host_header.status();
  auto path = call.StringArg(4);
  if (!path.ok()) return path.status();
  if (!IsRequestTarget(*host_header) || !IsRequestTarget(*path) || (*path)[0] != '/') {
    return runtime::TypeError("The WebSocket URL is invalid.");
  }
  auto headers = call.HeaderListArg(5);
  if (!headers.ok()) return headers.status();
  size_t header_bytes = 0;
  for (const auto& [name, value] : *headers) {
    header_bytes += name.size() + value.size() + 4;
    if (!base::IsToken(name) || !base::IsFetchFieldValue(value)) {
      return runtime::TypeError("A WebSocket handshake header is invalid.");
    }
  }
  if (header_bytes > kMaxHeaderBytes) {
    return runtime::TypeError(fmt::format(
        "The WebSocket handshake's headers are over {} KiB.", kMaxHeaderBytes >> 10));
  }
  std::vector<std::string> protocols;
  if (call.arg(6)->IsArray()) {
    auto list = call.arg(6).As<v8::Array>();
    if (list->Length() > kMaxProtocols) {
      return Status(ErrorCode::kSyntaxError, 
          fmt::format("A WebSocket may offer at most {} subprotocols.", kMaxProtocols));
    }
    for (uint32_t i = 0; i < list->Length(); ++i) {
      v8::Local<v8::Value> item;
      if (!list->Get(call.context(), i).ToLocal(&item)) return runtime::PendingException();
      if (!item->IsString()) return runtime::TypeError("A subprotocol is not a string.");
      v8::String::Utf8Value text(call.isolate(), item);
      std::string protocol(*text, text.length());
      if (!base::IsToken(protocol)) return Status(ErrorCode::kSyntaxError, "A subprotocol is invalid.");
      protocols.push_back(std::move(protocol));
    }
  }

  if (IsolateData::Invocation* record = data.FindInvocation(invocation)) {
    EDGE_RETURN_IF_ERROR(runtime::CountInvocationSubrequest(*record));
  }
  data.CountSubrequest();
  auto slot = runtime::TenantWebSockets::Take(data.tenant(), data.websocket_limit());
  if (!slot.ok()) return slot.status();
  auto created = runtime::PendingPromise::Create(call);
  if (!created.ok()) return created.status();

  ClientWebSocket::Request request;
  request.target = TargetUnderClient(services->outbound, std::move(host).value(),
                                     static_cast<uint16_t>(*port), tls,
                                     data.shared_buffer_allocator());
  request.host_header = std::move(host_header).value();
  request.path = std::move(path).value();
  request.headers = std::move(headers).value();
  request.protocols = std::move(protocols);

  auto resource = std::make_shared<Connecting>(std::move(slot).value());
  uint32_t resource_id = data.AddResource(invocation, resource);
  std::weak_ptr<IsolateData*> weak = data.weak();
  std::shared_ptr<runtime::PendingPromise> pending = created->pending;
  resource->socket = ClientWebSocket::Connect(
      data.loop(), std::move(request),
      [weak, resource_id, pending, invocation](StatusOr<ClientWebSocket::Answer> answer) {
        auto alive = weak.lock();
        if (!alive || *alive == nullptr) return;
        IsolateData* data = *alive;
        auto connecting =
            std::dynamic_pointer_cast<Connecting>(data->FindResource(resource_id));
        if (!connecting) return;
        std::shared_ptr<ClientWebSocket> socket = std::move(connecting->socket);
        std::unique_ptr<runtime::TenantWebSockets::Slot> slot = std::move(connecting->slot);
        data->RemoveResource(resource_id);
        if (!answer.ok()) {
          pending->Reject(answer.status());
          return;
        }
        uint32_t id = 0;
        if (answer->status == 101) {
          if (!pending->alive()) {
            socket->Close(base::kWsCloseGoingAway, "The invocation ended");
            return;
          }
          id = data->websockets().Add(socket, std::move(slot), invocation, /*held=*/true);
        }
        ClientWebSocket::Answer value = std::move(answer).value();
        pending->Resolve([id, value = std::move(value)](v8::Isolate* isolate,
                                                        v8::Local<v8::Context> context) {
          return AnswerValue(isolate, context, id, value);
        });
      });
  return created->promise;
}

// webSocketJoin(a, b) -> boolean
NativeResult WebSocketJoin(NativeCall& call) {
  auto a = call.NumberArg(0);
  if (!a.ok()) return a.status();
  auto b = call.NumberArg(1);
  if (!b.ok()) return b.status();
  if (!(*a >= 1 && *a <= 4294967295.0) || !(*b >= 1 && *b <= 4294967295.0)) {
    return runtime::TypeError("invalid id");
  }
  bool joined = call.data().websockets().Join(static_cast<uint32_t>(*a), static_cast<uint32_t>(*b));
  return v8::Boolean::New(call.isolate(), joined).As<v8::Value>();
}

}  // namespace

void RegisterWebSocketClientNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"webSocketConnect", WebSocketConnect}, {"webSocketJoin", WebSocketJoin}});
}

}  // namespace edge::bindings
