#include "runtime/websocket/websocket_table.h"

#include <fmt/core.h>

#include <mutex>
#include <unordered_map>
#include <utility>

#include "base/websocket_frame.h"
#include "runtime/buffer_allocator.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"

namespace edge::runtime {
namespace {

std::mutex& CountMutex() {
  static std::mutex mutex;
  return mutex;
}

std::unordered_map<std::string, size_t>& Counts() {
  static auto* counts = new std::unordered_map<std::string, size_t>();
  return *counts;
}

}  // namespace

TenantWebSockets::Slot::~Slot() {
  std::lock_guard<std::mutex> lock(CountMutex());
  auto it = Counts().find(tenant_);
  if (it == Counts().end()) return;
  if (--it->second == 0) Counts().erase(it);
}

StatusOr<std::unique_ptr<TenantWebSockets::Slot>> TenantWebSockets::Take(const std::string& tenant,
                                                                         size_t limit) {
  std::lock_guard<std::mutex> lock(CountMutex());
  size_t& open = Counts()[tenant];
  if (open >= limit) {
    if (open == 0) Counts().erase(tenant);
    return Status(ErrorCode::kRangeError,
                  fmt::format("Too many open WebSockets: at most {} may be open at once for "
                              "this account on this node",
                              limit));
  }
  ++open;
  return std::make_unique<Slot>(tenant);
}

size_t TenantWebSockets::Open(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(CountMutex());
  auto it = Counts().find(tenant);
  return it == Counts().end() ? 0 : it->second;
}

WebSocketTable::~WebSocketTable() { DropAll(); }

uint32_t WebSocketTable::Add(std::shared_ptr<WebSocketChannel> channel,
                             std::unique_ptr<TenantWebSockets::Slot> slot, double invocation,
                             bool held) {
  uint32_t id = next_id_++;
  Socket& socket = sockets_[id];
  socket.held = held;
  socket.invocation = invocation;
  data_->HoldInvocation(invocation, 1);
  socket.channel = channel;
  socket.slot = std::move(slot);
  std::weak_ptr<IsolateData*> weak = data_->weak();
  // The channel's events come on this loop, possibly from inside the
  // gateway's input processing: they are queued, and run from the loop.
  WebSocketChannel::Events events;
  events.on_message = [weak, id](std::string data, bool binary) {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    (*alive)->websockets().Enqueue(id, Incoming{false, std::move(data), binary, 0, false});
  };
  events.on_close = [weak, id](int code, std::string reason, bool clean) {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    (*alive)->websockets().Enqueue(id, Incoming{true, std::move(reason), false, code, clean});
  };
  channel->Start(std::move(events));
  return id;
}

void WebSocketTable::Enqueue(uint32_t id, Incoming event) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  Socket& socket = it->second;
  if (socket.joined != 0 && Forward(id, event)) return;
  size_t size = event.data.size();
  socket.queued_bytes += size;
  if (BufferAllocator* allocator = data_->buffer_allocator()) allocator->Charge(size);
  socket.queue.push_back(std::move(event));
  if (!socket.paused && socket.queued_bytes > kMaxQueuedBytes) {
    socket.paused = true;
    socket.channel->PauseReading(true);
  }
  if (socket.scheduled || socket.held) return;
  socket.scheduled = true;
  std::weak_ptr<IsolateData*> weak = data_->weak();
  data_->Defer([weak, id] {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    (*alive)->websockets().Deliver(id);
  });
}

// Runs the socket's queued events, each in an entry of its own.
void WebSocketTable::Deliver(uint32_t id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  it->second.scheduled = false;
  while (true) {
    it = sockets_.find(id);
    if (it == sockets_.end() || it->second.queue.empty() || data_->discarded()) return;
    Socket& socket = it->second;
    Incoming event = std::move(socket.queue.front());
    socket.queue.pop_front();
    socket.queued_bytes -= event.data.size();
    if (BufferAllocator* allocator = data_->buffer_allocator()) {
      allocator->Uncharge(event.data.size());
    }
    if (socket.paused && socket.queued_bytes <= kMaxQueuedBytes / 2 && !event.close) {
      socket.paused = false;
      socket.channel->PauseReading(false);
    }
    if (event.close) {
      Forget(socket);
      sockets_.erase(id);
    }
    CallbackScope scope(data_);
    v8::Isolate* isolate = data_->isolate();
    v8::Local<v8::Context> context = scope.context();
    v8::Local<v8::Value> handler;
    if (!data_->internals()
             ->Get(context, v8::String::NewFromUtf8Literal(isolate, "webSocketEvent"))
             .ToLocal(&handler) ||
        !handler->IsFunction()) {
      return;
    }
    v8::Local<v8::Value> args[5];
    args[0] = v8::Integer::NewFromUnsigned(isolate, id);
    int argc = 3;
    if (event.close) {
      args[1] = v8::String::NewFromUtf8Literal(isolate, "close");
      args[2] = v8::Integer::New(isolate, event.code);
      args[3] = Utf8String(isolate, event.data);
      args[4] = v8::Boolean::New(isolate, event.clean);
      argc = 5;
    } else if (event.binary) {
      // Over the memory budget the worker is stopped (buffer_allocator.h).
      StatusOr<v8::Local<v8::ArrayBuffer>> buffer = AdoptBytes(isolate, std::move(event.data));
      if (!buffer.ok()) return;
      args[1] = v8::String::NewFromUtf8Literal(isolate, "message");
      args[2] = *buffer;
    } else {
      if (!CheckMemoryBudget(isolate, event.data.size() * 2).ok()) return;
      args[1] = v8::String::NewFromUtf8Literal(isolate, "message");
      args[2] = Utf8String(isolate, event.data);
    }
    // webSocketEvent reports the listeners' errors itself; only
    // termination ends up here.
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> ignored;
    if (!handler.As<v8::Function>()->Call(context, v8::Undefined(isolate), argc, args).ToLocal(&ignored)) {
      return;
    }
  }
}

Status WebSocketTable::Send(uint32_t id, std::string_view data, bool binary) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return Status::Ok();
  // The bytes wait in the gateway until the peer takes them: they must fit
  // in the budget as a buffer would.
  EDGE_RETURN_IF_ERROR(CheckMemoryBudget(data_->isolate(), data.size()));
  it->second.channel->Send(data, binary);
  Recharge(id, /*wait_for_drain=*/true);
  return Status::Ok();
}

void WebSocketTable::Recharge(uint32_t id, bool wait_for_drain) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  Socket& socket = it->second;
  size_t now = socket.channel->BufferedBytes();
  if (BufferAllocator* allocator = data_->buffer_allocator()) {
    if (now > socket.charged) allocator->Charge(now - socket.charged);
    if (now < socket.charged) allocator->Uncharge(socket.charged - now);
  }
  socket.charged = now;
  // Told once the writer is under its drain mark (at once if it is now);
  // what stays below the mark is counted until the next send or the close.
  if (!wait_for_drain || now == 0 || socket.drain_waiting) return;
  socket.drain_waiting = true;
  std::weak_ptr<IsolateData*> weak = data_->weak();
  socket.channel->OnDrain([weak, id] {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    WebSocketTable& table = (*alive)->websockets();
    auto found = table.sockets_.find(id);
    if (found == table.sockets_.end()) return;
    found->second.drain_waiting = false;
    table.Recharge(id, /*wait_for_drain=*/false);
    // A joined partner waiting for this one to drain is read again.
    auto partner = table.sockets_.find(found->second.joined);
    if (found->second.joined != 0 && partner != table.sockets_.end() &&
        partner->second.paused_for_partner) {
      partner->second.paused_for_partner = false;
      partner->second.channel->PauseReading(false);
    }
  });
}

bool WebSocketTable::Forward(uint32_t id, const Incoming& event) {
  Socket& socket = sockets_.find(id)->second;
  uint32_t partner_id = socket.joined;
  auto partner = sockets_.find(partner_id);
  if (event.close) {
    // The close goes on to the partner (a code that may not be sent, such
    // as 1006, as 1001), and to the isolate, which lets the invocation go.
    socket.joined = 0;
    if (partner != sockets_.end()) {
      partner->second.joined = 0;
      int code = event.code;
      std::string_view reason = event.data;
      if (code == base::kWsCloseNoStatus) {
        code = 0;
      } else if (!base::IsSendableCloseCode(code)) {
        code = base::kWsCloseGoingAway;
        reason = "The other end of this WebSocket went away";
      }
      partner->second.channel->Close(code, reason);
    }
    return false;
  }
  if (partner == sockets_.end()) return true;
  partner->second.channel->Send(event.data, event.binary);
  Recharge(partner_id, /*wait_for_drain=*/true);
  if (!socket.paused_for_partner && partner->second.channel->BufferedBytes() > kMaxQueuedBytes) {
    socket.paused_for_partner = true;
    socket.channel->PauseReading(true);
  }
  return true;
}

void WebSocketTable::Release(uint32_t id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end() || !it->second.held) return;
  it->second.held = false;
  if (it->second.queue.empty() || it->second.scheduled) return;
  it->second.scheduled = true;
  std::weak_ptr<IsolateData*> weak = data_->weak();
  data_->Defer([weak, id] {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    (*alive)->websockets().Deliver(id);
  });
}

bool WebSocketTable::Join(uint32_t a, uint32_t b) {
  if (a == b || sockets_.count(a) == 0 || sockets_.count(b) == 0) return false;
  sockets_[a].joined = b;
  sockets_[b].joined = a;
  sockets_[a].held = sockets_[b].held = false;
  for (uint32_t id : {a, b}) {
    Socket& socket = sockets_[id];
    std::deque<Incoming> queue = std::move(socket.queue);
    socket.queue.clear();
    if (BufferAllocator* allocator = data_->buffer_allocator()) {
      allocator->Uncharge(socket.queued_bytes);
    }
    socket.queued_bytes = 0;
    if (socket.paused) {
      socket.paused = false;
      socket.channel->PauseReading(false);
    }
    for (Incoming& event : queue) Enqueue(id, std::move(event));
  }
  return true;
}

void WebSocketTable::Close(uint32_t id, int code, std::string_view reason) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  it->second.channel->Close(code, reason);
}

size_t WebSocketTable::BufferedBytes(uint32_t id) const {
  auto it = sockets_.find(id);
  return it == sockets_.end() ? 0 : it->second.channel->BufferedBytes();
}

void WebSocketTable::Forget(Socket& socket) {
  if (BufferAllocator* allocator = data_->buffer_allocator()) {
    allocator->Uncharge(socket.charged + socket.queued_bytes);
  }
  socket.charged = 0;
  socket.queued_bytes = 0;
  socket.queue.clear();
  socket.slot.reset();
  if (socket.invocation != 0) data_->HoldInvocation(socket.invocation, -1);
  socket.invocation = 0;
}

void WebSocketTable::CloseAll(int code, std::string_view reason) {
  for (auto& [id, socket] : sockets_) socket.channel->Close(code, reason);
}

void WebSocketTable::DropAll() {
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& [id, socket] : sockets) {
    Forget(socket);
    socket.channel->Close(1001, "The worker was unloaded");
  }
}

}  // namespace edge::runtime
