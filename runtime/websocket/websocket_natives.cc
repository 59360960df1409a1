// The natives behind runtime/websocket/websocket.js: a 101 answer that
// turns the request's connection into a WebSocket, and sending and closing
// on an open one (runtime/websocket/websocket_table.h).
#include <cmath>

#include "base/websocket_frame.h"
#include "runtime/isolate_data.h"
#include "runtime/web_apis.h"
#include "runtime/websocket/websocket_table.h"

namespace edge::runtime {
namespace {

StatusOr<uint32_t> IdArg(NativeCall& call, int i) {
  auto id = call.NumberArg(i);
  if (!id.ok()) return id.status();
  if (!std::isfinite(*id) || *id < 0 || *id > 4294967295.0) {
    return Status(ErrorCode::kTypeError, "invalid id");
  }
  return static_cast<uint32_t>(*id);
}

// webSocketAccept(responseId, headers) -> socket id: answers the request
// with 101 and the headers, and the connection becomes the socket. Throws
// (the response stays open, to be failed) when the tenant has its limit of
// sockets open or the request was no WebSocket handshake.
NativeResult WebSocketAccept(NativeCall& call) {
  auto response = IdArg(call, 0);
  if (!response.ok()) return response.status();
  auto headers = call.HeaderListArg(1);
  if (!headers.ok()) return headers.status();
  IsolateData& data = call.data();
  ResponseSink* sink = data.FindResponse(*response);
  if (sink == nullptr) {
    return Status(ErrorCode::kTypeError, "The request's response already ended");
  }
  auto slot = TenantWebSockets::Take(data.tenant(), data.websocket_limit());
  if (!slot.ok()) return slot.status();
  auto channel = sink->AcceptWebSocket(std::move(headers).value());
  if (!channel.ok()) return channel.status();
  // The request's invocation stays while the socket is open (held before
  // the response goes, which would end it).
  double invocation = data.CurrentInvocationKey(call.context());
  uint32_t id = data.websockets().Add(std::move(channel).value(), std::move(slot).value(),
                                      invocation);
  data.RemoveResponse(*response);
  return v8::Integer::NewFromUnsigned(call.isolate(), id).As<v8::Value>();
}

// webSocketSend(id, data): a string goes as a text message (UTF-8), bytes
// as a binary one.
NativeResult WebSocketSend(NativeCall& call) {
  auto id = IdArg(call, 0);
  if (!id.ok()) return id.status();
  v8::Local<v8::Value> value = call.arg(1);
  if (value->IsString()) {
    auto text = call.StringArg(1);
    if (!text.ok()) return text.status();
    EDGE_RETURN_IF_ERROR(call.data().websockets().Send(*id, *text, /*binary=*/false));
  } else {
    auto bytes = call.BytesArg(1);
    if (!bytes.ok()) return bytes.status();
    EDGE_RETURN_IF_ERROR(call.data().websockets().Send(*id, *bytes, /*binary=*/true));
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// webSocketClose(id, code, reason): code 0 sends a close frame without one.
NativeResult WebSocketClose(NativeCall& call) {
  auto id = IdArg(call, 0);
  if (!id.ok()) return id.status();
  auto code = call.NumberArg(1);
  if (!code.ok()) return code.status();
  auto reason = call.StringArg(2);
  if (!reason.ok()) return reason.status();
  int value = static_cast<int>(*code);
  if (value != 0 && !base::IsSendableCloseCode(value)) {
    return Status(ErrorCode::kTypeError, "invalid close code");
  }
  call.data().websockets().Close(*id, value, *reason);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// webSocketBuffered(id) -> bytes sent the peer has not taken yet.
NativeResult WebSocketBuffered(NativeCall& call) {
  auto id = IdArg(call, 0);
  if (!id.ok()) return id.status();
  return v8::Number::New(call.isolate(),
                         static_cast<double>(call.data().websockets().BufferedBytes(*id)))
      .As<v8::Value>();
}

// webSocketRelease(id): a held socket's events start coming (accept()).
NativeResult WebSocketRelease(NativeCall& call) {
  auto id = IdArg(call, 0);
  if (!id.ok()) return id.status();
  call.data().websockets().Release(*id);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

void RegisterWebSocketNatives(NativeRegistry& registry) {
  registry.Add({{"webSocketAccept", WebSocketAccept},
                {"webSocketSend", WebSocketSend},
                {"webSocketClose", WebSocketClose},
                {"webSocketBuffered", WebSocketBuffered},
                {"webSocketRelease", WebSocketRelease}});
}

}  // namespace edge::runtime
