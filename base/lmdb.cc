#include "base/lmdb.h"

#include <fmt/core.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>

namespace edge::base {
namespace {
namespace fs = std::filesystem;

// The folders of the environments open in this process.
std::mutex& OpenMutex() {
  static auto* mutex = new std::mutex;  // never destroyed: stores may close at exit
  return *mutex;
}
std::set<std::string>& OpenPaths() {
  static auto* paths = new std::set<std::string>;
  return *paths;
}

}  // namespace

Status LmdbError(const LmdbNames& names, std::string_view what, int rc) {
  if (rc == MDB_MAP_FULL) {
    return Status(ErrorCode::kIo, fmt::format("{}{} failed: the {} is full (LMDB map size)",
                                              names.prefix, what, names.noun));
  }
  return Status(ErrorCode::kIo,
                fmt::format("{}{} failed: {}", names.prefix, what, mdb_strerror(rc)));
}

Status CheckStoreFormat(MDB_txn* txn, MDB_dbi meta, std::string_view format, std::string_view what,
                        std::string_view path, const LmdbNames& names) {
  MDB_val key = Val("format"), value;
  int rc = mdb_get(txn, meta, &key, &value);
  if (rc == MDB_NOTFOUND) {
    MDB_val wanted = Val(format);
    rc = mdb_put(txn, meta, &key, &wanted, 0);
  } else if (rc == 0 && View(value) != format) {
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: {} format {} is not supported by this edge",
                                                        path, what, View(value)));
  }
  if (rc != 0) return LmdbError(names, "open", rc);
  return Status::Ok();
}

void PutBe32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

void PutBe64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

std::string Be64(uint64_t value) {
  std::string out;
  PutBe64(out, value);
  return out;
}

uint64_t GetBe(const char* data, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

std::optional<uint64_t> GetBe64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  return GetBe(bytes.data(), 8);
}

StatusOr<std::string> MakeStoreDir(const std::string& dir, bool private_dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status(ErrorCode::kIo, fmt::format("cannot create {}: {}", dir, ec.message()));
  if (private_dir) {
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) return Status(ErrorCode::kIo, fmt::format("{}: {}", dir, ec.message()));
  }
  std::string path = fs::canonical(dir, ec).string();
  if (ec) return Status(ErrorCode::kIo, fmt::format("{}: {}", dir, ec.message()));
  return path;
}

StatusOr<std::unique_ptr<LmdbEnv>> LmdbEnv::Open(const std::string& path,
                                                 const LmdbOptions& options) {
  const LmdbNames& names = options.names;
  std::lock_guard guard(OpenMutex());
  if (OpenPaths().contains(path)) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("{} in {} is already open in this process", names.title, path));
  }
  MDB_env* env = nullptr;
  int rc = 0;
  auto fail = [&](int code) {
    mdb_env_close(env);
    return Status(ErrorCode::kIo,
                  fmt::format("cannot open {} in {}: {}", names.title, path, mdb_strerror(code)));
  };
  size_t map_size = options.map_size;
  for (;;) {
    if ((rc = mdb_env_create(&env)) != 0) return LmdbError(names, "open", rc);
    if ((rc = mdb_env_set_mapsize(env, map_size)) != 0) return fail(rc);
    if ((rc = mdb_env_set_maxdbs(env, options.max_dbs)) != 0) return fail(rc);
    if (options.max_readers != 0 && (rc = mdb_env_set_maxreaders(env, options.max_readers)) != 0) {
      return fail(rc);
    }
    rc = mdb_env_open(env, path.c_str(), MDB_NOTLS, options.file_mode);
    if (rc == 0) break;
    if (rc != ENOMEM || options.shrink_on_enomem == 0 || map_size <= (size_t{1} << 30)) {
      return fail(rc);
    }
    mdb_env_close(env);
    map_size /= options.shrink_on_enomem;
  }
  // Readers left behind by a process that was killed hold back page reuse.
  int dead = 0;
  mdb_reader_check(env, &dead);

  // The databases and the store's own records, in one transaction that is
  // over (committed or aborted) before the environment may close.
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env, nullptr, 0, &txn)) != 0) return fail(rc);
  for (const auto& [name, dbi] : options.dbs) {
    if ((rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi)) != 0) {
      mdb_txn_abort(txn);
      return fail(rc);
    }
  }
  if (options.init) {
    Status status = options.init(txn);
    if (!status.ok()) {
      mdb_txn_abort(txn);
      mdb_env_close(env);
      return status;
    }
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return fail(rc);
  OpenPaths().insert(path);
  return std::unique_ptr<LmdbEnv>(new LmdbEnv(env, path, names));
}

LmdbEnv::~LmdbEnv() {
  mdb_env_close(env_);
  std::lock_guard guard(OpenMutex());
  OpenPaths().erase(path_);
}

LmdbTxn::~LmdbTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

Status LmdbTxn::Begin(const LmdbEnv& env, bool read_only, std::string_view what) {
  env_ = &env;
  int rc = mdb_txn_begin(env.get(), nullptr, read_only ? MDB_RDONLY : 0, &txn_);
  if (rc != 0) {
    txn_ = nullptr;
    return env.Error(what, rc);
  }
  return Status::Ok();
}

Status LmdbTxn::Commit(std::string_view what) {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // committed, or freed by the failed commit
  return rc == 0 ? Status::Ok() : env_->Error(what, rc);
}

}  // namespace edge::base
