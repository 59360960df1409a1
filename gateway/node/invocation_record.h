// What the node saw of one request served by a worker: the input to
// metering, metrics, the access log and live tails, filled in by the serving
// thread when the response ends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edge::gateway {

// One console.* call made while serving a request.
struct ConsoleLine {
  uint64_t time_ms = 0;  // Unix time in milliseconds
  std::string level;     // "log", "info", "warn", "error", "debug"
  std::string message;   // as the worker wrote it: untrusted, maybe not even UTF-8
};

// One request served by a worker, as the node saw it when the response ended.
struct InvocationRecord {
  std::string request_id;      // unique per node, e.g. "<thread>-<counter>" hex
  uint64_t start_unix_ms = 0;  // wall clock when the request was dispatched
  std::string worker;          // empty when no route matched (the gateway answered 404 itself)
  uint64_t version = 0;
  std::string method, url, remote;  // url absolute; remote "ip:port" ("cron": a trigger)
  // A scheduled invocation (a cron trigger) instead of a request: the
  // trigger's expression and the minute it fired for; method and url are
  // empty then.
  std::string cron;
  uint64_t scheduled_time_ms = 0;
  // A queue consumer's invocation instead: the queue and how many messages
  // its batch held (method, url and cron are empty then).
  std::string queue;
  uint32_t batch_size = 0;
  // A run of a workflow instance instead: its workflow and instance id
  // (method, url, cron and queue are empty then).
  std::string workflow;
  std::string workflow_instance;
  int status = 0;                   // 0 when no response was sent
  // "ok", "exception" (worker threw / 500 from the runtime), "exceededCpu",
  // "exceededMemory", "exceededWall", "responseTooLarge", "canceled" (client
  // went away), "noRoute", "loadError", "requestTooLarge" (refused before the
  // worker ran), "badRequest" (invalid Host or target), "policyRefused"
  // (a route policy refused it: no isolate was entered), "preflight" (a
  // CORS preflight the gateway answered).
  std::string outcome;
  // The route policy that answered ("cors", "validate", "api_key",
  // "rate_limit"); "" when the worker did.
  std::string policy;
  uint64_t cpu_ns = 0, wall_ns = 0;
  uint64_t memory_limit_bytes = 0;  // the worker's heap limit: GB-s = this x wall time
  uint64_t subrequests = 0;
  uint64_t bytes_in = 0, bytes_out = 0;  // request body bytes / response body bytes
  std::vector<ConsoleLine> logs;         // console output of this invocation
  // The uncaught exception that failed it ("Name: message" and the
  // source-mapped stack; "" when none), at most kMaxKeptExceptionBytes.
  std::string exception;

  // A request that failed, from the client's or the worker's side: what
  // metering counts as an error and `edge tail --status error` shows.
  bool error() const { return outcome != "ok" || status >= 500; }
};

}  // namespace edge::gateway
