// The natives behind cloudflare:sockets (bindings/sockets/sockets.js): each
// socket is a SocketConnection on the isolate's loop, held as a resource of
// the invocation that opened it (IsolateData::AddResource), so it closes
// when that invocation ends or the isolate goes away, whichever comes first.
//
//   socketConnect(hostname, port, tls) -> id
//       Counts one subrequest; refuses a 7th socket open in the invocation.
//   socketOpened(id) -> Promise<undefined>    (the connection, or after
//       socketStartTls the handshake)
//   socketRead(id) -> Promise<Uint8Array | null>   (null: the peer's end)
//   socketWrite(id, Uint8Array) -> Promise<undefined>   (once written)
//   socketShutdown(id) -> Promise<undefined>   (the write side closed)
//   socketStartTls(id, hostname), socketClose(id)
//   socketMaxOpen: the per-invocation bound (a constant)
#include <fmt/core.h>

#include <map>
#include <memory>
#include <utility>

#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/fetch/outbound/client.h"
#include "bindings/sockets/socket_connection.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/pending_promise.h"

namespace edge::bindings {
namespace {

using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;
using runtime::PendingPromise;

// Workers' limit on an invocation's simultaneous open connections.
constexpr int kMaxOpenSockets = 6;

// Sockets open per invocation, per isolate of this loop thread. An entry
// goes when its count drops to zero, so the map holds only what is open.
using OpenKey = std::pair<const IsolateData*, double>;
std::map<OpenKey, int>& OpenSockets() {
  thread_local auto* open = new std::map<OpenKey, int>;
  return *open;
}

// One socket as the natives see it.
class SocketResource : public runtime::InvocationResource {
 public:
  SocketResource(const IsolateData* data, double invocation, SocketConnection* connection)
      : key_(data, invocation), connection_(connection) {
    ++OpenSockets()[key_];
  }
  ~SocketResource() override {
    connection_->Close();  // no callback of it runs after this
    Uncount();
  }

  SocketConnection& connection() { return *connection_; }
  // The connection failed or both its sides are done: it no longer counts
  // toward the invocation's open sockets.
  void Uncount() {
    if (!counted_) return;
    counted_ = false;
    auto& open = OpenSockets();
    auto it = open.find(key_);
    if (it != open.end() && --it->second <= 0) open.erase(it);
  }

  std::shared_ptr<PendingPromise> opened, read, write, shutdown;

 private:
  OpenKey key_;
  SocketConnection* connection_;
  bool counted_ = true;
};

std::shared_ptr<SocketResource> Find(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (!id.ok() || !(*id >= 1 && *id <= 4294967295.0)) return nullptr;
  return std::dynamic_pointer_cast<SocketResource>(
      call.data().FindResource(static_cast<uint32_t>(*id)));
}

Status Closed() { return runtime::TypeError("The socket is closed."); }

// A promise of this socket's kept as `slot`; settled from the connection's
// callbacks on the loop.
StatusOr<v8::Local<v8::Value>> NewPending(NativeCall& call,
                                          std::shared_ptr<PendingPromise>& slot) {
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  slot = std::move(created->pending);
  return created->promise;
}

void Settle(std::shared_ptr<PendingPromise>& slot, const Status& status) {
  std::shared_ptr<PendingPromise> pending = std::move(slot);
  if (!pending) return;
  if (status.ok()) {
    pending->ResolveUndefined();
  } else {
    pending->Reject(status);
  }
}

// socketConnect(hostname, port, tls) -> id
NativeResult SocketConnect(NativeCall& call) {
  IsolateData& data = call.data();
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(data));
  BindingServices* services = ServicesOf(data.services());
  outbound::Client* client = services != nullptr ? services->outbound.get() : nullptr;
  if (client == nullptr) {
    return runtime::TypeError(
        "connect() is not available: this process was started without an outbound client.");
  }
  double invocation = data.CurrentInvocationKey(call.context());
  if (data.InvocationEnded(invocation)) {
    return runtime::TypeError(
        "connect() was called by an invocation that has ended (its response was sent and its "
        "waitUntil work settled).");
  }
  auto host = call.StringArg(0);
  if (!host.ok()) return host.status();
  if (!IsValidSocketHost(*host)) {
    return runtime::TypeError(
        "Specified address is empty string, contains unsupported characters or is too long.");
  }
  auto port = call.NumberArg(1);
  if (!port.ok()) return port.status();
  if (!(*port >= 1 && *port <= 65535) || *port != static_cast<double>(static_cast<int>(*port))) {
    return runtime::TypeError("Specified address has an invalid port.");
  }
  auto& open = OpenSockets();
  auto counted = open.find(OpenKey(&data, invocation));
  if (counted != open.end() && counted->second >= kMaxOpenSockets) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Too many open connections: an invocation may have at most {} "
                              "sockets open at once (Workers' limit on simultaneous open "
                              "connections). Close one (socket.close()) before opening another.",
                              kMaxOpenSockets));
  }
  if (IsolateData::Invocation* record = data.FindInvocation(invocation)) {
    EDGE_RETURN_IF_ERROR(runtime::CountInvocationSubrequest(*record));
  }
  data.CountSubrequest();

  SocketTarget target =
      TargetUnderClient(services->outbound, std::move(host).value(), static_cast<uint16_t>(*port),
                        call.BoolArg(2), data.shared_buffer_allocator());
  SocketConnection* connection = SocketConnection::Open(data.loop(), std::move(target));
  auto resource = std::make_shared<SocketResource>(&data, invocation, connection);
  uint32_t id = data.AddResource(invocation, std::move(resource));
  return v8::Integer::NewFromUnsigned(call.isolate(), id).As<v8::Value>();
}

// socketOpened(id) -> Promise<undefined>
NativeResult SocketOpened(NativeCall& call) {
  std::shared_ptr<SocketResource> socket = Find(call);
  if (!socket) return Closed();
  auto promise = NewPending(call, socket->opened);
  if (!promise.ok()) return promise.status();
  SocketResource* raw = socket.get();
  socket->connection().WhenOpen([raw](const Status& status) {
    if (!status.ok()) raw->Uncount();
    Settle(raw->opened, status);
  });
  return promise;
}

// socketRead(id) -> Promise<Uint8Array | null>
NativeResult SocketRead(NativeCall& call) {
  std::shared_ptr<SocketResource> socket = Find(call);
  if (!socket) return Closed();
  if (socket->read) return runtime::TypeError("A read of this socket is already pending.");
  auto promise = NewPending(call, socket->read);
  if (!promise.ok()) return promise.status();
  SocketResource* raw = socket.get();
  socket->connection().Read([raw](SocketConnection::ReadResult result) {
    std::shared_ptr<PendingPromise> read = std::move(raw->read);
    if (!read) return;
    switch (result.kind) {
      case SocketConnection::ReadResult::kData: {
        auto bytes = std::make_shared<std::string>(std::move(result.data));
        read->Resolve([bytes](v8::Isolate* isolate, v8::Local<v8::Context>) -> v8::Local<v8::Value> {
          size_t length = bytes->size();
          StatusOr<v8::Local<v8::ArrayBuffer>> buffer = runtime::AdoptBytes(isolate, std::move(*bytes));
          if (!buffer.ok()) {
            runtime::ThrowStatus(isolate, buffer.status());  // the read rejects with it
            return {};
          }
          return v8::Uint8Array::New(*buffer, 0, length);
        });
        break;
      }
      case SocketConnection::ReadResult::kEnd:
        read->Resolve([](v8::Isolate* isolate, v8::Local<v8::Context>) -> v8::Local<v8::Value> {
          return v8::Null(isolate);
        });
        break;
      case SocketConnection::ReadResult::kError:
        raw->Uncount();
        read->Reject(result.error);
        break;
    }
  });
  return promise;
}

// socketWrite(id, bytes) -> Promise<undefined>
NativeResult SocketWrite(NativeCall& call) {
  std::shared_ptr<SocketResource> socket = Find(call);
  if (!socket) return Closed();
  if (socket->write) return runtime::TypeError("A write to this socket is already pending.");
  v8::Local<v8::Value> value = call.arg(1);
  if (!value->IsArrayBufferView()) {
    return runtime::TypeError("A socket's writable side takes ArrayBuffer or ArrayBufferView chunks.");
  }
  v8::Local<v8::ArrayBufferView> view = value.As<v8::ArrayBufferView>();
  v8::Local<v8::ArrayBuffer> buffer = view->Buffer();
  if (buffer.IsEmpty() || buffer->IsSharedArrayBuffer()) {
    return runtime::TypeError("A socket's writable side does not take SharedArrayBuffer chunks.");
  }
  // The bytes are written from the buffer's own memory, which the backing
  // store keeps alive (a detach or a transfer meanwhile does not free it).
  std::shared_ptr<v8::BackingStore> store = buffer->GetBackingStore();
  size_t offset = view->ByteOffset();
  size_t length = view->ByteLength();
  if (store->Data() == nullptr || offset + length > store->ByteLength()) length = 0;
  const char* bytes = length == 0 ? nullptr : static_cast<const char*>(store->Data()) + offset;
  auto promise = NewPending(call, socket->write);
  if (!promise.ok()) return promise.status();
  SocketResource* raw = socket.get();
  socket->connection().Write(std::move(store), bytes, length, [raw](const Status& status) {
    if (!status.ok()) raw->Uncount();
    Settle(raw->write, status);
  });
  return promise;
}

// socketShutdown(id) -> Promise<undefined>
NativeResult SocketShutdown(NativeCall& call) {
  std::shared_ptr<SocketResource> socket = Find(call);
  if (!socket) return Closed();
  if (socket->shutdown) return runtime::TypeError("The socket's write side is already closing.");
  auto promise = NewPending(call, socket->shutdown);
  if (!promise.ok()) return promise.status();
  SocketResource* raw = socket.get();
  socket->connection().Shutdown([raw](const Status& status) {
    if (!status.ok()) raw->Uncount();
    Settle(raw->shutdown, status);
  });
  return promise;
}

// socketStartTls(id, hostname)
NativeResult SocketStartTls(NativeCall& call) {
  std::shared_ptr<SocketResource> socket = Find(call);
  if (!socket) return Closed();
  auto host = call.StringArg(1);
  if (!host.ok()) return host.status();
  if (!IsValidSocketHost(*host)) {
    return runtime::TypeError(
        "The expected server hostname is empty, contains unsupported characters or is too long.");
  }
  // The plaintext side's read (if any) is dropped: sockets.js has errored
  // that side's stream, and the TLS side reads next.
  socket->read.reset();
  socket->connection().StartTls(outbound::HostForDns(*host));
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// socketClose(id): the connection closes now; its pending promises never
// settle (the JavaScript side has settled its own by then).
NativeResult SocketClose(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (id.ok() && *id >= 1 && *id <= 4294967295.0 && Find(call)) {
    call.data().RemoveResource(static_cast<uint32_t>(*id));
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

void RegisterSocketNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"socketConnect", SocketConnect},
                {"socketOpened", SocketOpened},
                {"socketRead", SocketRead},
                {"socketWrite", SocketWrite},
                {"socketShutdown", SocketShutdown},
                {"socketStartTls", SocketStartTls},
                {"socketClose", SocketClose}});
  registry.AddConstant("socketMaxOpen", kMaxOpenSockets);
}

}  // namespace edge::bindings
