// ServerContext: what a server shares with its connections (the handler,
// the limits, the read buffer, the list of live connections, the flushes
// due before the loop blocks, the end of a shutdown).
#include "gateway/http/server_context.h"

#include <algorithm>
#include <utility>

#include "base/uv_handle.h"
#include "gateway/http/connection_util.h"
#include "gateway/http/http_connection.h"

namespace edge::gateway {

ServerContext::ServerContext(uv_loop_t* loop_in, ServerLimits limits_in, RequestHandler handler_in)
    : loop(loop_in),
      limits(limits_in),
      handler(std::move(handler_in)),
      read_buffer(new char[kReadBufferSize]) {}

ServerContext::~ServerContext() { CloseFlushHandle(); }

void ServerContext::Add(HttpConnection* connection) {
  connection->prev_ = nullptr;
  connection->next_ = connections;
  if (connections != nullptr) connections->prev_ = connection;
  connections = connection;
  ++connection_count;
}

void ServerContext::Remove(HttpConnection* connection) {
  if (connection->prev_ != nullptr) {
    connection->prev_->next_ = connection->next_;
  } else {
    connections = connection->next_;
  }
  if (connection->next_ != nullptr) connection->next_->prev_ = connection->prev_;
  connection->prev_ = connection->next_ = nullptr;
  --connection_count;
}

void ServerContext::ScheduleFlush(HttpConnection* connection) {
  if (flush_handle == nullptr && !flush_handle_closed) {
    flush_handle = new uv_prepare_t;
    uv_prepare_init(loop, flush_handle);
    flush_handle->data = this;
  }
  if (flush_handle == nullptr) {
    connection->Flush();
    return;
  }
  connection->flush_scheduled_ = true;
  dirty.push_back(connection);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(flush_handle))) {
    uv_prepare_start(flush_handle, [](uv_prepare_t* handle) {
      static_cast<ServerContext*>(handle->data)->RunFlushes();
    });
  }
}

void ServerContext::RunFlushes() {
  dirty_spare.swap(dirty);
  for (HttpConnection* connection : dirty_spare) {
    if (!connection->flush_scheduled_) continue;
    connection->flush_scheduled_ = false;
    connection->Flush();
  }
  dirty_spare.clear();
  if (dirty.empty() && flush_handle != nullptr) uv_prepare_stop(flush_handle);
}

void ServerContext::CancelFlush(HttpConnection* connection) {
  connection->flush_scheduled_ = false;
  auto it = std::find(dirty.begin(), dirty.end(), connection);
  if (it != dirty.end()) dirty.erase(it);
}

void ServerContext::CloseFlushHandle() {
  flush_handle_closed = true;
  std::vector<HttpConnection*> left;
  left.swap(dirty);
  for (HttpConnection* connection : left) {
    if (!connection->flush_scheduled_) continue;
    connection->flush_scheduled_ = false;
    connection->Flush();
  }
  if (flush_handle != nullptr) {
    base::CloseAndDelete(flush_handle);
    flush_handle = nullptr;
  }
}

void ServerContext::MaybeFinishShutdown() {
  if (!shutting_down || listener_open || connection_count > 0 || shutdown_done.empty()) return;
  CloseFlushHandle();
  std::vector<std::function<void()>> callbacks;
  callbacks.swap(shutdown_done);
  for (auto& callback : callbacks) SafeCall(callback, "shutdown callback");
}

}  // namespace edge::gateway
