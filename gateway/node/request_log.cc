#include "gateway/node/request_log.h"

#include <fmt/core.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>

#include "base/log.h"

namespace edge::gateway {
namespace {

uint64_t NowUnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  base::AppendJsonEscaped(out, value);
}

void AppendInt(std::string& out, int value) {
  if (value < 0) {
    out += '-';
    base::AppendUnsigned(out, static_cast<uint64_t>(-static_cast<int64_t>(value)));
  } else {
    base::AppendUnsigned(out, static_cast<uint64_t>(value));
  }
}

}  // namespace

StatusOr<std::unique_ptr<RequestLog>> RequestLog::Open(const std::string& path) {
  if (path.empty() || path == "-") return std::make_unique<RequestLog>(stdout, false);
  // "e": close-on-exec, so processes the node starts do not inherit it.
  std::FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) {
    return Status(ErrorCode::kIo,
                  fmt::format("cannot open request log {}: {}", path, std::strerror(errno)));
  }
  return std::make_unique<RequestLog>(file, true);
}

RequestLog::RequestLog(std::FILE* file, bool owned, size_t max_pending_bytes)
    : file_(file), owned_(owned), max_pending_bytes_(max_pending_bytes) {
  writer_ = std::thread([this] { Run(); });
}

RequestLog::~RequestLog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();  // the writer writes what is pending before it stops
  if (owned_) std::fclose(file_);
}

void RequestLog::Access(const InvocationRecord& record) {
  AppendLine([&record](std::string& line) {
    line += "{\"time\":\"";
    base::AppendUtcTime(line, record.start_unix_ms);
    line += "\",\"type\":\"access\"";
    AppendField(line, "request_id", record.request_id);
    AppendField(line, "worker", record.worker);
    line += ",\"version\":";
    base::AppendUnsigned(line, record.version);
    if (!record.cron.empty()) {
      AppendField(line, "cron", record.cron);
      line += ",\"scheduled_time\":\"";
      base::AppendUtcTime(line, record.scheduled_time_ms);
      line += '"';
    } else if (!record.queue.empty()) {
      AppendField(line, "queue", record.queue);
      line += ",\"batch_size\":";
      base::AppendUnsigned(line, record.batch_size);
    } else if (!record.workflow.empty()) {
      AppendField(line, "workflow", record.workflow);
      AppendField(line, "instance", record.workflow_instance);
    } else {
      AppendField(line, "method", record.method);
      AppendField(line, "url", record.url);
    }
    line += ",\"status\":";
    AppendInt(line, record.status);
    AppendField(line, "outcome", record.outcome);
    if (!record.policy.empty()) AppendField(line, "policy", record.policy);
    line += ",\"cpu_ms\":";
    base::AppendMillis(line, record.cpu_ns);
    line += ",\"wall_ms\":";
    base::AppendMillis(line, record.wall_ns);
    line += ",\"bytes_in\":";
    base::AppendUnsigned(line, record.bytes_in);
    line += ",\"bytes_out\":";
    base::AppendUnsigned(line, record.bytes_out);
    AppendField(line, "remote", record.remote);
    line += "}\n";
  });
}

void RequestLog::Console(std::string_view worker, uint64_t version, std::string_view request_id,
                         std::string_view level, std::string_view message, uint64_t time_unix_ms) {
  uint64_t time = time_unix_ms != 0 ? time_unix_ms : NowUnixMs();
  AppendLine([&](std::string& line) {
    line += "{\"time\":\"";
    base::AppendUtcTime(line, time);
    line += "\",\"type\":\"console\"";
    AppendField(line, "worker", worker);
    line += ",\"version\":";
    base::AppendUnsigned(line, version);
    if (!request_id.empty()) AppendField(line, "request_id", request_id);
    AppendField(line, "level", level);
    AppendField(line, "message", message);
    line += "}\n";
  });
}

template <typename Format>
void RequestLog::AppendLine(Format&& format) {
  uint64_t dropped = 0;
  bool first_drop = false;
  bool wake = false;
  {
    // Formatted in place at the end of the batch being gathered: no string
    // of its own per line, one copy (the batch's write) in all.
    std::lock_guard<std::mutex> lock(mutex_);
    size_t before = pending_.size();
    format(pending_);
    size_t line_size = pending_.size() - before;
    if (pending_.size() > max_pending_bytes_) {
      pending_.resize(before);
      // A line bigger than the whole budget (a worker's console.log of a
      // huge string) must not leave the batch's memory that big.
      if (pending_.capacity() > 2 * max_pending_bytes_) pending_.shrink_to_fit();
      dropped = ++dropped_;
      first_drop = !dropping_;
      dropping_ = true;
    } else {
      // The first line wakes an idle writer; a batch grown to kBatchBytes
      // cuts its gathering short.
      wake = before == 0 || (before < kBatchBytes && before + line_size >= kBatchBytes);
      ++appended_;
    }
  }
  if (dropped > 0) {
    if (first_drop) {
      Log(LogLevel::kError,
          "request log: the disk does not keep up ({} bytes waiting): dropping lines until it "
          "does (counted in edge_access_log_dropped_lines_total)",
          max_pending_bytes_);
    }
    if (on_dropped_) on_dropped_(1);
    return;
  }
  // The writer sleeps untimed only when nothing is pending, so the first
  // line of a batch wakes it; it then gathers for kGatherMs on its own.
  if (wake) wake_.notify_one();
}

void RequestLog::Run() {
  std::string batch;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !pending_.empty(); });
    if (pending_.empty() && stop_) return;
    // Lines are here: let more gather before writing (a wake-up and a write
    // per request would cost a busy node two context switches per request),
    // unless the batch is big, a Flush() waits or the node stops.
    wake_.wait_for(lock, std::chrono::milliseconds(kGatherMs), [&] {
      return stop_ || flush_wanted_ > done_ || pending_.size() >= kBatchBytes;
    });
    batch.clear();
    batch.swap(pending_);
    uint64_t lines = appended_;
    bool was_dropping = dropping_;
    uint64_t dropped = dropped_;
    dropping_ = false;
    lock.unlock();
    if (was_dropping) {
      Log(LogLevel::kWarn, "request log: writing again ({} lines dropped so far)", dropped);
    }
    WriteBatch(batch);
    lock.lock();
    done_ = lines;
    written_.notify_all();
  }
}

void RequestLog::WriteBatch(const std::string& batch) {
  bool ok = std::fwrite(batch.data(), 1, batch.size(), file_) == batch.size();
  ok = std::fflush(file_) == 0 && ok;
  if (ok) {
    write_failed_ = false;
    return;
  }
  int error = errno;
  std::clearerr(file_);  // so a later batch can succeed (a disk freed up)
  if (!write_failed_) {
    // A full disk must not take serving down: lines are lost, said once per outage.
    write_failed_ = true;
    Log(LogLevel::kError, "request log: write failed: {}", std::strerror(error));
  }
}

void RequestLog::Flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  uint64_t target = appended_;
  if (done_ >= target) return;
  flush_wanted_ = std::max(flush_wanted_, target);
  wake_.notify_one();
  written_.wait(lock, [&] { return done_ >= target; });
}

uint64_t RequestLog::dropped_lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace edge::gateway
