// The PoP side of the sync API (see sync_server.h): a thread of its own
// that tails an origin's (or a relay's) /sync/log with the blocking HTTP
// client, checks every entry and hands it to the replica.
//
// Every line from the network is hostile. An entry is applied only when its
// signature verifies against the pinned key, its seq is the next one
// (cursor + 1; entries at or below the cursor are skipped: applying twice
// changes nothing), and the blob it names, fetched from /sync/blobs, has the
// named SHA-256. A line that fails any of this is refused: counted, logged
// with the reason, and the connection is dropped, so nothing after it from
// that connection is applied; the client reconnects from its cursor after a
// jittered exponential backoff. A 410 (the cursor is below the origin's
// compaction point) makes it stream /sync/snapshot to a file under
// `snapshot_dir`, checking every line as it arrives (snapshot.h), and hand
// the checked file to the replica (ResetFn). A busy upstream (503) is
// retried after its Retry-After. An unreachable origin is retried forever;
// the replica keeps serving what it has meanwhile.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/http_client/http_client.h"
#include "base/status.h"
#include "edge-sync/entry.h"
#include "edge-sync/epoch.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/snapshot.h"

namespace edge::sync {

struct SyncClientOptions {
  std::string from_url;  // the origin's (or relay's) admin URL: http[s]://host:port[/base]
  std::string token;     // its admin token ("" sends no Authorization)
  std::string pop_id;    // sent as X-Edge-Pop-Id, for the origin's fleet view
  VerifyKey key;         // the origin's public key, pinned
  uint64_t initial_backoff_ms = 200, max_backoff_ms = 10000;
  int connect_timeout_ms = 5000;
  // The longest silence accepted on the log stream (the server sends a
  // heartbeat every 5 s) and on any other wait for the origin.
  int io_timeout_ms = 20000;
  // The largest blob accepted (a bundle, a large KV value).
  size_t max_blob_bytes = size_t{256} << 20;
  // The replica's epoch ("" = none yet), and how to store a new one (called
  // on the client's thread). A heartbeat or snapshot of another epoch than
  // the replica's means the origin's log is another history (restored or
  // replaced): sequence numbers cannot be compared, so the client takes a
  // snapshot (even one whose head is behind its cursor) and then stores the
  // new epoch. The first epoch heard is adopted. Unset: not checked.
  std::function<std::string()> epoch = nullptr;
  std::function<Status(const std::string& epoch)> set_epoch = nullptr;
  // Called before a snapshot of another epoch is handed to ResetFn: what
  // the replica knows of the old history's numbers is void.
  std::function<void()> on_other_epoch = nullptr;
  // Where a snapshot is spooled (snapshot.ndjson); required to take one.
  std::string snapshot_dir;
  // When set and true at a (re)connection, a snapshot is taken before
  // tailing: the replica was interrupted while applying one.
  std::function<bool()> snapshot_required = nullptr;
  // The longest wait a 503's Retry-After may impose.
  uint64_t max_retry_after_ms = 60000;
};

class SyncClient {
 public:
  // Called on the client's thread, in seq order. `blob` is set when the
  // entry names one (fetched from `from_url`/sync/blobs and checked against
  // its hash before the call). Return a non-OK Status to stop applying (the
  // client logs it, backs off and retries from the last applied cursor).
  using ApplyFn = std::function<Status(const SignedEntry& line, const Entry& entry,
                                       const std::optional<std::string>& blob)>;
  // A blob from the upstream by its SHA-256, its bytes checked
  // (kInvalidInput when they do not match, kIo when it cannot be fetched).
  using FetchBlobFn = std::function<StatusOr<std::string>(const std::string& sha256)>;
  // A snapshot, spooled to `file.path` and checked whole (every entry's
  // signature and the signed manifest); replaces the replica's state
  // (snapshot_apply.h), fetching blobs with `fetch_blob`. Afterwards
  // `cursor` must return `file.info.head`.
  using ResetFn = std::function<Status(const SnapshotFile& file, const FetchBlobFn& fetch_blob)>;

  // `cursor` returns the seq of the last entry the replica applied (0:
  // none); it is read on the client's thread at each (re)connection.
  SyncClient(SyncClientOptions options, std::function<uint64_t()> cursor, ApplyFn apply,
             ResetFn reset);
  ~SyncClient();  // Stop()s
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Starts the thread (once; Start after Stop starts a new run).
  void Start();
  // Interrupts whatever the thread blocks in (a connect, a read, a
  // backoff; not an ApplyFn or ResetFn in progress) and joins it.
  void Stop();

  struct Stats {
    uint64_t applied = 0;          // entries applied
    uint64_t refused = 0;          // lines refused (signature, hash, order, malformed)
    uint64_t reconnects = 0;       // connection attempts after the first (failed ones too)
    uint64_t snapshots = 0;        // snapshots applied
    uint64_t last_contact_ms = 0;  // wall clock ms of the last line from the origin (0: never)
    uint64_t origin_head = 0;      // the origin's head as last heard (signed states, entries)
    // Heartbeats and 410 answers ignored: without the origin's signed state,
    // a bad signature, an older state than one seen, or a 410 the signed
    // state does not back.
    uint64_t unverified = 0;
    bool connected = false;        // tailing now
    std::string last_error;        // why the last connection or snapshot ended ("" if none)
  };
  Stats stats() const;  // any thread
  // The newest log state signed by the origin that this client verified
  // (nullopt: none yet), and its JSON as it arrived (what a relay passes on
  // to the readers below it; "" when none). Any thread.
  std::optional<LogState> LatestState() const;
  std::string LatestStateJson() const;
  // Both, read together.
  std::pair<std::optional<LogState>, std::string> Latest() const;

 private:
  enum class LineResult { kContinue, kRefused, kFailed, kStop };

  void Run(std::shared_ptr<base::CancelToken> cancel);
  // One connection: tails until it fails, something is refused or Stop.
  Status TailOnce(const base::HttpTarget& target, bool* made_progress, bool* need_snapshot);
  LineResult OnLine(const base::HttpTarget& target, std::string_view line, uint64_t* cursor,
                    bool* made_progress, Status* why);
  Status TakeSnapshot(const base::HttpTarget& target);
  // A verified state from a heartbeat or a 410: kept if not older than the
  // newest one (`*accepted`), its epoch compared with the replica's
  // (another one sets new_epoch_). kFailed (with `*why`) when a snapshot is
  // needed or the epoch could not be stored.
  LineResult OnState(const LogState& state, std::string_view json, Status* why, bool* accepted);
  // Counts and logs a heartbeat or 410 that is ignored: at warn when its
  // signature failed (`forged`), else at debug.
  void Unverified(std::string_view what, std::string_view why, bool forged = false);
  // The blob `sha256`, fetched and checked; kInvalidInput when its bytes
  // do not match (a refusal), kIo when it could not be fetched.
  StatusOr<std::string> FetchBlob(const base::HttpTarget& target, const std::string& sha256);
  void Refused(uint64_t seq, const std::string& reason);
  void Backoff(uint64_t* delay_ms);
  // A 503's Retry-After (seconds), capped; 0 when absent or unreadable.
  uint64_t RetryAfterMs(const base::HttpResponse& refusal) const;
  bool stopping() const;

  SyncClientOptions options_;
  std::function<uint64_t()> cursor_;
  ApplyFn apply_;
  ResetFn reset_;

  std::thread thread_;
  std::shared_ptr<base::CancelToken> cancel_;  // of the current run
  mutable std::mutex mutex_;             // guards stats_, stopping_, cancel_
  std::condition_variable wake_;         // backoff waits end early on Stop
  bool stopping_ = false;
  Stats stats_;
  std::optional<LogState> state_;  // guarded by mutex_
  std::string state_json_;         // guarded by mutex_
  // The next backoff waits at least this long (a 503's Retry-After).
  uint64_t retry_after_ms_ = 0;
  std::mt19937_64 random_;
  // The last snapshot (client thread only): a second one right after is
  // taken after a backoff, not in a tight loop.
  bool last_snapshot_ok_ = false;
  std::chrono::steady_clock::time_point last_snapshot_at_;
  // The upstream's epoch when it is not the replica's (client thread only):
  // the next snapshot is taken for it.
  std::string new_epoch_;
  // This connection showed a signed state of the replica's epoch (client
  // thread only): entries are applied only after that, when epochs are
  // checked, so a relay still serving an older history is not believed.
  bool connection_verified_ = false;
};

}  // namespace edge::sync
