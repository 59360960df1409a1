// A request served on another thread than the one holding its connection
// (a quarantined worker runs on the node's quarantine thread): the response
// sink and the request body the worker sees forward every call to the
// connection's thread, and callbacks back to the worker's, through the two
// loops' task queues. Backpressure survives the hop: NeedsDrain counts the
// bytes still on their way, and OnDrain waits for the real writer.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "runtime/response_sink.h"

namespace edge::gateway {

// Runs a task on some loop's thread (LoopTasks::Post of that loop).
using PostFn = std::function<void(std::function<void()>)>;

// Called on the worker's thread; `inner` lives on the connection's thread.
std::shared_ptr<runtime::ResponseSink> HopSink(std::shared_ptr<runtime::ResponseSink> inner,
                                               PostFn to_connection, PostFn to_worker);

// Read and Pause are called on the worker's thread; `inner` is read on the
// connection's thread and its chunks come back to the worker's.
std::shared_ptr<runtime::RequestBodySource> HopBody(
    std::shared_ptr<runtime::RequestBodySource> inner, PostFn to_connection, PostFn to_worker);

}  // namespace edge::gateway
