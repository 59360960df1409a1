// The state a server shares with its connections. Internal to the gateway.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "gateway/http/http_types.h"

namespace edge::gateway {

class HttpConnection;

// What a server shares with its connections. Owned jointly so that connections
// still closing after the HttpServer is gone have what they need.
struct ServerContext {
  ServerContext(uv_loop_t* loop, ServerLimits limits, RequestHandler handler);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  void Add(HttpConnection* connection);
  void Remove(HttpConnection* connection);
  // Queues `connection` to be flushed before the loop next blocks.
  void ScheduleFlush(HttpConnection* connection);
  void CancelFlush(HttpConnection* connection);
  void RunFlushes();
  // Flushes what is queued and closes the handle; later flushes happen at once.
  void CloseFlushHandle();
  // Runs the Shutdown callbacks once the listener and every connection are closed.
  void MaybeFinishShutdown();

  uv_loop_t* loop;
  ServerLimits limits;
  RequestHandler handler;

  // Reads are parsed as soon as they arrive, so one buffer per loop serves
  // every connection of the server.
  std::unique_ptr<char[]> read_buffer;
  bool read_buffer_busy = false;

  HttpConnection* connections = nullptr;  // intrusive list of live connections
  size_t connection_count = 0;

  bool shutting_down = false;
  bool listener_open = false;
  std::vector<std::function<void()>> shutdown_done;

  uv_prepare_t* flush_handle = nullptr;  // heap-allocated; freed by its close callback
  bool flush_handle_closed = false;
  std::vector<HttpConnection*> dirty;
  std::vector<HttpConnection*> dirty_spare;
};

}  // namespace edge::gateway
