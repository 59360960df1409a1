// How a relay answers GET /sync/snapshot: only the origin signs snapshots,
// so the relay passes the request on to its upstream and streams the
// answer down as it comes, in bounded memory. A pool of at most
// `max_streams` threads reads upstream snapshots with the blocking HTTP
// client, one each; a thread hands its lines to the loop in chunks and
// reads on only once the connection below drained (ResponseWriter::OnDrain),
// so a stream costs about two chunks and the longest line, however large
// the snapshot and however slow the reader. A request beyond `max_streams`
// gets 503 with Retry-After; threads are kept for the next stream and
// joined by Stop, never one per request.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/http_client/http_client.h"
#include "gateway/http/http_types.h"

namespace edge::sync {

class SnapshotRelay {
 public:
  // Runs a task on the loop thread of the writers (Node::PostToControl).
  using PostFn = std::function<void(std::function<void()>)>;

  SnapshotRelay(base::HttpTarget upstream, size_t max_streams, uint64_t retry_after_s, PostFn post);
  ~SnapshotRelay();  // Stop()s
  SnapshotRelay(const SnapshotRelay&) = delete;
  SnapshotRelay& operator=(const SnapshotRelay&) = delete;

  // Loop thread: answers `writer` with the upstream's snapshot (or its
  // refusal, or 502 when it cannot be reached), or with 503 at once when
  // max_streams are in progress.
  void Serve(std::shared_ptr<gateway::ResponseWriter> writer);
  // Any thread (the loop's too: it waits for nothing the loop must run):
  // ends the streams in progress (their responses are cut short) and joins
  // the threads. Later Serves answer 503.
  void Stop();

  // Streams in progress or waiting for a thread.
  size_t active() const;

  // Lines are handed to the loop in chunks of about this size.
  static constexpr size_t kChunkBytes = 64u << 10;

 private:
  struct Job;
  void Run();
  void Relay(const std::shared_ptr<Job>& job);

  base::HttpTarget upstream_;
  size_t max_streams_;
  uint64_t retry_after_s_;
  PostFn post_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;     // guarded by mutex_
  std::vector<std::shared_ptr<Job>> running_;  // guarded by mutex_
  std::vector<std::thread> threads_;           // guarded by mutex_
  size_t idle_ = 0;                            // threads waiting for a job
  bool stopping_ = false;
};

}  // namespace edge::sync
