// The node's request log: one JSON line per request served (the access log)
// and per console.* call of a worker, for log shippers and `jq`. Strings
// come from workers and clients, so everything is escaped and ill-formed
// UTF-8 repaired: every line is valid JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/node/invocation_record.h"
#include "base/json_escape.h"
#include "base/status.h"

namespace edge::gateway {

// Thread-safe: each line is formatted by the calling thread, then written
// with one fwrite and flushed under a mutex, so lines never interleave and
// a crash loses at most the line being written.
class RequestLog {
 public:
  // "" or "-" writes to stdout; anything else is a file opened for append
  // (created if missing), so rotation by rename + restart and several
  // writers both work.
  static StatusOr<std::unique_ptr<RequestLog>> Open(const std::string& path);

  // Writes to `file`, closed on destruction when `owned`.
  RequestLog(std::FILE* file, bool owned);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // {"time":"2026-11-27T06:51:04.123Z","type":"access","request_id":..,"worker":..,
  // "version":..,"method":..,"url":..,"status":..,"outcome":..,"cpu_ms":1.234,
  // "wall_ms":..,"bytes_in":..,"bytes_out":..,"remote":..}. The time is when
  // the request was dispatched (start_unix_ms), as in Workers' eventTimestamp.
  // The record's console lines are not written: Console() does that, live or
  // from record.logs, as the caller prefers.
  void Access(const InvocationRecord& record);
  // {"time":..,"type":"console","worker":..,"version":..,"request_id":..,"level":..,
  // "message":..}; request_id is omitted when empty (console output outside a
  // request). `time_unix_ms` 0 means now.
  void Console(std::string_view worker, uint64_t version, std::string_view request_id,
               std::string_view level, std::string_view message, uint64_t time_unix_ms = 0);

 private:
  void Write(const std::string& line);

  std::FILE* file_;
  const bool owned_;
  std::mutex mutex_;
  bool write_failed_ = false;  // logged when writes start failing, not per line
};

}  // namespace edge::gateway
