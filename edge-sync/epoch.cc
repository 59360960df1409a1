#include "edge-sync/epoch.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/rand.h>
#include <simdjson.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/ascii.h"
#include "base/base64.h"
#include "base/openssl_error.h"
#include "edge-sync/key_files.h"

namespace edge::sync {

std::string NewEpoch() {
  unsigned char random[16];
  if (RAND_bytes(random, sizeof random) != 1) base::OpenSslFatal("RAND_bytes");
  return base::HexEncode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

bool IsEpoch(std::string_view text) { return text.size() == 32 && base::IsLowerHex(text); }

std::string OriginMarkPath(const std::string& data_dir) { return data_dir + "/origin-epoch"; }

StatusOr<OriginMark> ReadOriginMark(const std::string& path) {
  auto bytes = ReadKeyFile(path, "the origin's epoch file");
  if (!bytes.ok()) return bytes.status();
  char epoch[33] = {0};
  OriginMark mark;
  int consumed = 0;
  if (sscanf(bytes->c_str(), "epoch %32s\nhighest_seq %" SCNu64 "\n%n", epoch, &mark.highest_seq,
             &consumed) != 2 ||
      static_cast<size_t>(consumed) != bytes->size() || !IsEpoch(epoch)) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("{} is damaged: expected \"epoch <32 hex digits>\" and "
                              "\"highest_seq <n>\" lines",
                              path));
  }
  mark.epoch = epoch;
  return mark;
}

Status WriteOriginMark(const std::string& path, const OriginMark& mark) {
  std::string temp = path + ".new";
  EDGE_RETURN_IF_ERROR(WriteKeyFile(
      temp, fmt::format("epoch {}\nhighest_seq {}\n", mark.epoch, mark.highest_seq), 0644,
      /*exclusive=*/false));
  if (rename(temp.c_str(), path.c_str()) != 0) {
    Status failed(ErrorCode::kIo,
                  fmt::format("cannot rename {} to {}: {}", temp, path, std::strerror(errno)));
    unlink(temp.c_str());
    return failed;
  }
  // The rename itself is durable once the folder is synced.
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  return Status::Ok();
}

StatusOr<std::string> OpenOriginEpoch(SyncLog& log, const std::string& data_dir, bool force_new,
                                      std::string* why) {
  why->clear();
  auto stored = log.GetMeta(kEpochMetaKey);
  if (!stored.ok()) return stored.status();
  std::string epoch = stored->value_or("");
  if (!epoch.empty() && !IsEpoch(epoch)) {
    return Status(ErrorCode::kInternal,
                  fmt::format("the log in {} holds a damaged epoch", log.path()));
  }
  std::string path = OriginMarkPath(data_dir);
  StatusOr<OriginMark> mark = ReadOriginMark(path);
  if (!mark.ok() && mark.status().code() != ErrorCode::kNotFound) return mark.status();
  if (force_new) {
    *why = "asked for (--new-epoch)";
  } else if (epoch.empty()) {
    *why = log.head() == 0 ? "a new log" : "the log had no epoch yet";
  } else if (mark.ok() && mark->epoch != epoch) {
    *why = fmt::format(
        "the log's epoch {} is not the one this origin last served ({}, in {}): the log was "
        "restored from a backup or replaced",
        epoch, mark->epoch, path);
  } else if (mark.ok() && mark->highest_seq > log.head()) {
    *why = fmt::format(
        "the log's head {} is below the highest seq this origin logged ({}, in {}): the log was "
        "restored from a backup",
        log.head(), mark->highest_seq, path);
  }
  if (!why->empty()) {
    epoch = NewEpoch();
    EDGE_RETURN_IF_ERROR(log.PutMeta(kEpochMetaKey, epoch));
  }
  EDGE_RETURN_IF_ERROR(WriteOriginMark(path, OriginMark{epoch, log.head()}));
  return epoch;
}

std::string LogStateStatement(const LogState& state) {
  return fmt::format("edge-sync state\nepoch {}\nhead {}\ncompacted_through {}\ntime_ms {}\n",
                     state.epoch, state.head, state.compacted_through, state.time_ms);
}

std::string LogStateJson(const LogState& state, std::string_view signature) {
  return fmt::format(
      "{{\"epoch\":\"{}\",\"head\":{},\"compacted_through\":{},\"time_ms\":{},\"sig\":\"{}\"}}",
      state.epoch, state.head, state.compacted_through, state.time_ms,
      base::Base64Encode(signature));
}

StatusOr<LogState> VerifyLogState(std::string_view json, const VerifyKey& key) {
  auto invalid = [](std::string_view why) {
    return Status(ErrorCode::kInvalidInput, fmt::format("a log state {}", why));
  };
  if (json.size() > 1024) return invalid("longer than 1 KiB");
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(json.data(), json.size()).get_object().get(object) != simdjson::SUCCESS) {
    return invalid("that is not a JSON object");
  }
  LogState state;
  std::string_view epoch, sig;
  if (object["epoch"].get_string().get(epoch) != simdjson::SUCCESS ||
      object["head"].get_uint64().get(state.head) != simdjson::SUCCESS ||
      object["compacted_through"].get_uint64().get(state.compacted_through) != simdjson::SUCCESS ||
      object["time_ms"].get_uint64().get(state.time_ms) != simdjson::SUCCESS ||
      object["sig"].get_string().get(sig) != simdjson::SUCCESS) {
    return invalid("without epoch, head, compacted_through, time_ms and sig");
  }
  if (!epoch.empty() && !IsEpoch(epoch)) return invalid("with a malformed epoch");
  if (state.compacted_through > state.head) return invalid("compacted past its head");
  state.epoch = std::string(epoch);
  auto signature = base::Base64Decode(sig);
  if (!signature.ok() || !key.VerifyBytes(LogStateStatement(state), *signature)) {
    return invalid("not signed by the origin's key");
  }
  return state;
}

}  // namespace edge::sync
