// The LMDB layer every store uses (the deploy store, Workers KV, the sync
// log): opening an environment once per folder per process, with its named
// databases; errors as Status; transactions and cursors that clean up after
// themselves; MDB_val views; big-endian integers for keys that sort
// numerically.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace edge::base {

// How a store names itself in its errors.
struct LmdbNames {
  std::string_view title;   // "the deploy store": "cannot open the deploy store in <path>: ..."
  std::string_view prefix;  // "deploy store: ": "deploy store: read failed: ..."
  std::string_view noun;    // "store": MDB_MAP_FULL says "the store is full (LMDB map size)"
};

// An LMDB failure (`rc`) while doing `what`, as kIo.
Status LmdbError(const LmdbNames& names, std::string_view what, int rc);

inline MDB_val Val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}
inline std::string_view View(const MDB_val& value) {
  return std::string_view(static_cast<const char*>(value.mv_data), value.mv_size);
}

// A store's "format" record in its `meta` database, inside the open's
// transaction: written as `format` in a new store, checked in an existing
// one. Another format is kInvalidInput ("<path>: <what> format 2 is not
// supported by this edge"); an LMDB failure is `names`' "open" error.
Status CheckStoreFormat(MDB_txn* txn, MDB_dbi meta, std::string_view format, std::string_view what,
                        std::string_view path, const LmdbNames& names);

// Big-endian integers: in keys, byte order is then numeric order.
void PutBe32(std::string& out, uint32_t value);
void PutBe64(std::string& out, uint64_t value);
std::string Be64(uint64_t value);
// The `bytes`-byte big-endian integer at `data`.
uint64_t GetBe(const char* data, int bytes);
// nullopt unless `bytes` is 8 bytes long.
std::optional<uint64_t> GetBe64(std::string_view bytes);

// Creates the folder of a store (and its parents) if needed, `private_dir`:
// mode 0700 (it holds secrets); returns its canonical path.
StatusOr<std::string> MakeStoreDir(const std::string& dir, bool private_dir);

struct LmdbOptions {
  LmdbNames names;
  // Address space reserved for the map; the file grows only as data is
  // written (the map is sparse).
  size_t map_size = size_t{1} << 30;
  // Where address space is limited (ulimit -v, no overcommit) mdb_env_open
  // fails with ENOMEM: then the map is divided by this and the open tried
  // again, while the map stays above 1 GiB. 0: fail at once.
  unsigned shrink_on_enomem = 0;
  unsigned max_dbs = 8;
  unsigned max_readers = 0;  // 0: LMDB's default (126)
  mdb_mode_t file_mode = 0600;
  // The named databases, opened (created if needed) in one write transaction.
  std::vector<std::pair<const char*, MDB_dbi*>> dbs;
  // Runs in that same transaction before it commits (a format check, the
  // store's own records). An error aborts the open and is returned as is.
  std::function<Status(MDB_txn* txn)> init;
};

// One LMDB environment. LMDB forbids opening an environment twice in a
// process (closing one copy would drop the other's locks): while one is
// open, another Open of the same folder is refused.
class LmdbEnv {
 public:
  // Opens the environment in `path` (an existing folder, canonical: see
  // MakeStoreDir) with MDB_NOTLS (read transactions are not tied to a
  // thread) and durable commits (no MDB_NOSYNC: a commit fsyncs). Clears
  // the reader slots of dead processes.
  static StatusOr<std::unique_ptr<LmdbEnv>> Open(const std::string& path,
                                                 const LmdbOptions& options);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  MDB_env* get() const { return env_; }
  const std::string& path() const { return path_; }
  const LmdbNames& names() const { return names_; }
  Status Error(std::string_view what, int rc) const { return LmdbError(names_, what, rc); }

 private:
  LmdbEnv(MDB_env* env, std::string path, LmdbNames names)
      : env_(env), path_(std::move(path)), names_(names) {}

  MDB_env* env_;
  std::string path_;
  LmdbNames names_;
};

// A transaction that aborts unless committed (also when an exception
// passes).
class LmdbTxn {
 public:
  LmdbTxn() = default;
  ~LmdbTxn();
  LmdbTxn(const LmdbTxn&) = delete;
  LmdbTxn& operator=(const LmdbTxn&) = delete;

  // Errors are the environment's, naming `what`.
  Status Begin(const LmdbEnv& env, bool read_only, std::string_view what);
  // Committed, or freed by the failed commit: either way the transaction
  // is over.
  Status Commit(std::string_view what);
  MDB_txn* get() const { return txn_; }

 private:
  const LmdbEnv* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
};

// A cursor closed when it goes out of scope (before its transaction ends).
class LmdbCursor {
 public:
  LmdbCursor(MDB_txn* txn, MDB_dbi dbi) { rc_ = mdb_cursor_open(txn, dbi, &cursor_); }
  ~LmdbCursor() {
    if (rc_ == 0) mdb_cursor_close(cursor_);
  }
  LmdbCursor(const LmdbCursor&) = delete;
  LmdbCursor& operator=(const LmdbCursor&) = delete;
  // mdb_cursor_open's result: check it before using get().
  int rc() const { return rc_; }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
  int rc_;
};

}  // namespace edge::base
