// The PoP's durable queue of workers' KV writes waiting for the origin, in
// LMDB (through base/lmdb.h) in `<data_dir>/kv-forward`. A write is appended
// (and fsynced) before the worker's put or delete resolves, in the order the
// PoP applied them; it is removed only when the origin acknowledges or
// refuses it; after a restart the queue is read back in the same order.
// Each write's id is its place in this PoP's sequence of writes: with the
// queue's writer name (random, made when the queue is created) it is the
// write's id at the origin, which applies a write id once (idempotence). Ids
// never go back, not even when the queue empties or the PoP restarts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/lmdb.h"
#include "base/status.h"
#include "bindings/kv/kv_store.h"

namespace edge::sync {

struct KvForwardLimits {
  uint64_t max_writes = 100000;              // writes waiting at once
  uint64_t max_bytes = uint64_t{256} << 20;  // their stored bytes (256 MiB)
};

class KvForwardQueue {
 public:
  struct Record {
    uint64_t id = 0;  // increasing: the order the writes were applied; never reused
    bindings::KvWrite write;
  };

  // Opens (creating if needed) `<data_dir>/kv-forward`.
  static StatusOr<std::unique_ptr<KvForwardQueue>> Open(const std::string& data_dir,
                                                        KvForwardLimits limits = {});

  // Stores `write` after every write queued before it; returns its id once
  // the transaction is committed. kRangeError, naming the limit, when the
  // queue is full: nothing is stored.
  StatusOr<uint64_t> Append(const bindings::KvWrite& write);
  // Removes the write `id` (absent is fine).
  Status Remove(uint64_t id);
  // Every queued write, oldest first.
  StatusOr<std::vector<Record>> ReadAll() const;

  uint64_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }
  // This queue's name among the fleet's writers: 32 lower-case hex digits,
  // random, made when the queue was created and kept with it.
  const std::string& writer() const { return writer_; }
  // The id the next Append takes.
  uint64_t next_id() const { return next_id_; }

 private:
  KvForwardQueue(std::unique_ptr<base::LmdbEnv> env, MDB_dbi dbi, MDB_dbi meta,
                 KvForwardLimits limits)
      : env_(std::move(env)), dbi_(dbi), meta_(meta), limits_(limits) {}

  std::unique_ptr<base::LmdbEnv> env_;
  MDB_dbi dbi_;
  MDB_dbi meta_;  // "writer" and "next_id" (8 bytes big-endian)
  std::string writer_;
  KvForwardLimits limits_;
  uint64_t next_id_ = 1;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

// The record's bytes, and back (nullopt when damaged). Exposed for tests.
std::string EncodeForwardRecord(const bindings::KvWrite& write);
std::optional<bindings::KvWrite> DecodeForwardRecord(std::string_view bytes);

}  // namespace edge::sync
