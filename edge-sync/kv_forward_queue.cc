#include "edge-sync/kv_forward_queue.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include "base/ascii.h"
#include "base/openssl_error.h"

namespace edge::sync {
namespace {

using base::GetBe;
using base::GetBe64;
using base::PutBe64;
using base::Val;
using base::View;

constexpr base::LmdbNames kNames{"the KV forward queue", "KV forward queue: ", "queue"};
constexpr char kVersion = 1;

void PutField(std::string& out, std::string_view field) {
  PutBe64(out, field.size());
  out.append(field);
}

bool TakeField(std::string_view& in, std::string& out) {
  if (in.size() < 8) return false;
  uint64_t size = GetBe(in.data(), 8);
  in.remove_prefix(8);
  if (size > in.size()) return false;
  out.assign(in.substr(0, size));
  in.remove_prefix(size);
  return true;
}

}  // namespace

std::string EncodeForwardRecord(const bindings::KvWrite& write) {
  std::string out(1, kVersion);
  out.push_back(write.is_delete ? 'D' : 'P');
  PutBe64(out, write.expiration);
  PutField(out, write.ns);
  PutField(out, write.key);
  PutField(out, write.metadata);
  PutField(out, write.value);
  return out;
}

std::optional<bindings::KvWrite> DecodeForwardRecord(std::string_view in) {
  if (in.size() < 10 || in[0] != kVersion || (in[1] != 'D' && in[1] != 'P')) return std::nullopt;
  bindings::KvWrite write;
  write.is_delete = in[1] == 'D';
  write.expiration = GetBe(in.data() + 2, 8);
  in.remove_prefix(10);
  if (!TakeField(in, write.ns) || !TakeField(in, write.key) || !TakeField(in, write.metadata) ||
      !TakeField(in, write.value) || !in.empty()) {
    return std::nullopt;
  }
  return write;
}

StatusOr<std::unique_ptr<KvForwardQueue>> KvForwardQueue::Open(const std::string& data_dir,
                                                               KvForwardLimits limits) {
  auto dir = base::MakeStoreDir(data_dir + "/kv-forward", /*private_dir=*/true);
  if (!dir.ok()) return dir.status();
  MDB_dbi dbi = 0, meta = 0;
  base::LmdbOptions options;
  options.names = kNames;
  options.map_size = size_t{1} << 34;  // 16 GiB of address space; the cap is far below
  options.shrink_on_enomem = 4;
  options.max_dbs = 2;
  options.dbs = {{"writes", &dbi}, {"meta", &meta}};
  auto env = base::LmdbEnv::Open(*dir, options);
  if (!env.ok()) return env.status();
  std::unique_ptr<KvForwardQueue> queue(
      new KvForwardQueue(std::move(env).value(), dbi, meta, limits));
  // The writer's name, the counters and the next id, from what is stored.
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*queue->env_, false, "open"));
  MDB_val name_key = Val(std::string_view("writer")), name_value;
  int found = mdb_get(txn.get(), meta, &name_key, &name_value);
  if (found == 0) {
    queue->writer_ = std::string(View(name_value));
    if (queue->writer_.size() != 32 || !base::IsLowerHex(queue->writer_)) {
      return Status(ErrorCode::kInternal, "KV forward queue: a damaged writer name");
    }
  } else if (found == MDB_NOTFOUND) {
    unsigned char random[16];
    if (RAND_bytes(random, sizeof random) != 1) base::OpenSslFatal("RAND_bytes");
    queue->writer_ = base::HexEncode(std::string_view(reinterpret_cast<char*>(random), 16));
    MDB_val value = Val(queue->writer_);
    int rc = mdb_put(txn.get(), meta, &name_key, &value, 0);
    if (rc != 0) return queue->env_->Error("open", rc);
  } else {
    return queue->env_->Error("open", found);
  }
  MDB_val next_key = Val(std::string_view("next_id")), next_value;
  found = mdb_get(txn.get(), meta, &next_key, &next_value);
  if (found == 0) {
    std::optional<uint64_t> next = GetBe64(View(next_value));
    if (!next) return Status(ErrorCode::kInternal, "KV forward queue: a damaged next id");
    queue->next_id_ = std::max<uint64_t>(*next, 1);
  } else if (found != MDB_NOTFOUND) {
    return queue->env_->Error("open", found);
  }
  {
    // Closed before the commit (a write transaction's cursor).
    base::LmdbCursor cursor(txn.get(), dbi);
    if (cursor.rc() != 0) return queue->env_->Error("open", cursor.rc());
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::optional<uint64_t> id = GetBe64(View(k));
      if (!id) return Status(ErrorCode::kInternal, "KV forward queue: a damaged key");
      queue->next_id_ = std::max(queue->next_id_, *id + 1);
      ++queue->count_;
      queue->bytes_ += v.mv_size;
    }
    if (rc != MDB_NOTFOUND) return queue->env_->Error("open", rc);
  }
  EDGE_RETURN_IF_ERROR(txn.Commit("open"));
  return queue;
}

StatusOr<uint64_t> KvForwardQueue::Append(const bindings::KvWrite& write) {
  std::string record = EncodeForwardRecord(write);
  if (count_ + 1 > limits_.max_writes) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("KV write refused: {} writes already wait for the origin (the "
                              "PoP's forward queue is full; try again later)",
                              count_));
  }
  if (bytes_ + record.size() > limits_.max_bytes) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("KV write refused: {} bytes already wait for the origin (the "
                              "PoP's forward queue is full; try again later)",
                              bytes_));
  }
  uint64_t id = next_id_;
  std::string key = base::Be64(id);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "append"));
  MDB_val k = Val(key), v = Val(record);
  int rc = mdb_put(txn.get(), dbi_, &k, &v, MDB_APPEND);
  if (rc != 0) return env_->Error("append", rc);
  // Kept apart from the records, so an id is never given twice, even after
  // the queue emptied and the PoP restarted.
  std::string next = base::Be64(id + 1);
  MDB_val next_key = Val(std::string_view("next_id")), next_value = Val(next);
  rc = mdb_put(txn.get(), meta_, &next_key, &next_value, 0);
  if (rc != 0) return env_->Error("append", rc);
  EDGE_RETURN_IF_ERROR(txn.Commit("append"));
  ++next_id_;
  ++count_;
  bytes_ += record.size();
  return id;
}

Status KvForwardQueue::Remove(uint64_t id) {
  std::string key = base::Be64(id);
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, false, "remove"));
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn.get(), dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  if (rc != 0) return env_->Error("remove", rc);
  size_t size = v.mv_size;
  rc = mdb_del(txn.get(), dbi_, &k, nullptr);
  if (rc != 0) return env_->Error("remove", rc);
  EDGE_RETURN_IF_ERROR(txn.Commit("remove"));
  --count_;
  bytes_ -= std::min<uint64_t>(bytes_, size);
  return Status::Ok();
}

StatusOr<std::vector<KvForwardQueue::Record>> KvForwardQueue::ReadAll() const {
  std::vector<Record> records;
  base::LmdbTxn txn;
  EDGE_RETURN_IF_ERROR(txn.Begin(*env_, true, "read"));
  base::LmdbCursor cursor(txn.get(), dbi_);
  if (cursor.rc() != 0) return env_->Error("read", cursor.rc());
  MDB_val k, v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    std::optional<uint64_t> id = GetBe64(View(k));
    std::optional<bindings::KvWrite> write = DecodeForwardRecord(View(v));
    if (!id || !write) return Status(ErrorCode::kInternal, "KV forward queue: a damaged record");
    records.push_back(Record{*id, std::move(*write)});
  }
  if (rc != MDB_NOTFOUND) return env_->Error("read", rc);
  return records;
}

}  // namespace edge::sync
