// KV writes made by workers at a PoP go to the fleet's single writer: this
// forwards them, in the order they were made, to the node's upstream (the
// origin, or a relay that forwards them on), retrying until acknowledged.
// With a KvForwardQueue each write is stored durably before Forward returns
// (so before the worker's put resolves) and removed only once the upstream
// acknowledged it (2xx) or refused it (4xx: logged, counted, removed); the
// queue is resent in order after a restart.
// The write is applied locally too, so the PoP reads its own writes;
// while a key has writes in flight, and until the log has passed the entry
// the origin made of the last one, older entries for that key are not
// applied over it (ShouldApply).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/http_client/http_client.h"
#include "bindings/kv/kv_store.h"
#include "edge-sync/kv_forward_queue.h"

namespace edge::sync {

class KvForwarder {
 public:
  // `queue` null: the writes wait in memory only (tests of relaying).
  explicit KvForwarder(base::HttpTarget upstream, std::unique_ptr<KvForwardQueue> queue = nullptr);
  ~KvForwarder();  // Stop()s
  void Start();
  void Stop();

  // Reads the durable queue back (call before Start and before the replica
  // applies any entry): its writes are sent first, in order, and shadow
  // older log entries (ShouldApply).
  Status Restore();

  // A worker's write, about to be applied locally (any thread; KvStore's
  // write hook). Returns once it is stored in the durable queue; an error
  // (the queue is full, LMDB failed) means it was not queued, and the local
  // write must fail with it.
  Status Forward(const bindings::KvWrite& write);
  // A request from a PoP below this relay, passed upstream as is; `done`
  // gets the upstream's status and body (or 502 and why), on this
  // forwarder's thread.
  // `write_id` is the writer's X-Edge-Write-Id ("" = none), passed on.
  void Relay(std::string method, std::string path, std::string body, std::string metadata,
             std::string write_id, std::function<void(int status, std::string body)> done);

  // Whether the log entry `seq` for this key may be applied: not while the
  // PoP's own writes to it are unacknowledged or newer.
  bool ShouldApply(const std::string& ns, const std::string& key, uint64_t seq);
  // The log starts another epoch: the seqs of acknowledged writes count in
  // the old one and shadow nothing any more (writes in flight still do).
  void ForgetAcknowledged();

  uint64_t forwarded() const;
  uint64_t pending() const;
  // Writes the upstream refused (4xx, or that cannot be sent): removed.
  uint64_t refused() const;
  // Writes that could not be queued (queue full or LMDB error): refused.
  uint64_t not_queued() const;
  // The last write the upstream refused: `PUT "key" in "ns": 400 ...`
  // ("" = none since start), for the operator (edge status).
  std::string last_refused() const;

 private:
  struct Job {
    std::string method, path, body, metadata;
    // X-Edge-Write-Id: "<writer>:<id>", the write's id at the origin, which
    // applies each id once ("" = none).
    std::string write_id;
    std::string pending_key;  // "" for relayed requests
    uint64_t queue_id = 0;    // its record in the durable queue (0: none)
    std::function<void(int, std::string)> done;
  };
  void Run();
  static std::string KeyOf(const std::string& ns, const std::string& key);

  static Job JobOf(const bindings::KvWrite& write);

  base::HttpTarget upstream_;
  std::unique_ptr<KvForwardQueue> queue_;  // guarded by mutex_
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  struct PendingKey {
    uint64_t in_flight = 0;
    uint64_t acknowledged_seq = 0;  // the origin's seq for the last acknowledged write
  };
  std::map<std::string, PendingKey> keys_;
  uint64_t forwarded_ = 0;
  uint64_t refused_ = 0;
  uint64_t not_queued_ = 0;
  std::string last_refused_;
};

// The header that carries a forwarded write's id, and its value for the
// write `id` of the queue `writer`.
inline constexpr const char* kWriteIdHeader = "X-Edge-Write-Id";
std::string WriteId(const std::string& writer, uint64_t id);

}  // namespace edge::sync
