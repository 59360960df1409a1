// The sync API: how nodes below (PoPs, relays) read a node's SyncLog over
// HTTP. Mounted by a node's admin listener, which checks the bearer token
// first (SyncServer does no authentication):
//
//   GET /sync/log?after=N    200 application/x-ndjson, streamed until the
//                            reader goes: every entry with seq > N as its
//                            signed line (SignedEntry::Line), in order, then
//                            each new one as it is appended, and
//                            {"type":"heartbeat","head":H} first and then
//                            whenever nothing was sent for a heartbeat
//                            period. N below the log's compaction point:
//                            410 {"error":...,"compacted_through":C,"head":H}
//                            (the reader must take a snapshot).
//   GET /sync/blobs/<sha256> the blob (application/octet-stream) or 404
//   GET /sync/snapshot       200 application/x-ndjson (snapshot.h):
//                            {"type":"snapshot","head":H,"compacted_through":C},
//                            every surviving entry line up to H, then
//                            {"type":"end","count":N,"sig":S}. A snapshot cut
//                            short (no "end" line) must be thrown away. At
//                            most max_snapshot_streams at once; beyond:
//                            503 with Retry-After.
//
// Lines that are not entries are JSON objects with a "type" and without
// "seq"; readers skip the types they do not know. Responses are written in
// batches of entries, the next batch only once the connection drained (see
// ResponseWriter::OnDrain), so a slow reader costs the node a bounded
// buffer, never the whole log.
//
// Threading: construct, call and destroy on the loop thread of the
// HttpServer whose requests it answers (once Close has run, the destructor
// touches the loop no more and may run anywhere); readers() and Readers()
// may be called from any thread. The log may be appended to from any
// thread. The server never keeps the loop alive by itself: its streams do,
// while they last.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edge-sync/sync_log.h"
#include "gateway/http/http_types.h"

namespace edge::sync {

// One reader tailing /sync/log, for a fleet view.
struct ReaderInfo {
  std::string remote;               // the peer's address, "127.0.0.1:54321"
  std::string pop_id;               // its X-Edge-Pop-Id header ("" when it sent none)
  uint64_t cursor = 0;              // the highest seq sent to it (its `after` until something was)
  uint64_t connected_since_ms = 0;  // wall clock, ms since the epoch
  // When its connection last made progress (a write that did not have to
  // wait, or a wait that ended), wall clock ms.
  uint64_t last_contact_ms = 0;
};

struct SyncServerOptions {
  // A stream with nothing to send writes a heartbeat this often.
  uint64_t heartbeat_ms = 5000;
  // Entries read from the log and written per turn of the loop.
  size_t batch_entries = 256;
  // SyncLog has one OnAppend callback and the server takes it; this is
  // called from it too (on the appending thread, before the server is
  // woken), for whoever else needs to hear of appends.
  std::function<void(uint64_t head)> also_on_append = nullptr;
  // Signs a snapshot's manifest (SnapshotManifest) with the origin's key.
  // Only the origin can; a server without it does not serve snapshots (a
  // relay passes snapshot requests on to its upstream).
  std::function<std::string(std::string_view manifest)> sign_manifest = nullptr;
  // Signs the log's state (LogStateStatement in epoch.h) with the origin's
  // key: heartbeats and 410 answers then carry it ("state"), so readers can
  // tell them from forged ones. Only the origin can.
  std::function<std::string(std::string_view statement)> sign_state = nullptr;
  // A relay's heartbeats and 410s carry instead the newest state it
  // verified from its upstream (LogStateJson text; "" = none yet).
  std::function<std::string()> relayed_state = nullptr;
  // Snapshots served at once; a request beyond gets 503 with Retry-After
  // (seconds). Each costs about one batch of lines while it lasts.
  size_t max_snapshot_streams = 4;
  uint64_t snapshot_retry_after_s = 5;
  // A snapshot's batch stops once its lines reach this many bytes.
  size_t snapshot_batch_bytes = 256u << 10;
};

class SyncServer {
 public:
  // Takes the log's OnAppend callback (see SyncServerOptions::also_on_append).
  // `log` must outlive the server.
  SyncServer(uv_loop_t* loop, SyncLog& log, SyncServerOptions options = {});
  // Ends every stream (as Close does) and gives the log's callback back.
  ~SyncServer();
  SyncServer(const SyncServer&) = delete;
  SyncServer& operator=(const SyncServer&) = delete;

  // Answers `request` and returns true when its path is /sync/...; returns
  // false, without touching `writer`, for any other path.
  bool Handle(const gateway::HttpRequest& request, std::shared_ptr<gateway::ResponseWriter> writer);

  // Wakes the streams as an append would (any thread). For callers that
  // chain the log's callback themselves; appends already do this.
  void NotifyAppend();

  // Ends every stream in progress (their bodies end, so readers reconnect),
  // releases the server's loop handles and answers no more: later requests
  // get 503. Loop thread; idempotent. After it, nothing of the server is
  // left on the loop once the closing handles' callbacks have run.
  void Close();

  // Readers tailing /sync/log now (snapshots not counted). Any thread.
  size_t readers() const;
  std::vector<ReaderInfo> Readers() const;

 private:
  class Stream;
  class LogStream;
  class SnapshotStream;
  class BlobStream;
  struct Wakeup;

  void ServeLog(const gateway::HttpRequest& request, std::string_view query,
                std::shared_ptr<gateway::ResponseWriter> writer);
  void ServeSnapshot(std::shared_ptr<gateway::ResponseWriter> writer);
  void ServeBlob(std::string_view name, std::shared_ptr<gateway::ResponseWriter> writer);
  void Start(std::shared_ptr<Stream> stream);
  void Forget(Stream* stream);
  void OnWake();
  // The fleet view's copy of a LogStream's state.
  uint64_t AddReader(ReaderInfo info);
  void UpdateReader(uint64_t id, uint64_t cursor, bool contact);
  void RemoveReader(uint64_t id);

  uv_loop_t* loop_;
  SyncLog& log_;
  SyncServerOptions options_;
  std::shared_ptr<Wakeup> wakeup_;  // shared with the log's callback
  std::unordered_map<Stream*, std::shared_ptr<Stream>> streams_;
  bool closed_ = false;
  size_t snapshot_streams_ = 0;  // SnapshotStreams in progress

  mutable std::mutex readers_mutex_;
  std::map<uint64_t, ReaderInfo> readers_;  // by id, guarded by readers_mutex_
  uint64_t next_reader_id_ = 1;             // guarded by readers_mutex_
};

}  // namespace edge::sync
