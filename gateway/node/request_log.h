// The node's request log: one JSON line per request served (the access log)
// and per console.* call of a worker, for log shippers and `jq`. Strings
// come from workers and clients, so everything is escaped and ill-formed
// UTF-8 repaired: every line is valid JSON.
#pragma once

#include <cstdint>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "gateway/node/invocation_record.h"
#include "base/json_escape.h"
#include "base/status.h"

namespace edge::gateway {

// Thread-safe, and off the request path: each line is formatted by the
// calling thread straight into a buffer in memory; a writer thread of its
// own writes what has gathered in one write and flush, at most kGatherMs
// after its first line (so a busy node makes one wake-up and one syscall per
// batch, not per request, and lines never interleave). A
// slow or full disk never stalls serving: past `max_pending_bytes` not yet
// written, lines are dropped, counted (`on_dropped`) and said in the log
// once per outage. Flush() and the destructor (shutdown, after SIGTERM)
// write every line still in memory.
class RequestLog {
 public:
  static constexpr size_t kDefaultMaxPendingBytes = 8 << 20;
  // How long a batch gathers after its first line, and the size that cuts
  // that short.
  static constexpr int kGatherMs = 10;
  static constexpr size_t kBatchBytes = 256 << 10;
  // Told the number of lines dropped, from the thread that dropped them.
  using DroppedHook = std::function<void(uint64_t lines)>;

  // "" or "-" writes to stdout; anything else is a file opened for append
  // (created if missing), so rotation by rename + restart and several
  // writers both work.
  static StatusOr<std::unique_ptr<RequestLog>> Open(const std::string& path);

  // Writes to `file`, closed on destruction when `owned`.
  RequestLog(std::FILE* file, bool owned, size_t max_pending_bytes = kDefaultMaxPendingBytes);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // Set once, before lines are written.
  void set_on_dropped(DroppedHook hook) { on_dropped_ = std::move(hook); }

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

  // Returns once every line given so far is written (or failed to be).
  void Flush();
  // Lines dropped since the log was opened.
  uint64_t dropped_lines() const;

 private:
  // Formats a line with `format(batch)` straight at the end of the batch
  // being gathered (under the lock), or drops it when that would hold more
  // than max_pending_bytes_.
  template <typename Format>
  void AppendLine(Format&& format);
  void Run();  // the writer thread
  void WriteBatch(const std::string& batch);

  std::FILE* file_;
  const bool owned_;
  const size_t max_pending_bytes_;
  DroppedHook on_dropped_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer: lines to write, or stop
  std::condition_variable written_;  // Flush(): a batch was written
  std::string pending_;              // lines not handed to the writer yet
  uint64_t appended_ = 0;            // batches: lines given (a sequence)
  uint64_t done_ = 0;                // lines written or failed
  uint64_t flush_wanted_ = 0;        // Flush(): write up to this line now
  uint64_t dropped_ = 0;
  bool dropping_ = false;  // lines are being dropped: said once, on the first
  bool stop_ = false;
  bool write_failed_ = false;  // writer thread only: said when writes start failing
  std::thread writer_;
};

}  // namespace edge::gateway
