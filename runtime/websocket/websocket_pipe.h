// Two WebSocketChannels joined to each other in one process, with no
// connection between them: what one end sends, the other receives. A
// service binding's caller gets one end when the worker it called answers
// with a WebSocket (bindings/service/service_natives.cc); the called
// worker's socket is the other.
//
// Both ends belong to one thread (a callee on another thread reaches its
// end through the gateway's thread hop). Events are handed to the other
// end's receiver at once: that receiver (WebSocketTable, or the hop) only
// queues them. A close from one end is answered for the other at once
// with the same code (as the runtime answers a connection's close), so
// both see a clean close; an end dropped without a close gives the other
// 1006. Nothing is buffered between the ends: BufferedBytes is 0, and the
// receiver's queue holds what its worker has not handled yet (counted
// against that worker's memory budget, see websocket_table.h).
#pragma once

#include <memory>
#include <utility>

#include "runtime/response_sink.h"

namespace edge::runtime {

std::pair<std::shared_ptr<WebSocketChannel>, std::shared_ptr<WebSocketChannel>> NewWebSocketPipe();

}  // namespace edge::runtime
