#include "edge-sync/snapshot_relay.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/json_escape.h"
#include "base/log.h"
#include "edge-sync/entry.h"

namespace edge::sync {
namespace {

using gateway::ResponseWriter;

void SendError(ResponseWriter& writer, int status, std::string_view message,
               gateway::HeaderList headers = {}) {
  std::string body = fmt::format("{{\"error\":{}}}\n", base::JsonEscape(message));
  headers.emplace_back("Content-Type", "application/json");
  headers.emplace_back("Cache-Control", "no-store");
  writer.Start(status, "", headers, body.size());
  writer.Write(body);
  writer.Finish();
}

}  // namespace

// One relayed snapshot. The writer is touched on the loop only, and let go
// there (the last task of a job resets it).
struct SnapshotRelay::Job {
  std::shared_ptr<ResponseWriter> writer;
  std::shared_ptr<base::CancelToken> cancel = std::make_shared<base::CancelToken>();
  std::mutex mutex;
  std::condition_variable drained;
  bool can_write = true;  // the last chunk drained; guarded by mutex
  bool aborted = false;   // the reader below went away; guarded by mutex
};

SnapshotRelay::SnapshotRelay(base::HttpTarget upstream, size_t max_streams, uint64_t retry_after_s,
                             PostFn post)
    : upstream_(std::move(upstream)),
      max_streams_(std::max<size_t>(max_streams, 1)),
      retry_after_s_(retry_after_s),
      post_(std::move(post)) {}

SnapshotRelay::~SnapshotRelay() { Stop(); }

size_t SnapshotRelay::active() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + running_.size();
}

void SnapshotRelay::Serve(std::shared_ptr<ResponseWriter> writer) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) {
    lock.unlock();
    return SendError(*writer, 503, "this node is shutting down");
  }
  size_t active = queue_.size() + running_.size();
  if (active >= max_streams_) {
    lock.unlock();
    Log(LogLevel::kInfo, "sync: refused a snapshot: {} are being relayed (the most at once)",
        active);
    return SendError(
        *writer, 503,
        fmt::format("this relay passes on {} snapshots at once: retry later", max_streams_),
        {{"Retry-After", std::to_string(retry_after_s_)}});
  }
  auto job = std::make_shared<Job>();
  job->writer = writer;
  std::weak_ptr<Job> weak = job;
  writer->OnAbort([weak] {
    auto job = weak.lock();
    if (!job) return;
    {
      std::lock_guard<std::mutex> job_lock(job->mutex);
      job->aborted = true;
    }
    job->cancel->Cancel();
    job->drained.notify_all();
  });
  queue_.push_back(std::move(job));
  if (idle_ == 0 && threads_.size() < max_streams_) {
    threads_.emplace_back([this] { Run(); });
  }
  wake_.notify_one();
}

void SnapshotRelay::Stop() {
  std::vector<std::thread> threads;
  std::deque<std::shared_ptr<Job>> queued;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (const std::shared_ptr<Job>& job : running_) {
      job->cancel->Cancel();
      {
        std::lock_guard<std::mutex> job_lock(job->mutex);
        job->aborted = true;
      }
      job->drained.notify_all();
    }
    threads.swap(threads_);
    queued.swap(queue_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
  // Answered (and let go) on the loop.
  for (std::shared_ptr<Job>& job : queued) {
    post_([job] {
      if (!job->writer->Aborted()) SendError(*job->writer, 503, "this node is shutting down");
      job->writer.reset();
    });
  }
}

void SnapshotRelay::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    running_.push_back(job);
    lock.unlock();
    Relay(job);
    lock.lock();
    running_.erase(std::find(running_.begin(), running_.end(), job));
  }
}

void SnapshotRelay::Relay(const std::shared_ptr<Job>& job) {
  base::HttpTarget target = upstream_;
  target.cancel = job->cancel;
  bool started = false;
  std::string chunk;
  // Hands `chunk` to the loop once the last one drained; false when the
  // reader below went away.
  auto flush = [&]() {
    std::unique_lock<std::mutex> lock(job->mutex);
    job->drained.wait(lock, [&] { return job->can_write || job->aborted; });
    if (job->aborted) return false;
    job->can_write = false;
    lock.unlock();
    bool start = !started;
    started = true;
    post_([job, start, bytes = std::move(chunk)] {
      ResponseWriter& writer = *job->writer;
      if (writer.Aborted()) return;
      if (start) {
        writer.Start(200, "",
                     {{"Content-Type", "application/x-ndjson"}, {"Cache-Control", "no-store"}},
                     std::nullopt);
      }
      if (!bytes.empty()) writer.Write(bytes);
      std::weak_ptr<Job> weak = job;
      writer.OnDrain([weak] {
        auto job = weak.lock();
        if (!job) return;
        {
          std::lock_guard<std::mutex> lock(job->mutex);
          job->can_write = true;
        }
        job->drained.notify_all();
      });
    });
    chunk.clear();
    return true;
  };
  base::HttpResponse refusal;
  base::StreamOptions options;
  options.max_line_bytes = kMaxLineBytes;
  options.refusal = &refusal;
  Status status = base::Stream(
      target, "/sync/snapshot",
      [&](std::string_view line) {
        chunk.append(line);
        chunk.push_back('\n');
        return chunk.size() < kChunkBytes || flush();
      },
      options);
  bool aborted;
  {
    std::lock_guard<std::mutex> lock(job->mutex);
    aborted = job->aborted;
  }
  // The reader checks the snapshot's signed end line: a stream that breaks
  // is cut short below too, never finished as if whole.
  bool whole = status.ok() && !aborted && (chunk.empty() || flush());
  if (!status.ok() && !aborted) {
    Log(LogLevel::kInfo, "sync: relaying a snapshot from {}: {}", upstream_.url, status.message());
  }
  int refused = refusal.status;
  std::string retry_after = refusal.Header("Retry-After");
  std::string message = status.message();
  post_([job, started, whole, refused, retry_after, message] {
    ResponseWriter& writer = *job->writer;
    if (!writer.Aborted()) {
      if (whole) {
        if (!started) {
          writer.Start(200, "", {{"Content-Type", "application/x-ndjson"}}, std::nullopt);
        }
        writer.Finish();
      } else if (started) {
        writer.Abort();
      } else if (refused == 503) {
        SendError(writer, 503, message, {{"Retry-After", retry_after.empty() ? "5" : retry_after}});
      } else if (refused >= 400 && refused < 500) {
        SendError(writer, refused, message);
      } else {
        SendError(writer, 502, message);
      }
    }
    job->writer.reset();
  });
}

}  // namespace edge::sync
