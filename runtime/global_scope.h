// No I/O, timers or random values in a worker's global scope, as on Workers.
//
// Code a module runs at its top level (and the microtasks it queues, and a
// top-level await) runs once, at load, outside any request. Anything it
// started that lives on (a timer, a fetch, a KV read, a crypto job on another
// thread) would run later with no request to bill it to and no end to stop
// it. Workers refuses these operations there with one error; the natives
// behind them ask CheckNotGlobalScope first and give the same error.
#pragma once

#include "base/status.h"

namespace edge::runtime {

class IsolateData;

// Workers' text, word for word (workerd 2026-11-23).
inline constexpr const char* kGlobalScopeError =
    "Disallowed operation called within global scope. Asynchronous I/O (ex: fetch() or "
    "connect()), setting a timeout, and generating random values are not allowed within global "
    "scope. To fix this error, perform this operation within a handler. "
    "https://developers.cloudflare.com/workers/runtime-apis/handlers/";

// The error above (a plain Error in JavaScript) while `data`'s worker runs
// its global scope; Ok otherwise.
Status CheckNotGlobalScope(const IsolateData& data);

// Marks the worker's global scope: from construction to destruction, the
// natives above refuse. Worker::LoadModules holds one while the modules run.
class GlobalScope {
 public:
  explicit GlobalScope(IsolateData& data);
  ~GlobalScope();
  GlobalScope(const GlobalScope&) = delete;
  GlobalScope& operator=(const GlobalScope&) = delete;

 private:
  IsolateData& data_;
};

}  // namespace edge::runtime
